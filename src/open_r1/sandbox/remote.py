"""What the cloud providers (E2B, Morph, their routers) share: the evaluation script, retries, grading.

A cloud sandbox receives one self-contained Python script per submission (`evaluation_script`): it writes
the program, compiles it if needed, runs it on every test input with a timeout and prints one line
`OPEN_R1_RESULT {json}` with the raw outcome of each run. Expected outputs are not in the script; the
training process compares and scores (`base.grade_groups`), exactly as for the local sandbox. Since one
sandbox session is the expensive part, every test of every group runs in that one session, after one compile;
batch early stopping then only decides which tests count (later batches of a group count as failed), so rewards
match the local provider's. A run cannot write the result: the script is not dumpable (its stdout cannot be opened
through /proc), runs as root drop to `REMOTE_RUN_UID`, whatever a run leaves behind is killed before the next one,
and an output other than exactly one result line is refused. The script keeps the submission within `Limits.submission_wall_seconds` (compile
plus runs, on its own clock): each run gets at most the time left, and tests past it are not run (TIMEOUT).

`RemoteProvider.execute` never raises for a provider failure: after retries with exponential back-off, the
submission gets SANDBOX_ERROR verdicts (reward 0) and a warning is logged.
"""

import abc
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, TypeVar

from .base import (
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    TestCase,
    TestOutcome,
    Verdict,
    grade_groups,
    judge_input,
    not_run_raw,
)
from .config import DEFAULT_ROUTER_TIMEOUT_SECONDS, DEFAULT_SANDBOX_WORKERS
from .languages import canonical_language

logger = logging.getLogger(__name__)
RESULT_MARKER = "OPEN_R1_RESULT "
# The uid the evaluation script runs programs as where it runs as root (the compiler keeps root's): no capability
# over the script, and after each run every process of it is killed.
REMOTE_RUN_UID = 65534
T = TypeVar("T")

_EVALUATION_SCRIPT = r"""
import ctypes, json, os, signal, subprocess, sys, tempfile, time
job = json.loads(__JOB__)
try:  # not dumpable: a run of the same uid cannot open this script's /proc fds (its stdout) or memory
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
except Exception:
    pass
as_root = os.geteuid() == 0
work = tempfile.mkdtemp()
os.chmod(work, 0o755)
started = time.monotonic()
def left():
    return job["submission_timeout"] - (time.monotonic() - started)
def unprivileged():
    os.setgroups([])
    os.setgid(job["run_uid"])
    os.setuid(job["run_uid"])
def reachable(path):
    child = os.fork()
    if child == 0:
        try:
            unprivileged()
            os._exit(0 if os.access(path, os.X_OK) else 1)
        finally:
            os._exit(1)
    return os.waitpid(child, 0)[1] == 0
def sweep(group):
    # What a run left behind (daemons included) dies before the next one starts.
    if not drop:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        return
    killer = os.fork()
    if killer == 0:
        try:
            os.setuid(job["run_uid"])
            for _ in range(8):
                os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(killer, 0)
def run(argv, stdin, timeout, trusted=False):
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work,
                               start_new_session=True, preexec_fn=unprivileged if drop and not trusted else None)
    try:
        stdout, stderr = process.communicate(stdin.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        sweep(process.pid)
        return {"exit_code": None, "signal": None, "stdout": "", "stderr": "", "timed_out": True,
                "wall_seconds": time.monotonic() - start}
    sweep(process.pid)
    done = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    code = done.returncode
    return {"exit_code": code if code >= 0 else None, "signal": -code if code < 0 else None,
            "stdout": done.stdout[: job["max_output"]].decode("utf-8", "replace"),
            "stderr": done.stderr[-4000:].decode("utf-8", "replace"), "timed_out": False,
            "output_exceeded": len(done.stdout) > job["max_output"], "wall_seconds": time.monotonic() - start}
compiled = {}
if job["language"] == "python":
    path = os.path.join(work, "solution.py")
    open(path, "w").write(job["source"])
    argv = [sys.executable, path]
    # Runs drop root where the interpreter is theirs to run (it is in a sandbox image; a root-only install is not).
    drop = as_root and reachable(sys.executable)
else:
    drop = as_root
    compiler = ["g++", "-x", "c++", "-std=c++17"] if job["language"] == "cpp" else ["gcc", "-x", "c"]
    compiled = run(compiler + ["-O2", "-o", os.path.join(work, "program"), "-", "-lm"], job["source"],
                   min(job["compile_timeout"], left()), trusted=True)
    argv = [os.path.join(work, "program")]
results = []
for data in ([] if compiled.get("exit_code", 0) != 0 else job["inputs"]):
    seconds = min(job["timeout"], left())
    results.append(run(argv, data, seconds) if seconds > 0 else job["not_run"])
print("OPEN_R1_RESULT " + json.dumps({"compile": compiled, "results": results}))
"""


