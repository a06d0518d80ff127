#!/usr/bin/env python
"""Benchmark by replay: decode steps per GRPO batch of tool rollouts, TRL's rounds against decoding ahead in chunks.

A padded batch on a GPU costs about the same per decode step whatever its rows (a small model is bound by kernel
launches, not work), so a GRPO step's decoding costs its decode steps: the forward passes made one after another.
This replays real tool rollouts (an offline evaluation's details.jsonl with `--tools python`: each rollout's
assistant turns and tool results, counted in tokens with the model's tokenizer) through the two schedules, for
batches of `--rows` rollouts drawn at random, without a model:
- `rounds`: TRL 1.16's loop with the project's `ToolRoundBudget`: each round decodes until its longest row's turn
  ends, at most the largest budget any of its rows has left;
- `ahead_<C>`: `open_r1.tools.rollouts_ahead.decode_ahead` itself (the trainer's scheduler, with the turns replayed
  in place of a model), at most C tokens per generate call.
Reported per row count: mean decode steps and generate calls per batch, and their ratios to `rounds`. A generate
call also re-reads every row's context (on a GPU, a few decode steps' time at 128 rows); the calls column says how
many. Calibrate against the trainer: `scripts/benchmarks/grpo_throughput.py` measures both schedules' decode steps
(`decode_steps_per_step`) on real steps.

    python -m open_r1.evaluate ... --tools python --output_dir data/evals/rollouts   # sampled tool rollouts
    python scripts/benchmarks/tool_rollout_schedule.py --details data/evals/rollouts/details.jsonl \\
        --model data/gsm8k-cpu-sft48/sft-tools --rows 16 128 --chunks 8 16 32 64 --output /tmp/schedule.json
    python scripts/benchmarks/tool_rollout_schedule.py --write_docs docs/results/tool_rollout_schedule/*.json

Not covered: tools' time (run beside decoding in both schedules), prefill's cost, vLLM.
"""

import argparse
import json
import pathlib
import random
import statistics
import sys
import time
from concurrent.futures import Future

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "src"))

DOCS_PAGE = REPO_ROOT / "docs" / "benchmarks.md"
BEGIN, END_MARKER = (
    "<!-- tool_rollout_schedule.py results: begin -->",
    "<!-- tool_rollout_schedule.py results: end -->",
)
END = -1  # the end-of-turn token of the replayed turns
FILLER, RESULT = 0, -2


