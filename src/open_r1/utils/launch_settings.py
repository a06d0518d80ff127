"""How the recipe and the `accelerate launch` configuration combine: one precision rule, and backends that cannot run.

    apply_launch_settings(training_args)   # start_run() calls it first, before any dataset or model loads

- **Precision**: the recipe's `fp16` / `bf16` decide (`recipe_precision`). TRL resolves an unset `bf16` to True,
  so `bf16: false` was asked for. transformers' TrainingArguments instead takes the accelerate config's
  `mixed_precision` (exported as ACCELERATE_MIXED_PRECISION; bf16 in every file of recipes/accelerate_configs)
  whenever neither is true, so `bf16: false` still trained under bf16 autocast. Here the precision the Trainer
  hands to its Accelerator (`training_args.mixed_precision`) becomes the recipe's, and under an accelerate
  DeepSpeed launch the DeepSpeed plugin (and the ZeRO-3 weight partitioning it sets up for `from_pretrained`)
  is rebuilt with it, so accelerate, DeepSpeed and the Trainer agree. The environment is read, never written.
  A DeepSpeed config file whose `bf16`/`fp16` disagrees with the recipe fails here, naming both.
- **Backends that cannot run where the recipe runs** fail here, in one line naming both settings, instead of
  after the model has loaded: `distributed_type: FSDP` on a CPU (accelerate 1.15 applies FSDP on accelerators
  only: the shipped fsdp.yaml crashes in the Trainer, another one silently trains without sharding), and
  `distributed_type: DEEPSPEED` with ACCELERATE_USE_CPU=true (accelerate then drops DeepSpeed while ZeRO-3 has
  already partitioned the weights, and the first forward pass fails with "The size of tensor a (0) must match
  the size of tensor b"). DeepSpeed runs on a CPU without that variable: the recipe's `use_cpu: true` is enough,
  but not in fp16, which DeepSpeed's CPU accelerator lacks. More processes than cores on a CPU (an 8-GPU config's
  `num_processes: 8` launched as it is) fail before TRL loads (`check_processes_fit_the_cores`, from
  `open_r1.usage.check_command_line`): the batch would silently grow as many times, each step slower.
  `tool_rollout_chunk_tokens` fails here under ZeRO-3 or FSDP, whose generate calls are collective, and
  `compile_generation` under ZeRO-3 or FSDP (each generation gathers the parameters anew), with activation
  checkpointing, and without a GPU. So does one process that sees several GPUs without a distributed launch
  (`one_process.yaml`, or `python` alone, on a machine of several), which TRL refuses once the model has loaded.

Not covered: precision inside a DeepSpeed config passed with `--deepspeed` (transformers fills its "auto"
values from the recipe and reports mismatches itself), and fp8.
"""

import logging
import os
from collections.abc import Mapping
from typing import Any

from open_r1.usage import UsageError, reads_true
from open_r1.utils.launch import usable_cores

logger = logging.getLogger("open_r1")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() in ("1", "true", "yes")


def recipe_precision(training_args) -> str:
    """The mixed precision the recipe asks for: 'fp16', 'bf16' or 'no' (full precision)."""
    if training_args.fp16:
        return "fp16"
    if training_args.bf16:
        return "bf16"
    return "no"


def check_backend_runs_here(training_args) -> None:
    """Fails, naming both settings, when the accelerate config's backend cannot run where this run trains."""
    zero3 = _env_flag("ACCELERATE_USE_DEEPSPEED") and os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE") == "3"
    sharding = "zero_stage: 3" if zero3 else "distributed_type: FSDP" if _env_flag("ACCELERATE_USE_FSDP") else None
    # Fields that need each process's parameters whole: decoding ahead (open_r1.tools.rollouts_ahead) makes its own
    # number of generate calls per process, each a collective of all processes under sharding; compiled decoding's
    # CUDA graphs replay the addresses of one generation's gathered parameters, new tensors at the next.
    for name in ("tool_rollout_chunk_tokens", "compile_generation"):
        if sharding is not None and getattr(training_args, name, None) not in (None, False):
            raise UsageError(
                f"{name} cannot run with the accelerate config's {sharding} (parameters sharded across processes); "
                "unset it, or launch with recipes/accelerate_configs/zero2.yaml or ddp.yaml"
            )
    if getattr(training_args, "compile_generation", False):
        if getattr(training_args, "activation_checkpointing", False):
            raise UsageError(
                "compile_generation: true cannot run with activation_checkpointing: true, whose hooks change around "
                "every generation and compile the decode step again; set activation_checkpointing: false"
            )
        if training_args.device.type != "cuda":
            cpu_setting = "use_cpu: true" if training_args.use_cpu else "no GPU"
            raise UsageError(
                f"compile_generation: true cannot run with {cpu_setting}: transformers compiles the decode step on a "
                "GPU only; unset it"
            )
    if training_args.n_gpu > 1:
        # Checked by TRL's trainers too, but after the model has loaded.
        raise UsageError(
            f"{training_args.n_gpu} GPUs are visible to this one process (no distributed launch), and TRL's trainers "
            "cannot spread one over several GPUs (nn.DataParallel): make one visible (CUDA_VISIBLE_DEVICES=0), or "
            f"launch one process per GPU (recipes/accelerate_configs/ddp.yaml --num_processes {training_args.n_gpu})"
        )
    if _env_flag("ACCELERATE_USE_FSDP") and training_args.device.type == "cpu":
        cpu_setting = "use_cpu: true" if training_args.use_cpu else "no GPU"
        raise UsageError(
            f"The accelerate config's distributed_type: FSDP cannot run with {cpu_setting}: accelerate applies FSDP on "
            "GPUs only; on a CPU launch with recipes/accelerate_configs/ddp.yaml or zero3.yaml"
        )
    if _env_flag("ACCELERATE_USE_DEEPSPEED") and training_args.device.type == "cpu" and training_args.fp16:
        raise UsageError(
            "fp16: true cannot run under the accelerate config's distributed_type: DEEPSPEED on a CPU (DeepSpeed's "
            "CPU accelerator has no fp16); set bf16: true, or bf16: false for full precision"
        )
    if _env_flag("ACCELERATE_USE_DEEPSPEED") and _env_flag("ACCELERATE_USE_CPU"):
        raise UsageError(
            "ACCELERATE_USE_CPU=true turns off the accelerate config's distributed_type: DEEPSPEED (accelerate would "
            "train the ZeRO-partitioned model without DeepSpeed); unset ACCELERATE_USE_CPU: DeepSpeed runs on a CPU "
            "by itself, with the recipe's use_cpu: true"
        )


