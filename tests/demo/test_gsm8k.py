"""`make gsm8k` (open_r1.demo.gsm8k): its command line, the recipes it launches and the evaluator settings it
derives from them, the tool arm's base model, and both arms end to end in FAST mode on SmolLM2 (slow).

What the arms learn is measured by a full run on a GPU (docs/gsm8k.md); at FAST step counts the model barely
trains, so the end-to-end test checks that every stage runs and what it writes."""

import dataclasses
import gzip
import json
import math
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import types

import pytest

from open_r1.demo import gsm8k, gsm8k_cli, gsm8k_combine, gsm8k_evals, gsm8k_launch
from open_r1.demo.gsm8k_rehearsal import in_threads
from open_r1.demo.gsm8k_report import (
    card_line,
    greedy_change,
    gsm8k_evaluations_goals,
    kept_greedy_details,
    out_of_tokens_share,
)
from open_r1.demo.pipeline import STAGES
from open_r1.demo.settings import GSM8K_CPU_OVERRIDES, GSM8K_FAST, GSM8K_FAST_SFT_OVERRIDES, GSM8K_FULL
from open_r1.eval.arguments import TOOL_FIELDS, EvaluateArguments
from open_r1.eval.offline import read_details
from open_r1.tasks.gsm8k import COT_SYSTEM_PROMPT, TOOL_SYSTEM_PROMPT
from open_r1.usage import UsageError, read_recipe
from open_r1.utils import gpu_jobs
from tests.support import REPO_ROOT, SMOLLM2
from tests.support.files import write_jsonl


def test_make_gsm8k_passes_its_options_to_the_script():
    dry_run = subprocess.run(
        ["make", "-n", "gsm8k", "ARM=tools", "SEED=1", "FAST=1", "OUTPUT_DIR=/tmp/g"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert "scripts/gsm8k.py --arm tools --seed 1 --fast --output_dir /tmp/g" in dry_run.stdout, dry_run.stdout
    for variable, options in (
        ("VLLM=1", ["--use_vllm"]),
        ("COMPILE=1", ["--compile_generation"]),
        ("COMPILE_DECODING=1", ["--compile_decoding"]),
        ("MINUTES=26", ["--time_budget_minutes", "26"]),
        ("GRPO_STEPS=30", ["--grpo_max_steps", "30"]),
        ("GRPO_LR=3e-5", ["--grpo_learning_rate", "3e-5"]),
        ("GRPO_GENERATIONS=16", ["--grpo_num_generations", "16"]),
        ("GRPO_CALCULATIONS=3", ["--grpo_max_calculations", "3"]),
    ):
        dry_run = subprocess.run(["make", "-n", "gsm8k", variable], cwd=REPO_ROOT, capture_output=True, text=True)
        (command,) = [line for line in dry_run.stdout.splitlines() if "scripts/gsm8k.py" in line]
        assert command.split("scripts/gsm8k.py")[1].split() == options, dry_run.stdout
    assert gsm8k.default_output_dir(fast=True) == "data/gsm8k-fast" and gsm8k.default_output_dir(False) == "data/gsm8k"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--grpo_max_steps", "0"], "--grpo_max_steps: expected a positive number of steps, got 0"),
        (["--grpo_learning_rate", "0"], "--grpo_learning_rate: expected a positive learning rate, got 0"),
        (["--grpo_learning_rate", "inf"], "--grpo_learning_rate: expected a positive learning rate, got inf"),
        (["--grpo_learning_rate", "nan"], "--grpo_learning_rate: expected a positive learning rate, got nan"),
        (
            ["--grpo_max_calculations", "0"],
            "--grpo_max_calculations: expected a positive number of calculations, got 0",
        ),
        (["--sft_only", "--grpo_max_calculations", "3"], "--grpo_max_calculations has no effect with --sft_only"),
        (["--sft_only", "--grpo_learning_rate", "3e-5"], "--grpo_learning_rate has no effect with --sft_only"),
        (
            ["--grpo_num_generations", "1"],
            "--grpo_num_generations: expected at least 2 completions per prompt (GRPO's advantage compares them), got 1",
        ),
        (["--sft_only", "--grpo_num_generations", "16"], "--grpo_num_generations has no effect with --sft_only"),
        # FAST's GRPO generates 8 completions at a time: refused before anything trains, not by TRL after SFT.
        (
            ["--grpo_num_generations", "16"],
            "--grpo_num_generations: chain of thought's GRPO generates 8 completions at a time "
            "(recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_cot.yaml, FAST), not a multiple of 16 (expected one of "
            "2, 4, 8)",
        ),
        (["--arm", "tool"], "argument --arm: invalid choice: 'tool'"),
        (["--train_file", "gsm8k_trian.jsonl"], "GSM8K data not found: --train_file: no such file or folder"),
    ],
)
def test_a_mistake_in_the_command_is_one_line_and_exit_status_2(options, message):
    result = subprocess.run(
        [sys.executable, "scripts/gsm8k.py", "--fast", *options], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    # One line of the script's own (what a library prints on import may come before it): no usage, no traceback.
    assert result.stderr.splitlines()[-1].startswith(f"gsm8k.py: error: {message}"), result.stderr
    assert "usage:" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_shared_data_missing_from_its_default_folder_names_the_variable_that_points_elsewhere(tmp_path):
    """A newcomer's, in a clone not beside shared/: make gsm8k cannot pass --train_file, and the error did not name
    OPEN_R1_SHARED_DATA, which the guide mentions only in its Development section."""
    from open_r1.utils.launch import SHARED_DATA

    with pytest.raises(UsageError) as stopped:
        gsm8k.check_data_file(SHARED_DATA / "no-such-file.jsonl", "--train_file")
    assert str(stopped.value).endswith(
        f"; export OPEN_R1_SHARED_DATA (now {SHARED_DATA}) as the folder that holds no-such-file.jsonl, or give "
        "--train_file FILE"
    )
    with pytest.raises(UsageError) as stopped:  # a file of one's own: no word of the shared folder
        gsm8k.check_data_file(tmp_path / "mine.jsonl", "--train_file")
    assert "OPEN_R1_SHARED_DATA" not in str(stopped.value)


def test_gsm8k_data_of_other_columns_ends_the_run_with_one_line_naming_the_option_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: pytest.fail("the model was loaded"))
    math = tmp_path / "math.jsonl"  # a MATH-style file: problem and answer, no worked solution
    math.write_text(json.dumps({"id": "m-0", "problem": "1 + 1?", "answer": "2"}) + "\n")
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(["--fast", "--train_file", str(math), "--output_dir", str(tmp_path / "out")])
    assert str(stopped.value) == (
        f"--train_file: {math}:1: missing field(s) ['solution']; each line needs ['id', 'problem', 'solution', "
        "'answer'], this one has ['id', 'problem', 'answer']"
    )


def test_missing_gsm8k_data_ends_the_run_with_one_line_naming_the_option(tmp_path):
    (tmp_path / "out" / "keep").mkdir(parents=True)
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(
            ["--fast", "--train_file", str(tmp_path / "absent.jsonl"), "--output_dir", str(tmp_path / "out")]
        )
    message = str(stopped.value)
    assert "--train_file" in message and str(tmp_path / "absent.jsonl") in message and "\n" not in message
    assert (tmp_path / "out" / "keep").is_dir(), "the output folder was touched before the data was found"


@pytest.mark.parametrize(
    ("options", "at_once"), [([], None), (["--arms_at_once"], True), (["--no-arms_at_once"], False)]
)
def test_the_arms_run_at_once_on_a_gpu_unless_told_otherwise(monkeypatch, options, at_once):
    called = []
    monkeypatch.setattr(gsm8k, "run", lambda *args: called.append(args))
    gsm8k_cli.main(["--fast", *options])
    assert called[0][6] is at_once  # None: run() decides, at once on a GPU only
    assert called[0][9] is None  # no time budget unless asked


def test_the_time_budget_reaches_the_run(monkeypatch):
    called = []
    monkeypatch.setattr(gsm8k, "run", lambda *args: called.append(args))
    gsm8k_cli.main(["--fast", "--time_budget_minutes", "26.5"])
    assert called[0][9] == 26.5
    assert "--no-arms_at_once" in gsm8k.__doc__


def test_grpos_steps_reach_the_run_and_must_be_positive(monkeypatch):
    called = []
    monkeypatch.setattr(gsm8k, "run", lambda *args: called.append(args))
    gsm8k_cli.main(["--fast", "--arm", "cot", "--time_budget_minutes", "11", "--grpo_max_steps", "40"])
    assert called[0][10] == 40
    gsm8k_cli.main(["--fast", "--grpo_learning_rate", "3e-5"])
    assert called[1][14] == 3e-5 and called[0][14] is None
    gsm8k_cli.main(["--fast", "--grpo_max_calculations", "3"])
    assert called[2][15] == 3 and called[0][15] is None
    gsm8k_cli.main(["--fast", "--grpo_num_generations", "4"])
    assert called[3][16] == 4 and called[0][16] is None
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(["--fast", "--grpo_max_steps", "0"])
    assert "--grpo_max_steps: expected a positive number of steps, got 0" in str(stopped.value)


@pytest.mark.parametrize("arm", gsm8k.ARMS)
def test_the_arms_recipes_train_with_the_traces_prompt_and_the_accuracy_reward_alone(arm):
    grpo = gsm8k.read_recipe(GSM8K_FULL.grpo_recipes[arm])
    assert grpo["system_prompt"] == {"cot": COT_SYSTEM_PROMPT, "tools": TOOL_SYSTEM_PROMPT}[arm]
    assert grpo["reward_funcs"] == ["accuracy"]
    assert grpo.get("tools", []) == (["python"] if arm == "tools" else [])
    sft = gsm8k.read_recipe(GSM8K_FULL.sft_recipes[arm])
    assert sft["assistant_only_loss"] is True and sft["eos_token"] == "<|im_end|>"
    # Both arms train on the same schedules, so that they differ only in the traces and the tool.
    other = gsm8k.read_recipe(GSM8K_FULL.grpo_recipes["cot"])
    schedule = ("learning_rate", "num_generations", "per_device_train_batch_size", "max_steps", "temperature")
    assert {key: grpo[key] for key in schedule} == {key: other[key] for key in schedule}


@pytest.mark.parametrize("arm", ["cot", "tools"])
def test_each_arms_evaluations_are_settings_the_evaluator_takes_with_grading_and_tool_workers(arm):
    run = {
        "settings": GSM8K_FULL,
        "max_new_tokens": {"cot": 256, "tools": 512},
        "tool_settings": {"tools": {"tools": ["python"], "max_tool_calling_iterations": 9}},
    }
    for kind, num_samples in (("greedy", 1), ("sampled", GSM8K_FULL.eval_samples)):
        settings = gsm8k_evals.stage_settings(arm, "sft", kind, num_samples, run, seed=0)
        del settings["label"]  # the progress bar's
        args = EvaluateArguments(task="gsm8k", data_files="x.jsonl", output_dir="o", model="m", **settings)
        assert args.reward_num_workers == gsm8k_evals.grading_workers()
        tools = args.tool_settings()
        assert (tools.sandbox.num_workers if tools else None) == (
            gsm8k_evals.grading_workers() if arm == "tools" else None
        )
        assert args.compile_decoding is False
        # The tool arm's rollouts decode with rows joining (docs/benchmarks.md); the chain of thought has no rollouts.
        assert args.tool_rollout_chunk_tokens == (
            GSM8K_FULL.eval_tool_rollout_chunk_tokens if arm == "tools" else None
        )
        compiled = gsm8k_evals.stage_settings(arm, "sft", kind, num_samples, {**run, "compile_decoding": True}, 0)
        assert compiled == {**settings, "label": compiled["label"], "compile_decoding": True}


def test_the_tool_arm_is_evaluated_with_its_grpo_recipes_tool_settings():
    recipe = read_recipe(str(REPO_ROOT / GSM8K_FULL.grpo_recipes["tools"]))
    settings = {key: recipe[key] for key in TOOL_FIELDS if key in recipe}
    assert settings["max_tool_calling_iterations"] >= 9  # GSM8K-train solutions hold up to 9 annotations
    args = EvaluateArguments(
        task="gsm8k", data_files="x.jsonl", output_dir="o", model="m", tools=["python"], **settings
    )
    assert args.tool_settings().max_output_chars == recipe["python_tool_max_output_chars"]
    # Every tool setting the recipe trains with reaches the evaluator: none is left behind.
    trained_with = {key for key in recipe if key == "max_tool_calling_iterations" or key.startswith("python_tool_")}
    assert trained_with <= set(settings), trained_with - set(settings)


def test_the_card_protocol_takes_its_shots_from_the_train_file_never_the_test_file(monkeypatch, tmp_path):
    calls = []

    def evaluator(model, task, data_file, output_dir, **settings):
        calls.append({"data_file": data_file, **settings})
        return {"pass@1": 0.02, "pass@1_stderr": 0.004}, []

    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", evaluator)
    train, test = tmp_path / "gsm8k_train.jsonl", tmp_path / "gsm8k_test.jsonl"
    run = {"settings": GSM8K_FULL, "device": "cuda", "train_file": train, "test_file": test}
    measured = gsm8k.evaluate_card_protocol(tmp_path / "base", tmp_path, run, seed=0)
    (call,) = calls
    assert call["data_file"] == test and call["fewshot_file"] == str(train) != str(test)
    assert (call["num_fewshot"], call["prompt_style"], call["temperature"]) == (5, "plain", 0.0)
    assert call["max_new_tokens"] == 256 and call["limit"] is None  # every test problem, the card's budget
    assert measured["pass@1"] == 0.02 and measured["shots_from"] == str(train)


