"""Everything that exists only because upstream open-r1 (TRL 0.18 / transformers 4.52) spelled it so.

This project's main path has one vocabulary (`open_r1.sandbox.SandboxConfig`, `code_num_workers`, ...); upstream's
recipes, imports and calls keep working through the pieces below, each of which says when it can be removed:

- `recipes`: upstream recipe fields and command-line options read under this project's names (`torch_dtype`,
  `parallel_code_exec_per_proc`, `wandb_log_unique_prompts`, ...), what a recipe means by relying on upstream's
  defaults (`e2b_router_url` alone means e2b), and the TRL 0.18 defaults that changed. Used by
  `open_r1.recipe_parser.RecipeParser`.
- `rewards`: upstream's module-level code rewards (`open_r1.rewards.code_reward`, ...) and its per-call keywords
  (`provider_type`, `num_parallel`, ...).
- `providers`: upstream's `get_provider(provider_type, num_parallel=...)` and its providers' `execute_scripts`
  (`open_r1.utils.code_providers`).
- `hub`: upstream's model-sizing helpers (`get_param_count_from_repo_id`, `get_gpu_count_for_vllm`), over the
  evaluation launcher's `open_r1.eval.slurm_jobs`.
- `unavailable`: upstream names that import here but cannot mean what they meant (they raise when used, saying
  why; docs/upstream.md lists them).

The modules at upstream's own paths (`open_r1.utils.code_providers`, `open_r1.utils.competitive_programming.*`,
...) stay thin re-exports of this package and of the main path. Not covered: why each choice was made
(docs/upstream.md).
"""
