"""Resuming a run from a checkpoint: never past the run's end, and saying what this command changes.

    checkpoint = resolve_checkpoint(training_args)        # open_r1.utils.training: which checkpoint, if any
    finished = finished_run(checkpoint, training_args)    # a message when nothing is left to train, else None
    report_changed_settings(checkpoint, training_args, script_args, model_args)   # what differs from its run
    callbacks = [RecordTrainingArguments(script_args, model_args), ...]   # the arguments, into each checkpoint
    callbacks += [DiscardEarlierCheckpoints()]            # overwrite_output_dir: the old checkpoints go at train begin
    class MyTrainer(TiedWeightsResume, SFTTrainer): ...   # no "missing keys ['lm_head.weight']" on resume

- `finished_run`: transformers checks `max_steps` only after a step, so resuming a checkpoint that already reached
  it trained one step more (a finished `--max_steps 2` run asked again went to step 3). `start_run` logs the
  message and exits 0 instead: the run is done; raising `max_steps` (or `num_train_epochs`) continues it and
  `overwrite_output_dir: true` starts afresh.
- `report_changed_settings`: compares this command's arguments (training, and the dataset and model ones) with those the
  checkpoint's run recorded (`RecordTrainingArguments`: training_args.json and run_arguments.json beside
  trainer_state.json) and says, for each difference, whether it takes effect. Resuming restores the optimizer and
  scheduler states, so the learning rate, weight decay and Adam settings stay the checkpoint's (`KEPT_FROM_CHECKPOINT`);
  it restores the random state too, so a new seed only changes the data order; another dataset's rows are skipped by the
  count already trained, and another model path gives the tokenizer and configuration while the weights stay the
  checkpoint's. Checkpoints saved before a record existed are named as such (the dataset and model arguments were
  recorded from 2026-11-29).
- `TiedWeightsResume`: a model whose output layer is tied to its embeddings saves the shared tensor once;
  transformers' Trainer (5.x) loads the checkpoint, finds `lm_head.weight` "missing" and warns, though the tied
  layer holds the loaded weights. The mixin leaves out missing keys that are tied to a loaded one.

Not covered: DeepSpeed or FSDP checkpoints' own loading (they report no missing keys).
"""

import dataclasses
import json
import logging
import os
import shutil

from transformers import TrainerCallback

from open_r1.utils.checkpoints import CHECKPOINT_FOLDER, read_json_object

logger = logging.getLogger("open_r1")

TRAINING_ARGS_FILE = "training_args.json"
# The run's other arguments, by kind: {"script": dataset, rewards, ...; "model": model path, dtype, ...}.
RUN_ARGS_FILE = "run_arguments.json"

# Settings that a resumed run takes from the checkpoint (the states that restore them), not from the command.
KEPT_FROM_CHECKPOINT = {
    "learning_rate": "optimizer and scheduler states",
    "weight_decay": "optimizer state",
    "adam_beta1": "optimizer state",
    "adam_beta2": "optimizer state",
    "adam_epsilon": "optimizer state",
}
# Settings that take effect with a consequence worth saying.
PARTLY_IN_EFFECT = {
    "seed": "only the data order follows it; the random state (sampling, dropout) is restored from the checkpoint",
    "per_device_train_batch_size": "the batches already trained are skipped by count, so other rows are skipped",
    "gradient_accumulation_steps": "the batches already trained are skipped by count, so other rows are skipped",
    "dataset_name": "the rows already trained are skipped by count, so as many of this dataset's rows are skipped",
    "dataset_mixture": "the rows already trained are skipped by count, so as many of this mixture's rows are skipped",
    "model_name_or_path": "the weights stay the checkpoint's; the tokenizer and configuration are this path's",
}
# Where a resumed run is, not how it trains.
NOT_COMPARED = {"resume_from_checkpoint", "overwrite_output_dir"}


def finished_run(checkpoint: str, training_args) -> str | None:
    """Why there is nothing left to train from `checkpoint` under this command's limits, or None."""
    state = read_json_object(os.path.join(checkpoint, "trainer_state.json")) or {}
    step = state.get("global_step", 0)
    if training_args.max_steps > 0:
        if step < training_args.max_steps:
            return None
        reached = f"max_steps: {training_args.max_steps}"
    else:
        epoch = state.get("epoch") or 0.0
        if epoch < training_args.num_train_epochs:
            return None
        reached = f"num_train_epochs: {training_args.num_train_epochs:g}"
    return (
        f"Nothing to train: {checkpoint} is at step {step}, and this run ends at {reached}. Raise it to train further, "
        "or set overwrite_output_dir: true to start afresh."
    )


def _effect(name: str, before) -> str:
    if name in KEPT_FROM_CHECKPOINT:
        return f"ignored: {before!r} stays, restored with the checkpoint's {KEPT_FROM_CHECKPOINT[name]}"
    if name in PARTLY_IN_EFFECT:
        return f"takes effect; {PARTLY_IN_EFFECT[name]}"
    return "takes effect"


def changed_settings(checkpoint: str, training_args, script_args=None, model_args=None) -> list[str] | None:
    """'name: before -> now (effect)' for each argument that differs from the checkpoint's run (the training ones,
    then the dataset and model ones where both are there); None when the checkpoint has no record of the training
    ones."""
    recorded = read_json_object(os.path.join(checkpoint, TRAINING_ARGS_FILE))
    if recorded is None:
        return None
    lines = _differences(recorded, _as_json(training_args))
    recorded_run = read_json_object(os.path.join(checkpoint, RUN_ARGS_FILE)) or {}
    for kind, arguments in (("script", script_args), ("model", model_args)):
        if arguments is not None and isinstance(recorded_run.get(kind), dict):
            lines += _differences(recorded_run[kind], _dataclass_as_json(arguments))
    return lines


