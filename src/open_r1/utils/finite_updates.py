"""Skips an optimizer update whose gradient is not finite, says so, and stops a run that keeps producing them or
whose update wrecks the weights.

    for guard in nonfinite_update_guards(trainer):   # grpo.py, with `skip_nonfinite_updates: true`
        trainer.add_callback(guard)

A single NaN or inf in the gradient, once clipped and applied, makes every weight NaN: the next generation then
samples from NaN probabilities and the run dies with a CUDA "device-side assert" that names none of this (seen on
an H100 in bf16 autocast, docs/gsm8k.md). Before each optimizer step (after clipping, where the Trainer logs
`grad_norm`), this callback checks the gradients; when any is not finite on any process, it drops them all, so the
optimizer leaves the weights as they were, and warns with the step and the parameters whose gradient was not
finite on this process (where in the model it went wrong: embeddings, a layer, the head). After `max_consecutive`
such steps in a row it stops training with the likely causes, since the weights can no longer learn.

Under DeepSpeed ZeRO, which keeps the gradients in its own buffers and skips a non-finite update itself (0.19:
every ZeRO stage and precision, but ZeRO-1/2 in bf16 with `check_grad_overflow: false`), `WatchDeepSpeedSkips`
reads what DeepSpeed did (`optimizer.step_was_skipped`): it warns with the step and stops after `max_consecutive`
skips in a row (in fp16 the loss scaler's skips are left to it), and stops at once when an applied update logged a
non-finite `grad_norm`.

A finite gradient can still wreck the weights: Adam moves each weight by about the learning rate, so a learning rate
of 1e30 makes them 1e30 (the next forward pass overflows and generation dies on NaN probabilities) and one of 1e4
saturates the model (every gradient 0 from then on). Each optimizer step's update is checked (this process's shard
of the weights under ZeRO-3 or FSDP, read before the step and after it): where a weight is not finite, or the
largest weight of a parameter tensor grew more than MAX_WEIGHT_GROWTH times in one update, on any process, training
raises at once with the step, the parameters and the learning rate, before the Trainer saves those weights over the
run's last model.

Not covered: fp16 with a GradScaler, which already skips them; under DeepSpeed with its check off, a step between
two logging steps (`logging_steps` above 1 logs only the last one's norm); weights that stay finite but saturate
short of MAX_WEIGHT_GROWTH (the GRPO doctor's `dead_gradient` names those).
"""

import logging
import math

import torch
from transformers import TrainerCallback

from .distributed import any_process

logger = logging.getLogger(__name__)

# Updates in a row whose gradient is not finite before training stops: past a few, the cause is not a stray batch.
MAX_CONSECUTIVE_NONFINITE = 5

CAUSES = (
    "a learning rate too high for the model, a loss over zero completion tokens, or bf16/fp16 overflow in the "
    "forward pass"
)


def gradients_finite(model: torch.nn.Module) -> bool:
    """Whether every gradient of `model` is finite on every process: reduced on the device and read once (one host
    sync per step rather than one per parameter), after one small all-reduce when distributed."""
    device = next(model.parameters()).device
    flags = [(~torch.isfinite(p.grad)).any() for p in model.parameters() if p.grad is not None]
    not_finite = torch.stack(flags).any() if flags else torch.zeros((), dtype=torch.bool, device=device)
    return not any_process(not_finite)


# Parameter names a warning lists; the count of all of them follows.
NAMES_SHOWN = 5


def _local_values(parameter: torch.Tensor) -> torch.Tensor:
    """The values of `parameter` this process holds: its ZeRO-3 partition (`ds_tensor`), its FSDP2 shard (a DTensor's
    local tensor), or the parameter itself."""
    if hasattr(parameter, "ds_tensor"):
        return parameter.ds_tensor
    return parameter.to_local() if hasattr(parameter, "to_local") else parameter


# One update that makes a parameter tensor's largest weight this many times larger (where it was above 1; past this
# where it was below) is no fine-tuning step: Adam at learning rate 1e-3 moves a weight by about 1e-3.
MAX_WEIGHT_GROWTH = 1000.0


def largest_weights(model: torch.nn.Module) -> torch.Tensor:
    """Per parameter tensor of `model`, the largest absolute value this process holds (0 for an empty shard; NaN or
    inf where one is not finite), on the device, without a host sync."""
    values = [_local_values(p).detach() for p in model.parameters()]
    device = next(model.parameters()).device
    # The infinity norm reduces in one pass without the copy `abs()` makes (a 7B model's embedding: a gigabyte).
    largest = [
        torch.linalg.vector_norm(v, float("inf")).float() if v.numel() else v.new_zeros((), dtype=torch.float32)
        for v in values
    ]
    return torch.stack([value.to(device) for value in largest]) if largest else torch.zeros(0, device=device)


