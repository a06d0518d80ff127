"""Benchmark: every reward's time against the completion's length on adversarial text, to show it grows linearly.

    PYTHONPATH=src python scripts/benchmarks/reward_parsing.py                 # 10k, 100k and 1M characters
    PYTHONPATH=src python scripts/benchmarks/reward_parsing.py --sizes 10000 100000 --budget 5

For each reward of `open_r1.rewards.REWARD_FUNCS_REGISTRY` (built with `GRPOScriptArguments` defaults) and for
`extract_code` / `extract_answer`, it grades one completion of each adversarial shape below at each size and prints
the seconds taken (best of `--repeats`), then the ratio between consecutive sizes: about 10 when the time is linear
in the length, 100 when quadratic ("~" where the shorter run took under a millisecond, too little to compare). A
(reward, shape) pair that takes longer than `--budget` seconds at one size is not run at the larger ones ("-"). The
shapes (`SHAPES`: runs of backticks, code fences opened and never closed, answer blocks repeated by a truncated
completion, unclosed tags, the format's separators repeated, braces opened and never closed, floods of `\\boxed{`,
step markers, huge sums, combining marks out of order and in precomposed signs) are also what
tests/rewards/test_linear_time.py grades in batches under a time limit.

The code rewards run on an instant provider that passes every test without running anything, so that what is
timed is the completion's parsing, not the programs (see scripts/benchmarks/sandbox.py for those). The accuracy
rewards (accuracy, cosine, length) include their round trip to the grading workers, started before timing; an
answer longer than `accuracy.MAX_ANSWER_CHARS` is graded 0.0 without math-verify, whose own cost on a short
answer is bounded by `reward_timeout_seconds`, not by the completion's length.

Not covered: `repetition_language="zh"` (jieba's segmentation), which the default recipe does not use.
"""

import argparse
import sys
import time

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import CODE_REWARD_NAMES, REWARD_FUNCS_REGISTRY, extract_answer
from open_r1.rewards import code as code_rewards
from open_r1.rewards.codeforces import get_cf_code_reward
from open_r1.rewards.format import THINK_OPENING, THINK_TO_ANSWER
from open_r1.rewards.ioi import get_ioi_code_reward
from open_r1.sandbox.base import CodeExecutionProvider, ProgramResult, TestOutcome, Verdict


