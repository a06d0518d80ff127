"""Multi-turn generation with tools outside the trainer: evaluation, generation and the demo.

    from open_r1.tools.rollout import generate_with_tools
    rollouts, finish_reasons = generate_with_tools(
        model, tokenizer, conversations, tool_settings=PythonToolSettings(), max_new_tokens=256,
        max_tool_calling_iterations=4, sampling={"do_sample": False})
    rollouts[0]   # [{"role": "assistant", "tool_calls": [...]}, {"role": "tool", ...}, {"role": "assistant", ...}]
    finish_reasons[0]   # "stop": it answered; "length": out of tokens; "tool_rounds": it called after the last round

It does what TRL 1.16's `GRPOTrainer` does during training, with transformers' `generate`, so a model is
measured the way it was trained: render the chat (with the tools' schemas), generate, parse the reply with the
tokenizer's response parser (`open_r1.tools.chat.ensure_tool_parsing`), run each `python` call in a fresh
`PythonTool` per rollout, append the turn's generated tokens and the tool results' tokens (as TRL joins them, not
the parsed turn rendered again), and generate again, until the model
answers without a call, `max_tool_calling_iterations` rounds of calls were made, or the rollout has used
`max_new_tokens` tokens (each rollout's finish reason says which). As in TRL 1.16, the tool turns count towards
that budget, though they are masked out of the loss (`tool_suffix_ids`: the tokens after an assistant turn's
end-of-turn token up to the next assistant header), and tool results that would take a rollout past it are
dropped and the rollout ends there. A call of an unknown tool or with bad arguments gets an error message as its
result, like any failing call, and so does a call past the rollout's time budget
(`PythonToolSettings.rollout_seconds`), without running. The calls of a generated batch run at once across
rollouts, as many as the sandbox has workers (`tool_settings.sandbox`'s `num_workers`); one rollout's calls run one
after another in the order written, since each replays the cells of those before it.

Two schedules decode the same rollouts. Rounds (the default, TRL's): every rollout still going decodes its next turn,
`batch_size` rows per generate call, each call until its longest row's turn ends; so a call waits for its slowest row,
and a rollout that wrote its call in 30 tokens waits for one that writes 500. A call decodes its largest budget on
every row, so rows whose longest context and largest budget would run past the model's context go in separate calls
(`calls_within_context`). Rows joining (`chunk_tokens`): at most
`batch_size` rollouts decode at once, at most `chunk_tokens` tokens per call; a turn that has not ended goes on at the
next call from its context and what it decoded so far (read again, since generate keeps no cache between calls), a
rollout whose turn called the tool goes on after the results at the next call, and a rollout that ends gives its row
to the next one waiting. A turn continued at a later call is drawn from the same distribution as one decoded at
once (a model whose generation config sets what a call applies afresh, as a repetition penalty, is refused:
`check_chunkable`); with greedy decoding it is the same turn, up to numerics: other padding, and the turn's tokens
so far read again in one forward pass rather than each from the cache, which on a GPU can tip a near-tie. What each schedule costs on
make gsm8k's tool rollouts, replayed at an H100's prices: docs/benchmarks.md (`tool_rollout_schedule.py`).

With `compiled` (the evaluator's `compile_decoding`, a GPU only) every call decodes from a static cache through
transformers' compiled decode step, its rows padded to a few counts (`open_r1.utils.padded_rows`; the padding is not
counted in `decoding`). The cache is sized for the longest first prompt plus `max_new_tokens`, and a chunk with rows
joining, whose calls never need more. With rounds, a later round pads its rows to the longest rollout so far and may
decode all of another row's budget, so it can need up to a budget more; transformers then allocates a longer cache (and
keeps the longest so far): the first new shape compiles the step again, with its sizes symbolic from then on
(transformers' CompileConfig leaves `dynamic` to torch.compile), and each later new length records another CUDA graph.
Sizing for the bound from the start would hold about 30 GB of float32 cache at the tool arm's 512 rows (GSM8K-test's
longest tool prompt, about 260 tokens, plus twice 512) from the first call.

Not covered: vLLM (TRL's own loop covers it in training); tools other than `python`.
"""

import dataclasses
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from open_r1.eval.decoding import BatchesThatFit, end_of_turn_ids
from open_r1.utils.decoding_tally import DecodingTally, padded_tokens

