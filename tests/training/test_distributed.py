"""The recipes' own accelerate configs on 2 CPU processes, as users launch them on 8 GPUs, under either precision.

Only the process count changes on the command line (`--num_processes 2`); the tiny recipes set `use_cpu: true`.
Every shipped config (ddp, zero2, zero3, fsdp) x `bf16: true/false` either trains 2 steps or fails before the model
loads with one line naming both settings: the recipe's `bf16` decides the precision although every config says
`mixed_precision: bf16` (open_r1.utils.launch_settings), and FSDP, which accelerate runs on GPUs only, fails.
zero3 x the recipe's own `bf16: false` runs in `make test`; the other combinations are slow.
"""

import json

import pytest
from transformers import AutoModelForCausalLM

from open_r1.utils.step_profile import PROFILE_SECONDS
from tests.support import TINY_GRPO_RECIPE
from tests.support.launch import accelerate_launch, assert_quiet, failed_launch, log_history

GRPO_RECIPE = TINY_GRPO_RECIPE
FULL_PRECISION = "Precision: full (float32), as the recipe or command line says (bf16: false)"


def run(script, recipe, assets, output_dir, accelerate_config, *extra, bf16="true", launch=accelerate_launch):
    data = assets["tiny-sft"] if script == "sft.py" else assets["tiny-math"]
    return launch(
        script,
        recipe,
        "--model_name_or_path", str(assets["tiny-model"]),
        "--dataset_name", str(data),
        "--output_dir", str(output_dir),
        "--bf16", bf16,
        "--save_steps", "2",
        *extra,
        accelerate_config=accelerate_config,
        num_processes=2,
    )  # fmt: skip


def assert_two_process_deepspeed_run(output_dir):
    args = json.loads((output_dir / "trainer_state.json").read_text())
    assert args["global_step"] > 0
    # Each process saved its own ZeRO shard of the optimizer state: proof of 2 ranks under DeepSpeed.
    checkpoint = sorted(output_dir.glob("checkpoint-*"))[-1]
    shards = sorted(p.name for p in checkpoint.rglob("*optim_states.pt"))
    assert len(shards) == 2, shards
    assert any("zero_pp_rank_1" in name for name in shards)
    AutoModelForCausalLM.from_pretrained(output_dir)  # the gathered (not partitioned) model was saved


@pytest.mark.e2e
def test_grpo_on_two_processes_with_zero3_in_the_recipes_full_precision(tiny_assets, tmp_path):
    output_dir = tmp_path / "grpo-zero3"
    result = run("grpo.py", GRPO_RECIPE, tiny_assets, output_dir, "zero3.yaml", "--max_steps", "2", bf16="false")
    assert FULL_PRECISION in result.stdout
    assert_quiet(result.stdout)
    assert_two_process_deepspeed_run(output_dir)
    steps = [entry for entry in log_history(output_dir) if "reward" in entry]
    assert [entry["step"] for entry in steps] == [1, 2]
    for entry in steps:  # under DeepSpeed too, each step says where its time went (open_r1.utils.step_profile)
        parts = [entry[f"profile/{part}_seconds"] for part in PROFILE_SECONDS]
        assert sum(parts) == pytest.approx(entry["step_time"]) and min(parts) >= 0, entry


@pytest.mark.slow
@pytest.mark.parametrize(
    "accelerate_config, bf16",
    [
        ("ddp.yaml", "true"),
        ("ddp.yaml", "false"),
        ("zero2.yaml", "true"),
        ("zero2.yaml", "false"),
        ("zero3.yaml", "true"),
    ],
)
def test_grpo_trains_two_steps_on_two_processes(tiny_assets, tmp_path, accelerate_config, bf16):
    output_dir = tmp_path / "grpo"
    result = run("grpo.py", GRPO_RECIPE, tiny_assets, output_dir, accelerate_config, "--max_steps", "2", bf16=bf16)
    assert (FULL_PRECISION in result.stdout) == (bf16 == "false")
    if accelerate_config.startswith("zero"):
        assert_two_process_deepspeed_run(output_dir)
    assert [e["step"] for e in log_history(output_dir) if "reward" in e] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("bf16", ["true", "false"])
def test_fsdp_on_a_cpu_fails_before_the_model_loads_naming_both_settings(tiny_assets, tmp_path, bf16):
    result = run("grpo.py", GRPO_RECIPE, tiny_assets, tmp_path / "grpo", "fsdp.yaml", bf16=bf16, launch=failed_launch)
    message = "distributed_type: FSDP cannot run with use_cpu: true"
    assert message in result.stdout
    assert "Loading weights" not in result.stdout, "the model loaded before the launch was refused"


@pytest.mark.slow
@pytest.mark.parametrize("accelerate_config", ["zero2.yaml", "zero3.yaml"])
def test_grpo_on_two_processes_trains_and_resumes(tiny_assets, tmp_path, accelerate_config):
    output_dir = tmp_path / "grpo"
    run("grpo.py", GRPO_RECIPE, tiny_assets, output_dir, accelerate_config, "--max_steps", "4")
    assert_two_process_deepspeed_run(output_dir)
    resumed = run("grpo.py", GRPO_RECIPE, tiny_assets, output_dir, accelerate_config, "--max_steps", "6")
    assert f"resuming training at {output_dir / 'checkpoint-4'}" in resumed.stdout + resumed.stderr
    assert [e["step"] for e in log_history(output_dir) if "reward" in e] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
@pytest.mark.parametrize("accelerate_config", ["zero2.yaml", "zero3.yaml"])
def test_sft_on_two_processes(tiny_assets, tmp_path, accelerate_config):
    output_dir = tmp_path / "sft"
    run(
        "sft.py",
        "recipes/tiny/sft/config_cpu.yaml",
        tiny_assets,
        output_dir,
        accelerate_config,
        "--max_steps",
        "6",
        "--logging_steps",
        "1",
    )
    assert_two_process_deepspeed_run(output_dir)
    losses = [e["loss"] for e in log_history(output_dir) if "loss" in e]
    assert losses[-1] < losses[0]
