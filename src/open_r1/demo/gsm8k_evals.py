"""The evaluations of a `make gsm8k` run on GSM8K-test, each through the offline evaluator (`open_r1.eval.offline`).

    evaluate_stage(model, arm, stage, output_dir, run, seed)   # a checkpoint's greedy and sampled pass@1
    evaluate_card_protocol(base_model, output_dir, run, seed)  # the base model as its model card scores it

- `evaluate_stage`: one checkpoint's greedy pass@1 and pass@1 from `GSM8KSettings.eval_samples` samples, each
  ± its standard error, with the arm's system prompt, token budget and (tool arm) its GRPO recipe's tool settings
  (`stage_settings`); the tool-call rate, the share out of tokens, and by calculations in the worked solution
  pass@1 and the calculations the completions wrote out beside the worked solutions'
  (`open_r1.demo.gsm8k_calculations.pass_by_calculations`), and how many of its completions, cut at the token
  budget or ended, repeat a line (`open_r1.demo.gsm8k_repetition.repetition_counts`). On a shared GPU the two
  evaluations are two jobs, each in its own process, each holding a GPU job slot (`open_r1.utils.gpu_jobs`).
- `evaluate_card_protocol`: 5 GSM8K-train shots before each problem, greedy (docs/gsm8k_fidelity.md).
- `--reuse_base`: `check_reusable`, `read_reused` and `reused_evaluation` take an earlier run's base evaluations,
  checked to score as many problems of a test file of the same name with the same samples, and to have evaluated
  the same model with this run's seed, token budget and system prompt (`recorded_as_this_run`).
- `--reuse_sft`: `check_reusable_sft` takes the SFT evaluations of an earlier run that trained each arm's SFT alike
  (seed, FAST, recipe, training data), for a run that trains SFT again but has no time to evaluate it (a GPU
  lease of 15 minutes holds the tool arm's SFT, GRPO and GRPO evaluations, not its SFT evaluations too).
Not covered: training, the run's order and time budget (`open_r1.demo.gsm8k`), the tables
(`open_r1.demo.gsm8k_report`, `open_r1.demo.gsm8k_calculations`, `open_r1.demo.gsm8k_repetition`).
"""

import hashlib
import json
import pathlib
import time

from open_r1.demo import pipeline
from open_r1.demo.gsm8k_calculations import pass_by_calculations
from open_r1.demo.gsm8k_repetition import repetition_counts
from open_r1.demo.gsm8k_report import GRPO_PROMPT_FIELDS, out_of_tokens_share
from open_r1.demo.settings import GSM8K_ARM_NAMES, GSM8KSettings
from open_r1.eval.few_shot import LIGHTEVAL_GSM8K_GENERATION_SIZE
from open_r1.eval.offline import read_details
from open_r1.tasks.gsm8k import COT_SYSTEM_PROMPT, TOOL_SYSTEM_PROMPT
from open_r1.tools.rollout import tool_call_rate
from open_r1.usage import UsageError
from open_r1.utils.gpu_jobs import job_slot
from open_r1.utils.launch import usable_cores

SYSTEM_PROMPTS = {"cot": COT_SYSTEM_PROMPT, "tools": TOOL_SYSTEM_PROMPT}
# SmolLM2-135M-Instruct's model card scores GSM8K 5-shot, greedy, within lighteval's generation size for the task
# (docs/gsm8k_fidelity.md).
CARD_SHOTS = 5


# The stages whose evaluations a run may take from an earlier run, and the option that names that run.
REUSE_OPTIONS = {"base": "reuse_base", "sft": "reuse_sft"}
# The folder of the base model's float32 weights, as `scripts/get_model.py smollm2` names it: what the card's and
# the chain-of-thought arm's base evaluations record as their model (on any machine; the tool arm's: base-tools).
BASE_MODEL_FOLDER = "SmolLM2-135M-Instruct-f32"
# What an evaluator's results.json must hold for a run to take its numbers.
EVALUATION_FIELDS = ("data_files", "num_samples", "num_problems", "pass@1", "pass@1_stderr")