def wrecked_weights(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Which parameter tensors an update left with a weight that is not finite, or grew past MAX_WEIGHT_GROWTH
    times their largest weight (times 1 where that was below 1)."""
    return ~torch.isfinite(after) | (after > MAX_WEIGHT_GROWTH * before.clamp(min=1.0))


def _named_list(names: list[str], total: int, where: str) -> str:
    if not names:
        return f"in another process's {where}"
    shown = ", ".join(names[:NAMES_SHOWN]) + (", ..." if len(names) > NAMES_SHOWN else "")
    return f"in {len(names)} of {total} parameter tensors ({shown})"


def nonfinite_parameters(model: torch.nn.Module) -> str:
    """Which of `model`'s gradients are not finite on this process, for the warning (read only on a skipped step)."""
    names = [name for name, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    return _named_list(names, sum(1 for p in model.parameters() if p.grad is not None), "gradients")


def wrecked_parameters(model: torch.nn.Module, before: torch.Tensor, after: torch.Tensor) -> str:
    """Which of `model`'s parameter tensors the update wrecked on this process, the first with its largest weight
    before and after, for the error (read only when some are)."""
    wrecked = wrecked_weights(before, after).tolist()
    names = [name for (name, _), bad in zip(model.named_parameters(), wrecked, strict=True) if bad]
    where = _named_list(names, len(wrecked), "weights")
    if names:
        first = wrecked.index(True)
        where += (
            f"; the largest weight of {names[0]} went from {before[first].item():.3g} to {after[first].item():.3g}"
        )
    return where


class UpdateCheck(TrainerCallback):
    """Raises, on every process at once, when an optimizer step's update left a weight that is not finite or grew one
    past MAX_WEIGHT_GROWTH (see the module docstring): reads the weights when a step begins (before DeepSpeed's
    update, which runs inside the last backward pass) and after the optimizer step."""

    def __init__(self):
        self.before = None

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self.before = largest_weights(model)

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        if self.before is None:
            return control
        after = largest_weights(model)
        if not any_process(wrecked_weights(self.before, after).any()):
            return control
        raise RuntimeError(
            f"step {state.global_step + 1}: the update left weights not finite or over {MAX_WEIGHT_GROWTH:g} times "
            f"as large as before {wrecked_parameters(model, self.before, after)}; training stops before these weights "
            f"are saved. Likely cause: a learning rate too high for the model (learning_rate {args.learning_rate:g}); "
            "resume from the last checkpoint with a lower one."
        )


class _SkippedUpdates(TrainerCallback):
    """Counts the updates skipped as not finite: warns for each, and stops training after `max_consecutive` in a
    row, since the weights can no longer learn."""

    def __init__(self, max_consecutive: int):
        self.max_consecutive = max_consecutive
        self.skipped = 0
        self.consecutive = 0

    def _skipped_one(self, state, control, where: str) -> None:
        self.skipped += 1
        self.consecutive += 1
        step = state.global_step + 1
        if self.consecutive >= self.max_consecutive:
            logger.warning(
                "step %d: the gradient was not finite at %d steps in a row (this time %s); training stops here, "
                "with the weights of the last finite update. Likely causes: %s.",
                step,
                self.consecutive,
                where,
                CAUSES,
            )
            control.should_training_stop = True
        else:
            logger.warning(
                "step %d: the gradient is not finite (NaN or inf) %s; the update was skipped (%d skipped in this run).",
                step,
                where,
                self.skipped,
            )


class SkipNonFiniteUpdates(_SkippedUpdates):
    """Drops the gradients of a step whose gradient is not finite; stops after `max_consecutive` such steps."""

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if gradients_finite(model):
            self.consecutive = 0
            return control
        where = nonfinite_parameters(model)
        for parameter in model.parameters():
            parameter.grad = None  # the optimizer leaves a parameter without a gradient as it is
        self._skipped_one(state, control, where)
        return control


class WatchDeepSpeedSkips(_SkippedUpdates):
    """Under DeepSpeed ZeRO, which checks the gradient itself: warns for each update DeepSpeed skipped as not finite
    (`optimizer.step_was_skipped`), stops after `max_consecutive` in a row, and stops at once when a logged
    `grad_norm` is not finite although the update went through (ZeRO-1/2 in bf16 with `check_grad_overflow: false`).
    With `loss_scaling` (fp16) skipped steps are the loss scaler's own business: a run's first steps overflow by
    design while it finds its scale."""

    def __init__(self, max_consecutive: int, loss_scaling: bool):
        super().__init__(max_consecutive)
        self.loss_scaling = loss_scaling
        self.last_skipped = False

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.last_skipped = bool(getattr(optimizer, "step_was_skipped", False))
        if not self.last_skipped:
            self.consecutive = 0
        elif not self.loss_scaling:
            self._skipped_one(state, control, "by DeepSpeed's own check, which skipped it")
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        grad_norm = (logs or {}).get("grad_norm")
        if grad_norm is None or math.isfinite(float(grad_norm)) or self.last_skipped:
            return control
        logger.warning(
            "step %d: the gradient was not finite (grad_norm %s) and DeepSpeed applied the update (its config's "
            "check_grad_overflow is off): the weights are no longer finite, so training stops here; resume from the "
            "last checkpoint. Likely causes: %s.",
            state.global_step,
            grad_norm,
            CAUSES,
        )
        control.should_training_stop = True
        return control


def nonfinite_update_guards(trainer) -> list[TrainerCallback]:
    """The guards for `trainer`: `SkipNonFiniteUpdates`, or under DeepSpeed, `WatchDeepSpeedSkips`; then
    `UpdateCheck`."""
    if trainer.is_deepspeed_enabled:
        gradient_guard = WatchDeepSpeedSkips(MAX_CONSECUTIVE_NONFINITE, loss_scaling=bool(trainer.args.fp16))
    else:
        gradient_guard = SkipNonFiniteUpdates(max_consecutive=MAX_CONSECUTIVE_NONFINITE)
    return [gradient_guard, UpdateCheck()]
