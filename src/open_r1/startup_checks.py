"""What the training scripts check before any model loads, beyond TRL's own checks; each failure is a `UsageError`.

    check_ignored_fields(values, explicit, defaults)          # RecipeParser, once the recipe is parsed
    check_soft_overlong_reach(values)                         # likewise
    check_continuous_batching_precision(values)               # likewise
    check_reward_weights(values)                              # likewise
    check_mixture_test_split(values)                          # likewise
    check_sft_dataset(dataset, script_args, training_args)    # sft.py, once the dataset is loaded
    check_grpo_dataset(dataset, script_args, training_args)   # grpo.py, likewise
    check_sft_lengths(trainer.train_dataset, len(train_dataset), training_args)  # sft.py, once the trainer is built
    check_vllm_installed(training_args)                       # start_run, before anything else
    check_remote_sandboxes_run(script_args)                   # grpo.py, before the model loads

- `check_ignored_fields`: a field the recipe or command line sets (to other than its default) although the
  chosen mode never reads it, e.g. `vllm_gpu_memory_utilization` with `use_vllm: false`, `cosine_max_len` without
  the `cosine` reward, `vllm_enable_sleep_mode` with `vllm_mode: server`, a `python_tool_*` field without `tools`,
  a `doctor_*` field with `doctor: false`, `dynamic_sampling_max_rounds` without `dynamic_sampling: true`,
  `wandb_project` without `report_to: wandb`, `compile_generation` with vLLM. The error names the field and the one
  that decides the mode; silently training without the setting is worse.
- `check_soft_overlong_reach`: `soft_overlong_punishment` whose ramp starts beyond `max_completion_length`, so it
  pays 0 for every completion.
- `check_reward_weights`: one weight per reward, not all of them 0 (a single 0 is named in a warning).
- `check_mixture_test_split`: a mixture's `test_split_size` under `eval_strategy: no` (its rows would leave training
  and never be evaluated).
- `check_continuous_batching_precision`: `use_transformers_continuous_batching` in mixed precision over float32
  weights without DeepSpeed: TRL 1.16 casts the policy to bf16/fp16 in place before generating and never back, so
  the run would go on updating half-precision weights.
- `check_sft_dataset`: the columns TRL's SFTTrainer can read (`messages` conversations, `prompt` + `completion`,
  or `dataset_text_field`), and conversations when `assistant_only_loss` is set; a conversation's turns have the
  keys TRL reads under its column (`messages`: role/content; ShareGPT's `conversations`: from/value, which TRL
  renames), and no ShareGPT role names (`human`, `gpt`), which it keeps.
- `check_grpo_dataset`: `dataset_prompt_column` and the columns the built-in rewards of `reward_funcs` read
  (`REWARD_COLUMNS`: `solution` or `answer` for accuracy, `verification_info` for code, ...); blank prompts: an
  error when most are (the wrong column), else a warning naming them; a training split with fewer prompts than one
  generation batch draws (TRL keeps only whole batches: no step would train, and the run would exit 0).
- `check_reward_columns`: once the rewards are built, the columns a reward added to `REWARD_FUNCS_REGISTRY` reads:
  each parameter of its function without a default that GRPOTrainer does not pass itself (`TRAINER_REWARD_KEYWORDS`).
- `check_sft_lengths`: the rows SFT's `max_length` cuts or drops (TRL drops a row cut before its first assistant
  token without a word): an error when none is left, else a warning with the counts.
- `check_vllm_installed`: `use_vllm: true` without vLLM.
- `check_remote_sandboxes_run`: an E2B or Morph sandbox the code rewards or the python tool use runs `print(1)`.
Column errors list the columns found and the ones expected. The tokenizer-dependent start-up check of GRPO,
`check_think_prefill`, lives beside the tokenizer in `open_r1.utils.model_utils`.

Not covered: the other values inside the columns (a reward that cannot judge a row says so while training, and
the GRPO doctor reads the gold answers at start-up).
"""

import functools
import inspect
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trl.data_utils import is_conversational

from open_r1.doctor.checks import gold_column
from open_r1.rewards import (
    ACCURACY_REWARD_NAMES,
    CODE_REWARD_NAMES,
    REWARD_DESCRIPTIONS,
    SANDBOX_PROVIDER_FIELDS,
    THINK_PREFILLED_READERS,
    call_parameters,
    check_reward_names,
)
from open_r1.rewards._completions import GOLD_COLUMNS
from open_r1.usage import UsageError, did_you_mean, main_process, one_line

logger = logging.getLogger(__name__)

# Each reward parameter of GRPOScriptArguments -> the rewards of REWARD_FUNCS_REGISTRY that read it (a test checks
# this against the registry).
REWARD_PARAMETERS: dict[str, tuple[str, ...]] = {
    "think_prefilled": THINK_PREFILLED_READERS,
    **dict.fromkeys(
        (
            "cosine_min_value_wrong",
            "cosine_max_value_wrong",
            "cosine_min_value_correct",
            "cosine_max_value_correct",
            "cosine_max_len",
        ),
        ("cosine",),
    ),
    **dict.fromkeys(("repetition_n_grams", "repetition_max_penalty", "repetition_language"), ("repetition_penalty",)),
    **dict.fromkeys(("max_completion_len", "soft_punish_cache"), ("soft_overlong_punishment",)),
    **dict.fromkeys(("reward_num_workers", "reward_timeout_seconds"), ACCURACY_REWARD_NAMES),
    "code_language": ("code", "binary_code", "code_format"),
    "code_scoring_mode": ("code", "cf_code"),
    "code_test_batch_size": CODE_REWARD_NAMES,
    **SANDBOX_PROVIDER_FIELDS,
}

# Columns that usually hold a dataset's problems, suggested for a dataset_prompt_column the dataset lacks.
PROMPT_COLUMNS = ("problem", "question", "prompt", "query", "instruction", "input")

# Each reward -> the dataset columns it reads, each entry a tuple of alternatives (one of them must be there).
# Rewards not listed read only the completions. A test checks this against the rewards themselves.
REWARD_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    **dict.fromkeys(ACCURACY_REWARD_NAMES, (GOLD_COLUMNS,)),
    "code": (("verification_info",),),
    "binary_code": (("verification_info",),),
    "ioi_code": (("verification_info", "test_names"),),
    "cf_code": (("official_tests",),),
}

