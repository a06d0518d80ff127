"""`make gsm8k`'s look at why completions run out of tokens: of an evaluation's completions cut at the token budget,
and of those that ended, how many write the same step again and again (`open_r1.rewards.repetition.repeats_a_line`).

    repetition_counts(details)      # {"out_of_tokens": 168, "out_of_tokens_repeating": 126, "ended": ..., ...}
    repetition_table(labels, rows, uncounted, why)  # one row per evaluation: its labels, then those counts

An SFT model cut at the budget has mostly gone round a step (docs/gsm8k.md, "Out of tokens"); a cut completion
scores 0, so that is what GRPO has to unlearn there, and a pass@1 alone does not show it.
Not covered: sampled evaluations in the docs' runs (their details are not kept), what a repeated line is
(`repeats_a_line`), running the evaluations (`open_r1.demo.gsm8k_evals`), the report around the table
(`open_r1.demo.gsm8k_report`).
"""

from collections.abc import Sequence

from open_r1.rewards.repetition import repeats_a_line
from open_r1.utils.results_docs import markdown_table

# The evaluator's finish reason of a completion cut at its token budget (`open_r1.eval.decoding.FINISH_REASONS`).
OUT_OF_TOKENS = "length"


def repetition_counts(details: list[dict]) -> dict | None:
    """Of an evaluation's completions (`details`, one row per sample), those cut at the token budget and those that
    ended (answered, or called past the last tool round), each with how many repeat a line, and how many of the
    latter are correct; None where a row has no finish reason (details written before the evaluator recorded it)."""
    if any("finish_reason" not in row for row in details):
        return None
    cut = [row for row in details if row["finish_reason"] == OUT_OF_TOKENS]
    ended = [row for row in details if row["finish_reason"] != OUT_OF_TOKENS]
    ended_repeating = [row for row in ended if repeats_a_line(row["completion"])]
    return {
        "out_of_tokens": len(cut),
        "out_of_tokens_repeating": sum(repeats_a_line(row["completion"]) for row in cut),
        "ended": len(ended),
        "ended_repeating": len(ended_repeating),
        "ended_repeating_correct": sum(bool(row["correct"]) for row in ended_repeating),
    }


def repetition_table(
    labels: list[str], rows: list[tuple[list[str], dict]], uncounted: Sequence[str] = (), why: str = ""
) -> str:
    """The counts of `repetition_counts` for each of `rows` (its `labels` cells, then its counts), captioned, then
    the evaluations `uncounted` named, with `why` they were not counted; "" with neither."""

    def share(part: int, whole: int) -> str:
        return f"{part:,} ({100 * part / whole:.0f}%)" if whole else "-"

    parts = []
    if rows:
        body = [
            [
                *cells,
                f"{counts['out_of_tokens']:,}",
                share(counts["out_of_tokens_repeating"], counts["out_of_tokens"]),
                f"{counts['ended']:,}",
                share(counts["ended_repeating"], counts["ended"]),
                f"{counts['ended_repeating_correct']:,}",
            ]
            for cells, counts in rows
        ]
        header = [
            *labels, "out of tokens", "of them repeating a line", "ended", "of them repeating a line", "of those correct"
        ]  # fmt: skip
        parts.append(
            "Greedy completions that write one line three times or more, its numbers aside (the same step again: "
            "`open_r1.rewards.repetition.repeats_a_line`), among those cut at the token budget and those that ended:\n\n"
            + markdown_table(header, body)
        )
    if uncounted:
        parts.append(f"Repeated lines not counted for {', '.join(uncounted)}: {why}.")
    return "\n\n".join(parts)
