"""Builds code-execution providers by name, one per configuration per process, safely from any thread.

    from open_r1.sandbox import get_provider
    provider = get_provider("local", num_parallel=2)          # the same object on every call
    results = provider.execute([Submission(code, "python", tests)])

Names: 'local' (the default: `local.LocalSandbox`, no account needed), 'e2b', 'morph' (cloud sandboxes,
directly or through a router URL) and 'piston' (a Piston fleet from PISTON_ENDPOINTS or Slurm discovery).
The defaults here are the ones `GRPOScriptArguments` (`code_provider`, `parallel_code_exec_per_proc`)
imports. Two threads asking for the same configuration at once get one provider: a provider owns worker
processes or remote sessions, and a second copy would double them and never be closed.

Not covered: closing providers (they live for the process; `LocalSandbox.close` exists for tests).
"""

import threading
from typing import Optional

from .base import CodeExecutionProvider, Limits

PROVIDERS = ("local", "e2b", "morph", "piston")
DEFAULT_PROVIDER = "local"
DEFAULT_NUM_PARALLEL = 2

_providers: dict[tuple, CodeExecutionProvider] = {}
_lock = threading.Lock()


def _build(
    provider: str,
    num_parallel: int,
    e2b_router_url: Optional[str],
    morph_router_url: Optional[str],
    limits: Optional[Limits],
) -> CodeExecutionProvider:
    if provider == "local":
        from .local import LocalSandbox

        return LocalSandbox(num_workers=num_parallel, limits=limits)
    if provider == "e2b":
        from .e2b import E2BProvider

        return E2BProvider(num_parallel=num_parallel, router_url=e2b_router_url, limits=limits)
    if provider == "morph":
        from .morph import MorphProvider

        return MorphProvider(num_parallel=num_parallel, router_url=morph_router_url, limits=limits)
    from .piston import PistonProvider

    return PistonProvider.from_env(limits=limits)


def get_provider(
    provider: str = DEFAULT_PROVIDER,
    num_parallel: int = DEFAULT_NUM_PARALLEL,
    e2b_router_url: Optional[str] = None,
    morph_router_url: Optional[str] = None,
    limits: Optional[Limits] = None,
) -> CodeExecutionProvider:
    """The provider named `provider` ('local', 'e2b', 'morph' or 'piston'), built once per configuration."""
    if provider not in PROVIDERS:
        raise ValueError(f"Unknown code provider {provider!r}; expected one of {PROVIDERS}")
    if not isinstance(num_parallel, int) or isinstance(num_parallel, bool) or num_parallel < 1:
        raise ValueError(f"num_parallel must be a positive integer, got {num_parallel!r}")
    key = (provider, num_parallel, e2b_router_url, morph_router_url, limits)
    with _lock:
        if key not in _providers:
            _providers[key] = _build(provider, num_parallel, e2b_router_url, morph_router_url, limits)
        return _providers[key]


def clear_providers() -> None:
    """Forgets the built providers (closing those that can be closed); for tests."""
    with _lock:
        providers = list(_providers.values())
        _providers.clear()
    for provider in providers:
        close = getattr(provider, "close", None)
        if close is not None:
            close()
