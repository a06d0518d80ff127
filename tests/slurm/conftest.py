"""Fixtures for the Slurm tests: one real single-host Slurm cluster (two pretend 8-GPU nodes) per session.

The cluster's daemons live only as long as the test session; the tests skip when the Slurm and
munge programs are not installed (`bash scripts/install_slurm.sh`) or the session is not root
(slurmd must be able to start jobs). Jobs run with CPU settings: one training process per node,
gloo instead of NCCL (ACCELERATE_USE_CPU=true), no environment modules.
"""

import os

import pytest

from tests.support import REPO_ROOT
from tests.support.ports import free_port
from tests.support.slurm_cluster import JobResult, SlurmCluster, missing_programs


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm/munge not installed (missing {missing}); run: bash scripts/install_slurm.sh")
    if os.geteuid() != 0:
        pytest.skip("the test Slurm cluster needs root (slurmd starts jobs as their owner)")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm-cluster"), num_nodes=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def submit(slurm_cluster, tmp_path):
    """`submit(sbatch_args, **env)` runs an sbatch job from the repository root with CPU settings and waits for it.

    With `background=True` it returns the `SubmittedJob` at once instead of waiting.
    """

    def run(sbatch_args: list[str], timeout: float = 600, background: bool = False, **env: str) -> JobResult:
        settings = {
            "OPEN_R1_ROOT": str(REPO_ROOT),
            "OPEN_R1_MODULES": "",
            "OPEN_R1_VENV": str(REPO_ROOT / ".venv"),
            "OPEN_R1_PROCESSES_PER_NODE": "1",
            # A fresh port per job: a finished job's socket can linger in TIME_WAIT.
            "OPEN_R1_MAIN_PROCESS_PORT": str(free_port()),
            "OPEN_R1_VLLM_PORT": str(free_port()),
            "ACCELERATE_USE_CPU": "true",
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "WANDB_MODE": "disabled",
        }
        job_env = slurm_cluster.env(**{**settings, **env})
        job = slurm_cluster.submit(sbatch_args, cwd=REPO_ROOT, env=job_env)
        return job if background else job.result(timeout)

    return run
