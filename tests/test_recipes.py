"""Every recipe parses with the project's parser; every accelerate config is valid for accelerate."""

import pathlib
import warnings

import pytest
from trl import ModelConfig, TrlParser

from open_r1.configs import GRPOConfig, GRPOScriptArguments, ScriptArguments, SFTConfig
from tests.support import REPO_ROOT

RECIPES = REPO_ROOT / "recipes"
PARSERS = {
    "sft": (ScriptArguments, SFTConfig, ModelConfig),
    "grpo": (GRPOScriptArguments, GRPOConfig, ModelConfig),
}


def training_recipes():
    return sorted(p for p in RECIPES.rglob("*.yaml") if p.parent.name in PARSERS)


def parse_recipe(path: pathlib.Path, *extra_args: str):
    # `use_cpu` lets TrainingArguments accept bf16 on this GPU-less machine; every other field is checked as written.
    parser = TrlParser(PARSERS[path.parent.name])
    return parser.parse_args_and_config(["--config", str(path), "--use_cpu", "true", *extra_args])


def test_there_are_sft_and_grpo_recipes():
    kinds = {p.parent.name for p in training_recipes()}
    assert kinds == {"sft", "grpo"}, kinds


@pytest.mark.parametrize("recipe", training_recipes(), ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_parses(recipe):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        script_args, training_args, model_args = parse_recipe(recipe)
    # transformers 5 renamed gradient_checkpointing*; the old names warn on every run.
    assert not [str(w.message) for w in caught if "checkpointing" in str(w.message)]
    assert model_args.model_name_or_path
    assert training_args.output_dir
    assert script_args.dataset_name or script_args.dataset_mixture


def test_unknown_recipe_key_fails_at_parse_time_with_its_name(tmp_path):
    recipe = (RECIPES / "tiny" / "sft" / "config_cpu.yaml").read_text() + "\nlearning_rat: 1.0e-4\n"
    bad = tmp_path / "sft" / "config_bad.yaml"
    bad.parent.mkdir()
    bad.write_text(recipe)
    with pytest.raises(ValueError, match="learning_rat"):
        parse_recipe(bad)


def test_command_line_overrides_the_recipe():
    _, training_args, _ = parse_recipe(RECIPES / "tiny" / "sft" / "config_cpu.yaml", "--learning_rate", "0.5")
    assert training_args.learning_rate == 0.5


@pytest.mark.parametrize("config", sorted((RECIPES / "accelerate_configs").glob("*.yaml")), ids=lambda p: p.name)
def test_accelerate_config_is_valid(config):
    from accelerate.commands.config.config_args import load_config_from_file

    cluster = load_config_from_file(str(config))
    assert cluster.num_processes == 8 and cluster.mixed_precision == "bf16"
    assert str(cluster.distributed_type).split(".")[-1] in {"MULTI_GPU", "DEEPSPEED", "FSDP"}
    if cluster.distributed_type == "DEEPSPEED" or str(cluster.distributed_type).endswith("DEEPSPEED"):
        assert cluster.deepspeed_config["zero_stage"] == int(config.stem[-1])


def test_r1_distill_template_prefills_think_and_the_format_rewards_accept_its_completions(tiny_model):
    from transformers import AutoTokenizer

    from open_r1.rewards import get_reward_funcs

    script_args, training_args, _ = parse_recipe(
        RECIPES / "DeepSeek-R1-Distill-Qwen-1.5B" / "grpo" / "config_demo.yaml"
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = training_args.chat_template
    history = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "<think>\nold reasoning\n</think>\n<answer>\n1\n</answer>"},
        {"role": "user", "content": "Q2"},
    ]
    prompt = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    assert "<think>\nold reasoning\n</think>" in prompt, "earlier turns keep their reasoning"
    assert prompt.endswith("<｜User｜>Q2<｜Assistant｜><think>\n")

    completion = "Two plus two.\n</think>\n<answer>\n\\boxed{4}\n</answer>"
    rewards = {f.__name__: f([completion], solution=["$4$"]) for f in get_reward_funcs(script_args)}
    assert rewards == {"accuracy_reward": [1.0], "format_reward": [1.0], "tag_count_reward": [1.0]}
