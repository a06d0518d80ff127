#!/usr/bin/env python
"""Benchmark: the README's first hour, command by command, and the README's times written from the result.

    python scripts/benchmarks/first_hour.py                      # -> data/benchmarks/first_hour.json
    python scripts/benchmarks/first_hour.py --write_docs docs/results/first_hour.json   # runs nothing

The first ```shell block under the README's "## Your first hour" heading runs as a reader types it (continuation
lines joined, each command through `bash -c`, in order), in a scratch folder that looks like the checkout (its
src, recipes, scripts and Makefile linked, this interpreter's environment activated, as after `source
.venv/bin/activate`). Each command's wall seconds go to the results file with when, at which commit and on which
machine it ran (`open_r1.utils.provenance`, load average included: start-up dominates these commands and
a busy machine stretches it). A command that fails stops the run with its output; nothing is written then.

`--write_docs` puts a results file's seconds into the `time` column of the table that follows the block (one row
per command, in order) and its provenance into docs/benchmarks.md between this script's markers;
tests/scripts/test_first_hour.py checks the README and that page agree with docs/results/first_hour.json.
Not covered: `make install`, the demos (docs/demo.md), anything on a GPU.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import BENCHMARKS_PAGE, parse_or_write_docs, results_markers

README = REPO_ROOT / "README.md"
HEADING = "## Your first hour"
BEGIN, END = results_markers("first_hour.py")


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(line number of the opening fence, commands) of each ```shell block; continuation lines are joined."""
    blocks, lines = [], text.split("\n")
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```shell":
            start, body = index + 1, []
            index += 1
            while lines[index].strip() != "```":
                body.append(lines[index].strip())
                index += 1
            joined = "\n".join(body).replace("\\\n", " ")
            commands = [" ".join(line.split()) for line in joined.split("\n") if line and not line.startswith("#")]
            blocks.append((start, commands))
        index += 1
    return blocks


def first_hour_block(text: str) -> tuple[int, list[str]]:
    """The first shell block under the first-hour heading: (line number of its fence, its commands)."""
    lines = text.split("\n")
    heading = next((number for number, line in enumerate(lines) if line.startswith(HEADING)), None)
    if heading is None:
        raise SystemExit(f"README has no heading starting {HEADING!r}")
    block = next((block for block in shell_blocks(text) if block[0] > heading), None)
    if block is None:
        raise SystemExit(f"README has no ```shell block under {HEADING!r}")
    return block


def scratch_checkout(root: pathlib.Path) -> pathlib.Path:
    """A folder that looks like the checkout, with `.venv` the running interpreter's."""
    for name in ("src", "recipes", "scripts", "Makefile"):
        (root / name).symlink_to(REPO_ROOT / name)
    (root / ".venv").symlink_to(sys.prefix)
    return root


