"""open_r1.utils.flat_rows: rows with advantage 0 leave the loss's forward and backward pass, the loss and its gradient
staying what they were, and only where the settings make that so."""

import pytest
import torch
from datasets import Dataset

from open_r1.configs import GRPOConfig
from open_r1.grpo import PromptTruncatingGRPOTrainer
from open_r1.utils.flat_rows import rows_that_learn, take_rows
from tests.support import dynamic_sampling_probe as probe

G = 4


def test_a_micro_batch_keeps_the_rows_with_an_advantage_and_at_least_one():
    inputs = {
        "advantages": torch.tensor([0.0, 0.5, 0.0, -0.5]),
        "completion_ids": torch.arange(8).view(4, 2),
        "num_items_in_batch": torch.tensor(40),
    }
    rows = rows_that_learn(inputs)
    assert rows.tolist() == [1, 3]
    kept = take_rows(inputs, rows)
    assert kept["completion_ids"].tolist() == [[2, 3], [6, 7]] and kept["num_items_in_batch"] == 40
    assert rows_that_learn({"advantages": torch.zeros(4)}).tolist() == [0]  # a forward and backward pass still
    assert rows_that_learn({"advantages": torch.ones(4)}) is None
    per_token = torch.tensor([[0.0, 0.0], [0.0, 0.1]])  # advantages per token: a row learns if any is not 0
    assert rows_that_learn({"advantages": per_token}).tolist() == [1]


def tiny_trainer(tiny_model, tmp_path, **overrides):
    """The tiny model's trainer whose reward has spread on one prompt in two (flagged), none on the others."""
    settings = dict(
        output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", seed=0, max_steps=1, logging_steps=1,
        save_strategy="no", per_device_train_batch_size=16, num_generations=G, max_completion_length=6,
        learning_rate=1e-3, loss_type="dapo", beta=0.0,
    )  # fmt: skip
    settings.update(overrides)
    return PromptTruncatingGRPOTrainer(
        model=str(tiny_model),
        reward_funcs=[probe.flagged_spread_reward],
        args=GRPOConfig(**settings),
        train_dataset=Dataset.from_list(probe.flagged_rows(4)),  # one generation batch: 2 flagged, 2 not
    )


def loss_and_gradient(trainer, batch) -> tuple[float, torch.Tensor]:
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    gradient = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
    return loss.item(), gradient


@pytest.mark.timeout(300)
def test_skipping_flat_rows_keeps_the_loss_and_the_gradient_of_the_whole_micro_batch(tiny_model, tmp_path):
    trainer = tiny_trainer(tiny_model, tmp_path)
    assert trainer.why_flat_rows_train() is None
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    batch = trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))
    flat = (batch["advantages"] == 0).sum().item()
    assert 0 < flat < len(batch["advantages"]), "the batch must mix flat and learning rows"
    skipped_loss, skipped_gradient = loss_and_gradient(trainer, batch)
    assert trainer._metrics["train"]["flat_rows/skipped"][-1] == flat / len(batch["advantages"])
    trainer._skip_flat_rows = False
    whole_loss, whole_gradient = loss_and_gradient(trainer, batch)
    assert skipped_loss == pytest.approx(whole_loss, abs=1e-7)
    assert whole_gradient.abs().max() > 0
    torch.testing.assert_close(skipped_gradient, whole_gradient, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "setting, reason",
    [
        ({"skip_flat_rows": False}, "skip_flat_rows is off"),
        ({"loss_type": "bnpo"}, "loss_type bnpo normalises by the micro-batch's rows or tokens"),
        ({"beta": 0.04}, "beta 0.04: the KL term of a flat row is not 0"),
        ({"top_entropy_quantile": 0.2}, "top_entropy_quantile below 1"),
    ],
)
def test_flat_rows_train_where_leaving_them_out_would_change_the_loss(tiny_model, tmp_path, setting, reason):
    trainer = tiny_trainer(tiny_model, tmp_path, **setting)
    assert trainer.why_flat_rows_train().startswith(reason)
    assert not trainer._skip_flat_rows
