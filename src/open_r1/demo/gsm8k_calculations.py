"""`make gsm8k`'s scores by difficulty: how an evaluation does by the number of calculations in each problem's GSM8K
worked solution, and how many calculations its completions write out beside the worked solutions'.

    test_rows = load_rows(test_file)                                 # open_r1.tasks.gsm8k
    calculations_of = calculations_by_id(test_rows)                  # test id -> calculator annotations
    worked_of = worked_calculations_written_by_id(test_rows)         # test id -> `=` signs its worked solution writes
    pass_by_calculations(details, calculations_of, worked_of)        # bucket -> problems, pass@1, calculations written,
                                                                     # out of tokens
    written_by_outcome(sft_details, grpo_details, worked_of)         # gained / lost / both / neither, SFT's and GRPO's
    calculations_tables(labels, rows), written_by_outcome_table(rows)  # their markdown tables

A model that learnt to stop short of the steps a problem takes shows here, where pass@1 alone does not
(docs/gsm8k.md, "GRPO's prompts, and scores by number of calculations"); so does a token budget too short for the
longest problems: completions cut there without going round a step (docs/gsm8k.md, "Out of tokens").
`paired_verdicts` pairs two greedy evaluations by problem, for these tables and for the GRPO goal's paired change
(`open_r1.demo.gsm8k_report`).
Not covered: running the evaluations (`open_r1.demo.gsm8k_evals`), the report around these tables
(`open_r1.demo.gsm8k_report`), what a calculation is (`open_r1.tasks.gsm8k.calculations`, `calculations_written`).
"""

from open_r1.demo.gsm8k_repetition import OUT_OF_TOKENS
from open_r1.rewards.repetition import repeats_a_line
from open_r1.tasks.gsm8k import (
    CALCULATION_BUCKETS,
    calculation_bucket,
    calculations,
    calculations_written,
    worked_calculations_written,
)
from open_r1.utils.results_docs import markdown_table


def calculations_by_id(rows: list[dict]) -> dict[str, int]:
    """Test row id -> calculations in its worked solution, for GSM8K `rows` (`open_r1.tasks.gsm8k.load_rows`)."""
    return {row["id"]: calculations(row) for row in rows}


def worked_calculations_written_by_id(rows: list[dict]) -> dict[str, int]:
    """Test row id -> the `=` signs its worked solution writes (`worked_calculations_written`), for GSM8K `rows`."""
    return {row["id"]: worked_calculations_written(row) for row in rows}


def pass_by_calculations(
    details: list[dict], calculations_of: dict[str, int], worked_calculations_of: dict[str, int] | None = None
) -> dict:
    """pass@1 of an evaluation's completions (`details`, one row per sample) grouped by the number of calculations
    in the problem's worked solution (`calculations_of`: test row id -> count): bucket -> problems and pass@1.
    With `worked_calculations_of` (`worked_calculations_written_by_id`) each bucket also has the calculations its
    completions wrote out on average (`calculations_written`) and its problems' worked solutions
    (`worked_calculations_written`), counted the same way. Where each row has its finish reason, each bucket also
    has the share of its completions cut at the token budget (`out_of_tokens`), and of those cut without repeating a
    line (`out_of_tokens_not_repeating`, `repeats_a_line`): a budget too short rather than a loop."""
    finish_reasons = all("finish_reason" in row for row in details)
    rows = {}
    for row in details:
        rows.setdefault(calculation_bucket(calculations_of[row["id"]]), []).append(row)
    breakdown = {}
    for bucket in [bucket for bucket in CALCULATION_BUCKETS if bucket in rows]:
        problems = {row["id"] for row in rows[bucket]}
        breakdown[bucket] = {
            "problems": len(problems),
            "pass@1": sum(row["correct"] for row in rows[bucket]) / len(rows[bucket]),
        }
        if worked_calculations_of is not None:
            written = [calculations_written(row["completion"]) for row in rows[bucket]]
            breakdown[bucket]["calculations_written"] = sum(written) / len(written)
            worked = [worked_calculations_of[problem] for problem in problems]
            breakdown[bucket]["worked_calculations_written"] = sum(worked) / len(worked)
        if finish_reasons:
            cut = [row for row in rows[bucket] if row["finish_reason"] == OUT_OF_TOKENS]
            breakdown[bucket]["out_of_tokens"] = len(cut) / len(rows[bucket])
            not_repeating = sum(not repeats_a_line(row["completion"]) for row in cut)
            breakdown[bucket]["out_of_tokens_not_repeating"] = not_repeating / len(rows[bucket])
    return breakdown


