#!/usr/bin/env python
"""Benchmark: sampling several completions per prompt the evaluator's way versus transformers' own ways.

The offline evaluator samples through `open_r1.eval.decoding.generate_sharing_prompts`, which computes each
prompt's key/value cache once and repeats it for the samples; `generate(num_return_sequences=n)` computes it
n times. On a CPU it also decodes with a preallocated static cache and draws among the top-k candidates
instead of the whole vocabulary. This times these ways, side by side in one process and interleaved (each
repeat runs every way once, in turn), on the same prompts and settings:
- `num_return_sequences`: plain `generate`;
- `shared`: the prompt read once, generate's own cache and sampling;
- `shared+static+candidates`: the evaluator's default;
- `generate+static`: plain `generate` with `num_return_sequences` and `cache_implementation="static"`;
- `generate_batch`: transformers' continuous batching (`model.generate_batch`, samples forked from their
  prompt), one call for all the prompts, its paged cache sized to them, without its one-time warm-up.
The evaluator's sampling settings (`open_r1.eval.arguments`' temperature and top_p, transformers' default top-k), eos
ignored so that all do the same decoding work. Prompts: `--data_files` (a benchmark JSONL such as GSM8K's test set, its
first `--prompts` problems), else one GSM8K-like problem written here (~130 tokens with the chat template).

    python scripts/benchmarks/shared_prompt_sampling.py --model data/models/SmolLM2-135M-Instruct-f32
    python scripts/benchmarks/shared_prompt_sampling.py --model data/models/SmolLM2-135M-Instruct-f32 \
        --data_files ../shared/data/gsm8k_test.jsonl --prompts 32 --samples 2 --new_tokens 64 --repeats 2
    python scripts/benchmarks/shared_prompt_sampling.py --write_docs docs/results/shared_prompt_sampling/*.json

Prints seconds per call for each way and each way's median over the evaluator default's, for each sample
count. `--output` writes them as JSON (`ratio_to_default`: each way's median / the default's; `settings`: the
command's settings, date, commit, machine and load); `--write_docs` writes the table of results files into
docs/benchmarks.md between this script's markers, so the page is never typed by hand.
Not covered: GPUs (where prompt prefill is a smaller share of the time), vLLM (which shares prompt prefixes by
itself), tool-calling rollouts, torch.compile.
"""

import argparse
import pathlib
import statistics
import time

from open_r1.utils.results_docs import results_markers, results_table_writer

# A GSM8K-test-like word problem (written for this benchmark), so the prompt has a real benchmark's length.
PROBLEM = (
    "A bakery sells muffins for $3 each and cookies for $2 each. On Monday it sold 24 muffins and twice as "
    "many cookies as muffins. On Tuesday it sold 5 fewer muffins than on Monday and 18 cookies. How much money "
    "did the bakery make on the two days together, in dollars?"
)
BEGIN, END = results_markers("shared_prompt_sampling.py")
EVALUATOR_DEFAULT = "shared+static+candidates"
# transformers' default page size of the continuous-batching cache, in tokens.
PAGE_SIZE = 256
WAYS = ("num_return_sequences", "shared", EVALUATOR_DEFAULT, "generate+static", "generate_batch")


