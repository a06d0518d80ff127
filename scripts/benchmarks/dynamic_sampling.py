#!/usr/bin/env python
"""Benchmark: held-out accuracy against completions generated and wall-clock, GRPO with and without dynamic sampling.

    PYTHONPATH=src .venv/bin/python scripts/benchmarks/dynamic_sampling.py --model tiny --seeds 0 1
    PYTHONPATH=src .venv/bin/python scripts/benchmarks/dynamic_sampling.py --model smollm2 --seeds 0 1
    ... --from_demo data/demo [data/demo-seed1]      # reuse `make demo` folders' data and SFT checkpoints
    ... --write_docs data/benchmarks/dynamic_sampling-tiny/results.json [...-smollm2/results.json]

For each seed, the demo's own code (`open_r1.demo.r1`: `build_datasets`, `build_base_model`, the SFT recipe through
`pipeline.train`, `evaluate_stage`) builds the task data and the SFT checkpoint (or `--from_demo` takes them from a
`make demo` folder of that seed), then GRPO runs twice from that checkpoint with the demo's recipe, once with
`dynamic_sampling: false` and once with `true`, nothing else changed (same seed, same steps), in alternating order
(seed 0: off first; seed 1: on first), each saving checkpoints every `--save_steps` and logging every step. Every
checkpoint is scored on the demo's held-out test set (pass@1 ± stderr, `evaluate_stage`). From each run's
trainer_state.json, per step:
- completions generated: without dynamic sampling, the batch (per_device_train_batch_size x
  gradient_accumulation_steps, one process); with it, `dynamic_sampling/prompts_generated` x `num_generations`
  (TRL averages it over the logging window, so each entry counts for the steps since the previous one);
- training time: TRL's `step_time` (the wall time of `training_step`, which generates, scores, refills and runs the
  forward and backward passes; not the optimizer step or checkpoint saving, both the same in the two arms), summed
  the same way. Each arm's `train_runtime` (the whole loop) is recorded beside it.
The arms are compared on the baseline's budget, interpolating each arm's held-out accuracy linearly between its
checkpoints (step 0 is the SFT checkpoint, 0 completions, 0 s): the completions each arm needs to first reach the
baseline's final accuracy (the issue's goal: dynamic sampling at most 0.7x), and dynamic sampling's accuracy at
the baseline's total completions and at its total training time. Each GRPO log is searched for GRPO doctor warnings,
and the doctor's training checks are replayed on the baseline's log in windows of the recipe's `logging_steps`.

Writes `results.json` (with date, commit, machine, load average) in `--output_dir`; `--write_docs` writes the
tables of results files into docs/benchmarks.md between each model's markers (a model's files replace its block
only), and, when the files cover every model, the summary of the goal across them, so the page is never typed by
hand.
Not covered: GPUs, vLLM, several processes (the demo trains on one).
"""

import argparse
import json
import pathlib
import sys

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import BENCHMARKS_PAGE, parse_or_write_docs, results_markers

ARMS = {"baseline": "false", "dynamic_sampling": "true"}  # arm -> the recipe's `dynamic_sampling`
MODELS = ("tiny", "smollm2")
MODEL_LABELS = {"tiny": "tiny", "smollm2": "SmolLM2"}
SUMMARY_MARKERS = results_markers("dynamic_sampling.py", "summary")


def markers(model: str) -> tuple[str, str]:
    """The page's markers around one model's tables: each model's results are written on their own."""
    return results_markers("dynamic_sampling.py", model)


COMMAND = "PYTHONPATH=src .venv/bin/python scripts/benchmarks/dynamic_sampling.py"


# Accounting: pure functions of trainer_state.json's log history and the checkpoints' scores.


def cumulative_budget(log_history: list[dict], completions_per_step: int, num_generations: int) -> dict[int, dict]:
    """For each logged training step: the completions generated and the training seconds (`step_time`) from the
    start up to it. A log entry holds the means over the steps since the previous entry."""
    budget, previous_step, completions, seconds = {}, 0, 0.0, 0.0
    for entry in log_history:
        if "step_time" not in entry:
            continue  # the end-of-training summary
        steps = entry["step"] - previous_step
        previous_step = entry["step"]
        prompts = entry.get("dynamic_sampling/prompts_generated")
        completions += steps * (completions_per_step if prompts is None else prompts * num_generations)
        seconds += steps * entry["step_time"]
        budget[entry["step"]] = {"completions": completions, "seconds": seconds}
    return budget


