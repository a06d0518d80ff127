"""Upstream open-r1's public names import from their upstream module paths.

UPSTREAM_PUBLIC_NAMES is upstream's public surface at its last commit (1416fa0): every top-level function, class
and constant of its modules (loggers aside) and what its package `__init__`s re-export. A name whose upstream
meaning this project does not have still imports, raises `UpstreamNameUnavailableError` when used, and is listed
in docs/upstream.md with the reason.
"""

import importlib
import inspect

import pytest

from open_r1.compat.unavailable import UpstreamNameUnavailableError
from tests.support import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "upstream.md"

UPSTREAM_PUBLIC_NAMES = {
    "open_r1.configs": [
        "DatasetConfig",
        "DatasetMixtureConfig",
        "ScriptArguments",
        "GRPOConfig",
        "SFTConfig",
        "GRPOScriptArguments",
    ],
    "open_r1.generate": ["build_distilabel_pipeline"],
    "open_r1.grpo": ["main"],
    "open_r1.rewards": [
        "accuracy_reward",
        "format_reward",
        "tag_count_reward",
        "reasoning_steps_reward",
        "len_reward",
        "get_cosine_scaled_reward",
        "get_repetition_penalty_reward",
        "ioi_code_reward",
        "cf_code_reward",
        "extract_code",
        "binary_code_reward",
        "code_reward",
        "get_code_format_reward",
        "get_soft_overlong_punishment",
        "get_reward_funcs",
    ],
    "open_r1.sft": ["main"],
    "open_r1.utils": ["get_dataset", "is_e2b_available", "is_morph_available", "get_model", "get_tokenizer"],
    "open_r1.utils.callbacks": [
        "is_slurm_available",
        "DummyConfig",
        "PushToHubRevisionCallback",
        "CALLBACKS",
        "get_callbacks",
    ],
    "open_r1.utils.code_providers": ["CodeExecutionProvider", "E2BProvider", "MorphProvider", "get_provider"],
    "open_r1.utils.competitive_programming": [
        "score_submission",
        "patch_code",
        "SubtaskResult",
        "score_subtask",
        "score_subtasks",
        "add_includes",
        "get_morph_client_from_env",
        "get_piston_client_from_env",
        "get_slurm_piston_endpoints",
    ],
    "open_r1.utils.competitive_programming.cf_scoring": [
        "score_single_test_case",
        "get_generated_contest_tests",
        "get_generated_tests",
        "score_submission",
    ],
    "open_r1.utils.competitive_programming.code_patcher": [
        "fix_python3_imports",
        "fix_cpp_includes",
        "is_patchable",
        "patch_code",
        "tests",
    ],
    "open_r1.utils.competitive_programming.ioi_scoring": [
        "TestResult",
        "SubtaskResult",
        "score_single_test_case",
        "score_subtask",
        "score_subtasks",
        "run_submission",
        "execute_ioi",
    ],
    "open_r1.utils.competitive_programming.ioi_utils": ["add_includes", "load_ioi_tests_for_year", "load_ioi_tests"],
    "open_r1.utils.competitive_programming.morph_client": [
        "MorphCloudError",
        "MorphCloudExecutionClient",
        "get_morph_client_from_env",
    ],
    "open_r1.utils.competitive_programming.piston_client": [
        "PistonError",
        "get_piston_client_from_env",
        "PistonClient",
        "get_slurm_piston_endpoints",
    ],
    "open_r1.utils.competitive_programming.utils": ["batched"],
    "open_r1.utils.data": ["get_dataset"],
    "open_r1.utils.evaluation": [
        "user_home_directory",
        "VLLM_SLURM_PREFIX",
        "register_lighteval_task",
        "LIGHTEVAL_TASKS",
        "get_lighteval_tasks",
        "SUPPORTED_BENCHMARKS",
        "run_lighteval_job",
        "run_benchmark_jobs",
    ],
    "open_r1.utils.hub": [
        "push_to_hub_revision",
        "check_hub_revision_exists",
        "get_param_count_from_repo_id",
        "get_gpu_count_for_vllm",
    ],
    "open_r1.utils.import_utils": ["is_e2b_available", "is_morph_available"],
    "open_r1.utils.model_utils": ["get_tokenizer", "get_model"],
    "open_r1.utils.routed_morph": ["RoutedMorphSandbox"],
    "open_r1.utils.routed_sandbox": ["RoutedSandbox"],
    "open_r1.utils.wandb_logging": ["init_wandb_training"],
}

