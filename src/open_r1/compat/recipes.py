"""Upstream open-r1 recipes here: TRL 0.18 / transformers 4.52 field names, and upstream open-r1's own, read as ours.

Upstream open-r1 (frozen on TRL 0.18 and transformers 4.52) writes recipes with field names that TRL 1.16 and
transformers 5.23 renamed or removed, and with open-r1 fields this project names by what they mean
(`parallel_code_exec_per_proc` is `code_num_workers`). `open_r1.recipe_parser.RecipeParser` (the parser of `sft.py`,
`grpo.py` and pass-rate filtering) runs every recipe key and command-line option through this module before TRL
sees it:

    settings, notes = translate_settings({"torch_dtype": "bfloat16"}, known_fields, "recipe.yaml")
    # settings == {"dtype": "bfloat16"}; notes[0].message() names torch_dtype and dtype
    args, notes, keys = translate_command_line(["--warmup_ratio", "0.1"], known_fields)
    lines = changed_defaults("grpo", parsed_values, keys)   # TRL 0.18 -> 1.16 defaults a recipe left unset

- `UPSTREAM_FIELDS` says how each upstream-only field is read: renamed (its value goes to the new field, one
  warning line names both), dropped (the value asks for what is now the only behaviour, e.g.
  `save_safetensors: true`; one warning line), or an error that says what to use instead (`vllm_device`).
  A key the parser knows is never translated, so this project's own recipes (TRL 1.16 names) pass untouched.
- `implied_settings`: what a recipe means by leaving a field unset where upstream's default differed and the
  recipe depends on it (`e2b_router_url` without `code_provider` means e2b, upstream's default provider).
- `check_parsed`: combinations that cannot be read faithfully, refused after parsing (`code_eval_scoring_mode`
  beside the `code` reward).
- `CHANGED_DEFAULTS` lists the defaults that changed between TRL 0.18 / transformers 4.52 and TRL 1.16 /
  transformers 5.23 in ways that change what a run trains (or where it logs); `changed_defaults` names those a
  recipe did not set, so nobody trains with a different objective without knowing.

Not covered here: the fields whose meaning TRL dropped but this project keeps (`overwrite_output_dir`,
`max_prompt_length`) are ordinary fields of `open_r1.configs`, implemented where they act
(`open_r1.utils.training`, `open_r1.grpo`). docs/upstream.md ("Recipes") explains each choice.
This module imports nothing beyond the standard library.

Remove when: upstream open-r1's recipes and command lines are no longer run here.
"""

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from open_r1.usage import as_bool

UPSTREAM = "upstream open-r1's TRL 0.18 / transformers 4.52"


def _is_false(value: Any) -> bool:
    return as_bool(value) is False


def _is_true(value: Any) -> bool:
    return as_bool(value) is True


def _is_none(value: Any) -> bool:
    return value is None or value == "None"


def _equals(*inert_values: Any) -> Callable[[Any], bool]:
    return lambda value: value in inert_values or str(value) in {str(v) for v in inert_values}


def _same(value: Any) -> Any:
    return value


def _warmup_ratio_as_steps(value: Any) -> float:
    ratio = float(value)
    if not 0 <= ratio < 1:
        raise ValueError(
            f"warmup_ratio {value!r} cannot be read as warmup_steps, which takes a ratio only below 1 (1 or more "
            "counts steps); set warmup_steps to the number of warm-up steps instead"
        )
    return ratio


@dataclass(frozen=True)
class UpstreamField:
    """How one field of the upstream dialect is read here.

    `new`: the field that takes its value (None: there is none). `why`: what changed, and what to use instead.
    `convert`: the old value as a value of `new`; raises ValueError for a value with no equivalent.
    `inert`: the values that ask for what is now the only behaviour; they are dropped with a warning.
    """

    new: str | None
    why: str
    convert: Callable[[Any], Any] = _same
    inert: Callable[[Any], bool] | None = None


