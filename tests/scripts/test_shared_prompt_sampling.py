"""Smoke test of the decoding benchmark scripts/benchmarks/shared_prompt_sampling.py: every way does the same work
on a benchmark file's prompts, and the reported ratios are those of the medians."""

import json

import pytest

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
    data.write_text("".join(json.dumps(problem) + "\n" for problem in problems))
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


def test_the_shared_prompt_benchmark_compares_with_the_evaluators_way(tiny_model):
    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--ways", "num_return_sequences"])
