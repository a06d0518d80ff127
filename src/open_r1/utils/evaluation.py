"""Upstream open-r1's path for the evaluation launcher; the code lives in `open_r1.eval.lighteval_jobs`.

python -m open_r1.utils.evaluation --model <id or path> --benchmark aime24 --dry_run   # as upstream
"""

import logging
import sys

from open_r1.eval.lighteval_jobs import (
    LIGHTEVAL_TASKS,
    SUPPORTED_BENCHMARKS,
    LightevalCommand,
    ModelSizeUnknownError,
    build_lighteval_command,
    build_lighteval_cpu_command,
    evaluation_resources,
    get_lighteval_tasks,
    main,
    register_lighteval_task,
    run_benchmark_jobs,
    run_lighteval_command,
    task_string,
)

__all__ = [
    "LIGHTEVAL_TASKS",
    "SUPPORTED_BENCHMARKS",
    "LightevalCommand",
    "ModelSizeUnknownError",
    "build_lighteval_command",
    "build_lighteval_cpu_command",
    "evaluation_resources",
    "get_lighteval_tasks",
    "main",
    "register_lighteval_task",
    "run_benchmark_jobs",
    "run_lighteval_command",
    "task_string",
]

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
