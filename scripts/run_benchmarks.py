"""Submits Slurm evaluation jobs (slurm/evaluate.slurm) for a model, one per benchmark.

    python scripts/run_benchmarks.py --model-id deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B --benchmarks aime24 math_500
    python scripts/run_benchmarks.py --model-id org/model --model-revision v01.00-step-000100 --benchmarks all
    python scripts/run_benchmarks.py --list-benchmarks
    python scripts/run_benchmarks.py --model-id data/my-model --benchmarks math_500 --dry-run   # print, don't submit

It goes through `open_r1.eval.slurm_jobs.run_benchmark_jobs`, the launcher the training callbacks
call after a push, so a manual launch and an automatic one submit identical jobs (GPU count and
data/tensor parallelism chosen from the model's size). Needs `sbatch` on PATH.
Not covered: evaluating without Slurm (`make evaluate`) or without a GPU (`python -m open_r1.evaluate`).
"""

import shutil
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

from open_r1.eval.benchmark_registry import SUPPORTED_BENCHMARKS, resolve_benchmarks
from open_r1.eval.slurm_jobs import SubmissionError, run_benchmark_jobs
from open_r1.hub_access import check_references
from open_r1.usage import UsageError, dataclass_parser, exit_on_usage_error, looks_local


@dataclass
class RunBenchmarksArguments:
    model_id: Optional[str] = field(default=None, metadata={"help": "Hub id of the model to evaluate."})
    model_revision: str = field(default="main", metadata={"help": "Hub revision (branch) of the model."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Trust the model repository's code."})
    benchmarks: list[str] = field(
        default_factory=list, metadata={"help": f"Benchmarks to run, or 'all'. Supported: {SUPPORTED_BENCHMARKS}"}
    )
    system_prompt: Optional[str] = field(default=None, metadata={"help": "System prompt for every problem."})
    list_benchmarks: bool = field(default=False, metadata={"help": "Print the supported benchmarks and exit."})
    dry_run: bool = field(default=False, metadata={"help": "Print the sbatch commands instead of submitting them."})


def main(argv: list[str] | None = None) -> int:
    (args,) = dataclass_parser(RunBenchmarksArguments, prog="run_benchmarks.py").parse_args_into_dataclasses(args=argv)
    if args.list_benchmarks:
        print("\n".join(SUPPORTED_BENCHMARKS))
        return 0
    if not args.model_id or not args.benchmarks:
        raise UsageError("--model-id and --benchmarks are required (or --list-benchmarks)")
    # Each mistake now, before the Hub is asked for the model's size.
    resolve_benchmarks(args.benchmarks, "--benchmarks")
    # A local path must exist; a Hub id is asked for once, in seconds (reading its size retried for half a minute).
    check_references([("--model-id", args.model_id, "model")])
    if looks_local(args.model_id) and args.model_revision != "main":
        raise UsageError(
            f"--model-revision {args.model_revision}: {args.model_id} is a local folder, which has no revisions; "
            "name the revision's Hub id, or leave --model-revision out"
        )
    if shutil.which("sbatch") is None and not args.dry_run:
        raise UsageError("sbatch is not on PATH: this script submits Slurm jobs; without Slurm, use make evaluate")
    # run_benchmark_jobs reads the fields the training configs carry.
    training_args = SimpleNamespace(
        hub_model_id=args.model_id,
        hub_model_revision=args.model_revision,
        benchmarks=args.benchmarks,
        system_prompt=args.system_prompt,
    )
    try:
        run_benchmark_jobs(training_args, SimpleNamespace(trust_remote_code=args.trust_remote_code), args.dry_run)
    except SubmissionError as error:
        # A partition sbatch cannot use is the usual one here: slurm/cluster.env sets it for sbatch.
        hint = " (slurm/cluster.env: set OPEN_R1_PARTITION, then `source slurm/cluster.env`)"
        raise UsageError(f"{error}{hint if 'partition' in str(error).lower() else ''}") from None
    return 0


if __name__ == "__main__":
    with exit_on_usage_error("run_benchmarks.py"):
        sys.exit(main(sys.argv[1:]))
