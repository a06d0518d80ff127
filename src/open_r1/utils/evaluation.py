"""Upstream open-r1's path for the evaluation launcher; the code lives in `open_r1.eval`: the benchmark registry
(`benchmark_registry`), the lighteval commands (`lighteval_command`), Slurm jobs (`slurm_jobs`) and the command
line (`lighteval_jobs`).

python -m open_r1.utils.evaluation --model <id or path> --benchmark aime24 --dry_run   # as upstream

Upstream's `VLLM_SLURM_PREFIX` (an `env -i bash -c "... sbatch "` wrapper) has no meaning here: jobs are
submitted with plain `sbatch` and the caller's environment minus its SLURM_* variables (`sbatch_command`), so
reading it raises and says so.

Remove when: no caller imports from upstream's path `open_r1.utils.evaluation`.
"""

import os
import sys

from open_r1.compat.hub import get_gpu_count_for_vllm, get_param_count_from_repo_id
from open_r1.compat.unavailable import unavailable
from open_r1.eval.benchmark_registry import (
    LIGHTEVAL_TASKS,
    SUPPORTED_BENCHMARKS,
    get_lighteval_tasks,
    register_lighteval_task,
    task_string,
)
from open_r1.eval.lighteval_command import (
    LightevalCommand,
    build_lighteval_command,
    build_lighteval_cpu_command,
    run_lighteval_command,
)
from open_r1.eval.lighteval_jobs import main
from open_r1.eval.slurm_jobs import ModelSizeUnknownError, evaluation_resources, run_benchmark_jobs, run_lighteval_job
from open_r1.utils.logs import configure_logging

user_home_directory = os.path.expanduser("~")


def __getattr__(name: str):
    if name == "VLLM_SLURM_PREFIX":
        unavailable(
            "open_r1.utils.evaluation.VLLM_SLURM_PREFIX",
            "evaluation jobs are submitted with plain sbatch and the caller's environment minus SLURM_* variables",
            "open_r1.eval.slurm_jobs.sbatch_command",
        )()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LIGHTEVAL_TASKS",
    "SUPPORTED_BENCHMARKS",
    "LightevalCommand",
    "ModelSizeUnknownError",
    "build_lighteval_command",
    "build_lighteval_cpu_command",
    "evaluation_resources",
    "get_gpu_count_for_vllm",
    "get_lighteval_tasks",
    "get_param_count_from_repo_id",
    "main",
    "register_lighteval_task",
    "run_benchmark_jobs",
    "run_lighteval_command",
    "run_lighteval_job",
    "task_string",
    "user_home_directory",
]

if __name__ == "__main__":
    from open_r1.usage import exit_on_usage_error

    configure_logging()
    with exit_on_usage_error("open_r1.utils.evaluation"):
        sys.exit(main())
