"""`make demo TOOLS=1`: tool-integrated reasoning in miniature: the policy calls a sandboxed Python interpreter.

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
tool-call rate; results.json and report.md go to data/demo_tools. Run it with `make demo TOOLS=1` or
`python scripts/demo.py --tools` (see `open_r1.demo.cli`).
Not covered: vLLM, multi-call reasoning, real models (recipes/Qwen3-1.7B/grpo/config_tools.yaml).
"""

import pathlib
import time

from open_r1.data.benchmarks import user_prompt
from open_r1.demo import pipeline
from open_r1.demo.report import percent_with_stderr, tool_report, tool_results_table
from open_r1.demo.settings import (
    TOOLS_FAST,
    TOOLS_FAST_GRPO_OVERRIDES,
    TOOLS_FAST_SFT_OVERRIDES,
    TOOLS_FULL,
    ToolDemoSettings,
)
from open_r1.eval.arguments import recipe_tool_settings
from open_r1.tasks.tool_arithmetic import (
    DIRECT_SYSTEM_PROMPT,
    TOOL_SYSTEM_PROMPT,
    direct_trace,
    make_splits,
    tool_trace,
)
from open_r1.tools.rollout import tool_call_rate
from open_r1.usage import read_recipe
from open_r1.utils.provenance import provenance_record, with_end_load

ARMS = ("tool", "no_tool")
GRPO_TOOL_METRICS = (
    "step",
    "reward",
    "tools/python_calls_per_completion",
    "tools/python_error_rate",
    "tools/python_seconds_per_call",
    "tools/python_budget_used_max",
    "tools/python_budget_exhausted_rate",
)


def build_datasets(folder: pathlib.Path, settings: ToolDemoSettings, seed: int) -> dict:
    """Each arm's SFT conversations, the GRPO prompts both arms share and the held-out test JSONL."""
    train_rows, test_rows = make_splits(settings.num_train, settings.num_test, seed=seed)
    # Train on the user turn exactly as the evaluator writes it (the problem plus its boxed-answer instruction).
    train_rows = [{**row, "problem": user_prompt(row["problem"])} for row in train_rows]
    data = {
        f"sft_{arm}": pipeline.save_train_split(
            folder / f"sft_{arm}", [{"messages": trace(row)} for row in train_rows]
        )
        for arm, trace in (("tool", tool_trace), ("no_tool", direct_trace))
    }
    grpo = [{"prompt": row["problem"], "solution": row["solution"]} for row in train_rows]
    data["grpo"] = pipeline.save_train_split(folder / "grpo", grpo)
    data["test"] = pipeline.write_test_file(folder / "test.jsonl", test_rows)
    return data


def evaluate_stage(
    model: pathlib.Path,
    arm: str,
    stage: str,
    test_file: pathlib.Path,
    output_dir: pathlib.Path,
    seed: int,
    settings: ToolDemoSettings,
) -> dict:
    """Accuracy (greedy pass@1 ± stderr) and tool-call rate on the held-out problems (details under
    output_dir/evals/<stage>-<arm>), within the GRPO recipe's token budget and tool-call rounds, as it trains."""
    with_tool = arm == "tool"
    grpo = read_recipe(str(pipeline.REPO_ROOT / settings.grpo_recipe))
    results, details = pipeline.run_evaluator(
        model,
        "demo_tool_arithmetic",
        test_file,
        output_dir / "evals" / f"{stage}-{arm}",
        label=f"{arm} {stage}",
        num_samples=1,
        temperature=0.0,
        system_prompt=TOOL_SYSTEM_PROMPT if with_tool else DIRECT_SYSTEM_PROMPT,
        max_new_tokens=grpo["max_completion_length"],
        batch_size=settings.eval_batch_size,
        seed=seed,
        **(recipe_tool_settings(grpo) if with_tool else {}),
    )
    return {
        "pass@1": results["pass@1"],
        "pass@1_stderr": results["pass@1_stderr"],
        "tool_call_rate": tool_call_rate([row["completion"] for row in details]) if with_tool else None,
    }


