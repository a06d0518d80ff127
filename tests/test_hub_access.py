"""Hub models and datasets, and pushes, are checked before anything loads: in the cache when offline or when the
Hub does not answer, one line naming each field otherwise, and never a network request in offline mode."""

import json
import os
import subprocess
import sys

import httpx
import pytest

from open_r1 import hub_access
from open_r1.hub_access import HubReference, Push, check_hub_access
from open_r1.usage import UsageError, check_command_line
from tests.support.local_server import serving
from tests.support.ports import free_port

MODEL = HubReference("model_name_or_path", "Org/Some-Model", "model")
DATASET = HubReference("dataset_name", "org/MathProblems", "dataset")
PUSH = Push("push_to_hub would push to the Hub", "add --push_to_hub false")
ENVIRONMENT = (
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "XDG_CACHE_HOME",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_ENDPOINT",
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_OIDC_RESOURCE",
)


@pytest.fixture
def hub_home(tmp_path, monkeypatch):
    """An empty Hugging Face home, online, with the Hub's endpoint where nothing listens and no pause between
    tries; yields the home folder."""
    for name in ENVIRONMENT:
        monkeypatch.setenv(name, "")  # recorded, so that what a check sets is undone too
        monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(hub_access, "HUB_CHECK_PAUSE_SECONDS", 0.0)
    return tmp_path / "hf"


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test if anything asks the Hub."""

    def refuse(*args, **kwargs):
        raise AssertionError("the Hub was asked in offline mode")

    monkeypatch.setattr(httpx, "head", refuse)


def cache_model(home, repo_id: str) -> None:
    (home / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots" / "0123abc").mkdir(parents=True)


def test_the_cache_folders_are_the_libraries_own(tmp_path):
    """Read in a fresh interpreter under each setting, as the libraries read them at import."""
    settings = [
        {},
        {"XDG_CACHE_HOME": str(tmp_path / "xdg")},
        {"HF_HOME": "~/hf-home"},
        {"HF_HOME": str(tmp_path / "home"), "HUGGINGFACE_HUB_CACHE": str(tmp_path / "legacy")},
        {"HF_HUB_CACHE": str(tmp_path / "hub"), "HUGGINGFACE_HUB_CACHE": str(tmp_path / "legacy")},
        {"HF_HOME": str(tmp_path / "home"), "HF_DATASETS_CACHE": str(tmp_path / "datasets")},
    ]
    probe = (
        "import json, huggingface_hub.constants as c, datasets.config as d\n"
        "from open_r1 import hub_access as h\n"
        "print(json.dumps([[h.hf_home(), h.hub_cache(), h.datasets_cache()],"
        " [c.HF_HOME, c.HF_HUB_CACHE, str(d.HF_DATASETS_CACHE)]]))"
    )
    for setting in settings:
        env = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT}
        ours, theirs = json.loads(
            subprocess.run(
                [sys.executable, "-c", probe], env={**env, **setting}, capture_output=True, text=True, check=True
            ).stdout
        )
        assert ours == theirs, setting


@pytest.mark.parametrize(
    "environment, model, dataset",
    [
        ({}, False, False),
        ({"HF_HUB_OFFLINE": "1"}, True, True),
        ({"TRANSFORMERS_OFFLINE": "yes"}, True, True),
        ({"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"}, False, False),  # huggingface_hub reads the first set
        ({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "0"}, True, False),
        ({"HF_DATASETS_OFFLINE": "ON"}, False, True),
    ],
)
def test_offline_mode_is_read_as_each_library_reads_it(hub_home, monkeypatch, environment, model, dataset):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert (hub_access.offline("model"), hub_access.offline("dataset")) == (model, dataset)


def test_offline_a_reference_missing_from_the_cache_is_named_without_asking_the_hub(hub_home, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError) as error:
        check_hub_access([MODEL, DATASET])
    assert str(error.value) == (
        "offline mode (HF_HUB_OFFLINE=1) keeps the Hub out of reach, so model_name_or_path Org/Some-Model and "
        f"dataset_name org/MathProblems are neither local paths nor in the cache ({hub_home / 'hub'} and "
        f"{hub_home / 'datasets'}): give a local path, or load it once where the Hub answers, which caches it"
    )


def test_offline_what_the_cache_holds_loads(hub_home, monkeypatch, no_network):
    from datasets.load import CachedDatasetModuleFactory

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache_model(hub_home, MODEL.repo_id)
    # datasets' own copy: `<org>___<name in snake case>`, as `load_dataset` left it
    (hub_home / "datasets" / "org___math_problems" / "default" / "0.0.0" / "abc").mkdir(parents=True)
    check_hub_access([MODEL, DATASET])
    other = HubReference("dataset_name", "org/Other", "dataset")
    with pytest.raises(UsageError, match="dataset_name org/Other is neither a local path"):
        check_hub_access([MODEL, other])
    # datasets' own lookup of its cache agrees on both
    CachedDatasetModuleFactory(DATASET.repo_id, cache_dir=str(hub_home / "datasets")).get_module()
    with pytest.raises(FileNotFoundError):
        CachedDatasetModuleFactory(other.repo_id, cache_dir=str(hub_home / "datasets")).get_module()


def test_a_dataset_only_in_the_hub_cache_is_not_cached(hub_home, monkeypatch, no_network):
    """`hf download --repo-type dataset` leaves a snapshot that datasets does not load a Hub id from offline."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    (hub_home / "hub" / "datasets--org--MathProblems" / "snapshots" / "0123abc").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"^offline mode \(HF_DATASETS_OFFLINE=1\) keeps the Hub out of reach"):
        check_hub_access([DATASET])


