"""The command line of `make demo`: picks the mode (the R1 recipe, or the tool miniature with `--tools`) and its folder.

    make demo                    # R1 recipe on the tiny model, about 2.5 minutes on 2 CPU cores -> data/demo
    make demo SEED=1 FAST=1      # another seed; FAST: the same stages with tiny step counts, about 40 s
    make demo MODEL=smollm2      # the same recipe on SmolLM2-135M-Instruct, plus GSM8K -> data/demo-smollm2
    make demo TOOLS=1            # the tool-integrated reasoning miniature -> data/demo_tools
    python scripts/demo.py [--tools] [--model smollm2 [--gsm8k_file F]] [--seed 1] [--fast] [--output_dir D]

Not covered: what each mode runs (`open_r1.demo.r1`, `open_r1.demo.tools`).
"""

import argparse
import pathlib

from open_r1.demo import r1, tools
from open_r1.demo.pipeline import default_output_dir
from open_r1.tasks.gsm8k import GSM8K_TEST_FILE
from open_r1.usage import ArgumentParser, check_output_folder


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(
        description=f"{__doc__}\nThe R1 recipe: {r1.__doc__}\n--tools: {tools.__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the data, the model and training (default 0).")
    parser.add_argument(
        "--tools", action="store_true", help="The tool-integrated reasoning miniature (tiny model only)."
    )
    parser.add_argument(
        "--model",
        choices=("tiny", "smollm2"),
        default="tiny",
        help="tiny: a 0.65M model built on the spot; smollm2: SmolLM2-135M-Instruct (scripts/get_model.py).",
    )
    parser.add_argument(
        "--output_dir",
        default=None,
        help="Folder for results and the report (default data/demo, data/demo-smollm2, data/demo_tools).",
    )
    parser.add_argument("--fast", action="store_true", help="Tiny step counts and test set: an end-to-end check.")
    parser.add_argument(
        "--gsm8k_file",
        type=pathlib.Path,
        default=None,
        help=f"smollm2: GSM8K test JSONL (id, problem, answer); default {GSM8K_TEST_FILE}, else the Hub's openai/gsm8k.",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.seed < 2**31:  # numpy's and the launched trainings' bound, checked before any stage runs
        parser.error(f"--seed must be in [0, 2**31), got {args.seed}")
    if args.tools and (args.model != "tiny" or args.gsm8k_file is not None):
        parser.error("--tools runs on the tiny model only, without GSM8K")
    if args.gsm8k_file is not None and args.model != "smollm2":
        parser.error(f"--gsm8k_file: only --model smollm2 evaluates on GSM8K, not {args.model}")
    if args.gsm8k_file is not None and not args.gsm8k_file.is_file():
        parser.error(f"--gsm8k_file {args.gsm8k_file}: no such file (expected a JSONL of id, problem, answer)")
    output_dir = pathlib.Path(args.output_dir or default_output_dir(args.model, args.tools))
    check_output_folder("--output_dir", str(output_dir))
    if not output_dir.is_absolute():
        output_dir = pathlib.Path.cwd() / output_dir
    if args.tools:
        return tools.run(output_dir, args.seed, args.fast)
    return r1.run(output_dir, args.seed, args.fast, args.model, args.gsm8k_file)
