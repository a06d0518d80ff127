"""A client for a self-hosted Piston fleet (https://github.com/engineer-man/piston), for IOI/Codeforces rewards.

    PISTON_ENDPOINTS=http://node1:2000/api/v2,http://node2:2000/api/v2   (or "slurm": read from squeue)
    provider = PistonProvider.from_env()

Each test is one `POST {endpoint}/execute` with Piston's v2 body
`{"language", "version": "*", "files": [{"name", "content"}], "stdin", "run_timeout", "compile_timeout",
"run_memory_limit"}`; the answer carries `run` (and `compile` for compiled languages) objects with `stdout`,
`stderr`, `code`, `signal` and, in recent Piston, `status` ("TO" timeout, "OL"/"EL" output limits). Endpoints
are used round-robin with at most `PISTON_MAX_REQUESTS_PER_ENDPOINT` requests in flight each; failures are
retried with back-off, then count as SANDBOX_ERROR (reward 0). Launch scripts: `slurm/piston/`.

Not covered: Piston's custom `cms_ioi` package (graders, checkers); outputs are compared here.
"""

import itertools
import os
import re
import signal
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from .base import (
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    grade_in_batches,
    judge_input,
    split_into_batches,
)
from .languages import PISTON_RUNTIMES, canonical_language
from .remote import failed_result, with_retries


def slurm_piston_endpoints() -> list[str]:
    """Endpoints of running Slurm jobs named piston-worker-PORT (see slurm/piston/launch_piston_workers.sh)."""
    listing = subprocess.run(
        ["squeue", "--format=%j %N", "--noheader", "--states=RUNNING"], capture_output=True, text=True, check=True
    ).stdout
    endpoints = []
    for line in listing.splitlines():
        parts = line.split()
        match = re.fullmatch(r"piston-worker-(\d+)", parts[0]) if len(parts) == 2 else None
        if match:
            endpoints.append(f"http://{parts[1]}:{match.group(1)}/api/v2")
    return endpoints


def raw_from_piston(response: dict) -> dict:
    """A Piston v2 execute answer as the raw outcome `base.classify` reads."""
    run = response.get("run") or {}
    status = run.get("status")
    signal_name = run.get("signal")
    signal_number = getattr(signal, signal_name, None) if signal_name else None
    return {
        "exit_code": run.get("code"),
        "signal": int(signal_number) if signal_number is not None else None,
        "stdout": run.get("stdout") or "",
        "stderr": run.get("stderr") or "",
        "timed_out": status == "TO",
        "output_exceeded": status in ("OL", "EL"),
        "wall_seconds": (run.get("wall_time") or 0) / 1000,
    }


class PistonClient:
    def __init__(self, endpoints: Sequence[str], max_requests_per_endpoint: int = 1, session=None):
        if not endpoints:
            raise ValueError("No Piston endpoints: set PISTON_ENDPOINTS to a comma-separated list of .../api/v2 URLs")
        self.endpoints = list(endpoints)
        self.max_in_flight = max_requests_per_endpoint * len(self.endpoints)
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._next = itertools.cycle(self.endpoints)
        self._lock = threading.Lock()
        self._session = session

    @property
    def session(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def execute(self, body: dict, timeout: float = 120.0) -> dict:
        with self._slots:
            with self._lock:
                endpoint = next(self._next)
            response = self.session.post(f"{endpoint.rstrip('/')}/execute", json=body, timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"Piston {endpoint} answered {response.status_code}: {response.text[:300]}")
        answer = response.json()
        if "Resource temporarily unavailable" in (answer.get("run") or {}).get("stderr", ""):
            raise RuntimeError(f"Piston {endpoint} is overloaded")
        return answer


class PistonProvider(CodeExecutionProvider):
    def __init__(self, client: PistonClient, limits: Optional[Limits] = None, retries: int = 4):
        self.client = client
        self.limits = limits or Limits()
        self.retries = retries

    @classmethod
    def from_env(cls, limits: Optional[Limits] = None) -> "PistonProvider":
        value = os.environ.get("PISTON_ENDPOINTS")
        if not value:
            raise ValueError(
                "ioi_provider/code_provider 'piston' needs PISTON_ENDPOINTS (comma-separated http://host:port/api/v2 "
                "URLs, or 'slurm' to read them from squeue) in the environment or a .env file"
            )
        endpoints = slurm_piston_endpoints() if value == "slurm" else [e.strip() for e in value.split(",") if e]
        per_endpoint = int(os.environ.get("PISTON_MAX_REQUESTS_PER_ENDPOINT", "1"))
        return cls(PistonClient(endpoints, per_endpoint), limits)

    def body(self, submission: Submission, stdin: str) -> dict:
        piston_language, file_name = PISTON_RUNTIMES[canonical_language(submission.language)]
        return {
            "language": piston_language,
            "version": "*",
            "files": [{"name": file_name, "content": submission.source}],
            "stdin": judge_input(stdin),
            "run_timeout": int(self.limits.wall_seconds * 1000),
            "compile_timeout": int(self.limits.compile_wall_seconds * 1000),
            "run_memory_limit": self.limits.memory_mb << 20,
        }

    def _run_test(self, submission: Submission, stdin: str) -> dict:
        body = self.body(submission, stdin)
        return with_retries(lambda: self.client.execute(body), attempts=self.retries, what="piston execute")

    def _execute_one(self, submission: Submission, test_batch_size: int, pool: ThreadPoolExecutor) -> ProgramResult:
        compile_error: list[str] = []

        def batches():
            for batch in split_into_batches(submission.tests, test_batch_size):
                answers = list(pool.map(lambda test: self._run_test(submission, test.input), batch))
                for answer in answers:
                    compiled = answer.get("compile")
                    if compiled and compiled.get("code") not in (0, None):
                        compile_error.append(compiled.get("stderr") or compiled.get("output") or "")
                yield [raw_from_piston(answer) for answer in answers]

        try:
            result = grade_in_batches(submission.tests, batches(), test_batch_size)
        except Exception as error:
            return failed_result(submission, f"piston: {error}")
        if compile_error:
            result.compile_error = compile_error[0][-2000:]
        return result

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        with ThreadPoolExecutor(max_workers=self.client.max_in_flight) as pool:
            return [self._execute_one(s, test_batch_size, pool) for s in submissions]
