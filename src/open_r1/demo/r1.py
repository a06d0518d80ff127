"""`make demo`: the whole R1 recipe in miniature (data, cold-start SFT, GRPO, evaluation) on a CPU in minutes.

Stages, each one the project's real code path:
1. Build a tiny Qwen2 model and its tokenizer locally (`open_r1.tasks.tiny_model`), no Hub. With
   `--model smollm2`: take SmolLM2-135M-Instruct from `scripts/get_model.py smollm2` (`open_r1.demo.real_model`).
2. Generate the task (`open_r1.tasks.arithmetic`): chains of 4 one-digit additions and subtractions whose
   running total stays within 0..5, with worked `<think>` traces; 1,500 training problems and a held-out
   test set of 400 disjoint from them (smollm2: totals within 0..9, 2,000 and 200). The cold-start traces come
   from an imperfect teacher that writes several traces per problem, a fixed fraction of each round skipping the
   last step and boxing the total before it (`skip_last_step`), like R1's cold start, whose traces were not all
   right either.
3. Cold-start SFT: `accelerate launch src/open_r1/sft.py --config recipes/demo/sft/config_demo.yaml`
   (smollm2: `config_smollm2.yaml`, 24 full fine-tuning steps).
4. GRPO from the SFT checkpoint: `accelerate launch src/open_r1/grpo.py --config recipes/demo/grpo/config_demo.yaml`
   with the accuracy and format rewards of `open_r1.rewards`, a checkpoint at each fifth of the run
   (smollm2: `config_smollm2.yaml`, 8 steps, no intermediate checkpoints).
5. Evaluate base, SFT, GRPO and GRPO's intermediate checkpoints on the test set with `open_r1.eval.offline`
   (pass@1 from several samples at temperature 0.6, top_p 0.95) and compute format compliance with
   `open_r1.rewards.format_reward`. With `--model smollm2`, also on the first 200 GSM8K-test problems (2 samples,
   64 new tokens): whether learning the task costs the model anything on a real benchmark (`--gsm8k_file`, else
   ../shared/data, else the Hub).
6. Write results.json (with date, commit, machine and load), report.md (the table, the targets of
   `open_r1.demo.report.demo_targets` as measured, the GRPO curve by fifths beside the checkpoints' held-out
   pass@1, what the task, data and model are) and curves.png (GRPO reward and accuracy reward per logged step,
   from trainer_state.json, held-out pass@1 marked), and print the table.

Run it with `make demo [MODEL=smollm2]` or `python scripts/demo.py` (see `open_r1.demo.cli`).
Not covered: vLLM generation, multi-GPU, GPU timings, full-length real-benchmark evaluation (see docs/gpu.md's
recipes and `make evaluate`).
"""

import json
import pathlib
import random
import re
import time

from open_r1.data.benchmarks import load_problems, user_prompt
from open_r1.demo import pipeline
from open_r1.demo.real_model import count_parameters, get_pretrained_model, gsm8k_test_file
from open_r1.demo.report import grpo_curves, percent_with_stderr, r1_report, results_table
from open_r1.demo.settings import FAST_GRPO_OVERRIDES, FAST_SFT_OVERRIDES, SETTINGS, DemoSettings
from open_r1.tasks.arithmetic import SYSTEM_PROMPT, make_splits, skip_last_step
from open_r1.usage import UsageError
from open_r1.utils.provenance import provenance_record, with_end_load

OPERATOR = re.compile(r" [+-] ")
WORKED_STEP = re.compile(r"^(-?\d+) ([+-]) (\d+) = (-?\d+)$", re.MULTILINE)


def build_datasets(folder: pathlib.Path, settings: DemoSettings, seed: int) -> dict:
    """SFT conversations (some from the imperfect teacher), GRPO prompts and the held-out test JSONL."""
    train_rows, test_rows = make_splits(settings.num_train, settings.num_test, seed=seed, spec=settings.task)
    rng = random.Random(seed)
    sft_rows = []
    num_flawed = 0
    for _ in range(settings.traces_per_problem):
        # Each round of traces draws its own flawed problems, so no problem is always (or never) taught the skip.
        flawed = set(rng.sample(range(len(train_rows)), round(settings.teacher_error_rate * len(train_rows))))
        num_flawed += len(flawed)
        for index, row in enumerate(train_rows):
            taught = skip_last_step(row) if index in flawed else row
            messages = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_prompt(row["problem"])},
                {"role": "assistant", "content": taught["completion"]},
            ]
            sft_rows.append({"messages": messages})
    return {
        "sft": pipeline.save_train_split(folder / "sft", sft_rows),
        "grpo": pipeline.save_train_split(
            folder / "grpo", [{"prompt": user_prompt(row["problem"]), "solution": row["answer"]} for row in train_rows]
        ),
        "test": pipeline.write_test_file(folder / "test.jsonl", test_rows),
        "num_flawed": num_flawed,
        "num_traces": len(sft_rows),
    }


