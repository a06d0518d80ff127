"""`open_r1.demo.gsm8k_report`: `make gsm8k`'s goals are computed from its numbers, its report states them beside
the published ones with what the run trained and where its time went, and its command is written from its results.

Fixture results are `tests.support.demo_results.gsm8k_results`, shaped as `open_r1.demo.gsm8k.run` writes
results.json; nothing trains.
"""

import statistics

import pytest

from open_r1.demo.gsm8k_calculations import written_by_outcome
from open_r1.demo.gsm8k_report import (
    greedy_change,
    gsm8k_command,
    gsm8k_report,
    gsm8k_targets,
)
from tests.support.demo_results import greedy_details_sft_to_grpo, gsm8k_results


def gsm8k_verdicts(greedy: dict, arms=("cot", "tools")) -> dict[str, bool]:
    return {target.name: target.met for target in gsm8k_targets(gsm8k_results(greedy, arms))}


def test_gsm8k_goals_are_met_only_by_the_numbers_that_show_them():
    good = {"cot": {"base": 0.01, "sft": 0.03, "grpo": 0.05}, "tools": {"base": 0.0, "sft": 0.07, "grpo": 0.09}}
    assert list(gsm8k_verdicts(good).values()) == [True] * 5
    # Tool arm at 7.58% exactly is not above nanochat d20; 2.9 points over chain of thought is not 3.
    close = {"cot": {"base": 0.0, "sft": 0.02, "grpo": 0.0468}, "tools": {"base": 0.0, "sft": 0.05, "grpo": 0.0758}}
    verdicts = gsm8k_verdicts(close)
    assert [name for name, met in verdicts.items() if not met] == [
        "python tool after GRPO > nanochat d20 after RL (7.58%)",
        "after GRPO, python tool ≥ chain of thought + 3 points",
    ]
    # GRPO 1 point above SFT misses that arm's goal only.
    flat = {"cot": {"base": 0.0, "sft": 0.04, "grpo": 0.05}, "tools": {"base": 0.0, "sft": 0.08, "grpo": 0.10}}
    assert [met for met in gsm8k_verdicts(flat).values()] == [False, True, True, True, True]


@pytest.mark.parametrize(("seconds", "met"), [(1700.0, True), (1800.0, True), (1803.0, False)])
def test_both_arms_on_a_gpu_are_held_to_thirty_minutes_of_its_time(seconds, met):
    results = gsm8k_results({arm: {"base": 0.0, "sft": 0.05, "grpo": 0.09} for arm in ("cot", "tools")})
    results["total_seconds"] = seconds
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.met is met and gpu_time.measured == f"{seconds / 60:.1f} min (one run)"
    results["base_reused_from"] = "docs/results/gsm8k-h100-2026-11-24"
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.measured.endswith(
        "(one run; the base evaluations from docs/results/gsm8k-h100-2026-11-24, not counted)"
    )
    results["sft_reused_from"] = "data/lease-tools-sft/gsm8k"
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.measured.endswith("; the SFT evaluations from data/lease-tools-sft/gsm8k, not counted)")
    results["sft_reused_seconds"] = 296.0
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.measured.endswith("; the SFT evaluations from data/lease-tools-sft/gsm8k (296 s), not counted)")
    # Not a goal for one arm, nor for a run on a CPU.
    for other in (
        {**results, "device": "CPU"},
        gsm8k_results({"cot": {"base": 0.0, "sft": 0.05, "grpo": 0.09}}, ("cot",)),
    ):
        assert not [target for target in gsm8k_targets(other) if "minutes of one GPU" in target.name]


