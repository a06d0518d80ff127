"""Benchmark: the project's `accuracy_reward` against a plain sequential grading loop, in one run.

    .venv/bin/python scripts/benchmarks/rewards.py [--data ../shared/data/math500.jsonl] [--generations 16]
    .venv/bin/python scripts/benchmarks/rewards.py --output docs/results/rewards/<name>.json   # keep the results
    .venv/bin/python scripts/benchmarks/rewards.py --write_docs docs/results/rewards/*.json   # the table, into docs/

Builds GRPO-shaped input from the MATH-500 answers: 16 completions per problem, half correct but written
differently from the gold (\\dfrac for \\frac, decimals for simple fractions, spacing, a trailing period
inside the reasoning), half wrong (other problems' answers). It then grades everything three times and prints completions per second for
- the sequential loop (upstream open-r1's approach, the issue's baseline): for each completion, parse the
  gold, parse the answer, `math_verify.verify` the pair, in the calling process, with no caches of ours
  (math-verify's own small LRU caches work as they do upstream). It parses with the project's rules
  (`parse_gold`, `parse_answer`: the TeX shorthands upstream grades 0.0 are read), so that the rewards can be
  compared one for one;
- the same loop with the project's cheap pre-check (`answers_match`: pairs that are clearly different
  numbers, a number against an interval, or expressions apart at two sample points skip verify's
  simplification), which shows how much of the gain is the pre-check and how much the pool;
- `accuracy_reward` (pre-check, worker pool fed in chunks, each distinct gold parsed once per call,
  identical answers verified once, each worker parsing a short answer once),
and whether all three produced identical rewards (which also checks the pre-check against plain verify on
4,000 wrong and 4,000 right answers). The machine may be shared, so it prints the load average before and after.
Without the data file it says so and exits with status 2; with rewards that differ, status 1. `--output` writes the
results (with date, commit, machine and load) as JSON; `--write_docs` writes the table of results files into
docs/benchmarks.md between this script's markers, so the page is never typed by hand.

Not covered: code rewards (see scripts/benchmarks for the sandbox's own benchmarks).
"""

import argparse
import json
import os
import re
import sys
import time
from fractions import Fraction
from pathlib import Path

from math_verify import verify

from open_r1.rewards import accuracy_reward
from open_r1.rewards.accuracy import _extract, prepare_gold
from open_r1.rewards.grading_worker import _seconds, answers_match, parse_answer, parse_gold
from open_r1.utils.launch import SHARED_DATA
from open_r1.utils.results_docs import results_markers, results_table_writer

DEFAULT_DATA = SHARED_DATA / "math500.jsonl"
BEGIN, END = results_markers("rewards.py")
BASELINE, PRE_CHECK, PROJECT = "sequential loop (upstream approach)", "sequential loop + pre-check", "accuracy_reward"


def equal_forms(answer: str) -> list[str]:
    """Ways to write `answer` that a correct grader must accept."""
    forms = [answer, answer.replace("\\frac", "\\dfrac"), answer.replace(" ", ""), " " + answer + " "]
    forms.append(answer.replace("\\left(", "(").replace("\\right)", ")"))
    simple_fraction = re.fullmatch(r"\\d?frac\{(\d+)\}\{(\d+)\}", answer)
    if simple_fraction and int(simple_fraction.group(2)) in (2, 4, 5, 8, 10, 20, 25):
        value = Fraction(int(simple_fraction.group(1)), int(simple_fraction.group(2)))
        forms.append(str(float(value)))
    if answer.isdigit():
        forms += [answer + ".0", "0" + answer]
    return forms