@pytest.mark.parametrize("arms_at_once", [True, False])
def test_an_arm_evaluates_its_sft_model_while_grpo_trains_only_when_told(monkeypatch, tmp_path, arms_at_once):
    events, gate = [], threading.Event()

    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        events.append(f"train {output_dir.name} from {model.name}")
        if (
            arms_at_once and script == "grpo.py"
        ):  # the SFT model's evaluation must run meanwhile, or this waits forever
            assert gate.wait(timeout=30), "the evaluation did not run while the stage trained"
            gate.clear()
        output_dir.mkdir()
        (output_dir / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": []}))
        events.append(f"trained {output_dir.name}")
        return 1.0

    def evaluate(model, arm, stage, output_dir, run, seed, critical=False):
        events.append(f"evaluate {stage} ({model.name})")
        if stage == "sft":  # the one GRPO waits for; the base model's comes before SFT
            gate.set()
        return {"sampled_pass@1": 0.5, "sampled_pass@1_stderr": 0.1}

    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(gsm8k, "evaluate_stage", evaluate)
    monkeypatch.setattr(gsm8k, "grpo_curves", lambda *args, **kwargs: {})
    run = {"settings": GSM8K_FULL, "device": "cuda", "fast": False, "arms_at_once": arms_at_once}
    data = {"sft_cot": tmp_path / "sft_data", "grpo": tmp_path / "grpo_data"}
    outcome = gsm8k.run_arm("cot", tmp_path / "base", data, tmp_path, run, seed=0)
    if arms_at_once:  # GRPO finished only after the SFT model's evaluation had begun; the base one came before SFT
        assert events[0:3] == ["evaluate base (base)", "train sft-cot from base", "trained sft-cot"]
        assert set(events[3:5]) == {"train grpo-cot from sft-cot", "evaluate sft (sft-cot)"}
    else:
        assert events == [
            "evaluate base (base)",
            "train sft-cot from base",
            "trained sft-cot",
            "evaluate sft (sft-cot)",
            "train grpo-cot from sft-cot",
            "trained grpo-cot",
            "evaluate grpo (grpo-cot)",
        ]
    assert events[-1] == "evaluate grpo (grpo-cot)"
    assert [outcome["stages"][stage]["train_seconds"] for stage in STAGES] == [0.0, 1.0, 1.0]


def test_under_a_time_budget_grpo_is_given_the_minutes_its_models_evaluation_leaves(monkeypatch, tmp_path):
    launches = {}

    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches[script] = overrides
        output_dir.mkdir()
        # GRPO stopped by its limit; the steps that scored a generation logged its groups without reward spread.
        history = [{"step": 1, "frac_reward_zero_std": 0.75}, {"step": 2, "clip_ratio/region_mean": 0.002}]
        state = {"global_step": 6, "max_steps": 10, "log_history": history}
        (output_dir / "trainer_state.json").write_text(json.dumps(state))
        return 1.0

    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(
        gsm8k, "evaluate_stage", lambda *args, **kwargs: {"sampled_pass@1": 0.5, "sampled_pass@1_stderr": 0.1}
    )
    monkeypatch.setattr(gsm8k, "grpo_curves", lambda *args, **kwargs: {})
    budget = gsm8k_launch.time_budget(GSM8K_FULL, ("tools",), arms_at_once=False, started_at=time.time(), minutes=20)
    run = {"settings": GSM8K_FULL, "device": "cuda", "fast": False, "arms_at_once": False, **budget}
    data = {"sft_tools": tmp_path / "sft_data", "grpo": tmp_path / "grpo_data"}
    outcome = gsm8k.run_arm("tools", tmp_path / "base", data, tmp_path, run, seed=0)

    assert launches["sft.py"] == ()  # SFT's two epochs are short; GRPO is what the budget cuts
    *_, option, minutes = launches["grpo.py"]  # the limit comes last, after the tool arm's decoding ahead
    expected = 20 - GSM8K_FULL.grpo_evaluation_seconds["tools"] / 60
    assert option == "--max_run_minutes" and expected - 0.1 < float(minutes) <= expected + 0.01
    grpo = outcome["stages"]["grpo"]
    assert (grpo["steps"], grpo["max_steps"], grpo["max_run_minutes"]) == (6, 10, pytest.approx(float(minutes), 0.01))
    assert grpo["groups_without_spread"] == {"log_entries": 1, "mean": 0.75, "first_fifth": 0.75, "last_fifth": 0.75}
    assert grpo["importance_ratio_clipped"] == {"log_entries": 1, "mean": 0.002, "max": 0.002}


@pytest.mark.parametrize("minutes", ["0", "-3"])
def test_a_time_budget_that_is_not_positive_is_refused_in_one_line(minutes):
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(["--fast", "--time_budget_minutes", minutes])
    assert f"--time_budget_minutes: expected a positive number of minutes, got {minutes}" in str(stopped.value)


def gsm8k_file(tmp_path) -> str:
    """A GSM8K JSONL file of one row, for the checks that come before any row is used."""
    path = tmp_path / "gsm8k.jsonl"
    row = {"id": "train-0", "problem": "1 + 1?", "solution": "1+1 = <<1+1=2>>2\n#### 2", "answer": "2"}
    path.write_text(json.dumps(row) + "\n")
    return str(path)


def test_use_vllm_needs_a_gpu_and_vllm_and_says_so_in_one_line_before_the_output_folder_is_touched(
    monkeypatch, tmp_path
):
    import importlib.util

    output_dir, data = tmp_path / "out", gsm8k_file(tmp_path)
    with pytest.raises(UsageError, match=r"^--use_vllm: vLLM generates on a GPU and this machine has none"):
        gsm8k_cli.main(["--use_vllm", "--output_dir", str(output_dir), "--train_file", data, "--test_file", data])
    assert not output_dir.exists()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        UsageError, match=r"--use_vllm needs vllm, which is not installed here: it is in the `gpu` extra"
    ):
        gsm8k_launch.check_vllm("cuda")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    gsm8k_launch.check_vllm("cuda")


def test_compile_decoding_needs_a_gpu_and_evaluations_in_one_line_before_the_output_folder(tmp_path):
    output_dir, data = tmp_path / "out", gsm8k_file(tmp_path)
    files = ["--train_file", data, "--test_file", data]
    with pytest.raises(UsageError, match=r"^--compile_decoding: transformers compiles the evaluator's decode step on"):
        gsm8k_cli.main(["--compile_decoding", "--output_dir", str(output_dir), *files])
    with pytest.raises(UsageError, match=r"^--compile_decoding: transformers compiles the evaluator's decode step on"):
        gsm8k_cli.main(["--compile_decoding", "--sft_only", "--evaluate", "--output_dir", str(output_dir), *files])
    assert not output_dir.exists()
    with pytest.raises(UsageError, match="--compile_decoding has no effect with --sft_only without --evaluate"):
        gsm8k_cli.main(["--compile_decoding", "--sft_only", "--output_dir", str(output_dir), "--train_file", data])
    gsm8k_launch.check_compile_decoding("cuda")


def test_compile_generation_needs_a_gpu_and_transformers_generation_in_one_line_before_the_output_folder(tmp_path):
    output_dir, data = tmp_path / "out", gsm8k_file(tmp_path)
    files = ["--train_file", data, "--test_file", data]
    with pytest.raises(
        UsageError, match=r"^--compile_generation: transformers compiles the decode step on a GPU only"
    ):
        gsm8k_cli.main(["--compile_generation", "--output_dir", str(output_dir), *files])
    assert not output_dir.exists()
    with pytest.raises(UsageError, match=r"^--compile_generation has no effect with --use_vllm"):
        gsm8k_launch.check_compile_generation("cuda", use_vllm=True)
    gsm8k_launch.check_compile_generation("cuda", use_vllm=False)


