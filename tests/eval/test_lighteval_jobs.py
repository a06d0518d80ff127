"""Specification of `make evaluate`'s lighteval path: its command line and the Slurm script that calls it
(open_r1.eval.lighteval_jobs, slurm/evaluate.slurm)."""

import os
import re
import shlex
import subprocess

import pytest

from open_r1.eval import lighteval_jobs
from open_r1.eval.lighteval_command import build_lighteval_command
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
        f"override_chat_template=true,cache_dir=data/evals/{model}/lighteval_cache/{task},{GENERATION}"
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
        variables += [f"PARALLEL={parallel}"]  # a node's 8 GPUs unless NUM_GPUS says otherwise
    words = make_dry_run(*variables)
    assert words[1:3] == ["-m", "open_r1.eval.lighteval_jobs"]

    assert lighteval_jobs.main(words[3:]) == 0
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
        # Red team: TASK reaches the shell unquoted (x|5 ran a pipe) and lighteval reads , | @ = as separators.
        *(
            (["MODEL=m", f"TASK={task}", "BACKEND=accelerate", "DATA=t.jsonl", "DRY_RUN=1"], f"TASK={task}: a name of")
            for task in ("x|5", "a,b=c", "two words", "x@n=2")
        ),
        # Red team: a shot file without a count ran 0-shot, the file silently dropped.
        *(
            (
                ["MODEL=m", "TASK=t", f"BACKEND={backend}", "DATA=t.jsonl", "FEWSHOT_FILE=shots.jsonl", "DRY_RUN=1"],
                "FEWSHOT_FILE needs NUM_FEWSHOT=<shots per problem>",
            )
            for backend in ("cpu", "accelerate")
        ),
        (
            ["MODEL=m", "TASK=math_500", "BACKEND=gpu"],
            "BACKEND must be cpu, accelerate or vllm (the default), got 'gpu'",
        ),
        # What only the cpu and accelerate backends read is no silent no-op on the default one.
        (
            ["MODEL=m", "TASK=tiny-math", "DATA=data/tiny-math-test.jsonl", "LIMIT=5"],
            "DATA LIMIT: no effect with the default backend (lighteval on vLLM, TASK from lighteval's own tasks); "
            "add BACKEND=cpu (the offline evaluator) or BACKEND=accelerate",
        ),
    ],
)
def test_make_evaluate_names_the_missing_variable_or_the_one_without_effect(variables, message):
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "evaluate", *variables], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_make_evaluate_reads_no_mistake_into_variables_exported_on_a_cluster():
    """DATA, LIMIT or BACKEND in the environment (common names on a cluster) are not this command's to refuse."""
    environment = {**os.environ, "DATA": "/scratch/data", "LIMIT": "100", "BACKEND": "slurm"}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "evaluate", "MODEL=m", "TASK=aime24", "DRY_RUN=1"],
        cwd=REPO_ROOT, capture_output=True, text=True, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


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


@pytest.mark.parametrize(
    "model, folder",
    [
        ("data/tiny-model", "data/evals/data/tiny-model"),
        ("/tmp/x/tiny-model", "data/evals/tmp/x/tiny-model"),  # was data/evals//tmp/x/tiny-model on the cpu backend
        ("../shared/models/m/", "data/evals/shared/models/m"),  # was data/evals/../shared/...: outside data/evals
        ("./data//tiny-model", "data/evals/data/tiny-model"),
        ("org/model", "data/evals/org/model"),
    ],
)
def test_every_backend_writes_by_default_under_data_evals_by_one_rule(model, folder, tmp_path, capsys):
    """The cpu backend's default (make's) and lighteval's (default_output_dir) read MODEL alike: no double slash, no
    way out of data/evals; the cpu backend adds the TASK (one results.json per folder)."""
    from open_r1.eval.lighteval_command import default_output_dir

    assert default_output_dir(model) == folder and default_output_dir(model, "gsm8k") == f"{folder}/gsm8k"
    words = make_dry_run("BACKEND=cpu", f"MODEL={model}", "TASK=gsm8k", "DATA=bench.jsonl")
    assert words[words.index("--output_dir") + 1] == f"{folder}/gsm8k"
    command = build_lighteval_command(model, "aime24")
    assert command.argv[command.argv.index("--output-dir") + 1] == folder


@pytest.mark.slow  # starts Python in a subprocess; the fast tests check the same command in-process
def test_the_slurm_script_runs_the_same_command_as_make_evaluate(tmp_path):
    env = {**os.environ, "OPEN_R1_ROOT": str(REPO_ROOT), "OPEN_R1_MODULES": ""}
    env["OPEN_R1_VENV"] = str(REPO_ROOT / ".venv")
    arguments = ["math_500", "org/model", "main", "tensor", "4", "false"]
    # SYSTEM_PROMPT left out: no system turn; given, even empty: one, as training adds it.
    for system_prompt in ([], [""]):
        result = subprocess.run(
            ["bash", "slurm/evaluate.slurm", "--dry-run", *arguments, *system_prompt],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        expected = build_lighteval_command(
            "org/model", "math_500", parallel="tensor", num_gpus=4, output_dir="data/evals/org/model/main",
            system_prompt=system_prompt[0] if system_prompt else None,
        )  # fmt: skip
        assert expected.shell() in result.stdout.splitlines()


def test_make_evaluate_names_a_hub_model_out_of_reach_unless_it_only_prints(tmp_path, monkeypatch, capsys):
    from open_r1.usage import UsageError

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # offline (the tests' setting) with an empty cache
    with pytest.raises(UsageError, match="so MODEL Org/Model and TASK=math_500's dataset .* are neither local paths"):
        lighteval_jobs.main(["--model", "Org/Model", "--benchmark", "math_500"])
    lighteval_jobs.main(["--model", "Org/Model", "--benchmark", "math_500", "--dry_run"])
    assert capsys.readouterr().out.startswith("lighteval vllm 'model_name=Org/Model,")


def test_make_evaluate_names_a_benchmark_dataset_out_of_reach_before_lighteval_starts(tmp_path, monkeypatch):
    from open_r1.usage import UsageError

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # offline (the tests' setting) with an empty cache
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"")
    with pytest.raises(UsageError) as raised:
        lighteval_jobs.main(["--model", str(model), "--benchmark", "aime24"])
    assert "so TASK=aime24's dataset (lighteval's; BACKEND=accelerate DATA=<file> runs a local copy) " in str(
        raised.value
    )
    assert "HuggingFaceH4/aime_2024 is neither a local path nor in the cache" in str(raised.value)
    cached = tmp_path / "hf" / "datasets" / "HuggingFaceH4___aime_2024" / "default"
    cached.mkdir(parents=True)  # where datasets keeps it once loaded
    monkeypatch.setattr(lighteval_jobs, "run_lighteval_command", lambda command: 0)
    assert lighteval_jobs.main(["--model", str(model), "--benchmark", "aime24"]) == 0