UPSTREAM_FIELDS: dict[str, UpstreamField] = {
    # ModelConfig (TRL 0.18) / from_pretrained (transformers 5)
    "torch_dtype": UpstreamField("dtype", "transformers 5 renamed from_pretrained's torch_dtype, and TRL its field"),
    # TrainingArguments (transformers 4.52 -> 5.23)
    "warmup_ratio": UpstreamField(
        "warmup_steps",
        "transformers 5 removed warmup_ratio; a warmup_steps below 1 is a ratio of the training steps",
        convert=_warmup_ratio_as_steps,
    ),
    "per_gpu_train_batch_size": UpstreamField(
        "per_device_train_batch_size", "transformers 5 removed the per_gpu_ alias"
    ),
    "per_gpu_eval_batch_size": UpstreamField(
        "per_device_eval_batch_size", "transformers 5 removed the per_gpu_ alias"
    ),
    "no_cuda": UpstreamField("use_cpu", "transformers 5 removed no_cuda, its old name of use_cpu"),
    # Still fields (transformers keeps them as aliases until v6, see TRANSFORMERS_ALIASES), read as renamed all the
    # same: transformers lets a set activation_checkpointing win over them without a word.
    "gradient_checkpointing": UpstreamField(
        "activation_checkpointing", "transformers 5 renamed it; the old name loses to the new one silently"
    ),
    "gradient_checkpointing_kwargs": UpstreamField(
        "activation_checkpointing_kwargs", "transformers 5 renamed it; the old name loses to the new one silently"
    ),
    "push_to_hub_token": UpstreamField(
        "hub_token", "transformers 5 removed push_to_hub_token, its old name of hub_token"
    ),
    "torchdynamo": UpstreamField(
        "torch_compile_backend", "transformers 5 removed torchdynamo, its old name of torch_compile_backend"
    ),
    "group_by_length": UpstreamField(
        "train_sampling_strategy",
        "transformers 5 chooses the sampler with train_sampling_strategy",
        convert=lambda value: "group_by_length",
        inert=_is_false,
    ),
    "adafactor": UpstreamField(
        "optim",
        "transformers 5 removed adafactor: true, an old switch for optim: adafactor",
        convert=lambda value: "adafactor",
        inert=_is_false,
    ),
    "include_inputs_for_metrics": UpstreamField(
        "include_for_metrics",
        "transformers 5 lists what compute_metrics receives in include_for_metrics",
        convert=lambda value: ["inputs"],
        inert=_is_false,
    ),
    "include_tokens_per_second": UpstreamField(
        "include_num_input_tokens_seen",
        "transformers 5 logs train_tokens_per_second with include_num_input_tokens_seen",
        convert=lambda value: True,
        inert=_is_false,
    ),
    "save_safetensors": UpstreamField(
        None, "transformers 5 always saves safetensors; remove save_safetensors", inert=_is_true
    ),
    "logging_dir": UpstreamField(
        None,
        "transformers 5 removed logging_dir: set the TENSORBOARD_LOGGING_DIR environment variable (a recipe can "
        "set it under `env:`)",
        inert=_is_none,
    ),
    "use_mps_device": UpstreamField(
        None, "transformers 5 uses Apple's MPS device whenever it is available; remove use_mps_device", inert=_is_false
    ),
    "fp16_backend": UpstreamField(
        None, "transformers 5 dropped apex: fp16/bf16 always use torch amp", inert=_equals("auto", "amp")
    ),
    "half_precision_backend": UpstreamField(
        None, "transformers 5 dropped apex: fp16/bf16 always use torch amp", inert=_equals("auto", "amp")
    ),
    "fp16_opt_level": UpstreamField(
        None, "transformers 5 dropped apex, whose optimisation level this was", inert=_equals("O1")
    ),
    "fsdp_min_num_params": UpstreamField(
        None, "transformers 5 reads it from fsdp_config: {min_num_params: N}", inert=_equals(0)
    ),
    "fsdp_transformer_layer_cls_to_wrap": UpstreamField(
        None,
        "transformers 5 reads it from fsdp_config: {transformer_layer_cls_to_wrap: [...]}",
        inert=_is_none,
    ),
    "push_to_hub_model_id": UpstreamField(
        None, "transformers 5 removed it: set hub_model_id to 'organization/name'", inert=_is_none
    ),
    "push_to_hub_organization": UpstreamField(
        None, "transformers 5 removed it: set hub_model_id to 'organization/name'", inert=_is_none
    ),
    "jit_mode_eval": UpstreamField(None, "transformers 5 removed TorchScript evaluation", inert=_is_false),
    "use_ipex": UpstreamField(None, "transformers 5 removed Intel extension support", inert=_is_false),
    "tpu_num_cores": UpstreamField(None, "transformers 5 removed TPU-specific settings", inert=_is_none),
    "tpu_metrics_debug": UpstreamField(None, "transformers 5 removed TPU-specific settings", inert=_is_false),
    "past_index": UpstreamField(None, "transformers 5 removed past_index (for models with mems)", inert=_equals(-1)),
    "use_legacy_prediction_loop": UpstreamField(
        None, "transformers 5 removed the legacy prediction loop", inert=_is_false
    ),
    "mp_parameters": UpstreamField(
        None, "transformers 5 removed SageMaker model-parallel settings", inert=_equals("")
    ),
    "ray_scope": UpstreamField(
        None, "transformers 5 removed ray_scope (Ray Tune hyperparameter search)", inert=_equals("last")
    ),
    # ScriptArguments (TRL 0.18)
    "gradient_checkpointing_use_reentrant": UpstreamField(
        "activation_checkpointing_kwargs",
        "TRL 1.16 removed it: use_reentrant goes inside activation_checkpointing_kwargs",
        convert=lambda value: {"use_reentrant": as_bool(value)},
    ),
    # SFTConfig (TRL 0.18)
    "max_seq_length": UpstreamField(
        "max_length", "TRL 0.18 deprecated max_seq_length for max_length, and later removed it"
    ),
    # GRPOConfig (TRL 0.18)
    "vllm_guided_decoding_regex": UpstreamField(
        "vllm_structured_outputs_regex", "TRL follows vLLM's rename of guided decoding to structured outputs"
    ),
    "wandb_log_unique_prompts": UpstreamField(
        "log_unique_prompts", "TRL 1.16 renamed it, and applies it to trackio too"
    ),
    "use_liger_loss": UpstreamField(
        None,
        "TRL 1.16 has no Liger GRPO loss; remove use_liger_loss (use_liger_kernel still patches the model's layers)",
        inert=_is_false,
    ),
    "vllm_device": UpstreamField(
        None,
        "TRL 0.16 made vllm_device do nothing and 0.18, upstream's own version, removed it: vLLM runs either on "
        "the training GPUs (vllm_mode: colocate, sized by vllm_gpu_memory_utilization) or as a server on GPUs of "
        "its own (vllm_mode: server: start the server as docs/gpu.md shows and set vllm_server_host / "
        "vllm_server_port); remove vllm_device and set vllm_mode",
    ),
    # GRPOScriptArguments (upstream open-r1): this project names code execution settings by what they mean
    "parallel_code_exec_per_proc": UpstreamField(
        "code_num_workers", "upstream open-r1's name of the programs a code reward runs at once per process"
    ),
    "ioi_provider": UpstreamField(
        "competitive_programming_provider",
        "upstream open-r1's name of the provider of the IOI and Codeforces rewards (it ran cf_code there too)",
    ),
    "code_eval_scoring_mode": UpstreamField(
        "code_scoring_mode", "one scoring-mode field for the code rewards (upstream applied it to cf_code only)"
    ),
    "code_eval_test_batch_size": UpstreamField(
        "code_test_batch_size",
        "one test-batch field for the code rewards (upstream applied it to cf_code and ioi_code only)",
    ),
    # upstream's scripts/pass_rate_filtering/compute_pass_rate.py
    "dataset_split": UpstreamField(
        "dataset_train_split", "upstream's pass-rate script named the split to read dataset_split"
    ),
}