def repeated(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


# Hostile completions of about `length` characters, the `k`-th of a batch (tests/rewards/test_linear_time.py grades
# batches of them): they differ with `k`, since identical completions would be graded once and hide the cost.
SHAPES = {
    "backtick run": lambda length, k=0: "`" * (length - k),
    "fence opened, then backticks": lambda length, k=0: "```python" + "`" * (length - k),
    "fence opened, no line break": lambda length, k=0: "```python" + " " * (length - k),
    "fence never closed": lambda length, k=0: "```python\n" + "x" * (length - k),
    "fence openings": lambda length, k=0: repeated("```python\n", length)[k:],
    "truncated answer blocks": lambda length, k=0: (
        THINK_OPENING + repeated(f"r{k}" + THINK_TO_ANSWER + "```python\nprint(1)\n```\n", length)
    ),
    "think-answer seams": lambda length, k=0: THINK_OPENING + repeated(THINK_TO_ANSWER, length)[k:] + "\n</answer>x",
    "answer closings not at the end": lambda length, k=0: (
        THINK_OPENING + repeated(THINK_TO_ANSWER + "\n</answer>x", length)[k:]
    ),
    "unclosed tags": lambda length, k=0: repeated("<think>\n<answer>\n", length)[k:],
    "open braces": lambda length, k=0: "\\boxed{" + "{" * (length - k),
    "escaped braces": lambda length, k=0: "\\boxed{" + repeated("\\{", length)[k:],
    "boxed flood": lambda length, k=0: repeated("\\boxed{", length)[k:],
    "huge boxed sum": lambda length, k=0: f"\\boxed{{{k}+" + repeated("1+", length) + "1}",
    "huge answer block": lambda length, k=0: f"<answer>{k}+" + repeated("x^2+", length) + "1</answer>",
    "step markers": lambda length, k=0: repeated("Step 1", length)[k:],
    # NFKC reorders a run of combining marks by insertion sort: two classes out of order are its worst case.
    "combining marks out of order": lambda length, k=0: "a" + "\u0301" * (length // 2 - k) + "\u0316" * (length // 2),
    "marks in precomposed signs": lambda length, k=0: "a" + "\u0f73\u0f75\u0f81" * ((length - k) // 3),
    # Unseen characters past U+FFFF (private use, tags) between letters: the repetition penalty drops each.
    "unseen astral characters": lambda length, k=0: "a\U00100001b\U000e0041" * ((length - k) // 4),
    "trailing whitespace": lambda length, k=0: (
        THINK_OPENING + THINK_TO_ANSWER + "\n</answer>" + " \t\n" * (length // 3 - k) + "x"
    ),
}


class PassEverything(CodeExecutionProvider):
    """Passes every test without running anything: the code rewards' time is then their parsing."""

    def execute(self, submissions, test_batch_size=1):
        return [ProgramResult([TestOutcome(Verdict.PASSED) for _ in s.tests]) for s in submissions]


def build_rewards() -> dict:
    """Every reward of the registry with `GRPOScriptArguments` defaults, the code rewards on `PassEverything`, and
    `extract_code` / `extract_answer` as rewards of one value per completion."""
    args = GRPOScriptArguments(dataset_name="benchmark")
    rewards = {name: build(args) for name, build in REWARD_FUNCS_REGISTRY.items() if name not in CODE_REWARD_NAMES}
    provider = PassEverything()
    rewards["code"] = code_rewards.get_code_reward(provider)
    rewards["binary_code"] = code_rewards.get_code_reward(provider, binary=True)
    rewards["ioi_code"] = get_ioi_code_reward(provider, language="python")
    rewards["cf_code"] = get_cf_code_reward(provider, language="python")
    rewards["extract_code"] = lambda completions, **columns: [code_rewards.extract_code(c) for c in completions]
    rewards["extract_answer"] = lambda completions, **columns: [extract_answer(c) for c in completions]
    return rewards


def trl_columns(completions: list[str]) -> dict:
    """What TRL passes besides the completions: the prompts, token ids and the dataset columns the rewards read."""
    tests = [{"input": "1", "output": "1"}]
    info = {"language": "python", "test_cases": tests, "subtasks": [{"score": 1, "test_cases": tests}]}
    count = len(completions)
    return {
        "prompts": ["Solve it."] * count,
        "completion_ids": [list(range(len(c) // 4)) for c in completions],
        "solution": ["2"] * count,
        "verification_info": [info] * count,
        "official_tests": [tests] * count,
    }


def best_time(reward, completion: str, repeats: int) -> float:
    columns = trl_columns([completion])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reward(completions=[completion], **columns)  # as TRL's GRPOTrainer calls it
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="completion lengths, in characters"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the best time counts")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds past which larger sizes are skipped")
    parser.add_argument("--rewards", nargs="+", help="only these rewards (default: all)")
    args = parser.parse_args()

    rewards = build_rewards()
    unknown = set(args.rewards or []) - set(rewards)
    if unknown:
        parser.error(f"unknown --rewards {sorted(unknown)}; known: {sorted(rewards)}")
    rewards = {name: reward for name, reward in rewards.items() if not args.rewards or name in args.rewards}
    build_rewards()["accuracy"](["\\boxed{2}"], solution=["2"])  # start the grading workers outside the timings
    sizes = sorted(args.sizes)
    header = f"{'reward':<26}{'shape':<26}" + "".join(f"{size:>11,}" for size in sizes) + "   ratios"
    print(header)
    print("-" * len(header))
    worst = {}
    for name, reward in rewards.items():
        for shape, build in SHAPES.items():
            times = []
            for size in sizes:
                if times and times[-1] > args.budget:
                    break
                times.append(best_time(reward, build(size), args.repeats))
            cells = "".join(f"{t:>11.4f}" for t in times) + "".join(f"{'-':>11}" for _ in sizes[len(times) :])
            # Below a millisecond, timer and allocator noise swamps the ratio: printed as "~".
            ratios = [f"{b / a:6.1f}" if a >= 1e-3 else "     ~" for a, b in zip(times, times[1:])]
            print(f"{name:<26}{shape:<26}{cells}   " + " ".join(ratios), flush=True)
            for size, seconds in zip(sizes, times):
                worst[size] = max(worst.get(size, 0.0), seconds)
    print()
    for size in sizes:
        print(f"slowest reward at {size:>9,} characters: {worst.get(size, float('nan')):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
