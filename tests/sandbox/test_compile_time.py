"""Compiling is not free time: a compile stops at Piston's 10 s by default, a submission's program compiles once
whatever its groups of tests, and a submission's whole time (compile plus every test) is bounded.

Hostile programs make the compiler work for minutes (`tests/support/compile_bombs.py`) or run many slow tests;
the bound is checked in the local sandbox (the worker stops runs at it, and the trainer kills a worker that does
not), in the cloud providers' evaluation script and in the Piston provider. Every test has its own hard limit.
"""

import subprocess
import sys
import time

import pytest

from open_r1.sandbox import Limits, ProgramResult, Submission, TestCase, Verdict
from open_r1.sandbox import local as local_module
from open_r1.sandbox.piston import PistonClient, PistonProvider
from open_r1.sandbox.remote import RemoteProvider
from tests.support.compile_bombs import COMPILE_BOMBS, CONSTEXPR_LOOPS, SLOW_BUT_VALID_CPP
from tests.support.piston_answers import piston_answer
from tests.support.sandbox_checks import verdicts

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

# Slack for a loaded shared machine (a worker's start, the kill and drain after a limit).
SLACK = 6.0
SLEEP_ONE_SECOND = "import time\ntime.sleep(1)\nprint(input())"
ADD = TestCase("3 4", "7")


def timed(call, *args, **kwargs):
    start = time.monotonic()
    value = call(*args, **kwargs)
    return value, time.monotonic() - start


@pytest.mark.timeout(45)
def test_a_compile_bomb_stops_at_pistons_compile_limit_by_default(make_local_sandbox):
    # constexpr evaluation for minutes: with the old 60 s default the whole minute went by before any test.
    box = make_local_sandbox(num_workers=1)
    [result], seconds = timed(box.execute, [Submission(CONSTEXPR_LOOPS, "cpp", (ADD, ADD))])
    assert verdicts(result) == [Verdict.COMPILE_ERROR] * 2
    assert result.compile_error == "compilation timed out" and result.score("partial") == 0.0
    assert seconds < 10.0 + SLACK


@pytest.mark.timeout(30)
@pytest.mark.parametrize("bomb", sorted(COMPILE_BOMBS))
def test_compile_bombs_stop_at_the_submission_bound(make_local_sandbox, bomb):
    # A generous compile limit does not lift the submission's bound: the compile is part of its time.
    box = make_local_sandbox(num_workers=1, limits=Limits(compile_wall_seconds=25, submission_wall_seconds=2))
    [result], seconds = timed(box.execute, [Submission(COMPILE_BOMBS[bomb], "cpp", (ADD,) * 3)])
    assert verdicts(result) == [Verdict.COMPILE_ERROR] * 3 and result.compile_error == "compilation timed out"
    assert seconds < 2.0 + SLACK


@pytest.mark.timeout(60)
def test_a_grouped_submission_compiles_once_and_grades_each_group_on_its_own(make_local_sandbox):
    box = make_local_sandbox(num_workers=1)
    wrong = TestCase("3 4", "8")
    groups = [(ADD,), (ADD, wrong, ADD), (wrong, ADD), (ADD, ADD)]
    one_group, alone = timed(box.execute, [Submission(SLOW_BUT_VALID_CPP, "cpp", (ADD,))], test_batch_size=1)
    [result], together = timed(box.execute, [Submission.grouped(SLOW_BUT_VALID_CPP, "cpp", groups)], test_batch_size=1)
    assert one_group[0].all_passed
    # Each group stops at its own first failure; the next group starts afresh.
    assert [verdicts(part) for part in result.split((1, 3, 2, 2))] == [
        [Verdict.PASSED],
        [Verdict.PASSED, Verdict.FAILED, Verdict.SKIPPED],
        [Verdict.FAILED, Verdict.SKIPPED],
        [Verdict.PASSED, Verdict.PASSED],
    ]
    assert [part.all_passed for part in result.split((1, 3, 2, 2))] == [True, False, False, True]
    # One compile (~2 s of constexpr evaluation) for four groups: four compiles would take four times as long (3: the
    # two timings may fall under different loads, beside another test worker).
    assert together < 3.0 * alone, (alone, together)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("batch_size", [0, 1])
def test_many_slow_tests_stop_at_the_submission_bound(make_local_sandbox, batch_size):
    limits = Limits(wall_seconds=5, submission_wall_seconds=3.5)
    box = make_local_sandbox(num_workers=1, limits=limits)
    tests = tuple(TestCase(str(i), str(i)) for i in range(20))
    [result], seconds = timed(box.execute, [Submission(SLEEP_ONE_SECOND, "python", tests)], batch_size)
    # Tests that fit run and keep their verdicts; the one the bound falls in is stopped at it; the rest never run.
    assert seconds < 3.5 + SLACK
    passed = verdicts(result).count(Verdict.PASSED)
    assert 1 <= passed <= 3 and verdicts(result)[:passed] == [Verdict.PASSED] * passed
    if batch_size == 0:
        assert verdicts(result)[passed:] == [Verdict.TIMEOUT] * (20 - passed)
        assert "not run" in result.outcomes[-1].detail
    else:  # the batch rule skips what follows a failed batch, as for any failure
        assert verdicts(result)[passed:] == [Verdict.TIMEOUT] + [Verdict.SKIPPED] * (19 - passed)


