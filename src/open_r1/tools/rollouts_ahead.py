"""GRPO's tool rollouts decoded ahead of TRL's rounds, a chunk of tokens at a time (`tool_rollout_chunk_tokens`).

TRL 1.16 generates a batch's tool rollouts in rounds: it decodes every row's turn, runs the turns' tool calls,
then decodes every calling row's next turn, and so on. With transformers generation each round decodes until its
longest row stops, so a row that wrote its call in 30 tokens waits for another that writes 400 before it reads its
tool result; a batch's decode steps are the sum of its rounds' longest turns. `ToolRolloutsAhead` (a mixin of
`open_r1.grpo.PromptTruncatingGRPOTrainer`) decodes instead, at the batch's first round, every rollout to its end
(`decode_ahead`): each generate call decodes at most `tool_rollout_chunk_tokens` tokens; a row whose turn has not
ended goes on from where it stopped at the next call, and a row whose turn ended with `python` calls has them run in
its `PythonTool` (in the pool of `ToolCallsAhead`, while the other rows decode) and goes on after their results at
the first call once they are back (each call first waits for running tool calls up to half the last call's time).
A batch then costs about its longest rollout's tokens in decode steps, plus up to a chunk per turn, and a re-read of
each row's context per call (what that saves, replayed and measured: docs/benchmarks.md). In a GRPO recipe with
`tools: [python]`: `tool_rollout_chunk_tokens: 32`.

TRL's loop then runs as before, and each of its rounds takes every row's next turn from those decoded ahead
(`TurnsAhead`), by the exact token ids TRL would generate it from; TRL makes its own tool calls, which take the runs
ahead (`PythonTool._speculate(..., after_runs_ahead=True)`), so rollouts, tool results, masks and budgets are TRL's.
A row whose turn has a call that is not a `python` call with its code, or whose run failed outside the sandbox, is
followed no further: TRL's rounds generate its next turns as before. A turn continued at a later call is drawn from
the same distribution as one decoded at once (the same sampler reads the same ids); with greedy decoding it is the
same turn, up to the numerics of other padding (tested in float32). Generation settings that a chunk would apply
afresh (`min_new_tokens`, a penalty or forced token counted from the call's start, stop strings, a turn budget other
than `max_completion_length`, ...) are refused when the trainer starts. The step profile counts each call as a decoding round (`open_r1.utils.step_profile`).

Not covered: vLLM, which schedules requests by itself (refused at parse time); parameters sharded across processes
(DeepSpeed ZeRO-3, FSDP), whose generate calls are collective while each process's rollouts need their own number
of calls (refused when the trainer starts); images in prompts or tool results.
"""

import copy
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Optional

from .python_tool import PythonTool
from .training import python_codes

# Before a generate call, the tool calls still running are waited for up to this share of the last call's time: a row
# whose calls end just after the call starts would sit out the whole chunk, while a sandboxed call takes ~10 ms.
CALL_WAIT_SHARE = 0.5


class TurnsAhead:
    """The turns decoded ahead of TRL: the first turn of each row, and each later one by the ids it was decoded from
    (prompt, completion so far, tool results and the next turn's header)."""

    def __init__(self, first: list[list[int]]):
        self.first = first
        self._later: dict[tuple[int, ...], list[tuple[int, list[int]]]] = defaultdict(list)

    def add(self, context: list[int], turn: list[int], row: int) -> None:
        self._later[tuple(context)].append((row, turn))

    def take(self, context: list[int]) -> Optional[list[int]]:
        """A turn decoded from `context`, once; None if none was (or each was taken). Rows of the same context are
        served in batch order, as TRL asks for them, so that each gets its own turn and its own calls run ahead."""
        turns = self._later.get(tuple(context))
        if not turns:
            return None
        lowest = min(range(len(turns)), key=lambda index: turns[index][0])
        return turns.pop(lowest)[1]


