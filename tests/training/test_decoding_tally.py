"""What padded generation decoded (open_r1.utils.decoding_tally): decode steps per call, kept tokens, slot use and the
context tokens the calls read.
The evaluator's results.json (tests/eval/test_offline.py) and GRPO's step profile (test_step_profile.py) use it."""

from open_r1.utils.decoding_tally import DecodingTally


def test_a_call_decodes_as_many_steps_as_its_output_is_wide_for_every_row():
    tally = DecodingTally()
    # A row cut to its 10-token budget beside one that stopped at 5, in a call that decoded to 100 tokens.
    tally.add([10, 5], seconds=1.5, steps=100, context_tokens=2 * 40)
    assert (tally.calls, tally.decode_steps, tally.kept_tokens, tally.context_tokens) == (1, 100, 15, 80)
    assert tally.slot_use == 15 / 200
    # Without its width, a call counts its longest row.
    tally.add([4, 2, 2], seconds=0.5, context_tokens=3 * 7)
    assert tally.as_dict() == {
        "calls": 2, "decode_steps": 104, "kept_tokens": 23, "slot_use": 23 / 212, "context_tokens": 101, "seconds": 2.0,
    }  # fmt: skip


def test_nothing_decoded_has_no_slot_use():
    assert DecodingTally().slot_use is None
    empty = DecodingTally()
    empty.add([])
    assert (empty.calls, empty.slot_use) == (1, None)
