"""scripts/install.sh (`make install`) picks torch's build for the machine: on Linux without a GPU the CPU build
(2.13.0+cpu) from pip's configured sources, else from PyTorch's own CPU index, never PyPI's (CUDA) Linux build;
with a GPU, or off Linux, the plain release; TORCH_INDEX_URL overrides both; a .venv holding the CPU build on a GPU
machine is refused. The script runs against a stand-in interpreter that records what pip was asked for and installs
nothing, with stand-ins for nvidia-smi and uname."""

import os
import pathlib
import subprocess

from tests.support import REPO_ROOT

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$INSTALL_LOG"
# Each program given on stdin, then the first folder of its PATH, then a separator line.
if [ "$1" = - ]; then program=$(cat); printf '%s\n%s\n----\n' "$program" "${PATH%%:*}" >> "$INSTALL_LOG.programs"; fi
# DeepSpeed's op build fails where the test says so (no compiler).
if [ -n "$OP_BUILD_FAILS" ] && [[ "${program:-}" == *ShareMemCommBuilder* ]]; then exit 1; fi
# Is the installed torch the CPU build? Only when the test says one is installed.
if [[ "$*" == *torch.version.cuda* ]]; then [ -n "$CPU_TORCH_INSTALLED" ] && exit 0 || exit 1; fi
# pip's configured sources have no CPU torch: only an install from an index hands it out.
if [ -n "$NO_LOCAL_CPU_TORCH" ] && [[ "$*" == *+cpu* ]] && [[ "$*" != *--index-url* ]]; then
    echo "ERROR: No matching distribution found for torch==2.13.0+cpu"; exit 1
