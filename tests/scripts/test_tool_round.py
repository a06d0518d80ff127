"""Smoke test of scripts/benchmarks/tool_round.py at its smallest size: both arms make the same calls with the same
results, the ratio is that of the arms' medians, and the table is written from the results file."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.sandbox_checks import skip_without_isolation
from tests.support.script_module import load_module

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")


def test_the_round_benchmark_times_both_arms_on_the_same_calls_and_tabulates_them(tmp_path):
    benchmark = load_module("scripts/benchmarks/tool_round.py", "tool_round_benchmark")
    output = tmp_path / "round.json"
    with skip_without_isolation():
        results = benchmark.main(
            ["--rollouts", "3", "--code", "x = 2", "print(x * 21)", "--repeats", "2", "--output", str(output)]
        )
    assert json.loads(output.read_text()) == results
    assert all(len(values) == 2 for values in results["all_seconds"].values())
    medians = results["seconds_per_round"]
    assert results["ratio"] == pytest.approx(medians["in place"] / medians["ahead"])
    assert results["ceiling"] == min(2, 3, results["settings"]["machine"]["cores"])
    assert results["settings"]["calls_per_rollout"] == 2

    text = tabulated(benchmark, output, tmp_path)
    assert f"| 3 × 2 | 2 | {medians['in place']:.3f} | {medians['ahead']:.3f} | **{results['ratio']:.2f}×** |" in text


def test_the_round_benchmark_refuses_an_empty_round():
    benchmark = load_module("scripts/benchmarks/tool_round.py", "tool_round_benchmark")
    with pytest.raises(SystemExit):
        benchmark.main(["--rollouts", "0"])
