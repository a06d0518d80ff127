"""A bounded pool of grading worker processes with a hard time limit per task.

`run_tasks(tasks, num_workers=..., timeout=...)` runs the tasks on worker processes (`grading_worker.py`) and
returns the results in order; a task that overruns its time limit gets `TIMED_OUT` and its worker is killed and
replaced, a task whose worker dies under it gets `CRASHED`; with `batch_seconds`, every task not finished by then
gets `TIMED_OUT`. Tasks travel in chunks (up to MAX_CHUNK_TASKS in one
frame, smaller towards the end so the workers finish together) because a task takes about a millisecond and a
round trip per task would cost as much; results come back one frame per task, and each task's time limit starts
when the one before it finished. When a task overruns or its worker dies, only that task is lost: the rest of its
chunk goes back to the front of the queue. Nothing here can hang the caller for longer than the time limit per
task (plus worker start-up), nor, with `batch_seconds`, a call's grading for longer than that (worker start-up
counted; not a wait for workers another thread holds).

A worker may die at any moment (a crash in C code, the kernel's OOM killer, a signal from outside), busy or
idle, before or after it reported ready: it is always replaced, and only the task it was grading, if any, is
lost. Only a worker that cannot get going at all (its replacements keep dying before they grade anything, e.g.
an import error: several in a row within one call) raises, with its stderr.

Why processes started with `subprocess` rather than `multiprocessing`: the callers are training
processes with CUDA and threads (forking them is unsafe), daemonic pool workers (which may not have
multiprocessing children) and async code; a plain child process talking over pipes works in all of
them. The pool is created lazily on first use, shared by all threads of a process, re-created in a
forked child, and shut down at exit. Workers also exit on their own when their stdin closes.

Why all this instead of a loop that parses and verifies in the caller: docs/benchmarks.md measures
`accuracy_reward` against that loop (`scripts/benchmarks/rewards.py`), with identical rewards.

Not covered: scheduling across several training processes (each has its own pool, sized by
`reward_num_workers`).
"""

import atexit
import math
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

from open_r1.rewards.grading_protocol import FRAME_HEADER

TIMED_OUT = object()
CRASHED = object()
WORKER_START_TIMEOUT_SECONDS = 120.0
# Workers in a row (each replacing the last) that may die before grading anything within one call before the
# pool gives up: one such death is an accident (killed while idle or starting), several in a row in the same
# call mean the worker cannot run. Between calls the count starts again, so accidents never add up to an error.
MAX_FAILED_STARTS = 3
# Most tasks per frame (see `_chunk_size`); also bounds the work requeued when a worker is killed mid-chunk.
MAX_CHUNK_TASKS = 64
WORKER_MODULE = "open_r1.rewards.grading_worker"
# The directory that holds the `open_r1` package this process imported: the worker must import the same code
# (a checkout on PYTHONPATH, an editable install or a worktree), wherever its working directory is.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _worker_argv() -> list[str]:
    """The worker's command line: `python -m open_r1.rewards.grading_worker` (the rewards package imports
    neither torch nor TRL, so a worker starts in about the time math-verify and sympy take to import)."""
    return [sys.executable, "-m", WORKER_MODULE]


def _worker_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
    return env