# The keywords TRL 1.16's GRPOTrainer._calculate_rewards passes a reward function itself (`environments` only with
# tools); every other keyword is a dataset column. A test reads them from TRL's source.
TRAINER_REWARD_KEYWORDS = (
    "prompts",
    "completions",
    "completion_ids",
    "trainer_state",
    "log_extra",
    "log_metric",
    "environments",
)
# Dataset columns no reward receives as a keyword, and why.
WITHHELD_COLUMNS = {
    "prompt": "GRPOTrainer keeps the 'prompt' column to itself and passes the prompts as 'prompts'",
    "completion": "GRPOTrainer keeps a 'completion' column to itself and passes the completions as 'completions'",
    "messages": "grpo.py drops a 'messages' column (it would hand the trainer the answers)",
}


@dataclass(frozen=True)
class ModeOnlyField:
    """Fields that act only in one mode: `applies(name)` picks them, `switches` are the fields that choose the mode
    and `active(values)` says whether the parsed values turn it on; `needs` says what does, and `turn_on` how (for
    the error; by default, changing the switches)."""

    applies: Callable[[str], bool]
    switches: tuple[str, ...]
    active: Callable[[Mapping[str, Any]], bool]
    needs: str
    turn_on: str = ""


def _shown(value: Any) -> str:
    """`value` as a recipe writes it."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _one_of(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _any_of(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _as_list(value: Any) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _with_rewards(rewards: tuple[str, ...]) -> Callable[[Mapping[str, Any]], bool]:
    return lambda values: bool(set(rewards) & set(_as_list(values["reward_funcs"])))


# The lr_scheduler_type values transformers 5.23's get_scheduler builds without reading the warmup.
SCHEDULERS_WITHOUT_WARMUP = ("constant", "reduce_lr_on_plateau", "greedy")
MODE_ONLY_FIELDS: tuple[ModeOnlyField, ...] = (
    ModeOnlyField(
        applies=lambda name: name.startswith("vllm_"),
        switches=("use_vllm",),
        active=lambda values: bool(values["use_vllm"]),
        needs="use_vllm: true",
    ),
    ModeOnlyField(
        # TRL puts only the engine it starts itself (colocated) to sleep; a vLLM server is started apart.
        applies=lambda name: name == "vllm_enable_sleep_mode",
        switches=("vllm_mode",),
        active=lambda values: values["vllm_mode"] == "colocate",
        needs="vllm_mode: colocate",
    ),
    ModeOnlyField(
        applies=lambda name: name.startswith("python_tool_"),
        switches=("tools",),
        active=lambda values: bool(values["tools"]),
        needs="tools: [python]",
    ),
    ModeOnlyField(
        # vLLM schedules each request by itself: no round waits for another row's turn.
        applies=lambda name: name == "tool_rollout_chunk_tokens",
        switches=("tools", "use_vllm"),
        active=lambda values: bool(values["tools"]) and not values["use_vllm"],
        needs="tools: [python] and use_vllm: false",
    ),
    ModeOnlyField(
        # vLLM and continuous batching have their own decoding; the field compiles transformers' generate().
        applies=lambda name: name == "compile_generation",
        switches=("use_vllm", "use_transformers_continuous_batching"),
        active=lambda values: not values["use_vllm"] and not values["use_transformers_continuous_batching"],
        needs="use_vllm: false and use_transformers_continuous_batching: false",
    ),
    ModeOnlyField(
        applies=lambda name: name == "code_num_workers",
        switches=("reward_funcs", "tools"),
        active=lambda values: bool(values["tools"]) or _with_rewards(CODE_REWARD_NAMES)(values),
        needs=f"{_one_of(CODE_REWARD_NAMES)} in reward_funcs, or tools",
        turn_on=f"add {_any_of(CODE_REWARD_NAMES)} to reward_funcs, or set tools: [python]",
    ),
    ModeOnlyField(
        applies=lambda name: name in ("wandb_entity", "wandb_project", "wandb_run_group"),
        switches=("report_to",),
        active=lambda values: bool({"wandb", "all"} & set(_as_list(values["report_to"]))),
        needs="report_to: [wandb]",
    ),
    ModeOnlyField(
        applies=lambda name: name.startswith("doctor_"),
        switches=("doctor",),
        active=lambda values: bool(values["doctor"]),
        needs="doctor: true",
    ),
    ModeOnlyField(
        applies=lambda name: name == "doctor_tool_error_share",
        switches=("tools",),
        active=lambda values: bool(values["tools"]),
        needs="tools: [python]",
    ),
    ModeOnlyField(
        applies=lambda name: name == "dynamic_sampling_max_rounds",
        switches=("dynamic_sampling",),
        active=lambda values: bool(values["dynamic_sampling"]),
        needs="dynamic_sampling: true",
    ),
    ModeOnlyField(
        # A mixture lists its datasets itself (open_r1.data.mixtures.get_dataset reads dataset_name only without one).
        applies=lambda name: name in ("dataset_name", "dataset_config"),
        switches=("dataset_mixture",),
        active=lambda values: values["dataset_mixture"] is None,
        needs="no dataset_mixture (a mixture names its datasets in dataset_mixture.datasets)",
    ),
    ModeOnlyField(
        # TRL packs the evaluation dataset under eval_packing alone, with the same strategy.
        applies=lambda name: name == "packing_strategy",
        switches=("packing", "eval_packing"),
        active=lambda values: bool(values["packing"] or values["eval_packing"]),
        needs="packing: true (or eval_packing: true)",
    ),
    ModeOnlyField(
        # Unset, activation_checkpointing falls back to transformers' alias gradient_checkpointing (SFT: true).
        applies=lambda name: name == "activation_checkpointing_kwargs",
        switches=("activation_checkpointing",),
        active=lambda values: bool(
            values["activation_checkpointing"]
            if values["activation_checkpointing"] is not None
            else values.get("gradient_checkpointing")
        ),
        needs="activation_checkpointing: true",
    ),
    ModeOnlyField(
        # transformers builds these schedulers without a warmup (get_scheduler returns before reading it); a
        # DeepSpeed JSON config may bring its own scheduler, whose "auto" warmup reads the field whatever the type.
        applies=lambda name: name == "warmup_steps",
        switches=("lr_scheduler_type", "deepspeed"),
        active=lambda values: (
            str(values["lr_scheduler_type"]) not in SCHEDULERS_WITHOUT_WARMUP
            or values["deepspeed"] is not None
            or _accelerate_deepspeed_file() is not None
        ),
        needs=f"an lr_scheduler_type with a warmup (not {' or '.join(SCHEDULERS_WITHOUT_WARMUP)}; e.g. "
        "constant_with_warmup), or a deepspeed config whose scheduler reads it",
    ),
    ModeOnlyField(
        applies=lambda name: name == "eval_steps",
        switches=("eval_strategy",),
        active=lambda values: str(values["eval_strategy"]) == "steps",
        needs="eval_strategy: steps",
    ),
    ModeOnlyField(
        applies=lambda name: name in ("ref_model_sync_steps", "ref_model_mixup_alpha"),
        switches=("sync_ref_model",),
        active=lambda values: bool(values["sync_ref_model"]),
        needs="sync_ref_model: true",
    ),
    ModeOnlyField(
        # With beta 0 TRL loads no reference model, and refuses sync_ref_model once the policy has loaded.
        applies=lambda name: name in ("sync_ref_model", "ref_model_sync_steps", "ref_model_mixup_alpha"),
        switches=("beta",),
        active=lambda values: values["beta"] != 0,
        needs="beta > 0 (a KL term, hence a reference model)",
    ),
    ModeOnlyField(
        applies=lambda name: name == "benchmarks",
        switches=("callbacks",),
        active=lambda values: "push_to_hub_revision" in _as_list(values["callbacks"]),
        needs="callbacks: [push_to_hub_revision] (benchmarks run on each pushed checkpoint)",
    ),
    *(
        ModeOnlyField(
            applies=lambda name, parameter=parameter: name == parameter,
            switches=("reward_funcs",),
            active=_with_rewards(rewards),
            needs=f"{_one_of(rewards)} in reward_funcs",
            turn_on=f"add {_any_of(rewards)} to reward_funcs",
        )
        for parameter, rewards in REWARD_PARAMETERS.items()
    ),
)


def _accelerate_deepspeed_file() -> str | None:
    """The DeepSpeed JSON config `accelerate launch` was given (its config's `deepspeed_config_file`), or None."""
    path = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "none")
    return None if path in ("", "none") else path


