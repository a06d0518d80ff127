"""`make gsm8k`: the R1 recipe on GSM8K from SmolLM2-135M-Instruct, in two arms: chain of thought and python tool.

    make gsm8k [ARM=cot|tools|both] [SEED=0] [FAST=1] [MINUTES=26] [OUTPUT_DIR=...]
    python scripts/gsm8k.py [--arm both] [--seed 0] [--fast] [--train_file F] [--test_file F] [--output_dir D]
    python scripts/gsm8k.py --combine RUN RUN [--output_dir D]   # one-arm runs (a GPU lease each) as one of both

Stages, each the project's real code path:
1. SmolLM2-135M-Instruct from `scripts/get_model.py smollm2` (float32, `open_r1.demo.real_model`); for the tool arm a
   copy of its folder whose tokenizer has open_r1.tools.chat's tool-calling ChatML template (base-tools/: links to
   the weights), since SmolLM2's own template cannot write tool calls.
2. GSM8K-train (../shared/data/gsm8k_train.jsonl, else --train_file) turned into both arms' SFT traces and the
   GRPO prompts (`open_r1.tasks.gsm8k`; the rows of at most `GSM8KSettings.grpo_max_calculations` calculations,
   where GRPO's groups have reward spread most often); a malformed calculator annotation is printed and kept in
   datasets/conversion.json and results.json, its row left out of SFT.
3. Per arm: cold-start SFT (`src/open_r1/sft.py`, recipes/SmolLM2-135M-Instruct/sft/config_gsm8k_<arm>.yaml), then
   GRPO with the accuracy reward (`src/open_r1/grpo.py`, recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_<arm>.yaml;
   the tool arm with `tools: [python]`).
4. Base, SFT and GRPO of each arm evaluated on GSM8K-test (../shared/data/gsm8k_test.jsonl, else --test_file; all
   1,319 problems) with `open_r1.eval.offline`: greedy pass@1 and pass@1 from several samples, each ± its standard
   error, with the arm's system prompt, the tool arm with `--tools python` and its GRPO recipe's tool settings, at
   most the arm's GRPO `max_completion_length` new tokens. The base model also scored as its model card scores it
   (5 GSM8K-train shots, greedy; `open_r1.eval.few_shot`), to be read beside the card's 1.4%.
5. results.json, report.md (`open_r1.demo.gsm8k_report.gsm8k_report`: the table, greedy pass@1 by calculations in the
   worked solution, the calculations written out beside the worked solutions' and the same problem by problem from
   SFT to GRPO (`open_r1.demo.gsm8k_calculations`; results.json's `written_by_outcome`) and the completions cut at
   the token budget, the greedy completions that repeat a line, cut or ended (`open_r1.demo.gsm8k_repetition`), the
   published numbers, the goals) and curves-<arm>.png in the output folder (data/gsm8k; FAST: data/gsm8k-fast).

On a GPU the recipes train in bf16 autocast over float32 weights and the evaluator runs on it in float32, and the
arms and the card-protocol evaluation run at the same time, each in its own process with its output in
logs/<arm>.log and logs/card.log, and each arm evaluates its SFT checkpoint while GRPO trains from it (a GRPO
that runs out of GPU memory meanwhile starts again once that evaluation has ended), at most
`GPU_JOBS_AT_ONCE` training runs and evaluations at a time (`open_r1.utils.gpu_jobs`), the tool arm's first
(`CRITICAL_ARM`), a stage's greedy and sampled evaluations two of them (`--no-arms_at_once`: one thing after
another); `--reuse_base` takes the base evaluations of an earlier run, `--reuse_sft` the SFT evaluations of an earlier
run that trained SFT alike (`--sft_only --evaluate` makes one); without a GPU, the same recipes run on
the CPU in float32 (slowly), one after the other. FAST: a few rows, steps and test problems, short completions
(`open_r1.demo.settings.GSM8K_FAST`): the whole pipeline of both arms on a CPU in minutes.
`--time_budget_minutes` (`make gsm8k MINUTES=26`): each arm's GRPO stops at the last step that leaves time for the
GRPO evaluations before the budget is up (`max_run_minutes`, open_r1.utils.time_limit), for a GPU lent for a
fixed time. `--use_vllm` (`make gsm8k VLLM=1`): GRPO generates with vLLM colocated on the GPU
(`GSM8K_VLLM_GRPO_OVERRIDES`); the evaluator keeps transformers. `--compile_generation` (`make gsm8k COMPILE=1`):
GRPO's transformers generation decodes with a compiled decode step (`compile_generation: true`,
open_r1.utils.compiled_generation, its cache one length: `GSM8KSettings.compiled_max_prompt_length`), GPU only.
On a GPU without vLLM the tool arm's GRPO decodes its rollouts ahead of TRL's rounds
(`GSM8KSettings.grpo_tool_rollout_chunk_tokens`, open_r1.tools.rollouts_ahead) and its evaluations with rows joining
(`eval_tool_rollout_chunk_tokens`).
A run never resumes: stopped (Ctrl-C), its output folder keeps the stages it finished, and the same command starts
over, removing them first and naming what it removes (another --output_dir keeps them); every check that can refuse
a run comes before that.
What each training launch adds to its recipe, GRPO's minutes under a budget and the checks of the options that change
a launch are `open_r1.demo.gsm8k_launch`'s; the command line is `open_r1.demo.gsm8k_cli`'s.
Not covered: several GPUs; the vLLM path has not run here (vLLM is not installable on the machines this was built
on).
"""