def checkpoint_points(budget: dict[int, dict], held_out: list[dict]) -> list[dict]:
    """The held-out points (step, pass@1, pass@1_stderr; step 0 is the SFT checkpoint) with their budget."""
    points = []
    for point in sorted(held_out, key=lambda point: point["step"]):
        if point["step"] == 0:
            spent = {"completions": 0.0, "seconds": 0.0}
        elif point["step"] in budget:
            spent = budget[point["step"]]
        else:
            raise ValueError(f"step {point['step']} has a checkpoint but no log entry: log every step")
        points.append({"step": point["step"], **spent, "pass@1": point["pass@1"], "stderr": point["pass@1_stderr"]})
    return points


def accuracy_at(points: list[dict], axis: str, budget: float) -> dict | None:
    """pass@1 and its stderr at `budget` of `axis` ("completions" or "seconds"), linear between the checkpoints
    around it; None beyond the last one."""
    for before, after in zip(points, points[1:]):
        if before[axis] <= budget <= after[axis]:
            span = after[axis] - before[axis]
            weight = (budget - before[axis]) / span if span else 1.0
            return {key: before[key] + weight * (after[key] - before[key]) for key in ("pass@1", "stderr")}
    return None


def first_reaching(points: list[dict], axis: str, accuracy: float) -> float | None:
    """The least budget of `axis` at which the linear curve through the checkpoints reaches `accuracy`; None if
    it never does."""
    if points[0]["pass@1"] >= accuracy:
        return points[0][axis]
    for before, after in zip(points, points[1:]):
        if before["pass@1"] < accuracy <= after["pass@1"]:
            weight = (accuracy - before["pass@1"]) / (after["pass@1"] - before["pass@1"])
            return before[axis] + weight * (after[axis] - before[axis])
    return None


def compare(baseline: list[dict], dynamic: list[dict]) -> dict:
    """Dynamic sampling against the baseline on the baseline's budget: completions (and seconds) each needs to first
    reach the baseline's final pass@1, and dynamic sampling's pass@1 at the baseline's final completions and time."""
    final = baseline[-1]
    target = final["pass@1"]
    result = {"target_pass@1": target, "baseline_final": final}
    for axis in ("completions", "seconds"):
        needed = {
            "baseline": first_reaching(baseline, axis, target),
            "dynamic_sampling": first_reaching(dynamic, axis, target),
        }
        ratio = (
            needed["dynamic_sampling"] / needed["baseline"]
            if None not in needed.values() and needed["baseline"]
            else None
        )
        result[f"{axis}_to_target"] = {**needed, "ratio": ratio}
        result[f"dynamic_sampling_at_baseline_{axis}"] = accuracy_at(dynamic, axis, final[axis])
    return result


def log_summary(log_history: list[dict]) -> dict:
    """Per-run shares over all steps: groups without reward spread (the logged `frac_reward_zero_std`, over every
    group generated), and with dynamic sampling the groups kept over those generated and the mean rounds."""
    entries, previous = [], 0
    for entry in log_history:
        if "step_time" in entry:
            entries.append((entry["step"] - previous, entry))
            previous = entry["step"]
    steps = sum(weight for weight, _ in entries)

    def mean(key: str) -> float | None:
        values = [(weight, entry[key]) for weight, entry in entries if entry.get(key) is not None]
        return (
            sum(weight * value for weight, value in values) / sum(weight for weight, _ in values) if values else None
        )

    summary = {"steps": steps, "zero_spread_share": mean("frac_reward_zero_std")}
    if any("dynamic_sampling/prompts_generated" in entry for _, entry in entries):
        generated = mean("dynamic_sampling/prompts_generated")
        summary.update(
            prompts_generated_per_step=generated,
            groups_kept_share=mean("dynamic_sampling/groups_kept") / generated,
            rounds_per_step=mean("dynamic_sampling/rounds"),
        )
    return summary


def doctor_warnings(log_file: pathlib.Path) -> list[str]:
    """The GRPO doctor's warnings in a training log: each one's first line and its findings (`- [check] ...`)."""
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    warnings = []
    for index, line in enumerate(lines):
        if "GRPO doctor" in line:
            findings = [text for text in lines[index + 1 : index + 8] if text.startswith("- [")]
            warnings.append(" ".join([line.split("GRPO doctor", 1)[1].lstrip(" ,"), *findings]))
    return warnings


