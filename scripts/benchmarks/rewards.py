"""Benchmark: the project's `accuracy_reward` against a plain sequential grading loop, in one run.

    .venv/bin/python scripts/benchmarks/rewards.py [--data ../shared/data/math500.jsonl] [--generations 16]

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
Without the data file it says so and exits with status 2.

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

DEFAULT_DATA = SHARED_DATA / "math500.jsonl"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--generations", type=int, default=16)
    parser.add_argument("--problems", type=int, default=None, help="use only the first N problems")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"MATH-500 not found at {args.data}; pass --data path/to/math500.jsonl", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: args.problems] if args.problems else rows
    completions, golds = build_inputs(rows, args.generations)
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    print(f"{len(rows)} problems x {args.generations} completions = {len(completions)}; {os.cpu_count()} CPUs")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    accuracy_reward(conversational[:2], solution=golds[:2])  # start the worker processes outside the timing
    start = time.perf_counter()
    pooled = []
    # GRPO grades one batch per step; a call per 64 problems keeps the benchmark step-shaped.
    batch = 64 * args.generations
    for offset in range(0, len(completions), batch):
        pooled += accuracy_reward(conversational[offset : offset + batch], solution=golds[offset : offset + batch])
    pooled_seconds = time.perf_counter() - start

    timings = {}
    sequential = {}
    for name, pre_check in (("sequential loop (upstream approach)", False), ("sequential loop + pre-check", True)):
        start = time.perf_counter()
        sequential[name] = sequential_rewards(completions, golds, timeout=5.0, project_pre_check=pre_check)
        timings[name] = time.perf_counter() - start
    timings["accuracy_reward"] = pooled_seconds

    n = len(completions)
    baseline = timings["sequential loop (upstream approach)"]
    for name, seconds in timings.items():
        print(
            f"{name:38s}: {n / seconds:8.1f} completions/s ({seconds:.1f} s), {baseline / seconds:.2f}x the upstream loop"
        )
    print(f"speed-up        : {baseline / pooled_seconds:.2f}x (accuracy_reward vs the upstream-approach loop)")
    mismatches = sorted({i for rewards in sequential.values() for i in range(n) if pooled[i] != rewards[i]})
    print(f"identical rewards: {not mismatches} ({len(mismatches)} differ)")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
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
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