# Constants that raise when read (module __getattr__), and callables that raise when called.
UNAVAILABLE_CONSTANTS = {
    ("open_r1.utils.evaluation", "VLLM_SLURM_PREFIX"),
    ("open_r1.utils.competitive_programming.code_patcher", "tests"),
}
UNAVAILABLE_CALLABLES = {
    ("open_r1.utils.routed_sandbox", "RoutedSandbox"),
    ("open_r1.utils.routed_morph", "RoutedMorphSandbox"),
    ("open_r1.utils.competitive_programming.morph_client", "MorphCloudExecutionClient"),
    ("open_r1.utils.competitive_programming.morph_client", "get_morph_client_from_env"),
    ("open_r1.utils.competitive_programming", "get_morph_client_from_env"),
    ("open_r1.utils.competitive_programming.cf_scoring", "score_single_test_case"),
    ("open_r1.utils.competitive_programming.cf_scoring", "score_submission"),
    ("open_r1.utils.competitive_programming", "score_submission"),
    ("open_r1.utils.competitive_programming.code_patcher", "fix_python3_imports"),
    ("open_r1.utils.competitive_programming.code_patcher", "fix_cpp_includes"),
    ("open_r1.utils.competitive_programming.code_patcher", "is_patchable"),
    ("open_r1.utils.competitive_programming.code_patcher", "patch_code"),
    ("open_r1.utils.competitive_programming", "patch_code"),
}
ALL_NAMES = [(module, name) for module, names in UPSTREAM_PUBLIC_NAMES.items() for name in names]


def test_the_list_is_upstreams_whole_public_surface():
    assert len(ALL_NAMES) == 94 and len(set(ALL_NAMES)) == 94
    assert UNAVAILABLE_CONSTANTS | UNAVAILABLE_CALLABLES <= set(ALL_NAMES)


@pytest.mark.parametrize("module, name", sorted(set(ALL_NAMES) - UNAVAILABLE_CONSTANTS))
def test_every_upstream_name_imports_from_its_upstream_module(module, name):
    namespace = {}
    exec(f"from {module} import {name}", namespace)  # the statement upstream users write
    assert namespace[name] is not None


@pytest.mark.parametrize("module, name", sorted(UNAVAILABLE_CONSTANTS))
def test_constants_without_a_meaning_here_raise_when_read_and_say_why(module, name):
    with pytest.raises(UpstreamNameUnavailableError, match=f"{name} is not available in this project: .+Use "):
        getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module, name", sorted(UNAVAILABLE_CALLABLES))
def test_callables_without_a_meaning_here_raise_when_called_and_say_why(module, name):
    unavailable = getattr(importlib.import_module(module), name)
    with pytest.raises(UpstreamNameUnavailableError, match=f"{name} is not available in this project: .+Use "):
        unavailable("anything", keyword="anything")


def test_every_unavailable_name_is_listed_in_docs_upstream():
    docs = DOCS.read_text()
    for _, name in UNAVAILABLE_CONSTANTS | UNAVAILABLE_CALLABLES:
        assert f"`{name}`" in docs, f"docs/upstream.md does not list {name}"


def test_the_other_names_are_real_not_placeholders():
    unavailable = UNAVAILABLE_CONSTANTS | UNAVAILABLE_CALLABLES
    for module, name in set(ALL_NAMES) - unavailable:
        value = getattr(importlib.import_module(module), name)
        if callable(value) and not inspect.isclass(value):
            assert value.__name__ != "raise_unavailable", f"{module}.{name}"


