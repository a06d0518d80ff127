"""Throughput of the local sandbox against a plain `subprocess.run([python, file])` per test, same run.

    python scripts/benchmarks/sandbox.py                       # all 226 CodeContests problems, 2 workers
    python scripts/benchmarks/sandbox.py --limit 50 --workers 1
    python scripts/benchmarks/sandbox.py --trivial 300         # only: the sandbox's cost per test and per program
    python scripts/benchmarks/sandbox.py --output docs/results/sandbox/<name>.json   # keep the results
    python scripts/benchmarks/sandbox.py --write_docs docs/results/sandbox/*.json   # the table, into docs/

Runs every test of every reference solution in ../shared/data/code_contests_py.jsonl (or $OPEN_R1_SHARED_DATA)
twice: through `LocalSandbox` (isolated, a fresh template process per program, one fork per test) and through a
plain, unisolated loop that starts the same base interpreter once per test, both with `--workers` programs in
parallel. The problems are split into `--rounds` chunks and the two alternate chunk by chunk (sandbox first on
even chunks, plain first on odd ones), so a busy shared machine slows both alike. Prints test cases per second
for each, the ratio, and every problem whose verdicts differ (the target: ratio >= 4, no difference). It also
prints the ceiling that the programs' own run time puts on the ratio: the plain loop's time over the time the
sandboxed runs spend running the programs (their measured wall time minus what a run of `print(1)` takes),
shared by the workers; no sandbox that runs the same programs in the same interpreter can beat it.

`--trivial N` times N runs of `print(1)`: as N tests of one program (the cost of one test: fork of the
program's launcher, namespaces, mounts, rlimits, seccomp, collecting the output) and as N one-test programs
(adds the cost of a program: a fresh template forked from the zygote, and its launcher), on one worker. Run it
with PYTHONPATH pointing at another checkout to compare designs on the same machine. `--output` writes a full
run's results (with date, commit, machine and load) as JSON; `--write_docs` writes the table of results files into
docs/benchmarks.md between this script's markers, so the page is never typed by hand.

Not covered: C++ (the data set's solutions are Python) and wrong answers (see tests/sandbox/test_local.py).
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from open_r1.sandbox import Limits, LocalSandbox, Submission, TestCase
from open_r1.sandbox.base import classify, judge_input
from open_r1.sandbox.local import sandbox_python
from open_r1.utils.launch import SHARED_DATA
from open_r1.utils.results_docs import results_markers, results_table_writer

DATA = SHARED_DATA / "code_contests_py.jsonl"
BEGIN, END = results_markers("sandbox.py")


def plain_verdicts(problem: dict, python: str, limits: Limits) -> list[str]:
    """The baseline: one fresh interpreter per test, no isolation."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "solution.py"
        path.write_text(problem["solution"])
        verdicts = []
        for test in problem["tests"]:
            start = time.monotonic()
            try:
                done = subprocess.run(
                    [python, str(path)],
                    input=judge_input(test["input"]).encode(),
                    capture_output=True,
                    timeout=limits.wall_seconds,
                    cwd=folder,
                )
                raw = {
                    "exit_code": done.returncode if done.returncode >= 0 else None,
                    "signal": -done.returncode if done.returncode < 0 else None,
                    "stdout": done.stdout.decode("utf-8", "replace"),
                    "stderr": done.stderr.decode("utf-8", "replace"),
                }
            except subprocess.TimeoutExpired:
                raw = {"timed_out": True}
            raw["wall_seconds"] = time.monotonic() - start
            verdicts.append(classify(raw, test["output"]).verdict.value)
        return verdicts


