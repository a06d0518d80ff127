"""How `make gsm8k` launches its arms (open_r1.demo.gsm8k_launch): the time a budget gives GRPO. The overrides each
stage adds and the checks of the options that change a launch are specified with the run that uses them
(tests/demo/test_gsm8k.py)."""

import pytest

from open_r1.demo.gsm8k import ARMS
from open_r1.demo.gsm8k_launch import MIN_GRPO_MINUTES, grpo_minutes, time_budget
from open_r1.demo.settings import GSM8K_FULL
from open_r1.usage import UsageError


def test_under_a_time_budget_every_arms_grpo_leaves_the_longest_arms_evaluation_time():
    # The tool arm's two GRPO evaluations take both GPU slots at once; a chain-of-thought GRPO still training would
    # hold one of them past the deadline.
    both = time_budget(GSM8K_FULL, ARMS, arms_at_once=True, started_at=100.0, minutes=26)
    assert both == {
        "deadline": 100.0 + 26 * 60,
        "grpo_evaluation_seconds": GSM8K_FULL.grpo_evaluation_seconds["tools"],
    }
    cot = time_budget(GSM8K_FULL, ("cot",), arms_at_once=False, started_at=100.0, minutes=26)
    assert cot["grpo_evaluation_seconds"] == GSM8K_FULL.grpo_evaluation_seconds["cot"]
    assert time_budget(GSM8K_FULL, ARMS, arms_at_once=True, started_at=0.0, minutes=None) == {"deadline": None}


def test_a_time_budget_for_both_arms_one_after_the_other_is_refused_in_one_line():
    # The first arm's GRPO would be given the time the second arm's whole chain needs.
    with pytest.raises(UsageError, match=r"^--time_budget_minutes: the arms run one after the other here; add "):
        time_budget(GSM8K_FULL, ARMS, arms_at_once=False, started_at=0.0, minutes=26)


def test_with_no_time_left_for_its_evaluation_grpo_trains_one_step_and_says_so(capsys):
    now = 1000.0
    assert grpo_minutes(deadline=now + 200, evaluation_seconds=330, now=now) == MIN_GRPO_MINUTES
    assert "--time_budget_minutes: 3.3 min left, less than the GRPO model's evaluation needs (5.5 min)" in (
        capsys.readouterr().out
    )
    assert grpo_minutes(deadline=now + 930, evaluation_seconds=330, now=now) == 10.0
