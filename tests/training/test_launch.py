"""Where `open_r1.utils.launch` says the repository and the real benchmark files are."""

import os
import subprocess
import sys

from tests.support import REPO_ROOT


def shared_data_seen(**env) -> str:
    command = "from open_r1.utils.launch import SHARED_DATA; print(SHARED_DATA)"
    environment = {key: value for key, value in os.environ.items() if key != "OPEN_R1_SHARED_DATA"} | env
    return subprocess.run(
        [sys.executable, "-c", command], env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_benchmark_folder_is_shared_data_beside_the_checkout_unless_the_environment_names_another(tmp_path):
    assert shared_data_seen() == str(REPO_ROOT.parent / "shared" / "data")
    assert shared_data_seen(OPEN_R1_SHARED_DATA=str(tmp_path)) == str(tmp_path)
