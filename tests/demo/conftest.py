"""Fixtures of the demo tests: what the end-to-end `make gsm8k` runs (slow) need from this machine."""

import pytest

from tests.conftest import SHARED_DATA
from tests.support import SMOLLM2


@pytest.fixture
def shared_gsm8k_options() -> list[str]:
    """`scripts/gsm8k.py`'s --train_file and --test_file options for the shared GSM8K files; the test skips without
    them or without SmolLM2 (python scripts/get_model.py smollm2)."""
    if not (SMOLLM2 / "model.safetensors").is_file():
        pytest.skip(f"{SMOLLM2} is absent (python scripts/get_model.py smollm2)")
    train, test = SHARED_DATA / "gsm8k_train.jsonl", SHARED_DATA / "gsm8k_test.jsonl"
    if not train.is_file() or not test.is_file():
        pytest.skip(f"GSM8K is absent from {SHARED_DATA}")
    return ["--train_file", str(train), "--test_file", str(test)]
