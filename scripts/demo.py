"""`make demo`: the R1 recipe in miniature on a CPU; `--tools`: the tool-integrated reasoning miniature.

    python scripts/demo.py [--tools] [--model smollm2] [--seed 1] [--fast] [--output_dir D]   # --help for more

The demo itself is the package `open_r1.demo` (its docstring maps the modules).
"""

from open_r1.demo.cli import main

if __name__ == "__main__":
    main()
