"""The old policy's log-probabilities scored only where needed (`open_r1.utils.old_logprobs`) against TRL's pass over
every row, side by side: the seconds of the no-grad passes (`profile/logprobs_seconds`) and of whole GRPO steps, for
the same generations, arm after arm in one run.

    python scripts/benchmarks/old_logprobs.py --model data/tiny-model               # make gsm8k's cot batch shape
    python scripts/benchmarks/old_logprobs.py ... --output docs/results/old_logprobs/<name>.json   # keep the results
    python scripts/benchmarks/old_logprobs.py --write_docs docs/results/old_logprobs/*.json   # the table, into docs/

Both arms are the project's GRPO trainer on the same prompts, seed and model, one generation feeding two optimizer
steps as make gsm8k's chain-of-thought recipe has it (its `steps_per_generation`, `gradient_accumulation_steps`,
`per_device_train_batch_size` and `num_generations`); `trl` leaves the pass to TRL (`old_logps_left_to_trl`). Each
repeat trains both arms for one generation, in alternating order; the updates must agree (the run says so). The
reward is a stand-in with spread (a completion's length, odd or even), since the pass does not read it. Not covered:
vLLM, whose importance-sampling correction needs every row's (the pass is TRL's there); what the saving is worth
against decoding, which the step seconds show.
"""

import argparse
import pathlib
import statistics
import tempfile

from open_r1.utils.launch import REPO_ROOT
from open_r1.utils.results_docs import results_markers, results_table_writer

BEGIN, END = results_markers("old_logprobs.py")
ARMS = ("trl", "project")
RECIPE = "recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_cot.yaml"
# The recipe's batch shape; the rest is the benchmark's (a tiny model on a CPU decodes 256 rows of 32 tokens quickly).
SHAPE_FIELDS = (
    "steps_per_generation",
    "gradient_accumulation_steps",
    "per_device_train_batch_size",
    "num_generations",
)


def length_parity_reward(completions, **kwargs) -> list[float]:
    """A reward with spread that reads no answer: 1.0 for a completion of odd length in characters."""
    return [float(len(str(completion)) % 2) for completion in completions]


def train_once(model: str, prompts: list[str], shape: dict, arm: str, args, output_dir: pathlib.Path) -> dict:
    """One generation of `arm`'s trainer (two optimizer steps): its summed log-prob and step seconds, last loss."""
    import torch
    from datasets import Dataset

    from open_r1.configs import GRPOConfig
    from open_r1.grpo import PromptTruncatingGRPOTrainer

    cpu = args.device == "cpu"
    config = GRPOConfig(
        output_dir=str(output_dir), use_cpu=cpu, bf16=not cpu, report_to="none", seed=0, logging_steps=1,
        save_strategy="no", max_completion_length=args.max_completion_length, learning_rate=1e-5, loss_type="dapo",
        beta=0.0, activation_checkpointing=False,
        max_steps=shape["steps_per_generation"] // shape["gradient_accumulation_steps"],
        **shape,
    )  # fmt: skip
    torch.manual_seed(0)
    trainer = PromptTruncatingGRPOTrainer(
        model=model,
        reward_funcs=[length_parity_reward],
        args=config,
        train_dataset=Dataset.from_list([{"prompt": prompt} for prompt in prompts]),
    )
    if arm == "trl":
        trainer.old_logps_left_to_trl = lambda mode: True
    trainer.train()
    entries = [entry for entry in trainer.state.log_history if "step_time" in entry]
    return {
        "logprobs_seconds": sum(entry["profile/logprobs_seconds"] for entry in entries),
        "step_seconds": sum(entry["step_time"] for entry in entries),
        "losses": [entry["loss"] for entry in entries],
    }