@dataclass(frozen=True)
class Translation:
    """One upstream field read here: renamed to `new`, or dropped (`new` None)."""

    old: str
    old_value: Any
    new: str | None
    new_value: Any
    why: str

    def message(self, source: str) -> str:
        if self.new is None:
            return f"{source}: `{self.old}: {self.old_value}` ({UPSTREAM} field) dropped: {self.why}"
        return f"{source}: `{self.old}` ({UPSTREAM} name) read as `{self.new}: {self.new_value}`: {self.why}"


# Upstream names that transformers 5.23 still keeps as fields, deprecated aliases of the new ones: the parser reads
# them as upstream names (UPSTREAM_FIELDS) rather than as fields it knows. Remove with transformers 6, which drops them.
TRANSFORMERS_ALIASES = ("gradient_checkpointing", "gradient_checkpointing_kwargs")


def _translate(key: str, value: Any, known_fields: Iterable[str], source: str) -> Translation | None:
    """How `key: value` is read, or None when it is not an upstream-only field (it then passes as it is)."""
    known_fields = set(known_fields)
    rule = UPSTREAM_FIELDS.get(key)
    if rule is None or key in known_fields:
        return None
    if rule.inert is not None:
        try:
            inert = rule.inert(value)
        except ValueError as error:
            raise ValueError(f"{source}: {key}: {error}") from None
        if inert:
            return Translation(key, value, None, None, rule.why)
    if rule.new is None:
        raise ValueError(f"{source}: `{key}: {value}` ({UPSTREAM} field) has no equivalent here: {rule.why}")
    if rule.new not in known_fields:
        raise ValueError(
            f"{source}: `{key}` ({UPSTREAM} name of `{rule.new}`): this script takes neither ({rule.why})"
        )
    try:
        new_value = rule.convert(value)
    except ValueError as error:
        raise ValueError(f"{source}: {key}: {error}") from None
    return Translation(key, value, rule.new, new_value, rule.why)


