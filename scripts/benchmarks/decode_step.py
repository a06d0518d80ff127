#!/usr/bin/env python
"""Benchmark: what one decode step of transformers' `generate` costs at GRPO's and the evaluator's batch sizes, in
each way transformers offers to decode, and whether the device's kernels or the host's Python set that cost.

    # GPU (make gsm8k's model, as docs/gpu.md's `decoding` lease plan runs it; a few minutes, compiling included)
    python scripts/benchmarks/decode_step.py --model data/models/SmolLM2-135M-Instruct-f32 --device cuda \\
        --data_files data/shared/gsm8k_train.jsonl --output data/lease/decode_step.json
    # CPU smoke (tiny model of scripts/make_tiny_model.py), seconds
    python scripts/benchmarks/decode_step.py --model data/tiny-model --device cpu --rows 4 --ways float32 static
    python scripts/benchmarks/decode_step.py --write_docs docs/results/decode_step/*.json   # runs nothing

Ways (`--ways`), each on the same left-padded prompts, eos ignored so that every row decodes every step:
- `float32`: float32 weights and transformers' dynamic cache, eager (`disable_compile=True`, as TRL 1.16 builds its
  generation config);
- `autocast`: the same under bfloat16 autocast: how GRPO generates with `bf16: true` over float32 weights (accelerate
  wraps the model's forward in autocast), make gsm8k's recipes included;
- `bfloat16`: the weights cast to bfloat16;
- `static` and `autocast_static`: float32 with a preallocated static cache (`cache_implementation="static"`), eager,
  without and with autocast (under which the static cache stores keys and values in bfloat16, as GRPO's does:
  `open_r1.utils.compiled_generation.static_cache_storing`; until 2026-11-27 it stored them in float32);
- `static_compiled` and `autocast_static_compiled` (GPU only): the static cache with transformers' own compilation
  of the decode step (`torch.compile`, mode "reduce-overhead": CUDA graphs), as `compile_generation: true` decodes
  (open_r1.utils.compiled_generation); the graphs dynamo compiled and the CUDA graphs inductor skipped are counted.
Each way's first call, untimed, is the long one (`first_call_seconds`: compiling, for the compiled ways), so that
the static cache, which transformers keeps as long as the longest call so far, has its timed calls' shape (checked:
a timed call that grew it would time a compilation). Then `new_shape_seconds` for a long call on prompts padded 16
columns wider, whose cache is longer (a GRPO step's prompts differ in width; compiled, a new shape compiles again), and
`new_shape_again_seconds` for the same call again.
A way's price per decode step is the difference between a call of `--long_tokens` and one of `--short_tokens` new
tokens over their difference, so that the prompt's prefill and the call's set-up cancel; the median over
`--repeats`, the eager ways interleaved (each repeat runs each once, in turn) at every row count, then each compiled
way alone, the results file saved after each (a compilation stopped at the lease's limit leaves the prices before
it). One more call of each length runs under `torch.profiler`: the operators the host dispatches per step and, on
a GPU, the kernels' time per step, whose ratio to the wall time says whether the kernels (near 1) or the host
launching them (well above 1) set the price.

`--output` writes the results (settings, date, commit, machine and load) as JSON; `--write_docs` writes their table
into docs/benchmarks.md between this script's markers, so the page is never typed by hand.
Not covered: vLLM, continuous batching (`grpo_throughput.py`'s `trl_cb` arm), tool rounds, sampling (greedy here:
the price of sampling is a few kernels per step, the same in every way), several GPUs.
"""

import argparse
import pathlib
import statistics
import time

from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("decode_step.py")
WAYS = ("float32", "autocast", "bfloat16", "static", "autocast_static", "static_compiled", "autocast_static_compiled")
GPU_ONLY_WAYS = tuple(way for way in WAYS if way.endswith("_compiled"))
BASELINE = "float32"
# How much wider the prompts of the second shape are: a static cache and its compiled graphs are per shape.
NEW_SHAPE_PADDING = 16
PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell in the two months?"


def prompt_batch(tokenizer, problems: list[str], rows: int, device: str, extra_padding: int = 0) -> dict:
    """`rows` chat prompts (the problems in turn), left-padded, with `extra_padding` more pad columns on the left."""
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": problems[row % len(problems)]}], tokenize=False, add_generation_prompt=True
        )
        for row in range(rows)
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    if extra_padding:
        pad = torch.full((rows, extra_padding), tokenizer.pad_token_id, dtype=batch["input_ids"].dtype)
        batch["input_ids"] = torch.cat([pad, batch["input_ids"]], dim=1)
        batch["attention_mask"] = torch.cat([torch.zeros_like(pad), batch["attention_mask"]], dim=1)
    return {name: tensor.to(device) for name, tensor in batch.items()}