def check_ignored_fields(
    values: Mapping[str, Any],
    explicit: set[str],
    defaults: Mapping[str, Any],
    upstream_names: Mapping[str, str] | None = None,
) -> None:
    """Raises for the first field of `explicit` (set by the recipe or command line) that differs from its default
    in `defaults` although the mode the parsed `values` choose never reads it (`MODE_ONLY_FIELDS`). A rule applies
    only where `values` has its switches (SFT has no `use_vllm`). A field set to its default changes nothing either
    way, so it passes. `upstream_names` maps a field to the upstream name the recipe set it by (`warmup_steps`:
    `warmup_ratio`): the message names what the user wrote."""
    upstream_names = upstream_names or {}
    for name in sorted(explicit):
        if name not in values or name not in defaults or values[name] == defaults[name]:
            continue
        for rule in MODE_ONLY_FIELDS:
            if not rule.applies(name) or not all(switch in values for switch in rule.switches):
                continue
            if not rule.active(values):
                mode = ", ".join(f"{switch}: {_shown(values[switch])}" for switch in rule.switches)
                turn_on = rule.turn_on or f"change {' or '.join(rule.switches)}"
                default = (
                    "" if defaults[name] is None else f" (or pass its default, --{name} {_shown(defaults[name])})"
                )
                setting, written = f"{name}: {_shown(values[name])}", name
                if name in upstream_names:
                    written = upstream_names[name]
                    setting, default = f"{written} (read as {setting})", ""
                raise UsageError(
                    f"{setting} has no effect with {mode}: it needs {rule.needs}; remove {written}{default} or "
                    f"{turn_on}"
                )


def check_soft_overlong_reach(values: Mapping[str, Any]) -> None:
    """Raises when `soft_overlong_punishment` is a reward but its ramp starts beyond `max_completion_length`, the
    longest completion generated: it would pay 0 for every completion (TRL's defaults 16384 and 4096 do, under any
    `max_completion_length` up to 12288)."""
    names = ("reward_funcs", "max_completion_len", "soft_punish_cache", "max_completion_length")
    if not all(name in values for name in names) or "soft_overlong_punishment" not in _as_list(values["reward_funcs"]):
        return
    start = values["max_completion_len"] - values["soft_punish_cache"]
    if values["max_completion_length"] is not None and start >= values["max_completion_length"]:
        raise UsageError(
            f"soft_overlong_punishment pays 0 for every completion: its ramp starts at max_completion_len "
            f"{values['max_completion_len']} - soft_punish_cache {values['soft_punish_cache']} = {start} tokens, and "
            f"no completion is longer than max_completion_length {values['max_completion_length']}; set "
            f"max_completion_len to at most max_completion_length (DAPO's L_max) and soft_punish_cache below it"
        )


def check_reward_weights(values: Mapping[str, Any]) -> None:
    """Raises when `reward_weights` does not give one weight per reward of `reward_funcs`, which TRL finds only once
    the model has loaded: most often a recipe's weights left behind by `--reward_funcs` on the command line."""
    if values.get("reward_weights") is None or "reward_funcs" not in values:
        return
    names, weights = _as_list(values["reward_funcs"]), list(values["reward_weights"])
    if len(weights) != len(names):
        ones = " ".join(["1.0"] * len(names))
        raise UsageError(
            f"reward_weights: {len(weights)} weight(s) {weights} for {len(names)} reward_funcs {names}; give one "
            f"weight per reward, in their order (e.g. --reward_weights {ones}), or none for weights of 1.0"
        )
    zero = [name for name, weight in zip(names, weights) if float(weight) == 0]
    if zero and len(zero) == len(names):
        raise UsageError(
            f"reward_weights {weights} give every completion a total reward of 0 (reward_funcs {names}): no group has "
            "any spread and nothing is learnt; give a reward a weight above 0"
        )
    if zero:
        logger.warning(
            "reward_weights gives %s a weight of 0: computed and logged at every step, never trained on", zero
        )


def check_mixture_test_split(values: Mapping[str, Any]) -> None:
    """Raises when a dataset mixture holds out a test split that nothing evaluates (`eval_strategy: no`): its rows
    would be taken from training for nothing."""
    mixture = values.get("dataset_mixture")
    if not isinstance(mixture, Mapping) or mixture.get("test_split_size") is None or "eval_strategy" not in values:
        return
    if str(values["eval_strategy"]).split(".")[-1].lower() == "no":
        raise UsageError(
            f"dataset_mixture.test_split_size: {mixture['test_split_size']} holds out that share of the rows for "
            "evaluation, but eval_strategy is 'no': they would be taken from training and never evaluated; remove "
            "test_split_size or set eval_strategy: steps"
        )


