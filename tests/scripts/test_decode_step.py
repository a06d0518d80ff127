"""Smoke test of scripts/benchmarks/decode_step.py on a CPU: each way decodes every step of both calls, its price
is the long call's extra seconds over its extra steps, the host's operators per step are counted, and the docs table
is written from the results file (the kept files' table: test_benchmark_docs.py). The GPU-only way is refused here
in one line."""

import json

import pytest

from tests.support.benchmark_docs import tabulated
from tests.support.script_module import load_module


@pytest.fixture
def benchmark():
    return load_module("scripts/benchmarks/decode_step.py", "decode_step_benchmark")


def test_each_way_is_priced_per_decode_step_from_two_calls(benchmark, tiny_model, tmp_path):
    output = tmp_path / "decode.json"
    argv = ["--model", str(tiny_model), "--rows", "2", "3", "--short_tokens", "2", "--long_tokens", "6"]
    results = benchmark.main([*argv, "--repeats", "2", "--ways", "static", "bfloat16", "--output", str(output)])

    assert json.loads(output.read_text()) == results
    assert list(results["ways"]) == ["float32", "static", "bfloat16"]  # the baseline always, first
    for by_rows in results["ways"].values():
        assert set(by_rows) == {"2", "3"}
        for figures in by_rows.values():
            calls = figures["calls"]
            assert len(calls["short"]) == len(calls["long"]) == 2
            assert figures["ms_per_decode_step"] == pytest.approx(
                1000 * ((calls["long"][0] + calls["long"][1]) - (calls["short"][0] + calls["short"][1])) / 2 / 4
            )
            # every decode step dispatches the same model's operators, so the count per step is whole and positive
            assert figures["host_ops_per_decode_step"] > 0
            assert "device_ms_per_decode_step" not in figures
    text = tabulated(benchmark, output, tmp_path)
    float32 = results["ways"]["float32"]["3"]
    row = next(line for line in text.splitlines() if "| 3 | float32 |" in line)
    assert (
        f"| {float32['ms_per_decode_step']:.2f} | **1.00** | {float32['host_ops_per_decode_step']:,.0f} | — |" in row
    )


def test_a_call_that_stops_early_is_an_error_not_a_cheaper_price(benchmark, tiny_model):
    import torch
    from transformers import AutoTokenizer

    way = benchmark.Way("float32", str(tiny_model), "cpu")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.padding_side = "left"
    batch = benchmark.prompt_batch(tokenizer, ["What is 1+1?"], 2, "cpu")
    # eos after one token: the call returns 1 new token where 4 were asked for
    way.model.generate = lambda **inputs: torch.cat([inputs["input_ids"], inputs["input_ids"][:, -1:]], dim=1)
    with pytest.raises(RuntimeError, match="float32: decoded 1 tokens"):
        way.generate(batch, 4, tokenizer.pad_token_id)


def test_wider_prompts_keep_the_rows_and_add_masked_columns(benchmark, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.padding_side = "left"
    narrow = benchmark.prompt_batch(tokenizer, ["a", "a longer problem"], 3, "cpu")
    wide = benchmark.prompt_batch(tokenizer, ["a", "a longer problem"], 3, "cpu", extra_padding=5)
    assert wide["input_ids"].shape == (3, narrow["input_ids"].shape[1] + 5)
    assert wide["attention_mask"][:, :5].sum() == 0
    assert (wide["input_ids"][:, 5:] == narrow["input_ids"]).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ways", "static_compiled"], "--ways static_compiled needs --device cuda"),
        (["--short_tokens", "8", "--long_tokens", "8"], "--long_tokens (8) must be more than --short_tokens (8)"),
        (["--repeats", "0"], "--repeats must be at least 1, got 0"),
    ],
)
def test_settings_that_cannot_be_timed_are_refused_in_one_line(benchmark, tiny_model, capsys, argv, message):
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), *argv])
    assert message in capsys.readouterr().err


def test_a_way_that_fails_is_reported_and_the_others_are_still_priced(benchmark, tiny_model, tmp_path, monkeypatch):
    generate = benchmark.Way.generate

    def failing_static(way, batch, new_tokens, pad_token_id):
        if way.name == "static" and new_tokens > 2:
            raise RuntimeError("no compiler here")
        return generate(way, batch, new_tokens, pad_token_id)

    monkeypatch.setattr(benchmark.Way, "generate", failing_static)
    output = tmp_path / "decode.json"
    argv = ["--model", str(tiny_model), "--rows", "2", "--short_tokens", "2", "--long_tokens", "4", "--repeats", "1"]
    results = benchmark.main([*argv, "--ways", "static", "bfloat16", "--output", str(output)])

    assert results["failed_ways"] == {"static": "RuntimeError: no compiler here"}
    assert set(results["ways"]) == {"float32", "bfloat16"} and results["complete"]
    text = tabulated(benchmark, output, tmp_path)
    assert "| 2 | static | failed: RuntimeError: no compiler here |" in text
    assert "| 2 | bfloat16 |" in text