@dataclass
class _Rollout:
    row: int
    prompt: list[int]
    completion: list[int] = field(default_factory=list)  # TRL's completion ids before this turn (tool results too)
    turn: list[int] = field(default_factory=list)  # this turn's tokens decoded so far
    rounds: int = 0  # tool rounds run so far
    calls: int = 0  # tool calls run so far

    @property
    def context(self) -> list[int]:
        return self.prompt + self.completion


def decode_ahead(
    prompt_ids: list[list[int]],
    *,
    generate: Callable[[list[list[int]], int], list[list[int]]],
    chunk_tokens: int,
    max_completion_length: int,
    max_model_len: int,
    end_ids: set[int],
    max_rounds: int,
    turn_calls: Callable[[int, list[int], list[int]], Optional[list[str]]],
    run_calls: Callable[[int, list[str]], list[Future]],
    call_answers: Callable[[int, list[Future]], Optional[list[str]]],
    tool_suffix: Callable[[list[str]], list[int]],
    no_room: Callable[[int, int, int], bool] = lambda prompt_length, completion_length, calls: False,
    skip_calls: Callable[[int, int], None] = lambda row, first_call: None,
) -> TurnsAhead:
    """Every row's rollout, decoded to its end as TRL 1.16's tool loop would (module docstring).

    `generate(ids, n)`: each row's new tokens, at most n, cut after its first end-of-turn token (TRL's
    `_generate_single_turn`). `turn_calls(row, context, turn)`: the code of each `python` call of a turn, [] for a
    turn without calls, None for one the run ahead cannot follow. `run_calls(row, codes)` starts them (futures);
    `call_answers(row, futures)` is what the tool will answer each, once they ended (None: cannot follow).
    `tool_suffix(answers)`: the ids TRL appends after the turn (tool results, the next turn's header).
    `no_room(prompt length, completion length, calls)`: whether the calls' results, even empty, take the rollout past
    TRL's limits; then `skip_calls(row, first_call)` (the rollout's calls before: TRL makes them later) instead of
    running them, and the rollout ends (TRL drops them)."""
    rollouts = [_Rollout(row, list(ids)) for row, ids in enumerate(prompt_ids)]
    first: list[Optional[list[int]]] = [None] * len(rollouts)
    turns = TurnsAhead(first)  # type: ignore[arg-type]
    decoding = list(rollouts)
    calling: dict[int, tuple[_Rollout, list[Future]]] = {}

    def budget_left(rollout: _Rollout) -> int:
        return max_completion_length - len(rollout.completion) - len(rollout.turn)

    def end_turn(rollout: _Rollout) -> None:
        if rollout.rounds == 0:
            first[rollout.row] = rollout.turn
        else:
            turns.add(rollout.context, rollout.turn, rollout.row)
        if rollout.turn and rollout.rounds < max_rounds:  # TRL runs no call after its last round
            codes = turn_calls(rollout.row, rollout.context, rollout.turn)
            if codes and no_room(len(rollout.prompt), len(rollout.completion) + len(rollout.turn), len(codes)):
                skip_calls(rollout.row, rollout.calls)
            elif codes:
                calling[rollout.row] = (rollout, run_calls(rollout.row, codes))
                rollout.calls += len(codes)

    def resume(rollout: _Rollout, futures: list[Future]) -> None:
        answers = call_answers(rollout.row, futures)
        if answers is None:
            return
        rollout.completion = rollout.completion + rollout.turn + tool_suffix(answers)
        rollout.turn = []
        rollout.rounds += 1
        # TRL drops results that take a rollout past its budget or the model's length, and the rollout ends there.
        if len(rollout.completion) > max_completion_length or len(rollout.context) >= max_model_len:
            return
        if budget_left(rollout) == 0:  # TRL still asks for the turn, and keeps none of it
            turns.add(rollout.context, [], rollout.row)
            return
        decoding.append(rollout)

    last_call_seconds = 0.0
    while decoding or calling:
        pending = [futures[-1] for _, futures in calling.values()]  # a chain's last call ends last
        if not decoding:
            wait(pending, return_when=FIRST_COMPLETED)
        elif pending:  # a row that misses the next call waits a whole chunk; a call takes milliseconds
            wait(pending, timeout=last_call_seconds * CALL_WAIT_SHARE)
        for row in [row for row, (_, futures) in calling.items() if all(future.done() for future in futures)]:
            resume(*calling.pop(row))
        if not decoding:
            continue
        width = min(chunk_tokens, max(budget_left(rollout) for rollout in decoding))
        started = time.perf_counter()
        generated = generate([rollout.context + rollout.turn for rollout in decoding], width)
        last_call_seconds = time.perf_counter() - started
        still = []
        for rollout, new in zip(decoding, generated, strict=True):
            new = list(new[: budget_left(rollout)])
            rollout.turn = rollout.turn + new
            stopped = (new and new[-1] in end_ids) or len(new) < width or budget_left(rollout) == 0
            if stopped:
                end_turn(rollout)
            else:
                still.append(rollout)
        decoding = still
    return turns


