"""What every code execution provider shares: submissions, limits, verdicts, output comparison and scoring.

    submission = Submission(source, "python", (TestCase("1 2", "3"),))
    [result] = provider.execute([submission], test_batch_size=1)    # a CodeExecutionProvider (open_r1.sandbox)
    result.score("partial"), [outcome.verdict for outcome in result.outcomes]

A provider takes submissions (a program, its language and its stdin/stdout test cases, optionally in groups such as
IOI subtasks) and returns one `ProgramResult` per submission: a verdict per test case and the reward under a
scoring mode. A submission's program is compiled once, whatever the number of its groups and batches, and its
whole time (compile plus tests) is bounded by `Limits.submission_wall_seconds`. Expected outputs
stay in the training process: providers only ever run programs on inputs and return raw outcomes, and the
comparison and scoring below are the same for every provider, so a reward does not depend on where a program
ran.

Memory: grading holds one test's output at a time. `grade_in_batches` asks a batch's raw outcomes one by one
and keeps only each verdict (and a stderr tail), and `outputs_match` compares an output to its expected text in
place, line by line, without splitting it into a list of lines (which costs ~60 bytes per line). A run's stdout
is also capped per test by `output_limit`: a few times the expected output's size (never above `output_mb`), so
a program printing junk is stopped as soon as its output is too long to be right, whatever `output_mb` is.
There is no total per submission: memory is already bounded per test, and the bytes a submission can move are
bounded by the per-test limits (a few times its expected outputs, which the trainer holds anyway).

Not covered here: how programs run (see `local.py`, `e2b.py`, `morph.py`, `piston.py`).
"""

import abc
import enum
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Optional

# A test's stdout may be this many times its expected output's UTF-8 size (padding, \r\n line ends and trailing
# blanks of an honest program stay far below), and at least OUTPUT_FLOOR_BYTES; never more than output_mb.
OUTPUT_RATIO = 8
OUTPUT_FLOOR_BYTES = 256 << 10
# pass_fail: 1 if every test passed; partial: the fraction passed; weighted_sum: pass_fail + 0.1 * partial.
SCORING_MODES = ("pass_fail", "partial", "weighted_sum")


def check_scoring_mode(mode: str, name: str = "scoring_mode") -> str:
    """`mode` if it is one of `SCORING_MODES`; else a ValueError naming the setting `name` and the choices."""
    if mode not in SCORING_MODES:
        raise ValueError(f"{name} must be one of {SCORING_MODES}, got {mode!r}")
    return mode


