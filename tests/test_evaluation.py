"""Specification of `make evaluate`, the lighteval command builder and the Slurm launcher (open_r1.eval.lighteval_jobs)."""

import inspect
import json
import os
import pathlib
import shlex
import stat
import subprocess
from types import SimpleNamespace

import pytest
import yaml

from open_r1.eval import lighteval_jobs as evaluation
from open_r1.eval.lighteval_jobs import (
    SUPPORTED_BENCHMARKS,
    build_lighteval_command,
    evaluation_resources,
    gpus_for_tensor_parallel,
    register_lighteval_task,
    run_benchmark_jobs,
    task_string,
)
from tests.support import REPO_ROOT

README_TASKS = {
    "aime24": "aime24|0",
    "math_500": "math_500|0",
    "gpqa:diamond": "gpqa:diamond|0",
    "lcb": "lcb:codegeneration|0",
}
GENERATION = "generation_parameters={max_new_tokens:32768,temperature:0.6,top_p:0.95}"


def readme_command(model: str, task: str, parallel: str | None, num_gpus: int = 8) -> list[str]:
    """The README's `make evaluate` command, in lighteval 0.13 syntax (see the evaluation module docstring)."""
    parallel_arg = f"{parallel}_parallel_size={num_gpus}," if parallel else ""
    model_args = (
        f"model_name={model},dtype=bfloat16,{parallel_arg}max_model_length=32768,gpu_memory_utilization=0.8,"
        f"override_chat_template=true,{GENERATION}"
    )
    return [
        "lighteval",
        "vllm",
        model_args,
        README_TASKS[task],
        "--output-dir",
        f"data/evals/{model}",
        "--save-details",
    ]


