"""Command-line and recipe arguments for the open-r1 scripts.

Every class here is a dataclass read by TRL's `TrlParser`, so each field can be set in a recipe
YAML (`--config recipes/...yaml`) or on the command line (`--learning_rate 1e-5`), and an unknown
key in either is rejected with its name. A field whose default belongs to a smaller module (a reward,
the sandbox) takes it from that module's constant, so the default is written once, where it is used, and
those modules never import this one (or TRL).

Classes, under their upstream open-r1 names:
- `DatasetConfig`, `DatasetMixtureConfig`: one dataset of a mixture, and the mixture.
- `ScriptArguments`: `dataset_name` / `dataset_config` or a `dataset_mixture`.
- `GRPOScriptArguments`: the dataset plus reward functions and their parameters; its sandbox fields become
  `SandboxConfig`s once, when it is made (`code_sandbox`, `competitive_programming_sandbox`, `tool_sandbox`).
- `SFTConfig`, `GRPOConfig`: TRL's training configs plus open-r1's extras (benchmarks,
  callbacks, chat template, system prompt, Hub revisions, wandb) and the upstream fields whose meaning
  TRL 1.16 dropped but this project keeps (`overwrite_output_dir`, `max_prompt_length`).
- `TRAINER_ARGUMENTS`: the classes sft.py and grpo.py parse.
- `RecipeParser` (from `open_r1.recipe_parser`, its home): the entry scripts' `TrlParser`; it also reads upstream
  open-r1 recipes (TRL 0.18 / transformers 4.52 field names, and upstream open-r1's own, see
  `open_r1.compat.recipes`).

Not covered: the offline evaluator's arguments (`open_r1.eval.arguments`) and pass-rate filtering's
(scripts/pass_rate_filtering/compute_pass_rate.py).
"""

import math
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Optional

import trl

from open_r1 import doctor as grpo_doctor
from open_r1.rewards import REWARD_FUNCS_REGISTRY, accuracy, check_reward_names, length, repetition
from open_r1.rewards import format as format_rewards
from open_r1.rewards.ioi import DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER
from open_r1.sandbox.base import SCORING_MODES, check_scoring_mode
from open_r1.sandbox.config import DEFAULT_PROVIDER, DEFAULT_SANDBOX_WORKERS, PROVIDERS, SandboxConfig
from open_r1.sandbox.languages import DEFAULT_CODE_LANGUAGE
from open_r1.tools import check_tool_names, python_tool
from open_r1.tools.arguments import ToolArguments
from open_r1.usage import UsageError, check_output_folder, system_prompt_text
from open_r1.utils.chat_templates import check_chat_template_path, template_path_is_local, template_syntax_problem
from open_r1.utils.dynamic_sampling import DEFAULT_MAX_ROUNDS

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------


@dataclass
class DatasetConfig:
    """One dataset of a `dataset_mixture`."""

    id: str = field(metadata={"help": "Hub dataset id, a folder saved with `save_to_disk`, or a local data file."})
    config: Optional[str] = field(default=None, metadata={"help": "Dataset configuration (subset) name."})
    split: str = field(default="train", metadata={"help": "Split to load."})
    columns: Optional[list[str]] = field(
        default=None, metadata={"help": "Columns to keep; every dataset of a mixture must keep the same ones."}
    )
    weight: Optional[float] = field(
        default=None,
        metadata={"help": "Fraction of the dataset to keep, in (0, 1]; rows are sampled with the mixture seed."},
    )


@dataclass
class DatasetMixtureConfig:
    """Several datasets combined into one training set."""

    datasets: list[DatasetConfig] = field(metadata={"help": "The datasets of the mixture."})
    seed: int = field(default=0, metadata={"help": "Seed for sub-sampling, shuffling and the test split."})
    test_split_size: Optional[float] = field(
        default=None, metadata={"help": "Fraction (0, 1) of the mixture held out as a `test` split."}
    )


_DATASET_CONFIG_KEYS = {f.name for f in fields(DatasetConfig)}
_MIXTURE_KEYS = {f.name for f in fields(DatasetMixtureConfig)}


