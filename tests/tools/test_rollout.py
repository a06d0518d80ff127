"""open_r1.tools.rollout: multi-turn generation with the python tool outside the trainer (evaluation, generation).

Calls of different rollouts run at once, as many as the sandbox has workers; one rollout's calls run in the order
written, each seeing the cells of those before it.
"""

import threading

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from open_r1.sandbox import isolation_mode
from open_r1.sandbox.factory import clear_providers
from open_r1.tasks.tool_arithmetic import prompt_messages
from open_r1.tools import rollout
from open_r1.tools.python_tool import PythonTool, PythonToolSettings, tool_sandbox
from tests.support.out_of_memory import out_of_memory_above
from tests.support.sandbox_checks import skip_without_isolation

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")
ROLLOUTS = 4


@pytest.fixture
def settings():
    with skip_without_isolation():
        isolation_mode()
    yield lambda workers: PythonToolSettings(sandbox=tool_sandbox("local", workers), wall_seconds=5)
    clear_providers()


def generate(
    model_folder,
    problem,
    settings,
    rollouts=ROLLOUTS,
    max_new_tokens=96,
    max_tool_calling_iterations=2,
    decoding=None,
    **schedule,
) -> tuple[list[list[dict]], list[str]]:
    """`rollouts` greedy rollouts of the memorised model on `problem`, and their finish reasons; `schedule`:
    `batch_size`, `chunk_tokens`."""
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = AutoModelForCausalLM.from_pretrained(model_folder)
    conversation = prompt_messages(problem, with_tool=True)
    return rollout.generate_with_tools(
        model,
        tokenizer,
        [conversation] * rollouts,
        tool_settings=settings,
        max_new_tokens=max_new_tokens,
        max_tool_calling_iterations=max_tool_calling_iterations,
        sampling={"do_sample": False},
        decoding=decoding,
        **schedule,
    )


def test_the_calls_of_different_rollouts_run_at_once(tool_calling_model, settings, monkeypatch):
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    one_at_a_time = generate(tool_calling_model["path"], problem, settings(1))
    # Each call waits until every rollout's call has started: run one after another, the first would wait alone.
    everyone = threading.Barrier(ROLLOUTS, timeout=30)
    real_call = rollout.call_tool

    def call_when_all_have_started(tool, call):
        everyone.wait()
        return real_call(tool, call)

    monkeypatch.setattr(rollout, "call_tool", call_when_all_have_started)
    at_once, finish_reasons = generate(tool_calling_model["path"], problem, settings(ROLLOUTS))
    assert (at_once, finish_reasons) == one_at_a_time
    assert finish_reasons == ["stop"] * ROLLOUTS
    for messages in at_once:
        assert [message["role"] for message in messages][:2] == ["assistant", "tool"], messages
        assert messages[1]["content"] == tool_calling_model["problem"]["answer"] + "\n"


def test_a_batch_that_runs_out_of_gpu_memory_goes_again_in_halves_with_the_same_rollouts(
    tool_calling_model, settings, monkeypatch
):
    from open_r1.utils.decoding_tally import DecodingTally

    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    fits, split, tried = DecodingTally(), DecodingTally(), []
    reference = generate(tool_calling_model["path"], problem, settings(2), decoding=fits)
    monkeypatch.setattr(rollout, "_generate", out_of_memory_above(1, rollout._generate, tried, batch_argument=2))
    assert generate(tool_calling_model["path"], problem, settings(2), decoding=split) == reference
    # The first round (the call) of 4 rollouts: 4 -> 2 (fails) -> 1 + 1, then 1 + 1; the second (the answer) in ones.
    assert tried == [4, 2, 1, 1, 1, 1] + [1, 1, 1, 1] and split.out_of_memory_splits == 2
    assert (fits.calls, split.calls, split.kept_tokens) == (2, 8, fits.kept_tokens)


