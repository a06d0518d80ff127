"""The command line of `make gsm8k` (`python scripts/gsm8k.py`): checks the options, then runs the pipeline of
`open_r1.demo.gsm8k` (a run, or `--sft_only`), combines one-arm runs (`--combine`, `open_r1.demo.gsm8k_combine`) or
prints the evaluations a run wrote (`--evaluations_table`). `--help` shows the pipeline's description.

Not covered: what a run does (`open_r1.demo.gsm8k`).
"""

import argparse
import math
import pathlib

from open_r1.demo import gsm8k, gsm8k_combine
from open_r1.demo.gsm8k_report import (
    gsm8k_evaluations_goals,
    gsm8k_evaluations_repetition_table,
    gsm8k_evaluations_table,
    kept_greedy_details,
)
from open_r1.tasks.gsm8k import GSM8K_TEST_FILE, GSM8K_TRAIN_FILE
from open_r1.usage import ArgumentParser, UsageError, check_local_path, check_output_folder

# The options of a run that --sft_only, which runs no GRPO and evaluates only SFT, refuses (the rehearsal too).
NOT_WITH_SFT_ONLY = (
    "reuse_base",
    "reuse_sft",
    "use_vllm",
    "compile_generation",
    "time_budget_minutes",
    "grpo_max_steps",
    "grpo_learning_rate",
    "grpo_num_generations",
    "grpo_max_calculations",
    "arms_at_once",
)


def check_sft_only(parser: argparse.ArgumentParser, given: list[str]) -> None:
    """One line for the first option `given` that --sft_only would ignore; shared with the rehearsal
    (`open_r1.demo.gsm8k_rehearsal`), which must refuse what a run refuses."""
    for name in given:
        if name in NOT_WITH_SFT_ONLY:
            parser.error(f"--{name} has no effect with --sft_only, which runs no GRPO and evaluates only SFT")


def check_run_numbers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One line for the first number out of range among the run's GRPO and budget options that `args` has (a
    negative or NaN budget, no GRPO step); shared with the rehearsal, which takes some of them."""
    steps = getattr(args, "grpo_max_steps", None)
    if steps is not None and steps < 1:
        parser.error(f"--grpo_max_steps: expected a positive number of steps, got {steps}")
    learning_rate = getattr(args, "grpo_learning_rate", None)
    if learning_rate is not None and not 0 < learning_rate < math.inf:
        parser.error(f"--grpo_learning_rate: expected a positive learning rate, got {learning_rate:g}")
    generations = getattr(args, "grpo_num_generations", None)
    if generations is not None and generations < 2:
        parser.error(
            "--grpo_num_generations: expected at least 2 completions per prompt (GRPO's advantage compares them), "
            f"got {generations}"
        )
    calculations = getattr(args, "grpo_max_calculations", None)
    if calculations is not None and calculations < 1:
        parser.error(f"--grpo_max_calculations: expected a positive number of calculations, got {calculations}")
    minutes = getattr(args, "time_budget_minutes", None)
    if minutes is not None and not 0 < minutes < math.inf:
        parser.error(f"--time_budget_minutes: expected a positive number of minutes, got {minutes:g}")


def earlier_run_folder(
    parser: argparse.ArgumentParser,
    option: str,
    folder: pathlib.Path,
    what: str = "an earlier run's output folder",
) -> pathlib.Path:
    """The output folder of a run that `option` names (`what` it should be; its results.json taken as its folder, as
    --combine takes it); else one line: no such folder (with the close names), or one without an evals/ folder (with
    the run folders inside it: `data` for `data/gsm8k`). Checked here, for --reuse_*, not when the stage comes: that
    is after the card protocol's evaluation."""
    if folder.name == "results.json" and folder.is_file():
        folder = folder.parent
    if not folder.exists():
        try:
            check_local_path(option, str(folder), local_only=True)
        except UsageError as error:
            parser.error(f"{error} (expected {what})")
    if not (folder / "evals").is_dir():
        runs = (
            sorted(child.name for child in folder.iterdir() if (child / "evals").is_dir()) if folder.is_dir() else []
        )
        hint = f"; did you mean {' or '.join(str(folder / run) for run in runs[:3])}?" if runs else ""
        parser.error(f"{option}: {folder} has no evals/ folder (expected {what}){hint}")
    return folder


