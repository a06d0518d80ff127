"""Benchmark registry, lighteval command lines, and the launcher that evaluates pushed checkpoints.

    make evaluate MODEL=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B TASK=aime24 PARALLEL=data NUM_GPUS=8
    python -m open_r1.eval.lighteval_jobs --model <id or path> --benchmark aime24 --dry_run   # print the command

`make evaluate` and slurm/evaluate.slurm both call this module's command line, so there is one
place that turns (model, benchmark, parallelism) into a `lighteval vllm` command: the README's
setting (bfloat16, 32,768-token budget, temperature 0.6, top_p 0.95, chat template, results under
data/evals/<model>), written in lighteval 0.13's syntax:
- tasks are `task|fewshot` (`aime24|0`); the older `suite|task|fewshot|0` no longer parses;
- `--use-chat-template` no longer exists: the chat template is used when the tokenizer has one,
  and `override_chat_template=true` in the model arguments makes that explicit;
- model arguments are split on commas, so a system prompt with a comma or a newline is written
  to a YAML model config (`model_parameters:`) next to the results and passed instead.

`run_benchmark_jobs(training_args, model_args)` is what the SFT/GRPO push callbacks call: one
`sbatch slurm/evaluate.slurm` per benchmark in `training_args.benchmarks` ("all" for every one).

On a CPU, `build_lighteval_cpu_command` (`make evaluate BACKEND=accelerate DATA=<file.jsonl>`) runs
`lighteval accelerate` on a local benchmark file through the `local:<task>` custom tasks of
`open_r1.eval.lighteval_tasks`. lighteval 0.13's transformers backend samples only if the model's
generation_config.json sets do_sample=true (else it decodes greedily at any temperature), so such
models are refused; `python -m open_r1.evaluate` (`make evaluate BACKEND=cpu`) has no such limit.

Not covered: anything about vLLM itself; vLLM only runs where the `gpu` extra is installed.
"""

import argparse
import importlib.util
import logging
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from open_r1.eval.arguments import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE, DEFAULT_TOP_P

if TYPE_CHECKING:
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, SFTConfig

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
EVALUATE_SLURM = "slurm/evaluate.slurm"
MAX_MODEL_LENGTH = 32768
GPU_MEMORY_UTILIZATION = 0.8
DTYPE = "bfloat16"
PARALLEL_MODES = ("data", "tensor")
# Models this large do not fit one GPU in bfloat16 with a 32k KV cache: shard them (tensor parallel).
TENSOR_PARALLEL_MIN_PARAMS = 30_000_000_000
GPUS_PER_NODE = 8


UPSTREAM_SUITES = ("lighteval", "extended", "custom")


def register_lighteval_task(
    configs: dict[str, str], eval_suite: str, task_name: str, task_list: str, num_fewshot: int = 0
) -> None:
    """Registers benchmark `task_name` as the lighteval tasks `task_list` (comma-separated names).

    Upstream's signature. Upstream's suites ("lighteval", "extended", and "custom" in older versions) named
    where lighteval found a task; lighteval 0.13 has all of these tasks built in and selects them by name
    alone, so the suite no longer changes the task string. Any other suite is refused rather than ignored:
    local benchmark files run through the `local:<task>` tasks of `open_r1.eval.lighteval_tasks`
    (`--backend accelerate`).
    """
    if eval_suite not in UPSTREAM_SUITES:
        raise ValueError(
            f"benchmark {task_name!r}: eval_suite {eval_suite!r} is not supported; lighteval 0.13 runs built-in "
            f"tasks by name (suites {UPSTREAM_SUITES}), local files through --backend accelerate --data_files"
        )
    tasks = [task.strip() for task in task_list.split(",") if task.strip()]
    if not tasks:
        raise ValueError(f"benchmark {task_name!r}: task_list must name at least one lighteval task")
    configs[task_name] = ",".join(f"{task}|{num_fewshot}" for task in tasks)


LIGHTEVAL_TASKS: dict[str, str] = {}

register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "math_500", "math_500")
register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "aime24", "aime24")
register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "aime25", "aime25")
register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "gpqa:diamond", "gpqa:diamond")
register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "lcb", "lcb:codegeneration")
# Upstream's names for two of them (its recipes say `benchmarks: [lcb_v4]`, its scripts `--benchmarks gpqa`).
register_lighteval_task(LIGHTEVAL_TASKS, "lighteval", "gpqa", "gpqa:diamond")
register_lighteval_task(LIGHTEVAL_TASKS, "extended", "lcb_v4", "lcb:codegeneration_v4")