def make_dry_run(*variables: str) -> list[str]:
    """The command `make evaluate` would run (make -n), split into words."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "evaluate", *variables], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout.replace("\\\n", " "))


@pytest.mark.parametrize("parallel", [None, "data", "tensor"])
@pytest.mark.parametrize("task", list(README_TASKS))
def test_make_evaluate_builds_the_readme_command_for_each_task_and_parallelism(task, parallel, capsys):
    model = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
    variables = [f"MODEL={model}", f"TASK={task}", "DRY_RUN=1"]
    if parallel:
        variables += [f"PARALLEL={parallel}", "NUM_GPUS=8"]
    words = make_dry_run(*variables)
    assert words[1:3] == ["-m", "open_r1.eval.lighteval_jobs"]

    assert evaluation.main(words[3:]) == 0
    printed = capsys.readouterr().out.strip()
    env = "VLLM_WORKER_MULTIPROC_METHOD=spawn " if parallel == "tensor" else ""
    assert printed == env + shlex.join(readme_command(model, task, parallel))


@pytest.mark.slow  # starts Python in a subprocess; the fast tests check the same command in-process
def test_make_evaluate_prints_the_command_end_to_end():
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            "evaluate",
            "MODEL=org/model",
            "TASK=aime24",
            "PARALLEL=tensor",
            "NUM_GPUS=4",
            "DRY_RUN=1",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "VLLM_WORKER_MULTIPROC_METHOD=spawn " + shlex.join(
        readme_command("org/model", "aime24", "tensor", 4)
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (["TASK=aime24"], "MODEL is required"),
        (["MODEL=m"], "TASK is required"),
        (["MODEL=m", "TASK=math_500", "BACKEND=cpu"], "BACKEND=cpu needs DATA"),
    ],
)
def test_make_evaluate_names_the_missing_variable(variables, message):
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "evaluate", *variables], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_make_evaluate_on_cpu_runs_the_offline_evaluator_on_the_data_file():
    from transformers import HfArgumentParser

    from open_r1.eval.arguments import EvaluateArguments

    words = make_dry_run(
        "BACKEND=cpu", "MODEL=data/tiny-model", "TASK=math_500", "DATA=bench.jsonl", "NUM_SAMPLES=4", "LIMIT=5"
    )
    assert words[1:3] == ["-m", "open_r1.evaluate"]
    (args,) = HfArgumentParser(EvaluateArguments).parse_args_into_dataclasses(args=words[3:])
    assert (args.task, args.data_files, args.model, args.num_samples, args.limit, args.device) == (
        "math_500",
        "bench.jsonl",
        "data/tiny-model",
        4,
        5,
        "cpu",
    )
    assert args.output_dir == "data/evals/data/tiny-model/math_500"


def test_model_arguments_parse_back_in_lighteval_as_the_readme_setting():
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    command = build_lighteval_command("org/model", "aime24", revision="step-100", parallel="data", num_gpus=4)
    config = VLLMModelConfig.from_args(command.argv[2])
    assert (config.model_name, config.revision, config.dtype) == ("org/model", "step-100", "bfloat16")
    assert (config.data_parallel_size, config.tensor_parallel_size) == (4, 1)
    assert (config.max_model_length, config.gpu_memory_utilization) == (32768, 0.8)
    assert config.override_chat_template is True
    generation = config.generation_parameters
    assert (generation.max_new_tokens, generation.temperature, generation.top_p) == (32768, 0.6, 0.95)


def test_a_system_prompt_with_commas_goes_through_a_yaml_model_config(tmp_path):
    from lighteval.models.vllm.vllm_model import VLLMModelConfig

    prompt = "Please reason step by step, and put your final answer within \\boxed{}.\nBe brief."
    command = build_lighteval_command("org/model", "math_500", system_prompt=prompt, output_dir=str(tmp_path))
    assert command.argv[2] == command.model_config_path == f"{tmp_path}/model_config.yaml"
    config = VLLMModelConfig(**yaml.safe_load(command.model_config_yaml)["model_parameters"])
    assert config.system_prompt == prompt
    assert config.generation_parameters.temperature == 0.6

    plain = build_lighteval_command("org/model", "math_500", system_prompt="Think first.")
    assert plain.model_config_path is None
    assert VLLMModelConfig.from_args(plain.argv[2]).system_prompt == "Think first."


def test_the_command_uses_only_options_of_the_installed_lighteval_vllm_command():
    from lighteval.main_vllm import vllm

    options = {f"--{name.replace('_', '-')}" for name in inspect.signature(vllm).parameters}
    command = build_lighteval_command("org/model", "aime24", max_samples=3, output_dir="out")
    used = {word for word in command.argv if word.startswith("--")}
    assert used <= options, used - options


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
    with pytest.raises(ValueError, match="PARALLEL must be one of"):
        build_lighteval_command("m", "aime24", parallel="pipeline")


def test_register_lighteval_task_formats_each_task_with_its_fewshot_count():
    configs: dict[str, str] = {}
    register_lighteval_task(configs, "lighteval", "both", "aime24,aime25", num_fewshot=2)
    assert configs == {"both": "aime24|2,aime25|2"}
    with pytest.raises(ValueError, match="at least one lighteval task"):
        register_lighteval_task(configs, "lighteval", "none", " , ")


def test_tensor_parallel_gpu_count_divides_the_attention_heads():
    assert gpus_for_tensor_parallel(40) == 8
    assert gpus_for_tensor_parallel(28) == 4  # 7 divides 28 but not 64
    assert gpus_for_tensor_parallel(12) == 4
    assert gpus_for_tensor_parallel(5) == 1


def _fake_checkpoint(folder: pathlib.Path, num_heads: int, num_params: int) -> str:
    folder.mkdir()
    config = {"model_type": "qwen2", "num_attention_heads": num_heads, "hidden_size": num_heads * 64}
    (folder / "config.json").write_text(json.dumps(config))
    index = {"metadata": {"total_size": 2 * num_params}, "weight_map": {}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return str(folder)


def test_models_of_30b_parameters_or_more_are_evaluated_with_tensor_parallelism(tmp_path, tiny_model):
    assert evaluation_resources(_fake_checkpoint(tmp_path / "big", 40, 32_000_000_000), None) == ("tensor", 8)
    assert evaluation_resources(_fake_checkpoint(tmp_path / "mid", 28, 7_000_000_000), None) == ("data", 8)
    assert evaluation_resources(str(tiny_model), None) == ("data", 8)  # single-file checkpoint: small


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch) -> pathlib.Path:
    """An `sbatch` on PATH that records each call's arguments and the SLURM_* variables it saw."""
    log = tmp_path / "sbatch.log"
    script = tmp_path / "bin" / "sbatch"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/bash\n"
        f'python3 -c \'import json,os,sys; print(json.dumps({{"argv": sys.argv[1:], "slurm": '
        f'sorted(k for k in os.environ if k.startswith("SLURM_"))}}))\' "$@" >> {log}\n'
        'echo "Submitted batch job 1"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "1234")  # as when called from inside a training job
    return log


