"""Upstream open-r1's Codeforces code patcher: not available here, it raises when used.

Upstream could rewrite Codeforces submissions before running them (old Python idioms, missing C++ includes). Here
programs run exactly as the model wrote them, and `cf_code_reward(..., patch_code=True)` is refused by name: a
patched program would earn a reward the model's own program did not.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.code_patcher`.
"""

from open_r1.compat.unavailable import unavailable

_WHY = "programs run as the model wrote them (a patched program would earn a reward the model's own did not)"
_INSTEAD = "the submission as written"
_PREFIX = "open_r1.utils.competitive_programming.code_patcher."

fix_python3_imports = unavailable(_PREFIX + "fix_python3_imports", _WHY, _INSTEAD)
fix_cpp_includes = unavailable(_PREFIX + "fix_cpp_includes", _WHY, _INSTEAD)
is_patchable = unavailable(_PREFIX + "is_patchable", _WHY, _INSTEAD)
patch_code = unavailable(_PREFIX + "patch_code", _WHY, _INSTEAD)


def __getattr__(name: str):
    if name == "tests":  # upstream's module-level examples of patched programs
        unavailable(_PREFIX + "tests", _WHY, _INSTEAD)()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["fix_cpp_includes", "fix_python3_imports", "is_patchable", "patch_code"]
