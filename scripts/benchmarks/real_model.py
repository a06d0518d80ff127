#!/usr/bin/env python
"""Benchmark: how long SmolLM2-135M-Instruct takes to load, and how fast it generates, on this machine.

Measures, with the best of `--repeats` runs of each (the machine may be shared; the load average is
printed before and after):
- load: `from_pretrained` of the float32 and bfloat16 folders `scripts/get_model.py smollm2` writes
  (model and tokenizer), and of the GGUF file itself through `open_r1.utils.model_utils` (tokenizer,
  then the model dequantised), when the file is in the download cache;
- generation: greedy decoding with transformers' `generate` and the KV cache, exactly `--new_tokens` new
  tokens per sequence (eos ignored, so every configuration does the same work), at batch 1 and 16, in
  float32 and bfloat16; tokens/s counts new tokens of all sequences of the batch.

    python scripts/get_model.py smollm2
    python scripts/benchmarks/real_model.py [--new_tokens 64] [--batch_sizes 1 16] [--repeats 2]

Not covered: training step time (see the slow tests' durations), vLLM, GPUs.
"""

import argparse
import json
import os
import pathlib
import sys

import torch

from open_r1.tasks.arithmetic import SYSTEM_PROMPT, as_conversation, make_problems
from open_r1.utils.launch import MODEL_CACHE_FOLDER, MODELS_FOLDER, REPO_ROOT
from open_r1.utils.model_utils import load_gguf_model, load_gguf_tokenizer
from open_r1.utils.results_docs import best_of

sys.path.insert(0, str(REPO_ROOT / "scripts"))  # scripts/get_model.py (the folder of scripts is no package)
import get_model  # noqa: E402  (the model's package and file names are its own)


def load_average(values: list[float] | None = None) -> str:
    """The load averages (1, 5 and 15 minutes; now, unless `values` are given) as printed."""
    return " ".join(f"{value:.2f}" for value in (os.getloadavg() if values is None else values))


def load_folder(folder: pathlib.Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)


def load_gguf(path: pathlib.Path):
    return load_gguf_tokenizer(path), load_gguf_model(path, dtype=torch.float32)


def prompts(tokenizer, count: int) -> list[str]:
    rows = make_problems(count, seed=123)
    return [
        tokenizer.apply_chat_template(
            as_conversation(row, SYSTEM_PROMPT)[:2], tokenize=False, add_generation_prompt=True
        )
        for row in rows
    ]


def generation_speed(tokenizer, model, batch_size: int, new_tokens: int, repeats: int) -> float:
    """New tokens per second of greedy generation of `new_tokens` tokens for `batch_size` prompts."""
    tokenizer.padding_side = "left"
    inputs = tokenizer(prompts(tokenizer, batch_size), return_tensors="pt", padding=True, add_special_tokens=False)

    def run():
        with torch.no_grad():
            return model.generate(
                **inputs,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )

    run()  # warm-up: first-call allocations and kernel selection
    seconds, output = best_of(repeats, run)
    generated = output.shape[1] - inputs["input_ids"].shape[1]
    if generated != new_tokens:
        raise RuntimeError(f"generated {generated} tokens, expected {new_tokens}")
    return batch_size * new_tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models_dir", default=str(REPO_ROOT / MODELS_FOLDER), help="Where get_model.py wrote.")
    smollm2 = get_model.MODELS["smollm2"]  # where get_model.py unpacks the wheel's GGUF file
    parser.add_argument(
        "--gguf",
        default=str(
            REPO_ROOT / MODEL_CACHE_FOLDER / smollm2.pypi_package / pathlib.PurePosixPath(smollm2.gguf_member).name
        ),
        help="The GGUF file to time direct loading of (skipped when absent).",
    )
    parser.add_argument("--new_tokens", type=int, default=64, help="New tokens per sequence.")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 16], help="Batch sizes to time.")
    parser.add_argument("--repeats", type=int, default=2, help="Runs of each measurement; the fastest counts.")
    args = parser.parse_args()

    folders = {
        dtype: pathlib.Path(args.models_dir) / f"SmolLM2-135M-Instruct-{suffix}"
        for dtype, suffix in (("float32", "f32"), ("bfloat16", "bf16"))
    }
    missing = [str(folder) for folder in folders.values() if not folder.is_dir()]
    if missing:
        sys.exit(f"missing {missing}: run `python scripts/get_model.py smollm2` first")

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average before: {load_average()}")
    results = {"threads": torch.get_num_threads(), "new_tokens": args.new_tokens, "load_s": {}, "tokens_per_s": {}}

    gguf = pathlib.Path(args.gguf)
    if gguf.is_file():
        seconds, _ = best_of(1, lambda: load_gguf(gguf))  # once: it takes tens of seconds
        results["load_s"]["gguf (dequantise)"] = seconds
        print(f"load {gguf.name} (tokenizer + dequantised model): {seconds:.1f} s", flush=True)

    for dtype, folder in folders.items():
        seconds, (tokenizer, model) = best_of(args.repeats, lambda folder=folder: load_folder(folder))
        results["load_s"][f"folder {dtype}"] = seconds
        print(f"load {folder.name} (tokenizer + model): {seconds:.2f} s", flush=True)
        model.eval()
        for batch_size in args.batch_sizes:
            speed = generation_speed(tokenizer, model, batch_size, args.new_tokens, args.repeats)
            results["tokens_per_s"][f"{dtype} batch {batch_size}"] = speed
            print(f"greedy generation, {dtype}, batch {batch_size}: {speed:.1f} new tokens/s", flush=True)

    results["load_average_at_end"] = list(os.getloadavg())  # open_r1.utils.provenance's field, in its form
    print(f"load average after: {load_average(results['load_average_at_end'])}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
