"""Builds code-execution providers from a `SandboxConfig`, one per configuration per process, from any thread.

    from open_r1.sandbox import SandboxConfig, get_provider
    provider = get_provider(SandboxConfig("local", num_workers=2))   # the same object on every call
    results = provider.execute([Submission(code, "python", tests)])

Providers: 'local' (the default: `local.LocalSandbox`, no account needed), 'e2b', 'morph' (cloud sandboxes,
directly or through a router URL) and 'piston' (a Piston fleet from PISTON_ENDPOINTS or Slurm discovery).
Two threads asking for the same configuration at once get one provider: a provider owns worker processes or
remote sessions, and a second copy would double them and never be closed.

Not covered: validating settings (`SandboxConfig` does, when it is made); closing providers (they live for the
process; `clear_providers` exists for tests).
"""

import threading

from .base import CodeExecutionProvider
from .config import DEFAULT_PROVIDER, DEFAULT_SANDBOX_WORKERS, PROVIDERS, SandboxConfig

_providers: dict[SandboxConfig, CodeExecutionProvider] = {}
_lock = threading.Lock()


def _build(config: SandboxConfig) -> CodeExecutionProvider:
    if config.provider == "local":
        from .local import LocalSandbox

        return LocalSandbox(num_workers=config.num_workers, limits=config.limits)
    if config.provider == "e2b":
        from .e2b import E2BProvider

        return E2BProvider(num_workers=config.num_workers, router_url=config.router_url, limits=config.limits)
    if config.provider == "morph":
        from .morph import MorphProvider

        return MorphProvider(num_workers=config.num_workers, router_url=config.router_url, limits=config.limits)
    from .piston import PistonProvider

    return PistonProvider.from_env(limits=config.limits)


def get_provider(config: SandboxConfig = SandboxConfig()) -> CodeExecutionProvider:
    """The provider `config` describes, built once per configuration."""
    if not isinstance(config, SandboxConfig):
        raise TypeError(f"get_provider takes a SandboxConfig, got {type(config).__name__} {config!r:.80}")
    with _lock:
        if config not in _providers:
            _providers[config] = _build(config)
        return _providers[config]


def clear_providers() -> None:
    """Forgets the built providers (closing those that can be closed); for tests."""
    with _lock:
        providers = list(_providers.values())
        _providers.clear()
    for provider in providers:
        close = getattr(provider, "close", None)
        if close is not None:
            close()


__all__ = [
    "DEFAULT_SANDBOX_WORKERS",
    "DEFAULT_PROVIDER",
    "PROVIDERS",
    "SandboxConfig",
    "clear_providers",
    "get_provider",
]
