"""The checks every benchmark script that writes its docs table (`--write_docs`) shares in its tests.

text = tabulated(script, results_file, tmp_path)      # the page write_docs writes, checked to keep the rest
assert_docs_table_is_the_kept_results(script, "rewards")   # docs/benchmarks.md's block == docs/results/rewards
"""

import pathlib

from open_r1.demo.report import read_results_files
from tests.support import REPO_ROOT


def tabulated(script, results_file: pathlib.Path, tmp_path: pathlib.Path) -> str:
    """The page `script.write_docs` writes for `results_file` between its markers, checked to replace only the older
    table there."""
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{script.BEGIN}\nan older table\n{script.END}\nafter\n")
    script.write_docs([results_file], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    return text


def assert_docs_table_is_the_kept_results(script, results_folder: str) -> None:
    """docs/benchmarks.md's block between `script`'s markers is the table of docs/results/`results_folder`/*.json."""
    kept = sorted((REPO_ROOT / "docs" / "results" / results_folder).glob("*.json"))
    assert kept, f"docs/results/{results_folder} holds the runs docs/benchmarks.md tabulates"
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    block = page.split(script.BEGIN, 1)[1].split(script.END, 1)[0]
    assert block.strip() == script.docs_section(read_results_files(kept, REPO_ROOT)).strip(), (
        f"docs/benchmarks.md's table between {script.BEGIN} and its end was typed or its results changed: "
        f"--write_docs docs/results/{results_folder}/*.json"
    )
