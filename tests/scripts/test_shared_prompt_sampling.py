"""Smoke test of the decoding benchmark scripts/benchmarks/shared_prompt_sampling.py: every way does the same work
on a benchmark file's prompts, the reported ratios are those of the medians, and the docs table is written from the
results file (the kept files' table: test_benchmark_docs.py)."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.files import write_jsonl
from tests.support.script_module import load_module


def test_the_shared_prompt_benchmark_times_every_way_on_the_same_work(tiny_model, tmp_path):
    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    problems = [
        {"id": "short", "problem": "What is 1+1?", "answer": "2"},
        {
            "id": "long",
            "problem": "Compute 3 - 2 + 7 - 1 - 4 + 2 - 9 + 8, thinking first, then box it.",
            "answer": "4",
        },
    ]
    data = tmp_path / "bench.jsonl"
    write_jsonl(data, problems)
    output = tmp_path / "timings.json"
    argv = ["--model", str(tiny_model), "--data_files", str(data), "--prompts", "2", "--samples", "2", "3"]
    results = benchmark.main([*argv, "--new_tokens", "3", "--repeats", "1", "--threads", "1", "--output", str(output)])

    assert json.loads(output.read_text()) == results
    assert results["prompt_tokens"]["min"] < results["prompt_tokens"]["max"]  # left padding is exercised
    assert set(results["runs"]) == {"2", "3"}
    for run in results["runs"].values():
        medians = run["median_seconds"]
        assert set(medians) == set(benchmark.WAYS)
        default = medians[benchmark.EVALUATOR_DEFAULT]
        assert run["ratio_to_default"] == {way: median / default for way, median in medians.items()}
    assert results["settings"]["repeats"] == 1 and results["settings"]["machine"]["load_average_at_end"]

    text = tabulated(benchmark, output, tmp_path)
    three = results["runs"]["3"]
    shared = f"{three['median_seconds']['shared']:.1f} s, **{three['ratio_to_default']['shared']:.2f}×**"
    assert f"| 2 of bench.jsonl, {results['prompt_tokens']['min']}-" in text and "| 3 × 3 | 1 |" in text
    assert shared in text.split("| 3 × 3 |")[1].splitlines()[0]


def test_the_docs_table_has_a_dash_for_a_way_a_run_did_not_time(tiny_model, tmp_path):
    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    output = tmp_path / "timings.json"
    ways = ["--ways", "shared", benchmark.EVALUATOR_DEFAULT]
    argv = ["--model", str(tiny_model), "--prompts", "1", "--samples", "2", "--new_tokens", "2", "--repeats", "1"]
    benchmark.main([*argv, *ways, "--threads", "1", "--output", str(output)])
    header, _, row = (
        tabulated(benchmark, output, tmp_path)
        .split("<!-- shared_prompt_sampling.py results: begin -->")[1]
        .strip()
        .splitlines()[:3]
    )
    assert (
        "`num_return_sequences`" not in header
        and "`shared`" in header
        and "| 1 copies of one written problem, " in row
    )


def test_the_shared_prompt_benchmark_compares_with_the_evaluators_way(tiny_model):
    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--ways", "num_return_sequences"])


def test_timing_without_a_model_is_refused_in_one_line(capsys):
    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    with pytest.raises(SystemExit):
        benchmark.main(["--prompts", "2"])
    assert "--model is required" in capsys.readouterr().err
