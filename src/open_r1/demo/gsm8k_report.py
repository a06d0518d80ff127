"""`make gsm8k`'s tables, goals and report, from its results.json or, for a run cut short, its evaluations alone.

    from open_r1.demo.gsm8k_report import gsm8k_report, gsm8k_targets
    gsm8k_report(results, command)          # report.md: both arms' table, the published numbers, the goals
    gsm8k_evaluations_table(output_dir)     # what `scripts/gsm8k.py --evaluations_table` prints
    gsm8k_evaluations_goals(output_dir)     # and the goals those evaluations show
    gsm8k_evaluations_repetition_table(kept_greedy_details(output_dir))  # their greedy completions that repeat a line

- `gsm8k_targets`: issue 30's goals, computed from results.json (the card's score within 2 standard errors, GRPO
  at least 2 points above SFT in each arm, the tool arm after GRPO above nanochat d20's 7.58% and at least 3 points
  above the chain of thought, both arms within 30 minutes of one GPU), beside `PUBLISHED_GSM8K`; the GRPO goal with
  its change paired by problem where both greedy evaluations kept their details (`greedy_change`,
  `arm_greedy_change`, `arm_greedy_details`).
- `gsm8k_table`, `gsm8k_calculations_table` (the tables of `open_r1.demo.gsm8k_calculations`: greedy pass@1 by
  calculations in the worked solution, the calculations written out beside the worked solutions', the same problem
  by problem from SFT to GRPO), `gsm8k_repetition_table` (`open_r1.demo.gsm8k_repetition`: the greedy completions
  that repeat a line, cut at the token budget or ended), the report's lines (GRPO prompts, the card's protocol, the
  runs a combined results.json was made of) and `gsm8k_command` (a run's `make gsm8k` command line, from its
  results).
Not covered: computing the numbers (`open_r1.demo.gsm8k` runs the arms; `open_r1.demo.gsm8k_combine` reads one-arm
runs as one); the report's lines on how GRPO trained (`open_r1.demo.gsm8k_training_report`); `make demo`'s own
reports (`open_r1.demo.report`, whose helpers this uses).
"""

import json
import math
import pathlib

from open_r1.demo.gsm8k_calculations import calculations_tables, paired_verdicts
from open_r1.demo.gsm8k_repetition import repetition_counts, repetition_table
from open_r1.demo.gsm8k_training_report import (
    clipped_line,
    groups_line,
    grpo_generation,
    grpo_recipe_overrides_note,
    grpo_step_time_line,
    grpo_steps_line,
)
from open_r1.demo.pipeline import STAGES
from open_r1.demo.report import (
    ROUNDING_SLACK,
    Target,
    machine_note,
    model_description,
    percent_with_stderr,
    verdicts_table,
)
from open_r1.demo.settings import GSM8K_ARM_NAMES, DemoSettings
from open_r1.eval.arguments import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from open_r1.eval.offline import read_details
from open_r1.usage import UsageError
from open_r1.utils.decoding_tally import fit_call_prices
from open_r1.utils.provenance import utc_time
from open_r1.utils.results_docs import markdown_table

# GSM8K numbers published beside which `make gsm8k` reads (pass@1 on all 1,319 test problems).
SMOLLM2_CARD_GSM8K = 0.014  # 5-shot, which the base model under the card's protocol should reproduce within 2 SE
NANOCHAT_D20_SFT_GSM8K = 0.0455
NANOCHAT_D20_RL_GSM8K = 0.0758
PUBLISHED_GSM8K = (
    ("SmolLM2-135M-Instruct, its model card (5-shot, lighteval)", SMOLLM2_CARD_GSM8K),
    ("nanochat d20 (561M parameters) after SFT", NANOCHAT_D20_SFT_GSM8K),
    ("nanochat d20 (561M parameters) after RL, with a calculator tool", NANOCHAT_D20_RL_GSM8K),
)
# `make gsm8k`'s goals (issue 30), on greedy pass@1: the tool arm after GRPO above nanochat d20 after RL, the tool
# arm at least 3 points above the chain-of-thought arm, GRPO at least 2 points above SFT in each arm.
GSM8K_TOOL_GRPO_TARGET = NANOCHAT_D20_RL_GSM8K
GSM8K_TOOL_OVER_COT_TARGET = 0.03
GSM8K_GRPO_OVER_SFT_TARGET = 0.02
# And both arms, every stage trained and evaluated, within 30 minutes of one GPU's time.
GSM8K_GPU_MINUTES_TARGET = 30
CARD_AGREEMENT_STDERRS = 2