fi
if [ -n "$NO_CPU_TORCH_ANYWHERE" ] && [[ "$*" == *+cpu* ]]; then exit 1; fi
exit 0
"""


def run_install(
    tmp_path: pathlib.Path, gpu: bool, system: str = "Linux", **env: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    """install.sh on a stand-in machine kept in `tmp_path` (a second call reuses its .venv); the torch installs
    pip was asked for in this call."""
    venv, tools = tmp_path / "venv", tmp_path / "bin"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    tools.mkdir(exist_ok=True)
    (venv / "bin" / "python").write_text(FAKE_PYTHON)
    (tools / "nvidia-smi").write_text(f"#!/usr/bin/env bash\nexit {0 if gpu else 1}\n")
    (tools / "uname").write_text(f"#!/usr/bin/env bash\necho {system}\n")
    for script in (venv / "bin" / "python", tools / "nvidia-smi", tools / "uname"):
        script.chmod(0o755)
    log = tmp_path / "pip.log"
    log.unlink(missing_ok=True)
    pathlib.Path(f"{log}.programs").unlink(missing_ok=True)
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
    lines = log.read_text().splitlines() if log.exists() else []
    return result, [line for line in lines if " torch==" in f" {line}"]


def test_without_a_gpu_the_cpu_build_comes_from_the_configured_sources_when_they_have_it(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False)
    assert result.returncode == 0, result.stderr
    assert torch_installs == ["-m pip install --disable-pip-version-check -q torch==2.13.0+cpu"]


def test_without_a_gpu_the_cpu_build_comes_from_pytorchs_cpu_index_when_they_do_not(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, NO_LOCAL_CPU_TORCH="1")
    assert result.returncode == 0, result.stderr
    assert torch_installs == [
        "-m pip install --disable-pip-version-check -q torch==2.13.0+cpu",
        "-m pip install --disable-pip-version-check -q torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu",
    ]
    assert (
        "torch==2.13.0+cpu could not be installed from pip's configured sources "
        "(ERROR: No matching distribution found for torch==2.13.0+cpu);\ntrying https://download.pytorch.org/whl/cpu\n"
    ) in result.stdout, "pip's own reason, then where it tries next"


def test_without_a_gpu_and_no_cpu_build_anywhere_it_stops_rather_than_take_the_cuda_build(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, NO_CPU_TORCH_ANYWHERE="1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "install.sh: could not install torch==2.13.0+cpu; set TORCH_INDEX_URL to an index that has it"
    )
    assert torch_installs and all("+cpu" in line for line in torch_installs), "never the plain (CUDA) release"


def test_with_a_gpu_torch_is_the_plain_release(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=True)
    assert result.returncode == 0, result.stderr
    assert torch_installs == ["-m pip install --disable-pip-version-check torch==2.13.0"]


def test_off_linux_torch_is_the_plain_release_which_is_the_cpu_build_there(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, system="Darwin")
    assert result.returncode == 0, result.stderr
    assert torch_installs == ["-m pip install --disable-pip-version-check torch==2.13.0"]


def test_a_venv_holding_the_cpu_build_on_a_gpu_machine_is_refused_since_pip_would_keep_it(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=True, CPU_TORCH_INSTALLED="1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"install.sh: {tmp_path / 'venv'} has torch's CPU build and this machine has a GPU: delete "
        f"{tmp_path / 'venv'}, then run it again"
    ]
    assert torch_installs == []


def test_torch_index_url_is_the_one_index_torch_comes_from(tmp_path):
    result, torch_installs = run_install(tmp_path, gpu=False, TORCH_INDEX_URL="https://example.org/whl")
    assert result.returncode == 0, result.stderr
    assert torch_installs == [
        "-m pip install --disable-pip-version-check torch==2.13.0 --index-url https://example.org/whl"
    ]


def test_a_second_run_installs_nothing_unless_where_torch_comes_from_changed(tmp_path):
    run_install(tmp_path, gpu=False)
    again, torch_installs = run_install(tmp_path, gpu=False)
    assert "is already installed" in again.stdout and torch_installs == []
    elsewhere, torch_installs = run_install(tmp_path, gpu=False, TORCH_INDEX_URL="https://example.org/whl")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert torch_installs == [
        "-m pip install --disable-pip-version-check torch==2.13.0 --index-url https://example.org/whl"
    ]


def test_the_torch_constraint_is_read_from_its_metadata_without_importing_torch(tmp_path):
    # Importing torch before numpy is installed prints "Failed to initialize NumPy" in the install's first lines.
    result, _ = run_install(tmp_path, gpu=False)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "pip.log").read_text()
    assert 'm.version("torch")' in calls
    assert "import torch" not in calls


def python_programs_run(tmp_path: pathlib.Path) -> dict[str, str]:
    """The programs the last run_install gave the venv's python on its standard input, each with the first folder
    of the PATH it ran with."""
    programs = tmp_path / "pip.log.programs"
    blocks = programs.read_text().split("\n----\n") if programs.exists() else []
    return {program: path_head for program, _, path_head in (block.rpartition("\n") for block in blocks if block)}


def op_build(programs: dict[str, str]) -> list[tuple[str, str]]:
    return [(program, path) for program, path in programs.items() if "ShareMemCommBuilder" in program]


def test_without_a_gpu_deepspeeds_cpu_communication_op_is_compiled_at_install_not_in_the_first_run(tmp_path):
    result, _ = run_install(tmp_path, gpu=False)
    assert result.returncode == 0, result.stderr
    [(program, path_head)] = op_build(python_programs_run(tmp_path))
    assert "builder.load(" in program
    # With the venv's ninja, as make test's runs find it: a build by another ninja version is compiled again.
    assert path_head == str(tmp_path / "venv" / "bin")
    result, _ = run_install(tmp_path / "gpu", gpu=True)
    assert result.returncode == 0, result.stderr
    assert op_build(python_programs_run(tmp_path / "gpu")) == [], "a GPU machine has no use for it"


def test_an_op_that_does_not_compile_is_said_and_the_install_goes_on(tmp_path):
    result, _ = run_install(tmp_path, gpu=False, OP_BUILD_FAILS="1")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "install.sh: DeepSpeed's CPU communication op did not build; the first multi-process DeepSpeed run on this "
        "CPU will try again"
    )
    assert "open-r1 installed in" in result.stdout
