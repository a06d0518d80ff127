#!/usr/bin/env python
"""Benchmark: make gsm8k's evaluation of one arm, uncompiled against compiled (`compile_decoding`), in one run.

    # GPU: the base model on all of GSM8K-test, chain-of-thought arm, greedy and sampled (the decoding lease plan)
    python scripts/benchmarks/compiled_evaluation.py --model data/models/SmolLM2-135M-Instruct-f32 --arm cot \
        --test_file data/shared/gsm8k_test.jsonl --output data/lease/compiled_evaluation_cot.json
    # GPU: the tool arm's SFT model (make gsm8k --sft_only --arm tools), with its python tool, greedy, compiled only
    # (the tools-sft plan, whose own greedy evaluation of that model is the uncompiled one)
    python scripts/benchmarks/compiled_evaluation.py --model data/gsm8k/sft-tools --arm tools --kinds greedy \
        --ways compiled --test_file data/shared/gsm8k_test.jsonl --output data/lease/compiled_evaluation_tools.json
    python scripts/benchmarks/compiled_evaluation.py --write_docs docs/results/compiled_evaluation/*.json

Each evaluation (`--kinds`: greedy, and sampled with make gsm8k's samples per problem) runs with the evaluator's
settings as make gsm8k gives them for `--arm` (`open_r1.demo.gsm8k_evals.stage_settings`: system prompt, budget,
batch, the tool arm's tool), in each of `--ways` in the order given: uncompiled, and with `compile_decoding`
(open_r1.eval.decoding: one static cache length, rows padded to a few counts, transformers' compiled decode step),
one after the other in this process. Before each compiled evaluation torch.compile forgets what it compiled
(`torch._dynamo.reset()`), as make gsm8k's evaluations, each in its own process, start (inductor's cache on disk
stays, as it would on one machine). Recorded for each: the evaluation's wall seconds, its generate calls and decode
steps, the first call's seconds (compiling, for the compiled way), the milliseconds per decode step of the later
calls (their mean, which counts a new shape's compilation or CUDA graph recording in a later call, and the median
call's), pass@1, and the share of completions the two ways wrote alike (greedy decoding should agree but for
near-ties that compiled kernels round otherwise; sampled decoding draws other random numbers once a call is padded).
Ratio: compiled seconds over uncompiled. The first evaluation also pays CUDA's start (a second or two).
The results file is written after each evaluation, so a run stopped at a lease's limit keeps what it finished.
Not covered: the card protocol's 5-shot evaluation (make gsm8k keeps it uncompiled), several GPUs.
"""

import argparse
import pathlib
import tempfile
import time

from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("compiled_evaluation.py")
WAYS = ("uncompiled", "compiled")


def evaluate(args, run: dict, kind: str, output_dir: pathlib.Path) -> tuple[dict, list[dict], float]:
    """One evaluation of `args.model` as make gsm8k runs it for `args.arm` (`run`: its evaluation settings,
    `gsm8k.evaluation_settings`): its results, details and wall seconds."""
    from open_r1.demo import pipeline
    from open_r1.demo.gsm8k_evals import evaluation_samples, stage_settings

    num_samples = evaluation_samples(run["settings"])[kind]
    evaluation = {**stage_settings(args.arm, "benchmark", kind, num_samples, run, args.seed), "limit": args.limit}
    started = time.perf_counter()
    results, details = pipeline.run_evaluator(
        args.model, "gsm8k", args.test_file, output_dir, device=args.device, **evaluation
    )
    return results, details, time.perf_counter() - started


def decoding_summary(results: dict, seconds: float) -> dict:
    """What an evaluation's generate calls took: all, the first (the compiled way compiles in it), the others' price."""
    import statistics

    decoding = results["decoding"]
    timings = decoding["call_timings"]  # [decode steps, context tokens, seconds] per call
    later = [(steps, seconds) for steps, _, seconds in timings[1:] if steps]
    later_steps = sum(steps for steps, _ in later)
    return {
        "seconds": seconds,
        "pass@1": results["pass@1"],
        "calls": decoding["calls"],
        "decode_steps": decoding["decode_steps"],
        "decoding_seconds": decoding["seconds"],
        "first_call_seconds": timings[0][2] if timings else None,
        "ms_per_decode_step_after_the_first_call": (
            1000 * sum(seconds for _, seconds in later) / later_steps if later_steps else None
        ),
        "median_call_ms_per_decode_step_after_the_first": (
            1000 * statistics.median(seconds / steps for steps, seconds in later) if later else None
        ),
        "out_of_memory_splits": decoding["out_of_memory_splits"],
    }