def check_continuous_batching_precision(values: Mapping[str, Any]) -> None:
    """Raises when `use_transformers_continuous_batching` would turn float32 weights into half precision for the
    rest of the run: TRL 1.16's `generate_batch` path casts the policy to bfloat16 (`bf16`) or float16 (`fp16`) in
    place before each generation, outside autocast and without casting back. Under DeepSpeed the engine keeps
    float32 master weights, and a LoRA run updates float32 adapters, so neither is refused."""
    names = ("use_transformers_continuous_batching", "dtype")
    if not all(name in values for name in names) or not values["use_transformers_continuous_batching"]:
        return
    half = next((name for name in ("bf16", "fp16") if values.get(name)), None)
    deepspeed = values.get("deepspeed") or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
    if half is None or values["dtype"] != "float32" or deepspeed or values.get("use_peft"):
        return
    raise UsageError(
        f"use_transformers_continuous_batching: true with {half}: true casts the float32 weights (dtype: float32) "
        f"to {'bfloat16' if half == 'bf16' else 'float16'} in place before the first generation (TRL 1.16) and "
        f"never back, so every later update rounds in half precision; use transformers generation "
        f"(use_transformers_continuous_batching: false), or launch with a DeepSpeed config, which keeps float32 "
        f"master weights"
    )


def _splits_used(dataset, script_args, training_args) -> dict[str, Any]:
    """The splits training reads: the train split, and the test split when the run evaluates."""
    fields = {script_args.dataset_train_split: "dataset_train_split"}
    if getattr(training_args, "eval_strategy", "no") != "no":
        fields.setdefault(script_args.dataset_test_split, "dataset_test_split")
    for name, field_name in fields.items():
        if name not in dataset:
            hint = ""
            if field_name == "dataset_test_split":
                strategy = getattr(training_args.eval_strategy, "value", training_args.eval_strategy)  # an enum
                hint = f"{_held_out_test_split(script_args)}, or set eval_strategy: no (it is {strategy}) to train "
                hint += "without evaluating"
            raise UsageError(
                f"the dataset has no split {name!r} ({field_name}); its splits: {sorted(dataset)}: set {field_name} "
                f"to one of them{hint}"
            )
    return {name: dataset[name] for name in fields}


def _held_out_test_split(script_args) -> str:
    """`, hold out ...`: how the recipe gets a test split from its training rows, a mixture's `test_split_size`;
    '' when its mixture holds one out already (named 'test')."""
    mixture = getattr(script_args, "dataset_mixture", None)
    if mixture is not None and getattr(mixture, "test_split_size", None) is not None:
        return ""
    rename = "" if script_args.dataset_test_split == "test" else "; dataset_test_split: test"
    if mixture is not None:
        return f", hold out a tenth of its rows as split 'test' (test_split_size: 0.1 in dataset_mixture{rename})"
    config = f", config: {script_args.dataset_config}" if getattr(script_args, "dataset_config", None) else ""
    return (
        f", hold out a tenth of its rows as split 'test' (dataset_mixture: {{datasets: [{{id: "
        f"{script_args.dataset_name}{config}}}], test_split_size: 0.1}} in place of dataset_name{rename})"
    )


class _KeptRecords(logging.Handler):
    """A logging handler that keeps the messages it is given."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check_remote_sandboxes_run(script_args) -> None:
    """Runs `print(1)` on each remote sandbox the run's code rewards or python tool use: an unreachable one (a wrong
    router address, a missing API key) scored every program 0.0 after its retries, step after step, in silence.
    Only the main process asks (one program per run, not one per rank); the launcher stops the others when it
    fails."""
    from open_r1.sandbox import get_provider
    from open_r1.sandbox.config import ROUTED_PROVIDERS

    if not main_process():
        return
    rewards = set(_as_list(script_args.reward_funcs))
    used = [  # `code_provider`'s sandbox is `code_sandbox`, and so on (GRPOScriptArguments)
        (name, getattr(script_args, name.removesuffix("_provider") + "_sandbox"))
        for name, readers in SANDBOX_PROVIDER_FIELDS.items()
        if rewards & set(readers)
    ]
    if script_args.tools:
        used.append(("python_tool_provider", script_args.tool_sandbox))
    remote_logger = logging.getLogger("open_r1.sandbox.remote")
    for field_name, config in used:
        if config.provider not in ROUTED_PROVIDERS:
            continue  # the local sandbox says what fails when it starts; piston's fleet is probed by its own checks
        # The provider's retry warnings are kept, not printed: the error below quotes the last, the cause it found.
        said = _KeptRecords()
        remote_logger.addHandler(said)
        propagate, remote_logger.propagate = remote_logger.propagate, False
        try:
            _, [run] = get_provider(config).run_raw("print(1)", "python", [""])
            failure = None if run.get("stdout", "").strip() == "1" else f"it printed {run.get('stdout', '')[:80]!r}"
        except Exception as error:
            failure = one_line(said.messages[-1] if said.messages else str(error))[:300]
        finally:
            remote_logger.removeHandler(said)
            remote_logger.propagate = propagate
        if failure is not None:
            where = f" through its router {config.router_url}" if config.router_url else ""
            raise UsageError(
                f"{field_name}: {config.provider}{where} did not run a one-line program ({failure}): every program "
                f"would score 0; check {'the router address or ' if config.router_url else ''}the provider's API key"
            )


def check_vllm_installed(training_args) -> None:
    """`use_vllm: true` where vLLM is not installed: TRL raises only once the model is loaded."""
    from open_r1.utils.gpu_packages import missing_gpu_package

    if getattr(training_args, "use_vllm", False):
        problem = missing_gpu_package("vllm", "use_vllm: true", "set --use_vllm false to generate with transformers")
        if problem:
            raise UsageError(problem)


def blank_rows(part, column: str) -> list[int]:
    """The rows of `part` (a datasets.Dataset) whose text `column` is missing or only whitespace; [] for a column
    that is not text (a conversation, an image), which the trainer checks."""
    import pyarrow.compute as pc

    if not _is_text_column(part, column):
        return []
    rows, start = [], 0
    for values in _column_batches(part, column):
        blank = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(values)), 0), True)
        rows += [start + index for index in pc.indices_nonzero(blank).to_pylist()]
        start += len(values)
    return rows


def _is_text_column(part, column: str) -> bool:
    """Whether `column` of a datasets.Dataset holds text (not a conversation, an image, a number)."""
    kind = getattr(part.features[column], "dtype", None)
    return kind in ("string", "large_string")


def _column_batches(part, column: str):
    """`column` of a datasets.Dataset as pyarrow arrays, in order, read through the dataset's own view: a mixture's
    shuffle or selection, and TRL's filter, are an indices mapping over the whole table."""
    for batch in part.select_columns([column]).with_format("arrow").iter(batch_size=4096):
        yield batch[column]


