"""Helpers shared by the test modules (not tests themselves); import them as `from tests.support.<module> import ...`."""

import pathlib

from open_r1.utils.launch import MODELS_FOLDER

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
# The tiny recipes, relative to REPO_ROOT (the launch helpers run from it).
TINY_GRPO_RECIPE = "recipes/tiny/grpo/config_cpu.yaml"
TINY_SFT_RECIPE = "recipes/tiny/sft/config_cpu.yaml"
# The real model's folder as `python scripts/get_model.py smollm2` writes it; tests that need it skip without it.
SMOLLM2 = REPO_ROOT / MODELS_FOLDER / "SmolLM2-135M-Instruct-f32"