from .chat import ensure_tool_parsing
from .python_tool import (
    DEFAULT_MAX_TOOL_CALLING_ITERATIONS,
    PythonTool,
    PythonToolSettings,
    ToolStats,
    disarm_control_text,
)

__all__ = ["DEFAULT_MAX_TOOL_CALLING_ITERATIONS", "call_tool", "generate_with_tools"]


def call_tool(tool: PythonTool, call: dict) -> str:
    """One parsed tool call's result text; a malformed call gets an error message, never an exception, with what
    it echoes of the call disarmed (`disarm_control_text`: no spelled control token renders as a turn)."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return disarm_control_text(f"Error: malformed tool call {call!r:.200}")
    name, arguments = function.get("name"), function.get("arguments")
    if name != "python":
        return disarm_control_text(f"Error: unknown tool {name!r:.200}; the only tool is 'python'.")
    if not isinstance(arguments, dict) or set(arguments) != {"code"}:
        return disarm_control_text(
            f"Error: python takes exactly one argument, 'code' (a string); got {arguments!r:.200}"
        )
    return tool.python(arguments["code"])


def tool_messages(tool: PythonTool, calls: list) -> list[dict]:
    """The tool turns answering one assistant turn's calls, run one after another in the order written."""
    messages = []
    for call in calls:
        name = (call.get("function") or {}).get("name", "python") if isinstance(call, dict) else None
        messages.append({"role": "tool", "name": name, "content": call_tool(tool, call)})
    return messages


def tool_call_rate(completions: list) -> float:
    """Share of `completions` that are rollouts holding a tool result (a plain-text completion holds none)."""
    called = [
        isinstance(completion, list) and any(message.get("role") == "tool" for message in completion)
        for completion in completions
    ]
    return sum(called) / len(called)


def tool_suffix_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The tokens TRL 1.16's GRPOTrainer appends to a rollout after the end-of-turn token of an assistant turn that
    called tools: the tool turns `messages` and the next assistant header (`_get_tool_suffix_ids`, rendered the same
    way: after a dummy call, the template's text after its last end-of-turn token)."""
    dummy = [
        {"role": "user", "content": "dummy"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"type": "function", "function": {"name": messages[0]["name"], "arguments": {}}}],
        },
    ]
    prefix = tokenizer.apply_chat_template(dummy, add_generation_prompt=False, tokenize=True, return_dict=False)
    full = tokenizer.apply_chat_template(
        dummy + messages, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    ends = [index for index, token in enumerate(prefix) if token == tokenizer.eos_token_id]
    if ends:
        prefix = prefix[: ends[-1] + 1]
    if full[: len(prefix)] != prefix:
        raise ValueError("the chat template renders an assistant turn differently once tool turns follow it")
    return full[len(prefix) :]


def calls_within_context(lengths: list[int], budgets: list[int], context: int | None) -> list[list[int]]:
    """The rows (indices into `lengths`, the rows' input lengths, and `budgets`, each row's within the context on its
    own) split into generate calls that stay within the model's `context`: a call decodes its largest budget on every
    row, so a row with a long context beside one with a large budget would be decoded past the context (an index
    error for learned positions). Rows sorted by length, longest first, join a call while its longest input and its
    largest budget fit; one call where they all fit or the context is unknown."""
    rows = list(range(len(lengths)))
    if context is None or not rows or max(lengths) + max(budgets) <= context:
        return [rows] if rows else []
    calls: list[list[int]] = []
    width = largest_budget = 0
    for row in sorted(rows, key=lambda row: -lengths[row]):
        budget = budgets[row]
        if calls and width + max(largest_budget, budget) <= context:
            calls[-1].append(row)
            largest_budget = max(largest_budget, budget)
        else:
            calls.append([row])
            width, largest_budget = lengths[row], budget
    return calls


def _decode(
    model,
    pad: int,
    prompt_ids: list,
    budgets: list[int],
    sampling: dict,
    rows: list[int],
    *,
    eos_ids: set[int],
    decoding: DecodingTally | None,
    static: "StaticDecoding | None" = None,
    context: int | None = None,
) -> list[list[int]]:
    """The new tokens of `rows` (indices into `prompt_ids` and `budgets`) from one generate call, or more where one
    would run past the model's `context` (`calls_within_context`), each cut to its budget and after its first
    end-of-turn token; `decoding` counts the calls."""
    inputs = [prompt_ids[row] for row in rows]
    lengths = [len(ids) for ids in inputs]
    own_budgets = [
        budgets[row] if context is None else min(budgets[row], context - len(ids)) for row, ids in zip(rows, inputs)
    ]
    kept: list[list[int]] = [[] for _ in rows]
    for call in calls_within_context(lengths, own_budgets, context):
        call = [index for index in call if own_budgets[index] > 0]  # no room left: an empty turn, out of tokens
        if not call:
            continue
        started = time.perf_counter()
        call_inputs = [inputs[index] for index in call]
        generated = _generate(model, pad, call_inputs, max(own_budgets[index] for index in call), sampling, static)
        for ids, index in zip(generated, call):
            ids = ids[: own_budgets[index]]
            end = next((k + 1 for k, token in enumerate(ids) if token in eos_ids), None)
            kept[index] = ids[:end]
        if decoding is not None:  # the call decoded to the largest budget of its rows, or all stopped
            width = max(map(len, generated), default=0)
            # Its input was left-padded to the longest prompt.
            decoding.add(
                [len(kept[index]) for index in call],
                time.perf_counter() - started,
                steps=width,
                context_tokens=padded_tokens(call_inputs),
            )
    return kept


@dataclasses.dataclass(frozen=True)
class StaticDecoding:
    """A compiled decode step's shapes: the static cache's length, and the most rows a call decodes (its rows are
    padded to `padded_rows.rows_bucket(rows, most_rows)`)."""

    max_cache_len: int
    most_rows: int


def _generate(
    model, pad: int, prompt_ids: list[list[int]], max_new_tokens: int, sampling: dict, static: StaticDecoding | None
) -> list[list[int]]:
    """The new token ids of each left-padded prompt (with `static`, from a call padded to its bucket of rows)."""
    import torch

    from open_r1.utils.padded_rows import padded_to_bucket, with_padding_finished

    real, settings = len(prompt_ids), dict(sampling)
    if static is not None:
        prompt_ids = padded_to_bucket(prompt_ids, static.most_rows)
        settings |= {"cache_implementation": "static", "max_cache_len": static.max_cache_len}
        if len(prompt_ids) > real:
            settings["stopping_criteria"] = with_padding_finished(real)
    device = next(model.parameters()).device
    width = max(len(ids) for ids in prompt_ids)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=device)
    attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids], device=device)
    with torch.no_grad():
        output = model.generate(
            input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens, pad_token_id=pad, **settings
        )
    return output[:real, width:].tolist()