def _feature_kind(feature) -> str:
    """A datasets feature in a few words: `int64 values`, `conversations (...)`, `lists`."""
    inner = getattr(feature, "feature", None)  # a List's element
    if isinstance(inner, dict) and {"role", "content"} <= set(inner):
        return "conversations (lists of role and content turns)"
    if inner is not None:
        return "lists"
    if getattr(feature, "dtype", None) is not None:
        return f"{feature.dtype} values"
    if type(feature).__name__ == "Json":  # rows of different types (a string here, a list there)
        return "values of different types"
    return f"{type(feature).__name__} values"


# Columns GRPOTrainer reads as a prompt's images (TRL 1.16's `_generate_and_score_completions`); grpo.py's prompts
# are text, so a step with such a column, even all null, fails turning them into image-and-text turns.
IMAGE_COLUMNS = ("image", "images")


def _check_columns_the_trainer_takes(part, split: str, tools: bool) -> None:
    """No column the trainer takes for itself: one named as a keyword GRPOTrainer passes every reward
    (`completions`: "got multiple values for keyword argument" at the first step; `trainer_state`: replaced without
    a word; `environments` with tools only), or as the prompts' images."""
    passed = set(TRAINER_REWARD_KEYWORDS) - (set() if tools else {"environments"})
    for column in part.column_names:
        if column in passed:
            raise UsageError(
                f"the dataset's column {column!r} (split {split!r}) has the name of a keyword GRPOTrainer passes every "
                "reward itself; rename the column"
            )
        if column in IMAGE_COLUMNS:
            raise UsageError(
                f"the dataset's column {column!r} (split {split!r}) is read by GRPOTrainer as the prompts' images, "
                "and grpo.py's prompts are text: rename or remove the column"
            )


def _check_gold_column(part, script_args, split: str) -> None:
    """The column an accuracy reward grades against holds one answer a row, and is not the prompt: the policy would
    read the answer it is paid for. A mapping a row (a struct column) is no answer: every one would be unscored."""
    gold = gold_column(part.column_names)
    graded = [name for name in _as_list(script_args.reward_funcs) if name in ACCURACY_REWARD_NAMES]
    if not graded or gold is None:
        return
    if script_args.dataset_prompt_column == gold:
        raise UsageError(
            f"dataset_prompt_column {gold!r} is the column the {graded[0]!r} reward grades completions against: "
            "the policy would read the answer it is paid for; give the column that holds the problems"
        )
    if isinstance(part.features[gold], dict):
        raise UsageError(
            f"the {graded[0]!r} reward grades against the column {gold!r} (split {split!r}), which holds mappings "
            f"({sorted(part.features[gold])}), not one answer a row: give it the answer's text or number"
        )


def _null_rows(part, column: str) -> list[int]:
    """The rows of `part` (a datasets.Dataset) where `column` is null (a JSONL row without that key)."""
    import pyarrow.compute as pc

    rows, start = [], 0
    for values in _column_batches(part, column):
        rows += [start + index for index in pc.indices_nonzero(pc.is_null(values)).to_pylist()]
        start += len(values)
    return rows


def _check_prompt_values(part, column: str, split: str) -> None:
    """Each prompt is text: grpo.py makes it the user turn's content, and a null one (a row without the column) or
    one of another type made a turn the chat template failed on, steps into training, and again at every resume."""
    if not _is_text_column(part, column):
        raise UsageError(
            f"dataset_prompt_column {column!r} of split {split!r} holds {_feature_kind(part.features[column])}, "
            "not the problem's text: grpo.py builds each prompt's conversation itself, from that text (and "
            "system_prompt); give the column that holds the problems as text"
        )
    rows = _null_rows(part, column)
    if not rows:
        return
    hint = ""
    for other in part.column_names:  # a key misspelt in some rows of a JSONL file ("Prompt") is a column of its own
        if other != column and other.lower() == column.lower() and part[rows[0]][other] is not None:
            hint = f"; row {rows[0]} has it as {other!r}"
            break
    raise UsageError(
        f"{len(rows)} of the {len(part)} rows of split {split!r} have no dataset_prompt_column {column!r} (null or "
        f"missing; the first: row {rows[0]}){hint}: fill it in or filter those rows out"
    )


def _check_blank_prompts(part, column: str, split: str) -> None:
    """An error when most prompts are blank (the wrong column), a warning naming them when some are: a group
    sampled from a blank prompt is generated and trained on for nothing."""
    rows = blank_rows(part, column)
    if not rows:
        return
    where = f"{len(rows)} of the {len(part)} rows of split {split!r} have a blank dataset_prompt_column {column!r}"
    if len(rows) > len(part) / 2:
        raise UsageError(f"{where} (the first: row {rows[0]}); is the problem text in another column?")
    logger.warning(
        "%s (rows %s%s); their groups learn nothing: filter them out", where, rows[:5], ", ..." * (len(rows) > 5)
    )


def _check_prompts_differ(part, column: str, split: str) -> None:
    """A warning when every row's prompt is the same text: most often an instruction column, the problem being in
    another, so the policy never sees a problem and its rewards are luck (one problem repeated on purpose, as tests
    memorise, passes with the warning)."""
    import pyarrow.compute as pc

    if not _is_text_column(part, column) or len(part) < 2:
        return
    seen: set = set()
    for values in _column_batches(part, column):
        seen.update(pc.unique(values).to_pylist())
        if len(seen) > 1:
            return
    others = [name for name in part.column_names if name != column]
    logger.warning(
        "dataset_prompt_column %r holds the same text in all %d rows of split %r (%s): every group is sampled from "
        "one prompt; if the problems are in another column (%s), set dataset_prompt_column to it",
        column,
        len(part),
        split,
        _short_text(next(iter(seen))),
        others,
    )


