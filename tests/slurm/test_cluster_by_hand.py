"""`python -m tests.support.slurm_cluster`: the test cluster started by hand to try the slurm/ scripts (slow)."""

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT
from tests.support.slurm_cluster import missing_programs

pytestmark = pytest.mark.slow


@pytest.mark.timeout(120)
def test_it_runs_until_ctrl_c_and_says_what_to_export(tmp_path):
    """A newcomer found no way to start the cluster the README's tiny commands need outside pytest."""
    if missing_programs() or os.geteuid() != 0:
        pytest.skip("needs Slurm and munge (bash scripts/install_slurm.sh) and root")
    command = [sys.executable, "-m", "tests.support.slurm_cluster", str(tmp_path / "cluster"), "--nodes", "1"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Slurm cluster up: 1 pretend 8-GPU nodes"), lines
        conf = re.search(r"export SLURM_CONF=(\S+)", lines[1]).group(1)
        env = {**os.environ, "SLURM_CONF": conf, "PATH": os.environ["PATH"] + ":/usr/sbin"}
        nodes = subprocess.run(["sinfo", "-h", "-o", "%N %t"], env=env, capture_output=True, text=True, timeout=30)
        assert nodes.stdout.split() == ["node1", "idle"], nodes
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    gone = subprocess.run(["sinfo"], env=env, capture_output=True, text=True, timeout=30)
    assert gone.returncode != 0  # the controller stopped with it
