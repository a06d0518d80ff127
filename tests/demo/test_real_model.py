"""open_r1.demo.real_model without the real model: where `make demo MODEL=smollm2` finds GSM8K test."""

import json

import pytest

from open_r1.demo import real_model
from open_r1.usage import UsageError


def test_gsm8k_test_from_the_hub_is_written_with_the_answer_the_reward_reads(tmp_path, monkeypatch):
    import datasets

    rows = [{"question": "How many?", "answer": "2 + 2 = <<2+2=4>>4\n#### 1,234"}]
    monkeypatch.setattr(real_model, "GSM8K_TEST_FILE", tmp_path / "absent.jsonl")
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: rows)
    written = real_model.gsm8k_test_file(tmp_path, None)
    assert [json.loads(line) for line in written.read_text().splitlines()] == [
        {"id": "gsm8k-0", "problem": "How many?", "answer": "1,234"}
    ]
    with pytest.raises(UsageError, match="--gsm8k_file .*nope.jsonl: no such file"):
        real_model.gsm8k_test_file(tmp_path, tmp_path / "nope.jsonl")