def build_inputs(rows: list[dict], generations: int) -> tuple[list[str], list[str]]:
    completions, golds = [], []
    answers = [row["answer"] for row in rows]
    for index, answer in enumerate(answers):
        forms = equal_forms(answer)
        wrong = [a for a in answers[index + 1 :] + answers[:index] if a.strip() != answer.strip()]
        for k in range(generations):
            if k % 2 == 0:
                boxed = forms[(k // 2) % len(forms)]
            else:
                boxed = wrong[k // 2]
            completions.append(
                f"<think>\nAttempt {k}: let me reason about problem {index} carefully.\n</think>\n"
                f"The final answer is $\\boxed{{{boxed}}}$."
            )
            golds.append(answer)
    return completions, golds


def sequential_rewards(
    completions: list[str], golds: list[str], timeout: float, project_pre_check: bool
) -> list[float | None]:
    rewards = []
    for completion, gold in zip(completions, golds):
        prepared = prepare_gold(gold)
        gold_parsed = parse_gold(prepared, timeout) if prepared else []
        if not gold_parsed:
            rewards.append(None)
            continue
        extracted = _extract(completion)
        if not extracted:
            rewards.append(0.0)
        elif project_pre_check:
            rewards.append(1.0 if answers_match(gold_parsed, *extracted, timeout) else 0.0)
        else:
            answer_parsed = parse_answer(*extracted, timeout)
            matched = bool(answer_parsed) and verify(gold_parsed, answer_parsed, timeout_seconds=_seconds(timeout))
            rewards.append(1.0 if matched else 0.0)
    return rewards


def run(rows: list[dict], generations: int) -> dict:
    """Grades the inputs of `rows` three ways and returns what the table needs: completions per second of each,
    the ratios, whether the rewards are identical, and the verdicts on the equal forms and the wrong answers."""
    from open_r1.utils.provenance import provenance_record, with_end_load

    completions, golds = build_inputs(rows, generations)
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    settings = {
        "problems": len(rows),
        "generations": generations,
        "completions": len(completions),
        **provenance_record(),
    }
    print(f"{len(rows)} problems x {generations} completions = {len(completions)}; {os.cpu_count()} CPUs")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*settings["machine"]["load_average_at_start"]))

    accuracy_reward(conversational[:2], solution=golds[:2])  # start the worker processes outside the timing
    start = time.perf_counter()
    pooled = []
    # GRPO grades one batch per step; a call per 64 problems keeps the benchmark step-shaped.
    batch = 64 * generations
    for offset in range(0, len(completions), batch):
        pooled += accuracy_reward(conversational[offset : offset + batch], solution=golds[offset : offset + batch])
    pooled_seconds = time.perf_counter() - start

    timings = {}
    sequential = {}
    for name, pre_check in ((BASELINE, False), (PRE_CHECK, True)):
        start = time.perf_counter()
        sequential[name] = sequential_rewards(completions, golds, timeout=5.0, project_pre_check=pre_check)
        timings[name] = time.perf_counter() - start
    timings[PROJECT] = pooled_seconds

    n = len(completions)
    baseline = timings[BASELINE]
    for name, seconds in timings.items():
        print(
            f"{name:38s}: {n / seconds:8.1f} completions/s ({seconds:.1f} s), {baseline / seconds:.2f}x the upstream loop"
        )
    print(f"speed-up        : {baseline / pooled_seconds:.2f}x (accuracy_reward vs the upstream-approach loop)")
    mismatches = sorted({i for rewards in sequential.values() for i in range(n) if pooled[i] != rewards[i]})
    print(f"identical rewards: {not mismatches} ({len(mismatches)} differ)")
    settings = with_end_load(settings)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*settings["machine"]["load_average_at_end"]))
    correct = sum(1 for i in range(n) if i % 2 == 0 and pooled[i] == 1.0)
    wrong = sum(1 for i in range(n) if i % 2 == 1 and pooled[i] == 0.0)
    print(f"equal forms graded 1.0: {correct}/{n // 2}; wrong answers graded 0.0: {wrong}/{n - n // 2}")
    for i in mismatches[:10]:
        print(
            "  differs:",
            repr(completions[i][-80:]),
            "gold",
            repr(golds[i]),
            pooled[i],
            [r[i] for r in sequential.values()],
        )
    return {
        "settings": settings,
        "completions_per_second": {name: n / seconds for name, seconds in timings.items()},
        "ratio": baseline / pooled_seconds,
        "pre_check_ratio": baseline / timings[PRE_CHECK],
        "rewards_differing": len(mismatches),
        "equal_forms_graded_1": correct,
        "wrong_answers_graded_0": wrong,
    }


def docs_section(runs: list[tuple[dict, Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "completions", "baseline", "loop + pre-check"]
    header += ["`accuracy_reward`", "ratio", "rewards identical", "results"]
    rows = []
    for results, path in runs:
        settings, speed = results["settings"], results["completions_per_second"]
        differing = results["rewards_differing"]
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        rows.append(
            [
                *provenance_cells(settings, f"{start[0]:.2f}"),
                f"{settings['completions']:,}",
                f"{speed[BASELINE]:,.0f} completions/s",
                f"{speed[PRE_CHECK]:,.0f} ({results['pre_check_ratio']:.2f}×)",
                f"{speed[PROJECT]:,.0f} completions/s",
                f"**{results['ratio']:.2f}×**",
                f"{'yes' if not differing else '**no**'} ({differing} of {settings['completions']:,} differ)",
                results_cell(path),
            ]
        )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MATH-500 as JSONL")
    parser.add_argument("--generations", type=int, default=16, help="completions scored per problem")
    parser.add_argument("--problems", type=int, default=None, help="use only the first N problems")
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return 0
    if not args.data.exists():
        print(f"MATH-500 not found at {args.data}; pass --data path/to/math500.jsonl", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: args.problems] if args.problems else rows
    results = run(rows, args.generations)
    from open_r1.utils.results_docs import report_results

    report_results(results, args.output, docs_section)
    return 0 if not results["rewards_differing"] else 1


if __name__ == "__main__":
    sys.exit(main())
