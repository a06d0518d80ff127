"""Upstream open-r1's `open_r1.utils.code_providers`; the providers live in `open_r1.sandbox`.

    from open_r1.utils.code_providers import get_provider
    provider = get_provider("e2b", num_parallel=4, e2b_router_url="10.0.0.5:8000")   # upstream's call
    provider = get_provider("local")                                                  # this project's default

`get_provider(provider_type, **options)` takes upstream's keywords (`num_parallel`, `e2b_router_url`,
`morph_router_url`) and builds the provider with `open_r1.sandbox.factory.get_provider`; any other keyword is a
TypeError naming it (upstream ignored them). Providers here run `Submission`s (`provider.execute`), not
upstream's evaluation scripts: `execute_scripts` raises and says so. The provider classes take `router_url`
where upstream's took `e2b_router_url` / `morph_router_url`.
"""

from open_r1.sandbox.base import CodeExecutionProvider
from open_r1.sandbox.e2b import E2BProvider
from open_r1.sandbox.factory import get_provider as _get_provider
from open_r1.sandbox.morph import MorphProvider

# Upstream's default provider; this project's own default (`open_r1.sandbox.factory`) is the local sandbox.
UPSTREAM_DEFAULT_PROVIDER = "e2b"
_OPTIONS = ("num_parallel", "e2b_router_url", "morph_router_url")


def get_provider(provider_type: str = UPSTREAM_DEFAULT_PROVIDER, **options) -> CodeExecutionProvider:
    """The provider named `provider_type` ('e2b', 'morph', 'local' or 'piston'), built once per configuration."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"get_provider got options it does not take: {unknown}; it takes {list(_OPTIONS)}")
    return _get_provider(provider_type, **options)


__all__ = ["CodeExecutionProvider", "E2BProvider", "MorphProvider", "get_provider"]