def check_chunkable(generation_config) -> None:
    """Refuses, in one line, a model whose generation config sets what a turn decoded in chunks would apply afresh
    at each call (`rollouts_ahead.call_scoped_settings`: a minimum length, a repetition penalty, ...): its rows
    joining would not decode the turns that rounds decode."""
    from .rollouts_ahead import call_scoped_settings

    changed = call_scoped_settings(generation_config)
    if changed:
        raise ValueError(
            f"chunk_tokens: the model's generation config sets {', '.join(changed)}, which each chunk's generate call "
            "would apply afresh; decode in rounds (leave chunk_tokens out)"
        )


class _Rollouts:
    """The rollouts of one `generate_with_tools` call as their turns end: messages, finish reasons, tokens used, tool
    rounds, each rollout's `PythonTool`; shared by both schedules."""

    def __init__(
        self, tokenizer, conversations, tool_settings, stats, max_new_tokens, most_rounds, eos_ids, pool, context=None
    ):
        self.tokenizer, self.conversations, self.max_new_tokens = tokenizer, conversations, max_new_tokens
        self.model_context = context  # the model's, when known: no turn is decoded past it
        self.most_rounds, self.eos_ids, self.pool = most_rounds, eos_ids, pool
        self.messages: list[list[dict]] = [[] for _ in conversations]
        self.reasons = ["stop"] * len(conversations)
        self.tools = [PythonTool(tool_settings, stats) for _ in conversations]
        for tool in self.tools:
            tool.reset()
        self.used = [0] * len(conversations)
        self.rounds = [0] * len(conversations)
        self.finished = 0
        self.contexts = [
            tokenizer.apply_chat_template(
                conversation, tools=[tool.python], add_generation_prompt=True, tokenize=True, return_dict=False
            )
            for conversation, tool in zip(conversations, self.tools)
        ]

    def context(self, i: int) -> list[int]:
        """The ids rollout `i`'s next turn is generated from: its conversation rendered with the assistant header,
        then each turn's generated tokens followed by its tool results and the next header, joined as TRL's GRPO
        rollouts join them (not the turns parsed and rendered again, which would drop the reasoning and the text
        the parser moves out of a turn's content, so a model would be measured on other contexts than it trained
        on)."""
        return self.contexts[i]

    def left(self, i: int) -> int:
        """The tokens rollout `i` may still decode: its budget's rest, and no more than its context leaves of the
        model's (a rollout that runs out of either ends "length")."""
        left = self.max_new_tokens - self.used[i]
        if self.model_context is not None:
            left = min(left, self.model_context - len(self.contexts[i]))
        return max(left, 0)

    def end_turns(self, turns: list[tuple[int, list[int], list[int]]]) -> list[int]:
        """Takes ended turns (rollout, the ids it was generated from, its tokens: up to its end-of-turn token or the
        budget), runs their calls at once across rollouts, and returns the rollouts that go on, in the order given."""
        from trl.chat_template_utils import parse_response

        calling, going_on, generated = [], [], {}
        for i, context, new in turns:
            generated[i] = context + list(new)
            self.used[i] += len(new)
            message = parse_response(self.tokenizer, new, prefix=context, tools=[self.tools[i].python])
            calls = message.get("tool_calls") or []
            self.messages[i].append(message)
            room = self.model_context is None or len(generated[i]) < self.model_context
            if calls and self.rounds[i] < self.most_rounds and self.used[i] < self.max_new_tokens and room:
                self.rounds[i] += 1
                calling.append((i, calls))
                going_on.append(i)
            else:
                self.finished += 1
                if not new or new[-1] not in self.eos_ids:
                    self.reasons[i] = "length"
                elif calls:
                    self.reasons[i] = "tool_rounds" if self.rounds[i] >= self.most_rounds else "length"
        answers = self.pool.map(lambda item: tool_messages(self.tools[item[0]], item[1]), calling)
        for (i, _), messages in zip(calling, answers):
            suffix_ids = tool_suffix_ids(self.tokenizer, messages)
            suffix = len(suffix_ids)
            self.contexts[i] = generated[i] + suffix_ids
            past_context = self.model_context is not None and len(self.contexts[i]) > self.model_context
            if self.used[i] + suffix > self.max_new_tokens or past_context:
                going_on.remove(i)  # TRL drops results that would overrun the budget, and stops
                self.finished += 1
                self.reasons[i] = "length"
                continue
            self.messages[i].extend(messages)
            self.used[i] += suffix
            if self.left(i) == 0:
                going_on.remove(i)
                self.finished += 1
                self.reasons[i] = "length"
        return going_on


