"""Tools the policy calls while it reasons (tool-integrated reasoning), for GRPO, evaluation and generation.

- `python_tool.PythonTool`: the `python` tool, run in the project's sandbox (local by default, E2B or Morph),
  one instance per rollout; `PythonToolSettings` holds its provider, per-call limits and per-rollout time budget.
- `rollout`: multi-turn generation with tools outside the trainer (evaluation, the demo), parsing tool calls
  with the same response templates TRL uses.
- `training`: what `grpo.py` needs: the environment factory for `GRPOTrainer` and the per-step tool metrics.
- `arguments`: `tools` and the `python_tool_*` fields a recipe, the evaluator and generate_reasoning.py take
  (`ToolArguments`, `PythonToolArguments`).

Tool names a recipe may list in `tools`: see `TOOLS`.
Not covered: tools other than `python` (TRL takes any callable; a recipe names only these), rewards for tool use
(the rewards read the assistant's text and what its calls carry, `open_r1.rewards._completions`).
"""

from .python_tool import PythonTool, PythonToolSettings, ToolStats

TOOLS = ("python",)


def check_tool_names(names, option: str = "tools") -> None:
    """A UsageError naming `option` for a tool name not in TOOLS, with the close one."""
    from open_r1.usage import UsageError, did_you_mean

    unknown = [name for name in names if name not in TOOLS]
    if unknown:
        raise UsageError(
            f"{option}: unknown tool(s) {unknown}; expected some of {TOOLS}" + did_you_mean(unknown[0], TOOLS)
        )


__all__ = ["TOOLS", "PythonTool", "PythonToolSettings", "ToolStats", "check_tool_names"]
