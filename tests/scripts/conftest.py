"""Fixtures of the scripts' tests."""

import pytest

from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def generator():
    """scripts/generate_reasoning.py, loaded afresh for the test module."""
    return load_module("scripts/generate_reasoning.py", "generate_reasoning")
