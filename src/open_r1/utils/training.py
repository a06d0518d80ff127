"""What every training script does around `trainer.train()`: logging, resuming, saving, pushing.

    checkpoint = start_run(script_args, training_args, model_args)   # seed, logging, precision, resume point, Hub, wandb
    log_settings(script_args, training_args, model_args, checkpoint)  # once the dataset passed its checks
    train_dataset, eval_dataset = training_splits(dataset, script_args, training_args)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    finish_training(trainer, training_args, script_args, tokenizer, train_result, len(train_dataset))

`sft.py` and `grpo.py` share these so they stay short and behave the same. Not covered: the
training itself (TRL's trainers).
"""

import contextlib
import logging
import os
import re
import sys
import warnings

import datasets
import transformers
from transformers import set_seed

from open_r1.usage import UsageError
from open_r1.utils.checkpoints import newest_complete_checkpoint

from .hub import check_hub_revision_exists
from .launch_settings import apply_launch_settings
from .logs import configure_logging
from .resume import finished_run, report_changed_settings
from .wandb_logging import check_wandb_login, init_wandb_training

logger = logging.getLogger("open_r1")


class _CheckpointTimesNotice(logging.Filter):
    """Drops transformers 5.23's "mtime may not be reliable on this filesystem, falling back to numerical ordering":
    it says so whenever the checkpoints it rotates were saved within a second of each other (a CPU recipe's fast
    steps), and then orders them by step, as a reliable filesystem would too. Remove when it checks the filesystem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mtime may not be reliable" not in record.getMessage()


def setup_logging(training_args) -> None:
    """Logs to stdout in the project's one format (`open_r1.utils.logs`); non-main ranks log warnings only
    (TrainingArguments' rule)."""
    configure_logging(level=None, stream=sys.stdout)
    log_level = training_args.get_process_log_level()
    # open_r1's own messages (resuming, saving, pushing) are worth seeing on the main process even when
    # the libraries are left at their default ("passive") verbosity.
    own_level = logging.INFO if training_args.log_level == "passive" and training_args.should_log else log_level
    logging.getLogger("open_r1").setLevel(own_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    checkpoint_times = logging.getLogger("transformers.trainer_utils")
    if not any(isinstance(existing, _CheckpointTimesNotice) for existing in checkpoint_times.filters):
        checkpoint_times.addFilter(_CheckpointTimesNotice())
    # TRL 1.16 reads transformers' deprecated `is_gradient_checkpointing` at every generation; no setting of ours
    # causes it. Remove when TRL reads `is_activation_checkpointing`.
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    # torch 2.13 deprecated the collectives accelerate's gather (NCCL) and DeepSpeed ZeRO call on every step; no
    # setting of ours causes it. Remove when both call `all_gather_single` / `reduce_scatter_single`.
    warnings.filterwarnings(
        "ignore",
        message=r"`torch\.distributed\.(all_gather_into_tensor|reduce_scatter_tensor)` is deprecated",
        category=FutureWarning,
    )


def resolve_checkpoint(training_args) -> str | None:
    """The checkpoint to resume from: `resume_from_checkpoint` if given, else the last one in output_dir.

    Resuming automatically is what makes a preempted or requeued job continue instead of
    starting over (and overwriting the checkpoints it would need). `overwrite_output_dir: true` asks for
    the opposite, as it did in transformers 4: the run starts fresh (see `resume.DiscardEarlierCheckpoints`).
    """
    if training_args.resume_from_checkpoint is not None:
        return training_args.resume_from_checkpoint
    if os.path.isdir(training_args.output_dir):
        last_checkpoint = newest_complete_checkpoint(training_args.output_dir, warn_skipped=True)
        if last_checkpoint is not None and getattr(training_args, "overwrite_output_dir", False):
            logger.info(
                "overwrite_output_dir is set: starting fresh instead of resuming %s; the earlier run's checkpoints "
                "are deleted once training starts (DiscardEarlierCheckpoints), not before the run's checks pass",
                last_checkpoint,
            )
            return None
        return last_checkpoint  # `start_run` says it resumes once it knows there is something left to train
    return None


# Beyond these, a GRPO setting is seldom what was meant.
LOW_TEMPERATURE = 0.3
HIGH_BETA = 1.0
HIGH_REPETITION_PENALTY = 2.0


def settings_that_rarely_learn(training_args) -> list[str]:
    """Warnings for settings a run accepts but seldom learns under: learning_rate 0; for GRPO a temperature so low
    that a prompt's completions come out alike (no spread, no advantage), a KL coefficient that outweighs rewards of
    about 1, a sampling repetition_penalty that garbles the text."""
    messages = []
    if training_args.learning_rate == 0:
        messages.append(
            "learning_rate 0: the optimizer never changes the weights, so this run trains nothing (it measures only)"
        )
    temperature = getattr(training_args, "temperature", None)
    if temperature is not None and 0 < temperature < LOW_TEMPERATURE:
        messages.append(
            f"temperature {temperature:g}: a prompt's num_generations completions will be nearly alike, and a group "
            "without reward spread teaches nothing (its advantages are 0); GRPO recipes sample at 0.6 to 1.0"
        )
    beta = getattr(training_args, "beta", None)
    if beta is not None and beta >= HIGH_BETA:
        messages.append(
            f"beta {beta:g}: the KL penalty outweighs rewards of about 1, so the policy is held at the reference "
            "model; GRPO recipes use 0 to 0.04"
        )
    penalty = getattr(training_args, "repetition_penalty", None)
    if penalty is not None and penalty > HIGH_REPETITION_PENALTY:
        messages.append(
            f"repetition_penalty {penalty:g}: sampling scales down every token already in the text, which garbles "
            "completions (they cannot repeat a number or a word); 1.0 leaves sampling alone"
        )
    return messages


# The module each reporting integration of transformers imports where it is not the integration's own name, and the
# PyPI name of a module where that differs.
REPORTING_MODULES = {"azure_ml": "azureml", "flyte": "flytekit"}
PYPI_NAMES = {"azureml": "azureml-core", "comet_ml": "comet-ml"}
REPORTING_INTEGRATIONS = (
    "azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "mlflow", "neptune", "swanlab",
    "tensorboard", "trackio", "wandb",
)  # fmt: skip


def check_reporting_installed(training_args) -> None:
    """Each integration `report_to` names has its package: transformers finds out when the trainer is built, after
    the model loaded, with a traceback. Names transformers does not know are left to it."""
    import importlib.util

    modules = {
        name: REPORTING_MODULES.get(name, name)
        for name in training_args.report_to or []
        if name in REPORTING_INTEGRATIONS
    }
    missing = [name for name, module in modules.items() if importlib.util.find_spec(module) is None]
    if missing:
        packages = " ".join(PYPI_NAMES.get(modules[name], modules[name]) for name in missing)
        raise UsageError(f"report_to {', '.join(missing)}: not installed here (pip install {packages})")


def start_run(script_args, training_args, model_args) -> str | None:
    """Checks that vLLM is there if asked for, seeds, sets up logging, settles the launch's precision, checks the Hub
    revision and wandb's login; returns the checkpoint
    to resume from (`log_settings` logs the settings). A run whose checkpoint already reached this command's
    max_steps (or num_train_epochs) says so and exits 0 here (see open_r1.utils.resume)."""
    from open_r1.startup_checks import check_vllm_installed

    check_vllm_installed(training_args)
    set_seed(training_args.seed)
    setup_logging(training_args)
    apply_launch_settings(training_args)
    checkpoint = resolve_checkpoint(training_args)
    finished = None if checkpoint is None else finished_run(checkpoint, training_args)
    if finished is not None:  # the run's whole output is why it has nothing to do
        logger.info(finished)
        _exit_without_training()
    if checkpoint is not None and checkpoint != training_args.resume_from_checkpoint:
        logger.info("Checkpoint detected, resuming training at %s", checkpoint)
    for message in settings_that_rarely_learn(training_args):
        logger.warning(message)
    check_reporting_installed(training_args)
    check_hub_revision_exists(training_args)
    if "wandb" in training_args.report_to:
        check_wandb_login()
        init_wandb_training(training_args)
    return checkpoint


def _unset(value) -> bool:
    """None or an empty text or collection: a default of None that post-init resolved to [] is no setting. Not False
    (`bf16: false` where TRL's None means true) nor 0 (`max_tool_calling_iterations: 0`)."""
    return value is None or (isinstance(value, (str, list, dict, tuple)) and not value)


# A logged value longer than this (a chat template, a system prompt) shows its start and its length.
SHOWN_VALUE_CHARS = 120
_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def _shown_value(value) -> str:
    """A setting's value as the settings line shows it: credentials in a URL masked, a long value cut."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = _URL_CREDENTIALS.sub(r"\1<CREDENTIALS>@", text)
    return text if len(text) <= SHOWN_VALUE_CHARS else f"{text[:SHOWN_VALUE_CHARS]}... ({len(text)} characters)"


# The fields ending in _token that name a tokenizer's special token, not a credential.
SPECIAL_TOKEN_FIELDS = ("eos_token", "pad_token", "bos_token", "unk_token")


def _built_from_defaults(value) -> bool:
    """Whether the dataclass `value` equals its class built from its defaults; False for a class with a field that
    has none (a `DatasetMixtureConfig` needs its `datasets`)."""
    try:
        return value == type(value)()
    except TypeError:
        return False


def changed_from_defaults(arguments) -> str:
    """`name=value, ...` of the fields of a dataclass of arguments whose value is not their default (the recipe's and
    command line's, and what the class derives from them); credentials (`hub_token`) masked, as transformers' own
    dump masks them, the tokenizer's special tokens (`eos_token`, which that dump masks too) shown."""
    import dataclasses

    shown = []
    for field in dataclasses.fields(arguments):
        if not field.init:
            continue
        value = getattr(arguments, field.name, None)
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = dataclasses.MISSING
        value, default = getattr(value, "value", value), getattr(default, "value", default)  # an enum as its text
        try:
            same = bool(value == default)
        except (TypeError, ValueError):  # an array's == is elementwise
            same = False
        if same or (_unset(value) and _unset(default)):
            continue
        if dataclasses.is_dataclass(value) and default is None and _built_from_defaults(value):
            continue
        if field.name.endswith("_token") and field.name not in SPECIAL_TOKEN_FIELDS and value is not None:
            shown.append(f"{field.name}=<{field.name.upper()}>")
        else:
            shown.append(f"{field.name}={_shown_value(value)}")
    return ", ".join(shown) + " (every other field at its default)" if shown else "every field at its default"


def log_settings(script_args, training_args, model_args, checkpoint: str | None) -> None:
    """Logs the run's settings and, when it resumes, which of them differ from the checkpoint's; the entry scripts
    call it once the dataset passed its checks, so that a dataset mistake is not the last line under the dump."""
    for kind, arguments in (("Model", model_args), ("Script", script_args), ("Training", training_args)):
        # A GRPOConfig's whole dump is 216 lines, in which a newcomer loses the lines that matter: the rest at DEBUG.
        logger.info("%s parameters (%s): %s", kind, type(arguments).__name__, changed_from_defaults(arguments))
        logger.debug("%s parameters, all of them: %s", kind, arguments)
    if checkpoint is not None:
        report_changed_settings(checkpoint, training_args, script_args, model_args)


@contextlib.contextmanager
def _without_offline_wandb_url_warning():
    """TRL 1.16's model card reads `wandb.run.url`, which in an offline run (WANDB_MODE=offline, the README's own
    run) warns "URL not available in offline run", twice. Remove when TRL asks only online runs for it."""
    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        yield
        return
    termwarn = wandb.termwarn

    def quieter(message, *args, **kwargs):
        if "URL not available in offline run" not in str(message):
            termwarn(message, *args, **kwargs)

    wandb.termwarn = quieter
    try:
        yield
    finally:
        wandb.termwarn = termwarn


def leave_process_group(use_vllm: bool = False) -> None:
    """Destroys the process group a launch made, if any, as accelerate asks scripts to at their end
    (`Accelerator.end_training`): PyTorch warns at exit of every GPU run (NCCL) that leaves one. Not where vLLM
    generates, whose engine builds its own groups on that one and tears them down itself (untested here: vLLM does
    not install on these machines)."""
    import torch.distributed

    if not use_vllm and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _exit_without_training() -> None:
    """Exits with status 0 on every process, leaving the process group (if any) cleanly."""
    leave_process_group()
    sys.exit(0)


def training_splits(dataset, script_args, training_args):
    """(train, eval or None) from `dataset_train_split` / `dataset_test_split`, naming a missing split."""
    if script_args.dataset_train_split not in dataset:
        raise ValueError(
            f"Dataset has no split {script_args.dataset_train_split!r} (dataset_train_split); splits: {sorted(dataset)}"
        )
    if training_args.eval_strategy == "no":
        return dataset[script_args.dataset_train_split], None
    if script_args.dataset_test_split not in dataset:
        raise ValueError(
            f"eval_strategy is {training_args.eval_strategy!r} but the dataset has no split "
            f"{script_args.dataset_test_split!r} (dataset_test_split); splits: {sorted(dataset)}"
        )
    return dataset[script_args.dataset_train_split], dataset[script_args.dataset_test_split]


def model_card_name(training_args) -> str:
    """The model's name on its card: the Hub repository's, else output_dir's (transformers' rule for `push_to_hub`)."""
    if training_args.hub_model_id:
        return training_args.hub_model_id.split("/")[-1]
    return os.path.basename(os.path.normpath(training_args.output_dir))


def hub_dataset_id(dataset_name: str | None) -> str | None:
    """`dataset_name` when it is a Hub dataset id; None for local files or folders, which the card would link to the
    Hub as if they were datasets there."""
    if dataset_name is None or any(os.path.exists(part) for part in dataset_name.split(",")):
        return None
    return dataset_name


# What TRL 1.16's model card template writes for a base model that is a local folder, and for a run not pushed.
_NO_BASE_MODEL = "[None](https://huggingface.co/None)"
_NO_HUB_MODEL = 'model="None"'


class LocalModelCard:
    """A trainer mixin: the model card TRL writes at every checkpoint and at the end names a local base model and
    the run's own folder where TRL's template writes "None" (a link to huggingface.co/None,
    `pipeline(model="None")`), and an offline wandb run's card does not warn of its missing URL. Remove when TRL's
    card handles local paths and offline runs."""

    def create_model_card(self, *args, **kwargs):
        with _without_offline_wandb_url_warning():
            super().create_model_card(*args, **kwargs)
        card = os.path.join(self.args.output_dir, "README.md")
        if not self.is_world_process_zero() or not os.path.isfile(card):
            return
        with open(card, encoding="utf-8") as file:
            text = file.read()
        base = getattr(self.model.config, "_name_or_path", None) or "a local model"
        text = text.replace(_NO_BASE_MODEL, f"`{base}` (a local model)")
        text = text.replace(_NO_HUB_MODEL, f'model="{self.args.output_dir}"')
        with open(card, "w", encoding="utf-8") as file:
            file.write(text)


def evaluation_at_last_step(state, args) -> dict | None:
    """The evaluation metrics the Trainer logged at the final step, when its eval_strategy evaluated there: the same
    weights evaluated again would cost a whole evaluation (under GRPO, its generation). None when it did not, or when
    `load_best_model_at_end` put other weights back since. Several eval datasets log an entry each: merged."""
    if getattr(args, "load_best_model_at_end", False):
        return None
    metrics = {}
    for entry in reversed(state.log_history):
        if entry.get("step") != state.global_step:
            break
        if any(key.startswith("eval_") for key in entry):
            metrics.update({key: value for key, value in entry.items() if key.startswith("eval_") or key == "epoch"})
    return metrics or None


def finish_training(trainer, training_args, script_args, tokenizer, train_result, num_train_rows: int) -> None:
    """Logs metrics, saves model and tokenizer, writes the model card, evaluates (unless the Trainer just evaluated
    the final step) and pushes as configured, then leaves the process group."""
    metrics = train_result.metrics
    metrics["train_samples"] = num_train_rows
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()

    # Generation must stop where the chat template ends a turn, also in `pipeline()` and vLLM.
    trainer.model.generation_config.eos_token_id = tokenizer.eos_token_id
    trainer.save_model(training_args.output_dir)
    logger.info("Model saved to %s", training_args.output_dir)

    card_kwargs = {
        "model_name": model_card_name(training_args),
        "dataset_name": hub_dataset_id(script_args.dataset_name),
        "tags": ["open-r1"],
    }
    if trainer.accelerator.is_main_process:
        trainer.create_model_card(**card_kwargs)
        # Training switches the KV cache off; inference wants it back on.
        trainer.model.config.use_cache = True
        trainer.model.config.save_pretrained(training_args.output_dir)
        tokenizer.save_pretrained(training_args.output_dir)

    if training_args.do_eval and trainer.eval_dataset is not None:
        metrics = evaluation_at_last_step(trainer.state, training_args) or trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)

    if training_args.push_to_hub:
        logger.info("Pushing to the Hub (revision %s)", training_args.hub_model_revision)
        trainer.push_to_hub(**card_kwargs, revision=training_args.hub_model_revision)
    leave_process_group(use_vllm=getattr(training_args, "use_vllm", False))