def refuse_all_but(parser: argparse.ArgumentParser, given: list[str], taken: tuple[str, ...], mode: str) -> None:
    """One line for the first option `given` that `mode` does not take (`taken`): it would have no effect there."""
    for name in given:
        if name not in taken:
            parser.error(f"--{name} has no effect with {mode}")


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(description=gsm8k.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--arm", choices=("cot", "tools", "both"), default="both", help="Which arm to run (default both)."
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of training and sampling (default 0).")
    parser.add_argument("--fast", action="store_true", help="A few rows, steps and problems: an end-to-end check.")
    parser.add_argument("--train_file", type=pathlib.Path, default=GSM8K_TRAIN_FILE, help="GSM8K-train JSONL.")
    parser.add_argument("--test_file", type=pathlib.Path, default=GSM8K_TEST_FILE, help="GSM8K-test JSONL.")
    parser.add_argument(
        "--output_dir",
        default=None,
        help="Folder for everything the run writes (default data/gsm8k, FAST data/gsm8k-fast; with --combine "
        f"{gsm8k_combine.OUTPUT_DIR}).",
    )
    parser.add_argument(
        "--arms_at_once",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Run the arms and the card-protocol evaluation at the same time, each in its own process, and evaluate "
        "the SFT checkpoint while GRPO trains from it (default: on a GPU, which one arm of a 135M model "
        "leaves mostly idle; not on a CPU, whose cores one arm already uses).",
    )
    parser.add_argument(
        "--reuse_base",
        type=pathlib.Path,
        default=None,
        help="An earlier run's output folder whose base-model evaluations (evals/base-*) this run takes instead of "
        "repeating them; they must score as many problems of a test file of the same name with the same samples, "
        "and have evaluated the same model with this run's seed, token budget and system prompt.",
    )
    parser.add_argument(
        "--reuse_sft",
        type=pathlib.Path,
        default=None,
        help="An earlier run's output folder (a run, or --sft_only --evaluate) that trained each arm's SFT as this run "
        "does (seed, FAST, recipe, training data): this run trains SFT again for GRPO but takes that run's SFT "
        "evaluations (evals/sft-*) instead of repeating them.",
    )
    parser.add_argument(
        "--use_vllm",
        action="store_true",
        help="GRPO generates with vLLM, colocated on the GPU (needs the `gpu` extra); the evaluator keeps "
        "transformers, so that scores do not depend on whether vLLM is installed.",
    )
    parser.add_argument(
        "--compile_generation",
        action="store_true",
        help="GRPO's transformers generation decodes with a static cache and transformers' compiled decode step "
        "(compile_generation: true in the GRPO recipes; a GPU only); the evaluator is unchanged.",
    )
    parser.add_argument(
        "--compile_decoding",
        action="store_true",
        help="Each arm's evaluations decode with the evaluator's compiled decode step (open_r1.evaluate "
        "--compile_decoding; a GPU only; the card protocol's stays uncompiled). Not yet measured on a GPU: "
        "scripts/benchmarks/compiled_evaluation.py.",
    )
    parser.add_argument(
        "--time_budget_minutes",
        type=float,
        default=None,
        help="Minutes the whole run may take: each arm's GRPO stops (max_run_minutes) at the last step that leaves "
        "time for the GRPO evaluations (GSM8KSettings.grpo_evaluation_seconds) before they are up; both arms need "
        "--arms_at_once (a GPU's default); default: no budget, every recipe step.",
    )
    parser.add_argument(
        "--grpo_max_steps",
        type=int,
        default=None,
        help="GRPO steps of each arm (default: its recipe's max_steps, 20). Under --time_budget_minutes GRPO stops "
        "earlier where the budget ends, so a large value gives GRPO whatever time the budget leaves it.",
    )
    parser.add_argument(
        "--grpo_learning_rate",
        type=float,
        default=None,
        help="GRPO's learning rate in each arm, in place of its recipe's learning_rate: a lever for a run whose "
        "GRPO misses its goal (docs/gsm8k.md).",
    )
    parser.add_argument(
        "--grpo_num_generations",
        type=int,
        default=None,
        help="Completions GRPO samples per prompt in each arm, in place of its recipe's num_generations, each "
        "generation keeping its recipe's rows (fewer prompts, more completions each): a lever for a run whose groups "
        "mostly share one reward (docs/gsm8k.md). It must divide the rows of a generation.",
    )
    parser.add_argument(
        "--grpo_max_calculations",
        type=int,
        default=None,
        help="GRPO's prompts: the GSM8K-train rows whose worked solution has at most this many calculations, in "
        "place of GSM8KSettings.grpo_max_calculations; SFT still trains on every row.",
    )
    parser.add_argument(
        "--sft_only",
        action="store_true",
        help="Only each arm's cold-start SFT, into OUTPUT_DIR/sft-<arm>: no GRPO, and no evaluation unless "
        "--evaluate (for the GRPO throughput benchmark, docs/benchmarks.md).",
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="With --sft_only: evaluate each SFT model as a run does, into OUTPUT_DIR/evals, and write results.json "
        "for a later run's --reuse_sft.",
    )
    parser.add_argument(
        "--combine",
        type=pathlib.Path,
        nargs="+",
        default=None,
        metavar="RUN",
        help="Combine the output folders of runs of one arm each (one per GPU lease) into one results.json and "
        f"report.md, goals included, in --output_dir (default {gsm8k_combine.OUTPUT_DIR}); nothing trains "
        "(open_r1.demo.gsm8k_combine).",
    )
    parser.add_argument(
        "--evaluations_table",
        type=pathlib.Path,
        default=None,
        metavar="OUTPUT_DIR",
        help="Print the table of the evaluations a run (finished or not) wrote in OUTPUT_DIR, the goals they show "
        "and, where they kept their details, greedy pass@1 by calculations in the worked solutions of --test_file "
        "and the calculations the completions wrote out beside the worked solutions' (by calculations, and problem by "
        "problem from SFT to GRPO) and those cut at the token budget, and how many greedy completions repeat a line; "
        "then exit.",
    )
    args = parser.parse_args(argv)
    given = [name for name, value in vars(args).items() if value != parser.get_default(name)]
    if args.combine:
        refuse_all_but(parser, given, ("combine", "output_dir"), "--combine, which reads finished runs with their own")
        return gsm8k_combine.main(args.combine, pathlib.Path(args.output_dir or gsm8k_combine.OUTPUT_DIR))
    if args.evaluations_table:
        refuse_all_but(
            parser, given, ("evaluations_table", "test_file"), "--evaluations_table, which reads a run's evaluations"
        )
        # A missing or empty folder printed an empty table and exited 0.
        args.evaluations_table = earlier_run_folder(
            parser, "--evaluations_table", args.evaluations_table, "a run's output folder, finished or not"
        )
        print(gsm8k_evaluations_table(args.evaluations_table))
        goals = gsm8k_evaluations_goals(args.evaluations_table)
        if goals:
            print(f"\nThe goals these evaluations show (greedy pass@1):\n\n{goals}")
        greedy = kept_greedy_details(args.evaluations_table)
        by_calculations = gsm8k.evaluations_calculations_table(args.evaluations_table, args.test_file, greedy)
        if by_calculations:
            print(f"\nGreedy pass@1 by calculations in the worked solution ({args.test_file}):\n\n{by_calculations}")
        repetition = gsm8k_evaluations_repetition_table(greedy)
        if repetition:
            print(f"\n{repetition}")
        return {}
    if args.sft_only:  # before the folders they name are checked: the options conflict whatever those hold
        check_sft_only(parser, given)
    for option in ("reuse_base", "reuse_sft"):
        if getattr(args, option) is not None:
            setattr(args, option, earlier_run_folder(parser, f"--{option}", getattr(args, option)))
    if args.evaluate and not args.sft_only:
        parser.error("--evaluate has no effect without --sft_only (a run evaluates every stage)")
    check_run_numbers(parser, args)
    output_dir = pathlib.Path(args.output_dir or gsm8k.default_output_dir(args.fast))
    check_output_folder("--output_dir", str(output_dir))
    if not output_dir.is_absolute():
        output_dir = pathlib.Path.cwd() / output_dir
    for option, folder in (("reuse_base", args.reuse_base), ("reuse_sft", args.reuse_sft)):
        if folder is not None and folder.resolve() == output_dir.resolve():
            parser.error(
                f"--{option}: {folder} is this run's own output folder, which it empties first; run the earlier one "
                "with another --output_dir"
            )
    arms = gsm8k.ARMS if args.arm == "both" else (args.arm,)
    if args.sft_only:
        if "test_file" in given and not args.evaluate:
            parser.error("--test_file has no effect with --sft_only without --evaluate")
        if args.compile_decoding and not args.evaluate:
            parser.error("--compile_decoding has no effect with --sft_only without --evaluate")
        return gsm8k.sft_only(
            output_dir,
            arms,
            args.seed,
            args.fast,
            args.train_file,
            args.test_file if args.evaluate else None,
            args.compile_decoding,
        )
    return gsm8k.run(
        output_dir,
        arms,
        args.seed,
        args.fast,
        args.train_file,
        args.test_file,
        args.arms_at_once,
        args.reuse_base,
        args.use_vllm,
        args.time_budget_minutes,
        args.grpo_max_steps,
        args.reuse_sft,
        args.compile_generation,
        args.compile_decoding,
        args.grpo_learning_rate,
        args.grpo_max_calculations,
        args.grpo_num_generations,
    )
