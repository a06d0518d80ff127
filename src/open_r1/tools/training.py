"""What `grpo.py` needs to train with tools: TRL's environment factory and the per-step tool metrics.

TRL 1.16's `GRPOTrainer(environment_factory=...)` builds one environment per rollout, calls its `reset(**row)`
before generation and exposes its public methods as tools; tool-result tokens are masked out of the loss
(`tool_mask`), and reward functions receive the whole rollout (assistant turns, tool calls and tool results) as
the completion's messages. Here the environment is `PythonTool` (its only public methods are `reset` and
`python`), configured from the recipe's `tools` and `python_tool_*` fields.

Logged every logging step, of every process's calls (`logged_tool_metrics`), beside TRL's own
`tools/call_frequency` and `tools/failure_frequency` (which count exceptions only; the python tool never raises):
`tools/python_calls_per_completion`, `tools/python_error_rate` (calls that ended in an error, a timeout or a sandbox
failure, or were refused for the time budget), `tools/python_seconds_per_call` (calls that ran), and each rollout's
time budget: `tools/python_budget_seconds`, `tools/python_budget_used_per_completion` (mean sandbox seconds
charged), `tools/python_budget_used_max`, `tools/python_refused_calls_per_completion` and
`tools/python_budget_exhausted_rate` (rollouts that had a call refused), and
`tools/python_calls_past_budget_per_completion` (calls not run: below).

`ToolRoundBudget` (a mixin of `open_r1.grpo.PromptTruncatingGRPOTrainer`): TRL 1.16 generates every round after a
tool result with `max_new_tokens = max_completion_length` and cuts each row to the budget it had left afterwards.
With transformers generation a round decodes until its longest row stops, so one row that does not stop makes the
round's whole batch decode a full budget again, most of it cut. Here each such round asks for the largest budget
any of its rows has left: the rows keep exactly the tokens TRL keeps, and no token past every row's budget is
decoded. Not for vLLM, which TRL gives its own `max_tokens` and which stops each request by itself.

`ToolCallsAhead` (a mixin of the same trainer): TRL 1.16 makes a round's tool calls one rollout after another, the
GPU idle meanwhile. Here, as soon as a round is generated, every rollout's `python` calls start in a pool of
`code_num_workers` threads (at most this process's share of the cores, `calls_ahead_workers`), one rollout's in the
order written (`PythonTool._speculate`); TRL's own calls then take those results. Each round's calls are read as TRL
reads them (its response parser, each row cut to the budget it had left) and only for the rounds TRL runs calls for
(`max_tool_calling_iterations`); a call TRL then makes differently runs as before, so rollouts, results and budgets
are TRL's. A row whose rollout cannot be told apart from another's that TRL dropped ends the running ahead for the
batch. With transformers, vLLM or continuous batching.

A turn whose calls' results, even empty, would take its rollout past `max_completion_length` (or the model's length)
has them answered "" without running (`PythonTool._skip_calls_past_budget`), here and when rollouts are decoded ahead:
TRL drops such results and ends the rollout, so TRL ran them for nothing (a rollout that calls at the end of its
budget: a few percent of a GSM8K tool run's calls). Such calls are counted apart, not as calls; TRL's
`tools/call_frequency` still counts them. A result's tokens are taken to be at least an empty one's: its text sits
between the chat template's own tokens.

Not covered: tool rollouts outside the trainer, for evaluation and the demo (`open_r1.tools.rollout`).
"""

import copy
import os
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from open_r1.utils.launch import usable_cores

from .chat import check_tool_template, ensure_tool_parsing
from .python_tool import (
    TOOL_MAXIMA,
    PythonTool,
    ToolStats,
    tool_metrics,
)


