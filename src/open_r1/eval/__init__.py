"""Evaluation, in one package: offline on local benchmark files, and lighteval on GPUs or CPU.

- `offline`: `python -m open_r1.evaluate` (`make evaluate BACKEND=cpu`): sample with transformers, grade with
  the code behind `accuracy_reward`, write results.json (pass@k, maj@k with standard errors) and details.jsonl.
- `lighteval_jobs`: the benchmark registry, the `lighteval vllm` / `lighteval accelerate` command lines
  (`make evaluate`, `python -m open_r1.eval.lighteval_jobs`) and the Slurm launch of evaluations of pushed
  checkpoints (`run_benchmark_jobs`, used by the training callbacks and scripts/run_benchmarks.py).
- `lighteval_tasks`: local benchmark files as lighteval custom tasks, graded like `accuracy_reward`.
- `metrics`: pass@k / maj@k estimators; `arguments`: the offline evaluator's arguments and the sampling
  defaults every path shares.
Benchmark files are read by `open_r1.data.benchmarks`. Upstream's path `open_r1.utils.evaluation` re-exports
the launcher. Nothing here imports torch, transformers or TRL until a model is loaded.
"""
