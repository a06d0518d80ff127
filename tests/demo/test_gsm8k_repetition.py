"""`make gsm8k`'s look at why completions run out of tokens (open_r1.demo.gsm8k_repetition): of the completions cut
at the token budget and of those that ended, how many write the same step again and again, and its table."""

from open_r1.demo.gsm8k_repetition import repetition_counts, repetition_table

LOOP = "\n".join(f"He drives {hours} hours at 80 mph and then turns around" for hours in (3, 4, 4, 5))


def detail(row_id: str, finish_reason: str, completion, correct: bool = False) -> dict:
    return {"id": row_id, "finish_reason": finish_reason, "completion": completion, "correct": correct}


def test_repetition_counts_the_looping_completions_among_those_cut_and_those_that_ended():
    details = [
        detail("a", "length", LOOP),
        detail("b", "length", "He drives 3 hours at 80 mph and then " + "very " * 100),  # cut, without a loop
        detail("c", "stop", LOOP + "\n<answer>\\boxed{4}</answer>", correct=True),  # a loop that got out of it
        detail("d", "stop", "It is 4.\n<answer>\\boxed{4}</answer>", correct=True),
        # A tool rollout that called past its last round: it ended, and its turns repeat.
        detail("e", "tool_rounds", [{"role": "assistant", "content": line} for line in LOOP.splitlines(True)]),
    ]
    assert repetition_counts(details) == {
        "out_of_tokens": 2,
        "out_of_tokens_repeating": 1,
        "ended": 3,
        "ended_repeating": 2,
        "ended_repeating_correct": 1,
    }


def test_details_written_before_the_finish_reasons_are_not_counted():
    assert repetition_counts([detail("a", "length", LOOP), {"id": "b", "completion": LOOP, "correct": False}]) is None


def test_the_table_gives_each_share_and_names_what_it_did_not_count():
    counts = repetition_counts([detail("a", "length", LOOP), detail("b", "stop", "x"), detail("c", "stop", "y")])
    nothing_cut = repetition_counts([detail("a", "stop", "x")])
    table = repetition_table(["stage", "arm"], [(["sft", "chain of thought"], counts), (["grpo", "x"], nothing_cut)])
    caption, body = table.split("\n\n")
    assert caption.startswith("Greedy completions that write one line three times or more, its numbers aside")
    assert body.splitlines()[0] == (
        "| stage | arm | out of tokens | of them repeating a line | ended | of them repeating a line | of those correct |"
    )
    assert "| sft | chain of thought | 1 | 1 (100%) | 2 | 0 (0%) | 0 |" in body
    assert "| grpo | x | 0 | - | 1 | 0 (0%) | 0 |" in body, "no share of nothing"
    named = repetition_table(["stage", "arm"], [(["sft", "chain of thought"], counts)], ["base python tool"], "why")
    assert named.endswith("\n\nRepeated lines not counted for base python tool: why.")
    assert repetition_table(["stage", "arm"], [], ["base python tool"], "why") == (
        "Repeated lines not counted for base python tool: why."
    )
    assert repetition_table(["stage", "arm"], []) == ""