def test_offline_a_push_is_refused_with_the_option_that_turns_it_off(hub_home, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError) as error:
        check_hub_access([], Push("push_to_hub_revision would push to the Hub", "add --push_to_hub_revision false"))
    assert str(error.value) == (
        "offline mode (HF_HUB_OFFLINE=1) keeps the Hub out of reach, so push_to_hub_revision would push to the Hub: "
        "add --push_to_hub_revision false"
    )


def test_local_work_asks_nothing(hub_home, no_network):
    check_hub_access([])


def test_a_hub_that_does_not_answer_refuses_what_the_cache_lacks_and_any_push(hub_home):
    with pytest.raises(UsageError) as error:
        check_hub_access([MODEL], PUSH)
    message = str(error.value)
    assert message.startswith(
        f"the Hub ({os.environ['HF_ENDPOINT']}) does not answer ([Errno 111] Connection refused), so "
    )
    assert (
        f"model_name_or_path Org/Some-Model is neither a local path nor in the cache ({hub_home / 'hub'})" in message
    )
    assert message.endswith("; push_to_hub would push to the Hub: add --push_to_hub false")
    assert "HF_HUB_OFFLINE" not in os.environ


def test_a_hub_that_does_not_answer_with_everything_cached_goes_on_offline(hub_home, monkeypatch, caplog):
    import datasets.config
    import huggingface_hub.constants

    # The libraries read the variable once, at import: their flags must follow it too.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    cache_model(hub_home, MODEL.repo_id)
    check_hub_access([MODEL])
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert huggingface_hub.constants.is_offline_mode() and datasets.config.HF_HUB_OFFLINE
    assert "loading Org/Some-Model from the cache, as with HF_HUB_OFFLINE=1" in caplog.text


def test_only_the_main_process_says_it_goes_offline(hub_home, monkeypatch, caplog):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("RANK", "1")
    cache_model(hub_home, MODEL.repo_id)
    check_hub_access([MODEL])
    assert os.environ["HF_HUB_OFFLINE"] == "1" and "from the cache" not in caplog.text


def test_any_answer_of_the_hub_counts_and_changes_nothing(hub_home, monkeypatch):
    from aiohttp import web

    monkeypatch.setenv("HF_TOKEN", "hf_test")
    with serving(web.Application()) as url:  # answers 404: the Hub is there
        monkeypatch.setenv("HF_ENDPOINT", url)
        check_hub_access([MODEL, DATASET], PUSH)
    assert "HF_HUB_OFFLINE" not in os.environ