def card_agreement(card_protocol: dict, problems: int) -> tuple[float, float]:
    """The card-protocol score's distance from the card's, in points and in standard errors: ours, or where ours is
    0 (no problem solved) the card value's at the same number of problems."""
    stderr = card_protocol["pass@1_stderr"] or math.sqrt(SMOLLM2_CARD_GSM8K * (1 - SMOLLM2_CARD_GSM8K) / problems)
    difference = card_protocol["pass@1"] - SMOLLM2_CARD_GSM8K
    return difference, abs(difference) / stderr


def gsm8k_targets(results: dict) -> list[Target]:
    """`make gsm8k`'s goals that the arms run can show, from `results` alone (greedy pass@1 after each stage)."""
    greedy = {
        arm: {stage: values["greedy_pass@1"] for stage, values in stages.items()}
        for arm, stages in results["arms"].items()
    }
    targets = []
    if "card_protocol" in results:
        card = results["card_protocol"]
        difference, stderrs = card_agreement(card, results["test_problems"])
        targets.append(
            Target(
                f"base model, the card's {card['shots']}-shot protocol: the card's "
                f"{100 * SMOLLM2_CARD_GSM8K:.1f}% within {CARD_AGREEMENT_STDERRS} standard errors",
                f"{percent_with_stderr(card['pass@1'], card['pass@1_stderr'])} ({100 * difference:+.1f} points, "
                f"{stderrs:.1f} SE)",
                stderrs <= CARD_AGREEMENT_STDERRS,
            )
        )
    for arm, passes in greedy.items():
        gain = passes["grpo"] - passes["sft"]
        change = results["arms"][arm]["grpo"].get("greedy_change_from_sft")
        targets.append(
            Target(
                f"{GSM8K_ARM_NAMES[arm]}: GRPO ≥ SFT + {100 * GSM8K_GRPO_OVER_SFT_TARGET:.0f} points",
                f"{100 * passes['sft']:.1f}% → {100 * passes['grpo']:.1f}% ({100 * gain:+.1f}{change_cell(change)})",
                gain >= GSM8K_GRPO_OVER_SFT_TARGET - ROUNDING_SLACK,
            )
        )
    if "tools" in greedy:
        tool = greedy["tools"]["grpo"]
        targets.append(
            Target(
                f"python tool after GRPO > nanochat d20 after RL ({100 * GSM8K_TOOL_GRPO_TARGET:.2f}%)",
                f"{100 * tool:.1f}%",
                tool > GSM8K_TOOL_GRPO_TARGET,
            )
        )
    if {"tools", "cot"} <= set(greedy):
        lead = greedy["tools"]["grpo"] - greedy["cot"]["grpo"]
        targets.append(
            Target(
                f"after GRPO, python tool ≥ chain of thought + {100 * GSM8K_TOOL_OVER_COT_TARGET:.0f} points",
                f"{100 * greedy['cot']['grpo']:.1f}% → {100 * greedy['tools']['grpo']:.1f}% ({100 * lead:+.1f})",
                lead >= GSM8K_TOOL_OVER_COT_TARGET - ROUNDING_SLACK,
            )
        )
        # A run's time on a GPU; evaluations read from a folder (`gsm8k_evaluations_goals`) have none.
        if results.get("total_seconds") is not None and results.get("device", "CPU") != "CPU":
            targets.append(gpu_time_target(results))
    return targets


def greedy_change(before: list[dict] | None, after: list[dict] | None) -> dict | None:
    """How greedy pass@1 changed between two evaluations of the same problems (`paired_verdicts`): the problems each
    solved that the other did not, and the standard error of the difference in pass@1 paired by problem, which
    counts only the problems whose verdict changed. None where they do not pair."""
    verdicts = paired_verdicts(before, after)
    if verdicts is None:
        return None
    problems = len(verdicts)
    gained = sum(after and not before for before, after in verdicts.values())
    lost = sum(before and not after for before, after in verdicts.values())
    variance = (gained + lost - (gained - lost) ** 2 / problems) / (problems - 1)
    return {"problems": problems, "gained": gained, "lost": lost, "stderr": math.sqrt(variance / problems)}