# The README's pass@1 numbers are estimated from 64 (aime24), 4 (math_500) and 8 (gpqa:diamond) samples
# per problem: pass `num_samples` (NUM_SAMPLES=64) to match them. Only tasks scored with lighteval's
# parametrisable pass@k metric accept it; lcb keeps lighteval's own setting.
SAMPLE_PARAMETRISABLE = {"math_500", "aime24", "aime25", "gpqa:diamond", "gpqa"}


def get_lighteval_tasks() -> list[str]:
    """The benchmark names `make evaluate`, `benchmarks:` in a recipe and scripts/run_benchmarks.py accept."""
    return list(LIGHTEVAL_TASKS)


# Upstream's name for the same list.
SUPPORTED_BENCHMARKS = get_lighteval_tasks()


@dataclass(frozen=True)
class LightevalCommand:
    """A lighteval invocation: argv, extra environment, and a YAML model config to write first (if any)."""

    argv: list[str]
    env: dict[str, str]
    model_config_path: str | None = None
    model_config_yaml: str | None = None
    cwd: str | None = None

    def shell(self) -> str:
        env = " ".join(f"{key}={shlex.quote(value)}" for key, value in self.env.items())
        cd = f"cd {shlex.quote(self.cwd)} && " if self.cwd else ""
        return cd + (env + " " if env else "") + shlex.join(self.argv)


def task_string(benchmark: str, num_samples: int | None = None) -> str:
    """The lighteval task argument of `benchmark`, e.g. `aime24|0` or, with 64 samples, `aime24@k=1@n=64|0`."""
    if benchmark not in LIGHTEVAL_TASKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; supported: {SUPPORTED_BENCHMARKS}")
    tasks = LIGHTEVAL_TASKS[benchmark]
    if num_samples is None:
        return tasks
    if benchmark not in SAMPLE_PARAMETRISABLE:
        raise ValueError(f"benchmark {benchmark!r} fixes its own number of samples; do not pass num_samples")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    # lighteval parametrises a task's pass@k metric with `name@k=..@n=..|fewshot`.
    return ",".join(f"{t.split('|')[0]}@k=1@n={num_samples}|{t.split('|')[1]}" for t in tasks.split(","))


def vllm_model_parameters(
    model: str,
    revision: str | None = None,
    parallel: str | None = None,
    num_gpus: int = 1,
    system_prompt: str | None = None,
    trust_remote_code: bool = False,
) -> dict:
    """The `lighteval vllm` model parameters of the README setting, in command-line order."""
    params: dict = {"model_name": model}
    if revision and revision != "main":
        params["revision"] = revision
    params["dtype"] = DTYPE
    if parallel is not None:
        if parallel not in PARALLEL_MODES:
            raise ValueError(f"PARALLEL must be one of {PARALLEL_MODES}, got {parallel!r}")
        if num_gpus < 1:
            raise ValueError(f"NUM_GPUS must be a positive number of GPUs, got {num_gpus!r}")
        params[f"{parallel}_parallel_size"] = num_gpus
    params["max_model_length"] = MAX_MODEL_LENGTH
    params["gpu_memory_utilization"] = GPU_MEMORY_UTILIZATION
    if trust_remote_code:
        params["trust_remote_code"] = True
    params["override_chat_template"] = True
    if system_prompt:
        params["system_prompt"] = system_prompt
    params["generation_parameters"] = {
        "max_new_tokens": DEFAULT_MAX_NEW_TOKENS,
        "temperature": DEFAULT_TEMPERATURE,
        "top_p": DEFAULT_TOP_P,
    }
    return params


def _inline_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_inline_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def fits_inline(params: dict) -> bool:
    """Whether lighteval's `key=value,...` parser would read every value back unchanged."""
    return all(not any(c in str(v) for c in ",\n{}") for k, v in params.items() if k != "generation_parameters")


def inline_model_args(params: dict) -> str:
    if not fits_inline(params):
        raise ValueError("a model parameter contains ',', '{', '}' or a newline; pass it through a YAML model config")
    return ",".join(f"{key}={_inline_value(value)}" for key, value in params.items())


def default_output_dir(model: str) -> str:
    return f"data/evals/{model.strip('/')}"


