"""IOI: `ioi_code_reward`, and subtask scoring on Piston's `cms_ioi` package for rows of open-r1/ioi (one subtask a row).

    from open_r1.rewards.ioi import get_ioi_code_reward
    reward = get_ioi_code_reward(SandboxConfig("piston"))       # the recipe's competitive_programming_provider
    reward(completions, **open_r1_ioi_columns)                  # id, subtask, test_names, grader_files, ...

    from open_r1.rewards.ioi import score_subtask, run_coroutine
    client = piston_client_from_env()                          # open_r1.sandbox.piston
    result = run_coroutine(score_subtask(client, row, add_includes(code, row["id"])))
    result.score                                               # 0..1: the worst test's score

`ioi_code_reward` scores open-r1/ioi rows as upstream's did: each reward is the subtask's score below. Rows with a
`verification_info` column instead use this project's schema on any provider: each subtask of
`verification_info["subtasks"]` ([{"score", "test_cases"}], stdin/stdout tests) earns its points only if all its
tests pass (a subtask worth 0 points, IOI's samples, is not run); the reward is the fraction of points earned. Given
the prompts (as TRL passes them), tests a prompt shows are dropped as in `open_r1.rewards.code`, and a subtask it
shows whole (the statement's examples) is not run, its points not at stake. A row is one submission whose subtasks are its groups
(`Submission.grouped`): the program compiles once for the row, each subtask stops at its own first failed batch,
and the row's time (compile plus every subtask) is bounded by the provider's `Limits.submission_wall_seconds`. Rows that cannot be judged get None with a warning, as
in `open_r1.rewards.code`, whose helpers it shares.

A row holds `id` (problem), `subtask`, `score` (points), `score_precision`, `test_names`, `grader_files`
([name, content] pairs, among them `graders/grader_config.json`), `time_limit` (seconds), `memory_limit` (MB) and
either `test_cases` (a list of (input, output) pairs aligned with `test_names`, or a mapping name -> (input,
output)) or `year` (tests are then read from the Hub dataset open-r1/ioi-test-cases). A subtask scores the minimum
of its tests (IOI awards a subtask only as far as every test passes); tests run `test_batch_size` at a time and stop
after a batch with a failed test; `score_subtask`'s `test_case_run_cache` shares results of tests that several
subtasks hold (upstream's `score_subtasks`, in `open_r1.utils.competitive_programming.ioi_scoring`).

A test runs on the `cms_ioi` package, which compiles the submission (`graders/<id>.cpp`) with the grader files and
runs it on `input.txt`. The expected output never travels with the submission: the package compiles in the folder
that holds it, where `.incbin "correct_output.txt"` would build the answer into the program. Instead:
- a Batch task without a checker: the package prints the program's output, compared here with `outputs_match`;
- a task with a checker (`checker/checker.cpp`): a second request, without the submission, replays the program's
  recorded output to the checker beside the expected output; the checker's score is the test's.
Communication tasks are not judged (their rows get None with a warning): the package runs the program beside its
manager, as one user in one box, where the program can read the manager's input (its secrets) and replace the
file the manager's verdict is printed from.
A test that expects no output where the expected output is compared cannot be judged (a program printing nothing
would pass it): its row gets None with a warning, as in `open_r1.rewards.code`.

The score a worker prints is parsed strictly and kept within [0, 1] (anything else scores 0), and a run whose
program failed (killed, out of time, crashed) scores 0 whatever it printed.

Not covered: running IOI graders anywhere but Piston's `cms_ioi` package (the other providers run one program on
stdin/stdout and compare its output: the `verification_info` schema above).
"""

import asyncio
import json
import logging
import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Optional

