"""The accounting of scripts/benchmarks/dynamic_sampling.py on synthetic trainer states: completions and training
time per step from TRL's window means, the checkpoints' budgets, the interpolation between checkpoints, the
comparison at the baseline's budget, and the page written from results."""

import json

import pytest

from tests.support.script_module import load_module

benchmark = load_module("scripts/benchmarks/dynamic_sampling.py", "dynamic_sampling_benchmark")

BATCH, GENERATIONS = 32, 8  # 4 prompts x 8 completions per step, as the tiny demo's recipe


def log_entry(step: int, step_time: float, prompts_generated: float | None = None, zero_spread: float = 0.5) -> dict:
    entry = {"step": step, "step_time": step_time, "loss": 0.1, "frac_reward_zero_std": zero_spread}
    if prompts_generated is not None:
        entry.update(
            {
                "dynamic_sampling/prompts_generated": prompts_generated,
                "dynamic_sampling/groups_kept": 4.0,
                "dynamic_sampling/rounds": prompts_generated / 4,
            }
        )
    return entry


SUMMARY = {"step": 4, "train_runtime": 9.0, "train_loss": 0.1}  # the end-of-training entry: no step_time


def test_without_dynamic_sampling_every_step_generates_the_batch_and_each_entry_counts_its_window():
    # logging_steps 2: each entry holds the means of two steps
    history = [log_entry(2, 1.5), log_entry(4, 0.5), SUMMARY]
    budget = benchmark.cumulative_budget(history, BATCH, GENERATIONS)
    assert budget == {2: {"completions": 64, "seconds": 3.0}, 4: {"completions": 128, "seconds": 4.0}}


def test_with_dynamic_sampling_a_step_generates_its_rounds_prompts_times_num_generations():
    # steps 1-2 ran 1 and 2 rounds of 4 prompts (mean 6), step 3 three rounds (12), the last window one step
    history = [log_entry(2, 2.0, prompts_generated=6.0), log_entry(3, 3.0, prompts_generated=12.0), SUMMARY]
    budget = benchmark.cumulative_budget(history, BATCH, GENERATIONS)
    assert budget == {2: {"completions": 2 * 6 * 8, "seconds": 4.0}, 3: {"completions": 96 + 96, "seconds": 7.0}}


def test_log_summary_weights_each_window_by_its_steps():
    history = [log_entry(2, 2.0, 6.0, zero_spread=0.25), log_entry(3, 3.0, 12.0, zero_spread=1.0), SUMMARY]
    summary = benchmark.log_summary(history)
    assert summary["steps"] == 3
    assert summary["zero_spread_share"] == pytest.approx((2 * 0.25 + 1.0) / 3)
    assert summary["prompts_generated_per_step"] == pytest.approx(8.0)
    assert summary["groups_kept_share"] == pytest.approx(0.5)
    assert summary["rounds_per_step"] == pytest.approx(2.0)
    assert "groups_kept_share" not in benchmark.log_summary([log_entry(1, 1.0)])


def held_out(step: int, accuracy: float) -> dict:
    return {"step": step, "label": "", "pass@1": accuracy, "pass@1_stderr": 0.01, "short_trace_rate": 0.0}


def test_checkpoints_take_the_budget_of_their_step_and_step_0_is_free():
    budget = benchmark.cumulative_budget([log_entry(1, 1.0), log_entry(2, 1.0)], BATCH, GENERATIONS)
    points = benchmark.checkpoint_points(budget, [held_out(2, 0.9), held_out(0, 0.4)])
    assert [(p["step"], p["completions"], p["seconds"], p["pass@1"]) for p in points] == [
        (0, 0, 0, 0.4),
        (2, 64, 2.0, 0.9),
    ]
    with pytest.raises(ValueError, match="log every step"):
        benchmark.checkpoint_points(budget, [held_out(3, 0.9)])


def curve(*pairs: tuple[float, float]) -> list[dict]:
    """Checkpoints at (completions, pass@1), one second per 32 completions."""
    return [
        {"step": i, "completions": c, "seconds": c / 32, "pass@1": a, "stderr": 0.01} for i, (c, a) in enumerate(pairs)
    ]


