"""How `make gsm8k` launches each arm's training: what each stage adds to its recipe (`stage_overrides`: the CPU's
settings, FAST's, vLLM's or the compiled decode step's, the tool arm's GRPO decoding its rollouts ahead on a GPU
(`grpo_tool_rollout_chunk_tokens`), and the GRPO levers `--grpo_max_steps`,
`--grpo_learning_rate`, `--grpo_num_generations`), the minutes GRPO may train under `--time_budget_minutes`
(`time_budget`, `grpo_minutes`), the checks, before anything loads, of the options that change a launch
(`check_compile_generation`, `check_compile_decoding`, `check_vllm`, `check_grpo_num_generations`, which reads an
arm's `generation_rows`), and the record of a GRPO launch with a new way of generating (`untried_generation`) that
failed and ran again without it (`generation_launch_failed`).

    overrides = stage_overrides("grpo", "tools", run)   # appended to `accelerate launch ... grpo.py --config <recipe>`
    budget = time_budget(settings, arms, arms_at_once, started_at, minutes)   # the run's deadline
    minutes = grpo_minutes(budget["deadline"], budget["grpo_evaluation_seconds"], time.time())

Not covered: running the launches and the arms (`open_r1.demo.gsm8k`), the recipes themselves
(recipes/SmolLM2-135M-Instruct), the time limit inside the trainer (`open_r1.utils.time_limit`).
"""

import pathlib
import time

from open_r1.demo import pipeline
from open_r1.demo.settings import (
    GSM8K_ARM_NAMES,
    GSM8K_CPU_OVERRIDES,
    GSM8K_FAST_GRPO_OVERRIDES,
    GSM8K_FAST_SFT_OVERRIDES,
    GSM8K_VLLM_GRPO_OVERRIDES,
    GSM8KSettings,
)
from open_r1.usage import UsageError, read_recipe

# Under --time_budget_minutes, the least GRPO is given (max_run_minutes): it trains one step, the least it can.
MIN_GRPO_MINUTES = 0.01


def check_compiles_here(option: str, what: str, device: str) -> None:
    """`option` compiles `what` (a decode step), which transformers does on a GPU only; said in one line before
    anything loads."""
    if device != "cuda":
        raise UsageError(
            f"{option}: transformers compiles {what} on a GPU only, and this machine has none (leave {option} out)"
        )


def check_compile_generation(device: str, use_vllm: bool) -> None:
    """`--compile_generation` needs a GPU and transformers generation; said in one line before anything loads."""
    check_compiles_here("--compile_generation", "the decode step", device)
    if use_vllm:
        raise UsageError("--compile_generation has no effect with --use_vllm: vLLM decodes by itself")


def check_compile_decoding(device: str) -> None:
    """`--compile_decoding` needs a GPU; said in one line before anything loads."""
    check_compiles_here("--compile_decoding", "the evaluator's decode step", device)


def check_vllm(device: str) -> None:
    """`--use_vllm` needs a GPU and vllm installed; said in one line before anything loads."""
    from open_r1.utils.gpu_packages import missing_gpu_package

    if device != "cuda":
        raise UsageError("--use_vllm: vLLM generates on a GPU and this machine has none (leave --use_vllm out)")
    problem = missing_gpu_package("vllm", "--use_vllm", "leave --use_vllm out to generate with transformers")
    if problem:
        raise UsageError(problem)


def generation_rows(settings: GSM8KSettings, arm: str, fast: bool) -> int:
    """The completions one GRPO generation of `arm` samples, as TRL counts them on one process: its recipe's
    `generation_batch_size`, else `per_device_train_batch_size` x `steps_per_generation` (else
    `gradient_accumulation_steps`), after FAST's overrides."""
    recipe = read_recipe(str(pipeline.REPO_ROOT / settings.grpo_recipes[arm]))
    if fast:
        overrides = GSM8K_FAST_GRPO_OVERRIDES
        recipe.update({flag.removeprefix("--"): value for flag, value in zip(overrides[::2], overrides[1::2])})
    if recipe.get("generation_batch_size"):
        return int(recipe["generation_batch_size"])
    steps = recipe.get("steps_per_generation") or recipe.get("gradient_accumulation_steps", 1)
    return int(recipe["per_device_train_batch_size"]) * int(steps)


