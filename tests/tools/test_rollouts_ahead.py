"""Tool rollouts decoded ahead of TRL's rounds (open_r1.tools.rollouts_ahead), on a scripted model.

Each row's prompt is one token (ROW + its index); its script is its turns, in order. A turn calls the tool when it
holds CALL and ends with END (or where the budget ends it); each tool result is RESULT tokens. The scripted model
continues a context from where it stands in its row's script, so a turn decoded over several generate calls is the
same turn. TRL's rollouts in the trainer, and the calls run ahead, are checked in tests/tools/test_training.py.
"""

import threading
import time
from concurrent.futures import Future

import pytest

from open_r1.configs import GRPOConfig
from open_r1.tools.rollouts_ahead import ToolRolloutsAhead, TurnsAhead, chunked_differently, decode_ahead
from open_r1.usage import UsageError

ROW, CALL, END, RESULT = 1000, 90, 99, 80


class ScriptedModel:
    """`generate(ids, n)` for `decode_ahead`: each row's next tokens of its script; records each call's rows and width."""

    def __init__(self, scripts: list[list[list[int]]]):
        self.scripts, self.calls = scripts, []

    def __call__(self, contexts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        self.calls.append(([context[0] - ROW for context in contexts], max_new_tokens))
        out = []
        for context in contexts:
            turns = self.scripts[context[0] - ROW]
            turn = context.count(RESULT)  # one result token per call round here
            last_result = max((i for i, token in enumerate(context) if token == RESULT), default=0)
            so_far = len(context) - 1 - last_result
            out.append(turns[turn][so_far : so_far + max_new_tokens])
        return out

    @property
    def decode_steps(self) -> int:
        return sum(width for _, width in self.calls)


def done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def run(model: ScriptedModel, rows: int, *, chunk=4, budget=100, max_rounds=5, **overrides) -> TurnsAhead:
    settings = dict(
        generate=model,
        chunk_tokens=chunk,
        max_completion_length=budget,
        max_model_len=10_000,
        end_ids={END},
        max_rounds=max_rounds,
        turn_calls=lambda row, context, turn: ["code"] if CALL in turn else [],
        run_calls=lambda row, codes: [done("answer") for _ in codes],
        call_answers=lambda row, futures: [future.result() for future in futures],
        tool_suffix=lambda answers: [RESULT] * len(answers),
    )
    settings.update(overrides)
    return decode_ahead([[ROW + row] for row in range(rows)], **settings)


def test_a_row_goes_on_after_its_tool_result_while_another_still_decodes_its_long_turn():
    quick = [[5, CALL, END], [6, END]]  # a call in 3 tokens, then the answer
    slow = [[7] * 20 + [END]]  # one long turn
    model = ScriptedModel([quick, slow])
    turns = run(model, 2)
    assert turns.first == [quick[0], slow[0]]
    assert turns.take([ROW, *quick[0], RESULT]) == quick[1]
    assert turns.take([ROW, *quick[0], RESULT]) is None  # each turn once
    # The quick row's answer was decoded in the second call, beside the slow row's turn, not after it.
    assert model.calls[1] == ([1, 0], 4)
    # TRL's rounds: the first decodes until the slow row stops (21 steps), the second the answer (2); ahead, the
    # slow row's 21 tokens in chunks of 4 carry the quick row's whole rollout.
    assert model.decode_steps == 24 < 21 + 2 + 4


def test_a_turn_continued_over_several_calls_is_the_whole_turn_and_its_calls_run():
    long_call = [[3] * 9 + [CALL, END], [4, END]]
    model = ScriptedModel([long_call])
    turns = run(model, 1, chunk=4)
    assert turns.first == [long_call[0]]
    assert turns.take([ROW, *long_call[0], RESULT]) == long_call[1]
    assert [width for _, width in model.calls] == [4, 4, 4, 4]


def test_budgets_end_turns_and_drop_results_as_trl_does():
    script = [[5, 5, CALL, END], [6, 6, 6, CALL, END], [7, END]]
    # A budget inside the second turn: it is cut there, and its call (still in it) is not reached.
    turns = run(ScriptedModel([script]), 1, budget=7)
    assert turns.take([ROW, *script[0], RESULT]) == [6, 6]
    # A result that fills the budget: TRL still asks for the next turn and keeps none of it.
    turns = run(ScriptedModel([script]), 1, budget=5)
    assert turns.take([ROW, *script[0], RESULT]) == []
    # A result that would overrun it is dropped and the rollout ends: nothing more is decoded.
    model = ScriptedModel([script])
    turns = run(model, 1, budget=4)
    assert turns.first == [script[0]] and len(model.calls) == 1


def test_the_turn_after_the_last_round_keeps_its_calls_unrun():
    script = [[CALL, END], [CALL, END], [CALL, END]]
    started = []

    def run_calls(row, codes):
        started.append(row)
        return [done("answer") for _ in codes]

    turns = run(ScriptedModel([script]), 1, max_rounds=1, run_calls=run_calls)
    assert started == [0]
    assert turns.take([ROW, CALL, END, RESULT]) == script[1]
    assert turns.take([ROW, CALL, END, RESULT, CALL, END, RESULT]) is None


def test_a_row_the_run_ahead_cannot_follow_is_left_to_trls_rounds():
    script = [[CALL, END], [CALL, END], [END]]
    # A turn whose calls are not all python calls: no call starts and no later turn is decoded for that row.
    model = ScriptedModel([script, script])
    turns = run(
        model, 2, turn_calls=lambda row, context, turn: None if row == 1 else (["code"] if CALL in turn else [])
    )
    assert turns.take([ROW, CALL, END, RESULT]) == script[1]
    assert turns.take([ROW + 1, CALL, END, RESULT]) is None
    # A run that failed outside the sandbox: the same.
    turns = run(ScriptedModel([script]), 1, call_answers=lambda row, futures: None)
    assert turns.first == [script[0]] and turns.take([ROW, CALL, END, RESULT]) is None


def test_rows_waiting_for_their_tools_are_waited_for_without_decoding():
    script = [[CALL, END], [END]]
    pending = []

    def run_calls(row, codes):
        future = Future()
        timer = threading.Timer(0.2, future.set_result, ["answer"])
        timer.start()
        pending.append(timer)
        return [future]

    model = ScriptedModel([script])
    turns = run(model, 1, run_calls=run_calls)
    assert turns.take([ROW, CALL, END, RESULT]) == [END]
    assert len(model.calls) == 2  # one per turn: nothing decoded while the call ran


def later(seconds: float, value) -> Future:
    """A future that ends `seconds` from now, as a sandboxed call does."""
    future = Future()
    threading.Timer(seconds, future.set_result, [value]).start()
    return future


def test_calls_that_end_soon_after_their_turn_are_waited_for_so_the_row_joins_the_next_call():
    quick = [[5, CALL, END], [6, END]]
    slow = [[7] * 20 + [END]]

    class SlowModel(ScriptedModel):
        def __call__(self, contexts, max_new_tokens):
            time.sleep(0.2)  # a generate call's time: the wait before the next one is up to half of it
            return super().__call__(contexts, max_new_tokens)

    model = SlowModel([quick, slow])
    turns = run(model, 2, run_calls=lambda row, codes: [later(0.02, "answer") for _ in codes])
    assert turns.take([ROW, *quick[0], RESULT]) == quick[1]
    assert model.calls[1] == ([1, 0], 4)  # the quick row's answer, in the call right after its tool call's turn


def test_rows_of_one_context_get_their_own_turns_in_batch_order():
    turns = TurnsAhead(first=[])
    turns.add([1, 2], [9, END], row=3)  # row 3's turn ended first
    turns.add([1, 2], [8, END], row=0)
    # TRL asks for a round's rows in batch order: row 0 gets its own turn, whose calls ran ahead in its tool.
    assert turns.take([1, 2]) == [8, END] and turns.take([1, 2]) == [9, END] and turns.take([1, 2]) is None


def test_generation_settings_a_chunk_would_apply_afresh_are_named():
    from transformers import GenerationConfig

    plain = GenerationConfig(max_new_tokens=64, eos_token_id=[2, 5], do_sample=True, temperature=0.8, top_p=0.95)
    assert chunked_differently(plain, 64, [5, 2]) == []
    assert chunked_differently(GenerationConfig(max_new_tokens=32, eos_token_id=2), 64, [2]) == ["max_new_tokens=32"]
    changed = GenerationConfig(max_new_tokens=64, eos_token_id=7, min_new_tokens=5, repetition_penalty=1.2)
    assert chunked_differently(changed, 64, [2]) == ["min_new_tokens=5", "repetition_penalty=1.2", "eos_token_id=7"]


def test_the_chunk_is_a_positive_number_of_tokens():
    with pytest.raises(UsageError, match="tool_rollout_chunk_tokens must be a positive number"):
        GRPOConfig(output_dir="/tmp/unused", tool_rollout_chunk_tokens=0, report_to="none")


@pytest.mark.parametrize(
    "sharding, generation, refusal",
    [
        ("zero3", {}, "cannot run with parameters sharded"),
        ("fsdp", {}, "cannot run with parameters sharded"),
        (None, {"min_new_tokens": 4}, r"cannot decode in chunks with generation settings \['min_new_tokens=4'\]"),
        (None, {}, None),
    ],
)
def test_what_chunks_cannot_decode_is_refused_when_the_trainer_starts(sharding, generation, refusal):
    from transformers import GenerationConfig

    class Trainer:
        def __init__(self):
            self.args = type("Args", (), {"tool_rollout_chunk_tokens": 8})()
            self.is_deepspeed_enabled = sharding == "zero3"
            self.is_fsdp_enabled = sharding == "fsdp"
            plugin = type("Plugin", (), {"zero_stage": 3})()
            self.accelerator = type("Accelerator", (), {"state": type("State", (), {"deepspeed_plugin": plugin})()})()
            self.generation_config = GenerationConfig(max_new_tokens=64, eos_token_id=[2], **generation)
            self.max_completion_length, self.eos_token_ids = 64, [2]

    class Ahead(ToolRolloutsAhead, Trainer):
        pass

    if refusal is None:
        Ahead()
    else:
        with pytest.raises(ValueError, match=f"tool_rollout_chunk_tokens {refusal}"):
            Ahead()
