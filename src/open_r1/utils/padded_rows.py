"""A generate call's rows padded to a few fixed counts, for a compiled decode step.

    padded = padded_to_bucket(rows, largest=256)      # 16, 32, 64, 128 or 256 rows: copies of rows[0] after them
    model.generate(..., stopping_criteria=with_padding_finished(len(rows)))
    real = output[: len(rows)]

A compiled decode step (transformers' static cache with torch.compile, CUDA graphs) is specialised to its number of
rows: each new count compiles again or records another graph. GRPO's tool rounds (`open_r1.utils.compiled_generation`)
and the evaluator's batches (`open_r1.eval.decoding`, `open_r1.tools.rollout`) decode counts that vary from call to
call, so each such call decodes a bucket instead: the next power of two from `SMALLEST_ROW_BUCKET` up to the most rows
its caller ever decodes at once, with copies of its first row that are finished at their first token, so that they
never keep the call decoding, and that the caller drops.

Not covered: choosing the copies (the first row is as good as any: a copy's prompt is no wider than the batch's).
"""

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

# The fewest rows a padded call decodes: below some tens of rows a small model's decode step costs its kernels' launches,
# not its rows (docs/benchmarks.md, "A decode step's price"), so smaller buckets would add graphs and save nothing.
SMALLEST_ROW_BUCKET = 16


def rows_bucket(rows: int, largest: int) -> int:
    """The rows a compiled generate call of `rows` rows decodes: the next power of two, at least `SMALLEST_ROW_BUCKET`
    and at most `largest` (the most rows the caller decodes at once); `rows` itself where it is `largest` or more."""
    if rows >= largest:
        return rows
    return min(largest, max(SMALLEST_ROW_BUCKET, 1 << (rows - 1).bit_length()))


class PaddingRowsFinished(StoppingCriteria):
    """Every row from `real_rows` on is finished from its first token: rows that only pad a call to its bucket never
    keep the call decoding."""

    def __init__(self, real_rows: int):
        self.real_rows = real_rows

    def __call__(self, input_ids, scores, **kwargs):
        finished = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        finished[self.real_rows :] = True
        return finished


def padded_to_bucket(rows: list, largest: int) -> list:
    """`rows`, then copies of its first row up to `rows_bucket(len(rows), largest)` rows."""
    return [*rows, *[rows[0]] * (rows_bucket(len(rows), largest) - len(rows))]


def with_padding_finished(real_rows: int, criteria=None) -> StoppingCriteriaList:
    """`criteria` (a caller's stopping criteria, or none) and `PaddingRowsFinished(real_rows)`, for generate()."""
    return StoppingCriteriaList([*(criteria or []), PaddingRowsFinished(real_rows)])