def check_grpo_num_generations(settings: GSM8KSettings, arms: tuple[str, ...], fast: bool, num_generations: int):
    """`--grpo_num_generations` refused before anything trains where it does not divide an arm's generation, which
    TRL would refuse only when that arm's GRPO starts, after its SFT."""
    for arm in arms:
        rows = generation_rows(settings, arm, fast)
        if rows % num_generations:
            divisors = [n for n in range(2, rows + 1) if rows % n == 0]
            raise UsageError(
                f"--grpo_num_generations: {GSM8K_ARM_NAMES[arm]}'s GRPO generates {rows} completions at a time "
                f"({settings.grpo_recipes[arm]}{', FAST' if fast else ''}), not a multiple of {num_generations} "
                f"(expected one of {', '.join(map(str, divisors))})"
            )


def grpo_minutes(deadline: float, evaluation_seconds: float, now: float) -> float:
    """The minutes (to the hundredth) a GRPO run launched `now` may train so that the GRPO evaluations,
    `evaluation_seconds` long, end by `deadline` (seconds since the epoch); at least MIN_GRPO_MINUTES, in which GRPO
    trains one step."""
    minutes = round((deadline - now - evaluation_seconds) / 60, 2)
    if minutes < MIN_GRPO_MINUTES:
        print(
            f"--time_budget_minutes: {(deadline - now) / 60:.1f} min left, less than the GRPO model's evaluation "
            f"needs ({evaluation_seconds / 60:.1f} min); GRPO trains one step",
            flush=True,
        )
    return max(minutes, MIN_GRPO_MINUTES)


def time_budget(
    settings: GSM8KSettings, arms: tuple[str, ...], arms_at_once: bool, started_at: float, minutes: float | None
) -> dict:
    """The run's `deadline` (None: no budget) and the seconds every arm's GRPO leaves before it for the GRPO
    evaluations: the longest arm's, since a GRPO still training would hold a GPU slot that the critical arm's two
    evaluations need at once. Refused for both arms one after the other, where the first arm's GRPO would be given
    the time the second arm's whole chain needs."""
    if minutes is None:
        return {"deadline": None}
    if len(arms) > 1 and not arms_at_once:
        raise UsageError(
            "--time_budget_minutes: the arms run one after the other here; add --arms_at_once or run one --arm"
        )
    return {
        "deadline": started_at + 60 * minutes,
        "grpo_evaluation_seconds": max(settings.grpo_evaluation_seconds[arm] for arm in arms),
    }


def grpo_tool_rollout_chunk_tokens(run: dict, arm: str) -> int | None:
    """The tokens per generate call in which `arm`'s GRPO decodes its tool rollouts ahead of TRL's rounds
    (`tool_rollout_chunk_tokens`), or None where it keeps the rounds: `GSM8KSettings.grpo_tool_rollout_chunk_tokens`
    for an arm whose GRPO recipe calls tools, on a GPU with transformers generation (compiled or not), unless the run
    says `tool_rollouts_ahead: False` (`WITHOUT_NEW_GENERATION`)."""
    settings: GSM8KSettings = run["settings"]
    chunk = settings.grpo_tool_rollout_chunk_tokens
    if chunk is None or run["device"] != "cuda" or run.get("use_vllm") or run.get("tool_rollouts_ahead") is False:
        return None  # tool_rollouts_ahead: False only after a launch with it failed (WITHOUT_NEW_GENERATION)
    return chunk if read_recipe(str(pipeline.REPO_ROOT / settings.grpo_recipes[arm])).get("tools") else None


def grpo_generation_used(run: dict, arms: tuple[str, ...]) -> str:
    """How the run's GRPO was launched to generate, as results.json and report.md say it: its engine first, then how
    it decoded (an arm whose first launch failed and started again without a way says so in its
    `generation_launch_failed`)."""
    if run.get("use_vllm"):
        return "vLLM (colocated)"
    described = ["transformers", *(["compiled decode step"] if run.get("compile_generation") else [])]
    for arm in arms:
        chunk = grpo_tool_rollout_chunk_tokens(run, arm)
        if chunk is not None:
            described.append(f"{GSM8K_ARM_NAMES[arm]} rollouts decoded ahead in chunks of {chunk} tokens")
    return ", ".join(described)


