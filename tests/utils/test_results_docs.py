"""`open_r1.utils.results_docs`: a benchmark's results file is saved whole or not at all, and a docs page keeps
everything outside the markers a table is written between."""

import json
import pathlib

import pytest

from open_r1.utils.results_docs import markdown_table, save_results, write_between_markers


def test_a_benchmarks_results_file_is_saved_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    save_results(path, {"ways": {"float32": 1}})
    write_text = pathlib.Path.write_text

    def stopped_halfway(self, text, *args, **kwargs):  # a lease's limit stops the run while it writes
        write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_text", stopped_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_results(path, {"ways": {"float32": 1, "autocast": 2}})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"ways": {"float32": 1}}


def test_a_table_is_written_between_its_markers_and_nowhere_else(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("before\n<!-- b -->\nold table\n<!-- e -->\nafter\n")
    write_between_markers(page, "<!-- b -->", "<!-- e -->", markdown_table(["a", "b"], [["1", "2"]]))
    assert page.read_text() == "before\n<!-- b -->\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<!-- e -->\nafter\n"
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="has no <!-- b --> ... <!-- e --> markers"):
        write_between_markers(page, "<!-- b -->", "<!-- e -->", "table")