from open_r1.rewards._completions import completion_texts, prompt_texts
from open_r1.rewards.code import (
    NothingUnseen,
    OneAnswer,
    Sandbox,
    as_test_cases,
    check_same_language,
    check_sandbox,
    expects_nothing,
    extract_code,
    optional_column,
    parse_verification_info,
    passed_columns,
    provider_of,
    required_column,
    row_language,
    run_submissions,
    shown_in_prompts,
    skip_row,
)
from open_r1.sandbox.base import Submission, outputs_match, split_into_batches
from open_r1.sandbox.config import SandboxConfig
from open_r1.sandbox.piston import PistonError

logger = logging.getLogger(__name__)

# open-r1/ioi rows need Piston's cms_ioi package; upstream ran its Codeforces reward on Piston too, so both
# competitive-programming rewards run there unless the recipe's competitive_programming_provider says otherwise.
DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER = "piston"
IOI_TEST_BATCH_SIZE = 1  # one test at a time: a subtask stops at its first failure

# Worst first: a subtask's status is its worst test's.
STATUS_ORDER = {"CE": -1, "RE": 0, "WA": 1, "MLE": 2, "TLE": 3, "PA": 4, "AC": 5, "SKIPPED": 999}
# The cms_ioi run gets this much wall time beyond the problem's time limit, which the package enforces itself.
RUN_TIMEOUT_MARGIN_SECONDS = 3
REQUIRED_FIELDS = ("id", "subtask", "score", "score_precision", "test_names", "grader_files", "time_limit")
REQUIRED_FIELDS += ("memory_limit",)
# The dataset columns ioi_code_reward reads into a row.
IOI_ROW_COLUMNS = REQUIRED_FIELDS + ("test_cases", "year")
# Where the cms_ioi package reads a problem's task type and finds its checker.
GRADER_CONFIG_FILE = "graders/grader_config.json"
CHECKER_FOLDER = "checker/"
TASK_TYPES = ("Batch",)  # the task types judged here: see the module docstring for Communication
# When the program (or a manager) fails, the package prints "0" and exits 0: only these words on stderr tell the
# failure from a program whose output is "0". A program can write them itself only to fail.
PROGRAM_FAILED = re.compile(r"Time limit exceeded \(|Runtime error with exit code|Memory limit exceeded \(")
# The checker's request: a program of ours that prints the output the submission's run recorded.
REPLAY_NAME = "replay"
RECORDED_OUTPUT_FILE = "recorded_output.txt"
REPLAY_SOURCE = f"""#include <cstdio>
int main() {{
    std::FILE* recorded = std::fopen("{RECORDED_OUTPUT_FILE}", "rb");
    if (!recorded) return 0;
    char buffer[1 << 16];
    for (std::size_t size; (size = std::fread(buffer, 1, sizeof buffer, recorded)) > 0;)
        std::fwrite(buffer, 1, size, stdout);
}}
"""


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
    task_judging(subtask, where)


@dataclass(frozen=True)
class TaskJudging:
    """How cms_ioi judges a (Batch) problem's tests: its grader configuration, and its checker's files."""

    grader_config: dict
    checker_files: tuple[tuple[str, str], ...]


def task_judging(problem: dict, where: str = "IOI row") -> TaskJudging:
    """The row's `TaskJudging`, read from its grader files; ValueError naming the file when it is missing or bad."""
    files = {name: content for name, content in problem["grader_files"]}
    if GRADER_CONFIG_FILE not in files:
        raise ValueError(
            f"{where}['grader_files'] lacks {GRADER_CONFIG_FILE!r}, where cms_ioi reads the task type; it has "
            f"{sorted(files)[:10]}"
        )
    try:
        config = json.loads(files[GRADER_CONFIG_FILE])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {GRADER_CONFIG_FILE} is not JSON ({error})") from None
    task_type = config.get("task_type") if isinstance(config, dict) else None
    if task_type == "Communication":
        raise ValueError(
            f"{where} is a Communication task, which cms_ioi runs beside its manager as one user in one box, where the "
            "program can read the manager's input and replace its verdict: its score cannot be trusted"
        )
    if task_type not in TASK_TYPES:
        raise ValueError(f"{where}: {GRADER_CONFIG_FILE} has task_type {task_type!r}; judged here: {TASK_TYPES}")
    checker = tuple((name, content) for name, content in files.items() if name.startswith(CHECKER_FOLDER) and content)
    return TaskJudging(config, checker)


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