def test_a_gsm8k_runs_command_is_written_from_its_results():
    results = gsm8k_results({arm: {"base": 0.0, "sft": 0.05, "grpo": 0.09} for arm in ("cot", "tools")})
    assert gsm8k_command(results) == "make gsm8k ARM=both SEED=0"
    del results["grpo_generation"]  # a run from before VLLM=1: it generated with transformers
    assert gsm8k_command(results) == "make gsm8k ARM=both SEED=0"
    one_arm = gsm8k_results({"tools": {"base": 0.0, "sft": 0.05, "grpo": 0.09}}, ("tools",), fast=True)
    changes = {"seed": 1, "grpo_generation": "vLLM (colocated)", "time_budget_minutes": 11.0, "grpo_max_steps": 40}
    assert (
        gsm8k_command({**one_arm, **changes}) == "make gsm8k ARM=tools SEED=1 FAST=1 VLLM=1 MINUTES=11 GRPO_STEPS=40"
    )
    compiled = {**one_arm, "grpo_generation": "transformers, compiled decode step"}
    assert gsm8k_command(compiled) == "make gsm8k ARM=tools SEED=0 FAST=1 COMPILE=1"
    evaluated_compiled = {**compiled, "compile_decoding": True}
    assert gsm8k_command(evaluated_compiled) == "make gsm8k ARM=tools SEED=0 FAST=1 COMPILE=1 COMPILE_DECODING=1"
    faster = {**one_arm, "grpo_learning_rate": 3e-5}
    assert gsm8k_command(faster) == "make gsm8k ARM=tools SEED=0 FAST=1 GRPO_LR=3e-05"
    harder = {**faster, "grpo_max_calculations": 3}
    assert gsm8k_command(harder) == "make gsm8k ARM=tools SEED=0 FAST=1 GRPO_LR=3e-05 GRPO_CALCULATIONS=3"
    wider = {**harder, "grpo_num_generations": 16}
    assert gsm8k_command(wider).endswith("GRPO_LR=3e-05 GRPO_GENERATIONS=16 GRPO_CALCULATIONS=3")


@pytest.mark.parametrize(
    ("measured", "stderr", "met"),
    [(0.0205, 0.0039, True), (0.0235, 0.0042, False), (0.0, 0.0, False), (0.0083, 0.0, True)],
)
def test_the_card_protocol_goal_is_the_cards_score_within_two_standard_errors(measured, stderr, met):
    # 0.0 ± 0.0 (no problem solved): judged with the card value's standard error at 1,319 problems (0.32 points),
    # so 0% is 4.3 SE from 1.4% and 0.83% is 1.8 SE from it.
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}}, arms=("cot",))
    results["card_protocol"] = {
        "pass@1": measured,
        "pass@1_stderr": stderr,
        "shots": 5,
        "shots_from": "../shared/data/gsm8k_train.jsonl",
        "max_new_tokens": 256,
        "eval_seconds": 90.0,
    }
    (card_goal,) = [target for target in gsm8k_targets(results) if "card" in target.name]
    assert card_goal.met is met and card_goal.name.endswith("the card's 1.4% within 2 standard errors")
    report = gsm8k_report(results, "make gsm8k ARM=cot")
    assert f"{100 * measured:.1f}% ± {100 * stderr:.1f} against the card's 1.4%" in report
    assert "5 worked solutions from `../shared/data/gsm8k_train.jsonl`" in report


def details(solved: set[int], problems: int = 8) -> list[dict]:
    return [{"id": str(index), "correct": index in solved} for index in range(problems)]


def test_grpos_change_over_sft_counts_the_problems_each_solved_alone_and_its_paired_standard_error():
    change = greedy_change(details({0, 1, 2, 3}), details({2, 3, 4, 5, 6}))
    differences = [-1, -1, 0, 0, 1, 1, 1, 0]
    assert (change["problems"], change["gained"], change["lost"]) == (8, 3, 2)
    assert change["stderr"] == pytest.approx(statistics.stdev(differences) / 8**0.5)
    assert greedy_change(details({1}), details({1}))["stderr"] == 0.0  # no verdict changed: no doubt
    assert greedy_change(None, details({1})) is None  # an earlier run's evaluation kept without its details
    assert greedy_change(details({1}), details({1}, problems=7)) is None, "other problems are not paired"
    assert greedy_change(details({1}) * 2, details({1}) * 2) is None, "several samples a problem are not greedy"
    assert (
        greedy_change(details({1}), details({1}) * 2) is None and greedy_change(details({1}) * 2, details({1})) is None
    )