# Generation settings a generate call applies from its own start, whose effect on a turn decoded over several calls
# differs from one call's; with their neutral values.
CALL_SCOPED_SETTINGS = (
    ("min_new_tokens", None),
    ("min_length", 0),
    ("forced_eos_token_id", None),
    ("exponential_decay_length_penalty", None),
    ("begin_suppress_tokens", None),
    ("stop_strings", None),
    ("repetition_penalty", 1.0),  # counts the left padding, which differs from call to call
    ("no_repeat_ngram_size", 0),
)


def call_scoped_settings(generation_config) -> list[str]:
    """The settings of `CALL_SCOPED_SETTINGS` that `generation_config` sets away from neutral, as `name=value`: each
    generate call applies them afresh, so a turn decoded in chunks would not be the turn decoded in one call."""
    return [
        f"{name}={getattr(generation_config, name, neutral)!r}"
        for name, neutral in CALL_SCOPED_SETTINGS
        if getattr(generation_config, name, neutral) not in (neutral, None)
    ]


def chunked_differently(generation_config, max_completion_length: int, end_ids) -> list[str]:
    """The settings of `generation_config` under which a turn decoded in chunks would not be the turn TRL decodes in
    one call: `call_scoped_settings`, a turn budget other than the completion's, end tokens other than TRL's."""
    changed = call_scoped_settings(generation_config)
    if generation_config.max_new_tokens != max_completion_length:
        changed.append(f"max_new_tokens={generation_config.max_new_tokens!r}")
    eos = generation_config.eos_token_id
    eos = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
    if eos and eos != set(end_ids):
        changed.append(f"eos_token_id={generation_config.eos_token_id!r}")
    return changed


def follows_rollouts(trainer) -> bool:
    """Whether this batch's rollouts can be decoded ahead: the python tool in every environment, no vLLM (the turn
    budget and the other generation settings were checked when the trainer started)."""
    environments = trainer.environments or ()
    return (
        trainer.args.tool_rollout_chunk_tokens is not None
        and not trainer.use_vllm
        and bool(environments)
        and all(isinstance(environment, PythonTool) for environment in environments)
    )


