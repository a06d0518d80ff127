"""SFT end to end on CPU: the user's launch command trains the tiny model, saves it, and resumes."""

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.support.launch import accelerate_launch, log_history


@pytest.mark.e2e
def test_sft_trains_saves_and_resumes_from_the_last_checkpoint(tiny_assets, tmp_path):
    output_dir = tmp_path / "sft"
    common = [
        "--model_name_or_path", str(tiny_assets["tiny-model"]),
        "--dataset_name", str(tiny_assets["tiny-sft"]),
        "--output_dir", str(output_dir),
        "--save_steps", "8", "--logging_steps", "2",
    ]  # fmt: skip

    accelerate_launch("sft.py", "recipes/tiny/sft/config_cpu.yaml", *common, "--max_steps", "16")
    losses = [entry["loss"] for entry in log_history(output_dir) if "loss" in entry]
    assert len(losses) == 8
    assert losses[-1] < losses[0] - 0.5, f"loss did not go down: {losses}"
    assert (output_dir / "checkpoint-16").is_dir()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = AutoModelForCausalLM.from_pretrained(output_dir)
    assert tokenizer.eos_token == "<|im_end|>"
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert model.config.use_cache is True
    assert (output_dir / "README.md").exists(), "model card"

    resumed = accelerate_launch("sft.py", "recipes/tiny/sft/config_cpu.yaml", *common, "--max_steps", "24")
    assert f"resuming training at {output_dir / 'checkpoint-16'}" in resumed.stdout + resumed.stderr
    history = log_history(output_dir)
    steps = [entry["step"] for entry in history if "loss" in entry]
    assert steps == list(range(2, 25, 2)), "the resumed run continues the first one's log instead of restarting"
