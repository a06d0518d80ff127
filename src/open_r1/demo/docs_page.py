"""docs/demo.md, written from the results.json of `make demo` and `make gsm8k` runs rather than typed.

    python scripts/demo_report.py docs/results/demo/*.json --output docs/demo.md   # the measured runs kept there
    python scripts/demo_report.py data/demo-seed*/results.json data/demo_tools/results.json   # print the page

For each model measured: one row per run (seed, date, commit, machine with its load, wall time, held-out pass@1 of
base, SFT and GRPO, the GRPO accuracy-reward curve's first and last fifth, whether the run meets `make demo`'s
targets as `open_r1.demo.report.demo_targets` computes them), then each run's curve by fifths beside the
held-out pass@1 of its checkpoints. The tool miniature's runs (`make demo TOOLS=1`) get a section of their own: both
arms' held-out accuracy per stage and the targets `open_r1.demo.report.tool_demo_targets` computes. `make gsm8k`'s
runs (a run of both arms, or one combined from one-arm runs by `scripts/gsm8k.py --combine`) get one too: each
arm's greedy pass@1 after SFT and GRPO on GSM8K-test, the GPU and its time, and issue 30's goals as
`open_r1.demo.gsm8k_report.gsm8k_targets` computes them, with each run's command. The page depends only on the files
given, so writing it twice gives the same page.
Not covered: FAST runs, whose step counts are not the demo's; they are refused.
"""

import argparse
import json
import pathlib

from open_r1.demo.gsm8k_report import gsm8k_command, gsm8k_targets
from open_r1.demo.pipeline import STAGES
from open_r1.demo.report import (
    CURVE_RISE_TARGET,
    GRPO_GAIN_TARGET,
    SAMPLING,
    TOOL_GAIN_TARGET,
    curve_rise,
    curve_table,
    demo_targets,
    percent_with_stderr,
    read_tool_demo_results,
    tool_demo_targets,
    verdicts_table,
)
from open_r1.demo.settings import GSM8K_ARM_NAMES
from open_r1.usage import ArgumentParser, UsageError, exit_on_usage_error
from open_r1.utils.provenance import read_provenance, utc_time
from open_r1.utils.results_docs import markdown_table

COMMAND = "python scripts/demo_report.py"


TOOL_MINIATURE = "tools"
GSM8K = "gsm8k"


def load_runs(paths: list[pathlib.Path]) -> list[dict]:
    """The runs' results, each with the file it came from; the tool miniature's have model "tools". FAST results
    and files of neither demo are refused."""
    runs = []
    for path in paths:
        if path.resolve() in {pathlib.Path(run["source"]).resolve() for run in runs}:
            raise UsageError(f"{path}: given twice; each run counts once")
        if not path.is_file():
            what = "a folder" if path.is_dir() else "no such file"
            raise UsageError(
                f"{path}: {what}; expected a results.json that `make demo` wrote (data/demo/results.json)"
            )
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UsageError(f"{path}: not JSON ({error}); expected a results.json of `make demo`") from None
        if not isinstance(results, dict):
            raise UsageError(f"{path}: not a results.json of `make demo` or `make demo TOOLS=1`")
        if "tool" in results and "no_tool" in results:
            results = {**read_tool_demo_results(results), "model": TOOL_MINIATURE}
        elif "arms" in results and "card_protocol" in results:
            if set(results["arms"]) != set(GSM8K_ARM_NAMES):
                raise UsageError(
                    f"{path}: a make gsm8k run of one arm, whose goals across arms were not measured; combine it with "
                    "a run of the other arm first (python scripts/gsm8k.py --combine)"
                )
            results = {**results, "model": GSM8K}
        elif "stages" not in results:
            raise UsageError(f"{path}: not a results.json of `make demo`, `make demo TOOLS=1` or `make gsm8k`")
        if results["fast"]:
            raise UsageError(f"{path}: a FAST run (step counts cut to a few), not a measurement")
        runs.append({**results, "source": str(path)})
    return sorted(runs, key=lambda run: (run["model"], run["seed"], run.get("date") or ""))


def machine_cell(run: dict) -> str:
    machine = read_provenance(run)["machine"]
    if machine["cpu"] is None:
        return "not recorded"
    threads = machine["omp_num_threads"]
    return f"{machine['cores']} cores, {machine['cpu']}" + (f", OMP_NUM_THREADS={threads}" if threads else "")


def load_cell(run: dict) -> str:
    """The 1-minute load average before the run and the 5-minute one at its end (about the run's own span, the
    run's own processes included)."""
    machine = read_provenance(run)["machine"]
    before, end = machine["load_average_at_start"], machine["load_average_at_end"]
    if not before or not end:
        return "not recorded"
    return f"{before[0]:.1f} / {end[1]:.1f}"


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):02d} s"