class _Worker:
    """One `grading_worker` child process and the unread bytes of its replies."""

    def __init__(self, failed_starts: int = 0):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            _worker_argv(),
            env=_worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,  # a Ctrl-C aimed at the trainer must not kill graders mid-frame
        )
        self.fd = self.process.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = bytearray()
        self.ready = False
        self.start_deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
        self.failed_starts = failed_starts  # predecessors in a row (this call) that died before grading anything
        self.graded_a_task = False
        self.exited = False  # its stdout reached end-of-file: the process is gone (or going)
        self.killed = False
        self.stderr_tail = ""  # kept by `kill`, which closes the file

    def send(self, tasks: list) -> None:
        """Sends a chunk of tasks as one frame; the worker answers each with its own (result, finished_at) frame."""
        data = pickle.dumps(tasks, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.write(FRAME_HEADER.pack(len(data)) + data)
        self.process.stdin.flush()

    def receive(self) -> list:
        """Reads what is available and returns the complete messages; sets `exited` at end-of-file.

        Frames read before the end-of-file are still returned: a worker may say "ready" (or send a result)
        and die before the parent gets to read either."""
        while not self.exited:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                self.exited = True
                break
            self.buffer += chunk
        messages = []
        while len(self.buffer) >= FRAME_HEADER.size:
            (size,) = FRAME_HEADER.unpack_from(self.buffer)
            if len(self.buffer) < FRAME_HEADER.size + size:
                break
            messages.append(pickle.loads(bytes(self.buffer[FRAME_HEADER.size : FRAME_HEADER.size + size])))
            del self.buffer[: FRAME_HEADER.size + size]
        return messages

    def startup_error(self) -> str:
        """How the worker ended (call after `kill`) and the end of its stderr."""
        code = self.process.returncode
        if code is not None and code < 0:
            try:
                status = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                status = f"killed by signal {-code}"
        else:
            status = f"exit status {code}"
        return f"{status}; stderr:\n{self.stderr_tail or '(empty)'}"

    def kill(self) -> None:
        if self.killed:
            return
        self.killed = True
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        self.process.wait()
        self.stderr.seek(max(0, self.stderr.seek(0, os.SEEK_END) - 4000))
        self.stderr_tail = self.stderr.read().decode("utf-8", "replace")
        for stream in (self.process.stdin, self.process.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass


class GradingPool:
    """Worker processes shared by every thread of one process; see the module docstring."""

    def __init__(self):
        self._condition = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False

    def _acquire(self, wanted: int, max_workers: int, block: bool) -> list[_Worker]:
        with self._condition:
            while True:
                if self._closed:
                    raise RuntimeError("the grading pool was shut down")
                taken = []
                while self._idle and len(taken) < wanted:
                    worker = self._idle.pop()
                    worker.failed_starts = 0
                    taken.append(worker)
                try:
                    while len(self._all) < max_workers and len(taken) < wanted:
                        worker = _Worker()
                        self._all.add(worker)
                        taken.append(worker)
                except BaseException:
                    self._idle.extend(taken)
                    raise
                if taken or not block:
                    return taken
                self._condition.wait()

    def _release(self, workers: list[_Worker]) -> None:
        with self._condition:
            for worker in workers:
                if worker.killed:
                    self._all.discard(worker)  # its place is free: `_acquire` starts a new one when needed
                else:
                    self._idle.append(worker)
            self._condition.notify_all()

    def _replace(self, worker: _Worker, failed_start: bool) -> _Worker:
        """Kills `worker` and starts another in its place. `failed_start`: it died before grading anything, which
        raises once it has happened to MAX_FAILED_STARTS workers in a row."""
        worker.kill()
        failed_starts = worker.failed_starts + 1 if failed_start else 0
        with self._condition:
            self._all.discard(worker)
            if self._closed:
                raise RuntimeError("the grading pool was shut down")
            if failed_starts >= MAX_FAILED_STARTS:
                raise RuntimeError(
                    f"{failed_starts} math grading workers in a row failed to start; the last one ended with "
                    f"{worker.startup_error()}"
                )
            replacement = _Worker(failed_starts)
            self._all.add(replacement)
        return replacement

    def run(self, tasks: list, num_workers: int, timeout: float, batch_seconds: float | None = None) -> list:
        """Runs `tasks` on at most `num_workers` workers; returns results, TIMED_OUT or CRASHED, in order.

        Tasks go out in chunks (one frame each) and come back one result per frame, so the time limit still
        applies to each task: a task's clock starts when the one before it in the chunk finished (or when the
        chunk was sent). A task that overruns is TIMED_OUT, its worker is killed, and the tasks after it in the
        chunk go back to the front of the queue for the next free worker. `batch_seconds`: once the call has run
        that long, every task not finished is TIMED_OUT (the busy workers killed), however many were left."""
        batch_deadline = None if batch_seconds is None else time.monotonic() + batch_seconds
        results = [CRASHED] * len(tasks)
        pending = deque(range(len(tasks)))
        mine: list[_Worker] = []
        # Per busy worker: the indices it still owes, in the order it grades them, and when the clock of the
        # first of them started.
        in_flight: dict[_Worker, deque] = {}
        clock_started: dict[_Worker, float] = {}

        def give_back_unfinished(worker: _Worker, lost_result) -> None:
            owed = in_flight.pop(worker)
            clock_started.pop(worker)
            results[owed.popleft()] = lost_result
            pending.extendleft(reversed(owed))

        try:
            while pending or in_flight:
                wanted = min(num_workers, len(in_flight) + len(pending)) - len(mine)
                if wanted > 0:
                    mine += self._acquire(wanted, num_workers, block=not mine)
                for position, worker in enumerate(mine):
                    if pending and worker.ready and worker not in in_flight:
                        chunk = [pending.popleft() for _ in range(_chunk_size(len(pending), num_workers))]
                        try:
                            worker.send([tasks[index] for index in chunk])
                        except OSError:
                            # The worker died while idle: not these tasks' fault, so they go to the replacement.
                            pending.extendleft(reversed(chunk))
                            mine[position] = self._replace(worker, failed_start=not worker.graded_a_task)
                            continue
                        in_flight[worker] = deque(chunk)
                        clock_started[worker] = time.monotonic()

                waiting = [w for w in mine if w in in_flight or not w.ready]
                deadlines = [started + timeout for started in clock_started.values()]
                deadlines += [w.start_deadline for w in waiting if not w.ready]
                deadlines += [] if batch_deadline is None else [batch_deadline]
                wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

                for worker in _readable(waiting, wait_for):
                    received_at = time.monotonic()
                    for message in worker.receive():
                        if message == "ready" and not worker.ready:
                            worker.ready = True
                        elif worker in in_flight:
                            result, finished_at = message
                            owed = in_flight[worker]
                            results[owed.popleft()] = result
                            worker.graded_a_task = True
                            if owed:
                                # The next task started when this one finished (the worker says when, on the
                                # same monotonic clock), not when we got round to reading the result.
                                clock_started[worker] = max(clock_started[worker], min(finished_at, received_at))
                            else:
                                del in_flight[worker], clock_started[worker]
                    if worker.exited:
                        # Dead at any point (starting, idle, or grading): replace it; only the task it was grading
                        # is lost, the rest of its chunk goes to another worker.
                        was_grading = worker in in_flight
                        if was_grading:
                            give_back_unfinished(worker, CRASHED)
                        failed_start = not was_grading and not worker.graded_a_task
                        mine[mine.index(worker)] = self._replace(worker, failed_start=failed_start)

                now = time.monotonic()
                out_of_batch_time = batch_deadline is not None and now >= batch_deadline
                for worker, started in list(clock_started.items()):
                    if now >= started + timeout or out_of_batch_time:
                        give_back_unfinished(worker, TIMED_OUT)
                        mine[mine.index(worker)] = self._replace(worker, failed_start=False)
                if out_of_batch_time:
                    for index in pending:
                        results[index] = TIMED_OUT
                    pending.clear()
                for worker in mine:
                    if not worker.ready and now >= worker.start_deadline:
                        worker.kill()
                        raise RuntimeError(
                            f"A math grading worker did not start within {WORKER_START_TIMEOUT_SECONDS:.0f}s; it "
                            f"ended with {worker.startup_error()}"
                        )
        except BaseException:
            # A worker whose replies we will not read would answer the next caller with stale results. The killed
            # ones are dropped (not replaced here, where starting a process could fail in turn).
            for worker in mine:
                if worker in in_flight or not worker.ready:
                    worker.kill()
            raise
        finally:
            self._release(mine)
        return results

    def close(self) -> None:
        with self._condition:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._condition.notify_all()
        for worker in workers:
            worker.kill()


def _chunk_size(pending: int, num_workers: int) -> int:
    """Tasks to send in one frame: large enough that the round trip per frame is small against the grading (a task
    takes about a millisecond), shrinking towards the end so that the workers finish together."""
    return max(1, min(MAX_CHUNK_TASKS, math.ceil(pending / (2 * num_workers))))


def _readable(workers: list[_Worker], wait_for: float | None) -> list[_Worker]:
    """The workers with something to read (a reply or end-of-file), waiting at most `wait_for` seconds.

    poll rather than select: select cannot watch descriptors numbered 1024 or more, which a training
    process with many files and sockets open easily reaches."""
    poller = select.poll()
    by_fd = {}
    for worker in workers:
        poller.register(worker.fd, select.POLLIN)
        by_fd[worker.fd] = worker
    events = poller.poll(None if wait_for is None else math.ceil(wait_for * 1000))
    return [by_fd[fd] for fd, _ in events]


_pool: GradingPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def get_pool() -> GradingPool:
    """The pool of this process, created on first use (and again in a forked child)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            # A forked child inherits the parent's pool object but not its pipes' other ends: start afresh.
            _pool, _pool_pid = GradingPool(), os.getpid()
        return _pool


def shutdown_pool() -> None:
    """Stops this process's workers (registered at exit; also useful in tests)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and _pool_pid == os.getpid():
        pool.close()


def run_tasks(tasks: list, num_workers: int, timeout: float, batch_seconds: float | None = None) -> list:
    if num_workers < 1:
        raise ValueError(f"reward_num_workers must be >= 1, got {num_workers}")
    if not timeout > 0:
        raise ValueError(f"reward_timeout_seconds must be > 0, got {timeout}")
    if not tasks:
        return []
    return get_pool().run(tasks, num_workers, timeout, batch_seconds)


atexit.register(shutdown_pool)