@dataclass(frozen=True)
class ImpliedSetting:
    """A field a recipe leaves unset but relies on upstream's default for: `field: value` is set, with a warning."""

    field: str
    value: Any
    because: str
    why: str

    def message(self, source: str) -> str:
        return f"{source}: {self.because} and no `{self.field}`: read as `{self.field}: {self.value}`: {self.why}"


def implied_settings(settings: Mapping[str, Any], known_fields: Iterable[str]) -> list[ImpliedSetting]:
    """The `ImpliedSetting`s of a recipe mapping (already in this project's names)."""
    known_fields = set(known_fields)
    implied = []
    # Upstream's code_provider defaulted to e2b, so a router URL alone meant "run on e2b through this router"; here
    # the default is the local sandbox. Unless something else here is set to run on e2b, the recipe means e2b.
    others_on_e2b = any(
        settings.get(name) == "e2b" for name in ("competitive_programming_provider", "python_tool_provider")
    )
    if (
        settings.get("e2b_router_url") is not None
        and "code_provider" not in settings
        and "code_provider" in known_fields
        and not others_on_e2b
    ):
        implied.append(
            ImpliedSetting(
                "code_provider",
                "e2b",
                "sets `e2b_router_url`",
                "upstream open-r1's default code_provider was e2b (this project's is local)",
            )
        )
    return implied


# Upstream applied these to cf_code and ioi_code only; here their new fields apply to the code reward too.
_CODE_EVAL_FIELDS = ("code_eval_scoring_mode", "code_eval_test_batch_size")


def check_parsed(translated: Iterable[str], values: Mapping[str, Any]) -> None:
    """Raises for what the recipe's upstream fields (`translated`, their old names) cannot mean here, given the
    parsed `values`."""
    reward_funcs = values.get("reward_funcs") or []
    reward_funcs = [reward_funcs] if isinstance(reward_funcs, str) else reward_funcs
    given = [name for name in _CODE_EVAL_FIELDS if name in set(translated)]
    if given and "code" in reward_funcs:
        new = {"code_eval_scoring_mode": "code_scoring_mode", "code_eval_test_batch_size": "code_test_batch_size"}
        raise ValueError(
            f"`{given[0]}` ({UPSTREAM} name) is read as `{new[given[0]]}`, which here applies to the `code` reward "
            f"too, but upstream applied `{given[0]}` to cf_code and ioi_code only and never changed code's scoring "
            f"(every test run, the fraction passed); with `code` in reward_funcs, write `{new[given[0]]}` instead "
            "(or leave it unset for each reward's own default)"
        )