def doctor_at_logging_steps(log_history: list[dict], logging_steps: int, max_completion_length: int) -> list[str]:
    """The GRPO doctor's training checks (`open_r1.doctor.TrainingDoctor`, its defaults) replayed on a per-step log
    regrouped into windows of `logging_steps`, each metric the mean of its steps as TRL averages a window: what the
    doctor says on the recipe as it logs (the benchmark logs every step, so its own doctor watches shorter
    windows). Exact for runs without dynamic sampling (one value of each metric per step)."""
    import logging
    import types

    from open_r1.doctor import TrainingDoctor

    class Collect(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage().split("\n")[0].replace("GRPO doctor, ", ""))

    warnings, handler, doctor = [], Collect(level=logging.WARNING), TrainingDoctor()
    doctor_logger = logging.getLogger("open_r1.doctor")
    doctor_logger.addHandler(handler)
    try:
        steps = [entry for entry in log_history if "step_time" in entry]
        for start in range(0, len(steps) - logging_steps + 1, logging_steps):
            window = steps[start : start + logging_steps]
            logs = {}
            for key in window[0]:
                values = [entry.get(key) for entry in window]
                if all(isinstance(value, (int, float)) for value in values):
                    logs[key] = sum(values) / len(values)
            state = types.SimpleNamespace(global_step=window[-1]["step"], is_world_process_zero=True)
            control = types.SimpleNamespace(should_training_stop=False)
            args = types.SimpleNamespace(max_completion_length=max_completion_length)
            doctor.on_log(args, state, control, logs=logs)
    finally:
        doctor_logger.removeHandler(handler)
    return warnings


# Running: the demo's data, SFT checkpoint and evaluation; GRPO twice per seed.


def sft_checkpoint(seed_dir: pathlib.Path, settings, seed: int, from_demo: pathlib.Path | None) -> dict:
    """The GRPO dataset, the test file, the SFT checkpoint and its held-out score: from a `make demo` folder of the
    same model and seed, or built and trained here by the demo's own functions."""
    from open_r1.demo import pipeline, r1

    if from_demo is not None:
        demo = json.loads((from_demo / "results.json").read_text(encoding="utf-8"))
        if (demo["model"], demo["seed"], demo["fast"]) != (settings.base_model, seed, False):
            raise SystemExit(
                f"--from_demo {from_demo}: a run of {demo['model']} seed {demo['seed']}, fast {demo['fast']}"
            )
        return {
            "grpo": from_demo / "datasets" / "grpo",
            "test": from_demo / "datasets" / "test.jsonl",
            "model": from_demo / "sft-model",
            "score": demo["stages"]["sft"],
            "sft_seconds": demo["stages"]["sft"].get("train_seconds"),
            "from_demo": str(from_demo),
        }
    pipeline.prepare_output_dir(seed_dir, ["sft-model", *(f"grpo-{arm}" for arm in ARMS)])
    data = r1.build_datasets(seed_dir / "datasets", settings, seed)
    base_model, _, _ = r1.build_base_model(seed_dir, settings, seed)
    model = seed_dir / "sft-model"
    pipeline.banner(f"seed {seed}: cold-start SFT ({settings.sft_recipe})")
    seconds = pipeline.train(
        "sft.py", settings.sft_recipe, base_model, data["sft"], model, seed, seed_dir / "logs" / "sft.log"
    )
    score = r1.evaluate_stage(model, data["test"], seed_dir / "evals" / "sft", "SFT", seed, settings, None)
    return {"grpo": data["grpo"], "test": data["test"], "model": model, "score": score, "sft_seconds": seconds}


