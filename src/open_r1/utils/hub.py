"""Pushes models and checkpoints to Hugging Face Hub revisions (branches).

    check_hub_revision_exists(training_args)   # before training: refuse to overwrite a finished revision
    push_to_hub_revision(training_args)        # upload output_dir to `hub_model_revision`, in the background

A revision is a branch of `hub_model_id`, created from the repository's first commit so that it
holds only what is pushed to it. Every function takes an optional `api` (an `HfApi`) so tests can
record the calls without a network. Upstream open-r1's sizing helpers import from here too
(`get_param_count_from_repo_id`, `get_gpu_count_for_vllm`); they live in `open_r1.compat.hub`.

Not covered: dataset repositories.
"""

import logging
from concurrent.futures import Future

from huggingface_hub import HfApi

from open_r1.compat.hub import get_gpu_count_for_vllm, get_param_count_from_repo_id  # noqa: F401  upstream's path

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
