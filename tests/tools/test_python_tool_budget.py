"""The python tool's time budget per rollout (open_r1.tools.python_tool), against hostile assistant turns.

`max_tool_calling_iterations` bounds rounds, not calls: one assistant turn may hold any number of `python` calls.
Each test below makes turns of looping calls (the way TRL and `open_r1.tools.rollout` run them: one after
another, through `call_tool`) and checks that the rollout's tool time stays within its budget, that calls past
it are answered with the budget's error at once without running, and that the tool metrics report it.
"""

import threading
import time
from dataclasses import replace

import pytest

from open_r1.sandbox import SandboxConfig
from open_r1.tools import PythonTool, PythonToolSettings
from open_r1.tools.python_tool import default_rollout_seconds
from open_r1.tools.rollout import call_tool
from tests.conftest import python_call

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

WALL = 1.0
ROUNDS = 2
BUDGET = ROUNDS * WALL
# What a rollout may take beyond its budget: each call's trainer side (ms), the kill after a timeout, a loaded CI.
MARGIN = 2.0
# A refused call does not reach the sandbox.
REFUSAL_SECONDS = 0.1
SETTINGS = PythonToolSettings(
    SandboxConfig(num_workers=1),
    wall_seconds=WALL,
    memory_mb=256,
    max_output_chars=300,
    rollout_seconds=default_rollout_seconds(WALL, ROUNDS),
)
LOOP = "while True:\n    pass"
SPENT = "time budget of this answer is spent"


def run_turn(tool: PythonTool, codes: list[str]) -> list[tuple[str, float]]:
    """One assistant turn's calls, run one after another: (what the model read, seconds) per call."""
    results = []
    for code in codes:
        started = time.monotonic()
        text = call_tool(tool, python_call(code))
        results.append((text, time.monotonic() - started))
    return results


def test_the_default_budget_is_a_wall_limit_per_round():
    assert SETTINGS.budget_seconds == BUDGET
    assert default_rollout_seconds(WALL, None) == 4 * WALL, "TRL's unbounded rounds still get a bounded budget"
    assert default_rollout_seconds(WALL, 0) == 0
    assert PythonToolSettings(wall_seconds=3).budget_seconds == 12


@pytest.mark.timeout(30)
@pytest.mark.parametrize("calls", [6, 50])
def test_a_turn_of_looping_calls_finishes_within_the_budget_and_later_calls_are_refused_at_once(make_tool, calls):
    make_tool.stats.drain()
    tool = make_tool()
    started = time.monotonic()
    results = run_turn(tool, [LOOP] * calls)
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET + MARGIN, f"{calls} looping calls took {elapsed:.1f} s (budget {BUDGET:g} s)"
    ran, refused = results[:ROUNDS], results[ROUNDS:]
    assert all("time limit" in text for text, _ in ran), ran
    assert all(text.startswith("Error: ") and SPENT in text for text, _ in refused), refused[:2]
    assert max(seconds for _, seconds in refused) < REFUSAL_SECONDS, "a refused call must not reach the sandbox"
    assert tool.charged_seconds <= BUDGET
    metrics = make_tool.stats.drain()
    assert metrics["tools/python_budget_seconds"] == BUDGET
    assert metrics["tools/python_refused_calls_per_completion"] == calls - ROUNDS
    assert metrics["tools/python_budget_exhausted_rate"] == 1.0
    assert BUDGET - 0.05 <= metrics["tools/python_budget_used_max"] <= BUDGET
    assert metrics["tools/python_error_rate"] == 1.0, "timeouts and refusals are both failed calls"


@pytest.mark.timeout(30)
def test_the_budget_spans_the_rounds_of_a_rollout_and_renews_with_the_next(make_tool):
    make_tool.stats.drain()
    tool = make_tool()
    started = time.monotonic()
    rounds = [run_turn(tool, turn) for turn in ([LOOP], [LOOP], [LOOP, "print(1)"], ["print(2)"])]
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET + MARGIN, f"the rollout took {elapsed:.1f} s (budget {BUDGET:g} s)"
    texts = [[text for text, _ in turn] for turn in rounds]
    assert "time limit" in texts[0][0] and "time limit" in texts[1][0], texts
    assert all(SPENT in text for text in texts[2] + texts[3]), texts
    tool.reset()  # the next rollout starts with its whole budget
    assert [text for text, _ in run_turn(tool, ["print(3)", LOOP])][0] == "3\n"
    metrics = make_tool.stats.drain()
    assert metrics["tools/python_refused_calls_per_completion"] == 3 / 2
    assert metrics["tools/python_budget_exhausted_rate"] == 1 / 2, "one rollout of two ran out"