def build_base_model(output_dir: pathlib.Path, settings: DemoSettings, seed: int) -> tuple[pathlib.Path, int, dict]:
    """The model SFT starts from (the tiny model, built in `output_dir`/base-model, or a real model's folder), its
    parameter count, and for a real model where it came from (`model_origin`)."""
    if settings.base_model == "tiny":
        base_model = output_dir / "base-model"
        return base_model, pipeline.build_tiny_model(base_model, settings.tiny_model, seed), {}
    base_model, origin = get_pretrained_model(settings.base_model)
    return base_model, count_parameters(base_model), {"model_origin": origin}


def evaluate_stage(
    model: pathlib.Path,
    test_file: pathlib.Path,
    output_dir: pathlib.Path,
    stage: str,
    seed: int,
    settings: DemoSettings,
    gsm8k_file: pathlib.Path | None,
) -> dict:
    """pass@1 (± stderr) and format compliance of one checkpoint on the test set, via `open_r1.eval.offline`;
    with `gsm8k_file`, also its pass@1 on the first `settings.gsm8k_problems` GSM8K problems."""
    from open_r1.rewards import format_reward

    common = {"system_prompt": SYSTEM_PROMPT, "batch_size": settings.eval_batch_size, "seed": seed}
    results, details = pipeline.run_evaluator(
        model,
        "demo_arithmetic",
        test_file,
        output_dir,
        label=stage,
        num_samples=settings.eval_samples,
        max_new_tokens=settings.eval_max_new_tokens,
        **common,
    )
    gsm8k = {}
    if gsm8k_file is not None:
        gsm8k_results, _ = pipeline.run_evaluator(
            model,
            "gsm8k",
            gsm8k_file,
            output_dir.parent / f"{stage}-gsm8k",
            label=f"{stage} on GSM8K",
            num_samples=settings.gsm8k_samples,
            max_new_tokens=settings.gsm8k_max_new_tokens,
            limit=settings.gsm8k_problems,
            **common,
        )
        gsm8k = {"gsm8k_pass@1": gsm8k_results["pass@1"], "gsm8k_pass@1_stderr": gsm8k_results["pass@1_stderr"]}
    needed_steps = {problem.id: len(OPERATOR.findall(problem.problem)) for problem in load_problems(test_file)}
    formats = format_reward([[{"role": "assistant", "content": row["completion"]}] for row in details])
    steps = [worked_steps(row["completion"]) for row in details]
    # The imperfect teacher's mistake: fewer worked steps than the problem has operations.
    short = [len(written) < needed_steps[row["id"]] for row, written in zip(details, steps)]
    all_steps = [step for written in steps for step in written]
    return {
        "pass@1": results["pass@1"],
        "pass@1_stderr": results["pass@1_stderr"],
        "format_rate": sum(formats) / len(formats),
        "short_trace_rate": sum(short) / len(short),
        # The arithmetic itself, whatever the plan: None when the model writes no steps (the base model).
        "step_accuracy": sum(map(step_is_right, all_steps)) / len(all_steps) if all_steps else None,
        **gsm8k,
    }


def held_out_point(step: int, label: str, result: dict) -> dict:
    """A checkpoint's held-out numbers at its GRPO step (0: the SFT checkpoint GRPO starts from)."""
    keys = ("pass@1", "pass@1_stderr", "short_trace_rate")
    return {"step": step, "label": label, **{key: result[key] for key in keys}}


def evaluate_grpo_checkpoints(
    grpo_model: pathlib.Path,
    final_step: int,
    test_file: pathlib.Path,
    evals_dir: pathlib.Path,
    seed: int,
    settings: DemoSettings,
) -> list[dict]:
    """The held-out numbers of the checkpoints GRPO saved before its last step (the recipe's `save_steps`), so the
    report shows held-out accuracy along the reward curve, not only at its ends."""
    points = []
    for checkpoint in sorted(grpo_model.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1])):
        step = int(checkpoint.name.split("-")[1])
        if step < final_step:
            result = evaluate_stage(
                checkpoint, test_file, evals_dir / f"grpo-{step}", f"GRPO step {step}", seed, settings, None
            )
            points.append(held_out_point(step, "checkpoint", result))
            print(
                f"GRPO step {step}: pass@1 {percent_with_stderr(result['pass@1'], result['pass@1_stderr'])}",
                flush=True,
            )
    return points


def worked_steps(completion: str) -> list[tuple[int, str, int, int]]:
    """The lines `a ± b = c` of the completion's reasoning, as (a, operator, b, c)."""
    reasoning = completion.split("</think>", 1)[0]
    return [(int(a), op, int(b), int(c)) for a, op, b, c in WORKED_STEP.findall(reasoning)]


def step_is_right(step: tuple[int, str, int, int]) -> bool:
    a, operator, b, c = step
    return c == (a + b if operator == "+" else a - b)