class Verdict(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"  # ran fine, wrong output
    TIMEOUT = "timeout"
    MEMORY = "memory"
    RUNTIME_ERROR = "runtime_error"
    OUTPUT_LIMIT = "output_limit"
    COMPILE_ERROR = "compile_error"
    SKIPPED = "skipped"  # not run: an earlier batch already failed
    SANDBOX_ERROR = "sandbox_error"  # the provider failed, not the program


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    input: str
    output: str


@dataclass(frozen=True)
class Submission:
    """A program and its tests. `group_sizes` splits `tests` into consecutive groups (IOI subtasks), each graded on
    its own: its batches stop at its own first failed batch and `ProgramResult.split` gives its verdicts apart.
    Empty: one group of every test. The program is compiled once for all groups."""

    source: str
    language: str
    tests: tuple[TestCase, ...]
    group_sizes: tuple[int, ...] = ()

    def __post_init__(self):
        if self.group_sizes and (
            any(not isinstance(size, int) or size < 0 for size in self.group_sizes)
            or sum(self.group_sizes) != len(self.tests)
        ):
            raise ValueError(
                f"group_sizes {self.group_sizes!r:.100} must be counts >= 0 adding up to the {len(self.tests)} tests"
            )

    @classmethod
    def grouped(cls, source: str, language: str, groups: Sequence[Sequence[TestCase]]) -> "Submission":
        """One submission for several groups of tests (e.g. IOI subtasks), compiled once."""
        return cls(source, language, tuple(test for group in groups for test in group), tuple(map(len, groups)))

    def groups(self) -> list[tuple[int, tuple[TestCase, ...]]]:
        """(index of its first test in `tests`, its tests) per group."""
        sizes = self.group_sizes or (len(self.tests),)
        starts = itertools.accumulate(sizes[:-1], initial=0)
        return [(start, self.tests[start : start + size]) for start, size in zip(starts, sizes)]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, plus the compile's and the whole submission's. The local sandbox enforces all of them; cloud
    providers get the wall times (per test, compile, submission)."""

    wall_seconds: float = field(default=10.0, metadata={"help": "Wall seconds of one run (one test)."})
    cpu_seconds: int = field(default=10, metadata={"help": "CPU seconds of one run (RLIMIT_CPU)."})
    memory_mb: int = field(default=1024, metadata={"help": "Address space of each process of a run (RLIMIT_AS)."})
    processes: int = field(default=32, metadata={"help": "Processes and threads a run may hold (RLIMIT_NPROC)."})
    file_size_mb: int = field(default=16, metadata={"help": "Largest file a run may write (RLIMIT_FSIZE)."})
    tmp_mb: int = field(default=64, metadata={"help": "Size of the run's own /tmp (a tmpfs)."})
    output_mb: int = field(default=16, metadata={"help": "Most stdout a run may print (also capped per test)."})
    open_files: int = field(default=64, metadata={"help": "Files a run may hold open (RLIMIT_NOFILE)."})
    # Piston's default compile_timeout (engineer-man/piston api/src/config.js: 10 s).
    compile_wall_seconds: float = field(
        default=10.0, metadata={"help": "Wall seconds of a compile (an honest C++ solution takes about 2)."}
    )
    compile_memory_mb: int = field(default=4096, metadata={"help": "Address space of the compiler."})
    submission_wall_seconds: float = field(
        default=60.0,
        metadata={
            "help": "A submission's whole time, compile plus every test of all its groups; tests it leaves no time "
            "for are not run and read TIMEOUT (docs/sandbox.md says why 60)."
        },
    )

    def __post_init__(self):
        if not self.submission_wall_seconds > 0:
            raise ValueError(f"submission_wall_seconds must be > 0, got {self.submission_wall_seconds!r}")

    def run_limits(self) -> dict:
        return {
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "memory_mb": self.memory_mb,
            "processes": self.processes,
            "file_size_mb": self.file_size_mb,
            "tmp_mb": self.tmp_mb,
            "output_mb": self.output_mb,
            "open_files": self.open_files,
        }

    def compile_seconds(self) -> float:
        """The compile's wall time: its own limit, within the submission's."""
        return min(self.compile_wall_seconds, self.submission_wall_seconds)

    def compile_limits(self) -> dict:
        return self.run_limits() | {
            "wall_seconds": self.compile_seconds(),
            "cpu_seconds": max(1, math.ceil(self.compile_seconds())),
            "memory_mb": self.compile_memory_mb,
            "file_size_mb": max(self.file_size_mb, 256),
            "tmp_mb": max(self.tmp_mb, 512),
        }


@dataclass
class TestOutcome:
    __test__ = False

    verdict: Verdict
    wall_seconds: float = 0.0
    detail: str = ""  # stderr tail or error message, for logs


@dataclass
class ProgramResult:
    outcomes: list[TestOutcome] = field(default_factory=list)
    compile_error: Optional[str] = None
    sandbox_error: Optional[str] = None

    @property
    def passed(self) -> int:
        return sum(outcome.verdict is Verdict.PASSED for outcome in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total and self.compile_error is None

    def split(self, group_sizes: Sequence[int]) -> list["ProgramResult"]:
        """One result per group of the submission graded (its `group_sizes`; empty: this result alone), each with
        this result's compile and sandbox errors."""
        if not group_sizes:
            return [self]
        if sum(group_sizes) != self.total:
            raise ValueError(f"{self.total} verdicts cannot be split into groups of {list(group_sizes)}")
        parts, start = [], 0
        for size in group_sizes:
            parts.append(ProgramResult(self.outcomes[start : start + size], self.compile_error, self.sandbox_error))
            start += size
        return parts

    def score(self, mode: str) -> float:
        """The reward under `mode` (see `SCORING_MODES`; rewards check their mode with `check_scoring_mode`)."""
        assert mode in SCORING_MODES, mode
        if self.total == 0:
            return 0.0
        fraction = self.passed / self.total
        if mode == "partial":
            return fraction
        pass_fail = 1.0 if self.all_passed else 0.0
        return pass_fail if mode == "pass_fail" else pass_fail + 0.1 * fraction


def output_limit(expected: str, limits: Limits) -> int:
    """The most stdout bytes a run may write for a test expecting `expected` (see `OUTPUT_RATIO`)."""
    return min(limits.output_mb << 20, max(OUTPUT_FLOOR_BYTES, OUTPUT_RATIO * len(expected.encode())))


def normalize_output(text: str) -> list[str]:
    """Output as judges compare it: line by line, ignoring spaces around lines and blank lines at the ends."""
    return [line.strip() for line in text.strip().splitlines()]


def judge_input(text: str) -> str:
    """Test input as a judge's input file: ending with a newline (datasets often strip it; `input()[:-1]` needs it)."""
    return text if text.endswith("\n") or not text else text + "\n"


# The line boundaries of str.splitlines, and the whitespace of str.strip (re's \s is str.isspace).
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"\s*")


