"""`python -m open_r1.check_recipe`: a training command checked as its script would check it, without training."""

import subprocess
import sys

import pytest

from open_r1.check_recipe import check_recipe
from open_r1.usage import UsageError
from tests.support import REPO_ROOT, TINY_GRPO_RECIPE, TINY_SFT_RECIPE


@pytest.fixture
def tiny_paths(tiny_assets):
    """The tiny recipes' local model and datasets, from this session's build (a clean checkout has no data/)."""
    return {
        "sft": [
            "--model_name_or_path",
            str(tiny_assets["tiny-model"]),
            "--dataset_name",
            str(tiny_assets["tiny-sft"]),
        ],
        "grpo": [
            "--model_name_or_path",
            str(tiny_assets["tiny-model"]),
            "--dataset_name",
            str(tiny_assets["tiny-math"]),
        ],
    }


@pytest.mark.parametrize(("trainer", "recipe"), [("sft", TINY_SFT_RECIPE), ("grpo", TINY_GRPO_RECIPE)])
def test_a_valid_command_is_checked_for_its_script(monkeypatch, tiny_paths, trainer, recipe):
    monkeypatch.chdir(REPO_ROOT)
    assert check_recipe(trainer, ["--config", recipe, *tiny_paths[trainer]]) == (
        f"{recipe}: checked for src/open_r1/{trainer}.py"
    )


@pytest.mark.parametrize(
    ("trainer", "extra", "message"),
    [
        ("sft", ["--learning_rat", "1e-5"], "did you mean --learning_rate"),
        ("grpo", ["--cosine_max_len", "100"], "cosine_max_len"),  # a field the chosen rewards never read
        ("grpo", ["--reward_funcs", "acuracy"], "accuracy"),
        ("sft", ["--model_name_or_path", "./no-such-model"], "./no-such-model"),
    ],
)
def test_a_mistake_is_one_usage_error(monkeypatch, tiny_paths, trainer, extra, message):
    monkeypatch.chdir(REPO_ROOT)
    recipe = TINY_SFT_RECIPE if trainer == "sft" else TINY_GRPO_RECIPE
    with pytest.raises(UsageError, match=message):
        check_recipe(trainer, ["--config", recipe, *tiny_paths[trainer], *extra])


def test_an_unknown_trainer_names_the_close_one():
    with pytest.raises(UsageError, match=r"one of sft, grpo, got 'gpro' \(did you mean grpo\?\)"):
        check_recipe("gpro", [])


def test_the_command_line_prints_one_line_and_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "open_r1.check_recipe", "grpo", "--config", "recipes/tiny/grpo/config_nope.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "config_nope.yaml" in result.stderr, result.stderr
    assert result.stderr.startswith("python -m open_r1.check_recipe: error: ")


def test_a_gpu_recipe_is_checked_on_a_machine_without_a_gpu(monkeypatch, tmp_path, tiny_paths):
    """A login node has no GPU; transformers refuses bf16 there unless the command trains on the CPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"bf16: true\noutput_dir: {tmp_path / 'out'}\n")
    assert check_recipe("sft", ["--config", str(recipe), *tiny_paths["sft"]]).endswith(
        "checked for src/open_r1/sft.py"
    )


def test_without_the_hub_a_refusal_says_how_to_check_the_rest_of_the_recipe(monkeypatch, tmp_path, tiny_paths):
    """A newcomer audit's: the README's check of a GPU recipe cannot pass on a machine without the Hub, and said only
    to give local paths."""
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    recipe = "recipes/OpenR1-Distill-7B/sft/config_distill.yaml"
    with pytest.raises(UsageError) as refused:
        check_recipe("sft", ["--config", recipe])
    hint = "--model_name_or_path data/tiny-model --dataset_name data/tiny-sft --push_to_hub false"  # SFT's shape
    assert str(refused.value).endswith(f"to check the rest of the recipe without the Hub: {hint}")
    checked = check_recipe("sft", ["--config", recipe, *tiny_paths["sft"], "--push_to_hub", "false"])
    assert checked == f"{recipe}: checked for src/open_r1/sft.py"
