"""Sandbox construction in one place: `SandboxConfig`, the provider factory and the one language table."""

import threading
import time

import pytest

from open_r1.rewards.code import extract_code
from open_r1.sandbox import Limits, SandboxConfig, factory
from open_r1.sandbox.languages import LANGUAGES, UnsupportedLanguageError, canonical_language, fence_tags


@pytest.fixture
def counting_build(monkeypatch):
    """Replaces provider construction with a slow stand-in that counts its calls."""
    built = []

    def slow_build(*args):
        time.sleep(0.2)  # long enough for every thread to ask before the first build finishes
        built.append(args)
        return object()

    monkeypatch.setattr(factory, "_build", slow_build)
    monkeypatch.setattr(factory, "_providers", {})
    return built


def test_threads_asking_for_the_same_provider_at_once_get_one(counting_build):
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(factory.get_provider(SandboxConfig("local", 2))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counting_build) == 1
    assert len({id(provider) for provider in results}) == 1 and len(results) == 8


def test_each_configuration_gets_its_own_provider(counting_build):
    assert factory.get_provider(SandboxConfig("local", 2)) is factory.get_provider(SandboxConfig("local", 2))
    assert factory.get_provider(SandboxConfig("local", 2)) is not factory.get_provider(SandboxConfig("local", 3))
    assert len(counting_build) == 2
    assert counting_build[0] == (SandboxConfig("local", 2),)  # the configuration reaches the builder unchanged


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"provider": "cloud"}, "Unknown code provider 'cloud'"),
        ({"num_workers": 0}, "num_workers must be a positive integer, got 0"),
        ({"num_workers": True}, "num_workers must be a positive integer, got True"),
        ({"provider": "local", "router_url": "r:1"}, "router_url 'r:1' is set but the local provider takes no router"),
        ({"provider": "piston", "router_url": "r:1"}, "the piston provider takes no router"),
        ({"limits": {"wall_seconds": 1}}, "limits must be a Limits"),
    ],
)
def test_bad_sandbox_settings_are_named_when_the_config_is_made(settings, message):
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**settings)


def test_a_sandbox_config_is_frozen_and_the_factory_takes_nothing_else():
    config = SandboxConfig("e2b", 4, "r:1", Limits(wall_seconds=3))
    assert (config.provider, config.num_workers, config.router_url, config.limits.wall_seconds) == ("e2b", 4, "r:1", 3)
    with pytest.raises(AttributeError):
        config.num_workers = 8
    with pytest.raises(TypeError, match="get_provider takes a SandboxConfig, got str"):
        factory.get_provider("local")


@pytest.mark.parametrize(
    "alias, canonical",
    [("python", "python"), ("Python3", "python"), ("py", "python"), ("C++", "cpp"), ("cxx", "cpp"), ("c", "c")],
)
def test_aliases_map_to_one_canonical_name(alias, canonical):
    assert canonical_language(alias) == canonical


@pytest.mark.parametrize("bad", ["cobol", "", None, 3, ["python"]])
def test_anything_else_is_an_error_naming_the_value(bad):
    with pytest.raises(UnsupportedLanguageError, match="python, cpp and c|must be a string"):
        canonical_language(bad)


def test_every_canonical_language_has_its_fence_tags():
    assert LANGUAGES == ("python", "cpp", "c")
    assert fence_tags("cpp") == {"cpp", "c++", "cc", "cxx"}
    assert fence_tags("javascript") == {"javascript"}  # extraction does not depend on what can run


def test_code_extraction_accepts_every_alias_of_the_language():
    completion = "```py\nprint(1)\n```\n```text\nnot code\n```"
    assert extract_code(completion, "python3") == "print(1)\n"
