"""Upstream open-r1's `open_r1.utils.code_providers`; the providers live in `open_r1.sandbox`.

    from open_r1.utils.code_providers import get_provider
    provider = get_provider("e2b", num_parallel=4, e2b_router_url="10.0.0.5:8000")   # upstream's call
    provider = get_provider("local")                                                  # this project's default

`get_provider(provider_type, **options)` takes upstream's keywords (see `open_r1.compat.providers`, which builds
the provider with `open_r1.sandbox.get_provider`); providers here run `Submission`s (`provider.execute`), not
upstream's evaluation scripts: `execute_scripts` raises and says so. The provider classes take `num_workers` and
`router_url` where upstream's took `num_parallel` and `e2b_router_url` / `morph_router_url`.

Remove when: no caller imports from upstream's path `open_r1.utils.code_providers`.
"""

from open_r1.compat.providers import get_provider
from open_r1.sandbox.base import CodeExecutionProvider
from open_r1.sandbox.e2b import E2BProvider
from open_r1.sandbox.morph import MorphProvider

__all__ = ["CodeExecutionProvider", "E2BProvider", "MorphProvider", "get_provider"]
