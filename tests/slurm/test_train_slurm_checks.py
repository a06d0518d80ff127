"""slurm/train.slurm before a job exists: --help, and --dry-run checking the command and the recipe on the login node.

A mistake gets one line and exit status 2 here, before the job waits in the queue; the jobs themselves are tested
on a real Slurm cluster (test_train_slurm.py, slow).
"""

import os
import subprocess

import pytest

from open_r1.utils.slurm_launch import launch_settings, split_args
from tests.support import REPO_ROOT
from tests.support.slurm_cluster import run_outside_a_job

SFT = ["--model", "tiny", "--task", "sft", "--config", "cpu", "--accelerator", "ddp"]
GRPO_RECIPE = str(REPO_ROOT / "recipes" / "tiny" / "grpo" / "config_cpu.yaml")


@pytest.fixture
def tiny_args(tiny_assets) -> str:
    """--args pointing the tiny SFT recipe at this session's tiny model and data (a clean checkout has no data/)."""
    return f"--model_name_or_path {tiny_assets['tiny-model']} --dataset_name {tiny_assets['tiny-sft']}"


def test_help_prints_the_options_anywhere():
    result = run_outside_a_job("train.slurm", "--help")
    assert result.returncode == 0, result.stderr
    assert "--requeue-at-time-limit" in result.stdout and "--dry-run" in result.stdout
    assert "#SBATCH --job-name" not in result.stdout and not result.stdout.startswith("#")


def test_outside_a_job_it_refuses_to_train_and_names_the_dry_run():
    result = run_outside_a_job("train.slurm", *SFT)
    assert result.returncode == 2, result
    assert "not inside a Slurm job" in result.stderr and "--dry-run" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "SmolLM2-135m-instruct", "--task", "sft", "--config", "cpu", "--accelerator", "ddp"],
            "(did you mean 'SmolLM2-135M-Instruct'?)",
        ),
        (SFT[:5] + ["cpuu"] + SFT[6:], "(did you mean 'cpu'?)"),
        (
            SFT[:5] + ["xyz"] + SFT[6:],
            "config_xyz.yaml not found (from --model tiny --task sft --config xyz); available",
        ),
        (SFT[:-1] + ["zer03"], "(did you mean 'zero3'?)"),
        ([*SFT, "--dp", "2"], "--dp/--tp size the vLLM server"),
        ([*SFT, "--bogus"], "unknown argument '--bogus'"),
        (["--model=tiny", *SFT[2:]], "unknown argument '--model=tiny' (did you mean '--model tiny'?"),
    ],
)
def test_a_mistake_in_the_command_is_one_line_with_exit_status_2(args, message):
    result = run_outside_a_job("train.slurm", *args, "--dry-run")
    assert result.returncode == 2, result
    assert message in result.stderr, result.stderr
    if "xyz" in args:  # nothing close: no suggestion (a review's: the shared path prefix matched every recipe)
        assert "did you mean" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # no ERR-trap line after it


def test_a_mistake_in_the_recipes_fields_shows_before_the_queue(tiny_args):
    result = run_outside_a_job("train.slurm", *SFT, "--args", f"{tiny_args} --learning_rat 1e-5", "--dry-run")
    assert result.returncode == 2, result
    assert result.stderr.startswith("train.slurm: error: ") and "did you mean --learning_rate" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_valid_command_is_checked_and_nothing_starts(tiny_args):
    result = run_outside_a_job("train.slurm", *SFT, "--args", tiny_args, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "recipes/tiny/sft/config_cpu.yaml: checked for src/open_r1/sft.py" in result.stdout
    assert "the job plans its nodes as it starts" in result.stdout


def test_the_recipe_check_asks_the_hub_for_a_gpu_recipes_model_and_a_test_may_skip_it(tmp_path):
    """The README's GRPO recipe names Hub models: offline and uncached, the dry run says so in one line (on a login
    node that reaches the Hub it passes); OPEN_R1_CHECK_RECIPE=false, for tests, plans without asking."""
    command = ["--model", "Qwen2.5-Math-7B", "--task", "grpo", "--config", "simple_rl", "--accelerator", "zero3"]
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}  # an empty cache
    refused = run_outside_a_job("train.slurm", *command, "--dry-run", **offline)
    assert refused.returncode == 2 and "Qwen/Qwen2.5-Math-7B" in refused.stderr, refused.stderr
    skipped = run_outside_a_job("train.slurm", *command, "--dry-run", **offline, OPEN_R1_CHECK_RECIPE="false")
    assert skipped.returncode == 0 and "checked for" not in skipped.stdout, skipped.stderr


# ------------------------------------------------------------------------------------------------
# What train.slurm reads from the recipe and --args (open_r1.utils.slurm_launch), as the training script reads it


