#!/usr/bin/env python
"""Flags (or removes) dataset rows that share a word n-gram with an evaluation benchmark.

Checks the `--problem_column` of a dataset against AIME 2024, AIME 2025, MATH-500, GPQA Diamond and
LiveCodeBench from the Hugging Face Hub, or, offline, against local benchmark files. Each benchmark
adds a boolean column `contaminated_<benchmark>`; `--cleanup` drops the contaminated rows and those
columns instead. The n-gram matching (lower-cased, whitespace-split words, 8-grams by default) is
`open_r1.data.contamination.NgramIndex`; rows are streamed in batches over every core.

    # upstream usage: check a Hub dataset, push the flagged copy to <dataset>_decontaminated
    python scripts/decontaminate.py --dataset open-r1/verifiable-coding-problems-python --problem_column problem
    # offline: local dataset against local benchmark files, results written to a folder
    python scripts/decontaminate.py --dataset data/train.jsonl \
        --benchmark_files ../shared/data/math500.jsonl ../shared/data/aime24.jsonl \
        --output_dir data/train_decontaminated --cleanup

With `--output_dir D` the dataset is saved with `save_to_disk` into D and the counts go to
D/contamination.json: {"rows": N, "contaminated": {"<benchmark>": count, ...}, "removed": M}.
Without it the result is pushed to the Hub as `--new_dataset_name` (default `<dataset>_decontaminated`).

Not covered: paraphrased or translated contamination; it only finds shared word n-grams.
"""

import argparse
import json
import logging
import pathlib
import sys

import datasets
import numpy as np
import pyarrow.compute

from open_r1.data.contamination import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_NGRAM_SIZE,
    MIN_RUN_CHARS,
    NgramIndex,
    flag_texts_parallel,
    masks_to_flags,
)
from open_r1.data.loading import load_dataset_reference
from open_r1.hub_access import Push, check_references
from open_r1.usage import (
    ArgumentParser,
    UsageError,
    check_local_path,
    check_output_folder,
    did_you_mean,
    exit_on_usage_error,
    looks_local,
    one_line,
)
from open_r1.utils.logs import configure_logging

logger = logging.getLogger("decontaminate")

