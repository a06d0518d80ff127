"""scripts/benchmarks/python_tool.py at a small size: the tool and a bare subprocess print the same, each call's
time is kept, and the docs table is written from its results file (the kept
files' tables: test_benchmark_docs.py)."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.sandbox_checks import skip_without_isolation
from tests.support.script_module import load_module

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")


def benchmark():
    return load_module("scripts/benchmarks/python_tool.py", "python_tool_benchmark")


def test_the_tool_benchmark_times_both_ways_and_each_replay_and_tabulates_them(tmp_path):
    script = benchmark()
    output = tmp_path / "results.json"
    with skip_without_isolation():
        results = script.main(["--calls", "4", "--history", "0", "2", "--output", str(output)])
    assert json.loads(output.read_text()) == results
    assert list(results["replay"]) == ["0", "2"] and all(seconds > 0 for seconds in results["replay"].values())
    assert 0 < results["tool"] <= results["tool_p90"] and results["subprocess"] > 0

    text = tabulated(script, output, tmp_path)
    assert f"| 4 | **{1000 * results['tool']:.1f} ms** median, {1000 * results['tool_p90']:.1f} ms p90 |" in text
