"""`make evaluate` and slurm/evaluate.slurm's command line: build a lighteval command, print it, run it.

    make evaluate MODEL=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B TASK=aime24 PARALLEL=data NUM_GPUS=8
    python -m open_r1.eval.lighteval_jobs --model <id or path> --benchmark aime24 --dry_run   # print the command
    python -m open_r1.eval.lighteval_jobs --backend accelerate --model <folder> --benchmark toy \
        --data_files bench.jsonl --dry_run                                                   # CPU, a local file

The benchmark names are `open_r1.eval.benchmark_registry`'s; the commands are built by
`open_r1.eval.lighteval_command` (vLLM on GPUs, accelerate on CPU for a local file). Slurm submission of
evaluations of pushed checkpoints is `open_r1.eval.slurm_jobs`. Not covered: the offline evaluator
(`python -m open_r1.evaluate`, `make evaluate BACKEND=cpu`).
"""

import sys

from open_r1.eval.benchmark_registry import LIGHTEVAL_TASKS, SUPPORTED_BENCHMARKS, benchmark_datasets, check_benchmark
from open_r1.eval.lighteval_command import (
    PARALLEL_MODES,
    build_lighteval_command,
    build_lighteval_cpu_command,
    run_lighteval_command,
)
from open_r1.eval.slurm_jobs import GPUS_PER_NODE
from open_r1.hub_access import check_references
from open_r1.usage import ArgumentParser, check_local_path, check_output_folder, system_prompt_text
from open_r1.utils.logs import configure_logging

# Each backend's own options.
VLLM_ONLY = ("revision", "parallel", "num_gpus", "system_prompt", "trust_remote_code")
ACCELERATE_ONLY = ("data_files", "max_new_tokens", "num_fewshot", "fewshot_file")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description="Evaluate a model with lighteval (vLLM on GPUs, or accelerate on CPU).")
    parser.add_argument("--model", required=True, help="Hub id or local folder of the model")
    parser.add_argument(
        "--benchmark", required=True, help=f"one of {SUPPORTED_BENCHMARKS} (vllm), any name (accelerate)"
    )
    parser.add_argument(
        "--backend", default="vllm", choices=("vllm", "accelerate"), help="vllm on GPUs, accelerate on a CPU"
    )
    parser.add_argument("--data_files", default=None, help="accelerate: local benchmark JSONL (id, problem, answer)")
    parser.add_argument("--revision", default=None, help="model revision (Hub models)")
    parser.add_argument(
        "--parallel",
        default=None,
        choices=PARALLEL_MODES,
        help="vllm: spread --num_gpus by data or tensor parallelism",
    )
    parser.add_argument(
        "--num_gpus",
        type=int,
        default=None,
        help=f"vllm: GPUs --parallel spreads over (default: a node's {GPUS_PER_NODE}, as make evaluate; 1 without it); "
        "under tensor parallelism it must divide the model's attention heads",
    )
    parser.add_argument(
        "--system_prompt", default=None, help="system turn before each problem, or a .txt/.md file holding it"
    )
    parser.add_argument("--trust_remote_code", action="store_true", help="run the model repository's own code")
    parser.add_argument("--num_samples", type=int, default=None, help="samples per problem for pass@1 (@n=)")
    parser.add_argument(
        "--max_samples", type=int, default=None, help="evaluate N problems, drawn by lighteval (shuffled, seed 42)"
    )
    parser.add_argument("--max_new_tokens", type=int, default=None, help="accelerate: generation budget")
    parser.add_argument(
        "--num_fewshot", type=int, default=0, help="accelerate: shots from --fewshot_file (GSM8K protocol, greedy)"
    )
    parser.add_argument(
        "--fewshot_file", default=None, help="accelerate: JSONL of worked examples (problem, solution)"
    )
    parser.add_argument("--output_dir", default=None, help="default: data/evals/<model>")
    parser.add_argument("--dry_run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    if args.output_dir is not None:
        check_output_folder("--output_dir", args.output_dir)
    for name, least in (
        ("num_gpus", 1),
        ("num_samples", 1),
        ("max_samples", 1),
        ("max_new_tokens", 1),
        ("num_fewshot", 0),
    ):
        value = getattr(args, name)
        if value is not None and value < least:
            parser.error(f"--{name} must be at least {least}, got {value}")
    # A mistyped local folder, or a Hub model or benchmark dataset out of reach, before minutes of Hub retries (a dry
    # run only prints).
    if args.dry_run:
        check_local_path("MODEL", args.model)
    else:
        known = args.backend == "vllm" and args.benchmark in LIGHTEVAL_TASKS
        datasets = benchmark_datasets(args.benchmark) if known else []
        task = f"TASK={args.benchmark}'s dataset (lighteval's; BACKEND=accelerate DATA=<file> runs a local copy)"
        check_references([("MODEL", args.model, "model"), *((task, name, "dataset") for name in datasets)])
    if args.parallel is None and args.num_gpus not in (None, 1):
        parser.error("--num_gpus needs --parallel data or --parallel tensor")
    # Options of the other backend would be silently dropped.
    other_backend = VLLM_ONLY if args.backend == "accelerate" else ACCELERATE_ONLY
    given = [f"--{name}" for name in other_backend if getattr(args, name) != parser.get_default(name)]
    if given:
        parser.error(
            f"{', '.join(given)} {'has' if len(given) == 1 else 'have'} no effect with --backend {args.backend}"
        )
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
            num_fewshot=args.num_fewshot,
            fewshot_file=args.fewshot_file,
        )
    else:
        check_benchmark(args.benchmark, "--benchmark")
        command = build_lighteval_command(
            args.model,
            args.benchmark,
            revision=args.revision,
            parallel=args.parallel,
            num_gpus=args.num_gpus or (GPUS_PER_NODE if args.parallel else 1),
            system_prompt=system_prompt_text(args.system_prompt, "--system_prompt"),
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
    from open_r1.usage import exit_on_usage_error

    configure_logging()
    with exit_on_usage_error("open_r1.eval.lighteval_jobs"):
        sys.exit(main())