def paired_verdicts(before: list[dict] | None, after: list[dict] | None) -> dict | None:
    """Problem id -> (solved before, solved after) of two greedy evaluations of the same problems (`before`,
    `after`: their details, one row per problem); None without both details, where they score other problems, where
    one scores a problem twice, or with fewer than 2 problems."""
    if not before or not after:
        return None
    solved_before = {row["id"]: bool(row["correct"]) for row in before}
    solved_after = {row["id"]: bool(row["correct"]) for row in after}
    several_rows = len(solved_before) != len(before) or len(solved_after) != len(after)
    if solved_before.keys() != solved_after.keys() or several_rows or len(before) < 2:
        return None
    return {id_: (solved_before[id_], solved_after[id_]) for id_ in solved_before}


# The problems of a change from one greedy evaluation to the next, by (solved before, solved after).
OUTCOMES = {(False, True): "gained", (True, False): "lost", (True, True): "both", (False, False): "neither"}


def written_by_outcome(
    before: list[dict] | None, after: list[dict] | None, worked_calculations_of: dict[str, int]
) -> dict | None:
    """Problem by problem from one greedy evaluation to the next (`paired_verdicts`; GRPO's against SFT's): for the
    problems gained, lost, solved by both and by neither, how many, and the calculations each evaluation's
    completions wrote out minus their worked solution's (`worked_calculations_of`: id ->
    `worked_calculations_written`), on average (None for an outcome without problems). It tells whether GRPO gained
    where it wrote fewer steps than SFT or lost there. None where they do not pair."""
    verdicts = paired_verdicts(before, after)
    if verdicts is None:
        return None
    texts = {
        "before": {row["id"]: row["completion"] for row in before},
        "after": {row["id"]: row["completion"] for row in after},
    }
    excess = {outcome: {"problems": 0, "before": 0.0, "after": 0.0} for outcome in OUTCOMES.values()}
    for id_, verdict in verdicts.items():
        values = excess[OUTCOMES[verdict]]
        values["problems"] += 1
        for side in ("before", "after"):
            values[side] += calculations_written(texts[side][id_]) - worked_calculations_of[id_]
    for values in excess.values():
        for side in ("before", "after"):
            values[side] = values[side] / values["problems"] if values["problems"] else None
    return excess


def bucket_columns(labels: list[str], rows: list[tuple[list[str], dict]]) -> tuple[list[str], list[str], dict]:
    """The groups of calculations any of `rows` has, in order; the header of `labels` then each group with its
    problems; and each group's values from the last row that has it."""
    last = {}
    for _, breakdown in rows:
        last.update(breakdown)
    buckets = [bucket for bucket in CALCULATION_BUCKETS if bucket in last]
    return buckets, [*labels, *(f"{bucket} ({last[bucket]['problems']:,} problems)" for bucket in buckets)], last


def calculations_table(labels: list[str], rows: list[tuple[list[str], dict]]) -> str:
    """pass@1 by calculations in the problem's worked solution, one row per evaluation: its `labels` cells, then
    each group's pass@1 (`pass_by_calculations`); the header gives each group's problems."""
    buckets, header, _ = bucket_columns(labels, rows)
    body = [
        [*cells, *(f"{100 * breakdown[bucket]['pass@1']:.1f}%" if bucket in breakdown else "-" for bucket in buckets)]
        for cells, breakdown in rows
    ]
    return markdown_table(header, body)


def calculations_written_table(labels: list[str], rows: list[tuple[list[str], dict]]) -> str:
    """The calculations written per completion by calculations in the problem's worked solution: first the worked
    solutions' own, then one row per evaluation that counted them (`pass_by_calculations` with the worked
    solutions' counts); "" where none did. The rows are evaluations of the same test problems (one run's, or runs
    `--combine` checked to share them), so the worked solutions' row is any of theirs."""
    counted = [(cells, breakdown) for cells, breakdown in rows if counts_calculations_written(breakdown)]
    if not counted:
        return ""
    buckets, header, worked = bucket_columns(labels, counted)
    reference = ["GSM8K worked solution", *([""] * (len(labels) - 1))]
    body = [
        [*reference, *(f"{worked[bucket]['worked_calculations_written']:.2f}" for bucket in buckets)],
        *(
            [
                *cells,
                *(
                    f"{breakdown[bucket]['calculations_written']:.2f}" if bucket in breakdown else "-"
                    for bucket in buckets
                ),
            ]
            for cells, breakdown in counted
        ),
    ]
    return markdown_table(header, body)


