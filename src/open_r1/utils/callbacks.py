"""Trainer callbacks: the ones every run has, and those selected by name in a recipe (`callbacks: [push_to_hub_revision]`).

    trainer = GRPOTrainer(..., callbacks=get_callbacks(training_args, model_args, script_args))   # as sft.py, grpo.py

Every run: `RecordTrainingArguments` (open_r1.utils.resume) writes the training, dataset and model arguments into each
checkpoint, for a resumed run to say which of its settings differ; with `max_run_minutes` set, `RunTimeLimit`
(open_r1.utils.time_limit) stops training at the last step that ends within it.

By name:

- `push_to_hub_revision`: after each save, uploads the checkpoint to the Hub branch
  `<hub_model_revision>-step-<global_step>` in the background and, when the recipe lists
  `benchmarks`, launches their evaluation jobs on it once the upload finishes
  (`open_r1.eval.slurm_jobs.run_benchmark_jobs`, which submits Slurm jobs).

Not covered: callbacks that change training (early stopping etc.): use TRL's or transformers' own.
"""

import logging
import subprocess
from types import SimpleNamespace

from transformers import TrainerCallback

from .hub import push_to_hub_revision
from .resume import DiscardEarlierCheckpoints, RecordTrainingArguments
from .time_limit import RunTimeLimit

logger = logging.getLogger(__name__)


def is_slurm_available() -> bool:
    """True where `sinfo` runs, i.e. evaluation jobs can be submitted."""
    try:
        subprocess.run(["sinfo"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return True
    except (FileNotFoundError, subprocess.CalledProcessError):
        return False


# Upstream's name for the stand-in of the training arguments that a checkpoint push reads: attributes from keywords.
DummyConfig = SimpleNamespace


class PushToHubRevisionCallback(TrainerCallback):
    """Pushes every saved checkpoint to its own Hub revision, then optionally benchmarks it."""

    def __init__(self, model_config, push=push_to_hub_revision):
        self.model_config = model_config
        self._push = push

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        step = f"step-{state.global_step:09d}"
        # Only what the push and the benchmark launcher read; rebuilding TrainingArguments would re-run its checks.
        checkpoint_args = DummyConfig(
            hub_model_id=args.hub_model_id,
            hub_model_revision=f"{args.hub_model_revision}-{step}",
            output_dir=f"{args.output_dir}/checkpoint-{state.global_step}",
            system_prompt=getattr(args, "system_prompt", None),
            benchmarks=getattr(args, "benchmarks", []),
        )
        future = self._push(checkpoint_args, extra_ignore_patterns=["*.pt"])
        if getattr(args, "benchmarks", None) and is_slurm_available():
            from open_r1.eval.slurm_jobs import run_benchmark_jobs

            def launch_benchmarks(_):
                logger.info("Checkpoint %s pushed; launching benchmark jobs", step)
                run_benchmark_jobs(checkpoint_args, self.model_config)

            future.add_done_callback(launch_benchmarks)


CALLBACKS = {"push_to_hub_revision": PushToHubRevisionCallback}


def get_callbacks(training_args, model_args, script_args=None) -> list[TrainerCallback]:
    """`RecordTrainingArguments` (of the three kinds of arguments), `DiscardEarlierCheckpoints` under
    `overwrite_output_dir`, `RunTimeLimit` under `max_run_minutes`, then the callbacks named by
    `training_args.callbacks`; an unknown name fails with the known ones."""
    callbacks = [RecordTrainingArguments(script_args, model_args)]
    if getattr(training_args, "overwrite_output_dir", False):
        callbacks.append(DiscardEarlierCheckpoints())
    if getattr(training_args, "max_run_minutes", None) is not None:
        callbacks.append(RunTimeLimit(training_args.max_run_minutes))
    for name in training_args.callbacks:
        if name not in CALLBACKS:
            raise ValueError(f"Unknown callback {name!r} in `callbacks`; known callbacks: {sorted(CALLBACKS)}")
        callbacks.append(CALLBACKS[name](model_args))
    return callbacks
