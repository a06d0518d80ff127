"""Upstream open-r1's `open_r1.utils.routed_sandbox`: not available here, it raises when used.

Upstream's `RoutedSandbox(router_url).run_code(scripts)` returned E2B `Execution` objects from upstream's router.
This project's routers (`scripts/e2b_router.py`, `open_r1.sandbox.router`) run evaluation scripts and return
their stdout, and providers reach them with `router_url`: `open_r1.sandbox.e2b.E2BProvider(router_url=...)`,
or `code_provider: e2b` with `e2b_router_url` in a recipe.

Remove when: no caller imports from upstream's path `open_r1.utils.routed_sandbox`.
"""

from open_r1.compat.unavailable import unavailable

RoutedSandbox = unavailable(
    "open_r1.utils.routed_sandbox.RoutedSandbox",
    "this project's E2B router returns the stdout of evaluation scripts, not E2B Execution objects",
    "open_r1.sandbox.e2b.E2BProvider(router_url=...) or the recipe fields code_provider: e2b, e2b_router_url",
)

__all__ = ["RoutedSandbox"]
