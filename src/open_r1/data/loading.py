"""Loads a dataset named by a Hub id, local data file(s) or a local folder: the project's one loader.

    dataset = load_dataset_reference("data/train.jsonl", split="train")      # json/jsonl/parquet/csv/arrow file
    dataset = load_dataset_reference("data/a.jsonl,data/b.jsonl", split="train")  # several files of one format
    dataset = load_dataset_reference("data/saved", split="test")             # folder from `save_to_disk`, or of files
    dataset = load_dataset_reference("HuggingFaceH4/MATH-500", split="test")  # Hub id
    datasets = load_dataset_reference("data/saved")                          # every split: a DatasetDict

A reference is a local path when `open_r1.usage.looks_local` says so (it starts with `.`, `/` or `~`, names a data
file, or starts with a folder of the working directory, as `data/train` where `data/` exists); a missing one fails
at once instead of being tried on the Hub. It imports only `datasets`, so the data scripts (generation,
decontamination, pass-rate filtering) start fast; `open_r1.data.mixtures.get_dataset` (recipes, mixtures) builds on
it. Not covered: streaming.
"""

import contextlib
import logging
import pathlib
import re

import datasets
from datasets import Dataset, DatasetDict

from open_r1.data.jsonl import json_row
from open_r1.usage import DATA_FILE_BUILDERS, UsageError, looks_local


def _refuse_config(config: str | None, config_field: str, what: str) -> None:
    # A config names one of a Hub dataset's builder configurations; saved folders and data files have none, and
    # silently loading the whole thing instead would train on data the recipe did not ask for.
    if config is not None:
        raise UsageError(
            f"{config_field}={config!r} cannot apply to {what}, which has no configurations: remove {config_field}, "
            "or point the dataset at the configuration's own files"
        )


def _load_local(reference: str, config: str | None, config_field: str) -> Dataset | DatasetDict:
    paths = [pathlib.Path(part.strip()).expanduser() for part in reference.split(",")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"Dataset path(s) not found: {', '.join(missing)} (from dataset reference {reference!r})"
        )

    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        if (folder / "dataset_dict.json").exists() or (folder / "state.json").exists():
            _refuse_config(config, config_field, f"the save_to_disk folder {folder}")
            return datasets.load_from_disk(str(folder))
        return datasets.load_dataset(str(folder), config)

    suffixes = {p.suffix for p in paths}
    if len(suffixes) != 1 or next(iter(suffixes)) not in DATA_FILE_BUILDERS:
        raise UsageError(
            f"Dataset files {reference!r} must share one extension among {sorted(DATA_FILE_BUILDERS)}; got {sorted(suffixes)}"
        )
    _refuse_config(config, config_field, f"the data file(s) {reference}")
    builder = DATA_FILE_BUILDERS[suffixes.pop()]
    empty = [str(p) for p in paths if p.is_file() and not _starts_with_content(p)]
    if empty:
        raise UsageError(f"the data file {empty[0]} is empty (from dataset reference {reference!r})")
    # A small file builds in a second: its bar would only stand above an error about its columns.
    quiet = sum(p.stat().st_size for p in paths) <= QUIET_BUILD_BYTES
    try:
        with without_progress_bars() if quiet else contextlib.nullcontext(), _without_json_reader_errors():
            loaded = datasets.load_dataset(builder, data_files={"train": [str(p) for p in paths]})
    except (datasets.exceptions.DatasetGenerationError, ValueError) as error:
        # pyarrow's failure surfaces as either, depending on where in the file it came (a type change, a bad line).
        problem = first_bad_json_line(paths) or rows_without_fields(paths)
        raise UsageError(problem or f"datasets could not read {reference}: {error.__cause__ or error}") from error
    if loaded["train"].column_names == [SCALARS_COLUMN]:
        # datasets reads a file that is one JSON list of values as rows of a `text` column; a .jsonl holds objects.
        problem = first_bad_json_line([p for p in paths if _starts_with_list(p)])
        if problem:
            raise UsageError(problem)
    return loaded


# The column datasets' JSON builder puts the values of a file that is one JSON list of values (not objects) in.
SCALARS_COLUMN = "text"


def _starts_with_list(path: pathlib.Path) -> bool:
    """Whether the file's first character, past a BOM and whitespace, opens a JSON list."""
    with path.open("rb") as file:
        return file.read(1 << 16).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"[")


def rows_without_fields(paths: list[pathlib.Path]) -> str | None:
    """`<file>: every line is an empty JSON object {}` for a JSON Lines file among `paths` none of whose rows holds
    a field (datasets says only that the split "corresponds to no data"); None otherwise."""
    for path in paths:
        if path.suffix != ".jsonl":
            continue
        rows = 0
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                row, _ = json_row(line)
                if row:
                    break
                rows += 1
            else:
                if rows:
                    return f"{path}: its {rows} line(s) are all the empty JSON object {{}}: no row holds a field"
    return None


