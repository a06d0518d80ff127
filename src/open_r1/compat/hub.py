"""Upstream open-r1's model-sizing helpers at `open_r1.utils.hub`, over the evaluation launcher's own functions.

    from open_r1.utils.hub import get_param_count_from_repo_id, get_gpu_count_for_vllm   # upstream's path
    get_param_count_from_repo_id("Qwen/Qwen2.5-7B")      # parameters, from the safetensors weights
    get_gpu_count_for_vllm("Qwen/Qwen2.5-7B", "main", 8)  # GPUs that divide the attention heads and 64

This project sizes evaluation jobs with `open_r1.eval.slurm_jobs` (`parameter_count`, `gpus_for_tensor_parallel`).

Remove when: no caller imports these names from `open_r1.utils.hub` or `open_r1.utils.evaluation`.
"""


def get_param_count_from_repo_id(repo_id: str) -> int:
    """Parameters of `repo_id` (a Hub id or a local folder), read from its safetensors weights.

    Raises `ModelSizeUnknownError` when they cannot be read; upstream guessed from the name ("7b") or returned
    -1, which launched large models data-parallel (docs/upstream.md)."""
    from open_r1.eval.slurm_jobs import parameter_count

    return parameter_count(repo_id)


def get_gpu_count_for_vllm(model_name: str, revision: str = "main", num_gpus: int = 8) -> int:
    """The most GPUs (<= num_gpus) vLLM can shard `model_name` over: they must divide its attention heads and 64."""
    from transformers import AutoConfig

    from open_r1.eval.slurm_jobs import gpus_for_tensor_parallel

    config = AutoConfig.from_pretrained(model_name, revision=revision, trust_remote_code=True)
    return gpus_for_tensor_parallel(config.num_attention_heads, max_gpus=num_gpus)
