"""scripts/benchmarks/first_hour.py: the README's first-hour commands timed as a reader runs them, and the README's
time column and docs/benchmarks.md written from that results file, never typed."""

import json

import pytest

from tests.support import REPO_ROOT
from tests.support.script_module import load_module

FIRST_HOUR = load_module("scripts/benchmarks/first_hour.py", "first_hour")

README = """# A project

## Your first hour, on a CPU

```shell
echo one > data/one.txt
cat data/one.txt \\
    > data/two.txt
```

| step | time | writes |
|---|---|---|
| the first | 99 s | `data/one.txt` |
| the second | 99 s | `data/two.txt` |

After the table.
"""


def results_for(commands: list[str], seconds: list[float]) -> dict:
    return {
        "benchmark": "first_hour",
        "date": "2026-11-25T06:00:00+00:00",
        "commit": "abc1234",
        "machine": {
            "cpu": "AMD EPYC",
            "cores": 2,
            "load_average_at_start": [0.8, 1, 1],
            "load_average_at_end": [1, 1.3, 1],
        },
        "commands": [{"command": command, "seconds": value} for command, value in zip(commands, seconds)],
        "total_seconds": sum(seconds),
    }


def test_the_block_under_the_first_hour_heading_is_read_as_typed_continuations_joined():
    _, commands = FIRST_HOUR.first_hour_block(README)
    assert commands == ["echo one > data/one.txt", "cat data/one.txt > data/two.txt"]


def test_each_command_runs_in_order_in_the_scratch_folder_and_is_timed(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README.replace("echo one", "mkdir -p data && sleep 0.3 && echo one"))
    output = tmp_path / "first_hour.json"
    results = FIRST_HOUR.run(output, readme=readme)
    assert json.loads(output.read_text()) == results
    assert [entry["command"] for entry in results["commands"]] == FIRST_HOUR.first_hour_block(readme.read_text())[1]
    assert results["commands"][0]["seconds"] >= 0.3, "the first command's own time"
    assert results["total_seconds"] == pytest.approx(sum(entry["seconds"] for entry in results["commands"]))
    assert results["commit"] and results["machine"]["load_average_at_end"]
    assert not (REPO_ROOT / "data" / "two.txt").exists(), "it ran in a scratch folder, not in the checkout"


def test_a_failing_command_stops_the_run_with_its_output_and_writes_nothing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README.replace("echo one > data/one.txt", "echo no such folder >&2; exit 3"))
    output = tmp_path / "first_hour.json"
    with pytest.raises(SystemExit, match=r"`echo no such folder >&2; exit 3` failed \(exit 3\):\nno such folder"):
        FIRST_HOUR.run(output, readme=readme)
    assert not output.exists()


def test_the_time_column_is_written_row_by_row_from_the_results():
    commands = FIRST_HOUR.first_hour_block(README)[1]
    written = FIRST_HOUR.readme_with_times(README, results_for(commands, [6.4, 10.55]))
    assert "| the first | 6 s | `data/one.txt` |" in written
    assert "| the second | 11 s | `data/two.txt` |" in written
    assert written.replace(" 6 s ", " 99 s ").replace(" 11 s ", " 99 s ") == README, "nothing else changes"


def test_results_of_other_commands_are_refused():
    results = results_for(["echo one > data/one.txt", "cat data/one.txt"], [1.0, 1.0])
    with pytest.raises(SystemExit, match="not the ones the results file timed"):
        FIRST_HOUR.readme_with_times(README, results)


def test_a_table_without_a_row_per_command_is_refused():
    commands = FIRST_HOUR.first_hour_block(README)[1]
    one_row_short = README.replace("| the second | 99 s | `data/two.txt` |\n", "")
    with pytest.raises(SystemExit, match=r"one row per command \(2\)"):
        FIRST_HOUR.readme_with_times(one_row_short, results_for(commands, [1.0, 1.0]))


@pytest.mark.parametrize(
    "change, error",
    [
        (("\n| step | time | writes |", "\nSome text.\n\n| step | time | writes |"), "must be followed by its table"),
        (
            ("| the first | 99 s |", "| the first | 99 s | extra |"),
            r"README line 13: 4 cells, the table's header has 3",
        ),
        (("| step | time | writes |", "| step | seconds | writes |"), "has no `time` column"),
    ],
)
def test_a_table_that_is_not_the_blocks_own_is_refused_in_one_line(change, error):
    commands = FIRST_HOUR.first_hour_block(README)[1]
    with pytest.raises(SystemExit, match=error):
        FIRST_HOUR.readme_with_times(README.replace(*change), results_for(commands, [1.0, 1.0]))


def test_a_row_with_trailing_spaces_keeps_its_cells():
    commands = FIRST_HOUR.first_hour_block(README)[1]
    spaced = README.replace("`data/two.txt` |", "`data/two.txt` |  ")
    written = FIRST_HOUR.readme_with_times(spaced, results_for(commands, [1.0, 2.0]))
    assert "| the second | 2 s | `data/two.txt` |\n" in written


def test_the_readme_and_the_benchmarks_page_are_what_the_kept_results_write():
    results = json.loads((REPO_ROOT / "docs" / "results" / "first_hour.json").read_text(encoding="utf-8"))
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    page = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert FIRST_HOUR.readme_with_times(readme, results) == readme, (
        "python scripts/benchmarks/first_hour.py --output docs/results/first_hour.json, then --write_docs it"
    )
    assert FIRST_HOUR.page_with_results(page, results) == page
    assert results["commit"] and "+changes" not in results["commit"], "measured at a commit, not uncommitted code"
