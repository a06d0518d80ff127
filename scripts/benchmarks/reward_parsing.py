"""Benchmark: every reward's time against the completion's length on adversarial text, to show it grows linearly.

    PYTHONPATH=src python scripts/benchmarks/reward_parsing.py                 # 10k, 100k and 1M characters
    PYTHONPATH=src python scripts/benchmarks/reward_parsing.py --sizes 10000 100000 --budget 5

For each reward of `open_r1.rewards.REWARD_FUNCS_REGISTRY` (built with `GRPOScriptArguments` defaults) and for
`extract_code` / `extract_answer`, it grades one completion of each adversarial shape below at each size and prints
the seconds taken (best of `--repeats`), then the ratio between consecutive sizes: about 10 when the time is linear
in the length, 100 when quadratic ("~" where the shorter run took under a millisecond, too little to compare). A
(reward, shape) pair that takes longer than `--budget` seconds at one size is not run at the larger ones ("-"). Shapes: a run of backticks; a flood of code-fence openings; answer blocks repeated
by a truncated completion; unclosed tags; the format's separators repeated; braces opened and never closed;
a flood of `\\boxed{`; step markers; a huge boxed sum.

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
from open_r1.rewards.ioi import get_ioi_code_reward
from open_r1.sandbox.base import CodeExecutionProvider, ProgramResult, TestOutcome, Verdict

THINK, SEPARATOR = "<think>\n", "\n</think>\n<answer>\n"


def repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


SHAPES = {
    "backtick run": lambda n: "`" * n,
    "fence openings": lambda n: repeat("```python\n", n),
    "truncated answer blocks": lambda n: THINK + repeat("x" + SEPARATOR + "```python\nprint(1)\n```\n", n),
    "unclosed tags": lambda n: repeat("<think>\n<answer>\n", n),
    "format separators": lambda n: THINK + repeat(SEPARATOR, n) + "\n</answer>x",
    "open braces": lambda n: "\\boxed{" + "{" * n,
    "boxed flood": lambda n: repeat("\\boxed{", n),
    "step markers": lambda n: repeat("Step 1", n),
    "huge boxed sum": lambda n: "\\boxed{" + repeat("1+", n) + "1}",
}


class InstantProvider(CodeExecutionProvider):
    """Passes every test of every submission without running it."""

    def execute(self, submissions, test_batch_size=1):
        return [ProgramResult([TestOutcome(Verdict.PASSED) for _ in s.tests]) for s in submissions]


def build_rewards() -> dict:
    args = GRPOScriptArguments(dataset_name="benchmark")
    rewards = {}
    for name, build in REWARD_FUNCS_REGISTRY.items():
        if name not in CODE_REWARD_NAMES:  # the code rewards are built below, on an instant provider
            rewards[name] = build(args)
    instant = InstantProvider()
    rewards["code"] = code_rewards.get_code_reward(instant)
    rewards["binary_code"] = code_rewards.get_code_reward(instant, binary=True)
    rewards["ioi_code"] = get_ioi_code_reward(instant, language="python")
    rewards["cf_code"] = get_cf_code_reward(instant, language="python")
    rewards["extract_code"] = lambda completions, **columns: [code_rewards.extract_code(completions[0])]
    rewards["extract_answer"] = lambda completions, **columns: [extract_answer(completions[0])]
    return rewards


def columns(completion: str) -> dict:
    tests = [{"input": "1", "output": "1"}]
    info = {"language": "python", "test_cases": tests, "subtasks": [{"score": 1, "test_cases": tests}]}
    return {
        "solution": ["2"],
        "verification_info": [info],
        "official_tests": [tests],
        "completion_ids": [list(range(len(completion) // 4))],
    }


def best_time(reward, completion: str, repeats: int) -> float:
    kwargs = columns(completion)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reward(prompts=["Solve it."], completions=[completion], **kwargs)  # as TRL's GRPOTrainer calls it
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
