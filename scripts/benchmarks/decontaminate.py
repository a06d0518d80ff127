#!/usr/bin/env python
"""Benchmark: rows per second of `scripts/decontaminate.py`'s flagging vs a straightforward implementation.

Builds a synthetic dataset (default 200,000 rows) whose words are drawn from the benchmark problems
themselves, so many rows share partial n-grams with them, and plants real benchmark problems in
about 1% of the rows (verbatim, re-cased, with changed whitespace, or embedded in other text). It
checks it against the `../shared/data` benchmark files with

- baseline: Python sets of word n-gram tuples per benchmark, one row at a time, one process;
- fast: `flag_dataset` from scripts/decontaminate.py (hashed n-grams, batched numpy, every core),
  reading the rows from a `datasets.Dataset` as the script does;

with the best of `--repeats` runs of each (the machine may be shared),
asserts they give identical flags for every row and benchmark, and prints the speeds and ratios (fast
with one process and with `--num_proc`, default every core).

    python scripts/benchmarks/decontaminate.py [--rows 200000] [--num_proc N] [--shared_data ../shared/data]
    python scripts/benchmarks/decontaminate.py --output docs/results/decontaminate/<name>.json   # keep the results
    python scripts/benchmarks/decontaminate.py --write_docs docs/results/decontaminate/*.json   # the table, into docs/

`--output` writes the results (with date, commit, machine and load) as JSON; `--write_docs` writes the table of
results files into docs/benchmarks.md between this script's markers, so the page is never typed by hand.

Not covered: loading from the Hub and writing the output, which are the same for any matcher.
"""

import argparse
import json
import pathlib
import random
import sys

import datasets

from open_r1.utils.launch import REPO_ROOT, SHARED_DATA, usable_cores
from open_r1.utils.results_docs import best_of, results_markers, results_table_writer

# scripts/decontaminate.py, the script this one times (the folder of scripts is no package).
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from decontaminate import flag_dataset  # noqa: E402

from open_r1.data.contamination import DEFAULT_NGRAM_SIZE, MIN_RUN_CHARS, NgramIndex  # noqa: E402

BENCHMARK_FILES = ["math500", "aime24", "aime25", "amc23", "gsm8k_test", "code_contests_py"]
BEGIN, END = results_markers("decontaminate.py")


def load_benchmarks(folder: pathlib.Path) -> dict[str, list[str]]:
    benchmarks = {}
    for name in BENCHMARK_FILES:
        with open(folder / f"{name}.jsonl", encoding="utf-8") as file:
            benchmarks[name] = [json.loads(line)["problem"] for line in file]
    return benchmarks


