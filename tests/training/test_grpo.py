"""GRPO end to end on CPU, and the checks that stop a bad recipe before any model is loaded."""

import logging
import re

import pytest
import torch
from safetensors.torch import load_file
from trl import ModelConfig, TrlParser

from open_r1.configs import GRPOConfig, GRPOScriptArguments
from open_r1.grpo import prepare_prompts
from open_r1.usage import merged_options
from tests.support import TINY_GRPO_RECIPE
from tests.support.launch import accelerate_launch, assert_quiet, log_history

TINY_RECIPE = TINY_GRPO_RECIPE


def grpo_args(tiny_assets, output_dir, *extra):
    # A random model never answers correctly, so accuracy and format are all zeros; the soft overlong
    # punishment differs between the completions that stop early and the ones cut at the budget, which gives
    # the policy a gradient from the first step. `extra` replaces what it sets again.
    defaults = [
        "--model_name_or_path", str(tiny_assets["tiny-model"]),
        "--dataset_name", str(tiny_assets["tiny-math"]),
        "--output_dir", str(output_dir),
        "--reward_funcs", "accuracy", "format", "soft_overlong_punishment",
        "--reward_weights", "1.0", "0.5", "1.0",
        "--max_completion_length", "48", "--max_completion_len", "48", "--soft_punish_cache", "44",
        "--save_steps", "2",
    ]  # fmt: skip
    return merged_options(defaults, extra)


@pytest.mark.e2e
def test_grpo_trains_logs_rewards_saves_and_resumes(tiny_assets, tmp_path):
    output_dir = tmp_path / "grpo"
    first = accelerate_launch("grpo.py", TINY_RECIPE, *grpo_args(tiny_assets, output_dir, "--max_steps", "4"))
    assert_quiet(first.stdout)
    # On by default: a random model's accuracy pays nothing, named at the end of a run too short to warn while training.
    assert "GRPO doctor, step" not in first.stdout
    assert (
        "GRPO doctor, over the run's 4 logging steps (too few to judge: doctor_patience 5 steps), throughout: "
        "constant_reward (accuracy_reward 0" in first.stdout
    )

    assert "GRPO's mean step (4 log entries) took " in first.stdout + first.stderr
    history = [entry for entry in log_history(output_dir) if "reward" in entry]
    assert [entry["step"] for entry in history] == [1, 2, 3, 4]
    for entry in history:
        for key in (
            "rewards/accuracy_reward/mean",
            "rewards/format_reward/mean",
            "rewards/soft_overlong_punishment_reward/mean",
        ):
            assert key in entry, f"{key} missing from {sorted(entry)}"
    assert any(entry["grad_norm"] > 0 for entry in history)
    trained = load_file(output_dir / "model.safetensors")
    initial = load_file(tiny_assets["tiny-model"] / "model.safetensors")
    assert any(not torch.equal(trained[name], initial[name]) for name in initial), "weights never changed"

    resumed = accelerate_launch("grpo.py", TINY_RECIPE, *grpo_args(tiny_assets, output_dir, "--max_steps", "6"))
    assert f"resuming training at {output_dir / 'checkpoint-4'}" in resumed.stdout + resumed.stderr
    assert "max_steps: 4 -> 6 (takes effect)" in resumed.stdout
    assert_quiet(resumed.stdout)
    assert [e["step"] for e in log_history(output_dir) if "reward" in e] == [1, 2, 3, 4, 5, 6]
    # Its own steps, not the checkpoint's too (a session's note: the summary counted the first launch's).
    assert "GRPO's mean step of this launch (2 log entries) took " in resumed.stdout + resumed.stderr


@pytest.mark.slow  # 30 to 75 s on a shared 2-core machine: a launch stopped after its first step
def test_the_doctor_reads_a_real_batch_and_stops_training_where_asked(tiny_assets, tmp_path):
    # The random tiny model never answers right: accuracy pays nothing from the first step.
    output_dir = tmp_path / "grpo"
    run = accelerate_launch(
        "grpo.py",
        TINY_RECIPE,
        *grpo_args(tiny_assets, output_dir, "--max_steps", "3", "--save_strategy", "no"),
        "--doctor_patience", "1", "--doctor_stop_on", "constant_reward",
    )  # fmt: skip
    assert "GRPO doctor, step 1: for the last 1 step:" in run.stdout
    assert "[constant_reward] accuracy_reward gave every completion 0" in run.stdout
    # The example comes from TRL's own record of the batch, with the row's gold found in the dataset.
    assert "Example from the last batch: prompt ending 'Compute" in run.stdout
    assert re.search(r"accuracy_reward = 0: (parsed answer .*|no final answer .*); gold '\$-?\d+\$'", run.stdout)
    assert "format_reward = 0: tags <think> x" in run.stdout
    assert "Training stops here (doctor_stop_on: constant_reward)" in run.stdout
    assert [entry["step"] for entry in log_history(output_dir) if "reward" in entry] == [1]
    # The warning is a metric of the next log too (wandb's), here the end-of-training one.
    assert [
        entry["doctor/constant_reward"] for entry in log_history(output_dir) if "doctor/constant_reward" in entry
    ] == [1.0]


def parse(*args):
    parser = TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    return parser.parse_args_and_config(["--config", TINY_RECIPE, *args])


