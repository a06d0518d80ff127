#!/usr/bin/env python
"""Benchmark: one CPU thread per training process (accelerate's default) against one per core, on idle cores and
beside a busy neighbour.

    python scripts/benchmarks/cpu_threads.py --output docs/results/cpu_threads/cpu-2cores.json
    python scripts/benchmarks/cpu_threads.py --write_docs docs/results/cpu_threads/*.json   # runs nothing

The README's first-hour recipes (`recipes/tiny/{sft,grpo}/config_cpu.yaml`, on the tiny model that
scripts/make_tiny_model.py builds into `--work_dir`) run through `accelerate launch` with
`--num_cpu_threads_per_process` 1 and then one per core (`open_r1.utils.launch`, which takes the count from
OMP_NUM_THREADS), each alone and beside a neighbour that keeps every core busy (one spinning Python process per
core, started before the launch and stopped after it). A step's seconds are the trainer's `train_runtime` over its
steps (start-up and model loading left out). Every setting runs once per `--repeats`, interleaved (each repeat runs
all of them in turn); the table gives their medians and, per workload and neighbour, one thread per core's time over
one thread's. As a control, a fixed pure-Python loop runs in the script's own process, idle and beside the neighbour.

`--output` writes the results (with date, commit, machine and load) as JSON; `--write_docs` writes their table into
docs/benchmarks.md between this script's markers, so the page is never typed by hand.
Not covered: GPUs (one process per GPU, threads do not matter there), several processes per machine, the real model.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("cpu_threads.py")
NEIGHBOURS = ("idle", "busy")
WORKLOADS = {
    "sft": ("sft.py", "recipes/tiny/sft/config_cpu.yaml"),
    "grpo": ("grpo.py", "recipes/tiny/grpo/config_cpu.yaml"),
}
SPIN = "while True: pass"
LOOP_ITERATIONS = 20_000_000


def busy_neighbour(cores: int) -> list[subprocess.Popen]:
    """One spinning interpreter per core: a machine whose cores another job holds."""
    return [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(cores)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def python_loop_seconds() -> float:
    """A fixed pure-Python loop in this process: what the neighbour leaves a process of the script's own session."""
    started, total = time.perf_counter(), 0
    for number in range(LOOP_ITERATIONS):
        total += number
    return time.perf_counter() - started


