"""The benchmarks this project evaluates with lighteval: benchmark name -> lighteval task string.

    from open_r1.eval.benchmark_registry import SUPPORTED_BENCHMARKS, task_string
    task_string("aime24")                   # 'aime24|0'
    task_string("aime24", num_samples=64)   # 'aime24@k=1@n=64|0', pass@1 estimated from 64 samples

`make evaluate TASK=...`, a recipe's `benchmarks:` and scripts/run_benchmarks.py accept these names; upstream's
`register_lighteval_task` / `LIGHTEVAL_TASKS` / `SUPPORTED_BENCHMARKS` (re-exported at `open_r1.utils.evaluation`)
are this registry. Task strings are in lighteval 0.13's syntax: `task|fewshot` (`aime24|0`); the older
`suite|task|fewshot|0` no longer parses.

Not covered: local benchmark files (the `local:<task>` tasks of `open_r1.eval.lighteval_tasks`), the command
lines (`open_r1.eval.lighteval_command`), Slurm jobs (`open_r1.eval.slurm_jobs`).
"""

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

# The Hub dataset each lighteval task above loads (the hf_repo of lighteval 0.13's task config; a test compares them
# with lighteval's registry), so that a run can be refused in one line where the Hub cannot give it (hub_access).
LIGHTEVAL_DATASETS = {
    "math_500": "HuggingFaceH4/MATH-500",
    "aime24": "HuggingFaceH4/aime_2024",
    "aime25": "yentinglin/aime_2025",
    "gpqa:diamond": "Idavidrein/gpqa",
    "lcb:codegeneration": "lighteval/code_generation_lite",
    "lcb:codegeneration_v4": "lighteval/code_generation_lite",
}


def benchmark_datasets(benchmark: str) -> list[str]:
    """The Hub datasets lighteval loads to run `benchmark`, of the tasks whose dataset `LIGHTEVAL_DATASETS` knows."""
    tasks = [task.split("|")[0] for task in LIGHTEVAL_TASKS[benchmark].split(",")]
    return sorted({LIGHTEVAL_DATASETS[task] for task in tasks if task in LIGHTEVAL_DATASETS})


# Upstream open-r1's README pass@1 numbers are estimated from 64 (aime24), 4 (math_500) and 8 (gpqa:diamond) samples
# per problem: pass `num_samples` (NUM_SAMPLES=64) to match them. Only tasks scored with lighteval's
# parametrisable pass@k metric accept it; lcb keeps lighteval's own setting.
SAMPLE_PARAMETRISABLE = {"math_500", "aime24", "aime25", "gpqa:diamond", "gpqa"}


def get_lighteval_tasks() -> list[str]:
    """The benchmark names `make evaluate`, `benchmarks:` in a recipe and scripts/run_benchmarks.py accept."""
    return list(LIGHTEVAL_TASKS)


# Upstream's name for the same list.
SUPPORTED_BENCHMARKS = get_lighteval_tasks()


def check_benchmark(name: str, option: str = "benchmark", or_all: bool = False) -> None:
    """A one-line `UsageError` naming `option` where `name` is not a registered benchmark, with the close known
    names; `or_all`: the option also takes `all`."""
    from open_r1.usage import UsageError, did_you_mean

    if name not in LIGHTEVAL_TASKS:
        raise UsageError(
            f"{option}: unknown benchmark {name!r}{did_you_mean(name, LIGHTEVAL_TASKS)}; supported: "
            f"{', '.join(SUPPORTED_BENCHMARKS)}{' or all' if or_all else ''}"
        )


def resolve_benchmarks(names: str | list[str], option: str = "benchmarks") -> list[str]:
    """`names` as a list (`all` stands for every benchmark); a name that is not registered is a one-line
    `UsageError` naming `option`, with the close known names."""
    names = [names] if isinstance(names, str) else list(names)
    if names == ["all"]:
        return get_lighteval_tasks()
    for name in names:
        check_benchmark(name, option, or_all=True)
    return names


def task_string(benchmark: str, num_samples: int | None = None) -> str:
    """The lighteval task argument of `benchmark`, e.g. `aime24|0` or, with 64 samples, `aime24@k=1@n=64|0`; a
    sample count the benchmark cannot take is a one-line `UsageError` (`make evaluate` prints it, no traceback)."""
    from open_r1.usage import UsageError

    check_benchmark(benchmark)
    tasks = LIGHTEVAL_TASKS[benchmark]
    if num_samples is None:
        return tasks
    if benchmark not in SAMPLE_PARAMETRISABLE:
        raise UsageError(
            f"num_samples {num_samples}: benchmark {benchmark!r} fixes its own number of samples (lighteval's "
            f"metric for it takes none); drop it, or pick one of {', '.join(sorted(SAMPLE_PARAMETRISABLE))}"
        )
    if num_samples < 1:
        raise UsageError(f"num_samples must be >= 1, got {num_samples}")
    # lighteval parametrises a task's pass@k metric with `name@k=..@n=..|fewshot`.
    return ",".join(f"{t.split('|')[0]}@k=1@n={num_samples}|{t.split('|')[1]}" for t in tasks.split(","))
