"""Per-call cost of the python tool (open_r1.tools) on the local sandbox, beside a bare subprocess, same run.

    python scripts/benchmarks/python_tool.py                 # 200 calls of print(1), then the replay cost
    python scripts/benchmarks/python_tool.py --calls 500 --history 0 2 4 8
    python scripts/benchmarks/python_tool.py --output docs/results/python_tool/<name>.json   # keep the results
    python scripts/benchmarks/python_tool.py --write_docs docs/results/python_tool/*.json   # the table, into docs/

Prints milliseconds per call (median and 90th percentile) of:
- `tool`: `PythonTool.python("print(1)")` on a fresh rollout (no earlier cells): what a trivial call costs a
  rollout (a fresh template process in the sandbox, its launcher, namespaces, rlimits, seccomp, the reply);
- `subprocess`: `subprocess.run([python, "-c", "print(1)"])`, unisolated: what SkyRL-style bare subprocess tools
  pay to start an interpreter;
- `replay k`: a call after k earlier successful cells (each `v_i = i`), the cost of the stateless design
  (every call replays the rollout's earlier cells), for each k of --history.
Calls alternate tool/subprocess so a busy machine slows both alike. Target (issue 17): tool median < 20 ms.
`--output` writes the results (with date, commit, machine and load) as JSON; `--write_docs` writes the table of
results files into docs/benchmarks.md between this script's markers, so the page is never typed by hand.
Not covered: E2B/Morph (network round trips dominate there), calls that do real work.
"""

import argparse
import pathlib
import statistics
import subprocess
import sys
import time

from open_r1.sandbox import SandboxConfig
from open_r1.tools import PythonTool, PythonToolSettings
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("python_tool.py")


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def milliseconds(samples: list[float]) -> str:
    return f"median {1000 * statistics.median(samples):6.1f} ms   p90 {1000 * p90(samples):6.1f} ms"


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "calls", "tool, print(1)", "bare subprocess"]
    header += ["replay of earlier cells", "results"]
    rows = []
    for results, path in runs:
        settings = results["settings"]
        replay = " / ".join(f"{cells}: {1000 * seconds:.1f} ms" for cells, seconds in results["replay"].items())
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        rows.append(
            [
                *provenance_cells(settings, f"{start[0]:.2f}"),
                str(settings["calls"]),
                f"**{1000 * results['tool']:.1f} ms** median, {1000 * results['tool_p90']:.1f} ms p90",
                f"{1000 * results['subprocess']:.1f} ms median",
                replay,
                results_cell(path),
            ]
        )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.utils.provenance import provenance_record

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="Calls of print(1) per design (default 200).")
    parser.add_argument("--history", type=int, nargs="*", default=[0, 2, 4, 8], help="Earlier cells to replay.")
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    settings = {"calls": args.calls, **provenance_record()}

    tool = PythonTool(PythonToolSettings(SandboxConfig(num_workers=1)))
    tool.reset()
    assert tool.python("print(1)") == "1\n"  # starts the worker: not part of a call's cost
    tool_times, plain_times = [], []
    for _ in range(args.calls):
        tool.reset()
        started = time.perf_counter()
        output = tool.python("print(1)")
        tool_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain = subprocess.run([sys.executable, "-I", "-S", "-c", "print(1)"], capture_output=True, text=True)
        plain_times.append(time.perf_counter() - started)
        if output != "1\n" or plain.stdout != "1\n":
            raise RuntimeError(f"unexpected outputs {output!r}, {plain.stdout!r}")
    print(f"tool        {milliseconds(tool_times)}")
    print(f"subprocess  {milliseconds(plain_times)}")
    ratio = statistics.median(plain_times) / statistics.median(tool_times)
    print(f"subprocess / tool (medians): {ratio:.2f}")
    replay = {}
    for history in args.history:
        samples = []
        for _ in range(max(10, args.calls // 10)):
            tool.reset()
            tool.cells = [f"v_{i} = {i}" for i in range(history)]  # as if those calls had succeeded
            started = time.perf_counter()
            output = tool.python(f"print({history})")
            samples.append(time.perf_counter() - started)
            if output != f"{history}\n":
                raise RuntimeError(f"replay of {history} cells printed {output!r}")
        replay[history] = statistics.median(samples)
        print(f"replay {history:2d}   {milliseconds(samples)}")
    results = {
        "settings": settings,
        "tool": statistics.median(tool_times),
        "tool_p90": p90(tool_times),
        "subprocess": statistics.median(plain_times),
        "replay": {str(history): seconds for history, seconds in replay.items()},
    }
    from open_r1.utils.results_docs import report_results

    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    main()
