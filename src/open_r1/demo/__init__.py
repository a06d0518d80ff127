"""`make demo`: the R1 recipe in miniature on a CPU, and the tool-integrated reasoning miniature as its `--tools` mode;
`make gsm8k`: the R1 recipe on GSM8K from SmolLM2-135M-Instruct, with and without the python tool.

    make demo [MODEL=smollm2] [TOOLS=1] [SEED=1] [FAST=1] [OUTPUT_DIR=...]   # or: python scripts/demo.py --help
    make gsm8k [ARM=cot|tools|both] [SEED=0] [FAST=1] [OUTPUT_DIR=...]       # or: python scripts/gsm8k.py --help

One module per concern:
- `cli`: the command line; picks the mode and its default folder (data/demo, data/demo-smollm2, data/demo_tools).
- `r1`: the R1 recipe (tiny model or SmolLM2): imperfect-teacher SFT data, SFT, GRPO, evaluation per stage.
- `tools`: the tool miniature: two arms (tool, no tool) from one tiny tool-calling model.
- `gsm8k`: `make gsm8k`'s two arms (chain of thought, python tool) on SmolLM2; `gsm8k_cli` its command line.
- `pipeline`: the steps all of them share (model building, data files, training launches, evaluation, outputs).
- `settings`: what each mode (and `make gsm8k`) builds and evaluates, FAST included.
- `report`: tables, report.md and curves.png.
- `real_model`: SmolLM2 from scripts/get_model.py and GSM8K test, for `MODEL=smollm2`.

Not covered: `make demo`'s GPU runs and real-benchmark evaluation at full length (the README's recipes,
`make evaluate`); `make gsm8k` is meant for one GPU.
"""