def outputs_match(actual: str, expected: str) -> bool:
    """normalize_output(actual) == normalize_output(expected), read in place: `actual`'s lines are found and
    compared one by one without copies, and the first difference ends it (linear time, no memory per line)."""
    size = len(actual)
    line_start = _SPACES.match(actual).end()  # where actual.strip() starts
    for line in normalize_output(expected):
        if line_start > size:
            return False  # `actual` has fewer lines
        found = _LINE_BREAK.search(actual, line_start)
        line_end, next_start = (found.start(), found.end()) if found else (size, size + 1)
        text_start = _SPACES.match(actual, line_start, line_end).end()
        # `line` is stripped: the line matches when it follows the leading blanks and only blanks follow it.
        if not actual.startswith(line, text_start, line_end):
            return False
        if _SPACES.match(actual, text_start + len(line), line_end).end() != line_end:
            return False
        line_start = next_start
    return line_start > size or _SPACES.match(actual, line_start).end() == size


def classify(raw: dict, expected: str) -> TestOutcome:
    """Turns one raw run (as the fork server or the remote evaluation script reports it) into a verdict."""
    wall = float(raw.get("wall_seconds") or 0.0)
    stderr = raw.get("stderr") or ""
    if raw.get("sandbox_error"):
        return TestOutcome(Verdict.SANDBOX_ERROR, wall, raw["sandbox_error"])
    # Output first: a run stopped for printing too much is then killed, and must not read as a timeout.
    if raw.get("output_exceeded") or raw.get("signal") == 25:  # SIGXFSZ
        return TestOutcome(Verdict.OUTPUT_LIMIT, wall, stderr[-500:])
    if raw.get("timed_out") or raw.get("signal") in (9, 24):  # SIGKILL at the CPU hard limit, SIGXCPU
        return TestOutcome(Verdict.TIMEOUT, wall, stderr[-500:])
    if raw.get("exit_code") != 0:
        out_of_memory = "MemoryError" in stderr or "bad_alloc" in stderr or "Cannot allocate memory" in stderr
        return TestOutcome(Verdict.MEMORY if out_of_memory else Verdict.RUNTIME_ERROR, wall, stderr[-500:])
    if outputs_match(raw.get("stdout") or "", expected):
        return TestOutcome(Verdict.PASSED, wall)
    return TestOutcome(Verdict.FAILED, wall)