def translate_settings(
    settings: Mapping[str, Any], known_fields: Iterable[str], source: str
) -> tuple[dict[str, Any], list[Translation | ImpliedSetting]]:
    """The recipe mapping `settings` in this project's field names, and what was translated.

    `known_fields` are the fields of the parser's dataclasses: a key among them is never translated. A recipe that
    sets both an upstream field and the field it becomes is an error (they would silently override each other).
    `implied_settings` are added last.
    """
    known_fields = set(known_fields)
    result: dict[str, Any] = {}
    translations = []
    for key, value in settings.items():
        translation = _translate(key, value, known_fields, source)
        if translation is None:
            if key in result:
                raise ValueError(f"{source}: `{key}` is set twice")
            result[key] = value
            continue
        translations.append(translation)
        if translation.new is None:
            continue
        if translation.new in settings or translation.new in result:
            raise ValueError(
                f"{source}: sets both `{key}` ({UPSTREAM} name) and `{translation.new}`, which it becomes; "
                f"keep only `{translation.new}`"
            )
        result[translation.new] = translation.new_value
    for implied in implied_settings(result, known_fields):
        result[implied.field] = implied.value
        translations.append(implied)
    return result, translations


def _command_line_tokens(value: Any) -> list[str]:
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    if isinstance(value, dict):
        return [json.dumps(value)]
    return [str(value)]


def translate_command_line(
    args: list[str], known_fields: Iterable[str], source: str = "command line"
) -> tuple[list[str], list[Translation], set[str]]:
    """`args` with upstream options in this project's names, what was translated, and every option name given.

    An option is `--name value...`, `--name=value` or a bare `--name` (true). Only upstream options are rewritten;
    every other token passes unchanged, in order.
    """
    known_fields = set(known_fields)
    options: list[tuple[str | None, list[str], list[str]]] = []  # (name, values, raw tokens); name None: other
    for token in args:
        if token.startswith("--") and len(token) > 2:
            name, has_inline, inline = token[2:].partition("=")
            options.append((name, [inline] if has_inline else [], [token]))
        elif options and options[-1][0] is not None:
            options[-1][1].append(token)
            options[-1][2].append(token)
        else:
            options.append((None, [], [token]))

    given = {name for name, _, _ in options if name is not None and name != "config"}
    translated_args: list[str] = []
    translations = []
    for name, values, tokens in options:
        value: Any = True if not values else values[0] if len(values) == 1 else values
        translation = None if name is None else _translate(name, value, known_fields, source)
        if translation is None:
            translated_args.extend(tokens)
            continue
        translations.append(translation)
        given.discard(name)
        if translation.new is None:
            continue
        if translation.new in given:
            raise ValueError(
                f"{source}: gives both --{name} ({UPSTREAM} name) and --{translation.new}, which it becomes; "
                f"keep only --{translation.new}"
            )
        given.add(translation.new)
        translated_args.extend([f"--{translation.new}", *_command_line_tokens(translation.new_value)])
    return translated_args, translations, given


# ---------------------------------------------------------------------------------------------
# Defaults that changed between TRL 0.18 / transformers 4.52 and TRL 1.16 / transformers 5.23
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangedDefault:
    """A default that changed since upstream's versions in a way that changes what a run does.

    `trainers`: the entry scripts it concerns ("sft", "grpo"). `applies`: whether it matters, given the parsed
    values (e.g. vLLM settings only with use_vllm). `set_by`: other fields that set it (upstream names).
    """

    field: str
    upstream: str
    effect: str
    trainers: tuple[str, ...]
    applies: Callable[[Mapping[str, Any]], bool] = lambda values: True
    set_by: tuple[str, ...] = ()


