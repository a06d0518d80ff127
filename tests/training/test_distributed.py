"""The recipes' own DeepSpeed configs (zero2.yaml, zero3.yaml) on 2 CPU processes, as users launch them on 8 GPUs.

Only the process count and the CPU switches change on the command line: `--num_processes 2` for accelerate,
and `--bf16 true` so the training config's precision matches the accelerate config's `mixed_precision: bf16`
(the tiny recipes train in fp32 otherwise); the recipes already set `use_cpu: true`.
"""

import json

import pytest
from transformers import AutoModelForCausalLM

from tests.support.launch import accelerate_launch, log_history


def run(script, recipe, assets, output_dir, accelerate_config, *extra):
    data = assets["tiny-sft"] if script == "sft.py" else assets["tiny-math"]
    return accelerate_launch(
        script,
        recipe,
        "--model_name_or_path", str(assets["tiny-model"]),
        "--dataset_name", str(data),
        "--output_dir", str(output_dir),
        "--bf16", "true",
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
def test_grpo_on_two_processes_with_zero3(tiny_assets, tmp_path):
    output_dir = tmp_path / "grpo-zero3"
    run("grpo.py", "recipes/tiny/grpo/config_cpu.yaml", tiny_assets, output_dir, "zero3.yaml", "--max_steps", "2")
    assert_two_process_deepspeed_run(output_dir)
    assert [e["step"] for e in log_history(output_dir) if "reward" in e] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("accelerate_config", ["zero2.yaml", "zero3.yaml"])
def test_grpo_on_two_processes_trains_and_resumes(tiny_assets, tmp_path, accelerate_config):
    output_dir = tmp_path / "grpo"
    run("grpo.py", "recipes/tiny/grpo/config_cpu.yaml", tiny_assets, output_dir, accelerate_config, "--max_steps", "4")
    assert_two_process_deepspeed_run(output_dir)
    resumed = run(
        "grpo.py", "recipes/tiny/grpo/config_cpu.yaml", tiny_assets, output_dir, accelerate_config, "--max_steps", "6"
    )
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
