"""slurm/train.slurm before a job exists: --help, and --dry-run checking the command and the recipe on the login node.

A mistake gets one line and exit status 2 here, before the job waits in the queue; the jobs themselves are tested
on a real Slurm cluster (test_train_slurm.py, slow).
"""

import pytest

from tests.support.slurm_cluster import run_outside_a_job

SFT = ["--model", "tiny", "--task", "sft", "--config", "cpu", "--accelerator", "ddp"]


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
        ({"OPEN_R1_VLLM_WAIT_SECONDS": "abc"}, "OPEN_R1_VLLM_WAIT_SECONDS must be a number of seconds, got 'abc'"),
        ({"OPEN_R1_VLLM_WAIT_SECONDS": ""}, "OPEN_R1_VLLM_WAIT_SECONDS must be a number of seconds, got ''"),
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


def test_more_processes_than_gpus_is_fine_on_cpu():
    settings = {"OPEN_R1_PROCESSES_PER_NODE": "8", "SLURM_GPUS_ON_NODE": "4", "ACCELERATE_USE_CPU": "true"}
    result = run_outside_a_job("train.slurm", *SFT, "--dry-run", OPEN_R1_CHECK_RECIPE="false", **settings)
    assert result.returncode == 0, result.stderr
