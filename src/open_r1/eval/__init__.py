"""Evaluation, in one package: offline on local benchmark files, and lighteval on GPUs or CPU.

- `offline`: `python -m open_r1.evaluate` (`make evaluate BACKEND=cpu`): problems to chats, grading with the
  code behind `accuracy_reward`, results.json (pass@k, maj@k with standard errors) and details.jsonl.
- `few_shot`: lighteval's GSM8K few-shot protocol (SmolLM2's model card): prompts with shots from a training
  file only, and its answer matching (`--prompt_style plain`, and the lighteval tasks with a shot file).
- `decoding`: n sampled completions per chat with transformers (`sample_completions`), for the offline evaluator
  and pass-rate filtering.
- `benchmark_registry`: the benchmark names lighteval evaluates and their task strings.
- `lighteval_command`: the `lighteval vllm` / `lighteval accelerate` command lines.
- `lighteval_jobs`: their command line (`make evaluate`, `python -m open_r1.eval.lighteval_jobs`).
- `slurm_jobs`: the Slurm launch of evaluations of pushed checkpoints (`run_benchmark_jobs`, used by the
  training callbacks and scripts/run_benchmarks.py), sized from the model's parameter count.
- `lighteval_tasks`: local benchmark files as lighteval custom tasks, graded like `accuracy_reward`.
- `metrics`: pass@k / maj@k estimators; `arguments`: the offline evaluator's arguments and the sampling
  defaults every path shares.
Benchmark files are read by `open_r1.data.benchmarks`. Upstream's path `open_r1.utils.evaluation` re-exports
the launcher. Nothing here imports torch, transformers or TRL until a model is loaded.
Not covered: evaluation during training (TRL's `eval_strategy`), the grading itself (`open_r1.rewards.accuracy`).
"""