def arm_greedy_details(output_dir: pathlib.Path, arm: str, stages: dict) -> tuple[list | None, list | None]:
    """The greedy details of one arm's SFT and GRPO models in the run in `output_dir` (`stages`: its results), each
    read from the run that evaluated it: this one, or the one a stage's `reused_from` names (`--reuse_sft`)."""
    return tuple(
        read_details(pathlib.Path(stages[stage].get("reused_from") or output_dir) / "evals" / f"{stage}-{arm}-greedy")
        for stage in ("sft", "grpo")
    )


def arm_greedy_change(output_dir: pathlib.Path, arm: str, stages: dict) -> dict | None:
    """`greedy_change` from SFT to GRPO of one arm of the run in `output_dir` (`arm_greedy_details`)."""
    return greedy_change(*arm_greedy_details(output_dir, arm, stages))


def change_cell(change: dict | None) -> str:
    """`greedy_change` as the GRPO goal's cell words it ("" without one)."""
    if change is None:
        return ""
    return f" ± {100 * change['stderr']:.1f} paired: {change['gained']} problems gained, {change['lost']} lost"


def gpu_time_target(results: dict) -> Target:
    """Both arms within `GSM8K_GPU_MINUTES_TARGET` minutes of one GPU: the run's seconds, or the sum of the runs'
    that were combined (`open_r1.demo.gsm8k_combine`); a lease's start and install are not in them."""
    minutes = results["total_seconds"] / 60
    runs = results.get("runs")
    counted = [f"{len(runs)} runs, one after the other" if runs else "one run"]
    if runs and len({run["device"] for run in runs}) > 1:
        counted.append(f"on {results['device']}")
    if results.get("base_reused_from"):
        counted.append(f"the base evaluations from {results['base_reused_from']}, not counted")
    if results.get("sft_reused_from"):
        seconds = results.get("sft_reused_seconds")
        spent = f" ({seconds:.0f} s)" if isinstance(seconds, (int, float)) else ""
        counted.append(f"the SFT evaluations from {results['sft_reused_from']}{spent}, not counted")
    return Target(
        f"both arms within {GSM8K_GPU_MINUTES_TARGET} minutes of one GPU (a lease's start and install not counted)",
        f"{minutes:.1f} min ({'; '.join(counted)})",
        minutes <= GSM8K_GPU_MINUTES_TARGET,
    )


def gsm8k_table(results: dict) -> str:
    header = ["arm", "stage", "greedy pass@1", f"pass@1, {results['eval_samples']} samples", "tool-call rate"]
    header += ["out of tokens", "train time", "eval time"]
    rows = []
    for arm, stages in results["arms"].items():
        for stage in STAGES:
            values = stages[stage]
            rate, cut = values["tool_call_rate"], values.get("out_of_tokens_rate")
            rows.append(
                [
                    GSM8K_ARM_NAMES[arm],
                    stage,
                    percent_with_stderr(values["greedy_pass@1"], values["greedy_pass@1_stderr"]),
                    percent_with_stderr(values["sampled_pass@1"], values["sampled_pass@1_stderr"]),
                    "-" if rate is None else f"{100 * rate:.0f}%",
                    "-" if cut is None else f"{100 * cut:.1f}%",
                    f"{values['train_seconds']:.0f} s",
                    "earlier run" if "reused_from" in values else f"{values['eval_seconds']:.0f} s",
                ]
            )
    return markdown_table(header, rows)


def gsm8k_calculations_table(results: dict) -> str:
    """The report's greedy pass@1 of each arm and stage by calculations in the worked solution, the calculations
    their completions wrote out where counted, and the same problem by problem from SFT to GRPO where paired
    (`calculations_tables`), each naming what it could not count or pair ("" when no stage kept its details, as
    a base taken from an earlier run's docs/results may not)."""
    rows = [
        ([GSM8K_ARM_NAMES[arm], stage], values["by_calculations"]["greedy"])
        for arm, stages in results["arms"].items()
        for stage in STAGES
        if (values := stages[stage]).get("by_calculations") and "greedy" in values["by_calculations"]
    ]
    if not rows:
        return ""
    paired = [
        (GSM8K_ARM_NAMES[arm], stages["grpo"]["written_by_outcome"])
        for arm, stages in results["arms"].items()
        if stages["grpo"].get("written_by_outcome")
    ]
    unpaired = [
        GSM8K_ARM_NAMES[arm] for arm, stages in results["arms"].items() if not stages["grpo"].get("written_by_outcome")
    ]
    return (
        "Greedy pass@1 by calculations in the problem's GSM8K worked solution (its calculator annotations), the "
        "difficulty GRPO's prompts are chosen by:\n\n"
        + calculations_tables(["arm", "stage"], rows, paired, unpaired)
        + "\n\n"
    )


