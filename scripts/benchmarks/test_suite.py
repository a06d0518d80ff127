#!/usr/bin/env python
"""Benchmark: how long `make test` takes, and the docs table written from the results files.

    python scripts/benchmarks/test_suite.py --output docs/results/test_suite/<day>T<hhmm>-<commit>.json   # runs `make test`
    python scripts/benchmarks/test_suite.py --write_docs docs/results/test_suite/*.json   # runs nothing

Runs `make test` from the checkout (the fast tests on TEST_WORKERS pytest workers), its output shown as it comes,
and keeps the wall seconds, pytest's summary counts (passed, skipped, failed, ...) and its own seconds, whether
`../shared` was there (its tests skip without it), and when, at which commit and on which machine it ran
(`open_r1.utils.provenance`). A run that fails is kept too, and its row says so: the table is what happened.
`--write_docs` writes the table into docs/benchmarks.md between this script's markers.

Not covered: `make slow_test`; CI's own time (its `.ci/run` installs first); which tests are slow (pytest's
`--durations`).
"""

import argparse
import os
import pathlib
import re
import subprocess
import time

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("test_suite.py")
# pytest's closing line, e.g. "2429 passed, 3 skipped in 647.12s (0:10:47)".
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ \w+(?:, \d+ \w+)*) in (?P<seconds>[\d.]+)s\b", re.MULTILINE)
COUNT = re.compile(r"(\d+) (\w+)")


def pytest_summary(output: str) -> dict:
    """The counts and seconds of pytest's last summary line in `output` ({"passed": 2429, ...}, seconds); a
    SystemExit when there is none (pytest did not get to run)."""
    found = list(SUMMARY.finditer(output))
    if not found:
        raise SystemExit(f"test_suite.py: no pytest summary line in the output; its tail:\n{output[-2000:]}")
    last = found[-1]
    counts = {
        kind.rstrip("s") if kind in ("errors", "warnings") else kind: int(n)
        for n, kind in COUNT.findall(last["counts"])
    }
    return {"counts": counts, "pytest_seconds": float(last["seconds"])}


def run_make_test(command: list[str]) -> tuple[int, str, float]:
    """Runs `command` in the checkout, echoing its output; (exit status, output, wall seconds)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    return process.wait(), "".join(lines), time.perf_counter() - started


def run(output: pathlib.Path, command: list[str]) -> dict:
    from open_r1.utils.launch import SHARED_DATA
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import save_results

    provenance = provenance_record()
    status, text, seconds = run_make_test(command)
    results = {
        "benchmark": "test_suite",
        **with_end_load(provenance),
        "command": " ".join(command),
        "test_workers": os.environ.get("TEST_WORKERS"),
        "shared_data": (SHARED_DATA / "math500.jsonl").exists(),
        "exit_status": status,
        "wall_seconds": round(seconds, 1),
        **pytest_summary(text),
    }
    save_results(output, results)
    return results


def tests_cell(results: dict) -> str:
    counts = results["counts"]
    said = [f"{counts.get('passed', 0):,} passed"]
    said += [f"{counts[kind]:,} {kind}" for kind in ("failed", "error", "skipped") if counts.get(kind)]
    return ", ".join(said) + ("" if results["exit_status"] == 0 else f" (exit {results['exit_status']})")


def docs_section(runs: list[tuple[dict, pathlib.Path]]) -> str:
    from open_r1.utils.provenance import provenance_cells
    from open_r1.utils.results_docs import markdown_table, results_cell

    rows = []
    for results, path in runs:
        load = "load {:.1f} to {:.1f}".format(
            results["machine"]["load_average_at_start"][0], results["machine"]["load_average_at_end"][0]
        )
        rows.append(
            [
                *provenance_cells(results, load),
                f"`{results['command']}`"
                + (f" (TEST_WORKERS={results['test_workers']})" if results["test_workers"] else ""),
                "with" if results["shared_data"] else "without",
                tests_cell(results),
                f"{results['wall_seconds']:.0f} s",
                f"{results['pytest_seconds']:.0f} s",
                results_cell(path),
            ]
        )
    header = ["date", "commit", "machine", "command", "`../shared`", "tests", "wall", "pytest's", "results"]
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> None:
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_results_options(parser)
    parser.add_argument(
        "--command", nargs="+", default=["make", "test"], help="What to time, from the checkout (`make test`)."
    )
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return
    output = args.output or REPO_ROOT / "data" / "benchmarks" / "test_suite.json"
    results = run(output, args.command)
    print(f"{tests_cell(results)}: {results['wall_seconds']:.0f} s wall, pytest {results['pytest_seconds']:.0f} s")


if __name__ == "__main__":
    main()