class Way:
    """One way to decode: the model in the way's dtype, the generate settings that select its cache and compilation,
    and, compiled, the graphs dynamo compiled and the CUDA graphs inductor skipped over its calls."""

    def __init__(self, name: str, model_path: str, device: str):
        import torch
        from transformers import AutoModelForCausalLM

        self.name, self.device = name, device
        self.autocast, self.static, self.compiled = (
            name.startswith("autocast"),
            "static" in name,
            name in GPU_ONLY_WAYS,
        )
        dtype = torch.bfloat16 if name == "bfloat16" else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device).eval()
        self.settings = {"do_sample": False, "disable_compile": not self.compiled}
        if self.static:
            self.settings["cache_implementation"] = "static"
        self.graphs_compiled = self.cudagraph_skips = 0

    def static_cache_length(self) -> int | None:
        """The static cache's length, which transformers keeps at the longest call's so far (None: not static)."""
        return getattr(self.model, "_previous_max_cache_length", None) if self.static else None

    def generate(self, batch: dict, new_tokens: int, pad_token_id: int) -> float:
        """One call's wall seconds, the device synchronised before and after."""
        import contextlib

        import torch
        from torch._dynamo.utils import counters

        from open_r1.utils.compiled_generation import static_cache_storing

        autocast = torch.autocast(self.device, dtype=torch.bfloat16) if self.autocast else contextlib.nullcontext()
        stored = torch.bfloat16 if self.autocast else None  # as GRPO's compiled generation stores under autocast
        casting = static_cache_storing(stored) if self.static else contextlib.nullcontext()
        synchronize = torch.cuda.synchronize if self.device == "cuda" else (lambda: None)
        graphs, skips = counters["stats"]["unique_graphs"], counters["inductor"]["cudagraph_skips"]
        synchronize()
        started = time.perf_counter()
        with torch.no_grad(), autocast, casting:
            output = self.model.generate(
                **batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=pad_token_id,
                **self.settings,
            )  # fmt: skip
        synchronize()
        seconds = time.perf_counter() - started
        self.graphs_compiled += counters["stats"]["unique_graphs"] - graphs
        self.cudagraph_skips += counters["inductor"]["cudagraph_skips"] - skips
        if output.shape[1] != batch["input_ids"].shape[1] + new_tokens:
            raise RuntimeError(f"{self.name}: decoded {output.shape[1] - batch['input_ids'].shape[1]} tokens")
        return seconds

    def profile(self, batch: dict, new_tokens: int, pad_token_id: int) -> tuple[int, float | None]:
        """One call under torch.profiler: the operators the host dispatched from Python (aten calls not made by
        another aten call) and, on a GPU, the device's kernel seconds."""
        from torch.autograd import DeviceType
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device == "cuda" else [])
        with profile(activities=activities) as profiler:
            self.generate(batch, new_tokens, pad_token_id)
        dispatched = sum(
            1
            for event in profiler.events()
            if event.name.startswith("aten::")
            and (event.cpu_parent is None or not event.cpu_parent.name.startswith("aten::"))
        )
        if self.device != "cuda":
            return dispatched, None
        kernels = [event for event in profiler.events() if event.device_type == DeviceType.CUDA]
        return dispatched, sum(event.self_device_time_total for event in kernels) / 1e6  # as torch's own table sums


def timing_groups(ways: list[str]) -> list[list[str]]:
    """The ways in the order they are timed: the eager ways together (their calls interleaved), then each compiled way
    alone, so that the results saved after each group keep the eager prices when a compilation runs past the
    lease (`gpu_lease.sh` stops a command at its limit)."""
    return [[name for name in ways if name not in GPU_ONLY_WAYS]] + [[name] for name in ways if name in GPU_ONLY_WAYS]


