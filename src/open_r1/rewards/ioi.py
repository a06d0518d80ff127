"""IOI subtask scoring on Piston's `cms_ioi` package, for rows of the open-r1/ioi dataset (one subtask a row).

    from open_r1.rewards.ioi import score_subtask, run_coroutine
    client = piston_client_from_env()                          # open_r1.sandbox.piston
    result = run_coroutine(score_subtask(client, row, add_includes(code, row["id"])))
    result.score                                               # 0..1: the worst test's score

A row holds `id` (problem), `subtask`, `score` (points), `score_precision`, `test_names`, `grader_files`
([name, content] pairs), `time_limit` (seconds), `memory_limit` (MB) and either `test_cases` (a list of
(input, output) pairs aligned with `test_names`, or a mapping name -> (input, output)) or `year` (tests are then
read from the Hub dataset open-r1/ioi-test-cases). Each test is one Piston request with the submission as
`graders/<id>.cpp`, the grader files, `input.txt` and `correct_output.txt`; the `cms_ioi` package compiles it
with the grader, runs it and its checker, and prints the test's score (0..1) on stdout. A subtask scores the
minimum of its tests (IOI awards a subtask only as far as every test passes); tests run `test_batch_size` at a
time and stop after a batch with a failed test; `score_subtasks` shares results of tests that several subtasks
hold.

The score a worker prints is parsed strictly and kept within [0, 1] (anything else scores 0), so a program
that writes to the package's output cannot earn more than a full test.

Not covered: running IOI graders anywhere but Piston's `cms_ioi` package (the other providers run one program on
stdin/stdout and compare its output; see open_r1.rewards.code for the `verification_info` schema they take).
"""

import asyncio
import math
import threading
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Optional

from open_r1.sandbox.base import split_into_batches
from open_r1.sandbox.piston import PistonError

# Worst first: a subtask's status is its worst test's.
STATUS_ORDER = {"CE": -1, "RE": 0, "WA": 1, "MLE": 2, "TLE": 3, "PA": 4, "AC": 5, "SKIPPED": 999}
# The cms_ioi run gets this much wall time beyond the problem's time limit, which the package enforces itself.
RUN_TIMEOUT_MARGIN_SECONDS = 3
REQUIRED_FIELDS = ("id", "subtask", "score", "score_precision", "test_names", "grader_files", "time_limit")
REQUIRED_FIELDS += ("memory_limit",)
# The dataset columns ioi_code_reward reads into a row.
IOI_ROW_COLUMNS = REQUIRED_FIELDS + ("test_cases", "year")


@dataclass
class TestResult:
    """One test's verdict: `score` in [0, 1], `status` (AC, PA, WA, TLE, MLE, RE, CE or SKIPPED), `feedback`."""

    __test__ = False  # not a pytest class

    test_name: str
    score: float = 0.0
    status: str = "SKIPPED"
    feedback: Optional[str] = None


