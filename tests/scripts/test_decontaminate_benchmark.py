"""scripts/benchmarks/decontaminate.py at a small size: both ways flag the same rows, the ratios are their speeds',
and the docs table is written from its results file (the kept
files' tables: test_benchmark_docs.py)."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.script_module import load_module

BENCHMARKS = {
    "tiny_math": [
        "What is the sum of the first ten positive integers when each of them is doubled and then added together",
        "Find the number of ways to arrange the letters of the word banana so that no two a are next to each other",
    ],
    "tiny_code": ["Write a program that reads a list of numbers and prints the largest one followed by the smallest"],
}


def benchmark():
    return load_module("scripts/benchmarks/decontaminate.py", "decontaminate_benchmark")


def test_the_decontamination_benchmark_flags_alike_both_ways_and_tabulates_the_results(tmp_path):
    script = benchmark()
    results = script.run(BENCHMARKS, rows=2_000, ngram_size=8, num_proc=2, repeats=1)
    assert results["flags_differing"] == 0 and results["settings"]["rows"] == 2_000
    # About 1% of the rows are planted benchmark problems: each is flagged.
    assert 0 < sum(results["contaminated_rows"].values()) < 100
    for processes in ("1", "2"):
        assert results["ratios"][processes] == pytest.approx(
            results["fast_rows_per_second"][processes] / results["baseline_rows_per_second"]
        )

    output = tmp_path / "results.json"
    output.write_text(json.dumps(results))
    text = tabulated(script, output, tmp_path)
    assert f"(**{results['ratios']['2']:.1f}×**) | yes (0 rows differ) |" in text


def test_the_benchmark_is_refused_below_its_defined_size():
    with pytest.raises(SystemExit):
        benchmark().main(["--rows", "1000"])


def test_best_of_keeps_the_fastest_time_and_the_last_result():
    from open_r1.utils.results_docs import best_of

    calls = []
    seconds, result = benchmark().best_of(3, lambda: calls.append(len(calls)) or len(calls))
    assert benchmark().best_of is best_of
    assert calls == [0, 1, 2] and result == 3 and 0 <= seconds < 1
