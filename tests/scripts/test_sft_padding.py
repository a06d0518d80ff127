"""scripts/benchmarks/sft_padding.py: the tokens make gsm8k's SFT batches hold against the tokens they train."""

import json

import pytest

from tests.support.files import write_jsonl
from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def padding():
    return load_module("scripts/benchmarks/sft_padding.py", "sft_padding")


def test_a_batch_holds_its_longest_row_times_its_rows(padding):
    lengths = [3, 10, 4, 1, 2]
    assert padding.padded_tokens(lengths, 2, [0, 1, 2, 3, 4]) == 2 * 10 + 2 * 4 + 1 * 2
    assert padding.padded_tokens(lengths, 2, [1, 2, 0, 4, 3]) == 2 * 10 + 2 * 3 + 1 * 1


def test_grouping_by_length_holds_fewer_tokens_and_every_row_is_trained_each_epoch(padding):
    lengths = [1, 100] * 512  # random batches of 8 nearly always hold a long row
    orders = padding.epoch_orders(lengths, 8, 2, seed=0, grouped=True)
    assert [sorted(order) for order in orders] == [list(range(len(lengths)))] * 2
    figures = padding.arm_padding(lengths, batch_size=8, epochs=2, seed=0)
    assert figures["real_tokens"] == 2 * sum(lengths)
    assert figures["grouped_by_length"]["real_share"] > 0.9 > 0.6 > figures["random"]["real_share"]


def test_the_script_counts_each_arms_traces_under_its_template(padding, tiny_model, tmp_path):
    rows = [
        {"id": f"train-{n}", "problem": f"What is {n} + {n}?", "solution": f"{n}+{n} = <<{n}+{n}={2 * n}>>{2 * n}\n#### {2 * n}",
         "answer": str(2 * n)}
        for n in range(1, 6)
    ]  # fmt: skip
    train = tmp_path / "train.jsonl"
    write_jsonl(train, rows)
    output = tmp_path / "padding.json"
    results = padding.main(["--train_file", str(train), "--model", str(tiny_model), "--output", str(output)])
    assert json.loads(output.read_text()) == results
    cot, tools = results["arms"]["cot"], results["arms"]["tools"]
    assert cot["rows"] == tools["rows"] == 5 and cot["batch_size"] == 32 and cot["epochs"] == 2
    assert tools["real_tokens"] > cot["real_tokens"]  # the tool arm's calls and results add tokens
    assert cot["random"]["padded_tokens"] >= cot["real_tokens"]