def stage_overrides(stage: str, arm: str, run: dict) -> tuple[str, ...]:
    """What `arm`'s SFT or GRPO launch adds to its recipe: the CPU's settings, vLLM's or the compiled decode step's
    (GRPO), decoding tool rollouts ahead (GRPO, `grpo_tool_rollout_chunk_tokens`), FAST's, and `--grpo_max_steps`'s,
    `--grpo_learning_rate`'s and `--grpo_num_generations`'s."""
    hardware = GSM8K_CPU_OVERRIDES if run["device"] == "cpu" else ()
    generation = GSM8K_VLLM_GRPO_OVERRIDES if stage == "grpo" and run.get("use_vllm") else ()
    if stage == "grpo" and run.get("compile_generation"):
        length = run["settings"].compiled_max_prompt_length
        generation = ("--compile_generation", "true", "--max_prompt_length", str(length))
    chunk = grpo_tool_rollout_chunk_tokens(run, arm) if stage == "grpo" else None
    if chunk is not None:
        generation = (*generation, "--tool_rollout_chunk_tokens", str(chunk))
    fast = (GSM8K_FAST_SFT_OVERRIDES if stage == "sft" else GSM8K_FAST_GRPO_OVERRIDES) if run["fast"] else ()
    steps = ("--max_steps", str(run["grpo_max_steps"])) if stage == "grpo" and run.get("grpo_max_steps") else ()
    rate = run.get("grpo_learning_rate")
    learning_rate = ("--learning_rate", repr(rate)) if stage == "grpo" and rate is not None else ()
    groups = run.get("grpo_num_generations")
    num_generations = ("--num_generations", str(groups)) if stage == "grpo" and groups is not None else ()
    return (*hardware, *generation, *fast, *steps, *learning_rate, *num_generations)


# GRPO's ways of generating that make gsm8k had not run on a GPU when they came in (`untried_generation`), by the run
# setting that turns each on, as results.json names them, and as the report says them.
NEW_GENERATION = {"compile_generation": "a compiled decode step", "tool_rollouts_ahead": "tool rollouts decoded ahead"}
# A run's settings with neither: TRL's eager rounds.
WITHOUT_NEW_GENERATION = dict.fromkeys(NEW_GENERATION, False)


def untried_generation(stage: str, arm: str, run: dict) -> tuple[str, ...]:
    """The `NEW_GENERATION` ways (their run settings) that `arm`'s `stage` launch takes: GRPO's compiled decode step
    (`--compile_generation`), its tool rollouts decoded ahead (`grpo_tool_rollout_chunk_tokens`). A launch with them
    that fails starts again without them (`generation_launch_failed`)."""
    if stage != "grpo":
        return ()
    compiled = ("compile_generation",) if run.get("compile_generation") else ()
    ahead = ("tool_rollouts_ahead",) if grpo_tool_rollout_chunk_tokens(run, arm) is not None else ()
    return (*compiled, *ahead)


def new_generation_said(ways, conjunction: str = "or") -> str:
    """`untried_generation`'s ways as words: "a compiled decode step or tool rollouts decoded ahead"."""
    return f" {conjunction} ".join(NEW_GENERATION[way] for way in ways)


def grpo_chunk_tokens_trained(run: dict, arm: str, grpo: dict) -> int | None:
    """The chunk in which `arm`'s GRPO (its results, `grpo`) decoded its tool rollouts ahead as it trained: None where
    it kept TRL's rounds, or its launch decoding ahead failed and it started again without."""
    went_without = (grpo.get("generation_launch_failed") or {}).get("without", ())
    return None if "tool_rollouts_ahead" in went_without else grpo_tool_rollout_chunk_tokens(run, arm)


def generation_launch_failed(log_file: pathlib.Path, what: str, started: float, untried: tuple[str, ...]) -> dict:
    """The record of a launch with the `untried` ways of generating that failed, its log kept as
    `<stem>.generation-failed.log` (the next launch writes its own), said in one line: the stage starts again without
    them, in TRL's eager rounds, rather than losing a lease's GRPO."""
    kept = log_file.with_name(f"{log_file.stem}.generation-failed.log")
    if log_file.exists():
        log_file.replace(kept)
    seconds = round(time.time() - started, 1)
    print(
        f"{what} failed after {seconds:.0f} s with {new_generation_said(untried, 'and')}; it starts again without "
        f"{'them' if len(untried) > 1 else 'it'}, in TRL's eager rounds (the failed launch's log: {kept})",
        flush=True,
    )
    return {"seconds_lost": seconds, "log": str(kept), "without": list(untried)}