import contextlib
import dataclasses
import json
import pathlib
import time
from concurrent.futures import ThreadPoolExecutor

from open_r1.demo import pipeline
from open_r1.demo.gsm8k_calculations import (
    calculations_by_id,
    calculations_tables,
    pass_by_calculations,
    worked_calculations_written_by_id,
    written_by_outcome,
)
from open_r1.demo.gsm8k_evals import (
    CARD_SHOTS,
    check_reusable,
    check_reusable_sft,
    check_same_conversion,
    evaluate_card_protocol,
    evaluate_stage,
    recipe_digests,
)
from open_r1.demo.gsm8k_launch import (
    WITHOUT_NEW_GENERATION,
    check_compile_decoding,
    check_compile_generation,
    check_grpo_num_generations,
    check_vllm,
    generation_launch_failed,
    grpo_chunk_tokens_trained,
    grpo_generation_used,
    grpo_minutes,
    stage_overrides,
    time_budget,
    untried_generation,
)
from open_r1.demo.gsm8k_report import (
    arm_greedy_details,
    greedy_change,
    gsm8k_command,
    gsm8k_evaluations_table,
    gsm8k_report,
    gsm8k_table,
)
from open_r1.demo.gsm8k_training_report import groups_without_spread, importance_ratio_clipped
from open_r1.demo.real_model import count_parameters, get_pretrained_model
from open_r1.demo.report import grpo_curves
from open_r1.demo.settings import (
    GSM8K_ARM_NAMES,
    GSM8K_FAST,
    GSM8K_FULL,
    GSM8KSettings,
)
from open_r1.eval.arguments import recipe_tool_settings
from open_r1.tasks.gsm8k import (
    GSM8K_TEST_FILE,
    GSM8K_TRAIN_FILE,
    calculations,
    convert,
    load_rows,
)
from open_r1.usage import UsageError, check_local_path, read_recipe
from open_r1.utils.gpu_jobs import JobBeside, job_slot, launch_beside, shared_job_slots
from open_r1.utils.launch import SHARED_DATA, LaunchFailed
from open_r1.utils.provenance import git_commit, provenance_record, with_end_load
from open_r1.utils.step_profile import summarise as summarise_step_profile

ARMS = ("cot", "tools")
# Every model folder a run or --sft_only trains, of either arm: a run into an earlier one's folder removes them all,
# since another arm's or an SFT-only run's would otherwise lie beside this run's results, trained from other models.
CHECKPOINTS = tuple(f"{stage}-{arm}" for stage in ("sft", "grpo") for arm in ARMS)
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors")
# On a GPU, the training runs and evaluations that may run at once, all of the run's processes together: on an
# 80 GB H100 any two that can run together fit (at most 64 GB where measured), three took up to 95 (docs/gsm8k.md).
GPU_JOBS_AT_ONCE = 2
# The arm whose jobs go first on a shared GPU: its GRPO steps took 3-5 times the chain of thought's on an H100
# (docs/gsm8k.md), so its chain of SFT, GRPO and GRPO's evaluations decides when the run ends.
CRITICAL_ARM = "tools"


def gpu_job_slots(stack: contextlib.ExitStack, device: str, arms_at_once: bool):
    """The slots that bound the GPU jobs of a run whose processes share one GPU (None: no bound); they live as long
    as `stack`, in a manager process, so that the arms' spawned processes can share them."""
    if device != "cuda" or not arms_at_once:
        return None
    return shared_job_slots(stack, GPU_JOBS_AT_ONCE)


def default_output_dir(fast: bool) -> str:
    return "data/gsm8k-fast" if fast else "data/gsm8k"


