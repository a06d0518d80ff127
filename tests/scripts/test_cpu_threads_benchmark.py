"""scripts/benchmarks/cpu_threads.py: a step's seconds come from the trainer's own runtime, the busy neighbour holds
the cores and is stopped, the docs table says which setting was faster, and (slow) the whole comparison runs at a
small size (the kept files' table: test_benchmark_docs.py)."""

import json
import time

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.script_module import load_module

benchmark = load_module("scripts/benchmarks/cpu_threads.py", "cpu_threads_benchmark")


def trainer_state(folder, steps: int, runtime: float) -> None:
    history = [{"step": step, "loss": 1.0} for step in range(1, steps + 1)]
    history.append({"step": steps, "train_runtime": runtime, "train_loss": 1.0})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trainer_state.json").write_text(json.dumps({"log_history": history}))


def test_a_step_takes_the_trainers_runtime_over_its_steps(tmp_path):
    trainer_state(tmp_path, steps=4, runtime=10.0)
    assert benchmark.seconds_per_step(tmp_path, 4) == 2.5


def test_a_run_that_trained_other_steps_than_asked_is_refused(tmp_path):
    trainer_state(tmp_path, steps=3, runtime=10.0)
    with pytest.raises(RuntimeError, match="trained 3 steps, not 4"):
        benchmark.seconds_per_step(tmp_path, 4)


def test_the_busy_neighbour_spins_on_every_core_until_stopped():
    spinning = benchmark.busy_neighbour(2)
    try:
        time.sleep(0.3)
        assert [process.poll() for process in spinning] == [None, None]
    finally:
        benchmark.stop(spinning)
    assert all(process.returncode is not None for process in spinning)


def synthetic_results() -> dict:
    settings = {
        "cores": 2, "steps": {"sft": 100, "grpo": 5}, "repeats": 1, "load_average": [0.5, 1.5],
        "cpus": 2, "machine": "x86_64", "commit": "abc1234", "date": "2026-11-26",
    }  # fmt: skip
    medians = {
        "sft": {"idle": {"1": 0.30, "2": 0.20}, "busy": {"1": 0.60, "2": 0.90}},
        "grpo": {"idle": {"1": 1.0, "2": 0.8}, "busy": {"1": 2.0, "2": 26.0}},
    }
    return {
        "settings": settings,
        "seconds_per_step": {},
        "medians": medians,
        "python_loop_seconds": {"idle": 0.4, "busy": 0.7},
    }


def test_the_table_says_how_much_faster_or_slower_a_thread_per_core_was(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(synthetic_results()))
    text = tabulated(benchmark, results, tmp_path)
    assert "| tiny SFT, 100 steps | idle | 0.3 s/step | 0.2 s/step (2 threads) | **0.67× (1.5× faster)** |" in text
    assert "| tiny GRPO, 5 steps | every core busy | 2 s/step | 26 s/step (2 threads) | **13.0× slower** |" in text
    assert "x86_64, 2 CPUs, 0.50 → 1.50" in text
    assert "own process, as a control: abc1234: 0.40 s idle, 0.70 s beside the neighbour (**1.75×**)." in text


@pytest.mark.slow
def test_the_whole_comparison_runs_at_a_small_size(tmp_path):
    output = tmp_path / "results.json"
    argv = ["--sft_steps", "2", "--grpo_steps", "1", "--work_dir", str(tmp_path / "work"), "--output", str(output)]
    results = benchmark.main(argv)
    assert json.loads(output.read_text()) == results
    cores = str(results["settings"]["cores"])
    assert results["python_loop_seconds"]["busy"] > 0 and results["python_loop_seconds"]["idle"] > 0
    for workload in ("sft", "grpo"):
        for neighbour in ("idle", "busy"):
            assert set(results["medians"][workload][neighbour]) == {"1", cores}
            assert all(seconds > 0 for seconds in results["medians"][workload][neighbour].values())
