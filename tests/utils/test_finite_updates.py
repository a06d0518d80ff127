"""A step whose gradient is not finite is skipped, not applied (open_r1.utils.finite_updates), in grpo.py's run."""

import logging
import re
import types

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl, TrainerState
from trl import ModelConfig

from open_r1 import grpo
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.utils.finite_updates import (
    MAX_WEIGHT_GROWTH,
    SkipNonFiniteUpdates,
    UpdateCheck,
    WatchDeepSpeedSkips,
    nonfinite_update_guards,
)
from tests.support.launch import log_history
from tests.training.test_grpo import TINY_RECIPE, grpo_args

POISONED_STEP = 2


@pytest.mark.parametrize("skip", [True, False])
def test_a_step_with_a_nan_gradient_is_skipped_and_training_goes_on(tiny_assets, tmp_path, monkeypatch, caplog, skip):
    compute_loss = grpo.PromptTruncatingGRPOTrainer.compute_loss

    def poisoned(self, *args, **kwargs):
        loss = compute_loss(self, *args, **kwargs)
        return loss * float("nan") if self.state.global_step + 1 == POISONED_STEP else loss

    monkeypatch.setattr(grpo.PromptTruncatingGRPOTrainer, "compute_loss", poisoned)
    output_dir = tmp_path / "grpo"
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    arguments = ["--config", TINY_RECIPE, *grpo_args(tiny_assets, output_dir, "--max_steps", "3")]
    # No progress bar: the run that fails leaves the Trainer's open, printed over pytest's summary at exit.
    arguments += ["--save_strategy", "no", "--skip_nonfinite_updates", str(skip).lower(), "--disable_tqdm", "true"]
    if not skip:  # what the guard prevents: the NaN weights make the next generation fail (a device assert on GPU)
        with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan`"):
            grpo.main(*parser.parse_args_and_config(arguments))
        return
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.finite_updates"):
        grpo.main(*parser.parse_args_and_config(arguments))

    trained = load_file(output_dir / "model.safetensors")
    grad_norms = [entry["grad_norm"] for entry in log_history(output_dir) if "grad_norm" in entry]
    assert len(grad_norms) == 3 and grad_norms[POISONED_STEP - 1] != grad_norms[POISONED_STEP - 1]  # NaN
    assert all(torch.isfinite(tensor).all() for tensor in trained.values())
    initial = load_file(tiny_assets["tiny-model"] / "model.safetensors")
    assert any(not torch.equal(trained[name], initial[name]) for name in initial), "the finite steps did not train"
    assert f"step {POISONED_STEP}: the gradient is not finite (NaN or inf) in " in caplog.text


def test_the_warning_names_the_parameters_whose_gradient_is_not_finite(caplog):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    for parameter in model.parameters():
        parameter.grad = torch.ones_like(parameter)
    model[1].weight.grad[0, 1] = float("inf")
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.finite_updates"):
        SkipNonFiniteUpdates(max_consecutive=3).on_pre_optimizer_step(
            None, TrainerState(), TrainerControl(), model=model
        )
    assert "step 1: the gradient is not finite (NaN or inf) in 1 of 4 parameter tensors (1.weight);" in caplog.text


def test_several_nonfinite_steps_in_a_row_stop_training_and_a_finite_one_resets_the_count(caplog):
    model = torch.nn.Linear(2, 1)
    guard, state, control = SkipNonFiniteUpdates(max_consecutive=2), TrainerState(), TrainerControl()

    def step(value: float) -> None:
        for parameter in model.parameters():
            parameter.grad = torch.full_like(parameter, value)
        guard.on_pre_optimizer_step(None, state, control, model=model)
        state.global_step += 1

    with caplog.at_level(logging.WARNING, logger="open_r1.utils.finite_updates"):
        step(float("nan"))
        assert all(parameter.grad is None for parameter in model.parameters())  # the optimizer will skip them
        step(1.0)
        assert all(parameter.grad is not None for parameter in model.parameters())
        step(float("inf"))
        assert not control.should_training_stop
        step(float("-inf"))
    assert control.should_training_stop and guard.skipped == 3
    assert (
        "step 4: the gradient was not finite at 2 steps in a row (this time in 2 of 2 parameter tensors" in caplog.text
    )
    assert "training stops here" in caplog.text


def _gradients_seen_by(rank: int, init_file: str, results) -> None:
    """One of two gloo processes: its verdict on finite gradients, before and after rank 1 alone gets a NaN."""
    import torch.distributed as dist

    from open_r1.utils.finite_updates import gradients_finite

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    model = torch.nn.Linear(2, 2)
    model.weight.grad, model.bias.grad = torch.ones(2, 2), torch.ones(2)
    before = gradients_finite(model)
    if rank == 1:
        model.bias.grad[0] = float("nan")
    results.put((rank, before, gradients_finite(model)))
    dist.destroy_process_group()


def test_a_nonfinite_gradient_on_one_process_makes_every_process_skip(tmp_path):
    context = torch.multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=_gradients_seen_by, args=(rank, str(tmp_path / "rendezvous"), results))
        for rank in range(2)
    ]
    for process in processes:
        process.start()
    seen = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert seen == [(0, True, False), (1, True, False)]  # rank 0's own gradients are finite, yet it skips too


# ---------------------------------------------------------------------------------------------
# Under DeepSpeed ZeRO: what DeepSpeed did is watched
# ---------------------------------------------------------------------------------------------


def deepspeed_steps(watch, steps, caplog) -> TrainerControl:
    """Each (skipped, logged grad_norm) as the Trainer reports a DeepSpeed step: the optimizer's
    step_was_skipped at on_optimizer_step, then the logged grad_norm."""
    state, control = TrainerState(), TrainerControl()
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.finite_updates"):
        for skipped, grad_norm in steps:
            watch.on_optimizer_step(None, state, control, optimizer=types.SimpleNamespace(step_was_skipped=skipped))
            state.global_step += 1
            watch.on_log(None, state, control, logs={"loss": 0.1, "grad_norm": grad_norm})
            if control.should_training_stop:
                break
    return control


def test_under_deepspeed_a_skipped_update_is_reported_and_several_in_a_row_stop_training(caplog):
    """Found by an audit: under ZeRO a NaN gradient was logged beside a plausible loss, and nothing said so."""
    inf = float("inf")
    control = deepspeed_steps(
        WatchDeepSpeedSkips(2, loss_scaling=False), [(False, 0.3), (True, inf), (False, 0.4)], caplog
    )
    assert not control.should_training_stop
    assert (
        "step 2: the gradient is not finite (NaN or inf) by DeepSpeed's own check, which skipped it; the update"
        in (caplog.text)
    )
    control = deepspeed_steps(WatchDeepSpeedSkips(2, loss_scaling=False), [(True, inf)] * 3, caplog)
    assert control.should_training_stop
    assert "step 2: the gradient was not finite at 2 steps in a row (this time by DeepSpeed's own check" in caplog.text


def test_under_deepspeed_fp16_the_loss_scalers_skips_are_its_own(caplog):
    """Found by a review: the scaler's first steps overflow by design, five in a row with its defaults."""
    control = deepspeed_steps(WatchDeepSpeedSkips(2, loss_scaling=True), [(True, float("inf"))] * 6, caplog)
    assert not control.should_training_stop and not caplog.text


def test_under_deepspeed_an_applied_nonfinite_update_stops_training_at_once(caplog):
    control = deepspeed_steps(
        WatchDeepSpeedSkips(5, loss_scaling=False), [(False, 0.3), (False, float("nan"))], caplog
    )
    assert control.should_training_stop
    assert "step 2: the gradient was not finite (grad_norm nan) and DeepSpeed applied the update" in caplog.text


def test_the_guards_are_the_gradient_check_without_deepspeed_and_the_watch_with_it_then_the_update_check():
    plain, check = nonfinite_update_guards(types.SimpleNamespace(is_deepspeed_enabled=False))
    assert isinstance(plain, SkipNonFiniteUpdates) and isinstance(check, UpdateCheck)
    zero = types.SimpleNamespace(is_deepspeed_enabled=True, args=types.SimpleNamespace(fp16=True))
    watch, check = nonfinite_update_guards(zero)
    assert isinstance(watch, WatchDeepSpeedSkips) and watch.loss_scaling and isinstance(check, UpdateCheck)


@pytest.mark.parametrize("learning_rate", ["1e30", "1e4"])
def test_an_update_that_wrecks_the_weights_stops_the_run_before_they_are_saved(tiny_assets, tmp_path, learning_rate):
    """Adam moves each weight by about the learning rate, whatever the gradient: at 1e30 the weights stay finite but
    the next forward pass overflows (generation fails on "probability tensor contains either `inf`, `nan`"); at 1e4
    the model saturates and every later gradient is 0, a dead run that goes on generating. A run that stopped
    instead of raising would save those weights as its model."""
    output_dir = tmp_path / "grpo"
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    arguments = ["--config", TINY_RECIPE, *grpo_args(tiny_assets, output_dir, "--max_steps", "3")]
    arguments += ["--learning_rate", learning_rate, "--save_strategy", "no", "--disable_tqdm", "true"]
    named = re.escape(f"learning_rate {float(learning_rate):g})")
    wrecked = rf"^step 1: the update left .* in 26 of 26 parameter tensors .*{named}"
    with pytest.raises(RuntimeError, match=wrecked):
        grpo.main(*parser.parse_args_and_config(arguments))
    assert not (output_dir / "model.safetensors").exists()


def run_update(model, change) -> None:
    """One step as the Trainer reports it to `UpdateCheck`, with `change(model)` as its update."""
    check, state = UpdateCheck(), TrainerState()
    state.global_step = 6
    check.on_step_begin(None, state, TrainerControl(), model=model)
    with torch.no_grad():
        change(model)
    check.on_optimizer_step(types.SimpleNamespace(learning_rate=2.0), state, TrainerControl(), model=model)


def test_the_update_check_names_the_weights_not_finite_or_grown_past_the_limit_in_each_processs_shard():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.fill_(5.0)
    run_update(model, lambda m: m[0].weight.mul_(MAX_WEIGHT_GROWTH))  # a step, though a large one: not past
    run_update(model, lambda m: m[1].bias.fill_(MAX_WEIGHT_GROWTH * 0.99))  # from below 1: its limit is the growth
    with pytest.raises(
        RuntimeError,
        match=r"^step 7: .* in 1 of 4 parameter tensors \(1.bias\); the largest weight "
        r"of 1.bias went from 990 to nan; .*learning_rate 2\)",
    ):
        run_update(model, lambda m: m[1].bias.fill_(float("nan")))
    with torch.no_grad():
        model[1].bias.fill_(0.0)
    with pytest.raises(
        RuntimeError,
        match=r"in 1 of 4 parameter tensors \(1.weight\); the largest weight of "
        r"1.weight went from 0\.\d+ to 1\.01e\+03",
    ):
        run_update(model, lambda m: m[1].weight.fill_(MAX_WEIGHT_GROWTH * 1.01))
    # ZeRO-3 keeps a parameter empty and this process's partition aside.
    model[0].bias.ds_tensor = torch.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"\(0.bias\); the largest weight of 0.bias went from 2 to inf"):
        run_update(model, lambda m: m[0].bias.ds_tensor.fill_(float("inf")))
