"""open_r1.utils.flat_rows: rows with advantage 0 leave the loss's forward and backward pass, the loss and its gradient
staying what they were, and only where the settings make that so."""

import os
import subprocess
import sys

import pytest
import torch

from open_r1.configs import GRPO_LOSS_TYPES
from open_r1.utils.dynamic_sampling import take_rows
from open_r1.utils.flat_rows import SKIPPABLE_LOSSES, kept_share, rows_to_train
from tests.support import REPO_ROOT
from tests.support import dynamic_sampling_probe as probe
from tests.support.ports import free_port

G = 4


def test_a_micro_batch_trains_its_learning_rows_topped_up_with_flat_ones_to_every_processs_count():
    inputs = {
        "advantages": torch.tensor([0.0, 0.5, 0.0, -0.5, 0.0]),
        "completion_ids": torch.arange(10).view(5, 2),
        "num_items_in_batch": torch.tensor(40),
    }
    mask = torch.tensor([[1, 0], [1, 1], [1, 1], [1, 0], [0, 0]])
    rows = rows_to_train(inputs, mask)
    assert rows.tolist() == [1, 3]
    kept = take_rows(inputs, rows)
    assert kept["completion_ids"].tolist() == [[2, 3], [6, 7]] and kept["num_items_in_batch"] == 40
    # Another process trains 3 rows: this one adds the flat row with the most loss tokens (row 2), so both gather
    # per-row metrics of one size (a review: gloo aborted on sizes that differed).
    assert rows_to_train(inputs, mask, lambda count: max(count, 3)).tolist() == [1, 2, 3]
    # Every row flat: the stand-in is a row with loss tokens, not row 0 by default (its metrics would read 0).
    flat = {"advantages": torch.zeros(5)}
    assert rows_to_train(flat, mask).tolist() == [1]
    assert rows_to_train({"advantages": torch.ones(5)}, torch.ones(5, 2)) is None
    per_token = torch.tensor([[0.0, 0.0], [0.0, 0.1]])  # advantages per token: a row learns if any is not 0
    assert rows_to_train({"advantages": per_token}, torch.ones(2, 2)).tolist() == [1]
    # A row with an advantage but no loss token (mask_truncated_completions cut it) learns nothing either (an audit).
    cut = {"advantages": torch.tensor([0.0, 0.5, 0.0, -0.5, 0.7])}
    assert rows_to_train(cut, mask).tolist() == [1, 3]


def tiny_trainer(tiny_model, tmp_path, **overrides):
    """The tiny model's trainer whose reward has spread on one prompt in two (flagged), none on the others; two
    iterations per generation over two micro-batches, so that the batch carries old log-probabilities."""
    settings = dict(
        max_steps=1, per_device_train_batch_size=8, gradient_accumulation_steps=2, steps_per_generation=2,
        num_iterations=2, num_generations=G,
    )  # fmt: skip
    rows = probe.flagged_rows(4)  # one generation batch: 2 flagged, 2 not
    return probe.tiny_trainer(tiny_model, tmp_path, probe.flagged_spread_reward, rows, **{**settings, **overrides})


def loss_and_gradient(trainer, batch) -> tuple[float, torch.Tensor]:
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    gradient = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
    return loss.item(), gradient


def scored_batch(trainer) -> dict:
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    return trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))


