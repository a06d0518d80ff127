"""`max_run_minutes`: training stops, saved, at the last step that ends within a time limit.

A job with a wall-clock limit (Slurm's `--time`, a lent GPU, a pipeline that must keep time to evaluate what it
trained) is killed at its limit and loses every step since its last checkpoint, and the final model. With
`max_run_minutes` set in a recipe or on the command line of sft.py or grpo.py, after each optimizer step the run
compares the minutes since its process started plus its longest step so far (its estimate of the next one) with
the limit; when the next step would end past it, training stops at that step. The run's first step warms up
(kernels, allocations, on a shared GPU the evaluation that starts beside it): once a later step has run, the longest
of the later ones is the estimate. Where GRPO trains several optimizer steps on one generation
(`steps_per_generation` a multiple of `gradient_accumulation_steps` above it), the steps that generate and those
that reuse a generation are estimated apart, each by the longest of its kind so far (the run's first step left out,
as above), so a cheap step that would still fit is not given up for the price of a generation it does not make.
Until a reusing step has run, its estimate is twice the generating step's time less its rollouts' (generating,
rewards and scoring) where the trainer measures them (GRPO's `open_r1.utils.step_profile`: a reusing step trains as
much and does not generate; the rest of the step, its backward pass, optimizer step and logging, is counted), else
the longest generating step's share of its generation (divided by the optimizer steps per generation): above what a
reusing step costs wherever generating outweighs training, which is why a recipe reuses generations at all. The
model is then saved as at the end of any run, and a checkpoint is written where `save_strategy` writes them, so a
requeued job resumes from that step (open_r1.utils.training). Every process of a launch stops at the same step
(open_r1.utils.distributed). A run that stopped so leaves `time_limit_stop.json` in
its output_dir (`TIME_LIMIT_STOP_FILE`: the step, the steps planned, the checkpoint to resume from or null) for its
launcher: `slurm/train.slurm --requeue-at-time-limit` requeues the job from it. A later run under a limit removes
it at its start, and train.slurm before each launch.

    accelerate launch ... src/open_r1/grpo.py --config recipes/...yaml --max_run_minutes 230   # a 4-hour job

Not covered: what comes after training (saving, pushing, evaluating) is not timed; a limit must leave room for it.
At least one step always trains. Each launch has its own clock: a resumed run's starts again. With
`load_best_model_at_end` the Trainer may rotate the stop's checkpoint away when it is not the best. Under
`group_by_length` the Trainer puts the longest batch first, so the first step left out of the estimate is the longest.
"""

import contextlib
import json
import logging
import os
import time

import psutil
from transformers import TrainerCallback

from .distributed import any_process

logger = logging.getLogger(__name__)

# In output_dir, written by a run that stopped at its time limit (module docstring).
TIME_LIMIT_STOP_FILE = "time_limit_stop.json"
# A step on an earlier generation trains what the generating step trained, without generating or scoring: until one
# has run, it is estimated at this many times the generating step's seconds less its rollouts'.
REUSE_STEP_MARGIN = 2.0


def process_start_time() -> float:
    """When this process started, in seconds since the epoch (`time.time()`'s clock)."""
    return psutil.Process().create_time()


def optimizer_steps_per_generation(args) -> int:
    """The optimizer steps one GRPO generation trains: TRL generates every `steps_per_generation` x `num_iterations`
    micro-batches. 1 for a trainer without generations (SFT) and where a generation does not start with a step."""
    micro_batches = (getattr(args, "steps_per_generation", None) or 0) * getattr(args, "num_iterations", 1)
    if micro_batches == 0 or micro_batches % args.gradient_accumulation_steps:
        return 1
    return micro_batches // args.gradient_accumulation_steps