@pytest.mark.parametrize(
    ("generation", "grpo_overrides"),
    [
        # The tool arm's GRPO decodes its rollouts ahead with transformers generation, compiled or not.
        ({}, ("--tool_rollout_chunk_tokens", "96")),
        ({"use_vllm": True}, "vllm"),
        # One static cache length for every step: no wider step compiles the decode step again.
        (
            {"compile_generation": True},
            ("--compile_generation", "true", "--max_prompt_length", "512", "--tool_rollout_chunk_tokens", "96"),
        ),
    ],
)
def test_grpo_launches_with_the_runs_generation_and_sft_is_unchanged(
    monkeypatch, tmp_path, generation, grpo_overrides
):
    from open_r1.demo.settings import GSM8K_VLLM_GRPO_OVERRIDES

    launches = {}

    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches[script] = overrides
        output_dir.mkdir()
        (output_dir / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": []}))
        return 1.0

    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(
        gsm8k, "evaluate_stage", lambda *args, **kwargs: {"sampled_pass@1": 0.5, "sampled_pass@1_stderr": 0.1}
    )
    monkeypatch.setattr(gsm8k, "grpo_curves", lambda *args, **kwargs: {})
    run = {"settings": GSM8K_FULL, "device": "cuda", "fast": False, "arms_at_once": False, **generation}
    data = {"sft_tools": tmp_path / "sft_data", "grpo": tmp_path / "grpo_data"}
    gsm8k.run_arm("tools", tmp_path / "base", data, tmp_path, run, seed=0)
    assert launches["sft.py"] == ()
    assert launches["grpo.py"] == (GSM8K_VLLM_GRPO_OVERRIDES if grpo_overrides == "vllm" else grpo_overrides)


class RecordingSlots:
    """GPU job slots that remember how many were held, and whether the job that holds one in a thread is critical."""

    def __init__(self, capacity: int):
        self.semaphore, self.lock, self.held, self.mine = threading.BoundedSemaphore(capacity), threading.Lock(), 0, {}

    def acquire(self, critical=False):
        self.semaphore.acquire()
        with self.lock:
            self.held += 1
            self.mine[threading.get_ident()] = critical

    def release(self, to_critical=False):
        with self.lock:
            self.held -= 1
            del self.mine[threading.get_ident()]
        self.semaphore.release()


@pytest.fixture
def shared_gpu(monkeypatch, tmp_path):
    """One arm's run on a shared GPU with training and evaluation stood in for: each records (job, slots held, the
    job's slot critical), and run() gives the arm's outcome."""
    slots, jobs = RecordingSlots(gsm8k.GPU_JOBS_AT_ONCE), []

    def held(job: str) -> None:
        with slots.lock:
            jobs.append((job, slots.held, slots.mine.get(threading.get_ident())))

    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        held(f"train {output_dir.name}")
        output_dir.mkdir()
        (output_dir / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": []}))
        return 1.0

    def evaluator(model, task, data_file, output_dir, **settings):
        held(f"evaluate {output_dir.name}")
        return {"pass@1": 0.05, "pass@1_stderr": 0.01}, [
            {"id": "7", "correct": True, "completion": [{"role": "tool"}]}
        ]

    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", evaluator)
    # In threads of this process, so that the test's stand-ins for training and evaluation apply.
    monkeypatch.setattr(gsm8k.pipeline, "run_at_once", in_threads)
    monkeypatch.setattr(gsm8k, "grpo_curves", lambda *args, **kwargs: {})
    run = {
        "settings": GSM8K_FULL,
        "device": "cuda",
        "fast": False,
        "arms_at_once": True,
        "critical_arm": "tools",
        "gpu_slots": slots,
        "test_file": tmp_path / "gsm8k_test.jsonl",
        "train_file": tmp_path / "gsm8k_train.jsonl",
        "test_calculations": {"7": 3},
        "max_new_tokens": {"cot": 256, "tools": 512},
        "tool_settings": {"tools": {"tools": ["python"]}},
    }
    data = {"sft_cot": tmp_path / "sft_cot", "sft_tools": tmp_path / "sft_tools", "grpo": tmp_path / "grpo_data"}

    def run_one(arm: str) -> dict:
        return gsm8k.run_arm(arm, tmp_path / "base", data, tmp_path, run, seed=0)

    return types.SimpleNamespace(slots=slots, jobs=jobs, run=run, tmp_path=tmp_path, run_arm=run_one)


def test_on_a_shared_gpu_every_training_run_and_evaluation_holds_a_job_slot(shared_gpu):
    shared_gpu.run_arm("cot")
    gsm8k.evaluate_card_protocol(shared_gpu.tmp_path / "base", shared_gpu.tmp_path, shared_gpu.run, seed=0)
    assert len(shared_gpu.jobs) == 2 + 3 * 2 + 1  # 2 trainings, greedy and sampled of 3 stages, the card
    assert all(held >= 1 for _, held, _ in shared_gpu.jobs), shared_gpu.jobs
    assert shared_gpu.slots.held == 0  # every slot given back


@pytest.fixture
def launches(monkeypatch) -> list:
    """The arguments of each training launch (`pipeline.train`) a test's run makes, as it makes them."""
    recorded, train = [], gsm8k.pipeline.train

    def recording(*arguments, cpu):
        recorded.append(arguments)
        return train(*arguments, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", recording)
    return recorded


def test_grpo_max_steps_sets_grpos_steps_and_leaves_sfts_alone(shared_gpu, launches):
    shared_gpu.run["grpo_max_steps"] = 40
    shared_gpu.run_arm("cot")
    sft, grpo = launches
    assert sft[0] == "sft.py" and "--max_steps" not in sft
    assert grpo[0] == "grpo.py" and grpo[-2:] == ("--max_steps", "40")


def gpu_grpo_launch_as_parsed(arm: str = "cot", **run_options):
    """`arm`'s GRPO launch of a full run on a GPU with `run_options`, its training arguments as grpo.py parses the
    recipe with make gsm8k's overrides (on this CPU with the CPU's precision, which the parser needs)."""
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser

    run = {"settings": GSM8K_FULL, "device": "cuda", "fast": False, **run_options}
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    recipe = str(REPO_ROOT / GSM8K_FULL.grpo_recipes[arm])
    overrides = gsm8k_launch.stage_overrides("grpo", arm, run)
    _, training, _ = parser.parse_args_and_config(
        ["--config", recipe, *overrides, "--use_cpu", "true", "--bf16", "false"]
    )
    return training


def test_grpo_learning_rate_replaces_the_grpo_recipes_and_leaves_sfts_alone(shared_gpu, launches):
    shared_gpu.run["grpo_learning_rate"] = 3e-5
    shared_gpu.run_arm("cot")
    sft, grpo = launches
    assert sft[0] == "sft.py" and "--learning_rate" not in sft
    assert grpo[0] == "grpo.py" and grpo[-2:] == ("--learning_rate", "3e-05")
    # Every digit given reaches the trainer.
    assert (
        gsm8k_launch.stage_overrides("grpo", "cot", {**shared_gpu.run, "grpo_learning_rate": 1.2345678e-5})[-1]
        == "1.2345678e-05"
    )
    assert gpu_grpo_launch_as_parsed(grpo_learning_rate=3e-5).learning_rate == 3e-5


def test_grpo_num_generations_replaces_the_grpo_recipes_groups_at_the_same_rows_and_leaves_sft_alone(
    shared_gpu, launches
):
    shared_gpu.run["grpo_num_generations"] = 16
    shared_gpu.run_arm("cot")
    sft, grpo = launches
    assert sft[0] == "sft.py" and "--num_generations" not in sft
    assert grpo[0] == "grpo.py" and grpo[-2:] == ("--num_generations", "16")
    recipes = gpu_grpo_launch_as_parsed(), gpu_grpo_launch_as_parsed(grpo_num_generations=16)
    assert [(args.num_generations, args.generation_batch_size) for args in recipes] == [(8, 256), (16, 256)]
    # Every arm's generation, as TRL counts it, is what the early check reads.
    for arm in gsm8k.ARMS:
        assert gsm8k_launch.generation_rows(GSM8K_FULL, arm, fast=False) == 256
        assert gsm8k_launch.generation_rows(GSM8K_FAST, arm, fast=True) == 8
    gsm8k_launch.check_grpo_num_generations(GSM8K_FULL, gsm8k.ARMS, False, 16)
    with pytest.raises(UsageError, match=r"python tool's GRPO generates 256 completions .* not a multiple of 3 "):
        gsm8k_launch.check_grpo_num_generations(GSM8K_FULL, ("tools",), False, 3)


def test_the_critical_arms_jobs_that_the_run_waits_for_go_first_and_no_other_arms(shared_gpu):
    shared_gpu.run_arm("tools")
    shared_gpu.run_arm("cot")
    critical = {job for job, _, is_critical in shared_gpu.jobs if is_critical}
    assert critical == {
        "train sft-tools",
        "train grpo-tools",
        *(f"evaluate {stage}-tools-{kind}" for stage in ("base", "grpo") for kind in ("greedy", "sampled")),
    }  # not the SFT model's evaluations, which overlap GRPO, nor any of the chain-of-thought arm's jobs


@pytest.mark.parametrize("sft_reused", [False, True], ids=["sft evaluated", "sft evaluations reused"])
def test_grpos_change_over_sft_is_paired_by_problem_from_the_greedy_details_each_wrote(
    shared_gpu, monkeypatch, sft_reused
):
    solved = {"sft": {"1", "2", "3"}, "grpo": {"2", "3", "4", "5"}}

    def details(stage: str) -> list[dict]:
        # SFT writes one calculation out, GRPO none.
        completion = "1+1 = 2" if stage == "sft" else "x"
        return [{"id": id_, "correct": id_ in solved.get(stage, ()), "completion": completion} for id_ in "0123456789"]

    def evaluator(model, task, data_file, output_dir, **settings):  # writes its details as the evaluator does
        rows = details(output_dir.name.split("-")[0])
        output_dir.mkdir(parents=True, exist_ok=True)
        write_jsonl(output_dir / "details.jsonl", rows)
        return {"pass@1": sum(row["correct"] for row in rows) / 10, "pass@1_stderr": 0.1}, rows

    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", evaluator)
    shared_gpu.run["test_calculations"] = dict.fromkeys("0123456789", 2)
    shared_gpu.run["test_worked_calculations_written"] = dict.fromkeys("0123456789", 2)
    if sft_reused:  # SFT's evaluations, details and all, only in the earlier run that --reuse_sft names
        earlier = shared_gpu.tmp_path / "earlier"
        for kind, samples in gsm8k_evals.evaluation_samples(GSM8K_FULL).items():
            folder = earlier / "evals" / f"sft-cot-{kind}"
            folder.mkdir(parents=True)
            results = {"pass@1": 0.3, "pass@1_stderr": 0.1, "num_samples": samples, "num_problems": 10}
            (folder / "results.json").write_text(json.dumps({**results, "data_files": "gsm8k_test.jsonl"}))
            write_jsonl(folder / "details.jsonl", details("sft"))
        shared_gpu.run["reuse_sft"] = earlier
    stages = shared_gpu.run_arm("cot")["stages"]
    assert (stages["sft"].get("reused_from") is not None) == sft_reused
    change = stages["grpo"]["greedy_change_from_sft"]
    assert (change["problems"], change["gained"], change["lost"]) == (10, 2, 1)
    assert change["stderr"] == pytest.approx(math.sqrt(2.9 / 90))  # the stdev of (-1, 0, 0, 1, 1, 0 x 5) / √10
    # The same pairs, with the calculations each model wrote out against the worked solutions' 2.
    assert stages["grpo"]["written_by_outcome"] == {
        "gained": {"problems": 2, "before": -1.0, "after": -2.0},
        "lost": {"problems": 1, "before": -1.0, "after": -2.0},
        "both": {"problems": 2, "before": -1.0, "after": -2.0},
        "neither": {"problems": 5, "before": -1.0, "after": -2.0},
    }


def test_on_a_shared_gpu_a_stages_greedy_and_sampled_evaluations_run_at_once(shared_gpu, monkeypatch):
    both_running = threading.Barrier(2, timeout=30)  # broken if the second evaluation waits for the first
    evaluator = gsm8k.pipeline.run_evaluator

    def meeting_evaluator(*args, **settings):
        both_running.wait()
        return evaluator(*args, **settings)

    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", meeting_evaluator)
    stages = shared_gpu.run_arm("tools")["stages"]
    assert stages["grpo"]["greedy_pass@1"] == 0.05 and stages["grpo"]["tool_call_rate"] == 1.0
    # Both ran at once, so the stage's evaluation took less wall time than its two jobs summed.
    jobs = stages["grpo"]["eval_job_seconds"]
    assert set(jobs) == {"greedy", "sampled"}
    assert max(jobs.values()) <= stages["grpo"]["eval_seconds"] < sum(jobs.values())
    assert stages["grpo"]["by_calculations"]["sampled"] == {"3": {"problems": 1, "pass@1": 1.0}}


def out_of_gpu_memory_once(monkeypatch, evaluation_running: threading.Event | None = None):
    """GRPO's first launch fails as the 2026-11-26 lease's did (`evaluation_running`: only once the SFT model's
    evaluation has started); returns each launch's (script, time) as it starts, and the event of that failure."""
    from open_r1.utils.launch import LaunchFailed

    launches, train = [], gsm8k.pipeline.train
    failed = threading.Event()

    def failing_once(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches.append((script, time.monotonic()))
        if script == "grpo.py" and not failed.is_set():
            if evaluation_running is not None:
                assert evaluation_running.wait(30)
            log_file.parent.mkdir(parents=True, exist_ok=True)
            log_file.write_text("[rank0]: torch.AcceleratorError: CUDA error: out of memory\n")
            failed.set()
            raise LaunchFailed("it ran out of GPU memory", out_of_gpu_memory=True)
        return train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", failing_once)
    return launches, failed


def test_grpo_out_of_gpu_memory_beside_its_start_models_evaluation_starts_again_once_that_has_ended(
    shared_gpu, monkeypatch, capsys
):
    evaluation_running, ended = threading.Event(), []
    evaluator = gsm8k.pipeline.run_evaluator

    def slow_sft_evaluator(model, task, data_file, output_dir, **settings):
        # The greedy one alone: the sampled one may take the GPU slot GRPO waits for, and gives it back at once.
        if output_dir.name == "sft-cot-greedy":
            evaluation_running.set()
            assert failed.wait(30)  # still evaluating when GRPO fails
        try:
            return evaluator(model, task, data_file, output_dir, **settings)
        finally:
            ended.append((output_dir.name, time.monotonic()))

    launches, failed = out_of_gpu_memory_once(monkeypatch, evaluation_running)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", slow_sft_evaluator)
    stages = shared_gpu.run_arm("cot")["stages"]
    assert [script for script, _ in launches] == ["sft.py", "grpo.py", "grpo.py"]
    sft_evaluations_ended = max(at for name, at in ended if name.startswith("sft-"))
    assert launches[2][1] >= sft_evaluations_ended  # alone beside no evaluation of its own arm
    restart = stages["grpo"]["out_of_memory_restart"]
    kept = shared_gpu.tmp_path / "logs" / "grpo-cot.out-of-memory.log"
    assert restart["log"] == str(kept) and "CUDA error: out of memory" in kept.read_text()
    assert restart["beside"] == "the sft model's evaluation"
    assert restart["seconds_lost"] >= 0 and stages["grpo"]["steps"] == 3
    said = [line for line in capsys.readouterr().out.splitlines() if "ran out of GPU memory" in line]
    assert len(said) == 1 and re.fullmatch(
        r"chain of thought: GRPO ran out of GPU memory after \d+ s beside the sft model's evaluation; it starts "
        rf"again once that has ended \(the failed launch's log: {re.escape(str(kept))}\)",
        said[0],
    )


def test_grpo_out_of_gpu_memory_beside_an_evaluation_that_fails_too_is_not_launched_again(shared_gpu, monkeypatch):
    evaluation_running, evaluator = threading.Event(), gsm8k.pipeline.run_evaluator

    def failing_sft_evaluator(model, task, data_file, output_dir, **settings):
        if output_dir.name == "sft-cot-greedy":  # as above: not the sampled one, which may hold GRPO's GPU slot
            evaluation_running.set()
            assert failed.wait(30)
            raise RuntimeError("the evaluation ran out of GPU memory too")
        return evaluator(model, task, data_file, output_dir, **settings)

    launches, failed = out_of_gpu_memory_once(monkeypatch, evaluation_running)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", failing_sft_evaluator)
    with pytest.raises(RuntimeError, match="the evaluation ran out of GPU memory too"):
        shared_gpu.run_arm("cot")
    assert [script for script, _ in launches] == ["sft.py", "grpo.py"]  # no second GRPO after the arm failed


def test_grpo_out_of_gpu_memory_with_no_evaluation_beside_it_fails_the_arm(shared_gpu, monkeypatch):
    from open_r1.utils.launch import LaunchFailed

    out_of_gpu_memory_once(monkeypatch)
    shared_gpu.run["arms_at_once"] = False  # GRPO starts after the SFT model's evaluation: a restart would fail alike
    with pytest.raises(LaunchFailed):
        shared_gpu.run_arm("cot")
    assert not (shared_gpu.tmp_path / "logs" / "grpo-cot.out-of-memory.log").exists()


def test_the_compiled_grpo_launch_parses_with_the_chain_of_thought_recipe_into_what_compiling_needs():
    """What the `cot` lease plan launches: the recipe with make gsm8k's compiled overrides, as grpo.py parses them
    (on this CPU with the CPU's precision added, which the parser needs without a GPU)."""
    training = gpu_grpo_launch_as_parsed(compile_generation=True)
    assert training.compile_generation and training.max_prompt_length == GSM8K_FULL.compiled_max_prompt_length
    # compile_generation refuses activation checkpointing (its hooks compile the step again each generation).
    assert not training.activation_checkpointing and not training.gradient_checkpointing
    assert not training.use_vllm and not training.use_transformers_continuous_batching


def test_the_tool_arms_grpo_decodes_ahead_on_a_gpu_with_transformers_and_keeps_trls_rounds_elsewhere():
    """GSM8KSettings.grpo_tool_rollout_chunk_tokens reaches the GRPO launch of an arm whose GRPO recipe calls tools, on a
    GPU without vLLM: not its SFT, not the chain-of-thought arm, not on a CPU (where re-reading each call's context
    costs more than the decode steps saved), not under vLLM (where grpo.py would refuse the field)."""
    gpu = {"settings": GSM8K_FULL, "device": "cuda", "fast": False}
    chunk = ("--tool_rollout_chunk_tokens", "96")
    assert gsm8k_launch.stage_overrides("grpo", "tools", gpu) == chunk
    assert gsm8k_launch.stage_overrides("sft", "tools", gpu) == ()
    assert gsm8k_launch.stage_overrides("grpo", "cot", gpu) == ()
    assert chunk[0] not in gsm8k_launch.stage_overrides("grpo", "tools", {**gpu, "device": "cpu"})
    assert chunk[0] not in gsm8k_launch.stage_overrides("grpo", "tools", {**gpu, "use_vllm": True})
    rounds = dataclasses.replace(GSM8K_FULL, grpo_tool_rollout_chunk_tokens=None)
    assert gsm8k_launch.stage_overrides("grpo", "tools", {**gpu, "settings": rounds}) == ()
    # As grpo.py parses the launches: decoding ahead, and under vLLM none of it (the parser refuses the field there).
    assert gpu_grpo_launch_as_parsed("tools").tool_rollout_chunk_tokens == 96
    assert gpu_grpo_launch_as_parsed("tools", compile_generation=True).tool_rollout_chunk_tokens == 96
    assert gpu_grpo_launch_as_parsed("tools", use_vllm=True).tool_rollout_chunk_tokens is None
    assert gpu_grpo_launch_as_parsed("cot").tool_rollout_chunk_tokens is None


def test_results_say_how_each_arms_grpo_generated():
    gpu = {"settings": GSM8K_FULL, "device": "cuda"}
    both = ("cot", "tools")
    ahead = "python tool rollouts decoded ahead in chunks of 96 tokens"
    assert gsm8k_launch.grpo_generation_used(gpu, both) == f"transformers, {ahead}"
    assert gsm8k_launch.grpo_generation_used({**gpu, "compile_generation": True}, both) == (
        f"transformers, compiled decode step, {ahead}"
    )
    assert gsm8k_launch.grpo_generation_used(gpu, ("cot",)) == "transformers"
    assert gsm8k_launch.grpo_generation_used({**gpu, "device": "cpu"}, both) == "transformers"
    assert gsm8k_launch.grpo_generation_used({**gpu, "use_vllm": True}, both) == "vLLM (colocated)"
    # Runs that differ only in how transformers decoded combine: the engine is what must be alike.
    assert gsm8k_combine.generation_engine(f"transformers, {ahead}") == "transformers"
    # results.json's chunk per arm is what the arm's GRPO trained with: none after its launch decoding ahead failed.
    assert gsm8k_launch.grpo_chunk_tokens_trained(gpu, "tools", {"steps": 3}) == 96
    assert gsm8k_launch.grpo_chunk_tokens_trained(gpu, "cot", {"steps": 3}) is None
    failed = {"generation_launch_failed": {"without": ["tool_rollouts_ahead"]}}
    assert gsm8k_launch.grpo_chunk_tokens_trained(gpu, "tools", failed) is None


@pytest.mark.parametrize("out_of_gpu_memory", [False, True])
def test_a_compiled_grpo_that_fails_starts_again_once_without_compiling_unless_out_of_gpu_memory(
    shared_gpu, monkeypatch, capsys, out_of_gpu_memory
):
    from open_r1.utils.launch import LaunchFailed

    launches, train = [], gsm8k.pipeline.train

    def compiled_fails(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches.append((script, overrides))
        if "--compile_generation" in overrides:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            log_file.write_text("torch._inductor.exc.InductorError: no compiler\n")
            raise LaunchFailed("it failed", out_of_gpu_memory=out_of_gpu_memory)
        return train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", compiled_fails)
    shared_gpu.run.update(compile_generation=True, arms_at_once=False)  # no evaluation beside it to wait for
    if out_of_gpu_memory:  # not the compilation's doing, so not retried here (launch_beside's rule applies)
        with pytest.raises(LaunchFailed):
            shared_gpu.run_arm("cot")
        assert [script for script, _ in launches] == ["sft.py", "grpo.py"]
        return
    stages = shared_gpu.run_arm("cot")["stages"]
    assert [script for script, _ in launches] == ["sft.py", "grpo.py", "grpo.py"]
    assert "--compile_generation" in launches[1][1] and "--compile_generation" not in launches[2][1]
    assert "--max_prompt_length" not in launches[2][1]  # the recipe's again: whole prompts
    failed = stages["grpo"]["generation_launch_failed"]
    kept = shared_gpu.tmp_path / "logs" / "grpo-cot.generation-failed.log"
    assert failed["log"] == str(kept) and "no compiler" in kept.read_text() and failed["seconds_lost"] >= 0
    assert failed["without"] == ["compile_generation"]
    assert stages["grpo"]["steps"] == 3
    said = [line for line in capsys.readouterr().out.splitlines() if "compiled decode step" in line]
    assert said == [
        f"chain of thought: GRPO failed after 0 s with a compiled decode step; it starts again without it, in TRL's "
        f"eager rounds (the failed launch's log: {kept})"
    ]


@pytest.mark.parametrize("compiled", [False, True])
def test_a_tool_arm_grpo_that_fails_decoding_ahead_starts_again_once_with_trls_eager_rounds(
    shared_gpu, monkeypatch, capsys, compiled
):
    """Decoding ahead had not run through make gsm8k on a GPU when it came in: a GRPO launch with it that fails (out
    of GPU memory aside) starts again without it, and without compiling, rather than losing a lease's tool arm."""
    from open_r1.utils.launch import LaunchFailed

    launches, train = [], gsm8k.pipeline.train

    def ahead_fails(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches.append(overrides)
        if "--tool_rollout_chunk_tokens" in overrides:
            raise LaunchFailed("it failed", out_of_gpu_memory=False)
        return train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", ahead_fails)
    shared_gpu.run.update(compile_generation=compiled, arms_at_once=False)
    stages = shared_gpu.run_arm("tools")["stages"]
    _, first, again = launches
    chunk = ("--tool_rollout_chunk_tokens", str(GSM8K_FULL.grpo_tool_rollout_chunk_tokens))
    assert first[first.index(chunk[0]) : first.index(chunk[0]) + 2] == chunk
    assert ("--compile_generation" in first) == compiled
    assert chunk[0] not in again and "--compile_generation" not in again
    ways = ["compile_generation"] * compiled + ["tool_rollouts_ahead"]
    assert stages["grpo"]["generation_launch_failed"]["without"] == ways
    said = ("a compiled decode step and tool rollouts decoded ahead; it starts again without them" if compiled
            else "tool rollouts decoded ahead; it starts again without it")  # fmt: skip
    kept = shared_gpu.tmp_path / "logs" / "grpo-tools.generation-failed.log"
    assert (
        f"python tool: GRPO failed after 0 s with {said}, in TRL's eager rounds (the failed launch's log: {kept})"
    ) in capsys.readouterr().out
    # A GRPO launch with neither (the chain of thought's, uncompiled) is not started again: its failure is the arm's.
    launches.clear()

    def grpo_fails(script, *arguments, cpu):
        launches.append(script)
        if script == "grpo.py":
            raise LaunchFailed("it failed", out_of_gpu_memory=False)
        return train(script, *arguments, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", grpo_fails)
    shared_gpu.run.update(compile_generation=False)
    with pytest.raises(LaunchFailed):
        shared_gpu.run_arm("cot")
    assert launches == ["sft.py", "grpo.py"]


def new_ways_in(overrides) -> bool:
    """Whether a launch's overrides take one of GRPO's new ways of generating (gsm8k_launch.NEW_GENERATION)."""
    return "--compile_generation" in overrides or "--tool_rollout_chunk_tokens" in overrides


def grpo_out_of_memory_beside_the_sft_evaluation(monkeypatch, compiled_fails: bool) -> list:
    """Stand-ins under which the first GRPO launch that is not refused (`compiled_fails`: any under
    --compile_generation fails at once) runs out of GPU memory while the SFT model's greedy evaluation runs, and every
    later one trains; returns the launches as they come, each (script, whether it takes a new way)."""
    from open_r1.utils.launch import LaunchFailed

    launches, train, ran_out = [], gsm8k.pipeline.train, threading.Event()
    evaluation_running, evaluator = threading.Event(), gsm8k.pipeline.run_evaluator

    def grpo_out_of_memory_once(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches.append((script, new_ways_in(overrides)))
        if script == "grpo.py" and compiled_fails and "--compile_generation" in overrides:
            raise LaunchFailed("it failed to compile")
        if script == "grpo.py" and not ran_out.is_set():
            assert evaluation_running.wait(30)
            ran_out.set()
            raise LaunchFailed("it ran out of GPU memory", out_of_gpu_memory=True)
        return train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu=cpu)

    def slow_sft_evaluator(model, task, data_file, output_dir, **settings):
        # The greedy one alone: the tool arm's sampled one may take the other GPU slot, and gives it back at once.
        if output_dir.name.startswith("sft-") and output_dir.name.endswith("-greedy"):
            evaluation_running.set()
            assert ran_out.wait(30)  # still evaluating when GRPO runs out of memory
        return evaluator(model, task, data_file, output_dir, **settings)

    monkeypatch.setattr(gsm8k.pipeline, "train", grpo_out_of_memory_once)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", slow_sft_evaluator)
    return launches


@pytest.mark.parametrize("arm", ["cot", "tools"])
def test_after_a_compiled_grpo_failed_its_out_of_gpu_memory_restart_runs_eagerly_too(shared_gpu, monkeypatch, arm):
    """In TRL's eager rounds: the chain of thought uncompiled, the tool arm neither compiled nor decoding ahead. The
    failed compilation's seconds are counted once, as the fallback's, not again in the restart's."""
    launches = grpo_out_of_memory_beside_the_sft_evaluation(monkeypatch, compiled_fails=True)
    offset, real_time = [0.0], time.time
    clock = types.SimpleNamespace(time=lambda: real_time() + offset[0], perf_counter=time.perf_counter)
    for module in (gsm8k, gsm8k_launch, gpu_jobs):
        monkeypatch.setattr(module, "time", clock)
    failing = gsm8k.pipeline.train

    def compiling_takes_1000_s(script, *arguments, cpu):
        if "--compile_generation" in arguments:
            offset[0] += 1000.0
        return failing(script, *arguments, cpu=cpu)

    monkeypatch.setattr(gsm8k.pipeline, "train", compiling_takes_1000_s)
    shared_gpu.run["compile_generation"] = True
    stages = shared_gpu.run_arm(arm)["stages"]
    # Compiled once only: the restart does not pay for the failed compilation again.
    assert launches == [("sft.py", False), ("grpo.py", True), ("grpo.py", False), ("grpo.py", False)]
    failed, restart = stages["grpo"]["generation_launch_failed"], stages["grpo"]["out_of_memory_restart"]
    assert failed["seconds_lost"] >= 1000 > restart["seconds_lost"]


def test_an_out_of_gpu_memory_restart_before_any_other_failure_keeps_the_new_ways(shared_gpu, monkeypatch):
    """Out of GPU memory beside the SFT model's evaluation is not the new ways' doing: the tool arm's GRPO starts again
    decoding ahead, and no launch is recorded as failed with it."""
    launches = grpo_out_of_memory_beside_the_sft_evaluation(monkeypatch, compiled_fails=False)
    stages = shared_gpu.run_arm("tools")["stages"]
    assert launches == [("sft.py", False), ("grpo.py", True), ("grpo.py", True)]
    assert "generation_launch_failed" not in stages["grpo"] and "out_of_memory_restart" in stages["grpo"]


def test_gpu_jobs_are_bounded_across_processes_only_where_they_share_a_gpu():
    import contextlib

    with contextlib.ExitStack() as stack:
        assert gsm8k.gpu_job_slots(stack, "cpu", arms_at_once=True) is None
        assert gsm8k.gpu_job_slots(stack, "cuda", arms_at_once=False) is None
        slots = gsm8k.gpu_job_slots(stack, "cuda", arms_at_once=True)
        assert all(slots.acquire(False, False) for _ in range(gsm8k.GPU_JOBS_AT_ONCE))
        assert slots.acquire(True, False) is False  # the next job waits, critical or not
        slots.release()
        assert slots.acquire(False, False) is True


GPU_RUN = REPO_ROOT / "docs" / "results" / "gsm8k-h100-2026-11-24"  # its evals/ as the run wrote them


def reusing_run(tmp_path, settings=GSM8K_FULL, problems: int = 1319, earlier_run=GPU_RUN) -> dict:
    """The run settings evaluate_stage reads, for a run of `problems` test problems reusing `earlier_run`."""
    return {
        "settings": settings,
        "reuse_base": earlier_run,
        "test_file": tmp_path / "gsm8k_test.jsonl",
        "test_calculations": {f"test-{index}": 2 for index in range(problems)},
        "max_new_tokens": {"cot": 256, "tools": 512},  # the GRPO recipes' max_completion_length
    }


def test_reuse_base_takes_an_earlier_runs_base_and_card_evaluations(tmp_path):
    run = reusing_run(tmp_path)
    run["train_file"] = tmp_path / "gsm8k_train.jsonl"
    tools = gsm8k.evaluate_stage(tmp_path / "never-loaded", "tools", "base", tmp_path, run, seed=0)
    assert tools["reused_from"] == str(GPU_RUN) and tools["greedy_pass@1"] == 0.0 and tools["tool_call_rate"] is None
    card = gsm8k.evaluate_card_protocol(tmp_path / "never-loaded", tmp_path, run, seed=0)
    assert round(100 * card["pass@1"], 2) == 2.05 and card["reused_from"] == str(GPU_RUN)
    assert "measured by an earlier run" in card_line({"card_protocol": card})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eval_samples": 4}, "has samples 2, this run 4"),
        ({"num_test": 8}, "has problems 1319, this run 8"),
    ],
)
def test_reuse_base_refuses_evaluations_of_other_settings_in_one_line(tmp_path, change, message):
    settings = dataclasses.replace(GSM8K_FULL, **change)
    run = reusing_run(tmp_path, settings, problems=change.get("num_test", 1319))
    with pytest.raises(UsageError, match=message):
        gsm8k.evaluate_stage(tmp_path, "cot", "base", tmp_path, run, seed=0)
    run["reuse_base"] = tmp_path / "absent"
    with pytest.raises(UsageError, match=r"--reuse_base: .*absent/evals/base-card/results.json not found"):
        gsm8k.evaluate_card_protocol(tmp_path, tmp_path, run, seed=0)


def test_a_run_whose_evaluations_decode_compiled_refuses_base_evaluations_decoded_otherwise(tmp_path):
    """The 2026-11-24 run's evaluations record no compile_decoding: they decoded uncompiled, before the option
    existed. A run with --compile_decoding does not take its arms' base evaluations; the card protocol's, which is
    never compiled, it does."""
    run = {**reusing_run(tmp_path), "compile_decoding": True, "train_file": tmp_path / "gsm8k_train.jsonl"}
    with pytest.raises(UsageError, match=r"base-cot-greedy/results.json has compile_decoding False, this run True"):
        gsm8k_evals.check_reusable(GPU_RUN, ("cot",), run, seed=0)
    assert gsm8k.evaluate_card_protocol(tmp_path / "never-loaded", tmp_path, run, seed=0)["reused_from"] == str(
        GPU_RUN
    )
    gsm8k_evals.check_reusable(GPU_RUN, ("cot",), {**run, "compile_decoding": False}, seed=0)


@pytest.mark.parametrize(
    ("seed", "changes", "message"),
    [
        (1, {}, r"base-card/results.json has seed 0, this run 1"),
        (0, {"max_new_tokens": {"cot": 48, "tools": 512}}, r"base-cot-greedy/results.json has max_new_tokens 256, "),
    ],
)
def test_reuse_base_refuses_base_evaluations_of_another_seed_or_token_budget(tmp_path, seed, changes, message):
    """A red team's: only the test file, samples, problems and decoding were compared."""
    run = {**reusing_run(tmp_path), **changes}
    with pytest.raises(UsageError, match=f"^--reuse_base: .*{message}"):
        gsm8k_evals.check_reusable(GPU_RUN, ("cot", "tools"), run, seed=seed)


@pytest.mark.parametrize(
    ("name", "field", "value", "message"),
    [
        (
            "base-tools-sampled",
            "model",
            "/elsewhere/Qwen2.5-0.5B-f32",
            r"has model Qwen2.5-0.5B-f32, this run base-tools",
        ),
        ("base-cot-greedy", "system_prompt", "Answer.", r"has system_prompt 'Answer.', this run 'Solve the math"),
        ("base-card", "seed", "0", r"has seed '0', this run 0"),  # hand-typed: not the seed 0 it looks like
        ("base-cot-sampled", "truncated", None, r"is not JSON \(.*\); expected the evaluator's results.json$"),
        ("base-cot-sampled", "pass@1", None, r"has no pass@1 \(expected the evaluator's results.json\)"),
    ],
)
def test_reuse_base_refuses_an_evaluation_of_another_model_or_prompt_or_a_broken_file_in_one_line(
    tmp_path, name, field, value, message
):
    earlier = tmp_path / "earlier"
    shutil.copytree(GPU_RUN / "evals", earlier / "evals")
    path = earlier / "evals" / name / "results.json"
    results = json.loads(path.read_text())
    if field == "truncated":
        path.write_text(path.read_text()[:100])
    else:
        if value is None:
            del results[field]
        elif field == "model":
            results["model"] = value
        else:
            results["settings"][field] = value
        path.write_text(json.dumps(results))
    run = reusing_run(tmp_path, earlier_run=earlier)
    with pytest.raises(UsageError, match=f"^--reuse_base: {re.escape(str(path))} {message}"):
        gsm8k_evals.check_reusable(earlier, ("cot", "tools"), run, seed=0)


def test_the_command_refuses_a_reuse_base_folder_without_evaluations_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(gsm8k, "run", lambda *args: pytest.fail("the run started"))
    (tmp_path / "gsm8k-h100").mkdir()
    with pytest.raises(UsageError) as exited:
        gsm8k_cli.main(["--reuse_base", str(tmp_path / "gsm8k-h100"), "--output_dir", str(tmp_path / "out")])
    assert f"--reuse_base: {tmp_path / 'gsm8k-h100'} has no evals/ folder" in str(exited.value)


def test_an_earlier_run_misnamed_or_given_by_its_results_file_is_named_in_one_line(tmp_path, monkeypatch):
    """A red team's: a misspelt folder got no "did you mean", its results.json was refused, and --sft_only's conflict
    came after the folder's check."""
    started = []
    monkeypatch.setattr(gsm8k, "run", lambda *args: started.append(args))
    (tmp_path / "cot0" / "evals").mkdir(parents=True)
    (tmp_path / "cot0" / "results.json").write_text("{}")
    out = ["--output_dir", str(tmp_path / "out")]
    with pytest.raises(UsageError, match=r"^--reuse_sft: no such file or folder: .*cot00 \(did you mean .*cot0\?\)"):
        gsm8k_cli.main(["--reuse_sft", str(tmp_path / "cot00"), *out])
    with pytest.raises(UsageError, match=r"^--reuse_sft has no effect with --sft_only"):
        gsm8k_cli.main(["--sft_only", "--reuse_sft", str(tmp_path / "cot00"), *out])
    gsm8k_cli.main(["--reuse_base", str(tmp_path / "cot0" / "results.json"), *out])
    assert started[0][7] == tmp_path / "cot0", "the run's folder, as --combine takes it"


def test_the_evaluations_table_of_a_missing_or_runless_folder_is_one_line_naming_the_runs_inside(tmp_path):
    """A red team's: it printed an empty table and exited 0."""
    (tmp_path / "data" / "gsm8k" / "evals").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"^--evaluations_table: no such file or folder: .*gsm8 \(did you mean"):
        gsm8k_cli.main(["--evaluations_table", str(tmp_path / "data" / "gsm8")])
    with pytest.raises(
        UsageError,
        match=rf"^--evaluations_table: {tmp_path / 'data'} has no evals/ folder .*; did you mean .*gsm8k\?$",
    ):
        gsm8k_cli.main(["--evaluations_table", str(tmp_path / "data")])


def test_a_reuse_base_of_other_settings_is_refused_before_anything_loads(tmp_path, monkeypatch):
    # A FAST run scores 4 test problems; the GPU run's base evaluations scored 1,319.
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: pytest.fail("the model was loaded"))
    row = {"problem": "1 + 1?", "solution": "1+1 = <<1+1=2>>2\n#### 2", "answer": "2"}
    test = tmp_path / "gsm8k_test.jsonl"
    test.write_text("".join(json.dumps({"id": f"test-{index}", **row}) + "\n" for index in range(4)))
    with pytest.raises(UsageError, match=r"--reuse_base: .*base-card/results.json has problems 1319, this run 4"):
        gsm8k.run(tmp_path / "out", ("cot", "tools"), seed=0, fast=True, train_file=test, test_file=test,
                  reuse_base=GPU_RUN)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_a_full_run_refuses_a_fast_runs_base_evaluations(tmp_path):
    # A FAST run scores 4 problems with the same samples and test file name as a full run.
    fast_run = tmp_path / "gsm8k-fast"
    shutil.copytree(GPU_RUN / "evals", fast_run / "evals")
    for results_file in (fast_run / "evals").glob("*/results.json"):
        results = json.loads(results_file.read_text())
        results_file.write_text(json.dumps({**results, "num_problems": 4}))
    run = reusing_run(tmp_path, earlier_run=fast_run)
    with pytest.raises(UsageError, match=r"base-tools-greedy/results.json has problems 4, this run 1319"):
        gsm8k.evaluate_stage(tmp_path, "tools", "base", tmp_path, run, seed=0)
    with pytest.raises(UsageError, match=r"base-card/results.json has problems 4, this run 1319"):
        gsm8k.evaluate_card_protocol(tmp_path, tmp_path, run, seed=0)


# The docs give the breakdown by calculations from the test set's worked solutions, beside the checkout.
SHARED_TEST_FILE = "../shared/data/gsm8k_test.jsonl"
# The table of greedy completions that repeat a line, from the kept details alone.
REPEATING = "Greedy completions that write one line three times"
# The completions cut at the token budget by calculations, from details that kept finish reasons.
CUT = "Cut at the token budget, by the same count"
# A chain-of-thought arm to its end with its greedy details kept: the goal, its change paired by problem, every table.
WHOLE_ARM_SECTIONS = [
    "The goals",
    "Greedy pass@1 by calculations",
    "Calculations written",
    "Problem by problem",
    CUT,
    REPEATING,
]


@pytest.mark.parametrize(
    ("run", "evaluations", "sections"),
    [
        ("gsm8k-h100-2026-11-24", 9, ["The goals"]),  # the card and 4 evaluations of each of base and SFT
        ("gsm8k-h100-2026-11-24-grpo", 7, ["The goals"]),  # SFT without the tool arm's sampled one, and GRPO
        # The chain-of-thought SFT alone (no goal to read without the base); its greedy details kept, gzipped.
        ("gsm8k-h100-2026-11-27-cot", 2, ["Greedy pass@1 by calculations", "Calculations written", CUT, REPEATING]),
        # The chain-of-thought arm to its end: the goal, with its change paired by problem from both details.
        (
            "gsm8k-h100-2026-11-27-cot-2",
            4,
            WHOLE_ARM_SECTIONS,
        ),
        # The same with GRPO's decode step compiled: 80 GRPO steps where the uncompiled run trained 36.
        (
            "gsm8k-h100-2026-11-27-cot-compiled",
            4,
            WHOLE_ARM_SECTIONS,
        ),
        # The tool arm's SFT, its greedy evaluation alone (the lease ended in the sampled one), details gzipped.
        (
            "gsm8k-h100-2026-11-27-tools-sft",
            1,
            ["Greedy pass@1 by calculations", "Calculations written", CUT, REPEATING],
        ),
    ],
)
def test_the_gpu_runs_tables_in_the_docs_are_the_ones_their_results_files_give(
    capsys, monkeypatch, run, evaluations, sections
):
    monkeypatch.chdir(REPO_ROOT)
    by_calculations = "Greedy pass@1 by calculations" in sections
    if by_calculations and not pathlib.Path(SHARED_TEST_FILE).is_file():
        pytest.skip(f"{SHARED_TEST_FILE} is not here (the table without it: the other runs)")
    gsm8k_cli.main(["--evaluations_table", f"docs/results/{run}", "--test_file", SHARED_TEST_FILE])
    printed = capsys.readouterr().out.strip()
    page = (REPO_ROOT / "docs" / "gsm8k.md").read_text(encoding="utf-8")
    block = page.split(f"<!-- {run}: begin -->\n")[1].split(f"\n<!-- {run}: end -->")[0]
    assert block == printed, "the tables as the evaluations give them, not typed"
    table, *rest = printed.split("\n\n")
    assert len(table.splitlines()) == 2 + evaluations
    headings, tables = rest[0::2], rest[1::2]
    assert len(headings) == len(sections) and all(map(str.startswith, headings, sections)), headings
    assert all(section.startswith("| ") for section in tables)


def test_the_tool_arms_sft_lead_over_the_chain_of_thought_is_quoted_from_their_read_details():
    # Two SFT models of two leases (2026-11-27), each greedy on all of GSM8K-test, paired by problem.
    results = REPO_ROOT / "docs" / "results"
    cot = read_details(results / "gsm8k-h100-2026-11-27-cot-compiled" / "evals" / "sft-cot-greedy")
    tools = read_details(results / "gsm8k-h100-2026-11-27-tools-sft" / "evals" / "sft-tools-greedy")
    change = greedy_change(cot, tools)
    lead = (change["gained"] - change["lost"]) / change["problems"]
    page = " ".join((REPO_ROOT / "docs" / "gsm8k.md").read_text(encoding="utf-8").split())
    quoted = f"{100 * lead:.1f} ± {100 * change['stderr']:.1f}"
    assert f"8.9% (2026-11-27, {quoted} points above the chain of thought's SFT paired by problem)" in page
    assert (
        f"{quoted} points above it: it solves {change['gained']} problems that one does not and misses "
        f"{change['lost']} that one solves"
    ) in page
    solved = sum(row["correct"] for row in tools)
    assert f"**The tool arm's SFT model, greedy: {100 * solved / len(tools):.1f}% ± 0.8** ({solved} of 1,319)" in page
    cot_score = 100 * sum(row["correct"] for row in cot) / len(cot)
    assert f"with the chain of thought's SFT model of the third `cot` lease ({cot_score:.1f}%)" in page


def test_the_out_of_tokens_page_quotes_the_cuts_on_the_longest_problems_from_the_read_details():
    from open_r1.demo.gsm8k_calculations import calculations_by_id, pass_by_calculations
    from open_r1.tasks.gsm8k import load_rows

    if not pathlib.Path(SHARED_TEST_FILE).is_file():
        pytest.skip(f"{SHARED_TEST_FILE} is not here (the worked solutions the count reads)")
    calculations_of = calculations_by_id(load_rows(pathlib.Path(SHARED_TEST_FILE)))
    results = REPO_ROOT / "docs" / "results"

    def cut_on_the_longest(run: str, name: str) -> tuple[str, str]:
        details = read_details(results / f"gsm8k-h100-2026-11-27-{run}" / "evals" / name)
        longest = pass_by_calculations(details, calculations_of)["≥5"]
        return f"{100 * longest['out_of_tokens']:.1f}%", f"{100 * longest['out_of_tokens_not_repeating']:.1f}%"

    (tools_cut, tools_unlooped), (cot_cut, cot_unlooped) = (
        cut_on_the_longest("tools-sft", "sft-tools-greedy"),
        cut_on_the_longest("cot-compiled", "sft-cot-greedy"),
    )
    page = " ".join((REPO_ROOT / "docs" / "gsm8k.md").read_text(encoding="utf-8").split())
    assert (
        f"is cut on {tools_cut} of the problems of 5 or more calculations, {tools_unlooped} without repeating a line, "
        f"where the chain of thought's (third lease) is cut on {cot_cut}, {cot_unlooped} without"
    ) in page


def test_the_fidelity_page_quotes_the_card_protocols_gpu_run_from_its_results_file():
    results = json.loads(
        (REPO_ROOT / "docs" / "results" / "gsm8k-h100-2026-11-24" / "evals" / "base-card" / "results.json").read_text()
    )
    score, stderr, problems = results["pass@1"], results["pass@1_stderr"], results["num_problems"]
    page = (REPO_ROOT / "docs" / "gsm8k_fidelity.md").read_text(encoding="utf-8")
    quoted = f"**{100 * score:.1f}% ± {100 * stderr:.1f}** ({round(score * problems)} of {problems:,}) against"
    assert quoted in page
    assert f"{(score - 0.014) / stderr:.1f} standard errors above, **within 2 standard errors**" in page
    assert f"give {100 * score:.1f}% ± {100 * stderr:.1f} on all\n{problems:,}." in page


def gsm8k_row(row_id: str, steps: int) -> dict:
    """A GSM8K row whose worked solution has `steps` calculations (1+1, 2+1, ...) and whose answer is the last."""
    lines = [f"Then {n}+1 = <<{n}+1={n + 1}>>{n + 1}." for n in range(1, steps + 1)]
    return {
        "id": row_id,
        "problem": f"Count {steps} times.",
        "solution": "\n".join([*lines, f"#### {steps + 1}"]),
        "answer": str(steps + 1),
    }


def test_grpo_prompts_are_the_rows_with_at_most_the_settings_calculations_and_sft_keeps_every_row(tmp_path):
    from datasets import load_from_disk

    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row(str(steps), steps) for steps in (1, 2, 3, 5, 2)])
    settings = dataclasses.replace(GSM8K_FULL, grpo_max_calculations=2)
    data = gsm8k.build_datasets(tmp_path / "datasets", train, settings)
    assert load_from_disk(str(data["grpo"]))["train"]["id"] == ["1", "2", "2"]
    assert len(load_from_disk(str(data["sft_tools"]))["train"]) == 5
    assert (data["conversion"]["grpo_prompts"], data["conversion"]["grpo_max_calculations"]) == (3, 2)
    everything = gsm8k.build_datasets(
        tmp_path / "all", train, dataclasses.replace(settings, grpo_max_calculations=None)
    )
    assert everything["conversion"]["grpo_prompts"] == 5


def test_a_runs_options_are_in_its_results_and_its_command(tmp_path, monkeypatch):
    """`run` to its results.json with the arm's jobs stood in for (their outcome a recorded run's): what the options
    chose is written down, so that the report's command and `--combine` can say how each arm trained."""
    from tests.support.demo_results import GSM8K_CARD, gsm8k_results

    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row(str(steps), steps) for steps in (1, 2, 3, 5, 2)])
    recorded = gsm8k_results({"cot": {"base": 0.0, "sft": 0.05, "grpo": 0.06}}, ("cot",))
    outcome = {key: recorded[field]["cot"] for key, field in (("stages", "arms"), ("curves", "grpo_curves"))}
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "model", recorded["model_origin"]))
    monkeypatch.setattr(gsm8k, "count_parameters", lambda model: recorded["model_parameters"])
    monkeypatch.setattr(
        gsm8k.pipeline,
        "run_jobs",
        lambda jobs, logs, at_once: {"card": GSM8K_CARD, "cot": {**outcome, "held_out": recorded["held_out"]["cot"]}},
    )
    options = {"grpo_max_steps": 40, "grpo_learning_rate": 3e-5, "grpo_max_calculations": 3, "grpo_num_generations": 4}
    gsm8k.run(tmp_path / "out", ("cot",), seed=0, fast=True, train_file=train, test_file=train, **options)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {name: results[name] for name in options} == options
    # The commit at the end beside the start's: the stages ran as new processes, at whatever was checked out then.
    assert results["commit_at_end"] == gsm8k.git_commit()
    # On this CPU GRPO generates in TRL's rounds (decoding ahead is a GPU's).
    assert (results["grpo_generation"], results["grpo_tool_rollout_chunk_tokens"]) == ("transformers", {"cot": None})
    # GRPO's prompts are the 4 rows of at most 3 calculations, not the settings' 2 (3 rows).
    assert (results["conversion"]["grpo_prompts"], results["conversion"]["grpo_max_calculations"]) == (4, 3)
    report = (tmp_path / "out" / "report.md").read_text()
    assert (
        "`make gsm8k ARM=cot SEED=0 FAST=1 GRPO_STEPS=40 GRPO_LR=3e-05 GRPO_GENERATIONS=4 GRPO_CALCULATIONS=3`"
        in report
    )