def test_a_run_that_stops_keeps_the_row_counts_it_finished(benchmark, tiny_model, tmp_path, monkeypatch):
    generate = benchmark.Way.generate

    def baseline_failing_at_three_rows(way, batch, new_tokens, pad_token_id):
        if batch["input_ids"].shape[0] == 3:
            raise RuntimeError("the lease ended")
        return generate(way, batch, new_tokens, pad_token_id)

    monkeypatch.setattr(benchmark.Way, "generate", baseline_failing_at_three_rows)
    output = tmp_path / "decode.json"
    argv = ["--model", str(tiny_model), "--rows", "2", "3", "--short_tokens", "2", "--long_tokens", "4"]
    with pytest.raises(RuntimeError, match="the lease ended"):  # the baseline's failure ends the run
        benchmark.main([*argv, "--repeats", "1", "--output", str(output)])

    saved = json.loads(output.read_text())
    assert not saved["complete"] and set(saved["ways"]["float32"]) == {"2"}
    assert "| 2 | float32 |" in tabulated(benchmark, output, tmp_path)


def test_the_static_cache_has_the_timed_calls_shape_from_the_untimed_first_call(benchmark, tiny_model, tmp_path):
    argv = ["--model", str(tiny_model), "--rows", "2", "--short_tokens", "2", "--long_tokens", "6"]
    results = benchmark.main([*argv, "--repeats", "1", "--ways", "static", "autocast_static"])
    assert not results["failed_ways"]  # autocast's float32 keys and bfloat16 values fit the static cache
    figures = results["ways"]["static"]["2"]
    # transformers keeps a static cache as long as the longest call so far: the long warm-up's, for every timed call
    assert figures["static_cache_length"] == figures["prompt_width"] + 6 - 1
    assert results["ways"]["float32"]["2"]["static_cache_length"] is None


def test_a_static_cache_that_grows_during_the_timed_calls_fails_the_way(benchmark, tiny_model, monkeypatch):
    asked = []

    def cache_that_grows_after_the_first_call(way):  # 10 after the warm-up, 11 once the timed calls ran
        if not way.static:
            return None
        asked.append(way)
        return 10 if len(asked) == 1 else 11

    monkeypatch.setattr(benchmark.Way, "static_cache_length", cache_that_grows_after_the_first_call)
    argv = ["--model", str(tiny_model), "--rows", "2", "--short_tokens", "2", "--long_tokens", "4", "--repeats", "1"]
    results = benchmark.main([*argv, "--ways", "static"])
    assert results["failed_ways"] == {
        "static": "RuntimeError: static: the static cache grew from 10 to 11 during the timed calls"
    }
    assert set(results["ways"]) == {"float32"}


def test_a_compiled_ways_row_shows_its_new_shape_and_what_was_compiled(benchmark):
    figures = {
        "first_call_seconds": 31.0, "ms_per_decode_step": 4.0, "host_ops_per_decode_step": 12.0,
        "device_ms_per_decode_step": 2.0, "new_shape_seconds": 9.5, "new_shape_again_seconds": 0.4,
        "graphs_compiled": 2, "cudagraph_skips": 0,
    }  # fmt: skip
    assert benchmark.price_cells(figures, 40.0) == [
        "4.00",
        "**0.10**",
        "12",
        "2.00 (2.0)",
        "31.0 (+16 columns: 9.5, again 0.4); 2 graphs compiled, 0 CUDA graphs skipped",
    ]


def test_a_compiled_way_stopped_mid_compilation_leaves_the_eager_prices_saved(benchmark, tiny_model, monkeypatch):
    """gpu_lease.sh stops a command at its limit: the eager ways are timed and saved first, at every row count, and
    each compiled way after them."""
    import argparse

    from transformers import AutoTokenizer

    order = ["float32", "autocast", "autocast_static_compiled", "static_compiled"]
    assert benchmark.timing_groups(order) == [
        ["float32", "autocast"],
        ["autocast_static_compiled"],
        ["static_compiled"],
    ]

    monkeypatch.setattr(benchmark, "GPU_ONLY_WAYS", ("bfloat16",))  # a CPU stand-in for a compiled way
    generate = benchmark.Way.generate

    def compiling_until_stopped(way, batch, new_tokens, pad_token_id):
        if way.compiled:
            raise KeyboardInterrupt  # the process ends here, as the limit's signal ends it
        return generate(way, batch, new_tokens, pad_token_id)

    monkeypatch.setattr(benchmark.Way, "generate", compiling_until_stopped)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.padding_side = "left"
    args = argparse.Namespace(
        model=str(tiny_model), device="cpu", rows=[2, 3], short_tokens=2, long_tokens=4, repeats=1,
        ways=["float32", "bfloat16", "static"],
    )  # fmt: skip
    saved = []
    with pytest.raises(KeyboardInterrupt):
        benchmark.measure(args, tokenizer, ["What is 1+1?"], {}, saved.append)
    # saved after each row count of the eager group, which has every row count before the compiled way starts
    assert len(saved) == 2 and {name: set(by_rows) for name, by_rows in saved[-1].items()} == {
        "float32": {"2", "3"},
        "static": {"2", "3"},
    }
