"""`make gsm8k`'s scores by difficulty (open_r1.demo.gsm8k_calculations): pass@1 by the calculations in each
problem's worked solution, the calculations the completions write out beside the worked solutions', the same
problem by problem from SFT to GRPO, the completions cut at the token budget, and their tables, which name what
they could not count."""

from open_r1.demo.gsm8k_calculations import (
    calculations_tables,
    calculations_written_table,
    out_of_tokens_table,
    pass_by_calculations,
    written_by_outcome,
    written_by_outcome_table,
)
from tests.support.demo_results import greedy_details_sft_to_grpo


def test_pass_at_1_by_calculations_groups_every_sample_of_a_problem_by_its_worked_solution():
    calculations_of = {"a": 1, "b": 2, "c": 2, "d": 7}
    details = [
        {"id": "a", "correct": True},
        {"id": "a", "correct": False},
        {"id": "b", "correct": True},
        {"id": "b", "correct": True},
        {"id": "c", "correct": False},
        {"id": "c", "correct": False},
        {"id": "d", "correct": False},
        {"id": "d", "correct": True},
    ]
    assert pass_by_calculations(details, calculations_of) == {
        "≤1": {"problems": 1, "pass@1": 0.5},
        "2": {"problems": 2, "pass@1": 0.5},
        "≥5": {"problems": 1, "pass@1": 0.5},
    }


def test_by_calculations_the_completions_calculations_written_stand_beside_their_worked_solutions():
    calculations_of, worked_calculations_of = {"a": 2, "b": 2, "c": 7}, {"a": 2, "b": 4, "c": 8}
    details = [
        {"id": "a", "correct": True, "completion": "1+1 = 2\n2+1 = 3\n<answer>\\boxed{3}</answer>"},
        {"id": "b", "correct": False, "completion": "2+2 = 4\n<answer>\\boxed{4}</answer>"},
        {"id": "b", "correct": False, "completion": "no steps at all"},
        {
            "id": "c",
            "correct": False,
            "completion": [{"role": "assistant", "content": "3*3 ="}, {"role": "tool", "content": "9=9"}],
        },
    ]
    assert pass_by_calculations(details, calculations_of, worked_calculations_of) == {
        "2": {
            "problems": 2,
            "pass@1": 1 / 3,
            "calculations_written": 1.0,
            "worked_calculations_written": 3.0,
        },
        "≥5": {"problems": 1, "pass@1": 0.0, "calculations_written": 1.0, "worked_calculations_written": 8.0},
    }


def test_the_calculations_written_table_leaves_out_evaluations_that_did_not_count_and_marks_a_missing_group():
    def bucket(problems, written=None, worked=None):
        counted = {} if written is None else {"calculations_written": written, "worked_calculations_written": worked}
        return {"problems": problems, "pass@1": 0.1, **counted}

    rows = [
        # An arm combined from a results.json written before the calculations were counted.
        (["chain of thought", "sft"], {"2": bucket(357), "3": bucket(364)}),
        (["python tool", "sft"], {"2": bucket(357, 2.5, 2.34), "3": bucket(364, 3.5, 3.18)}),
        (["python tool", "grpo"], {"3": bucket(364, 2.0, 3.18)}),  # no problem of 2 kept (a FAST subset)
    ]
    assert calculations_written_table(["arm", "stage"], rows).splitlines() == [
        "| arm | stage | 2 (357 problems) | 3 (364 problems) |",
        "|---|---|---|---|",
        "| GSM8K worked solution |  | 2.34 | 3.18 |",
        "| python tool | sft | 2.50 | 3.50 |",
        "| python tool | grpo | - | 2.00 |",
    ]
    assert calculations_written_table(["arm", "stage"], rows[:1]) == ""
    # Named under the table, not left out unsaid.
    assert calculations_tables(["arm", "stage"], rows).endswith(
        "\n\nNot counted for chain of thought sft: written before the count existed (`python scripts/gsm8k.py "
        "--evaluations_table <its run> --test_file <test file>` counts it from the run's kept details)."
    )
    assert "Not counted" not in calculations_tables(["arm", "stage"], rows[1:])