PROVENANCE_HEADER = ["seed", "date (UTC)", "commit", "machine", "load before / during", "wall time"]


def run_cells(run: dict) -> list[str]:
    """A run's seed, date and commit, the first cells of its row in every section."""
    return [
        str(run["seed"]),
        utc_time(run["date"]) if run.get("date") else "not recorded",
        f"`{run['commit']}`" if run.get("commit") else "not recorded",
    ]


def demo_run_cells(run: dict) -> list[str]:
    """Seed, date, commit, machine, load and minutes of one demo run, for its table row."""
    return [
        *run_cells(run),
        machine_cell(run),
        load_cell(run),
        minutes(run["total_seconds"]),
    ]


def verdict_cell(targets: list) -> str:
    missed = [target.name for target in targets if not target.met]
    return "all" if not missed else "**not: " + "; ".join(missed) + "**"


def runs_table(runs: list[dict]) -> str:
    header = [
        *PROVENANCE_HEADER,
        "base",
        "SFT",
        "GRPO",
        "GRPO − SFT",
        "accuracy reward, first → last fifth",
        "targets met",
    ]
    rows = []
    for run in runs:
        stages = run["stages"]
        first, last = curve_rise(run["grpo_curves"]["accuracy_reward"])
        rows.append(
            [
                *demo_run_cells(run),
                *(percent_with_stderr(stages[stage]["pass@1"], stages[stage]["pass@1_stderr"]) for stage in STAGES),
                f"{100 * (stages['grpo']['pass@1'] - stages['sft']['pass@1']):+.1f}",
                f"{first:.3f} → {last:.3f} ({last - first:+.3f})",
                verdict_cell(demo_targets(run)),
            ]
        )
    return markdown_table(header, rows)


def arm_accuracies(arm: dict, stages: tuple[str, ...]) -> str:
    """One tool-miniature arm's held-out accuracy at `stages`, "a / b / c"."""
    return " / ".join(percent_with_stderr(arm[stage]["pass@1"], arm[stage]["pass@1_stderr"]) for stage in stages)


def tool_runs_table(runs: list[dict]) -> str:
    header = [
        *PROVENANCE_HEADER,
        "tool: base / SFT / GRPO",
        "tool-call rate after GRPO",
        "no tool: SFT / GRPO",
        "tool − no tool, after GRPO",
        "targets met",
    ]
    rows = []
    for run in runs:
        tool, no_tool = run["tool"], run["no_tool"]
        rows.append(
            [
                *demo_run_cells(run),
                arm_accuracies(tool, STAGES),
                f"{100 * tool['grpo']['tool_call_rate']:.0f}%",
                arm_accuracies(no_tool, ("sft", "grpo")),
                f"{100 * (tool['grpo']['pass@1'] - no_tool['grpo']['pass@1']):+.1f}",
                verdict_cell(tool_demo_targets(run)),
            ]
        )
    return markdown_table(header, rows)


def tool_section(runs: list[dict]) -> str:
    met = sum(all(target.met for target in tool_demo_targets(run)) for run in runs)
    problems = ", ".join(str(count) for count in sorted({run["test_problems"] for run in runs}))
    return f"""## `make demo TOOLS=1`: {len(runs)} runs, all targets met on {met}

What the tool miniature is meant to show on every seed: after GRPO, the arm that calls python at least {100 * TOOL_GAIN_TARGET:.0f} points
of held-out accuracy above the arm that answers at once, and GRPO at least as accurate as SFT in the tool arm
(`open_r1.demo.report.tool_demo_targets`). Greedy held-out accuracy ± one standard error ({problems} held-out
products of two 3-digit numbers); both arms start from the same base model. Load: the 1-minute load average before
the run and the 5-minute one at its end.

{tool_runs_table(runs)}
"""


def sft_to_grpo(stages: dict | None) -> str:
    """One arm's greedy pass@1 after SFT and after GRPO, "a → b"; "-" for an arm the run has not."""
    if stages is None:
        return "-"
    return " → ".join(
        percent_with_stderr(stages[stage]["greedy_pass@1"], stages[stage]["greedy_pass@1_stderr"])
        for stage in ("sft", "grpo")
    )


def runs_combined(run: dict) -> str:
    """For a combined run (`scripts/gsm8k.py --combine`), the commands of the one-arm runs it was made of: each
    arm's own options (a learning rate given in place of the recipe's, a compiled decode step) show there."""
    commands = [f"`{one['command']}`" for one in run.get("runs", [])]
    return f" of {' and '.join(commands)}" if commands else ""


