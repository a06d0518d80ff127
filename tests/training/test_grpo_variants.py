"""The recipes of the published GRPO variants (recipes/Qwen2.5-1.5B-Instruct/grpo/config_{dapo,dr_grpo,gspo,
demo_sleep_mode}.yaml, docs/grpo_variants.md): each is config_demo.yaml plus its variant's fields and values, and
each runs 2 steps on the tiny model on a CPU with only the model, data, sizes and hardware overridden. Sleep mode
needs vLLM, which cannot run here: its recipe is parsed and its refusals checked.
"""

import pytest
import torch

from tests.support.launch import accelerate_launch, assert_quiet, log_history
from tests.test_recipes import RECIPES, parse_recipe

GRPO_RECIPES = RECIPES / "Qwen2.5-1.5B-Instruct" / "grpo"
DEMO = GRPO_RECIPES / "config_demo.yaml"

# What each variant's recipe changes from config_demo.yaml, every field of the three configs compared: a misspelt,
# missing or extra field, or a wrong value, fails here.
VARIANTS = {
    "config_dapo.yaml": {
        "reward_funcs": ["accuracy", "format", "tag_count", "soft_overlong_punishment"],
        "reward_weights": [1.0, 1.0, 1.0, 1.0],
        "max_completion_len": 1024,  # = max_completion_length, DAPO's L_max
        "soft_punish_cache": 256,
        "epsilon_high": 0.28,
        "dynamic_sampling": True,
        "mask_truncated_completions": True,
        "hub_model_id": "Qwen2.5-1.5B-Open-R1-DAPO",
        "output_dir": "data/Qwen2.5-1.5B-Open-R1-DAPO",
    },
    "config_dr_grpo.yaml": {
        "loss_type": "dr_grpo",
        "scale_rewards": "none",
        "hub_model_id": "Qwen2.5-1.5B-Open-R1-Dr-GRPO",
        "output_dir": "data/Qwen2.5-1.5B-Open-R1-Dr-GRPO",
    },
    "config_gspo.yaml": {
        "importance_sampling_level": "sequence",
        "loss_type": "grpo",
        "epsilon": 3e-4,
        "epsilon_high": 4e-4,
        # The same 4 x per-device batch of completions per generation, trained in 4 optimizer steps, not 1.
        "gradient_accumulation_steps": 1,
        "hub_model_id": "Qwen2.5-1.5B-Open-R1-GSPO",
        "output_dir": "data/Qwen2.5-1.5B-Open-R1-GSPO",
    },
    "config_demo_sleep_mode.yaml": {
        "vllm_enable_sleep_mode": True,
        "hub_model_id": "Qwen2.5-1.5B-Open-R1-GRPO-sleep-mode",
        "output_dir": "data/Qwen2.5-1.5B-Open-R1-GRPO-sleep-mode",
    },
}


def parsed_fields(path, *extra_args: str) -> dict:
    """Every dataclass field of the recipe's three parsed configs, by name."""
    return {name: getattr(obj, name) for obj in parse_recipe(path, *extra_args) for name in obj.__dataclass_fields__}


@pytest.fixture(scope="module")
def demo_fields() -> dict:
    return parsed_fields(DEMO)


@pytest.mark.parametrize("recipe", sorted(VARIANTS))
def test_a_variant_recipe_is_the_demo_plus_its_variants_fields(recipe, demo_fields):
    fields = parsed_fields(GRPO_RECIPES / recipe)
    changed = {name: value for name, value in fields.items() if value != demo_fields[name]}
    assert changed == VARIANTS[recipe]


@pytest.mark.parametrize("recipe", sorted(VARIANTS))
def test_a_variant_recipe_says_what_it_changes_and_which_paper_on_its_first_line(recipe):
    first_line = (GRPO_RECIPES / recipe).read_text().splitlines()[0]
    assert first_line.startswith("# ") and "config_demo.yaml" in first_line
    assert ("arXiv 25" in first_line) != ("no paper" in first_line), first_line


def test_the_demo_already_trains_with_dapos_token_level_loss_and_without_kl(demo_fields):
    # So DAPO's recipe changes neither (it writes both out), and Dr. GRPO's and GSPO's must.
    assert (demo_fields["loss_type"], demo_fields["beta"], demo_fields["epsilon"]) == ("dapo", 0.0, 0.2)


