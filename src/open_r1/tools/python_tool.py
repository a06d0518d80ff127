"""The `python` tool: the policy runs Python in the project's sandbox while it reasons, and reads the output.

    from open_r1.tools import PythonTool, PythonToolSettings
    tool = PythonTool(PythonToolSettings(SandboxConfig("local"), wall_seconds=5))
    tool.reset()
    tool.python("x = 6 * 7\\nprint(x)")        # -> "42\\n"
    tool.python("print(x + 1)")                # -> "43\\n" (earlier cells are replayed, see below)

One `PythonTool` serves one rollout. With TRL 1.16's `GRPOTrainer(environment_factory=...)` the trainer makes
one instance per rollout, calls `reset(**row)` before generation and exposes the public method `python(code)`
as a tool whose JSON schema comes from its signature and docstring; evaluation uses the same class through
`open_r1.tools.rollout`, and `scripts/generate_reasoning.py --tools python` one instance per generated sample.

State between calls (decided and measured, see docs/benchmarks.md): *stateless replay*. The sandbox gives every
program a fresh memory image, so a call runs a program that first replays the rollout's earlier successful
cells with their output discarded, then the new cell with its output captured. Variables and functions carry
over; nothing else does (files in /tmp, processes, random state). A cell that failed (error, timeout, killed)
is not replayed. Nothing leaks between rollouts: `reset` forgets the cells, and no program sees another's
memory. Replay costs time quadratic in the number of calls of one rollout, which `max_tool_calling_iterations`
bounds; each call's wall limit covers its replay too.

What comes back to the model is text, never an exception: stdout, then stderr (a traceback's last lines), or
an error line for a timeout, memory exhaustion, too much output or a sandbox failure; all of it cut to
`max_output_chars` with a marker saying how much was cut. Limits per call: `wall_seconds`, `memory_mb`,
`max_output_chars` (plus the sandbox's own process, file and output caps).

Not covered: languages other than Python; persistent sessions (a live interpreter per rollout); a program's
wall time on cloud providers is theirs, the local sandbox enforces all limits (see `open_r1.sandbox.local`).
"""

import logging
import math
import threading
import time
from dataclasses import dataclass, replace

from open_r1.sandbox import Limits, SandboxConfig, get_provider

logger = logging.getLogger(__name__)

TOOL_PROVIDERS = ("local", "e2b", "morph")
DEFAULT_WALL_SECONDS = 5.0
DEFAULT_MEMORY_MB = 512
DEFAULT_MAX_OUTPUT_CHARS = 1000
# The sandbox stops collecting stdout here; what the model sees is cut much shorter by `max_output_chars`.
COLLECTED_OUTPUT_MB = 1

# Replays earlier cells silently (Python-level and descriptor-level output both go to /dev/null), then runs the
# new cell. Cells are data (a repr'd list), never spliced into code, so a cell cannot break out of its string.
_REPLAY_PROGRAM = """\
import os as _os, sys as _sys
_cells = {cells!r}
_namespace = {{"__name__": "__main__", "__builtins__": __builtins__}}
if len(_cells) > 1:
    _sys.stdout.flush(); _sys.stderr.flush()
    _saved = (_os.dup(1), _os.dup(2))
    _null = _os.open(_os.devnull, _os.O_WRONLY)
    _os.dup2(_null, 1); _os.dup2(_null, 2)
    try:
        for _cell in _cells[:-1]:
            exec(compile(_cell, "<earlier cell>", "exec"), _namespace)
    finally:
        _sys.stdout.flush(); _sys.stderr.flush()
        _os.dup2(_saved[0], 1); _os.dup2(_saved[1], 2)
        _os.close(_null); _os.close(_saved[0]); _os.close(_saved[1])
try:
    exec(compile(_cells[-1], "<cell>", "exec"), _namespace)
except SystemExit:
    raise
except BaseException as _error:  # the cell's frames only: the replay wrapper is not the model's business
    import traceback as _traceback
    _traceback.print_exception(type(_error), _error, _error.__traceback__.tb_next)
    _sys.exit(1)
"""


def check_tool_provider(provider: str) -> str:
    if provider not in TOOL_PROVIDERS:
        raise ValueError(f"python tool provider must be one of {TOOL_PROVIDERS}, got {provider!r}")
    return provider


def tool_sandbox(provider: str) -> SandboxConfig:
    """The python tool's sandbox on `provider` with the default settings (a tool provider is checked first)."""
    return SandboxConfig(check_tool_provider(provider))


@dataclass(frozen=True)
class PythonToolSettings:
    """Where (`sandbox`: provider, workers, router) and under which limits the tool runs (the recipe's
    `python_tool_*` fields; `GRPOScriptArguments.tool_sandbox`). The limits below replace the sandbox's own."""

    sandbox: SandboxConfig = SandboxConfig()
    wall_seconds: float = DEFAULT_WALL_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS

    def __post_init__(self):
        check_tool_provider(self.sandbox.provider)
        if not self.wall_seconds > 0:
            raise ValueError(f"python tool wall_seconds must be > 0, got {self.wall_seconds!r}")
        if self.memory_mb < 64:
            raise ValueError(f"python tool memory_mb must be >= 64 (an interpreter needs it), got {self.memory_mb!r}")
        if self.max_output_chars < 50:
            raise ValueError(f"python tool max_output_chars must be >= 50, got {self.max_output_chars!r}")

    @property
    def limits(self) -> Limits:
        return Limits(
            wall_seconds=self.wall_seconds,
            cpu_seconds=max(1, math.ceil(self.wall_seconds)),
            memory_mb=self.memory_mb,
            output_mb=COLLECTED_OUTPUT_MB,
        )

    def get_provider(self):
        return get_provider(replace(self.sandbox, limits=self.limits))


