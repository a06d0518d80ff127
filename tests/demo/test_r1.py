"""`make demo`: the task generator it relies on, its data, its recipes, and the whole pipeline end to end at tiny
step counts.

The learning targets (SFT > base, GRPO >= SFT + 20 points, a rising accuracy-reward curve) are measured by running
`make demo` on seeds 0-4 (docs/demo.md), not here: at FAST step counts the models barely train. This file checks
that every stage runs and that the outputs have the promised structure; tests/demo/test_report.py checks that
the targets a report claims are computed from its numbers.
"""

import collections
import dataclasses
import json
import math
import random
import subprocess
import sys

import pytest
import yaml
from datasets import load_from_disk

from open_r1.demo.r1 import build_datasets, step_is_right, worked_steps
from open_r1.demo.settings import FAST, FULL
from open_r1.tasks.arithmetic import SYSTEM_PROMPT, ArithmeticSpec, make_problem, make_splits, skip_last_step
from open_r1.usage import UsageError
from tests.support import REPO_ROOT

DEMO_TASK = ArithmeticSpec(min_operands=3, max_operands=4, max_value=9, min_total=0, max_total=9)


def _steps(completion: str) -> list[str]:
    return completion.split("<think>\n", 1)[1].split("\n</think>", 1)[0].split("\n")


def test_bounded_chains_keep_every_running_total_within_bounds():
    rng = random.Random(0)
    for _ in range(300):
        row = make_problem(rng, DEMO_TASK)
        results = [int(step.rsplit(" = ", 1)[1]) for step in _steps(row["completion"])]
        first = int(row["problem"].removeprefix("Compute ").split(" ")[0])
        assert all(0 <= value <= 9 for value in [first, *results]), row
        assert results[-1] == int(row["answer"])
        assert 2 <= len(results) <= 3


def test_unbounded_spec_draws_the_same_problems_as_before_bounds_existed():
    # The tiny model's tokenizer corpus and the CPU recipes' datasets come from the default spec.
    row = make_problem(random.Random(7))
    assert row["problem"] == "Compute 4 + 12 + 20."
    assert row["completion"].startswith("<think>\n4 + 12 = 16\n16 + 20 = 36\n</think>")


def test_bounds_that_no_operand_can_meet_are_refused():
    with pytest.raises(ValueError, match="no operand"):
        ArithmeticSpec(max_value=9, min_total=20, max_total=30)
    with pytest.raises(ValueError, match="min_total"):
        ArithmeticSpec(min_total=5, max_total=1)


def test_demo_task_has_enough_distinct_problems_for_disjoint_train_and_test_splits():
    train, test = make_splits(3000, 500, seed=1, spec=DEMO_TASK)
    assert len(test) == 500
    assert not {row["problem"] for row in train} & {row["problem"] for row in test}


@pytest.mark.parametrize("seed", range(5))
def test_make_demo_draws_disjoint_splits_on_every_measured_seed(seed):
    # 1,900 of the 2,058 distinct problems with totals within 0..5: close to what the generator can give.
    train, test = make_splits(FULL.num_train, FULL.num_test, seed=seed, spec=FULL.task)
    assert (len(train), len(test)) == (FULL.num_train, FULL.num_test)
    assert not {row["problem"] for row in train} & {row["problem"] for row in test}


def test_the_imperfect_teacher_flaws_each_round_of_traces_on_other_problems(tmp_path):
    # One fixed flawed set would let SFT memorise which prompts skip; GRPO's samples of a prompt would then agree.
    settings = dataclasses.replace(FAST, num_train=40, num_test=4, traces_per_problem=6)
    data = build_datasets(tmp_path, settings, seed=0)
    rows = load_from_disk(str(data["sft"]))["train"]
    assert len(rows) == data["num_traces"] == 240
    assert data["num_flawed"] == 6 * round(settings.teacher_error_rate * 40)
    skips_per_problem = collections.Counter()
    for row in rows:
        user, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        skips_per_problem[user] += len(worked_steps(answer)) < 3
    assert len(skips_per_problem) == 40
    assert len(set(skips_per_problem.values())) > 2, "problems are flawed in differing numbers of rounds"


def test_skip_last_step_boxes_the_total_before_the_last_step():
    row = make_problem(random.Random(3), DEMO_TASK)
    flawed = skip_last_step(row)
    steps, flawed_steps = _steps(row["completion"]), _steps(flawed["completion"])
    assert flawed_steps == steps[:-1]
    assert flawed["completion"].endswith("\\boxed{" + steps[-2].rsplit(" = ", 1)[1] + "}\n</answer>")
    # The gold answer stays the true one, so the accuracy reward tells the flawed trace apart.
    assert flawed["answer"] == row["answer"]


