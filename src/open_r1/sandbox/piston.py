"""A client for a self-hosted Piston fleet (https://github.com/engineer-man/piston), for IOI/Codeforces rewards.

    PISTON_ENDPOINTS=http://node1:2000/api/v2,http://node2:2000/api/v2   (or "slurm": read from squeue)
    provider = PistonProvider.from_env()
    client = piston_client_from_env()            # the client alone; IOI rows use it with Piston's cms_ioi package

Each test is one `POST {endpoint}/execute` with Piston's v2 body
`{"language", "version": "*", "files": [{"name", "content"}], "stdin", "run_timeout", "compile_timeout",
"run_memory_limit"}`; the answer carries `run` (and `compile` for compiled languages) objects with `stdout`,
`stderr`, `code`, `signal` and, in recent Piston, `status` ("TO" timeout, "OL"/"EL" output limits). Endpoints
are used round-robin with at most `PISTON_MAX_REQUESTS_PER_ENDPOINT` requests in flight each; failures are
retried with back-off, then count as SANDBOX_ERROR (reward 0). Launch scripts: `slurm/piston/`. Piston's API
compiles the program again for every test (it keeps no binary between requests); a submission's time bound
(`Limits.submission_wall_seconds`) counts one compile plus the runs, as Piston reports their wall times.

The client also speaks upstream open-r1's interface (`PistonClient(endpoints, session, max_requests_per_endpoint)`,
`await client.send_execute(body, language="cms_ioi")`), which `open_r1.rewards.ioi` uses to run IOI rows with
their graders on the `cms_ioi` package; the provider above runs plain programs on Piston's standard runtimes
and compares outputs here.

Not covered: installing the `cms_ioi` package (see slurm/piston/README.md).
"""

import asyncio
import itertools
import json
import math
import os
import re
import signal
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Optional

from .base import (
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    grade_groups,
    judge_input,
    not_run_raw,
)
from .languages import PISTON_RUNTIMES, canonical_language
from .remote import DEFAULT_ATTEMPTS, RefusedRequest, failed_result, with_retries


class PistonError(RuntimeError):
    """A Piston worker failed or answered with an error (not a verdict on the program)."""


# The largest answer read into the trainer's memory (a program's output comes back in it, twice: as `stdout` and in
# `output`); IOI's largest expected output is 9.6 MB. A larger answer is read as the program's output limit exceeded.
MAX_ANSWER_BYTES = 128 << 20


def read_at_most(response, limit: int) -> bytes | None:
    """The body of a streamed `requests` response, or None (the connection closed) once it is over `limit` bytes:
    by its Content-Length before reading, else as it arrives (a chunked answer has no length)."""
    if int(response.headers.get("Content-Length") or 0) > limit:
        response.close()
        return None
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1 << 20):
        size += len(chunk)
        if size > limit:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class PistonRefused(PistonError, RefusedRequest):
    """A worker refused the request itself (a 4xx but 408 and 429): sending it again cannot help."""


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
    """Sends Piston v2 requests to a fleet, round-robin, at most `max_requests_per_endpoint` in flight per worker.

    `endpoints`: one `http://host:port/api/v2` URL or a list of them; `session`: a `requests.Session`-like object
    (tests pass a fake)."""

    def __init__(self, endpoints: str | Sequence[str], session=None, max_requests_per_endpoint: int = 1):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise ValueError("No Piston endpoints: set PISTON_ENDPOINTS to a comma-separated list of .../api/v2 URLs")
        if not isinstance(max_requests_per_endpoint, int) or max_requests_per_endpoint < 1:
            raise ValueError(
                f"max_requests_per_endpoint must be a positive integer, got {max_requests_per_endpoint!r}"
            )
        self.endpoints = list(endpoints)
        self.max_in_flight = max_requests_per_endpoint * len(self.endpoints)
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._next = itertools.cycle(self.endpoints)
        self._lock = threading.Lock()
        self._session = session
        self._executor: Optional[ThreadPoolExecutor] = None  # for send_execute, sized to the in-flight limit

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
            response = self.session.post(f"{endpoint.rstrip('/')}/execute", json=body, timeout=timeout, stream=True)
            if response.status_code == 200:
                content = read_at_most(response, MAX_ANSWER_BYTES)
                if content is None:
                    why = f"the answer is over the {MAX_ANSWER_BYTES} bytes this client reads"
                    return {"run": {"stdout": "", "stderr": why, "code": None, "signal": "SIGKILL", "status": "OL"}}
        if response.status_code != 200:
            status = response.status_code
            message = f"Piston {endpoint} answered {status}: {response.text[:300]}"
            if status == 413:
                message += (
                    " (the worker's JSON body limit, 100kb in Piston; slurm/piston/piston_worker.slurm raises it)"
                )
            # With several workers a retry reaches another, which may be set up otherwise (its packages, its limits).
            refused = 400 <= status < 500 and status not in (408, 429) and len(self.endpoints) == 1
            raise (PistonRefused if refused else PistonError)(message)
        try:
            answer = json.loads(content)
        except ValueError:
            raise PistonError(f"Piston {endpoint} answered {content[:300]!r} instead of JSON") from None
        if not isinstance(answer, dict):
            raise PistonError(f"Piston {endpoint} answered {answer!r:.300} instead of a JSON object")
        if "Resource temporarily unavailable" in ((answer.get("run") or {}).get("stderr") or ""):
            raise PistonError(f"Piston {endpoint} is overloaded")
        return answer

    async def send_execute(self, data: dict, language: str = "cms_ioi", max_retries: int = 5) -> dict:
        """Upstream open-r1's call: `data` (files, limits) run with `language` at its newest version, retried
        with back-off up to `max_retries` times; the answer as Piston gives it. Runs in a worker thread, so
        many calls can be awaited together (`asyncio.gather`) within the client's in-flight limit."""
        body = data | {"language": language, "version": "*"}
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="piston")
        call = partial(with_retries, lambda: self.execute(body), attempts=max_retries + 1, what="piston execute")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)