def same_completions(first: list[dict], second: list[dict]) -> float:
    """The share of (problem, sample) completions two evaluations of the same problems wrote alike."""
    written = {(row["id"], row["sample_index"]): row["completion"] for row in first}
    alike = sum(written.get((row["id"], row["sample_index"])) == row["completion"] for row in second)
    return alike / max(len(second), 1)


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine", "model, arm, problems", "decoding", "way", "evaluation s", "first call s"]
    header += ["ms per decode step, later calls (median call)", "pass@1", "alike", "× uncompiled s", "results"]
    rows = []
    for results, path in runs:
        settings = results["settings"]
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        machine = provenance_cells(settings, f"load {start[0]:.1f}", machine=settings.get("device_name"))
        what = f"{pathlib.Path(settings['model']).name}, {settings['arm']}, {settings['limit'] or 'all'}"
        for kind, ways in results["evaluations"].items():
            for way, measured in ways.items():
                if way not in WAYS:
                    continue
                price = measured["ms_per_decode_step_after_the_first_call"]
                median = measured.get("median_call_ms_per_decode_step_after_the_first")
                ratio = ways.get("ratio_seconds") if way == "compiled" else None
                rows.append(
                    [
                        *machine,
                        what,
                        kind,
                        way,
                        f"{measured['seconds']:.1f}",
                        f"{measured['first_call_seconds']:.1f}" if measured["first_call_seconds"] is not None else "—",
                        f"{price:.1f} ({median:.1f})" if price is not None else "—",
                        f"{100 * measured['pass@1']:.1f}%",
                        f"{100 * ways['alike']:.1f}%" if way == "compiled" and "alike" in ways else "",
                        f"**{ratio:.2f}**" if ratio is not None else "",
                        results_cell(path),
                    ]
                )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.utils.provenance import provenance_record
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs, report_results, save_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="The model folder to evaluate (float32, as make gsm8k's).")
    parser.add_argument(
        "--arm", choices=("cot", "tools"), default="cot", help="make gsm8k's arm whose settings to use."
    )
    parser.add_argument(
        "--test_file", type=pathlib.Path, default=None, help="GSM8K-test as JSONL (id, problem, answer)."
    )
    parser.add_argument("--limit", type=int, default=0, help="The first N problems (default 0: all, as make gsm8k).")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=("greedy", "sampled"),
        default=["greedy", "sampled"],
        help="The evaluations to time (default both).",
    )
    parser.add_argument(
        "--ways",
        nargs="+",
        choices=WAYS,
        default=list(WAYS),
        help="The ways to evaluate, in this order (default both).",
    )
    parser.add_argument("--device", default="cuda", help="cuda (the compiled way compiles on a GPU only), or auto.")
    parser.add_argument("--seed", type=int, default=0, help="Sampling seed.")
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    if args.model is None or args.test_file is None:
        parser.error("--model and --test_file are needed to measure (or --write_docs to tabulate results files)")
    if args.device == "cpu":
        parser.error("--device cpu: the compiled way compiles on a GPU only, as transformers does")
    args.limit = args.limit or None
    import torch

    from open_r1.demo import gsm8k
    from open_r1.demo.settings import GSM8K_FULL

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else None
    settings = {
        "model": args.model, "arm": args.arm, "limit": args.limit, "kinds": args.kinds, "ways": args.ways,
        "device": args.device,
        "test_file": str(args.test_file), "seed": args.seed, "device_name": gpu, **provenance_record(),
    }  # fmt: skip
    results = {"settings": settings, "evaluations": {}}
    run = gsm8k.evaluation_settings(GSM8K_FULL, (args.arm,), args.device, False, None, args.test_file, False)
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.kinds:
            ways, details = {}, {}
            results["evaluations"][kind] = ways
            for way in args.ways:
                if way == "compiled":
                    torch._dynamo.reset()  # as a fresh process starts
                compiled = {**run, "compile_decoding": way == "compiled"}
                evaluated, details[way], seconds = evaluate(args, compiled, kind, pathlib.Path(folder) / way)
                ways[way] = decoding_summary(evaluated, seconds)
                print(f"{kind} {way}: {seconds:.1f} s, pass@1 {evaluated['pass@1']:.3f}", flush=True)
                if args.output:  # after each evaluation: a run stopped at a lease's limit keeps what it finished
                    save_results(args.output, results, quiet=True)
            if len(args.ways) == 2:
                ways["ratio_seconds"] = ways["compiled"]["seconds"] / ways["uncompiled"]["seconds"]
                ways["alike"] = same_completions(details["uncompiled"], details["compiled"])
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    main()