def check_processes_fit_the_cores(use_cpu: bool) -> None:
    """Fails when this launch starts more training processes on this machine than it has cores and trains on the CPU
    (`use_cpu`, or no GPU device): called before TRL loads, as each process's import alone takes seconds of a core."""
    from open_r1 import gpu_device_present

    processes = int(os.environ.get("LOCAL_WORLD_SIZE") or "1")
    cores = usable_cores()
    on_cpu = use_cpu or not gpu_device_present()
    if on_cpu and processes > cores:
        raise UsageError(
            f"{processes} training processes on {cores} CPU cores (the accelerate config's num_processes, written for "
            f"a node of GPUs): each would wait on the others, and the batch would be {processes} times the "
            f"recipe's; launch with --num_processes 1 (at most {cores})"
        )


def check_gpu_settings_on_a_cpu(settings: Mapping[str, Any], use_cpu: bool) -> None:
    """Fails in one line, with every override a CPU run needs, when a recipe written for GPUs (bf16 or fp16, use_vllm)
    starts on a machine without an accelerator and without `use_cpu`: transformers refuses bf16 first, then vLLM is
    missing, a try of seconds each (a newcomer audit's). No GPU device file is the cheap sign; transformers' own test
    confirms it before the refusal (an Apple, Intel or TPU machine has none of those files)."""
    from open_r1 import gpu_device_present

    if use_cpu or gpu_device_present():
        return
    # Only what the run writes: a recipe that leaves bf16 to TRL's default (on) gets transformers' own one line.
    gpu_only = [name for name in ("bf16", "fp16", "use_vllm") if reads_true(settings.get(name))]
    if not gpu_only or _accelerator_available():
        return
    shown = [f"{name}: true" for name in gpu_only]
    overrides = ["--use_cpu true"] + [f"--{name} false" for name in gpu_only if name != "bf16"]
    raise UsageError(
        f"this machine has no GPU, and the run asks for {', '.join(shown)}, written for GPUs: to run it on the CPU "
        f"add {' '.join(overrides)}, or start from a CPU recipe (recipes/tiny/, recipes/demo/)"
    )


def _accelerator_available() -> bool:
    """Whether transformers would train in bf16 here: its own test (CUDA or ROCm, Apple's MPS, Intel's XPU, Ascend's
    NPU, Habana's HPU), or a TPU."""
    from transformers.utils import is_torch_bf16_gpu_available, is_torch_xla_available

    return bool(is_torch_bf16_gpu_available() or is_torch_xla_available())


def _deepspeed_plugin(precision: str):
    """The accelerate DeepSpeed plugin of this launch, under `precision` (what TrainingArguments builds from the
    launch's environment, with the recipe's precision instead of the accelerate config's)."""
    from accelerate.utils import DeepSpeedPlugin

    plugin = DeepSpeedPlugin()
    try:
        plugin.set_mixed_precision(precision)
    except ValueError as error:  # the DeepSpeed config file enables the other 16-bit type
        raise UsageError(f"{_precision_setting(precision)} in the recipe or command line, but {error}") from None
    for dtype in ("bf16", "fp16"):
        enabled = plugin.deepspeed_config.get(dtype, {}).get("enabled")
        if str(enabled).lower() == "true" and dtype != precision:
            config_file = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "the DeepSpeed config")
            raise UsageError(
                f"{config_file} sets {dtype}.enabled: true but the recipe or command line sets "
                f"{_precision_setting(precision)}; make them agree (or set {dtype}.enabled: auto)"
            )
    # ZeRO-3 partitions the weights inside from_pretrained, in the dtype this global configuration names.
    plugin.set_deepspeed_weakref()
    return plugin


def _precision_setting(precision: str) -> str:
    return {"fp16": "fp16: true", "bf16": "bf16: true"}.get(precision, "bf16: false")


def apply_recipe_precision(training_args) -> str:
    """Makes the recipe's precision the one the Trainer, accelerate and DeepSpeed use; returns it."""
    precision = recipe_precision(training_args)
    launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    if training_args.mixed_precision != precision:
        training_args.mixed_precision = precision
        # An accelerate DeepSpeed launch: TrainingArguments built the plugin under the launch's precision.
        if training_args.deepspeed_plugin is not None and not training_args.deepspeed:
            training_args.deepspeed_plugin = _deepspeed_plugin(precision)
    if launched != precision:
        logger.info(
            "Precision: %s, as the recipe or command line says (%s); the accelerate config's mixed_precision: %s does not apply",
            "full (float32)" if precision == "no" else precision,
            _precision_setting(precision),
            launched,
        )
    return precision


def apply_launch_settings(training_args) -> None:
    """The launch checks, then the recipe's precision; before anything loads."""
    check_backend_runs_here(training_args)
    apply_recipe_precision(training_args)