@dataclass
class SubtaskResult:
    """A subtask's tests and the score they earn: the worst test's score, rounded to `score_precision`."""

    problem: Optional[str] = None
    subtask: Optional[str] = None
    points: float = 0.0
    score_precision: int = 2
    test_results: list[TestResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        return min((result.status for result in self.test_results), key=STATUS_ORDER.__getitem__, default="SKIPPED")

    @property
    def score(self) -> float:
        if not self.test_results:
            return 0
        return round(min(result.score for result in self.test_results), self.score_precision)

    @property
    def weighted_score(self) -> float:
        if not self.test_results:
            return 0
        return round(min(result.score for result in self.test_results) * self.points, self.score_precision)

    def to_dict(self) -> dict:
        return {
            "problem": self.problem,
            "subtask": self.subtask,
            "score": self.score,
            "weighted_score": self.weighted_score,
            "points": self.points,
            "score_precision": self.score_precision,
            "status": self.status,
            "test_results": [asdict(result) for result in self.test_results],
        }


def add_includes(code: str, problem_id: str) -> str:
    """`code` with what IOI submissions usually forget: bits/stdc++.h, the problem's header, `using namespace std`."""
    if not code:
        return code
    header = "#include <bits/stdc++.h>\n"
    problem_header = f'#include "{problem_id}.h"'
    if problem_header not in code:
        header += problem_header + "\n"
    if "using namespace std;" not in code and "std::" not in code:
        header += "\nusing namespace std;\n\n"
    return header + code


@lru_cache
def load_ioi_tests_for_year(year: int) -> dict[str, dict[str, tuple[str, str]]]:
    """{problem id: {test name: (input, output)}} of one IOI year, from the Hub dataset open-r1/ioi-test-cases."""
    from datasets import load_dataset

    tests: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for row in load_dataset("open-r1/ioi-test-cases", name=f"{year}", split="train"):
        tests[row["problem_id"]][row["test_name"]] = row["test_input"], row["test_output"]
    return tests


def load_ioi_tests(year: int, problem_id: str) -> dict[str, tuple[str, str]]:
    """{test name: (input, output)} of one problem (see `load_ioi_tests_for_year`)."""
    return load_ioi_tests_for_year(year)[problem_id]


def check_subtask_row(subtask: dict, where: str = "IOI row") -> None:
    """Raises ValueError naming the first field of an open-r1/ioi row that is missing or of the wrong kind."""
    if not isinstance(subtask, dict):
        raise ValueError(f"{where} must be a mapping of the open-r1/ioi columns, got {type(subtask).__name__}")
    missing = [name for name in REQUIRED_FIELDS if subtask.get(name) is None]
    if missing:
        raise ValueError(f"{where} lacks {missing} (open-r1/ioi rows have {list(REQUIRED_FIELDS)})")
    if subtask.get("test_cases") is None and subtask.get("year") is None:
        raise ValueError(f"{where} has neither 'test_cases' nor 'year' (to read its tests from the Hub)")
    names = subtask["test_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{where}['test_names'] must be a list of test names, got {names!r:.100}")
    if not isinstance(subtask["id"], str) or not subtask["id"]:
        raise ValueError(f"{where}['id'] must be the problem's name, got {subtask['id']!r:.100}")
    for number, entry in enumerate(subtask["grader_files"]):
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"{where}['grader_files'][{number}] must be a [name, content] pair, got {entry!r:.100}")


def _test_cases(subtask: dict) -> dict[str, tuple[str, str]]:
    cases = subtask.get("test_cases")
    if cases is None:
        return load_ioi_tests(subtask["year"], subtask["id"])
    if isinstance(cases, dict):
        return cases
    if len(cases) != len(subtask["test_names"]):
        raise ValueError(f"{len(cases)} test_cases for {len(subtask['test_names'])} test_names")
    return dict(zip(subtask["test_names"], cases))


def _input_output(case, name: str) -> tuple[str, str]:
    if isinstance(case, dict):
        case = (case.get("input"), case.get("output"))
    if not (isinstance(case, (list, tuple)) and len(case) == 2 and all(isinstance(part, str) for part in case)):
        raise ValueError(f"test {name!r} must be an (input, output) pair of strings, got {case!r:.100}")
    return case[0], case[1]