def generate_with_tools(
    model,
    tokenizer,
    conversations: list[list[dict]],
    *,
    tool_settings: PythonToolSettings,
    max_new_tokens: int,
    max_tool_calling_iterations: int | None,
    sampling: dict,
    batch_size: int = 16,
    stats: ToolStats | None = None,
    on_batch: Callable[[int, int, int | None], None] | None = None,
    decoding: DecodingTally | None = None,
    compiled: bool = False,
    chunk_tokens: int | None = None,
) -> tuple[list[list[dict]], list[str]]:
    """The completion messages (assistant turns and tool results) of one rollout per conversation, and why each
    ended: "stop" (a turn without calls), "length" (out of tokens, of its budget or of the model's context: mid-turn,
    or before a tool result or the next turn would fit), "tool_rounds" (its last turn called a tool after `max_tool_calling_iterations` rounds; None,
    as in TRL, leaves the rounds to `max_new_tokens`).
    `decoding` counts every generate call that returned: the tokens each row kept of it, its time; and a batch that
    ran out of GPU memory and went again in halves (`open_r1.eval.decoding.BatchesThatFit`). `compiled`: the
    compiled decode step (module docstring), where the model's generation config lets transformers compile.
    `chunk_tokens`: rows joining (module docstring), at most `batch_size` rollouts and this many tokens per call;
    None: rounds, each call's rows `batch_size` at most.
    `on_batch(finished, total, tool_round)` after each generate call's turns are taken: the rollouts ended so far, all
    of them, and with rounds the round the call decoded (from 1; None with rows joining). Every round decodes every
    rollout still going before the next starts, so most rollouts end in the later rounds, and `finished` alone says
    little of how far the work is; with rows joining rollouts end all along."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if max_tool_calling_iterations is not None and max_tool_calling_iterations < 0:
        raise ValueError(f"max_tool_calling_iterations must be >= 0, got {max_tool_calling_iterations}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if chunk_tokens is not None and chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be a positive number of tokens or None, got {chunk_tokens}")
    if chunk_tokens is not None:
        check_chunkable(model.generation_config)
    most_rounds = float("inf") if max_tool_calling_iterations is None else max_tool_calling_iterations
    ensure_tool_parsing(tokenizer)
    tokenizer.padding_side = "left"
    eos_ids = end_of_turn_ids(model, tokenizer)
    with ThreadPoolExecutor(max_workers=max(1, tool_settings.sandbox.num_workers)) as pool:
        from open_r1.utils.model_utils import model_context

        context = model_context(model.config)
        state = _Rollouts(
            tokenizer, conversations, tool_settings, stats, max_new_tokens, most_rounds, eos_ids, pool, context
        )
        static = None
        if compiled and conversations:
            longest = max(len(state.context(i)) for i in range(len(conversations)))
            # Rows joining: a call's longest context is at most a first prompt and the budget, and it decodes a chunk
            # more.
            extra = min(chunk_tokens, max_new_tokens) if chunk_tokens is not None else 0
            static = StaticDecoding(max_cache_len=longest + max_new_tokens + extra, most_rows=batch_size)

        def decode(contexts: list[list[int]], budgets: list[int], rows: list[int]) -> list[list[int]]:
            pad = tokenizer.pad_token_id
            return _decode(
                model,
                pad,
                contexts,
                budgets,
                sampling,
                rows,
                eos_ids=eos_ids,
                decoding=decoding,
                static=static,
                context=context,
            )

        if chunk_tokens is None:
            _rounds(state, decode, BatchesThatFit(decoding), batch_size, on_batch)
        else:
            _rows_joining(state, decode, BatchesThatFit(decoding), batch_size, on_batch, chunk_tokens)
    return state.messages, state.reasons


def _rounds(state: _Rollouts, decode, fit: BatchesThatFit, batch_size: int, on_batch) -> None:
    """Round after round: every rollout still going decodes its next turn, `batch_size` rows per call, each call to
    its rows' largest budget or until every row's turn has ended; then the turns' calls run, and the next round."""
    active, tool_round = list(range(len(state.conversations))), 0
    while active:
        tool_round += 1
        still_active = []
        for start in range(0, len(active), batch_size):
            batch = active[start : start + batch_size]
            contexts = [state.context(i) for i in batch]
            budgets = [state.left(i) for i in batch]
            turns = fit(functools.partial(decode, contexts, budgets), list(range(len(batch))))
            still_active += state.end_turns([(batch[row], contexts[row], new) for row, new in enumerate(turns)])
            if on_batch is not None:
                on_batch(state.finished, len(state.conversations), tool_round)
        active = still_active