def run_arm(seed_dir: pathlib.Path, arm: str, settings, seed: int, sft: dict, plan: dict) -> dict:
    """GRPO from the SFT checkpoint with `dynamic_sampling` as the arm says; every checkpoint scored held-out."""
    import shutil

    from open_r1.demo import pipeline, r1

    model = seed_dir / f"grpo-{arm}"
    shutil.rmtree(model, ignore_errors=True)  # a stale checkpoint would make the trainer resume
    log_file = seed_dir / "logs" / f"grpo-{arm}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pipeline.banner(f"seed {seed}: GRPO, dynamic_sampling {ARMS[arm]} ({settings.grpo_recipe})")
    wall_seconds = pipeline.train(
        "grpo.py", settings.grpo_recipe, sft["model"], sft["grpo"], model, seed, log_file,
        "--dynamic_sampling", ARMS[arm], "--max_steps", str(plan["max_steps"]), "--logging_steps", "1",
        "--save_strategy", "steps", "--save_steps", str(plan["save_steps"]), "--save_only_model", "true",
    )  # fmt: skip
    state = json.loads((model / "trainer_state.json").read_text(encoding="utf-8"))
    final_step = state["global_step"]
    evals = seed_dir / "evals" / arm
    on_the_way = r1.evaluate_grpo_checkpoints(model, final_step, sft["test"], evals, seed, settings)
    final = r1.evaluate_stage(model, sft["test"], evals / "final", f"{arm} step {final_step}", seed, settings, None)
    held_out = [r1.held_out_point(0, "SFT", sft["score"]), *on_the_way, r1.held_out_point(final_step, arm, final)]
    budget = cumulative_budget(state["log_history"], plan["completions_per_step"], plan["num_generations"])
    return {
        "checkpoints": checkpoint_points(budget, held_out),
        "wall_seconds": wall_seconds,
        "train_runtime": next((e["train_runtime"] for e in state["log_history"] if "train_runtime" in e), None),
        **log_summary(state["log_history"]),
        "doctor_warnings": doctor_warnings(log_file),
        f"doctor_warnings_at_logging_steps_{plan['logging_steps']}": doctor_at_logging_steps(
            state["log_history"], plan["logging_steps"], plan["max_completion_length"]
        ),
    }


def grpo_plan(settings, max_steps: int | None, save_steps: int | None) -> dict:
    """The GRPO run both arms make: the recipe's steps (or `max_steps`), checkpoints every `save_steps` (default the
    recipe's, else a quarter of the run), and what a step generates without dynamic sampling."""
    from open_r1.usage import read_recipe

    recipe = read_recipe(str(REPO_ROOT / settings.grpo_recipe))
    max_steps = max_steps or recipe["max_steps"]
    if save_steps is None:
        save_steps = recipe["save_steps"] if recipe.get("save_strategy") == "steps" else max(1, max_steps // 4)
    if recipe.get("steps_per_generation") or recipe.get("num_iterations", 1) != 1:
        raise SystemExit("the completions count assumes one generation per optimizer step (TRL's defaults)")
    return {
        "recipe": settings.grpo_recipe,
        "max_steps": max_steps,
        "save_steps": save_steps,
        # One process (the demo's launch): the batch is one generation batch.
        "completions_per_step": recipe["per_device_train_batch_size"] * recipe.get("gradient_accumulation_steps", 1),
        "num_generations": recipe["num_generations"],
        "logging_steps": recipe["logging_steps"],
        "max_completion_length": recipe["max_completion_length"],
        "dynamic_sampling_max_rounds": recipe.get("dynamic_sampling_max_rounds", 3),
    }


def run(args: argparse.Namespace) -> dict:
    from open_r1.demo.settings import SETTINGS
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import save_results

    settings = SETTINGS[args.model, False]
    plan = grpo_plan(settings, args.max_steps, args.save_steps)
    demos = {}
    for folder in args.from_demo or ():
        demos[json.loads((folder / "results.json").read_text(encoding="utf-8"))["seed"]] = folder
    output_dir = args.output_dir.resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "benchmark": "dynamic_sampling",
        "model": args.model,
        "seeds": args.seeds,
        "command": " ".join([COMMAND, *sys.argv[1:]]),
        **provenance_record(),
        "grpo": plan,
        "test_problems": settings.num_test,
        "eval_samples": settings.eval_samples,
        "runs": [],
    }
    for index, seed in enumerate(args.seeds):
        seed_dir = output_dir / f"seed{seed}"
        sft = sft_checkpoint(seed_dir, settings, seed, demos.get(seed))
        order = list(ARMS) if index % 2 == 0 else list(reversed(ARMS))  # which arm goes first alternates
        arms = {arm: run_arm(seed_dir, arm, settings, seed, sft, plan) for arm in order}
        comparison = compare(arms["baseline"]["checkpoints"], arms["dynamic_sampling"]["checkpoints"])
        results["runs"].append(
            {
                "seed": seed,
                "from_demo": sft.get("from_demo"),
                "sft_seconds": sft["sft_seconds"],
                "order": order,
                "arms": arms,
                "comparison": comparison,
            }
        )
        results["machine"] = with_end_load(results)["machine"]
        save_results(output_dir / "results.json", results, quiet=True)
        print(comparison_table([results]), flush=True)
    print(f"results: {output_dir / 'results.json'}", flush=True)
    return results


