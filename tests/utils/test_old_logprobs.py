"""open_r1.utils.old_logprobs: the old policy scores only the micro-batches trained after an optimizer update, and
training is TRL's, update for update."""

import pytest
import torch
from trl import GRPOTrainer

from tests.support import dynamic_sampling_probe as probe


def tiny_trainer(tiny_model, tmp_path, **overrides):
    """The tiny model's trainer on prompts half of which have reward spread, 8 rows per micro-batch."""
    settings = dict(per_device_train_batch_size=8, num_generations=4, max_steps=2, num_iterations=1)
    rows = probe.flagged_rows(32)
    return probe.tiny_trainer(tiny_model, tmp_path, probe.flagged_spread_reward, rows, **{**settings, **overrides})


@pytest.fixture
def no_grad_rows(monkeypatch) -> list[int]:
    """The rows of every no-grad log-probability pass TRL's scoring runs, in order."""
    rows, score = [], GRPOTrainer._get_per_token_logps_and_entropies

    def counted(self, model, input_ids, *args, **kwargs):
        if not torch.is_grad_enabled():
            rows.append(input_ids.size(0))
        return score(self, model, input_ids, *args, **kwargs)

    monkeypatch.setattr(GRPOTrainer, "_get_per_token_logps_and_entropies", counted)
    return rows


def trained(trainer) -> tuple[list[float], torch.Tensor]:
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return losses, torch.cat([p.detach().flatten() for p in trainer.model.parameters()])


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "accumulation, per_generation, scored_rows, more",
    [
        (2, 4, [8, 8], {}),  # one generation for two updates: its last two micro-batches are trained after the first
        (3, 2, [8], {}),  # generations every 2 micro-batches, updates every 3: the 2nd generation straddles an update
        (2, 4, [8, 8], {"skip_flat_rows": False}),  # every row trains, at the generation batch's widths
        (2, 4, [8, 8], {"dynamic_sampling": True}),  # the rounds' batches stacked (their passes all left out)
    ],
)
def test_only_micro_batches_trained_after_an_update_are_scored_and_training_is_trls(
    tiny_model, tmp_path, no_grad_rows, accumulation, per_generation, scored_rows, more
):
    settings = dict(gradient_accumulation_steps=accumulation, steps_per_generation=per_generation, **more)
    trainer = tiny_trainer(tiny_model, tmp_path / "here", **settings)
    assert not trainer.old_logps_left_to_trl("train")
    losses, parameters = trained(trainer)
    assert no_grad_rows == scored_rows
    assert trainer.state.log_history[0]["profile/logprobs_seconds"] > 0  # the pass that remains, timed apart
    if per_generation == 4:  # the buffer holds the one generation: micro-batches 2 and 3 carry them, 0 and 1 not
        assert ["old_per_token_logps" in batch for batch in trainer._buffered_inputs] == [False, False, True, True]

    no_grad_rows.clear()
    reference = tiny_trainer(tiny_model, tmp_path / "trl", **settings)
    reference.old_logps_left_to_trl = lambda mode: True
    trl_losses, trl_parameters = trained(reference)
    every_row = 8 * per_generation * (2 * accumulation // per_generation)  # TRL's way: every row of every generation
    assert sum(no_grad_rows) == every_row if "dynamic_sampling" not in more else sum(no_grad_rows) >= every_row
    assert losses == pytest.approx(trl_losses, abs=1e-6)
    torch.testing.assert_close(parameters, trl_parameters, atol=1e-6, rtol=1e-5)


def test_a_micro_batch_is_scored_without_its_padding_completion_columns_and_with_all_its_prompt_columns(
    tiny_model, tmp_path, no_grad_rows
):
    """A review's: cutting the prompt's padding columns too would move every token to another position, which a model
    with learned absolute positions reads (TRL's pass kept the generation batch's widths)."""
    trainer = tiny_trainer(tiny_model, tmp_path, gradient_accumulation_steps=2, steps_per_generation=4)
    widths, score = [], GRPOTrainer._get_per_token_logps_and_entropies
    trainer._get_per_token_logps_and_entropies = lambda model, ids, *a, **k: (
        widths.append(ids.size(1)) or score(trainer, model, ids, *a, **k)
    )
    prompt_mask = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]])  # two columns pad every prompt
    completion_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])  # two columns pad every completion
    batch = {
        "prompt_ids": torch.randint(1, 50, (2, 6)), "prompt_mask": prompt_mask,
        "completion_ids": torch.randint(1, 50, (2, 5)), "completion_mask": completion_mask,
    }  # fmt: skip
    logps = trainer._old_policy_logps(batch)
    assert widths == [6 + 3]
    assert logps.shape == (2, 5) and not logps[:, 3:].any() and logps[:, :2].all()


def test_evaluation_scores_nothing_with_the_old_policy(tiny_model, tmp_path, no_grad_rows):
    trainer = tiny_trainer(tiny_model, tmp_path, gradient_accumulation_steps=2, steps_per_generation=4)
    trainer.model.eval()
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    assert no_grad_rows == [] and "old_per_token_logps" not in batch
    trainer.old_logps_left_to_trl = lambda mode: True
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    assert no_grad_rows and "old_per_token_logps" in batch  # TRL's pass, whose values no loss reads in evaluation


@pytest.mark.parametrize(
    "settings, left_to_trl",
    [
        ({"gradient_accumulation_steps": 2, "steps_per_generation": 4}, False),
        ({"gradient_accumulation_steps": 4, "steps_per_generation": 4}, True),  # steps line up: TRL computes none
        ({"gradient_accumulation_steps": 2, "steps_per_generation": 4, "num_iterations": 2}, True),
    ],
)
def test_the_pass_is_left_to_trl_where_every_row_needs_it(tiny_model, tmp_path, settings, left_to_trl):
    trainer = tiny_trainer(tiny_model, tmp_path, **settings)
    assert trainer.old_logps_left_to_trl("train") is left_to_trl
    if not left_to_trl:
        trainer.use_vllm, trainer.vllm_importance_sampling_correction = True, True  # vLLM's ratio reads every row
        assert trainer.old_logps_left_to_trl("train") and trainer.old_logps_left_to_trl("eval")