def split_into_batches(tests: Sequence[TestCase], batch_size: int) -> Iterator[Sequence[TestCase]]:
    """Batches of tests in order; batch_size <= 0 means one batch with every test."""
    if batch_size <= 0:
        yield tests
        return
    for start in range(0, len(tests), batch_size):
        yield tests[start : start + batch_size]


def _next_raw(raws: Iterator[dict]) -> dict:
    raw = next(raws, None)
    if raw is None:
        raise ValueError("the provider returned fewer raw results than the batch has tests")
    return raw


def grade_in_batches(tests: Sequence[TestCase], raws: Iterable[Iterable[dict]], batch_size: int) -> ProgramResult:
    """Grades raw results batch by batch; after the first batch with a failure the rest are SKIPPED.

    `raws` yields, per batch of `split_into_batches(tests, batch_size)`, an iterable of its raw results; both are
    consumed lazily, so a provider that runs batches on demand stops running once a batch fails, and one that
    runs each test on demand has one raw result in memory at a time (each is graded and dropped before the
    next is asked for).
    """
    result = ProgramResult()
    batches = list(split_into_batches(tests, batch_size))
    raw_iter = iter(raws)
    for index, batch in enumerate(batches):
        batch_raws = iter(next(raw_iter))
        # next() per test, not zip: zip's reused tuple would keep the previous output alive during the next run.
        outcomes = [classify(_next_raw(batch_raws), test.output) for test in batch]
        result.outcomes.extend(outcomes)
        if any(outcome.verdict is not Verdict.PASSED for outcome in outcomes):
            for later in batches[index + 1 :]:
                result.outcomes.extend(TestOutcome(Verdict.SKIPPED) for _ in later)
            break
    return result


def not_run_raw() -> dict:
    """The raw outcome of a test its submission had no time left for (`Limits.submission_wall_seconds`): TIMEOUT,
    not SKIPPED, because the program spent the time (SKIPPED says an earlier failed batch made the test moot)."""
    return {"timed_out": True, "wall_seconds": 0.0, "stderr": "not run: the submission's total time was spent"}


def grade_groups(
    submission: Submission, run_batch: Callable[[int, Sequence[TestCase]], Iterable[dict]], batch_size: int
) -> ProgramResult:
    """Grades each group of `submission` on its own with `grade_in_batches`.

    `run_batch(start, tests)` gives the raw results of one batch (`start`: the index of its first test in
    `submission.tests`), possibly as a generator that runs each test when its result is asked for; it is
    called lazily, so no batch of a group runs after that group's failed batch, and
    the next group starts afresh.
    """
    result = ProgramResult()
    for start, group in submission.groups():
        if group:
            raws = _batch_raws(group, start, run_batch, batch_size)
            result.outcomes.extend(grade_in_batches(group, raws, batch_size).outcomes)
    return result


def _batch_raws(group: Sequence[TestCase], start: int, run_batch: Callable, batch_size: int) -> Iterator:
    for batch in split_into_batches(group, batch_size):
        yield run_batch(start, batch)
        start += len(batch)


class CodeExecutionProvider(abc.ABC):
    """Runs submissions against their tests; never raises for a program's behaviour, only for misconfiguration."""

    @abc.abstractmethod
    def execute(self, submissions: Sequence[Submission], test_batch_size: int = 1) -> list[ProgramResult]:
        """One result per submission, in order: its program compiled once, each of its groups graded on its own
        (`grade_groups`), and within `limits.submission_wall_seconds` in all."""

    def run_raw(self, source: str, language: str, inputs: Sequence[str]) -> tuple[dict, list[dict]]:
        """Runs a program on inputs without grading: (compile outcome, one raw outcome per input), each raw
        outcome with `stdout`, `stderr`, `exit_code`, `timed_out`, `wall_seconds` (what tools show the model).
        Providers that only judge submissions (Piston) cannot."""
        raise NotImplementedError(
            f"the {type(self).__name__} provider judges submissions only and cannot run a program's raw output "
            "(tool calls need 'local', 'e2b' or 'morph')"
        )

    def close(self) -> None:
        """Releases workers or sessions; the provider may not be used afterwards."""
        return None