def check_data_file(path: pathlib.Path, option: str) -> pathlib.Path:
    """`path`, a GSM8K JSONL file whose every row holds id, problem, solution and answer; else one line naming
    `option` and the close file names, or the file's first bad line."""
    if not path.is_file():
        try:
            check_local_path(option, str(path))
        except UsageError as error:
            missing = str(error)
        else:
            missing = f"{option}: {path} is not a file"
        hint = ""
        if path.parent == SHARED_DATA:  # the default, beside the checkout: a clone elsewhere names the folder
            hint = (
                f"; export OPEN_R1_SHARED_DATA (now {SHARED_DATA}) as the folder that holds {path.name}, or give "
                f"{option} FILE"
            )
        raise UsageError(f"GSM8K data not found: {missing} (expected a JSONL of id, problem, solution, answer){hint}")
    try:
        load_rows(path)  # a few hundredths of a second for GSM8K-train, before any model loads
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None
    return path


def tool_template_model(base_model: pathlib.Path, folder: pathlib.Path) -> pathlib.Path:
    """`base_model` with open_r1.tools.chat's tool-calling template: its tokenizer saved with it, the weights linked."""
    from transformers import AutoTokenizer

    from open_r1.tools.chat import CHATML_TOOLS_TEMPLATE

    folder.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    tokenizer.chat_template = CHATML_TOOLS_TEMPLATE
    tokenizer.save_pretrained(folder)
    for name in MODEL_FILES:
        (folder / name).symlink_to((base_model / name).resolve())
    return folder


def grpo_prompts(rows: list[dict], prompts: list[dict], max_calculations: int | None) -> list[dict]:
    """The GRPO prompts of the rows whose worked solution has at most `max_calculations` calculations (None: all)."""
    if max_calculations is None:
        return prompts
    kept = [prompt for row, prompt in zip(rows, prompts, strict=True) if calculations(row) <= max_calculations]
    if not kept:
        raise UsageError(
            f"GRPO prompts of at most {max_calculations} calculations (--grpo_max_calculations, else "
            f"GSM8KSettings.grpo_max_calculations): none of the {len(rows)} GSM8K-train rows has a "
            "worked solution with that few calculations, so GRPO would have no prompt"
        )
    return kept


def arm_start_models(base_model: pathlib.Path, arms: tuple[str, ...], output_dir: pathlib.Path) -> dict:
    """The model each arm's SFT starts from: SmolLM2 itself, or for the tool arm SmolLM2 with the tool-calling
    template (`tool_template_model`, in `output_dir/base-tools`)."""
    models = {"cot": base_model}
    if "tools" in arms:
        models["tools"] = tool_template_model(base_model, output_dir / "base-tools")
    return models


def convert_train(train_file: pathlib.Path, settings: GSM8KSettings) -> dict:
    """GSM8K-train converted in memory: both arms' SFT traces (`convert`), GRPO's prompts (`grpo_prompts`) and the
    conversion's report; apart from `build_datasets`' writing so that a run can refuse (no GRPO prompt left, another
    run's SFT data under --reuse_sft) before it empties its output folder."""
    rows = load_rows(train_file, limit=settings.num_train)
    conversion = convert(rows)
    prompts = grpo_prompts(rows, conversion.prompts, settings.grpo_max_calculations)
    summary = {
        **conversion.summary(),
        "grpo_prompts": len(prompts),
        "grpo_max_calculations": settings.grpo_max_calculations,
    }
    return {"conversion": conversion, "prompts": prompts, "summary": summary}


def build_datasets(
    folder: pathlib.Path, train_file: pathlib.Path, settings: GSM8KSettings, converted: dict | None = None
) -> dict:
    """Both arms' SFT conversations, the GRPO prompts, and the conversion's report (also in conversion.json), saved
    in `folder` from `converted` (`convert_train`'s; None: converted here)."""
    if converted is None:
        converted = convert_train(train_file, settings)
    conversion, prompts = converted["conversion"], converted["prompts"]
    data = {
        f"sft_{arm}": pipeline.save_train_split(folder / f"sft_{arm}", [{"messages": trace} for trace in traces])
        for arm, traces in (("cot", conversion.cot), ("tools", conversion.tools))
    }
    data["grpo"] = pipeline.save_train_split(folder / "grpo", prompts)
    data["conversion"] = converted["summary"]
    (folder / "conversion.json").write_text(json.dumps(data["conversion"], indent=2) + "\n", encoding="utf-8")
    print(
        f"GSM8K-train: {len(conversion.prompts)} rows, {len(conversion.cot)} SFT traces per arm with "
        f"{conversion.calls} tool calls; {len(conversion.malformed)} malformed annotation(s), "
        f"{len(conversion.rows_left_out)} row(s) left out of SFT; {len(prompts)} GRPO prompts"
        + (
            ""
            if settings.grpo_max_calculations is None
            else f" (at most {settings.grpo_max_calculations} calculations)"
        ),
        flush=True,
    )
    for malformed in conversion.malformed[:20]:
        print(f"  malformed: {malformed}", flush=True)
    return data


