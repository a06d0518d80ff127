"""Skipping the rows GRPO cannot learn from: a completion whose advantage is 0 adds nothing to the policy gradient.

    class MyTrainer(FlatRowSkipping, GRPOTrainer): ...   # open_r1.grpo.PromptTruncatingGRPOTrainer does this
    # recipe: skip_flat_rows: true (the default)

A group whose completions all earn the same reward gives each of them advantage 0, and TRL's policy loss of such a
row is exactly 0 (`-min(ratio * 0, clipped ratio * 0)`), with a gradient of exactly 0; yet TRL runs its forward and
backward pass like any other row's. On make gsm8k's GRPO most groups are flat (docs/gsm8k.md), so most of the
training pass was spent on zeros. Here each micro-batch keeps only the rows with a non-zero advantage and a loss
token (`mask_truncated_completions` leaves a cut completion none) before TRL's loss, topped up with flat rows (those
with the most loss tokens) to the largest count of any process: every process trains as many rows (TRL gathers
per-row metrics), at least one, so each still runs its forward and backward pass.

The loss and its gradient are those of the whole micro-batch, up to float rounding, when
(`FlatRowSkipping.why_flat_rows_train`):
- the loss is normalised by the generation batch's token count (`loss_type` dapo or cispo: `num_items_in_batch`), or
  by the micro-batch's own rows (grpo, sapo, luspo, dr_grpo) or loss tokens (bnpo), whose loss over the kept rows is
  then scaled by their share of them (`kept_share`); vespo's is not checked;
- the model has no dropout (drawn anew for a smaller batch);
- `beta` is 0 (the KL term is per row, and not 0 on a flat row);
- no term reads the micro-batch as a whole: no `top_entropy_quantile` below 1 (a quantile over the micro-batch's
  tokens), no entropy bonus, no router auxiliary loss (MoE), no Liger loss, no images.
Otherwise every row trains as in TRL, and the run says why once at start-up. Where rows are left out, or where every
row trains under those settings, the micro-batch passed on also loses the prompt and completion columns that pad
every row it keeps (`dynamic_sampling.trim_padding`): TRL splits the generation batch without trimming.

What changes: the metrics TRL computes inside the loss (`entropy`, `clip_ratio/*`) are means over the rows trained
on, most flat rows left out (the GRPO doctor's `entropy` check then reads the rows that learn, and a stand-in row for
a micro-batch of flat ones); `flat_rows/skipped` logs the share of this process's rows skipped.

Not covered: generation and scoring of flat groups (`dynamic_sampling` replaces them; the reference
log-probabilities of a generation batch are TRL's, the old ones `old_logprobs`'), evaluation (every row is scored).
"""

import logging

import torch

from open_r1.utils.dynamic_sampling import BATCH_TOKENS, ROW_PADDING, take_rows, trim_padding

logger = logging.getLogger(__name__)
# The micro-batch fields whose padding side is known: a batch with others (images) is passed on as it is.
TRIMMABLE_FIELDS = set(ROW_PADDING) | {BATCH_TOKENS}

# The loss types whose normaliser is the generation batch's token count (`num_items_in_batch`), not the rows'.
BATCH_NORMALISED_LOSSES = ("dapo", "cispo")
# The loss types normalised by the micro-batch's own rows (grpo, sapo: a mean of per-row means; luspo: a mean of per-row
# sums; dr_grpo: rows x max_completion_length) or loss tokens (bnpo), in TRL 1.16's `_compute_loss`: the rows left out
# add 0 to the sum but count in the normaliser, so the kept rows' loss is scaled back by their share (`kept_share`).
ROW_NORMALISED_LOSSES = ("grpo", "sapo", "luspo", "dr_grpo")
TOKEN_NORMALISED_LOSSES = ("bnpo",)
SKIPPABLE_LOSSES = BATCH_NORMALISED_LOSSES + ROW_NORMALISED_LOSSES + TOKEN_NORMALISED_LOSSES


def rows_to_train(inputs: dict, mask: torch.Tensor, count_of_every_rank=None) -> torch.Tensor | None:
    """The indices of the micro-batch's rows to train: those whose advantage is not 0 anywhere and that have a loss
    token (`mask_truncated_completions` leaves a cut row none), then flat rows with the most loss tokens up to the
    largest such count of any process (`count_of_every_rank(count)`: it; processes that trained different row counts
    would gather per-row metrics of different sizes), at least one. None where every row trains."""
    advantages = inputs["advantages"]
    tokens = mask.reshape(len(advantages), -1).sum(dim=1).to(torch.float64)
    learns = advantages != 0 if advantages.dim() == 1 else (advantages != 0).any(dim=1)
    learns &= tokens > 0
    count = max(int(learns.sum()), 1)
    if count_of_every_rank is not None:
        count = count_of_every_rank(count)
    if count >= len(learns):
        return None
    # Learning rows first, then flat ones by loss tokens: a stand-in row with tokens keeps the loss's metrics defined.
    priority = learns.to(torch.float64) * (tokens.max() + 1) + tokens
    chosen = torch.argsort(priority, descending=True, stable=True)[:count]
    return torch.sort(chosen).values


