"""The old policy's log-probabilities, computed only for the micro-batches trained after the policy has moved.

    class MyTrainer(..., StepProfile, OldLogProbsWhereNeeded, GRPOTrainer): ...   # PromptTruncatingGRPOTrainer

When one generation batch feeds more micro-batches than an optimizer step takes (`steps_per_generation` above
`gradient_accumulation_steps`, as make gsm8k's GRPO recipes: 8 and 4), TRL scores every row of it with the policy that
generated it: a no-grad forward pass over the whole batch at its widest padding, before the rewards, for the clipped
ratio of the micro-batches trained after an update. The micro-batches trained before the next update need none: the
policy has not moved, and TRL's loss, given no old log-probabilities, reads the ratio against the detached ones of its
own forward pass, 1 exactly (TRL's own rule where the steps line up). Here the pass runs only over the micro-batches
trained after an update, each without the completion columns that pad all its rows: for make gsm8k's
recipes, half of the rows. Evaluation, which updates nothing, skips the pass entirely.

TRL's pass runs as it is where every row needs it or where its calls are not told apart: `num_iterations` above 1
(every micro-batch is trained again after updates), vLLM's importance-sampling correction (its ratio reads them), a
reference policy that is the trained model with its adapter off (PEFT with `beta`), vision-language models.
`profile/logprobs_seconds` (open_r1.utils.step_profile) times the pass that remains.
Not covered: flat rows of the micro-batches after an update are scored too (skipped or not, `flat_rows` picks them
later, per micro-batch, across processes).
"""

import torch
from trl.models.utils import disable_gradient_checkpointing

from open_r1.utils.dynamic_sampling import used_completion_width


class OldLogProbsWhereNeeded:
    """GRPOTrainer mixin: the old policy's log-probabilities of a generation batch only for the micro-batches trained
    after an optimizer update (module docstring). Sits beneath `StepProfile`, whose `logprobs` times the pass."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._micro_steps_this_update = 0  # micro-batches trained since the last optimizer update
        self._skipping_old_logps = False  # set while TRL scores a generation batch whose pass is left to this class

    def old_logps_left_to_trl(self, mode: str) -> bool:
        """Whether TRL's old-log-probability pass runs as it is in `mode` ("train" or "eval"): where it is not
        computed at all, where every row needs it, or where its call is not told apart from the reference's."""
        generate_every = self.args.steps_per_generation * self.num_iterations
        if self.args.gradient_accumulation_steps % generate_every == 0:
            return True  # TRL computes none
        if mode == "train" and self.num_iterations > 1:
            return True
        if self.use_vllm and self.vllm_importance_sampling_correction:
            return True
        if self.beta != 0.0 and self.ref_model is None:  # PEFT: the reference pass goes through the trained model
            return True
        return bool(getattr(self, "_is_vlm", False))

    def training_step(self, model, inputs, num_items_in_batch):
        output = super().training_step(model, inputs, num_items_in_batch)
        # The Trainer steps the optimizer after the micro-batch it trains with gradients synchronised.
        self._micro_steps_this_update = 0 if self.accelerator.sync_gradients else self._micro_steps_this_update + 1
        return output

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        if self._skipping_old_logps and model is self.model and not torch.is_grad_enabled():
            return None, None, None  # TRL then leaves `old_per_token_logps` out of the batch
        return super()._get_per_token_logps_and_entropies(model, *args, **kwargs)

    def _prepare_inputs(self, generation_batch):
        mode = "train" if self.model.training else "eval"
        if self.old_logps_left_to_trl(mode):
            return super()._prepare_inputs(generation_batch)
        generate_every = self.args.steps_per_generation * self.num_iterations
        generates = mode == "train" and (self._step % generate_every == 0 or self._buffered_inputs is None)
        self._skipping_old_logps = True
        try:
            inputs = super()._prepare_inputs(generation_batch)
        finally:
            self._skipping_old_logps = False
        if generates:
            self._score_micro_batches_after_update()
        return inputs

    def _score_micro_batches_after_update(self) -> None:
        """Gives each buffered micro-batch trained after the current update its old log-probabilities, from the
        policy that generated it (no update has happened since)."""
        per_generation = self.args.steps_per_generation
        update_length = getattr(self, "current_gradient_accumulation_steps", self.args.gradient_accumulation_steps)
        before_update = max(update_length - self._micro_steps_this_update, 0)
        for offset in range(before_update, per_generation):
            micro_batch = self._buffered_inputs[(self._step + offset) % per_generation]
            micro_batch["old_per_token_logps"] = self._old_policy_logps(micro_batch)

    def _old_policy_logps(self, micro_batch: dict) -> torch.Tensor:
        # Without the completion columns that pad every row; the prompt's are kept: a model whose positions count
        # the columns (learned absolute positions) would read its tokens at other positions than TRL's pass did.
        width = used_completion_width(micro_batch["completion_mask"], self.pad_to_multiple_of)
        completion_ids, completion_mask = (
            micro_batch["completion_ids"][:, :width],
            micro_batch["completion_mask"][:, :width],
        )
        input_ids = torch.cat([micro_batch["prompt_ids"], completion_ids], dim=1)
        attention_mask = torch.cat([micro_batch["prompt_mask"], completion_mask], dim=1)
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            logps, _, _ = self._get_per_token_logps_and_entropies(  # through StepProfile's timer
                self.model, input_ids, attention_mask, width, batch_size=self.args.per_device_train_batch_size
            )
        padded = logps.new_zeros(micro_batch["completion_ids"].shape)  # TRL's width, right-padded as it pads
        padded[:, : logps.size(1)] = logps
        return padded
