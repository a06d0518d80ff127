"""One `make gsm8k` results.json and report.md from runs of one arm each, so that arms measured on different GPU
leases are read, and held to the goals, together.

    python scripts/gsm8k.py --combine data/lease-cot/gsm8k data/lease-tools/gsm8k --output_dir data/gsm8k-combined

A GPU lent 15 minutes at a time runs one arm per lease (`scripts/gpu_lease.sh start cot`, then `start tools`,
each taking the base evaluations of the same earlier run with `--reuse_base`); each lease brings back its output
folder (results.json, its evals/, and curves-<arm>.png where kept). Each run's results.json is checked field by
field (`check_schema`) and its numbers against the evaluations behind them (`check_against_evaluations`: its own
evals/, or the earlier run's it took some from, where that is on this machine). The runs must have measured the same thing: the same seed,
FAST or not, model, training data and its SFT traces, test file and problems, samples per problem and GRPO
generation engine (transformers or vLLM; whether its decode step was compiled may differ, named arm by arm), the
evaluator's decoding (`--compile_decoding` or not), all on GPUs or all on the CPU, each arm in one run only, and the
same score under the model card's protocol; GPUs of different kinds (an H100 lease and an H200 one) are named in the
report, arm by arm. How each arm's GRPO trained may differ, named arm by arm: its learning rate, its completions
per prompt and its prompts (`--grpo_learning_rate`, `--grpo_num_generations`, `--grpo_max_calculations`). The
combined results.json keeps each run's provenance under `runs` (its `make gsm8k` command, arms, date, commit, GPU,
seconds); its `total_seconds` is their sum, the GPU time of the two arms without the leases' start and install. The
report is `open_r1.demo.gsm8k_report.gsm8k_report`'s, goals included; each run's curves are copied beside it. The
output folder may hold an earlier combination, which is replaced (and named), never a run's results or folders.
Not covered: two runs of the same arm (another seed is another run, read beside this one, not averaged into it).
"""

import json
import math
import pathlib
import shutil

from open_r1.demo import pipeline
from open_r1.demo.gsm8k_report import (
    GRPO_PROMPT_FIELDS,
    arm_greedy_change,
    gsm8k_command,
    gsm8k_report,
    gsm8k_table,
)
from open_r1.demo.settings import GSM8K_ARM_NAMES
from open_r1.usage import UsageError

# What each run must share with the others for their arms to be compared: a difference in any is refused.
SHARED_FIELDS = (
    "seed",
    "fast",
    "model",
    "model_origin",
    "model_parameters",
    "test_problems",
    "eval_samples",
    "conversion",
)
# Files named by their path in results.json; compared by name, since each lease has its own folders.
SHARED_FILE_FIELDS = ("train_file", "test_file")
# The card-protocol evaluation's fields that say it scored the same model the same way.
CARD_FIELDS = ("pass@1", "shots", "max_new_tokens")
# Everything else the combined results are made of; a results.json without one is refused, not half-read.
REQUIRED_FIELDS = (
    "arms", "card_protocol", "grpo_curves", "eval_max_new_tokens", "recipes", "total_seconds", "device",
    "grpo_generation",
)  # fmt: skip
ARMS_ORDER = tuple(GSM8K_ARM_NAMES)
OUTPUT_DIR = "data/gsm8k-combined"
# The machine as the runs share it: its load averages (`open_r1.utils.provenance`) are each run's own.
MACHINE_FIELDS = ("cpu", "cores", "omp_num_threads")
# Each stage's numbers the report shows, and the evaluation (evals/<stage>-<arm>-<kind>) that measured each.
STAGE_NUMBERS = {
    "greedy_pass@1": ("greedy", "pass@1"),
    "greedy_pass@1_stderr": ("greedy", "pass@1_stderr"),
    "sampled_pass@1": ("sampled", "pass@1"),
    "sampled_pass@1_stderr": ("sampled", "pass@1_stderr"),
}
# How far a number of results.json may lie from its evaluation's: the report shows hundredths of a percent.
AGREEMENT = 5e-5


