"""Checks a training command without training: what sft.py or grpo.py would refuse before the model loads.

    python -m open_r1.check_recipe grpo --config recipes/Qwen2.5-Math-7B/grpo/config_simple_rl.yaml
    python -m open_r1.check_recipe sft --config recipes/OpenR1-Distill-7B/sft/config_distill.yaml --learning_rate 1e-5

It runs the training script's own checks of the recipe and command line (`open_r1.usage.check_command_line`, then
`RecipeParser` over `open_r1.configs.TRAINER_ARGUMENTS`): the YAML, every field's name and value, fields the chosen mode
ignores, local paths, Hub ids and pushes. It prints `<recipe>: checked for src/open_r1/<trainer>.py` and exits 0, or one
line and exit status 2. `slurm/train.slurm --dry-run` runs it, so a mistake shows before the job waits in the queue.
Where the Hub is out of reach, the line says how to check the rest against the tiny model and data. It needs no GPU: on
a machine without one it checks the command as if `--use_cpu true` were added (else transformers refuses a GPU recipe's
`bf16` here).

Not covered: what needs the data or the tokenizer (the dataset's columns, the chat template, the GRPO doctor's
start-up checks) or the launch (the accelerate config's processes and precision); the run checks those when it
starts, still before the model loads.
"""

import sys

from open_r1.usage import UsageError, check_command_line, did_you_mean, exit_on_usage_error, recipe_argument

TRAINERS = ("sft", "grpo")
PROG = "python -m open_r1.check_recipe"
USAGE = f"{PROG} sft|grpo [--config RECIPE.yaml] [--FIELD VALUE ...]"
# What a refusal says where the Hub is out of reach (open_r1.hub_access), and how to check the rest of the recipe then.
HUB_OUT_OF_REACH = ("does not answer", "keeps the Hub out of reach")
# The tiny model and, per trainer, the tiny dataset of its shape (SFT's `messages`, GRPO's problems and answers).
TINY_DATASETS = {"sft": "data/tiny-sft", "grpo": "data/tiny-math"}


def without_the_hub(trainer: str) -> str:
    return (
        "; to check the rest of the recipe without the Hub: --model_name_or_path data/tiny-model --dataset_name "
        f"{TINY_DATASETS.get(trainer, TINY_DATASETS['grpo'])} --push_to_hub false"
    )


def check_recipe(trainer: str, args: list[str]) -> str:
    """Parses `args` as src/open_r1/`trainer`.py would and returns what was checked; a mistake raises `UsageError`
    (where the Hub is out of reach, saying how to check the rest without it)."""
    try:
        return _check_recipe(trainer, args)
    except UsageError as error:
        if any(marker in str(error) for marker in HUB_OUT_OF_REACH):  # a login node without the Hub (a newcomer's)
            raise UsageError(f"{error}{without_the_hub(trainer)}") from None
        raise


def _check_recipe(trainer: str, args: list[str]) -> str:
    if trainer not in TRAINERS:
        raise UsageError(
            f"the trainer must be one of {', '.join(TRAINERS)}, got {trainer!r}" + did_you_mean(trainer, TRAINERS)
        )
    check_command_line(args, on_this_machine=False)
    import torch

    from open_r1.configs import TRAINER_ARGUMENTS, RecipeParser  # seconds: TRL loads

    given = {arg.split("=", 1)[0] for arg in args}
    if not torch.cuda.is_available() and "--use_cpu" not in given and "--use-cpu" not in given:
        # A login node has no GPU: transformers would refuse a GPU recipe's bf16 here, where no training runs.
        args = [*args, "--use_cpu", "true"]
    RecipeParser(TRAINER_ARGUMENTS[trainer]).parse_args_and_config(args)
    return f"{recipe_argument(args) or 'the command line'}: checked for src/open_r1/{trainer}.py"


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: {USAGE}\n\n{__doc__}")
        sys.exit(0)
    if not argv:
        raise UsageError(f"name the trainer first; usage: {USAGE}")
    print(check_recipe(argv[0], argv[1:]))


if __name__ == "__main__":
    with exit_on_usage_error(PROG):
        main(sys.argv[1:])