def test_no_grpo_prompt_left_by_the_calculation_limit_ends_the_run_in_one_line_naming_the_setting(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row("hard", 4)])
    settings = dataclasses.replace(GSM8K_FULL, grpo_max_calculations=2)
    with pytest.raises(
        UsageError,
        match=r"GRPO prompts of at most 2 calculations \(--grpo_max_calculations, .*\): none of the 1 GSM8K-train rows",
    ):
        gsm8k.build_datasets(tmp_path / "datasets", train, settings)


def earlier_run_folder(folder: pathlib.Path) -> dict[str, str]:
    """An earlier run's output folder: its results, report, an evaluation, a curve; returns what each file holds."""
    files = {
        "results.json": "{}",
        "report.md": "r",
        "evals/base-card/results.json": "{}",
        "curves-cot.png": "png",
        "grpo-cot/model.safetensors": "weights",
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return files


def test_a_run_that_refuses_its_training_data_leaves_the_earlier_runs_folder_as_it_was(tmp_path, monkeypatch):
    """A red team's: the refusal of no GRPO prompt came after the earlier run's results were deleted."""
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "smollm2", {}))
    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row("hard", 4)])
    files = earlier_run_folder(tmp_path / "V")
    with pytest.raises(UsageError, match=r"GRPO prompts of at most 1 calculations"):
        gsm8k.run(tmp_path / "V", ("cot",), seed=0, fast=True, train_file=train, test_file=train,
                  grpo_max_calculations=1)  # fmt: skip
    # --sft_only converts as a run does, GRPO's prompts included (FAST's: at most 2 calculations).
    with pytest.raises(UsageError, match=r"GRPO prompts of at most 2 calculations"):
        gsm8k.sft_only(tmp_path / "V", ("cot",), 0, True, train)
    assert {name: (tmp_path / "V" / name).read_text() for name in files} == files


