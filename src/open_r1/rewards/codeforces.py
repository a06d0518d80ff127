"""Codeforces: `cf_code_reward`, and the generated tests it reads from CF_TESTS_FOLDER (behind their caches).

    from open_r1.rewards.codeforces import get_cf_code_reward
    reward = get_cf_code_reward(SandboxConfig("piston"))          # the recipe's competitive_programming_provider
    reward(completions, official_tests=[...], id=["2063/A"], official_tests_complete=[True], language=["cpp"])

Rows are those of open-r1/codeforces: `official_tests`, `id` like "2063/A", `language`, `input_mode`. Generated
tests come from `CF_TESTS_FOLDER` (upstream's `test_cases_<contest>.parquet` files, read one contest at a time, or
jsonl/parquet files with `problem_id`, `input`, `output`, read once): for every row when the folder is set, and a
row whose `official_tests_complete` is false needs it. The reward is the scoring mode's score (upstream's
weighted_sum by default: pass_fail + 0.1 * fraction passed), -1.0 without a code block, -0.1 when the program does
not compile; tests run on the competitive-programming provider (upstream: Piston). Rows that cannot be judged get
None with a warning, as in `open_r1.rewards.code`, whose helpers it shares.

Not covered: custom checkers (`generated_checker`; outputs are compared line by line), interactive problems,
`input_mode: file`, and the row's `time_limit` / `memory_limit` (the provider's limits apply).
"""

import glob
import os
import pathlib
from collections.abc import Callable
from functools import lru_cache
from typing import Optional

from open_r1.data.benchmarks import read_jsonl
from open_r1.rewards._completions import completion_texts, prompt_texts
from open_r1.rewards.code import (
    Sandbox,
    as_test_cases,
    check_same_language,
    check_sandbox,
    extract_code,
    optional_column,
    required_column,
    row_language,
    run_submissions,
    shown_in_prompts,
    skip_row,
)
from open_r1.rewards.ioi import DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER
from open_r1.sandbox.base import Submission, check_scoring_mode
from open_r1.sandbox.config import SandboxConfig

CF_NO_SUBMISSION_REWARD = -1.0
CF_NO_COMPILE_REWARD = -0.1
CF_SCORING_MODE = "weighted_sum"  # upstream's
CF_TEST_BATCH_SIZE = 1  # one test at a time: a failure stops the rest

# Upstream's layout of CF_TESTS_FOLDER: one parquet file of generated tests per contest.
CF_CONTEST_TESTS_FILE = "test_cases_{contest:04d}.parquet"
_TEST_COLUMNS = ["problem_id", "input", "output"]


def _read_test_rows(path: str) -> list[dict]:
    if path.endswith(".jsonl"):  # a bad line is named by file and line number
        with open(path, "rb") as handle:  # bytes: a file that is not text is read_jsonl's to name
            if not handle.read().strip():
                return []  # an empty file holds no tests, as before (read_jsonl refuses it)
        return [row for _, row in read_jsonl(pathlib.Path(path), tuple(_TEST_COLUMNS))]
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(path, columns=_TEST_COLUMNS).to_pylist()
    for row in rows:
        missing = set(_TEST_COLUMNS) - set(row)
        if missing:
            raise ValueError(f"{path}: generated test rows need problem_id, input, output; missing {missing}")
    return rows


@lru_cache(maxsize=32)
def get_generated_contest_tests(folder: str, contest_id: str) -> dict[str, list[dict]]:
    """{problem id: [{input, output}]} of one contest, from upstream's layout (`test_cases_0123.parquet`)."""
    try:
        contest = int(contest_id)
    except ValueError:
        raise ValueError(f"Codeforces problem ids look like '2063/A'; got contest {contest_id!r:.50}") from None
    path = os.path.join(folder, CF_CONTEST_TESTS_FILE.format(contest=contest))
    if not os.path.exists(path):
        return {}
    tests: dict[str, list[dict]] = {}
    for row in _read_test_rows(path):
        tests.setdefault(str(row["problem_id"]), []).append({"input": row["input"], "output": row["output"]})
    return tests


@lru_cache(maxsize=1)
def _generated_tests_index(folder: str) -> dict[str, list[dict]]:
    index: dict[str, list[dict]] = {}
    files = sorted(glob.glob(os.path.join(folder, "*.jsonl")) + glob.glob(os.path.join(folder, "*.parquet")))
    if not files:
        raise ValueError(f"CF_TESTS_FOLDER={folder} holds no .jsonl or .parquet files of generated tests")
    for path in files:
        for row in _read_test_rows(path):
            index.setdefault(str(row["problem_id"]), []).append({"input": row["input"], "output": row["output"]})
    return index