def evaluations_calculations_table(
    output_dir: pathlib.Path, test_file: pathlib.Path, found: dict[tuple[str, str], list[dict]]
) -> str:
    """Greedy pass@1 by calculations, and the calculations written beside the worked solutions', of the greedy
    details a run (finished or not) kept under `output_dir`/evals (`found`: `kept_greedy_details`), their problems'
    worked solutions read from `test_file`, and for each arm whose SFT and GRPO models both kept theirs the same
    problem by problem (`written_by_outcome`); "" when none kept details."""
    if not found:
        return ""
    test_rows = load_rows(check_data_file(test_file, "--test_file"))
    calculations_of, worked_calculations_of = (
        calculations_by_id(test_rows),
        worked_calculations_written_by_id(test_rows),
    )
    rows = []
    for (stage, arm), details in found.items():
        unknown = sorted({row["id"] for row in details} - calculations_of.keys())
        if unknown:
            folder = output_dir / "evals" / f"{stage}-{arm}-greedy"
            raise UsageError(f"{folder}: problem id(s) {unknown[:5]} are not in {test_file} (pass its --test_file)")
        breakdown = pass_by_calculations(details, calculations_of, worked_calculations_of)
        rows.append(([stage, GSM8K_ARM_NAMES[arm]], breakdown))
    paired, unpaired = [], []
    for arm in ARMS:
        if ("grpo", arm) in found:
            change = written_by_outcome(found.get(("sft", arm)), found[("grpo", arm)], worked_calculations_of)
            if change is None:
                unpaired.append(GSM8K_ARM_NAMES[arm])
            else:
                paired.append((GSM8K_ARM_NAMES[arm], change))
    return calculations_tables(["stage", "arm"], rows, paired, unpaired)


