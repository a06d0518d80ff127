#!/usr/bin/env python
"""Benchmark by replay: what a batch of tool rollouts costs to decode, TRL's rounds against decoding ahead in chunks,
and the offline evaluator's rounds against rows joining as others end.

A padded batch on a GPU costs about the same per decode step whatever its rows (a small model is bound by kernel
launches, not work), so a GRPO step's decoding costs its decode steps: the forward passes made one after another.
Each generate call also reads every row's context again (the prompt and the rollout so far, left-padded to the
longest: transformers' generate keeps no cache between calls), which costs per token. This replays real tool
rollouts (an offline evaluation's details.jsonl with `--tools python`: each rollout's prompt, assistant turns and
tool results, counted in tokens with the model's tokenizer) through the schedules, without a model:
- `rounds`: TRL 1.16's loop with the project's `ToolRoundBudget`, for batches of `--rows` rollouts drawn at random:
  each round decodes until its longest row's turn ends, at most the largest budget any of its rows has left;
- `ahead_<C>`: `open_r1.tools.rollouts_ahead.decode_ahead` itself (the trainer's scheduler, with the turns replayed
  in place of a model), at most C tokens per generate call;
- with `--evaluator_rollouts N`: the offline evaluator's rounds (`open_r1.tools.rollout`: the same rounds, each
  split into calls of at most `--evaluator_rows_per_call` rows) on N rollouts, against `joining_<C>`, its rows joining
  (`--tool_rollout_chunk_tokens C`): that many rows decoded at once, C tokens per call, the next rollout joining as
  one ends.
Reported: mean decode steps, generate calls and context tokens read, and their ratios to `rounds`. A schedule with
fewer decode steps pays off where the steps it saves cost more than the extra tokens it reads; on a CPU they did not
(docs/benchmarks.md). `--prices RESULTS.json` (a `scripts/benchmarks/grpo_throughput.py` results file) prices each
schedule in seconds at the machine's fitted cost of a decode step, a context token and a call (its
`generation_prices`), for batches of as many rows as its calls had (a decode step's price depends on its rows on a
CPU). Calibrate against the trainer: grpo_throughput.py measures decode steps and context tokens
(`decode_steps_per_step`, `context_tokens_per_step`) on real steps.

    python -m open_r1.evaluate ... --tools python --output_dir data/evals/rollouts   # sampled tool rollouts
    python scripts/benchmarks/tool_rollout_schedule.py --details data/evals/rollouts/details.jsonl \\
        --model data/gsm8k-cpu-sft48/sft-tools --rows 16 128 --chunks 8 16 32 64 --evaluator_rollouts 1319 \\
        --output /tmp/schedule.json [--prices data/lease/grpo_throughput_gsm8k_tools.json]
    python scripts/benchmarks/tool_rollout_schedule.py --write_docs docs/results/tool_rollout_schedule/<name>.json

Not covered: tools' time (run beside decoding in every schedule; none here), vLLM and continuous batching (which
keep each row's cache between its turns).
"""

import argparse
import json
import pathlib
import random
import statistics
import sys
from concurrent.futures import Future

from open_r1.utils.results_docs import (
    add_results_options,
    parse_or_write_docs,
    results_markers,
    results_table_writer,
    section_per_run,
)

BEGIN, END_MARKER = results_markers("tool_rollout_schedule.py")
END = -1  # the end-of-turn token of the replayed turns
FILLER, RESULT = 0, -2
# A replayed rollout: its prompt's tokens, then each assistant turn's tokens and the tokens appended after it.
Replayed = tuple[int, list[tuple[int, int]]]


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


def rounds_steps(batch: list[Replayed], budget: int, rows_per_call: int | None = None) -> tuple[int, int, int]:
    """Decode steps, generate calls and context tokens read of TRL's rounds under ToolRoundBudget for one batch, or
    of the offline evaluator's rounds (`open_r1.tools.rollout`), which split each round's rows into calls of at most
    `rows_per_call`."""
    evaluator = rows_per_call is not None
    used = [0] * len(batch)
    active, turn, steps, calls, read = list(range(len(batch))), 0, 0, 0, 0
    while active:
        still = []
        per_call = rows_per_call or len(active)
        for start in range(0, len(active), per_call):
            rows = active[start : start + per_call]
            left = {row: budget - used[row] for row in rows}
            # A row decodes past its own budget (cut afterwards) until every row's turn has ended or the largest one;
            # ToolRoundBudget decodes at least a token where every row's budget is spent (TRL still asks).
            largest = max(left.values()) if evaluator else max(1, max(left.values()))
            steps += min(max(batch[row][1][turn][0] for row in rows), largest)
            calls += 1
            read += len(rows) * max(batch[row][0] + used[row] for row in rows)  # left-padded to the longest
            for row in rows:
                used[row] += min(batch[row][1][turn][0], left[row])
                suffix = batch[row][1][turn][1]
                after = used[row] + suffix
                # TRL drops results past the budget; the evaluator also ends a rollout they leave without a token.
                if turn + 1 < len(batch[row][1]) and suffix and (after < budget if evaluator else after <= budget):
                    used[row] = after
                    still.append(row)
        active, turn = still, turn + 1
    return steps, calls, read