def test_accuracy_is_interpolated_linearly_between_checkpoints_and_unknown_beyond_them():
    points = curve((0, 0.4), (64, 0.8), (128, 0.9))
    assert benchmark.accuracy_at(points, "completions", 96)["pass@1"] == pytest.approx(0.85)
    assert benchmark.accuracy_at(points, "completions", 64)["pass@1"] == pytest.approx(0.8)
    assert benchmark.accuracy_at(points, "seconds", 3.0)["pass@1"] == pytest.approx(0.85)
    assert benchmark.accuracy_at(points, "completions", 129) is None


def test_first_reaching_is_the_first_crossing_of_the_curve():
    dips = curve((0, 0.4), (64, 0.9), (128, 0.7), (192, 0.95))
    assert benchmark.first_reaching(dips, "completions", 0.65) == pytest.approx(32)
    assert benchmark.first_reaching(dips, "completions", 0.92) == pytest.approx(128 + 64 * 0.22 / 0.25)
    assert benchmark.first_reaching(dips, "completions", 0.96) is None
    assert benchmark.first_reaching(dips, "completions", 0.3) == 0


def test_the_comparison_is_made_on_the_baselines_budget():
    baseline = curve((0, 0.4), (64, 0.8), (128, 0.9))
    dynamic = curve((0, 0.4), (96, 0.9), (192, 0.95))
    comparison = benchmark.compare(baseline, dynamic)
    assert comparison["target_pass@1"] == 0.9
    assert comparison["completions_to_target"] == {"baseline": 128, "dynamic_sampling": 96, "ratio": 0.75}
    assert comparison["seconds_to_target"]["ratio"] == pytest.approx(0.75)
    at_budget = comparison["dynamic_sampling_at_baseline_completions"]["pass@1"]
    assert at_budget == pytest.approx(0.9 + 0.05 * 32 / 96)
    never = benchmark.compare(baseline, curve((0, 0.4), (256, 0.85)))
    assert never["completions_to_target"]["ratio"] is None
    assert never["completions_to_target"]["dynamic_sampling"] is None


def test_doctor_warnings_are_read_from_the_training_log(tmp_path):
    log = tmp_path / "grpo.log"
    log.write_text(
        "step 1\n2026 - WARNING - open_r1.doctor - GRPO doctor, step 10: for the last 5 logging steps:\n"
        "- [zero_spread] 95% of the groups had no reward spread\nExample from the last batch: ...\n"
    )
    assert benchmark.doctor_warnings(log) == [
        "step 10: for the last 5 logging steps: - [zero_spread] 95% of the groups had no reward spread"
    ]


@pytest.mark.parametrize("logging_steps, warned_at", [(1, 5), (2, 10), (4, None)])
def test_the_doctor_is_replayed_in_windows_of_the_recipes_logging_steps(logging_steps, warned_at):
    """Ten steps whose groups all lack spread, then one with spread: the doctor (patience 5 logs) warns after five
    windows, so at step 5 when every step is a log, at step 10 with logs every 2 steps, never with every 4."""
    history = [log_entry(step, 1.0, zero_spread=1.0) for step in range(1, 11)] + [log_entry(11, 1.0, zero_spread=0.0)]
    warnings = benchmark.doctor_at_logging_steps(history, logging_steps, max_completion_length=48)
    if warned_at is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warnings[0].startswith(f"step {warned_at}:"), warnings


def synthetic_results() -> dict:
    baseline = curve((0, 0.4), (64, 0.8), (128, 0.9))
    dynamic = curve((0, 0.4), (96, 0.9), (192, 0.95))
    arms = {
        "baseline": {
            "checkpoints": baseline, "zero_spread_share": 0.5, "doctor_warnings": [],
            "doctor_warnings_at_logging_steps_2": ["step 10: ..."],
        },
        "dynamic_sampling": {
            "checkpoints": dynamic, "zero_spread_share": 0.4, "doctor_warnings": [],
            "groups_kept_share": 0.66, "rounds_per_step": 1.5,
        },
    }  # fmt: skip
    return {
        "model": "tiny",
        "seeds": [0],
        "command": "PYTHONPATH=src .venv/bin/python scripts/benchmarks/dynamic_sampling.py --seeds 0",
        "date": "2026-11-23T22:00:00+00:00",
        "commit": "abc1234",
        "machine": {
            "cpu": "CPU",
            "cores": 2,
            "load_average_at_start": [1.0, 1, 1],
            "load_average_at_end": [2, 2.0, 2],
        },
        "grpo": {
            "max_steps": 2,
            "save_steps": 1,
            "completions_per_step": 64,
            "num_generations": 8,
            "dynamic_sampling_max_rounds": 3,
            "logging_steps": 2,
        },
        "test_problems": 400,
        "eval_samples": 2,
        "runs": [
            {
                "seed": 0,
                "order": ["baseline", "dynamic_sampling"],
                "arms": arms,
                "comparison": benchmark.compare(baseline, dynamic),
            }
        ],
    }


