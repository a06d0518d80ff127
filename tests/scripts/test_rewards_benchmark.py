"""scripts/benchmarks/rewards.py at a small size: the three ways of grading give the same rewards on the same
inputs, the ratio is their speeds', and the docs table is written from the results files kept in docs/results."""

import json

import pytest

from open_r1.demo.report import read_results_files
from tests.support import REPO_ROOT
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

    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{script.BEGIN}\nan older table\n{script.END}\nafter\n")
    script.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    assert f"| **{results['ratio']:.2f}×** | yes (0 of 24 differ) |" in text


def test_without_its_data_the_benchmark_says_so_and_exits_2(tmp_path, capsys):
    assert benchmark().main(["--data", str(tmp_path / "absent.jsonl")]) == 2
    assert "MATH-500 not found at" in capsys.readouterr().err


def test_the_docs_table_is_the_one_the_kept_results_give():
    script = benchmark()
    kept = sorted((REPO_ROOT / "docs" / "results" / "rewards").glob("*.json"))
    assert kept, "docs/results/rewards holds the runs docs/benchmarks.md tabulates"
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    block = page.split(script.BEGIN, 1)[1].split(script.END, 1)[0]
    assert block.strip() == script.docs_section(read_results_files(kept, REPO_ROOT)).strip(), (
        "docs/benchmarks.md's grading table was typed or its results changed: "
        "python scripts/benchmarks/rewards.py --write_docs docs/results/rewards/*.json"
    )
