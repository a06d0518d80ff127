"""`make demo TOOLS=1`: tool-integrated reasoning in miniature: the policy calls a sandboxed Python interpreter.

    make demo TOOLS=1 [SEED=1] [FAST=1]     # writes data/demo_tools/{results.json,report.md}
    python scripts/demo_tools.py --seed 1 --output_dir /tmp/demo_tools [--fast]

The task (`open_r1.tasks.tool_arithmetic`): products of two 3-digit numbers, which a tiny model cannot compute
in its head and can compute by calling `python` with `print(a * b)`. Two arms from the same randomly initialised
tiny model (`open_r1.tasks.tiny_model`, tool-calling variant), each through the project's real code paths:

- tool: cold-start SFT on traces that call the tool (src/open_r1/sft.py, recipes/demo/sft/config_tools.yaml),
  then GRPO with `tools: [python]` (src/open_r1/grpo.py, recipes/demo/grpo/config_tools.yaml): every call runs in
  the local sandbox, its result goes back into the context and is masked out of the loss;
- no tool: the same pipeline on traces that answer at once, GRPO with no tool call ever executed
  (`--max_tool_calling_iterations 0`).

Every stage (base, SFT, GRPO) of each arm is evaluated on held-out problems with `open_r1.eval.offline`
(greedy, the tool arm with `--tools python` as it was trained), reporting accuracy (pass@1 ± stderr) and the
tool-call rate. Not covered: vLLM, multi-call reasoning, real models (recipes/Qwen3-1.7B/grpo/config_tools.yaml).
"""

import argparse
import dataclasses
import json
import pathlib
import shutil
import time

from open_r1.data.benchmarks import Problem, build_messages
from open_r1.tasks.tool_arithmetic import (
    DIRECT_SYSTEM_PROMPT,
    TOOL_SYSTEM_PROMPT,
    direct_trace,
    make_splits,
    tool_trace,
)
from open_r1.utils.launch import accelerate_launch

SFT_RECIPE = "recipes/demo/sft/config_tools.yaml"
GRPO_RECIPE = "recipes/demo/grpo/config_tools.yaml"
ARMS = ("tool", "no_tool")
STAGES = ("base", "sft", "grpo")
FAST_SFT_OVERRIDES = ("--max_steps", "20", "--logging_steps", "10")
FAST_GRPO_OVERRIDES = ("--max_steps", "2", "--logging_steps", "1")


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    num_train: int = 3000
    num_test: int = 200
    hidden_size: int = 128
    num_layers: int = 4
    intermediate_size: int = 256
    # Eight full key/value heads (head_dim 16), not the tiny model's 4 query / 2 key-value: the tool arm must copy
    # the operands into the call and the tool's output into the answer, and with 4/2 heads when that copying
    # appeared depended on the seed (seed 0 copied 1 answer in 5 after 1,200 steps; with 8/8 it was exact by 550).
    num_attention_heads: int = 8
    num_key_value_heads: int = 8
    eval_max_new_tokens: int = 48
    eval_batch_size: int = 100


FULL = DemoSettings()
FAST = dataclasses.replace(FULL, num_train=200, num_test=16)


def banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def build_model(folder: pathlib.Path, settings: DemoSettings, seed: int) -> int:
    from open_r1.tasks.tiny_model import TinyModelSpec, build_model, build_tokenizer

    spec = TinyModelSpec(
        hidden_size=settings.hidden_size,
        num_layers=settings.num_layers,
        intermediate_size=settings.intermediate_size,
        num_attention_heads=settings.num_attention_heads,
        num_key_value_heads=settings.num_key_value_heads,
        seed=seed,
        tool_calling=True,
    )
    tokenizer = build_tokenizer(spec)
    model = build_model(tokenizer, spec)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())


def user_prompt(row: dict) -> str:
    return build_messages(Problem(id="", problem=row["problem"], answer=row["answer"]))[-1]["content"]