@dataclass(frozen=True)
class CmsRun:
    """One cms_ioi request's outcome: what the run printed (None when the program failed), and its stderr or why."""

    output: Optional[str]
    feedback: str


async def send_cms_ioi(client, data: dict) -> CmsRun:
    """Runs one cms_ioi request. Raises PistonError when the worker or the package, not the program, failed."""
    response = await client.send_execute(data)
    if "message" in response:
        raise PistonError(response["message"])
    compiled = response.get("compile")
    if compiled and compiled.get("code") != 0:
        return CmsRun(None, f"Compilation error exit code {compiled.get('code')}\n{compiled.get('stderr') or ''}")
    run = response.get("run")
    if not isinstance(run, dict):
        raise PistonError(f"Piston answered without a run: {response!r:.300}")
    stderr = run.get("stderr") or ""
    if run.get("code") == 1 and "MemoryError" in stderr:
        return CmsRun(None, "Memory limit exceeded")
    if run.get("status") == "OL":
        return CmsRun(None, "Output limit exceeded")
    # A run killed before its checker spoke printed no score: what it printed may be the program's own "1".
    if run.get("signal") == "SIGKILL":
        return CmsRun(None, "Time limit exceeded")
    if run.get("signal") is not None:
        return CmsRun(None, f"Killed by {run['signal']}")
    if PROGRAM_FAILED.search(stderr):
        return CmsRun(None, stderr[-500:])
    if run.get("stdout"):  # whatever the exit code: a checker may exit 1 for a wrong answer, after its score
        return CmsRun(run["stdout"], stderr)
    if run.get("code") not in (0, None):
        raise PistonError(f"cms_ioi run exited {run.get('code')} (signal {run.get('signal')}): {stderr[-500:]}")
    return CmsRun("", stderr)


def _request(problem: dict, files: list[dict]) -> dict:
    return {
        "files": files,
        "run_timeout": round((problem["time_limit"] + RUN_TIMEOUT_MARGIN_SECONDS) * 1000),
        "run_memory_limit": problem["memory_limit"],
    }


async def run_submission(
    client, problem: dict, test_input: str, submission: str, test_output: Optional[str] = None
) -> tuple[str, str]:
    """Runs `submission` on one test of `problem` (an open-r1/ioi row) with its graders and judges its output
    against `test_output` (see the module docstring); (score text, feedback)."""
    judging = task_judging(problem)
    if test_output is None or expects_nothing(test_output):
        raise ValueError(f"IOI problem {problem['id']}: a test expects no output, which printing nothing passes")
    graders = [
        {"name": name, "content": content}
        for name, content in problem["grader_files"]
        if content and not name.startswith(CHECKER_FOLDER)
    ]
    files = [
        {"name": f"graders/{problem['id'].lower()}.cpp", "content": submission},
        {"name": "input.txt", "content": test_input},
        *graders,
    ]
    ran = await send_cms_ioi(client, _request(problem, files))
    if ran.output is None:
        return "0", ran.feedback
    if not judging.checker_files:
        if outputs_match(ran.output, test_output):
            return "1", "Output is correct"
        return "0", "Output isn't correct"
    return await check_recorded_output(client, problem, judging, test_input, test_output, ran.output)


