"""Upstream open-r1's code rewards as upstream called them: module-level functions that take per-call keywords.

    from open_r1.rewards import code_reward                     # upstream's import; built here
    code_reward(completions, verification_info=[...], provider_type="e2b", num_parallel=4)

Upstream's code rewards were plain functions configured on every call (`provider_type`, `num_parallel`,
`e2b_router_url`, `morph_router_url`, `enforce_same_language`, `test_batch_size`, `scoring_mode`, `patch_code`).
This project's rewards are built once from a `SandboxConfig` and take dataset columns only
(`open_r1.rewards.code`, `.ioi`, `.codeforces`); `accepting_upstream_options` turns one into a function that also
takes those keywords: each call with some of them builds the reward they describe (a cheap closure; providers are
shared per configuration by `open_r1.sandbox.get_provider`) and runs it. A keyword the reward has no meaning for
(`scoring_mode` for the binary and IOI rewards, `patch_code=True`, `patch_code` outside cf_code) is a TypeError
naming it, never ignored. A router URL is used when the provider that runs is the one it names (as upstream's
`get_provider` read only the URL of the provider it built).

`code_reward`, `binary_code_reward`, `ioi_code_reward` and `cf_code_reward` are the module-level rewards upstream
imported from `open_r1.rewards`, on this project's default sandbox (local; Piston for IOI and Codeforces).

Remove when: no caller imports upstream's module-level code rewards from `open_r1.rewards` or passes them per-call
keywords (TRL itself passes dataset columns only).
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from open_r1.rewards.code import BINARY_SCORING, Sandbox, get_code_reward
from open_r1.rewards.codeforces import get_cf_code_reward
from open_r1.rewards.ioi import DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER, get_ioi_code_reward
from open_r1.sandbox.base import CodeExecutionProvider
from open_r1.sandbox.config import ROUTED_PROVIDERS, SandboxConfig

# TRL passes dataset columns as keyword arguments too, so only these names are taken as options.
PER_CALL_OPTIONS = (
    "provider_type",
    "num_parallel",
    "e2b_router_url",
    "morph_router_url",
    "enforce_same_language",
    "test_batch_size",
    "scoring_mode",
    "patch_code",
)
_SANDBOX_OPTIONS = ("provider_type", "num_parallel", "e2b_router_url", "morph_router_url")
# Why a reward has no scoring mode (it refuses the option by name).
_FIXED_SCORING = {
    "binary_code_reward": BINARY_SCORING,
    "ioi_code_reward": "IOI subtasks earn their points only when all their tests pass",
}


def _call_sandbox(sandbox: Sandbox, given: dict, reward_name: str) -> Sandbox:
    """The sandbox of one call: `sandbox` with upstream's provider keywords applied."""
    if not any(name in given for name in _SANDBOX_OPTIONS):
        return sandbox
    if isinstance(sandbox, CodeExecutionProvider):
        if "provider_type" not in given:
            raise TypeError(
                f"{reward_name} got {sorted(set(given) & set(_SANDBOX_OPTIONS))} without provider_type, but it was "
                f"built with a custom provider ({sandbox!r:.80}) whose settings it cannot change; pass provider_type "
                "as well"
            )
        sandbox = SandboxConfig()
    provider = given.get("provider_type", sandbox.provider)
    url_option = f"{provider}_router_url" if provider in ROUTED_PROVIDERS else None
    if url_option in given:
        router_url = given[url_option]
    else:
        router_url = sandbox.router_url if provider == sandbox.provider else None
    return replace(
        sandbox, provider=provider, num_workers=given.get("num_parallel", sandbox.num_workers), router_url=router_url
    )


def accepting_upstream_options(reward_name: str, build: Callable[..., Callable], sandbox: Sandbox, **settings: Any):
    """`build(sandbox, **settings)`, callable with upstream's per-call keywords too (see the module docstring)."""
    configured = build(sandbox, **settings)
    has_scoring_mode = reward_name not in _FIXED_SCORING

    def reward(completions, **kwargs) -> list:
        given = {name: kwargs.pop(name) for name in PER_CALL_OPTIONS if name in kwargs}
        if not given:
            return configured(completions, **kwargs)
        refused = {}
        if "scoring_mode" in given and not has_scoring_mode:
            refused["scoring_mode"] = _FIXED_SCORING[reward_name]
        # Upstream patched Codeforces programs (fast I/O...) on request; here they run as written, which is what
        # patch_code=False asks for, and only cf_code_reward has the option at all.
        if "patch_code" in given and (given["patch_code"] or reward_name != "cf_code_reward"):
            refused["patch_code"] = "programs run as written"
        if refused:
            reasons = "; ".join(f"{name}={given[name]!r:.60} ({why})" for name, why in refused.items())
            raise TypeError(f"{reward_name} cannot honour {reasons}")
        call_settings = dict(settings)
        for name in ("test_batch_size", "scoring_mode", "enforce_same_language"):
            if name in given:
                call_settings[name] = given[name]
        return build(_call_sandbox(sandbox, given, reward_name), **call_settings)(completions, **kwargs)

    reward.__name__ = reward.__qualname__ = reward_name
    reward.__doc__ = configured.__doc__
    return reward


_COMPETITIVE_PROGRAMMING = SandboxConfig(DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER)
code_reward = accepting_upstream_options("code_reward", get_code_reward, SandboxConfig())
binary_code_reward = accepting_upstream_options("binary_code_reward", get_code_reward, SandboxConfig(), binary=True)
ioi_code_reward = accepting_upstream_options("ioi_code_reward", get_ioi_code_reward, _COMPETITIVE_PROGRAMMING)
cf_code_reward = accepting_upstream_options("cf_code_reward", get_cf_code_reward, _COMPETITIVE_PROGRAMMING)

__all__ = [
    "PER_CALL_OPTIONS",
    "accepting_upstream_options",
    "binary_code_reward",
    "cf_code_reward",
    "code_reward",
    "ioi_code_reward",
]