def evaluation_script(submission: Submission, language: str, limits: Limits) -> str:
    job = {
        "source": submission.source,
        "language": language,
        "inputs": [judge_input(test.input) for test in submission.tests],
        "timeout": limits.wall_seconds,
        "compile_timeout": limits.compile_seconds(),
        "submission_timeout": limits.submission_wall_seconds,
        "not_run": not_run_raw(),
        "max_output": limits.output_mb << 20,
        "run_uid": REMOTE_RUN_UID,
    }
    return _EVALUATION_SCRIPT.replace("__JOB__", repr(json.dumps(job)))


def parse_script_output(stdout: str) -> dict:
    """The evaluation script's one line of results. Anything more is refused: a run that reached the script's
    stdout could otherwise add a line of its own, or push the real one off its line's start."""
    lines = stdout.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith(RESULT_MARKER):
        raise ValueError(
            f"the evaluation script's output is not one {RESULT_MARKER.strip()} line ({len(lines)} lines); "
            f"output tail: {stdout[-500:]!r}"
        )
    return json.loads(lines[0][len(RESULT_MARKER) :])


# Tries of a provider request (the first included) before it counts as failed.
DEFAULT_ATTEMPTS = 4


class RefusedRequest(RuntimeError):
    """A request the server refuses as such (too large, malformed): no retry changes the answer, so `with_retries`
    raises it at once."""