def test_each_row_of_a_call_is_cut_to_its_own_budget_and_after_its_end_of_turn(monkeypatch):
    """Rows of one generate call that have used different shares of their rollout's budget: the call decodes to the
    largest budget, each row keeps at most its own, up to and with its first end-of-turn token."""
    from open_r1.utils.decoding_tally import DecodingTally

    end = 0
    asked = []

    def scripted(model, pad, prompt_ids, max_new_tokens, sampling, static):
        asked.append((len(prompt_ids), max_new_tokens))
        return [[5, 6, end, 7, 8][:max_new_tokens], [5, 6, 7, 8, 9][:max_new_tokens]][: len(prompt_ids)]

    monkeypatch.setattr(rollout, "_generate", scripted)
    tally = DecodingTally()
    budgets = [5, 3]  # the first row ends its turn at its third token; the second runs out at its third
    kept = rollout._decode(None, 1, [[1, 2], [3]], budgets, {}, [0, 1], eos_ids={end}, decoding=tally)
    assert kept == [[5, 6, end], [5, 6, 7]]
    assert asked == [(2, 5)]
    assert (tally.calls, tally.kept_tokens, tally.decode_steps, tally.context_tokens) == (1, 6, 5, 4)


@pytest.mark.parametrize(
    ("lengths", "budgets", "context"),
    [([30, 3], [2, 29], 32), ([5, 28, 12, 20, 3], [27, 4, 20, 12, 29], 32), ([4, 4], [20, 20], None)],
)
def test_a_call_is_split_where_its_longest_row_and_largest_budget_would_run_past_the_context(
    lengths, budgets, context
):
    calls = rollout.calls_within_context(lengths, budgets, context)
    assert sorted(row for call in calls for row in call) == list(range(len(lengths)))
    for call in calls:
        assert context is None or max(lengths[row] for row in call) + max(budgets[row] for row in call) <= context
    if context is None or max(lengths) + max(budgets) <= context:
        assert len(calls) == 1


def test_rows_of_a_later_round_never_decode_past_a_learned_position_models_context():
    """A later round's rows have used different shares of their budgets: the longest context with the largest budget
    ran past the context, and a model with learned positions raised an index error mid-evaluation."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from open_r1.utils.decoding_tally import DecodingTally

    torch.manual_seed(0)
    context = 32
    config = GPT2Config(vocab_size=40, n_positions=context, n_embd=16, n_layer=1, n_head=2, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    tally = DecodingTally()
    # The first row has 2 tokens left after a 30-token context, the second 28 after 3 tokens.
    rows = [[7] * 30, [8] * 3]
    kept = rollout._decode(model, 1, rows, [2, 28], {"do_sample": False}, [0, 1], eos_ids={0}, decoding=tally,
                           context=context)  # fmt: skip
    assert 1 <= len(kept[0]) <= 2 and 1 <= len(kept[1]) <= 28
    assert tally.calls == 2
    # A row whose context leaves no room gets an empty turn (out of tokens) without a call.
    assert rollout._decode(model, 1, [[7] * 32], [5], {"do_sample": False}, [0], eos_ids={0}, decoding=None,
                           context=context) == [[]]  # fmt: skip


@pytest.mark.timeout(120)
@pytest.mark.parametrize("chunk_tokens", [None, 4])
def test_a_rollout_out_of_context_ends_as_out_of_tokens_on_a_learned_position_model(
    tool_calling_model, settings, chunk_tokens
):
    """A budget longer than the model's context leaves: each schedule decodes up to the context and ends there
    ("length"); with rows joining, a row cut at the context was decoded again and again (a review's)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from open_r1.utils.decoding_tally import DecodingTally

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    conversation = prompt_messages(tool_calling_model["problem"], with_tool=True)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    torch.manual_seed(0)
    room = 6
    prompt_length = len(
        tokenizer.apply_chat_template(
            conversation, tools=[PythonTool(settings(1)).python], add_generation_prompt=True, tokenize=True,
            return_dict=False,
        )
    )  # fmt: skip
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=prompt_length + room, n_embd=16, n_layer=1, n_head=2,
        bos_token_id=end, eos_token_id=end,
    )  # fmt: skip
    model = GPT2LMHeadModel(config).eval()
    model.generation_config.eos_token_id = end
    tally = DecodingTally()
    _, reasons = rollout.generate_with_tools(
        model, tokenizer, [conversation] * 2, tool_settings=settings(1), max_new_tokens=40,
        max_tool_calling_iterations=2, sampling={"do_sample": False}, decoding=tally, chunk_tokens=chunk_tokens,
    )  # fmt: skip
    assert set(reasons) <= {"length", "stop"} and tally.kept_tokens <= 2 * room


