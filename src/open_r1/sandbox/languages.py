"""The languages the sandboxes run: canonical names, the aliases completions and datasets use, per-provider names.

    from open_r1.sandbox.languages import canonical_language, fence_tags
    canonical_language("C++")   # -> "cpp"
    fence_tags("python")        # -> {"python", "python3", "py"}: fences a code block may be tagged with

Every provider (local, E2B, Morph, Piston) and the code rewards read this one table, so a language that one
of them accepts is accepted by all, under the same aliases.

Not covered: languages other than Python, C++ and C (no provider here runs them).
"""

DEFAULT_CODE_LANGUAGE = "python"

# alias (lower case) -> canonical name
ALIASES = {
    "python": "python",
    "python3": "python",
    "py": "python",
    "cpp": "cpp",
    "c++": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "c": "c",
}
LANGUAGES = tuple(dict.fromkeys(ALIASES.values()))  # python, cpp, c
# Piston's runtime name and the source file name it compiles or runs.
PISTON_RUNTIMES = {"python": ("python", "main.py"), "cpp": ("c++", "main.cpp"), "c": ("c", "main.c")}


class UnsupportedLanguageError(ValueError):
    """A submission's language is not one the sandboxes run."""


def _describe() -> str:
    aliases = ", ".join(f"{alias}={target}" for alias, target in ALIASES.items() if alias != target)
    return f"{', '.join(LANGUAGES[:-1])} and {LANGUAGES[-1]} (aliases: {aliases})"


def canonical_language(language) -> str:
    """The canonical name of `language` ('python', 'cpp' or 'c'); raises naming the value for anything else."""
    if not isinstance(language, str):
        raise UnsupportedLanguageError(
            f"language must be a string such as 'python' or 'cpp', got {type(language).__name__} {language!r:.100}"
        )
    try:
        return ALIASES[language.strip().lower()]
    except KeyError:
        raise UnsupportedLanguageError(
            f"language {language!r:.100} is not supported; the sandboxes run {_describe()}"
        ) from None


def fence_tags(language: str) -> set[str]:
    """The tags a fenced code block of `language` may carry (```py, ```python3, ...); unknown names match only
    themselves, so extracting a block never depends on whether a provider could run it."""
    name = language.strip().lower()
    canonical = ALIASES.get(name)
    if canonical is None:
        return {name}
    return {alias for alias, target in ALIASES.items() if target == canonical}
