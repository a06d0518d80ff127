"""scripts/benchmarks/old_logprobs.py: the old policy's no-grad passes timed where needed against TRL's, side by side
on the same generations, with the updates checked to agree."""

import json

import pytest

from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def benchmark():
    return load_module("scripts/benchmarks/old_logprobs.py", "old_logprobs_benchmark")


@pytest.mark.timeout(300)
def test_both_arms_train_the_same_updates_and_the_table_gives_their_pass_times(benchmark, tiny_model, tmp_path):
    output = tmp_path / "old_logprobs.json"
    results = benchmark.main(
        ["--model", str(tiny_model), "--repeats", "1", "--max_completion_length", "8", "--output", str(output)]
    )
    assert json.loads(output.read_text()) == results
    assert results["same_updates"] and results["settings"]["rows_per_generation"] == 256  # make gsm8k's cot shape
    for arm in benchmark.ARMS:
        assert len(results["arms"][arm]["logprobs_seconds"]) == 1 and results["arms"][arm]["step_seconds"][0] > 0
    page = tmp_path / "page.md"
    page.write_text(f"before\n{benchmark.BEGIN}\nold\n{benchmark.END}\nafter\n")
    benchmark.write_docs([output], page)
    table = page.read_text()
    assert "| 256, 8 |" in table and "| yes | 1 |" in table and "old\n" not in table


def test_a_missing_model_is_one_line(benchmark, tmp_path):
    from open_r1.usage import UsageError

    with pytest.raises(UsageError, match="--model: no such file or folder"):
        benchmark.main(["--model", str(tmp_path / "no-model")])