def synthetic_rows(benchmarks: dict[str, list[str]], num_rows: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    problems = [problem for texts in benchmarks.values() for problem in texts]
    vocabulary = sorted({word for problem in problems for word in problem.split()})
    rows = []
    for _ in range(num_rows):
        if rng.random() < 0.01:
            problem = rng.choice(problems)
            variant = rng.randrange(4)
            if variant == 1:
                problem = problem.upper()
            elif variant == 2:
                problem = "\n\t ".join(problem.split())
            elif variant == 3:
                problem = " ".join(rng.choices(vocabulary, k=20)) + " " + problem + " Show your work."
            rows.append(problem)
        else:
            rows.append(" ".join(rng.choices(vocabulary, k=rng.randint(20, 160))))
    return rows


def baseline_flags(texts: list[str], benchmarks: dict[str, list[str]], n: int) -> dict[str, list[bool]]:
    """The straightforward way: a set of n-gram tuples per benchmark, every row checked on its own."""
    ngram_sets, short_problems = {}, {}
    for name, problems in benchmarks.items():
        ngram_sets[name], short_problems[name] = set(), {}
        for problem in problems:
            words = problem.lower().split()
            if len(words) < n and (len(words) < 2 or len(" ".join(words)) < MIN_RUN_CHARS):
                short_problems[name].setdefault(0, set()).add(tuple(words))  # size 0: the whole row must be it
            elif len(words) < n:  # too short for an n-gram: matched as its whole run of words
                short_problems[name].setdefault(len(words), set()).add(tuple(words))
            ngram_sets[name].update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    flags = {name: [] for name in benchmarks}
    for text in texts:
        words = text.lower().split()
        row_grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
        for name in benchmarks:
            hit = not row_grams.isdisjoint(ngram_sets[name]) or any(
                tuple(words) in runs
                if size == 0
                else not runs.isdisjoint(tuple(words[i : i + size]) for i in range(len(words) - size + 1))
                for size, runs in short_problems[name].items()
            )
            flags[name].append(hit)
    return flags


def run(benchmarks: dict[str, list[str]], rows: int, ngram_size: int, num_proc: int, repeats: int) -> dict:
    """Times both ways on `rows` synthetic rows against `benchmarks`; returns rows per second of each (the fast one
    with one process and with `num_proc`), their ratios and how many flags differ."""
    from open_r1.utils.provenance import provenance_record

    settings = {
        "rows": rows,
        "ngram_size": ngram_size,
        "num_proc": num_proc,
        "repeats": repeats,
        "benchmarks": sorted(benchmarks),
        **provenance_record(),
    }
    texts = synthetic_rows(benchmarks, rows)
    dataset = datasets.Dataset.from_dict({"problem": texts})
    words = sum(len(text.split()) for text in texts)
    print(
        f"{len(texts)} rows, {words / len(texts):.0f} words per row, {len(benchmarks)} benchmarks, {num_proc} processes"
    )

    # The machine may be shared: each variant runs `repeats` times and its best time counts.
    baseline_seconds, slow = best_of(repeats, lambda: baseline_flags(texts, benchmarks, ngram_size))
    # Everything the script does per run is timed: building the index, reading the dataset, the processes.
    timings = {}
    for processes in sorted({1, num_proc}):
        timings[processes], fast = best_of(
            repeats,
            lambda processes=processes: flag_dataset(
                dataset, "problem", NgramIndex(benchmarks, ngram_size), processes
            ),
        )

    mismatches = sum(a != b for name in benchmarks for a, b in zip(slow[name], fast[name]))
    print(f"contaminated rows per benchmark: { {name: sum(column) for name, column in fast.items()} }")
    print(
        f"baseline (sets of tuples, row by row): {len(texts) / baseline_seconds:10,.0f} rows/s ({baseline_seconds:.2f} s)"
    )
    for processes, seconds in timings.items():
        print(
            f"fast (hashed n-grams, batched), {processes} proc: {len(texts) / seconds:10,.0f} rows/s ({seconds:.2f} s)  "
            f"speed-up {baseline_seconds / seconds:.1f}x"
        )
    print(f"rows with different flags ({num_proc} proc vs baseline): {mismatches}")
    return {
        "settings": settings,
        "baseline_rows_per_second": len(texts) / baseline_seconds,
        "fast_rows_per_second": {str(processes): len(texts) / seconds for processes, seconds in timings.items()},
        "ratios": {str(processes): baseline_seconds / seconds for processes, seconds in timings.items()},
        "flags_differing": mismatches,
        "contaminated_rows": {name: sum(column) for name, column in fast.items()},
    }


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "rows", "baseline", "project, 1 process"]
    header += ["project, all processes", "flags identical", "results"]
    rows = []
    for results, path in runs:
        settings, fast, ratios = results["settings"], results["fast_rows_per_second"], results["ratios"]
        processes = str(settings["num_proc"])
        differing = results["flags_differing"]
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        rows.append(
            [
                *provenance_cells(settings, f"{start[0]:.2f}"),
                f"{settings['rows']:,}",
                f"{results['baseline_rows_per_second']:,.0f} rows/s",
                f"{fast['1']:,.0f} rows/s (**{ratios['1']:.1f}×**)",
                f"{processes}: {fast[processes]:,.0f} rows/s (**{ratios[processes]:.1f}×**)",
                f"{'yes' if not differing else '**no**'} ({differing} rows differ)",
                results_cell(path),
            ]
        )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description="Decontamination throughput: fast vs straightforward")
    parser.add_argument("--rows", type=int, default=200_000, help="Training rows checked against the benchmarks.")
    parser.add_argument(
        "--ngram_size", type=int, default=DEFAULT_NGRAM_SIZE, help="Words per n-gram, as decontaminate.py."
    )
    parser.add_argument(
        "--num_proc", type=int, default=usable_cores(), help="Processes (default: every core this process may use)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Runs per variant; the best time counts.")
    parser.add_argument("--shared_data", default=str(SHARED_DATA), help="Folder of the benchmark files.")
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    if args.rows < 100_000:
        parser.error("the benchmark is defined on at least 100,000 rows")

    benchmarks = load_benchmarks(pathlib.Path(args.shared_data))
    results = run(benchmarks, args.rows, args.ngram_size, args.num_proc, args.repeats)
    from open_r1.utils.results_docs import report_results

    report_results(results, args.output, docs_section)
    if results["flags_differing"]:
        sys.exit("FAIL: the fast flags differ from the baseline")
    return results


if __name__ == "__main__":
    main()