def build_datasets(folder: pathlib.Path, settings: DemoSettings, seed: int) -> dict:
    from datasets import Dataset, DatasetDict

    train, test = make_splits(settings.num_train, settings.num_test, seed=seed)
    # Train on the user turn exactly as the evaluator writes it (the problem plus its boxed-answer instruction).
    train = [{**row, "problem": user_prompt(row)} for row in train]
    for arm, trace in (("tool", tool_trace), ("no_tool", direct_trace)):
        rows = [{"messages": trace(row)} for row in train]
        DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(folder / f"sft_{arm}"))
    grpo = [{"prompt": row["problem"], "solution": row["solution"]} for row in train]
    DatasetDict({"train": Dataset.from_list(grpo)}).save_to_disk(str(folder / "grpo"))
    test_file = folder / "test.jsonl"
    with test_file.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(test):
            handle.write(
                json.dumps({"id": f"test-{index}", "problem": row["problem"], "answer": row["answer"]}) + "\n"
            )
    return {
        "sft_tool": folder / "sft_tool",
        "sft_no_tool": folder / "sft_no_tool",
        "grpo": folder / "grpo",
        "test": test_file,
    }


def evaluate_stage(model: pathlib.Path, arm: str, test_file: pathlib.Path, output_dir: pathlib.Path, seed, settings):
    """Accuracy (greedy pass@1 ± stderr) and tool-call rate on the held-out problems."""
    from open_r1.eval.arguments import EvaluateArguments
    from open_r1.eval.offline import evaluate

    with_tool = arm == "tool"
    args = EvaluateArguments(
        task="demo_tool_arithmetic",
        data_files=str(test_file),
        output_dir=str(output_dir),
        model=str(model),
        num_samples=1,
        temperature=0.0,
        system_prompt=TOOL_SYSTEM_PROMPT if with_tool else DIRECT_SYSTEM_PROMPT,
        max_new_tokens=settings.eval_max_new_tokens,
        batch_size=settings.eval_batch_size,
        seed=seed,
        device="cpu",
        dtype="float32",
        **({"tools": ["python"], "max_tool_calling_iterations": 2} if with_tool else {}),
    )
    results = evaluate(args)
    details = [json.loads(line) for line in (output_dir / "details.jsonl").open(encoding="utf-8")]
    calls = [
        isinstance(row["completion"], list) and any(m.get("role") == "tool" for m in row["completion"])
        for row in details
    ]
    return {
        "accuracy": results["pass@1"],
        "accuracy_stderr": results["pass@1_stderr"],
        "tool_call_rate": sum(calls) / len(calls) if with_tool else None,
    }


def train_arm(arm: str, base_model: pathlib.Path, data: dict, output_dir: pathlib.Path, seed: int, fast: bool):
    sft_model, grpo_model = output_dir / f"sft-{arm}", output_dir / f"grpo-{arm}"
    started = time.perf_counter()
    accelerate_launch(
        "sft.py",
        SFT_RECIPE,
        *("--model_name_or_path", str(base_model), "--dataset_name", str(data[f"sft_{arm}"])),
        *("--output_dir", str(sft_model), "--seed", str(seed)),
        *(FAST_SFT_OVERRIDES if fast else ()),
        log_file=output_dir / "logs" / f"sft-{arm}.log",
        stream=True,
    )
    sft_seconds = time.perf_counter() - started
    started = time.perf_counter()
    arm_overrides = (
        () if arm == "tool" else ("--max_tool_calling_iterations", "0", "--system_prompt", DIRECT_SYSTEM_PROMPT)
    )
    accelerate_launch(
        "grpo.py",
        GRPO_RECIPE,
        *("--model_name_or_path", str(sft_model), "--dataset_name", str(data["grpo"])),
        *("--output_dir", str(grpo_model), "--seed", str(seed)),
        *arm_overrides,
        *(FAST_GRPO_OVERRIDES if fast else ()),
        log_file=output_dir / "logs" / f"grpo-{arm}.log",
        stream=True,
    )
    return sft_model, grpo_model, {"sft": sft_seconds, "grpo": time.perf_counter() - started}


