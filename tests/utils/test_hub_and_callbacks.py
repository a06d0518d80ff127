"""Hub revisions, the push-to-revision callback and wandb settings, checked against a recording HfApi (no network)."""

import os
import types
from concurrent.futures import Future

import pytest
from transformers import TrainerControl, TrainerState

from open_r1.utils.callbacks import PushToHubRevisionCallback, get_callbacks
from open_r1.utils.hub import check_hub_revision_exists, push_to_hub_revision
from open_r1.utils.resume import RecordTrainingArguments
from open_r1.utils.wandb_logging import init_wandb_training


class RecordingApi:
    """Answers like huggingface_hub.HfApi for one repository and records the calls."""

    def __init__(self, branches=("main",), files_by_branch=None, exists=True):
        self.calls = []
        self.branches = list(branches)
        self.files_by_branch = files_by_branch or {}
        self.exists = exists

    def create_repo(self, repo_id, private, exist_ok):
        self.calls.append(("create_repo", repo_id))
        return f"https://huggingface.co/{repo_id}"

    def list_repo_commits(self, repo_id):
        return [types.SimpleNamespace(commit_id="newest"), types.SimpleNamespace(commit_id="initial")]

    def create_branch(self, repo_id, branch, revision, exist_ok):
        self.calls.append(("create_branch", branch, revision))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        future = Future()
        future.set_result(None)
        return future

    def repo_exists(self, repo_id):
        return self.exists

    def list_repo_refs(self, repo_id):
        return types.SimpleNamespace(branches=[types.SimpleNamespace(name=b) for b in self.branches])

    def list_repo_files(self, repo_id, revision):
        return self.files_by_branch.get(revision, [])


def training_args(**overrides):
    values = dict(
        hub_model_id="org/model",
        hub_model_revision="v1",
        output_dir="/tmp/out",
        push_to_hub=True,
        push_to_hub_revision=False,
        overwrite_hub_revision=False,
        benchmarks=[],
        callbacks=[],
        system_prompt=None,
    )
    return types.SimpleNamespace(**{**values, **overrides})


def test_push_creates_the_branch_from_the_first_commit_and_uploads_without_checkpoints():
    api = RecordingApi()
    push_to_hub_revision(training_args(), extra_ignore_patterns=["*.pt"], api=api).result()
    assert ("create_branch", "v1", "initial") in api.calls
    upload = next(kwargs for name, kwargs, *_ in api.calls if name == "upload_folder")
    assert upload["revision"] == "v1" and upload["folder_path"] == "/tmp/out" and upload["run_as_future"]
    assert {"checkpoint-*", "*.pt"} <= set(upload["ignore_patterns"])


def test_pushing_over_a_revision_that_holds_a_model_is_refused():
    api = RecordingApi(branches=["main", "v1"], files_by_branch={"v1": ["README.md", "model.safetensors"]})
    with pytest.raises(ValueError, match="overwrite_hub_revision"):
        check_hub_revision_exists(training_args(), api=api)
    check_hub_revision_exists(training_args(overwrite_hub_revision=True), api=api)
    check_hub_revision_exists(training_args(hub_model_revision="v2"), api=api)
    check_hub_revision_exists(training_args(push_to_hub=False), api=api)


def test_callback_pushes_each_checkpoint_to_its_own_revision():
    pushed = []
    callback = PushToHubRevisionCallback(model_config=None, push=lambda args, **kw: pushed.append(args) or Future())
    state = TrainerState(global_step=250)
    callback.on_save(training_args(), state, TrainerControl())
    assert len(pushed) == 1
    assert pushed[0].hub_model_revision == "v1-step-000000250"
    assert pushed[0].output_dir == "/tmp/out/checkpoint-250"


def test_only_the_main_process_pushes():
    pushed = []
    callback = PushToHubRevisionCallback(model_config=None, push=lambda args, **kw: pushed.append(args) or Future())
    state = TrainerState(global_step=1)
    state.is_world_process_zero = False
    callback.on_save(training_args(), state, TrainerControl())
    assert pushed == []


def test_callbacks_are_built_by_name_and_unknown_names_are_listed():
    assert [type(c) for c in get_callbacks(training_args(callbacks=["push_to_hub_revision"]), None)] == [
        RecordTrainingArguments,
        PushToHubRevisionCallback,
    ]
    with pytest.raises(ValueError, match="Unknown callback 'push_to_hub'.*push_to_hub_revision"):
        get_callbacks(training_args(callbacks=["push_to_hub"]), None)


def test_wandb_settings_reach_the_environment(monkeypatch):
    for variable in ("WANDB_ENTITY", "WANDB_PROJECT", "WANDB_RUN_GROUP"):
        monkeypatch.delenv(variable, raising=False)
    init_wandb_training(types.SimpleNamespace(wandb_entity="team", wandb_project="r1", wandb_run_group=None))
    assert os.environ["WANDB_ENTITY"] == "team" and os.environ["WANDB_PROJECT"] == "r1"
    assert "WANDB_RUN_GROUP" not in os.environ


def test_benchmarks_are_launched_once_the_checkpoint_is_pushed(monkeypatch):
    import open_r1.eval.slurm_jobs as slurm_jobs
    import open_r1.utils.callbacks as callbacks

    launched = []
    monkeypatch.setattr(callbacks, "is_slurm_available", lambda: True)
    monkeypatch.setattr(slurm_jobs, "run_benchmark_jobs", lambda args, model_config: launched.append(args))
    upload = Future()
    callback = PushToHubRevisionCallback(model_config="model-args", push=lambda args, **kw: upload)
    callback.on_save(training_args(benchmarks=["aime24"]), TrainerState(global_step=5), TrainerControl())
    assert launched == [], "not before the upload finished"
    upload.set_result(None)
    assert [args.hub_model_revision for args in launched] == ["v1-step-000000005"]
    assert launched[0].benchmarks == ["aime24"]


def test_logging_to_wandb_online_without_credentials_is_refused_before_the_model_loads(monkeypatch, tmp_path):
    """Found by an audit: wandb raised "No API key configured" only at train start, under 298 lines."""
    from open_r1.usage import UsageError
    from open_r1.utils.wandb_logging import check_wandb_login

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc, no wandb settings
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    for variable in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("WANDB_MODE", "online")
    with pytest.raises(
        UsageError, match="report_to wandb needs credentials .* run `wandb login` once .*WANDB_MODE=offline"
    ):
        check_wandb_login()
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    check_wandb_login()
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.setenv("WANDB_MODE", "offline")
    check_wandb_login()


@pytest.mark.parametrize("mode", ["offlin", "OFFLINE"])
def test_a_wandb_mode_wandb_does_not_know_is_named_before_the_model_loads(monkeypatch, mode):
    """Found by a newcomer audit: WANDB_MODE=offlin skipped the login check, then wandb refused the run at train
    start, after the model loaded, blaming the API key (wandb's modes are lower-case)."""
    from open_r1.usage import UsageError
    from open_r1.utils.wandb_logging import check_wandb_login

    monkeypatch.setenv("WANDB_MODE", mode)
    with pytest.raises(
        UsageError,
        match=rf"^WANDB_MODE={mode} is none of wandb's modes online, offline, .* \(did you mean WANDB_MODE=offline\?\)$",
    ):
        check_wandb_login()
