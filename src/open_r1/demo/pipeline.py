"""The steps `make demo`'s modes and `make gsm8k` run through, each on the project's real code path.

Output folder reset, the tiny model built on the spot, prompts and data files as the evaluator reads them,
training launched as users launch it (`open_r1.utils.launch`), a checkpoint sampled and graded with
`open_r1.eval.offline` (on CPU unless told otherwise), GRPO's logged rewards read back, and results.json +
report.md written; a run's jobs one after the other or each in its own process at once (`run_jobs`).
Not covered: what a mode builds or reports (`open_r1.demo.r1`, `open_r1.demo.tools`, `open_r1.demo.gsm8k`,
`open_r1.demo.report`); where and when a run was measured (`open_r1.utils.provenance`).
"""

import dataclasses
import json
import pathlib
import shlex
import shutil
import time

from open_r1.tasks.tiny_model import TinyModelSpec
from open_r1.usage import merged_options
from open_r1.utils.launch import ONE_PROCESS_CONFIG, accelerate_launch, run_at_once
from open_r1.utils.launch import REPO_ROOT as REPO_ROOT  # the demo modules find the checkout as pipeline.REPO_ROOT
from open_r1.utils.results_docs import save_results

STAGES = ("base", "sft", "grpo")


def banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def prepare_output_dir(output_dir: pathlib.Path, checkpoints: list[str]) -> None:
    """Creates `output_dir` with an empty logs/, removing what an earlier run left there (and saying so: a newcomer's
    check with FAST=1 replaced a full run's results without a word), its curves (curves*.png) included: a run of
    another arm would otherwise leave the earlier arm's beside its own results."""
    curves = sorted(path.name for path in output_dir.glob("curves*.png")) if output_dir.is_dir() else []
    earlier = [
        name for name in ("results.json", "report.md", "evals", *checkpoints) if (output_dir / name).exists()
    ] + curves
    if earlier:
        print(
            f"Replacing the earlier run in {output_dir} ({', '.join(earlier)}); another --output_dir (make's "
            "OUTPUT_DIR=...) keeps both",
            flush=True,
        )
    else:
        print(f"Writing to {output_dir}", flush=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    # A stale checkpoint would make the trainers resume instead of training this run's model.
    for name in ("base-model", "datasets", "evals", "logs", *checkpoints):
        shutil.rmtree(output_dir / name, ignore_errors=True)
    # An earlier run's results beside this run's evaluations, were this one to stop before writing its own.
    for name in ("results.json", "report.md", *curves):
        (output_dir / name).unlink(missing_ok=True)
    (output_dir / "logs").mkdir()


def build_tiny_model(folder: pathlib.Path, spec: TinyModelSpec, seed: int) -> int:
    """The randomly initialised tiny model and its tokenizer, saved in `folder`; returns the parameter count."""
    from open_r1.tasks.tiny_model import build_model, build_tokenizer

    spec = dataclasses.replace(spec, seed=seed)
    tokenizer = build_tokenizer(spec)
    model = build_model(tokenizer, spec)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())


def save_train_split(folder: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    """`rows` as the train split of a DatasetDict on disk, which the recipes' `dataset_name` loads."""
    from datasets import Dataset, DatasetDict

    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(folder))
    return folder


