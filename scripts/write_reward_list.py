"""Writes the README's list of reward names from the registry, so the list cannot drift from the code.

    python scripts/write_reward_list.py           # rewrites the block between the markers in README.md
    python scripts/write_reward_list.py --check   # exit status 1 (and says so) when the README's block is stale

One line per name of `open_r1.rewards.REWARD_FUNCS_REGISTRY`, in its order: the name, the dataset columns it reads
(`open_r1.startup_checks.REWARD_COLUMNS`, the ones grpo.py checks before the model loads) and what it scores
(`open_r1.rewards.REWARD_DESCRIPTIONS`). tests/test_readme.py fails when the README's block differs from this one.
Not covered: the rewards' parameters (see `python src/open_r1/grpo.py --help`).
"""

import argparse
import pathlib
import sys

from open_r1.rewards import REWARD_DESCRIPTIONS, REWARD_FUNCS_REGISTRY
from open_r1.startup_checks import REWARD_COLUMNS

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- reward list: written by scripts/write_reward_list.py from open_r1.rewards -->"
END = "<!-- end of reward list -->"


def columns_read(name: str) -> str:
    """` (reads `solution` or `answer`)`, or nothing for a reward that reads only the completions."""
    needs = [" or ".join(f"`{column}`" for column in alternatives) for alternatives in REWARD_COLUMNS.get(name, ())]
    return f" (reads {' and '.join(needs)})" if needs else ""


def reward_list() -> str:
    """The block, markers included."""
    missing = sorted(set(REWARD_FUNCS_REGISTRY) - set(REWARD_DESCRIPTIONS))
    if missing:
        raise SystemExit(f"open_r1.rewards.REWARD_DESCRIPTIONS has no line for {missing}")
    lines = [f"- `{name}`{columns_read(name)}: {REWARD_DESCRIPTIONS[name]}" for name in REWARD_FUNCS_REGISTRY]
    return "\n".join([BEGIN, *lines, END])


def with_reward_list(text: str) -> str:
    """`text` (a README) with its block between the markers replaced by `reward_list()`."""
    from open_r1.utils.results_docs import between_markers

    return between_markers(text, BEGIN, END, reward_list(), "README.md", "the reward list")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="Only say whether README.md's block is up to date.")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    updated = with_reward_list(text)
    if args.check:
        if updated != text:
            print("README.md's reward list is stale: run python scripts/write_reward_list.py", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        README.write_text(updated, encoding="utf-8")
        print("README.md: reward list written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
