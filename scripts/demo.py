"""`make demo`: the R1 recipe in miniature on a CPU; `--tools`: the tool-integrated reasoning miniature.

    python scripts/demo.py [--tools] [--model smollm2] [--seed 1] [--fast] [--output_dir D]   # --help for more

The demo itself is the package `open_r1.demo` (its docstring maps the modules).
Not covered: real benchmarks (`make gsm8k`, `make evaluate`), GPUs beyond what `open_r1.demo` says.
"""

from open_r1.demo.cli import main
from open_r1.usage import exit_on_interrupt, exit_on_usage_error

if __name__ == "__main__":
    with exit_on_interrupt("its output folder holds the stages it finished; a new run starts over"):
        with exit_on_usage_error():  # a mistake in the command or its files: one line and exit status 2
            main()
