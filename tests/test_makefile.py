"""The Makefile's targets that take variables refuse one they do not read, naming the ones they do."""

import subprocess

import pytest

from tests.support import REPO_ROOT


@pytest.mark.parametrize(
    "command, unknown",
    [
        (["demo", "TOOL=1", "FAST=1"], "TOOL"),  # found by an audit: it ran the plain demo for 90 s
        (["evaluate", "BACKEND=cpu", "MODEL=m", "TASK=t", "DATA=d", "LIMT=5"], "LIMT"),
        (["gsm8k", "ARMS=cot"], "ARMS"),
    ],
)
def test_a_variable_the_target_does_not_read_stops_make_before_anything_runs(command, unknown):
    result = subprocess.run(["make", "-n", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert f"*** {unknown}: not a variable make {command[0]} reads; it reads " in result.stderr


def test_the_variables_a_target_reads_and_the_global_ones_pass():
    for command in (["demo", "TOOLS=1", "FAST=1", "VENV=.venv"], ["gsm8k", "ARM=cot", "FAST=1", "TEST_WORKERS=0"]):
        result = subprocess.run(["make", "-n", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
