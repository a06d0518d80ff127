"""scripts/benchmarks/rewards.py at a small size: the three ways of grading give the same rewards on the same
inputs, the ratio is their speeds', and the docs table is written from its results file (the kept
files' tables: test_benchmark_docs.py)."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.script_module import load_module

ANSWERS = ["3", "\\frac{1}{2}", "12", "x = 5", "\\sqrt{2}", "(1, 2)"]


def benchmark():
    return load_module("scripts/benchmarks/rewards.py", "rewards_benchmark")


def test_the_grading_benchmark_grades_three_ways_alike_and_tabulates_the_results(tmp_path):
    data = tmp_path / "math.jsonl"
    data.write_text("".join(json.dumps({"problem": f"p{i}", "answer": a}) + "\n" for i, a in enumerate(ANSWERS)))
    output = tmp_path / "results.json"
    script = benchmark()
    assert script.main(["--data", str(data), "--generations", "4", "--output", str(output)]) == 0
    results = json.loads(output.read_text())
    assert results["settings"]["completions"] == 4 * len(ANSWERS) and results["rewards_differing"] == 0
    # Half the completions write the gold another way, half give another problem's answer.
    assert results["equal_forms_graded_1"] == results["wrong_answers_graded_0"] == 2 * len(ANSWERS)
    speed = results["completions_per_second"]
    assert results["ratio"] == pytest.approx(speed[script.PROJECT] / speed[script.BASELINE])

    text = tabulated(script, output, tmp_path)
    assert f"| **{results['ratio']:.2f}×** | yes (0 of 24 differ) |" in text


def test_without_its_data_the_benchmark_says_so_and_exits_2(tmp_path, capsys):
    assert benchmark().main(["--data", str(tmp_path / "absent.jsonl")]) == 2
    assert "MATH-500 not found at" in capsys.readouterr().err
