"""What a program that replays a statement's examples earns from the code rewards: judged without the prompt (every
test, as upstream judges) and with it (as in training, where TRL passes the prompts and the tests the prompt shows
are dropped), in one run over the same problems.

    python scripts/benchmarks/example_replay.py                  # the 226 CodeContests problems of ../shared/data
    python scripts/benchmarks/example_replay.py --limit 20 --workers 1
    python scripts/benchmarks/example_replay.py --output docs/results/example_replay/<name>.json   # keep the results
    python scripts/benchmarks/example_replay.py --write_docs docs/results/example_replay/*.json    # the table, into docs/

Each problem's replay program is built from its statement alone: the examples as Codeforces writes them ("Input",
its lines, two blank lines, "Output", its lines), the example's output printed for an input equal to an example's
(blanks aside), the most common example output for any other input. Both arms run it on the local sandbox with
`code_reward` (the fraction of tests passed) and `binary_code_reward`; the script prints their means, the rows the
binary reward pays, and the tests the prompt drops (`open_r1.rewards.code.ShownInPrompt`).
Not covered: statements that write their examples otherwise (their program replays nothing), C++ programs.
"""

import argparse
import collections
import json
import pathlib
import re

from open_r1.utils.launch import SHARED_DATA
from open_r1.utils.results_docs import results_markers, results_table_writer

DATA = SHARED_DATA / "code_contests_py.jsonl"
BEGIN, END = results_markers("example_replay.py")
CODEFORCES_EXAMPLE = re.compile(r"\nInput\n\n(.*?)\n\n\nOutput\n\n(.*?)(?=\n\n\n|\n\nNote\n|\Z)", re.S)


def replay_program(statement: str) -> str:
    """A Python program that prints the statement's examples' outputs from a table, solving nothing."""
    examples = CODEFORCES_EXAMPLE.findall(statement)
    table = {" ".join(given.split()): expected for given, expected in examples}
    guess = collections.Counter(expected for _, expected in examples).most_common(1)
    fallback = guess[0][0] if guess else "0"
    return f"import sys\nprint({table!r}.get(' '.join(sys.stdin.read().split()), {fallback!r}))\n"


def measure(problems: list[dict], sandbox) -> dict:
    """Both arms' rewards for every problem's replay program, and the tests the prompts drop."""
    from open_r1.rewards.code import NothingUnseen, ShownInPrompt, as_test_cases, get_code_reward

    completions = [
        [{"role": "assistant", "content": f"```python\n{replay_program(p['problem'])}```"}] for p in problems
    ]
    infos = [{"language": "python", "test_cases": p["tests"]} for p in problems]
    prompts = [[{"role": "user", "content": p["problem"]}] for p in problems]
    arms = {}
    for arm, given in (("without_prompt", {}), ("with_prompt", {"prompts": prompts})):
        fraction = get_code_reward(sandbox)(completions, verification_info=infos, **given)
        binary = get_code_reward(sandbox, binary=True)(completions, verification_info=infos, **given)
        judged = [reward for reward in fraction if reward is not None]
        arms[arm] = {
            "rows_judged": len(judged),
            "mean_code_reward": sum(judged) / len(judged) if judged else None,
            "rows_paid_by_binary_code_reward": sum(reward == 1.0 for reward in binary),
        }
    tests = sum(len(p["tests"]) for p in problems)
    kept = 0
    for p in problems:
        try:
            kept += len(as_test_cases(p["tests"], p["id"], ShownInPrompt(p["problem"])))
        except NothingUnseen:
            pass  # the prompt shows every test: the rewards give the row None

    return {"problems": len(problems), "tests": tests, "tests_dropped_with_prompt": tests - kept, "arms": arms}


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "problems (tests)", "tests the prompt drops", "judged"]
    header += ["mean code_reward", "rows binary_code_reward pays", "results"]
    rows = []
    for results, path in runs:
        figures = results["figures"]
        start = read_provenance(results["settings"])["machine"]["load_average_at_start"]
        for arm, label in (("without_prompt", "without the prompt"), ("with_prompt", "with the prompt")):
            numbers = figures["arms"][arm]
            rows.append(
                [
                    *provenance_cells(results["settings"], f"{start[0]:.2f}"),
                    f"{figures['problems']} ({figures['tests']:,})",
                    f"{figures['tests_dropped_with_prompt']:,}",
                    label,
                    f"{numbers['mean_code_reward']:.3f}",
                    f"{numbers['rows_paid_by_binary_code_reward']}",
                    results_cell(path),
                ]
            )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.usage import ArgumentParser
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=pathlib.Path, default=DATA, help="CodeContests JSONL (id, problem, tests).")
    parser.add_argument("--limit", type=int, help="Only the first N problems.")
    parser.add_argument("--workers", type=int, default=2, help="Programs the local sandbox runs at once.")
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (../shared/data/code_contests_py.jsonl, or give one)")
    from open_r1.sandbox import LocalSandbox
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import report_results

    with open(args.data, encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle][: args.limit]
    settings = {"data": str(args.data), "workers": args.workers, **provenance_record()}
    with LocalSandbox(num_workers=args.workers) as sandbox:
        figures = measure(problems, sandbox)
    results = {"settings": with_end_load(settings), "figures": figures}
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    from open_r1.usage import exit_on_usage_error

    with exit_on_usage_error("example_replay.py"):
        main()
