"""The `gpu` extra's packages (vLLM, flash-attn, liger-kernel): whether one is installed, and the one way a setting
that needs one says it is not.

    problem = missing_gpu_package("vllm", "use_vllm: true", "set --use_vllm false to generate with transformers")
    if problem: raise UsageError(problem)

Checks that the package can be found without importing it (vLLM's import alone takes seconds). Not covered: whether
the package works on this machine's GPU (it says so itself when it starts).
"""

import importlib.util

# How the `gpu` extra gets installed (README, "Set-up").
GPU_EXTRA = "the `gpu` extra (make install adds it where nvidia-smi sees a GPU; elsewhere pip install -e '.[gpu]')"


def gpu_package_installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def missing_gpu_package(package: str, needed_by: str, instead: str) -> str | None:
    """`<needed_by> needs <package>, which is not installed here: it is in the gpu extra (...); <instead>`, or None
    where it is installed."""
    if gpu_package_installed(package):
        return None
    return f"{needed_by} needs {package}, which is not installed here: it is in {GPU_EXTRA}; {instead}"
