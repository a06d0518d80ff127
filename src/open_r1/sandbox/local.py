"""The local sandbox: runs untrusted Python, C and C++ programs on this Linux machine, isolated by the kernel.

    from open_r1.sandbox import LocalSandbox, Submission, TestCase
    with LocalSandbox(num_workers=2) as sandbox:
        [result] = sandbox.execute([Submission("print(input())", "python", (TestCase("hi", "hi"),))])

How: each worker is a fork server (`_zygote.py`) started under `unshare` in new network, mount, PID, IPC and
UTS namespaces (plus a user namespace when not root). It builds a private root from read-only bind mounts of
/usr, the Python install and the dynamic-loader files of /etc (site-packages folders masked by empty mounts)
and chroots into it. Per program it forks a fresh *template* that has never seen another program; the
template forks a *launcher* holding only that program, and every test is a fork of the launcher in its own
mount, PID and IPC namespace, with its own /tmp (a size-limited tmpfs), as the worker's unprivileged uid
(root mode) or with every capability dropped (user-namespace mode), under rlimits, no_new_privs, a seccomp
filter, a fresh session keyring, a scrubbed environment and no inherited descriptors. Python programs run in
that fork of the already-started interpreter, so no interpreter starts per test; C/C++ are compiled once per
submission inside the sandbox, whatever its groups of tests (IOI subtasks). See `_zygote.py` for the process
layout.

What it protects and what it does not, each item with the test that attacks it: docs/sandbox.md.
If neither root nor unprivileged user namespaces are available, the sandbox refuses to start
(`SandboxUnavailableError`) rather than run code unisolated.
Not covered: other operating systems (it needs Linux namespaces), languages other than Python, C and C++, the
cloud providers (`e2b`, `morph`, `piston`).
"""

import atexit
import fcntl
import json
import logging
import os
import platform
import queue
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ._zygote import FRAME  # frames with a worker: the worker's own definition
from .base import (
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    TestOutcome,
    Verdict,
    grade_groups,
    judge_input,
    not_run_raw,
    output_limit,
)
from .config import DEFAULT_SANDBOX_WORKERS
from .languages import canonical_language

logger = logging.getLogger(__name__)