def test_a_reuse_sft_of_other_training_data_is_refused_before_the_output_folder_is_emptied(tmp_path, monkeypatch):
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "smollm2", {}))
    monkeypatch.setattr(gsm8k, "check_reusable_sft", lambda *args: {"conversion": {"rows": 99}})
    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row("0", 1), gsm8k_row("1", 2)])
    files = earlier_run_folder(tmp_path / "V")
    with pytest.raises(UsageError, match=r"--reuse_sft: .* trained SFT on other data \(conversion: "):
        gsm8k.run(tmp_path / "V", ("cot",), seed=0, fast=True, train_file=train, test_file=train,
                  reuse_sft=tmp_path / "earlier")  # fmt: skip
    assert {name: (tmp_path / "V" / name).read_text() for name in files} == files


def test_sft_only_into_a_finished_runs_folder_removes_and_names_its_grpo_models_and_curves(
    tmp_path, monkeypatch, capsys
):
    """The GRPO models and curves of the earlier run were trained from the SFT this run replaces."""
    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "smollm2", {}))
    monkeypatch.setattr(gsm8k.pipeline, "train", lambda *args, **kwargs: 1.0)
    train = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row("0", 1), gsm8k_row("1", 2)])
    earlier_run_folder(tmp_path / "V")
    gsm8k.sft_only(tmp_path / "V", ("cot",), 0, True, train)
    assert not (tmp_path / "V" / "grpo-cot").exists() and not (tmp_path / "V" / "curves-cot.png").exists()
    assert "(results.json, report.md, evals, grpo-cot, curves-cot.png)" in capsys.readouterr().out