# The page: docs/benchmarks.md's tables, written from results files.


def _percent(point: dict | None) -> str:
    from open_r1.demo.report import percent_with_stderr

    return "not reached" if point is None else percent_with_stderr(point["pass@1"], point["stderr"])


def _number(value: float | None, unit: str = "") -> str:
    return "not reached" if value is None else f"{value:,.0f}{unit}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"**{value:.2f}×**"


def provenance_table(all_results: list[dict]) -> str:
    from open_r1.utils.provenance import read_provenance
    from open_r1.utils.results_docs import markdown_table

    rows = []
    for results in all_results:
        machine, plan = read_provenance(results)["machine"], results["grpo"]
        load = machine["load_average_at_start"][0], machine["load_average_at_end"][1]
        rows.append(
            [
                results["model"],
                ", ".join(map(str, results["seeds"])),
                results["date"][:10],
                str(results["commit"]),
                f"{machine['cores']} cores, {machine['cpu']}; load {load[0]:.1f} → {load[1]:.1f}",
                f"{plan['max_steps']} steps × {plan['completions_per_step']} completions, "
                f"{plan['num_generations']} per prompt; checkpoints every {plan['save_steps']}; "
                f"max rounds {plan['dynamic_sampling_max_rounds']}",
                f"{results['test_problems']} × {results['eval_samples']} samples",
            ]
        )
    header = ["model", "seeds", "date", "commit", "machine, load (1 min at start → 5 min at end)", "GRPO", "held-out"]
    return markdown_table(header, rows)


def checkpoints_table(all_results: list[dict]) -> str:
    """Every checkpoint of every run: its budget spent and its held-out pass@1."""
    from open_r1.utils.results_docs import markdown_table

    rows = []
    for results in all_results:
        for run in results["runs"]:
            for arm in run["order"]:
                points = run["arms"][arm]["checkpoints"]
                rows.append(
                    [
                        results["model"],
                        str(run["seed"]),
                        f"{arm} ({run['order'].index(arm) + 1}.)",
                        " · ".join(f"{point['step']}: {_percent(point)}" for point in points),
                        " · ".join(_number(point["completions"]) for point in points),
                        " · ".join(_number(point["seconds"], " s") for point in points),
                    ]
                )
    header = ["model", "seed", "arm (order)", "step: held-out pass@1", "completions generated", "training time"]
    return markdown_table(header, rows)


def comparison_table(all_results: list[dict]) -> str:
    """Per run, the goal's measures: completions to reach the baseline's final pass@1, dynamic sampling's pass@1 at
    the baseline's completions and time, and what the runs spent their groups on."""
    from open_r1.utils.results_docs import markdown_table

    rows = []
    for results in all_results:
        logging_steps = results["grpo"]["logging_steps"]
        for run in results["runs"]:
            comparison, baseline, dynamic = run["comparison"], run["arms"]["baseline"], run["arms"]["dynamic_sampling"]
            final = comparison["baseline_final"]
            completions, seconds = comparison["completions_to_target"], comparison["seconds_to_target"]
            kept = dynamic.get("groups_kept_share")
            rows.append(
                [
                    f"{results['model']} seed {run['seed']}",
                    f"{_percent(final)} at {_number(final['completions'])} completions, {final['seconds']:.0f} s",
                    f"{_number(completions['baseline'])} / {_number(completions['dynamic_sampling'])} "
                    f"({_ratio(completions['ratio'])})",
                    f"{_number(seconds['baseline'], ' s')} / {_number(seconds['dynamic_sampling'], ' s')} "
                    f"({_ratio(seconds['ratio'])})",
                    _percent(comparison["dynamic_sampling_at_baseline_completions"]),
                    _percent(comparison["dynamic_sampling_at_baseline_seconds"]),
                    f"{100 * baseline['zero_spread_share']:.0f}% / {100 * dynamic['zero_spread_share']:.0f}%",
                    "—" if kept is None else f"{100 * kept:.0f}%, {dynamic['rounds_per_step']:.2f} rounds",
                    f"{len(baseline['doctor_warnings'])} / {len(dynamic['doctor_warnings'])} / "
                    f"{len(baseline[f'doctor_warnings_at_logging_steps_{logging_steps}'])}",
                ]
            )
    header = [
        "run",
        "baseline at its end",
        "completions to reach it: baseline / DS (ratio)",
        "training time to reach it: baseline / DS (ratio)",
        "DS at the baseline's completions",
        "DS at the baseline's training time",
        "groups without spread: baseline / DS",
        "DS: groups kept of generated, rounds per step",
        "doctor warnings: baseline / DS (every step) / baseline at the recipe's logging_steps",
    ]
    return markdown_table(header, rows)