def parse_test_score(text: str) -> Optional[float]:
    """The score a cms_ioi run printed, if it is one number in [0, 1]; None for anything else."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def status_of(score: float, feedback: str) -> str:
    """A test's status from its score and the package's feedback (as CMS words it)."""
    if score == 1.0:
        return "AC"
    if score > 0.0:
        return "PA"
    for words, status in (
        ("Compilation error", "CE"),
        ("Memory limit exceeded", "MLE"),
        ("Time limit exceeded", "TLE"),
        ("Output isn't correct", "WA"),
    ):
        if words in feedback:
            return status
    return "RE"


async def execute_ioi(client, data: dict) -> tuple[str, str]:
    """Runs one cms_ioi request; (score text, feedback). Raises PistonError when the worker, not the program, failed."""
    response = await client.send_execute(data)
    if "message" in response:
        raise PistonError(response["message"])
    compiled = response.get("compile")
    if compiled and compiled.get("code") != 0:
        return "0", f"Compilation error exit code {compiled.get('code')}\n{compiled.get('stderr') or ''}"
    run = response.get("run")
    if not isinstance(run, dict):
        raise PistonError(f"Piston answered without a run: {response!r:.300}")
    stderr = run.get("stderr") or ""
    if run.get("code") == 1 and "MemoryError" in stderr:
        return "0", "Memory limit exceeded"
    if run.get("stdout"):
        return run["stdout"], stderr
    if run.get("signal") == "SIGKILL":
        return "0", "Time limit exceeded"
    if run.get("code") not in (0, None):
        raise PistonError(f"cms_ioi run exited {run.get('code')} (signal {run.get('signal')}): {stderr[-500:]}")
    return "0", "Unknown error"


async def run_submission(
    client, problem: dict, test_input: str, submission: str, test_output: Optional[str] = None
) -> tuple[str, str]:
    """Runs `submission` on one test of `problem` (an open-r1/ioi row) with its graders; (score text, feedback)."""
    files = [
        {"name": f"graders/{problem['id'].lower()}.cpp", "content": submission},
        {"name": "input.txt", "content": test_input},
        *([{"name": "correct_output.txt", "content": test_output}] if test_output else []),
        *({"name": name, "content": content} for name, content in problem["grader_files"] if content),
    ]
    data = {
        "files": files,
        "run_timeout": round((problem["time_limit"] + RUN_TIMEOUT_MARGIN_SECONDS) * 1000),
        "run_memory_limit": problem["memory_limit"],
    }
    return await execute_ioi(client, data)


async def score_single_test_case(
    client, subtask: dict, test_name: str, test_input: str, test_output: str, submission: str
) -> TestResult:
    """Runs one test and reads its score (see `parse_test_score`)."""
    text, feedback = await run_submission(client, subtask, test_input, submission, test_output)
    score = parse_test_score(text)
    if score is None:
        score, feedback = 0.0, f"the grader printed {text[:100]!r}, not a score in [0, 1]"
    return TestResult(test_name=test_name, score=score, status=status_of(score, feedback), feedback=feedback)


async def score_subtask(
    client,
    subtask: dict,
    submission: str,
    test_case_run_cache: Optional[dict] = None,
    test_batch_size: int = 1,
) -> SubtaskResult:
    """Scores `submission` on one subtask (an open-r1/ioi row); tests in `test_case_run_cache` are not rerun.

    Tests run `test_batch_size` at a time (<= 0: all at once); after a batch with a test scoring 0, the rest stay
    SKIPPED (score 0). No submission, or a cached failed test, scores 0 without running anything."""
    check_subtask_row(subtask)
    cache = test_case_run_cache if test_case_run_cache is not None else {}
    names = list(subtask["test_names"])
    result = SubtaskResult(
        problem=subtask["id"],
        subtask=subtask["subtask"],
        points=subtask["score"],
        score_precision=subtask["score_precision"],
        test_results=[cache.get(name) or TestResult(test_name=name) for name in names],
    )
    if not submission or any(r.status != "SKIPPED" and r.score == 0.0 for r in result.test_results):
        return result
    to_run = [(index, name) for index, name in enumerate(names) if name not in cache]
    if not to_run:
        return result
    cases = _test_cases(subtask)
    missing = [name for _, name in to_run if name not in cases]
    if missing:
        raise ValueError(f"IOI problem {subtask['id']}: no test case for {missing[:5]}")
    for batch in split_into_batches(to_run, test_batch_size):
        tests = [(index, name, *_input_output(cases[name], name)) for index, name in batch]
        scored = await asyncio.gather(
            *(
                score_single_test_case(client, subtask, name, given, expected, submission)
                for _, name, given, expected in tests
            )
        )
        for (index, name, _, _), test_result in zip(tests, scored):
            cache[name] = test_result
            result.test_results[index] = test_result
        if any(test_result.score == 0.0 for test_result in scored):
            break
    return result


async def score_subtasks(
    client, subtasks: Sequence[dict], submission: str, skip_mode: bool = True
) -> list[SubtaskResult]:
    """Scores every subtask of a problem, running each test once; `skip_mode`: one test at a time, stopping at the
    first failure (else all tests of a subtask at once)."""
    cache: dict[str, TestResult] = {}
    return [
        await score_subtask(client, subtask, submission, cache, test_batch_size=1 if skip_mode else 0)
        for subtask in subtasks
    ]


def run_coroutine(coroutine: Coroutine):
    """Runs `coroutine` to completion from synchronous code, also when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="open-r1-ioi")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


__all__ = [
    "SubtaskResult",
    "TestResult",
    "add_includes",
    "check_subtask_row",
    "execute_ioi",
    "load_ioi_tests",
    "load_ioi_tests_for_year",
    "parse_test_score",
    "run_coroutine",
    "run_submission",
    "score_single_test_case",
    "score_subtask",
    "score_subtasks",
]
