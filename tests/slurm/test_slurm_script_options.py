"""slurm/serve_r1.slurm's options are checked before anything starts (vLLM would refuse them once 16 GPUs loaded);
slurm/compute_pass_rate.slurm --help."""

import os
import subprocess

import pytest

from tests.support import REPO_ROOT


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "80OO"], "-p must be a port (1-65535), got '80OO'"),
        (["-p", "70000"], "-p must be a port"),
        (["-p", "99999999999999999999"], "-p must be a port"),  # bash's test failed on it, and passed it (a review's)
        (["-l", "32k"], "-l must be a positive number of tokens, got '32k'"),
        (["-r", "http://10.0.0.5:39876"], "-r must be the router's HOST:PORT"),
        (["-m", "m", "extra"], "unexpected argument(s) 'extra'"),
    ],
)
def test_a_bad_option_is_one_line_with_exit_status_2(args, message):
    result = subprocess.run(
        ["bash", "slurm/serve_r1.slurm", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and result.stderr.startswith("serve_r1.slurm: error: "), result.stderr
    assert message in result.stderr


def test_compute_pass_rate_slurm_says_how_it_is_used():
    helped = subprocess.run(
        ["bash", "slurm/compute_pass_rate.slurm", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and helped.stdout.startswith("usage: sbatch slurm/compute_pass_rate.slurm")
    assert "--dataset_start_index" in helped.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate.slurm", "--dry-run", "aime24", "org/model"],
        ["generate.slurm", "--model", "m", "--hf-dataset", "d", "--dry-run"],
        ["compute_pass_rate.slurm", "recipes/dataset_filtering/config_demo.yaml"],
        ["serve_r1.slurm"],
        ["serve_router.slurm"],
        ["e2b_router.slurm"],
        ["morph_router.slurm"],
    ],
    ids=lambda command: command[0],
)
def test_a_missing_cluster_env_is_one_line_naming_it(command, tmp_path):
    """A review found these scripts going on without it, to fail at `OPEN_R1_ROOT: unbound variable`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    result = subprocess.run(
        ["bash", f"slurm/{command[0]}", *command[1:]],
        cwd=REPO_ROOT,
        env={**env, "OPEN_R1_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result
    assert result.stderr == (
        f"{command[0]}: error: {tmp_path}/slurm/cluster.env not found; submit from the repository root or export "
        "OPEN_R1_ROOT\n"
    )
