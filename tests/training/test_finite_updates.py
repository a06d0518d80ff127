"""A step whose gradient is not finite is skipped, not applied (open_r1.utils.finite_updates), in grpo.py's run."""

import logging
import types

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl, TrainerState
from trl import ModelConfig

from open_r1 import grpo
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.utils.finite_updates import (
    SkipNonFiniteUpdates,
    WatchNonFiniteGradNorm,
    deepspeed_skips_nonfinite,
    nonfinite_update_guard,
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
# Under DeepSpeed ZeRO: the logged grad_norm is watched
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "precision, deepspeed_config, skipped",
    [
        ({"fp16": True}, {}, True),
        ({"bf16": True}, {"bf16": {"enabled": "auto"}}, True),  # DeepSpeed 0.19's check_grad_overflow default
        ({"bf16": True}, {"bf16": {"enabled": True, "check_grad_overflow": False}}, False),
        ({}, {}, False),  # fp32: DeepSpeed checks nothing
    ],
)
def test_which_deepspeed_precisions_skip_a_nonfinite_update_themselves(precision, deepspeed_config, skipped):
    training_args = types.SimpleNamespace(**{"fp16": False, "bf16": False, **precision})
    assert deepspeed_skips_nonfinite(training_args, deepspeed_config) is skipped


def feed_grad_norms(watch, grad_norms, caplog) -> TrainerControl:
    state, control = TrainerState(), TrainerControl()
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.finite_updates"):
        for step, grad_norm in enumerate(grad_norms, start=1):
            state.global_step = step
            watch.on_log(None, state, control, logs={"loss": 0.1, "grad_norm": grad_norm})
            if control.should_training_stop:
                break
    return control


def test_under_deepspeed_a_skipped_nonfinite_update_is_reported_and_several_in_a_row_stop_training(caplog):
    """Found by an audit: under ZeRO a NaN gradient was logged beside a plausible loss, and nothing said so."""
    control = feed_grad_norms(WatchNonFiniteGradNorm(2, skipped=True), [0.3, float("inf"), 0.4, float("nan")], caplog)
    assert not control.should_training_stop
    assert "step 2: the gradient was not finite (grad_norm inf); DeepSpeed skipped the update." in caplog.text
    control = feed_grad_norms(WatchNonFiniteGradNorm(2, skipped=True), [float("inf")] * 3, caplog)
    assert control.should_training_stop
    assert "step 2: the gradient was not finite at 2 logged steps in a row" in caplog.text


def test_under_deepspeed_in_fp32_one_applied_nonfinite_update_stops_training_at_once(caplog):
    control = feed_grad_norms(WatchNonFiniteGradNorm(5, skipped=False), [0.3, float("nan"), 0.2], caplog)
    assert control.should_training_stop
    assert "step 2: the gradient was not finite (grad_norm nan) and DeepSpeed applied the update" in caplog.text


def test_the_guard_is_the_gradient_check_without_deepspeed_and_the_watch_with_it():
    plain = types.SimpleNamespace(is_deepspeed_enabled=False)
    assert isinstance(nonfinite_update_guard(plain), SkipNonFiniteUpdates)
    plugin = types.SimpleNamespace(deepspeed_config={"bf16": {"enabled": True}})
    zero = types.SimpleNamespace(
        is_deepspeed_enabled=True,
        accelerator=types.SimpleNamespace(state=types.SimpleNamespace(deepspeed_plugin=plugin)),
        args=types.SimpleNamespace(fp16=False, bf16=True),
    )
    watch = nonfinite_update_guard(zero)
    assert isinstance(watch, WatchNonFiniteGradNorm) and watch.skipped
    zero.args.bf16 = False
    assert not nonfinite_update_guard(zero).skipped