def _rows_joining(state: _Rollouts, decode, fit: BatchesThatFit, batch_size: int, on_batch, chunk_tokens: int) -> None:
    """At most `batch_size` rollouts decode at once, at most `chunk_tokens` tokens per call: a turn that has not ended
    goes on at the next call from its context and the tokens decoded so far (read again: generate keeps no cache
    between calls), a rollout whose turn called the tool goes on after its results at the next call, and a rollout
    waiting in line takes the row of one that ended."""
    waiting = list(range(len(state.conversations)))[::-1]
    live: list[tuple[int, list[int], list[int]]] = []  # (rollout, its turn's context, the turn's tokens so far)
    while waiting or live:
        while waiting and len(live) < batch_size:
            i = waiting.pop()
            live.append((i, state.context(i), []))
        inputs = [context + turn for _, context, turn in live]
        budgets = [min(chunk_tokens, state.left(i) - len(turn)) for i, _, turn in live]
        chunks = fit(functools.partial(decode, inputs, budgets), list(range(len(live))))
        decoded = [(i, context, turn + new) for (i, context, turn), new in zip(live, chunks)]
        ended = [
            (i, context, turn)
            for i, context, turn in decoded
            if not turn or turn[-1] in state.eos_ids or len(turn) >= state.left(i)  # its end of turn, or out of tokens
        ]
        calling = set(state.end_turns(ended))
        done = {i for i, _, _ in ended} - calling
        # Each rollout keeps its row: one whose turn called the tool goes on from its next turn's context.
        live = [
            (i, state.context(i), []) if i in calling else (i, context, turn)
            for i, context, turn in decoded
            if i not in done
        ]
        if on_batch is not None:
            on_batch(state.finished, len(state.conversations), None)