def rollout_turns(tokenizer, messages: list[dict]) -> list[tuple[int, int]]:
    """(tokens of each assistant turn, its end-of-turn token included; tokens TRL appends after it: tool results and
    the next turn's header, 0 after the last turn) of one rollout."""
    from open_r1.tools.rollout import tool_suffix_ids

    prefix = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    turns, index = [], 0
    while index < len(messages):
        message = messages[index]
        with_header = tokenizer.apply_chat_template(
            prefix, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        whole = tokenizer.apply_chat_template([*prefix, message], tokenize=True, return_dict=False)
        ends = [i for i, token in enumerate(whole) if token == tokenizer.eos_token_id]
        turn = (ends[-1] + 1 if ends else len(whole)) - len(with_header)
        tools = []
        index += 1
        while index < len(messages) and messages[index]["role"] == "tool":
            tools.append(messages[index])
            index += 1
        turns.append((turn, len(tool_suffix_ids(tokenizer, tools)) if tools else 0))
        prefix = [*prefix, message, *tools]
    return turns


def rounds_steps(batch: list[list[tuple[int, int]]], budget: int) -> tuple[int, int]:
    """Decode steps and generate calls of TRL's rounds under ToolRoundBudget for one batch."""
    used = [0] * len(batch)
    active, turn, steps, calls = list(range(len(batch))), 0, 0, 0
    while active:
        left = {row: budget - used[row] for row in active}
        lengths = {row: min(batch[row][turn][0], left[row]) for row in active}
        # A row decodes past its own budget (cut afterwards) until every row's turn has ended or the largest budget.
        steps += min(max(batch[row][turn][0] for row in active), max(left.values()))
        calls += 1
        still = []
        for row in active:
            used[row] += lengths[row]
            suffix = batch[row][turn][1]
            if turn + 1 < len(batch[row]) and suffix and used[row] + suffix <= budget:
                used[row] += suffix
                still.append(row)
        active, turn = still, turn + 1
    return steps, calls


def ahead_steps(batch: list[list[tuple[int, int]]], budget: int, chunk: int) -> tuple[int, int]:
    """Decode steps and generate calls of decode_ahead for one batch, the turns replayed as a model's. A row's prompt
    is its index; a turn is FILLER tokens and END; tool results are FILLER tokens and RESULT, so a context's RESULT
    tokens count its rounds."""
    from open_r1.tools.rollouts_ahead import decode_ahead

    widths = []

    def generate(contexts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        out = []
        for context in contexts:
            row, turn = context[0], context.count(RESULT)
            start = max((i for i, token in enumerate(context) if token == RESULT), default=0) + 1
            tokens = [FILLER] * (batch[row][turn][0] - 1) + [END]
            so_far = len(context) - start
            out.append(tokens[so_far : so_far + max_new_tokens])
        widths.append(max(map(len, out)))  # generate stops once every row has ended its turn
        return out

    def turn_calls(row: int, context: list[int], turn: list[int]) -> list[str]:
        index = context.count(RESULT)
        return [str(row)] if index + 1 < len(batch[row]) and batch[row][index][1] else []

    def ended() -> Future:
        future = Future()
        future.set_result(None)
        return future

    def tool_suffix(answers: list[str]) -> list[int]:
        (row,) = map(int, answers)
        return [FILLER] * (suffix_of[row] - 1) + [RESULT]

    suffix_of = {}

    def run_calls(row: int, codes: list[str]) -> list[Future]:
        return [ended()]

    def call_answers(row: int, futures: list[Future]) -> list[str]:
        # The rounds this row has run are those of its rollout so far: the next suffix is its current turn's.
        suffix_of[row] = batch[row][rounds_run[row]][1]
        rounds_run[row] += 1
        return [str(row)]

    rounds_run = [0] * len(batch)
    decode_ahead(
        [[row] for row in range(len(batch))],
        generate=generate,
        chunk_tokens=chunk,
        max_completion_length=budget,
        max_model_len=1 << 30,
        end_ids={END},
        max_rounds=1 << 30,
        turn_calls=turn_calls,
        run_calls=run_calls,
        call_answers=call_answers,
        tool_suffix=tool_suffix,
    )
    return sum(widths), len(widths)


def results_section(results: dict, path: pathlib.Path) -> str:
    """One results file on the page: what was replayed, then each schedule's figures per batch size."""
    from open_r1.demo.report import markdown_table

    settings = results["settings"]
    line = (
        f"Commit {settings['commit']}, {settings['date']}: {results['rollouts']} rollouts of {settings['details']} "
        f"({results['tool_rounds_per_rollout']:.2f} tool rounds each), tokens of {settings['model']}, budget "
        f"{settings['max_completion_length']}, {settings['batches']} batches per size, seed {settings['seed']} "
        f"(`{path.as_posix()}`)"
    )
    rows = [
        [
            size,
            name.replace("ahead_", "ahead, chunks of "),
            f"{figure['decode_steps']:,.1f}",
            f"{figure['generate_calls']:.1f}",
            f"{figure['decode_steps_to_rounds']:.2f}",
        ]
        for size, figures in results["rows"].items()
        for name, figure in figures.items()
    ]
    header = ["rows", "schedule", "decode steps per batch", "generate calls", "× rounds"]
    return line + "\n\n" + markdown_table(header, rows)


def write_docs(paths: list[pathlib.Path], page: pathlib.Path = DOCS_PAGE) -> None:
    """Replaces what lies between the page's markers with the tables of `paths`, in the order given."""
    from open_r1.demo.report import read_results_files, write_between_markers

    runs = read_results_files(paths, REPO_ROOT)
    body = "\n\n".join(results_section(results, shown) for results, shown in runs)
    write_between_markers(page, BEGIN, END_MARKER, body)
    print(f"wrote {len(paths)} results into {page}", flush=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--details", help="An offline evaluation's details.jsonl, with --tools python.")
    parser.add_argument("--model", help="The model folder whose tokenizer counts the tokens.")
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 128], help="Rollouts per batch.")
    parser.add_argument("--chunks", type=int, nargs="+", default=[16, 32, 64], help="Tokens per generate call.")
    parser.add_argument("--max_completion_length", type=int, default=512)
    parser.add_argument("--batches", type=int, default=200, help="Batches drawn per row count.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None)
    parser.add_argument("--write_docs", type=pathlib.Path, nargs="+", help="Results files to write into the docs.")
    args = parser.parse_args(argv)
    if args.write_docs:
        write_docs(args.write_docs)
        return {}
    if args.details is None or args.model is None:
        parser.error("--details and --model are required (unless --write_docs)")

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    lines = pathlib.Path(args.details).read_text(encoding="utf-8").splitlines()
    rollouts = [rollout_turns(tokenizer, json.loads(line)["completion"]) for line in lines if line.strip()]
    calls = statistics.mean(sum(1 for _, suffix in turns if suffix) for turns in rollouts)
    settings = {key: value for key, value in vars(args).items() if key not in ("output", "write_docs")}
    from open_r1.demo.pipeline import git_commit

    settings.update(commit=git_commit(), date=time.strftime("%Y-%m-%d"))
    results = {"settings": settings, "rollouts": len(rollouts), "tool_rounds_per_rollout": calls, "rows": {}}
    rng = random.Random(args.seed)
    for rows in args.rows:
        batches = [[rng.choice(rollouts) for _ in range(rows)] for _ in range(args.batches)]
        schedules = {"rounds": [rounds_steps(batch, args.max_completion_length) for batch in batches]}
        for chunk in args.chunks:
            schedules[f"ahead_{chunk}"] = [ahead_steps(batch, args.max_completion_length, chunk) for batch in batches]
        figures = {
            name: {
                "decode_steps": statistics.mean(steps for steps, _ in runs),
                "generate_calls": statistics.mean(calls for _, calls in runs),
            }
            for name, runs in schedules.items()
        }
        for figure in figures.values():
            figure["decode_steps_to_rounds"] = figure["decode_steps"] / figures["rounds"]["decode_steps"]
        results["rows"][str(rows)] = figures
        for name, figure in figures.items():
            print(
                f"{rows:4d} rows  {name:9s}  {figure['decode_steps']:7.1f} decode steps  "
                f"{figure['generate_calls']:5.1f} calls  x{figure['decode_steps_to_rounds']:.2f}"
            )
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