async def check_recorded_output(
    client, problem: dict, judging: TaskJudging, test_input: str, test_output: str, recorded: str
) -> tuple[str, str]:
    """The problem's checker's verdict on a program's recorded output, from a request that holds no submission: a
    program of ours replays the output as a Batch task's, and the package runs the checker on it."""
    config = {"task_type": "Batch", "code": REPLAY_NAME}
    config |= {
        key: judging.grader_config[key] for key in ("time_limit", "memory_limit") if key in judging.grader_config
    }
    files = [
        {"name": f"graders/{REPLAY_NAME}.cpp", "content": REPLAY_SOURCE},
        {"name": f"graders/{REPLAY_NAME}.h", "content": "// the recorded output's replay, for the checker\n"},
        {"name": GRADER_CONFIG_FILE, "content": json.dumps(config, separators=(",", ":"))},
        *({"name": name, "content": content} for name, content in judging.checker_files),
        {"name": "input.txt", "content": test_input},
        {"name": "correct_output.txt", "content": test_output},
        *([{"name": RECORDED_OUTPUT_FILE, "content": recorded}] if recorded else []),
    ]
    checked = await send_cms_ioi(client, _request(problem, files))
    if checked.output is None:
        raise PistonError(f"IOI problem {problem['id']}: the checker's run failed: {checked.feedback[-500:]}")
    return checked.output, checked.feedback


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
    empty = [name for _, name in to_run if expects_nothing(_input_output(cases[name], name)[1])]
    if empty:
        raise ValueError(
            f"IOI problem {subtask['id']}: tests {empty[:5]} expect no output, which printing nothing passes"
        )
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


# ---------------------------------------------------------------------------------------------
# The reward
# ---------------------------------------------------------------------------------------------


def get_ioi_code_reward(
    sandbox: Sandbox = SandboxConfig(DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER),
    language: str = "cpp",
    test_batch_size: Optional[int] = None,
    enforce_same_language: bool = False,
) -> Callable:
    """ioi_code_reward running programs on `sandbox`: open-r1/ioi rows on Piston's cms_ioi package, or rows with a
    `verification_info` column of subtasks on any provider (see the module docstring). `test_batch_size` tests run
    at a time (default `IOI_TEST_BATCH_SIZE`), stopping after a batch with a failure."""
    check_sandbox(sandbox, "ioi_code_reward")
    row_language(None, language)
    if test_batch_size is None:
        test_batch_size = IOI_TEST_BATCH_SIZE

    def ioi_code_reward(completions, **kwargs) -> list[Optional[float]]:
        texts = completion_texts(completions)
        if kwargs.get("verification_info") is None and kwargs.get("test_names") is not None:
            return _score_ioi_rows(texts, kwargs, sandbox, test_batch_size)
        if kwargs.get("verification_info") is None:
            raise ValueError(
                "ioi_code_reward needs the open-r1/ioi columns (test_names, grader_files, ...) or a "
                f"'verification_info' column with 'subtasks'; the columns passed were {passed_columns(kwargs)}"
            )
        infos = required_column(kwargs, "verification_info", len(texts), "ioi_code_reward")
        shown = shown_in_prompts(prompt_texts(kwargs.get("prompts"), len(texts)))
        points: list[list[float]] = []  # per completion: each subtask's points
        submissions: list[Optional[Submission]] = []
        languages = set()
        for index, (text, info) in enumerate(zip(texts, infos)):
            points.append([])
            submissions.append(None)
            try:
                info = parse_verification_info(info, index, "ioi_code_reward")
                subtasks = info.get("subtasks")
                if not isinstance(subtasks, list) or not subtasks:
                    raise ValueError(f"verification_info[{index}] needs a non-empty 'subtasks' list")
                sample_language = row_language(info.get("language"), language)
                groups, examples = [], None
                for number, subtask in enumerate(subtasks):
                    where = f"verification_info[{index}]['subtasks'][{number}]"
                    if not isinstance(subtask, dict):
                        raise ValueError(
                            f"{where} must be a mapping with 'score' and 'test_cases', got {subtask!r:.100}"
                        )
                    subtask_points = float(subtask.get("score", 1.0))
                    if subtask_points == 0:
                        continue  # IOI's samples subtask: no points to earn, so nothing to run
                    try:
                        groups.append(as_test_cases(subtask.get("test_cases"), where + "['test_cases']", shown[index]))
                    except (NothingUnseen, OneAnswer) as error:
                        # The statement's examples, or one output for all: a replay or a constant would pass them, so
                        # their points are not at stake.
                        examples = error
                        continue
                    points[index].append(subtask_points)
                if not groups and examples is not None:
                    raise examples
            except (ValueError, TypeError) as error:
                points[index] = []  # nothing planned for the row: its reward is None
                skip_row("ioi_code_reward", index, error)
                continue
            languages.add(sample_language)
            code = extract_code(text, sample_language)
            if code.strip() and any(groups):
                # One submission per row, its subtasks as groups: the program compiles once for all of them.
                submissions[index] = Submission.grouped(code, sample_language, groups)
        check_same_language(enforce_same_language, languages, "ioi_code_reward")
        results = run_submissions(sandbox, submissions, test_batch_size)
        rewards: list[Optional[float]] = []
        for row_points, submission, result in zip(points, submissions, results):
            available = sum(row_points)
            if available <= 0:
                rewards.append(None)
                continue
            # pass_fail per subtask: IOI awards a subtask's points only when all of its tests pass.
            passed = result.split(submission.group_sizes) if result is not None else [None] * len(row_points)
            earned = sum(p for p, part in zip(row_points, passed) if part is not None and part.all_passed)
            rewards.append(earned / available)
        return rewards

    return ioi_code_reward