def test_the_grpo_goal_gives_its_paired_standard_error_where_the_run_kept_its_details():
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.061, "grpo": 0.065}}, ("cot",))
    results["arms"]["cot"]["grpo"]["greedy_change_from_sft"] = {"problems": 1319, "gained": 49, "lost": 43,
                                                                 "stderr": 0.0073}  # fmt: skip
    (goal,) = gsm8k_targets(results)
    assert goal.measured == "6.1% → 6.5% (+0.4 ± 0.7 paired: 49 problems gained, 43 lost)" and not goal.met


def test_one_arm_is_held_only_to_its_own_goals():
    verdicts = gsm8k_verdicts({"cot": {"base": 0.0, "sft": 0.02, "grpo": 0.05}}, arms=("cot",))
    assert verdicts == {"chain of thought: GRPO ≥ SFT + 2 points": True}


def test_the_gsm8k_report_puts_both_arms_beside_the_published_numbers_and_names_malformed_annotations():
    results = gsm8k_results(
        {"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}, "tools": {"base": 0.0, "sft": 0.06, "grpo": 0.09}}
    )
    report = gsm8k_report(results, "make gsm8k ARM=both SEED=0")
    assert "| python tool | grpo | 9.0% ± 0.7 | 4.5% ± 0.5 | 90% | 2.5% | 120 s | 60 s |" in report
    assert "| chain of thought | sft | 3.0% ± 0.7 | 1.5% ± 0.5 | - | - | 120 s |" in report
    assert "nanochat d20 (561M parameters) after RL, with a calculator tool | 7.58% |" in report
    assert "row 9, annotation 1 `<<3/4=3/4>>`: not a number" in report and "FAST" not in report
    assert "FAST" in gsm8k_report({**results, "fast": True}, "make gsm8k FAST=1")
    clean = {**results["conversion"], "malformed_annotations": [], "rows_left_out_of_sft": []}
    assert "0 malformed annotation(s)." in gsm8k_report({**results, "conversion": clean}, "make gsm8k")


def test_the_gsm8k_report_names_a_grpo_learning_rate_given_in_place_of_the_recipes():
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}}, ("cot",))
    assert "learning rate" not in gsm8k_report(results, "make gsm8k ARM=cot")
    report = gsm8k_report({**results, "grpo_learning_rate": 3e-5}, "make gsm8k ARM=cot GRPO_LR=3e-05")
    assert "config_gsm8k_cot.yaml`; GRPO's learning rate 3e-05 in place of the recipes'; GRPO generates with" in report


def test_the_gsm8k_report_names_completions_per_prompt_given_in_place_of_the_recipes():
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}}, ("cot",))
    assert "num_generations" not in gsm8k_report(results, "make gsm8k ARM=cot")
    report = gsm8k_report({**results, "grpo_num_generations": 16}, "make gsm8k ARM=cot GRPO_GENERATIONS=16")
    assert (
        "config_gsm8k_cot.yaml`; 16 completions per GRPO prompt (num_generations) in place of the recipes', as many "
        "rows; GRPO generates with" in report
    )