def python_tool_environment(
    script_args, tokenizer, *, max_tool_calling_iterations: Optional[int]
) -> tuple[Callable[[], PythonTool], ToolStats]:
    """The environment factory for `GRPOTrainer` and the stats its tools record; checks the tokenizer first."""
    # Built on TRL's experimental `environment_factory` by choice (docs/guide.md, the python tool); TRL warns of that
    # on every trainer that takes one.
    warnings.filterwarnings("ignore", message="You are using 'environment_factory', which is an experimental feature")
    check_tool_template(tokenizer)
    ensure_tool_parsing(tokenizer)
    settings = script_args.python_tool_settings(script_args.tool_sandbox, max_tool_calling_iterations)
    settings.get_provider()  # a provider that cannot start fails now, not at the first tool call
    stats = ToolStats()

    def make_environment() -> PythonTool:
        return PythonTool(settings, stats)

    return make_environment, stats


def logged_tool_metrics(stats: ToolStats, accelerator) -> dict[str, float]:
    """The tool figures of every process's calls since the last log, as TRL's own metrics are: each process's
    counts gathered and combined (sums; the largest of the maxima). A collective: every process logs at the same
    steps, as the Trainer does; one process's own figures would differ from another's, and so would the GRPO doctor's
    verdict on them."""
    counts = stats.drain_counts()
    if accelerator.num_processes > 1:
        import torch

        names = list(counts)
        local = torch.tensor([[float(counts[name]) for name in names]], device=accelerator.device, dtype=torch.float64)
        every = accelerator.gather(local)
        counts = {
            name: (every[:, i].max() if name in TOOL_MAXIMA else every[:, i].sum()).item()
            for i, name in enumerate(names)
        }
    return tool_metrics(counts)


def largest_budget_left(rows: list[list[int]], prompts: list[list[int]], max_completion_length: int) -> int:
    """The most completion tokens any of `rows` (a prompt, then its completion so far and tool results) has left
    under `max_completion_length`, at least 1. A row's prompt is the longest of `prompts` it starts with; a row
    that starts with none gets the whole budget, so the answer never cuts what TRL would keep."""
    by_length: dict[int, set[tuple[int, ...]]] = {}
    for prompt in prompts:
        by_length.setdefault(len(prompt), set()).add(tuple(prompt))
    longest_first = sorted(by_length, reverse=True)
    largest = 1
    for row in rows:
        prompt_length = next((n for n in longest_first if tuple(row[:n]) in by_length[n]), None)
        if prompt_length is None:
            return max_completion_length
        largest = max(largest, max_completion_length - (len(row) - prompt_length))
    return min(largest, max_completion_length)


class ToolRoundBudget:
    """Mixin for TRL's `GRPOTrainer`: a generation round after tool results decodes at most the largest budget its
    rows have left (module docstring), with transformers generation, plain or continuous batching."""

    _tool_round_prompts = None  # the batch's prompt ids while TRL's tool loop runs

    def _tool_call_loop(self, prompts, prompt_ids, *args, **kwargs):
        self._tool_round_prompts = prompt_ids
        try:
            return super()._tool_call_loop(prompts, prompt_ids, *args, **kwargs)
        finally:
            self._tool_round_prompts = None

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        if self._tool_round_prompts is None or self.use_vllm:  # the first round, or vLLM
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        full = self.generation_config
        budget = largest_budget_left(prompt_ids, self._tool_round_prompts, self.max_completion_length)
        # A config without max_new_tokens (generation_kwargs giving max_length instead) is left as the user set it.
        if full.max_new_tokens is None or budget >= full.max_new_tokens:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        self.generation_config = copy.deepcopy(full)
        self.generation_config.max_new_tokens = budget
        try:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        finally:
            self.generation_config = full


def python_codes(tool_calls: list) -> list[str]:
    """The code of each `python` call of one assistant turn, as TRL would call the tool, up to the first call that is
    not one (TRL answers that one itself, and a call after it may depend on it)."""
    codes = []
    for call in tool_calls:
        if not isinstance(call, dict) or call.get("type") != "function":
            break
        function = call.get("function")
        if not isinstance(function, dict) or function.get("name") != "python":
            break
        arguments = function.get("arguments")
        if not isinstance(arguments, dict) or set(arguments) != {"code"} or not isinstance(arguments["code"], str):
            break
        codes.append(arguments["code"])
    return codes


