"""scripts/benchmarks/sandbox.py at a small size: the sandbox and the plain loop give every test the same verdict,
the ratio and ceiling come from the same run, and the docs table is written from the results files kept in
docs/results."""

import json

import pytest

from open_r1.demo.report import read_results_files
from tests.support import REPO_ROOT
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
    data.write_text("".join(json.dumps(problem) + "\n" for problem in PROBLEMS))
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

    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{script.BEGIN}\nan older table\n{script.END}\nafter\n")
    script.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    assert f"| 2, 6, 2 | {results['baseline_tests_per_second']:.1f} tests/s |" in text
    assert "| identical (2/2 pass) |" in text


def test_the_docs_table_is_the_one_the_kept_results_give():
    script = benchmark()
    kept = sorted((REPO_ROOT / "docs" / "results" / "sandbox").glob("*.json"))
    assert kept, "docs/results/sandbox holds the runs docs/benchmarks.md tabulates"
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    block = page.split(script.BEGIN, 1)[1].split(script.END, 1)[0]
    assert block.strip() == script.docs_section(read_results_files(kept, REPO_ROOT)).strip(), (
        "docs/benchmarks.md's sandbox table was typed or its results changed: "
        "python scripts/benchmarks/sandbox.py --write_docs docs/results/sandbox/*.json"
    )
