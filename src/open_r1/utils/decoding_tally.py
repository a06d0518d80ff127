"""What padded batch generation decoded: calls, the forward passes made one after another, the share of the
decoded slots that held a token a row kept, and the context tokens the calls read. GRPO's step profile (`open_r1.utils.step_profile`) and the offline
evaluator (`results.json`'s `decoding`) count their generation with it.

    tally = DecodingTally()
    tally.add([len(ids) for ids in kept_ids], seconds=2.5, steps=width, context_tokens=rows * input_width)
    tally.as_dict()   # {"calls": 1, "decode_steps": ..., "kept_tokens": ..., "slot_use": ..., "context_tokens": ..., ...}

A call of a padded batch decodes until its longest row stops: `decode_steps` adds up each call's forward passes,
made one after another whatever the batch's size (its output's width, else its longest row), and `slot_use` is
the kept tokens over rows x those steps (the rest decode for rows that already ended or ran out of budget).
`context_tokens` adds up what each call read before its first new token: its rows x its left-padded input's width
(generate keeps no cache between calls, so a tool rollout's later turns read the rollout so far again). A decode
step costs about the same whatever its rows on a GPU, a context token costs per token: the two prices, fitted to
calls of different shapes, say which schedule decodes faster (scripts/benchmarks/tool_rollout_schedule.py).
Not covered: what continuous batching or vLLM decode (they do not pad; their calls count by their longest row,
and their slot use then says how uneven the rows were); under DeepSpeed ZeRO-3 or FSDP on several processes,
generation keeps every process stepping until all are done, so a process's own rows undercount its steps.
"""

from dataclasses import dataclass
from typing import Optional

__all__ = ["DecodingTally"]


@dataclass
class DecodingTally:
    calls: int = 0
    decode_steps: int = 0
    kept_tokens: int = 0
    decoded_slots: int = 0
    context_tokens: int = 0
    seconds: float = 0.0

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
        }