def run_arm(arm: str, base_model: pathlib.Path, data: dict, output_dir: pathlib.Path, run: dict, seed: int) -> dict:
    """Base evaluation, cold-start SFT, GRPO and their evaluations for one arm; returns the stages and curves. With
    `run["arms_at_once"]` (on a GPU) the SFT checkpoint is evaluated while GRPO trains from it, in its own process. The
    jobs of `run["critical_arm"]` that the run waits for (all but that overlapping evaluation) are critical ones. A
    training that runs out of GPU memory while that evaluation runs starts again, once, when the evaluation has ended
    (results: the stage's `out_of_memory_restart`, whose seconds lost leave out a failed launch before it that is the
    fallback's); a GRPO launch with a way of generating that make gsm8k had not
    run on a GPU when it came in (a compiled decode step, tool rollouts decoded ahead: `untried_generation`) that fails
    otherwise starts again, once, in TRL's eager rounds (`generation_launch_failed`)."""
    settings: GSM8KSettings = run["settings"]
    critical = run.get("critical_arm") == arm
    cpu = run["device"] == "cpu"
    stages, train_seconds, grpo_limit, restarts, fallbacks = {}, {"base": 0.0}, {}, {}, {}
    began_after_fallback = {}  # stage: whether its latest launch began after one with the new ways had failed
    checkpoint, previous = base_model, "base"
    with ThreadPoolExecutor(max_workers=1) as trainer:
        for stage, recipe in (("sft", settings.sft_recipes[arm]), ("grpo", settings.grpo_recipes[arm])):
            trained = output_dir / f"{stage}-{arm}"
            dataset = data[f"sft_{arm}"] if stage == "sft" else data["grpo"]
            log_file = output_dir / "logs" / f"{stage}-{arm}.log"
            arguments = (f"{stage}.py", recipe, checkpoint, dataset, trained, seed, log_file)
            what = f"{GSM8K_ARM_NAMES[arm]}: {stage.upper()}"

            def time_limit(stage=stage) -> tuple[str, ...]:
                if stage != "grpo" or run.get("deadline") is None:
                    return ()
                # Computed once GRPO holds its GPU slot: the wait for one is time GRPO cannot train.
                minutes = grpo_minutes(run["deadline"], run["grpo_evaluation_seconds"], time.time())
                grpo_limit["minutes"] = minutes
                return ("--max_run_minutes", f"{minutes:.2f}")

            def launch(arguments=arguments, stage=stage, log_file=log_file, what=what, time_limit=time_limit) -> float:
                # The new ways until a launch with them has failed: an out-of-memory restart after that runs without.
                plain = {**run, **WITHOUT_NEW_GENERATION}
                tried = run if stage not in fallbacks else plain
                began_after_fallback[stage] = stage in fallbacks
                untried = untried_generation(stage, arm, tried)
                # The critical arm's GRPO follows its SFT at once: SFT's slot is kept for it.
                with job_slot(run.get("gpu_slots"), critical, hand_to_critical=critical and stage == "sft"):
                    started = time.time()
                    try:
                        overrides = stage_overrides(stage, arm, tried)
                        return pipeline.train(*arguments, *overrides, *time_limit(), cpu=cpu)
                    except LaunchFailed as failure:
                        if not untried or failure.out_of_gpu_memory:
                            raise
                        fallbacks[stage] = generation_launch_failed(log_file, what, started, untried)
                    return pipeline.train(*arguments, *stage_overrides(stage, arm, plain), *time_limit(), cpu=cpu)

            # Not the base evaluations during SFT: with the card's beside them, an H100's 80 GB did not hold both.
            evaluated_beside = run["arms_at_once"] and previous != "base"
            beside = JobBeside(f"the {previous} model's evaluation") if evaluated_beside else None

            def train(launch=launch, beside=beside, what=what, log_file=log_file, stage=stage) -> float:
                seconds, restart = launch_beside(launch, beside, log_file, what)
                if restart is not None:
                    # A failed launch before it with the new ways: its seconds are the fallback's, not the restart's.
                    if began_after_fallback[stage]:
                        lost = restart["seconds_lost"] - fallbacks[stage]["seconds_lost"]
                        restart["seconds_lost"] = round(max(0.0, lost), 1)
                    restarts[stage] = restart
                return seconds

            banner = f"{what} (src/open_r1/{stage}.py --config {recipe})"
            if evaluated_beside:
                pipeline.banner(f"{banner}, while the {previous} model is evaluated; its log: {log_file}")
                training = trainer.submit(train)
                evaluation_failed = True
                try:
                    stages[previous] = evaluate_stage(checkpoint, arm, previous, output_dir, run, seed)
                    evaluation_failed = False
                finally:
                    beside.end(failed=evaluation_failed)
                train_seconds[stage] = training.result()
            else:
                pipeline.banner(f"{GSM8K_ARM_NAMES[arm]}: evaluating the {previous} model")
                stages[previous] = evaluate_stage(checkpoint, arm, previous, output_dir, run, seed, critical)
                pipeline.banner(banner)
                train_seconds[stage] = train()
            checkpoint, previous = trained, stage
    pipeline.banner(f"{GSM8K_ARM_NAMES[arm]}: evaluating the {previous} model")
    stages[previous] = evaluate_stage(checkpoint, arm, previous, output_dir, run, seed, critical)
    greedy_details = arm_greedy_details(output_dir, arm, stages)
    stages["grpo"]["greedy_change_from_sft"] = greedy_change(*greedy_details)
    if run.get("test_worked_calculations_written") is not None:
        worked_calculations_of = run["test_worked_calculations_written"]
        stages["grpo"]["written_by_outcome"] = written_by_outcome(*greedy_details, worked_calculations_of)
    for stage, seconds in train_seconds.items():
        stages[stage]["train_seconds"] = seconds
    for stage, restart in restarts.items():
        stages[stage]["out_of_memory_restart"] = restart
    for stage, fallback in fallbacks.items():
        stages[stage]["generation_launch_failed"] = fallback
    grpo_state = json.loads((checkpoint / "trainer_state.json").read_text())
    grpo_steps = grpo_state["global_step"]
    stages["grpo"]["steps"], stages["grpo"]["max_steps"] = grpo_steps, grpo_state.get("max_steps")
    stages["grpo"]["max_run_minutes"] = grpo_limit.get("minutes")
    stages["grpo"]["step_profile"] = summarise_step_profile(grpo_state["log_history"])
    stages["grpo"]["groups_without_spread"] = groups_without_spread(grpo_state["log_history"])
    stages["grpo"]["importance_ratio_clipped"] = importance_ratio_clipped(grpo_state["log_history"])
    held_out = [
        {
            "step": step,
            "label": stage.upper(),
            "pass@1": stages[stage]["sampled_pass@1"],
            "pass@1_stderr": stages[stage]["sampled_pass@1_stderr"],
        }
        for step, stage in ((0, "sft"), (grpo_steps, "grpo"))
    ]
    curves = grpo_curves(
        checkpoint / "trainer_state.json",
        output_dir / f"curves-{arm}.png",
        held_out,
        title=f"GRPO on GSM8K-train, {GSM8K_ARM_NAMES[arm]} (sampled as in training)",
    )
    return {"stages": stages, "curves": curves, "held_out": held_out}