def stage_line(result: dict) -> str:
    """One stage's results as the plain demo prints its own: pass@1 ± stderr, and the tool-call rate where tools were
    offered."""
    line = f"pass@1 {percent_with_stderr(result['pass@1'], result['pass@1_stderr'])}"
    rate = result["tool_call_rate"]
    return line if rate is None else f"{line}, tool calls {100 * rate:.1f}%"


def train_arm(
    arm: str,
    base_model: pathlib.Path,
    data: dict,
    output_dir: pathlib.Path,
    seed: int,
    settings: ToolDemoSettings,
    fast: bool,
) -> tuple[pathlib.Path, pathlib.Path, dict]:
    """Cold-start SFT then GRPO for one arm; returns both checkpoints and the seconds each stage took."""
    sft_model, grpo_model = output_dir / f"sft-{arm}", output_dir / f"grpo-{arm}"
    sft_overrides = TOOLS_FAST_SFT_OVERRIDES if fast else ()
    # The no-tool arm: no call is ever executed, and the prompt asks for the answer at once.
    arm_overrides = (
        () if arm == "tool" else ("--max_tool_calling_iterations", "0", "--system_prompt", DIRECT_SYSTEM_PROMPT)
    )
    grpo_overrides = (*arm_overrides, *(TOOLS_FAST_GRPO_OVERRIDES if fast else ()))
    sft_log, grpo_log = output_dir / "logs" / f"sft-{arm}.log", output_dir / "logs" / f"grpo-{arm}.log"
    sft_seconds = pipeline.train(
        "sft.py", settings.sft_recipe, base_model, data[f"sft_{arm}"], sft_model, seed, sft_log, *sft_overrides
    )
    grpo_seconds = pipeline.train(
        "grpo.py", settings.grpo_recipe, sft_model, data["grpo"], grpo_model, seed, grpo_log, *grpo_overrides
    )
    return sft_model, grpo_model, {"sft": sft_seconds, "grpo": grpo_seconds}


def grpo_tool_log(trainer_state: pathlib.Path) -> list[dict]:
    """The tool metrics GRPO logged per step (calls per completion, error rate, seconds per call, reward)."""
    return [
        {key: entry[key] for key in GRPO_TOOL_METRICS if key in entry} for entry in pipeline.reward_log(trainer_state)
    ]


def run(output_dir: pathlib.Path, seed: int, fast: bool) -> dict:
    settings = TOOLS_FAST if fast else TOOLS_FULL
    started = time.perf_counter()
    provenance = provenance_record()
    pipeline.prepare_output_dir(output_dir, [f"{stage}-{arm}" for stage in ("sft", "grpo") for arm in ARMS])

    pipeline.banner(f"building the tiny tool-calling model and the task (seed {seed}{', FAST' if fast else ''})")
    base_model = output_dir / "base-model"
    num_parameters = pipeline.build_tiny_model(base_model, settings.tiny_model, seed)
    data = build_datasets(output_dir / "datasets", settings, seed)
    results: dict = {arm: {} for arm in ARMS}
    seconds: dict = {}
    for arm in ARMS:
        results[arm]["base"] = evaluate_stage(base_model, arm, "base", data["test"], output_dir, seed, settings)
    for arm in ARMS:
        pipeline.banner(f"{arm}: cold-start SFT, then GRPO")
        sft_model, grpo_model, seconds[arm] = train_arm(arm, base_model, data, output_dir, seed, settings, fast)
        for stage, model in (("sft", sft_model), ("grpo", grpo_model)):
            results[arm][stage] = evaluate_stage(model, arm, stage, data["test"], output_dir, seed, settings)
            print(f"{arm} {stage}: {stage_line(results[arm][stage])}", flush=True)
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
        **with_end_load(provenance),
    }
    report = tool_report(
        summary,
        settings,
        pipeline.make_command(
            seed, fast, "TOOLS=1", output_dir=output_dir, default=pipeline.default_output_dir("tiny", True)
        ),
    )
    pipeline.write_results(output_dir, summary, report, tool_results_table(summary), "results.json, report.md")
    return summary