def gsm8k_repetition_table(results: dict) -> str:
    """The report's greedy completions that repeat a line, cut at the token budget or ended, of each arm and stage
    (`repetition_table`), naming those evaluated before the count ("" when no stage kept its details)."""
    rows, uncounted = [], []
    for arm, stages in results["arms"].items():
        for stage in STAGES:
            values = stages[stage]
            if values.get("by_calculations") and "greedy" in values["by_calculations"]:  # its details were at hand
                counts = (values.get("repetition") or {}).get("greedy")
                if counts is None:
                    uncounted.append(f"{GSM8K_ARM_NAMES[arm]} {stage}")
                else:
                    rows.append(([GSM8K_ARM_NAMES[arm], stage], counts))
    why = (
        "results.json written before the count, or details without the evaluator's finish reasons "
        "(`python scripts/gsm8k.py --evaluations_table <its run>` counts a run's kept details that have them)"
    )
    table = repetition_table(["arm", "stage"], rows, uncounted, why)
    return f"{table}\n\n" if table else ""


def evaluation_results(output_dir: pathlib.Path, name: str) -> dict | None:
    """The evaluator's results.json of evaluation `name` of a run (`output_dir`/evals/<name>), None where absent."""
    path = output_dir / "evals" / name / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def kept_greedy_details(output_dir: pathlib.Path) -> dict[tuple[str, str], list[dict]]:
    """(stage, arm) -> the details of each greedy evaluation a run (finished or not) kept under `output_dir`/evals,
    in stage then arm order: read once for every table `--evaluations_table` breaks them down in."""
    return {
        (stage, arm): details
        for stage in STAGES
        for arm in GSM8K_ARM_NAMES
        if (details := read_details(output_dir / "evals" / f"{stage}-{arm}-greedy")) is not None
    }


def gsm8k_evaluations_repetition_table(greedy: dict[tuple[str, str], list[dict]]) -> str:
    """`repetition_table` of a run's kept greedy details (`kept_greedy_details`), naming the evaluations whose
    details predate the finish reasons ("" when none kept details)."""
    rows, uncounted = [], []
    for (stage, arm), details in greedy.items():
        counts = repetition_counts(details)
        if counts is None:
            uncounted.append(f"{stage} {GSM8K_ARM_NAMES[arm]}")
        else:
            rows.append(([stage, GSM8K_ARM_NAMES[arm]], counts))
    return repetition_table(["stage", "arm"], rows, uncounted, "their details have no finish reasons")


def gsm8k_evaluations_table(output_dir: pathlib.Path) -> str:
    """The evaluations a `make gsm8k` run wrote under `output_dir`/evals, finished or not: each stage, arm and kind
    with its pass@1 ± stderr, samples and problems (a run cut short still gives its numbers), and the share of its
    completions that ran out of tokens and what its generation decoded (`generation_cell`), each where the evaluator
    recorded it (a column only then)."""
    header = ["stage", "arm", "decoding", "pass@1", "samples", "problems", "out of tokens", "generation"]
    rows = []
    for stage in STAGES:
        for arm in ("card", *GSM8K_ARM_NAMES):
            for kind in ("card",) if arm == "card" else ("greedy", "sampled"):
                results = evaluation_results(output_dir, f"{stage}-card" if arm == "card" else f"{stage}-{arm}-{kind}")
                if results is None:
                    continue
                rows.append(
                    [
                        stage,
                        "5-shot, the model card's protocol" if arm == "card" else GSM8K_ARM_NAMES[arm],
                        "greedy"
                        if kind != "sampled"
                        else f"sampled (temperature {results['settings']['temperature']})",
                        percent_with_stderr(results["pass@1"], results["pass@1_stderr"]),
                        str(results["num_samples"]),
                        f"{results['num_problems']:,}",
                        out_of_tokens_cell(results.get("finish_reasons")),
                        generation_cell(results.get("decoding")),
                    ]
                )
    recorded = [index for index in range(len(header)) if index < 6 or any(row[index] != "-" for row in rows)]
    return markdown_table([header[i] for i in recorded], [[row[i] for i in recorded] for row in rows])