def seconds_per_step(output_dir: pathlib.Path, steps: int) -> float:
    """The trainer's own `train_runtime` (the training loop, no start-up) over the steps it ran."""
    history = json.loads((output_dir / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
    trained = max(entry["step"] for entry in history)
    if trained != steps:
        raise RuntimeError(f"{output_dir}: trained {trained} steps, not {steps}")
    return next(entry["train_runtime"] for entry in history if "train_runtime" in entry) / steps


def train(workload: str, work_dir: pathlib.Path, threads: int, steps: int) -> float:
    """One launch of `workload`'s tiny recipe on `threads` threads; its seconds per step."""
    from open_r1.utils import launch

    script, recipe = WORKLOADS[workload]
    output_dir = work_dir / f"{workload}-out"
    arguments = [
        f"--model_name_or_path={work_dir / ('sft-out' if workload == 'grpo' else 'tiny-model')}",
        f"--output_dir={output_dir}",
        f"--max_steps={steps}",
        "--save_strategy=no",
        "--logging_steps=1",
    ]
    if workload == "sft":
        arguments.append(f"--dataset_name={work_dir / 'tiny-sft'}")
    else:
        arguments.append(f"--dataset_name={work_dir / 'tiny-math'}")
    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)  # launch.cores_for_launches reads it: --num_cpu_threads_per_process
    try:
        launch.accelerate_launch(script, recipe, *arguments, timeout=1800)
    finally:
        if previous is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = previous
    return seconds_per_step(output_dir, steps)


def prepare(work_dir: pathlib.Path) -> None:
    """The tiny model and its data, and an SFT model for GRPO to start from (the README's first two commands)."""
    from open_r1.utils import launch

    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "make_tiny_model.py"), "--output_dir", str(work_dir)],
        check=True,
        capture_output=True,
    )
    sft = [f"--model_name_or_path={work_dir / 'tiny-model'}", f"--dataset_name={work_dir / 'tiny-sft'}"]
    sft += [f"--output_dir={work_dir / 'sft-out'}", "--save_strategy=no"]
    launch.accelerate_launch("sft.py", WORKLOADS["sft"][1], *sft, timeout=1800)


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before → after", "workload", "neighbour", "1 thread"]
    header += ["a thread per core", "a thread per core / 1 thread", "repeats", "results"]
    rows = []
    for results, path in runs:
        settings = results["settings"]
        machine = read_provenance(settings)["machine"]
        start, end = machine["load_average_at_start"], machine["load_average_at_end"]
        for workload in results["medians"]:
            for neighbour, medians in results["medians"][workload].items():
                one, every = medians["1"], medians[str(settings["cores"])]
                ratio = every / one
                verdict = f"{ratio:.2f}× ({1 / ratio:.1f}× faster)" if ratio < 1 else f"{ratio:.1f}× slower"
                rows.append(
                    [
                        *provenance_cells(settings, f"{start[0]:.2f} → {end[0]:.2f}"),
                        f"tiny {workload.upper()}, {settings['steps'][workload]} step"
                        + ("s" if settings["steps"][workload] != 1 else ""),
                        "every core busy" if neighbour == "busy" else "idle",
                        f"{one:.3g} s/step",
                        f"{every:.3g} s/step ({settings['cores']} threads)",
                        f"**{verdict}**",
                        str(settings["repeats"]),
                        results_cell(path),
                    ]
                )
    table = markdown_table(header, rows)
    loops = [
        f"{results['settings']['commit'] or 'unknown'}: {loop['idle']:.2f} s idle, {loop['busy']:.2f} s beside the "
        f"neighbour (**{loop['busy'] / loop['idle']:.2f}×**)"
        for results, _ in runs
        for loop in [results["python_loop_seconds"]]
    ]
    return f"{table}\n\nA pure-Python loop in the script's own process, as a control: " + "; ".join(loops) + "."


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.utils.launch import usable_cores
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs, report_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sft_steps", type=int, default=30, help="SFT steps per launch (default 30).")
    parser.add_argument("--grpo_steps", type=int, default=5, help="GRPO steps per launch (default 5).")
    parser.add_argument("--repeats", type=int, default=1, help="Launches of each setting (default 1).")
    parser.add_argument(
        "--work_dir", type=pathlib.Path, default=REPO_ROOT / "data" / "benchmarks" / "cpu_threads",
        help="Where the tiny model, its data and the launches' outputs go.",
    )  # fmt: skip
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs)
    if args is None:
        return None
    cores = usable_cores()
    if cores < 2:
        parser.error("one thread per core is one thread on this machine: nothing to compare")
    steps = {"sft": args.sft_steps, "grpo": args.grpo_steps}
    settings = {"cores": cores, "steps": steps, "repeats": args.repeats, **provenance_record()}
    args.work_dir.mkdir(parents=True, exist_ok=True)
    prepare(args.work_dir)
    loop = {"idle": python_loop_seconds()}
    spinning = busy_neighbour(cores)
    try:
        time.sleep(0.5)
        loop["busy"] = python_loop_seconds()
    finally:
        stop(spinning)
    print(f"python loop: {loop['idle']:.2f} s idle, {loop['busy']:.2f} s beside the neighbour", flush=True)
    timings = {workload: {n: {"1": [], str(cores): []} for n in NEIGHBOURS} for workload in WORKLOADS}
    for _ in range(args.repeats):
        for workload in WORKLOADS:
            for neighbour in NEIGHBOURS:
                for threads in (1, cores):
                    spinning = busy_neighbour(cores) if neighbour == "busy" else []
                    try:
                        time.sleep(0.5 if spinning else 0)  # the neighbour's interpreters up before the launch
                        seconds = train(workload, args.work_dir, threads, steps[workload])
                    finally:
                        stop(spinning)
                    timings[workload][neighbour][str(threads)].append(seconds)
                    print(f"{workload} {neighbour:4s} {threads} threads: {seconds:.3f} s/step", flush=True)
    settings = with_end_load(settings)
    medians = {
        workload: {
            n: {t: statistics.median(values) for t, values in by_threads.items()} for n, by_threads in w.items()
        }
        for workload, w in timings.items()
    }
    results = {"settings": settings, "seconds_per_step": timings, "medians": medians, "python_loop_seconds": loop}
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    main()