@pytest.mark.timeout(30)
def test_a_mix_of_fast_and_looping_calls_runs_the_fast_ones_until_a_wall_limit_no_longer_fits(make_tool):
    make_tool.stats.drain()
    tool = make_tool(replace(SETTINGS, rollout_seconds=3 * WALL))
    codes = ["x = 1", LOOP, "print(x)", LOOP, LOOP, "print(x + 1)", LOOP, "print(x + 2)"]
    started = time.monotonic()
    texts = [text for text, _ in run_turn(tool, codes)]
    elapsed = time.monotonic() - started
    assert elapsed < 3 * WALL + MARGIN, f"the turn took {elapsed:.1f} s"
    # Two loops (2 s) and two fast calls (a few ms each) used just over 2 of 3 s: a third loop's limit does not fit.
    assert texts[:4] == ["(no output)", texts[1], "1\n", texts[3]], texts
    assert "time limit" in texts[1] and "time limit" in texts[3], texts
    assert all(SPENT in text for text in texts[4:]), texts
    assert 2 * WALL < tool.charged_seconds < 2 * WALL + 0.5


@pytest.mark.timeout(30)
def test_calls_of_one_rollout_made_at_once_cannot_overdraw_the_budget(make_tool):
    """Each running call holds its whole wall limit, so calls that start together cannot all see the budget free."""
    settings = replace(SETTINGS, sandbox=SandboxConfig(num_workers=2))
    tool = make_tool(settings)
    texts = [None] * 6
    start = threading.Barrier(len(texts))

    def call(index):
        start.wait()
        texts[index] = tool.python(LOOP)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(texts))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert sum("time limit" in text for text in texts) == ROUNDS, texts
    assert sum(SPENT in text for text in texts) == len(texts) - ROUNDS, texts
    assert tool.charged_seconds <= BUDGET
    assert elapsed < WALL + MARGIN, "the calls that fit ran side by side"


@pytest.mark.timeout(30)
def test_waiting_for_a_worker_busy_with_another_rollout_is_not_charged(make_tool):
    """Rollouts share the sandbox's workers: a call's charge is its own run time, not the queue before it."""
    busy, patient = make_tool(), make_tool()  # one worker between them
    looping = threading.Thread(target=run_turn, args=(busy, [LOOP, LOOP]))
    looping.start()
    time.sleep(0.2)
    texts = [text for text, _ in run_turn(patient, ["print(1)", "print(2)", LOOP])]
    looping.join()
    assert texts[:2] == ["1\n", "2\n"] and "time limit" in texts[2], texts
    assert patient.charged_seconds < WALL + 0.5, "the fast calls' wait for the worker was charged"


def test_a_budget_of_zero_runs_no_call_and_a_budget_below_one_wall_limit_is_refused(make_tool):
    assert SPENT in make_tool(replace(SETTINGS, rollout_seconds=0)).python("print(1)")
    with pytest.raises(ValueError, match="rollout_seconds must be 0 .* or at least wall_seconds"):
        PythonToolSettings(wall_seconds=2, rollout_seconds=1.5)


def test_a_call_the_sandbox_could_not_time_costs_its_whole_wall_limit(make_tool, monkeypatch):
    tool = make_tool()

    def broken(*args, **kwargs):
        raise OSError("the worker died")

    monkeypatch.setattr(tool._provider, "run_raw", broken)
    texts = [tool.python("print(1)") for _ in range(ROUNDS + 1)]
    assert all("the worker died" in text for text in texts[:ROUNDS]), texts
    assert SPENT in texts[ROUNDS], "failures that the sandbox cannot time must still use up the budget"
