"""Upstream open-r1 names that import here but cannot mean what they meant upstream.

    RoutedSandbox = unavailable("open_r1.utils.routed_sandbox.RoutedSandbox", "why ...", "what to use instead")

Calling (or instantiating) such a name raises `UpstreamNameUnavailableError`, which says why and what to use;
importing it does not, so upstream code that only imports it keeps working. docs/upstream.md lists every one.

Remove when: no caller imports the names that use it (the modules at upstream's paths under `open_r1.utils`).
"""

from collections.abc import Callable


class UpstreamNameUnavailableError(NotImplementedError):
    """An upstream open-r1 name whose meaning this project does not have (see docs/upstream.md)."""


def unavailable(qualified_name: str, why: str, instead: str) -> Callable:
    """A callable named like `qualified_name` that raises, saying `why` and what to use `instead`."""
    message = f"{qualified_name} is not available in this project: {why}. Use {instead} (see docs/upstream.md)."

    def raise_unavailable(*args, **kwargs):
        raise UpstreamNameUnavailableError(message)

    raise_unavailable.__name__ = qualified_name.rsplit(".", 1)[-1]
    raise_unavailable.__qualname__ = raise_unavailable.__name__
    raise_unavailable.__doc__ = message
    return raise_unavailable
