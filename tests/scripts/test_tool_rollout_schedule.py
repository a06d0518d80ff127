"""scripts/benchmarks/tool_rollout_schedule.py: tool rollouts replayed through TRL's rounds and through decoding ahead."""

import gzip
import json

import pytest

from tests.conftest import python_call
from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def schedule():
    return load_module("scripts/benchmarks/tool_rollout_schedule.py", "tool_rollout_schedule")


def test_rounds_wait_for_each_rounds_longest_turn_and_decoding_ahead_does_not(schedule):
    quick = (10, [(3, 5), (2, 0)])  # a prompt of 10 tokens; a call in 3 tokens, a result of 5, then the answer in 2
    slow = (20, [(21, 0)])  # one turn of 21 tokens
    # Rounds: the first decodes until the slow turn ends (21 steps) and reads both prompts, left-padded to the
    # longest (2 x 20); the second decodes the answer (2) after the quick row's 10 + 3 + 5 tokens.
    assert schedule.rounds_steps([quick, slow], budget=100) == (23, 2, 2 * 20 + 18)
    # Ahead, 4 tokens per call: the quick row's answer rides along with the slow turn; the last call decodes 1 token.
    # Each of the 6 calls reads every decoding row's context again, the slow row's grown by 4 tokens each time.
    steps, calls, read = schedule.ahead_steps([quick, slow], budget=100, chunk=4)
    assert (steps, calls) == (21, 6)
    assert read == 2 * 20 + 2 * 24 + 28 + 32 + 36 + 40  # the quick row ends at the second call


def test_both_schedules_keep_the_budget(schedule):
    rollout = (1, [(10, 5), (30, 0)])  # the answer would take the rollout to 45 tokens
    # Rounds: the answer round decodes to the budget left (20) at most; ahead likewise, in chunks.
    assert schedule.rounds_steps([rollout], budget=35)[:2] == (30, 2)
    assert schedule.ahead_steps([rollout], budget=35, chunk=8)[:2] == (10 + 20, 2 + 3)
    assert schedule.joining_steps([rollout], budget=35, chunk=8, rows_per_call=4)[:2] == (10 + 20, 2 + 3)
    # A result that would overrun the budget ends the rollout in all three.
    assert (
        schedule.rounds_steps([rollout], budget=12)[1]
        == schedule.ahead_steps([rollout], budget=12, chunk=64)[1]
        == schedule.joining_steps([rollout], budget=12, chunk=64, rows_per_call=4)[1]
        == 1
    )


def test_the_evaluators_rounds_split_each_round_into_calls_of_at_most_its_rows(schedule):
    one_call = (5, [(4, 3), (6, 0)])
    answer = (5, [(8, 0)])
    rollouts = [one_call, answer, answer]
    # Two rows per call: the first round takes two calls (rows 1-2, then row 3; longest turns 8 and 8), the second one.
    assert schedule.rounds_steps(rollouts, budget=100, rows_per_call=2) == (8 + 8 + 6, 3, 2 * 5 + 5 + 12)
    # One batch of all three: a call per round.
    assert schedule.rounds_steps(rollouts, budget=100)[:2] == (8 + 6, 2)
    # A tool result that fills the budget exactly: TRL asks for one more turn (and decodes a token of it), the
    # evaluator ends the rollout there.
    filled = (5, [(10, 5), (3, 0)])
    assert schedule.rounds_steps([filled], budget=15) == (10 + 1, 2, 5 + 20)
    assert schedule.rounds_steps([filled], budget=15, rows_per_call=2) == (10, 1, 5)


