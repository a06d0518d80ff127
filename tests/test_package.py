"""Importing `open_r1` (src/open_r1/__init__.py): DeepSpeed's CPU fallback notice and accelerate's CPU thread notice are
quiet where they only say the machine has no GPU."""

import importlib.util
import logging
import subprocess
import sys

import pytest

import open_r1

NOTICE = "Setting accelerator to CPU. If you have GPU or other accelerator, we were unable to detect it."


def imports(code: str) -> str:
    """The combined output of a fresh interpreter running `code`."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="DeepSpeed is not installed")
@pytest.mark.skipif(open_r1.gpu_device_present(), reason="this machine has a GPU device")
def test_on_a_machine_without_a_gpu_deepspeed_imports_quietly_after_open_r1():
    assert "Setting accelerator to CPU" in imports("import deepspeed")  # what every command printed
    assert "Setting accelerator to CPU" not in imports("import open_r1, deepspeed")


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("DeepSpeed", logging.WARNING, "real_accelerator.py", 213, message, None, None)


def test_the_notice_stays_where_a_gpu_device_exists_and_other_messages_always_pass(monkeypatch, tmp_path):
    notice_filter = open_r1._CpuFallbackNotice()
    monkeypatch.setattr(open_r1, "GPU_DEVICE_FILES", (str(tmp_path / "nvidiactl"),))
    assert not notice_filter.filter(record(NOTICE))
    assert notice_filter.filter(record("Setting ds_accelerator to cuda (auto detect)"))
    (tmp_path / "nvidiactl").touch()  # a GPU whose CUDA failed to come up: the hint matters there
    assert notice_filter.filter(record(NOTICE))


def test_accelerates_cpu_thread_notice_is_quiet_after_open_r1_and_other_warnings_pass():
    """accelerate warned at every DeepSpeed run on a CPU launched with --num_processes 1 (a newcomer audit)."""
    code = (
        "import warnings, open_r1; "
        "warnings.warn('OMP_NUM_THREADS/MKL_NUM_THREADS unset, we set it at 2 to improve oob performance.'); "
        "warnings.warn('another notice')"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert "OMP_NUM_THREADS" not in output and "another notice" in output
