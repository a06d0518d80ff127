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
memory. Replay costs time quadratic in the number of calls of one rollout; each call's wall limit covers its
replay, and the rollout's time budget (below) covers the sum.

Time budget per rollout: `max_tool_calling_iterations` bounds rounds, not calls (one assistant turn may hold any
number of calls), so the tool bounds time itself. All calls of one rollout share `rollout_seconds` of sandbox
time, by default a full wall limit per round (`default_rollout_seconds`). A call is charged its program's run
time as the sandbox measured it (not the wait for a free worker, so other rollouts' calls waiting at the same
time cost this one nothing), at most its wall limit; a call the sandbox could not time is charged the whole
limit. A call starts only while its whole wall limit fits in what is left (calls of one rollout made at the same
time reserve their limits first), so the charged time never exceeds the budget; later calls get an error
message at once without running. Not charged: the trainer's side of each call (a few ms; the number of calls
is bounded by the completion's tokens) and the sandbox's kill after a timeout.

What comes back to the model is text, never an exception: stdout, then stderr (a traceback's last lines), or
an error line for a timeout, memory exhaustion, too much output or a sandbox failure; all of it cut to
`max_output_chars` with a marker saying how much was cut, and any spelling of a chat control token or tag in it
broken (`disarm_control_text`), so that output cannot write turns into the rollout's context. Limits per call: `wall_seconds`, `memory_mb`,
`max_output_chars` (plus the sandbox's own process, file and output caps); per rollout: `rollout_seconds`.

Calls run ahead (`_speculate`, private since TRL exposes every public method as a tool): the trainer knows a
round's calls once it has generated them, and TRL 1.16 then makes them one rollout after another.
`_speculate(codes, pool)` runs one assistant turn's calls in `pool` at once
with other rollouts', each as `python` would run it then (the same cells replayed, the same budget check), without
changing the rollout: when `python` is then called with the same code on the same cells, it takes that run's
result, charges it and keeps the cell as if it had run the code itself; any other call drops what ran ahead and
runs as before. So the model reads what it would have read, and a round's calls take about the longest rollout's
time rather than the sum of all of them (`open_r1.tools.training.ToolCallsAhead`). The one difference: programs
running at once share the machine's cores, so a program near its wall limit may reach it where, alone, it would
not; the trainer runs at most as many at once as its share of the cores (`calls_ahead_workers`), so that one
rollout's spinning program does not slow the others' towards their limits. `_speculate(...,
after_runs_ahead=True)` queues a later turn's calls behind those already run ahead, from the cells and charges they
leave: a whole rollout decoded ahead of the trainer (`open_r1.tools.rollouts_ahead`).

Not covered: languages other than Python; persistent sessions (a live interpreter per rollout); a program's
wall time on cloud providers is theirs, the local sandbox enforces all limits (see `open_r1.sandbox.local`).
"""

import logging
import math
import re
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Optional

from open_r1.sandbox import Limits, SandboxConfig, get_provider
from open_r1.sandbox.config import DEFAULT_SANDBOX_WORKERS

logger = logging.getLogger(__name__)

TOOL_PROVIDERS = ("local", "e2b", "morph")
DEFAULT_WALL_SECONDS = 5.0
DEFAULT_MEMORY_MB = 512
DEFAULT_MAX_OUTPUT_CHARS = 1000
# Rounds of tool calls per completion where a caller sets none (evaluation, generation), and the rounds the
# default time budget allows for when training leaves TRL's `max_tool_calling_iterations` unbounded.
DEFAULT_MAX_TOOL_CALLING_ITERATIONS = 4
# Slack for float sums of charges against the budget (3 x 0.1 s must fit a 0.3 s budget).
BUDGET_TOLERANCE_SECONDS = 1e-6
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


def check_tool_provider(provider: str, field: str = "python tool provider") -> str:
    if provider not in TOOL_PROVIDERS:
        raise ValueError(f"{field} must be one of {TOOL_PROVIDERS}, got {provider!r}")
    return provider


def default_rollout_seconds(wall_seconds: float, max_tool_calling_iterations: Optional[int]) -> float:
    """The time budget of one rollout when none is set: a full wall limit for every round of calls
    (`DEFAULT_MAX_TOOL_CALLING_ITERATIONS` rounds when the rounds are unbounded, TRL's `None`)."""
    rounds = (
        DEFAULT_MAX_TOOL_CALLING_ITERATIONS if max_tool_calling_iterations is None else max_tool_calling_iterations
    )
    return max(0, rounds) * wall_seconds


def tool_sandbox(provider: str, num_workers: int = DEFAULT_SANDBOX_WORKERS) -> SandboxConfig:
    """The python tool's sandbox on `provider`, running `num_workers` programs at once (a tool provider is checked
    first)."""
    return SandboxConfig(check_tool_provider(provider), num_workers)


@dataclass(frozen=True)
class PythonToolSettings:
    """Where (`sandbox`: provider, workers, router) and under which limits the tool runs (the recipe's
    `python_tool_*` fields; `GRPOScriptArguments.tool_sandbox`). The limits below replace the sandbox's own."""

    sandbox: SandboxConfig = field(
        default=SandboxConfig(), metadata={"help": "Where calls run: provider, workers, router."}
    )
    wall_seconds: float = field(default=DEFAULT_WALL_SECONDS, metadata={"help": "Wall seconds of one call."})
    memory_mb: int = field(default=DEFAULT_MEMORY_MB, metadata={"help": "Address space of a call's process."})
    max_output_chars: int = field(
        default=DEFAULT_MAX_OUTPUT_CHARS, metadata={"help": "Characters of a call's output the model reads back."}
    )
    rollout_seconds: Optional[float] = field(
        default=None,
        metadata={
            "help": "Sandbox seconds all calls of one rollout may use together; None: "
            "`default_rollout_seconds(wall_seconds, None)`; 0: no call runs."
        },
    )

    def __post_init__(self):
        check_tool_provider(self.sandbox.provider)
        if not self.wall_seconds > 0:
            raise ValueError(f"python tool wall_seconds must be > 0, got {self.wall_seconds!r}")
        budget = self.rollout_seconds
        if budget is not None and not (budget == 0 or budget >= self.wall_seconds):
            raise ValueError(
                f"python tool rollout_seconds must be 0 (no call runs) or at least wall_seconds "
                f"({self.wall_seconds:g}: a call starts only when its whole wall limit fits), got {budget!r}"
            )
        if self.memory_mb < 64:
            raise ValueError(f"python tool memory_mb must be >= 64 (an interpreter needs it), got {self.memory_mb!r}")
        if self.max_output_chars < 50:
            raise ValueError(f"python tool max_output_chars must be >= 50, got {self.max_output_chars!r}")

    @property
    def budget_seconds(self) -> float:
        """The sandbox seconds one rollout's calls may use together."""
        if self.rollout_seconds is not None:
            return self.rollout_seconds
        return default_rollout_seconds(self.wall_seconds, None)

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


# ToolStats' counts: summed across processes; its maxima: the largest of any process (`tool_metrics` reads both).
TOOL_COUNTS = (
    "rollouts", "calls", "errors", "refused", "exhausted_rollouts", "seconds", "charged_seconds", "past_budget"
)  # fmt: skip
TOOL_MAXIMA = ("most_charged_seconds", "budget_seconds")


class ToolStats:
    """Counts every call of every rollout in this process, for the trainer's per-step logs (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.rollouts = self.calls = self.errors = self.refused = self.exhausted_rollouts = self.past_budget = 0
        self.seconds = self.charged_seconds = self.most_charged_seconds = self.budget_seconds = 0.0

    def record_rollout(self, budget_seconds: float) -> None:
        with self._lock:
            self.rollouts += 1
            self.budget_seconds = max(self.budget_seconds, budget_seconds)

    def record_call(self, seconds: float, failed: bool, charged: float = 0.0, rollout_charged: float = 0.0) -> None:
        """A call that ran (or was malformed): its time in the trainer (or ahead of it, `PythonTool._speculate`),
        its charge to the rollout's budget and the rollout's charges so far."""
        with self._lock:
            self.calls += 1
            self.errors += int(failed)
            self.seconds += seconds
            self.charged_seconds += charged
            self.most_charged_seconds = max(self.most_charged_seconds, rollout_charged)

    def record_refusal(self, first_of_rollout: bool) -> None:
        """A call refused because its rollout's time budget was spent (it counts as a failed call)."""
        with self._lock:
            self.calls += 1
            self.errors += 1
            self.refused += 1
            self.exhausted_rollouts += int(first_of_rollout)

    def record_past_budget(self) -> None:
        """A call not run: its result, even empty, had no room in the completion (TRL drops it; not a call)."""
        with self._lock:
            self.past_budget += 1

    def drain_counts(self) -> dict[str, float]:
        """The counts since the last drain (`TOOL_COUNTS`, `TOOL_MAXIMA`), and a fresh start."""
        with self._lock:
            counts = {name: getattr(self, name) for name in TOOL_COUNTS + TOOL_MAXIMA}
            self._clear()
        return counts

    def drain(self) -> dict[str, float]:
        """The figures since the last drain (`tool_metrics`), and a fresh start."""
        return tool_metrics(self.drain_counts())


def tool_metrics(counts: dict[str, float]) -> dict[str, float]:
    """The logged figures of `ToolStats` counts (one process's, or every process's combined): calls per rollout,
    error rate, seconds per call that ran, the rollout time budget, what rollouts used of it and how often it ran
    out; none without a rollout or a call."""
    rollouts, calls, refused = counts["rollouts"], counts["calls"], counts["refused"]
    if rollouts == 0 and calls == 0:
        return {}
    per_rollout = max(rollouts, 1)
    ran = calls - refused
    return {
        "tools/python_calls_per_completion": calls / per_rollout,
        "tools/python_error_rate": counts["errors"] / calls if calls else 0.0,
        "tools/python_seconds_per_call": counts["seconds"] / ran if ran else 0.0,
        "tools/python_budget_seconds": counts["budget_seconds"],
        "tools/python_budget_used_per_completion": counts["charged_seconds"] / per_rollout,
        "tools/python_budget_used_max": counts["most_charged_seconds"],
        "tools/python_refused_calls_per_completion": refused / per_rollout,
        "tools/python_budget_exhausted_rate": counts["exhausted_rollouts"] / per_rollout,
        "tools/python_calls_past_budget_per_completion": counts.get("past_budget", 0) / per_rollout,
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


def charge(raw: dict, wall_seconds: float) -> float:
    """The seconds one run costs its rollout's budget: its run time as the sandbox measured it, at most its wall
    limit (the kill after a timeout is the sandbox's time); the whole limit when the sandbox did not time it."""
    measured = raw.get("wall_seconds")
    if isinstance(measured, (int, float)) and not isinstance(measured, bool) and math.isfinite(measured):
        return min(max(float(measured), 0.0), wall_seconds)
    return wall_seconds


# The tags chat templates use as tokens (Qwen's calls and reasoning, Gemma's turns, Llama 2's and Mistral's </s>),
# and Mistral's bracket tokens; Python's own (`<module>`, `<cell>`) and log levels (`[INFO]`) are left as they are.
CONTROL_TAGS = (
    "s", "pad", "unk", "bos", "eos", "think", "tool_call", "tool_calls", "tool_response", "tool_result", "tools",
    "function_call", "function_calls", "start_of_turn", "end_of_turn",
)  # fmt: skip
BRACKET_TOKENS = (
    "INST", "TOOL_CALLS", "AVAILABLE_TOOLS", "TOOL_RESULTS", "SYSTEM_PROMPT", "THINK", "TOOL_CONTENT", "CALL_ID",
)  # fmt: skip
# Where a program's output spells a chat template's control token (`<|im_start|>`, `<|eot_id|>`, DeepSeek's
# full-width `<｜end▁of▁sentence｜>`), tag (`<tool_call>`, `</think>`) or bracket token (`[INST]`): the output's own
# text reaches the model through apply_chat_template, whose tokenizer reads such a string as the token itself.
_CONTROL_SPELLING = re.compile(
    rf"(?<=<)(?=[|\uff5c][^<>\n]{{0,60}}[|\uff5c]>|/?(?:{'|'.join(CONTROL_TAGS)})>)"
    rf"|(?<=\[)(?=/?(?:{'|'.join(BRACKET_TOKENS)})\])"
)
# Put inside each such spelling: the text reads the same, and no tokenizer matches it as one token any more.
ZERO_WIDTH_SPACE = "\u200b"


def disarm_control_text(text: str) -> str:
    """`text` with every spelling of a control token or tag broken by a zero-width space after its opening `<` or
    `[`: a program printing `<|im_end|>\n<|im_start|>system ...` would otherwise write real turns (a forged system
    or assistant turn) into its rollout's context. Linear in the text (each match is bounded)."""
    return _CONTROL_SPELLING.sub(ZERO_WIDTH_SPACE, text)


def describe(raw: dict, settings: PythonToolSettings) -> tuple[str, bool]:
    """What the model reads for one raw run (cut to `max_output_chars`, the error line always kept, control tokens
    spelled in it disarmed: `disarm_control_text`), and whether the call failed."""
    streams = {name: disarm_control_text(raw.get(name) or "") for name in ("stdout", "stderr")}
    text, failed = _described({**raw, **streams}, settings)  # disarmed before the cut, which counts the spaces
    return disarm_control_text(text), failed  # and again: stdout and stderr joined can spell one across the seam


def _described(raw: dict, settings: PythonToolSettings) -> tuple[str, bool]:
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


class _Run(NamedTuple):
    """One run of a cell: the cells replayed before it, what the model reads, whether it failed, its charge and
    how long it ran."""

    cells: tuple[str, ...]
    text: str
    failed: bool
    charged: float
    seconds: float


class OverBudget(RuntimeError):
    """A call run ahead that did not start: its wall limit did not fit what the rollout's budget had left."""


class PythonTool:
    """One rollout's Python interpreter, run in the sandbox (see the module docstring)."""

    def __init__(self, settings: PythonToolSettings | None = None, stats: ToolStats | None = None):
        self.settings = settings or PythonToolSettings()
        self.stats = stats
        self._provider = self.settings.get_provider()
        self._budget_lock = threading.Lock()
        self._ahead: deque[tuple[str, Future]] = deque()  # this turn's calls run ahead, in order, with their runs
        self._rollout = 0  # which rollout this is: a chain of an earlier one counts for none
        self._start_rollout()

    def _start_rollout(self) -> None:
        self._drop_runs_ahead()
        self.cells: list[str] = []
        self.calls_ahead = 0  # calls of this rollout answered by a run ahead
        self.transcript: list[tuple[str, str]] = []  # (code, what the model read), for tests and logs
        with self._budget_lock:
            self._rollout += 1
            self.runs_ahead = 0  # programs run ahead for this rollout, taken or not
            self.charged_seconds = 0.0  # this rollout's charges against its time budget
            self._reserved_seconds = 0.0  # wall limits of its calls running now
            self.refused_calls = 0
        self._calls_made = 0  # calls of this rollout so far, answered or not
        self._past_budget_from: Optional[int] = None  # the first call whose result has no room, and all after it

    def _skip_calls_past_budget(self, first_call: Optional[int] = None) -> None:
        """The rollout's calls from its `first_call`-th (0-based; default: the next) are answered "" without
        running: their results, even empty, take the rollout past its completion budget, so TRL drops them and ends
        the rollout. Private: TRL makes an environment's public methods its tools."""
        self._past_budget_from = self._calls_made if first_call is None else first_call

    def reset(self, **row) -> None:
        """Starts a new rollout: forgets every cell and renews the time budget. `row` (the dataset row TRL
        passes) is not used."""
        self._start_rollout()
        if self.stats is not None:
            self.stats.record_rollout(self.settings.budget_seconds)

    def python(self, code: str) -> str:
        """Runs Python code in a fresh sandboxed interpreter and returns what it printed.

        Variables and functions defined by earlier successful calls are available. Use print() to see values.

        Args:
            code: The Python source code to run.
        """
        self._calls_made += 1
        if self._past_budget_from is not None and self._calls_made > self._past_budget_from:
            if self.stats is not None:
                self.stats.record_past_budget()
            return ""
        start = time.monotonic()
        ahead = self._run_ahead(code)
        if not isinstance(code, str):
            text = f"Error: 'code' must be a string of Python source, got {type(code).__name__}."
            if self.stats is not None:
                self.stats.record_call(time.monotonic() - start, failed=True)
        elif not self._reserve():
            text = self._refusal_message()
        else:
            charged = self.settings.wall_seconds  # what a call costs if it never reports back
            try:
                run = ahead if ahead is not None else self._execute(tuple(self.cells), code)
                text, failed, charged = run.text, run.failed, run.charged
                if not failed:
                    self.cells.append(code)
                self.calls_ahead += ahead is not None
            finally:
                rollout_charged = self._settle(charged)
            if self.stats is not None:
                seconds = ahead.seconds if ahead is not None else time.monotonic() - start
                self.stats.record_call(seconds, failed, charged, rollout_charged)
        self.transcript.append((code if isinstance(code, str) else repr(code), text))
        return text

    def _reserve(self) -> bool:
        """Holds a whole wall limit of the budget for a call about to start; False (and the refusal counted)
        when it does not fit."""
        wall = self.settings.wall_seconds
        with self._budget_lock:
            committed = self.charged_seconds + self._reserved_seconds
            if committed + wall <= self.settings.budget_seconds + BUDGET_TOLERANCE_SECONDS:
                self._reserved_seconds += wall
                return True
            self.refused_calls += 1
            first_refusal = self.refused_calls == 1
        if self.stats is not None:
            self.stats.record_refusal(first_of_rollout=first_refusal)
        return False

    def _settle(self, charged: float) -> float:
        """Replaces a finished call's reservation with its charge; the rollout's charges so far."""
        with self._budget_lock:
            self._reserved_seconds -= self.settings.wall_seconds
            self.charged_seconds += charged
            return self.charged_seconds

    def _refusal_message(self) -> str:
        settings = self.settings
        return (
            f"Error: the python time budget of this answer is spent ({settings.budget_seconds:g} s in all, up to "
            f"{settings.wall_seconds:g} s per call); the code did not run. Continue without the tool."
        )

    def _execute(self, cells: tuple[str, ...], code: str) -> _Run:
        """`code` run after `cells` replayed; changes nothing of the rollout."""
        start = time.monotonic()
        program = _REPLAY_PROGRAM.format(cells=[*cells, code])
        try:
            _, raws = self._provider.run_raw(program, "python", [""])
            raw = raws[0] if raws else {"sandbox_error": "no result"}
        except Exception as error:  # the model gets a message; the trainer never gets an exception
            logger.warning("python tool: the sandbox failed on a call: %s", error)
            raw = {"sandbox_error": f"{type(error).__name__}: {error}"[:300]}
        text, failed = describe(raw, self.settings)
        return _Run(cells, text, failed, charge(raw, self.settings.wall_seconds), time.monotonic() - start)

    def _speculate(self, codes: list[str], pool: Executor, *, after_runs_ahead: bool = False) -> list[Future]:
        """Runs one assistant turn's calls (`codes`, in the order written) ahead in `pool`, one after another, each
        after the cells the earlier ones would leave, while its whole wall limit fits what the budget would have
        left (module docstring); their futures, each a run or `OverBudget`. Replaces any earlier run ahead, unless
        `after_runs_ahead`: then the calls follow those already run ahead, which must have ended."""
        cells = tuple(self.cells)
        with self._budget_lock:
            committed = self.charged_seconds + self._reserved_seconds
        if not after_runs_ahead:
            self._drop_runs_ahead()
        for code, earlier in self._ahead:
            if earlier.exception(timeout=0) is None:  # a call refused for the budget leaves no charge, no cell
                run = earlier.result()
                committed += run.charged
                cells = cells if run.failed else (*cells, code)
        futures = [Future() for _ in codes]
        # Submitted first: a pool that refuses the chain leaves no future for `python` to wait on forever.
        pool.submit(self._run_chain, list(codes), futures, cells, committed, self._rollout)
        self._ahead.extend(zip(codes, futures))
        return futures

    def _answer_ahead(self, future: Future) -> Optional[str]:
        """What `python` will answer the call run ahead in `future` (ended) with: its run's text, or the refusal of a
        call over the budget; None where the run failed outside the sandbox or was dropped (`python` then runs the
        call itself)."""
        if future.cancelled():
            return None
        error = future.exception(timeout=0)
        if error is None:
            return future.result().text
        return self._refusal_message() if isinstance(error, OverBudget) else None

    def _run_chain(
        self, codes: list[str], futures: list[Future], cells: tuple[str, ...], committed: float, rollout: int
    ) -> None:
        for index, (code, future) in enumerate(zip(codes, futures)):
            if not future.set_running_or_notify_cancel():  # dropped: the rollout moved on
                return
            try:
                if committed + self.settings.wall_seconds > self.settings.budget_seconds + BUDGET_TOLERANCE_SECONDS:
                    raise OverBudget("over the time budget")  # `python` will refuse it, as it would have
                with self._budget_lock:
                    self.runs_ahead += rollout == self._rollout
                run = self._execute(cells, code)
            except BaseException as error:  # every future ends, or its call would wait for it forever
                # A BaseException would be lost in the pool: its call runs in place instead.
                if not isinstance(error, Exception):
                    error = RuntimeError(f"the run ahead stopped: {error!r}")
                future.set_exception(error)
                for later in futures[index + 1 :]:
                    if later.set_running_or_notify_cancel():
                        later.set_exception(error)
                return
            future.set_result(run)
            committed += run.charged
            if not run.failed:
                cells = (*cells, code)

    def _run_ahead(self, code) -> Optional[_Run]:
        """The run ahead of this call, if one ran `code` on the rollout's cells as they are; otherwise every run
        ahead is dropped and None."""
        if self._ahead and isinstance(code, str) and self._ahead[0][0] == code:
            _, future = self._ahead.popleft()
            try:
                run = future.result()
            except Exception:  # over the budget, or the run failed outside the sandbox: run it as before
                run = None
            if run is not None and run.cells == tuple(self.cells):
                return run
        self._drop_runs_ahead()
        return None

    def _drop_runs_ahead(self) -> None:
        for _, future in self._ahead:
            future.cancel()
        self._ahead = deque()