def kept_share(loss_type: str, mask: torch.Tensor, rows: torch.Tensor) -> float:
    """What turns the loss over the micro-batch's `rows` into the whole micro-batch's under `loss_type`: 1 where the
    normaliser is the generation batch's, the rows' share of its rows or of its loss tokens (`mask`) where the
    normaliser is the micro-batch's own (its flat rows add 0 to the loss's sum, and count in its normaliser)."""
    if loss_type in TOKEN_NORMALISED_LOSSES:  # TRL clamps each token count at 1
        tokens = mask.reshape(mask.size(0), -1).to(torch.float64)
        return float(tokens[rows].sum().clamp(min=1.0) / tokens.sum().clamp(min=1.0))
    if loss_type in ROW_NORMALISED_LOSSES:
        return len(rows) / mask.size(0)
    return 1.0


def _has_dropout(model) -> bool:
    config = getattr(model, "config", None)
    in_attention = any(
        float(getattr(config, name, 0) or 0) > 0 for name in ("attention_dropout", "attention_probs_dropout_prob")
    )
    return in_attention or any(isinstance(module, torch.nn.Dropout) and module.p > 0 for module in model.modules())


class FlatRowSkipping:
    """GRPOTrainer mixin: under `skip_flat_rows`, each training micro-batch's rows with advantage 0 are left out of
    the loss's forward and backward pass where that leaves the loss and gradient as they are (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reason = self.why_flat_rows_train()
        self._skip_flat_rows = reason is None
        if getattr(self.args, "skip_flat_rows", False) and reason is not None and self.accelerator.is_main_process:
            logger.info("Rows with advantage 0 are trained on as in TRL: %s", reason)

    def why_flat_rows_train(self) -> str | None:
        """Why a flat row must go through the loss under this run's settings, or None where it may be skipped."""
        args = self.args
        if not getattr(args, "skip_flat_rows", False):  # TRL's own GRPOConfig has no such field: TRL's behaviour
            return "skip_flat_rows is off"
        if self.loss_type not in SKIPPABLE_LOSSES:
            return f"loss_type {self.loss_type}: only {', '.join(SKIPPABLE_LOSSES)}'s losses are checked to be the same without them"
        if self.beta != 0.0:
            return f"beta {self.beta:g}: the KL term of a flat row is not 0"
        if self.top_entropy_quantile < 1.0:
            return "top_entropy_quantile below 1 takes a quantile over the micro-batch's tokens"
        if getattr(self, "_entropy_bonus_enabled", False):
            return "the entropy bonus is a mean over the micro-batch's tokens"
        if getattr(self, "aux_loss_enabled", False):
            return "the router's auxiliary loss reads the whole micro-batch"
        if getattr(args, "use_liger_kernel", False):
            return "the Liger loss computes the loss its own way"
        if _has_dropout(self.model):
            return "the model has dropout, drawn anew for a smaller batch"
        return None

    def _largest_row_count(self, count: int) -> int:
        counts = self.accelerator.gather(torch.tensor([count], device=self.accelerator.device))
        return int(counts.max())

    def _compute_loss(self, model, inputs):
        if not (self._skip_flat_rows and self.model.training) or "pixel_values" in inputs:
            return super()._compute_loss(model, inputs)
        mask = (
            inputs["completion_mask"] if "tool_mask" not in inputs else inputs["completion_mask"] * inputs["tool_mask"]
        )
        rows = rows_to_train(inputs, mask, self._largest_row_count)
        total = len(inputs["advantages"])
        skipped = 0 if rows is None else total - len(rows)
        self._metrics["train"]["flat_rows/skipped"].append(skipped / total)
        trained = inputs if rows is None else take_rows(inputs, rows)
        if set(trained) <= TRIMMABLE_FIELDS:  # columns the micro-batch's rows all pad, which TRL passes through
            trained = trim_padding(trained, self.pad_to_multiple_of)
        loss = super()._compute_loss(model, trained)
        return loss if rows is None else loss * kept_share(self.loss_type, mask, rows)