def _score_ioi_rows(texts: list[str], kwargs: dict, sandbox: Sandbox, batch_size: int) -> list[Optional[float]]:
    """open-r1/ioi rows (one subtask each) on Piston's cms_ioi package: each reward is the subtask's score, the
    worst of its tests' scores."""
    from open_r1.sandbox.piston import PistonProvider

    count = len(texts)
    columns = {
        name: optional_column(kwargs, name, count, "ioi_code_reward") for name in IOI_ROW_COLUMNS if name in kwargs
    }
    rows = [{name: values[index] for name, values in columns.items()} for index in range(count)]
    runner = provider_of(sandbox)
    if not isinstance(runner, PistonProvider):
        raise ValueError(
            "ioi_code_reward: open-r1/ioi rows are judged with their graders by Piston's cms_ioi package, so they "
            f"need competitive_programming_provider 'piston'; got {type(runner).__name__}. Other providers take "
            "verification_info rows with 'subtasks' of stdin/stdout tests."
        )

    async def score(index: int, row: dict) -> Optional[float]:
        try:
            check_subtask_row(row, f"row {index}")
            if row["score"] == 0:
                raise ValueError(
                    f"row {index} is a subtask worth 0 points (IOI's samples, which the statement shows): a program "
                    "printing the examples would pass it"
                )
        except ValueError as error:
            skip_row("ioi_code_reward", index, error)
            return None
        code = add_includes(extract_code(texts[index], "cpp"), row["id"])
        try:
            return float((await score_subtask(runner.client, row, code, test_batch_size=batch_size)).score)
        except ValueError as error:  # the row's tests are malformed
            skip_row("ioi_code_reward", index, error)
            return None
        except Exception as error:  # the fleet failed, not the program: reward 0, training goes on
            logger.warning("ioi_code_reward: row %d: Piston failed (reward 0): %s", index, error)
            return 0.0

    async def score_all() -> list[Optional[float]]:
        return list(await asyncio.gather(*(score(index, row) for index, row in enumerate(rows))))

    return run_coroutine(score_all())


__all__ = [
    "DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER",
    "CmsRun",
    "SubtaskResult",
    "TaskJudging",
    "TestResult",
    "add_includes",
    "check_recorded_output",
    "check_subtask_row",
    "get_ioi_code_reward",
    "load_ioi_tests",
    "load_ioi_tests_for_year",
    "parse_test_score",
    "run_coroutine",
    "run_submission",
    "score_single_test_case",
    "score_subtask",
    "send_cms_ioi",
    "task_judging",
]