def assert_same_loss_and_gradient(trainer, batch) -> None:
    skipped_loss, skipped_gradient = loss_and_gradient(trainer, batch)
    trainer._skip_flat_rows = False
    whole_loss, whole_gradient = loss_and_gradient(trainer, batch)
    trainer._skip_flat_rows = True
    assert skipped_loss == pytest.approx(whole_loss, abs=1e-7)
    torch.testing.assert_close(skipped_gradient, whole_gradient, atol=1e-7, rtol=1e-5)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "loss_type, settings",
    [
        ("dapo", {}),
        ("cispo", {"epsilon_high": 5.0}),
        ("dapo", {"delta": 1.5}),
        # Normalised by the micro-batch's rows or tokens: the kept rows' loss scaled by their share (an audit's).
        ("grpo", {}),
        ("bnpo", {}),
        ("dr_grpo", {}),
        ("sapo", {}),
        ("luspo", {"importance_sampling_level": "sequence"}),
    ],
)
def test_skipping_flat_rows_keeps_the_loss_and_the_gradient_of_the_whole_micro_batch(
    tiny_model, tmp_path, loss_type, settings
):
    trainer = tiny_trainer(tiny_model, tmp_path, loss_type=loss_type, **settings)
    assert trainer.why_flat_rows_train() is None
    batch = scored_batch(trainer)
    assert "old_per_token_logps" in batch, "the batch must carry the per-row tensors of later iterations"
    flat = (batch["advantages"] == 0).sum().item()
    assert 0 < flat < len(batch["advantages"]), "the batch must mix flat and learning rows"
    assert_same_loss_and_gradient(trainer, batch)
    assert trainer._metrics["train"]["flat_rows/skipped"][0] == flat / len(batch["advantages"])
    everything_flat = {**batch, "advantages": torch.zeros_like(batch["advantages"])}
    assert_same_loss_and_gradient(trainer, everything_flat)
    # Completion columns no trained row needs are not passed on (an audit: 8.5% of a micro-batch's positions).
    widths, logps = [], trainer._get_per_token_logps_and_entropies
    trainer._get_per_token_logps_and_entropies = lambda *a, **k: widths.append(a[3]) or logps(*a, **k)
    shorter = {**batch, "completion_mask": batch["completion_mask"].clone()}
    shorter["completion_mask"][batch["advantages"] != 0, -1] = 0  # the learning rows' last column: padding
    assert_same_loss_and_gradient(trainer, shorter)
    assert widths == [batch["completion_ids"].size(1) - 1, batch["completion_ids"].size(1)]


@pytest.mark.parametrize(
    "setting, reason",
    [
        ({"skip_flat_rows": False}, "skip_flat_rows is off"),
        ({"loss_type": "vespo"}, "loss_type vespo: only dapo, cispo, grpo, sapo, luspo, dr_grpo, bnpo's"),
        ({"beta": 0.04}, "beta 0.04: the KL term of a flat row is not 0"),
        ({"top_entropy_quantile": 0.2}, "top_entropy_quantile below 1"),
    ],
)
def test_flat_rows_train_where_leaving_them_out_would_change_the_loss(tiny_model, tmp_path, setting, reason):
    trainer = tiny_trainer(tiny_model, tmp_path, **setting)
    assert trainer.why_flat_rows_train().startswith(reason)
    assert not trainer._skip_flat_rows


def test_a_loss_normalised_by_the_micro_batch_is_scaled_by_the_kept_rows_share():
    """Left unscaled, a loss normalised by the micro-batch's rows or tokens changed without them (bnpo: 0.06 apart)."""
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    rows = torch.tensor([0, 2])
    assert kept_share("dapo", mask, rows) == 1.0
    assert kept_share("grpo", mask, rows) == kept_share("dr_grpo", mask, rows) == 0.5
    assert kept_share("bnpo", mask, rows) == 5 / 6
    assert set(SKIPPABLE_LOSSES) == set(GRPO_LOSS_TYPES) - {"vespo"}


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_two_processes_with_different_flat_rows_train_as_many_rows_each(tiny_model, tmp_path):
    """A review's: rank 0 kept one row, rank 1 all of them, and TRL's gather of per-row clip ratios aborted (gloo:
    "Received data size doesn't match expected size")."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
        str(REPO_ROOT / "tests" / "support" / "flat_rows_probe.py"), str(tiny_model), str(tmp_path / "out"),
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=280, env=environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "rank 0 trained" in result.stdout and "rank 1 trained" in result.stdout