def test_tool_results_past_the_models_context_are_dropped_and_the_rollout_ends(
    tool_calling_model, settings, monkeypatch
):
    """As results past the budget are (TRL's rule): a review's, for the context the rollouts now stay within."""
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    call = '<tool_call>\n{"name": "python", "arguments": {"code": "print(6 * 7)"}}\n</tool_call><|im_end|>'
    turn = tokenizer(call, add_special_tokens=False)["input_ids"]
    monkeypatch.setattr(rollout, "_generate", lambda model, pad, prompt_ids, *args: [turn for _ in prompt_ids])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    conversation = [{"role": "user", "content": "What is 6 * 7?"}]
    prompt = tokenizer.apply_chat_template(
        conversation, tools=[PythonTool(settings(1)).python], add_generation_prompt=True, tokenize=True,
        return_dict=False,
    )  # fmt: skip
    model.config.max_position_embeddings = len(prompt) + len(turn) + 2  # the turn fits; its result does not
    [messages], [reason] = rollout.generate_with_tools(
        model, tokenizer, [conversation], tool_settings=settings(1), max_new_tokens=200,
        max_tool_calling_iterations=2, sampling={"do_sample": False},
    )  # fmt: skip
    assert reason == "length" and [message["role"] for message in messages] == ["assistant"]


def test_rollouts_decode_within_the_models_context(tool_calling_model, settings, monkeypatch):
    told = []
    real_decode = rollout._decode

    def recording(*args, **kwargs):
        told.append(kwargs["context"])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(rollout, "_decode", recording)
    generate(tool_calling_model["path"], tool_calling_model["problem"], settings(1), rollouts=1)
    config = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"]).config
    assert told and set(told) == {config.max_position_embeddings}


def test_the_next_turn_is_generated_after_the_turn_as_generated_not_as_parsed(
    tool_calling_model, settings, monkeypatch
):
    """Found by a red team: the next turn's context was the parsed turn rendered again, which drops the `<think>`
    reasoning and the text before a call that the parser moves out of the content, where TRL's GRPO rollouts (and so
    training) join the generated tokens; a model was measured on other contexts than it trained on."""
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    first = (
        "<think>\nI will multiply with python.\n</think>\nLet me check.\n"
        '<tool_call>\n{"name": "python", "arguments": {"code": "print(6 * 7)"}}\n</tool_call><|im_end|>'
    )
    turns = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in (first, "\\boxed{42}<|im_end|>")]
    contexts = []

    def scripted(model, pad, prompt_ids, max_new_tokens, sampling, static):
        contexts.append(prompt_ids[0])
        return [turns[len(contexts) - 1]]

    monkeypatch.setattr(rollout, "_generate", scripted)
    conversation = [{"role": "user", "content": "What is 6 * 7?"}]
    [messages], [reason] = rollout.generate_with_tools(
        AutoModelForCausalLM.from_pretrained(tool_calling_model["path"]), tokenizer, [conversation],
        tool_settings=settings(1), max_new_tokens=200,
        max_tool_calling_iterations=2, sampling={"do_sample": False},
    )  # fmt: skip
    assert reason == "stop" and [message["role"] for message in messages] == ["assistant", "tool", "assistant"]
    assert contexts[1][: len(contexts[0]) + len(turns[0])] == contexts[0] + turns[0]
    assert "I will multiply with python.\n</think>\nLet me check." in tokenizer.decode(contexts[1])
    assert tokenizer.decode(contexts[1]).endswith("<|im_start|>tool\n42\n<|im_end|>\n<|im_start|>assistant\n")