class ToolStats:
    """Counts every call of every rollout in this process, for the trainer's per-step logs (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.rollouts = self.calls = self.errors = 0
        self.seconds = 0.0

    def record_rollout(self) -> None:
        with self._lock:
            self.rollouts += 1

    def record_call(self, seconds: float, failed: bool) -> None:
        with self._lock:
            self.calls += 1
            self.errors += int(failed)
            self.seconds += seconds

    def drain(self) -> dict[str, float]:
        """The figures since the last drain, and a fresh start: calls per rollout, error rate, seconds per call."""
        with self._lock:
            rollouts, calls, errors, seconds = self.rollouts, self.calls, self.errors, self.seconds
            self.rollouts = self.calls = self.errors = 0
            self.seconds = 0.0
        if rollouts == 0 and calls == 0:
            return {}
        return {
            "tools/python_calls_per_completion": calls / max(rollouts, 1),
            "tools/python_error_rate": errors / calls if calls else 0.0,
            "tools/python_seconds_per_call": seconds / calls if calls else 0.0,
        }


def truncate(text: str, limit: int, keep_end: bool = False) -> str:
    """`text` cut to `limit` characters with a marker that says how much was cut (the marker fits the limit).

    The start is kept (program output), or the end with `keep_end` (a traceback's last line names the error)."""
    if len(text) <= limit:
        return text
    # The marker's own length changes the count by at most a digit or two; recompute once with the real cut.
    keep = max(0, limit - len(f"[... {len(text) - limit} more characters cut ...]\n"))
    marker = f"[... {len(text) - keep} characters cut ...]"
    return marker + "\n" + text[len(text) - keep :] if keep_end else text[:keep] + "\n" + marker


def describe(raw: dict, settings: PythonToolSettings) -> tuple[str, bool]:
    """What the model reads for one raw run (cut to `max_output_chars`, the error line always kept), and whether
    the call failed."""
    stdout = raw.get("stdout") or ""
    stderr = raw.get("stderr") or ""
    error = ""
    if raw.get("sandbox_error"):
        stdout, error = "", f"Error: the interpreter failed ({raw['sandbox_error']}); the code did not run."
    elif raw.get("output_exceeded") or raw.get("signal") == 25:
        error = "Error: output limit exceeded; the program was stopped."
    elif raw.get("timed_out") or raw.get("signal") == 24:  # the wall limit, or SIGXCPU at the CPU limit
        error = f"Error: time limit of {settings.wall_seconds:g} s exceeded; the program was stopped."
    elif raw.get("signal"):
        error = f"Error: the program was killed (signal {raw['signal']})."
    elif raw.get("exit_code") != 0:
        error = "\n".join(stderr.strip().splitlines()[-6:]) or f"Error: exit status {raw.get('exit_code')}"
    elif stderr.strip():
        stdout += stderr  # warnings of a successful run
    if not error:
        return truncate(stdout or "(no output)", settings.max_output_chars), False
    error = truncate(error, settings.max_output_chars // 2, keep_end=True)
    room = settings.max_output_chars - len(error) - 1
    return (truncate(stdout, room) + "\n" if stdout else "") + error, True


class PythonTool:
    """One rollout's Python interpreter, run in the sandbox (see the module docstring)."""

    def __init__(self, settings: PythonToolSettings | None = None, stats: ToolStats | None = None):
        self.settings = settings or PythonToolSettings()
        self.stats = stats
        self._provider = self.settings.get_provider()
        self.cells: list[str] = []
        self.transcript: list[tuple[str, str]] = []  # (code, what the model read), for tests and logs

    def reset(self, **row) -> None:
        """Starts a new rollout: forgets every cell. `row` (the dataset row TRL passes) is not used."""
        self.cells = []
        self.transcript = []
        if self.stats is not None:
            self.stats.record_rollout()

    def python(self, code: str) -> str:
        """Runs Python code in a fresh sandboxed interpreter and returns what it printed.

        Variables and functions defined by earlier successful calls are available. Use print() to see values.

        Args:
            code: The Python source code to run.
        """
        start = time.monotonic()
        if not isinstance(code, str):
            text, failed = f"Error: 'code' must be a string of Python source, got {type(code).__name__}.", True
        else:
            text, failed = self._run(code)
        if self.stats is not None:
            self.stats.record_call(time.monotonic() - start, failed)
        self.transcript.append((code if isinstance(code, str) else repr(code), text))
        return text

    def _run(self, code: str) -> tuple[str, bool]:
        program = _REPLAY_PROGRAM.format(cells=[*self.cells, code])
        try:
            _, raws = self._provider.run_raw(program, "python", [""])
            raw = raws[0] if raws else {"sandbox_error": "no result"}
        except Exception as error:  # the model gets a message; the trainer never gets an exception
            logger.warning("python tool: the sandbox failed on a call: %s", error)
            raw = {"sandbox_error": f"{type(error).__name__}: {error}"[:300]}
        text, failed = describe(raw, self.settings)
        if not failed:
            self.cells.append(code)
        return text, failed