def test_the_gsm8k_report_breaks_greedy_scores_down_by_calculations_and_names_the_grpo_prompts():
    results = gsm8k_results(
        {"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}, "tools": {"base": 0.0, "sft": 0.06, "grpo": 0.09}}
    )
    report = gsm8k_report(results, "make gsm8k")
    assert "| arm | stage | 2 (357 problems) | 3 (364 problems) |" in report
    assert "| python tool | grpo | 18.0% | 9.0% |" in report and "| chain of thought | sft | 6.0% | 3.0% |" in report
    assert "not a number\n- **GRPO prompts**: the 2674 rows whose worked solution has at most 2 calculations" in report
    assert "GRPO generates with transformers, the evaluator with transformers." in report
    everything = {**results["conversion"], "grpo_prompts": 7473, "grpo_max_calculations": None}
    assert "- **GRPO prompts**: all 7473 rows." in gsm8k_report({**results, "conversion": everything}, "make gsm8k")
    assert "Calculations written out" not in report, "results.json files before 2026-11-27 did not count them"
    for stages in results["arms"].values():
        for stage, values in stages.items():
            for bucket in values["by_calculations"]["greedy"].values():
                # GRPO's completions stop short: 2 calculations written whatever the problem needs.
                written = 2.0 if stage == "grpo" else 3.0
                bucket.update(calculations_written=written, worked_calculations_written=2.5)
    written = gsm8k_report(results, "make gsm8k").split("Calculations written out per completion")[1]
    assert "| arm | stage | 2 (357 problems) | 3 (364 problems) |" in written
    assert "| GSM8K worked solution |  | 2.50 | 2.50 |" in written and "| python tool | sft | 3.00 | 3.00 |" in written
    assert "| python tool | grpo | 2.00 | 2.00 |" in written
    for stages in results["arms"].values():  # base evaluations taken from an earlier run's docs/results: no details
        for values in stages.values():
            values["by_calculations"] = None
    assert "by calculations" not in gsm8k_report(results, "make gsm8k")


def test_the_gsm8k_report_counts_the_greedy_completions_that_repeat_a_line_and_names_the_stages_it_did_not():
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.05, "grpo": 0.06}}, ("cot",))
    # The SFT model cut at the budget mostly going round a step; GRPO, cut far less often.
    for stage, cut, repeating in (("sft", 168, 126), ("grpo", 13, 8)):
        results["arms"]["cot"][stage]["repetition"] = {
            "greedy": {
                "out_of_tokens": cut, "out_of_tokens_repeating": repeating,
                "ended": 1319 - cut, "ended_repeating": 25, "ended_repeating_correct": 1,
            }
        }  # fmt: skip
    report = gsm8k_report(results, "make gsm8k ARM=cot")
    section = report.split("Greedy completions that write one line three times or more")[1]
    assert "| chain of thought | sft | 168 | 126 (75%) | 1,151 | 25 (2%) | 1 |" in section
    assert "| chain of thought | grpo | 13 | 8 (62%) | 1,306 | 25 (2%) | 1 |" in section
    # The base model's evaluations kept their details (by calculations) but were written before the count.
    assert "\n\nRepeated lines not counted for chain of thought base: results.json written before the count" in section
    for values in results["arms"]["cot"].values():  # none kept its details: nothing to count, nothing to name
        values["by_calculations"] = None
    assert "Repeated lines" not in gsm8k_report(results, "make gsm8k ARM=cot")


def test_the_gsm8k_report_pairs_the_calculations_written_and_names_an_arm_it_could_not_pair():
    sft, grpo, worked = greedy_details_sft_to_grpo()
    results = gsm8k_results({"cot": {"base": 0.0, "sft": 0.05, "grpo": 0.06}}, ("cot",))
    assert "Problem by problem" not in gsm8k_report(results, "make gsm8k")
    results["arms"]["cot"]["grpo"]["written_by_outcome"] = written_by_outcome(sft, grpo, worked)
    paired = gsm8k_report(results, "make gsm8k").split("Problem by problem from SFT to GRPO")[1]
    assert "| chain of thought | GRPO gained | 1 | +2.00 | +0.00 |" in paired
    assert "| chain of thought | GRPO lost | 1 | +0.00 | -3.00 |" in paired
    assert "Not paired" not in paired
    both_arms = gsm8k_results({arm: {"base": 0.0, "sft": 0.05, "grpo": 0.06} for arm in ("cot", "tools")})
    both_arms["arms"]["tools"]["grpo"]["written_by_outcome"] = written_by_outcome(sft, grpo, worked)
    assert "\n\nNot paired for chain of thought: the greedy details of its SFT and GRPO models were not both" in (
        gsm8k_report(both_arms, "make gsm8k")
    )
    del both_arms["arms"]["tools"]["grpo"]["written_by_outcome"]
    assert "Not paired" not in gsm8k_report(both_arms, "make gsm8k"), "no table, no note under it"


