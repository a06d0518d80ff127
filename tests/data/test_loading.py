"""open_r1.data.loading: how local data files are built (the loading paths themselves: tests/data/test_mixtures.py)."""

import sys

import datasets
import pytest

from open_r1.data import loading


@pytest.mark.parametrize(("quiet_bytes", "bar_shown"), [(2**20, False), (0, True)])
def test_a_small_local_file_builds_without_a_progress_bar_and_a_large_one_keeps_it(
    tmp_path, monkeypatch, quiet_bytes, bar_shown
):
    (tmp_path / "rows.jsonl").write_text('{"prompt": "1+1?", "answer": "2"}\n')
    monkeypatch.setattr(loading, "QUIET_BUILD_BYTES", quiet_bytes)
    seen = []
    real_load = datasets.load_dataset

    def load_and_see_the_bar(*args, **kwargs):
        seen.append(not datasets.are_progress_bars_disabled())
        return real_load(*args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", load_and_see_the_bar)
    datasets.enable_progress_bars()
    loaded = loading.load_dataset_reference(str(tmp_path / "rows.jsonl"), split="train")
    assert loaded.column_names == ["prompt", "answer"]
    assert seen == [bar_shown]
    assert not datasets.are_progress_bars_disabled(), "the user's setting is back after the load"


def test_a_progress_bar_setting_in_the_environment_is_the_users_and_left_alone(tmp_path, monkeypatch, recwarn):
    (tmp_path / "rows.jsonl").write_text('{"prompt": "1+1?", "answer": "2"}\n')
    # HF_DATASETS_DISABLE_PROGRESS_BARS=0 in the environment, as datasets read it at import (its tqdm module keeps a copy)
    for module in (datasets.config, sys.modules["datasets.utils.tqdm"]):
        monkeypatch.setattr(module, "HF_DATASETS_DISABLE_PROGRESS_BARS", False)
    loading.load_dataset_reference(str(tmp_path / "rows.jsonl"), split="train")
    assert not [w for w in recwarn if "progress bar" in str(w.message).lower()], [str(w.message) for w in recwarn]


def test_a_malformed_or_empty_data_file_is_named_in_one_line(tmp_path):
    """Found by an audit: a stray comma gave a 110-line DatasetGenerationError, an empty file a bare StopIteration."""
    from open_r1.usage import UsageError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "1+1", "answer": "2"}\n{"problem": "2+2", "answer": "4",}\n')
    with pytest.raises(UsageError, match=r"bad.jsonl:2: not valid JSON \(Expecting property name"):
        loading.load_dataset_reference(str(bad), split="train")
    # A newcomer audit's: where pyarrow's first failure is a type change, datasets raised a bare ValueError, after
    # logging its own "Failed to load JSON" line.
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        '{"id": "a", "problem": "1+1", "answer": "2"}\n' * 3 + '{"id": 7, "problem": "1+1", "answer": "2"\n'
    )
    with pytest.raises(UsageError, match=r"changed.jsonl:4: not valid JSON"):
        loading.load_dataset_reference(str(changed), split="train")
    listed = tmp_path / "listed.jsonl"
    listed.write_text('{"problem": "1+1"}\n["2+2", "4"]\n')
    with pytest.raises(UsageError, match="listed.jsonl:2: a JSON list, not an object"):
        loading.load_dataset_reference(str(listed), split="train")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UsageError, match=r"the data file .*empty.jsonl is empty"):
        loading.load_dataset_reference(str(empty), split="train")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}\n{}\n\n{}\n", r"shapes.jsonl: its 3 line\(s\) are all the empty JSON object \{\}: no row holds a field$"),
        ("[1,2]\n", r"shapes.jsonl:1: a JSON list, not an object holding the row's fields$"),
        ('\n["a", "b"]\n', r"shapes.jsonl:2: a JSON list, not an object holding the row's fields$"),
    ],
)
def test_a_jsonl_file_of_no_rows_is_named_with_its_shape(tmp_path, content, message):
    """Found by a red team: a JSONL of `{}` lines raised datasets' `Instruction "train" corresponds to no data!`, and a
    `[1,2]` line loaded as a `text` column, so the error named columns instead of the line."""
    from open_r1.usage import UsageError

    (tmp_path / "shapes.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        loading.load_dataset_reference(str(tmp_path / "shapes.jsonl"), split="train")


def test_rows_of_objects_keep_loading_whatever_their_columns(tmp_path):
    (tmp_path / "text.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n')
    assert loading.load_dataset_reference(str(tmp_path / "text.jsonl"), split="train")["text"] == ["a", "b"]
    # A JSON list of objects, which datasets reads as rows, is not a list of values.
    (tmp_path / "listed.jsonl").write_text('[{"prompt": "1+1?"}, {"prompt": "2+2?"}]\n')
    assert loading.load_dataset_reference(str(tmp_path / "listed.jsonl"), split="train")["prompt"] == ["1+1?", "2+2?"]