def measure(args, tokenizer, problems: list[str], failed: dict, on_progress=None) -> dict:
    """Every way at every row count: its first call, its price per decode step, the host's operators per step and, on
    a GPU, the kernels' time. A way other than the baseline that fails (e.g. a machine without the compiler
    `torch.compile` needs) is left out from then on, its error in `failed`. The groups of `timing_groups` in turn,
    each at every row count; `on_progress(results)` after each."""
    import torch

    pad = tokenizer.pad_token_id
    steps = args.long_tokens - args.short_tokens
    results = {name: {} for name in args.ways}
    ways = {}

    def give_up(name: str, reason: str) -> None:
        failed[name] = reason[:500]
        ways.pop(name, None)
        print(f"{name} failed: {failed[name]}", flush=True)

    def attempt(name: str, call, *arguments):
        if name in failed:
            return None
        try:
            return call(*arguments)
        except Exception as error:  # one way's failure leaves the others' figures
            if name == BASELINE:
                raise
            give_up(name, f"{type(error).__name__}: {error}")
            return None

    def time_group(group: list[str], rows: int, batch: dict) -> None:
        timings = {name: {"short": [], "long": []} for name in group}
        for name in group:
            if name in ways:
                first = attempt(name, ways[name].generate, batch, args.long_tokens, pad)  # compiling; the timed shape
                if first is not None:
                    figures = {"first_call_seconds": first, "prompt_width": batch["input_ids"].shape[1]}
                    results[name][str(rows)] = {**figures, "static_cache_length": ways[name].static_cache_length()}
        for _ in range(args.repeats):
            for name in group:
                for length, tokens in (("short", args.short_tokens), ("long", args.long_tokens)):
                    seconds = attempt(name, ways[name].generate, batch, tokens, pad) if name in ways else None
                    if seconds is not None:
                        timings[name][length].append(seconds)
        for name in group:
            if name not in ways:
                continue
            way, figures = ways[name], results[name][str(rows)]
            if way.static_cache_length() != figures["static_cache_length"]:  # a timed call would have compiled
                before, after = figures["static_cache_length"], way.static_cache_length()
                give_up(
                    name,
                    f"RuntimeError: {name}: the static cache grew from {before} to {after} during the timed calls",
                )
                continue
            short, long = statistics.median(timings[name]["short"]), statistics.median(timings[name]["long"])
            figures.update(short_call_seconds=short, long_call_seconds=long, calls=timings[name])
            figures["ms_per_decode_step"] = 1000 * (long - short) / steps
            try:  # the price stands without the profile
                (short_ops, short_device), (long_ops, long_device) = (
                    way.profile(batch, tokens, pad) for tokens in (args.short_tokens, args.long_tokens)
                )
                figures["host_ops_per_decode_step"] = (long_ops - short_ops) / steps
                if args.device == "cuda":
                    figures["device_ms_per_decode_step"] = 1000 * (long_device - short_device) / steps
            except Exception as error:
                figures["profile_error"] = f"{type(error).__name__}: {error}"[:500]
            if way.compiled:  # what a new shape costs where shapes are compiled
                wider = prompt_batch(tokenizer, problems, rows, args.device, extra_padding=NEW_SHAPE_PADDING)
                figures["new_shape_seconds"] = attempt(name, way.generate, wider, args.long_tokens, pad)
                figures["new_shape_again_seconds"] = attempt(name, way.generate, wider, args.long_tokens, pad)
                figures.update(graphs_compiled=way.graphs_compiled, cudagraph_skips=way.cudagraph_skips)
            print(f"{rows:4d} rows  {name:24s} {figures['ms_per_decode_step']:8.2f} ms/step", flush=True)

    for name in args.ways:
        way = attempt(name, Way, name, args.model, args.device)
        if way is not None:
            ways[name] = way
    batches = {rows: prompt_batch(tokenizer, problems, rows, args.device) for rows in args.rows}
    for group in timing_groups(args.ways):  # the eager prices at every row count before any compilation
        for rows, batch in batches.items():
            time_group(group, rows, batch)
            if on_progress is not None:
                on_progress(priced(results))
    ways.clear()
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return priced(results)


def priced(results: dict) -> dict:
    """Each way's row counts that it was priced at (a way that failed during one keeps the earlier ones)."""
    kept = {
        name: {rows: f for rows, f in by_rows.items() if "ms_per_decode_step" in f}
        for name, by_rows in results.items()
    }
    return {name: by_rows for name, by_rows in kept.items() if by_rows}