def sandbox_round(sandbox: LocalSandbox, problems: list[dict]) -> tuple[list[list[str]], float, float]:
    """Verdicts, wall seconds, and the runs' own seconds (each run from its fork to its exit, summed)."""
    submissions = [
        Submission(p["solution"], "python", tuple(TestCase(t["input"], t["output"]) for t in p["tests"]))
        for p in problems
    ]
    start = time.monotonic()
    results = sandbox.execute(submissions, test_batch_size=0)
    seconds = time.monotonic() - start
    run_seconds = sum(o.wall_seconds for r in results for o in r.outcomes)
    return [[o.verdict.value for o in r.outcomes] for r in results], seconds, run_seconds


def plain_round(problems: list[dict], python: str, limits: Limits, workers: int) -> tuple[list[list[str]], float]:
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda p: plain_verdicts(p, python, limits), problems))
    return verdicts, time.monotonic() - start


def trivial_costs(count: int) -> None:
    """Per-test and per-program cost of the sandbox on trivial runs (one worker, started beforehand)."""
    with LocalSandbox(num_workers=1) as sandbox:
        sandbox.run_raw("print(1)", "python", [""])  # start the worker
        start = time.monotonic()
        _, raws = sandbox.run_raw("print(1)", "python", [""] * count)
        per_test = (time.monotonic() - start) / count
        assert all(raw["stdout"] == "1\n" for raw in raws), raws[:3]
        start = time.monotonic()
        for _ in range(count):
            _, [raw] = sandbox.run_raw("print(1)", "python", [""])
            assert raw["stdout"] == "1\n", raw
        per_program = (time.monotonic() - start) / count
    print(f"sandbox code: {sys.modules['open_r1.sandbox'].__file__}")
    print(f"one program, {count} tests  : {per_test * 1000:7.2f} ms per test")
    print(f"{count} one-test programs : {per_program * 1000:7.2f} ms per program (its test included)")


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before → after", "problems, tests, workers", "baseline", "sandbox"]
    header += ["ratio", "ceiling", "ratio / ceiling", "verdicts", "results"]
    rows = []
    for results, path in runs:
        settings, differing = results["settings"], results["problems_differing"]
        machine = read_provenance(settings)["machine"]
        start, end = machine["load_average_at_start"], machine["load_average_at_end"]
        rows.append(
            [
                *provenance_cells(settings, f"{start[0]:.2f} → {end[0]:.2f}"),
                f"{settings['problems']}, {settings['tests']:,}, {settings['workers']}",
                f"{results['baseline_tests_per_second']:.1f} tests/s",
                f"{results['sandbox_tests_per_second']:.1f} tests/s",
                f"**{results['ratio']:.2f}×**",
                f"{results['ceiling']:.2f}×",
                f"{results['ratio'] / results['ceiling']:.2f}",
                f"identical ({results['all_passed']}/{settings['problems']} pass)"
                if not differing
                else f"**{len(differing)} differ**",
                results_cell(path),
            ]
        )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv=None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=pathlib.Path, default=DATA, help="CodeContests problems as JSONL")
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers")
    parser.add_argument("--rounds", type=int, default=4, help="chunks in which sandbox and plain loop alternate")
    parser.add_argument("--trivial", type=int, default=0, help="only time N trivial runs (per test, per program)")
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    if args.trivial:
        trivial_costs(args.trivial)
        return None
    if not args.data.exists():
        sys.exit(f"{args.data} not found (pass --data path/to/code_contests_py.jsonl)")
    with open(args.data, encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle][: args.limit]
    limits = Limits()
    num_tests = sum(len(p["tests"]) for p in problems)
    python = sandbox_python()
    rounds = max(1, min(args.rounds, len(problems)))
    chunks = [problems[index::rounds] for index in range(rounds)]
    sandbox_verdicts, baseline_verdicts = {}, {}
    sandbox_seconds = plain_seconds = run_seconds = 0.0
    from open_r1.utils.provenance import provenance_record, with_end_load

    provenance = provenance_record()
    with LocalSandbox(num_workers=args.workers, limits=limits) as sandbox:
        sandbox.execute([Submission("print(1)", "python", (TestCase("", "1"),))] * args.workers)  # start workers
        # What isolating one run costs inside the run itself (namespaces, mounts, limits, seccomp): the median
        # own wall time of a run of print(1). Subtracted from every test's, it leaves the programs' own time.
        _, raws = sandbox.run_raw("print(1)", "python", [""] * 50)
        isolation_seconds = statistics.median(raw["wall_seconds"] for raw in raws)
        for index, chunk in enumerate(chunks):
            for side in ("sandbox", "plain") if index % 2 == 0 else ("plain", "sandbox"):
                if side == "sandbox":
                    verdicts, seconds, inside = sandbox_round(sandbox, chunk)
                    sandbox_seconds += seconds
                    run_seconds += inside
                    sandbox_verdicts.update((p["id"], v) for p, v in zip(chunk, verdicts))
                else:
                    verdicts, seconds = plain_round(chunk, python, limits, args.workers)
                    plain_seconds += seconds
                    baseline_verdicts.update((p["id"], v) for p, v in zip(chunk, verdicts))

    differing = [
        (p["id"], sandbox_verdicts[p["id"]], baseline_verdicts[p["id"]])
        for p in problems
        if sandbox_verdicts[p["id"]] != baseline_verdicts[p["id"]]
    ]
    all_passed = sum(all(v == "passed" for v in verdicts) for verdicts in sandbox_verdicts.values())
    print(f"problems: {len(problems)}  test cases: {num_tests}  workers: {args.workers}  python: {python}")
    print(f"sandbox code: {sys.modules['open_r1.sandbox'].__file__}")
    provenance = with_end_load(provenance)
    before, after = provenance["machine"]["load_average_at_start"][0], provenance["machine"]["load_average_at_end"][0]
    print(f"load average before: {before:.2f}  after: {after:.2f}  rounds: {rounds}")
    print(f"local sandbox : {num_tests / sandbox_seconds:8.1f} tests/s  ({sandbox_seconds:.1f} s)")
    print(f"plain loop    : {num_tests / plain_seconds:8.1f} tests/s  ({plain_seconds:.1f} s)")
    print(f"speed-up      : {plain_seconds / sandbox_seconds:.2f}x")
    # Amdahl: the programs' own run time is the same in both arms, so it caps the ratio whatever the sandbox does.
    program_seconds = max(run_seconds - num_tests * isolation_seconds, 1e-9)
    print(
        f"inside the runs: {run_seconds:.1f} s of run time ({100 * run_seconds / (args.workers * sandbox_seconds):.0f}% "
        f"of {args.workers} workers x {sandbox_seconds:.1f} s); a run of print(1) takes {isolation_seconds * 1000:.1f} ms"
    )
    print(
        f"ceiling       : {plain_seconds * args.workers / program_seconds:.2f}x for a sandbox whose isolation and "
        f"bookkeeping cost nothing ({program_seconds:.1f} s of the programs' own run time over {args.workers} workers)"
    )
    print(f"reference solutions passing every test in the sandbox: {all_passed}/{len(problems)}")
    print(f"problems with different verdicts: {len(differing)}")
    for problem_id, sandboxed, plain in differing:
        print(f"  {problem_id}: sandbox {sandboxed} vs plain {plain}")
    results = {
        "settings": {
            "problems": len(problems),
            "tests": num_tests,
            "workers": args.workers,
            "rounds": rounds,
            "python": python,
            **provenance,
        },
        "sandbox_tests_per_second": num_tests / sandbox_seconds,
        "baseline_tests_per_second": num_tests / plain_seconds,
        "ratio": plain_seconds / sandbox_seconds,
        "ceiling": plain_seconds * args.workers / program_seconds,
        "print_1_run_ms": isolation_seconds * 1000,
        "all_passed": all_passed,
        "problems_differing": [problem_id for problem_id, _, _ in differing],
    }
    from open_r1.utils.results_docs import report_results

    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    main()
