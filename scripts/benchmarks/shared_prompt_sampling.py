#!/usr/bin/env python
"""Benchmark: sampling several completions per prompt the evaluator's way versus plain `generate`.

The offline evaluator samples through `open_r1.eval.offline.generate_sharing_prompts`, which computes each
prompt's key/value cache once and repeats it for the samples; `generate(num_return_sequences=n)` computes it
n times. On a CPU it also decodes with a preallocated static cache and draws among the top-k candidates
instead of the whole vocabulary. This times three ways, side by side in one process and alternating, on the
same prompts and settings: `num_return_sequences`; `shared` (the prompt read once, generate's own cache and
sampling); `shared+static+candidates` (the evaluator's default). GSM8K-length prompts (~130 tokens with the
chat template, the length of a real benchmark's) and the evaluator's sampling settings, eos ignored so that
all do the same decoding work.

    python scripts/benchmarks/shared_prompt_sampling.py --model data/models/SmolLM2-135M-Instruct-f32
    python scripts/benchmarks/shared_prompt_sampling.py --model <any model folder> --samples 2 4 --repeats 3

Prints seconds per call for each way and the ratios (num_return_sequences / shared, shared / default) for
each sample count, and writes them as JSON with `--output`. Not covered: GPUs (where prompt prefill is a
smaller share of the time), vLLM (which shares prompt prefixes by itself), tool-calling rollouts.
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "src"))

# A GSM8K-test-like word problem (written for this benchmark), so the prompt has a real benchmark's length.
PROBLEM = (
    "A bakery sells muffins for $3 each and cookies for $2 each. On Monday it sold 24 muffins and twice as "
    "many cookies as muffins. On Tuesday it sold 5 fewer muffins than on Monday and 18 cookies. How much money "
    "did the bakery make on the two days together, in dollars?"
)


def main(argv=None) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.data.benchmarks import Problem, build_messages
    from open_r1.eval.offline import generate_sharing_prompts
    from open_r1.tasks.arithmetic import SYSTEM_PROMPT

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Model folder (or Hub id) to sample from.")
    parser.add_argument("--prompts", type=int, default=32, help="Prompts per call (the evaluator's batch).")
    parser.add_argument("--samples", type=int, nargs="+", default=[2, 4], help="Samples per prompt to time.")
    parser.add_argument("--new_tokens", type=int, default=32, help="New tokens per sample (eos ignored).")
    parser.add_argument("--repeats", type=int, default=2, help="Timed calls of each way per sample count.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's).")
    parser.add_argument("--output", type=pathlib.Path, default=None, help="Write the results here as JSON.")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, *build_messages(Problem("b", PROBLEM, "0"))]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer([prompt] * args.prompts, return_tensors="pt", add_special_tokens=False)
    prompt_tokens = inputs["input_ids"].shape[1]
    settings = {
        "max_new_tokens": args.new_tokens,
        "min_new_tokens": args.new_tokens,
        "do_sample": True,
        "temperature": 0.6,
        "top_p": 0.95,
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

    ways = {
        "num_return_sequences": repeated_prompts,
        "shared": shared_prompts,
        "shared+static+candidates": evaluator_default,
    }

    results = {"model": args.model, "prompts": args.prompts, "prompt_tokens": prompt_tokens, "runs": {}}
    print(f"{args.prompts} prompts of {prompt_tokens} tokens, {args.new_tokens} new tokens per sample", flush=True)
    shared_prompts(1)  # warm-up: first-call allocations
    evaluator_default(1)
    for samples in args.samples:
        timings = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, sample in ways.items():
                started = time.perf_counter()
                output = sample(samples)
                timings[name].append(time.perf_counter() - started)
                assert output.shape[0] == args.prompts * samples
        medians = {name: statistics.median(values) for name, values in timings.items()}
        ratio = medians["num_return_sequences"] / medians["shared"]
        default_ratio = medians["shared"] / medians["shared+static+candidates"]
        results["runs"][str(samples)] = {
            "seconds": timings,
            "median_seconds": medians,
            "ratio": ratio,
            "static_candidates_ratio": default_ratio,
        }
        print(
            f"{samples} samples per prompt: num_return_sequences {medians['num_return_sequences']:.1f} s, "
            f"shared prompt {medians['shared']:.1f} s, with static cache and top-k candidates "
            f"{medians['shared+static+candidates']:.1f} s per call; ratios {ratio:.2f}x and {default_ratio:.2f}x",
            flush=True,
        )
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