def evaluation_settings(
    settings: GSM8KSettings,
    arms: tuple[str, ...],
    device: str,
    fast: bool,
    train_file,
    test_file,
    arms_at_once: bool,
    compile_decoding: bool = False,
) -> dict:
    """What `evaluate_stage` reads of a run: each arm's token budget and (tool arm) tool settings from its GRPO recipe,
    the test problems' calculations and the `=` signs their worked solutions write, whether jobs share the GPU
    (`arms_at_once`, which also runs a stage's two evaluations at once and the SFT model's beside GRPO), and whether
    the arms' evaluations decode compiled."""
    grpo_recipes = {arm: read_recipe(str(pipeline.REPO_ROOT / settings.grpo_recipes[arm])) for arm in arms}
    test_rows = load_rows(test_file, limit=settings.num_test)
    return {
        "settings": settings,
        "fast": fast,
        "device": device,
        "arms_at_once": arms_at_once,
        "train_file": train_file,
        "test_file": test_file,
        "test_calculations": calculations_by_id(test_rows),
        "test_worked_calculations_written": worked_calculations_written_by_id(test_rows),
        "max_new_tokens": {
            arm: settings.eval_max_new_tokens or recipe["max_completion_length"]
            for arm, recipe in grpo_recipes.items()
        },
        "tool_settings": {
            arm: recipe_tool_settings(recipe) for arm, recipe in grpo_recipes.items() if recipe.get("tools")
        },
        "compile_decoding": compile_decoding,
    }


def sft_only(
    output_dir: pathlib.Path,
    arms: tuple[str, ...],
    seed: int,
    fast: bool,
    train_file: pathlib.Path,
    test_file: pathlib.Path | None = None,
    compile_decoding: bool = False,
) -> dict:
    """Each arm's cold-start SFT alone, one arm after the other, into `output_dir/sft-<arm>`, as `run` trains it; no
    GRPO. For what starts from an SFT model without the rest of the run: GRPO throughput
    (scripts/benchmarks/grpo_throughput.py), a GRPO run of one's own. With `test_file` (`--evaluate`) each SFT model
    is also evaluated as `run` evaluates it (on a GPU its greedy and sampled evaluations at once), and results.json
    and report.md record them, for a later run's `--reuse_sft`."""
    import torch

    settings = GSM8K_FAST if fast else GSM8K_FULL
    started = time.perf_counter()
    provenance = provenance_record()
    check_data_file(train_file, "--train_file")
    if test_file is not None:
        check_data_file(test_file, "--test_file")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if compile_decoding:
        check_compile_decoding(device)
    run = {"device": device, "fast": fast}
    if test_file is not None:
        run.update(
            evaluation_settings(
                settings, arms, device, fast, train_file, test_file, device == "cuda", compile_decoding
            )
        )
    # Everything that can refuse before the earlier run's folder is emptied: the model's folder, the conversion.
    base_model, _ = get_pretrained_model("smollm2")
    converted = convert_train(train_file, settings)
    # Its GRPO models too (trained from the SFT this run replaces) and its curves.
    pipeline.prepare_output_dir(output_dir, ["base-tools", *CHECKPOINTS])
    pipeline.banner(f"SmolLM2-135M-Instruct: the GSM8K SFT of {', '.join(arms)} (seed {seed}, {device})")
    data = build_datasets(output_dir / "datasets", train_file, settings, converted)
    models = arm_start_models(base_model, arms, output_dir)
    trained, stages = {}, {}
    with contextlib.ExitStack() as stack:
        run["gpu_slots"] = gpu_job_slots(stack, device, arms_at_once=True)
        for arm in arms:
            trained[arm] = output_dir / f"sft-{arm}"
            pipeline.banner(f"{GSM8K_ARM_NAMES[arm]}: SFT (src/open_r1/sft.py --config {settings.sft_recipes[arm]})")
            log_file = output_dir / "logs" / f"sft-{arm}.log"
            arguments = (settings.sft_recipes[arm], models[arm], data[f"sft_{arm}"], trained[arm], seed, log_file)
            seconds = pipeline.train("sft.py", *arguments, *stage_overrides("sft", arm, run), cpu=device == "cpu")
            print(f"{GSM8K_ARM_NAMES[arm]}: SFT model in {trained[arm]} after {seconds:.0f} s", flush=True)
            if test_file is not None:
                pipeline.banner(f"{GSM8K_ARM_NAMES[arm]}: evaluating the sft model")
                stages[arm] = {"sft": evaluate_stage(trained[arm], arm, "sft", output_dir, run, seed)}
                stages[arm]["sft"]["train_seconds"] = seconds
    if test_file is not None:
        results = {
            "sft_only": True,
            "arms": stages,
            "model": "smollm2",
            "seed": seed,
            "fast": fast,
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "CPU",
            "train_file": str(train_file),
            "test_file": str(test_file),
            "test_problems": len(run["test_calculations"]),
            "eval_samples": settings.eval_samples,
            "recipes": [settings.sft_recipes[arm] for arm in arms],
            "sft_recipe_sha256": recipe_digests(settings, arms),
            "conversion": data["conversion"],
            "compile_decoding": compile_decoding,
            "total_seconds": time.perf_counter() - started,
            **with_end_load(provenance),
            # The stages ran as new processes, each at whatever was checked out when it started.
            "commit_at_end": git_commit(),
        }
        table = gsm8k_evaluations_table(output_dir)
        report = (
            f"# `make gsm8k`'s SFT alone, evaluated (seed {seed}, {results['device']})\n\n{table}\n\n"
            f"For a later run's `--reuse_sft {output_dir}`: the SFT of {', '.join(arms)} trained as `make gsm8k` "
            f"trains it, in {results['total_seconds']:.0f} s with its evaluations.\n"
        )
        pipeline.write_results(output_dir, results, report, table, "results.json, report.md")
    return {arm: str(folder) for arm, folder in trained.items()}