def test_generation_batch_not_divisible_by_num_generations_fails_with_values_that_fit():
    """A newcomer's: the message said what to make a multiple of what, and no number that would do."""
    with pytest.raises(ValueError, match="divisible by num_generations.*multiple of num_generations") as raised:
        parse("--per_device_train_batch_size", "6", "--num_generations", "4")
    assert str(raised.value).endswith("(e.g. num_generations 2, 3 or 6, or per_device_train_batch_size 8).")
    with pytest.raises(ValueError) as raised:  # two steps a generation: the per-device batch need only be 6
        parse("--per_device_train_batch_size", "5", "--num_generations", "4", "--steps_per_generation", "2")
    assert str(raised.value).endswith("(e.g. num_generations 2, 5 or 10, or per_device_train_batch_size 6).")
    with pytest.raises(ValueError) as raised:  # a generation batch given: the per-device batch does not change it
        parse("--per_device_train_batch_size", "4", "--num_generations", "3", "--generation_batch_size", "8")
    assert str(raised.value).endswith("(e.g. num_generations 2, 4 or 8).")


def test_generation_batch_size_and_steps_per_generation_are_exclusive():
    with pytest.raises(ValueError, match="can not be both configured"):
        parse("--generation_batch_size", "8", "--steps_per_generation", "1")


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("loss_type", "drgrpo", "loss_type must be one of.*'dr_grpo'.*got 'drgrpo'"),
        # TRL reads these only in the first loss or advantage computation, or once vLLM starts.
        ("importance_sampling_level", "sequnce", r"importance_sampling_level must be one of \('token', 'sequence'\)"),
        ("scale_rewards", "no", "scale_rewards must be one of .*'none'.*got 'no'"),
        ("vllm_mode", "colocated", "vllm_mode must be one of .*'colocate'.*got 'colocated'"),
    ],
)
def test_an_unknown_value_of_a_grpo_mode_fails_at_parse_time(field, value, error):
    with pytest.raises(ValueError, match=error):
        parse(f"--{field}", value, "--use_vllm", "true")


@pytest.mark.parametrize("value, read", [("false", "none"), ("true", "group"), ("none", "none"), ("batch", "batch")])
def test_scale_rewards_takes_trl_0_18_booleans_from_the_command_line(value, read):
    # A recipe's `scale_rewards: false` is a YAML boolean, which TRL maps; the command line's is a string.
    assert parse("--scale_rewards", value)[1].scale_rewards == read


@pytest.mark.parametrize("loss_type", ["grpo", "dr_grpo", "dapo", "bnpo"])
def test_known_loss_types_pass_through(loss_type):
    _, training_args, _ = parse("--loss_type", loss_type, "--scale_rewards", "none", "--epsilon_high", "0.28")
    assert training_args.loss_type == loss_type
    assert training_args.scale_rewards == "none" and training_args.epsilon_high == 0.28


def test_prompts_get_the_system_prompt_and_keep_the_other_columns(caplog):
    from datasets import Dataset, DatasetDict

    dataset = DatasetDict(
        {
            "train": Dataset.from_list(
                [{"problem": "1+1?", "solution": "2", "messages": [{"role": "user", "content": "x"}]}]
            )
        }
    )
    with caplog.at_level(logging.INFO, logger="open_r1"):
        prepared = prepare_prompts(dataset, "problem", "Think first.")
    row = prepared["train"][0]
    assert row["prompt"] == [{"role": "system", "content": "Think first."}, {"role": "user", "content": "1+1?"}]
    assert row["solution"] == "2"
    assert "messages" not in prepared["train"].column_names
    assert "The 'messages' column (worked solutions) is dropped from split(s) ['train']" in caplog.text  # a red team's


def test_missing_prompt_column_is_named_with_the_existing_ones():
    from datasets import Dataset, DatasetDict

    dataset = DatasetDict({"train": Dataset.from_list([{"question": "1+1?", "solution": "2"}])})
    with pytest.raises(ValueError, match=r"dataset_prompt_column 'problem'.*\['question', 'solution'\]"):
        prepare_prompts(dataset, "problem", None)


def test_a_registered_reward_that_needs_a_missing_column_stops_grpo_before_the_model_loads(
    tiny_assets, tmp_path, monkeypatch
):
    """A reward of one's own, registered as the function itself, that takes a `difficulty` column tiny-math lacks:
    named once the rewards are built, not after the model loaded and three batches raised."""
    from open_r1 import grpo
    from open_r1.configs import RecipeParser
    from open_r1.rewards import REWARD_FUNCS_REGISTRY
    from open_r1.usage import UsageError

    def difficulty_reward(completions, difficulty, **kwargs):
        return [float(level) for level in difficulty]

    def no_model(*args, **kwargs):
        raise AssertionError("the model loaded before the column was checked")

    monkeypatch.setitem(REWARD_FUNCS_REGISTRY, "difficulty", difficulty_reward)
    monkeypatch.setattr(grpo, "get_model", no_model)
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    arguments = ["--config", TINY_RECIPE, "--model_name_or_path", str(tiny_assets["tiny-model"])]
    arguments += ["--dataset_name", str(tiny_assets["tiny-math"]), "--output_dir", str(tmp_path)]
    arguments += ["--reward_funcs", "accuracy", "difficulty", "--reward_weights", "1.0", "1.0"]
    with pytest.raises(UsageError, match=r"the 'difficulty' reward \(reward_funcs\) needs a 'difficulty' column"):
        grpo.main(*parser.parse_args_and_config(arguments))