def test_the_settings_are_read_in_every_spelling_the_training_parser_takes():
    """A review found `--use-vllm true --vllm-mode server` starting no vLLM server, `--gradient-accumulation-steps 2`
    not reaching accelerate, `--save-strategy no` passing the requeue check, `--max-run-minutes 5` given twice and
    `--output-dir` ignored: only `--name value` / `--name=value` with underscores were read, booleans only as `true`."""
    args = split_args(
        "--use-vllm yes --vllm-mode=server --gradient-accumulation-steps 2 --save-strategy no --max-run-minutes 5 "
        "--output-dir data/out --gradient_accumulation_steps 4"
    )
    settings = launch_settings(GRPO_RECIPE, args)
    assert settings["use_vllm"] == "true" and settings["vllm_mode"] == "server"
    assert settings["gradient_accumulation_steps"] == "4"  # the last one wins, as argparse's
    assert settings["save_strategy"] == "no" and settings["max_run_minutes"] == "5"
    assert settings["output_dir"] == "data/out"
    assert settings["model_name_or_path"] == "data/tiny-model"  # from the recipe
    assert launch_settings(GRPO_RECIPE, ["--use_vllm"])["use_vllm"] == "true"  # bare flag
    assert launch_settings(GRPO_RECIPE, ["--use_vllm", "False"])["use_vllm"] == "false"
    assert (
        launch_settings(str(REPO_ROOT / "recipes" / "tiny" / "sft" / "config_cpu.yaml"), [])["max_run_minutes"] == ""
    )  # unset