class RunTimeLimit(TrainerCallback):
    """Stops training when the next step would end more than `minutes` after `started` (default: the process's
    start); the longest step so far of the next one's kind (generating or reusing a generation) is its estimate, the
    run's first step (warming up) left out once a step of that kind has run after it."""

    def __init__(self, minutes: float, started: float | None = None, clock=time.time):
        self.limit_seconds = 60.0 * minutes
        self.started = process_start_time() if started is None else started
        self._clock = clock
        self._last_step_end = None
        self.longest_step = 0.0
        # The longest step that generated (True) and that reused a generation (False), once one of each has run;
        # and the longest of each kind after the run's first step, once one has run (the estimate from then on).
        self.longest_of_kind, self.longest_after_first = {}, {}
        self._first_step = 0
        self.stopped_at = None
        # The last step's seconds making its rollouts (generating, rewards, scoring), where the trainer measures them
        # (`open_r1.utils.step_profile` sets this): the rest of it is what a step on an earlier generation does.
        self.last_rollout_seconds = lambda: None
        self._last_step_seconds = 0.0

    def generates(self, step: int, args) -> bool:
        """Whether `step` starts a generation: the trainer generates at its first step, resumed or not."""
        return (step - self._first_step - 1) % optimizer_steps_per_generation(args) == 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_step_end = self._clock()
        self._first_step = state.global_step
        if state.is_world_process_zero:  # an earlier run's stop; this one has not stopped yet
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(args.output_dir, TIME_LIMIT_STOP_FILE))

    def on_step_end(self, args, state, control, **kwargs):
        now = self._clock()
        took, kind = now - self._last_step_end, self.generates(state.global_step, args)
        if self.longest_of_kind:  # not the run's first step
            self.longest_after_first[kind] = max(self.longest_after_first.get(kind, 0.0), took)
        self.longest_step, self._last_step_seconds = max(self.longest_step, took), took
        self.longest_of_kind[kind] = max(self.longest_of_kind.get(kind, 0.0), took)
        self._last_step_end = now
        elapsed = now - self.started
        next_kind = self.generates(state.global_step + 1, args)
        estimate, clause = self.estimate(next_kind, args)
        out_of_time = not control.should_training_stop and elapsed + estimate > self.limit_seconds
        if not any_process(out_of_time, args.device):
            return
        control.should_training_stop = True
        saves_checkpoints = args.save_strategy != "no"
        # Under save_strategy "epoch" the Trainer saves at the epoch's end, which the stop reaches next.
        if args.save_strategy not in ("no", "epoch"):
            control.should_save = True
        self.stopped_at = state.global_step
        logger.warning(
            "max_run_minutes %g: training stops after step %d of %d, since the next step would end past the limit "
            "(%.1f min since the process started; %s); the model is saved%s",
            self.limit_seconds / 60,
            state.global_step,
            state.max_steps,
            elapsed / 60,
            clause,
            f", and checkpoint-{state.global_step} to resume from" if saves_checkpoints else "",
        )

    def estimate(self, generates: bool, args) -> tuple[float, str]:
        """The next step's seconds, by the longest step so far of its kind (the run's first left out once a step of
        that kind has run after it), and where they came from, as the stop's warning says it. A step on an earlier
        generation before any has run: twice the last (generating) step's seconds less its rollouts' where the
        trainer measured them, else the generating step's share of its generation."""
        first_kind = next(iter(self.longest_of_kind), None)  # the run's first step's (dicts keep their order)
        if generates in self.longest_after_first:
            estimate = self.longest_after_first[generates]
            after = " after the first" if generates == first_kind else ""
        elif generates in self.longest_of_kind:
            estimate, after = self.longest_of_kind[generates], ""
        elif (rollouts := self.last_rollout_seconds()) is not None:
            estimate = REUSE_STEP_MARGIN * max(self._last_step_seconds - rollouts, 0.0)
            return estimate, (
                f"a step that reuses a generation, {REUSE_STEP_MARGIN:g} times the last one without its rollouts: "
                f"{estimate / 60:.1f} min"
            )
        else:
            estimate = self.longest_step / optimizer_steps_per_generation(args)
            return estimate, f"a step that reuses a generation, its share of one: {estimate / 60:.1f} min"
        if optimizer_steps_per_generation(args) == 1:
            return estimate, f"steps{after} took up to {estimate / 60:.1f} min"
        kind = "steps that generate" if generates else "steps that reuse a generation"
        return estimate, f"{kind}{after} took up to {estimate / 60:.1f} min"

    def on_train_end(self, args, state, control, **kwargs):
        if self.stopped_at is None or not state.is_world_process_zero:
            return
        # Written once the Trainer has saved the stop's checkpoint (under "epoch", at the epoch's end).
        checkpoint = f"checkpoint-{self.stopped_at}"
        stop = {
            "step": self.stopped_at,
            "max_steps": state.max_steps,
            "max_run_minutes": self.limit_seconds / 60,
            "checkpoint": checkpoint if os.path.isdir(os.path.join(args.output_dir, checkpoint)) else None,
        }
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, TIME_LIMIT_STOP_FILE), "w") as handle:
            json.dump(stop, handle)