def read_json_object(path: pathlib.Path, option: str, expected: str) -> dict:
    """The JSON object in `path`; else one line naming `option` and the file: cut short, not JSON, or not an object
    (`expected` says what it should have been)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{option}: {path} is not JSON ({error}); expected {expected}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: {path} holds a JSON {type(value).__name__}, expected {expected}")
    return value


def card_max_new_tokens(settings: GSM8KSettings) -> int:
    """The card protocol's token budget: lighteval's generation size for GSM8K, unless the settings set one."""
    return settings.eval_max_new_tokens or LIGHTEVAL_GSM8K_GENERATION_SIZE


def recorded_as_this_run(name: str, run: dict, seed: int) -> dict:
    """What evaluation `name` (`<stage>-<arm>-<kind>`, or base-card) of an earlier run must have recorded for this
    run to take it: its model's folder name, the seed, the token budget and, for an arm's, its system prompt."""
    stage, arm = name.split("-")[:2]
    if arm == "card":
        return {
            "model": BASE_MODEL_FOLDER,
            "seed": seed,
            "max_new_tokens": card_max_new_tokens(run["settings"]),
        }
    model = BASE_MODEL_FOLDER if (stage, arm) == ("base", "cot") else f"{stage}-{arm}"
    return {
        "model": model,
        "seed": seed,
        "max_new_tokens": run["max_new_tokens"][arm],
        "system_prompt": SYSTEM_PROMPTS[arm],
    }


def shown(found, wanted) -> tuple[str, str]:
    """Two differing values as a one-line refusal writes them: as written where they are of one type and short, else
    as Python writes them (a hand-typed "0" is not the seed 0 it looks like; a system prompt is cut short)."""

    def written(value) -> str:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."

    if type(found) is type(wanted) and not any(
        isinstance(value, str) and len(value) > 20 for value in (found, wanted)
    ):
        return str(found), str(wanted)
    return written(found), written(wanted)


def grading_workers() -> int:
    """Grading processes and, in the tool arm, tool calls at once: half the usable cores (8 on a 16-core GPU
    machine)."""
    return max(2, usable_cores() // 2)


def run_evaluation(
    model: pathlib.Path, name: str, output_dir: pathlib.Path, run: dict, settings: dict, critical: bool = False
):
    """One evaluator run on GSM8K-test into `output_dir`/evals/<name> with the evaluator's `settings`, on the run's
    device and holding one of its GPU job slots; returns its results, its details and when it started and ended
    evaluating (the wait for a slot left out; wall-clock seconds, comparable between processes)."""
    with job_slot(run.get("gpu_slots"), critical):
        started = time.time()
        results, rows = pipeline.run_evaluator(
            model, "gsm8k", run["test_file"], output_dir / "evals" / name, device=run["device"], **settings
        )
        return results, rows, (started, time.time())


def stage_settings(arm: str, stage: str, kind: str, num_samples: int, run: dict, seed: int) -> dict:
    """The evaluator's settings for one of a stage's evaluations: greedy (one sample) or sampled, with the arm's
    system prompt, completion budget and, in the tool arm, its GRPO recipe's tool settings."""
    settings: GSM8KSettings = run["settings"]
    return {
        "label": f"{GSM8K_ARM_NAMES[arm]}, {stage}, {kind}",
        "num_samples": num_samples,
        "batch_size": settings.eval_batch_size * settings.eval_samples // num_samples,
        **({"temperature": 0.0} if kind == "greedy" else {}),
        "system_prompt": SYSTEM_PROMPTS[arm],
        "max_new_tokens": run["max_new_tokens"][arm],
        "limit": settings.num_test,
        "seed": seed,
        "reward_num_workers": grading_workers(),
        **run["tool_settings"].get(arm, {}),
        **(
            {"tool_rollout_chunk_tokens": settings.eval_tool_rollout_chunk_tokens}
            if arm in run["tool_settings"] and settings.eval_tool_rollout_chunk_tokens is not None
            else {}
        ),
        # The tool runs as many programs at once as grading has workers (training's count is per GPU process).
        **({"code_num_workers": grading_workers()} if arm in run["tool_settings"] else {}),
        **({"compile_decoding": True} if run.get("compile_decoding") else {}),
    }