def write_test_file(path: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    """The held-out problems as the evaluator's JSONL (id, problem, answer)."""
    with path.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            handle.write(
                json.dumps({"id": f"test-{index}", "problem": row["problem"], "answer": row["answer"]}) + "\n"
            )
    return path


def train(
    script: str,
    recipe: str,
    model: pathlib.Path,
    dataset: pathlib.Path,
    output_dir: pathlib.Path,
    seed: int,
    log_file: pathlib.Path,
    *overrides: str,
    cpu: bool = True,
) -> float:
    """Trains `model` on `dataset` with `src/open_r1/<script>` as users launch it (`cpu`: on the CPU, else on the
    GPU), printing its progress and keeping a log; returns the seconds it took. An option in `overrides` replaces
    the same option given before it (FAST's `--max_steps` and `--grpo_max_steps`'s). The launch is one process started
    directly (`one_process.yaml`): under torchrun a single GPU process still opens an NCCL process group, whose
    buffers are allocated outside PyTorch's cache, and on 2026-11-26 its first collective ran out of GPU memory."""
    started = time.perf_counter()
    accelerate_launch(
        script,
        recipe,
        *merged_options(
            ("--model_name_or_path", str(model), "--dataset_name", str(dataset)),
            ("--output_dir", str(output_dir), "--seed", str(seed)),
            overrides,
        ),
        accelerate_config=ONE_PROCESS_CONFIG,
        log_file=log_file,
        stream=True,
        cpu=cpu,
    )
    return time.perf_counter() - started


def run_jobs(jobs: dict[str, tuple], log_dir: pathlib.Path, at_once: bool) -> dict:
    """`function(*args)` of every job (name -> (function, args)): each in its own process at the same time
    (`run_at_once`, its output in `log_dir`), or one after the other in this one."""
    if at_once:
        return run_at_once(jobs, log_dir)
    return {name: function(*args) for name, (function, args) in jobs.items()}


def release_gpu_memory() -> None:
    """Returns the memory PyTorch's caching allocator still reserves to the GPU: `make gsm8k`'s arm processes wait
    on a GRPO run after evaluating, and on an H100 the 15.6 GB one kept reserved made that GRPO run out of memory."""
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()


def run_evaluator(
    model: pathlib.Path,
    task: str,
    data_file: pathlib.Path,
    output_dir: pathlib.Path,
    *,
    label: str,
    device: str = "cpu",
    **settings,
) -> tuple[dict, list[dict]]:
    """Samples and grades one checkpoint (float32) with `open_r1.eval.offline` on `device`, showing a progress bar;
    returns its results and its details (one row per sample)."""
    from tqdm.auto import tqdm

    from open_r1.eval.arguments import EvaluateArguments
    from open_r1.eval.offline import evaluate, read_details

    args = EvaluateArguments(
        task=task,
        data_files=str(data_file),
        output_dir=str(output_dir),
        model=str(model),
        device=device,
        dtype="float32",
        **settings,
    )
    bars = []  # made at the first progress, which knows the total: a bar without one showed "0problem [00:00, ?]"

    def show_progress(done: int, total: int, tool_round: int | None = None) -> None:
        if not bars:
            bars.append(tqdm(desc=f"evaluating {label}", unit="problem", total=total))
        bar = bars[0]
        bar.total = total
        shown = f"tool round {tool_round}"
        # Most tool rollouts end in the later rounds: the count alone looks stuck, so a new round redraws the bar.
        if tool_round is not None and bar.postfix != shown:
            bar.set_postfix_str(shown, refresh=True)
        bar.update(done - bar.n)

    try:
        results = evaluate(args, on_progress=show_progress)
    finally:
        for bar in bars:
            bar.close()
    if device.startswith("cuda"):
        release_gpu_memory()
    return results, read_details(output_dir)


def reward_log(trainer_state: pathlib.Path) -> list[dict]:
    """The entries of GRPO's log history that report rewards, one per logged step."""
    return [entry for entry in json.loads(trainer_state.read_text())["log_history"] if "reward" in entry]


def default_output_dir(model: str, with_tools: bool) -> str:
    """Where `make demo` writes without OUTPUT_DIR, from the repository root."""
    if with_tools:
        return "data/demo_tools"
    return "data/demo" if model == "tiny" else f"data/demo-{model}"


def make_command(seed: int, fast: bool, *options: str, output_dir: pathlib.Path, default: str) -> str:
    """The `make demo` command line that reproduces a run, as the report quotes it: OUTPUT_DIR where `output_dir` is
    not the `default` folder (a newcomer's report quoted a command that wrote elsewhere)."""
    elsewhere = output_dir.resolve() != (pathlib.Path.cwd() / default).resolve()
    folder = (f"OUTPUT_DIR={shlex.quote(str(output_dir))}",) if elsewhere else ()
    return " ".join(("make demo", *options, f"SEED={seed}", *(("FAST=1",) if fast else ()), *folder))


def write_results(output_dir: pathlib.Path, results: dict, report: str, table: str, files: str) -> None:
    """Writes results.json and report.md, then prints where they are and the results table."""
    save_results(output_dir / "results.json", results, quiet=True)
    (output_dir / "report.md").write_text(report, encoding="utf-8")
    banner(f"done in {results['total_seconds']:.0f} s: {output_dir}/{files}")
    print(table, flush=True)