def run(
    output_dir: pathlib.Path,
    arms: tuple[str, ...],
    seed: int,
    fast: bool,
    train_file: pathlib.Path = GSM8K_TRAIN_FILE,
    test_file: pathlib.Path = GSM8K_TEST_FILE,
    arms_at_once: bool | None = None,
    reuse_base: pathlib.Path | None = None,
    use_vllm: bool = False,
    time_budget_minutes: float | None = None,
    grpo_max_steps: int | None = None,
    reuse_sft: pathlib.Path | None = None,
    compile_generation: bool = False,
    compile_decoding: bool = False,
    grpo_learning_rate: float | None = None,
    grpo_max_calculations: int | None = None,
    grpo_num_generations: int | None = None,
) -> dict:
    """Runs the arms (`arms_at_once`: in two processes at the same time; None: so on a GPU, one after the other on
    a CPU) and writes results.json, report.md and the curves in `output_dir`. Under `time_budget_minutes` each arm's
    GRPO trains the steps that leave time for the GRPO evaluations before the budget ends (`time_budget`)."""
    import torch

    settings = GSM8K_FAST if fast else GSM8K_FULL
    if grpo_max_calculations is not None:
        settings = dataclasses.replace(settings, grpo_max_calculations=grpo_max_calculations)
    if grpo_num_generations is not None:
        check_grpo_num_generations(settings, arms, fast, grpo_num_generations)
    started, started_at = time.perf_counter(), time.time()
    provenance = provenance_record()
    check_data_file(train_file, "--train_file")
    check_data_file(test_file, "--test_file")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if use_vllm:
        check_vllm(device)
    if compile_generation:
        check_compile_generation(device, use_vllm)
    if compile_decoding:
        check_compile_decoding(device)
    if arms_at_once is None:
        arms_at_once = device == "cuda"
    budget = time_budget(settings, arms, arms_at_once, started_at, time_budget_minutes)
    evaluation = evaluation_settings(
        settings, arms, device, fast, train_file, test_file, arms_at_once, compile_decoding
    )
    if reuse_base is not None:
        check_reusable(reuse_base, arms, evaluation, seed)
    earlier_sft = check_reusable_sft(reuse_sft, arms, evaluation, seed) if reuse_sft is not None else None
    # Everything else that can refuse, before the earlier run's folder is emptied (a refusal after it had deleted
    # that run's results): the model's folder, GRPO's prompts, the SFT data of the run --reuse_sft names.
    base_model, model_origin = get_pretrained_model("smollm2")
    converted = convert_train(train_file, settings)
    if earlier_sft is not None:
        check_same_conversion(earlier_sft, converted["summary"], reuse_sft)
    pipeline.prepare_output_dir(output_dir, ["base-tools", *CHECKPOINTS])

    pipeline.banner(f"SmolLM2-135M-Instruct and GSM8K (seed {seed}, {device}{', FAST' if fast else ''})")
    data = build_datasets(output_dir / "datasets", train_file, settings, converted)
    run_settings = {
        **evaluation,
        "critical_arm": CRITICAL_ARM if CRITICAL_ARM in arms else arms[0],
        "reuse_base": reuse_base,
        "reuse_sft": reuse_sft,
        "use_vllm": use_vllm,
        "compile_generation": compile_generation,
        "grpo_max_steps": grpo_max_steps,
        "grpo_learning_rate": grpo_learning_rate,
        "grpo_num_generations": grpo_num_generations,
        **budget,
    }
    models = arm_start_models(base_model, arms, output_dir)

    jobs = {
        "card": (evaluate_card_protocol, (base_model, output_dir, run_settings, seed)),
        **{arm: (run_arm, (arm, models[arm], data, output_dir, run_settings, seed)) for arm in arms},
    }
    if arms_at_once:
        pipeline.banner(f"the arms and the card's protocol at once on {device}, each in its own process")
    else:
        pipeline.banner(f"the base model under its card's protocol ({CARD_SHOTS}-shot GSM8K)")
    with contextlib.ExitStack() as stack:
        run_settings["gpu_slots"] = gpu_job_slots(stack, device, arms_at_once)
        outcomes = pipeline.run_jobs(jobs, output_dir / "logs", at_once=arms_at_once)
    card = outcomes.pop("card")
    provenance = with_end_load(provenance)
    results = {
        "arms": {arm: outcome["stages"] for arm, outcome in outcomes.items()},
        "grpo_curves": {arm: outcome["curves"] for arm, outcome in outcomes.items()},
        "held_out": {arm: outcome["held_out"] for arm, outcome in outcomes.items()},
        "card_protocol": card,
        "model": "smollm2",
        "model_origin": model_origin,
        "model_parameters": count_parameters(base_model),
        "seed": seed,
        "fast": fast,
        "base_reused_from": str(reuse_base) if reuse_base else None,
        "sft_reused_from": str(reuse_sft) if reuse_sft else None,
        # The GPU time of the SFT evaluations taken from that run, which this run's total leaves out.
        "sft_reused_seconds": sum(earlier_sft["arms"][arm]["sft"].get("eval_seconds", 0.0) for arm in arms)
        if earlier_sft
        else None,
        "sft_recipe_sha256": recipe_digests(settings, arms),
        "time_budget_minutes": time_budget_minutes,
        "grpo_max_steps": grpo_max_steps,
        # None: each GRPO recipe's own learning_rate and num_generations; GSM8KSettings' calculations (the
        # conversion has the one used).
        "grpo_learning_rate": grpo_learning_rate,
        "grpo_num_generations": grpo_num_generations,
        "grpo_max_calculations": grpo_max_calculations,
        "arms_at_once": arms_at_once,
        "grpo_generation": grpo_generation_used(run_settings, arms),
        # Per arm: the tokens per generate call its GRPO decoded tool rollouts ahead in as it trained (None: TRL's
        # rounds, vLLM's); grpo_generation says how the arms were launched.
        "grpo_tool_rollout_chunk_tokens": {
            arm: grpo_chunk_tokens_trained(run_settings, arm, outcome["stages"]["grpo"])
            for arm, outcome in outcomes.items()
        },
        "compile_decoding": compile_decoding,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "CPU",
        "train_file": str(train_file),
        "test_file": str(test_file),
        "test_problems": settings.num_test or sum(1 for line in test_file.open(encoding="utf-8") if line.strip()),
        "eval_samples": settings.eval_samples,
        "eval_max_new_tokens": run_settings["max_new_tokens"],
        "recipes": [recipe for arm in arms for recipe in (settings.sft_recipes[arm], settings.grpo_recipes[arm])],
        "conversion": data["conversion"],
        "total_seconds": time.perf_counter() - started,
        **provenance,
        # SFT, GRPO and the evaluations ran as new processes, each at whatever was checked out when it started: the
        # report says so where this differs from the commit at the start.
        "commit_at_end": git_commit(),
    }
    command = gsm8k_command(results)
    report = gsm8k_report(results, command)
    pipeline.write_results(output_dir, results, report, gsm8k_table(results), "results.json, report.md, curves-*.png")
    return results
