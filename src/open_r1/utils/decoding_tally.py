"""What padded batch generation decoded: calls, the forward passes made one after another, the share of the
decoded slots that held a token a row kept, the context tokens the calls read, and what a call costs. GRPO's step
profile (`open_r1.utils.step_profile`), the offline evaluator (`results.json`'s `decoding`) and
scripts/benchmarks/grpo_throughput.py count their generation with it.

    tally = DecodingTally()
    tally.add([len(ids) for ids in kept_ids], seconds=2.5, steps=width, context_tokens=rows * input_width)
    tally.as_dict()   # {"calls": 1, "decode_steps": ..., "kept_tokens": ..., "slot_use": ..., "context_tokens": ...,
                      #  "seconds": 2.5, "call_timings": [[width, rows * input_width, 2.5]], "out_of_memory_splits": 0,
                      #  "out_of_memory_seconds": 0.0}
    fit_call_prices(tally.timings)   # {"ms_per_decode_step": ..., "ms_per_1k_context_tokens": ..., ...} or None

A call of a padded batch decodes until its longest row stops: `decode_steps` adds up each call's forward passes,
made one after another whatever the batch's size (its output's width, else its longest row), and `slot_use` is
the kept tokens over rows x those steps (the rest decode for rows that already ended or ran out of budget).
`context_tokens` adds up what each call read before its first new token: its rows x its left-padded input's width
(generate keeps no cache between calls, so a tool rollout's later turns read the rollout so far again). A decode
step costs about the same whatever its rows on a GPU, a context token costs per token: `fit_call_prices` fits the
two, and a price per call, to calls of different shapes (each call's decode steps, context tokens and seconds,
`timings`), which says which schedule decodes faster on that machine (scripts/benchmarks/tool_rollout_schedule.py).
Not covered: what continuous batching or vLLM decode (they do not pad; their calls count by their longest row,
and their slot use then says how uneven the rows were); under DeepSpeed ZeRO-3 or FSDP on several processes,
generation keeps every process stepping until all are done, so a process's own rows undercount its steps.
"""

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["DecodingTally", "fit_call_prices", "padded_tokens"]


@dataclass
class DecodingTally:
    calls: int = 0
    decode_steps: int = 0
    kept_tokens: int = 0
    decoded_slots: int = 0
    context_tokens: int = 0
    seconds: float = 0.0
    timings: list[list] = field(default_factory=list)  # each call's [decode steps, context tokens, seconds]
    # Calls that ran out of GPU memory, their rows then generated in halves (`open_r1.eval.decoding.BatchesThatFit`),
    # and the seconds those calls took (not in `calls`, `seconds` or `timings`, which count the calls that returned).
    out_of_memory_splits: int = 0
    out_of_memory_seconds: float = 0.0

    def add(
        self, lengths: list[int], seconds: float = 0.0, steps: Optional[int] = None, context_tokens: int = 0
    ) -> None:
        """One generation call whose rows kept `lengths` new tokens each, taking `seconds`. `steps`: the forward
        passes it made, its output's width where known (a row cut to a budget shorter than the call's kept fewer);
        else its longest row. `context_tokens`: the tokens its input held, padding included (rows x width)."""
        steps = max(lengths, default=0) if steps is None else steps
        self.calls += 1
        self.context_tokens += context_tokens
        self.decode_steps += steps
        self.kept_tokens += sum(lengths)
        self.decoded_slots += steps * len(lengths)
        self.seconds += seconds
        self.timings.append([steps, context_tokens, seconds])

    @property
    def slot_use(self) -> Optional[float]:
        """Kept tokens over decoded slots; None before any row decoded a token."""
        return self.kept_tokens / self.decoded_slots if self.decoded_slots else None

    def as_dict(self) -> dict:
        return {
            "calls": self.calls,
            "decode_steps": self.decode_steps,
            "kept_tokens": self.kept_tokens,
            "slot_use": self.slot_use,
            "context_tokens": self.context_tokens,
            "seconds": self.seconds,
            "call_timings": list(self.timings),
            "out_of_memory_splits": self.out_of_memory_splits,
            "out_of_memory_seconds": self.out_of_memory_seconds,
        }


def padded_tokens(inputs: list) -> int:
    """The context tokens a padded generate call reads for `inputs` (token id lists): rows x the longest."""
    return len(inputs) * max(map(len, inputs), default=0)


def fit_call_prices(timings: list[list]) -> Optional[dict]:
    """What a generate call costs on the machine that made `timings` (each call's [decode steps, context tokens,
    seconds]): milliseconds per decode step, per 1,000 context tokens read and per call, fitted by least squares,
    with the fit's R². A call's price cannot be negative: where the fit makes it so, it is refitted at 0. None with
    fewer than 4 calls, calls whose shapes do not separate the prices (one shape only, or steps and tokens in
    proportion), or a negative price per step or per token."""
    import numpy as np

    if len(timings) < 4:
        return None
    design = np.array([[steps, tokens / 1000, 1.0] for steps, tokens, _ in timings], dtype=float)
    seconds = np.array([timing[2] for timing in timings], dtype=float)
    if np.linalg.matrix_rank(design) < 3 or np.linalg.cond(design) > 1e6:
        return None
    prices, *_ = np.linalg.lstsq(design, seconds, rcond=None)
    if prices[2] < 0:
        prices = np.append(np.linalg.lstsq(design[:, :2], seconds, rcond=None)[0], 0.0)
    if prices[0] < 0 or prices[1] < 0:
        return None
    residual = seconds - design @ prices
    spread = ((seconds - seconds.mean()) ** 2).sum()
    return {
        "ms_per_decode_step": 1000 * float(prices[0]),
        "ms_per_1k_context_tokens": 1000 * float(prices[1]),
        "ms_per_call": 1000 * float(prices[2]),
        "r_squared": float(1 - (residual**2).sum() / spread) if spread else 1.0,
        "calls": len(timings),
    }