def _starts_with_content(path: pathlib.Path) -> bool:
    """Whether the file's first 64 KiB hold anything but whitespace (read alone: a data file may be gigabytes)."""
    with path.open("rb") as file:
        return bool(file.read(1 << 16).strip())


def first_bad_json_line(paths: list[pathlib.Path]) -> str | None:
    """`<file>:<line>: not valid JSON (...)` for the first line of the JSON Lines files among `paths` that does not
    parse as one JSON object; None when they all do (read only once datasets has failed on them)."""
    for path in paths:
        if path.suffix != ".jsonl":
            continue
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                _, problem = json_row(line)
                if problem:
                    return f"{path}:{number}: {problem}"
    return None


# Local data files up to this size are built without datasets' progress bar; larger ones keep it.
QUIET_BUILD_BYTES = 64 * 2**20


@contextlib.contextmanager
def _without_json_reader_errors():
    """datasets' JSON reader logs each file it fails on ("Failed to load JSON from file ...") before raising; the
    error raised here names the line instead."""
    reader = logging.getLogger("datasets.packaged_modules.json.json")
    level = reader.level
    reader.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        reader.setLevel(level)


@contextlib.contextmanager
def without_progress_bars():
    """datasets' and transformers' progress bars off inside (a quick write or read worth no bar), as they were after;
    each left as HF_DATASETS_DISABLE_PROGRESS_BARS / HF_HUB_DISABLE_PROGRESS_BARS says where it is set (the user's to
    decide)."""
    from huggingface_hub import constants as hub_constants
    from transformers.utils import logging as transformers_logging

    datasets_enabled = (
        datasets.config.HF_DATASETS_DISABLE_PROGRESS_BARS is None and not datasets.are_progress_bars_disabled()
    )
    # transformers' switch is huggingface_hub's, which warns when HF_HUB_DISABLE_PROGRESS_BARS has decided it.
    transformers_enabled = (
        hub_constants.HF_HUB_DISABLE_PROGRESS_BARS is None and transformers_logging.is_progress_bar_enabled()
    )
    if datasets_enabled:
        datasets.disable_progress_bars()
    if transformers_enabled:
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if datasets_enabled:
            datasets.enable_progress_bars()
        if transformers_enabled:
            transformers_logging.enable_progress_bar()


def check_prompts(prompts, column: str) -> None:
    """A `UsageError` naming the first of `prompts` (a column's values, in row order) that is not a non-empty
    string: generation scripts check before any request, where a server or a pipeline fails the whole batch."""
    for number, prompt in enumerate(prompts):
        if not isinstance(prompt, str) or not prompt.strip():
            raise UsageError(f"row {number}: column {column!r} must be a non-empty string, got {prompt!r}")


def load_dataset_reference(
    reference: str, config: str | None = None, split: str | None = None, config_field: str = "dataset_config"
):
    """Loads a Hub id or local path; returns the `split` as a Dataset, or every split as a DatasetDict.

    `config` (a Hub builder configuration, or of a folder of data files with a loading script or card) is an error
    for a save_to_disk folder or data files, which have none; `config_field` is its name in the caller's
    arguments, for that error."""
    if looks_local(reference):
        loaded = _load_local(reference, config, config_field)
    else:
        try:
            loaded = datasets.load_dataset(reference, config)
        except (FileNotFoundError, datasets.exceptions.DatasetNotFoundError, ConnectionError, OSError) as error:
            raise UsageError(
                f"Could not load dataset {reference!r} (config {config!r}): it is not a local path and loading it "
                f"from the Hugging Face Hub failed: {error}"
            ) from error

    if isinstance(loaded, Dataset):
        loaded = DatasetDict({"train": loaded})
    if split is None:
        return loaded
    name, rows = _parse_split(split)
    if name not in loaded:
        raise UsageError(f"Dataset {reference!r} has no split {name!r}; available splits: {sorted(loaded)}")
    return loaded[name] if rows is None else loaded[name].select(rows(len(loaded[name])))


# `datasets`' slice syntax: "train[:100]", "train[10:20]", "test[-5:]", "train[:10%]", "train[50%:]".
_SLICE = re.compile(r"^(?P<name>[\w.-]+)\[(?P<start>-?\d+%?)?:(?P<stop>-?\d+%?)?\]$")


def _parse_split(split: str):
    """(split name, function of the split's length giving the rows to keep, or None for all of them)."""
    if "[" not in split:
        return split, None
    match = _SLICE.match(split.replace(" ", ""))
    if match is None:
        raise UsageError(
            f"split {split!r}: expected a split name, optionally sliced as datasets does "
            "('train[:100]', 'train[10:20]', 'train[:10%]')"
        )

    def bound(text: str | None, length: int) -> int | None:
        if text is None:
            return None
        if text.endswith("%"):
            return round(length * int(text[:-1]) / 100)
        return int(text)

    return match["name"], lambda length: range(length)[bound(match["start"], length) : bound(match["stop"], length)]
