"""Data, in one package: loading datasets for training, benchmark files for evaluation, and the data scripts' tools.

- `loading`: `load_dataset_reference`, the one loader: a Hub id, local data file(s) or a folder (imports only
  `datasets`, so the data scripts start fast).
- `mixtures`: `get_dataset(script_args)`, a recipe's dataset or weighted mixture, and `add_system_prompt`
  (upstream's path `open_r1.utils.data` re-exports them).
- `benchmarks`: benchmark JSONL files (id, problem, answer) and saved predictions for evaluation, and the
  prompt every evaluation path builds from a problem.
- `contamination`: a word n-gram index of benchmark problems that flags dataset rows overlapping them.
- `jsonl`: an append-only JSONL file that survives being killed mid-write, for resumable generation.
Nothing here imports torch, transformers or TRL.
Not covered: tokenising and formatting for training (TRL's trainers), prompts for GRPO (`open_r1.grpo`).
"""
