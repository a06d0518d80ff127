"""The tool fields, one home for the three places that take them: a GRPO recipe (`GRPOScriptArguments`), the
evaluator's command line (`EvaluateArguments`) and `scripts/generate_reasoning.py`'s flags.

    class GRPOScriptArguments(ScriptArguments, ToolArguments): ...
    settings = args.python_tool_settings(sandbox, max_tool_calling_iterations)   # a PythonToolSettings

`python_tool_settings` builds the tool's settings from the fields, the time budget of a rollout following
`max_tool_calling_iterations` when `python_tool_rollout_seconds` is unset; `PythonToolSettings` checks the values.
`ToolArguments` adds `tools`, the list that turns them on.
Not covered: where the tool runs beyond the provider's name (workers, routers): the caller's `sandbox`.
"""

from dataclasses import dataclass, field
from typing import Optional

from open_r1.sandbox import SandboxConfig
from open_r1.sandbox.config import DEFAULT_PROVIDER

from . import TOOLS
from .python_tool import (
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_MAX_TOOL_CALLING_ITERATIONS,
    DEFAULT_MEMORY_MB,
    DEFAULT_WALL_SECONDS,
    TOOL_PROVIDERS,
    PythonToolSettings,
    default_rollout_seconds,
)


@dataclass(kw_only=True)  # keyword-only: the classes that mix it in may have required fields of their own
class PythonToolArguments:
    """The `python_tool_*` fields, read only with `tools: [python]` (`--tools python`)."""

    python_tool_provider: str = field(
        default=DEFAULT_PROVIDER,
        metadata={"help": f"Python tool: where it runs code, one of {', '.join(TOOL_PROVIDERS)}."},
    )
    python_tool_wall_seconds: float = field(
        default=DEFAULT_WALL_SECONDS,
        metadata={"help": "Python tool: wall-time limit per call (covers the replay of earlier cells), seconds."},
    )
    python_tool_rollout_seconds: Optional[float] = field(
        default=None,
        metadata={
            "help": "Python tool: sandbox seconds all calls of one rollout may use together (one assistant turn may "
            "hold many calls). Each call is charged its run time, at most python_tool_wall_seconds; a call starts "
            "only while its whole wall limit fits in what is left, later calls get an error message without "
            "running. Unset: max_tool_calling_iterations x python_tool_wall_seconds (with max_tool_calling_iterations "
            f"unset: {DEFAULT_MAX_TOOL_CALLING_ITERATIONS} x). 0: no call runs."
        },
    )
    python_tool_memory_mb: int = field(
        default=DEFAULT_MEMORY_MB, metadata={"help": "Python tool: memory limit per call, MiB."}
    )
    python_tool_max_output_chars: int = field(
        default=DEFAULT_MAX_OUTPUT_CHARS,
        metadata={"help": "Python tool: characters of output shown to the model; the rest is cut with a marker."},
    )

    def python_tool_settings(
        self, sandbox: SandboxConfig, max_tool_calling_iterations: Optional[int]
    ) -> PythonToolSettings:
        """The tool's settings on `sandbox`; an unset time budget is a full wall limit per round of calls."""
        rollout_seconds = self.python_tool_rollout_seconds
        if rollout_seconds is None:
            rollout_seconds = default_rollout_seconds(self.python_tool_wall_seconds, max_tool_calling_iterations)
        return PythonToolSettings(
            sandbox=sandbox,
            wall_seconds=self.python_tool_wall_seconds,
            memory_mb=self.python_tool_memory_mb,
            max_output_chars=self.python_tool_max_output_chars,
            rollout_seconds=rollout_seconds,
        )


@dataclass(kw_only=True)
class ToolArguments(PythonToolArguments):
    """`tools` and the python tool's fields (read only when `tools` names python)."""

    tools: list[str] = field(
        default_factory=list,
        metadata={
            "help": f"Tools the model may call while it generates (some of: {', '.join(TOOLS)}; see open_r1.tools): GRPO trains "
            "the policy with them, and the evaluator measures a model trained with a tool with it. Their rounds per "
            "completion: max_tool_calling_iterations; their total time: python_tool_rollout_seconds."
        },
    )
