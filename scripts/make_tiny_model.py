"""Builds the tiny model, tokenizer and datasets used by the CPU recipes, the tests and `make demo`.

    python scripts/make_tiny_model.py                    # data/tiny-model, data/tiny-sft, data/tiny-math, ...
    python scripts/make_tiny_model.py --output_dir DIR --hidden_size 128 --num_layers 4

Nothing is downloaded: the tokenizer is trained here and the model is randomly initialised
(see open_r1.tasks.tiny_model for what is built). It also writes tiny-math's splits as JSONL files of
(id, problem, answer): `tiny-math-test.jsonl`, the held-out problems in the offline evaluator's format
(`python -m open_r1.evaluate --data_files ...`), and `tiny-math-train.jsonl`, the README's "your own file" to train
GRPO on, so the README needs no download and never trains on what it evaluates.

Not covered: a real pretrained model (scripts/get_model.py smollm2).
"""

import argparse
import dataclasses
import json
import pathlib

from open_r1.tasks.tiny_model import SIZE_FIELDS, TinyModelSpec, build_all
from open_r1.usage import ArgumentParser, check_output_folder, exit_on_usage_error


def read_bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="data", help="Folder that receives tiny-model, tiny-sft, tiny-math.")
    for spec_field in dataclasses.fields(TinyModelSpec):
        kind = type(spec_field.default)
        parser.add_argument(
            f"--{spec_field.name}",
            type=read_bool if kind is bool else kind,
            default=spec_field.default,
            help=spec_field.metadata["help"],
        )
    args = parser.parse_args(argv)
    for name in SIZE_FIELDS:
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    try:  # the sizes' own rules (the heads divide the width, a vocabulary holds every byte), now
        args.spec = TinyModelSpec(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TinyModelSpec)})
    except ValueError as error:
        parser.error(f"--{error}")
    check_output_folder("--output_dir", args.output_dir)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    paths = build_all(args.output_dir, args.spec)
    for split in ("train", "test"):
        paths[f"tiny-math-{split}.jsonl"] = write_jsonl(paths["tiny-math"], split, pathlib.Path(args.output_dir))
    for name, path in paths.items():
        print(f"{name}: {path}")


def write_jsonl(math_dataset: pathlib.Path, split: str, output_dir: pathlib.Path) -> pathlib.Path:
    """One split of tiny-math in the offline evaluator's JSONL: one {id, problem, answer} per line."""
    from datasets import load_from_disk

    path = output_dir / f"tiny-math-{split}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(load_from_disk(str(math_dataset))[split]):
            record = {"id": f"tiny-math-{split}-{index}", "problem": row["prompt"], "answer": row["answer"]}
            handle.write(json.dumps(record) + "\n")
    return path


if __name__ == "__main__":
    with exit_on_usage_error():  # a mistake in the command: one line and exit status 2
        main()