def rows_of_round(
    rows: list[list[int]], prompt_ids: list[list[int]], completion_ids: list[list[int]], active: list[int]
) -> Optional[list[Optional[int]]]:
    """The batch index of each row of a round after tool results, each row being a prompt, its completion so far and
    tool results: `active` (the rollouts that called a tool, in batch order) less those TRL dropped. None for a row
    whose rollout cannot be told apart (TRL dropped one of two rollouts alike so far); None in all where a row
    matches no rollout."""

    def starts(row: list[int], index: int) -> bool:
        prompt, completion = prompt_ids[index], completion_ids[index]
        start = len(prompt) + len(completion)
        return len(row) > start and row[: len(prompt)] == prompt and row[len(prompt) : start] == completion

    if len(rows) == len(active):  # none dropped: the rows are the active rollouts, in order
        return list(active) if all(starts(row, index) for row, index in zip(rows, active)) else None
    so_far = Counter(tuple(prompt_ids[index] + completion_ids[index]) for index in active)
    indices, position = [], 0
    for row in rows:
        while position < len(active):
            index = active[position]
            position += 1
            if starts(row, index):
                alike = so_far[tuple(prompt_ids[index] + completion_ids[index])] > 1
                indices.append(None if alike else index)
                break
        else:
            return None
    return indices