def _differences(recorded: dict, current: dict) -> list[str]:
    lines = []
    for name in sorted(set(recorded) | set(current)):
        if name in NOT_COMPARED or recorded.get(name) == current.get(name):
            continue
        before, now = recorded.get(name), current.get(name)
        lines.append(f"{name}: {before!r} -> {now!r} ({_effect(name, before)})")
    return lines


def report_changed_settings(checkpoint: str, training_args, script_args=None, model_args=None) -> None:
    """Logs, on the main process, which settings of this command differ from the checkpoint's and which apply."""
    if os.path.isfile(os.path.join(checkpoint, TRAINING_ARGS_FILE)):  # every rank: transformers warns on each
        _drop_transformers_comparison()
    if not training_args.should_log:
        return
    lines = changed_settings(checkpoint, training_args, script_args, model_args)
    if lines is None:
        logger.info(
            "%s has no %s (saved before open-r1 recorded it): its settings cannot be compared with this command's",
            checkpoint,
            TRAINING_ARGS_FILE,
        )
    elif lines:
        logger.warning(
            "Resuming from %s with settings that differ from that run's:\n  %s", checkpoint, "\n  ".join(lines)
        )
    else:
        logger.info("Resuming from %s with the settings of that run", checkpoint)


class _TransformersComparison(logging.Filter):
    """Drops the next transformers 5.23 "Warning: The following arguments do not match the ones in the
    `trainer_state.json`" (logging, eval and save steps, the batch size), which repeats a few lines of the report
    above in its own words, once each time it is armed: a later resume from a checkpoint without our record keeps
    it."""

    armed = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.armed or "do not match the ones in the `trainer_state.json`" not in record.getMessage():
            return True
        self.armed = False
        return False


def _drop_transformers_comparison() -> None:
    notices = logging.getLogger("transformers.trainer_utils")
    dropping = next((known for known in notices.filters if isinstance(known, _TransformersComparison)), None)
    if dropping is None:
        dropping = _TransformersComparison()
        notices.addFilter(dropping)
    dropping.armed = True


def _as_json(training_args) -> dict:
    # A round trip through JSON, so that the comparison sees what the checkpoint's file holds (tuples as lists...).
    return json.loads(json.dumps(training_args.to_dict(), default=str))


def _dataclass_as_json(arguments) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(arguments), default=str))


class RecordTrainingArguments(TrainerCallback):
    """Writes the run's training arguments, and its dataset and model arguments where given, as JSON into each
    checkpoint, for a later resume to compare with.

    transformers' own training_args.bin is a pickle: reading it would run whatever code the file names.
    """

    def __init__(self, script_args=None, model_args=None):
        given = {"script": script_args, "model": model_args}
        self.run_arguments = {kind: _dataclass_as_json(args) for kind, args in given.items() if args is not None}

    def on_save(self, args, state, control, **kwargs):
        if not args.should_save:
            return
        checkpoint = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(checkpoint):
            with open(os.path.join(checkpoint, TRAINING_ARGS_FILE), "w", encoding="utf-8") as file:
                json.dump(_as_json(args), file, indent=2, sort_keys=True)
            if self.run_arguments:
                with open(os.path.join(checkpoint, RUN_ARGS_FILE), "w", encoding="utf-8") as file:
                    json.dump(self.run_arguments, file, indent=2, sort_keys=True)


class TiedWeightsResume:
    """Trainer mixin: resuming a model with tied weights does not report the tied copies as missing keys."""

    def _issue_warnings_after_load(self, load_result) -> None:
        tied = getattr(self.model, "all_tied_weights_keys", None) or {}
        missing = set(load_result.missing_keys)
        # A tied key shares its tensor with its source: loading the source loaded it.
        really_missing = [key for key in load_result.missing_keys if key not in tied or tied[key] in missing]
        super()._issue_warnings_after_load(load_result._replace(missing_keys=really_missing))


def discard_earlier_checkpoints(training_args) -> list[str]:
    """Deletes output_dir's checkpoint-N folders for a run that starts fresh; returns them (`DiscardEarlierCheckpoints`
    calls it when training starts, so a run that fails its checks or its loading deletes nothing).

    They cannot stay: the Trainer rotates checkpoints by step number, so with `save_total_limit` it would
    delete the new run's checkpoints and keep the old run's higher-numbered ones, and the next automatic
    resume would continue the old run. Only the process that saves checkpoints deletes them.
    """
    earlier = sorted(
        os.path.join(training_args.output_dir, name)
        for name in os.listdir(training_args.output_dir)
        if CHECKPOINT_FOLDER.fullmatch(name)
    )
    if earlier and training_args.should_save:
        logger.warning(
            "overwrite_output_dir is set: starting fresh instead of resuming, and deleting the earlier run's "
            "checkpoints in %s: %s",
            training_args.output_dir,
            ", ".join(os.path.basename(path) for path in earlier),
        )
        for path in earlier:
            shutil.rmtree(path)
    return earlier


class DiscardEarlierCheckpoints(TrainerCallback):
    """Under `overwrite_output_dir: true` without an explicit `resume_from_checkpoint`: deletes the earlier run's
    checkpoints when training begins, once every check and the model's loading have passed."""

    def on_train_begin(self, args, state, control, **kwargs):
        if args.resume_from_checkpoint is None and os.path.isdir(args.output_dir):
            discard_earlier_checkpoints(args)