def docs_section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
    from open_r1.utils.provenance import provenance_cells, read_provenance
    from open_r1.utils.results_docs import markdown_table, results_cell

    header = ["date", "commit", "machine, load before", "model, device", "rows per generation, completion tokens"]
    header += ["TRL's pass (s)", "where needed (s)", "ratio", "2 steps: TRL's / where needed (s)", "same updates"]
    header += ["repeats", "results"]
    rows = []
    for results, path in runs:
        settings, arms = results["settings"], results["arms"]
        start = read_provenance(settings)["machine"]["load_average_at_start"]
        median = {arm: {key: statistics.median(arms[arm][key]) for key in arms[arm]} for arm in ARMS}
        rows.append(
            [
                *provenance_cells(settings, f"{start[0]:.2f}"),
                f"{settings['model']}, {settings['device']}",
                f"{settings['rows_per_generation']}, {settings['max_completion_length']}",
                f"{median['trl']['logprobs_seconds']:.3g}",
                f"{median['project']['logprobs_seconds']:.3g}",
                f"**{median['project']['logprobs_seconds'] / median['trl']['logprobs_seconds']:.2f}×**",
                f"{median['trl']['step_seconds']:.3g} / {median['project']['step_seconds']:.3g}",
                "yes" if results["same_updates"] else "**no**",
                str(len(arms["trl"]["logprobs_seconds"])),
                results_cell(path),
            ]
        )
    return markdown_table(header, rows)


write_docs = results_table_writer(BEGIN, END, docs_section)


def main(argv: list[str] | None = None) -> dict | None:
    from open_r1.usage import ArgumentParser
    from open_r1.utils.results_docs import add_results_options, parse_or_write_docs

    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Model folder (float32 weights): data/tiny-model, or scripts/get_model.py's.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: bf16 autocast.")
    parser.add_argument("--max_completion_length", type=int, default=32, help="Completion tokens (the recipe: 256).")
    parser.add_argument("--repeats", type=int, default=3, help="Generations per arm, arms alternating.")
    add_results_options(parser)
    args = parse_or_write_docs(parser, argv, write_docs, required=("model",))
    if args is None:
        return None
    if args.repeats < 1 or args.max_completion_length < 1:
        parser.error("--repeats and --max_completion_length must be at least 1")
    from open_r1.usage import check_local_path, read_recipe
    from open_r1.utils.provenance import provenance_record, with_end_load
    from open_r1.utils.results_docs import report_results

    check_local_path("--model", args.model, local_only=True, kind="model")
    recipe = read_recipe(str(REPO_ROOT / RECIPE))
    shape = {field: recipe[field] for field in SHAPE_FIELDS}
    rows = shape["steps_per_generation"] * shape["per_device_train_batch_size"]
    prompts = [f"What is {i} + {i % 7}?" for i in range(rows // shape["num_generations"])]
    settings = {
        "model": args.model, "device": args.device, "recipe": RECIPE, **shape, "rows_per_generation": rows,
        "max_completion_length": args.max_completion_length, **provenance_record(),
    }  # fmt: skip
    arms = {arm: {"logprobs_seconds": [], "step_seconds": []} for arm in ARMS}
    losses = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for arm in ARMS if repeat % 2 == 0 else ARMS[::-1]:
                run = train_once(args.model, prompts, shape, arm, args, pathlib.Path(scratch) / f"{arm}-{repeat}")
                arms[arm]["logprobs_seconds"].append(run["logprobs_seconds"])
                arms[arm]["step_seconds"].append(run["step_seconds"])
                losses[arm].append(run["losses"])
                print(f"repeat {repeat + 1}, {arm}: log-prob passes {run['logprobs_seconds']:.3f} s", flush=True)
    same = all(
        abs(mine - theirs) <= 1e-5
        for project, trl in zip(losses["project"], losses["trl"])
        for mine, theirs in zip(project, trl, strict=True)
    )
    results = {"settings": with_end_load(settings), "arms": arms, "same_updates": same}
    report_results(results, args.output, docs_section)
    return results


if __name__ == "__main__":
    from open_r1.usage import exit_on_usage_error

    with exit_on_usage_error("old_logprobs.py"):
        main()
