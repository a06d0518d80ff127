"""docs/demo.md from the results.json of `make demo` and `make gsm8k` runs, so the measured tables are written, never
typed.

    python scripts/demo_report.py docs/results/demo/*.json --output docs/demo.md   # the measured runs kept there

The page itself is `open_r1.demo.docs_page` (its docstring says what it holds).
Not covered: the benchmarks' tables (each script under scripts/benchmarks/ writes its own, `--write_docs`).
"""

from open_r1.demo.docs_page import main

if __name__ == "__main__":
    main()
