"""The local sandbox: runs untrusted Python, C and C++ programs on this Linux machine, isolated by the kernel.

    from open_r1.sandbox import LocalSandbox, Submission, TestCase
    with LocalSandbox(num_workers=2) as sandbox:
        [result] = sandbox.execute([Submission("print(input())", "python", (TestCase("hi", "hi"),))])

How: each worker is a fork server (`_zygote.py`) started under `unshare` in new network, mount, PID, IPC and
UTS namespaces (plus a user namespace when not root). It builds a private root from read-only bind mounts of
/usr, the Python install and the dynamic-loader files of /etc, and chroots into it. Every test then runs in
its own mount and PID namespace, with its own /tmp (a size-limited tmpfs), as an unprivileged uid (root mode)
or with every capability dropped (user-namespace mode), under rlimits, with no_new_privs, a scrubbed
environment and no inherited file descriptors. Python programs run in a fork of the already-started server,
so no interpreter starts per test; C/C++ are compiled once per program inside the sandbox. What the fork
server buys against a plain `subprocess.run` per test, with identical verdicts: docs/benchmarks.md
(`scripts/benchmarks/sandbox.py`).

What is protected, in both modes:
- network: the namespace has no interface up, not even loopback; host names do not resolve;
- files: the host is visible only through read-only mounts of /usr, the Python install and a few /etc
  files (no /home, /root, /work, /proc of the host, no .env); writes succeed only in the run's own /tmp,
  which no other run can see and which is discarded after the run;
- the trainer: its environment variables, file descriptors and processes are unreachable (separate PID
  namespace; only the run's own processes can be signalled);
- resources: CPU time (RLIMIT_CPU), wall time (the server kills the run's PID 1, which takes every process
  of the run with it, including background ones; this holds when the program closes or redirects its
  stdout/stderr and keeps running: the run then fails with a timeout), address space, processes/threads,
  file size, open files, stdout size (16 MiB by default, stderr is truncated to 64 KiB) and /tmp size;
- training: the trainer never waits on a worker without a deadline (the runs' limits plus
  WORKER_ANSWER_MARGIN_SECONDS); a worker past it is killed with its process group, the submission gets a
  SANDBOX_ERROR result (reward 0) and a fresh worker replaces it;
- other runs: each live worker holds its own run uid (an flock per uid under /run, across sandboxes and
  processes), so one run's process limit cannot starve another's; each run has its own IPC namespace
  (SysV shared memory, queues and semaphores die with the run) and a fresh session keyring, and its uid's
  user keyrings are cleared at the start of every run.

What is NOT protected:
- kernel bugs: this is namespaces + rlimits on the host kernel, not a VM (use E2B or Morph for that);
- memory is limited per process (RLIMIT_AS), not per run: a program may hold up to
  `processes x memory_mb`; there is no cgroup limit;
- CPU contention and timing side channels: runs share the host's cores; timings under load are noisy;
- readable host files under /usr and the Python install (they are public software, not secrets);
- in user-namespace mode (not root) runs keep uid 0 inside the namespace, without capabilities; RLIMIT_NPROC
  then counts the server's processes too;
- memory inherited from the fork server: a Python run is a fork of a server that has handled earlier
  requests, so freed heap pages may still hold earlier programs and outputs of the same worker (reachable
  through /proc/self/mem or gc); a fresh template process per run is not implemented yet;
- what is visible read-only: the kernel command line (/proc/cmdline), the run's own inherited command line
  (the server's, which names the sandbox's mounts), inotify on the read-only mounts (host file activity
  under /usr and the Python install), and the base interpreter's site-packages when it lives under the
  bound Python install.
If neither root nor unprivileged user namespaces are available, the sandbox refuses to start
(`SandboxUnavailableError`) rather than run code unisolated.
"""

import atexit
import fcntl
import json
import logging
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .base import (
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    TestOutcome,
    Verdict,
    grade_in_batches,
    judge_input,
    split_into_batches,
)
from .languages import canonical_language

logger = logging.getLogger(__name__)