def joining_steps(rollouts: list[Replayed], budget: int, chunk: int, rows_per_call: int) -> tuple[int, int, int]:
    """Decode steps, generate calls and context tokens read of the evaluator's rows joining: at most
    `rows_per_call` rollouts decoded at once, at most `chunk` tokens per call, a rollout going on after its tool
    results at the next call (tools take no time here) and the next rollout joining as soon as one ends."""
    waiting = list(range(len(rollouts)))[::-1]
    live: list[list[int]] = []  # [rollout, its turn, tokens of the turn decoded, tokens of the rollout so far]
    steps = calls = read = 0
    while waiting or live:
        while waiting and len(live) < rows_per_call:
            live.append([waiting.pop(), 0, 0, 0])
        width = min(chunk, max(budget - used for *_, used in live))
        steps += min(width, max(rollouts[row][1][turn][0] - done for row, turn, done, _ in live))
        calls += 1
        read += len(live) * max(rollouts[row][0] + used for row, *_, used in live)
        still = []
        for state in live:
            row, turn, done, used = state
            length, suffix = rollouts[row][1][turn]
            taken = min(width, length - done, budget - used)
            state[2], state[3] = done + taken, used + taken
            if state[2] < length and state[3] < budget:
                still.append(state)  # its turn goes on at the next call
            elif state[2] == length and turn + 1 < len(rollouts[row][1]) and suffix and state[3] + suffix < budget:
                state[1], state[2], state[3] = turn + 1, 0, state[3] + suffix
                still.append(state)
        live = still
    return steps, calls, read