def test_a_push_where_the_hub_answers_needs_a_token(hub_home, monkeypatch):
    """Without one, transformers' push failed once the model had loaded (401)."""
    import huggingface_hub.constants
    from aiohttp import web

    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(hub_home / "token"))  # no login here
    with serving(web.Application()) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        with pytest.raises(UsageError) as error:
            check_hub_access([MODEL], PUSH)
        assert str(error.value) == (
            "push_to_hub would push to the Hub and no Hub token is set: log in with `hf auth login`, set HF_TOKEN "
            "or hub_token, or add --push_to_hub false"
        )
        check_hub_access([MODEL], Push(PUSH.what, PUSH.instead, token_given=True))  # the recipe's hub_token
        hub_home.mkdir()
        (hub_home / "token").write_text("hf_test\n")  # what `hf auth login` writes
        check_hub_access([MODEL], PUSH)


def test_the_hub_is_asked_through_the_proxies_huggingface_hub_uses(hub_home, monkeypatch):
    """ALL_PROXY too, which urllib would ignore: a Hub reached only through it answers."""
    from aiohttp import web

    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")  # no such host: only the proxy can answer
    monkeypatch.setattr(hub_access, "HUB_CHECK_ATTEMPTS", 1)
    assert hub_access.hub_unreachable_reason() is not None
    with serving(web.Application()) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy)
        assert hub_access.hub_unreachable_reason() is None


def test_a_blip_is_retried_before_the_hub_counts_as_out_of_reach(hub_home, monkeypatch):
    from aiohttp import web

    calls = []
    real_head = httpx.head

    def fail_once(url, timeout):
        calls.append(url)
        if len(calls) == 1:
            raise httpx.ConnectError("temporary failure in name resolution")
        return real_head(url, timeout=timeout)

    monkeypatch.setattr(httpx, "head", fail_once)
    with serving(web.Application()) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        check_hub_access([MODEL])
    assert len(calls) == 2