@pytest.mark.parametrize(
    "backend_options, other",
    [
        (["--backend", "accelerate", "--data_files", "gsm8k.jsonl", "--revision", "v1"], "--revision"),
        (["--backend", "accelerate", "--data_files", "gsm8k.jsonl", "--trust_remote_code"], "--trust_remote_code"),
        (["--backend", "accelerate", "--data_files", "gsm8k.jsonl", "--system_prompt", "Think."], "--system_prompt"),
        (["--backend", "accelerate", "--data_files", "g.jsonl", "--parallel", "data", "--num_gpus", "8"],
         "--parallel, --num_gpus have"),
        (["--data_files", "gsm8k.jsonl"], "--data_files"),
        (["--max_new_tokens", "512"], "--max_new_tokens"),
        (["--num_fewshot", "5", "--fewshot_file", "train.jsonl"], "--num_fewshot, --fewshot_file have"),
    ],
)  # fmt: skip
def test_an_option_of_the_other_backend_is_refused_not_dropped(tmp_path, backend_options, other):
    """--revision, --system_prompt, ... used to reach no accelerate command, and --max_new_tokens no vLLM one."""
    from open_r1.usage import UsageError

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"")
    arguments = ["--model", str(model), "--benchmark", "math_500", "--dry_run", *backend_options]
    with pytest.raises(UsageError, match=f"^{other} .*no effect with --backend "):
        lighteval_jobs.main(arguments)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--num_samples", "0"], "--num_samples must be at least 1, got 0"),
        (["--parallel", "data", "--num_gpus", "0"], "--num_gpus must be at least 1, got 0"),
        (["--max_samples", "-3"], "--max_samples must be at least 1, got -3"),
        (
            ["--output_dir", "README.md/evals"],
            "--output_dir README.md/evals lies under .*README.md, a file; name a folder",
        ),
    ],
)
def test_a_count_out_of_range_is_one_line(tmp_path, options, message):
    """A newcomer audit's: each was a 15-20 line traceback ending in the builder's ValueError."""
    from open_r1.usage import UsageError

    with pytest.raises(UsageError, match=f"^{message}$"):
        lighteval_jobs.main(["--model", str(tmp_path), "--benchmark", "aime24", "--dry_run", *options])


def test_samples_for_a_benchmark_that_fixes_its_own_are_one_line(tmp_path):
    """Red team: `make evaluate TASK=lcb NUM_SAMPLES=4 DRY_RUN=1` was a traceback ending in the registry's ValueError."""
    from open_r1.usage import UsageError

    with pytest.raises(UsageError, match=r"^num_samples 4: benchmark 'lcb' fixes its own number of samples .*; drop"):
        lighteval_jobs.main(["--model", str(tmp_path), "--benchmark", "lcb", "--num_samples", "4", "--dry_run"])


def test_a_benchmark_name_lighteval_does_not_know_is_named_with_the_close_one(tmp_path):
    """A newcomer audit's: `--benchmark aime2024` listed the names without the one meant."""
    from open_r1.usage import UsageError

    with pytest.raises(
        UsageError, match=r"^--benchmark: unknown benchmark 'aime2024' \(did you mean aime24 or aime25\?\); "
    ):
        lighteval_jobs.main(["--model", str(tmp_path), "--benchmark", "aime2024", "--dry_run"])


def test_the_makefile_and_the_slurm_script_list_every_lighteval_task():
    from open_r1.eval.benchmark_registry import get_lighteval_tasks

    makefile = next(line for line in (REPO_ROOT / "Makefile").read_text().splitlines() if "TASK is required" in line)
    slurm = next(
        line for line in (REPO_ROOT / "slurm" / "evaluate.slurm").read_text().splitlines() if "1 BENCHMARK" in line
    )
    for listing in (makefile, slurm):
        named = set(re.findall(r"[\w:]+", listing.split("required:" if listing is makefile else "BENCHMARK")[1]))
        assert set(get_lighteval_tasks()) <= named, listing


def test_a_system_prompt_file_reaches_lighteval_as_its_text(tmp_path, capsys):
    """As training reads `system_prompt: prompts/r1.txt`: the file's text, not its name."""
    prompt = tmp_path / "r1.txt"
    prompt.write_text("Think first.\n")
    model = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    assert (
        lighteval_jobs.main(["--model", model, "--benchmark", "aime24", "--system_prompt", str(prompt), "--dry_run"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "system_prompt=Think first." in printed and "r1.txt" not in printed