def _parse_dataset_mixture(raw: Any) -> DatasetMixtureConfig:
    """Turns the `dataset_mixture` mapping of a recipe into a validated `DatasetMixtureConfig`."""
    if isinstance(raw, DatasetMixtureConfig):
        return raw
    if not isinstance(raw, dict) or "datasets" not in raw:
        raise ValueError(
            "dataset_mixture must be a mapping with a 'datasets' list, e.g. "
            "{'datasets': [{'id': 'org/data', 'columns': ['messages'], 'weight': 0.5}], 'seed': 0}; "
            f"got {raw!r}"
        )
    unknown = set(raw) - _MIXTURE_KEYS
    if unknown:
        raise ValueError(f"dataset_mixture has unknown keys {sorted(unknown)}; allowed: {sorted(_MIXTURE_KEYS)}")
    if not isinstance(raw["datasets"], list) or not raw["datasets"]:
        raise ValueError("dataset_mixture.datasets must be a non-empty list of dataset configurations")

    datasets = []
    for index, entry in enumerate(raw["datasets"]):
        where = f"dataset_mixture.datasets[{index}]"
        if isinstance(entry, DatasetConfig):
            entry = {f.name: getattr(entry, f.name) for f in fields(DatasetConfig)}
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a mapping with at least an 'id'; got {entry!r}")
        unknown = set(entry) - _DATASET_CONFIG_KEYS
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_DATASET_CONFIG_KEYS)}")
        if not entry.get("id"):
            raise ValueError(f"{where} needs an 'id' (a Hub dataset id or a local path)")
        weight = entry.get("weight")
        if weight is not None and not (_is_number(weight) and 0 < weight <= 1):
            raise UsageError(f"{where} ({entry['id']}): weight must be a number in (0, 1], got {weight!r}")
        columns = entry.get("columns")
        if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
            raise ValueError(f"{where} ({entry['id']}): columns must be a list of column names, got {columns!r}")
        repeated = sorted({c for c in columns or [] if columns.count(c) > 1})
        if repeated:
            # datasets' select_columns keeps a column named twice twice, and the mixture fails on it at load.
            raise UsageError(
                f"{where} ({entry['id']}): columns lists {', '.join(map(repr, repeated))} more than once "
                f"({columns!r}); list each column once"
            )
        datasets.append(DatasetConfig(**entry))

    column_sets = {tuple(sorted(d.columns)) for d in datasets if d.columns is not None}
    if len(column_sets) > 1 or (column_sets and any(d.columns is None for d in datasets)):
        listing = "; ".join(f"{d.id}: {d.columns}" for d in datasets)
        # "Column names must be consistent" is upstream's wording, which its tests match.
        raise ValueError(
            "Column names must be consistent across the datasets of a mixture: every dataset must select the same "
            f"columns so the rows can be concatenated; got {listing}"
        )

    test_split_size = raw.get("test_split_size")
    if test_split_size is not None and not (_is_number(test_split_size) and 0 < test_split_size < 1):
        raise UsageError(
            f"dataset_mixture.test_split_size must be a number in (0, 1), got {test_split_size!r}"
            + (" (a quoted string: write it unquoted)" if isinstance(test_split_size, str) else "")
        )
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"dataset_mixture.seed must be an integer, got {seed!r}")
    return DatasetMixtureConfig(datasets=datasets, seed=seed, test_split_size=test_split_size)


def _is_number(value: Any) -> bool:
    # YAML's true/false are ints to Python, and a quoted "0.1" is a string: neither is a weight or a share.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class ScriptArguments(trl.ScriptArguments):
    """Which data to train on: a single dataset or a weighted mixture."""

    dataset_name: Optional[str] = field(
        default=None,
        metadata={
            "help": "Hub dataset id, a folder saved with `save_to_disk`, or local json/jsonl/parquet/csv "
            "file(s) (comma-separated). Either this or `dataset_mixture` is required."
        },
    )
    dataset_mixture: Optional[dict[str, Any]] = field(
        default=None,
        metadata={
            "help": "A mixture of datasets: {'datasets': [{'id', 'config', 'split', 'columns', 'weight'}, ...], "
            "'seed': int, 'test_split_size': float}."
        },
    )

    def __post_init__(self):
        if self.dataset_name is None and self.dataset_mixture is None:
            raise ValueError("Either `dataset_name` or `dataset_mixture` must be provided")
        if self.dataset_mixture is not None:
            self.dataset_mixture = _parse_dataset_mixture(self.dataset_mixture)