def activated_environment() -> dict:
    """The environment after `source .venv/bin/activate`, importing this checkout's package."""
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix}
    env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.prefix) / "bin"), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def time_commands(commands: list[str], workdir: pathlib.Path) -> list[dict]:
    """Runs each command in `workdir`, in order; its wall seconds. Stops at the first that fails, with its output."""
    timed = []
    for command in commands:
        print(f"$ {command}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            ["bash", "-c", command], cwd=workdir, env=activated_environment(), capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-3000:]
            raise SystemExit(f"first_hour.py: `{command}` failed (exit {result.returncode}):\n{output}")
        print(f"  {seconds:.1f} s", flush=True)
        timed.append({"command": command, "seconds": round(seconds, 2)})
    return timed


def run(output: pathlib.Path, readme: pathlib.Path = README) -> dict:
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import save_results

    _, commands = first_hour_block(readme.read_text(encoding="utf-8"))
    provenance = provenance_record()
    with tempfile.TemporaryDirectory(prefix="first-hour-") as scratch:
        timed = time_commands(commands, scratch_checkout(pathlib.Path(scratch)))
    results = {
        "benchmark": "first_hour",
        **with_end_load(provenance),
        "commands": timed,
        "total_seconds": round(sum(entry["seconds"] for entry in timed), 2),
    }
    save_results(output, results)
    return results


def table_after(lines: list[str], fence: int) -> tuple[int, list[int]]:
    """(line of the header, lines of the rows) of the table that follows the block whose fence opens on line
    `fence` (0-based), blank lines between them and nothing else."""
    end = next((number for number in range(fence + 1, len(lines)) if lines[number].strip() == "```"), None)
    number = (end if end is not None else len(lines)) + 1
    while number < len(lines) and not lines[number].strip():
        number += 1
    if number >= len(lines) or not lines[number].startswith("|"):
        raise SystemExit("the README's first-hour block must be followed by its table (step | time | writes)")
    rows = []
    for row in range(number + 2, len(lines)):
        if not lines[row].startswith("|"):
            break
        rows.append(row)
    return number, rows


def cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")


def readme_with_times(text: str, results: dict) -> str:
    """The README with the `time` cell of each row of the block's table set from `results`, row i for command i.
    The block's commands must be the ones that were timed."""
    fence, commands = first_hour_block(text)
    timed = [entry["command"] for entry in results["commands"]]
    if commands != timed:
        raise SystemExit("the README's first-hour commands are not the ones the results file timed: run it again")
    lines = text.split("\n")
    header_line, rows = table_after(lines, fence - 1)
    header = [cell.strip() for cell in cells(lines[header_line])]
    if "time" not in header:
        raise SystemExit("the table after the README's first-hour block has no `time` column")
    column = header.index("time")
    if len(rows) != len(commands):
        raise SystemExit(
            f"the table after the README's first-hour block must have one row per command ({len(commands)})"
        )
    for number, entry in zip(rows, results["commands"]):
        row = cells(lines[number])
        if len(row) != len(header):
            raise SystemExit(f"README line {number + 1}: {len(row)} cells, the table's header has {len(header)}")
        row[column] = f" {entry['seconds']:.0f} s "
        lines[number] = "|" + "|".join(row) + "|"
    return "\n".join(lines)


def docs_section(results: dict) -> str:
    from open_r1.demo.docs_page import machine_cell
    from open_r1.utils.provenance import read_provenance, utc_time
    from open_r1.utils.results_docs import markdown_table

    rows = [[f"`{entry['command']}`", f"{entry['seconds']:.1f}"] for entry in results["commands"]]
    when = utc_time(results["date"])
    machine = read_provenance(results)["machine"]
    before, after = machine["load_average_at_start"][0], machine["load_average_at_end"][0]
    return "\n\n".join(
        [
            BEGIN,
            f"{when} UTC, commit `{results['commit']}`, {machine_cell(results)}, 1-minute load average before / "
            f"after: {before:.1f} / {after:.1f}; {results['total_seconds']:.0f} s in all.",
            markdown_table(["command", "seconds"], rows),
            END,
        ]
    )


def page_with_results(text: str, results: dict) -> str:
    from open_r1.utils.results_docs import between_markers

    return between_markers(text, BEGIN, END, docs_section(results), BENCHMARKS_PAGE)


def write_docs(
    results_file: pathlib.Path, readme: pathlib.Path = README, page: pathlib.Path = BENCHMARKS_PAGE
) -> None:
    results = json.loads(results_file.read_text(encoding="utf-8"))
    new_readme = readme_with_times(readme.read_text(encoding="utf-8"), results)
    new_page = page_with_results(page.read_text(encoding="utf-8"), results)  # both built before either is written
    readme.write_text(new_readme, encoding="utf-8")
    page.write_text(new_page, encoding="utf-8")
    print(f"wrote {results_file}'s times into {readme} and {page}", flush=True)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=REPO_ROOT / "data" / "benchmarks" / "first_hour.json",
        help="Results file to write (default data/benchmarks/first_hour.json).",
    )
    parser.add_argument(
        "--write_docs", type=pathlib.Path, help="A results file to write into the README and docs/benchmarks.md."
    )
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    return run(args.output)


if __name__ == "__main__":
    main()
