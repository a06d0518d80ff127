"""ioi_code_reward on `verification_info` rows: one compile per row whatever its number of subtasks, and the same
rewards as one submission per subtask gave.

The compile-time attacks (`tests/support/compile_bombs.py`) and a program that is slow to compile by design run
through the reward on a local sandbox with one worker, so compiles cannot overlap and their count shows in the
time a row takes. Every test has its own hard limit.
"""

import time

import pytest

from open_r1.rewards.ioi import get_ioi_code_reward
from open_r1.sandbox import Limits
from tests.support.compile_bombs import COMPILE_BOMBS, SLOW_BUT_VALID_CPP

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

COMPILE_LIMIT = 2.0
ADD_PYTHON = "a, b = map(int, input().split())\nprint(a + b)"
ADD_CPP = '#include <cstdio>\nint main() { long long a, b; scanf("%lld %lld", &a, &b); printf("%lld\\n", a + b); }'


def answer(code: str, language: str) -> list[dict]:
    return [{"role": "assistant", "content": f"```{language}\n{code}\n```"}]


def subtasks(count: int) -> list[dict]:
    """`count` subtasks of two a+b tests each, worth 10, 20, 30... points."""
    return [
        {"score": 10 * (number + 1), "test_cases": [{"input": f"{number} 1", "output": str(number + 1)}] * 2}
        for number in range(count)
    ]


def started(box):
    """`box` with its worker started: the rows below time compiles, not the worker's start-up."""
    get_ioi_code_reward(box)([answer(ADD_PYTHON, "python")], verification_info=[{"subtasks": subtasks(1)}])
    return box


@pytest.fixture
def one_worker(make_local_sandbox):
    return started(make_local_sandbox(num_workers=1, limits=Limits(compile_wall_seconds=COMPILE_LIMIT)))


def timed_reward(sandbox, code: str, info: dict) -> tuple[list, float]:
    start = time.monotonic()
    rewards = get_ioi_code_reward(sandbox)([answer(code, "cpp")], verification_info=[info | {"language": "cpp"}])
    return rewards, time.monotonic() - start


@pytest.mark.timeout(40)
@pytest.mark.parametrize("bomb", sorted(COMPILE_BOMBS))
def test_a_compile_bomb_in_a_four_subtask_row_is_stopped_once(one_worker, bomb):
    rewards, seconds = timed_reward(one_worker, COMPILE_BOMBS[bomb], {"subtasks": subtasks(4)})
    assert rewards == [0.0]
    # Stopped at the compile limit once: a compile per subtask took four limits (8 s) before any test ran.
    assert seconds < 2.5 * COMPILE_LIMIT, seconds


@pytest.mark.timeout(60)
def test_a_slow_to_compile_program_compiles_once_for_four_subtasks(make_local_sandbox):
    box = started(make_local_sandbox(num_workers=1))  # the default compile limit: this compile takes ~2 s
    [one], alone = timed_reward(box, SLOW_BUT_VALID_CPP, {"subtasks": subtasks(1)})
    [four], together = timed_reward(box, SLOW_BUT_VALID_CPP, {"subtasks": subtasks(4)})
    assert one == four == 1.0
    # Four compiles took about four times as long; 3 leaves room for a loaded machine during one timing only.
    assert together < 3.0 * alone, (alone, together)


@pytest.mark.timeout(120)
def test_grouped_rows_score_as_one_submission_per_subtask_did(one_worker):
    rows = subtasks(4)
    rows[2] = rows[2] | {"test_cases": rows[2]["test_cases"] + [{"input": "5 5", "output": "11"}]}  # a wrong test
    programs = [
        (ADD_PYTHON, "python"),
        ("a, b = map(int, input().split())\nprint(a + b if a != 1 else 0)", "python"),  # fails subtask 2 only
        ("raise SystemExit(3)", "python"),
        (ADD_CPP, "cpp"),
        ("int main( {", "cpp"),  # does not compile
    ]
    reward = get_ioi_code_reward(one_worker)
    for code, language in programs:
        [grouped] = reward([answer(code, language)], verification_info=[{"language": language, "subtasks": rows}])
        # Each subtask alone, as the reward ran them before (one submission per subtask): its points if all pass.
        alone = reward(
            [answer(code, language)] * len(rows),
            verification_info=[{"language": language, "subtasks": [row]} for row in rows],
        )
        expected = sum(row["score"] * won for row, won in zip(rows, alone)) / sum(row["score"] for row in rows)
        assert grouped == pytest.approx(expected), code
    [right] = reward([answer(ADD_PYTHON, "python")], verification_info=[{"language": "python", "subtasks": rows}])
    assert right == pytest.approx((10 + 20 + 40) / 100)