def out_of_tokens_table(labels: list[str], rows: list[tuple[list[str], dict]]) -> str:
    """The share of completions cut at the token budget by calculations in the problem's worked solution, and in
    brackets the share cut without repeating a line, one row per evaluation whose details had finish reasons
    (`pass_by_calculations`); "" where none had."""
    counted = [(cells, breakdown) for cells, breakdown in rows if counts_out_of_tokens(breakdown)]
    if not counted:
        return ""
    buckets, header, _ = bucket_columns(labels, counted)
    body = [
        [
            *cells,
            *(
                f"{100 * breakdown[bucket]['out_of_tokens']:.1f}% "
                f"({100 * breakdown[bucket]['out_of_tokens_not_repeating']:.1f}%)"
                if bucket in breakdown
                else "-"
                for bucket in buckets
            ),
        ]
        for cells, breakdown in counted
    ]
    return markdown_table(header, body)


def counts_out_of_tokens(breakdown: dict) -> bool:
    """Whether a `pass_by_calculations` breakdown counted the completions cut at the token budget (details with finish
    reasons: evaluations from 2026-11-27 on)."""
    return bool(breakdown) and all("out_of_tokens" in values for values in breakdown.values())


def counts_calculations_written(breakdown: dict) -> bool:
    """Whether a `pass_by_calculations` breakdown counted the calculations written (results.json files written before
    2026-11-27 did not)."""
    return all("calculations_written" in values for values in breakdown.values())


def calculations_tables(
    labels: list[str],
    rows: list[tuple[list[str], dict]],
    paired: list[tuple[str, dict]] = (),
    unpaired: list[str] = (),
) -> str:
    """`calculations_table` of `rows`, then, where they counted them, the calculations their completions wrote out
    beside the worked solutions' (`calculations_written_table`): a model that learned to stop short of the steps a
    problem takes shows there. Then the arms `paired` problem by problem (each its name and `written_by_outcome`:
    `written_by_outcome_table`). Then, where they counted them, their completions cut at the token budget
    (`out_of_tokens_table`). The rows that did not count calculations written, and the arms `unpaired`, are named
    under their table, not left out unsaid."""
    written = calculations_written_table(labels, rows)
    tables = calculations_table(labels, rows)
    if written:
        tables += (
            "\n\nCalculations written out per completion (`=` signs before its answer, "
            "`open_r1.tasks.gsm8k.calculations_written`), by the same count, beside the worked solutions':\n\n"
            + written
        )
        uncounted = [" ".join(cells) for cells, breakdown in rows if not counts_calculations_written(breakdown)]
        if uncounted:
            tables += (
                f"\n\nNot counted for {', '.join(uncounted)}: written before the count existed "
                "(`python scripts/gsm8k.py --evaluations_table <its run> --test_file <test file>` counts it from the "
                "run's kept details)."
            )
    if paired:
        tables += f"\n\n{written_by_outcome_table(paired)}"
        if unpaired:
            tables += (
                f"\n\nNot paired for {', '.join(unpaired)}: the greedy details of its SFT and GRPO models were not "
                "both at hand (a results.json written before the pairing existed, details not kept, or SFT's kept in "
                "the run that `--reuse_sft` named)."
            )
    out_of_tokens = out_of_tokens_table(labels, rows)
    if out_of_tokens:
        tables += (
            "\n\nCut at the token budget, by the same count: the share of completions, and in brackets the share cut "
            "without repeating a line (a budget too short for the steps rather than the same step again, "
            "`open_r1.rewards.repetition.repeats_a_line`):\n\n" + out_of_tokens
        )
        uncounted = [" ".join(cells) for cells, breakdown in rows if not counts_out_of_tokens(breakdown)]
        if uncounted:
            tables += (
                f"\n\nNot counted for {', '.join(uncounted)}: its details have no finish reasons (written before "
                "the evaluator recorded them)."
            )
    return tables


# How the paired table names each outcome of the change from SFT to GRPO.
OUTCOME_NAMES = {"gained": "GRPO gained", "lost": "GRPO lost", "both": "both solved", "neither": "neither solved"}


def written_by_outcome_table(rows: list[tuple[str, dict]]) -> str:
    """`written_by_outcome` of each arm (`rows`: its name, its breakdown) as a captioned table; "" without rows."""
    if not rows:
        return ""

    def signed(value: float | None) -> str:
        return "-" if value is None else f"{value:+.2f}"

    body = [
        [name, OUTCOME_NAMES[outcome], f"{values['problems']:,}", signed(values["before"]), signed(values["after"])]
        for name, breakdown in rows
        for outcome, values in breakdown.items()
    ]
    return (
        "Problem by problem from SFT to GRPO (greedy): the calculations each model wrote out minus the worked "
        "solution's, on average, on the problems GRPO gained, lost, and those both or neither solved:\n\n"
        + markdown_table(["arm", "the problems", "how many", "SFT", "GRPO"], body)
    )