def build_lighteval_command(
    model: str,
    benchmark: str,
    *,
    revision: str | None = None,
    parallel: str | None = None,
    num_gpus: int = 1,
    system_prompt: str | None = None,
    trust_remote_code: bool = False,
    num_samples: int | None = None,
    output_dir: str | None = None,
    max_samples: int | None = None,
) -> LightevalCommand:
    """The `lighteval vllm` command that evaluates `model` on `benchmark` (see the module docstring)."""
    output_dir = output_dir or default_output_dir(model)
    params = vllm_model_parameters(model, revision, parallel, num_gpus, system_prompt, trust_remote_code)
    model_config_path = model_config_yaml = None
    if fits_inline(params):
        model_spec = inline_model_args(params)
    else:
        import yaml

        model_config_path = f"{output_dir}/model_config.yaml"
        model_config_yaml = yaml.safe_dump({"model_parameters": params}, sort_keys=False, allow_unicode=True)
        model_spec = model_config_path
    argv = ["lighteval", "vllm", model_spec, task_string(benchmark, num_samples)]
    argv += ["--output-dir", output_dir, "--save-details"]
    if max_samples is not None:
        argv += ["--max-samples", str(max_samples)]
    # vLLM's tensor-parallel workers must not fork a process that already initialised CUDA.
    env = {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"} if parallel == "tensor" else {}
    return LightevalCommand(argv, env, model_config_path, model_config_yaml)


LOCAL_TASKS_MODULE = "src/open_r1/eval/lighteval_tasks.py"


def _check_model_samples(model: str, num_samples: int) -> None:
    # lighteval 0.13's transformers backend never sets do_sample itself: it samples only when the
    # model's generation_config.json says do_sample=true, and otherwise decodes greedily whatever the
    # temperature (n > 1 then fails inside generate()). Refuse rather than report a greedy score as sampled.
    from transformers import GenerationConfig

    try:
        do_sample = GenerationConfig.from_pretrained(model).do_sample
    except OSError:
        do_sample = False
    if not do_sample:
        raise ValueError(
            f"{model}: its generation_config.json does not set do_sample=true, so lighteval's accelerate backend "
            f"would decode greedily instead of sampling {num_samples} completion(s) at temperature "
            f"{DEFAULT_TEMPERATURE}; set it there, or use BACKEND=cpu "
            "(python -m open_r1.evaluate), which samples itself"
        )


def build_lighteval_cpu_command(
    model: str,
    task: str,
    data_files: str,
    *,
    num_samples: int | None = None,
    max_new_tokens: int | None = None,
    max_samples: int | None = None,
    output_dir: str | None = None,
    batch_size: int = 4,
) -> LightevalCommand:
    """`lighteval accelerate` on CPU for a local benchmark file, through the `local:<task>` custom task."""
    if not Path(data_files).is_file():
        raise FileNotFoundError(f"DATA={data_files}: no such benchmark file (JSONL with id, problem, answer)")
    if num_samples is not None and num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    _check_model_samples(model, num_samples or 1)
    output_dir = os.path.abspath(output_dir or default_output_dir(model))
    cwd = None
    if Path(model).is_dir():
        # lighteval writes its sample cache to <cache_dir>/<model_name> and results to
        # <output_dir>/results/<model_name>: an absolute model path (or one with "..") would land
        # them inside or beside the model folder. Run from the folder's parent and name it alone.
        cwd, model = str(Path(model).resolve().parent), Path(model).resolve().name
    generation = {
        "max_new_tokens": max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
        "temperature": DEFAULT_TEMPERATURE,
        "top_p": DEFAULT_TOP_P,
    }
    params = {"model_name": model, "device": "cpu", "dtype": "float32", "batch_size": batch_size}
    model_args = inline_model_args({**params, "generation_parameters": generation})
    task_arg = f"local:{task}" + (f"@k=1@n={num_samples}" if num_samples else "") + "|0"
    argv = ["lighteval", "accelerate", model_args, task_arg, "--custom-tasks", str(REPO_ROOT / LOCAL_TASKS_MODULE)]
    argv += ["--output-dir", output_dir, "--save-details"]
    if max_samples is not None:
        argv += ["--max-samples", str(max_samples)]
    return LightevalCommand(argv, {"OPEN_R1_EVAL_DATA": f"{task}={Path(data_files).resolve()}"}, cwd=cwd)


def run_lighteval_command(command: LightevalCommand) -> int:
    """Runs `command` (writing its YAML model config first); returns lighteval's exit status."""
    if command.model_config_path is not None:
        Path(command.model_config_path).parent.mkdir(parents=True, exist_ok=True)
        Path(command.model_config_path).write_text(command.model_config_yaml, encoding="utf-8")
    if command.argv[1] == "vllm" and importlib.util.find_spec("vllm") is None:
        logger.error(
            "lighteval's vLLM backend needs vllm, which is in the `gpu` extra (`pip install -e '.[gpu]'` on an "
            "NVIDIA machine). On a CPU use the offline path: make evaluate BACKEND=cpu DATA=<benchmark.jsonl>."
        )
        return 1
    return subprocess.run(command.argv, env={**os.environ, **command.env}, cwd=command.cwd, check=False).returncode


# --------------------------------------------------------------------------------------------------
# Launching evaluations of pushed checkpoints on Slurm
# --------------------------------------------------------------------------------------------------


def gpus_for_tensor_parallel(num_attention_heads: int, max_gpus: int = GPUS_PER_NODE) -> int:
    """The most GPUs (<= max_gpus) for vLLM tensor parallelism: it must divide the attention heads and 64."""
    return max(g for g in range(1, max_gpus + 1) if num_attention_heads % g == 0 and 64 % g == 0)


def evaluation_resources(model: str, revision: str | None, trust_remote_code: bool = False) -> tuple[str, int]:
    """(parallel mode, GPU count) for `model`: tensor parallel for models of 30B parameters or more."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model, revision=revision, trust_remote_code=trust_remote_code)
    num_params = parameter_count(model, revision)
    if num_params >= TENSOR_PARALLEL_MIN_PARAMS:
        return "tensor", gpus_for_tensor_parallel(config.num_attention_heads)
    return "data", GPUS_PER_NODE


class ModelSizeUnknownError(RuntimeError):
    """The model's parameter count could not be read, so its evaluation parallelism cannot be chosen."""


def parameter_count(model: str, revision: str | None = None) -> int:
    """Parameters of `model`, from its safetensors index (total bytes / 2 for bfloat16).

    A checkpoint without an index is a single file, so a small model: its size is read from the file. Any
    other failure (Hub unreachable, no access, no such revision) raises: reading it as "small" would launch
    a 70B model data-parallel, one copy per GPU.
    """
    import json

    local = Path(model)
    if local.is_dir():
        index = local / "model.safetensors.index.json"
        if index.is_file():
            return json.loads(index.read_text())["metadata"]["total_size"] // 2
        weights = sorted(local.glob("*.safetensors"))
        if not weights:
            raise ModelSizeUnknownError(f"{model}: no model.safetensors.index.json and no *.safetensors file")
        return sum(path.stat().st_size for path in weights) // 2
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        index_path = hf_hub_download(model, "model.safetensors.index.json", revision=revision)
        return json.loads(Path(index_path).read_text())["metadata"]["total_size"] // 2
    except EntryNotFoundError:
        pass  # a single-file checkpoint: its size is in the repository's file list
    except Exception as error:
        raise ModelSizeUnknownError(
            f"could not read the size of {model} (revision {revision}) to choose data or tensor parallelism: "
            f"{type(error).__name__}: {error}. Evaluate it with an explicit choice instead: "
            f"python -m open_r1.eval.lighteval_jobs --model {model} --benchmark <name> --parallel tensor --num_gpus 8"
        ) from error
    try:
        info = HfApi().model_info(model, revision=revision, files_metadata=True)
    except Exception as error:
        raise ModelSizeUnknownError(f"could not list the files of {model} (revision {revision}): {error}") from error
    return sum(sibling.size or 0 for sibling in info.siblings if sibling.rfilename.endswith(".safetensors")) // 2


def _submission_env() -> dict[str, str]:
    # sbatch called from inside a training job inherits that job's SLURM_* variables (task counts,
    # GPU binding), which would shape the evaluation job like the training job; drop them.
    return {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}


def sbatch_command(
    benchmark: str,
    model: str,
    revision: str | None,
    parallel: str,
    num_gpus: int,
    trust_remote_code: bool = False,
    system_prompt: str | None = None,
) -> list[str]:
    """The `sbatch slurm/evaluate.slurm ...` command that evaluates one benchmark."""
    if benchmark not in LIGHTEVAL_TASKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; supported: {SUPPORTED_BENCHMARKS}")
    job_name = f"or1_{benchmark.replace(':', '_')}_{model.rstrip('/').split('/')[-1]}_{revision or 'main'}"
    return [
        "sbatch",
        f"--gres=gpu:{num_gpus}",
        f"--job-name={job_name}",
        EVALUATE_SLURM,
        benchmark,
        model,
        revision or "main",
        parallel,
        str(num_gpus),
        str(bool(trust_remote_code)).lower(),
        system_prompt or "",
    ]


def run_benchmark_jobs(training_args: Union["SFTConfig", "GRPOConfig"], model_args: "ModelConfig") -> None:
    """Submits one Slurm evaluation job per benchmark of `training_args.benchmarks` for the pushed model."""
    benchmarks = list(training_args.benchmarks)
    if benchmarks == ["all"]:
        benchmarks = get_lighteval_tasks()
    unknown = [b for b in benchmarks if b not in LIGHTEVAL_TASKS]
    if unknown:
        raise ValueError(
            f"training_args.benchmarks: unknown benchmark(s) {unknown}; supported: {SUPPORTED_BENCHMARKS}"
        )
    if not benchmarks:
        return
    model = training_args.hub_model_id
    if not model:
        raise ValueError("training_args.hub_model_id is required to evaluate pushed checkpoints")
    resources = evaluation_resources(model, training_args.hub_model_revision, model_args.trust_remote_code)
    for benchmark in benchmarks:
        run_lighteval_job(benchmark, training_args, model_args, resources=resources)


def run_lighteval_job(
    benchmark: str,
    training_args: Union["SFTConfig", "GRPOConfig"],
    model_args: "ModelConfig",
    resources: tuple[str, int] | None = None,
) -> None:
    """Submits the Slurm job that evaluates `benchmark` on `training_args.hub_model_id@hub_model_revision`.

    `resources`: (parallel mode, GPU count) when already known (`run_benchmark_jobs` reads them once for all
    benchmarks); otherwise read from the model as `evaluation_resources` does."""
    model = training_args.hub_model_id
    if not model:
        raise ValueError("training_args.hub_model_id is required to evaluate pushed checkpoints")
    revision = training_args.hub_model_revision
    parallel, num_gpus = resources or evaluation_resources(model, revision, model_args.trust_remote_code)
    command = sbatch_command(
        benchmark, model, revision, parallel, num_gpus, model_args.trust_remote_code, training_args.system_prompt
    )
    logger.info("Launching benchmark %s: %s", benchmark, shlex.join(command))
    subprocess.run(command, check=True, cwd=REPO_ROOT, env=_submission_env())


# --------------------------------------------------------------------------------------------------
# Command line (used by `make evaluate` and slurm/evaluate.slurm)
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Evaluate a model with lighteval (vLLM on GPUs, or accelerate on CPU)."
    )
    parser.add_argument("--model", required=True, help="Hub id or local folder of the model")
    parser.add_argument(
        "--benchmark", required=True, help=f"one of {SUPPORTED_BENCHMARKS} (vllm), any name (accelerate)"
    )
    parser.add_argument("--backend", default="vllm", choices=("vllm", "accelerate"))
    parser.add_argument("--data_files", default=None, help="accelerate: local benchmark JSONL (id, problem, answer)")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--parallel", default=None, choices=PARALLEL_MODES)
    parser.add_argument("--num_gpus", type=int, default=1)
    parser.add_argument("--system_prompt", default=None)
    parser.add_argument("--trust_remote_code", action="store_true")
    parser.add_argument("--num_samples", type=int, default=None, help="samples per problem for pass@1 (@n=)")
    parser.add_argument("--max_samples", type=int, default=None, help="evaluate only the first N problems")
    parser.add_argument("--max_new_tokens", type=int, default=None, help="accelerate: generation budget")
    parser.add_argument("--output_dir", default=None, help="default: data/evals/<model>")
    parser.add_argument("--dry_run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    if args.parallel is None and args.num_gpus != 1:
        parser.error("--num_gpus needs --parallel data or --parallel tensor")
    if args.backend == "accelerate":
        if args.data_files is None:
            parser.error("--backend accelerate evaluates a local file: pass --data_files <benchmark.jsonl>")
        command = build_lighteval_cpu_command(
            args.model,
            args.benchmark,
            args.data_files,
            num_samples=args.num_samples,
            max_new_tokens=args.max_new_tokens,
            max_samples=args.max_samples,
            output_dir=args.output_dir,
        )
    else:
        if args.benchmark not in LIGHTEVAL_TASKS:
            parser.error(f"unknown benchmark {args.benchmark!r}; supported: {SUPPORTED_BENCHMARKS}")
        command = build_lighteval_command(
            args.model,
            args.benchmark,
            revision=args.revision,
            parallel=args.parallel,
            num_gpus=args.num_gpus,
            system_prompt=args.system_prompt or None,
            trust_remote_code=args.trust_remote_code,
            num_samples=args.num_samples,
            output_dir=args.output_dir,
            max_samples=args.max_samples,
        )
    if command.model_config_path is not None:
        config_lines = "".join(f"#   {line}\n" for line in command.model_config_yaml.splitlines())
        print(f"# {command.model_config_path}:\n{config_lines}")
    print(command.shell(), flush=True)
    if args.dry_run:
        return 0
    return run_lighteval_command(command)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
