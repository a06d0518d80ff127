"""What `grpo.py` needs to train with tools: TRL's environment factory and the per-step tool metrics.

TRL 1.16's `GRPOTrainer(environment_factory=...)` builds one environment per rollout, calls its `reset(**row)`
before generation and exposes its public methods as tools; tool-result tokens are masked out of the loss
(`tool_mask`), and reward functions receive the whole rollout (assistant turns, tool calls and tool results) as
the completion's messages. Here the environment is `PythonTool` (its only public methods are `reset` and
`python`), configured from the recipe's `tools` and `python_tool_*` fields.

Logged every logging step, beside TRL's own `tools/call_frequency` and `tools/failure_frequency` (which count
exceptions only; the python tool never raises): `tools/python_calls_per_completion`, `tools/python_error_rate`
(calls that ended in an error, a timeout or a sandbox failure, or were refused for the time budget),
`tools/python_seconds_per_call` (calls that ran), and each rollout's time budget: `tools/python_budget_seconds`,
`tools/python_budget_used_per_completion` (mean sandbox seconds charged), `tools/python_budget_used_max`,
`tools/python_refused_calls_per_completion` and `tools/python_budget_exhausted_rate` (rollouts that had a call
refused).
"""

import warnings
from collections.abc import Callable
from typing import Optional

from .chat import check_tool_template, ensure_tool_parsing
from .python_tool import PythonTool, PythonToolSettings, ToolStats, default_rollout_seconds


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
