"""Skips an optimizer update whose gradient is not finite, says so, and stops a run that keeps producing them.

    trainer.add_callback(SkipNonFiniteUpdates(MAX_CONSECUTIVE_NONFINITE))   # grpo.py, with `skip_nonfinite_updates: true`

A single NaN or inf in the gradient, once clipped and applied, makes every weight NaN: the next generation then
samples from NaN probabilities and the run dies with a CUDA "device-side assert" that names none of this (seen on
an H100 in bf16 autocast, docs/gsm8k.md). Before each optimizer step (after clipping, where the Trainer logs
`grad_norm`), this callback checks the gradients; when any is not finite on any process, it drops them all, so the
optimizer leaves the weights as they were, and warns with the step and the parameters whose gradient was not
finite on this process (where in the model it went wrong: embeddings, a layer, the head). After `max_consecutive`
such steps in a row it stops training with the likely causes, since the weights can no longer learn.

Not covered: DeepSpeed ZeRO, which keeps the gradients in its own buffers (its fp16 loss scaler skips overflowing
steps itself; bf16 has none), and fp16 with a GradScaler, which already skips them.
"""

import logging

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
