"""slurm/cluster.env on a real Slurm (slow): settings reach sbatch at submission and the job at run time."""

import subprocess

import pytest

from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow


def submit_after_sourcing_cluster_env(slurm_cluster, **settings: str) -> subprocess.CompletedProcess:
    command = "source slurm/cluster.env && sbatch --parsable --output=/dev/null --wrap true"
    return subprocess.run(
        ["bash", "-c", command], cwd=REPO_ROOT, env=slurm_cluster.env(**settings), capture_output=True, text=True
    )


def test_partition_set_in_cluster_env_is_the_one_sbatch_uses(slurm_cluster):
    refused = submit_after_sourcing_cluster_env(slurm_cluster, OPEN_R1_PARTITION="no-such-partition")
    assert refused.returncode != 0
    assert "invalid partition" in refused.stderr.lower(), refused.stderr

    accepted = submit_after_sourcing_cluster_env(slurm_cluster, OPEN_R1_PARTITION=slurm_cluster.partition)
    assert accepted.returncode == 0, accepted.stderr
    job_id = accepted.stdout.strip()
    assert f"Partition={slurm_cluster.partition}" in slurm_cluster.scontrol("show", "job", job_id)


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
