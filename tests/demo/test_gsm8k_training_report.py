"""What `make gsm8k`'s report says of how each arm's GRPO trained (open_r1.demo.gsm8k_training_report): the share of
its groups without reward spread and how far its policy moved within a generation, read from its log history, and
their lines in report.md."""

import pytest

from open_r1.demo.gsm8k_report import gsm8k_report
from open_r1.demo.gsm8k_training_report import groups_without_spread, importance_ratio_clipped
from tests.support.demo_results import gsm8k_results


def cot_report(**grpo) -> str:
    """report.md of a chain-of-thought run whose GRPO stage has `grpo`'s fields besides its scores."""
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}}, ("cot",))
    results["arms"]["cot"]["grpo"].update(grpo)
    return gsm8k_report(results, "make gsm8k ARM=cot")


def test_grpos_groups_without_reward_spread_are_read_from_its_log_and_named_in_the_report():
    shares = [0.8, 0.7, 0.75, 0.7, 0.65, 0.6, 0.6, 0.55, 0.5, 0.5]
    history = [{"step": 2 * i + 1, "frac_reward_zero_std": share} for i, share in enumerate(shares)]
    history += [{"step": 2 * i + 2, "loss": 0.1} for i in range(len(shares))]  # steps on a generation already scored
    groups = groups_without_spread(history)
    assert groups["log_entries"] == 10 and groups["mean"] == pytest.approx(0.635)
    assert (groups["first_fifth"], groups["last_fifth"]) == (pytest.approx(0.75), pytest.approx(0.5))
    assert groups_without_spread([{"step": 1, "loss": 0.1}]) is None  # not logged: not counted as none
    one = groups_without_spread([{"step": 1, "frac_reward_zero_std": 0.5}])
    assert one == {"log_entries": 1, "mean": 0.5, "first_fifth": 0.5, "last_fifth": 0.5}

    assert "without reward spread" not in cot_report()
    assert (
        "- **GRPO's groups without reward spread** (`frac_reward_zero_std`: no advantage, so no gradient; the share of "
        "a generation's groups, on average): chain of thought 0.64 over 10 logged generations (first fifth 0.75, last "
        "0.50).\n" in cot_report(groups_without_spread=groups)
    )


def test_how_far_grpos_policy_moved_is_read_from_the_steps_that_reuse_a_generation():
    # Two optimizer steps per generation: the first generates (logs the groups, clips none), the second reuses it.
    history = []
    for generation, clipped in enumerate([0.0012, 0.0008, 0.0019]):
        history.append({"step": 2 * generation + 1, "frac_reward_zero_std": 0.7, "clip_ratio/region_mean": 0.0})
        history.append({"step": 2 * generation + 2, "clip_ratio/region_mean": clipped})
    history.append({"train_runtime": 12.0, "step": 6})  # the end-of-training summary
    clipped = importance_ratio_clipped(history)
    assert clipped["log_entries"] == 3 and clipped["mean"] == pytest.approx(0.0013) and clipped["max"] == 0.0019
    assert importance_ratio_clipped(history[:1]) is None  # only the generating step: nothing that could clip

    assert "How far GRPO's policy moved" not in cot_report()
    assert (
        "- **How far GRPO's policy moved** (the share of tokens whose importance ratio was clipped, "
        "`clip_ratio/region_mean`, on the steps that trained on a generation already stepped on): chain of thought "
        "0.13% on average, at most 0.19%, over 3 logged steps.\n" in cot_report(importance_ratio_clipped=clipped)
    )