def evaluation_samples(settings: GSM8KSettings) -> dict[str, int]:
    """Each evaluation of a stage (`<stage>-<arm>-<kind>`) and its samples per problem."""
    return {"greedy": 1, "sampled": settings.eval_samples}


def evaluate_stage(
    model: pathlib.Path, arm: str, stage: str, output_dir: pathlib.Path, run: dict, seed: int, critical: bool = False
) -> dict:
    """Greedy and sampled pass@1 (± stderr) of one checkpoint on GSM8K-test, and the tool arm's tool-call rate; the
    base stage from an earlier run's evaluations where `run["reuse_base"]` names one, the SFT stage where
    `run["reuse_sft"]` does. With `run["arms_at_once"]` (a
    shared GPU) the two evaluations are two jobs that run at once where slots allow, each in its own process: the
    evaluator seeds torch's global generator, which two evaluations in one process would share."""
    settings: GSM8KSettings = run["settings"]
    reuse = run.get(REUSE_OPTIONS[stage]) if stage in REUSE_OPTIONS else None
    samples = evaluation_samples(settings)
    names = {kind: f"{stage}-{arm}-{kind}" for kind in samples}
    if reuse:
        option = f"--{REUSE_OPTIONS[stage]}"
        evaluations = {
            kind: reused_evaluation(reuse, names[kind], run, samples[kind], option, seed) for kind in samples
        }
    else:
        jobs = {}
        for kind, num_samples in samples.items():
            evaluation = stage_settings(arm, stage, kind, num_samples, run, seed)
            jobs[names[kind]] = (run_evaluation, (model, names[kind], output_dir, run, evaluation, critical))
        outcomes = pipeline.run_jobs(jobs, output_dir / "logs", at_once=run["arms_at_once"])
        evaluations = {kind: outcomes[names[kind]] for kind in samples}
    measured, by_calculations, repetition, details = {}, {}, {}, []
    for kind, (results, rows, _) in evaluations.items():
        measured[f"{kind}_pass@1"], measured[f"{kind}_pass@1_stderr"] = results["pass@1"], results["pass@1_stderr"]
        if rows:
            by_calculations[kind] = pass_by_calculations(
                rows, run["test_calculations"], run.get("test_worked_calculations_written")
            )
            repetition[kind] = repetition_counts(rows)
        details += rows
    # An earlier run's folder may keep its results without their details (docs/results does).
    measured["tool_call_rate"] = (
        tool_call_rate([row["completion"] for row in details]) if arm == "tools" and details else None
    )
    measured["out_of_tokens_rate"] = out_of_tokens_share(
        *(results.get("finish_reasons") for results, _, _ in evaluations.values())
    )
    measured["by_calculations"] = by_calculations or None
    measured["repetition"] = {kind: counts for kind, counts in repetition.items() if counts is not None} or None
    # Wall time from the first evaluation's start to the last one's end: at once on a GPU, one after another else.
    spans = {kind: span for kind, (_, _, span) in evaluations.items()}
    measured["eval_seconds"] = max(end for _, end in spans.values()) - min(start for start, _ in spans.values())
    measured["eval_job_seconds"] = {kind: end - start for kind, (start, end) in spans.items()}
    if reuse:
        measured["reused_from"] = str(reuse)
    return measured


