"""Specification of the benchmark registry (open_r1.eval.benchmark_registry): names, lighteval task strings, and
upstream's registration function and names."""

import pytest

from open_r1.eval import benchmark_registry
from open_r1.eval.benchmark_registry import (
    SUPPORTED_BENCHMARKS,
    benchmark_datasets,
    register_lighteval_task,
    task_string,
)


def test_every_registered_task_string_resolves_in_lighteval_with_the_requested_samples():
    from lighteval.tasks.registry import Registry

    for benchmark in SUPPORTED_BENCHMARKS:
        Registry(tasks=task_string(benchmark))  # raises on an unknown task or a malformed task string
    tasks = Registry(tasks=task_string("aime24", num_samples=64)).load_tasks()
    assert [task.num_samples for task in tasks.values()] == [[1, 64, 64]]


def test_task_strings_and_their_errors():
    assert task_string("math_500") == "math_500|0"
    assert task_string("math_500", num_samples=4) == "math_500@k=1@n=4|0"
    with pytest.raises(ValueError, match="fixes its own number of samples"):
        task_string("lcb", num_samples=16)
    with pytest.raises(ValueError, match="unknown benchmark 'mmlu'"):
        task_string("mmlu")


def test_register_lighteval_task_formats_each_task_with_its_fewshot_count():
    configs: dict[str, str] = {}
    register_lighteval_task(configs, "lighteval", "both", "aime24,aime25", num_fewshot=2)
    assert configs == {"both": "aime24|2,aime25|2"}
    with pytest.raises(ValueError, match="at least one lighteval task"):
        register_lighteval_task(configs, "lighteval", "none", " , ")


def test_an_unknown_lighteval_suite_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match="eval_suite 'mine' is not supported"):
        benchmark_registry.register_lighteval_task({}, "mine", "mine", "mine")


@pytest.mark.parametrize("suite", ["lighteval", "extended", "custom"])
def test_upstreams_suites_register_lighteval_013_task_names(suite):
    tasks = {}
    benchmark_registry.register_lighteval_task(tasks, suite, "lcb_v4", "lcb:codegeneration_v4")
    assert tasks == {"lcb_v4": "lcb:codegeneration_v4|0"}


@pytest.mark.parametrize("name, task", [("gpqa", "gpqa:diamond|0"), ("lcb_v4", "lcb:codegeneration_v4|0")])
def test_upstreams_benchmark_names_are_accepted(name, task):
    assert name in benchmark_registry.get_lighteval_tasks()
    assert benchmark_registry.task_string(name) == task


def test_upstreams_module_path_still_serves_the_launcher():
    import open_r1.utils.evaluation as upstream_path
    from open_r1.eval import slurm_jobs

    for name in ("register_lighteval_task", "get_lighteval_tasks", "SUPPORTED_BENCHMARKS", "LIGHTEVAL_TASKS"):
        assert getattr(upstream_path, name) is getattr(benchmark_registry, name), name
    for name in ("run_benchmark_jobs", "run_lighteval_job"):
        assert getattr(upstream_path, name) is getattr(slurm_jobs, name), name


def test_each_benchmarks_datasets_are_the_ones_lighteval_loads_for_its_tasks():
    from lighteval.tasks.registry import Registry

    for benchmark in SUPPORTED_BENCHMARKS:
        configs = Registry(tasks=task_string(benchmark)).task_to_configs.values()
        assert benchmark_datasets(benchmark) == sorted({config.hf_repo for task in configs for config in task})
