"""Specification of the lighteval command lines (open_r1.eval.lighteval_command): they parse back in the installed
lighteval as the README's setting."""

import inspect

import pytest
import yaml

from open_r1.eval.lighteval_command import build_lighteval_command


def test_model_arguments_parse_back_in_lighteval_as_the_readme_setting():
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    command = build_lighteval_command("org/model", "aime24", revision="step-100", parallel="data", num_gpus=4)
    config = VLLMModelConfig.from_args(command.argv[2])
    assert (config.model_name, config.revision, config.dtype) == ("org/model", "step-100", "bfloat16")
    assert (config.data_parallel_size, config.tensor_parallel_size) == (4, 1)
    assert (config.max_model_length, config.gpu_memory_utilization) == (32768, 0.8)
    assert config.override_chat_template is True
    generation = config.generation_parameters
    assert (generation.max_new_tokens, generation.temperature, generation.top_p) == (32768, 0.6, 0.95)


def test_a_system_prompt_with_commas_goes_through_a_yaml_model_config(tmp_path):
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    prompt = "Please reason step by step, and put your final answer within \\boxed{}.\nBe brief."
    command = build_lighteval_command("org/model", "math_500", system_prompt=prompt, output_dir=str(tmp_path))
    assert command.argv[2] == command.model_config_path == f"{tmp_path}/model_config_math_500.yaml"
    # One file per task: evaluate.slurm runs a model's benchmarks at once into one folder, each with its own cache.
    other = build_lighteval_command("org/model", "gpqa:diamond", system_prompt=prompt, output_dir=str(tmp_path))
    assert other.model_config_path == f"{tmp_path}/model_config_gpqa_diamond.yaml"
    assert yaml.safe_load(other.model_config_yaml)["model_parameters"]["cache_dir"].endswith("gpqa:diamond")
    config = VLLMModelConfig(**yaml.safe_load(command.model_config_yaml)["model_parameters"])
    assert config.system_prompt == prompt
    assert config.generation_parameters.temperature == 0.6

    plain = build_lighteval_command("org/model", "math_500", system_prompt="Think first.")
    assert plain.model_config_path is None
    assert VLLMModelConfig.from_args(plain.argv[2]).system_prompt == "Think first."


def test_an_empty_system_prompt_reaches_lighteval_as_an_empty_system_turn():
    """Review (2026-11-28): `system_prompt: ""` trains with an empty system turn; lighteval was asked without one."""
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    empty = build_lighteval_command("org/model", "math_500", system_prompt="")
    assert VLLMModelConfig.from_args(empty.argv[2]).system_prompt == ""
    assert VLLMModelConfig.from_args(build_lighteval_command("org/model", "math_500").argv[2]).system_prompt is None


def test_the_command_uses_only_options_of_the_installed_lighteval_vllm_command():
    from lighteval.main_vllm import vllm

    options = {f"--{name.replace('_', '-')}" for name in inspect.signature(vllm).parameters}
    command = build_lighteval_command("org/model", "aime24", max_samples=3, output_dir="out")
    used = {word for word in command.argv if word.startswith("--")}
    assert used <= options, used - options


def test_an_unknown_parallelism_is_refused():
    with pytest.raises(ValueError, match="PARALLEL must be one of"):
        build_lighteval_command("m", "aime24", parallel="pipeline")


# lighteval's sample cache: keyed by the model's name and arguments, never its weights.


@pytest.mark.parametrize("output_dir", ["evals/run", "evals/a,b", "evals/a=b"])
def test_lighteval_keeps_its_sample_cache_in_the_run_output_folder(tmp_path, output_dir):
    """Not ~/.cache/huggingface/lighteval/<model name>, where a model folder of the same name (or a checkpoint
    retrained in place) got an earlier model's answers back; a folder lighteval's `key=value,...` parser would cut
    (',' or '=') goes through a YAML model config."""
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    output_dir = f"{tmp_path}/{output_dir}"
    command = build_lighteval_command("org/model", "aime24", output_dir=output_dir)
    assert command.cache_dir == f"{output_dir}/lighteval_cache/aime24"
    if command.model_config_path is None:
        config = VLLMModelConfig.from_args(command.argv[2])
    else:
        config = VLLMModelConfig(**yaml.safe_load(command.model_config_yaml)["model_parameters"])
    assert config.cache_dir == command.cache_dir and config.model_name == "org/model"
    assert config.generation_parameters.temperature == 0.6


def test_running_a_command_empties_its_sample_cache_before_and_after(tmp_path):
    """A cache left by a killed run (or by the printed command run by hand) is never read by the next run; another
    task's run into the same output folder (slurm/evaluate.slurm runs a model's benchmarks at once) keeps its own."""
    import sys

    from open_r1.eval.lighteval_command import LightevalCommand, run_lighteval_command

    caches = tmp_path / "out" / "lighteval_cache"
    (caches / "aime24" / "model" / "hash").mkdir(parents=True)
    (caches / "aime24" / "model" / "hash" / "GENERATIVE.parquet").write_text("an earlier model's answers")
    (caches / "math_500").mkdir()  # a run of another task, under way
    # A command that fails (exit status 3) if it finds the cache's earlier content.
    probe = f"import os, sys; sys.exit(3 if os.path.exists({str(caches / 'aime24' / 'model')!r}) else 0)"
    command = LightevalCommand(
        [sys.executable, "-c", probe], {}, cwd=str(tmp_path), cache_dir="out/lighteval_cache/aime24"
    )
    assert run_lighteval_command(command) == 0
    assert [path.name for path in caches.iterdir()] == ["math_500"]
    (caches / "math_500").rmdir()
    assert run_lighteval_command(command) == 0
    assert not caches.exists()