def is_number(value) -> bool:
    """A finite int or float (JSON's numbers; not a bool, a string or NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_schema(path: pathlib.Path, results: dict) -> None:
    """One line naming `path` and the field for the first part of a run's results.json that is not as `make gsm8k`
    writes it (a hand-edited or cut file gave a KeyError, an AttributeError or a TypeError, the last after an output
    folder was half written)."""

    def refuse(field: str, expected: str, value) -> None:
        raise UsageError(f"--combine: {path} has {field} {shortened(value)}, expected {expected}")

    arms = results["arms"]
    if not isinstance(arms, dict) or not arms or any(arm not in ARMS_ORDER for arm in arms):
        refuse("arms", f"an object of the arms {' and/or '.join(ARMS_ORDER)}", arms)
    for arm, stages in arms.items():
        if not isinstance(stages, dict):
            refuse(f"arms.{arm}", "an object of its stages", stages)
        for stage in pipeline.STAGES:
            numbers = stages.get(stage)
            if not isinstance(numbers, dict):
                refuse(f"arms.{arm}.{stage}", "an object of the stage's numbers", numbers)
            for field in STAGE_NUMBERS:
                if not is_number(numbers.get(field)):
                    refuse(f"arms.{arm}.{stage}.{field}", "a number", numbers.get(field))
        for field in ("grpo_curves", "eval_max_new_tokens"):
            if not isinstance(results[field], dict) or arm not in results[field]:
                refuse(field, f"an object with the {arm} arm", results[field])
    if "held_out" in results and not isinstance(results["held_out"], dict):
        refuse("held_out", "an object of the arms", results["held_out"])
    card = results["card_protocol"]
    if not isinstance(card, dict) or not all(is_number(card.get(field)) for field in ("pass@1", "pass@1_stderr")):
        refuse("card_protocol", "an object with the numbers pass@1 and pass@1_stderr", card)
    if not is_number(results["total_seconds"]):
        refuse("total_seconds", "a number", results["total_seconds"])
    for field, kind in (("conversion", dict), ("recipes", list), ("device", str), ("grpo_generation", str)):
        if not isinstance(results[field], kind):
            refuse(
                field, f"a JSON {'object' if kind is dict else 'list' if kind is list else 'string'}", results[field]
            )


def read_run(folder: pathlib.Path) -> dict:
    """The results.json of a finished `make gsm8k` run in `folder` (or the file itself), with `source` its path."""
    path = folder if folder.suffix == ".json" else folder / "results.json"
    if not path.is_file():
        raise UsageError(f"--combine: {path} not found (expected the output folder of a finished make gsm8k run)")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--combine: {path} is not JSON ({error})") from None
    if not isinstance(results, dict) or "arms" not in results or "card_protocol" not in results:
        raise UsageError(f"--combine: {path} is not the results.json of a make gsm8k run (no arms or card_protocol)")
    if "runs" in results:
        raise UsageError(f"--combine: {path} is already a combination of runs; combine the runs themselves")
    for field in (*REQUIRED_FIELDS, *SHARED_FIELDS, *SHARED_FILE_FIELDS):
        if field not in results:
            raise UsageError(
                f"--combine: {path} has no {field} (written before make gsm8k recorded it?); run it again"
            )
    check_schema(path, results)
    for field in GRPO_PROMPT_FIELDS:  # named arm by arm where the runs differ, so each run must say
        if field not in results["conversion"]:
            raise UsageError(
                f"--combine: {path} has no conversion.{field} (written before make gsm8k recorded it?); run it again"
            )
    for arm, stages in results["arms"].items():
        # A run from before make gsm8k paired its GRPO goal, or whose details were not at hand then.
        if stages["grpo"].get("greedy_change_from_sft") is None:
            if (change := arm_greedy_change(path.parent, arm, stages)) is not None:
                stages["grpo"]["greedy_change_from_sft"] = change
    return {**results, "source": str(path)}


def generation_engine(grpo_generation: str) -> str:
    """The engine of a run's GRPO generation ("transformers", "vLLM (colocated)"), without how it decoded: a compiled
    decode step, or tool rollouts decoded ahead of TRL's rounds, sample from the same distribution as TRL's eager
    rounds, faster, so runs that differ in them compare."""
    return grpo_generation.split(",")[0]


def measured_alike(run: dict) -> dict:
    """What `run` must share with the runs it is combined with, by name (the conversion's summary key by key)."""
    return {
        **{field: run[field] for field in SHARED_FIELDS if field != "conversion"},
        "grpo_generation": generation_engine(run["grpo_generation"]),
        # The evaluations are the measurement: compiled or not, all the runs' alike (absent: runs from before it).
        "compile_decoding": bool(run.get("compile_decoding")),
        **{f"conversion.{key}": value for key, value in run["conversion"].items() if key not in GRPO_PROMPT_FIELDS},
        **{field: pathlib.Path(run[field]).name for field in SHARED_FILE_FIELDS},
        "device": "CPU" if run["device"] == "CPU" else "a GPU",
        **{f"card_protocol {field}": run["card_protocol"].get(field) for field in CARD_FIELDS},
    }


def shortened(value, width: int = 60) -> str:
    """`value` written for a one-line message: a long one (the conversion's summary) cut to `width` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_combinable(runs: list[dict]) -> None:
    """Refuses, in one line naming both files, runs that share an arm or measured differently."""
    if len(runs) < 2:
        raise UsageError("--combine: give at least two runs' output folders (one arm each)")
    owner = {}
    expected = measured_alike(runs[0])
    for run in runs:
        for arm in run["arms"]:
            if arm in owner:
                raise UsageError(
                    f"--combine: {owner[arm]} and {run['source']} both ran the {GSM8K_ARM_NAMES[arm]} arm; "
                    "combine runs of different arms"
                )
            owner[arm] = run["source"]
        found = measured_alike(run)
        for field in {**expected, **found}:
            value = expected.get(field)
            if found.get(field) != value:
                hint = (
                    " (take the base evaluations of one earlier run in both: --reuse_base)"
                    if field.startswith("card_protocol")
                    else ""
                )
                raise UsageError(
                    f"--combine: {runs[0]['source']} and {run['source']} differ in {field} ({shortened(value)} "
                    f"against {shortened(found.get(field))}); their arms were not measured alike{hint}"
                )


def run_summary(run: dict) -> dict:
    """What the combined results keep of one run: where it came from and how it ran."""
    return {
        "source": run["source"],
        "command": gsm8k_command(run),
        "arms": list(run["arms"]),
        "date": run.get("date"),
        "commit": run.get("commit"),
        "commit_at_end": run.get("commit_at_end"),
        "device": run["device"],
        "machine": run.get("machine"),
        "total_seconds": run["total_seconds"],
        "time_budget_minutes": run.get("time_budget_minutes"),
        "grpo_max_steps": run.get("grpo_max_steps"),
        "grpo_learning_rate": run.get("grpo_learning_rate"),
        "grpo_num_generations": run.get("grpo_num_generations"),
        "grpo_max_calculations": run.get("grpo_max_calculations"),
        "arms_at_once": run.get("arms_at_once"),
        "base_reused_from": run.get("base_reused_from"),
        "sft_reused_from": run.get("sft_reused_from"),
        "sft_reused_seconds": run.get("sft_reused_seconds"),
    }


def common(runs: list[dict], field: str):
    """The runs' common value of `field`, None where they differ."""
    values = [run.get(field) for run in runs]
    return values[0] if all(value == values[0] for value in values) else None


def arms_of(run: dict) -> str:
    return " and ".join(GSM8K_ARM_NAMES[arm] for arm in run["arms"])


def one_or_each(runs: list[dict], field: str, only_recorded: bool = False):
    """The runs' common value of `field`, else each run's labelled with its arms ("a (chain of thought), b (python
    tool)"; "not recorded" for a run without one, or, with `only_recorded`, that run left out)."""
    values = [run.get(field) for run in runs]
    if all(value == values[0] for value in values):
        return values[0]
    return ", ".join(
        f"{'not recorded' if value is None else value} ({arms_of(run)})"
        for value, run in zip(values, runs)
        if value is not None or not only_recorded
    )


def grpo_prompts_by_arm(by_arm: dict, arms: list[str]) -> dict:
    """The combined conversion, and where the runs chose GRPO's prompts differently, each arm's choice
    (`grpo_prompts_by_arm`: arm -> its GRPO_PROMPT_FIELDS, then left out of the conversion, which is not one run's)."""
    chosen = {arm: {field: by_arm[arm]["conversion"][field] for field in GRPO_PROMPT_FIELDS} for arm in arms}
    conversion = by_arm[arms[0]]["conversion"]
    if all(fields == chosen[arms[0]] for fields in chosen.values()):
        return {"conversion": conversion}
    shared = {key: value for key, value in conversion.items() if key not in GRPO_PROMPT_FIELDS}
    return {"conversion": shared, "grpo_prompts_by_arm": chosen}


def combine(runs: list[dict], command: str) -> dict:
    """The combined results.json of `runs` (checked by `check_combinable`), its arms in the report's order."""
    check_combinable(runs)
    runs = sorted(runs, key=lambda run: min(ARMS_ORDER.index(arm) for arm in run["arms"]))
    by_arm = {arm: run for run in runs for arm in run["arms"]}
    arms = [arm for arm in ARMS_ORDER if arm in by_arm]
    # The card's score is the same in every run (checked); keep one that measured it, if any did.
    measured_card = [run["card_protocol"] for run in runs if "reused_from" not in run["card_protocol"]]
    # The machine without its load averages, which are each run's own.
    machines = [
        {key: value for key, value in (run.get("machine") or {}).items() if key in MACHINE_FIELDS} for run in runs
    ]
    first = runs[0]
    return {
        "arms": {arm: by_arm[arm]["arms"][arm] for arm in arms},
        "grpo_curves": {arm: by_arm[arm]["grpo_curves"][arm] for arm in arms},
        "held_out": {arm: by_arm[arm]["held_out"][arm] for arm in arms if arm in by_arm[arm].get("held_out", {})},
        "card_protocol": (measured_card or [first["card_protocol"]])[0],
        **{field: first[field] for field in SHARED_FIELDS if field != "conversion"},
        **{field: first[field] for field in SHARED_FILE_FIELDS},
        "eval_max_new_tokens": {arm: by_arm[arm]["eval_max_new_tokens"][arm] for arm in arms},
        "recipes": [recipe for run in runs for recipe in run["recipes"]],
        # Where only some runs took the base evaluations of an earlier run: those runs, each named.
        "base_reused_from": one_or_each(runs, "base_reused_from", only_recorded=True),
        "sft_reused_from": one_or_each(runs, "sft_reused_from", only_recorded=True),
        # The engine is common (checked); whether it decoded compiled may be each run's own.
        "grpo_generation": one_or_each(runs, "grpo_generation"),
        # Each arm's as its run recorded it (None: TRL's rounds, as every run before it was recorded decoded).
        "grpo_tool_rollout_chunk_tokens": {
            arm: (by_arm[arm].get("grpo_tool_rollout_chunk_tokens") or {}).get(arm) for arm in arms
        },
        "compile_decoding": bool(first.get("compile_decoding")),
        "sft_reused_seconds": sum(run.get("sft_reused_seconds") or 0.0 for run in runs)
        if any(run.get("sft_reused_seconds") for run in runs)
        else None,
        # Each run's own are under `runs` (and in its command); the report reads a common one.
        "time_budget_minutes": common(runs, "time_budget_minutes"),
        "grpo_max_steps": common(runs, "grpo_max_steps"),
        # Training choices of each arm's, not measurements: runs that differ in them combine, the report names each.
        "grpo_learning_rate": one_or_each(runs, "grpo_learning_rate", only_recorded=True),
        "grpo_num_generations": one_or_each(runs, "grpo_num_generations", only_recorded=True),
        # The SFT traces' conversion is common (checked); GRPO's prompts may be each arm's.
        **grpo_prompts_by_arm(by_arm, arms),
        "arms_at_once": common(runs, "arms_at_once"),
        "device": one_or_each(runs, "device"),
        "date": min(run.get("date") or "" for run in runs) or None,
        "commit": one_or_each(runs, "commit"),
        **({"machine": machines[0]} if machines[0] and all(machine == machines[0] for machine in machines) else {}),
        # One GPU's time for both arms: the runs', one after the other.
        "total_seconds": sum(run["total_seconds"] for run in runs),
        "runs": [run_summary(run) for run in runs],
        "command": command,
    }


def evaluations_folder(reused_from: str | None, run_folder: pathlib.Path) -> pathlib.Path | None:
    """Where a stage's evaluations are: the run's folder, or the earlier run it took them from (`reused_from`, as
    the run wrote it: from the checkout's root or as an absolute path), None where that is not on this machine."""
    if reused_from is None:
        return run_folder
    for folder in (pathlib.Path(reused_from), pipeline.REPO_ROOT / reused_from):
        if (folder / "evals").is_dir():
            return folder
    return None


def check_against_evaluations(run: dict) -> None:
    """Each number `run` gives of a stage (greedy and sampled pass@1, ± stderr) and of the card protocol, checked
    against the evaluator's results.json behind it (evals/<name>/results.json in the run's folder, or in the earlier
    run it took them from where that is on this machine): a run's own evaluations must be there, and agree. A
    hand-edited 75% showed in a combined report whose per-calculation table, from the details, said 0%."""
    path = pathlib.Path(run["source"])
    measured = [
        (f"arms.{arm}.{stage}", f"{stage}-{arm}-", numbers)
        for arm, stages in run["arms"].items()
        for stage, numbers in stages.items()
        if stage in pipeline.STAGES
    ]
    for where, prefix, numbers in [*measured, ("card_protocol", "base-card", run["card_protocol"])]:
        folder = evaluations_folder(numbers.get("reused_from"), path.parent)
        if folder is None:
            continue  # taken from a run not on this machine, which that run checked when it took them
        fields = (
            {"pass@1": ("", "pass@1"), "pass@1_stderr": ("", "pass@1_stderr")}
            if prefix == "base-card"
            else {field: (kind, key) for field, (kind, key) in STAGE_NUMBERS.items()}
        )
        for field, (kind, key) in fields.items():
            evaluation = folder / "evals" / f"{prefix}{kind}" / "results.json"
            if not evaluation.is_file():
                raise UsageError(
                    f"--combine: {path} gives {where}.{field} without its evaluation {evaluation} (expected the "
                    "output folder of a finished make gsm8k run, its evals/ included)"
                )
            try:
                recorded = json.loads(evaluation.read_text(encoding="utf-8")).get(key)
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                raise UsageError(f"--combine: {evaluation} is not the evaluator's results.json") from None
            if not is_number(recorded) or abs(recorded - numbers[field]) > AGREEMENT:
                raise UsageError(
                    f"--combine: {path} has {where}.{field} {numbers[field]!r}, its evaluation {evaluation} "
                    f"{recorded!r}; the results were not written by the run that evaluated them"
                )


def run_folder_parts(folder: pathlib.Path) -> list[str]:
    """What in `folder` belongs to a run (finished or not): its evals/, sft-*/, grpo-*/ and base-tools/ folders."""
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and (entry.name in ("evals", "base-tools") or entry.name.startswith(("sft-", "grpo-")))
    )


