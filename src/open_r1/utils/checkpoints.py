"""A run's checkpoint-N folders: which is newest, which finished saving, and whether one can be resumed from.

    checkpoint = newest_complete_checkpoint(training_args.output_dir, warn_skipped=True)   # or None
    check_resumable("data/run/checkpoint-40")   # a UsageError for a folder without optimizer state or a state cut short

It imports only the standard library, so the command-line checks (`open_r1.usage`) use it before anything loads.
Not covered: which checkpoint a run resumes from (`open_r1.utils.training.resolve_checkpoint`) and what resuming
changes (`open_r1.utils.resume`).
"""

import json
import logging
import os
import re

from open_r1.usage import UsageError

# A Trainer's checkpoint folder in an output_dir.
CHECKPOINT_FOLDER = re.compile(r"checkpoint-\d+")


def checkpoints_newest_first(folder: str) -> list[str]:
    """The checkpoint-N folders of `folder`, highest step first (empty where it holds none or is no folder)."""
    try:
        names = [name for name in os.listdir(os.path.expanduser(folder)) if CHECKPOINT_FOLDER.fullmatch(name)]
    except OSError:
        return []
    return [os.path.join(folder, name) for name in sorted(names, key=lambda name: -int(name.split("-", 1)[1]))]


def unfinished_save(checkpoint: str) -> str | None:
    """Why `checkpoint`'s save did not finish, or None: the Trainer writes trainer_state.json last, and not
    atomically, so a job killed while saving (preempted, requeued: see tests/slurm) or a full disk leaves it missing
    or cut short, and resuming from that checkpoint crashes once the model has loaded."""
    path = os.path.join(checkpoint, "trainer_state.json")
    if not os.path.isfile(path):
        return "it has no trainer_state.json (its save was interrupted)"
    if read_json_object(path) is None:
        return "its trainer_state.json is cut short or unreadable (its save was interrupted, or the disk was full)"
    return None


def read_json_object(path: str) -> dict | None:
    """The JSON object in the file at `path`; None for a file that is missing, unreadable, cut short or no object."""
    try:
        with open(path, encoding="utf-8") as file:
            found = json.load(file)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def newest_complete_checkpoint(folder: str, warn_skipped: bool = False) -> str | None:
    """The newest checkpoint-N of `folder` whose save finished (`unfinished_save`), or None; `warn_skipped`: say
    why for each one passed over."""
    for checkpoint in checkpoints_newest_first(folder):
        why = unfinished_save(checkpoint)
        if why is None:
            return checkpoint
        if warn_skipped:
            logging.getLogger("open_r1").warning("Skipping %s: %s", checkpoint, why)
    return None


def checkpoint_hint(folder: str) -> str:
    """ "; did you mean <newest complete checkpoint of folder>?" where it has one, else nothing."""
    newest = newest_complete_checkpoint(folder)
    return f"; did you mean {newest}?" if newest else ""


def check_resumable(checkpoint: str) -> None:
    """A folder to resume from holds the optimizer's state (transformers' optimizer.pt or .bin, an FSDP optimizer
    folder, a DeepSpeed global_step folder): a run's final save has none, and transformers would resume from it with
    a fresh optimizer and schedule, without a word. A trainer_state.json cut short is refused too (transformers
    would fail on it once the model loaded; one missing it reads as step 0)."""
    folder = os.path.expanduser(checkpoint)
    cut_short = os.path.isfile(os.path.join(folder, "trainer_state.json")) and unfinished_save(folder)
    if cut_short:
        hint = checkpoint_hint(os.path.dirname(os.path.normpath(folder)))
        raise UsageError(f"resume_from_checkpoint: {checkpoint} cannot be resumed from: {cut_short}{hint}")
    entries = os.listdir(folder)
    if any("optimizer" in entry or entry.startswith("global_step") for entry in entries):
        return
    raise UsageError(
        f"resume_from_checkpoint: {checkpoint} holds no optimizer state (no optimizer.pt), as a run's final save and "
        "a save_only_model run's checkpoints do not: resuming from it would start the optimizer and learning-rate "
        f"schedule afresh{checkpoint_hint(checkpoint)}"
    )