def read_reused(
    earlier_run: pathlib.Path,
    name: str,
    run: dict,
    num_samples: int,
    option: str = "--reuse_base",
    decoded_as_this_run: bool = True,
    seed: int | None = None,
) -> dict:
    """The evaluator's results.json of evaluation `name` in an earlier run's output folder, checked to score as
    many problems of a test file of the same name with the same number of samples (a FAST run's 4 problems are
    refused by a full run), where `seed` is given to have evaluated the model this run would with its seed, token
    budget and system prompt (`recorded_as_this_run`; a field the file does not record is not compared) and, where
    `decoded_as_this_run` (an arm's evaluations; the card protocol's are never compiled), to have decoded as this
    run's evaluations do (`--compile_decoding` or not; a results.json from before the evaluator recorded it decoded
    uncompiled); `option` names the option that asked for it in a refusal."""
    path = earlier_run / "evals" / name / "results.json"
    if not path.is_file():
        raise UsageError(f"{option}: {path} not found (the earlier run's evaluation {name})")
    results = read_json_object(path, option, "the evaluator's results.json")
    missing = [field for field in EVALUATION_FIELDS if field not in results]
    if missing:
        raise UsageError(f"{option}: {path} has no {missing[0]} (expected the evaluator's results.json)")
    recorded = results.get("settings") if isinstance(results.get("settings"), dict) else {}
    expected = {
        "test file": (pathlib.Path(str(results["data_files"])).name, pathlib.Path(run["test_file"]).name),
        "samples": (results["num_samples"], num_samples),
        "problems": (results["num_problems"], len(run["test_calculations"])),
    }
    if decoded_as_this_run:
        expected["compile_decoding"] = (bool(recorded.get("compile_decoding")), bool(run.get("compile_decoding")))
    if seed is not None:
        for field, wanted in recorded_as_this_run(name, run, seed).items():
            if field == "model" and results.get("model") is not None:
                expected["model"] = (pathlib.Path(str(results["model"])).name, wanted)
            elif field in recorded:
                expected[field] = (recorded[field], wanted)
    for what, (found, wanted) in expected.items():
        if found != wanted or type(found) is not type(wanted):
            found, wanted = shown(found, wanted)
            raise UsageError(f"{option}: {path} has {what} {found}, this run {wanted}")
    return results


def check_reusable(earlier_run: pathlib.Path, arms: tuple[str, ...], run: dict, seed: int) -> None:
    """Every base evaluation a run takes from `earlier_run` (`read_reused`, against this run's `seed` too), checked
    before anything loads: found in an arm's process, a mismatch would end the run only once the other processes had
    ended. `run`: the run's evaluation settings (`gsm8k.evaluation_settings`)."""
    read_reused(earlier_run, "base-card", run, 1, decoded_as_this_run=False, seed=seed)
    for arm in arms:
        for kind, num_samples in evaluation_samples(run["settings"]).items():
            read_reused(earlier_run, f"base-{arm}-{kind}", run, num_samples, seed=seed)


def recipe_digests(settings: GSM8KSettings, arms: tuple[str, ...]) -> dict[str, str]:
    """Each arm's SFT recipe file's SHA-256: two runs whose recipes differ in content did not train alike."""
    return {
        arm: hashlib.sha256((pathlib.Path(pipeline.REPO_ROOT) / settings.sft_recipes[arm]).read_bytes()).hexdigest()
        for arm in arms
    }


def check_reusable_sft(earlier_run: pathlib.Path, arms: tuple[str, ...], run: dict, seed: int) -> dict:
    """The earlier run's results.json, checked before anything loads to have trained each arm's SFT as this run
    (its evaluation settings `run`, `gsm8k.evaluation_settings`) will (seed, FAST, CPU or GPU, the arm's SFT recipe,
    to its content) and to hold its SFT evaluations (`read_reused`), evaluated with this run's system prompt and
    token budget. The training data's conversion is compared once this run has built it (`check_same_conversion`)."""
    settings: GSM8KSettings = run["settings"]
    path = earlier_run / "results.json"
    if not path.is_file():
        raise UsageError(
            f"--reuse_sft: {path} not found (expected the output folder of an earlier run, or of --sft_only --evaluate)"
        )
    earlier = read_json_object(path, "--reuse_sft", "the results.json of a make gsm8k run")
    if not isinstance(earlier.get("arms"), dict):
        raise UsageError(f"--reuse_sft: {path} has no arms (expected the results.json of a make gsm8k run)")
    for arm in arms:
        if not isinstance(earlier["arms"].get(arm), dict) or not isinstance(earlier["arms"][arm].get("sft"), dict):
            ran = " and ".join(str(name) for name in earlier["arms"]) or "no"
            raise UsageError(
                f"--reuse_sft: {earlier_run} ran only the {ran} arm; it has no {arm} SFT to reuse"
                if arm not in earlier["arms"]
                else f"--reuse_sft: {path} has no SFT stage of the {arm} arm (arms.{arm}.sft)"
            )
    hardware = "CPU" if run["device"] == "cpu" else "GPU"
    earlier_hardware = "CPU" if earlier.get("device") == "CPU" else "GPU"
    for field, found, wanted in (
        ("seed", earlier.get("seed"), seed),
        ("fast", earlier.get("fast"), run["fast"]),
        ("hardware", earlier_hardware, hardware),
    ):
        if found != wanted or type(found) is not type(wanted):
            found, wanted = shown(found, wanted)
            raise UsageError(f"--reuse_sft: {path} has {field} {found}, this run {wanted}")
    digests = earlier.get("sft_recipe_sha256") or {}
    for arm, digest in recipe_digests(settings, arms).items():
        if settings.sft_recipes[arm] not in earlier.get("recipes", []) or digests.get(arm) != digest:
            raise UsageError(
                f"--reuse_sft: {path} did not train {settings.sft_recipes[arm]} ({arm}'s SFT recipe) as it is now"
                + ("" if arm in digests else " (it records no sft_recipe_sha256)")
            )
    for arm in arms:
        for kind, num_samples in evaluation_samples(settings).items():
            # The model, seed, system prompt and token budget each evaluation recorded, as this run's would be.
            read_reused(earlier_run, f"sft-{arm}-{kind}", run, num_samples, "--reuse_sft", seed=seed)
    return earlier