def test_rows_join_as_others_end(schedule):
    long, short = (2, [(12, 0)]), (2, [(3, 0)])
    # At most 2 rows at once, 4 tokens per call: the short rows take the second place one after the other, each
    # joining at the call after the one before ended; the long row decodes all along, then the last short row alone.
    steps, calls, read = schedule.joining_steps(
        [long, short, short, short, short], budget=100, chunk=4, rows_per_call=2
    )
    assert (steps, calls) == (12 + 3, 4)
    assert read == 2 * 2 + 2 * 6 + 2 * 10 + 1 * 2


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

    details = tmp_path / "details.jsonl.gz"  # gzipped, as docs/results keeps them
    prompt = "<|im_start|>user\nWhat is 6 x 7?<|im_end|>\n<|im_start|>assistant\n"
    with gzip.open(details, "wt", encoding="utf-8") as gzipped:
        gzipped.write(json.dumps({"prompt": prompt, "completion": messages}) + "\n")
    output = tmp_path / "schedule.json"
    results = schedule.main(
        ["--details", str(details), "--model", str(tool_calling_model["path"]), "--rows", "4", "--chunks", "8"]
        + ["--batches", "3", "--evaluator_rollouts", "3", "--evaluator_rows_per_call", "2", "--output", str(output)]
    )
    assert json.loads(output.read_text()) == results
    assert results["rollouts"] == 1 and results["tool_rounds_per_rollout"] == 1
    figures = results["rows"]["4"]
    assert figures["rounds"]["generate_calls"] == 2 and figures["rounds"]["decode_steps_to_rounds"] == 1
    assert figures["ahead_8"]["generate_calls"] > 2
    # Each round reads the 4 rows' contexts: the prompts, then the prompts, the call and its result.
    prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert figures["rounds"]["context_tokens"] == 4 * prompt_tokens + 4 * (prompt_tokens + sum(turns[0]))
    evaluator = results["evaluator"]
    assert evaluator["rollouts"] == 3 and evaluator["rows_per_call"] == 2
    assert evaluator["schedules"]["rounds"]["generate_calls"] == 4  # two calls per round

    # The page's table is written from the results file, between the script's markers.
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{schedule.BEGIN}\nold\n{schedule.END_MARKER}\nafter\n")
    schedule.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "old" not in text
    rounds = figures["rounds"]
    assert (
        f"| 4 | rounds | {rounds['decode_steps']:,.1f} | 2.0 | {rounds['context_tokens']:,.0f} | 1.00 | 1.00 |" in text
    )
    assert "| 4 | ahead, chunks of 8 |" in text and "1 rollouts of" in text
    assert "The offline evaluator: 3 rollouts at most 2 per generate call" in text
    assert "| rows joining, chunks of 8 |" in text

    # Priced with a machine's generate calls (a grpo_throughput.py results file): 40 ms a decode step, 3 ms per
    # 1,000 context tokens, 50 ms a call.
    def timed(steps: int, tokens: int) -> list:
        return [steps, tokens, 0.040 * steps + 0.003 * tokens / 1000 + 0.050]

    timings = [timed(412, 20_000), timed(120, 60_000), timed(96, 70_000), timed(32, 26_000), timed(17, 45_000)]
    throughput = tmp_path / "throughput.json"
    settings = {"prompts": 2, "num_generations": 2}  # its calls decoded 4 rows
    throughput.write_text(json.dumps({"settings": settings, "arms": {"trl": {"generate_call_timings": timings}}}))
    argv = ["--details", str(details), "--model", str(tool_calling_model["path"]), "--rows", "4", "8", "--chunks", "8"]
    priced = schedule.main([*argv, "--batches", "3", "--prices", str(throughput)])
    assert "seconds" not in priced["rows"]["8"]["rounds"]  # a decode step of 8 rows was not priced
    rounds = priced["rows"]["4"]["rounds"]
    expected = (
        0.040 * rounds["decode_steps"] + 0.003 * rounds["context_tokens"] / 1000 + 0.050 * rounds["generate_calls"]
    )
    assert rounds["seconds"] == pytest.approx(expected) and rounds["seconds_to_rounds"] == 1
    assert priced["prices"]["file"] == str(throughput)
    section = schedule.results_section(priced, output)
    assert "batches of 4 rows priced at 40.0 ms per decode step, 3.0 ms per 1,000 context tokens and 50 ms" in section
    assert f"| {rounds['seconds']:,.1f} | 1.00 |" in section and "| 8 | rounds |" in section and "| — | — |" in section
    # Calls that cannot tell the prices apart are refused before anything is replayed.
    throughput.write_text(
        json.dumps({"settings": settings, "arms": {"trl": {"generate_call_timings": timings[:1] * 5}}})
    )
    with pytest.raises(SystemExit):
        schedule.main([*argv, "--prices", str(throughput)])

    # Priced with an offline evaluation's own generate calls: its evaluator schedules, not the GRPO batches.
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"decoding": {"call_timings": timings}}))
    argv += ["--batches", "3", "--evaluator_rollouts", "3", "--evaluator_rows_per_call", "2"]
    priced = schedule.main([*argv, "--prices", str(evaluation)])
    assert "seconds" not in priced["rows"]["4"]["rounds"]
    rounds = priced["evaluator"]["schedules"]["rounds"]
    expected = (
        0.040 * rounds["decode_steps"] + 0.003 * rounds["context_tokens"] / 1000 + 0.050 * rounds["generate_calls"]
    )
    assert rounds["seconds"] == pytest.approx(expected)
    assert "seconds_to_rounds" in priced["evaluator"]["schedules"]["joining_8"]
    section = schedule.results_section(priced, output)
    assert f"fitted to the 5 generate calls of the evaluation in `{evaluation}`, R² 1.00" in section


def test_details_without_their_prompts_are_refused_in_one_line_naming_the_line(schedule, tmp_path, capsys):
    details = tmp_path / "details.jsonl"
    details.write_text(json.dumps({"id": "test-0", "completion": "The answer is 4."}) + "\n")
    with pytest.raises(SystemExit):
        schedule.main(["--details", str(details), "--model", str(tmp_path / "never-loaded")])
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.endswith(
        f"--details: {details}:1: missing field(s) ['prompt']; each line needs ['prompt', 'completion'], this one "
        "has ['id', 'completion']"
    )