def test_args_are_split_as_a_shell_splits_them():
    """A review found `--args` split on spaces only: a quoted system prompt broke into words, and the lines after
    the first were silently lost."""
    assert split_args('--system_prompt "You are a helpful assistant"\n--learning_rate 1e-5') == [
        "--system_prompt",
        "You are a helpful assistant",
        "--learning_rate",
        "1e-5",
    ]
    assert split_args("--x $(touch /tmp/pwned)") == ["--x", "$(touch", "/tmp/pwned)"]  # nothing is run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ('--system_prompt "You are', "--args: No closing quotation"),
        ("--use_vllm maybe", "use_vllm: expected true or false, got 'maybe'"),
        ("--gradient_accumulation_steps two", "gradient_accumulation_steps: expected a positive integer"),
    ],
)
def test_a_mistake_in_the_args_is_one_line_before_anything_starts(args, message):
    result = run_outside_a_job("train.slurm", *SFT, "--args", args, "--dry-run", OPEN_R1_CHECK_RECIPE="false")
    assert result.returncode == 2, result
    assert result.stderr.startswith("train.slurm: error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_recipe_that_is_no_yaml_is_one_line(tmp_path):
    """A review found a broken recipe printing PyYAML's 40-line traceback, and the script going on."""
    root = tmp_path / "repo"
    (root / "recipes" / "broken" / "sft").mkdir(parents=True)
    (root / "recipes" / "broken" / "sft" / "config_cpu.yaml").write_text("model_name_or_path: [data/tiny-model\n")
    (root / "recipes" / "accelerate_configs").symlink_to(REPO_ROOT / "recipes" / "accelerate_configs")
    for linked in ("slurm", "src"):
        (root / linked).symlink_to(REPO_ROOT / linked)
    command = ["--model", "broken", *SFT[2:]]
    result = run_outside_a_job(
        "train.slurm", *command, "--dry-run", OPEN_R1_ROOT=str(root), OPEN_R1_CHECK_RECIPE="false"
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith("train.slurm: error: recipes/broken/sft/config_cpu.yaml:2:1: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_quoted_value_in_the_args_stays_one_word_in_the_plan(tiny_args):
    result = run_outside_a_job(
        "train.slurm", *SFT, "--args", f'{tiny_args} --system_prompt "You are a helpful assistant"', "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert "--system_prompt You\\ are\\ a\\ helpful\\ assistant" in result.stdout, result.stdout


def test_args_given_twice_is_refused():
    """A review found a second --args silently replacing the first."""
    result = run_outside_a_job(
        "train.slurm", *SFT, "--args", "--learning_rate 1e-5", "--args", "--max_steps 2", "--dry-run"
    )
    assert result.returncode == 2, result
    assert "--args is given twice; put every training argument in one --args" in result.stderr, result.stderr


def test_the_one_process_accelerate_config_is_refused():
    """On 2 nodes it ran two separate trainings into one output_dir (the local launcher refuses it too)."""
    result = run_outside_a_job("train.slurm", *SFT[:-1], "one_process", "--dry-run")
    assert result.returncode == 2, result
    assert "--accelerator one_process starts a single process" in result.stderr
    assert "use ddp, zero2, zero3 or fsdp" in result.stderr, result.stderr


# ------------------------------------------------------------------------------------------------
# cluster.env's numbers


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"OPEN_R1_VLLM_WAIT_SECONDS": "abc"},
            "OPEN_R1_VLLM_WAIT_SECONDS must be a number of seconds, at least 1, got 'abc'",
        ),
        (
            {"OPEN_R1_VLLM_WAIT_SECONDS": ""},
            "OPEN_R1_VLLM_WAIT_SECONDS must be a number of seconds, at least 1, got ''",
        ),
        ({"OPEN_R1_VLLM_WAIT_SECONDS": "0"}, "OPEN_R1_VLLM_WAIT_SECONDS must be a number of seconds, at least 1"),
        ({"OPEN_R1_PROCESSES_PER_NODE": "0"}, "OPEN_R1_PROCESSES_PER_NODE must be a positive integer"),
        ({"OPEN_R1_PROCESSES_PER_NODE": "-1"}, "OPEN_R1_PROCESSES_PER_NODE must be a positive integer"),
        ({"OPEN_R1_PROCESSES_PER_NODE": "abc"}, "OPEN_R1_PROCESSES_PER_NODE must be a positive integer"),
        ({"OPEN_R1_MAIN_PROCESS_PORT": "70000"}, "OPEN_R1_MAIN_PROCESS_PORT must be a port (1-65535), got '70000'"),
        ({"OPEN_R1_VLLM_PORT": "abc"}, "OPEN_R1_VLLM_PORT must be a port (1-65535), got 'abc'"),
        (
            {"OPEN_R1_PROCESSES_PER_NODE": "8", "SLURM_GPUS_ON_NODE": "4", "ACCELERATE_USE_CPU": "false"},
            "OPEN_R1_PROCESSES_PER_NODE=8 is more than the 4 GPUs of each node (SLURM_GPUS_ON_NODE)",
        ),
    ],
)
def test_a_bad_number_in_the_cluster_settings_is_one_line_naming_it(settings, message):
    """A review found an empty or non-numeric OPEN_R1_VLLM_WAIT_SECONDS making the server wait spin forever, and
    bad process counts or ports reaching torch and accelerate (a traceback, or 100 lines)."""
    result = run_outside_a_job("train.slurm", *SFT, "--dry-run", OPEN_R1_CHECK_RECIPE="false", **settings)
    assert result.returncode == 2, result
    assert result.stderr.startswith("train.slurm: error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_vllm_server_larger_than_its_node_is_one_line():
    """A newcomer's: --dp 4 --tp 4 on 8-GPU nodes printed a plan for a server that cannot start."""
    vllm = [*SFT[:3], "grpo", *SFT[4:], "--args", "--use_vllm true --vllm_mode server"]
    settings = {"OPEN_R1_PROCESSES_PER_NODE": "8", "ACCELERATE_USE_CPU": "false", "OPEN_R1_CHECK_RECIPE": "false"}
    result = run_outside_a_job("train.slurm", *vllm, "--dp", "4", "--tp", "4", "--dry-run", **settings)
    assert result.returncode == 2, result
    assert result.stderr == (
        "train.slurm: error: --dp 4 x --tp 4 asks 16 GPUs of the vLLM server's node, which has 8 "
        "(OPEN_R1_PROCESSES_PER_NODE, one per GPU); lower --dp or --tp\n"
    )
    fits = run_outside_a_job("train.slurm", *vllm, "--dp", "2", "--tp", "4", "--dry-run", **settings)
    assert fits.returncode == 0, fits.stderr


def test_more_processes_than_gpus_is_fine_on_cpu():
    settings = {"OPEN_R1_PROCESSES_PER_NODE": "8", "SLURM_GPUS_ON_NODE": "4", "ACCELERATE_USE_CPU": "true"}
    result = run_outside_a_job("train.slurm", *SFT, "--dry-run", OPEN_R1_CHECK_RECIPE="false", **settings)
    assert result.returncode == 0, result.stderr


def test_the_login_dry_run_says_when_the_log_folder_is_missing(tmp_path):
    """A job whose log folder (logs/ where sbatch runs) is missing dies without a word: the dry run says so."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    env.update(OPEN_R1_ROOT=str(REPO_ROOT), OPEN_R1_MODULES="", OPEN_R1_CHECK_RECIPE="false")
    command = ["bash", str(REPO_ROOT / "slurm" / "train.slurm"), *SFT, "--dry-run"]
    missing = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 0, missing.stderr
    assert "logs/ missing: mkdir -p logs before sbatch" in missing.stdout
    (tmp_path / "logs").mkdir()
    there = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert there.returncode == 0 and "logs/ missing" not in there.stdout, there.stderr