def calls_ahead_workers(requested: int) -> int:
    """Threads running a round's calls ahead in one training process: `code_num_workers`, at most this process's
    share of the cores it may use (the launcher's processes on this machine share them), so that a program that
    spins does not slow other rollouts' programs towards their wall limits."""
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(requested, usable_cores() // processes))


class ToolCallsAhead:
    """Mixin for TRL's `GRPOTrainer`: each round's `python` calls run at once across rollouts, ahead of TRL's own
    calls, which take their results (module docstring)."""

    _tool_round = None  # while TRL's tool loop runs: the batch's prompt and completion ids, who called, rounds so far
    _tools_ahead_pool = None

    def train(self, *args, **kwargs):
        try:
            return super().train(*args, **kwargs)
        finally:  # what still runs ahead is no call's any more; its threads would hold the interpreter's exit
            if self._tools_ahead_pool is not None:
                self._tools_ahead_pool.shutdown(wait=False, cancel_futures=True)
                self._tools_ahead_pool = None

    def _tool_call_loop(self, prompts, prompt_ids, completion_ids, completions, *args, **kwargs):
        if not any(isinstance(environment, PythonTool) for environment in self.environments or ()):
            return super()._tool_call_loop(prompts, prompt_ids, completion_ids, completions, *args, **kwargs)
        calls = {index: completion[0].get("tool_calls") for index, completion in enumerate(completions) if completion}
        calls = {index: tool_calls for index, tool_calls in calls.items() if tool_calls}
        if self.max_tool_calling_iterations > 0:
            calls = self._calls_with_room(calls, prompt_ids, [len(ids) for ids in completion_ids])
            self._run_calls_ahead(calls)
        self._tool_round = {
            "prompt_ids": prompt_ids,
            "completion_ids": completion_ids,  # TRL's own list: it writes each round's ids into it
            "active": sorted(calls),
            "rounds": 0,
        }
        try:
            return super()._tool_call_loop(prompts, prompt_ids, completion_ids, completions, *args, **kwargs)
        finally:
            self._tool_round = None

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        generated = super()._generate_single_turn(prompt_ids, *args, **kwargs)
        batch = self._tool_round
        if batch is None:  # the first round: TRL parses it before its tool loop, which runs its calls ahead
            return generated
        batch["rounds"] += 1
        indices = rows_of_round(prompt_ids, batch["prompt_ids"], batch["completion_ids"], batch["active"])
        calls = {}
        if indices is not None and batch["rounds"] < self.max_tool_calling_iterations:
            from trl.chat_template_utils import parse_response

            completion_lengths = {}  # each calling row's completion with this round's turn, as TRL holds it
            for row, index, ids in zip(prompt_ids, indices, generated[0]):
                if index is None:
                    continue
                # TRL cuts what a row generated to the budget it had left before it reads it.
                before = len(row) - len(batch["prompt_ids"][index])
                ids = ids[: max(0, self.max_completion_length - before)]
                if not ids:
                    continue
                tools = self._env_tools[self._batch_environments[index]]
                tool_calls = parse_response(self._tokenizer, ids, prefix=row, tools=tools).get("tool_calls")
                if tool_calls:
                    calls[index] = tool_calls
                    completion_lengths[index] = before + len(ids)
            calls = self._calls_with_room(calls, batch["prompt_ids"], completion_lengths)
        # After a row that could not be told apart, the next rounds' rows cannot be either: nothing more runs ahead.
        batch["active"] = [] if indices is None or None in indices else sorted(calls)
        self._run_calls_ahead(calls)
        return generated

    def _calls_with_room(self, calls: dict[int, list], prompt_ids, completion_lengths) -> dict[int, list]:
        """`calls` (by row) less those of rows with no room for their results: there the `PythonTool` answers TRL's
        calls "" without running them (TRL drops results that take a rollout past its budget, and ends it)."""
        environments = self.environments or []
        with_room = {}
        for index, tool_calls in calls.items():
            environment = environments[index] if index < len(environments) else None
            if isinstance(environment, PythonTool) and self._no_room_for_results(
                len(prompt_ids[index]), completion_lengths[index], len(tool_calls)
            ):
                environment._skip_calls_past_budget()  # this round's: TRL makes them next
            else:
                with_room[index] = tool_calls
        return with_room

    def _no_room_for_results(self, prompt_length: int, completion_length: int, calls: int) -> bool:
        """Whether `calls` results, each empty, take a rollout past TRL's limits: its completion budget or the
        model's length (TRL 1.16's `_tool_call_loop`). A result's tokens are at least an empty one's (its text sits
        between the template's own tokens)."""
        suffixes = self.__dict__.setdefault("_empty_results_suffix", {})
        if calls not in suffixes:
            empty = [{"role": "tool", "name": "python", "content": ""}] * calls
            suffixes[calls] = len(self._get_tool_suffix_ids(empty))
        length = completion_length + suffixes[calls]
        return length > self.max_completion_length or prompt_length + length >= self._max_model_length()

    def _max_model_length(self) -> int:
        """The longest sequence TRL lets a tool result make (vLLM's in colocate mode, else the model's); rollouts
        decoded ahead read it too."""
        if self.use_vllm and self.vllm_mode == "colocate":
            return self.vllm_generation.llm.llm_engine.model_config.max_model_len
        return (self.model.config.text_config if self._is_vlm else self.model.config).max_position_embeddings

    def _run_calls_ahead(self, calls: dict[int, list]) -> None:
        environments = self.environments or []
        for index, tool_calls in calls.items():
            environment = environments[index] if index < len(environments) else None
            codes = python_codes(tool_calls) if isinstance(environment, PythonTool) else []
            if codes:
                environment._speculate(codes, self._calls_ahead_pool(environment))

    def _calls_ahead_pool(self, environment: PythonTool) -> ThreadPoolExecutor:
        """The threads that run calls ahead, started at the first call; shut down when training ends."""
        if self._tools_ahead_pool is None:
            workers = calls_ahead_workers(environment.settings.sandbox.num_workers)
            self._tools_ahead_pool = ThreadPoolExecutor(workers, thread_name_prefix="python-tool")
        return self._tools_ahead_pool
