"""Job slots for processes that share one GPU: at most `capacity` training runs or evaluations at a time, and a free
slot goes to a job on the run's critical path before any other.

    with contextlib.ExitStack() as stack:
        slots = shared_job_slots(stack, capacity=2)   # a proxy that spawned processes can be handed
        with job_slot(slots, critical=True):          # waits for a slot, holds it while the block runs
            train(...)
        with job_slot(slots, critical=True, hand_to_critical=True):  # its slot kept for the critical job next
            ...

`make gsm8k` runs its two arms in separate processes on one GPU; two of its jobs fit in an H100's memory, three do
not, and the tool arm's chain of jobs (SFT, GRPO, GRPO's evaluations) decides when the run ends, so its jobs are the
critical ones: a chain-of-thought job or an evaluation that overlaps training waits while one of them does. A
critical job whose successor in the chain is critical hands its slot to it (`hand_to_critical`): released, the slot
goes to a critical job only, so that a job that waited off the critical path does not take it in the moment between
the two. The slots live in a manager process so that every process of the run sees the same ones.

A training that runs out of GPU memory while a job beside it runs (`launch_beside`, `JobBeside`: make gsm8k's GRPO
beside the evaluation of the model it starts from, which ran out on the lease of 2026-11-26) starts again, once,
when that job has ended.

Not covered: several GPUs, memory accounting (a slot is a job, whatever its size), taking a slot back from a job
that holds one.
"""

import contextlib
import multiprocessing
import pathlib
import threading
import time
from collections.abc import Callable
from multiprocessing.managers import BaseManager

from open_r1.utils.launch import LaunchFailed

# Seconds from a training process running out of GPU memory to its launcher's exit, at most: room for torchrun's
# shutdown, which make gsm8k's launches no longer go through (one_process.yaml).
LAUNCH_EXIT_SECONDS = 30.0


class JobSlots:
    """`capacity` slots. `acquire` takes one, waiting while none is free or, for a job off the critical path, while
    a critical job waits for one."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._capacity, self._free, self._critical_waiting = capacity, capacity, 0
        self._handed = 0  # free slots kept for a critical job (`release(to_critical=True)`)
        self._changed = threading.Condition()

    def _may_take(self, critical: bool) -> bool:
        if critical:
            return self._free > 0
        return self._free > self._handed and self._critical_waiting == 0

    def acquire(self, critical: bool = False, blocking: bool = True) -> bool:
        """Takes a slot, waiting for one unless `blocking` is false; returns whether it took one."""
        with self._changed:
            if not blocking:
                taken = self._may_take(critical)
            else:
                self._critical_waiting += critical
                try:
                    self._changed.wait_for(lambda: self._may_take(critical))
                finally:
                    self._critical_waiting -= critical
                taken = True
            if taken:
                self._free -= 1
                if critical and self._handed:
                    self._handed -= 1
            # A critical job that stops waiting may let another job take the slot that remains.
            self._changed.notify_all()
            return taken

    def release(self, to_critical: bool = False) -> None:
        """Gives a slot back; `to_critical`: to the next critical job only, which the caller knows will ask for it."""
        with self._changed:
            if self._free == self._capacity:
                raise ValueError("release() without a slot held")
            self._free += 1
            self._handed += to_critical
            self._changed.notify_all()

    def held(self) -> int:
        """How many slots jobs hold now."""
        with self._changed:
            return self._capacity - self._free

    def critical_waiting(self) -> int:
        """How many critical jobs wait for a slot now."""
        with self._changed:
            return self._critical_waiting


class _SlotsManager(BaseManager):
    pass


_SlotsManager.register("JobSlots", JobSlots)


def shared_job_slots(stack: contextlib.ExitStack, capacity: int):
    """A `JobSlots` in a manager process that lives as long as `stack`; its proxy can be passed to spawned
    processes."""
    manager = stack.enter_context(_SlotsManager(ctx=multiprocessing.get_context("spawn")))
    return manager.JobSlots(capacity)


@contextlib.contextmanager
def job_slot(slots, critical: bool = False, hand_to_critical: bool = False):
    """Holds one of `slots` (None: no bound) while the block runs; `hand_to_critical`: then gives it to the next
    critical job only (`JobSlots.release`), for a job that a critical one always follows."""
    if slots is None:
        yield
        return
    slots.acquire(critical)
    try:
        yield
    finally:
        slots.release(hand_to_critical)


class JobBeside:
    """A job running beside a training on the same GPU: whether it ran when the training ran out of memory, and how
    it ended. Its runner calls `end` however it ends."""

    def __init__(self, name: str):
        self.name = name  # what the restart's line calls it
        self._ended, self._ended_at, self._failed = threading.Event(), None, False

    def end(self, failed: bool) -> None:
        self._failed, self._ended_at = failed, time.time()
        self._ended.set()

    def ran_until(self, failed_at: float) -> bool:
        """Whether it ran when a launch whose failure came at `failed_at` ran out of memory (its launcher's exit
        taking up to `LAUNCH_EXIT_SECONDS`)."""
        return self._ended_at is None or self._ended_at >= failed_at - LAUNCH_EXIT_SECONDS

    def wait(self) -> bool:
        """Waits until it has ended; whether it succeeded."""
        self._ended.wait()
        return not self._failed


def launch_beside(
    launch: Callable[[], float], beside: JobBeside | None, log_file: pathlib.Path, what: str
) -> tuple[float, dict | None]:
    """`launch()`, a training launch that writes `log_file` and returns its seconds; where it fails out of GPU memory
    while `beside` runs, once more after `beside` has ended well (the failed launch's log kept as
    `<stem>.out-of-memory.log`, the line `what` begins printed). Returns the seconds and the restart's record
    (`seconds_lost`: the failed launch and the wait; `log`; `beside`: its name), None without one. Alone on the
    GPU, or beside a job that failed too, the failure is raised: a second launch would fail alike."""
    started = time.time()
    try:
        return launch(), None
    except LaunchFailed as failure:
        if not failure.out_of_gpu_memory or beside is None or not beside.ran_until(time.time()):
            raise
        kept = log_file.with_name(f"{log_file.stem}.out-of-memory.log")
        if log_file.exists():  # the second launch writes a log of its own
            log_file.replace(kept)
        print(
            f"{what} ran out of GPU memory after {time.time() - started:.0f} s beside {beside.name}; it starts again "
            f"once that has ended (the failed launch's log: {kept})",
            flush=True,
        )
        if not beside.wait():
            raise
    restart = {"seconds_lost": round(time.time() - started, 1), "log": str(kept), "beside": beside.name}
    return launch(), restart