def test_the_evaluations_table_breaks_down_the_greedy_evaluations_that_kept_their_details(tmp_path, capsys):
    test = write_jsonl(tmp_path / "test.jsonl", [gsm8k_row("0", 2), gsm8k_row("1", 2), gsm8k_row("2", 3)])
    for name, verdicts in (("sft-tools-greedy", [True, False, True]), ("grpo-tools-greedy", [True, True, False])):
        folder = tmp_path / "run" / "evals" / name
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(
            json.dumps({"pass@1": 0.5, "pass@1_stderr": 0.1, "num_samples": 1, "num_problems": 3, "settings": {}})
        )
        # The SFT model writes out every step ("Then 1+1 = 2."), the GRPO model one.
        steps = {"0": 2, "1": 2, "2": 3} if name.startswith("sft") else {"0": 1, "1": 1, "2": 1}
        rows = [
            {"id": str(i), "correct": v, "completion": " ".join(["x ="] * steps[str(i)]) + "\n<answer>"}
            for i, v in enumerate(verdicts)
        ]
        if name.startswith("sft"):  # the SFT model's with their finish reasons, the GRPO model's without
            write_jsonl(folder / "details.jsonl", [{**row, "finish_reason": "stop"} for row in rows])
        else:  # gzipped, as docs/results keeps them
            with gzip.open(folder / "details.jsonl.gz", "wt", encoding="utf-8") as kept:
                kept.writelines(json.dumps(row) + "\n" for row in rows)
    gsm8k_cli.main(["--evaluations_table", str(tmp_path / "run"), "--test_file", str(test)])
    printed = capsys.readouterr().out
    assert "| stage | arm | 2 (2 problems) | 3 (1 problems) |" in printed
    assert "| sft | python tool | 50.0% | 100.0% |" in printed and "| grpo | python tool | 100.0% | 0.0% |" in printed
    written, paired = printed.split("Calculations written out per completion")[1].split("Problem by problem")
    # Problem 2 (3 calculations), solved by SFT only, where GRPO wrote 2 fewer than the worked solution.
    assert "| python tool | GRPO lost | 1 | +0.00 | -2.00 |" in paired
    assert "| python tool | both solved | 1 | +0.00 | -1.00 |" in paired
    assert "| python tool | neither solved | 0 | - | - |" in paired
    assert "| GSM8K worked solution |  | 2.00 | 3.00 |" in written  # gsm8k_row writes one `=` a calculation
    assert "| sft | python tool | 2.00 | 3.00 |" in written and "| grpo | python tool | 1.00 | 1.00 |" in written
    assert "Not paired" not in printed
    # Of the completions that ended (none was cut), none repeats a line; the GRPO details predate the count.
    repeating = printed.split("Greedy completions that write one line three times or more")[1]
    assert "| sft | python tool | 0 | - | 3 | 0 (0%) | 0 |" in repeating
    assert "\n\nRepeated lines not counted for grpo python tool: their details have no finish reasons." in repeating
    # A GRPO evaluation without its SFT model's details beside it (as with --reuse_sft) is named, not left out.
    cot = tmp_path / "run" / "evals" / "grpo-cot-greedy"
    cot.mkdir()
    write_jsonl(cot / "details.jsonl", [{"id": str(i), "correct": False, "completion": "x"} for i in range(3)])
    greedy = kept_greedy_details(tmp_path / "run")
    tables = gsm8k.evaluations_calculations_table(tmp_path / "run", test, greedy)
    assert "\n\nNot paired for chain of thought: the greedy details of its SFT and GRPO models" in tables
    write_jsonl(test, [gsm8k_row("0", 2)])
    with pytest.raises(UsageError, match=r"problem id\(s\) \['1', '2'\] are not in .*test.jsonl"):
        gsm8k.evaluations_calculations_table(tmp_path / "run", test, greedy)
    # What a run's options would change is not what the table reads: refused, not ignored.
    with pytest.raises(UsageError, match=r"^--grpo_learning_rate has no effect with --evaluations_table"):
        gsm8k_cli.main(["--evaluations_table", str(tmp_path / "run"), "--grpo_learning_rate", "3e-5"])


def write_evaluation(run, name: str, pass_at_1: float, problems: int = 1319, fewshot: int = 0) -> None:
    folder = run / "evals" / name
    folder.mkdir(parents=True)
    results = {"pass@1": pass_at_1, "pass@1_stderr": 0.008, "num_samples": 1, "num_problems": problems}
    (folder / "results.json").write_text(json.dumps({**results, "settings": {"num_fewshot": fewshot}}))


def test_the_evaluations_of_a_run_cut_short_give_the_goals_they_show(tmp_path):
    run = tmp_path / "run"
    write_evaluation(run, "sft-cot-greedy", 0.055)
    assert gsm8k_evaluations_goals(run) == "", "no GRPO evaluation, no goal"
    write_evaluation(run, "base-card", 0.0205, fewshot=5)
    assert gsm8k_evaluations_goals(run).splitlines()[2].startswith("| base model, the card's 5-shot protocol")
    write_evaluation(run, "grpo-cot-greedy", 0.08)
    write_evaluation(run, "sft-tools-greedy", 0.086)
    assert "| chain of thought: GRPO ≥ SFT + 2 points | 5.5% → 8.0% (+2.5) | yes |" in gsm8k_evaluations_goals(run)
    assert "python tool" not in gsm8k_evaluations_goals(run), "the tool arm's GRPO model was not evaluated"
    for name, solved in (("sft-cot-greedy", {0, 1}), ("grpo-cot-greedy", {1, 2, 3})):  # their details, paired
        write_jsonl(run / "evals" / name / "details.jsonl", [{"id": str(i), "correct": i in solved} for i in range(4)])
    goal = "| chain of thought: GRPO ≥ SFT + 2 points | 5.5% → 8.0% (+2.5 ± 47.9 paired: 2 problems gained, 1 lost) |"
    assert goal in gsm8k_evaluations_goals(run)
    write_evaluation(run, "grpo-tools-greedy", 0.099)
    goals = gsm8k_evaluations_goals(run)
    assert "| after GRPO, python tool ≥ chain of thought + 3 points | 8.0% → 9.9% (+1.9) | **no** |" in goals
    assert "minutes of one GPU" not in goals, "evaluations alone say nothing of the run's time"
    write_evaluation(run, "base-cot-greedy", 0.0, problems=4)  # not read: no goal is on the base stage
    (run / "evals" / "sft-cot-greedy" / "results.json").write_text(
        json.dumps({"pass@1": 0.0, "pass@1_stderr": 0.0, "num_samples": 1, "num_problems": 4, "settings": {}})
    )
    with pytest.raises(UsageError, match=r"run/evals: evaluations of \[4, 1319\] problems"):
        gsm8k_evaluations_goals(run)


