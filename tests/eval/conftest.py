"""Shared evaluation fixtures: GSM8K-like train (shots) and test files, numbered alike as GSM8K's files are."""

import pathlib

import pytest

from tests.support.files import write_jsonl

GSM8K_TRAIN = [
    {"id": str(i), "problem": f"Ann has {i} pens and buys {i} more. How many?", "answer": str(2 * i)}
    | {"solution": f"She has {i}+{i}=<<{i}+{i}={2 * i}>>{2 * i} pens.\n#### {2 * i}"}
    for i in range(1, 9)
]
GSM8K_TEST = [
    {"id": str(i), "problem": f"Bob has {i} cups and loses one. How many?", "answer": str(i - 1)} for i in (3, 5, 9)
]


@pytest.fixture
def gsm8k_files(tmp_path) -> tuple[pathlib.Path, pathlib.Path]:
    """(train file, test file) of GSM8K_TRAIN and GSM8K_TEST."""
    return write_jsonl(tmp_path / "train.jsonl", GSM8K_TRAIN), write_jsonl(tmp_path / "test.jsonl", GSM8K_TEST)
