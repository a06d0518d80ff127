"""The recipe's bf16/fp16 decide the precision under any accelerate config; backends that cannot run fail first.

What `accelerate launch` exports is set here with monkeypatch.setenv, as the launcher would; the launched runs
are in tests/training/test_distributed.py.
"""

import json
import os

import pytest

from open_r1.configs import GRPOConfig, SFTConfig
from open_r1.usage import UsageError
from open_r1.utils.launch_settings import apply_launch_settings, check_backend_runs_here, recipe_precision

# What `accelerate launch --config_file recipes/accelerate_configs/zero3.yaml` exports for the DeepSpeed plugin.
ZERO3_LAUNCH = {
    "ACCELERATE_USE_DEEPSPEED": "true",
    "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3",
    "ACCELERATE_DEEPSPEED_ZERO3_INIT": "true",
    "ACCELERATE_DEEPSPEED_OFFLOAD_OPTIMIZER_DEVICE": "none",
    "ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE": "none",
    "ACCELERATE_MIXED_PRECISION": "bf16",
}


@pytest.fixture
def clean_accelerate_state():
    """The DeepSpeed configuration and accelerate state a test leaves are global: reset them after it."""
    from accelerate.state import AcceleratorState
    from transformers.integrations import unset_hf_deepspeed_config

    yield
    unset_hf_deepspeed_config()
    AcceleratorState._reset_state(reset_partial_state=True)


def test_the_recipes_flags_name_the_precision(tmp_path):
    assert recipe_precision(SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False)) == "no"
    assert recipe_precision(SFTConfig(output_dir=str(tmp_path), use_cpu=True)) == "bf16"  # TRL's default
    assert recipe_precision(SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, fp16=True)) == "fp16"


@pytest.mark.parametrize("config_class", [SFTConfig, GRPOConfig])
def test_bf16_false_wins_over_the_accelerate_configs_mixed_precision(config_class, monkeypatch, tmp_path):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    config = config_class(output_dir=str(tmp_path), bf16=False, use_cpu=True)
    # transformers falls back to what the launch exported; the Trainer hands this to its Accelerator.
    assert config.mixed_precision == "bf16"
    environment = dict(os.environ)
    apply_launch_settings(config)
    assert config.mixed_precision == "no"
    assert dict(os.environ) == environment, "the environment is read, never written"


@pytest.mark.parametrize("config_class", [SFTConfig, GRPOConfig])
def test_a_recipe_that_leaves_precision_alone_keeps_bf16(config_class, monkeypatch, tmp_path):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    config = config_class(output_dir=str(tmp_path), use_cpu=True)
    apply_launch_settings(config)
    assert config.bf16 is True and config.mixed_precision == "bf16"


def test_a_full_precision_recipe_under_zero3_partitions_and_trains_in_float32(
    monkeypatch, tmp_path, clean_accelerate_state
):
    from transformers.integrations.deepspeed import deepspeed_config, is_deepspeed_zero3_enabled

    for name, value in ZERO3_LAUNCH.items():
        monkeypatch.setenv(name, value)
    config = SFTConfig(output_dir=str(tmp_path), bf16=False, use_cpu=True)
    # What TrainingArguments built from the launch: DeepSpeed in bf16, while the Trainer expects float32.
    assert config.deepspeed_plugin.deepspeed_config["bf16"]["enabled"] is True
    apply_launch_settings(config)
    assert config.mixed_precision == "no"
    assert config.deepspeed_plugin.deepspeed_config["bf16"]["enabled"] is False
    assert config.deepspeed_plugin.zero_stage == 3
    # The configuration from_pretrained partitions the weights under (ZeRO-3's zero.Init) says float32 too.
    assert is_deepspeed_zero3_enabled()
    assert deepspeed_config()["bf16"]["enabled"] is False


