"""Specification of the lighteval path for local benchmark files: `local:<task>` custom tasks on CPU
(open_r1.eval.lighteval_tasks, `make evaluate BACKEND=accelerate`)."""

import glob
import json
import pathlib
import shutil
import subprocess

import pytest
from lighteval.models.model_output import ModelResponse

from open_r1.eval.lighteval_command import LOCAL_TASKS_MODULE, REPO_ROOT, build_lighteval_cpu_command
from open_r1.eval.lighteval_jobs import main
from tests.support.script_module import load_module

# Most tests here are end-to-end runs: they run lighteval end to end.
pytestmark = pytest.mark.e2e

PROBLEMS = [
    {"id": "a", "problem": "What is $2+3$?", "answer": "5"},
    {"id": "b", "problem": "What is $10/4$?", "answer": "\\frac{5}{2}"},
]


@pytest.fixture
def benchmark_file(tmp_path) -> pathlib.Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in PROBLEMS))
    return path


@pytest.fixture
def sampling_model(tmp_path, tiny_model) -> pathlib.Path:
    """The tiny model with do_sample=true in its generation config, as released chat models ship it."""
    folder = tmp_path / "sampling-model"
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}))
    return folder


def load_tasks_module(monkeypatch, spec: str):
    monkeypatch.setenv("OPEN_R1_EVAL_DATA", spec)
    return load_module(LOCAL_TASKS_MODULE, "local_tasks_under_test")


def test_each_named_file_becomes_a_local_task_with_the_offline_evaluator_prompt(monkeypatch, benchmark_file):
    module = load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    (task,) = module.TASKS_TABLE
    assert task.name == "local:toy"
    doc = task.prompt_function(PROBLEMS[1], "local:toy")
    assert doc.query.startswith("What is $10/4$?") and doc.query.endswith("within \\boxed{}.")
    assert doc.get_golds() == ["\\frac{5}{2}"]
    rows = [json.loads(line) for line in (pathlib.Path(task.hf_repo) / "test.jsonl").read_text().splitlines()]
    assert rows == PROBLEMS


def test_the_local_metric_is_pass_at_1_over_the_samples_graded_by_the_project_grader(monkeypatch, benchmark_file):
    module = load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    (task,) = module.TASKS_TABLE
    doc = task.prompt_function(PROBLEMS[1], "local:toy")
    metric = task.metrics[0].sample_level_fn
    metric.n = 4
    response = ModelResponse(text=["\\boxed{2.5}", "\\boxed{5/2}", "\\boxed{3}", "no idea", "\\boxed{99}"])
    assert metric.compute(doc, response) == pytest.approx(2 / 4)  # only the first n=4 samples count
    assert metric.num_samples() == 4


def test_a_malformed_data_spec_or_file_is_reported_by_name(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="name=path pairs"):
        load_tasks_module(monkeypatch, "just-a-path.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "problem": "q"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: missing field"):
        load_tasks_module(monkeypatch, f"bad={bad}")


def test_the_cpu_command_runs_lighteval_accelerate_on_the_local_task(sampling_model, benchmark_file, tmp_path, capsys):
    argv = ["--backend", "accelerate", "--model", str(sampling_model), "--benchmark", "toy"]
    argv += ["--data_files", str(benchmark_file), "--num_samples", "2", "--max_new_tokens", "4", "--dry_run"]
    assert main([*argv, "--output_dir", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.strip()
    command = build_lighteval_cpu_command(
        str(sampling_model),
        "toy",
        str(benchmark_file),
        num_samples=2,
        max_new_tokens=4,
        output_dir=str(tmp_path / "out"),
    )
    assert printed == command.shell()
    # Run from the model's parent under its bare name, so lighteval's cache and results stay out of the folder.
    assert command.cwd == str(sampling_model.parent)
    assert command.argv[:4] == [
        "lighteval",
        "accelerate",
        "model_name=sampling-model,device=cpu,dtype=float32,batch_size=4,"
        "generation_parameters={max_new_tokens:4,temperature:0.6,top_p:0.95}",
        "local:toy@k=1@n=2|0",
    ]
    assert command.env == {"OPEN_R1_EVAL_DATA": f"toy={benchmark_file.resolve()}"}


def test_a_model_that_would_decode_greedily_is_refused_instead_of_reported_as_sampled(tiny_model, benchmark_file):
    with pytest.raises(ValueError, match="does not set do_sample=true"):
        build_lighteval_cpu_command(str(tiny_model), "toy", str(benchmark_file))


@pytest.mark.slow
def test_make_evaluate_with_lighteval_on_cpu_writes_results_and_details(sampling_model, benchmark_file, tmp_path):
    output_dir = tmp_path / "evals"
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "evaluate", "BACKEND=accelerate", f"MODEL={sampling_model}", "TASK=toy"]
        + [f"DATA={benchmark_file}", "NUM_SAMPLES=2", "MAX_NEW_TOKENS=4", f"OUTPUT_DIR={output_dir}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (results_file,) = glob.glob(f"{output_dir}/results/sampling-model/results_*.json")
    results = json.loads(pathlib.Path(results_file).read_text())["results"]["local:toy|0"]
    assert 0.0 <= results["pass@k"] <= 1.0 and "pass@k_stderr" in results
    import pandas as pd

    (details_file,) = glob.glob(f"{output_dir}/details/sampling-model/*/details_local:toy|0_*.parquet")
    details = pd.read_parquet(details_file)
    assert len(details) == 2
    assert all(len(response["text"]) == 2 for response in details["model_response"])
    assert not list(sampling_model.glob("**/*.parquet"))  # nothing written into the model folder