@pytest.mark.timeout(30)
def test_the_bound_spans_every_group_of_a_submission(make_local_sandbox):
    box = make_local_sandbox(num_workers=1, limits=Limits(wall_seconds=5, submission_wall_seconds=2.5))
    groups = [tuple(TestCase(str(i), str(i)) for i in range(3))] * 4
    [result], seconds = timed(box.execute, [Submission.grouped(SLEEP_ONE_SECOND, "python", groups)], 1)
    assert seconds < 2.5 + SLACK
    parts = result.split((3, 3, 3, 3))
    assert not any(part.all_passed for part in parts)
    assert [verdicts(part) for part in parts[1:]] == [[Verdict.TIMEOUT, Verdict.SKIPPED, Verdict.SKIPPED]] * 3


@pytest.mark.timeout(30)
def test_a_worker_that_overruns_the_submission_bound_is_killed(make_local_sandbox, monkeypatch):
    # A worker that ignored the time left (it gets the full 30 s wall here) is killed by the trainer's deadline.
    original = Limits.run_limits
    monkeypatch.setattr(Limits, "run_limits", lambda self: original(self) | {"wall_seconds": 30, "cpu_seconds": 30})
    monkeypatch.setattr(local_module, "PER_RUN_GRACE_SECONDS", 1.0)
    monkeypatch.setattr(local_module, "REPLY_GRACE_SECONDS", 1.0)
    box = make_local_sandbox(num_workers=1, limits=Limits(wall_seconds=30, cpu_seconds=30, submission_wall_seconds=2))
    box.execute([Submission("print(1)", "python", (TestCase("", "1"),))])  # the worker starts outside the clock
    [worker_pid] = box.worker_pids()
    forever = Submission("import time\nprint(1)\ntime.sleep(3600)", "python", (TestCase("", "1"),) * 2)
    [result], seconds = timed(box.execute, [forever])
    assert verdicts(result) == [Verdict.SANDBOX_ERROR] * 2 and "did not answer in time" in result.sandbox_error
    assert seconds < 2.0 + 2.0 + SLACK
    assert worker_pid not in box.worker_pids()


class ScriptOnThisMachine(RemoteProvider):
    """The cloud providers' evaluation script, run here with the host's Python (our own benign programs)."""

    name = "script"

    def run_one(self, script: str) -> str:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout


@pytest.mark.timeout(30)
def test_the_evaluation_script_stops_at_the_submission_bound():
    provider = ScriptOnThisMachine(
        num_workers=1, attempts=1, limits=Limits(wall_seconds=5, submission_wall_seconds=2.5)
    )
    groups = [tuple(TestCase(str(i), str(i)) for i in range(5))] * 2
    [result], seconds = timed(provider.execute, [Submission.grouped(SLEEP_ONE_SECOND, "python", groups)], 0)
    assert seconds < 2.5 + SLACK
    first, second = result.split((5, 5))
    assert 1 <= first.passed <= 2 and not first.all_passed
    assert verdicts(second) == [Verdict.TIMEOUT] * 5 and "not run" in second.outcomes[0].detail


class TimedPiston:
    """A Piston session answering every test after `compile_ms` of compile and `run_ms` of run, echoing stdin."""

    def __init__(self, compile_ms: int, run_ms: int):
        self.compile_ms, self.run_ms = compile_ms, run_ms
        self.bodies = []

    def post(self, url, json, timeout, stream=False):
        self.bodies.append(json)
        answer = {
            "compile": {"code": 0, "stdout": "", "stderr": "", "wall_time": self.compile_ms},
            "run": {"code": 0, "stdout": json["stdin"], "stderr": "", "signal": None, "wall_time": self.run_ms},
        }
        return piston_answer(200, answer)


@pytest.mark.timeout(10)
def test_piston_counts_one_compile_and_the_runs_against_the_submission_bound():
    session = TimedPiston(compile_ms=500, run_ms=1000)
    provider = PistonProvider(PistonClient("http://piston:2000/api/v2", session), Limits(submission_wall_seconds=3))
    tests = tuple(TestCase(str(i), str(i)) for i in range(10))
    [result] = provider.execute([Submission("int main(){}", "cpp", tests)], test_batch_size=1)
    # 0.5 s compile + 1 s per run: the third run starts with 0.5 s left and is given no more; nothing runs after.
    assert len(session.bodies) == 3
    assert [body["run_timeout"] for body in session.bodies] == [3000, 1500, 500]
    assert session.bodies[0]["compile_timeout"] == 3000
    assert verdicts(result) == [Verdict.PASSED] * 3 + [Verdict.TIMEOUT] + [Verdict.SKIPPED] * 6


def test_a_submission_bound_and_groups_that_cannot_hold_are_refused():
    with pytest.raises(ValueError, match="submission_wall_seconds must be > 0"):
        Limits(submission_wall_seconds=0)
    with pytest.raises(ValueError, match="adding up to the 2 tests"):
        Submission("print(1)", "python", (ADD, ADD), group_sizes=(1, 2))
    with pytest.raises(ValueError, match="cannot be split"):
        ProgramResult().split((1, 1))