def test_the_calls_of_one_turn_run_in_order_each_seeing_the_cells_before_it(settings):
    tool = PythonTool(settings(ROLLOUTS))
    tool.reset()
    calls = [
        {"type": "function", "function": {"name": "python", "arguments": {"code": code}}}
        for code in ("x = 6 * 7", "y = x + 1", "print(x, y)")
    ]
    messages = rollout.tool_messages(tool, calls)
    assert [message["content"] for message in messages] == ["(no output)", "(no output)", "42 43\n"]


def memorised_rollout_lengths(model_folder, user_turn: str, problem: dict) -> tuple[int, int, int]:
    """(first assistant turn, tool turn and next header, final assistant turn) of the memorised rollout, in tokens
    as TRL counts a completion: read off the rendered trace, each turn up to and including its end-of-turn token."""
    from open_r1.tasks.tool_arithmetic import tool_trace

    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    trace = tool_trace({**problem, "problem": user_turn})
    prompt = tokenizer.apply_chat_template(trace[:2], add_generation_prompt=True, tokenize=True, return_dict=False)
    completion = tokenizer.apply_chat_template(trace, tokenize=True, return_dict=False)[len(prompt) :]
    ends = [index for index, token in enumerate(completion) if token == tokenizer.eos_token_id]
    header = tokenizer.apply_chat_template(trace[:4], add_generation_prompt=True, tokenize=True, return_dict=False)
    first, final_start = ends[0] + 1, len(header) - len(prompt)
    return first, final_start - first, ends[-1] + 1 - final_start


@pytest.mark.parametrize(
    "budget, roles, finish_reason",
    [
        ("whole", ["assistant", "tool", "assistant"], "stop"),
        ("first turn and tool turn", ["assistant", "tool"], "length"),
        ("one token short of the tool turn", ["assistant"], "length"),
        ("one token short of the final turn", ["assistant", "tool", "assistant"], "length"),
    ],
)
def test_the_tool_turns_count_towards_the_budget_as_trl_counts_them(
    tool_calling_model, settings, budget, roles, finish_reason
):
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    first, tool_turn, final = memorised_rollout_lengths(
        tool_calling_model["path"], tool_calling_model["user_turn"], tool_calling_model["problem"]
    )
    max_new_tokens = {
        "whole": first + tool_turn + final,
        "first turn and tool turn": first + tool_turn,
        "one token short of the tool turn": first + tool_turn - 1,
        "one token short of the final turn": first + tool_turn + final - 1,
    }[budget]
    [messages], [reason] = generate(
        tool_calling_model["path"], problem, settings(1), rollouts=1, max_new_tokens=max_new_tokens
    )
    assert [message["role"] for message in messages] == roles, messages
    assert reason == finish_reason
    # Rows joining keeps the budget alike, a turn cut into chunks of 5 tokens included.
    assert generate(
        tool_calling_model["path"], problem, settings(1), rollouts=1, max_new_tokens=max_new_tokens, chunk_tokens=5
    ) == ([messages], [reason])
    if budget == "whole":
        assert f"\\boxed{{{tool_calling_model['problem']['answer']}}}" in messages[-1]["content"]


def test_a_rollout_that_calls_after_its_last_round_ends_there_and_says_so(tool_calling_model, settings):
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    [messages], [reason] = generate(
        tool_calling_model["path"], problem, settings(1), rollouts=1, max_tool_calling_iterations=0
    )
    assert [message["role"] for message in messages] == ["assistant"] and messages[0]["tool_calls"], messages
    assert reason == "tool_rounds"


def test_progress_names_the_round_since_rollouts_end_only_in_their_last(tool_calling_model, settings):
    # The memorised model calls the tool once, then answers: no rollout ends in round 1, all of them in round 2.
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    progress = []
    _, reasons = rollout.generate_with_tools(
        model,
        tokenizer,
        [prompt_messages(problem, with_tool=True)] * ROLLOUTS,
        tool_settings=settings(1),
        max_new_tokens=96,
        max_tool_calling_iterations=2,
        sampling={"do_sample": False},
        batch_size=2,
        on_batch=lambda *call: progress.append(call),
    )
    assert reasons == ["stop"] * ROLLOUTS
    assert progress == [(0, ROLLOUTS, 1), (0, ROLLOUTS, 1), (2, ROLLOUTS, 2), (4, ROLLOUTS, 2)]


