"""open_r1.data.benchmarks: the conversations a benchmark problem is asked with, and what its readers say of a bad file."""

import re

import pytest

from open_r1.data.benchmarks import Problem, build_messages, load_problems
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


GOOD_ROW = '{"id": "b", "problem": "2+2?", "answer": "4"}\n'


@pytest.mark.parametrize("answer", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_an_answer_that_is_no_finite_number_is_refused_naming_the_line(tmp_path, answer):
    """A red team's: NaN, Infinity and 1e400 (which Python's json reads) loaded as "nan" and "inf", and
    `\\boxed{\\infty}` then earned credit against 1e400."""
    path = tmp_path / "bench.jsonl"
    path.write_text(GOOD_ROW + f'{{"id": "a", "problem": "x", "answer": {answer}}}\n')
    with pytest.raises(ValueError, match=rf"^{path}:2: field 'answer' is -?(nan|inf), not a finite number"):
        load_problems(path)


@pytest.mark.parametrize("answer", ["\\u200b", "\\u0000", " \\ufeff "])
def test_an_answer_of_only_invisible_characters_is_empty(tmp_path, answer):
    """A red team's: an answer of a zero-width space or a NUL passed the emptiness check, then graded as nothing."""
    path = tmp_path / "bench.jsonl"
    path.write_text(f'{{"id": "a", "problem": "x", "answer": "{answer}"}}\n')
    with pytest.raises(ValueError, match=rf"^{path}:1: field 'answer' is empty \(got "):
        load_problems(path)


def test_a_null_field_is_said_to_be_null_not_missing(tmp_path):
    """A red team's: "missing field(s) ['answer']; ... this one has ['id', 'problem', 'answer']" contradicted itself."""
    path = tmp_path / "bench.jsonl"
    path.write_text('{"id": "a", "problem": "x", "answer": null}\n')
    with pytest.raises(ValueError) as raised:
        load_problems(path)
    assert str(raised.value) == (
        f"{path}:1: field(s) ['answer'] are null; each line needs ['id', 'problem', 'answer'] with a value"
    )


def test_a_file_starting_with_a_byte_order_mark_reads_as_without_it(tmp_path):
    """A red team's: a BOM (as some editors write) was "not valid JSON (... decode using utf-8-sig)"."""
    path = tmp_path / "bench.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_ROW.encode())
    assert load_problems(path) == [Problem("b", "2+2?", "4")]


def test_a_json_array_file_is_told_to_hold_one_object_per_line(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text('[{"id": "a", "problem": "1+1?", "answer": "2"}, {"id": "b", "problem": "2+2?", "answer": "4"}]\n')
    with pytest.raises(ValueError, match=r"a JSON list, .*; write one JSON object per line \(JSONL\)$"):
        load_problems(path)


def test_uneven_prediction_counts_name_the_problems_that_differ(tmp_path):
    """A red team's: "found counts [1, 2]" left the reader to find which problem."""
    from open_r1.data.benchmarks import load_predictions

    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(f'{{"id": "{i}", "completion": "\\\\boxed{{2}}"}}\n' for i in ("a", "a", "b", "b", "c")))
    problems = [Problem(i, "q", "2") for i in ("a", "b", "c")]
    with pytest.raises(ValueError) as raised:
        load_predictions(path, problems)
    assert (
        str(raised.value) == f"{path}: every problem needs the same number of completions; most have 2, but 'c' has 1"
    )


def test_a_parquet_file_is_told_how_to_become_jsonl_even_where_its_bytes_decode(tmp_path):
    """A red team's: a small Parquet file that happens to be UTF-8 was "not valid JSON", with no word of Parquet."""
    path = tmp_path / "bench.parquet"
    path.write_bytes(b"PAR1 not json\n")
    with pytest.raises(ValueError, match=r"^.*bench.parquet:1: not valid JSON .* \(a Parquet file: write it as JSONL"):
        load_problems(path)
