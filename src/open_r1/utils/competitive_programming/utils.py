"""Upstream open-r1's `batched`; the batching the providers use is `open_r1.sandbox.base.split_into_batches`.

Remove when: no caller imports `batched` from upstream's path `open_r1.utils.competitive_programming.utils`.
"""

from open_r1.sandbox.base import split_into_batches


def batched(iterable, n: int):
    """Lists of `n` items in order, the last one shorter; n < 1 gives one list of everything (upstream returned the
    items themselves, unbatched)."""
    return (list(batch) for batch in split_into_batches(list(iterable), n))


__all__ = ["batched"]