def check_same_conversion(earlier: dict, conversion: dict, earlier_run: pathlib.Path) -> None:
    """The SFT traces of the earlier run were converted from the same training data as this run's (GRPO's prompts,
    which SFT does not train on, may differ)."""
    differing = sorted(
        key
        for key in conversion
        if key not in GRPO_PROMPT_FIELDS and earlier.get("conversion", {}).get(key) != conversion[key]
    )
    if differing:
        raise UsageError(
            f"--reuse_sft: {earlier_run / 'results.json'} trained SFT on other data (conversion: {differing[0]} "
            f"{earlier.get('conversion', {}).get(differing[0])}, this run {conversion[differing[0]]})"
        )


def reused_evaluation(earlier_run: pathlib.Path, name: str, run: dict, num_samples: int, option: str, seed: int):
    """Evaluation `name` as an earlier run measured it (the base model, or an SFT model trained alike, with this
    run's `seed`), like `run_evaluation`'s return: its results, its details where that run kept them, and an empty
    span of time."""
    results = read_reused(earlier_run, name, run, num_samples, option, seed=seed)
    return results, read_details(earlier_run / "evals" / name) or [], (0.0, 0.0)


def evaluate_card_protocol(base_model: pathlib.Path, output_dir: pathlib.Path, run: dict, seed: int) -> dict:
    """The base model scored as its model card scores it: 5 worked GSM8K-train solutions before each test problem
    (`open_r1.eval.few_shot`), greedy, the number after `####` matched; beside the card's 1.4%."""
    settings: GSM8KSettings = run["settings"]
    max_new_tokens = card_max_new_tokens(settings)
    if run.get("reuse_base"):
        reused = read_reused(run["reuse_base"], "base-card", run, 1, decoded_as_this_run=False, seed=seed)
        results, seconds = reused, 0.0
    else:
        results, _, (started, ended) = run_evaluation(
            base_model,
            "base-card",
            output_dir,
            run,
            {
                "label": f"base, the model card's {CARD_SHOTS}-shot protocol",
                "prompt_style": "plain",
                "num_fewshot": CARD_SHOTS,
                "fewshot_file": str(run["train_file"]),
                "temperature": 0.0,
                "max_new_tokens": max_new_tokens,
                "limit": settings.num_test,
                "seed": seed,
                "batch_size": settings.eval_batch_size,
                "reward_num_workers": grading_workers(),
            },
        )
        seconds = ended - started
    card = {
        "pass@1": results["pass@1"],
        "pass@1_stderr": results["pass@1_stderr"],
        "shots": CARD_SHOTS,
        "shots_from": str(run["train_file"]),
        "max_new_tokens": max_new_tokens,
        "eval_seconds": seconds,
    }
    if run.get("reuse_base"):
        card["reused_from"] = str(run["reuse_base"])
    return card