def gsm8k_section(runs: list[dict]) -> str:
    met = sum(all(target.met for target in gsm8k_targets(run)) for run in runs)
    problems = ", ".join(f"{count:,}" for count in sorted({run["test_problems"] for run in runs}))
    header = ["seed", "date (UTC)", "commit", "GPU", "GPU time"]
    header += [f"{name}: SFT → GRPO" for name in GSM8K_ARM_NAMES.values()] + ["goals met"]
    rows = [
        [
            *run_cells(run),
            run["device"],
            minutes(run["total_seconds"]),
            *(sft_to_grpo(run["arms"].get(arm)) for arm in GSM8K_ARM_NAMES),
            verdict_cell(gsm8k_targets(run)),
        ]
        for run in runs
    ]
    goals = "\n\n".join(
        f"Seed {run['seed']} (`{run['source']}`), `{run.get('command') or gsm8k_command(run)}`{runs_combined(run)}:\n\n"
        + verdicts_table(gsm8k_targets(run), "goal")
        for run in runs
    )
    return f"""## `make gsm8k`: {len(runs)} run{"s" if len(runs) > 1 else ""}, all goals met on {met}

SmolLM2-135M-Instruct trained on GSM8K-train in two arms (docs/gsm8k.md); greedy pass@1 ± one standard error on
{problems} GSM8K-test problems. GPU time: the run's seconds, or the sum of the one-arm runs combined into it
(`scripts/gsm8k.py --combine`); a lease's start and install are not in it. The goals are issue 30's
(`open_r1.demo.gsm8k_report.gsm8k_targets`).

{markdown_table(header, rows)}

Each run's goals, and the command that ran it:

{goals}
"""


def model_section(model: str, runs: list[dict]) -> str:
    met = sum(all(target.met for target in demo_targets(run)) for run in runs)
    test_sets = sorted({(run["test_problems"], run["eval_samples"]) for run in runs})
    evaluation = "; ".join(f"{problems} held-out problems, {samples} samples each" for problems, samples in test_sets)
    curves = "\n\n".join(f"Seed {run['seed']} (`{run['source']}`):\n\n{curve_table(run)}" for run in runs)
    return f"""## `make demo{"" if model == "tiny" else f" MODEL={model}"}`: {len(runs)} runs, all targets met on {met}

Held-out pass@1 ± one standard error ({evaluation}; {SAMPLING}). Load: the 1-minute load
average before the run and the 5-minute one at its end, which covers about the run itself, its own two busy
threads included; a quiet 2-core machine reads below 1 before.

{runs_table(runs)}

Each run's GRPO accuracy-reward curve (on its training prompts) by fifths of its logged steps, beside the held-out
pass@1 of the checkpoints saved within them:

{curves}
"""


def demo_page(runs: list[dict]) -> str:
    """The whole page for `runs` (from `load_runs`)."""
    if not runs:
        raise UsageError("no results.json given")
    models = sorted(
        {run["model"] for run in runs},
        key=lambda model: (model == GSM8K, model == TOOL_MINIATURE, model != "tiny", model),
    )
    sections = []
    for model in models:
        model_runs = [run for run in runs if run["model"] == model]
        if model == GSM8K:
            sections.append(gsm8k_section(model_runs))
        elif model == TOOL_MINIATURE:
            sections.append(tool_section(model_runs))
        else:
            sections.append(model_section(model, model_runs))
    sections_text = "\n".join(sections)
    sources = " ".join(sorted(run["source"] for run in runs))
    return f"""# `make demo`: measured runs

Written by `{COMMAND} {sources}` from the runs' results.json, not typed; measure again, then re-run it.

What `make demo` shows on every seed: SFT above base, GRPO at least {100 * GRPO_GAIN_TARGET:.0f} points of held-out
pass@1 above SFT, and a GRPO accuracy-reward curve that rises (its last fifth of logged steps averages at least
{CURVE_RISE_TARGET:.2f} more than its first fifth). "targets met" is computed from each file by
`open_r1.demo.report.demo_targets`. The SmolLM2 demo's measurements, typed before this page was written by
script, the tool miniature's older ones, and how each demo was tuned: [demo_notes.md](demo_notes.md). `make gsm8k`
(GSM8K itself, with and without a python tool, on a GPU) writes its own: [gsm8k.md](gsm8k.md).

{sections_text}"""


def main(argv: list[str] | None = None) -> None:
    with exit_on_usage_error("demo_report.py"):
        parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument(
            "results", nargs="+", type=pathlib.Path, help="results.json files of `make demo` and `make gsm8k` runs."
        )
        parser.add_argument("--output", type=pathlib.Path, help="Write the page here (default: print it).")
        args = parser.parse_args(argv)
        if args.output and not args.output.parent.is_dir():  # before the runs are read
            raise UsageError(f"--output {args.output}: no folder {args.output.parent} to write it in")
        page = demo_page(load_runs(args.results))
    if args.output:
        args.output.write_text(page, encoding="utf-8")
    else:
        print(page, end="")