ZYGOTE = Path(__file__).with_name("_zygote.py")
NAMESPACE_FLAGS = ["--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
# Host files the programs may read: the dynamic loader's configuration and compiler alternatives.
ETC_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"]


class SandboxUnavailableError(RuntimeError):
    """Raised when this machine cannot isolate programs (no root, no user namespaces, not Linux)."""


class SandboxError(RuntimeError):
    """A worker failed (not the program); the submission gets a SANDBOX_ERROR result."""


def normalize_language(language: str) -> str:
    """The canonical name of a submission's language (see `open_r1.sandbox.languages`)."""
    return canonical_language(language)


@lru_cache(maxsize=1)
def isolation_mode() -> str:
    """'root' (namespaces + unprivileged uid) or 'userns' (user namespace, no capabilities); raises otherwise."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailableError(f"The local sandbox needs Linux namespaces; this is {sys.platform}.")
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SandboxUnavailableError("The local sandbox needs `unshare` (util-linux): apt-get install util-linux.")
    attempts = [("root", [])] if os.geteuid() == 0 else []
    attempts.append(("userns", ["--user", "--map-root-user"]))
    errors = []
    for mode, extra in attempts:
        probe = subprocess.run(
            [unshare, *extra, *NAMESPACE_FLAGS, "--mount-proc", "true"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return mode
        errors.append(f"{mode}: {probe.stderr.strip()}")
    raise SandboxUnavailableError(
        "Cannot create namespaces to isolate programs (" + "; ".join(errors) + "). Run as root, or enable "
        "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / "
        "user.max_user_namespaces > 0), or use code_provider 'e2b' or 'morph'."
    )


def sandbox_python() -> str:
    """The base interpreter (not the venv's): programs get the standard library, not the trainer's packages."""
    override = os.environ.get("OPEN_R1_SANDBOX_PYTHON")
    if override:
        return override
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


# The trainer never waits on a worker without a deadline: a request may take its runs' own limits plus this margin
# (process start-up, namespace set-up, reading output); a worker past that is killed and its submission gets a
# SANDBOX_ERROR result (reward 0) instead of blocking training.
WORKER_ANSWER_MARGIN_SECONDS = 30.0
WORKER_START_SECONDS = 120.0


def _answer_seconds(message: dict) -> float:
    """How long the worker may take to answer `message`: every run's wall limit, plus the margin."""
    limits = message.get("limits", {})
    runs = len(message.get("inputs", ())) or 1
    return runs * float(limits.get("wall_seconds", 0)) + WORKER_ANSWER_MARGIN_SECONDS


# Unprivileged uids of the runs (root mode). Each fork server claims one for its lifetime with an flock on a
# file named after it, so every concurrently live worker on the machine (any worker index, any number of
# sandboxes, any number of training processes) runs its programs under its own uid and one run's process
# limit (RLIMIT_NPROC counts per uid) cannot starve another's. The kernel drops the lock when its holder dies.
RUN_UID_BASE = 1_000_000
RUN_UID_SLOTS = 1 << 16
RUN_UID_LOCK_DIR = "/run/open-r1-sandbox-uids"


class _RunUid:
    """A run uid held exclusively until `release` (or the holding process's death)."""

    def __init__(self, lock_dir: str = RUN_UID_LOCK_DIR):
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        for slot in range(RUN_UID_SLOTS):
            uid = RUN_UID_BASE + slot
            fd = os.open(os.path.join(lock_dir, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise SandboxError(f"all {RUN_UID_SLOTS} run uids from {RUN_UID_BASE} are held by live sandbox workers")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _ForkServer:
    """One `_zygote.py` process; serves one program at a time."""

    def __init__(self, index: int, mode: str, python: str, work_mb: int):
        self.index = index
        self.mode = mode
        self.python = python
        self.work_mb = work_mb
        self.process: Optional[subprocess.Popen] = None
        self._log = None
        self._buffer = bytearray()
        self._run_uid: Optional[_RunUid] = None

    @property
    def run_uid(self) -> Optional[int]:
        """The uid this worker's programs run as (root mode), None in user-namespace mode or before start."""
        return self._run_uid.uid if self._run_uid is not None else None

    def _start(self) -> None:
        prefix = os.path.realpath(sys.base_prefix) if self.python == sandbox_python() else None
        read_only = ["/usr", *ETC_FILES]
        if prefix and not prefix.startswith("/usr"):
            read_only.append(prefix)
        python_dir = os.path.dirname(os.path.dirname(os.path.realpath(self.python)))
        if not python_dir.startswith("/usr") and python_dir not in read_only:
            read_only.append(python_dir)
        if self.mode == "root" and self._run_uid is None:
            self._run_uid = _RunUid()
        spec = {"run_uid": self.run_uid, "read_only": read_only, "work_mb": self.work_mb}
        extra = ["--user", "--map-root-user"] if self.mode == "userns" else []
        command = ["unshare", *extra, *NAMESPACE_FLAGS, "--", self.python, "-I", "-B", str(ZYGOTE), json.dumps(spec)]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            close_fds=True,
            start_new_session=True,
        )
        self._buffer = bytearray()
        hello = self._receive(time.monotonic() + WORKER_START_SECONDS)
        if not hello.get("ready"):
            raise SandboxError(f"sandbox worker did not start: {hello}")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        """`size` bytes from the worker, or raises once `deadline` passes (the worker is then killed)."""
        fd = self.process.stdout.fileno()
        while len(self._buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._kill()
                raise SandboxError(
                    f"sandbox worker did not answer within its deadline ({WORKER_ANSWER_MARGIN_SECONDS:.0f} s past the "
                    "run's limits); it was killed and will be replaced"
                )
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.process.wait(timeout=30)
                raise SandboxError(f"sandbox worker exited ({self.process.returncode}): {self._stderr_tail()}")
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _receive(self, deadline: float) -> dict:
        (size,) = struct.unpack("!I", self._read_exactly(4, deadline))
        return json.loads(self._read_exactly(size, deadline))

    def _kill(self) -> None:
        """Kills the worker's whole process group (unshare, the fork server and any run) at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def request(self, message: dict) -> dict:
        if self.process is None or self.process.poll() is not None:
            self._start()
        data = json.dumps(message).encode()
        try:
            self.process.stdin.write(struct.pack("!I", len(data)) + data)
            self.process.stdin.flush()
        except BrokenPipeError as error:
            raise SandboxError(f"sandbox worker died: {self._stderr_tail()}") from error
        reply = self._receive(time.monotonic() + _answer_seconds(message))
        if "error" in reply:
            raise SandboxError(reply["error"])
        return reply

    def close(self) -> None:
        if self.process is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except Exception:
                self._kill()
            self.process.stdout.close()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._run_uid is not None:  # only once no process of this worker can run as it any more
            self._run_uid.release()
            self._run_uid = None


class LocalSandbox(CodeExecutionProvider):
    """A pool of `num_workers` fork servers; `execute` runs submissions on them concurrently."""

    def __init__(self, num_workers: int = 2, limits: Optional[Limits] = None, python: Optional[str] = None):
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        self.mode = isolation_mode()
        self.limits = limits or Limits()
        self.python = python or sandbox_python()
        self.num_workers = num_workers
        work_mb = max(256, self.limits.file_size_mb * 4)
        self._workers = [_ForkServer(i, self.mode, self.python, work_mb) for i in range(num_workers)]
        self._idle: queue.Queue = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        if self._closed:
            raise RuntimeError("LocalSandbox is closed")
        for submission in submissions:
            normalize_language(submission.language)
        if len(submissions) <= 1:
            return [self._execute_one(s, test_batch_size) for s in submissions]
        with ThreadPoolExecutor(max_workers=min(self.num_workers, len(submissions))) as pool:
            return list(pool.map(lambda s: self._execute_one(s, test_batch_size), submissions))

    def run_raw(self, source: str, language: str, inputs: Sequence[str]) -> tuple[dict, list[dict]]:
        """Runs a program on inputs and returns (compile outcome, raw outcome per input), without grading."""
        worker = self._idle.get()
        try:
            compiled = worker.request(self._prepare_message(source, language))["compile"]
            if compiled and compiled.get("exit_code") != 0:
                return compiled, []
            reply = worker.request({"op": "run", "inputs": list(inputs), "limits": self.limits.run_limits()})
            return compiled, reply["results"]
        finally:
            self._idle.put(worker)

    def _prepare_message(self, source: str, language: str) -> dict:
        return {
            "op": "prepare",
            "language": normalize_language(language),
            "source": source,
            "limits": self.limits.compile_limits(),
        }

    def _execute_one(self, submission: Submission, test_batch_size: int) -> ProgramResult:
        tests = submission.tests
        worker = self._idle.get()
        try:
            compiled = worker.request(self._prepare_message(submission.source, submission.language))["compile"]
            if compiled and (compiled.get("exit_code") != 0 or compiled.get("sandbox_error")):
                message = compiled.get("sandbox_error") or compiled.get("stderr", "")
                if compiled.get("timed_out"):
                    message = "compilation timed out"
                return ProgramResult(
                    outcomes=[TestOutcome(Verdict.COMPILE_ERROR) for _ in tests], compile_error=message[-2000:]
                )

            def run_batches():
                for batch in split_into_batches(tests, test_batch_size):
                    message = {
                        "op": "run",
                        "inputs": [judge_input(t.input) for t in batch],
                        "limits": self.limits.run_limits(),
                    }
                    yield worker.request(message)["results"]

            return grade_in_batches(tests, run_batches(), test_batch_size)
        except (SandboxError, OSError, ValueError) as error:
            logger.warning("local sandbox failed on a submission (reward 0): %s", error)
            worker.close()
            return ProgramResult(
                outcomes=[TestOutcome(Verdict.SANDBOX_ERROR, detail=str(error)) for _ in tests],
                sandbox_error=str(error),
            )
        finally:
            self._idle.put(worker)

    @property
    def run_uids(self) -> set[int]:
        """The uids the workers' programs run as (root mode; empty in user-namespace mode)."""
        return {worker.run_uid for worker in self._workers if worker.run_uid is not None}

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for worker in self._workers:
            worker.close()
        atexit.unregister(self.close)