def test_the_share_of_completions_out_of_tokens_is_reported_where_the_evaluator_recorded_it(tmp_path, capsys):
    greedy, sampled = {"stop": 2, "length": 1, "tool_rounds": 1}, {"stop": 3, "length": 1, "tool_rounds": 0}
    assert out_of_tokens_share(greedy) == 0.25 and out_of_tokens_share(greedy, sampled) == 0.25
    assert out_of_tokens_share(greedy, None) is None  # an earlier run's evaluation, from before it was recorded
    results = {"pass@1": 0.5, "pass@1_stderr": 0.1, "num_samples": 2, "num_problems": 4, "settings": {}}
    for name, reasons in (("sft-tools-greedy", None), ("grpo-tools-greedy", {"stop": 3, "length": 1})):
        folder = tmp_path / "run" / "evals" / name
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({**results, "finish_reasons": reasons}))
    table = gsm8k.gsm8k_evaluations_table(tmp_path / "run")
    assert table.splitlines()[0].endswith("| problems | out of tokens |")
    assert table.splitlines()[2].endswith("| 4 | - |") and table.splitlines()[3].endswith("| 4 | 25.0% |")
    (tmp_path / "run" / "evals" / "grpo-tools-greedy" / "results.json").write_text(json.dumps(results))
    assert gsm8k.gsm8k_evaluations_table(tmp_path / "run").splitlines()[0].endswith("| problems |")


def test_fast_is_small_and_full_evaluates_every_test_problem():
    assert GSM8K_FULL.num_test is None and GSM8K_FULL.num_train is None and GSM8K_FULL.eval_samples >= 2
    assert GSM8K_FAST.num_test <= 8 and GSM8K_FAST.num_train <= 32 and GSM8K_FAST.eval_max_new_tokens <= 64


def test_the_tool_arms_base_model_is_smollm2_with_the_tool_calling_template(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    from open_r1.tools.chat import CHATML_TOOLS_TEMPLATE, check_tool_template

    if not (SMOLLM2 / "model.safetensors").is_file():
        pytest.skip(f"{SMOLLM2} is absent (python scripts/get_model.py smollm2)")
    folder = gsm8k.tool_template_model(SMOLLM2, tmp_path / "base-tools")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.chat_template == CHATML_TOOLS_TEMPLATE
    check_tool_template(tokenizer)
    assert (folder / "model.safetensors").resolve() == (SMOLLM2 / "model.safetensors").resolve()
    assert AutoConfig.from_pretrained(folder).num_hidden_layers == 30


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_gsm8k_fast_runs_both_arms_through_every_stage_and_writes_its_report(tmp_path, shared_gsm8k_options):
    output_dir = tmp_path / "gsm8k"
    # Both arms at once, each in its own process, as on a GPU, under a time budget that cuts nothing.
    results = gsm8k_cli.main(
        [
            "--fast",
            "--arms_at_once",
            "--time_budget_minutes",
            "120",
            "--output_dir",
            str(output_dir),
            *shared_gsm8k_options,
        ]
    )
    assert set(results["arms"]) == set(gsm8k.ARMS)
    for arm in gsm8k.ARMS:
        assert set(results["arms"][arm]) == set(STAGES)
        for stage in STAGES:
            values = results["arms"][arm][stage]
            for kind in ("greedy", "sampled"):
                assert 0.0 <= values[f"{kind}_pass@1"] <= 1.0 and values[f"{kind}_pass@1_stderr"] >= 0.0
            assert (values["tool_call_rate"] is None) == (arm == "cot")
            assert 0.0 <= values["out_of_tokens_rate"] <= 1.0
            details = output_dir / "evals" / f"{stage}-{arm}-sampled" / "details.jsonl"
            rows = [json.loads(line) for line in details.open()]
            assert len(rows) == GSM8K_FAST.num_test * GSM8K_FAST.eval_samples
        # The calculations written out, counted from the evaluator's own completions (the tool arm's rollouts), and
        # paired problem by problem from SFT to GRPO.
        by_calculations = results["arms"][arm]["sft"]["by_calculations"]["greedy"]
        assert all(values["worked_calculations_written"] >= 1 for values in by_calculations.values()), by_calculations
        outcomes = results["arms"][arm]["grpo"]["written_by_outcome"]
        assert sum(values["problems"] for values in outcomes.values()) == GSM8K_FAST.num_test, outcomes
        # Every greedy completion either cut at the token budget or ended, from the evaluator's finish reasons.
        counts = results["arms"][arm]["sft"]["repetition"]["greedy"]
        assert counts["out_of_tokens"] + counts["ended"] == GSM8K_FAST.num_test, counts
        assert results["grpo_curves"][arm]["accuracy_reward"], f"{arm}: GRPO logged no step"
        grpo = results["arms"][arm]["grpo"]
        # two steps of one generation: the second decodes nothing
        assert grpo["steps"] == grpo["max_steps"] == 2 and 60 < grpo["max_run_minutes"] < 120
        history = json.loads((output_dir / f"grpo-{arm}" / "trainer_state.json").read_text())["log_history"]
        rounds = [entry["profile/decoding_rounds"] for entry in history if "profile/decoding_rounds" in entry]
        assert rounds[0] >= 1 and rounds[1] == 0 and grpo["step_profile"]["log_entries"] == 2
        assert grpo["groups_without_spread"]["log_entries"] == 1  # TRL's frac_reward_zero_std of the one generation
        assert grpo["importance_ratio_clipped"]["log_entries"] == 1  # the second step, on the same generation
        assert (output_dir / f"curves-{arm}.png").stat().st_size > 0
    assert results["arms_at_once"] is True
    card = results["card_protocol"]
    assert 0.0 <= card["pass@1"] <= 1.0 and card["shots"] == 5
    rows = [json.loads(line) for line in (output_dir / "evals" / "base-card" / "details.jsonl").open()]
    assert len(rows) == GSM8K_FAST.num_test and "Question:" in json.dumps(rows[0])
    for arm, other in (("cot", "tools"), ("tools", "cot")):  # each arm's output, its launches' too, in its own log
        log = (output_dir / "logs" / f"{arm}.log").read_text()
        assert f"config_gsm8k_{arm}.yaml" in log and f"config_gsm8k_{other}" not in log
    assert "card's 5-shot protocol" in (output_dir / "logs" / "card.log").read_text()
    assert results["test_problems"] == GSM8K_FAST.num_test and results["fast"] is True
    assert results["conversion"]["rows"] == GSM8K_FAST.num_train
    saved = json.loads((output_dir / "results.json").read_text())
    assert saved["arms"] == results["arms"] and saved["conversion"] == results["conversion"]
    report = (output_dir / "report.md").read_text()
    assert "| python tool | grpo |" in report and "nanochat d20" in report and "FAST" in report
    assert "| GSM8K worked solution |" in report.split("Calculations written out per completion")[1]
    assert "the run's time budget was 120 minutes" in report and "A GRPO step's time" in report


def test_a_missing_data_file_is_named_with_the_close_existing_ones(tmp_path):
    (tmp_path / "gsm8k_train.jsonl").write_text("")
    with pytest.raises(UsageError, match=r"--train_file: no such file or folder: .*gsm8k_trian.jsonl \(did you mean"):
        gsm8k.check_data_file(tmp_path / "gsm8k_trian.jsonl", "--train_file")
    with pytest.raises(UsageError, match=r"--test_file: .* is not a file"):
        gsm8k.check_data_file(tmp_path, "--test_file")


def test_sft_only_trains_each_arms_sft_as_the_run_does_and_evaluates_nothing(tmp_path, monkeypatch):
    launches = []

    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        launches.append((script, recipe, model.name, dataset.name, output_dir.name, seed, overrides, cpu))
        return 1.0

    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "smollm2", {}))
    monkeypatch.setattr(gsm8k, "tool_template_model", lambda base, folder: folder)
    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", lambda *args, **kwargs: pytest.fail("evaluated"))
    train_file = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row(str(steps), steps) for steps in (1, 2, 3)])
    out = tmp_path / "out"
    folders = gsm8k_cli.main(["--sft_only", "--fast", "--train_file", str(train_file), "--output_dir", str(out)])

    assert folders == {arm: str(out / f"sft-{arm}") for arm in gsm8k.ARMS}
    import torch

    on_cpu = not torch.cuda.is_available()
    overrides = (*(GSM8K_CPU_OVERRIDES if on_cpu else ()), *GSM8K_FAST_SFT_OVERRIDES)
    assert launches == [
        ("sft.py", GSM8K_FAST.sft_recipes["cot"], "smollm2", "sft_cot", "sft-cot", 0, overrides, on_cpu),
        ("sft.py", GSM8K_FAST.sft_recipes["tools"], "base-tools", "sft_tools", "sft-tools", 0, overrides, on_cpu),
    ]
    assert not (out / "evals").exists()


@pytest.mark.parametrize(
    "option", [["--grpo_max_steps", "5"], ["--time_budget_minutes", "11"], ["--use_vllm"], ["--compile_generation"]]
)
def test_sft_only_refuses_what_it_would_ignore(option, monkeypatch):
    monkeypatch.setattr(gsm8k, "sft_only", lambda *args: pytest.fail("SFT started"))
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(["--sft_only", *option])
    assert f"{option[0]} has no effect with --sft_only" in str(stopped.value)


def test_what_each_evaluations_generation_decoded_is_a_column_where_the_evaluator_recorded_it(tmp_path):
    results = {"pass@1": 0.5, "pass@1_stderr": 0.1, "num_samples": 1, "num_problems": 4, "settings": {}}
    decoding = {"calls": 14, "decode_steps": 4327, "kept_tokens": 90000, "slot_use": 0.2, "seconds": 164.4}
    # Calls at 40 ms a decode step and 3 ms per 1,000 context tokens: their price is fitted.
    timings = [[steps, tokens, 0.040 * steps + 0.003 * tokens / 1000] for steps, tokens in
               [(412, 200_000), (120, 600_000), (96, 700_000), (32, 200_000), (17, 441_376)]]  # fmt: skip
    counted = {**decoding, "context_tokens": 2_141_376, "call_timings": timings, "out_of_memory_splits": 0}
    # On a GPU: two batches that ran out of memory went again in halves, and the process's peak reservation.
    split = {
        **decoding,
        "out_of_memory_splits": 2,
        "out_of_memory_seconds": 31.6,
        "gpu_memory_reserved_peak_gib": 15.64,
    }
    evaluations = (("sft-tools-greedy", None), ("grpo-tools-greedy", split), ("grpo-cot-greedy", counted))
    for name, decoded in evaluations:
        folder = tmp_path / "run" / "evals" / name
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({**results, "decoding": decoded}))
    lines = gsm8k.gsm8k_evaluations_table(tmp_path / "run").splitlines()
    assert lines[0].endswith("| problems | generation |")  # no finish reasons recorded: no column for them
    assert lines[2].endswith("| 4 | - |")
    # The chain-of-thought arm's row comes first; the tool arm's evaluation predates counting context tokens.
    assert lines[3].endswith(
        "| 4 | 14 calls, 4,327 decode steps, 38.0 ms each, 2,141,376 context tokens read (fitted to its calls: "
        "40.0 ms per decode step, 3.0 ms per 1,000 context tokens, R² 1.00) |"
    )
    assert lines[4].endswith(
        "| 4 | 14 calls, 4,327 decode steps, 38.0 ms each, at most 15.6 GiB of GPU memory reserved; out of GPU "
        "memory, a batch went again in halves 2 times "
        "(32 s in the calls that failed) |"
    )


def test_reuse_sft_takes_the_sft_evaluations_of_an_earlier_run_and_still_trains_sft(shared_gpu):
    shared_gpu.run["reuse_sft"] = GPU_RUN
    # As many problems as that run scored, among them the one the stand-in evaluator answers.
    shared_gpu.run["test_calculations"] = {"7": 3, **{f"test-{index}": 2 for index in range(1318)}}
    stages = shared_gpu.run_arm("tools")["stages"]
    assert stages["sft"]["reused_from"] == str(GPU_RUN) and round(100 * stages["sft"]["greedy_pass@1"], 1) == 8.6
    jobs = [job for job, _, _ in shared_gpu.jobs]
    assert "train sft-tools" in jobs and not any(job.startswith("evaluate sft-") for job in jobs), jobs
    assert "reused_from" not in stages["grpo"] and "reused_from" not in stages["base"]


def fast_cpu_evaluation(test_file: pathlib.Path) -> dict:
    """A FAST run's evaluation settings on a CPU (`gsm8k.evaluation_settings`)."""
    return gsm8k.evaluation_settings(GSM8K_FAST, gsm8k.ARMS, "cpu", True, test_file, test_file, False)


