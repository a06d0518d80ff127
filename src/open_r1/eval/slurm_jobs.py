"""Slurm evaluation jobs for pushed checkpoints: one `sbatch slurm/evaluate.slurm` per benchmark, sized to the model.

    from open_r1.eval.slurm_jobs import run_benchmark_jobs
    run_benchmark_jobs(training_args, model_args)   # what the SFT/GRPO push callbacks call

`run_benchmark_jobs` submits one job per benchmark of `training_args.benchmarks` ("all" for every registered
one) for `hub_model_id@hub_model_revision`; the job runs `python -m open_r1.eval.lighteval_jobs` on a node.
Models of 30B parameters or more are sharded with tensor parallelism over the GPUs that divide their attention
heads; smaller ones run data-parallel over a node's 8 GPUs. The parameter count is read from the safetensors
weights (`parameter_count`, also behind upstream's `get_param_count_from_repo_id`); when it cannot be read the
job is not submitted, and a job sbatch refuses is a `SubmissionError` with sbatch's reason. Upstream's `run_benchmark_jobs` / `run_lighteval_job` are re-exported at
`open_r1.utils.evaluation`.

Not covered: the lighteval command itself (`open_r1.eval.lighteval_command`), schedulers other than Slurm.
"""

import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Union

from open_r1.eval.benchmark_registry import check_benchmark, resolve_benchmarks
from open_r1.utils.launch import REPO_ROOT

if TYPE_CHECKING:
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, SFTConfig

logger = logging.getLogger(__name__)

EVALUATE_SLURM = "slurm/evaluate.slurm"
# Models this large do not fit one GPU in bfloat16 with a 32k KV cache: shard them (tensor parallel).
TENSOR_PARALLEL_MIN_PARAMS = 30_000_000_000
GPUS_PER_NODE = 8


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


# The SLURM_* variables that say which cluster sbatch talks to, not the shape of the job it runs in.
SLURM_CLUSTER_VARIABLES = ("SLURM_CONF", "SLURM_CLUSTERS")


def _submission_env() -> dict[str, str]:
    # sbatch called from inside a training job inherits that job's SLURM_* variables (task counts,
    # GPU binding), which would shape the evaluation job like the training job; drop them, but keep where the
    # cluster's configuration is (without SLURM_CONF, where a cluster relies on it, sbatch cannot submit at all).
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLURM_") or key in SLURM_CLUSTER_VARIABLES
    }


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
    check_benchmark(benchmark)
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
        *([] if system_prompt is None else [system_prompt]),  # "" too: an empty system turn, as training's
    ]


class SubmissionError(RuntimeError):
    """sbatch refused an evaluation job (no default partition, an unknown account, ...); its last line says why."""


def run_benchmark_jobs(
    training_args: Union["SFTConfig", "GRPOConfig"], model_args: "ModelConfig", dry_run: bool = False
) -> None:
    """Submits one Slurm evaluation job per benchmark of `training_args.benchmarks` for the pushed model; with
    `dry_run`, prints each sbatch command instead."""
    benchmarks = resolve_benchmarks(training_args.benchmarks)
    if not benchmarks:
        return
    model = training_args.hub_model_id
    if not model:
        raise ValueError("training_args.hub_model_id is required to evaluate pushed checkpoints")
    resources = evaluation_resources(model, training_args.hub_model_revision, model_args.trust_remote_code)
    for benchmark in benchmarks:
        run_lighteval_job(benchmark, training_args, model_args, resources=resources, dry_run=dry_run)


def run_lighteval_job(
    benchmark: str,
    training_args: Union["SFTConfig", "GRPOConfig"],
    model_args: "ModelConfig",
    resources: tuple[str, int] | None = None,
    dry_run: bool = False,
) -> None:
    """Submits the Slurm job that evaluates `benchmark` on `training_args.hub_model_id@hub_model_revision` (with
    `dry_run`, prints its sbatch command instead).

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
    if dry_run:
        print(shlex.join(command), flush=True)
        return
    logger.info("Launching benchmark %s: %s", benchmark, shlex.join(command))
    # evaluate.slurm logs there; Slurm does not create it, and a job without its log folder dies without a word.
    (REPO_ROOT / "logs" / "evaluate").mkdir(parents=True, exist_ok=True)
    # sbatch's own line ("Submitted batch job N") goes to the terminal; its complaint becomes the error's message.
    submitted = subprocess.run(command, cwd=REPO_ROOT, env=_submission_env(), stderr=subprocess.PIPE, text=True)
    if submitted.returncode != 0:
        said = submitted.stderr.strip().splitlines()
        raise SubmissionError(
            f"sbatch did not submit the {benchmark} evaluation (exit status {submitted.returncode}): "
            f"{said[-1] if said else 'it printed nothing'}"
        )
    if submitted.stderr:
        sys.stderr.write(submitted.stderr)