def summary_table(all_results: list[dict]) -> str:
    """The goal in short, a row per run of every model: completions to reach the baseline's final accuracy, and
    dynamic sampling against the baseline at the baseline's completions and at its training time."""
    from open_r1.utils.results_docs import markdown_table

    header = [
        "demo, seed",
        "completions to reach the baseline's final accuracy",
        "at the baseline's completions: DS / baseline",
        "at the baseline's training time: DS / baseline",
    ]
    rows = []
    for results in all_results:
        for run in results["runs"]:
            comparison = run["comparison"]
            final = _percent(comparison["baseline_final"])
            rows.append(
                [
                    f"{MODEL_LABELS[results['model']]}, {run['seed']}",
                    _ratio(comparison["completions_to_target"]["ratio"]),
                    f"{_percent(comparison['dynamic_sampling_at_baseline_completions'])} / {final}",
                    f"{_percent(comparison['dynamic_sampling_at_baseline_seconds'])} / {final}",
                ]
            )
    return markdown_table(header, rows)


def docs_section(all_results: list[dict]) -> str:
    """One model's block of the page: the commands, where and when they ran, the comparison and every checkpoint."""
    begin, end = markers(all_results[0]["model"])
    commands = "\n".join(results["command"] for results in all_results)
    return "\n\n".join(
        [
            begin,
            f"```shell\n{commands}\n```",
            provenance_table(all_results),
            comparison_table(all_results),
            "Every checkpoint (step 0 is the SFT checkpoint both arms start from):",
            checkpoints_table(all_results),
            end,
        ]
    )


def write_docs(paths: list[pathlib.Path], page: pathlib.Path = BENCHMARKS_PAGE) -> None:
    """For each model among the results files, replaces what lies between that model's markers on the page with
    the tables of its results; the other models' blocks are left as they are. Files of every model also rewrite
    the summary between its markers, models in `MODELS`' order."""
    from open_r1.utils.results_docs import between_markers

    all_results = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    text = page.read_text(encoding="utf-8")
    for model in MODELS:
        results = [result for result in all_results if result["model"] == model]
        if not results:
            continue
        begin, end = markers(model)
        text = between_markers(text, begin, end, docs_section(results), page, what=f"{model}'s results")
    if {result["model"] for result in all_results} == set(MODELS):
        ordered = sorted(all_results, key=lambda result: MODELS.index(result["model"]))
        begin, end = SUMMARY_MARKERS
        summary = "\n\n".join([begin, summary_table(ordered), end])
        text = between_markers(text, begin, end, summary, page, what="the summary of every model's results")
    page.write_text(text, encoding="utf-8")
    print(f"wrote {len(all_results)} results into {page}", flush=True)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("tiny", "smollm2"), default="tiny", help="The demo whose stages are run.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="Seeds of data, SFT and GRPO.")
    parser.add_argument(
        "--from_demo",
        type=pathlib.Path,
        nargs="+",
        help="`make demo` folders to take seeds' data and SFT checkpoint from.",
    )
    parser.add_argument("--output_dir", type=pathlib.Path, help="Default data/benchmarks/dynamic_sampling-<model>.")
    parser.add_argument("--max_steps", type=int, help="GRPO steps of each arm (default the recipe's).")
    parser.add_argument(
        "--save_steps", type=int, help="Steps between checkpoints (default the recipe's, else a quarter of the run)."
    )
    parser.add_argument(
        "--write_docs",
        type=pathlib.Path,
        nargs="+",
        help="Results files to write into docs/benchmarks.md; runs nothing.",
    )
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    args.output_dir = args.output_dir or REPO_ROOT / "data" / "benchmarks" / f"dynamic_sampling-{args.model}"
    return run(args)


if __name__ == "__main__":
    main()