def _short_text(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _dataset_name(script_args) -> str:
    return script_args.dataset_name if script_args.dataset_name else "the dataset_mixture"


# ShareGPT's names of two chat roles, which TRL keeps (a template's own roles vary: `ipython`, ...).
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant"}


# The turn keys TRL 1.16 reads under each conversation column: ShareGPT's `conversations` of {'from', 'value'} turns
# it renames; `messages` of {'role', 'content'} turns it reads as they are. Neither under the other's column.
TURN_KEYS = {"messages": ("role", "content"), "conversations": ("from", "value")}


def _conversation(row) -> tuple[str, list] | None:
    """A row's conversation column and its turns (`messages` or ShareGPT's `conversations`), else None."""
    for column in TURN_KEYS:
        if isinstance(row.get(column), list):
            return column, row[column]
    return None


def _check_turns(column: str, turns: list, where: str) -> None:
    """Raises unless a conversation's turns have the keys TRL reads under its column (`TURN_KEYS`; an assistant turn
    may call tools instead of saying anything), and no ShareGPT role name, which TRL keeps as it is."""
    role_key, content_key = TURN_KEYS[column]
    for number, turn in enumerate(turns):
        # Arrow gives every turn every key of the column, None where a turn has none.
        keys = sorted(key for key, value in turn.items() if value is not None) if isinstance(turn, dict) else None
        if keys is None or role_key not in keys or not {content_key, "tool_calls"} & set(keys):
            other = next(name for name in TURN_KEYS if name != column)
            hint = f" (TRL reads those under '{other}')" if keys and set(TURN_KEYS[other]) <= set(keys) else ""
            found = f"has keys {keys}" if keys is not None else f"is a {type(turn).__name__}, not a mapping"
            raise UsageError(
                f"{where}; its first row's turn {number} {found}: '{column}' turns are "
                f"{{'{role_key}', '{content_key}'}}{hint}"
            )
        if turn[role_key] in SHAREGPT_ROLES:
            raise UsageError(
                f"{where}; its first row's turn {number} has role {turn[role_key]!r}, ShareGPT's name for "
                f"{SHAREGPT_ROLES[turn[role_key]]!r}, which TRL keeps: the chat template would train '{turn[role_key]}' "
                "turns; rename the roles (human -> user, gpt -> assistant)"
            )


def _check_every_conversation(part, column: str, where: str, needs_assistant: bool) -> None:
    """Every row of a conversation column (`TURN_KEYS`; TRL's conversational `prompt` / `completion` too) has turns,
    each with a role that is no ShareGPT name and text content (or tool calls), and, where `needs_assistant`
    (assistant_only_loss), an assistant turn: the first row's shape is `_check_turns`', and a later row of another
    one failed in TRL or the chat template once the model had loaded (an empty conversation, content null or a
    number), or blamed the chat template (a row without an assistant turn)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    role_key, content_key = TURN_KEYS.get(column, ("role", "content"))
    turn = getattr(part.features[column], "feature", None)
    if type(turn).__name__ == "Json":  # turns with different keys: datasets keeps each as JSON
        _check_every_conversation_as_json(part, column, where, needs_assistant)
        return
    if not isinstance(turn, dict) or role_key not in turn or content_key not in turn:
        return  # not turns of this shape: `_check_turns` names the first row's
    if getattr(turn[content_key], "dtype", None) not in ("string", "large_string"):
        raise UsageError(
            f"{where}; its '{column}' turns' '{content_key}' holds {_feature_kind(turn[content_key])}, not text: the "
            "chat templates of text models join each turn's content as text"
        )
    start = 0
    for values in _column_batches(part, column):
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        empty = pc.indices_nonzero(pc.fill_null(pc.equal(pc.list_value_length(values), 0), True)).to_pylist()
        if empty:
            raise UsageError(f"{where}; row {start + empty[0]} has no turns in '{column}': fill it in or drop the row")
        parents = pc.list_parent_indices(values).to_numpy()
        offsets = values.offsets.to_numpy()
        turns = pc.list_flatten(values)
        roles, contents = turns.field(role_key), turns.field(content_key)
        said = pc.is_valid(contents)
        if "tool_calls" in turn:  # an assistant turn may call tools instead of saying anything
            said = pc.or_(said, pc.is_valid(turns.field("tool_calls")))
        for problem, found in (
            (f"has no '{content_key}' (null)", pc.invert(said)),
            (f"has no '{role_key}' (null)", pc.is_null(roles)),
            (
                "has ShareGPT's role name",
                pc.fill_null(pc.is_in(roles, value_set=pa.array(list(SHAREGPT_ROLES))), False),
            ),
        ):
            bad = pc.indices_nonzero(found).to_pylist()
            if bad:
                row = int(parents[bad[0]])
                detail = (
                    f" {roles[bad[0]].as_py()!r}: rename the roles (human -> user, gpt -> assistant)"
                    if ("ShareGPT" in problem)
                    else ": fill it in or drop the row"
                )
                raise UsageError(f"{where}; row {start + row}'s turn {bad[0] - int(offsets[row])} {problem}{detail}")
        if needs_assistant:
            answered = set(parents[pc.indices_nonzero(pc.equal(roles, "assistant")).to_numpy()].tolist())
            missing = next((row for row in range(len(values)) if row not in answered), None)
            if missing is not None:
                raise UsageError(
                    f"{where}; row {start + missing} has no 'assistant' turn, and assistant_only_loss: true trains "
                    "on assistant turns only (TRL refuses a row without one, blaming the chat template): fix its "
                    "roles or drop the row"
                )
        start += len(values)


def _check_every_conversation_as_json(part, column: str, where: str, needs_assistant: bool) -> None:
    """`_check_every_conversation` for turns datasets keeps as JSON (their keys differ: `{"role": "assistant"}`
    beside `{"role": "user", "content": ...}`), read row by row."""
    role_key, content_key = TURN_KEYS.get(column, ("role", "content"))
    for row, turns in enumerate(part[column]):
        if not turns:
            raise UsageError(f"{where}; row {row} has no turns in '{column}': fill it in or drop the row")
        for number, turn in enumerate(turns):
            said = isinstance(turn, dict) and (isinstance(turn.get(content_key), str) or turn.get("tool_calls"))
            if not said or not isinstance(turn.get(role_key), str):
                if isinstance(turn, dict) and turn.get(content_key) is not None:  # a number, a list of parts
                    found = f"has a {type(turn[content_key]).__name__} as '{content_key}'"
                else:
                    found = f"is {sorted(turn) if isinstance(turn, dict) else type(turn).__name__}"
                raise UsageError(
                    f"{where}; row {row}'s turn {number} {found}: '{column}' turns have a '{role_key}' and a text "
                    f"'{content_key}' (or tool_calls): fill it in or drop the row"
                )
            if turn[role_key] in SHAREGPT_ROLES:
                raise UsageError(
                    f"{where}; row {row}'s turn {number} has ShareGPT's role name {turn[role_key]!r}: rename the roles "
                    "(human -> user, gpt -> assistant)"
                )
        if needs_assistant and not any(turn[role_key] == "assistant" for turn in turns):
            raise UsageError(
                f"{where}; row {row} has no 'assistant' turn, and assistant_only_loss: true trains on assistant turns "
                "only: fix its roles or drop the row"
            )


# The hits whose text is read back to name the tokens spelled (the message's), however many rows spell one.
TEXTS_READ_FOR_TOKENS = 100


def warn_turn_tokens_in_text(datasets: Mapping[str, Any], tokens: list[str], columns: tuple[str, ...]) -> None:
    """A warning for each split (of `datasets`, split -> datasets.Dataset) whose `columns`' text spells one of
    `tokens` (`model_utils.turn_tokens`), naming the first row: the chat template renders the spelling as that token,
    so a prompt reads as turns its dataset did not mean (a system or assistant turn injected) and an SFT trace's
    assistant mask breaks there. Text columns and turns' `content` are read; linear in the text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not tokens:
        return
    spelled = "|".join(re.escape(token) for token in tokens)  # one pass over the text for all of them
    for split, part in datasets.items():
        for column in (name for name in columns if name in part.column_names):
            text_column = _is_text_column(part, column)
            turns = getattr(part.features[column], "feature", None)
            if not text_column and not (isinstance(turns, dict) and "content" in turns):
                continue
            rows, found, start = set(), set(), 0
            for values in _column_batches(part, column):
                values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
                if text_column:
                    texts, owners = values, None
                else:
                    texts, owners = pc.list_flatten(values).field("content"), pc.list_parent_indices(values)
                hits = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(texts, spelled), False))
                if len(hits):
                    # Which tokens, for the message: read in the first hits only, so that this stays one pass.
                    for text in pc.take(texts, hits[:TEXTS_READ_FOR_TOKENS]).to_pylist():
                        found.update(token for token in tokens if token in text)
                    hit_rows = hits if owners is None else pc.take(owners, hits)
                    rows.update(start + row for row in hit_rows.to_pylist())
                start += len(values)
            if rows:
                logger.warning(
                    "%d of the %d rows of split %r spell the tokenizer's control token(s) %s in %r (the first: row %d): "
                    "the chat template renders the spelling as that token, a turn boundary the data did not mean; "
                    "remove it from the text",
                    len(rows), len(part), split, sorted(found), column, min(rows),
                )  # fmt: skip