def sft_run_folder(
    folder: pathlib.Path, recipes_of=("tools",), prompt=TOOL_SYSTEM_PROMPT, compiled: bool = False, **changes
) -> pathlib.Path:
    """`folder` as `--sft_only --evaluate --fast` writes it on a CPU for the arms `recipes_of`, its evaluations the
    tool arm's, on 4 problems of gsm8k_test.jsonl (`compiled`: as its evaluations record --compile_decoding)."""
    arms = recipes_of
    results = {
        "sft_only": True, "seed": 0, "fast": True, "device": "CPU",
        "recipes": [GSM8K_FAST.sft_recipes[arm] for arm in arms],
        "sft_recipe_sha256": gsm8k_evals.recipe_digests(GSM8K_FAST, arms),
        "conversion": {"rows": 16, "calls": 30}, "arms": {arm: {"sft": {"eval_seconds": 1.0}} for arm in arms},
        **changes,
    }  # fmt: skip
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(results))
    for kind, samples in (("greedy", 1), ("sampled", GSM8K_FAST.eval_samples)):
        evaluation = {"data_files": "x/gsm8k_test.jsonl", "num_samples": samples, "num_problems": 4, "pass@1": 0.25,
                      "pass@1_stderr": 0.2, "model": str(folder / "sft-tools"),
                      "settings": {"system_prompt": prompt, "max_new_tokens": 48, "compile_decoding": compiled,
                                   "seed": 0}}  # fmt: skip
        (folder / "evals" / f"sft-tools-{kind}").mkdir(parents=True)
        (folder / "evals" / f"sft-tools-{kind}" / "results.json").write_text(json.dumps(evaluation))
    return folder


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": 1}, r"results.json has seed 1, this run 0"),
        ({"fast": False}, r"results.json has fast False, this run True"),
        ({"recipes": []}, r"did not train .*config_gsm8k_tools.yaml \(tools's SFT recipe\) as it is now"),
        ({"sft_recipe_sha256": {"tools": "0" * 64}}, r"did not train .*config_gsm8k_tools.yaml .* as it is now$"),
        ({"sft_recipe_sha256": None}, r"as it is now \(it records no sft_recipe_sha256\)"),
        ({"device": "NVIDIA H100 80GB HBM3"}, r"results.json has hardware GPU, this run CPU"),
        ({"prompt": COT_SYSTEM_PROMPT}, r"evals/sft-tools-greedy/results.json has system_prompt 'Solve the math"),
        ({"seed": "0"}, r"results.json has seed '0', this run 0"),  # hand-typed: not the seed 0 it looks like
        ({"arms": {"cot": {"sft": {}}}}, r"earlier ran only the cot arm; it has no tools SFT to reuse$"),
        ({"arms": ["tools"]}, r"results.json has no arms \(expected the results.json of a make gsm8k run\)"),
        ({"compiled": True}, r"evals/sft-tools-greedy/results.json has compile_decoding True, this run False"),
    ],
)
def test_reuse_sft_refuses_an_earlier_sft_trained_otherwise_in_one_line(tmp_path, changes, message):
    test_file = write_jsonl(tmp_path / "gsm8k_test.jsonl", [gsm8k_row(str(index), 2) for index in range(4)])
    alike = sft_run_folder(tmp_path / "alike")
    run = fast_cpu_evaluation(test_file)
    assert gsm8k.check_reusable_sft(alike, ("tools",), run, seed=0)["sft_only"]
    otherwise = sft_run_folder(tmp_path / "earlier", **changes)
    with pytest.raises(UsageError, match=f"--reuse_sft: .*{message}"):
        gsm8k.check_reusable_sft(otherwise, ("tools",), run, seed=0)


@pytest.mark.parametrize("name", ["results.json", "evals/sft-tools-greedy/results.json"])
def test_reuse_sft_of_a_truncated_results_file_is_refused_in_one_line(tmp_path, name):
    test_file = write_jsonl(tmp_path / "gsm8k_test.jsonl", [gsm8k_row(str(index), 2) for index in range(4)])
    earlier = sft_run_folder(tmp_path / "earlier")
    (earlier / name).write_text((earlier / name).read_text()[:30])
    with pytest.raises(UsageError, match=rf"^--reuse_sft: {re.escape(str(earlier / name))} is not JSON"):
        gsm8k.check_reusable_sft(earlier, ("tools",), fast_cpu_evaluation(test_file), seed=0)


def test_reuse_sft_refuses_a_run_without_an_arms_sft_evaluations(tmp_path):
    test_file = write_jsonl(tmp_path / "gsm8k_test.jsonl", [gsm8k_row(str(index), 2) for index in range(4)])
    both = sft_run_folder(
        tmp_path / "both", recipes_of=("cot", "tools")
    )  # the recipes of both, the evaluations of one
    run = fast_cpu_evaluation(test_file)
    with pytest.raises(UsageError, match=r"--reuse_sft: .*evals/sft-cot-greedy/results.json not found"):
        gsm8k.check_reusable_sft(both, ("cot", "tools"), run, seed=0)
    with pytest.raises(UsageError, match=r"--reuse_sft: .*nowhere/results.json not found"):
        gsm8k.check_reusable_sft(tmp_path / "nowhere", ("tools",), run, seed=0)


def test_reuse_sft_refuses_sft_trained_on_other_data(tmp_path):
    with pytest.raises(
        UsageError, match=r"--reuse_sft: .*trained SFT on other data \(conversion: rows 16, this run 32\)"
    ):
        gsm8k.check_same_conversion({"conversion": {"rows": 16, "calls": 30}}, {"rows": 32, "calls": 30}, tmp_path)
    gsm8k.check_same_conversion({"conversion": {"rows": 16, "calls": 30}}, {"rows": 16, "calls": 30}, tmp_path)
    # GRPO's prompts are not SFT's data: an earlier SFT serves a run that prompts GRPO with other rows.
    earlier = {"conversion": {"rows": 16, "grpo_prompts": 9, "grpo_max_calculations": 2}}
    gsm8k.check_same_conversion(earlier, {"rows": 16, "grpo_prompts": 12, "grpo_max_calculations": 3}, tmp_path)


def test_sft_only_evaluate_writes_the_sft_evaluations_a_later_run_reuses(tmp_path, monkeypatch):
    def train(script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        output_dir.mkdir(parents=True)
        return 2.0

    def evaluator(model, task, data_file, output_dir, **settings):
        results = {"data_files": str(data_file), "num_samples": settings["num_samples"], "num_problems": 3,
                   "pass@1": 0.5, "pass@1_stderr": 0.1, "settings": {"temperature": settings.get("temperature", 0.6)}}  # fmt: skip
        output_dir.mkdir(parents=True)
        (output_dir / "results.json").write_text(json.dumps(results))
        # One calculation written out for each problem, whatever it takes; the problem of 2 solved; that of 3 cut
        # at the token budget going round the same step.
        answer, looping = "1+1 = 2\n<answer>\\boxed{2}</answer>", "\n".join(["The sum of one and one is 1+1 = 2"] * 3)
        return results, [
            {"id": f"t{steps}", "correct": steps == 2, "completion": looping if steps == 3 else answer,
             "finish_reason": "length" if steps == 3 else "stop"}
            for steps in (1, 2, 3)
        ]  # fmt: skip

    monkeypatch.setattr(gsm8k, "get_pretrained_model", lambda name: (tmp_path / "smollm2", {}))
    monkeypatch.setattr(gsm8k, "tool_template_model", lambda base, folder: folder)
    monkeypatch.setattr(gsm8k.pipeline, "train", train)
    monkeypatch.setattr(gsm8k.pipeline, "run_evaluator", evaluator)
    train_file = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row(str(steps), steps) for steps in (1, 2, 3)])
    test_file = write_jsonl(tmp_path / "gsm8k_test.jsonl", [gsm8k_row(f"t{steps}", steps) for steps in (1, 2, 3)])
    out = tmp_path / "out"
    files = ["--train_file", str(train_file), "--test_file", str(test_file)]
    gsm8k_cli.main(["--sft_only", "--evaluate", "--fast", "--arm", "tools", *files, "--output_dir", str(out)])

    results = json.loads((out / "results.json").read_text())
    assert results["sft_only"] is True and results["recipes"] == [GSM8K_FAST.sft_recipes["tools"]]
    sft = results["arms"]["tools"]["sft"]
    assert sft["greedy_pass@1"] == sft["sampled_pass@1"] == 0.5 and sft["train_seconds"] == 2.0
    assert "| sft | python tool | greedy | 50.0% ± 10.0 |" in (out / "report.md").read_text()
    # The calculations written out stand beside those of the test file's worked solutions (gsm8k_row: one each), and
    # the completions cut at the token budget (this one going round a step) beside them.
    assert sft["by_calculations"]["greedy"]["3"] == {
        "problems": 1, "pass@1": 0.0, "calculations_written": 3.0, "worked_calculations_written": 3.0,
        "out_of_tokens": 1.0, "out_of_tokens_not_repeating": 0.0,
    }  # fmt: skip
    # And the completions that repeat a line, among those cut and those that ended, for each evaluation.
    assert sft["repetition"]["greedy"] == sft["repetition"]["sampled"] == {
        "out_of_tokens": 1, "out_of_tokens_repeating": 1,
        "ended": 2, "ended_repeating": 0, "ended_repeating_correct": 0,
    }  # fmt: skip
    # What a later run of the same arm, seed and data checks before anything loads.
    earlier = gsm8k.check_reusable_sft(out, ("tools",), fast_cpu_evaluation(test_file), seed=0)
    gsm8k.check_same_conversion(earlier, results["conversion"], out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--evaluate"], "--evaluate has no effect without --sft_only"),
        (["--sft_only", "--test_file", "x.jsonl"], "--test_file has no effect with --sft_only without --evaluate"),
        (["--sft_only", "--evaluate", "--reuse_sft", "."], "--reuse_sft has no effect with --sft_only"),
    ],
)
def test_sft_evaluation_options_refuse_what_they_would_ignore(argv, message, monkeypatch, tmp_path):
    monkeypatch.setattr(gsm8k, "sft_only", lambda *args: pytest.fail("SFT started"))
    monkeypatch.setattr(gsm8k, "run", lambda *args: pytest.fail("the run started"))
    (tmp_path / "evals").mkdir()
    argv = [str(tmp_path) if value == "." else value for value in argv]
    with pytest.raises(UsageError) as stopped:
        gsm8k_cli.main(argv)
    assert message in str(stopped.value)


@pytest.mark.parametrize("option", ["--reuse_base", "--reuse_sft"])
def test_reusing_the_runs_own_output_folder_is_refused_before_it_is_emptied(option, tmp_path, monkeypatch):
    monkeypatch.setattr(gsm8k, "run", lambda *args: pytest.fail("the run started"))
    (tmp_path / "gsm8k" / "evals").mkdir(parents=True)
    with pytest.raises(UsageError, match=f"{option}: .* is this run's own output folder, which it empties first"):
        gsm8k_cli.main([option, str(tmp_path / "gsm8k"), "--output_dir", str(tmp_path / "gsm8k")])


def test_a_reuse_sft_folder_without_evaluations_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(gsm8k, "run", lambda *args: pytest.fail("the run started"))
    (tmp_path / "lease").mkdir()
    with pytest.raises(UsageError, match=f"--reuse_sft: {tmp_path / 'lease'} has no evals/ folder"):
        gsm8k_cli.main(["--reuse_sft", str(tmp_path / "lease")])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_fast_tool_arm_takes_its_sft_evaluations_from_an_sft_only_run_as_two_leases_would(
    tmp_path, shared_gsm8k_options
):
    sft_lease, tools_lease = tmp_path / "tools-sft", tmp_path / "tools"
    gsm8k_cli.main(
        ["--sft_only", "--evaluate", "--fast", "--arm", "tools", "--output_dir", str(sft_lease), *shared_gsm8k_options]
    )
    measured = json.loads((sft_lease / "results.json").read_text())["arms"]["tools"]["sft"]
    assert (sft_lease / "evals" / "sft-tools-sampled" / "details.jsonl").is_file()

    argv = ["--fast", "--arm", "tools", "--reuse_sft", str(sft_lease), "--output_dir", str(tools_lease)]
    results = gsm8k_cli.main([*argv, *shared_gsm8k_options])
    sft = results["arms"]["tools"]["sft"]
    assert sft["reused_from"] == str(sft_lease) == results["sft_reused_from"]
    for kind in ("greedy", "sampled"):
        assert sft[f"{kind}_pass@1"] == measured[f"{kind}_pass@1"]
        assert not (tools_lease / "evals" / f"sft-tools-{kind}").exists()  # this run's SFT model is not evaluated
    assert (tools_lease / "sft-tools" / "model.safetensors").is_file()  # but trained, for GRPO to start from
    assert results["arms"]["tools"]["grpo"]["steps"] == 2 and "reused_from" not in results["arms"]["tools"]["grpo"]


def test_an_output_folder_that_is_a_file_is_refused_before_anything_runs(tmp_path, monkeypatch):
    """A newcomer audit's: `make demo FAST=1 OUTPUT_DIR=<a file>` was a FileExistsError traceback."""
    from open_r1.demo import cli

    (tmp_path / "afile").write_text("")
    monkeypatch.setattr(gsm8k, "run", lambda *args: pytest.fail("the run started"))
    monkeypatch.setattr(cli.r1, "run", lambda *args: pytest.fail("the demo started"))
    with pytest.raises(UsageError, match=r"^--output_dir .*afile is a file; name a folder$"):
        gsm8k_cli.main(["--fast", "--output_dir", str(tmp_path / "afile")])
    with pytest.raises(UsageError, match=r"^--output_dir .*afile/demo lies under .*afile, a file; name a folder$"):
        cli.main(["--fast", "--output_dir", str(tmp_path / "afile" / "demo")])
