"""What the cloud providers (E2B, Morph, their routers) share: the evaluation script, retries, grading.

A cloud sandbox receives one self-contained Python script per submission (`evaluation_script`): it writes
the program, compiles it if needed, runs it on every test input with a timeout and prints one line
`OPEN_R1_RESULT {json}` with the raw outcome of each run. Expected outputs are not in the script; the
training process compares and scores (`base.grade_groups`), exactly as for the local sandbox. Since one
sandbox session is the expensive part, every test of every group runs in that one session, after one compile;
batch early stopping then only decides which tests count (later batches of a group count as failed), so rewards
match the local provider's. The script keeps the submission within `Limits.submission_wall_seconds` (compile plus
runs, on its own clock): each run gets at most the time left, and tests past it are not run (TIMEOUT).

A run cannot write the result: the script is not dumpable (a run of its uid cannot open its stdout through /proc);
under a root script runs drop to `REMOTE_RUN_UID` where that uid can run the interpreter (a sandbox image's can; the
result's `dropped_root` says whether they did); the script is a subreaper, so whatever a run leaves behind, daemons
in sessions of their own included, is its child and is killed before the next run; each run works in a folder of
its own; and an output other than exactly one result line is refused.

Not covered: a run that becomes root inside the session (passwordless `sudo`) can do what the script can.

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


def load_dotenv_if_available() -> None:
    """Reads a .env file of the working directory into the environment, where python-dotenv is installed: the cloud
    providers' API keys (E2B_API_KEY, MORPH_API_KEY) may live there."""
    try:
        from dotenv import load_dotenv
    except ImportError:
        return
    load_dotenv()


RESULT_MARKER = "OPEN_R1_RESULT "
# The uid the evaluation script runs programs as where it runs as root (the compiler keeps root's): no capability
# over the script.
REMOTE_RUN_UID = 65534
T = TypeVar("T")

_EVALUATION_SCRIPT = r"""
import ctypes, json, os, shutil, signal, subprocess, sys, tempfile, threading, time
job = json.loads(__JOB__)
libc = ctypes.CDLL(None)
libc.prctl(4, 0, 0, 0, 0)  # not dumpable: a run of the same uid cannot open this script's /proc fds or memory
libc.prctl(36, 1, 0, 0, 0)  # a subreaper: what a run leaves behind, daemons included, becomes this script's child
as_root = os.geteuid() == 0
work = tempfile.mkdtemp()
os.chmod(work, 0o755)
started = time.monotonic()
def left():
    return job["submission_timeout"] - (time.monotonic() - started)
def children():
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                    pids.append(int(entry))
        except (OSError, IndexError):
            pass
    return pids
before = set(children())  # the host's own (a notebook kernel's), never swept
def sweep():
    for _ in range(100):
        pids = [pid for pid in children() if pid not in before]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
def reachable(path):
    try:
        probe = subprocess.run([path, "-c", ""], user=job["run_uid"], group=job["run_uid"], extra_groups=[],
                               capture_output=True, cwd=work)
    except OSError:
        return False
    return probe.returncode == 0
def drain(stream, kept, limit, tail=False):
    # The first `limit` bytes and one more (stdout: more means too much), or the last `limit` (stderr's tail).
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        if tail:
            kept += chunk
            del kept[: max(0, len(kept) - limit)]
        elif len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
def feed(stream, data):
    try:
        stream.write(data)
        stream.close()
    except OSError:
        pass
def run(argv, stdin, timeout, trusted=False):
    start = time.monotonic()
    unprivileged = drop and not trusted
    cwd = tempfile.mkdtemp(dir=work)  # each run writes where no other run reads
    if unprivileged:
        os.chown(cwd, job["run_uid"], job["run_uid"])
    identity = {"user": job["run_uid"], "group": job["run_uid"], "extra_groups": []} if unprivileged else {}
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                               start_new_session=True, **identity)
    stdout, stderr = bytearray(), bytearray()
    threads = [threading.Thread(target=drain, args=(process.stdout, stdout, job["max_output"]), daemon=True),
               threading.Thread(target=drain, args=(process.stderr, stderr, 4000, True), daemon=True),
               threading.Thread(target=feed, args=(process.stdin, stdin.encode()), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        timed_out = True
    sweep()  # before reading on: a daemon holding the output pipes would keep them open
    for thread in threads:  # bounded: a pipe still held after the sweep does not hold the script
        thread.join(timeout=5)
    shutil.rmtree(cwd, ignore_errors=True)
    seconds = time.monotonic() - start
    if timed_out:
        return {"exit_code": None, "signal": None, "stdout": "", "stderr": "", "timed_out": True,
                "wall_seconds": seconds}
    code = process.returncode
    return {"exit_code": code if code >= 0 else None, "signal": -code if code < 0 else None,
            "stdout": bytes(stdout[: job["max_output"]]).decode("utf-8", "replace"),
            "stderr": bytes(stderr).decode("utf-8", "replace"), "timed_out": False,
            "output_exceeded": len(stdout) > job["max_output"], "wall_seconds": seconds}
compiled = {}
if job["language"] == "python":
    path = os.path.join(work, "solution.py")
    with open(path, "w") as handle:
        handle.write(job["source"])
    os.chmod(path, 0o644)
    argv = [sys.executable, path]
    # Runs drop root where the interpreter is theirs to run (it is in a sandbox image; a root-only install is not).
    drop = as_root and reachable(sys.executable)
else:
    drop = as_root
    program = os.path.join(work, "program")
    compiler = ["g++", "-x", "c++", "-std=c++17"] if job["language"] == "cpp" else ["gcc", "-x", "c"]
    compiled = run(compiler + ["-O2", "-o", program, "-", "-lm"], job["source"], min(job["compile_timeout"], left()),
                   trusted=True)
    if compiled.get("exit_code") == 0:
        os.chmod(program, 0o755)
    argv = [program]
results = []
for data in ([] if compiled.get("exit_code", 0) != 0 else job["inputs"]):
    seconds = min(job["timeout"], left())
    results.append(run(argv, data, seconds) if seconds > 0 else job["not_run"])
print("OPEN_R1_RESULT " + json.dumps({"compile": compiled, "results": results, "dropped_root": drop}))
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