def check_sft_dataset(dataset, script_args, training_args) -> None:
    """Raises unless each split SFT reads has columns TRL's SFTTrainer can train on, conversations when
    `assistant_only_loss` is set. Tokenized datasets (`input_ids`) and `skip_prepare_dataset` pass as they are."""
    if (getattr(training_args, "dataset_kwargs", None) or {}).get("skip_prepare_dataset"):
        return
    text_field = getattr(training_args, "dataset_text_field", "text")
    for split, part in _splits_used(dataset, script_args, training_args).items():
        columns = part.column_names
        where = f"{_dataset_name(script_args)} (split {split!r}) has columns {columns}"
        if "input_ids" in columns:
            continue
        conversation = _conversation(part[0]) if len(part) else None
        assistant_only = getattr(training_args, "assistant_only_loss", False)
        trains_on_turns = text_field not in columns or assistant_only
        if conversation is not None and trains_on_turns:  # with a text column TRL may train on that instead
            _check_turns(*conversation, where)
        if trains_on_turns:
            for column in (name for name in (*TURN_KEYS, "prompt", "completion") if name in columns):
                _check_every_conversation(part, column, where, assistant_only and column in TURN_KEYS)
        if assistant_only:
            if len(part) and conversation is None and not is_conversational(part[0]):
                raise UsageError(
                    f"{where}; assistant_only_loss: true needs conversations: a 'messages' column of "
                    "{'role', 'content'} turns (or 'prompt' and 'completion' as such turns)"
                )
            continue
        forms = ({"messages"}, {"conversations"}, {"prompt", "completion"}, {text_field})
        form = next((form for form in forms if form <= set(columns)), None)
        if form is None:
            raise UsageError(
                f"{where}; SFT needs a 'messages' column (conversations), or 'prompt' and 'completion', or "
                f"'{text_field}' (dataset_text_field)"
            )
        for column in sorted(form):  # a null one failed in TRL's preparation, once the model had loaded
            missing = _null_rows(part, column)
            if missing:
                raise UsageError(
                    f"{where}; {len(missing)} of its rows have no {column!r} (null or missing; the first: row "
                    f"{missing[0]}): fill it in or drop those rows"
                )
        if getattr(training_args, "completion_only_loss", None) and not {"prompt", "completion"} <= set(columns):
            # TRL masks the prompt only where the data marks it; on other data the whole sequence is trained.
            raise UsageError(
                f"{where}; completion_only_loss: true needs 'prompt' and 'completion' columns and has no effect on "
                "these: for conversations ('messages') set assistant_only_loss: true instead"
            )


def check_sft_lengths(prepared, rows_given: int, training_args) -> None:
    """What TRL's SFT preparation did to the `rows_given` training rows under `max_length` (without packing): a
    UsageError when it dropped them all, else a warning counting the rows cut and the rows dropped (cut until no
    assistant token was left: TRL drops them without a word), so that nothing is lost silently. `prepared` is the
    trainer's tokenized train dataset."""
    import pyarrow.compute as pc

    max_length = getattr(training_args, "max_length", None)
    if max_length is None or getattr(training_args, "packing", False) or "input_ids" not in prepared.column_names:
        return
    dropped = rows_given - len(prepared)
    if not len(prepared):
        raise UsageError(
            f"max_length {max_length}: every one of the {rows_given} training rows is cut before its first assistant "
            "token, so none is left to train on; raise max_length"
        )
    at_limit = sum(
        pc.sum(pc.equal(pc.list_value_length(ids), max_length)).as_py() or 0
        for ids in _column_batches(prepared, "input_ids")
    )
    if dropped or at_limit:
        logger.warning(
            "max_length %d: of the %d training rows, %d were dropped, cut before their first assistant token, and %d "
            "of those kept fill it (cut, their ends not trained on, or exactly as long); raise max_length to train "
            "on all of them",
            max_length,
            rows_given,
            dropped,
            at_limit,
        )


