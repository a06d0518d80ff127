"""Open R1: the DeepSeek-R1 training pipeline (SFT, GRPO, generation, evaluation), laid out like Hugging Face's
open-r1; see README.md. Importing the package only quiets two start-up notices (below)."""

import logging
import os
import warnings

# Device files a GPU driver creates (NVIDIA's, AMD ROCm's, WSL2's); where there are none, DeepSpeed can only use
# the CPU.
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg")


def gpu_device_present() -> bool:
    """Whether a GPU driver's device file is there (`GPU_DEVICE_FILES`): the cheap sign, without importing torch."""
    return any(os.path.exists(path) for path in GPU_DEVICE_FILES)


class _CpuFallbackNotice(logging.Filter):
    """Drops DeepSpeed's import-time warning "Setting accelerator to CPU. If you have GPU or other accelerator, we were
    unable to detect it." on a machine with no GPU device, where the CPU is what it has (every command of the first
    hour, the tests, the CPU demos printed it). DeepSpeed's choice is unchanged; where a GPU device exists but was
    not detected, the warning stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Setting accelerator to CPU" not in record.getMessage():
            return True
        return gpu_device_present()


# Before DeepSpeed is imported (transformers imports it when installed): it warns while it imports.
logging.getLogger("DeepSpeed").addFilter(_CpuFallbackNotice())

# accelerate 1.15 picks each CPU process's threads itself when a DeepSpeed config runs on a CPU without
# OMP_NUM_THREADS, and says so with a UserWarning as the training arguments are parsed, on every such run. Remove
# when accelerate logs it instead.
warnings.filterwarnings("ignore", message="OMP_NUM_THREADS/MKL_NUM_THREADS unset, we set it at", category=UserWarning)