# ---------------------------------------------------------------------------------------------
# Rewards
# ---------------------------------------------------------------------------------------------


@dataclass
class GRPOScriptArguments(ScriptArguments, ToolArguments):
    """Dataset arguments plus the reward functions of a GRPO run and their parameters."""

    reward_funcs: list[str] = field(
        default_factory=lambda: ["accuracy", "format", "tag_count"],
        metadata={
            "help": f"Reward functions by name, any of: {', '.join(REWARD_FUNCS_REGISTRY)} (see open_r1.rewards)."
        },
    )
    think_prefilled: bool = field(
        default=format_rewards.DEFAULT_THINK_PREFILLED,
        metadata={
            "help": "The chat template already opens `<think>` in the prompt (DeepSeek-R1-Distill models), so "
            "completions start inside the reasoning; format rewards then expect no opening tag, and the accuracy "
            "rewards read the answer only after the completion's `</think>`."
        },
    )
    cosine_min_value_wrong: float = field(
        default=length.COSINE_MIN_VALUE_WRONG,
        metadata={"help": "Cosine-scaled reward: reward for a wrong answer of length 0 (upstream's name)."},
    )
    cosine_max_value_wrong: float = field(
        default=length.COSINE_MAX_VALUE_WRONG,
        metadata={"help": "Cosine-scaled reward: reward for a wrong answer at cosine_max_len or longer."},
    )
    cosine_min_value_correct: float = field(
        default=length.COSINE_MIN_VALUE_CORRECT,
        metadata={"help": "Cosine-scaled reward: reward for a correct answer at maximum length."},
    )
    cosine_max_value_correct: float = field(
        default=length.COSINE_MAX_VALUE_CORRECT,
        metadata={"help": "Cosine-scaled reward: reward for a correct answer at length 0."},
    )
    cosine_max_len: int = field(
        default=length.COSINE_MAX_LEN, metadata={"help": "Cosine-scaled reward: length scale in characters."}
    )
    repetition_n_grams: int = field(
        default=repetition.DEFAULT_NGRAM_SIZE, metadata={"help": "Repetition penalty: n-gram size."}
    )
    repetition_max_penalty: float = field(
        default=repetition.DEFAULT_MAX_PENALTY,
        metadata={"help": "Repetition penalty: most negative penalty (must be <= 0)."},
    )
    repetition_language: str = field(
        default=repetition.DEFAULT_REPETITION_LANGUAGE,
        metadata={"help": "Repetition penalty: 'en' splits on whitespace, 'zh' segments with jieba."},
    )
    max_completion_len: int = field(
        default=length.SOFT_OVERLONG_MAX_COMPLETION_LEN,
        metadata={"help": "Soft overlong punishment: the completion length (tokens) budget."},
    )
    soft_punish_cache: int = field(
        default=length.SOFT_OVERLONG_PUNISH_CACHE,
        metadata={"help": "Soft overlong punishment: tokens before the budget where the penalty starts."},
    )
    reward_num_workers: int = field(
        default=accuracy.DEFAULT_GRADING_WORKERS,
        metadata={"help": "Worker processes that grade math answers in parallel (per training process)."},
    )
    reward_timeout_seconds: float = field(
        default=accuracy.DEFAULT_TIMEOUT_SECONDS,
        metadata={"help": "Hard time limit to grade one completion; past it the reward is 0."},
    )
    code_language: str = field(
        default=DEFAULT_CODE_LANGUAGE,
        metadata={"help": "Language of code completions: python, cpp, javascript, ..."},
    )
    code_scoring_mode: Optional[str] = field(
        default=None,
        metadata={
            "help": f"Scoring of the code and cf_code rewards: one of {SCORING_MODES} (partial: the fraction of "
            "tests passed; weighted_sum: pass_fail + 0.1 * partial). Unset: each reward's own, as upstream's (code: "
            "partial; cf_code: weighted_sum)."
        },
    )
    code_test_batch_size: Optional[int] = field(
        default=None,
        metadata={
            "help": "Test cases of a code reward run together; the next batch runs only if all passed (early "
            "stopping; <=0 runs all at once). Unset: each reward's own (code: all at once; binary_code, cf_code and "
            "ioi_code: 1)."
        },
    )
    code_num_workers: int = field(
        default=DEFAULT_SANDBOX_WORKERS,
        metadata={
            "help": "Programs the code rewards run at once per training process, and the python tool's calls of "
            "different rollouts in one generation round."
        },
    )
    dataset_prompt_column: str = field(
        default="prompt", metadata={"help": "Column holding the prompt (problem statement)."}
    )
    code_provider: str = field(
        default=DEFAULT_PROVIDER,
        metadata={"help": f"Where code rewards run programs: one of {PROVIDERS}. 'local' needs no account."},
    )
    e2b_router_url: Optional[str] = field(
        default=None, metadata={"help": "URL of an E2B router (scripts/e2b_router.py), e.g. 'ip:port'."}
    )
    morph_router_url: Optional[str] = field(
        default=None, metadata={"help": "URL of a Morph router (scripts/morph_router.py), e.g. 'ip:port'."}
    )
    competitive_programming_provider: str = field(
        default=DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER,
        metadata={
            "help": f"Where the IOI and Codeforces rewards (ioi_code, cf_code) run programs: one of {PROVIDERS} "
            "(open-r1/ioi rows with graders need 'piston')."
        },
    )

    def __post_init__(self):
        super().__post_init__()
        check_reward_names(self.reward_funcs)
        if self.code_scoring_mode is not None:
            check_scoring_mode(self.code_scoring_mode, "code_scoring_mode")
        runs_on = {
            "code_provider": self.code_provider,
            "competitive_programming_provider": self.competitive_programming_provider,
        }
        if self.tools:
            runs_on["python_tool_provider"] = self.python_tool_provider
        for provider, url in (("e2b", self.e2b_router_url), ("morph", self.morph_router_url)):
            # A router nothing runs on would be ignored.
            if url is not None and provider not in runs_on.values():
                settings = ", ".join(f"{name}: {value}" for name, value in runs_on.items())
                raise ValueError(
                    f"{provider}_router_url is set but nothing runs on {provider} ({settings}); add "
                    f"code_provider: {provider}"
                )
        if self.repetition_max_penalty > 0:
            raise ValueError(f"repetition_max_penalty must be <= 0, got {self.repetition_max_penalty}")
        check_tool_names(self.tools, "tools")
        python_tool.check_tool_provider(self.python_tool_provider, "python_tool_provider")
        # Built once, here: the code rewards, the python tool and the providers get these unchanged.
        self.code_sandbox = self._sandbox("code_provider", self.code_provider)
        self.competitive_programming_sandbox = self._sandbox(
            "competitive_programming_provider", self.competitive_programming_provider
        )
        self.tool_sandbox = self._sandbox("python_tool_provider", self.python_tool_provider)

    def _sandbox(self, field_name: str, provider: str) -> SandboxConfig:
        router_url = {"e2b": self.e2b_router_url, "morph": self.morph_router_url}.get(provider)
        try:
            return SandboxConfig(provider, self.code_num_workers, router_url)
        except ValueError as error:
            raise ValueError(f"{field_name}: {provider}, code_num_workers: {self.code_num_workers}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Training configs
# ---------------------------------------------------------------------------------------------


@dataclass
class _OpenR1TrainingExtras:
    """Fields open-r1 adds to both TRL training configs (mixed into SFTConfig and GRPOConfig)."""

    benchmarks: list[str] = field(
        default_factory=list,
        metadata={"help": "Benchmarks to evaluate each pushed checkpoint on (see open_r1.eval.benchmark_registry)."},
    )
    callbacks: list[str] = field(
        default_factory=list, metadata={"help": "Callbacks by name (see open_r1.utils.callbacks.CALLBACKS)."}
    )
    chat_template: Optional[str] = field(
        default=None,
        metadata={"help": "A Jinja chat template that replaces the tokenizer's: its text, or a file holding it."},
    )
    system_prompt: Optional[str] = field(
        default=None,
        metadata={
            "help": "System prompt prepended to every conversation: its text, or a .txt or .md file holding it."
        },
    )
    hub_model_revision: Optional[str] = field(default="main", metadata={"help": "Hub branch to push the model to."})
    overwrite_hub_revision: bool = field(
        default=False, metadata={"help": "Allow pushing over an existing Hub revision."}
    )
    push_to_hub_revision: bool = field(
        default=False, metadata={"help": "Push each saved checkpoint to `hub_model_revision`-step-N branches."}
    )
    wandb_entity: Optional[str] = field(default=None, metadata={"help": "wandb entity (team) to log to."})
    wandb_project: Optional[str] = field(default=None, metadata={"help": "wandb project to log to."})
    wandb_run_group: Optional[str] = field(default=None, metadata={"help": "wandb run group."})
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Start fresh even when output_dir holds checkpoints: their checkpoint-N folders are deleted when "
            "training begins instead of resumed from (transformers 4's field, which transformers 5 removed; see "
            "docs/upstream.md)."
        },
    )
    max_run_minutes: Optional[float] = field(
        default=None,
        metadata={
            "help": "Stop training, saved, at the last step that ends within this many minutes of the process's "
            "start (the longest step so far predicts the next): for a job with a time limit, leaving room for "
            "saving and what follows; a checkpoint is written where save_strategy writes them, to resume from "
            "(open_r1.utils.time_limit). None: no limit."
        },
    )

    def _read_chat_template(self) -> None:
        """`chat_template` is the template's text, or a file holding it (read here); either must parse."""
        source = "chat_template"
        if "{" not in self.chat_template:  # a path where the template's text goes
            path = os.path.expanduser(self.chat_template)
            if not os.path.isfile(path):
                raise UsageError(
                    f"chat_template {self.chat_template!r} is neither a Jinja template (no {{{{ or {{% in it) nor a "
                    "file holding one"
                )
            source = f"chat_template {self.chat_template}"
            with open(path, encoding="utf-8") as file:
                self.chat_template = file.read()
        problem = template_syntax_problem(self.chat_template)
        if problem:
            raise UsageError(f"{source}: {problem}")

    def _check_extras(self) -> None:
        # TRL 1.16 defaults transformers' deprecated alias (gradient_checkpointing: true), which then warns on every run
        # whose recipe leaves activation_checkpointing unset; the same value under the new name. Remove when TRL
        # defaults activation_checkpointing.
        if self.activation_checkpointing is None and self.gradient_checkpointing is not None:
            self.activation_checkpointing, self.gradient_checkpointing = self.gradient_checkpointing, None
        if not self.learning_rate >= 0:
            raise UsageError(f"learning_rate must be a step size >= 0, got {self.learning_rate:g}")
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise UsageError(f"seed must be >= 0 (numpy takes seeds up to 2**32 - 1), got {self.seed}")
        if self.max_steps == 0:
            raise UsageError("max_steps 0 trains nothing; -1 (the default) trains num_train_epochs instead")
        if self.max_steps < -1:  # transformers reads any negative as "train by epochs"
            raise UsageError(
                f"max_steps must be a positive number of steps, or -1 to train num_train_epochs; got {self.max_steps}"
            )
        if str(self.save_strategy) in ("steps", "SaveStrategy.STEPS") and self.save_steps == 0:
            raise UsageError("save_steps 0 with save_strategy steps saves no checkpoint; give a number of steps")
        if self.output_dir:
            check_output_folder("output_dir", self.output_dir)
        if self.chat_template is not None:
            self._read_chat_template()
        self.system_prompt = system_prompt_text(self.system_prompt)
        if getattr(self, "chat_template_path", None) is not None:  # TRL's SFTConfig field
            if self.chat_template is not None:
                raise UsageError(
                    "chat_template and chat_template_path both replace the tokenizer's template; give one"
                )
            check_chat_template_path(self.chat_template_path)
            if template_path_is_local(self.chat_template_path):  # TRL reads the path as it is: `~` not expanded
                self.chat_template_path = os.path.expanduser(self.chat_template_path)
        if self.max_run_minutes is not None and not self.max_run_minutes > 0:
            raise ValueError(
                f"max_run_minutes must be a positive number of minutes (leave it out for no limit), got "
                f"{self.max_run_minutes:g}"
            )