def run(
    output_dir: pathlib.Path, seed: int, fast: bool, model: str = "tiny", gsm8k_file: pathlib.Path | None = None
) -> dict:
    settings = SETTINGS[model, fast]
    started = time.perf_counter()
    provenance = provenance_record()
    pipeline.prepare_output_dir(output_dir, ["sft-model", "grpo-model"])
    extra = {}

    what = "the tiny model" if model == "tiny" else f"{model} (scripts/get_model.py)"
    pipeline.banner(f"1/6 building {what} and the task data (seed {seed}{', FAST' if fast else ''})")
    base_started = time.perf_counter()
    base_model, num_parameters, origin = build_base_model(output_dir, settings, seed)
    extra.update(origin)
    if settings.gsm8k_problems:
        gsm8k_file = gsm8k_test_file(output_dir, gsm8k_file)
        extra["gsm8k_file"] = str(gsm8k_file)
    elif gsm8k_file is not None:
        raise UsageError(f"--gsm8k_file: the {model} demo does not evaluate on GSM8K")
    data = build_datasets(output_dir / "datasets", settings, seed)
    print(
        f"model: {num_parameters / 1e6:.2f}M parameters; train: {settings.num_train} problems "
        f"({data['num_traces']} SFT traces, {data['num_flawed']} of them imperfect); test: {settings.num_test} problems",
        flush=True,
    )
    base_seconds = time.perf_counter() - base_started

    stages = {}

    def evaluate_and_record(stage: str, checkpoint: pathlib.Path, train_seconds: float) -> None:
        eval_started = time.perf_counter()
        stages[stage] = evaluate_stage(
            checkpoint,
            data["test"],
            output_dir / "evals" / stage,
            stage,
            seed,
            settings,
            gsm8k_file if settings.gsm8k_problems else None,
        )
        eval_seconds = time.perf_counter() - eval_started
        stages[stage].update(
            seconds=train_seconds + eval_seconds, train_seconds=train_seconds, eval_seconds=eval_seconds
        )
        result = stages[stage]
        gsm8k = (
            f", GSM8K pass@1 {percent_with_stderr(result['gsm8k_pass@1'], result['gsm8k_pass@1_stderr'])}"
            if "gsm8k_pass@1" in result
            else ""
        )
        print(
            f"{stage}: pass@1 {percent_with_stderr(result['pass@1'], result['pass@1_stderr'])}, "
            f"format {100 * result['format_rate']:.1f}%{gsm8k}",
            flush=True,
        )

    pipeline.banner("2/6 evaluating the base model")
    evaluate_and_record("base", base_model, base_seconds)

    def train_and_evaluate(number: int, stage: str, title: str, recipe: str, start: pathlib.Path, fast_overrides):
        """Trains `start` with src/open_r1/<stage>.py, evaluates the checkpoint and returns it."""
        pipeline.banner(f"{number}/6 {title} (src/open_r1/{stage}.py)")
        checkpoint = output_dir / f"{stage}-model"
        log_file = output_dir / "logs" / f"{stage}.log"
        overrides = fast_overrides[model] if fast else ()
        seconds = pipeline.train(f"{stage}.py", recipe, start, data[stage], checkpoint, seed, log_file, *overrides)
        pipeline.banner(f"{number + 1}/6 evaluating the {stage.upper()} model")
        evaluate_and_record(stage, checkpoint, seconds)
        return checkpoint

    sft_model = train_and_evaluate(3, "sft", "cold-start SFT", settings.sft_recipe, base_model, FAST_SFT_OVERRIDES)
    grpo_model = train_and_evaluate(
        5, "grpo", "GRPO from the SFT checkpoint", settings.grpo_recipe, sft_model, FAST_GRPO_OVERRIDES
    )

    grpo_steps = json.loads((grpo_model / "trainer_state.json").read_text())["global_step"]
    checkpoints_started = time.perf_counter()
    on_the_way = evaluate_grpo_checkpoints(grpo_model, grpo_steps, data["test"], output_dir / "evals", seed, settings)
    extra["checkpoint_eval_seconds"] = time.perf_counter() - checkpoints_started
    held_out = [
        held_out_point(0, "SFT", stages["sft"]),
        *on_the_way,
        held_out_point(grpo_steps, "GRPO", stages["grpo"]),
    ]
    curves = grpo_curves(grpo_model / "trainer_state.json", output_dir / "curves.png", held_out)
    provenance = with_end_load(provenance)
    results = {
        "stages": stages,
        "model": model,
        "seed": seed,
        "test_problems": settings.num_test,
        "fast": fast,
        "total_seconds": time.perf_counter() - started,
        "model_parameters": num_parameters,
        "train_problems": settings.num_train,
        "sft_traces": data["num_traces"],
        "sft_flawed_traces": data["num_flawed"],
        "eval_samples": settings.eval_samples,
        "grpo_curves": curves,
        "held_out": held_out,
        **provenance,
        **extra,
    }
    command = pipeline.make_command(
        seed,
        fast,
        *((f"MODEL={model}",) if model != "tiny" else ()),
        output_dir=output_dir,
        default=pipeline.default_output_dir(model, False),
    )
    report = r1_report(results, settings, command)
    pipeline.write_results(output_dir, results, report, results_table(stages), "results.json, report.md, curves.png")
    return results