def check_prompts_fill_a_batch(train_dataset, training_args) -> None:
    """A training set with fewer prompts than one generation batch draws: TRL's sampler keeps only whole batches, so
    the run stopped at step 0 and saved the model it loaded, with exit status 0."""
    if not hasattr(train_dataset, "__len__"):
        return  # a streamed dataset: its length is not known before it is read
    prompts, rows = training_args.generation_batch_size // training_args.num_generations, len(train_dataset)
    if rows < prompts:
        raise UsageError(
            f"the training set has {rows} prompt{'s' if rows != 1 else ''}, fewer than one generation batch draws "
            f"({prompts}: generation_batch_size {training_args.generation_batch_size} / num_generations "
            f"{training_args.num_generations}), so no step would train: add prompts, or lower "
            "per_device_train_batch_size or steps_per_generation"
        )


def _callable_name(function) -> str:
    """How a reward function is named in an error: its own name, a partial's function's, else its class's."""
    function = inspect.unwrap(function)
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__qualname__", None) or type(function).__name__


def _check_reward_signature(name: str, reward: Callable, columns: list[str], where: str, tools: bool) -> None:
    """Raises for the first parameter of `reward` that no call from GRPOTrainer fills: one without a default that is
    neither a keyword the trainer passes itself (TRAINER_REWARD_KEYWORDS; `environments` only with `tools`) nor a
    dataset column that reaches it. A reward that raises TypeError on every batch only stops training on the third."""
    given = set(columns) - set(WITHHELD_COLUMNS)
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    passed = set(TRAINER_REWARD_KEYWORDS) - (set() if tools else {"environments"})
    for parameter in call_parameters(reward).values():
        if parameter.default is parameter.empty and parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise UsageError(
                f"the {name!r} reward (reward_funcs) takes {parameter.name} as positional-only without a default, and "
                f"GRPO passes everything by keyword: drop the '/' ({_callable_name(reward)}{inspect.signature(reward)})"
            )
        if parameter.default is not parameter.empty or parameter.kind not in keywords:
            continue
        if parameter.name in passed or parameter.name in given:
            continue
        signature = f"{_callable_name(reward)}{inspect.signature(reward)}"
        if parameter.name == "environments":
            raise UsageError(
                f"the {name!r} reward (reward_funcs) takes environments without a default, which GRPO passes only "
                f"with tools: add tools: [python], or give it a default ({signature})"
            )
        if parameter.name in WITHHELD_COLUMNS:
            raise UsageError(
                f"{where}; the {name!r} reward (reward_funcs) takes {parameter.name} without a default, which no call "
                f"passes: {WITHHELD_COLUMNS[parameter.name]} ({signature})"
            )
        raise UsageError(
            f"{where}; the {name!r} reward (reward_funcs) needs a {parameter.name!r} column: {signature} takes "
            f"{parameter.name} without a default{did_you_mean(parameter.name, given)}"
        )


def check_reward_columns(dataset, script_args, training_args, reward_funcs: list[Callable]) -> None:
    """Raises unless each split GRPO reads has the columns the rewards of `reward_funcs` (as `get_reward_funcs`
    built them) that are not built in take without a default (built-in rewards: `check_grpo_dataset`). A reward
    model is left out: TRL calls it on token ids."""
    import torch

    names = check_reward_names(script_args.reward_funcs)
    custom = {
        name: reward
        for name, reward in zip(names, reward_funcs, strict=True)
        if name not in REWARD_DESCRIPTIONS and callable(reward) and not isinstance(reward, torch.nn.Module)
    }
    if not custom:
        return
    for split, part in _splits_used(dataset, script_args, training_args).items():
        where = f"{_dataset_name(script_args)} (split {split!r}) has columns {part.column_names}"
        columns = part.column_names
        if getattr(training_args, "remove_unused_columns", False):  # TRL keeps the prompt column alone
            where, columns = "remove_unused_columns: true leaves the rewards the prompts alone", ["prompt"]
        for name, reward in custom.items():
            _check_reward_signature(name, reward, columns, where, tools=bool(getattr(script_args, "tools", None)))


def check_grpo_dataset(dataset, script_args, training_args) -> None:
    """Raises unless each split GRPO reads has `dataset_prompt_column` and the columns its built-in rewards read
    (REWARD_COLUMNS; the others' are checked once built, `check_reward_columns`)."""
    for split, part in _splits_used(dataset, script_args, training_args).items():
        columns = set(part.column_names)
        where = f"{_dataset_name(script_args)} (split {split!r}) has columns {part.column_names}"
        prompt_column = script_args.dataset_prompt_column
        if prompt_column not in columns:
            hint = did_you_mean(prompt_column, columns, "--dataset_prompt_column ") or next(
                (f" (did you mean --dataset_prompt_column {name}?)" for name in PROMPT_COLUMNS if name in columns), ""
            )
            if not hint and "messages" in columns:
                hint = " (conversations with their answers are SFT's data: is this dataset for src/open_r1/sft.py?)"
            raise UsageError(f"{where}; dataset_prompt_column {prompt_column!r} is not one of them{hint}")
        _check_columns_the_trainer_takes(part, split, bool(getattr(script_args, "tools", None)))
        _check_gold_column(part, script_args, split)
        _check_prompt_values(part, prompt_column, split)
        _check_blank_prompts(part, prompt_column, split)
        _check_prompts_differ(part, prompt_column, split)
        for reward in _as_list(script_args.reward_funcs):
            for alternatives in REWARD_COLUMNS.get(reward, ()):
                if getattr(training_args, "remove_unused_columns", False):
                    raise UsageError(
                        f"remove_unused_columns: true leaves the rewards the prompts alone, and the {reward!r} reward "
                        f"(reward_funcs) reads a {_either(alternatives)} column: set remove_unused_columns: false "
                        "(GRPO's default)"
                    )
        missing = missing_reward_column(columns, script_args.reward_funcs)
        if missing:
            raise UsageError(f"{where}; {missing}")
    check_prompts_fill_a_batch(dataset[script_args.dataset_train_split], training_args)


def _either(alternatives: tuple[str, ...]) -> str:
    return " or ".join(repr(column) for column in alternatives)


def missing_reward_column(columns, reward_funcs) -> str | None:
    """`the 'accuracy' reward (reward_funcs) needs a 'solution' or 'answer' column` for the first built-in reward of
    `reward_funcs` whose column (`REWARD_COLUMNS`) is not among `columns`; None when each has its own."""
    for reward in _as_list(reward_funcs):
        for alternatives in REWARD_COLUMNS.get(reward, ()):
            if not set(columns) & set(alternatives):
                return f"the {reward!r} reward (reward_funcs) needs a {_either(alternatives)} column"
    return None
