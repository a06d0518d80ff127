"""E2B cloud sandboxes (https://e2b.dev) for code rewards, directly or through `scripts/e2b_router.py`.

    provider = E2BProvider(num_workers=4)                       # needs E2B_API_KEY (environment or .env)
    provider = E2BProvider(router_url="10.0.0.5:8000")           # a router holds the key and the quota

Each submission's evaluation script (see `remote.py`) runs in a fresh `AsyncSandbox` through
`run_code(script, language="python")`; its stdout lines come back in `execution.logs.stdout`. Failures and
rate limits are retried with back-off; what still fails gets reward 0 and a warning.

Needs the `code` extra (`pip install -e ".[code]"`); not covered: E2B templates other than the default.
"""

import asyncio
import os
from typing import Optional

from .base import Limits
from .config import DEFAULT_SANDBOX_WORKERS
from .remote import DEFAULT_ATTEMPTS, RemoteProvider, load_dotenv_if_available

MISSING_PACKAGE = 'E2B support needs e2b-code-interpreter: pip install -e ".[code]"'
MISSING_KEY = "E2B needs an API key: add E2B_API_KEY=... to a .env file in the working directory (or the environment)"


def execution_stdout(execution) -> str:
    """The stdout of an e2b `Execution` (its `logs.stdout` is a list of chunks)."""
    return "".join(execution.logs.stdout)


class E2BProvider(RemoteProvider):
    name = "e2b"

    def __init__(
        self,
        num_workers: int = DEFAULT_SANDBOX_WORKERS,
        router_url: Optional[str] = None,
        limits: Optional[Limits] = None,
        attempts: int = DEFAULT_ATTEMPTS,
        sandbox_class=None,
    ):
        super().__init__(num_workers, limits, attempts, router_url)
        self.sandbox_timeout = int(self.limits.submission_wall_seconds + 30)  # compile and every test, plus start-up
        self.router_timeout = self.sandbox_timeout
        if router_url is not None:
            return
        if sandbox_class is None:
            try:
                from e2b_code_interpreter import AsyncSandbox as sandbox_class
            except ImportError as error:
                raise ImportError(MISSING_PACKAGE) from error
            load_dotenv_if_available()
            if not os.environ.get("E2B_API_KEY"):
                raise ValueError(MISSING_KEY)
        self.sandbox_class = sandbox_class

    def run_one(self, script: str) -> str:
        return asyncio.run(self._run_one(script))

    async def _run_one(self, script: str) -> str:
        sandbox = await self.sandbox_class.create(timeout=self.sandbox_timeout)
        try:
            execution = await asyncio.wait_for(
                sandbox.run_code(script, language="python", timeout=self.sandbox_timeout),
                timeout=self.sandbox_timeout + 5,
            )
            if execution.error is not None:
                raise RuntimeError(f"evaluation script failed: {execution.error.name}: {execution.error.value}")
            return execution_stdout(execution)
        finally:
            await sandbox.kill()
