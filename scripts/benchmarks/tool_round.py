"""One GRPO round's python tool calls: one rollout after another, as TRL 1.16 makes them, against run ahead at once.

    python scripts/benchmarks/tool_round.py                                    # 32 rollouts x 3 calls, 2 workers
    python scripts/benchmarks/tool_round.py --rollouts 128 --workers 8 --output data/benchmarks/tool_round.json
    python scripts/benchmarks/tool_round.py --write_docs docs/results/tool_round/*.json   # the tables, into docs/

Each repeat gives `--rollouts` fresh rollouts (`PythonTool`, the local sandbox with `--workers` workers) the same
assistant turn of calls (`--code`, by default three calculations as a GSM8K tool trace makes them) and times two
arms, alternating which goes first so that a busy machine slows both alike:
- `in place`: each rollout's calls with `python`, one rollout after another: what TRL 1.16 does in a GRPO step;
- `ahead`: every rollout's calls started at once (`PythonTool._speculate`, in a pool of `--workers` threads), then
  the same `python` calls in the same order, which take those results: what `ToolCallsAhead` does.
Every call of both arms must print the same text. Reported: the median seconds per round of each arm, their ratio,
and its ceiling, the most that running calls at once can give here: the fewest of workers, rollouts and the cores
this process may use (a call is a sandboxed process: its start and run are CPU work).
Not covered: the trainer's side (parsing, the GPU idle or not), E2B and Morph (network-bound, more to gain).
"""

import argparse
import pathlib
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from open_r1.sandbox import SandboxConfig
from open_r1.tools import PythonTool, PythonToolSettings
from open_r1.utils.provenance import provenance_record, read_provenance
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("tool_round.py")
# Three calls of a GSM8K tool trace (open_r1.tasks.gsm8k writes each calculator annotation so).
DEFAULT_CODE = ("print(round(48/2))", "print(48+24)", "print(round(72*1.5, 1))")


def settings_of(args) -> dict:
    return {
        "rollouts": args.rollouts,
        "calls_per_rollout": len(args.code),
        "code": list(args.code),
        "workers": args.workers,
        "repeats": args.repeats,
        **provenance_record(),
    }


def time_round(tools: list[PythonTool], codes: list[str], pool, ahead: bool) -> tuple[float, list[str]]:
    """Seconds for every rollout's calls, and what they printed, in rollout order."""
    for tool in tools:
        tool.reset()
    started = time.perf_counter()
    if ahead:
        for tool in tools:
            tool._speculate(codes, pool)
    texts = [tool.python(code) for tool in tools for code in codes]
    seconds = time.perf_counter() - started
    if ahead and sum(tool.calls_ahead for tool in tools) != len(texts):
        raise RuntimeError("some calls did not take their run ahead")
    return seconds, texts


def run(args) -> dict:
    settings = settings_of(args)
    tool_settings = PythonToolSettings(SandboxConfig("local", args.workers))
    tools = [PythonTool(tool_settings) for _ in range(args.rollouts)]
    codes = list(args.code)
    seconds = {"in place": [], "ahead": []}
    with ThreadPoolExecutor(args.workers, thread_name_prefix="python-tool") as pool:
        time_round(tools, codes, pool, ahead=True)  # starts the sandbox's workers: not part of a round's cost
        for repeat in range(args.repeats):
            order = ("in place", "ahead") if repeat % 2 == 0 else ("ahead", "in place")
            texts = {}
            for arm in order:
                elapsed, texts[arm] = time_round(tools, codes, pool, ahead=arm == "ahead")
                seconds[arm].append(elapsed)
            if texts["in place"] != texts["ahead"]:
                raise RuntimeError("the calls run ahead printed something else than the calls run in place")
    medians = {arm: statistics.median(values) for arm, values in seconds.items()}
    results = {
        "settings": settings,
        "seconds_per_round": medians,
        "all_seconds": seconds,
        "ratio": medians["in place"] / medians["ahead"],
        "ceiling": min(args.workers, args.rollouts, settings["machine"]["cores"]),
    }
    print(docs_section([(results, None)]))
    return results


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.results_docs import markdown_table

    rows = []
    for results, path in runs:
        s, record = results["settings"], read_provenance(results["settings"])
        machine = record["machine"]
        rows.append(
            [
                record["date"][:10],
                record["commit"],
                f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_average_at_start'][0]:.1f}",
                f"{s['rollouts']} × {s['calls_per_rollout']}",
                str(s["workers"]),
                f"{results['seconds_per_round']['in place']:.3f}",
                f"{results['seconds_per_round']['ahead']:.3f}",
                f"**{results['ratio']:.2f}×**",
                f"{results['ceiling']}×",
                f"`{path.as_posix()}`" if path else "",
            ]
        )
    header = [
        "date",
        "commit",
        "machine",
        "rollouts × calls",
        "workers",
        "in place s/round",
        "ahead s/round",
        "ratio",
        "ceiling",
        "results",
    ]
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=32, help="Rollouts in the round (default 32).")
    parser.add_argument("--code", nargs="+", default=list(DEFAULT_CODE), help="Each rollout's calls, in order.")
    parser.add_argument("--workers", type=int, default=2, help="Sandbox workers and pool threads (code_num_workers).")
    parser.add_argument("--repeats", type=int, default=5, help="Rounds timed per arm (default 5).")
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    for name in ("rollouts", "workers", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    results = run(args)
    if args.output is not None:
        from open_r1.utils.results_docs import save_results

        save_results(args.output, results)
    return results


if __name__ == "__main__":
    main()