def ahead_steps(batch: list[Replayed], budget: int, chunk: int) -> tuple[int, int, int]:
    """Decode steps, generate calls and context tokens read of decode_ahead for one batch, the turns replayed as a
    model's. A row's replayed prompt is its index alone; a turn is FILLER tokens and END; tool results are FILLER
    tokens and RESULT, so a context's RESULT tokens count its rounds."""
    from open_r1.tools.rollouts_ahead import decode_ahead

    widths, read = [], []

    def generate(contexts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        out = []
        for context in contexts:
            row, turn = context[0], context.count(RESULT)
            start = max((i for i, token in enumerate(context) if token == RESULT), default=0) + 1
            tokens = [FILLER] * (batch[row][1][turn][0] - 1) + [END]
            so_far = len(context) - start
            out.append(tokens[so_far : so_far + max_new_tokens])
        widths.append(max(map(len, out)))  # generate stops once every row has ended its turn
        read.append(len(contexts) * max(batch[c[0]][0] - 1 + len(c) for c in contexts))
        return out

    def turn_calls(row: int, context: list[int], turn: list[int]) -> list[str]:
        index = context.count(RESULT)
        return [str(row)] if index + 1 < len(batch[row][1]) and batch[row][1][index][1] else []

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
        suffix_of[row] = batch[row][1][rounds_run[row]][1]
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
    return sum(widths), len(widths), sum(read)


SCHEDULE_NAMES = (("ahead_", "ahead, chunks of "), ("joining_", "rows joining, chunks of "))
HEADER = [
    "schedule",
    "decode steps",
    "generate calls",
    "context tokens read",
    "steps × rounds",
    "tokens read × rounds",
]
PRICED_HEADER = ["seconds at the prices", "seconds × rounds"]


def schedule_row(name: str, figure: dict, priced: bool = False) -> list[str]:
    for prefix, words in SCHEDULE_NAMES:
        name = name.replace(prefix, words)
    row = [
        name,
        f"{figure['decode_steps']:,.1f}",
        f"{figure['generate_calls']:.1f}",
        f"{figure['context_tokens']:,.0f}",
        f"{figure['decode_steps_to_rounds']:.2f}",
        f"{figure['context_tokens_to_rounds']:.2f}",
    ]
    if priced:
        row += (
            [f"{figure['seconds']:,.1f}", f"{figure['seconds_to_rounds']:.2f}"] if "seconds" in figure else ["—"] * 2
        )
    return row


def results_section(results: dict, path: pathlib.Path) -> str:
    """One results file on the page: what was replayed, then each schedule's figures per batch size, then the
    evaluator's where the file has them; priced in seconds where the run was given a machine's prices."""
    from open_r1.utils.provenance import read_provenance
    from open_r1.utils.results_docs import markdown_table

    settings, prices = results["settings"], results.get("prices")
    record = read_provenance(settings)
    line = (
        f"Commit {record['commit']}, {record['date'][:10]}: {results['rollouts']} rollouts of {settings['details']} "
        f"({results['tool_rounds_per_rollout']:.2f} tool rounds each), tokens of {settings['model']}, budget "
        f"{settings['max_completion_length']}, {settings['batches']} batches per size, seed {settings['seed']} "
        f"(`{path.as_posix()}`)"
    )
    if prices and prices["rows"] == "evaluator":
        line += (
            f"; the evaluator's schedules priced at {prices['ms_per_decode_step']:.1f} ms per decode step, "
            f"{prices['ms_per_1k_context_tokens']:,.1f} ms per 1,000 context tokens and {prices['ms_per_call']:.0f} ms "
            f"per call (fitted to the {prices['calls']} generate calls of the evaluation in `{prices['file']}`, R² "
            f"{prices['r_squared']:.2f})"
        )
    elif prices:
        line += (
            f"; batches of {prices['rows']} rows priced at {prices['ms_per_decode_step']:.1f} ms per decode step, "
            f"{prices['ms_per_1k_context_tokens']:,.1f} ms per 1,000 context tokens and {prices['ms_per_call']:.0f} ms "
            f"per call (grpo_throughput.py's calls of {prices['rows']} rows in `{prices['file']}`; a decode step's "
            "price holds for the rows it was measured at)"
        )
    header = HEADER + (PRICED_HEADER if prices else [])
    rows = [
        [size, *schedule_row(name, figure, bool(prices))]
        for size, figures in results["rows"].items()
        for name, figure in figures.items()
    ]
    section = line + ". GRPO batches, per batch:\n\n" + markdown_table(["rows", *header], rows)
    evaluator = results.get("evaluator")
    if evaluator:
        section += (
            f"\n\nThe offline evaluator: {evaluator['rollouts']:,} rollouts at most {evaluator['rows_per_call']} per "
            f"generate call, mean of {evaluator['draws']} draws:\n\n"
        )
        section += markdown_table(
            header, [schedule_row(name, f, bool(prices)) for name, f in evaluator["schedules"].items()]
        )
    return section


def figures_of(schedules: dict[str, list[tuple[int, int, int]]], prices: dict | None = None) -> dict[str, dict]:
    """Each schedule's mean decode steps, generate calls and context tokens read, and its ratios to `rounds`; with
    `prices` (generation_prices of grpo_throughput.py), also what those cost in seconds."""
    figures = {
        name: {
            "decode_steps": statistics.mean(steps for steps, _, _ in runs),
            "generate_calls": statistics.mean(calls for _, calls, _ in runs),
            "context_tokens": statistics.mean(read for _, _, read in runs),
        }
        for name, runs in schedules.items()
    }
    for figure in figures.values():
        if prices:
            figure["seconds"] = (
                figure["decode_steps"] * prices["ms_per_decode_step"]
                + figure["context_tokens"] / 1000 * prices["ms_per_1k_context_tokens"]
                + figure["generate_calls"] * prices["ms_per_call"]
            ) / 1000
    for figure in figures.values():
        figure["decode_steps_to_rounds"] = figure["decode_steps"] / figures["rounds"]["decode_steps"]
        figure["context_tokens_to_rounds"] = figure["context_tokens"] / figures["rounds"]["context_tokens"]
        if prices:
            figure["seconds_to_rounds"] = figure["seconds"] / figures["rounds"]["seconds"]
    return figures


def print_figures(label: str, figures: dict[str, dict]) -> None:
    for name, figure in figures.items():
        priced = f"  {figure['seconds']:7.1f} s  x{figure['seconds_to_rounds']:.2f} s" if "seconds" in figure else ""
        print(
            f"{label}  {name:11s}  {figure['decode_steps']:7.1f} decode steps  {figure['generate_calls']:5.1f} calls  "
            f"{figure['context_tokens']:10,.0f} tokens read  x{figure['decode_steps_to_rounds']:.2f} steps  "
            f"x{figure['context_tokens_to_rounds']:.2f} read{priced}"
        )


def read_prices(path: str) -> dict | None:
    """The prices fitted to a results file's generate calls: grpo_throughput.py's, with the rows its first generate
    calls decoded (a step's prompts x num_generations), or an offline evaluation's (`decoding.call_timings`), whose
    calls price the evaluator's schedules (`rows` "evaluator"); None where they cannot be told apart."""
    results = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    if "decoding" in results:
        from open_r1.utils.decoding_tally import fit_call_prices

        prices = fit_call_prices((results["decoding"] or {}).get("call_timings") or [])
        return None if prices is None else {**prices, "file": path, "rows": "evaluator"}
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from grpo_throughput import generation_prices

    prices = generation_prices(results)
    rows = results["settings"]["prompts"] * results["settings"]["num_generations"]  # per generate call, at first
    return None if prices is None else {**prices, "file": path, "rows": rows}


write_docs = results_table_writer(BEGIN, END_MARKER, section_per_run(results_section))


def main(argv: list[str] | None = None) -> dict:
    from open_r1.utils.results_docs import save_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--details", help="An offline evaluation's details.jsonl (or details.jsonl.gz), with --tools python."
    )
    parser.add_argument("--model", help="The model folder whose tokenizer counts the tokens.")
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 128], help="Rollouts per batch.")
    parser.add_argument("--chunks", type=int, nargs="+", default=[16, 32, 64], help="Tokens per generate call.")
    parser.add_argument("--max_completion_length", type=int, default=512, help="Token budget of each rollout.")
    parser.add_argument("--batches", type=int, default=200, help="Batches drawn per row count.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the draws.")
    parser.add_argument(
        "--evaluator_rollouts",
        type=int,
        default=0,
        help="Also replay the offline evaluator's rounds on this many rollouts (make gsm8k: 1319 greedy) against rows "
        "joining as others end.",
    )
    parser.add_argument(
        "--evaluator_rows_per_call",
        type=int,
        default=512,
        help="The evaluator's rows per generate call (make gsm8k: 512).",
    )
    parser.add_argument("--evaluator_draws", type=int, default=5, help="Draws of --evaluator_rollouts rollouts.")
    parser.add_argument(
        "--prices",
        help="A grpo_throughput.py results file whose arms' generate calls give a machine's prices (each schedule of "
        "as many rows is then also priced in seconds), or an offline evaluation's results.json, whose generate calls "
        "price the evaluator's schedules.",
    )
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs, required=("details", "model"))
    if args is None:
        return {}
    prices = None
    if args.prices:
        prices = read_prices(args.prices)
        if prices is None:
            parser.error(
                f"--prices {args.prices}: its generate calls do not separate the prices (see generation_prices)"
            )

    from open_r1.data.benchmarks import read_jsonl

    try:  # the evaluator's details.jsonl, whose lines have the prompt too; read before the tokenizer loads
        records = [record for _, record in read_jsonl(pathlib.Path(args.details), ("prompt", "completion"))]
    except (OSError, ValueError) as error:
        parser.error(f"--details: {error}")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    rollouts = [
        (
            len(tokenizer(record["prompt"], add_special_tokens=False)["input_ids"]),
            rollout_turns(tokenizer, record["completion"]),
        )
        for record in records
    ]
    calls = statistics.mean(sum(1 for _, suffix in turns if suffix) for _, turns in rollouts)
    settings = {key: value for key, value in vars(args).items() if key not in ("output", "write_docs", "prices")}
    from open_r1.utils.provenance import provenance_record

    settings.update(provenance_record())
    results = {"settings": settings, "rollouts": len(rollouts), "tool_rounds_per_rollout": calls, "rows": {}}
    if prices:
        results["prices"] = prices
    rng = random.Random(args.seed)
    budget = args.max_completion_length
    for rows in args.rows:
        batches = [[rng.choice(rollouts) for _ in range(rows)] for _ in range(args.batches)]
        schedules = {"rounds": [rounds_steps(batch, budget) for batch in batches]}
        for chunk in args.chunks:
            schedules[f"ahead_{chunk}"] = [ahead_steps(batch, budget, chunk) for batch in batches]
        priced = prices if prices and prices["rows"] == rows else None
        results["rows"][str(rows)] = figures = figures_of(schedules, priced)
        print_figures(f"{rows:4d} rows", figures)
    if args.evaluator_rollouts:
        per_call = args.evaluator_rows_per_call
        draws = [[rng.choice(rollouts) for _ in range(args.evaluator_rollouts)] for _ in range(args.evaluator_draws)]
        schedules = {"rounds": [rounds_steps(draw, budget, per_call) for draw in draws]}
        for chunk in args.chunks:
            schedules[f"joining_{chunk}"] = [joining_steps(draw, budget, chunk, per_call) for draw in draws]
        priced = prices if prices and prices["rows"] in (per_call, "evaluator") else None
        figures = figures_of(schedules, priced)
        results["evaluator"] = {
            "rollouts": args.evaluator_rollouts,
            "rows_per_call": per_call,
            "draws": args.evaluator_draws,
            "schedules": figures,
        }
        print_figures("evaluator", figures)
    if args.output:
        save_results(args.output, results)
    return results


if __name__ == "__main__":
    main()
