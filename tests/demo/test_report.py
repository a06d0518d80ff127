"""`open_r1.demo.report`: the targets a run's report claims are computed from its numbers, and the GRPO curve is
shown by fifths beside the held-out accuracy of the checkpoints.

Fixture results are built here, shaped as `open_r1.demo.r1.run` writes results.json; nothing trains.
"""

import pytest

from open_r1.demo.report import (
    CURVE_RISE_TARGET,
    GRPO_GAIN_TARGET,
    TOOL_GAIN_TARGET,
    curve_rise,
    curve_table,
    demo_targets,
    fifths,
    r1_report,
    reward_axis_limits,
    tool_demo_targets,
    tool_report,
)
from open_r1.demo.settings import FULL, TOOLS_FULL
from tests.support.demo_results import demo_results, tool_demo_results


def met(results: dict) -> list[bool]:
    return [target.met for target in demo_targets(results)]


def test_fifths_cut_the_logged_steps_into_five_consecutive_parts():
    assert fifths(10) == [range(0, 2), range(2, 4), range(4, 6), range(6, 8), range(8, 10)]
    assert [len(part) for part in fifths(50)] == [10] * 5
    # FAST logs 4 steps: no empty part, the first and the last a step each.
    assert fifths(4) == [range(0, 1), range(1, 2), range(2, 3), range(3, 4)]


def test_the_curves_axis_runs_from_just_below_the_lowest_point_to_a_tenth_above_the_highest():
    gsm8k = {"reward": [0.06, 0.1], "accuracy_reward": [0.06, 0.1], "format_reward": [None, None]}
    # A rise of 0.04 fills a third of the axis, not 3% of an axis up to 1.25.
    assert reward_axis_limits(gsm8k) == pytest.approx((-0.0055, 0.11))
    weighted = {"reward": [1.2, 1.8], "accuracy_reward": [0.4, 0.9], "format_reward": [0.8, 0.9]}
    assert reward_axis_limits(weighted)[1] == pytest.approx(1.98)  # a weighted sum above 1 is not cut off
    assert reward_axis_limits(gsm8k, [{"step": 2, "pass@1": 0.5}])[1] == pytest.approx(0.55)  # held-out points too
    penalised = {"reward": [-0.5, 0.5], "accuracy_reward": [0.0, 0.5], "format_reward": [None, None]}
    assert reward_axis_limits(penalised) == pytest.approx((-0.5525, 0.55))  # a penalty below 0 too
    assert reward_axis_limits({"reward": [0.0], "accuracy_reward": [0.0], "format_reward": [None]})[1] == 1.0


def test_curve_rise_compares_the_means_of_the_first_and_last_fifths():
    first, last = curve_rise([0.1, 0.3, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 0.6, 0.8])
    assert first == pytest.approx(0.2) and last == pytest.approx(0.7)


def test_every_target_is_met_when_the_numbers_show_it():
    assert met(demo_results()) == [True, True, True]


def test_sft_no_better_than_base_misses_the_first_target():
    assert met(demo_results(base=0.1, sft=0.1)) == [False, True, True]


def test_the_gain_target_is_twenty_points_of_held_out_pass_at_1():
    assert GRPO_GAIN_TARGET == 0.20
    assert met(demo_results(sft=0.55, grpo=0.749))[1] is False
    # 0.75 - 0.55 is 0.19999999999999996 in floating point: twenty points all the same.
    assert met(demo_results(sft=0.55, grpo=0.75))[1] is True


def test_a_flat_or_falling_curve_misses_the_rise_target_even_when_held_out_accuracy_rises():
    assert CURVE_RISE_TARGET == 0.15
    flat = [0.3] * 50
    assert met(demo_results(accuracy_reward=flat)) == [True, True, False]
    just_short = [0.3] * 10 + [0.5] * 30 + [0.449] * 10
    assert met(demo_results(accuracy_reward=just_short))[2] is False
    just_enough = [0.3] * 10 + [0.5] * 30 + [0.45] * 10
    assert met(demo_results(accuracy_reward=just_enough))[2] is True