def test_unbounded_rounds_as_trls_none_leave_the_rollout_to_its_token_budget(tool_calling_model, settings):
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    [messages], [reason] = generate(
        tool_calling_model["path"], problem, settings(1), rollouts=1, max_tool_calling_iterations=None
    )
    assert [message["role"] for message in messages] == ["assistant", "tool", "assistant"], messages
    assert reason == "stop"


def test_a_tool_turns_tokens_are_the_ones_trls_trainer_appends(tool_calling_model):
    from types import SimpleNamespace

    from trl import GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    messages = [
        {"role": "tool", "name": "python", "content": "123\n"},
        {"role": "tool", "name": "python", "content": ""},
    ]
    trainer = SimpleNamespace(
        processing_class=tokenizer, _tokenizer=tokenizer, chat_template=None, chat_template_kwargs={}, _is_vlm=False
    )
    assert rollout.tool_suffix_ids(tokenizer, messages) == GRPOTrainer._get_tool_suffix_ids(trainer, messages)


def test_the_tool_call_rate_counts_rollouts_holding_a_tool_result():
    from open_r1.tools.rollout import tool_call_rate

    called = [{"role": "assistant", "content": "", "tool_calls": []}, {"role": "tool", "content": "4"}]
    unanswered = [{"role": "assistant", "content": "<tool_call>"}]  # a call never run holds no result
    assert tool_call_rate([called, unanswered, "plain text \\boxed{4}", called]) == 0.5


def test_compiled_rollouts_pad_each_round_to_a_bucket_and_keep_one_cache_length(tool_calling_model, settings):
    """With `compiled` (torch.compile's eager backend on this CPU) every round decodes from a static cache sized for
    the longest first prompt plus the budget, its rows padded to a bucket of the batch's; the rollouts are the
    uncompiled ones."""
    from tests.support.compiled_on_cpu import cpu_compile_config

    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    conversation = prompt_messages(problem, with_tool=True)
    run = dict(
        tool_settings=settings(2), max_new_tokens=96, max_tool_calling_iterations=2, sampling={"do_sample": False}
    )
    uncompiled = rollout.generate_with_tools(model, tokenizer, [conversation] * 3, batch_size=4, **run)
    model.generation_config.compile_config = cpu_compile_config()
    calls, generate = [], model.generate

    def recording_generate(*args, **kwargs):
        calls.append((kwargs["input_ids"].shape[0], kwargs["max_cache_len"], kwargs["cache_implementation"]))
        return generate(*args, **kwargs)

    model.generate = recording_generate
    compiled = rollout.generate_with_tools(model, tokenizer, [conversation] * 3, batch_size=4, compiled=True, **run)
    assert compiled == uncompiled
    prompt = tokenizer.apply_chat_template(
        conversation, tools=[PythonTool(settings(1)).python], add_generation_prompt=True, tokenize=True,
        return_dict=False,
    )  # fmt: skip
    # The tool call's round and the answer's, each of the 3 rollouts padded to the 4 rows of a batch.
    assert calls == [(4, len(prompt) + 96, "static")] * 2
    assert hasattr(model, "_compiled_call")  # transformers compiled the decode step
    # Rows joining, 2 rows at a time in chunks of 16: the cache holds a chunk more, its rows padded alike; the
    # rollouts are the uncompiled rounds' again.
    calls.clear()
    joining = rollout.generate_with_tools(
        model, tokenizer, [conversation] * 3, batch_size=2, compiled=True, chunk_tokens=16, **run
    )
    assert joining == uncompiled
    assert {(rows, length) for rows, length, _ in calls} == {(2, len(prompt) + 96 + 16)}


