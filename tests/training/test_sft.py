"""SFT end to end on CPU: the user's launch command trains the tiny model, saves it, and resumes; a finished run
asked again does not train, a resumed one says which of its changed settings apply; none of it prints the
warnings the project's recipes used to cause (tests.support.launch.NOISE)."""

import json
import pathlib

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.support.launch import accelerate_launch, assert_quiet, log_history


@pytest.mark.e2e
def test_sft_trains_saves_and_resumes_from_the_last_checkpoint(tiny_assets, tmp_path):
    output_dir = tmp_path / "sft"
    common = [
        "--model_name_or_path", str(tiny_assets["tiny-model"]),
        "--dataset_name", str(tiny_assets["tiny-sft"]),
        "--output_dir", str(output_dir),
        "--save_steps", "8", "--logging_steps", "2",
    ]  # fmt: skip

    first = accelerate_launch("sft.py", "recipes/tiny/sft/config_cpu.yaml", *common, "--max_steps", "16")
    assert_quiet(first.stdout)
    losses = [entry["loss"] for entry in log_history(output_dir) if "loss" in entry]
    assert len(losses) == 8
    assert losses[-1] < losses[0] - 0.5, f"loss did not go down: {losses}"
    assert (output_dir / "checkpoint-16").is_dir()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = AutoModelForCausalLM.from_pretrained(output_dir)
    assert tokenizer.eos_token == "<|im_end|>"
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert model.config.use_cache is True
    card = (output_dir / "README.md").read_text()
    assert "# Model Card for tiny-sft\n" in card  # the recipe's hub_model_id
    assert f"fine-tuned version of `{tiny_assets['tiny-model']}` (a local model)" in card

    # The same run asked again, with a new learning rate: it is finished, so it says so and trains nothing.
    again = accelerate_launch(
        "sft.py", "recipes/tiny/sft/config_cpu.yaml", *common, "--max_steps", "16", "--learning_rate", "1e-4"
    )
    assert f"Nothing to train: {output_dir / 'checkpoint-16'} is at step 16" in again.stdout
    assert "*** Train ***" not in again.stdout
    assert "Training parameters" not in again.stdout  # the reason is the run's output, not under a config dump
    assert "resuming training" not in again.stdout  # a newcomer's: it said it resumed, then that there was nothing
    assert not (output_dir / "checkpoint-17").exists()

    resumed = accelerate_launch(
        "sft.py", "recipes/tiny/sft/config_cpu.yaml", *common, "--max_steps", "24", "--learning_rate", "1e-4"
    )
    assert f"resuming training at {output_dir / 'checkpoint-16'}" in resumed.stdout + resumed.stderr
    assert "learning_rate: 0.003 -> 0.0001 (ignored: 0.003 stays" in resumed.stdout
    assert "max_steps: 16 -> 24 (takes effect)" in resumed.stdout
    assert_quiet(resumed.stdout)
    history = log_history(output_dir)
    steps = [entry["step"] for entry in history if "loss" in entry]
    assert steps == list(range(2, 25, 2)), "the resumed run continues the first one's log instead of restarting"
    # As reported: the cosine schedule of 24 steps, scaled by the checkpoint's 3e-3 rather than the new 1e-4.
    after_resume = next(entry for entry in history if entry["step"] == 18 and "learning_rate" in entry)
    assert 2e-4 < after_resume["learning_rate"] < 3e-3, after_resume
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == 24


@pytest.mark.e2e
def test_sft_trains_on_a_dataset_mixture(tiny_assets, tmp_path):
    """Found by a red team: every run with a `dataset_mixture` crashed as it logged its settings, before training."""
    recipe = pathlib.Path("recipes/tiny/sft/config_cpu.yaml").read_text()
    mixture = f"dataset_mixture:\n  datasets:\n    - id: {tiny_assets['tiny-sft']}\n      weight: 0.5\n"
    (tmp_path / "mixture.yaml").write_text(recipe.replace("dataset_name: data/tiny-sft\n", mixture))
    output_dir = tmp_path / "sft"
    run = accelerate_launch(
        "sft.py", str(tmp_path / "mixture.yaml"),
        "--model_name_or_path", str(tiny_assets["tiny-model"]), "--output_dir", str(output_dir),
        "--max_steps", "2", "--logging_steps", "1", "--save_strategy", "no",
    )  # fmt: skip
    assert_quiet(run.stdout)
    assert "dataset_mixture=DatasetMixtureConfig(" in run.stdout + run.stderr
    assert [entry["step"] for entry in log_history(output_dir) if "loss" in entry] == [1, 2]
