"""scripts/benchmarks/tool_rollout_schedule.py: tool rollouts replayed through TRL's rounds and through decoding ahead."""

import json

import pytest

from tests.conftest import python_call
from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def schedule():
    return load_module("scripts/benchmarks/tool_rollout_schedule.py", "tool_rollout_schedule")


def test_rounds_wait_for_each_rounds_longest_turn_and_decoding_ahead_does_not(schedule):
    quick = [(3, 5), (2, 0)]  # a call in 3 tokens, a result of 5, then the answer in 2
    slow = [(21, 0)]  # one turn of 21 tokens
    # Rounds: the first decodes until the slow turn ends (21 steps), the second the answer (2).
    assert schedule.rounds_steps([quick, slow], budget=100) == (23, 2)
    # Ahead, 4 tokens per call: the quick row's answer rides along with the slow turn; the last call decodes 1 token.
    assert schedule.ahead_steps([quick, slow], budget=100, chunk=4) == (21, 6)


def test_both_schedules_keep_the_budget(schedule):
    rollout = [(10, 5), (30, 0)]  # the answer would take the rollout to 45 tokens
    # Rounds: the answer round decodes to the budget left (20) at most; ahead likewise, in chunks.
    assert schedule.rounds_steps([rollout], budget=35) == (30, 2)
    assert schedule.ahead_steps([rollout], budget=35, chunk=8) == (10 + 20, 2 + 3)
    # A result that would overrun the budget ends the rollout in both.
    assert (
        schedule.rounds_steps([rollout], budget=12)[1] == schedule.ahead_steps([rollout], budget=12, chunk=64)[1] == 1
    )


def test_rollouts_are_counted_in_the_tokens_of_their_turns_and_tool_results(schedule, tool_calling_model, tmp_path):
    from transformers import AutoTokenizer

    from open_r1.tools.rollout import tool_suffix_ids

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    result = {"role": "tool", "name": "python", "content": "42\n"}
    messages = [{"role": "assistant", "content": "", "tool_calls": [python_call("print(6 * 7)")]}, result]
    messages.append({"role": "assistant", "content": "The answer is \\boxed{42}."})
    turns = schedule.rollout_turns(tokenizer, messages)
    assert len(turns) == 2 and turns[0][1] == len(tool_suffix_ids(tokenizer, [result])) and turns[1][1] == 0
    answer = tokenizer("The answer is \\boxed{42}.", add_special_tokens=False)["input_ids"]
    assert turns[1][0] == len(answer) + 1  # its text and the end-of-turn token

    details = tmp_path / "details.jsonl"
    details.write_text(json.dumps({"completion": messages}) + "\n")
    output = tmp_path / "schedule.json"
    results = schedule.main(
        ["--details", str(details), "--model", str(tool_calling_model["path"]), "--rows", "4", "--chunks", "8"]
        + ["--batches", "3", "--output", str(output)]
    )
    assert json.loads(output.read_text()) == results
    assert results["rollouts"] == 1 and results["tool_rounds_per_rollout"] == 1
    figures = results["rows"]["4"]
    assert figures["rounds"]["generate_calls"] == 2 and figures["rounds"]["decode_steps_to_rounds"] == 1
    assert figures["ahead_8"]["generate_calls"] > 2

    # The page's table is written from the results file, between the script's markers.
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{schedule.BEGIN}\nold\n{schedule.END_MARKER}\nafter\n")
    schedule.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "old" not in text
    rounds = figures["rounds"]
    assert f"| 4 | rounds | {rounds['decode_steps']:,.1f} | 2.0 | 1.00 |" in text
    assert "| 4 | ahead, chunks of 8 |" in text and "1 rollouts of" in text