def piston_client_from_env(session=None) -> PistonClient:
    """The client for PISTON_ENDPOINTS (comma-separated URLs, or 'slurm' to read running workers from squeue),
    with PISTON_MAX_REQUESTS_PER_ENDPOINT requests in flight per worker (default 1)."""
    value = os.environ.get("PISTON_ENDPOINTS")
    if not value:
        raise ValueError(
            "competitive_programming_provider/code_provider 'piston' needs PISTON_ENDPOINTS (comma-separated http://host:port/api/v2 "
            "URLs, or 'slurm' to read them from squeue) in the environment or a .env file"
        )
    endpoints = slurm_piston_endpoints() if value == "slurm" else [e.strip() for e in value.split(",") if e.strip()]
    per_endpoint = os.environ.get("PISTON_MAX_REQUESTS_PER_ENDPOINT", "1")
    try:
        per_endpoint = int(per_endpoint)
    except ValueError:
        raise ValueError(f"PISTON_MAX_REQUESTS_PER_ENDPOINT must be an integer, got {per_endpoint!r}") from None
    return PistonClient(endpoints, session, max_requests_per_endpoint=per_endpoint)


class PistonProvider(CodeExecutionProvider):
    def __init__(self, client: PistonClient, limits: Optional[Limits] = None, attempts: int = DEFAULT_ATTEMPTS):
        self.client = client
        self.limits = limits or Limits()
        self.attempts = attempts

    @classmethod
    def from_env(cls, limits: Optional[Limits] = None) -> "PistonProvider":
        return cls(piston_client_from_env(), limits)

    def body(self, submission: Submission, stdin: str, seconds_left: Optional[float] = None) -> dict:
        """The execute request of one test; its compile and run get at most `seconds_left` of the submission's time."""
        piston_language, file_name = PISTON_RUNTIMES[canonical_language(submission.language)]
        seconds_left = self.limits.submission_wall_seconds if seconds_left is None else seconds_left
        return {
            "language": piston_language,
            "version": "*",
            "files": [{"name": file_name, "content": submission.source}],
            "stdin": judge_input(stdin),
            "run_timeout": math.ceil(min(self.limits.wall_seconds, seconds_left) * 1000),
            "compile_timeout": math.ceil(min(self.limits.compile_seconds(), seconds_left) * 1000),
            "run_memory_limit": self.limits.memory_mb << 20,
        }

    def _run_test(self, submission: Submission, stdin: str, seconds_left: float) -> dict:
        body = self.body(submission, stdin, seconds_left)
        return with_retries(lambda: self.client.execute(body), attempts=self.attempts, what="piston execute")

    def _execute_one(self, submission: Submission, test_batch_size: int, pool: ThreadPoolExecutor) -> ProgramResult:
        compile_error: list[str] = []
        # The submission's time as Piston measures the program (one compile, then each run), not the fleet's
        # queueing; Piston's API compiles again for every test, and only the first compile counts.
        spent = {"compile": None, "runs": 0.0}

        def run_batch(start: int, batch: Sequence) -> list[dict]:
            seconds_left = self.limits.submission_wall_seconds - (spent["compile"] or 0.0) - spent["runs"]
            if seconds_left <= 0:
                return [not_run_raw() for _ in batch]
            answers = list(pool.map(lambda test: self._run_test(submission, test.input, seconds_left), batch))
            raws = []
            for answer in answers:
                compiled = answer.get("compile")
                if compiled and compiled.get("code") not in (0, None):
                    compile_error.append(compiled.get("stderr") or compiled.get("output") or "")
                if compiled and spent["compile"] is None:
                    spent["compile"] = (compiled.get("wall_time") or 0) / 1000
                raws.append(raw_from_piston(answer))
                spent["runs"] += raws[-1]["wall_seconds"]
            return raws

        try:
            result = grade_groups(submission, run_batch, test_batch_size)
        except Exception as error:
            return failed_result(submission, f"piston: {error}")
        if compile_error:
            result.compile_error = compile_error[0][-2000:]
        return result

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        with ThreadPoolExecutor(max_workers=self.client.max_in_flight) as pool:
            return [self._execute_one(s, test_batch_size, pool) for s in submissions]