def test_gspo_trains_off_policy_or_it_would_be_grpo(demo_fields):
    # On policy (one optimizer step per generation) the sequence ratio is 1 and GSPO's gradient is GRPO's.
    fields = parsed_fields(GRPO_RECIPES / "config_gspo.yaml")
    assert fields["steps_per_generation"] == 4 * fields["gradient_accumulation_steps"]
    assert fields["generation_batch_size"] == demo_fields["generation_batch_size"]


def test_dapos_soft_punishment_ramps_over_the_last_tokens_of_the_generation_budget():
    fields = parsed_fields(GRPO_RECIPES / "config_dapo.yaml")
    assert fields["max_completion_len"] == fields["max_completion_length"]
    assert 0 < fields["soft_punish_cache"] < fields["max_completion_len"]


@pytest.mark.parametrize(
    "args, error",
    [
        (("--use_vllm", "false"), "vllm_enable_sleep_mode: true has no effect with use_vllm: false"),
        (("--vllm_mode", "server"), "vllm_enable_sleep_mode: true has no effect with vllm_mode: 'server'"),
    ],
)
def test_the_sleep_mode_recipe_is_refused_where_nothing_would_sleep(args, error):
    with pytest.raises(ValueError, match=error):
        parse_recipe(GRPO_RECIPES / "config_demo_sleep_mode.yaml", *args)


def test_the_sleep_mode_recipe_keeps_its_colocated_engine_valid():
    fields = parsed_fields(GRPO_RECIPES / "config_demo_sleep_mode.yaml")
    assert fields["use_vllm"] and fields["vllm_mode"] == "colocate"
    assert 0 < fields["vllm_gpu_memory_utilization"] < 1


def cpu_overrides(tiny_assets, output_dir) -> list[str]:
    """The tiny model and task, a CPU, and small sizes in place of the recipe's GPU settings, none of the variants'
    own fields. A random model answers nothing right: DAPO's soft overlong punishment (scaled to the 48 tokens as
    DAPO's recipe scales the paper's to 1024) gives the groups a spread, and a learning rate without warm-up moves
    the model at the first step."""
    return [
        "--model_name_or_path", str(tiny_assets["tiny-model"]), "--dtype", "float32", "--attn_implementation", "sdpa",
        "--dataset_name", str(tiny_assets["tiny-math"]), "--dataset_prompt_column", "prompt",
        "--use_vllm", "false", "--use_cpu", "true", "--bf16", "false",
        "--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "48",
        "--reward_funcs", "accuracy", "format", "tag_count", "soft_overlong_punishment",
        "--reward_weights", "1.0", "1.0", "1.0", "1.0", "--max_completion_len", "48", "--soft_punish_cache", "12",
        "--reward_num_workers", "1", "--learning_rate", "1.0e-3", "--warmup_steps", "0",
        "--max_steps", "2", "--save_strategy", "no",
        "--output_dir", str(output_dir), "--report_to", "none", "--push_to_hub", "false",
    ]  # fmt: skip


@pytest.mark.e2e
@pytest.mark.parametrize(
    "recipe",
    [
        "config_dapo.yaml",
        # One run in `make test` is enough to catch the launch itself; the others only differ in their fields.
        pytest.param("config_dr_grpo.yaml", marks=pytest.mark.slow),
        pytest.param("config_gspo.yaml", marks=pytest.mark.slow),
    ],
)
def test_a_variant_recipe_trains_two_steps_on_the_tiny_model(recipe, tiny_assets, tmp_path):
    output_dir = tmp_path / "run"
    run = accelerate_launch("grpo.py", str(GRPO_RECIPES / recipe), *cpu_overrides(tiny_assets, output_dir))
    assert_quiet(run.stdout)
    history = [entry for entry in log_history(output_dir) if "loss" in entry]
    assert [entry["step"] for entry in history] == [1, 2]
    # Rewards are logged with each generation: at step 1 (GSPO's step 2 trains on step 1's completions).
    assert "rewards/soft_overlong_punishment_reward/mean" in history[0], sorted(history[0])
    assert any(entry["grad_norm"] > 0 for entry in history), "the variant's loss gave no gradient"
    # The trainer ran with the variant's fields as the recipe wrote them.
    trained = torch.load(output_dir / "training_args.bin", weights_only=False)
    for name, value in VARIANTS[recipe].items():
        if name != "output_dir" and hasattr(trained, name):
            assert getattr(trained, name) == value, name
