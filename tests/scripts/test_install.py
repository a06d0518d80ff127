"""scripts/install.sh (`make install`) picks torch's build for the machine: on Linux without a GPU the CPU build
(2.13.0+cpu) from pip's configured sources, else from PyPI's sibling, PyTorch's CPU index, never PyPI's CUDA build;
with a GPU the plain release; TORCH_INDEX_URL overrides both. The script runs against a stand-in interpreter that
records what pip was asked for and installs nothing."""

import os
import pathlib
import platform
import subprocess

import pytest

from tests.support import REPO_ROOT

pytestmark = pytest.mark.skipif(platform.system() != "Linux", reason="the CPU build is chosen on Linux only")

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$INSTALL_LOG"
[ "$1" = - ] && cat > /dev/null
# pip's configured sources have no CPU torch: only an install from an index hands it out.
if [ -n "$NO_LOCAL_CPU_TORCH" ] && [[ "$*" == *+cpu* ]] && [[ "$*" != *--index-url* ]]; then exit 1; fi
if [ -n "$NO_CPU_TORCH_ANYWHERE" ] && [[ "$*" == *+cpu* ]]; then exit 1; fi
exit 0
"""


def run_install(tmp_path: pathlib.Path, gpu: bool, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    venv, tools = tmp_path / "venv", tmp_path / "bin"
    (venv / "bin").mkdir(parents=True)
    tools.mkdir()
    (venv / "bin" / "python").write_text(FAKE_PYTHON)
    (tools / "nvidia-smi").write_text(f"#!/usr/bin/env bash\nexit {0 if gpu else 1}\n")
    for script in (venv / "bin" / "python", tools / "nvidia-smi"):
        script.chmod(0o755)
    log = tmp_path / "pip.log"
    environment = {
        **{key: value for key, value in os.environ.items() if key != "TORCH_INDEX_URL"},
        "PATH": f"{tools}:{os.environ['PATH']}",
        "VENV": str(venv),
        "INSTALL_LOG": str(log),
        **env,
    }
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    torch_installs = [line for line in log.read_text().splitlines() if " torch==" in f" {line}"]
    return result, torch_installs


def test_without_a_gpu_the_cpu_build_comes_from_the_configured_sources_when_they_have_it(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False)
    assert result.returncode == 0, result.stderr
    assert torch_installs == ["-m pip install --disable-pip-version-check -q torch==2.13.0+cpu"]


def test_without_a_gpu_the_cpu_build_comes_from_pytorchs_cpu_index_when_they_do_not(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, NO_LOCAL_CPU_TORCH="1")
    assert result.returncode == 0, result.stderr
    assert torch_installs[-1] == (
        "-m pip install --disable-pip-version-check torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu"
    )
    assert "taking it from https://download.pytorch.org/whl/cpu" in result.stdout


def test_without_a_gpu_and_no_cpu_build_anywhere_it_stops_in_one_line_rather_than_take_the_cuda_build(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, NO_CPU_TORCH_ANYWHERE="1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "install.sh: could not install torch==2.13.0+cpu; set TORCH_INDEX_URL to an index that has torch 2.13.0"
    ]
    assert all("+cpu" in line for line in torch_installs), "never the plain (on Linux, CUDA) release"


def test_with_a_gpu_torch_is_the_plain_release(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=True)
    assert result.returncode == 0, result.stderr
    assert torch_installs == ["-m pip install --disable-pip-version-check torch==2.13.0"]


def test_torch_index_url_is_the_one_index_torch_comes_from(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, TORCH_INDEX_URL="https://example.org/whl")
    assert result.returncode == 0, result.stderr
    assert torch_installs == [
        "-m pip install --disable-pip-version-check torch==2.13.0 --index-url https://example.org/whl"
    ]