def price_cells(figures: dict, baseline: float | None) -> list[str]:
    """A way's cells at one row count: its price, over the baseline's, its host operators and kernel time per step,
    and its first call's seconds (and, compiled, those of the wider prompts' first call)."""
    price, device, ops = (
        figures.get(key) for key in ("ms_per_decode_step", "device_ms_per_decode_step", "host_ops_per_decode_step")
    )
    first = f"{figures['first_call_seconds']:.1f}"
    if figures.get("new_shape_seconds") is not None:
        again = figures.get("new_shape_again_seconds")
        first += f" (+{NEW_SHAPE_PADDING} columns: {figures['new_shape_seconds']:.1f}"
        first += f", again {again:.1f})" if again is not None else ")"
    if "graphs_compiled" in figures:
        first += f"; {figures['graphs_compiled']} graphs compiled, {figures['cudagraph_skips']} CUDA graphs skipped"
    return [
        f"{price:.2f}",
        f"**{price / baseline:.2f}**" if baseline else "—",
        f"{ops:,.0f}" if ops is not None else "—",
        f"{device:.2f} ({price / device:.1f})" if device else "—",
        first,
    ]


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load", "model", "rows", "way", "ms per decode step", f"× {BASELINE}"]
    header += ["host ops per step", "device ms per step (wall / device)", "first (long) call s", "results"]
    rows = []
    for results, path in runs:
        settings = results["settings"]
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        first_cells = [*provenance_cells(settings, f"{start[0]:.1f}", machine=settings.get("device_name"))]
        first_cells.append(pathlib.Path(settings["model"]).name)
        for count in map(str, settings["rows"]):
            baseline = results["ways"].get(BASELINE, {}).get(count, {}).get("ms_per_decode_step")
            for name in settings["ways"]:
                figures = results["ways"].get(name, {}).get(count)
                if figures is not None:
                    cells = price_cells(figures, baseline)
                elif name in results.get("failed_ways", {}):
                    cells = [f"failed: {results['failed_ways'][name]}", "", "", "", ""]
                else:
                    continue  # a run cut short before this row count
                rows.append([*first_cells, count, name, *cells, results_cell(path)])
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.utils.provenance import provenance_record
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs, report_results, save_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Model folder to decode with (required to time).")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="Where to decode (default cpu).")
    parser.add_argument(
        "--data_files", default=None, help="JSONL with a `problem` column (GSM8K's); else one problem."
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[128, 512],
                        help="Rows per generate call: a GRPO step's generation as the leases ran it (128; the recipes "
                             "generate 256 since 2026-11-26) and the evaluator's batch (512).")  # fmt: skip
    parser.add_argument("--short_tokens", type=int, default=8, help="New tokens of the short call (default 8).")
    parser.add_argument("--long_tokens", type=int, default=72, help="New tokens of the long call (default 72).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed pairs of calls per way and rows (default 3).")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=None,
                        help=f"Ways to time (default: all the device runs; {BASELINE} always).")  # fmt: skip
    add_results_options(parser)
    why = "to time the ways (only --write_docs runs without one)"
    args = parse_or_write_docs(parser, argv, write_docs, required=("model",), required_for=why)
    if args is None:
        return None
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.long_tokens <= args.short_tokens:
        parser.error(f"--long_tokens ({args.long_tokens}) must be more than --short_tokens ({args.short_tokens})")
    ways = args.ways or [way for way in WAYS if args.device == "cuda" or way not in GPU_ONLY_WAYS]
    if args.device == "cpu" and set(ways) & set(GPU_ONLY_WAYS):
        parser.error("--ways static_compiled needs --device cuda: on a CPU transformers does not compile the step")
    args.ways = list(dict.fromkeys([BASELINE, *ways]))
    import torch
    from transformers import AutoTokenizer

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no GPU here")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    problems = [PROBLEM]
    if args.data_files:
        from open_r1.data.benchmarks import load_problems

        problems = [problem.problem for problem in load_problems(args.data_files, limit=max(args.rows))]
    settings = {
        "model": args.model, "device": args.device, "data_files": args.data_files, "rows": args.rows,
        "short_tokens": args.short_tokens, "long_tokens": args.long_tokens, "repeats": args.repeats,
        "ways": args.ways, **provenance_record(),
        "device_name": torch.cuda.get_device_name() if args.device == "cuda" else None,
    }  # fmt: skip
    failed = {}

    def save_so_far(ways: dict) -> None:  # a lease that ends during a later way or row count keeps the earlier ones
        if args.output is not None:
            save_results(args.output, {"settings": settings, "ways": ways, "failed_ways": failed, "complete": False})

    results = {"settings": settings, "ways": measure(args, tokenizer, problems, failed, save_so_far)}
    results.update(failed_ways=failed, complete=True)
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    main()
