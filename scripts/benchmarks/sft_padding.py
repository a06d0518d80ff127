"""How much of make gsm8k's SFT batches is padding: the tokens each arm's batches hold against the tokens they train,
for random batches (the recipe's sampler) and for batches grouped by length (transformers'
`train_sampling_strategy: group_by_length`), over the same traces in one run.

    python scripts/benchmarks/sft_padding.py --train_file ../shared/data/gsm8k_train.jsonl \
        --model data/models/SmolLM2-135M-Instruct-f32
    python scripts/benchmarks/sft_padding.py ... --output docs/results/sft_padding/<name>.json   # keep the results
    python scripts/benchmarks/sft_padding.py --write_docs docs/results/sft_padding/*.json        # the table, into docs/

Each arm's traces are the ones scripts/gsm8k.py writes (`open_r1.tasks.gsm8k.convert`), tokenised with the arm's
chat template (the model's for the chain of thought, `open_r1.tools.chat.CHATML_TOOLS_TEMPLATE` for the tool arm)
and cut at the recipe's `max_length`; a batch is padded to its longest row, as TRL's collator pads. The batch size,
epochs and seed are the arm's SFT recipe's. Not covered: time (what a step costs on a GPU is a measurement of its
own), packing.
"""

import argparse
import pathlib
import statistics

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("sft_padding.py")


def padded_tokens(lengths: list[int], batch_size: int, order: list[int]) -> int:
    """The tokens the batches of `order` hold, each padded to its longest row."""
    batches = (order[start : start + batch_size] for start in range(0, len(order), batch_size))
    return sum(len(batch) * max(lengths[index] for index in batch) for batch in batches)


def epoch_orders(lengths: list[int], batch_size: int, epochs: int, seed: int, grouped: bool) -> list[list[int]]:
    """Each epoch's order of the rows: a random permutation, or transformers' length-grouped one."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    generator = torch.Generator().manual_seed(seed)
    if grouped:
        return [get_length_grouped_indices(lengths, batch_size, generator=generator) for _ in range(epochs)]
    return [torch.randperm(len(lengths), generator=generator).tolist() for _ in range(epochs)]


def arm_padding(lengths: list[int], batch_size: int, epochs: int, seed: int) -> dict:
    """The real and padded tokens of an arm's SFT, per sampler, over all its epochs."""
    real = epochs * sum(lengths)
    figures = {"rows": len(lengths), "batch_size": batch_size, "epochs": epochs, "real_tokens": real}
    for sampler, grouped in (("random", False), ("grouped_by_length", True)):
        padded = sum(
            padded_tokens(lengths, batch_size, order)
            for order in epoch_orders(lengths, batch_size, epochs, seed, grouped)
        )
        figures[sampler] = {"padded_tokens": padded, "real_share": real / padded}
    figures["mean_length"], figures["max_length"] = statistics.mean(lengths), max(lengths)
    return figures


def trace_lengths(tokenizer, traces: list[list[dict]], max_length: int | None) -> list[int]:
    """Each trace's tokens under the tokenizer's chat template, cut at `max_length`."""
    lengths = []
    for trace in traces:
        ids = tokenizer.apply_chat_template(trace, tokenize=True, return_dict=True)["input_ids"]
        lengths.append(len(ids) if max_length is None else min(len(ids), max_length))
    return lengths


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "arm", "traces, batch, epochs", "tokens trained"]
    header += ["random batches: tokens held (share trained)", "grouped by length", "results"]
    rows = []
    for results, path in runs:
        start = read_provenance(results["settings"])["machine"]["load_average_at_start"]
        for arm, figures in results["arms"].items():
            random, grouped = figures["random"], figures["grouped_by_length"]
            rows.append(
                [
                    *provenance_cells(results["settings"], f"{start[0]:.2f}"),
                    arm,
                    f"{figures['rows']:,}, {figures['batch_size']}, {figures['epochs']}",
                    f"{figures['real_tokens'] / 1e6:.2f} M",
                    f"{random['padded_tokens'] / 1e6:.2f} M ({random['real_share']:.0%})",
                    f"{grouped['padded_tokens'] / 1e6:.2f} M ({grouped['real_share']:.0%})",
                    results_cell(path),
                ]
            )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.usage import ArgumentParser
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_file", type=pathlib.Path, help="GSM8K-train JSONL (id, problem, solution, answer).")
    parser.add_argument("--model", help="The model folder whose tokenizer make gsm8k trains (scripts/get_model.py).")
    parser.add_argument("--arms", nargs="+", default=["cot", "tools"], choices=["cot", "tools"], help="Arms to count.")
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs, required=("train_file", "model"))
    if args is None:
        return None
    from transformers import AutoTokenizer

    from open_r1.demo.settings import GSM8K_FULL
    from open_r1.tasks.gsm8k import convert, load_rows
    from open_r1.tools.chat import CHATML_TOOLS_TEMPLATE
    from open_r1.usage import read_recipe
    from open_r1.utils.provenance import provenance_record
    from open_r1.utils.results_docs import report_results

    conversion = convert(load_rows(args.train_file))
    traces = {"cot": conversion.cot, "tools": conversion.tools}
    settings = {"train_file": str(args.train_file), "model": args.model, **provenance_record()}
    results = {"settings": settings, "arms": {}}
    for arm in args.arms:
        recipe = read_recipe(str(REPO_ROOT / GSM8K_FULL.sft_recipes[arm]))
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        if arm == "tools":
            tokenizer.chat_template = CHATML_TOOLS_TEMPLATE
        lengths = trace_lengths(tokenizer, traces[arm], recipe.get("max_length"))
        # A micro-batch is what the collator pads: accumulation steps are padded each on its own.
        batch, epochs = recipe["per_device_train_batch_size"], int(recipe["num_train_epochs"])
        results["arms"][arm] = arm_padding(lengths, batch, epochs, recipe.get("seed", 42))
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    from open_r1.usage import exit_on_usage_error

    with exit_on_usage_error("sft_padding.py"):
        main()
