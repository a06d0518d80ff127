"""open_r1.data.benchmarks: the conversations a benchmark problem is asked with, and what its readers say of a bad file."""

import re

from open_r1.data.benchmarks import Problem, build_messages
from open_r1.eval.few_shot import plain_messages

PROBLEM = Problem(id="p", problem="What is 6 * 7?", answer="42")


def test_an_empty_system_prompt_is_a_system_turn_as_in_training():
    """Found by an audit: GRPO and SFT add `system_prompt: ""` as an empty system turn (which keeps a template's
    default system prompt out), the evaluation added none, so a model was measured on another prompt than it
    trained on."""
    for messages in (build_messages(PROBLEM, ""), plain_messages(PROBLEM, [], "")):
        assert messages[0] == {"role": "system", "content": ""}
    assert [message["role"] for message in build_messages(PROBLEM)] == ["user"]
    assert build_messages(PROBLEM, "Be brief.")[0] == {"role": "system", "content": "Be brief."}


def test_a_damaged_gzip_file_is_one_line_naming_the_file(tmp_path):
    """Review (2026-11-28): bytes flipped inside a gzip stream raised zlib.error, a traceback."""
    import gzip

    import pytest

    from open_r1.data.benchmarks import load_problems

    path = tmp_path / "bench.jsonl.gz"
    data = bytearray(gzip.compress(b'{"id": "a", "problem": "1+1?", "answer": "2"}\n' * 2000))
    for index in range(20, len(data) - 20, 7):
        data[index] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"^{path}:\d+: not a readable gzip file \(.*\); expected a JSONL file"):
        load_problems(path)


def test_a_line_that_is_no_json_object_is_said_alike_by_the_data_and_benchmark_readers(tmp_path):
    """One audit's: the two readers named a bad line in two ways ("expected a JSON object, got list" and "a JSON
    list, not an object with the row's columns")."""
    import pytest

    from open_r1.data.benchmarks import load_problems
    from open_r1.data.loading import first_bad_json_line

    for text, problem in (("[1, 2]", "a JSON list, not an object holding the row's fields"), ("{x", "not valid JSON")):
        path = tmp_path / "rows.jsonl"
        path.write_text('{"id": "a", "problem": "q", "answer": "1"}\n' + text + "\n")
        assert first_bad_json_line([path]).startswith(f"{path}:2: {problem}")
        with pytest.raises(ValueError, match=rf"^{path}:2: {re.escape(problem)}"):
            load_problems(path)