def test_skip_last_step_refuses_a_single_step_solution():
    row = make_problem(random.Random(0), ArithmeticSpec(min_operands=2, max_operands=2))
    with pytest.raises(ValueError, match="at least two worked steps"):
        skip_last_step(row)


def test_demo_report_counts_the_worked_steps_and_which_of_them_are_right():
    completion = "<think>\n3 + 4 = 7\n7 - 2 = 4\n</think>\n<answer>\n\\boxed{4}\n</answer>\n9 + 9 = 18"
    steps = worked_steps(completion)
    assert steps == [(3, "+", 4, 7), (7, "-", 2, 4)], "only the reasoning's steps count"
    assert [step_is_right(step) for step in steps] == [True, False]


def test_demo_grpo_recipe_prompts_like_the_sft_data_and_the_evaluation():
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo" / "grpo" / "config_demo.yaml").read_text())
    assert recipe["system_prompt"] == SYSTEM_PROMPT
    assert recipe["reward_funcs"] == ["accuracy", "format"]


@pytest.mark.e2e
def test_make_demo_fast_runs_every_stage_and_writes_results_report_and_curves(tmp_path):
    output_dir = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "demo.py"),
            "--fast",
            "--seed",
            "3",
            "--output_dir",
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    results = json.loads((output_dir / "results.json").read_text())
    assert results["seed"] == 3
    assert results["test_problems"] == FAST.num_test
    assert set(results["stages"]) == {"base", "sft", "grpo"}
    for stage, numbers in results["stages"].items():
        assert {"pass@1", "pass@1_stderr", "format_rate", "short_trace_rate", "step_accuracy", "seconds"} <= set(
            numbers
        ), stage
        assert 0.0 <= numbers["pass@1"] <= 1.0 and 0.0 <= numbers["format_rate"] <= 1.0, numbers
        assert math.isfinite(numbers["pass@1_stderr"]) and numbers["pass@1_stderr"] >= 0.0
        assert numbers["seconds"] > 0.0 and numbers["eval_seconds"] > 0.0
    # Each stage evaluated its own checkpoint on every test problem and sample.
    for stage in ("base", "sft", "grpo"):
        details = (output_dir / "evals" / stage / "details.jsonl").read_text().splitlines()
        assert len(details) == FAST.num_test * results["eval_samples"]
    # SFT trained (its loss fell); the learning targets themselves need the full schedule of `make demo`.
    sft_losses = [
        entry["loss"]
        for entry in json.loads((output_dir / "sft-model" / "trainer_state.json").read_text())["log_history"]
        if "loss" in entry
    ]
    assert len(sft_losses) == 3 and sft_losses[-1] < sft_losses[0], sft_losses
    assert (
        0 < results["sft_flawed_traces"] < results["sft_traces"] == FAST.traces_per_problem * results["train_problems"]
    )

    grpo_state = json.loads((output_dir / "grpo-model" / "trainer_state.json").read_text())
    assert grpo_state["global_step"] == 4
    assert len(results["grpo_curves"]["reward"]) == 4
    assert (output_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = (output_dir / "report.md").read_text()
    assert "| stage | pass@1 ± stderr | format rate | wall time | last step skipped | steps right |" in report
    for stage in ("base", "sft", "grpo"):
        assert f"| {stage} | " in report
    # The table is printed at the end, as in the report.
    assert "| grpo | " in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--gsm8k_file", "{gsm8k}"], "--gsm8k_file: only --model smollm2 evaluates on GSM8K, not tiny"),
        (["--model", "smollm2", "--gsm8k_file", "{missing}"], "--gsm8k_file {missing}: no such file"),
        (["--seed", "-1"], "--seed must be in [0, 2**31), got -1"),  # found by an audit: 95 lines, 24 s in
    ],
)
def test_the_command_line_refuses_a_gsm8k_file_it_cannot_use_before_building_anything(
    tmp_path, monkeypatch, argv, message
):
    from open_r1.demo import cli, r1

    monkeypatch.setattr(r1, "run", lambda *args: pytest.fail("the demo started"))
    names = {"gsm8k": tmp_path / "gsm8k.jsonl", "missing": tmp_path / "gsm8k_tset.jsonl"}
    names["gsm8k"].write_text('{"id": "1", "problem": "1+1?", "answer": "2"}\n')
    with pytest.raises(UsageError) as refused:
        cli.main([item.format(**names) for item in argv])
    assert message.format(**names) in str(refused.value)


def test_a_mistake_in_make_demos_command_is_one_line_and_exit_status_2():
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--gsm8k_file", "gsm8k.jsonl"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.splitlines()[-1]
        == "demo.py: error: --gsm8k_file: only --model smollm2 evaluates on GSM8K, not tiny"
    )
    assert "usage:" not in result.stderr and "Traceback" not in result.stderr, result.stderr