def test_the_training_command_line_checks_its_hub_ids_and_pushes(hub_home, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: Org/Some-Model\ndataset_name: org/MathProblems\npush_to_hub: true\n")
    cache_model(hub_home, MODEL.repo_id)
    (tmp_path / "train.jsonl").write_text('{"prompt": "1+1?"}\n')
    local = ["--dataset_name", "train.jsonl"]
    with pytest.raises(UsageError, match=r"so push_to_hub needs the Hub: add --push_to_hub false$"):
        check_command_line(["--config", str(recipe), *local])
    check_command_line(["--config", str(recipe), *local, "--push_to_hub", "false"])
    check_command_line(["--config", str(recipe), *local, "--push_to_hub=False"])
    check_command_line(["--config", str(recipe), "--dataset-name", "train.jsonl", "--push-to-hub", "f"])
    with pytest.raises(UsageError, match="push_to_hub needs the Hub"):  # a bare flag means true, so does t
        check_command_line(["--config", str(recipe), *local, "--push_to_hub"])
    with pytest.raises(UsageError, match="push_to_hub needs the Hub"):
        check_command_line(["--config", str(recipe), *local, "--push_to_hub", "t"])
    with pytest.raises(UsageError, match="push_to_hub_revision needs the Hub: add --push_to_hub_revision false$"):
        check_command_line(["--config", str(recipe), *local, "--push_to_hub", "false", "--push_to_hub_revision"])
    with pytest.raises(UsageError, match="dataset_name org/MathProblems is neither a local path"):
        check_command_line(["--config", str(recipe), "--push_to_hub", "false"])


@pytest.fixture
def offline_recipe(hub_home, tmp_path, monkeypatch, no_network):
    """Offline, in a working directory holding `train.jsonl`: writes its text to a recipe and returns its path."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.jsonl").write_text('{"prompt": "1+1?"}\n')
    recipe = tmp_path / "recipe.yaml"

    def write(text: str):
        recipe.write_text(text)
        return recipe

    return write


def test_the_callback_that_pushes_each_checkpoint_is_a_push(offline_recipe):
    recipe = offline_recipe("dataset_name: train.jsonl\npush_to_hub: true\ncallbacks: [push_to_hub_revision]\n")
    with pytest.raises(UsageError) as error:
        check_command_line(["--config", str(recipe)])
    assert str(error.value).endswith(
        "so push_to_hub needs the Hub and callbacks: [push_to_hub_revision] pushes each checkpoint: add "
        "--push_to_hub false and leave push_to_hub_revision out of callbacks"
    )
    check_command_line(["--config", str(recipe), "--push_to_hub", "false", "--callbacks"])
    with pytest.raises(UsageError, match="callbacks: \\[push_to_hub_revision\\] pushes each checkpoint"):
        check_command_line(["--config", str(recipe), "--push_to_hub", "false", "--callbacks", "push_to_hub_revision"])


def test_a_mixture_replaces_the_dataset_name_it_comes_with(offline_recipe):
    """The run loads the mixture's members; an unused dataset_name is not asked for."""
    recipe = offline_recipe("dataset_name: org/MathProblems\ndataset_mixture:\n  datasets:\n    - id: train.jsonl\n")
    check_command_line(["--config", str(recipe)])
    offline_recipe("dataset_mixture:\n  datasets:\n    - id: org/MathProblems\n")
    with pytest.raises(UsageError, match=r"dataset_mixture.datasets\[0\].id org/MathProblems is neither"):
        check_command_line(["--config", str(recipe)])


@pytest.mark.parametrize(
    "settings, needs_token",
    [
        ({"push_to_hub": True}, True),
        ({"push_to_hub": "true", "hub_token": "hf_recipe"}, False),
        ({"push_to_hub": True, "push_to_hub_token": "hf_upstream"}, False),  # upstream's name of hub_token
        ({"push_to_hub_revision": True}, False),  # only reads the Hub's branches
        ({"callbacks": ["push_to_hub_revision"], "hub_token": "hf_recipe"}, True),  # the callback pushes as the login
    ],
)
def test_a_push_where_the_hub_answers_needs_a_token_only_where_it_writes_without_one(
    hub_home, monkeypatch, settings, needs_token
):
    import huggingface_hub.constants
    from aiohttp import web

    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(hub_home / "token"))  # no login here
    with serving(web.Application()) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        if needs_token:
            with pytest.raises(UsageError, match="and no Hub token is set: log in with `hf auth login`"):
                check_hub_access([], hub_access.training_push(settings))
        else:
            check_hub_access([], hub_access.training_push(settings))


def test_a_recipes_env_counts_for_the_checks_as_it_will_for_the_run(hub_home, tmp_path, monkeypatch):
    """TRL sets the recipe's `env` while parsing; the token it sets is there for the push."""
    import huggingface_hub.constants
    from aiohttp import web

    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(hub_home / "token"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.jsonl").write_text('{"prompt": "1+1?"}\n')
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("dataset_name: train.jsonl\npush_to_hub: true\nenv:\n  HF_TOKEN: hf_from_recipe\n")
    with serving(web.Application()) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        check_command_line(["--config", str(recipe)])
    assert os.environ["HF_TOKEN"] == "hf_from_recipe"


def test_a_local_folder_named_without_its_parents_is_suggested(hub_home, tmp_path, monkeypatch):
    """A newcomer audit's: `--model_name_or_path tiny-model` (for data/tiny-model) read as a Hub id, with no hint."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "evals" / "tiny-model").mkdir(parents=True)  # evaluations of it: no model (a review's)
    (tmp_path / "data" / "tiny-model").mkdir(parents=True)
    (tmp_path / "data" / "tiny-model" / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        UsageError, match=r"model_name_or_path tiny-model \(did you mean data/tiny-model\?\) is neither"
    ):
        check_hub_access([HubReference("model_name_or_path", "tiny-model", "model")])
