"""Whether the optional cloud-sandbox clients are installed (upstream open-r1's `open_r1.utils.import_utils`).

    from open_r1.utils.import_utils import is_e2b_available, is_morph_available
    if not is_e2b_available(): ...   # `pip install -e ".[code]"` installs both

Checks that the package can be found without importing it (importing e2b or morphcloud is slow and opens
nothing we need here). Not covered: whether an API key is set (the providers check that when built).

Remove when: no caller imports from upstream's path `open_r1.utils.import_utils`.
"""

from importlib.util import find_spec

E2B_PACKAGE = "e2b_code_interpreter"  # what open_r1.sandbox.e2b imports
MORPH_PACKAGE = "morphcloud"  # what open_r1.sandbox.morph imports


def _installed(package: str) -> bool:
    try:
        return find_spec(package) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def is_e2b_available() -> bool:
    """True when the E2B client (`e2b-code-interpreter`) is installed."""
    return _installed(E2B_PACKAGE)


def is_morph_available() -> bool:
    """True when the Morph Cloud client (`morphcloud`) is installed."""
    return _installed(MORPH_PACKAGE)


__all__ = ["is_e2b_available", "is_morph_available"]