ZYGOTE = Path(__file__).with_name("_zygote.py")
NAMESPACE_FLAGS = ["--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
# Host files the programs may read: the dynamic loader's configuration and compiler alternatives.
ETC_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"]
# Root mode: every live worker on the machine runs its programs as its own uid from this range (see RunUidLease).
RUN_UID_BASE = 200_000_000
RUN_UID_COUNT = 65_536
RUN_UID_LOCKS = "/run/open-r1/sandbox-uids"
# Deadlines of the trainer side: a worker silent past its request's own limits plus these is killed and replaced.
STARTUP_SECONDS = 60.0
PER_RUN_GRACE_SECONDS = 5.0  # per run, on top of wall_seconds (the worker's kill and drain take up to 3 s)
REPLY_GRACE_SECONDS = 10.0  # per request
CLOSE_SECONDS = 5.0  # close(): how long a worker may take to exit on end of file before it is killed
# A worker's JSON message is small (a result with at most 64 KiB of stderr, escaped); a longer one is a broken worker.
MAX_MESSAGE_BYTES = 1 << 20
# The fork server's own address space (a soft RLIMIT_AS on the zygote, its templates and launchers): the
# interpreter takes under 20 MiB; a template holds one run's stdout at a time, so 2 x output_mb on top of this.
WORKER_BASE_MEMORY_MB = 256


class SandboxUnavailableError(RuntimeError):
    """Raised when this machine cannot isolate programs (no root, no user namespaces, not Linux)."""


class SandboxError(RuntimeError):
    """A worker failed (not the program); the submission gets a SANDBOX_ERROR result."""


@lru_cache(maxsize=1)
def isolation_mode() -> str:
    """'root' (namespaces + unprivileged uid) or 'userns' (user namespace, no capabilities); raises otherwise."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailableError(f"The local sandbox needs Linux namespaces; this is {sys.platform}.")
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SandboxUnavailableError("The local sandbox needs `unshare` (util-linux): apt-get install util-linux.")
    from ._zygote import SECCOMP_ARCHITECTURES

    if platform.machine() not in SECCOMP_ARCHITECTURES:
        raise SandboxUnavailableError(
            f"The local sandbox's seccomp filter knows the system calls of {sorted(SECCOMP_ARCHITECTURES)}, "
            f"not {platform.machine()}; use code_provider 'e2b' or 'morph'."
        )
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


class RunUidLease:
    """A uid for the runs of one worker that no other live worker on this machine holds.

    One lock file per uid under a root-owned folder; the worker holds an exclusive `flock` on its uid's file for
    its whole life. The lock's descriptor is also inherited by the worker's own processes, so the uid stays taken
    until the trainer *and* every process of the worker are gone (a killed trainer does not free it early). A
    uid that some process still uses (left by anything else) is skipped.
    """

    def __init__(self):
        folder = _run_uid_folder()
        busy = _uids_of_live_processes(RUN_UID_BASE, RUN_UID_BASE + RUN_UID_COUNT)
        for uid in range(RUN_UID_BASE, RUN_UID_BASE + RUN_UID_COUNT):
            if uid in busy:
                continue
            fd = os.open(os.path.join(folder, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self.fd = uid, fd
            return
        raise SandboxError(f"every run uid in [{RUN_UID_BASE}, {RUN_UID_BASE + RUN_UID_COUNT}) is taken")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _run_uid_folder() -> str:
    """RUN_UID_LOCKS, created if needed; refused unless it and its parent are root-owned folders others cannot write."""
    parent = os.path.dirname(RUN_UID_LOCKS)
    for path, mode in ((parent, 0o755), (RUN_UID_LOCKS, 0o700)):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            raise SandboxUnavailableError(
                f"{path} must be a folder owned by root and writable only by root (it holds the run uid locks)"
            )
    return RUN_UID_LOCKS


def _uids_of_live_processes(low: int, high: int) -> set[int]:
    """Real uids in [low, high) of every process on the machine (a run's /proc entry is root-owned: read status)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Uid:"):
                        uid = int(line.split()[1])
                        if low <= uid < high:
                            found.add(uid)
                        break
        except (OSError, ValueError):
            continue
    return found


class _ForkServer:
    """One `_zygote.py` worker; serves one program at a time, and never waits on it without a deadline.

    Used by one thread at a time (the sandbox's idle queue); `close` may come from another thread.
    """

    def __init__(self, index: int, mode: str, python: str, work_mb: int, memory_mb: int):
        self.index = index
        self.mode = mode
        self.python = python
        self.work_mb = work_mb
        self.memory_mb = memory_mb
        self.process: Optional[subprocess.Popen] = None
        self.uids_used: set[int] = set()
        self._lease: Optional[RunUidLease] = None
        self._log = None
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._closed = False

    # -- life cycle ---------------------------------------------------------------------------

    def _start(self) -> None:
        prefix = os.path.realpath(sys.base_prefix) if self.python == sandbox_python() else None
        read_only = ["/usr", *ETC_FILES]
        if prefix and not prefix.startswith("/usr"):
            read_only.append(prefix)
        python_dir = os.path.dirname(os.path.dirname(os.path.realpath(self.python)))
        if not python_dir.startswith("/usr") and python_dir not in read_only:
            read_only.append(python_dir)
        self._lease = RunUidLease() if self.mode == "root" else None
        run_uid = self._lease.uid if self._lease else None
        if run_uid is not None:
            self.uids_used.add(run_uid)
        spec = {
            "run_uid": run_uid,
            "read_only": read_only,
            "work_mb": self.work_mb,
            "worker_memory_mb": self.memory_mb,
        }
        extra = ["--user", "--map-root-user"] if self.mode == "userns" else []
        # -S: no site-packages on sys.path and no .pth hooks run in the zygote (runs see only the standard library).
        command = ["unshare", *extra, *NAMESPACE_FLAGS, "--", self.python, "-I", "-S", "-B", str(ZYGOTE)]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            close_fds=True,
            pass_fds=(self._lease.fd,) if self._lease else (),
            start_new_session=True,
        )
        os.set_blocking(self.process.stdin.fileno(), False)
        deadline = time.monotonic() + STARTUP_SECONDS
        self._send([spec], deadline)
        hello, _ = self._receive(deadline)
        if not hello.get("ready"):
            self.kill()
            raise SandboxError(f"sandbox worker did not start: {hello}")

    def kill(self) -> None:
        """Kills the worker with every process it started (its process group; its PID namespace dies with it)."""
        with self._lock:
            process, self.process = self.process, None
            if process is not None:
                if process.poll() is None:
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    process.wait(timeout=CLOSE_SECONDS)
                except subprocess.TimeoutExpired:
                    logger.warning("sandbox worker %d did not die within %ss of SIGKILL", process.pid, CLOSE_SECONDS)
                for pipe in (process.stdin, process.stdout):
                    try:
                        pipe.close()
                    except OSError:
                        pass
            if self._lease is not None:
                self._lease.release()  # the worker's own processes hold the lock until they are gone
                self._lease = None
            if self._log is not None:
                self._log.close()
                self._log = None

    def close(self) -> None:
        """Ends the worker; a program in progress is killed and its caller gets SANDBOX_ERROR."""
        with self._lock:
            self._closed = True
            process = self.process
            if process is None:
                return
            if self._busy:
                # The owning thread is reading the worker's pipes: kill the processes, let it clean up.
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._idle.wait_for(lambda: not self._busy, timeout=CLOSE_SECONDS)
            else:
                try:
                    process.stdin.close()  # end of file: the worker exits by itself
                    process.wait(timeout=CLOSE_SECONDS)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self.kill()

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _fail(self, message: str) -> SandboxError:
        tail = self._stderr_tail()
        self.kill()
        return SandboxError(message + (f"; worker stderr: {tail}" if tail else ""))

    # -- frames with deadlines ----------------------------------------------------------------

    def _send(self, messages: list, deadline: float) -> None:
        """Writes frames: each a message, or a (message, payload bytes) pair; a payload is written in place."""
        pieces = []
        for message in messages:
            message, payload = message if isinstance(message, tuple) else (message, b"")
            body = json.dumps(message).encode()
            pieces += [FRAME.pack(len(body), len(payload)) + body, payload]
        fd = self.process.stdin.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        for piece in pieces:
            view = memoryview(piece)
            while view:
                self._wait(poller, deadline)
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise self._fail("sandbox worker exited") from None

    def _read_exact(self, size: int, deadline: float) -> bytearray:
        """Exactly `size` bytes of the worker's stdout, read straight into one buffer of that size."""
        fd = self.process.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        data = bytearray(size)
        view = memoryview(data)
        received = 0
        while received < size:
            self._wait(poller, deadline)
            count = os.readv(fd, [view[received:]])
            if not count:
                raise self._fail("sandbox worker exited")
            received += count
        view.release()
        return data

    def _wait(self, poller, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise self._fail("sandbox worker did not answer in time; it was killed and will be replaced")

    def _receive(self, deadline: float, key: Optional[str] = None, max_payload: int = 0) -> tuple[dict, bytearray]:
        """The worker's next frame: (its message, or the mapping under `key` in it; a payload of at most
        `max_payload` bytes).

        Anything wrong with it (a frame over its bounds, bad JSON, a MemoryError while reading) kills the
        worker and raises SandboxError: the submission gets SANDBOX_ERROR, the trainer carries on."""
        try:
            message_size, payload_size = FRAME.unpack(self._read_exact(FRAME.size, deadline))
            if message_size > MAX_MESSAGE_BYTES or payload_size > max_payload:
                raise self._fail(
                    f"sandbox worker sent a frame of {message_size} + {payload_size} bytes "
                    f"(at most {MAX_MESSAGE_BYTES} + {max_payload})"
                )
            message = json.loads(self._read_exact(message_size, deadline))
            payload = self._read_exact(payload_size, deadline)
        except SandboxError:
            raise
        except Exception as error:  # MemoryError included
            raise self._fail(f"could not read the sandbox worker's reply: {type(error).__name__}: {error}") from None
        if not isinstance(message, dict):
            raise self._fail(f"sandbox worker sent {str(message)[:100]!r}")
        if "error" in message:
            raise self._fail(f"sandbox worker failed: {message['error']}")
        if key is not None:
            message = message.get(key)
            if not isinstance(message, dict):
                raise self._fail(f"sandbox worker sent no {key!r} mapping")
        return message, payload

    def _with_stdout(self, outcome: dict, stdout: bytearray) -> dict:
        """A raw outcome with its stdout as text (as `python file.py | cat` would give it, undecodable bytes
        replaced); a failure to decode (MemoryError) is the worker's failure, not the trainer's."""
        try:
            if outcome:
                outcome["stdout"] = stdout.decode("utf-8", "replace")
            return outcome
        except Exception as error:
            raise self._fail(f"could not decode a run's output: {type(error).__name__}: {error}") from None

    # -- the protocol: program, run*, end -----------------------------------------------------

    @contextmanager
    def program(self, prepare: dict, timeout: float):
        """A fresh template for one program (see `_zygote.py`); yields the compile outcome ({} for Python)."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self.process is not None and self.process.poll() is not None:
                self.kill()  # died since its last program: reap it, free its uid
            if self.process is None:
                self._start()
            self._busy = True
        try:
            deadline = time.monotonic() + timeout
            self._send([{"op": "program"}, prepare], deadline)
            outcome, stdout = self._receive(deadline, "compile", int(prepare["limits"]["output_mb"]) << 20)
            yield self._with_stdout(outcome, stdout)
            if self.process is not None:
                try:
                    self._send([{"op": "end"}], time.monotonic() + REPLY_GRACE_SECONDS)
                except SandboxError as error:  # the program's results stand; the next program gets a new worker
                    logger.warning("local sandbox worker failed after a program: %s", error)
        finally:
            with self._lock:
                self._busy = False
                self._idle.notify_all()

    def run(self, stdin: str, limits: Limits, output_limit: int) -> dict:
        """Runs the program on one input; its raw outcome, with at most `output_limit` bytes of stdout."""
        if self.process is None:
            raise SandboxError("sandbox worker was stopped")
        deadline = time.monotonic() + limits.wall_seconds + PER_RUN_GRACE_SECONDS + REPLY_GRACE_SECONDS
        request = {"op": "run", "limits": limits.run_limits(), "output_limit": output_limit}
        self._send([(request, stdin.encode())], deadline)
        outcome, stdout = self._receive(deadline, "result", output_limit)
        return self._with_stdout(outcome, stdout)


class LocalSandbox(CodeExecutionProvider):
    """A pool of `num_workers` fork servers; `execute` runs submissions on them concurrently."""

    def __init__(
        self, num_workers: int = DEFAULT_SANDBOX_WORKERS, limits: Optional[Limits] = None, python: Optional[str] = None
    ):
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        self.mode = isolation_mode()
        if self.mode == "root":
            _run_uid_folder()  # a misconfigured lock folder is an error now, not a failed run later
        self.limits = limits or Limits()
        self.python = python or sandbox_python()
        self.num_workers = num_workers
        work_mb = max(256, self.limits.file_size_mb * 4)
        memory_mb = WORKER_BASE_MEMORY_MB + 2 * max(self.limits.output_mb, self.limits.compile_limits()["output_mb"])
        self._workers = [_ForkServer(i, self.mode, self.python, work_mb, memory_mb) for i in range(num_workers)]
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

    @property
    def run_uids(self) -> list[int]:
        """Every uid this sandbox's runs have used (root mode; empty in user-namespace mode)."""
        return sorted(set().union(*(worker.uids_used for worker in self._workers)))

    def worker_pids(self) -> list[int]:
        """Host pids of the live workers' `unshare` processes (each worker's processes are in its group)."""
        return [w.process.pid for w in self._workers if w.process is not None and w.process.poll() is None]

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        if self._closed:
            raise RuntimeError("LocalSandbox is closed")
        for submission in submissions:
            canonical_language(submission.language)
        if len(submissions) <= 1:
            return [self._execute_one(s, test_batch_size) for s in submissions]
        with ThreadPoolExecutor(max_workers=min(self.num_workers, len(submissions))) as pool:
            return list(pool.map(lambda s: self._execute_one(s, test_batch_size), submissions))

    def run_raw(self, source: str, language: str, inputs: Sequence[str]) -> tuple[dict, list[dict]]:
        """Runs a program on inputs and returns (compile outcome, raw outcome per input), without grading."""
        if self._closed:
            raise RuntimeError("LocalSandbox is closed")
        worker = self._idle.get()
        try:
            with self._program(worker, source, language) as compiled:
                if compiled and compiled.get("exit_code") != 0:
                    return compiled, []
                # Every output is kept here: callers that need bounded memory pass one input (the python tool does).
                return compiled, [worker.run(data, self.limits, self.limits.output_mb << 20) for data in inputs]
        except (SandboxError, OSError, ValueError, MemoryError):
            worker.kill()  # a silent or broken worker is replaced by a fresh one on its next program
            raise
        finally:
            self._idle.put(worker)

    def _program(self, worker: _ForkServer, source: str, language: str):
        language = canonical_language(language)
        prepare = {"op": "prepare", "language": language, "source": source, "limits": self.limits.compile_limits()}
        compile_seconds = 0.0 if language == "python" else self.limits.compile_seconds() + PER_RUN_GRACE_SECONDS
        return worker.program(prepare, compile_seconds + REPLY_GRACE_SECONDS)

    def _execute_one(self, submission: Submission, test_batch_size: int) -> ProgramResult:
        tests = submission.tests
        worker = self._idle.get()
        try:
            with self._program(worker, submission.source, submission.language) as compiled:
                if compiled and (compiled.get("exit_code") != 0 or compiled.get("sandbox_error")):
                    message = compiled.get("sandbox_error") or compiled.get("stderr", "")
                    if compiled.get("timed_out"):
                        message = "compilation timed out"
                    return ProgramResult(
                        outcomes=[TestOutcome(Verdict.COMPILE_ERROR) for _ in tests], compile_error=message[-2000:]
                    )
                # The submission's clock: its compile's wall time (the worker's start-up is not the program's).
                spent = float(compiled.get("wall_seconds") or 0.0)
                deadline = time.monotonic() + self.limits.submission_wall_seconds - spent

                def run_batch(start: int, batch: Sequence) -> Iterator[dict]:
                    # One test per request, run when the grader asks for it (one output in memory at a time), each
                    # given at most the time left: the worker itself stops the run at the submission's bound, and
                    # the request's own deadline kills a worker that does not.
                    for test in batch:
                        seconds_left = deadline - time.monotonic()
                        if seconds_left <= 0:
                            yield not_run_raw()
                            continue
                        limits = replace(self.limits, wall_seconds=min(self.limits.wall_seconds, seconds_left))
                        yield worker.run(judge_input(test.input), limits, output_limit(test.output, self.limits))

                return grade_groups(submission, run_batch, test_batch_size)
        except (SandboxError, OSError, ValueError, MemoryError) as error:
            logger.warning("local sandbox failed on a submission (reward 0): %s", error)
            worker.kill()
            return ProgramResult(
                outcomes=[TestOutcome(Verdict.SANDBOX_ERROR, detail=str(error)) for _ in tests],
                sandbox_error=str(error),
            )
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Stops every worker; no worker, fork server or program process outlives this call."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for worker in self._workers:
            worker.close()
        atexit.unregister(self.close)
