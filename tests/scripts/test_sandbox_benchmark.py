"""scripts/benchmarks/sandbox.py at a small size: the sandbox and the plain loop give every test the same verdict,
the ratio and ceiling come from the same run, and the docs table is written from its results file (the kept
files' tables: test_benchmark_docs.py)."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.files import write_jsonl
from tests.support.sandbox_checks import skip_without_isolation
from tests.support.script_module import load_module

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

PROBLEMS = [
    {"id": "sum", "solution": "a, b = map(int, input().split())\nprint(a + b)\n", "tests": []},
    {"id": "echo", "solution": "print(input().strip()[::-1])\n", "tests": []},
]
PROBLEMS[0]["tests"] = [{"input": f"{a} {a + 1}\n", "output": f"{2 * a + 1}\n"} for a in range(3)]
PROBLEMS[1]["tests"] = [{"input": f"{word}\n", "output": f"{word[::-1]}\n"} for word in ("abc", "level", "xy")]


def benchmark():
    return load_module("scripts/benchmarks/sandbox.py", "sandbox_benchmark")


def test_the_sandbox_benchmark_gives_both_arms_the_same_verdicts_and_tabulates_them(tmp_path):
    data = tmp_path / "problems.jsonl"
    write_jsonl(data, PROBLEMS)
    output = tmp_path / "results.json"
    script = benchmark()
    with skip_without_isolation():
        results = script.main(["--data", str(data), "--rounds", "2", "--output", str(output)])
    assert json.loads(output.read_text()) == results
    assert results["problems_differing"] == [] and results["all_passed"] == 2
    assert results["settings"]["tests"] == 6 and results["settings"]["workers"] == 2
    assert results["ratio"] == pytest.approx(
        results["sandbox_tests_per_second"] / results["baseline_tests_per_second"]
    )
    assert results["ceiling"] > 0

    text = tabulated(script, output, tmp_path)
    assert f"| 2, 6, 2 | {results['baseline_tests_per_second']:.1f} tests/s |" in text
    assert "| identical (2/2 pass) |" in text