def test_a_deepspeed_config_file_that_enables_bf16_against_the_recipe_is_named(
    monkeypatch, tmp_path, clean_accelerate_state
):
    ds_config = tmp_path / "ds.json"
    ds_config.write_text(json.dumps({"zero_optimization": {"stage": 2}, "bf16": {"enabled": True}}))
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_CONFIG_FILE", str(ds_config))
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    config = SFTConfig(output_dir=str(tmp_path / "out"), bf16=False, use_cpu=True)
    with pytest.raises(ValueError) as error:
        apply_launch_settings(config)
    message = str(error.value)
    assert "\n" not in message
    assert f"{ds_config} sets bf16.enabled: true but the recipe or command line sets bf16: false" in message


@pytest.mark.parametrize(
    "environment, named",
    [
        ({"ACCELERATE_USE_FSDP": "true"}, "distributed_type: FSDP cannot run with use_cpu: true"),
        # accelerate would run the ZeRO-3-partitioned model without DeepSpeed: "The size of tensor a (0) must match".
        (
            {"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_USE_CPU": "true"},
            "ACCELERATE_USE_CPU=true turns off .*distributed_type: DEEPSPEED",
        ),
    ],
    ids=["fsdp", "deepspeed-with-accelerate-use-cpu"],
)
def test_a_backend_that_cannot_run_on_a_cpu_fails_naming_both_settings(monkeypatch, tmp_path, environment, named):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = SFTConfig(output_dir=str(tmp_path), use_cpu=True)
    with pytest.raises(ValueError, match=named) as error:
        check_backend_runs_here(config)
    assert "\n" not in str(error.value)


def test_deepspeed_in_fp16_on_a_cpu_fails_before_the_model_loads(monkeypatch, tmp_path):
    """Found by a newcomer audit: DeepSpeed's CPU accelerator refused fp16 in a 220-line traceback after loading."""
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    config = SFTConfig(output_dir=str(tmp_path), use_cpu=True, fp16=True, bf16=False)
    with pytest.raises(ValueError, match="fp16: true cannot run under the accelerate config's .*DEEPSPEED on a CPU"):
        check_backend_runs_here(config)
    check_backend_runs_here(SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=True))


def test_more_processes_than_cores_on_a_cpu_fail_before_trl_loads(monkeypatch, tmp_path):
    """Found by a newcomer audit: ddp.yaml's num_processes: 8 on 2 cores trained a batch 8 times the recipe's."""
    from open_r1.usage import check_command_line

    cores = len(os.sched_getaffinity(0))
    (tmp_path / "recipe.yaml").write_text("use_cpu: true\n")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores + 1))
    with pytest.raises(ValueError, match=rf"{cores + 1} training processes on {cores} CPU cores .*--num_processes 1"):
        check_command_line(["--config", str(tmp_path / "recipe.yaml")])
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores))
    check_command_line(["--config", str(tmp_path / "recipe.yaml")])


SHARDED_LAUNCHES = [
    ({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"}, "zero_stage: 3"),
    ({"ACCELERATE_USE_FSDP": "true"}, "distributed_type: FSDP"),
]


@pytest.mark.parametrize(("field", "value"), [("tool_rollout_chunk_tokens", 32), ("compile_generation", True)])
@pytest.mark.parametrize(("environment", "named"), SHARDED_LAUNCHES)
def test_generation_settings_that_need_whole_parameters_fail_before_the_model_loads_when_they_are_sharded(
    monkeypatch, tmp_path, environment, named, field, value
):
    # Decoding ahead: each process would make its own number of collective generate calls. Compiled: the gathered
    # parameters are new tensors at each generation, which CUDA graphs would not follow.
    from open_r1.configs import GRPOConfig

    config = GRPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, **{field: value})
    for name, variable in environment.items():
        monkeypatch.setenv(name, variable)
    with pytest.raises(ValueError, match=f"{field} cannot run with the accelerate config's {named}"):
        check_backend_runs_here(config)


def test_tool_rollouts_decoded_ahead_run_under_zero2(monkeypatch, tmp_path):
    from open_r1.configs import GRPOConfig

    # ZeRO-2 keeps whole parameters on each process: each decodes its rollouts by itself.
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")
    check_backend_runs_here(GRPOConfig(output_dir=str(tmp_path), tool_rollout_chunk_tokens=32, use_cpu=True))


def test_compiled_generation_needs_a_gpu_and_no_activation_checkpointing(monkeypatch, tmp_path):
    from open_r1.configs import GRPOConfig

    checkpointing = GRPOConfig(output_dir=str(tmp_path), compile_generation=True, report_to="none", use_cpu=True)
    with pytest.raises(ValueError, match="compile_generation: true cannot run with activation_checkpointing: true"):
        check_backend_runs_here(checkpointing)
    config = GRPOConfig(
        output_dir=str(tmp_path),
        compile_generation=True,
        activation_checkpointing=False,
        report_to="none",
        use_cpu=True,
    )
    with pytest.raises(
        ValueError, match="compile_generation: true cannot run with use_cpu: true: transformers"
    ) as error:
        check_backend_runs_here(config)
    assert "\n" not in str(error.value)
    # ZeRO-2 keeps whole parameters on each process; so, on a GPU, the run would start.
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")
    with pytest.raises(ValueError, match="cannot run with use_cpu: true"):
        check_backend_runs_here(config)
    check_backend_runs_here(GRPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True))


