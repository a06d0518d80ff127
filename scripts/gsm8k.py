"""`make gsm8k`: the R1 recipe on GSM8K from SmolLM2-135M-Instruct, chain-of-thought and python-tool arms.

    python scripts/gsm8k.py [--arm cot|tools|both] [--seed 0] [--fast] [--output_dir D]   # --help for more

The pipeline itself is `open_r1.demo.gsm8k` (its docstring lists the stages), its command line
`open_r1.demo.gsm8k_cli`. Not covered: other benchmarks and models (`make evaluate`, the recipes).
"""

from open_r1.demo.gsm8k_cli import main
from open_r1.usage import exit_on_interrupt, exit_on_usage_error

if __name__ == "__main__":
    # A run never resumes: the same command empties the folder first (and names what it removes).
    message = "its output folder holds the stages it finished; a new run into it starts over and replaces them"
    with exit_on_interrupt(message):
        with exit_on_usage_error():  # a mistake in the command or its files: one line and exit status 2
            main()
