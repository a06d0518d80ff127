"""Morph Cloud instances (https://cloud.morph.so) for code rewards, directly or through `scripts/morph_router.py`.

    provider = MorphProvider(num_workers=4)       # needs MORPH_API_KEY and MORPH_SNAPSHOT_ID (environment or .env)
    provider = MorphProvider(router_url="10.0.0.5:8001")

Each evaluation script (see `remote.py`) runs on an instance started from `MORPH_SNAPSHOT_ID` (a snapshot with
python3 and g++) as `instance.exec(["python3", "-c", script])`, whose `InstanceExecResponse.stdout` carries
the result; the instance is stopped afterwards. Failures are retried with back-off, then reward 0 and a warning.

Needs the `code` extra (`pip install -e ".[code]"`); not covered: snapshot creation.
"""

import os
from typing import Optional

from .base import Limits
from .config import DEFAULT_SANDBOX_WORKERS
from .remote import DEFAULT_ATTEMPTS, RemoteProvider, load_dotenv_if_available

MISSING_PACKAGE = 'Morph support needs morphcloud: pip install -e ".[code]"'
MISSING_KEY = (
    "Morph needs MORPH_API_KEY and MORPH_SNAPSHOT_ID (a snapshot with python3 and g++): add them to a .env file "
    "in the working directory (or the environment)"
)


class MorphProvider(RemoteProvider):
    name = "morph"

    def __init__(
        self,
        num_workers: int = DEFAULT_SANDBOX_WORKERS,
        router_url: Optional[str] = None,
        limits: Optional[Limits] = None,
        attempts: int = DEFAULT_ATTEMPTS,
        client=None,
    ):
        super().__init__(num_workers, limits, attempts, router_url)
        self.instance_ttl = int(self.limits.submission_wall_seconds + 60)  # compile and every test, plus start-up
        self.router_timeout = self.instance_ttl
        if router_url is not None:
            return
        load_dotenv_if_available()
        self.snapshot_id = os.environ.get("MORPH_SNAPSHOT_ID")
        if client is None:
            try:
                from morphcloud.api import MorphCloudClient
            except ImportError as error:
                raise ImportError(MISSING_PACKAGE) from error
            if not os.environ.get("MORPH_API_KEY") or not self.snapshot_id:
                raise ValueError(MISSING_KEY)
            client = MorphCloudClient(api_key=os.environ["MORPH_API_KEY"])
        if not self.snapshot_id:
            raise ValueError(MISSING_KEY)
        self.client = client

    def run_one(self, script: str) -> str:
        instance = self.client.instances.start(snapshot_id=self.snapshot_id, ttl_seconds=self.instance_ttl)
        try:
            instance.wait_until_ready(timeout=120)
            response = instance.exec(["python3", "-c", script], timeout=self.instance_ttl)
            if response.exit_code != 0:
                raise RuntimeError(f"evaluation script exited {response.exit_code}: {response.stderr[-500:]}")
            return response.stdout
        finally:
            instance.stop()