def test_problem_by_problem_the_calculations_written_are_set_against_the_worked_solutions_by_outcome():
    sft, grpo, worked = greedy_details_sft_to_grpo()
    assert written_by_outcome(sft, grpo, worked) == {
        "gained": {"problems": 1, "before": 2.0, "after": 0.0},
        "lost": {"problems": 1, "before": 0.0, "after": -3.0},
        "both": {"problems": 1, "before": 0.0, "after": 0.0},
        "neither": {"problems": 1, "before": -3.0, "after": -2.0},
    }
    assert written_by_outcome(sft, grpo[:3], worked) is None, "other problems: no pairs"
    assert written_by_outcome(None, grpo, worked) is None, "a stage without its details"
    # An outcome without problems has no average, and its table says so.
    none_lost = written_by_outcome(sft[:2] + sft[3:], grpo[:2] + grpo[3:], worked)
    assert none_lost["lost"] == {"problems": 0, "before": None, "after": None}
    table = written_by_outcome_table([("chain of thought", none_lost)])
    assert "| chain of thought | GRPO lost | 0 | - | - |" in table
    assert "| chain of thought | GRPO gained | 1 | +2.00 | +0.00 |" in table
    assert written_by_outcome_table([]) == ""


def test_by_calculations_the_completions_cut_at_the_token_budget_are_told_from_those_going_round_a_step():
    loop = "Each box holds 4 apples, so 4 x 2 = 8.\n" * 3  # the same step three times: a loop, not a short budget
    calculations_of = {"a": 1, "b": 6, "c": 6}
    details = [
        {"id": "a", "correct": True, "completion": "2+2 = 4 <answer>\\boxed{4}</answer>", "finish_reason": "stop"},
        {"id": "b", "correct": False, "completion": loop, "finish_reason": "length"},
        {"id": "b", "correct": False, "completion": "First, 3*3 = 9. Then 9+1 = 10. Then", "finish_reason": "length"},
        {
            "id": "c",
            "correct": False,
            "completion": [{"role": "assistant", "content": "7*6 ="}, {"role": "tool", "content": "42"}],
            "finish_reason": "length",
        },
        {"id": "c", "correct": True, "completion": "done", "finish_reason": "stop"},
    ]
    breakdown = pass_by_calculations(details, calculations_of)
    assert (breakdown["≤1"]["out_of_tokens"], breakdown["≤1"]["out_of_tokens_not_repeating"]) == (0.0, 0.0)
    assert (breakdown["≥5"]["out_of_tokens"], breakdown["≥5"]["out_of_tokens_not_repeating"]) == (0.75, 0.5)
    # Details written before the evaluator recorded finish reasons: not counted, not counted as none cut.
    older = pass_by_calculations([{key: row[key] for key in ("id", "correct")} for row in details], calculations_of)
    assert "out_of_tokens" not in older["≥5"]
    rows = [(["python tool", "sft"], breakdown), (["chain of thought", "sft"], older)]
    assert out_of_tokens_table(["arm", "stage"], rows).splitlines() == [
        "| arm | stage | ≤1 (1 problems) | ≥5 (2 problems) |",
        "|---|---|---|---|",
        "| python tool | sft | 0.0% (0.0%) | 75.0% (50.0%) |",
    ]
    assert out_of_tokens_table(["arm", "stage"], rows[1:]) == ""
    tables = calculations_tables(["arm", "stage"], rows)
    assert "\n\n" + out_of_tokens_table(["arm", "stage"], rows) + "\n\nNot counted for" in tables
    assert "Cut at the token budget, by the same count" in tables
    assert "Cut at the token budget" not in calculations_tables(["arm", "stage"], rows[1:])
    # An evaluation whose details had no finish reasons is named under the table, not left out unsaid.
    assert tables.endswith(
        "\n\nNot counted for chain of thought sft: its details have no finish reasons (written before the evaluator "
        "recorded them)."
    )
