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
`tools/python_budget_exhausted_rate` (rollouts that had a call refused).

`ToolRoundBudget` (a mixin of `open_r1.grpo.PromptTruncatingGRPOTrainer`): TRL 1.16 generates every round after a
tool result with `max_new_tokens = max_completion_length` and cuts each row to the budget it had left afterwards.
With transformers generation a round decodes until its longest row stops, so one row that does not stop makes the
round's whole batch decode a full budget again, most of it cut. Here each such round asks for the largest budget
any of its rows has left: the rows keep exactly the tokens TRL keeps, and no token past every row's budget is
decoded. Not for vLLM, which TRL gives its own `max_tokens` and which stops each request by itself.
"""

import copy
import warnings
from collections.abc import Callable
from typing import Optional

from .chat import check_tool_template, ensure_tool_parsing
from .python_tool import (
    TOOL_MAXIMA,
    PythonTool,
    PythonToolSettings,
    ToolStats,
    default_rollout_seconds,
    tool_metrics,
)


def tool_settings_from_args(script_args, max_tool_calling_iterations: Optional[int]) -> PythonToolSettings:
    """The recipe's `python_tool_*` fields; an unset time budget follows TRL's `max_tool_calling_iterations`."""
    rollout_seconds = script_args.python_tool_rollout_seconds
    if rollout_seconds is None:
        rollout_seconds = default_rollout_seconds(script_args.python_tool_wall_seconds, max_tool_calling_iterations)
    return PythonToolSettings(
        sandbox=script_args.tool_sandbox,
        wall_seconds=script_args.python_tool_wall_seconds,
        memory_mb=script_args.python_tool_memory_mb,
        max_output_chars=script_args.python_tool_max_output_chars,
        rollout_seconds=rollout_seconds,
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
    settings = tool_settings_from_args(script_args, max_tool_calling_iterations)
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
