"""Skips an optimizer update whose gradient is not finite, says so, and stops a run that keeps producing them.

    trainer.add_callback(nonfinite_update_guard(trainer))   # grpo.py, with `skip_nonfinite_updates: true`

A single NaN or inf in the gradient, once clipped and applied, makes every weight NaN: the next generation then
samples from NaN probabilities and the run dies with a CUDA "device-side assert" that names none of this (seen on
an H100 in bf16 autocast, docs/gsm8k.md). Before each optimizer step (after clipping, where the Trainer logs
`grad_norm`), this callback checks the gradients; when any is not finite on any process, it drops them all, so the
optimizer leaves the weights as they were, and warns with the step and the parameters whose gradient was not
finite on this process (where in the model it went wrong: embeddings, a layer, the head). After `max_consecutive`
such steps in a row it stops training with the likely causes, since the weights can no longer learn.

Under DeepSpeed ZeRO, which keeps the gradients in its own buffers, `WatchNonFiniteGradNorm` reads the `grad_norm`
the Trainer logs instead: DeepSpeed skips a non-finite update itself in fp16, and in bf16 unless the DeepSpeed
config's `bf16.check_grad_overflow` is false, and logs its norm as inf; the watch warns with the step and stops
after `max_consecutive` in a row. In fp32, or with that check off, DeepSpeed applies it: the watch stops training
at once, since every later step would train NaN weights.

Not covered: fp16 with a GradScaler, which already skips them; under DeepSpeed, a step between two logging steps
(`logging_steps` above 1 logs only the last one's norm).
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


def nonfinite_parameters(model: torch.nn.Module) -> str:
    """Which of `model`'s gradients are not finite on this process, for the warning (read only on a skipped step)."""
    names = [name for name, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    if not names:
        return "in another process's gradients"
    total = sum(1 for p in model.parameters() if p.grad is not None)
    shown = ", ".join(names[:NAMES_SHOWN]) + (", ..." if len(names) > NAMES_SHOWN else "")
    return f"in {len(names)} of {total} parameter tensors ({shown})"


class SkipNonFiniteUpdates(TrainerCallback):
    """Drops the gradients of a step whose gradient is not finite; stops after `max_consecutive` such steps."""

    def __init__(self, max_consecutive: int):
        self.max_consecutive = max_consecutive
        self.skipped = 0
        self.consecutive = 0

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if gradients_finite(model):
            self.consecutive = 0
            return control
        where = nonfinite_parameters(model)
        for parameter in model.parameters():
            parameter.grad = None  # the optimizer leaves a parameter without a gradient as it is
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
        return control


def deepspeed_skips_nonfinite(training_args, deepspeed_config: dict) -> bool:
    """Whether DeepSpeed ZeRO skips an update whose gradient is not finite: fp16's loss scaler always does, bf16's
    overflow check unless `bf16.check_grad_overflow` is false (DeepSpeed 0.19's default is true), fp32 never."""
    if getattr(training_args, "fp16", False):
        return True
    if getattr(training_args, "bf16", False):
        return (deepspeed_config.get("bf16") or {}).get("check_grad_overflow", True) is not False
    return False


class WatchNonFiniteGradNorm(TrainerCallback):
    """Under DeepSpeed: warns for each logged non-finite `grad_norm`, stops after `max_consecutive` in a row, or at
    once when DeepSpeed applied the update (`skipped` False)."""

    def __init__(self, max_consecutive: int, skipped: bool):
        self.max_consecutive = max_consecutive
        self.skipped = skipped
        self.consecutive = 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        grad_norm = (logs or {}).get("grad_norm")
        if grad_norm is None:
            return control
        if math.isfinite(float(grad_norm)):
            self.consecutive = 0
            return control
        self.consecutive += 1
        if not self.skipped:
            logger.warning(
                "step %d: the gradient was not finite (grad_norm %s) and DeepSpeed applied the update (fp32, or "
                "bf16.check_grad_overflow false): the weights are no longer finite, so training stops here; resume "
                "from the last checkpoint. Likely causes: %s.",
                state.global_step,
                grad_norm,
                CAUSES,
            )
            control.should_training_stop = True
        elif self.consecutive >= self.max_consecutive:
            logger.warning(
                "step %d: the gradient was not finite at %d logged steps in a row; DeepSpeed skipped those updates, "
                "and training stops here. Likely causes: %s.",
                state.global_step,
                self.consecutive,
                CAUSES,
            )
            control.should_training_stop = True
        else:
            logger.warning(
                "step %d: the gradient was not finite (grad_norm %s); DeepSpeed skipped the update.",
                state.global_step,
                grad_norm,
            )
        return control


def nonfinite_update_guard(trainer) -> TrainerCallback:
    """The guard for `trainer`: `SkipNonFiniteUpdates`, or under DeepSpeed, `WatchNonFiniteGradNorm`."""
    if not trainer.is_deepspeed_enabled:
        return SkipNonFiniteUpdates(max_consecutive=MAX_CONSECUTIVE_NONFINITE)
    plugin = trainer.accelerator.state.deepspeed_plugin
    skipped = deepspeed_skips_nonfinite(trainer.args, plugin.deepspeed_config if plugin is not None else {})
    return WatchNonFiniteGradNorm(MAX_CONSECUTIVE_NONFINITE, skipped)