class ToolRolloutsAhead:
    """Mixin for TRL's `GRPOTrainer` (above `ToolCallsAhead` and `ToolRoundBudget`): under `tool_rollout_chunk_tokens`,
    the batch's tool rollouts are decoded ahead at its first round and TRL's later rounds read them (module
    docstring)."""

    _turns_ahead: Optional[TurnsAhead] = None  # while one batch's generation runs: its turns decoded ahead

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.tool_rollout_chunk_tokens is None:
            return
        zero3 = self.is_deepspeed_enabled and self.accelerator.state.deepspeed_plugin.zero_stage == 3
        if zero3 or self.is_fsdp_enabled:
            raise ValueError(
                "tool_rollout_chunk_tokens cannot run with parameters sharded across processes (DeepSpeed ZeRO-3, "
                "FSDP): each process would need its own number of generate calls. Unset it, or launch with "
                "zero2.yaml or ddp.yaml."
            )
        changed = chunked_differently(self.generation_config, self.max_completion_length, self.eos_token_ids)
        if changed:
            raise ValueError(
                f"tool_rollout_chunk_tokens cannot decode in chunks with generation settings {changed} "
                "(generation_kwargs): each chunk would apply them afresh. Unset them or tool_rollout_chunk_tokens."
            )

    def _generate(self, prompts):
        try:
            return super()._generate(prompts)
        finally:  # a batch's turns are no other batch's, whether its generation ended or failed
            self._turns_ahead = None

    def _run_calls_ahead(self, calls):
        if self._turns_ahead is None:  # the rollouts decoded ahead have run their calls already
            super()._run_calls_ahead(calls)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        if self._turns_ahead is not None:  # a later round of TRL's tool loop
            return self._turns_from_ahead(prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
        if images is not None or multimodal_fields or not follows_rollouts(self):
            return super()._generate_single_turn(
                prompt_ids, images, multimodal_fields, num_generations, has_tool_images
            )
        self._turns_ahead = self._decode_rollouts_ahead(prompt_ids)
        return self._turns_ahead.first, None

    def _turns_from_ahead(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images):
        turns = [self._turns_ahead.take(ids) for ids in prompt_ids]
        missing = [index for index, turn in enumerate(turns) if turn is None]
        if missing:  # rows the run ahead did not follow: generated as TRL would
            generated, _ = super()._generate_single_turn(
                [prompt_ids[index] for index in missing], images, multimodal_fields, num_generations, has_tool_images
            )
            for index, turn in zip(missing, generated):
                turns[index] = turn
        return turns, None

    def _decode_rollouts_ahead(self, prompt_ids) -> TurnsAhead:
        from trl.chat_template_utils import parse_response

        environments = self.environments

        def generate(ids: list[list[int]], max_new_tokens: int) -> list[list[int]]:
            full = self.generation_config
            self.generation_config = copy.deepcopy(full)
            self.generation_config.max_new_tokens = max_new_tokens
            try:
                generated, _ = super(ToolRolloutsAhead, self)._generate_single_turn(ids, None, {}, 1)
            finally:
                self.generation_config = full
            return generated

        def turn_calls(row: int, context: list[int], turn: list[int]) -> Optional[list[str]]:
            tools = self._env_tools[self._batch_environments[row]]
            calls = parse_response(self._tokenizer, turn, prefix=context, tools=tools).get("tool_calls")
            if not calls:
                return []
            codes = python_codes(calls)
            return codes if len(codes) == len(calls) else None

        def run_calls(row: int, codes: list[str]) -> list[Future]:
            pool = self._calls_ahead_pool(environments[row])
            return environments[row]._speculate(codes, pool, after_runs_ahead=True)

        def call_answers(row: int, futures: list[Future]) -> Optional[list[str]]:
            answers = [environments[row]._answer_ahead(future) for future in futures]
            return None if None in answers else answers

        def tool_suffix(answers: list[str]) -> list[int]:
            return self._get_tool_suffix_ids([{"role": "tool", "name": "python", "content": text} for text in answers])

        for environment in environments:  # what ran ahead for an earlier batch is no call of this one
            environment._drop_runs_ahead()
        return decode_ahead(
            prompt_ids,
            generate=generate,
            chunk_tokens=self.args.tool_rollout_chunk_tokens,
            max_completion_length=self.max_completion_length,
            max_model_len=self._max_model_length(),
            end_ids=set(self.eos_token_ids),
            max_rounds=self.max_tool_calling_iterations,
            turn_calls=turn_calls,
            run_calls=run_calls,
            call_answers=call_answers,
            tool_suffix=tool_suffix,
            no_room=self._no_room_for_results,
            skip_calls=lambda row, first_call: environments[row]._skip_calls_past_budget(first_call),
        )