def check_output_dir(output_dir: pathlib.Path, runs: list[dict]) -> None:
    """Refuses a folder that holds one of the runs, a run's results or a run's folders (an interrupted run's, whose
    curves a combination would delete): only an earlier combination's are written over."""
    if output_dir.resolve() in {pathlib.Path(run["source"]).resolve().parent for run in runs}:
        raise UsageError(
            f"--output_dir: {output_dir} holds one of the runs; give the combined results a folder of their own"
        )
    earlier = output_dir / "results.json"
    if earlier.is_file():
        try:
            combined = "runs" in json.loads(earlier.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
            combined = False
        if not combined:
            raise UsageError(
                f"--output_dir: {earlier} is a run's results, not an earlier combination; give the combined results "
                "a folder of their own"
            )
    parts = run_folder_parts(output_dir)
    if parts:
        raise UsageError(
            f"--output_dir: {output_dir} holds a run ({', '.join(parts)}), finished or not; give the combined results "
            "a folder of their own"
        )


def main(folders: list[pathlib.Path], output_dir: pathlib.Path) -> dict:
    """Reads the runs in `folders`, writes the combined results.json, report.md and the runs' curves into
    `output_dir`, and returns the combined results."""
    runs = [read_run(folder) for folder in folders]
    command = " ".join(
        ["python scripts/gsm8k.py --combine", *(str(folder) for folder in folders), "--output_dir", str(output_dir)]
    )
    results = combine(runs, command)
    for run in runs:
        check_against_evaluations(run)
    check_output_dir(output_dir, runs)
    # The whole report before anything is written: a refusal leaves the folder as it was.
    report, table = gsm8k_report(results, command), gsm8k_table(results)
    earlier = [name for name in ("results.json", "report.md") if (output_dir / name).exists()]
    earlier += sorted(path.name for path in output_dir.glob("curves-*.png")) if output_dir.is_dir() else []
    if earlier:
        print(f"Replacing the earlier combination in {output_dir} ({', '.join(earlier)})", flush=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.glob("curves-*.png"):  # an earlier combination's, which these runs may not have
        stale.unlink()
    for run in runs:
        for arm in run["arms"]:
            curves = pathlib.Path(run["source"]).parent / f"curves-{arm}.png"
            if curves.is_file():
                shutil.copyfile(curves, output_dir / curves.name)
    pipeline.write_results(output_dir, results, report, table, "results.json, report.md")
    return results
