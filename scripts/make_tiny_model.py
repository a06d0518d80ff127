"""Builds the tiny model, tokenizer and datasets used by the CPU recipes, the tests and `make demo`.

    python scripts/make_tiny_model.py                    # data/tiny-model, data/tiny-sft, data/tiny-math
    python scripts/make_tiny_model.py --output_dir DIR --hidden_size 128 --num_layers 4

Nothing is downloaded: the tokenizer is trained here and the model is randomly initialised
(see open_r1.tasks.tiny_model for what is built).
"""

import argparse
import dataclasses

from open_r1.tasks.tiny_model import TinyModelSpec, build_all


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="data", help="Folder that receives tiny-model, tiny-sft, tiny-math.")
    for spec_field in dataclasses.fields(TinyModelSpec):
        parser.add_argument(
            f"--{spec_field.name}", type=int, default=spec_field.default, help=f"Model {spec_field.name}."
        )
    args = parser.parse_args()
    spec = TinyModelSpec(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TinyModelSpec)})
    for name, path in build_all(args.output_dir, spec).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
