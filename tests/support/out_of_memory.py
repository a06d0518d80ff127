"""A generate function that runs out of GPU memory for batches above a size, as PyTorch's allocator reports it, for
the tests of `open_r1.eval.decoding.BatchesThatFit` and its callers."""

from collections.abc import Callable


def out_of_memory_above(rows: int, generate: Callable, tried: list[int], batch_argument: int = 0) -> Callable:
    """`generate`, except that a batch (its positional argument `batch_argument`) of more than `rows` rows raises
    `torch.OutOfMemoryError`; the size of every batch tried goes into `tried`."""
    import torch

    def generate_or_run_out(*args, **kwargs):
        tried.append(len(args[batch_argument]))
        if len(args[batch_argument]) > rows:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return generate(*args, **kwargs)

    return generate_or_run_out
