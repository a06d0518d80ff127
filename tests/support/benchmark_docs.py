"""The check every benchmark script that writes its docs table (`--write_docs`) shares in its tests: the page it
writes for a results file. That docs/benchmarks.md's own tables are those of the kept results files is
tests/scripts/test_benchmark_docs.py's.
"""

import pathlib


def tabulated(script, results_file: pathlib.Path, tmp_path: pathlib.Path) -> str:
    """The page `script.write_docs` writes for `results_file` between its markers, checked to replace only the older
    table there."""
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{script.BEGIN}\nan older table\n{script.END}\nafter\n")
    script.write_docs([results_file], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    return text
