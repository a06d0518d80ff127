"""Smoke test of the GRPO throughput benchmark scripts/benchmarks/grpo_throughput.py at its smallest size on the
tiny model: every arm trains and is timed on the same prompts, and the ratios are those of the arms' figures."""

import json

import pytest

from tests.support.script_module import load_module


@pytest.mark.timeout(600)
def test_the_throughput_benchmark_times_each_trainer_on_the_same_batch(tiny_model, tmp_path):
    benchmark = load_module("scripts/benchmarks/grpo_throughput.py", "grpo_throughput_benchmark")
    output = tmp_path / "throughput.json"
    argv = ["--model", str(tiny_model), "--device", "cpu", "--prompts", "2", "--num_generations", "2"]
    argv += ["--max_completion_length", "4", "--steps", "1", "--warmup_steps", "1", "--cpu_threads", "1"]
    results = benchmark.main([*argv, "--arms", *benchmark.ARMS, "--output", str(output)])

    assert json.loads(output.read_text()) == results
    assert set(results["arms"]) == set(benchmark.ARMS)
    trl = results["arms"]["trl"]
    for arm, result in results["arms"].items():
        assert len(result["step_seconds"]) == 1 and result["seconds_per_step"] > 0
        assert 0 < result["generation_seconds_per_step"] < result["seconds_per_step"]
        # 2 prompts x 2 completions of at most 4 tokens per step.
        assert 4 <= result["completion_tokens_per_step"] <= 16
        assert result["completion_tokens_per_second"] == pytest.approx(
            result["completion_tokens_per_step"] / result["seconds_per_step"]
        )
        ratios = results["ratios_to_trl"][arm]
        assert ratios["seconds_per_step"] == pytest.approx(result["seconds_per_step"] / trl["seconds_per_step"])
    # The project's trainer samples the same prompts and, from the same seed, the same completions as bare TRL.
    assert results["arms"]["project"]["same_batch_as_trl"]
    assert results["ratios_to_trl"]["trl"]["seconds_per_step"] == 1.0
    assert results["settings"]["device"] == "cpu" and results["settings"]["trl"]


def test_the_benchmark_needs_the_baseline_arm(tiny_model):
    benchmark = load_module("scripts/benchmarks/grpo_throughput.py", "grpo_throughput_benchmark")
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--arms", "project"])


def test_an_arm_that_fails_is_reported_and_the_others_still_run(tiny_model, monkeypatch):
    benchmark = load_module("scripts/benchmarks/grpo_throughput.py", "grpo_throughput_benchmark")
    build = benchmark.build_trainer

    def build_or_fail(arm, *args, **kwargs):
        if arm == "trl_cb":
            raise RuntimeError("no paged attention here")
        return build(arm, *args, **kwargs)

    monkeypatch.setattr(benchmark, "build_trainer", build_or_fail)
    argv = ["--model", str(tiny_model), "--prompts", "1", "--num_generations", "2", "--max_completion_length", "2"]
    results = benchmark.main([*argv, "--steps", "1", "--warmup_steps", "0", "--arms", "trl", "trl_cb"])
    assert results["failed_arms"] == {"trl_cb": "RuntimeError: no paged attention here"}
    assert set(results["arms"]) == set(results["ratios_to_trl"]) == {"trl"}