def grpo_tool_log(trainer_state: pathlib.Path) -> list[dict]:
    """The tool metrics GRPO logged per step (calls per completion, error rate, seconds per call, reward)."""
    history = json.loads(trainer_state.read_text())["log_history"]
    keys = (
        "step",
        "reward",
        "tools/python_calls_per_completion",
        "tools/python_error_rate",
        "tools/python_seconds_per_call",
    )
    return [{key: entry[key] for key in keys if key in entry} for entry in history if "reward" in entry]


def results_table(results: dict) -> str:
    lines = ["| stage | accuracy, tool | tool-call rate | accuracy, no tool | difference |", "|---|---|---|---|---|"]
    for stage in STAGES:
        tool, plain = results["tool"][stage], results["no_tool"][stage]
        lines.append(
            f"| {stage} | {100 * tool['accuracy']:.1f}% ± {100 * tool['accuracy_stderr']:.1f} "
            f"| {100 * tool['tool_call_rate']:.0f}% | {100 * plain['accuracy']:.1f}% ± {100 * plain['accuracy_stderr']:.1f} "
            f"| {100 * (tool['accuracy'] - plain['accuracy']):+.1f} |"
        )
    return "\n".join(lines)


def run(output_dir: pathlib.Path, seed: int, fast: bool) -> dict:
    settings = FAST if fast else FULL
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in ("base-model", "datasets", "evals", "logs", *(f"{s}-{a}" for s in ("sft", "grpo") for a in ARMS)):
        shutil.rmtree(output_dir / name, ignore_errors=True)  # a stale checkpoint would be resumed from
    (output_dir / "logs").mkdir()

    banner(f"building the tiny tool-calling model and the task (seed {seed}{', FAST' if fast else ''})")
    base_model = output_dir / "base-model"
    num_parameters = build_model(base_model, settings, seed)
    data = build_datasets(output_dir / "datasets", settings, seed)
    results: dict = {arm: {} for arm in ARMS}
    seconds: dict = {}
    for arm in ARMS:
        results[arm]["base"] = evaluate_stage(
            base_model, arm, data["test"], output_dir / "evals" / f"base-{arm}", seed, settings
        )
    for arm in ARMS:
        banner(f"{arm}: cold-start SFT, then GRPO")
        sft_model, grpo_model, seconds[arm] = train_arm(arm, base_model, data, output_dir, seed, fast)
        for stage, model in (("sft", sft_model), ("grpo", grpo_model)):
            results[arm][stage] = evaluate_stage(
                model, arm, data["test"], output_dir / "evals" / f"{stage}-{arm}", seed, settings
            )
            print(f"{arm} {stage}: {results[arm][stage]}", flush=True)
    summary = {
        **results,
        "seed": seed,
        "fast": fast,
        "model_parameters": num_parameters,
        "train_problems": settings.num_train,
        "test_problems": settings.num_test,
        "train_seconds": seconds,
        "grpo_tool_log": grpo_tool_log(output_dir / "grpo-tool" / "trainer_state.json"),
        "total_seconds": time.perf_counter() - started,
    }
    (output_dir / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    table = results_table(results)
    command = f"make demo TOOLS=1 SEED={seed}{' FAST=1' if fast else ''}"
    (output_dir / "report.md").write_text(
        f"# Tool-integrated reasoning miniature (seed {seed})\n\n`{command}`: {summary['total_seconds']:.0f} s. "
        f"Products of two 3-digit numbers; a {num_parameters / 1e6:.2f}M-parameter model; {settings.num_train} "
        f"training problems, {settings.num_test} held-out; greedy decoding.\n\n{table}\n",
        encoding="utf-8",
    )
    banner(f"done in {summary['total_seconds']:.0f} s: {output_dir}/results.json, report.md")
    print(table, flush=True)
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the data, the model and training (default 0).")
    parser.add_argument("--output_dir", default="data/demo_tools", help="Where everything is written.")
    parser.add_argument("--fast", action="store_true", help="Tiny step counts: checks the plumbing in about a minute.")
    args = parser.parse_args(argv)
    return run(pathlib.Path(args.output_dir), args.seed, args.fast)


if __name__ == "__main__":
    main()