def test_the_gsm8k_report_says_how_many_grpo_steps_each_arm_trained_and_what_a_time_budget_gave_it():
    results = gsm8k_results({arm: {"base": 0.0, "sft": 0.05, "grpo": 0.07} for arm in ("cot", "tools")})
    assert "- **GRPO steps**: chain of thought 10 of 10, python tool 10 of 10.\n" in gsm8k_report(
        results, "make gsm8k"
    )
    results["time_budget_minutes"] = 26.0
    results["arms"]["cot"]["grpo"].update(max_run_minutes=18.25)
    results["arms"]["tools"]["grpo"].update(steps=6, max_run_minutes=14.04)
    assert (
        "- **GRPO steps**: chain of thought 10 of 10 (given 18.25 min), python tool 6 of 10 (given 14.04 min); the "
        "run's time budget was 26 minutes, and each arm's GRPO trained the steps that left time for the GRPO "
        "evaluations (`max_run_minutes`).\n"
    ) in gsm8k_report(results, "make gsm8k MINUTES=26")
    results["arms"]["cot"]["grpo"]["out_of_memory_restart"] = {
        "seconds_lost": 29.4,
        "log": "x/grpo-cot.out-of-memory.log",
        "beside": "the sft model's evaluation",
    }
    assert (
        "chain of thought 10 of 10 (given 18.25 min), started again after running out of GPU memory beside the sft "
        "model's evaluation (29 s lost; grpo-cot.out-of-memory.log), python tool 6 of 10"
    ) in gsm8k_report(results, "make gsm8k MINUTES=26")
    results["arms"]["tools"]["grpo"]["generation_launch_failed"] = {
        "seconds_lost": 41.6, "log": "x/grpo-tools.log", "without": ["compile_generation", "tool_rollouts_ahead"],
    }  # fmt: skip
    results["grpo_generation"] = "transformers, compiled decode step"
    report = gsm8k_report(results, "make gsm8k MINUTES=26")
    assert (
        "python tool 6 of 10 (given 14.04 min), started again without a compiled decode step or tool rollouts decoded "
        "ahead after its first launch with them failed (42 s lost; grpo-tools.log); the run's"
    ) in report
    assert (
        "GRPO generates with transformers, compiled decode step (the python tool arm without a compiled decode step or "
        "tool rollouts decoded ahead, its first launch with them having failed), the evaluator"
    ) in report
    # Both arms started again, each saying what it went without.
    results["arms"]["cot"]["grpo"]["generation_launch_failed"] = {
        "seconds_lost": 30.0, "log": "x/grpo-cot.log", "without": ["compile_generation"],
    }  # fmt: skip
    assert (
        "(the chain of thought arm without a compiled decode step, its first launch with it having failed; the python "
        "tool arm without"
    ) in gsm8k_report(results, "make gsm8k MINUTES=26")


def test_the_gsm8k_report_says_where_each_arms_grpo_step_spent_its_time():
    results = gsm8k_results({arm: {"base": 0.0, "sft": 0.05, "grpo": 0.07} for arm in ("cot", "tools")})
    assert "A GRPO step's time" not in gsm8k_report(results, "make gsm8k")  # a run from before the profile
    results["arms"]["tools"]["grpo"]["step_profile"] = {
        "log_entries": 10, "step_seconds": 75.0, "decoding_seconds": 60.0, "tools_seconds": 4.0, "rewards_seconds": 0.5,
        "scoring_seconds": 2.5, "training_seconds": 8.0, "decoding_rounds": 7.2, "decode_steps": 1845.0,
        "slot_use": 0.384,
    }  # fmt: skip
    assert (
        "- **A GRPO step's time** (mean over its logged steps, `open_r1.utils.step_profile`): python tool 75.0 s: "
        "decoding 60.0 s (7.2 rounds, 1,845 decode steps, slot use 38%), tools 4.0 s, "
        "rewards 0.5 s, scoring 2.5 s, training 8.0 s.\n"
    ) in gsm8k_report(results, "make gsm8k")


def test_the_gsm8k_report_says_when_the_checkout_changed_while_the_run_ran():
    """A red team's: the report gave the commit at the start, while SFT and GRPO, launched later as new processes,
    ran whatever was checked out then."""
    results = {**gsm8k_results({"cot": {"base": 0.0, "sft": 0.03, "grpo": 0.05}}, ("cot",)), "commit": "abc1234"}
    assert "commit abc1234, 16 cores" in gsm8k_report({**results, "commit_at_end": "abc1234"}, "make gsm8k ARM=cot")
    report = gsm8k_report({**results, "commit_at_end": "def5678+changes"}, "make gsm8k ARM=cot")
    assert (
        "commit abc1234 at the start and def5678+changes at the end (its later stages may have run that code), 16 cores"
    ) in report