def _calls(log: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_run_benchmark_jobs_submits_one_evaluation_job_per_benchmark(fake_sbatch, tiny_model):
    training_args = SimpleNamespace(
        benchmarks=["aime24", "gpqa:diamond"],
        hub_model_id=str(tiny_model),
        hub_model_revision="v00.01-step-000010",
        system_prompt="Think, then answer.",
    )
    run_benchmark_jobs(training_args, SimpleNamespace(trust_remote_code=False))
    calls = _calls(fake_sbatch)
    assert [call["argv"][3:] for call in calls] == [
        [bench, str(tiny_model), "v00.01-step-000010", "data", "8", "false", "Think, then answer."]
        for bench in ("aime24", "gpqa:diamond")
    ]
    assert calls[0]["argv"][:3] == [
        "--gres=gpu:8",
        f"--job-name=or1_aime24_{tiny_model.name}_v00.01-step-000010",
        "slurm/evaluate.slurm",
    ]
    assert all(call["slurm"] == [] for call in calls)  # the training job's SLURM_* settings are not inherited


def test_run_benchmark_jobs_expands_all_and_rejects_unknown_benchmarks_before_submitting(fake_sbatch, tiny_model):
    args = SimpleNamespace(
        benchmarks=["all"], hub_model_id=str(tiny_model), hub_model_revision="main", system_prompt=None
    )
    run_benchmark_jobs(args, SimpleNamespace(trust_remote_code=False))
    assert [call["argv"][3] for call in _calls(fake_sbatch)] == SUPPORTED_BENCHMARKS

    fake_sbatch.unlink()
    args.benchmarks = ["aime24", "mmlu"]
    with pytest.raises(ValueError, match=r"unknown benchmark\(s\) \['mmlu'\]"):
        run_benchmark_jobs(args, SimpleNamespace(trust_remote_code=False))
    assert _calls(fake_sbatch) == []


@pytest.mark.slow  # starts Python in a subprocess; the fast tests check the same command in-process
def test_the_slurm_script_runs_the_same_command_as_make_evaluate(tmp_path):
    env = {**os.environ, "OPEN_R1_EVAL_DRY_RUN": "1", "OPEN_R1_ROOT": str(REPO_ROOT), "OPEN_R1_MODULES": ""}
    env["OPEN_R1_VENV"] = str(REPO_ROOT / ".venv")
    result = subprocess.run(
        ["bash", "slurm/evaluate.slurm", "math_500", "org/model", "main", "tensor", "4", "false", ""],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    expected = build_lighteval_command(
        "org/model", "math_500", parallel="tensor", num_gpus=4, output_dir="data/evals/org/model/main"
    )
    assert expected.shell() in result.stdout.splitlines()


def test_a_model_whose_size_cannot_be_read_is_not_evaluated_as_a_small_one(monkeypatch):
    # A Hub error while sizing the model used to read as "below 30B": a 70B model launched data-parallel.
    import huggingface_hub

    def unreachable(*args, **kwargs):
        raise ConnectionError("the Hub is unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(evaluation.ModelSizeUnknownError, match="org/big-model.*--parallel tensor"):
        evaluation.parameter_count("org/big-model", "main")


def test_an_unknown_lighteval_suite_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match="eval_suite 'mine' is not supported"):
        evaluation.register_lighteval_task({}, "mine", "mine", "mine")


@pytest.mark.parametrize("suite", ["lighteval", "extended", "custom"])
def test_upstreams_suites_register_lighteval_013_task_names(suite):
    tasks = {}
    evaluation.register_lighteval_task(tasks, suite, "lcb_v4", "lcb:codegeneration_v4")
    assert tasks == {"lcb_v4": "lcb:codegeneration_v4|0"}


@pytest.mark.parametrize("name, task", [("gpqa", "gpqa:diamond|0"), ("lcb_v4", "lcb:codegeneration_v4|0")])
def test_upstreams_benchmark_names_are_accepted(name, task):
    assert name in evaluation.get_lighteval_tasks()
    assert evaluation.task_string(name) == task


def test_upstreams_module_path_still_serves_the_launcher():
    import open_r1.utils.evaluation as upstream_path

    for name in ("run_benchmark_jobs", "register_lighteval_task", "get_lighteval_tasks", "SUPPORTED_BENCHMARKS"):
        assert getattr(upstream_path, name) is getattr(evaluation, name), name


def test_upstreams_run_lighteval_job_submits_one_benchmark(fake_sbatch, tmp_path):
    from open_r1.utils.evaluation import run_lighteval_job

    model = _fake_checkpoint(tmp_path / "big", 40, 32_000_000_000)
    training_args = SimpleNamespace(hub_model_id=model, hub_model_revision="v01", system_prompt=None)
    run_lighteval_job("math_500", training_args, SimpleNamespace(trust_remote_code=False))
    [call] = _calls(fake_sbatch)
    assert call["argv"][3:] == ["math_500", model, "v01", "tensor", "8", "false", ""]


def test_upstreams_hub_sizing_helpers_read_the_checkpoint(tmp_path):
    from open_r1.utils.hub import get_gpu_count_for_vllm, get_param_count_from_repo_id

    model = _fake_checkpoint(tmp_path / "mid", 28, 7_000_000_000)
    assert get_param_count_from_repo_id(model) == 7_000_000_000
    assert get_gpu_count_for_vllm(model, revision=None) == 4  # 28 heads: 7 does not divide 64
    assert get_gpu_count_for_vllm(model, revision=None, num_gpus=2) == 2