def with_retries(
    call: Callable[[], T],
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    what: str = "request",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Calls `call`, retrying any exception but `RefusedRequest` with exponential back-off and jitter; re-raises the
    last one."""
    for attempt in range(attempts):
        try:
            return call()
        except RefusedRequest:
            raise
        except Exception as error:
            if attempt == attempts - 1:
                raise
            delay = min(max_delay, base_delay * 2**attempt) * (0.8 + 0.4 * random.random())
            logger.warning("%s failed (%s); retry %d/%d in %.1fs", what, error, attempt + 1, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def result_from_script_output(submission: Submission, stdout: str, test_batch_size: int) -> ProgramResult:
    parsed = parse_script_output(stdout)
    compiled = parsed.get("compile") or {}
    if compiled and compiled.get("exit_code") != 0:
        return ProgramResult(
            outcomes=[TestOutcome(Verdict.COMPILE_ERROR) for _ in submission.tests],
            compile_error=(compiled.get("stderr") or "compilation failed")[-2000:],
        )
    raws = parsed["results"]
    if len(raws) != len(submission.tests):
        raise ValueError(f"the evaluation script returned {len(raws)} results for {len(submission.tests)} tests")
    return grade_groups(submission, lambda start, batch: raws[start : start + len(batch)], test_batch_size)


def failed_result(submission: Submission, error: str) -> ProgramResult:
    return ProgramResult(
        outcomes=[TestOutcome(Verdict.SANDBOX_ERROR, detail=error) for _ in submission.tests], sandbox_error=error
    )


class RemoteProvider(CodeExecutionProvider):
    """Runs evaluation scripts somewhere else; subclasses implement `run_scripts`."""

    name = "remote"

    def __init__(
        self,
        num_workers: int = DEFAULT_SANDBOX_WORKERS,
        limits: Optional[Limits] = None,
        attempts: int = DEFAULT_ATTEMPTS,
        router_url: Optional[str] = None,
        router_timeout: float = DEFAULT_ROUTER_TIMEOUT_SECONDS,
    ):
        self.num_workers = num_workers
        self.limits = limits or Limits()
        self.attempts = attempts
        self.router_url = router_url
        self.router_timeout = router_timeout

    def run_scripts(self, scripts: Sequence[str]) -> list[Optional[str]]:
        """The stdout of each script, or None where it could not be run (already retried): through the router
        when there is one (it holds the account and runs them), else one `run_one` per script in parallel."""
        if self.router_url is not None:
            return with_retries(
                lambda: post_to_router(self.router_url, scripts, self.router_timeout),
                attempts=self.attempts,
                what=f"{self.name} router request",
            )
        return self._map_parallel(self.run_one, scripts)

    @abc.abstractmethod
    def run_one(self, script: str) -> str:
        """Runs one evaluation script in a fresh remote sandbox and returns its stdout."""

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        scripts = [evaluation_script(s, canonical_language(s.language), self.limits) for s in submissions]
        try:
            outputs = self.run_scripts(scripts)
        except Exception as error:
            logger.warning("%s provider failed on a batch of %d (reward 0): %s", self.name, len(scripts), error)
            outputs = [None] * len(scripts)
        results = []
        for submission, stdout in zip(submissions, outputs):
            if stdout is None:
                results.append(failed_result(submission, f"{self.name} provider could not run the program"))
                continue
            try:
                results.append(result_from_script_output(submission, stdout, test_batch_size))
            except (ValueError, KeyError) as error:
                logger.warning("%s provider returned an unreadable result (reward 0): %s", self.name, error)
                results.append(failed_result(submission, str(error)))
        return results

    def run_raw(self, source: str, language: str, inputs: Sequence[str]) -> tuple[dict, list[dict]]:
        """One evaluation script in one remote session; raises when the provider could not run it."""
        tests = tuple(TestCase(data, "") for data in inputs)
        script = evaluation_script(Submission(source, language, tests), canonical_language(language), self.limits)
        [stdout] = self.run_scripts([script])
        if stdout is None:
            raise RuntimeError(f"{self.name} provider could not run the program")
        parsed = parse_script_output(stdout)
        return parsed.get("compile") or {}, parsed["results"]

    def _map_parallel(self, function: Callable[[str], Optional[str]], scripts: Sequence[str]) -> list[Optional[str]]:
        def guarded(script: str) -> Optional[str]:
            try:
                return with_retries(lambda: function(script), attempts=self.attempts, what=f"{self.name} execution")
            except Exception as error:
                logger.warning("%s execution failed after %d attempts (reward 0): %s", self.name, self.attempts, error)
                return None

        with ThreadPoolExecutor(max_workers=max(1, self.num_workers)) as pool:
            return list(pool.map(guarded, scripts))


def post_to_router(url: str, scripts: Sequence[str], timeout: float, session=None) -> list[Optional[str]]:
    """Sends scripts to a router (`scripts/e2b_router.py` or `scripts/morph_router.py`).

    Request: POST {url}/execute_batch {"scripts": [...], "languages": ["python", ...], "timeout": seconds}.
    Response: [{"stdout": str | null, "exception_str": str | null}, ...], one per script, in order.
    """
    import requests

    base = url if url.startswith("http") else f"http://{url}"
    payload = {"scripts": list(scripts), "languages": ["python"] * len(scripts), "timeout": timeout}
    response = (session or requests).post(f"{base.rstrip('/')}/execute_batch", json=payload, timeout=timeout + 60)
    response.raise_for_status()
    items = response.json()
    if not isinstance(items, list) or len(items) != len(scripts):
        raise ValueError(f"router answered {type(items).__name__} for {len(scripts)} scripts")
    outputs = []
    for item in items:
        if item.get("exception_str"):
            logger.warning("router could not run a script (reward 0): %s", item["exception_str"])
        outputs.append(item.get("stdout"))
    return outputs