def prompts_shown(results: dict) -> str:
    data = results["data_files"]
    source = f"of {pathlib.Path(data).name}" if data else "copies of one written problem"
    low, high = results["prompt_tokens"]["min"], results["prompt_tokens"]["max"]
    return f"{results['prompts']} {source}, {low if low == high else f'{low}-{high}'} tokens"


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    """A row per results file and sample count: each way's median seconds per call and its ratio over the
    evaluator's default; a way that run did not time is a dash."""
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    timed = {way for results, _ in runs for run in results["runs"].values() for way in run["median_seconds"]}
    ways = [way for way in WAYS if way in timed]
    header = ["date", "commit", "machine, load before → after", "prompts", "samples × new tokens", "repeats"]
    header += [f"`{way}`" + (" (the evaluator's)" if way == EVALUATOR_DEFAULT else "") for way in ways]
    header.append("results")
    rows = []
    for results, path in runs:
        settings = results["settings"]
        machine = read_provenance(settings)["machine"]
        start, end = machine["load_average_at_start"], machine["load_average_at_end"]
        for samples, run in results["runs"].items():
            medians, ratios = run["median_seconds"], run["ratio_to_default"]
            rows.append(
                [
                    *provenance_cells(settings, f"{results['threads']} threads, {start[0]:.2f} → {end[0]:.2f}"),
                    prompts_shown(results),
                    f"{samples} × {results['new_tokens']}",
                    str(settings["repeats"]),
                    *[
                        f"{medians[way]:.1f} s" + ("" if way == EVALUATOR_DEFAULT else f", **{ratios[way]:.2f}×**")
                        if way in medians
                        else "-"
                        for way in ways
                    ],
                    results_cell(path),
                ]
            )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv=None) -> dict | None:
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs, save_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Model folder (or Hub id) to sample from (required to time).")
    parser.add_argument("--data_files", default=None, help="Benchmark JSONL to take the prompts from.")
    parser.add_argument("--prompts", type=int, default=32, help="Prompts per call (the evaluator's batch).")
    parser.add_argument("--samples", type=int, nargs="+", default=[2, 4], help="Samples per prompt to time.")
    parser.add_argument("--new_tokens", type=int, default=32, help="New tokens per sample (eos ignored).")
    parser.add_argument("--repeats", type=int, default=2, help="Timed calls of each way per sample count.")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS), help="Ways to time.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's).")
    add_results_options(parser)
    why = "to time the ways (only --write_docs runs without one)"
    args = parse_or_write_docs(parser, argv, write_docs, required=("model",), required_for=why)
    if args is None:
        return None
    if EVALUATOR_DEFAULT not in args.ways:
        parser.error(f"--ways must include {EVALUATOR_DEFAULT}, the way the others are compared with")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, ContinuousBatchingConfig, GenerationConfig

    from open_r1.data.benchmarks import Problem, build_messages, load_problems
    from open_r1.eval.arguments import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
    from open_r1.eval.decoding import generate_sharing_prompts
    from open_r1.tasks.arithmetic import SYSTEM_PROMPT

    if args.threads:
        torch.set_num_threads(args.threads)
    provenance = {"repeats": args.repeats, **provenance_record()}

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    if args.data_files:
        problems = load_problems(args.data_files, limit=args.prompts)
    else:
        problems = [Problem("b", PROBLEM, "0")] * args.prompts
    prompts = [
        tokenizer.apply_chat_template(
            build_messages(problem, SYSTEM_PROMPT), tokenize=False, add_generation_prompt=True
        )
        for problem in problems
    ]
    inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    prompt_lengths = inputs["attention_mask"].sum(-1).tolist()
    token_lists = [ids[-length:] for ids, length in zip(inputs["input_ids"].tolist(), prompt_lengths)]
    settings = {
        "max_new_tokens": args.new_tokens,
        "min_new_tokens": args.new_tokens,
        "do_sample": True,
        "temperature": DEFAULT_TEMPERATURE,
        "top_p": DEFAULT_TOP_P,
        "pad_token_id": tokenizer.pad_token_id,
    }

    def repeated_prompts(samples: int):
        with torch.no_grad():
            return model.generate(**inputs, num_return_sequences=samples, **settings)

    def shared_prompts(samples: int):
        return generate_sharing_prompts(
            model,
            inputs["input_ids"],
            inputs["attention_mask"],
            num_samples=samples,
            cpu_static_cache=False,
            candidate_sampler=False,
            **settings,
        )

    def evaluator_default(samples: int):
        return generate_sharing_prompts(
            model, inputs["input_ids"], inputs["attention_mask"], num_samples=samples, **settings
        )

    def static_generate(samples: int):
        with torch.no_grad():
            return model.generate(**inputs, num_return_sequences=samples, cache_implementation="static", **settings)

    def continuous_batching(samples: int):
        # eos_token_id -1: no token ends a sequence, as min_new_tokens does for the other ways.
        config = GenerationConfig(
            max_new_tokens=args.new_tokens,
            do_sample=True,
            temperature=DEFAULT_TEMPERATURE,
            top_p=DEFAULT_TOP_P,
            num_return_sequences=samples,
            eos_token_id=-1,
            pad_token_id=tokenizer.pad_token_id,
        )
        # Sized to the work: left to itself on a CPU, the paged cache takes most of the machine's RAM (zero-filled
        # on every call) and each step's attention mask spans all of it.
        cache = ContinuousBatchingConfig(
            num_blocks=len(token_lists) * samples * -(-(max(prompt_lengths) + args.new_tokens) // PAGE_SIZE),
            max_batch_tokens=sum(prompt_lengths),
            page_size=PAGE_SIZE,
        )
        results = model.generate_batch(
            token_lists, generation_config=config, continuous_batching_config=cache, warmup=False
        )
        lengths = [len(result.generated_tokens) for result in results.values()]
        if lengths != [args.new_tokens] * len(lengths):
            raise RuntimeError(f"generate_batch returned completions of {sorted(set(lengths))} tokens")
        return results

    every_way = {
        "num_return_sequences": repeated_prompts,
        "shared": shared_prompts,
        EVALUATOR_DEFAULT: evaluator_default,
        "generate+static": static_generate,
        "generate_batch": continuous_batching,
    }
    ways = {name: every_way[name] for name in WAYS if name in args.ways}

    results = {
        "model": args.model,
        "data_files": args.data_files,
        "prompts": args.prompts,
        "prompt_tokens": {"min": min(prompt_lengths), "max": max(prompt_lengths)},
        "new_tokens": args.new_tokens,
        "threads": torch.get_num_threads(),
        "runs": {},
    }
    print(
        f"{args.prompts} prompts of {min(prompt_lengths)}-{max(prompt_lengths)} tokens, "
        f"{args.new_tokens} new tokens per sample, {torch.get_num_threads()} threads",
        flush=True,
    )
    for sample in ways.values():
        sample(1)  # warm-up: first-call allocations
    for samples in args.samples:
        timings = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, sample in ways.items():
                started = time.perf_counter()
                output = sample(samples)
                timings[name].append(time.perf_counter() - started)
                assert len(output) == args.prompts * samples
        medians = {name: statistics.median(values) for name, values in timings.items()}
        default = medians[EVALUATOR_DEFAULT]
        run = {"seconds": timings, "median_seconds": medians}
        run["ratio_to_default"] = {name: median / default for name, median in medians.items()}
        results["runs"][str(samples)] = run
        print(f"{samples} samples per prompt, median seconds per call (and / {EVALUATOR_DEFAULT}):", flush=True)
        for name, median in medians.items():
            print(f"  {name:26s} {median:8.2f} s  {median / default:5.2f}x", flush=True)
    results["settings"] = with_end_load(provenance)
    if args.output:
        save_results(args.output, results)
    return results


if __name__ == "__main__":
    main()