def test_the_page_is_written_between_its_markers_from_the_results(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(__import__("json").dumps(synthetic_results()))
    tiny, smollm2 = benchmark.markers("tiny"), benchmark.markers("smollm2")
    page = tmp_path / "benchmarks.md"
    page.write_text(
        f"# Benchmarks\n\nprose\n\n{tiny[0]}\nold table\n{tiny[1]}\n\nbetween\n\n{smollm2[0]}\nsmollm2 table\n"
        f"{smollm2[1]}\n\nmore prose\n"
    )
    benchmark.write_docs([results], page)
    text = page.read_text()
    assert "old table" not in text and text.startswith("# Benchmarks\n\nprose\n") and text.endswith("more prose\n")
    assert "128 / 96 (**0.75×**)" in text  # completions to reach the baseline's 90.0%
    assert "--seeds 0" in text and "abc1234" in text and "| 0 / 0 / 1 |" in text
    # Another model's block is not touched by results of this one.
    assert f"between\n\n{smollm2[0]}\nsmollm2 table\n{smollm2[1]}" in text
    written = text
    benchmark.write_docs([results], page)
    assert page.read_text() == written
    page.write_text(f"# only smollm2's markers\n{smollm2[0]}\n{smollm2[1]}\n")
    with pytest.raises(SystemExit, match=r"markers to write tiny's results"):
        benchmark.write_docs([results], page)


def test_the_page_has_a_block_for_each_model():
    text = benchmark.BENCHMARKS_PAGE.read_text()
    for begin, end in [benchmark.markers(model) for model in benchmark.MODELS] + [benchmark.SUMMARY_MARKERS]:
        assert text.count(begin) == 1 and text.count(end) == 1 and text.index(begin) < text.index(end)


def test_the_tables_on_the_page_are_those_of_the_kept_results_files(tmp_path):
    kept = sorted((benchmark.REPO_ROOT / "docs" / "results").glob("dynamic_sampling-*.json"))
    assert {json.loads(path.read_text())["model"] for path in kept} == set(benchmark.MODELS)
    page = tmp_path / "benchmarks.md"
    page.write_text(benchmark.BENCHMARKS_PAGE.read_text())
    benchmark.write_docs(kept, page)
    assert page.read_text() == benchmark.BENCHMARKS_PAGE.read_text(), "docs/benchmarks.md was edited by hand"


def test_the_summary_is_written_from_every_models_results_and_left_alone_by_one_models(tmp_path):
    tiny, smollm2 = tmp_path / "tiny.json", tmp_path / "smollm2.json"
    tiny.write_text(json.dumps(synthetic_results()))
    smollm2.write_text(json.dumps({**synthetic_results(), "model": "smollm2"}))
    blocks = [benchmark.markers(model) for model in benchmark.MODELS] + [benchmark.SUMMARY_MARKERS]
    page = tmp_path / "benchmarks.md"
    page.write_text("".join(f"{begin}\nold\n{end}\n" for begin, end in blocks))

    benchmark.write_docs([tiny], page)
    summary = page.read_text().split(benchmark.SUMMARY_MARKERS[0])[1]
    assert summary.startswith("\nold\n"), "one model's files leave the summary of both as it was"

    benchmark.write_docs([smollm2, tiny], page)  # written in MODELS' order, whatever the files' order
    summary = page.read_text().split(benchmark.SUMMARY_MARKERS[0])[1].split(benchmark.SUMMARY_MARKERS[1])[0]
    rows = [line for line in summary.splitlines() if line.startswith(("| tiny", "| SmolLM2"))]
    # The baseline ends at 90.0% after 128 completions (4 s); dynamic sampling reaches 90% at 96 and has 91.7% at 128.
    assert rows == [
        f"| {label}, 0 | **0.75×** | 91.7% ± 1.0 / 90.0% ± 1.0 | 91.7% ± 1.0 / 90.0% ± 1.0 |"
        for label in ("tiny", "SmolLM2")
    ]