def test_plain_data_parallel_on_a_cpu_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")
    check_backend_runs_here(SFTConfig(output_dir=str(tmp_path), use_cpu=True))


def test_one_process_that_sees_several_gpus_fails_before_the_model_loads(tmp_path):
    config = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    config._n_gpu = 4  # what transformers counts for one process on a machine of 4 GPUs without a distributed launch
    with pytest.raises(ValueError) as error:
        check_backend_runs_here(config)
    assert str(error.value) == (
        "4 GPUs are visible to this one process (no distributed launch), and TRL's trainers cannot spread one over "
        "several GPUs (nn.DataParallel): make one visible (CUDA_VISIBLE_DEVICES=0), or launch one process per GPU "
        "(recipes/accelerate_configs/ddp.yaml --num_processes 4)"
    )
    config._n_gpu = 1
    check_backend_runs_here(config)


def test_a_gpu_recipe_on_a_machine_without_a_gpu_is_one_line_with_every_override(monkeypatch, tmp_path):
    """Found by a newcomer audit: transformers refused bf16 first, then vLLM was missing, a try of seconds each."""
    import open_r1
    from open_r1.utils import launch_settings
    from open_r1.utils.launch_settings import check_gpu_settings_on_a_cpu

    monkeypatch.setattr(open_r1, "GPU_DEVICE_FILES", (str(tmp_path / "nvidiactl"),))
    monkeypatch.setattr(launch_settings, "_accelerator_available", lambda: False)
    gpu_recipe = {"bf16": True, "use_vllm": "true", "fp16": False}
    with pytest.raises(UsageError) as refused:
        check_gpu_settings_on_a_cpu(gpu_recipe, use_cpu=False)
    assert str(refused.value) == (
        "this machine has no GPU, and the run asks for bf16: true, use_vllm: true, written for GPUs: to run it on the "
        "CPU add --use_cpu true --use_vllm false, or start from a CPU recipe (recipes/tiny/, recipes/demo/)"
    )
    check_gpu_settings_on_a_cpu({}, use_cpu=False)  # bf16 left to TRL's default: transformers' own line says it
    check_gpu_settings_on_a_cpu(gpu_recipe, use_cpu=True)  # asked for the CPU: transformers runs bf16 there
    check_gpu_settings_on_a_cpu({"bf16": False}, use_cpu=False)  # a CPU recipe
    # An accelerator torch sees without those device files (Apple's MPS, Intel's XPU, WSL's): no refusal (a review's).
    monkeypatch.setattr(launch_settings, "_accelerator_available", lambda: True)
    check_gpu_settings_on_a_cpu(gpu_recipe, use_cpu=False)
    monkeypatch.setattr(launch_settings, "_accelerator_available", lambda: False)
    (tmp_path / "nvidiactl").touch()
    check_gpu_settings_on_a_cpu(gpu_recipe, use_cpu=False)  # a GPU machine
