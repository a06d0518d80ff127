"""Loads the training data named by a recipe: one dataset or a weighted mixture.

    dataset = get_dataset(script_args)      # -> datasets.DatasetDict

A dataset reference (`dataset_name`, or `id` in a mixture) is any of:
- a Hub dataset id (`open-r1/Mixture-of-Thoughts`), with `dataset_config` / `config`;
- a folder written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`;
- a folder of data files, or local json/jsonl/parquet/csv/arrow files (comma-separated for several).

A mixture loads each dataset's split, keeps its `columns`, keeps a `weight` fraction of its rows
(sampled with the mixture seed), concatenates, shuffles, and optionally holds out a `test` split.
Every failure names the dataset and what was expected.

Not covered: streaming datasets and interleaving by probability (the mixture concatenates).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from datasets import Dataset, DatasetDict, concatenate_datasets

from open_r1.data.loading import load_dataset_reference
from open_r1.usage import UsageError, did_you_mean

if TYPE_CHECKING:  # the recipe's argument classes; importing them at run time would load TRL
    from open_r1.configs import DatasetConfig, ScriptArguments

logger = logging.getLogger(__name__)


def select_columns(dataset: Dataset, columns: list[str], name: str) -> Dataset:
    """Keeps `columns`, failing with the names that exist when one is missing."""
    missing = [column for column in columns if column not in dataset.column_names]
    if missing:
        raise UsageError(
            f"Dataset {name!r} has no column(s) {missing}; its columns are {dataset.column_names}"
            + "".join(did_you_mean(column, dataset.column_names) for column in missing)
        )
    return dataset.select_columns(columns)


def _load_mixture_member(entry: DatasetConfig, seed: int) -> Dataset:
    dataset = load_dataset_reference(entry.id, entry.config, entry.split, config_field=f"config of {entry.id}")
    if entry.columns is not None:
        dataset = select_columns(dataset, entry.columns, entry.id)
    if entry.weight is not None:
        keep = int(len(dataset) * entry.weight)
        if keep == 0:
            raise UsageError(
                f"Dataset {entry.id!r}: weight {entry.weight} of {len(dataset)} rows keeps no row; raise the weight"
            )
        dataset = dataset.shuffle(seed=seed).select(range(keep))
    logger.info("Mixture member %s (%s/%s): %d rows", entry.id, entry.config, entry.split, len(dataset))
    return dataset


def _concatenate(parts: list[Dataset], entries: list[DatasetConfig]) -> Dataset:
    reference = parts[0]
    for part in parts[1:]:
        if sorted(part.column_names) != sorted(reference.column_names):
            listing = "; ".join(f"{e.id}: {p.column_names}" for p, e in zip(parts, entries))
            raise UsageError(
                f"Datasets of a mixture must have the same columns (select them with `columns`); got {listing}"
            )
    aligned = [reference]
    for part, entry in zip(parts[1:], entries[1:]):
        if part.features != reference.features:
            try:
                part = part.select_columns(reference.column_names).cast(reference.features)
            except (ValueError, TypeError) as error:
                raise UsageError(
                    f"Dataset {entry.id!r} has column types {part.features} that cannot be cast to those of "
                    f"{entries[0].id!r}: {reference.features}"
                ) from error
        aligned.append(part)
    return concatenate_datasets(aligned)


def get_dataset(args: ScriptArguments) -> DatasetDict:
    """The training data of `args`: `dataset_name` loaded whole, or `dataset_mixture` combined."""
    if args.dataset_mixture is None:
        if not args.dataset_name:
            raise UsageError("Either `dataset_name` or `dataset_mixture` must be provided")
        logger.info("Loading dataset %s", args.dataset_name)
        return load_dataset_reference(args.dataset_name, args.dataset_config)

    mixture = args.dataset_mixture
    logger.info("Loading a mixture of %d datasets", len(mixture.datasets))
    parts = [_load_mixture_member(entry, mixture.seed) for entry in mixture.datasets]
    combined = _concatenate(parts, mixture.datasets).shuffle(seed=mixture.seed)
    logger.info("Mixture: %d rows", len(combined))
    if mixture.test_split_size is not None:
        return combined.train_test_split(test_size=mixture.test_split_size, seed=mixture.seed)
    return DatasetDict({"train": combined})


def add_system_prompt(
    dataset: DatasetDict, system_prompt: str | None, column: str = "messages", read_elsewhere: bool = False
) -> DatasetDict:
    """Prepends `system_prompt` to each conversation in `column` that has no system turn yet; a UsageError when
    every conversation already has one (the field would change nothing), unless `read_elsewhere` (SFT passes it on
    to the benchmark jobs of `benchmarks`)."""
    if system_prompt is None:
        return dataset

    def opens_with_system(messages) -> bool:
        return bool(messages) and messages[0]["role"] == "system"

    def prepend(row):
        messages = row[column]
        if opens_with_system(messages):
            return {column: messages}
        return {column: [{"role": "system", "content": system_prompt}, *messages]}

    rows = opened = 0
    for split, part in dataset.items():
        if column not in part.column_names:
            raise UsageError(
                f"system_prompt is set but split {split!r} has no conversational column {column!r}; "
                f"its columns are {part.column_names}"
            )
        kept = sum(
            opens_with_system(messages)
            for batch in part.select_columns([column]).iter(batch_size=1024)
            for messages in batch[column]
        )
        if kept:
            logger.info(
                "system_prompt: %d of the %d conversations of split %r keep their own system turn",
                kept,
                len(part),
                split,
            )
        rows, opened = rows + len(part), opened + kept
    if rows and opened == rows and not read_elsewhere:
        raise UsageError(
            "system_prompt has no effect: every conversation already opens with a system turn, which it does not "
            "replace; unset system_prompt, or drop those turns from the data"
        )
    return dataset.map(prepend, desc="Adding the system prompt")
