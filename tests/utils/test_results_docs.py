"""`open_r1.utils.results_docs`: a benchmark's results file is saved whole or not at all, a docs page keeps
everything outside the markers a table is written between, and a benchmark script's `write_docs` and main()'s start
(`results_table_writer`, `parse_or_write_docs`) write its own block and measure nothing after."""

import argparse
import json
import pathlib

import pytest

from open_r1.utils.results_docs import (
    BENCHMARKS_PAGE,
    add_results_options,
    markdown_table,
    parse_or_write_docs,
    results_markers,
    results_table_writer,
    save_results,
    section_per_run,
    write_between_markers,
)


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


def test_a_scripts_write_docs_writes_its_own_block_of_the_files_in_the_order_given(tmp_path):
    (first, first_end), (second, second_end) = results_markers("first.py"), results_markers("second.py")
    page = tmp_path / "page.md"
    page.write_text(f"top\n{first}\nfirst's table\n{first_end}\nmiddle\n{second}\nold\n{second_end}\nbottom\n")
    paths = []
    for name, value in (("b.json", 2), ("a.json", 1)):
        paths.append(tmp_path / name)
        save_results(paths[-1], {"value": value}, quiet=True)

    def docs_section(runs):
        return markdown_table(["value", "file"], [[str(results["value"]), path.name] for results, path in runs])

    write_docs = results_table_writer(second, second_end, docs_section)
    assert write_docs.__defaults__ == (BENCHMARKS_PAGE,)  # write_docs(paths) writes docs/benchmarks.md
    write_docs(paths, page)
    table = "| value | file |\n|---|---|\n| 2 | b.json |\n| 1 | a.json |"
    assert page.read_text() == (
        f"top\n{first}\nfirst's table\n{first_end}\nmiddle\n{second}\n\n{table}\n\n{second_end}\nbottom\n"
    )
    page.write_text(f"{first}\n{first_end}\n")  # not its block: refused, the page left as it was
    with pytest.raises(SystemExit, match="has no <!-- second.py results: begin -->"):
        write_docs(paths, page)
    assert page.read_text() == f"{first}\n{first_end}\n"


def test_a_section_per_run_is_each_runs_own_section_a_blank_line_between(tmp_path):
    section = section_per_run(lambda results, path: f"{results['value']} from {path}")
    assert section([({"value": 1}, "a.json"), ({"value": 2}, None)]) == "1 from a.json\n\n2 from None"


@pytest.fixture
def parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--details")
    add_results_options(parser)
    return parser


def test_write_docs_writes_the_files_and_measures_nothing(parser, tmp_path):
    written = []
    args = parse_or_write_docs(parser, ["--write_docs", "a.json", "b.json"], written.append, required=("model",))
    assert args is None  # the script returns: nothing is measured, --model is not needed
    assert written == [[pathlib.Path("a.json"), pathlib.Path("b.json")]]


def test_measuring_without_a_required_option_is_refused_in_one_line(parser, capsys):
    args = parse_or_write_docs(parser, ["--model", "m"], None, required=("model",))
    assert args.model == "m" and args.write_docs is None
    assert parse_or_write_docs(parser, [], None).model is None  # required by none: not asked for
    for argv, required, required_for, error in [
        ([], ("model",), None, "--model is required (unless --write_docs)"),
        (["--model", "m"], ("details", "model"), None, "--details and --model are required (unless --write_docs)"),
        ([], ("model",), "to time the ways (only --write_docs runs without one)",
         "--model is required to time the ways (only --write_docs runs without one)"),
    ]:  # fmt: skip
        options = {"required_for": required_for} if required_for else {}
        with pytest.raises(SystemExit):
            parse_or_write_docs(parser, argv, None, required=required, **options)
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {error}")