def test_the_report_states_each_target_with_its_measured_numbers_and_verdict():
    results = demo_results(sft=0.45, grpo=0.6, accuracy_reward=[0.3] * 10)
    report = r1_report(results, FULL, "make demo SEED=0")
    assert "| SFT > base | 0.0% → 45.0% | yes |" in report
    assert "| GRPO ≥ SFT + 20 points | 45.0% → 60.0% (+15.0 points) | **no** |" in report
    assert "| accuracy reward: last fifth ≥ first fifth + 0.15 | 0.300 → 0.300 (+0.000) | **no** |" in report
    assert "commit abc1234, 2 cores of AMD EPYC, load average 0.3 at the start" in report
    # A newcomer's: a run whose load rose from 0.8 to 4.1 said only 0.8; the end's is given where recorded.
    results["machine"] = {**results["machine"], "load_average_at_end": [4.1, 3.0, 2.0]}
    assert "load average 0.3 at the start, 4.1 at the end" in r1_report(results, FULL, "make demo SEED=0")


def test_the_tool_miniature_is_held_to_twenty_points_over_no_tool_and_to_grpo_keeping_what_sft_taught():
    def tool_met(**numbers) -> list[bool]:
        return [target.met for target in tool_demo_targets(tool_demo_results(**numbers))]

    assert TOOL_GAIN_TARGET == 0.20
    assert tool_met(tool_grpo=0.95, no_tool_grpo=0.01) == [True, True]
    assert tool_met(tool_sft=0.3, tool_grpo=0.209, no_tool_grpo=0.01) == [False, False]
    # 0.21 - 0.01 is 0.19999999999999998 in floating point: twenty points all the same.
    assert tool_met(tool_sft=0.2, tool_grpo=0.21, no_tool_grpo=0.01)[0] is True
    # GRPO that loses what SFT taught misses the second target however far above no tool it stays.
    assert tool_met(tool_sft=0.215, tool_grpo=0.125, no_tool_grpo=0.0) == [False, False]
    assert tool_met(tool_sft=0.9, tool_grpo=0.85, no_tool_grpo=0.0) == [True, False]


def test_the_tool_report_states_its_targets_and_provenance():
    report = tool_report(tool_demo_results(tool_sft=0.9, tool_grpo=0.85), TOOLS_FULL, "make demo TOOLS=1 SEED=0")
    assert "| tool ≥ no tool + 20 points, after GRPO | 1.0% → 85.0% (+84.0 points) | yes |" in report
    assert "| GRPO ≥ SFT, tool arm | 90.0% → 85.0% (-5.0 points) | **no** |" in report
    assert "commit abc1234, 2 cores of AMD EPYC" in report
    assert "FAST" not in report
    assert "FAST: step counts cut" in tool_report(tool_demo_results(fast=True), TOOLS_FULL, "make demo TOOLS=1")


def test_the_curve_table_puts_the_checkpoints_held_out_accuracy_beside_the_fifths():
    table = curve_table(demo_results()).splitlines()
    assert table[0] == (
        "| GRPO steps | accuracy reward (mean) | reward (mean) | held-out pass@1 | last step skipped | checkpoint |"
    )
    assert table[2] == "| 0 | - | - | 45.0% ± 1.0 | 80.0% | SFT, step 0 |"
    assert table[3] == "| 4-8 | 0.425 | 0.625 | - | - | - |"
    assert table[4] == "| 12-16 | 0.550 | 0.750 | 70.0% ± 2.0 | 20.0% | checkpoint, step 16 |"
    assert table[-1] == "| 36-40 | 0.900 | 1.100 | 80.0% ± 1.0 | 0.0% | GRPO, step 40 |"
    assert len(table) == 2 + 1 + 5