@dataclass
class SFTConfig(trl.SFTConfig, _OpenR1TrainingExtras):
    """TRL's SFTConfig with open-r1's extras."""

    def __post_init__(self):
        self._check_extras()
        super().__post_init__()


# The values TRL 1.16's GRPOTrainer implements for its string-valued fields; TRL itself notices another value only
# mid-training (the loss, the advantages) or once the model is loaded (vLLM). scale_rewards also takes TRL's booleans.
GRPO_LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")
GRPO_CHOICES: dict[str, tuple] = {
    "loss_type": GRPO_LOSS_TYPES,
    "importance_sampling_level": ("token", "sequence"),
    "scale_rewards": ("group", "batch", "none", True, False),
    "vllm_mode": ("colocate", "server"),
}


@dataclass
class GRPOConfig(trl.GRPOConfig, _OpenR1TrainingExtras):
    """TRL's GRPOConfig with open-r1's extras; bad combinations fail here, before any model is loaded."""

    max_prompt_length: Optional[int] = field(
        default=None,
        metadata={
            "help": "Keep only the last max_prompt_length tokens of each prompt (after the chat template), as "
            "TRL 0.18 did; with vLLM colocated, also its context length with max_completion_length unless "
            "vllm_max_model_length is set. None keeps whole prompts (TRL 1.16, which removed the field)."
        },
    )
    num_completions_to_print: Optional[int] = field(
        default=0,
        metadata={
            "help": "Completions printed to the console at each logging step with log_completions (which also logs "
            "them to wandb/trackio). 0, upstream open-r1's default, prints none; None prints every completion of the "
            "step (TRL 1.16's default: hundreds of rows a step on 8 GPUs)."
        },
    )
    # The GRPO doctor (open_r1.doctor, docs/guide.md "The GRPO doctor").
    doctor: bool = field(
        default=grpo_doctor.DEFAULT_DOCTOR,
        metadata={
            "help": "Check at start-up for the causes of flat rewards (gold answers their reward cannot pay, no "
            "stop token, solutions longer than max_completion_length) and warn while training when a reward pays "
            "nothing, groups have no spread, completions are clipped, the gradient dies, or with tools the policy "
            "never calls them or its calls mostly fail, for doctor_patience steps."
        },
    )
    doctor_patience: int = field(
        default=grpo_doctor.DEFAULT_PATIENCE,
        metadata={
            "help": "Steps a symptom must last before the doctor reports it, over whole logs (at logging_steps 10, one "
            f"log of ten steps for the default {grpo_doctor.DEFAULT_PATIENCE})."
        },
    )
    doctor_zero_std_share: float = field(
        default=grpo_doctor.DEFAULT_ZERO_STD_SHARE,
        metadata={
            "help": "The doctor reports a share of groups without reward spread (frac_reward_zero_std) above this."
        },
    )
    doctor_clipped_share: float = field(
        default=grpo_doctor.DEFAULT_CLIPPED_SHARE,
        metadata={
            "help": "The doctor reports a share of completions cut at max_completion_length "
            "(completions/clipped_ratio) above this."
        },
    )
    doctor_tool_error_share: float = field(
        default=grpo_doctor.DEFAULT_TOOL_ERROR_SHARE,
        metadata={
            "help": "With tools: the doctor reports a share of python calls that failed (tools/python_error_rate) "
            "above this."
        },
    )
    doctor_stop_on: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Doctor checks that stop the run instead of warning (start-up ones before training, with exit "
            f"status 2; training ones at that step): any of {', '.join(grpo_doctor.CHECKS)}, or all."
        },
    )
    skip_nonfinite_updates: bool = field(
        default=True,
        metadata={
            "help": "Skip an optimizer update whose gradient holds a NaN or inf, with a warning, and stop training "
            "after several in a row (open_r1.utils.finite_updates); one such update makes every weight NaN. Under "
            "DeepSpeed ZeRO, which skips such updates itself, its skips are reported and counted the same way. An "
            "update that leaves a weight not finite, or a thousand times larger, stops training before it is saved."
        },
    )
    skip_flat_rows: bool = field(
        default=True,
        metadata={
            "help": "Leave the completions whose advantage is 0 (a group whose rewards have no spread) out of the "
            "training forward and backward pass, where that keeps the loss and its gradient as they are: any "
            "loss_type but vespo, beta 0, no dropout, no entropy term or router loss (open_r1.utils.flat_rows). The loss's own "
            "metrics (entropy, clip ratios) then cover the rows trained on."
        },
    )
    dynamic_sampling: bool = field(
        default=False,
        metadata={
            "help": "DAPO's dynamic sampling (arXiv 2503.14476): drop the groups whose rewards have no spread (zero "
            "advantage, no gradient) and generate further prompts until the batch holds as many groups with spread "
            "as it normally holds, for at most dynamic_sampling_max_rounds generation rounds (see "
            "open_r1.utils.dynamic_sampling)."
        },
    )
    dynamic_sampling_max_rounds: int = field(
        default=DEFAULT_MAX_ROUNDS,
        metadata={
            "help": "With dynamic_sampling, the most generation rounds (whole generation batches, the first one "
            "included) per batch; after the last, the step trains on the groups found so far, with a warning. At "
            "least 2."
        },
    )

    tool_rollout_chunk_tokens: Optional[int] = field(
        default=None,
        metadata={
            "help": "With tools and transformers generation: decode each batch's tool rollouts ahead of TRL's rounds, "
            "at most this many tokens per generate call, each rollout going on after its tool results without "
            "waiting for the other rows' turns to end (open_r1.tools.rollouts_ahead). Unset: TRL's rounds, each "
            "decoding until its longest row stops."
        },
    )

    compile_generation: bool = field(
        default=False,
        metadata={
            "help": "With transformers generation on a GPU (use_vllm and use_transformers_continuous_batching false): "
            "decode with a static cache and transformers' compiled decode step (torch.compile, mode "
            "reduce-overhead: CUDA graphs) in place of TRL's eager decoding, whose every step the host dispatches "
            "operator by operator (open_r1.utils.compiled_generation). Each new batch shape compiles on its first "
            "generate call. Not with parameters sharded across processes (ZeRO-3, FSDP)."
        },
    )

    def __post_init__(self):
        self._check_extras()
        self._check_doctor_fields()
        if self.tool_rollout_chunk_tokens is not None and self.tool_rollout_chunk_tokens < 1:
            raise UsageError(
                f"tool_rollout_chunk_tokens must be a positive number of tokens, got {self.tool_rollout_chunk_tokens}"
            )
        if isinstance(self.scale_rewards, str) and self.scale_rewards.lower() in ("true", "false"):
            # `--scale_rewards false` arrives as a string; TRL 0.18's field was a bool, and TRL maps only booleans.
            self.scale_rewards = self.scale_rewards.lower() == "true"
        for name, choices in GRPO_CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if self.num_generations is not None and self.num_generations < 2:  # TRL 1.16 divides by it before it checks
            raise UsageError(
                f"num_generations must be at least 2, got {self.num_generations}: GRPO's advantage is each completion's "
                "reward against the others of its prompt"
            )
        for name in ("generation_batch_size", "steps_per_generation", "num_iterations"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.dynamic_sampling_max_rounds < 2:
            raise ValueError(
                "dynamic_sampling_max_rounds must be at least 2 (one generation batch, then refills), got "
                f"{self.dynamic_sampling_max_rounds}"
            )
        if self.beta < 0:
            raise UsageError(f"beta (the KL coefficient) must be >= 0, got {self.beta:g}: below 0 it pays to drift")
        if self.max_completion_length is not None and self.max_completion_length < 1:
            raise UsageError(
                f"max_completion_length must be a positive number of tokens, got {self.max_completion_length}"
            )
        if not self.temperature > 0:
            raise UsageError(
                f"temperature must be > 0, got {self.temperature:g}: GRPO samples its num_generations completions of a "
                "prompt, and at 0 they would all be the greedy one, with no spread to learn from"
            )
        if self.top_k == 1:
            raise UsageError(
                "top_k 1 samples only the likeliest token: every one of a prompt's num_generations completions would "
                "be the greedy one, with no spread to learn from; unset top_k (0) or raise it"
            )
        if not self.top_p > 0:
            raise UsageError(f"top_p must be > 0 (1.0 keeps every token), got {self.top_p:g}")
        cap = self.epsilon_high if self.epsilon_high is not None else self.epsilon
        if self.loss_type == "cispo" and cap < 1:
            raise UsageError(
                f"loss_type cispo caps each token's importance weight at epsilon_high (ScaleRL's epsilon_max; TRL "
                f"recommends 5.0), and {cap:g}"
                + (" (epsilon's, epsilon_high being unset)" if self.epsilon_high is None else "")
                + " is below the weights' 1.0 on policy: every token would be scaled down; set epsilon_high: 5.0"
            )
        if self.max_prompt_length is not None and self.max_prompt_length < 1:
            raise ValueError(
                f"max_prompt_length must be a positive number of tokens or None, got {self.max_prompt_length}"
            )
        batch_given = self.generation_batch_size is not None  # else TRL derives it from the per-device batch
        try:
            super().__post_init__()
        except ValueError as error:
            if "divisible by num_generations" not in str(error):
                raise
            raise ValueError(
                f"{error} Every prompt's num_generations completions must land in one generation batch: make "
                "per_device_train_batch_size x number of processes x steps_per_generation (or generation_batch_size) "
                f"a multiple of num_generations, or change num_generations{self._batch_fits(str(error), batch_given)}."
            ) from error
        if (
            self.max_prompt_length is not None
            and self.use_vllm
            and self.vllm_mode == "colocate"
            and self.vllm_max_model_length is None
        ):
            # TRL 0.18 sized the colocated engine to the longest sequence it can be asked for.
            self.vllm_max_model_length = self.max_prompt_length + self.max_completion_length

    def _batch_fits(self, error: str, batch_given: bool) -> str:
        """ " (e.g. num_generations 2, 4 or 8, or per_device_train_batch_size 9)": the values that fit TRL's
        `generation_batch_size (8) must be divisible by num_generations (3)`, the batch's other factors kept (a
        per-device batch size only where the recipe left generation_batch_size to it)."""
        found = re.search(r"generation_batch_size \((\d+)\) must be divisible by num_generations \((\d+)\)", error)
        if found is None:
            return ""
        batch, generations = map(int, found.groups())
        divisors = [str(count) for count in range(2, batch + 1) if batch % count == 0][:6]
        options = []
        if divisors:
            options.append(f"num_generations {' or '.join(filter(None, [', '.join(divisors[:-1]), divisors[-1]]))}")
        per_device = self.per_device_train_batch_size
        if per_device and batch % per_device == 0 and not batch_given:  # the batch is per_device x the others
            step = generations // math.gcd(batch // per_device, generations)
            options.append(f"per_device_train_batch_size {step * -(-per_device // step)}")
        return f" (e.g. {', or '.join(options)})" if options else ""

    def _check_doctor_fields(self) -> None:
        grpo_doctor.stop_checks(self.doctor_stop_on)
        if self.doctor_patience < 1:
            raise UsageError(f"doctor_patience must be at least 1 step, got {self.doctor_patience}")
        for name in ("doctor_zero_std_share", "doctor_clipped_share", "doctor_tool_error_share"):
            if not 0 <= getattr(self, name) < 1:
                raise UsageError(f"{name} must be a share in [0, 1), got {getattr(self, name)}")


# ---------------------------------------------------------------------------------------------
# Parsing recipes and command lines
# ---------------------------------------------------------------------------------------------


# The dataclasses each training script parses, by its name (src/open_r1/sft.py, grpo.py; `open_r1.check_recipe`).
TRAINER_ARGUMENTS = {
    "sft": (ScriptArguments, SFTConfig, trl.ModelConfig),
    "grpo": (GRPOScriptArguments, GRPOConfig, trl.ModelConfig),
}

# The parser of these classes, importable from here as the entry scripts and upstream's import it.
from open_r1.recipe_parser import RecipeParser  # noqa: E402, F401
