"""Pushes models and checkpoints to Hugging Face Hub revisions (branches).

    check_hub_revision_exists(training_args)   # before training: refuse to overwrite a finished revision
    push_to_hub_revision(training_args)        # upload output_dir to `hub_model_revision`, in the background

A revision is a branch of `hub_model_id`, created from the repository's first commit so that it
holds only what is pushed to it. Every function takes an optional `api` (an `HfApi`) so tests can
record the calls without a network. Upstream open-r1's sizing helpers live here too, over the evaluation
launcher's (`open_r1.eval.slurm_jobs`):

    get_param_count_from_repo_id("Qwen/Qwen2.5-7B")      # parameters, from the safetensors index
    get_gpu_count_for_vllm("Qwen/Qwen2.5-7B", "main", 8)  # GPUs that divide the attention heads and 64

Not covered: dataset repositories.
"""

import logging
from concurrent.futures import Future

from huggingface_hub import HfApi

logger = logging.getLogger(__name__)


def _api(api: HfApi | None) -> HfApi:
    return api if api is not None else HfApi()


def ensure_hub_revision(repo_id: str, revision: str, private: bool = False, api: HfApi | None = None) -> str:
    """Creates the model repository and the branch `revision` (from the first commit) when missing."""
    api = _api(api)
    repo_url = api.create_repo(repo_id=repo_id, private=private, exist_ok=True)
    if revision not in (None, "main"):
        initial_commit = api.list_repo_commits(repo_id)[-1]
        api.create_branch(repo_id=repo_id, branch=revision, revision=initial_commit.commit_id, exist_ok=True)
    return str(repo_url)


def push_to_hub_revision(training_args, extra_ignore_patterns=(), api: HfApi | None = None) -> Future:
    """Uploads `training_args.output_dir` to `hub_model_id` @ `hub_model_revision`; returns the upload's future."""
    api = _api(api)
    ensure_hub_revision(training_args.hub_model_id, training_args.hub_model_revision, api=api)
    logger.info(
        "Pushing %s to %s@%s", training_args.output_dir, training_args.hub_model_id, training_args.hub_model_revision
    )
    # Optimizer states and RNG files are large and useless to anyone who loads the model.
    ignore_patterns = ["checkpoint-*", "*.pth", *extra_ignore_patterns]
    return api.upload_folder(
        repo_id=training_args.hub_model_id,
        folder_path=training_args.output_dir,
        revision=training_args.hub_model_revision,
        commit_message=f"Add {training_args.hub_model_revision} checkpoint",
        ignore_patterns=ignore_patterns,
        run_as_future=True,
    )


def check_hub_revision_exists(training_args, api: HfApi | None = None) -> None:
    """Raises when pushing would overwrite a revision that already holds a model (unless asked to)."""
    if not (training_args.push_to_hub or training_args.push_to_hub_revision):
        return
    api = _api(api)
    if not api.repo_exists(training_args.hub_model_id):
        return
    revision = training_args.hub_model_revision
    branches = [ref.name for ref in api.list_repo_refs(training_args.hub_model_id).branches]
    if revision in branches and not training_args.overwrite_hub_revision:
        files = api.list_repo_files(repo_id=training_args.hub_model_id, revision=revision)
        if "README.md" in files:
            raise ValueError(
                f"Revision {revision!r} of {training_args.hub_model_id} already holds a model. Pick another "
                "`hub_model_revision`, or set `overwrite_hub_revision: true` to replace it."
            )


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
