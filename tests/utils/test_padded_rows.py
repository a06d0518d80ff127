"""open_r1.utils.padded_rows: a compiled generate call decodes one of a few row counts, and the rows that pad it stop at
their first token. Their use in GRPO's rounds: tests/utils/test_compiled_generation.py; in the evaluator:
tests/eval/test_decoding.py and tests/tools/test_rollout.py."""

import pytest
import torch

from open_r1.utils.padded_rows import PaddingRowsFinished, padded_to_bucket, rows_bucket, with_padding_finished


@pytest.mark.parametrize(
    ("rows", "largest", "bucket"),
    [(1, 256, 16), (16, 256, 16), (17, 256, 32), (100, 256, 128), (129, 256, 256), (256, 256, 256), (300, 256, 300),
     (3, 8, 8), (1, 2, 2), (2, 2, 2), (50, 96, 64), (65, 96, 96)],
)  # fmt: skip
def test_a_call_is_padded_to_the_next_power_of_two_rows_between_the_smallest_bucket_and_the_most_rows(
    rows, largest, bucket
):
    assert rows_bucket(rows, largest) == bucket


def test_the_calls_of_a_256_row_generation_decode_five_shapes_whatever_their_rows():
    assert {rows_bucket(rows, 256) for rows in range(1, 257)} == {16, 32, 64, 128, 256}


def test_the_padding_rows_are_finished_and_the_real_ones_are_not():
    finished = PaddingRowsFinished(3)(torch.zeros(5, 7, dtype=torch.long), None)
    assert finished.tolist() == [False, False, False, True, True]


def test_a_call_is_padded_with_copies_of_its_first_row_up_to_its_bucket():
    assert padded_to_bucket([7, 8, 9], 256) == [7, 8, 9] + [7] * 13
    assert padded_to_bucket([7, 8], 2) == [7, 8]  # a generation's whole rows: no padding


def test_the_padding_criterion_joins_the_callers_own():
    class EveryRowFinished:
        def __call__(self, input_ids, scores, **kwargs):
            return torch.ones(input_ids.shape[0], dtype=torch.bool)

    own = EveryRowFinished()
    criteria = with_padding_finished(2, [own])
    assert criteria[0] is own and isinstance(criteria[1], PaddingRowsFinished) and criteria[1].real_rows == 2
    assert len(with_padding_finished(2)) == 1
