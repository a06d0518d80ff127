"""Smoke test of scripts/benchmarks/compiled_evaluation.py on a CPU (the compiled way on torch.compile's eager
backend, as the evaluator's own tests run it): both ways evaluate the same problems with make gsm8k's settings for
the arm, greedy decoding writes the same completions both ways, and the docs table is written from the results file."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.compiled_on_cpu import cpu_compile_config
from tests.support.files import write_jsonl
from tests.support.script_module import load_module


@pytest.fixture
def benchmark():
    return load_module("scripts/benchmarks/compiled_evaluation.py", "compiled_evaluation_benchmark")


def test_both_ways_evaluate_the_same_problems_and_greedy_decoding_agrees(benchmark, tiny_model, tmp_path, monkeypatch):
    from open_r1.eval import decoding

    monkeypatch.setattr(decoding, "compiled_decoding_config", cpu_compile_config)
    problems = [
        {"id": str(index), "problem": f"What is {index} + 2?", "answer": str(index + 2),
         "solution": f"{index} + 2 = <<{index}+2={index + 2}>>{index + 2}\n#### {index + 2}"}
        for index in range(3)
    ]  # fmt: skip
    test_file = tmp_path / "gsm8k_test.jsonl"
    write_jsonl(test_file, problems)
    output = tmp_path / "compiled.json"
    argv = ["--model", str(tiny_model), "--test_file", str(test_file), "--device", "auto", "--limit", "0"]
    results = benchmark.main([*argv, "--kinds", "greedy", "--output", str(output)])

    assert json.loads(output.read_text()) == results
    greedy = results["evaluations"]["greedy"]
    assert greedy["alike"] == 1.0  # the same completions, compiled or not
    for way in ("uncompiled", "compiled"):
        assert greedy[way]["calls"] >= 1 and greedy[way]["decode_steps"] >= 1 and greedy[way]["seconds"] > 0
    assert greedy["compiled"]["pass@1"] == greedy["uncompiled"]["pass@1"]
    assert greedy["ratio_seconds"] == pytest.approx(greedy["compiled"]["seconds"] / greedy["uncompiled"]["seconds"])
    text = tabulated(benchmark, output, tmp_path)
    assert f"{tiny_model.name}, cot, all | greedy | compiled |" in text and "| 100.0% |" in text
    # One way alone (a lease's leftover minutes): no ratio, nothing compared.
    alone = benchmark.main([*argv, "--kinds", "greedy", "--ways", "compiled"])["evaluations"]["greedy"]
    assert list(alone) == ["compiled"] and alone["compiled"]["pass@1"] == greedy["compiled"]["pass@1"]


def test_the_compiled_way_is_refused_off_a_gpu_before_anything_is_read(benchmark, tiny_model, tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--test_file", str(tmp_path / "t.jsonl"), "--device", "cpu"])
    assert "--device cpu: the compiled way compiles on a GPU only" in capsys.readouterr().err