# name -> (Hub id, config, split, problem column, extra load_dataset kwargs), as upstream checks them.
HUB_BENCHMARKS = {
    "aime_2024": ("HuggingFaceH4/aime_2024", None, "train", "problem", {}),
    "aime_2025": ("yentinglin/aime_2025", None, "train", "problem", {}),
    "math_500": ("HuggingFaceH4/MATH-500", None, "test", "problem", {}),
    "gpqa": ("Idavidrein/gpqa", "gpqa_diamond", "train", "Question", {}),
    # The v4_v5 window of LiveCodeBench, read from its JSONL files (datasets no longer runs the loading script).
    "lcb": (
        "livecodebench/code_generation_lite",
        None,
        "train",
        "question_content",
        {"data_files": ["test4.jsonl", "test5.jsonl"]},
    ),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", required=True, help="Hub dataset id, local data file, or saved dataset folder.")
    parser.add_argument("--config", default=None, help="Dataset configuration (subset) name.")
    parser.add_argument("--split", default="train", help="Split to check.")
    parser.add_argument("--ngram_size", type=int, default=DEFAULT_NGRAM_SIZE, help="Words per n-gram.")
    parser.add_argument("--problem_column", default="problem", help="Dataset column holding the problem text.")
    parser.add_argument("--cleanup", action="store_true", help="Remove contaminated rows and the flag columns.")
    parser.add_argument(
        "--new_dataset_name", default=None, help="Hub id to push to (default <dataset>_decontaminated)."
    )
    parser.add_argument(
        "--benchmark_files",
        nargs="+",
        default=[],
        help="Local benchmark files (jsonl/json/parquet/csv); each file's stem names its benchmark.",
    )
    parser.add_argument("--benchmark_column", default="problem", help="Problem column of the --benchmark_files.")
    parser.add_argument(
        "--hub_benchmarks",
        nargs="*",
        choices=sorted(HUB_BENCHMARKS),
        default=None,
        help="Hub benchmarks to check (default: all of them, or none when --benchmark_files is given).",
    )
    parser.add_argument(
        "--output_dir", default=None, help="Save the dataset and contamination.json here, not the Hub."
    )
    parser.add_argument(
        "--num_proc", type=int, default=None, help="Processes (default: every core this process may use)."
    )
    parser.add_argument("--batch_size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per batch sent to a process.")
    args = parser.parse_args(argv)
    if args.ngram_size < 1:
        parser.error(f"--ngram_size must be at least 1, got {args.ngram_size}")
    for name in ("num_proc", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.output_dir and args.new_dataset_name:
        parser.error("--new_dataset_name names the Hub dataset to push, and --output_dir saves here instead; give one")
    if args.hub_benchmarks is None:
        args.hub_benchmarks = [] if args.benchmark_files else sorted(HUB_BENCHMARKS)
    if not args.hub_benchmarks and not args.benchmark_files:
        parser.error("nothing to check against: give --benchmark_files and/or --hub_benchmarks")
    if not args.output_dir and not args.new_dataset_name and pathlib.Path(args.dataset).expanduser().exists():
        parser.error(f"--dataset {args.dataset} is local: give --output_dir, or --new_dataset_name to push to the Hub")
    if args.output_dir:
        check_output_folder("--output_dir", args.output_dir)
        _check_output_is_not_the_input(args.dataset, args.output_dir)
    for path in args.benchmark_files:
        check_local_path("--benchmark_files", path)
        if not pathlib.Path(path).is_file():
            parser.error(f"--benchmark_files: {path} is not a file")
    references = [("--dataset", args.dataset, "dataset")]
    references += [(f"--hub_benchmarks {name}", HUB_BENCHMARKS[name][0], "dataset") for name in args.hub_benchmarks]
    push = None if args.output_dir else Push("without --output_dir the result goes to the Hub", "give --output_dir")
    instead = (
        "give --benchmark_files (benchmark JSONL files with a problem column; the Hub's are then left out)"
        if looks_local(args.dataset)
        else "give a local --dataset, and --benchmark_files for the benchmarks (the Hub's are then left out)"
    )
    check_references(references, push, instead)
    return args


def _check_output_is_not_the_input(dataset: str, output_dir: str) -> None:
    """A saved dataset cannot be saved over itself: `save_to_disk` into the folder it reads from failed after all the
    matching (a data red team's)."""
    source, output = pathlib.Path(dataset).expanduser(), pathlib.Path(output_dir).expanduser()
    if source.exists() and source.resolve() == output.resolve():
        raise UsageError(f"--output_dir {output_dir} is the --dataset folder it reads; name another folder")


def _check_text_column(dataset: datasets.Dataset, column: str, source: str, option: str) -> None:
    """`column` of `dataset` exists and holds text in every row: a UsageError naming `option` otherwise, before any
    matching (a null row failed inside the worker pool with a traceback)."""
    if column not in dataset.column_names:
        raise UsageError(
            f"{option} {column!r} is not a column of {source}; its columns are {dataset.column_names}"
            + did_you_mean(column, dataset.column_names, f"{option} ")
        )
    feature = dataset.features[column]
    if getattr(feature, "dtype", None) not in ("string", "large_string"):
        raise UsageError(f"{option} {column!r} of {source} holds {feature}, not problem text; name a text column")
    texts = dataset.select_columns([column]).with_format("arrow")[:][column]
    if texts.null_count:
        first = pyarrow.compute.index(texts.is_null(), True).as_py()
        rows = f"row {first} holds" if texts.null_count == 1 else f"{texts.null_count} rows hold, from row {first},"
        raise UsageError(f"{option} {column!r} of {source}: {rows} no text (null); drop or fill them")


def _problem_texts(dataset: datasets.Dataset, column: str, source: str, option: str) -> list[str]:
    _check_text_column(dataset, column, source, option)
    return dataset[column]


def load_benchmarks(args: argparse.Namespace) -> dict[str, list[str]]:
    """Benchmark name -> problem texts, from the Hub ids and local files requested."""
    benchmarks = {}
    for name in args.hub_benchmarks:
        hub_id, config, split, column, kwargs = HUB_BENCHMARKS[name]
        loaded = datasets.load_dataset(hub_id, config, split=split, **kwargs)
        benchmarks[name] = _problem_texts(loaded, column, f"benchmark {name} ({hub_id})", "its problem column")
    for path in args.benchmark_files:
        file = pathlib.Path(path)
        if file.stem in benchmarks:
            raise UsageError(f"--benchmark_files: two benchmarks are named {file.stem!r}; rename one of the files")
        loaded = load_dataset_reference(str(file), split="train")
        benchmarks[file.stem] = _problem_texts(
            loaded, args.benchmark_column, f"benchmark file {path}", "--benchmark_column"
        )
    return benchmarks


class ColumnSlices:
    """A lazy, picklable view of one dataset column: `view[a:b]` reads only rows a..b-1."""

    def __init__(self, dataset: datasets.Dataset, column: str):
        self.dataset, self.column = dataset.select_columns([column]), column

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, rows: slice) -> list:
        return self.dataset[rows][self.column]


def flag_dataset(
    dataset: datasets.Dataset, column: str, index: NgramIndex, num_proc: int, batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, list[bool]]:
    """One boolean list per benchmark: whether each row shares an n-gram with it."""
    _check_text_column(dataset, column, "the dataset", "--problem_column")
    masks = flag_texts_parallel(index, ColumnSlices(dataset, column), num_proc=num_proc, batch_size=batch_size)
    return masks_to_flags(masks, index.names)


def main(argv=None) -> dict:
    args = parse_args(argv)
    configure_logging()
    try:
        dataset = load_dataset_reference(args.dataset, args.config, args.split, config_field="--config")
    except ValueError as error:  # e.g. no such split
        raise UsageError(f"--dataset {args.dataset}: {one_line(error)}") from None
    benchmarks = load_benchmarks(args)
    # An earlier check's columns for these benchmarks are replaced (add_column failed on them after all the matching);
    # those for other benchmarks stay, as data --cleanup does not read.
    replaced = [f"contaminated_{name}" for name in benchmarks if f"contaminated_{name}" in dataset.column_names]
    if replaced:
        logger.info("Replacing the flags of an earlier check: %s", ", ".join(replaced))
        dataset = dataset.remove_columns(replaced)
    kept = [name for name in dataset.column_names if name.startswith("contaminated_")]
    if kept:
        logger.info("Keeping the flags of an earlier check against other benchmarks: %s", ", ".join(kept))
    try:
        index = NgramIndex(benchmarks, args.ngram_size)
    except ValueError as error:  # an empty problem: "benchmark 'math500', problem 7: expected a non-empty string"
        raise UsageError(str(error)) from None
    logger.info(
        "Indexed %d benchmark n-grams of %d words from %s%s",
        index.num_ngrams,
        args.ngram_size,
        ", ".join(benchmarks),
        f", and {index.num_short_problems} problems shorter than that, each matched as its whole run of words"
        if index.num_short_problems
        else "",
    )
    if index.num_whole_row_problems:
        logger.info(
            "%d benchmark problems are a single word or under %d characters: each flags only a row that is exactly it",
            index.num_whole_row_problems,
            MIN_RUN_CHARS,
        )

    num_rows = len(dataset)
    flags = flag_dataset(dataset, args.problem_column, index, args.num_proc, args.batch_size)
    counts = {name: int(sum(column)) for name, column in flags.items()}
    for name, count in counts.items():
        logger.info("%s: %d of %d rows contaminated", name, count, num_rows)

    for name, column in flags.items():
        dataset = dataset.add_column(f"contaminated_{name}", column)
    removed = 0
    if args.cleanup:
        any_flag = np.any(np.array([flags[name] for name in flags]), axis=0)
        keep = np.flatnonzero(~any_flag)
        removed = len(dataset) - len(keep)
        dataset = dataset.select(keep).remove_columns([f"contaminated_{name}" for name in flags])
        logger.info("Removed %d contaminated rows, %d remain", removed, len(dataset))

    report = {"rows": num_rows, "contaminated": counts, "removed": removed}
    if args.output_dir:
        output = pathlib.Path(args.output_dir)
        dataset.save_to_disk(str(output))
        (output / "contamination.json").write_text(json.dumps(report, indent=2) + "\n")
        logger.info("Saved the dataset and contamination.json to %s", output)
    else:
        target = args.new_dataset_name or f"{args.dataset}_decontaminated"
        dataset.push_to_hub(target, config_name=args.config or "default", split=args.split)
        logger.info("Pushed the dataset to %s", target)
    return report


if __name__ == "__main__":
    with exit_on_usage_error("decontaminate.py"):
        report = main()
    json.dump(report, sys.stdout)
    print()
