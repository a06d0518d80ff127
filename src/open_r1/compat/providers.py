"""Upstream open-r1's provider factory, `get_provider(provider_type, num_parallel=..., e2b_router_url=...)`.

    from open_r1.utils.code_providers import get_provider          # upstream's path; built here
    provider = get_provider("e2b", num_parallel=4, e2b_router_url="10.0.0.5:8000")
    provider.execute([Submission(code, "python", tests)])          # this project's interface
    provider.execute_scripts(scripts, languages)                   # upstream's: raises, saying what to call

The keywords become a `SandboxConfig` (`num_parallel` is `num_workers`; the router URL of the provider built is
its `router_url`, the other one is not read, as upstream's did not) and the provider comes from
`open_r1.sandbox.get_provider`, shared with this project's own users of that configuration. Any other keyword is a
TypeError naming it (upstream let dataset columns through unread). What comes back is an `UpstreamProvider`: the
provider itself for everything it does, plus upstream's `execute_scripts`, which cannot mean here what it meant
(scripts whose last expression was the reward) and raises with what to call instead.

Remove when: no caller gets providers from `open_r1.utils.code_providers`.
"""

from collections.abc import Sequence

from open_r1.sandbox.base import CodeExecutionProvider, ProgramResult, Submission
from open_r1.sandbox.config import ROUTED_PROVIDERS, SandboxConfig
from open_r1.sandbox.factory import get_provider as _get_provider

# Upstream's default provider; this project's own default (`open_r1.sandbox.config`) is the local sandbox.
UPSTREAM_DEFAULT_PROVIDER = "e2b"
UPSTREAM_NUM_PARALLEL = 2
UPSTREAM_OPTIONS = ("num_parallel", "e2b_router_url", "morph_router_url")
EXECUTE_SCRIPTS_MESSAGE = (
    "execute_scripts (upstream open-r1) ran evaluation scripts whose last expression was the reward; "
    "providers here run programs on test cases and score them in the training process: call "
    "execute([Submission(code, language, tests)]) or use open_r1.rewards.code_reward (see docs/upstream.md)"
)


class UpstreamProvider(CodeExecutionProvider):
    """A provider of this project, with upstream's `execute_scripts` refusing by name; everything else is the
    wrapped provider's (`provider`)."""

    def __init__(self, provider: CodeExecutionProvider):
        self.provider = provider

    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        return self.provider.execute(submissions, test_batch_size=test_batch_size)

    def run_raw(self, source: str, language: str, inputs: Sequence[str]) -> tuple[dict, list[dict]]:
        return self.provider.run_raw(source, language, inputs)

    def close(self) -> None:
        self.provider.close()

    def __getattr__(self, name: str):
        if name == "provider":  # not set yet (copying): no provider to ask
            raise AttributeError(name)
        return getattr(self.provider, name)

    def execute_scripts(self, scripts, languages) -> list[float]:
        raise NotImplementedError(EXECUTE_SCRIPTS_MESSAGE)


def get_provider(provider_type: str = UPSTREAM_DEFAULT_PROVIDER, **options) -> UpstreamProvider:
    """The provider named `provider_type` ('e2b', 'morph', 'local' or 'piston') with upstream's keywords."""
    unknown = sorted(set(options) - set(UPSTREAM_OPTIONS))
    if unknown:
        raise TypeError(f"get_provider got options it does not take: {unknown}; it takes {list(UPSTREAM_OPTIONS)}")
    router_url = options.get(f"{provider_type}_router_url") if provider_type in ROUTED_PROVIDERS else None
    config = SandboxConfig(
        provider_type, num_workers=options.get("num_parallel", UPSTREAM_NUM_PARALLEL), router_url=router_url
    )
    return UpstreamProvider(_get_provider(config))


__all__ = ["EXECUTE_SCRIPTS_MESSAGE", "UpstreamProvider", "get_provider"]