def test_rows_joining_refuses_what_a_chunk_would_apply_afresh_and_an_empty_batch(tool_calling_model, settings):
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    run = dict(
        tool_settings=settings(1), max_new_tokens=16, max_tool_calling_iterations=2, sampling={"do_sample": False}
    )
    conversations = [prompt_messages(problem, with_tool=True)]
    with pytest.raises(ValueError, match="^batch_size must be >= 1, got 0$"):
        rollout.generate_with_tools(model, tokenizer, conversations, batch_size=0, chunk_tokens=8, **run)
    model.generation_config.repetition_penalty = 1.3  # counted over each call's input, padding and all
    with pytest.raises(ValueError, match=r"^chunk_tokens: the model's generation config sets repetition_penalty=1.3,"):
        rollout.generate_with_tools(model, tokenizer, conversations, chunk_tokens=8, **run)
    rollout.generate_with_tools(model, tokenizer, conversations, **run)  # rounds decode each turn in one call


@pytest.mark.parametrize("chunk_tokens", [1, 7, 1000])
def test_rows_joining_gives_the_rounds_rollouts(tool_calling_model, settings, chunk_tokens):
    """The memorised rollout (a call, then the answer) beside prompts the model never saw, whose rollouts run other
    lengths and end otherwise: greedy rollouts and finish reasons are the rounds' at any chunk size (float32)."""
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    conversations = [
        prompt_messages(problem, with_tool=True),
        prompt_messages({**problem, "problem": "What is 6 * 7? Put the final answer in \\boxed{}."}, with_tool=True),
        prompt_messages(problem, with_tool=True),
        prompt_messages({**problem, "problem": "Say hello."}, with_tool=True),
        prompt_messages(problem, with_tool=True),
    ]
    run = dict(
        tool_settings=settings(2), max_new_tokens=64, max_tool_calling_iterations=2, sampling={"do_sample": False}
    )
    rounds = rollout.generate_with_tools(model, tokenizer, conversations, batch_size=2, **run)
    joining = rollout.generate_with_tools(
        model, tokenizer, conversations, batch_size=2, chunk_tokens=chunk_tokens, **run
    )
    assert joining == rounds
    assert rounds[1][0] == "stop" and rounds[0][0][1]["role"] == "tool"  # the memorised rollout called, then answered


def test_with_rows_joining_a_waiting_rollout_takes_the_row_of_one_that_ended(
    tool_calling_model, settings, monkeypatch
):
    """Three rollouts, two rows: the first two decode together, chunk by chunk, and the third starts once they have
    ended; the progress counts rollouts as they end, without a round."""
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    first, tool_turn, final = memorised_rollout_lengths(
        tool_calling_model["path"], tool_calling_model["user_turn"], tool_calling_model["problem"]
    )
    asked, real_generate = [], rollout._generate

    def recording(model, pad, prompt_ids, max_new_tokens, sampling, static):
        asked.append((len(prompt_ids), max_new_tokens))
        return real_generate(model, pad, prompt_ids, max_new_tokens, sampling, static)

    monkeypatch.setattr(rollout, "_generate", recording)
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    model = AutoModelForCausalLM.from_pretrained(tool_calling_model["path"])
    progress = []
    rollouts, reasons = rollout.generate_with_tools(
        model,
        tokenizer,
        [prompt_messages(problem, with_tool=True)] * 3,
        tool_settings=settings(2),
        max_new_tokens=96,
        max_tool_calling_iterations=2,
        sampling={"do_sample": False},
        batch_size=2,
        chunk_tokens=4,
        on_batch=lambda *call: progress.append(call),
    )
    assert reasons == ["stop"] * 3
    # A rollout's calls: its call turn in chunks of 4, then its answer after the tool turn, likewise.
    per_rollout = -(-first // 4) + -(-final // 4)
    assert [rows for rows, _ in asked] == [2] * per_rollout + [1] * per_rollout
    assert all(tokens <= 4 for _, tokens in asked)
    assert progress[per_rollout - 1] == (2, 3, None) and progress[-1] == (3, 3, None)
    assert [call for call in progress if call[0] == 0] == [(0, 3, None)] * (per_rollout - 1)
