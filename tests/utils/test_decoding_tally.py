"""What padded generation decoded (open_r1.utils.decoding_tally): decode steps per call, kept tokens, slot use and the
context tokens the calls read, and a call's price fitted to their timings.
The evaluator's results.json (tests/eval/test_offline.py) and GRPO's step profile (test_step_profile.py) use it."""

import pytest

from open_r1.utils.decoding_tally import DecodingTally, fit_call_prices


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
        "call_timings": [[100, 80, 1.5], [4, 21, 0.5]], "out_of_memory_splits": 0,
        "out_of_memory_seconds": 0.0,
    }  # fmt: skip


def test_nothing_decoded_has_no_slot_use():
    assert DecodingTally().slot_use is None
    empty = DecodingTally()
    empty.add([])
    assert (empty.calls, empty.slot_use) == (1, None)


def timed(steps: int, tokens: int, per_call: float = 0.050) -> list:
    """A call's timing at 40 ms a decode step and 3 ms per 1,000 context tokens read."""
    return [steps, tokens, 0.040 * steps + 0.003 * tokens / 1000 + per_call]


def test_a_calls_price_is_fitted_to_calls_of_different_shapes():
    # Rounds (long calls over short contexts) and chunks decoded ahead (short calls over long contexts).
    calls = [timed(412, 20_000), timed(120, 60_000), timed(96, 70_000), timed(32, 20_000), timed(17, 45_000)]
    prices = fit_call_prices(calls)
    assert prices["ms_per_decode_step"] == pytest.approx(40.0)
    assert prices["ms_per_1k_context_tokens"] == pytest.approx(3.0)
    assert prices["ms_per_call"] == pytest.approx(50.0)
    assert prices["r_squared"] == pytest.approx(1.0) and prices["calls"] == 5
    # Where the best fit would make a call pay back time, a call is free and the other two are fitted alone.
    refitted = fit_call_prices([timed(steps, tokens, per_call=-0.050) for steps, tokens, _ in calls])
    assert refitted["ms_per_call"] == 0 and refitted["r_squared"] < 1


def test_calls_that_cannot_tell_the_prices_apart_give_none():
    assert fit_call_prices([timed(412, 20_000)] * 3) is None  # too few
    assert fit_call_prices([timed(32, 20_000)] * 5) is None  # one shape
    assert fit_call_prices([timed(10 * k, 1000 * k) for k in range(1, 6)] + [timed(0, 0)]) is None  # in proportion
    negative = [[100, 10_000, 1.0], [50, 30_000, 5.0], [10, 5_000, 1.0], [80, 1_000, 0.1]]
    assert fit_call_prices(negative) is None  # a decode step that would take negative time