def gsm8k_evaluations_goals(output_dir: pathlib.Path) -> str:
    """The goals (`gsm8k_targets`) that the evaluations under `output_dir`/evals show, for a run cut short or
    finished by hand: the card's protocol where evaluated, each arm's where both its SFT and GRPO models were
    evaluated greedily, the goals across arms where both were; "" where none. The time goal needs a results.json."""

    arms, problems = {}, set()
    for arm in GSM8K_ARM_NAMES:
        greedy = {stage: evaluation_results(output_dir, f"{stage}-{arm}-greedy") for stage in ("sft", "grpo")}
        if all(greedy.values()):
            arms[arm] = {
                stage: {"greedy_pass@1": values["pass@1"], "greedy_pass@1_stderr": values["pass@1_stderr"]}
                for stage, values in greedy.items()
            }
            arms[arm]["grpo"]["greedy_change_from_sft"] = arm_greedy_change(output_dir, arm, arms[arm])
            problems |= {values["num_problems"] for values in greedy.values()}
    results = {"arms": arms}
    card = evaluation_results(output_dir, "base-card")
    if card is not None:
        results["card_protocol"] = {
            "pass@1": card["pass@1"],
            "pass@1_stderr": card["pass@1_stderr"],
            "shots": card["settings"]["num_fewshot"],
        }
        problems.add(card["num_problems"])
    if len(problems) > 1:
        raise UsageError(f"{output_dir}/evals: evaluations of {sorted(problems)} problems; goals compare one test set")
    if not arms and card is None:
        return ""
    targets = gsm8k_targets({**results, "test_problems": problems.pop()})
    return verdicts_table(targets, "goal")


def generation_cell(decoding: dict | None) -> str:
    """An evaluation's generate calls, decode steps, time per decode step and the context tokens its calls read, and
    a call's price fitted to its calls where they tell it (`open_r1.utils.decoding_tally`; evaluations before
    2026-11-26 counted neither), the most GPU memory it reserved, and how often a batch ran out of GPU memory and
    went again in halves."""
    if not decoding or not decoding["decode_steps"]:
        return "-"
    per_step = 1000 * decoding["seconds"] / decoding["decode_steps"]
    cell = f"{decoding['calls']} calls, {decoding['decode_steps']:,} decode steps, {per_step:.1f} ms each"
    if decoding.get("context_tokens"):
        cell += f", {decoding['context_tokens']:,} context tokens read"
    prices = fit_call_prices(decoding.get("call_timings") or [])
    if prices:
        cell += (
            f" (fitted to its calls: {prices['ms_per_decode_step']:.1f} ms per decode step, "
            f"{prices['ms_per_1k_context_tokens']:,.1f} ms per 1,000 context tokens, R² {prices['r_squared']:.2f})"
        )
    if decoding.get("gpu_memory_reserved_peak_gib") is not None:
        cell += f", at most {decoding['gpu_memory_reserved_peak_gib']:.1f} GiB of GPU memory reserved"
    if decoding.get("out_of_memory_splits"):
        cell += (
            f"; out of GPU memory, a batch went again in halves {decoding['out_of_memory_splits']} times "
            f"({decoding.get('out_of_memory_seconds', 0):.0f} s in the calls that failed)"
        )
    return cell


def out_of_tokens_share(*finish_reasons: dict | None) -> float | None:
    """The share of the completions of one or more evaluations that ran out of tokens before they ended, from their
    results.json's `finish_reasons` counts; None when one of them did not record it (an evaluator before it did)."""
    if not finish_reasons or not all(finish_reasons):
        return None
    return sum(counts["length"] for counts in finish_reasons) / sum(sum(counts.values()) for counts in finish_reasons)


def out_of_tokens_cell(finish_reasons: dict | None) -> str:
    """An evaluation's share of completions cut by its token budget, "-" when not recorded."""
    share = out_of_tokens_share(finish_reasons)
    return "-" if share is None else f"{100 * share:.1f}%"