def test_upstream_paths_re_export_the_projects_implementation_not_a_copy():
    from open_r1.rewards import ioi
    from open_r1.sandbox import e2b, factory, piston
    from open_r1.utils.code_providers import E2BProvider
    from open_r1.utils.competitive_programming import ioi_scoring, ioi_utils, piston_client

    assert ioi_scoring.score_subtask is ioi.score_subtask and ioi_scoring.SubtaskResult is ioi.SubtaskResult
    assert ioi_utils.add_includes is ioi.add_includes
    assert piston_client.PistonClient is piston.PistonClient and piston_client.PistonError is piston.PistonError
    assert piston_client.get_slurm_piston_endpoints is piston.slurm_piston_endpoints
    assert E2BProvider is e2b.E2BProvider
    assert "get_provider" in vars(factory)  # the one provider factory; code_providers adapts upstream's keywords


def test_import_utils_report_whether_the_cloud_clients_are_installed(monkeypatch):
    from importlib.util import find_spec

    from open_r1.utils import import_utils

    assert import_utils.is_e2b_available() == (find_spec("e2b_code_interpreter") is not None)
    assert import_utils.is_morph_available() == (find_spec("morphcloud") is not None)
    monkeypatch.setattr(import_utils, "E2B_PACKAGE", "json")  # an installed package stands in for e2b
    assert import_utils.is_e2b_available()
    monkeypatch.setattr(import_utils, "MORPH_PACKAGE", "no_such_package_open_r1")
    assert not import_utils.is_morph_available()


def test_upstreams_get_provider_takes_its_keywords_and_refuses_others():
    from open_r1.sandbox import SandboxConfig
    from open_r1.sandbox.base import CodeExecutionProvider
    from open_r1.sandbox.factory import get_provider as factory_get_provider
    from open_r1.utils.code_providers import get_provider

    # The provider is the one this project's factory builds for the same configuration, not a copy.
    assert get_provider("local", num_parallel=1).provider is factory_get_provider(SandboxConfig("local", 1))
    e2b = get_provider("e2b", num_parallel=3, e2b_router_url="r:1", morph_router_url="m:1")
    assert e2b.provider is factory_get_provider(SandboxConfig("e2b", 3, "r:1"))  # e2b's URL; morph's is not read
    assert isinstance(e2b, CodeExecutionProvider) and e2b.num_workers == 3 and e2b.router_url == "r:1"
    with pytest.raises(TypeError, match=r"\['verification_info'\]"):  # upstream let dataset columns through
        get_provider("local", num_parallel=1, verification_info=[{}])


def test_providers_refuse_upstreams_execute_scripts_with_what_to_call_instead():
    from open_r1.utils.code_providers import get_provider

    with pytest.raises(NotImplementedError, match=r"execute\(\[Submission"):
        get_provider("local", num_parallel=1).execute_scripts(["print(1)"], ["python"])
    # The main path's providers have no such method: only upstream's path hands out what upstream called.
    from open_r1.sandbox import CodeExecutionProvider

    assert not hasattr(CodeExecutionProvider, "execute_scripts")


def test_batched_splits_in_order_and_n_below_one_is_one_batch():
    from open_r1.utils.competitive_programming.utils import batched

    assert list(batched("ABCDEFG", 3)) == [["A", "B", "C"], ["D", "E", "F"], ["G"]]
    assert list(batched(range(3), 0)) == [[0, 1, 2]]


def test_dummy_config_holds_its_keywords_as_attributes():
    from open_r1.utils.callbacks import DummyConfig

    config = DummyConfig(hub_model_id="org/model", hub_model_revision="v1")
    assert (config.hub_model_id, config.hub_model_revision) == ("org/model", "v1")


def test_upstreams_evaluation_launcher_reports_a_mistake_in_one_line(tmp_path):
    """`python -m open_r1.utils.evaluation`, as upstream ran it: a usage error is one line and status 2."""
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "open_r1.utils.evaluation", "--model", "./no-model", "--benchmark", "aime24"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr == "open_r1.utils.evaluation: error: MODEL: no such file or folder: ./no-model\n"
