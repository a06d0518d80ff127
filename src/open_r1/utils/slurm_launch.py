"""What slurm/train.slurm needs from a recipe and its `--args`, read as the training script's parser reads them.

    python -m open_r1.utils.slurm_launch RECIPE "ARGS" > words   # RECIPE: config_C.yaml of recipes/M/TASK

`ARGS` is train.slurm's `--args` string, split into words as a shell splits them (`shlex.split`: quotes are kept
together, newlines separate like spaces, nothing is run). It prints NUL-terminated records: `name=value` for each
of `SETTINGS` (empty when neither the recipe nor ARGS sets it; booleans as `true`/`false`), then `arg=WORD` for each
word of ARGS. Options are read as HfArgumentParser reads them (`open_r1.usage.command_line_settings`): `--name` or
`--name-with-dashes`, `--name value` or `--name=value`, the last one wins, a bare `--use_vllm` is true. A recipe
that cannot be read, unbalanced quotes or a boolean that is no boolean is one line
`train.slurm: error: ...` and exit status 2.

It imports only open_r1.usage (standard library and PyYAML), so it takes a fraction of a second. It does not check
the other fields: `python -m open_r1.check_recipe` does, and the training script again as it starts.
"""

import shlex
import sys

from open_r1.usage import UsageError, as_bool, command_line_settings, exit_on_usage_error

# The recipe fields train.slurm reads, in the order they are printed.
SETTINGS = (
    "save_strategy",
    "use_vllm",
    "vllm_mode",
    "model_name_or_path",
    "model_revision",
    "gradient_accumulation_steps",
    "output_dir",
    "max_run_minutes",
)
BOOLEAN_SETTINGS = ("use_vllm",)


def split_args(text: str) -> list[str]:
    """The words of train.slurm's `--args` string, as a shell splits them."""
    try:
        return shlex.split(text)
    except ValueError as error:  # shlex's "No closing quotation" / "No escaped character"
        raise UsageError(f"--args: {error} in {text!r}; quote each value with spaces once") from None


def launch_settings(recipe: str, args: list[str]) -> dict[str, str]:
    """`SETTINGS` from `recipe` with `args` on top, as text; '' for an unset one."""
    settings = command_line_settings(["--config", recipe, *args], SETTINGS, flags=BOOLEAN_SETTINGS)
    read = {}
    for name in SETTINGS:
        value = settings.get(name)
        if name in BOOLEAN_SETTINGS and value is not None:
            try:
                value = as_bool(value)
            except ValueError as error:
                raise UsageError(f"{name}: {error} (from {recipe} and --args)") from None
        # train.slurm hands it to accelerate, which would fail on a non-number only after DeepSpeed starts.
        if (
            name == "gradient_accumulation_steps"
            and value is not None
            and not (str(value).isdigit() and int(value) > 0)
        ):
            raise UsageError(f"{name}: expected a positive integer, got {value!r} (from {recipe} and --args)")
        read[name] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return read


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise UsageError('usage: python -m open_r1.utils.slurm_launch RECIPE "ARGS"')
    recipe, text = argv
    args = split_args(text)
    records = [f"{name}={value}" for name, value in launch_settings(recipe, args).items()]
    records += [f"arg={word}" for word in args]
    sys.stdout.write("".join(f"{record}\0" for record in records))


if __name__ == "__main__":
    with exit_on_usage_error("train.slurm"):
        main(sys.argv[1:])