def card_line(results: dict) -> str:
    """The report's line on the base model under its card's protocol, where the run measured it."""
    card = results.get("card_protocol")
    if card is None:
        return ""
    seconds = "measured by an earlier run" if "reused_from" in card else f"{card['eval_seconds']:.0f} s"
    return (
        f"- **The model card's protocol** (docs/gsm8k_fidelity.md): the base model with {card['shots']} worked "
        f"solutions from `{card['shots_from']}` before each problem, `Question: ...\\nAnswer:`, greedy, at most "
        f"{card['max_new_tokens']} new tokens, the number after `####` matched: "
        f"{percent_with_stderr(card['pass@1'], card['pass@1_stderr'])} against the card's "
        f"{100 * SMOLLM2_CARD_GSM8K:.1f}% "
        f"({seconds}). Our copy of the model is 4-bit quantised; "
        "the arms' numbers above are 0-shot with each arm's own prompt.\n"
    )


# The conversion's fields that say which rows GRPO prompts with (`--grpo_max_calculations`), not how SFT's traces
# were made: a training choice of each arm's GRPO, which reused SFT evaluations and combined runs may differ in.
GRPO_PROMPT_FIELDS = ("grpo_prompts", "grpo_max_calculations")


def grpo_prompts_phrase(fields: dict) -> str:
    """Which rows GRPO prompted with, from a run's GRPO_PROMPT_FIELDS."""
    limit = fields["grpo_max_calculations"]
    if limit is None:
        return f"all {fields['grpo_prompts']} rows"
    return (
        f"the {fields['grpo_prompts']} rows whose worked solution has at most {limit} "
        "calculations (`GSM8KSettings.grpo_max_calculations`, `--grpo_max_calculations`)"
    )


def grpo_prompts_line(conversion: dict, by_arm: dict | None = None) -> str:
    """The report's GRPO prompts: the conversion's, or in a combined run whose arms chose them differently, each
    arm's (`by_arm`: arm -> its GRPO_PROMPT_FIELDS)."""
    if by_arm:
        return (
            "; ".join(f"{GSM8K_ARM_NAMES[arm]}: {grpo_prompts_phrase(fields)}" for arm, fields in by_arm.items()) + "."
        )
    return grpo_prompts_phrase(conversion) + "."


def gsm8k_command(results: dict) -> str:
    """The `make gsm8k` command line of a run, from its results.json."""
    arms = list(results["arms"])
    budget, steps = results.get("time_budget_minutes"), results.get("grpo_max_steps")
    return " ".join(
        [
            "make gsm8k",
            f"ARM={'both' if len(arms) > 1 else arms[0]}",
            f"SEED={results['seed']}",
            *(["FAST=1"] if results["fast"] else []),
            # Runs from before VLLM=1 existed recorded no generation: they generated with transformers.
            *(["VLLM=1"] if results.get("grpo_generation", "transformers").startswith("vLLM") else []),
            *(["COMPILE=1"] if "compiled" in results.get("grpo_generation", "") else []),
            *(["COMPILE_DECODING=1"] if results.get("compile_decoding") else []),
            *([f"MINUTES={budget:g}"] if budget is not None else []),
            *([f"GRPO_STEPS={steps}"] if steps is not None else []),
            *([f"GRPO_LR={results['grpo_learning_rate']!r}"] if results.get("grpo_learning_rate") is not None else []),
            *(
                [f"GRPO_GENERATIONS={results['grpo_num_generations']}"]
                if results.get("grpo_num_generations") is not None
                else []
            ),
            *(
                [f"GRPO_CALCULATIONS={results['grpo_max_calculations']}"]
                if results.get("grpo_max_calculations") is not None
                else []
            ),
        ]
    )


def commit_at_end_note(run: dict) -> str:
    """ " ({commit} at the end)" for a run whose checkout changed while it ran (its later stages, launched as new
    processes, may have run that code); "" otherwise or where not recorded."""
    at_end = run.get("commit_at_end")
    return f" ({at_end} at the end)" if at_end is not None and at_end != run.get("commit") else ""


