"""Upstream open-r1's Morph client for IOI problems: not available here, it raises when used.

Upstream's `MorphCloudExecutionClient` reproduced Piston's cms_ioi package on Morph Cloud instances. This project
runs open-r1/ioi rows (with their graders) on Piston only; Morph runs code rewards and single-program IOI/Codeforces
tests through `open_r1.sandbox.morph.MorphProvider` (`code_provider: morph` / `competitive_programming_provider: morph`).

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.morph_client`.
"""

from open_r1.compat.unavailable import unavailable


class MorphCloudError(Exception):
    """A Morph Cloud failure (upstream's exception type, kept so `except MorphCloudError` still imports)."""


_WHY = "open-r1/ioi rows with graders run on Piston's cms_ioi package only; Morph runs single programs here"
_INSTEAD = "competitive_programming_provider: piston for open-r1/ioi rows, or open_r1.sandbox.morph.MorphProvider for programs"
MorphCloudExecutionClient = unavailable(
    "open_r1.utils.competitive_programming.morph_client.MorphCloudExecutionClient", _WHY, _INSTEAD
)
get_morph_client_from_env = unavailable(
    "open_r1.utils.competitive_programming.morph_client.get_morph_client_from_env", _WHY, _INSTEAD
)

__all__ = ["MorphCloudError", "MorphCloudExecutionClient", "get_morph_client_from_env"]
