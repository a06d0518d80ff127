"""`make gsm8k`: the R1 recipe on GSM8K from SmolLM2-135M-Instruct, chain-of-thought and python-tool arms.

    python scripts/gsm8k.py [--arm cot|tools|both] [--seed 0] [--fast] [--output_dir D]   # --help for more

The pipeline itself is `open_r1.demo.gsm8k` (its docstring lists the stages).
"""

from open_r1.demo.gsm8k import main

if __name__ == "__main__":
    main()