def combined_runs_line(results: dict) -> str:
    """The report's line on the runs a combined results.json (`open_r1.demo.gsm8k_combine`) was made of."""
    runs = results.get("runs")
    if not runs:
        return ""
    described = "; ".join(
        f"`{run['command']}` ({' and '.join(GSM8K_ARM_NAMES[arm] for arm in run['arms'])}: "
        f"{utc_time(run['date']) if run['date'] else 'date not recorded'}, "
        f"commit {run['commit'] or 'unknown'}{commit_at_end_note(run)}, {run['device']}, {run['total_seconds']:.0f} s, "
        f"`{run['source']}`)"
        for run in runs
    )
    return f"- **Runs**: {len(runs)}, one arm each, their seconds summed above: {described}.\n"


def gsm8k_report(results: dict, command: str) -> str:
    """report.md of `make gsm8k`: both arms' table, the published numbers, the goals, the data and the curves."""
    fast_note = (
        "FAST: a few rows and steps, short completions and a few test problems: a check that every stage runs, "
        "not a measurement; the goals are not expected to hold.\n\n"
        if results["fast"]
        else ""
    )
    conversion = results["conversion"]
    malformed = conversion["malformed_annotations"]
    left_out = ", their rows left out of SFT (kept as GRPO prompts)" if malformed else ""
    listed = "".join(
        f"\n  - row {item['row_id']}, annotation {item['index']} `{item['annotation']}`: {item['reason']}"
        for item in malformed[:20]
    )
    published = markdown_table(
        ["published", "GSM8K"], [[name, f"{100 * value:.2f}%"] for name, value in PUBLISHED_GSM8K]
    )
    curves = ", ".join(f"`curves-{arm}.png` ({GSM8K_ARM_NAMES[arm]})" for arm in results["arms"])
    goals = verdicts_table(gsm8k_targets(results), "goal")
    return f"""# make gsm8k: the R1 recipe on GSM8K, SmolLM2-135M-Instruct

`{command}` (seed {results["seed"]}, {results["total_seconds"]:.0f} s in total on {results["device"]}\
{machine_note(results)})

{gsm8k_table(results)}

{gsm8k_calculations_table(results)}{gsm8k_repetition_table(results)}{fast_note}{goals}

{published}

Greedy pass@1: one completion per problem at temperature 0; pass@1, {results["eval_samples"]} samples: the mean \
share of correct samples at temperature {DEFAULT_TEMPERATURE}, top_p {DEFAULT_TOP_P}; both on {results["test_problems"]} GSM8K-test \
problems (`{results["test_file"]}`), graded by math-verify as `accuracy_reward` grades, ± one standard error over \
problems; the published numbers are greedy on all 1,319. Tool-call rate: share of the completions that called \
python. At most {", ".join(f"{tokens} ({GSM8K_ARM_NAMES[arm]})" for arm, tokens in results["eval_max_new_tokens"].items())} \
new tokens per completion, tool turns included; out of tokens: share of the completions (greedy and sampled) \
cut there before they ended.

- **Arms**: chain of thought: GSM8K-train's worked solutions as `<think>` steps and a boxed answer; python tool: \
the same solutions with each calculator annotation a call of the sandboxed python tool, evaluated with the tool \
(`open_r1.tasks.gsm8k`). Each: cold-start SFT, then GRPO on GSM8K-train prompts with the accuracy reward.
- **Data**: {conversion["rows"]} GSM8K-train rows (`{results["train_file"]}`); {conversion["sft_rows"]} SFT traces \
per arm with {conversion["tool_calls"]} tool calls; {len(malformed)} malformed annotation(s){left_out}.{listed}
- **GRPO prompts**: {grpo_prompts_line(conversion, results.get("grpo_prompts_by_arm"))}
{combined_runs_line(results)}{grpo_steps_line(results)}{grpo_step_time_line(results)}{groups_line(results)}\
{clipped_line(results)}{card_line(results)}- **Model**: {model_description(results, DemoSettings(base_model="smollm2"))}
- **Recipes**: {", ".join(f"`{recipe}`" for recipe in results["recipes"])}{grpo_recipe_overrides_note(results)}; \
GRPO generates with \
{grpo_generation(results)}, the evaluator with transformers\
{", compiled decode step" if results.get("compile_decoding") else ""}.
- **GRPO curves**: {curves} (rewards per logged step on the training prompts; the held-out sampled pass@1 of the \
SFT and GRPO checkpoints marked).
"""
