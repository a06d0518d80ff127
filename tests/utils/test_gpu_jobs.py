"""GPU job slots (open_r1.utils.gpu_jobs): at most `capacity` jobs hold one, a free slot goes to a critical job
before any other, and the slots are shared by spawned processes; a training out of GPU memory beside another job
starts again once that job has ended well, and only then."""

import contextlib
import multiprocessing
import threading
import time

import pytest

from open_r1.utils.gpu_jobs import LAUNCH_EXIT_SECONDS, JobBeside, JobSlots, job_slot, launch_beside, shared_job_slots


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_at_most_capacity_jobs_hold_a_slot():
    slots = JobSlots(2)
    assert slots.acquire(blocking=False) and slots.acquire(critical=True, blocking=False)
    assert slots.acquire(blocking=False) is False and slots.acquire(critical=True, blocking=False) is False
    slots.release()
    assert slots.held() == 1 and slots.acquire(blocking=False) is True


def test_releasing_a_slot_nobody_holds_is_an_error():
    with pytest.raises(ValueError, match="without a slot held"):
        JobSlots(1).release()
    with pytest.raises(ValueError, match="at least 1"):
        JobSlots(0)


@pytest.mark.parametrize("trial", range(10))
def test_a_freed_slot_goes_to_the_waiting_critical_job_before_an_other_one_that_waited_longer(trial):
    slots, order = JobSlots(1), []
    slots.acquire()

    def job(name: str, critical: bool) -> None:
        with job_slot(slots, critical):
            order.append(name)

    other = threading.Thread(target=job, args=("other", False))
    other.start()
    time.sleep(0.01)  # the other job waits first
    critical = threading.Thread(target=job, args=("critical", True))
    critical.start()
    wait_until(lambda: slots.critical_waiting() == 1)
    slots.release()
    for thread in (other, critical):
        thread.join(timeout=10)
    assert order == ["critical", "other"]
    assert slots.held() == 0


def test_an_other_job_takes_a_free_slot_while_no_critical_job_waits():
    slots = JobSlots(2)
    with job_slot(slots, critical=True), job_slot(slots):
        assert slots.held() == 2
    assert slots.held() == 0


def hold_one_slot(slots) -> int:
    """A spawned process takes a slot, critical, and keeps it (it ends without giving it back)."""
    slots.acquire(True)
    return slots.held()


def test_spawned_processes_share_the_slots():
    with contextlib.ExitStack() as stack:
        slots = shared_job_slots(stack, capacity=2)
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:
            assert pool.apply(hold_one_slot, (slots,)) == 1
        assert slots.held() == 1  # the child's slot, seen from here
        assert slots.acquire(False, False) is True and slots.acquire(False, False) is False


def test_no_slots_means_no_bound():
    with job_slot(None, critical=True), job_slot(None):
        pass


def test_a_slot_handed_to_the_next_critical_job_is_not_taken_by_one_that_waited_off_the_critical_path():
    slots, taken = JobSlots(1), []
    slots.acquire(critical=True)
    waiting = threading.Thread(target=lambda: (slots.acquire(), taken.append("other")))
    waiting.start()
    time.sleep(0.05)
    slots.release(to_critical=True)  # the critical chain's next job has not asked yet
    time.sleep(0.05)
    assert taken == [] and slots.acquire(blocking=False) is False
    assert slots.acquire(critical=True, blocking=False) is True  # the next critical job takes it
    slots.release()  # an ordinary release: the other job takes the slot
    waiting.join(timeout=10)
    assert taken == ["other"]


def test_job_slot_hands_its_slot_over_only_when_asked():
    slots = JobSlots(1)
    with job_slot(slots, critical=True, hand_to_critical=True):
        pass
    assert slots.acquire(blocking=False) is False and slots.acquire(critical=True, blocking=False) is True
    slots.release()
    with job_slot(slots, critical=True):
        pass
    assert slots.acquire(blocking=False) is True


def test_a_launch_out_of_memory_counts_as_beside_a_job_until_its_launcher_could_have_exited():
    beside = JobBeside("an evaluation")
    assert beside.ran_until(time.time())  # still running
    beside.end(failed=False)
    ended = time.time()
    assert beside.ran_until(ended + LAUNCH_EXIT_SECONDS - 1)  # the failure took the launcher this long to say
    assert not beside.ran_until(ended + LAUNCH_EXIT_SECONDS + 1)
    assert beside.wait() is True


def failing_launches(*failures):
    """A launch that raises each of `failures` in turn (None: succeeds, taking 1 s), counting its calls."""
    calls = []

    def launch() -> float:
        calls.append(len(calls))
        failure = failures[len(calls) - 1]
        if failure is not None:
            raise failure
        return 1.0

    return launch, calls


@pytest.mark.parametrize("failure", ["not out of memory", "alone", "beside a failed job"])
def test_a_launch_that_fails_otherwise_is_not_launched_again(tmp_path, failure):
    from open_r1.utils.launch import LaunchFailed

    out_of_memory = LaunchFailed("out", out_of_gpu_memory=failure != "not out of memory")
    launch, calls = failing_launches(out_of_memory, None)
    beside = None if failure == "alone" else JobBeside("an evaluation")
    if failure == "beside a failed job":
        threading.Timer(0.1, beside.end, kwargs={"failed": True}).start()
    with pytest.raises(LaunchFailed):
        launch_beside(launch, beside, tmp_path / "train.log", "GRPO")
    assert calls == [0]


def test_a_launch_out_of_memory_beside_a_job_runs_again_when_it_has_ended(tmp_path):
    from open_r1.utils.launch import LaunchFailed

    log = tmp_path / "train.log"
    log.write_text("CUDA error: out of memory\n")
    launch, calls = failing_launches(LaunchFailed("out", out_of_gpu_memory=True), None)
    beside = JobBeside("an evaluation")
    threading.Timer(0.2, beside.end, kwargs={"failed": False}).start()
    seconds, restart = launch_beside(launch, beside, log, "GRPO")
    assert seconds == 1.0 and calls == [0, 1]
    assert restart["seconds_lost"] >= 0.2  # the wait for the job beside counts
    assert restart["log"] == str(tmp_path / "train.out-of-memory.log") and restart["beside"] == "an evaluation"
    assert (tmp_path / "train.out-of-memory.log").read_text() == "CUDA error: out of memory\n" and not log.exists()