CHANGED_DEFAULTS: tuple[ChangedDefault, ...] = (
    ChangedDefault("beta", "0.04", "no KL penalty, and no reference model is loaded", ("grpo",)),
    ChangedDefault(
        "loss_type",
        "'bnpo'",
        "the loss is normalised by the completion tokens of the whole generation batch on all processes, not of each "
        "local batch",
        ("grpo",),
    ),
    ChangedDefault(
        "use_bias_correction_kl",
        "no such option (plain k3 KL)",
        "the KL term is weighted by the importance ratio, which changes its gradient whenever beta != 0",
        ("grpo",),
        applies=lambda values: values.get("beta", 0) != 0,
    ),
    ChangedDefault(
        "max_prompt_length",
        "512",
        "prompts are not truncated (upstream kept their last 512 tokens)",
        ("grpo",),
    ),
    ChangedDefault("max_completion_length", "256", "completions may be twice as long", ("grpo",)),
    ChangedDefault(
        "vllm_mode",
        "'server'",
        "vLLM runs inside the training processes on their GPUs, not as a server on GPUs of its own (upstream "
        "started it with `trl vllm-serve`)",
        ("grpo",),
        applies=lambda values: bool(values.get("use_vllm")),
    ),
    ChangedDefault(
        "vllm_importance_sampling_correction",
        "no such option (no correction)",
        "the loss is reweighted by the vLLM-vs-trainer probability ratio (sequence-masked importance sampling)",
        ("grpo",),
        applies=lambda values: bool(values.get("use_vllm")),
    ),
    ChangedDefault(
        "bf16",
        "false (32-bit unless bf16: true)",
        "unset means bf16 mixed precision",
        ("sft", "grpo"),
        applies=lambda values: not values.get("fp16"),
    ),
    ChangedDefault(
        "average_tokens_across_devices",
        "false",
        "the loss is averaged over the tokens of all processes, not per process",
        ("sft",),
    ),
    ChangedDefault(
        "packing_strategy",
        "concatenate and cut into max_length chunks ('wrapped')",
        "whole sequences are packed best-fit and the overflow truncated",
        ("sft",),
        applies=lambda values: bool(values.get("packing")),
    ),
    ChangedDefault(
        "report_to",
        "every installed integration (wandb, tensorboard, ...)",
        "nothing is reported unless report_to names it",
        ("sft", "grpo"),
    ),
    ChangedDefault(
        "log_unique_prompts",
        "true (upstream open-r1's wandb_log_unique_prompts)",
        "the completions table logged to wandb keeps every row, not one per prompt",
        ("grpo",),
        applies=lambda values: bool(values.get("log_completions")),
        set_by=("wandb_log_unique_prompts",),
    ),
)


def accept_bare_booleans(actions: Iterable[argparse.Action]) -> None:
    """Lets a bare `--bf16` mean true for the fields TRL 1.16 types `bool | None` (bf16, tf32, hub_private_repo,
    ...), to which HfArgumentParser gives one required value: upstream's command lines write them bare (transformers
    4.52 typed them `bool`), and were refused with "expected one argument". Boolean fields are those whose `type` is
    HfArgumentParser's `string_to_bool` (TRL's copy of it, or transformers')."""
    for action in actions:
        converts_to_bool = getattr(action.type, "__name__", None) == "string_to_bool"
        if converts_to_bool and action.nargs is None and action.option_strings:
            action.nargs, action.const = "?", True


def changed_defaults(trainer: str, values: Mapping[str, Any], explicit: Iterable[str]) -> list[str]:
    """One line per default of `CHANGED_DEFAULTS` that concerns `trainer`, applies, and is in no `explicit` key."""
    explicit = set(explicit)
    lines = []
    for default in CHANGED_DEFAULTS:
        if trainer not in default.trainers or default.field not in values:
            continue
        if explicit & {default.field, *default.set_by} or not default.applies(values):
            continue
        lines.append(f"{default.field}: {values[default.field]!r} here, {default.upstream} upstream: {default.effect}")
    return lines


def changed_defaults_message(lines: list[str]) -> str:
    """The start-up warning listing `lines` (from `changed_defaults`)."""
    return (
        f"Defaults that differ from {UPSTREAM} and that this run's recipe and command line leave unset "
        "(set them to keep upstream's behaviour, or to silence this):\n  " + "\n  ".join(lines)
    )
