"""scripts/benchmarks/python_tool.py at a small size: the tool and a bare subprocess print the same, each call's
time is kept, and the docs table is written from the results files kept in docs/results."""

import json

import pytest

from open_r1.demo.report import read_results_files
from tests.support import REPO_ROOT
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

    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{script.BEGIN}\nan older table\n{script.END}\nafter\n")
    script.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    assert f"| 4 | **{1000 * results['tool']:.1f} ms** median, {1000 * results['tool_p90']:.1f} ms p90 |" in text


def test_the_docs_table_is_the_one_the_kept_results_give():
    script = benchmark()
    kept = sorted((REPO_ROOT / "docs" / "results" / "python_tool").glob("*.json"))
    assert kept, "docs/results/python_tool holds the runs docs/benchmarks.md tabulates"
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    block = page.split(script.BEGIN, 1)[1].split(script.END, 1)[0]
    assert block.strip() == script.docs_section(read_results_files(kept, REPO_ROOT)).strip(), (
        "docs/benchmarks.md's python tool table was typed or its results changed: "
        "python scripts/benchmarks/python_tool.py --write_docs docs/results/python_tool/*.json"
    )
