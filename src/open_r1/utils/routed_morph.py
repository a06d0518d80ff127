"""Upstream open-r1's `open_r1.utils.routed_morph`: not available here, it raises when used.

Upstream's `RoutedMorphSandbox(router_url).run_code(scripts)` returned Morph execution objects from upstream's
router. This project's routers (`scripts/morph_router.py`, `open_r1.sandbox.router`) run evaluation scripts and
return their stdout, and providers reach them with `router_url`: `open_r1.sandbox.morph.MorphProvider(router_url=...)`,
or `code_provider: morph` with `morph_router_url` in a recipe.

Remove when: no caller imports from upstream's path `open_r1.utils.routed_morph`.
"""

from open_r1.compat.unavailable import unavailable

RoutedMorphSandbox = unavailable(
    "open_r1.utils.routed_morph.RoutedMorphSandbox",
    "this project's Morph router returns the stdout of evaluation scripts, not Morph execution objects",
    "open_r1.sandbox.morph.MorphProvider(router_url=...) or the recipe fields code_provider: morph, morph_router_url",
)

__all__ = ["RoutedMorphSandbox"]