@lru_cache(maxsize=1)
def _has_contest_files(folder: str) -> bool:
    return bool(glob.glob(os.path.join(folder, "test_cases_*.parquet")))


def get_generated_tests(problem_id: str) -> list[dict]:
    """Generated tests of a Codeforces problem ('2063/A') from CF_TESTS_FOLDER: upstream's layout (one
    `test_cases_<contest>.parquet` per contest, read one contest at a time) or any .jsonl/.parquet files with
    problem_id, input and output (read once)."""
    folder = os.environ.get("CF_TESTS_FOLDER")
    if not folder:
        raise ValueError(
            f"Problem {problem_id} has incomplete official tests; set CF_TESTS_FOLDER to the folder of generated "
            "tests (open-r1/codeforces' test_cases_<contest>.parquet files, or jsonl/parquet files with problem_id, "
            "input, output)"
        )
    if not os.path.isdir(folder):
        raise ValueError(f"CF_TESTS_FOLDER={folder} is not a folder")
    if _has_contest_files(folder):
        return get_generated_contest_tests(folder, str(problem_id).split("/")[0]).get(str(problem_id), [])
    return _generated_tests_index(folder).get(str(problem_id), [])


def get_cf_code_reward(
    sandbox: Sandbox = SandboxConfig(DEFAULT_COMPETITIVE_PROGRAMMING_PROVIDER),
    language: str = "cpp",
    test_batch_size: Optional[int] = None,
    scoring_mode: Optional[str] = None,
    enforce_same_language: bool = False,
) -> Callable:
    """cf_code_reward running programs on `sandbox`: `scoring_mode` (default `CF_SCORING_MODE`, upstream's) over
    the official and generated tests, `test_batch_size` at a time (default `CF_TEST_BATCH_SIZE`), stopping after a
    batch with a failure."""
    check_sandbox(sandbox, "cf_code_reward")
    scoring_mode = check_scoring_mode(CF_SCORING_MODE if scoring_mode is None else scoring_mode)
    if test_batch_size is None:
        test_batch_size = CF_TEST_BATCH_SIZE
    row_language(None, language)

    def cf_code_reward(completions, **kwargs) -> list[Optional[float]]:
        texts = completion_texts(completions)
        count = len(texts)
        shown = shown_in_prompts(prompt_texts(kwargs.get("prompts"), count))
        official = required_column(kwargs, "official_tests", count, "cf_code_reward")
        ids = optional_column(kwargs, "id", count, "cf_code_reward")
        complete = optional_column(kwargs, "official_tests_complete", count, "cf_code_reward", default=True)
        row_languages = optional_column(kwargs, "language", count, "cf_code_reward")
        input_modes = optional_column(kwargs, "input_mode", count, "cf_code_reward", default="stdio")
        # Upstream adds the generated tests of every problem; they are needed where the official ones are incomplete.
        with_generated = bool(os.environ.get("CF_TESTS_FOLDER"))
        submissions: list[Optional[Submission]] = []
        rewards: list[Optional[float]] = [None] * count
        languages = set()
        for index, text in enumerate(texts):
            raw_tests = official[index] or []
            # Outside the row's try: a missing CF_TESTS_FOLDER is the setup's mistake, for every row alike.
            wanted = with_generated or not complete[index]
            generated = get_generated_tests(ids[index]) if wanted and ids[index] is not None else []
            try:
                if input_modes[index] not in ("stdio", None):
                    raise ValueError(
                        f"input_mode[{index}] is {input_modes[index]!r:.50}: programs here read stdin (only 'stdio')"
                    )
                if not isinstance(raw_tests, list):
                    raise ValueError(f"official_tests[{index}] must be a list of test cases, got {raw_tests!r:.100}")
                tests = as_test_cases(raw_tests + generated, f"official_tests[{index}]", shown[index])
                sample_language = row_language(row_languages[index], language)
            except ValueError as error:
                skip_row("cf_code_reward", index, error)
                submissions.append(None)
                continue
            languages.add(sample_language)
            code = extract_code(text, sample_language)
            if not tests:
                submissions.append(None)  # not a judgeable problem
            elif not code.strip():
                submissions.append(None)
                rewards[index] = CF_NO_SUBMISSION_REWARD
            else:
                submissions.append(Submission(code, sample_language, tests))
        check_same_language(enforce_same_language, languages, "cf_code_reward")
        results = run_submissions(sandbox, submissions, test_batch_size)
        for index, result in enumerate(results):
            if result is None:
                continue
            rewards[index] = CF_NO_COMPILE_REWARD if result.compile_error is not None else result.score(scoring_mode)
        return rewards

    return cf_code_reward


__all__ = ["get_cf_code_reward", "get_generated_contest_tests", "get_generated_tests"]
