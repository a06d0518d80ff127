"""slurm/cluster.env: sourced in a login shell it exports only sbatch's settings; on a real Slurm (slow), settings
reach sbatch at submission and the job at run time."""

import os
import subprocess

import pytest

from tests.support import REPO_ROOT


def submit_after_sourcing_cluster_env(slurm_cluster, **settings: str) -> subprocess.CompletedProcess:
    command = "source slurm/cluster.env && sbatch --parsable --output=/dev/null --wrap true"
    return subprocess.run(
        ["bash", "-c", command], cwd=REPO_ROOT, env=slurm_cluster.env(**settings), capture_output=True, text=True
    )


def exported_after_sourcing(folder, **settings: str) -> dict[str, str]:
    """The environment a shell started in `folder` exports after `source .../slurm/cluster.env`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "OPEN_R1_", "SBATCH_"))}
    command = f"source {REPO_ROOT / 'slurm' / 'cluster.env'} && env -0"
    output = subprocess.run(
        ["bash", "-c", command], cwd=folder, env={**env, **settings}, capture_output=True, text=True, check=True
    ).stdout
    return dict(entry.split("=", 1) for entry in output.split("\0") if entry)


def test_sourced_in_a_login_shell_it_exports_the_submission_settings_only(tmp_path):
    """A review found the README's `source slurm/cluster.env` in ~/.bashrc exporting OPEN_R1_ROOT and OPEN_R1_VENV
    fixed at the folder the shell started in: every job then failed "cluster.env not found"."""
    exported = exported_after_sourcing(tmp_path, OPEN_R1_PARTITION="gpu")
    assert exported["SBATCH_PARTITION"] == "gpu"
    assert not [name for name in exported if name.startswith("OPEN_R1_") and name != "OPEN_R1_PARTITION"]


def test_sourced_inside_a_job_it_exports_the_job_settings(tmp_path):
    exported = exported_after_sourcing(tmp_path, SLURM_JOB_ID="7", SLURM_SUBMIT_DIR=str(REPO_ROOT))
    assert exported["OPEN_R1_ROOT"] == str(REPO_ROOT)
    assert exported["OPEN_R1_VENV"] == f"{REPO_ROOT}/.venv" and exported["OPEN_R1_PROCESSES_PER_NODE"] == "8"


@pytest.mark.slow
def test_partition_set_in_cluster_env_is_the_one_sbatch_uses(slurm_cluster):
    refused = submit_after_sourcing_cluster_env(slurm_cluster, OPEN_R1_PARTITION="no-such-partition")
    assert refused.returncode != 0
    assert "invalid partition" in refused.stderr.lower(), refused.stderr

    accepted = submit_after_sourcing_cluster_env(slurm_cluster, OPEN_R1_PARTITION=slurm_cluster.partition)
    assert accepted.returncode == 0, accepted.stderr
    job_id = accepted.stdout.strip()
    assert f"Partition={slurm_cluster.partition}" in slurm_cluster.scontrol("show", "job", job_id)


@pytest.mark.slow
def test_a_job_whose_environment_setting_is_wrong_fails_naming_the_setting(submit):
    result = submit(
        [
            "--nodes=1",
            "slurm/train.slurm",
            "--model",
            "tiny",
            "--task",
            "sft",
            "--config",
            "cpu",
            "--accelerator",
            "ddp",
        ],
        OPEN_R1_VENV="/nonexistent/venv",
    )
    assert result.returncode != 0, result
    assert "OPEN_R1_VENV=/nonexistent/venv has no bin/activate" in result.output, result
