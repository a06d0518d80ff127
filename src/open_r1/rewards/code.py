"""Code rewards: run the program in a completion against the row's tests and score it.

    from open_r1.rewards.code import build_code_reward_funcs
    rewards = build_code_reward_funcs(script_args)          # {"code", "binary_code", "ioi_code", "cf_code"}
    rewards["code"](completions, verification_info=[{"language": "python", "test_cases": [...]}, ...])

Rewards (upstream open-r1 names, each `(completions, **kwargs) -> list[float | None]`):
- `code_reward`: the last fenced code block of each completion runs on `verification_info["test_cases"]`
  (stdin/stdout); as upstream, every test runs and the reward is the fraction passed. With
  `code_reward_scoring: code_eval` it is scored like cf_code instead: `code_eval_scoring_mode` (pass_fail,
  partial = fraction passed, weighted_sum = pass_fail + 0.1 * fraction), `code_eval_test_batch_size` tests at a
  time, stopping after the first batch with a failure (the remaining tests count as failed).
- `binary_code_reward`: 1.0 when every test passes, else 0.0.
- `ioi_code_reward`: rows of open-r1/ioi (one subtask each: `id`, `subtask`, `test_names`, `grader_files`, ...)
  run with their graders on Piston's cms_ioi package and score as upstream's (`open_r1.rewards.ioi`: the
  subtask's worst test score). Rows with a `verification_info` column instead use this project's schema on
  any provider: each subtask of `verification_info["subtasks"]` ([{"score", "test_cases"}]) earns its points
  only if all its tests pass; the reward is the fraction of points earned. Runs on `ioi_provider`.
- `cf_code_reward`: Codeforces rows of open-r1/codeforces (`official_tests`, `id` like "2063/A", `language`,
  `input_mode`), plus generated tests from `CF_TESTS_FOLDER` (upstream's `test_cases_<contest>.parquet` files,
  or jsonl/parquet files with `problem_id`, `input`, `output`): for every row when the folder is set, and a row
  whose `official_tests_complete` is false needs it. -1.0 without a code block, -0.1 when it does not compile.
  Runs on `ioi_provider` (upstream ran it on Piston).
Programs run on `code_provider` (local by default, see `open_r1.sandbox`); a provider failure yields reward 0
and a warning, never an exception in training. A row without tests yields None (TRL then ignores it), and so
does a row that cannot be judged (a language no sandbox runs or that is not a name, a test whose input or output
is None, malformed test cases or subtasks), with a warning: the other rows of the batch are graded. A reward
built for a language no sandbox runs, or a missing column, is an error at once.

Upstream's per-call options (`PER_CALL_OPTIONS`: provider_type, num_parallel, router URLs, test_batch_size,
scoring_mode, enforce_same_language, patch_code) override the configuration for that call where the reward has a
meaning for them; where it has none (scoring_mode for the binary and IOI rewards, patch_code=True) they are a
TypeError naming them, never ignored. Fenced blocks are found by one left-to-right scan (`code_blocks`).

Not covered: custom checkers (`generated_checker`): outputs are compared line by line ignoring surrounding
whitespace, as most judges do; interactive problems.
"""

import asyncio
import glob
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Optional

from open_r1.rewards._completions import completion_texts
from open_r1.sandbox.base import SCORING_MODES, CodeExecutionProvider, Submission, TestCase
from open_r1.sandbox.factory import DEFAULT_NUM_PARALLEL, DEFAULT_PROVIDER, get_provider
from open_r1.sandbox.languages import DEFAULT_LANGUAGE, canonical_language, fence_tags

logger = logging.getLogger(__name__)

CF_NO_SUBMISSION_REWARD = -1.0
CF_NO_COMPILE_REWARD = -0.1
# Defaults of the code rewards (GRPOScriptArguments imports them from here).
DEFAULT_TEST_BATCH_SIZE = 1
DEFAULT_SCORING_MODE = "weighted_sum"
# code_reward's own scoring, as upstream's: every test runs and the reward is the fraction passed. "code_eval"
# scores it like cf_code, with code_eval_scoring_mode and code_eval_test_batch_size (early stopping).
CODE_REWARD_SCORINGS = ("fraction", "code_eval")
DEFAULT_CODE_REWARD_SCORING = "fraction"
ALL_TESTS = 0  # a test batch size that runs every test in one batch (no early stopping)
FRACTION_SCORING_MODE = "partial"
# IOI and Codeforces problems run on a Piston fleet unless `ioi_provider` says otherwise.
DEFAULT_IOI_PROVIDER = "piston"


_FENCE = "```"
_FENCE_TAG = re.compile(r"[A-Za-z0-9_+\-]*")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(tag, code) of every fenced block, left to right: "```tag ...\n" opens one, the next "```" closes it.

    A single left-to-right scan with `str.find`, so the time is linear in the text's length whatever it holds
    (a regex with a lazy body is quadratic on long runs of backticks, which a policy can write).
    """
    blocks = []
    position = 0
    while True:
        start = text.find(_FENCE, position)
        if start < 0:
            return blocks
        line_end = text.find("\n", start + len(_FENCE))
        if line_end < 0:
            return blocks  # no newline after this fence, so none after any later one either
        end = text.find(_FENCE, line_end + 1)
        if end < 0:
            return blocks  # unclosed: every later opening would be unclosed too
        tag = _FENCE_TAG.match(text, start + len(_FENCE), line_end).group()
        blocks.append((tag, text[line_end + 1 : end]))
        position = end + len(_FENCE)


def extract_code(completion: str, language: Optional[str] = DEFAULT_LANGUAGE) -> str:
    """The last fenced code block (preferring blocks tagged `language`), or '' when there is none or `language` is
    None (as upstream: a row without a language has no code to run)."""
    if language is None:
        return ""
    blocks = code_blocks(completion)
    tags = fence_tags(language)
    tagged = [code for tag, code in blocks if tag.lower() in tags]
    chosen = tagged or [code for tag, code in blocks if not tag]
    return chosen[-1] if chosen else ""


def _as_test_cases(raw_tests, where: str) -> tuple[TestCase, ...]:
    if not isinstance(raw_tests, list):
        raise ValueError(f"{where} must be a list of {{'input', 'output'}} test cases, got {type(raw_tests).__name__}")
    tests = []
    for index, test in enumerate(raw_tests):
        if not isinstance(test, dict) or "input" not in test or "output" not in test:
            raise ValueError(f"{where}[{index}] must have 'input' and 'output', got {test!r:.200}")
        if test.get("type", "stdin_stdout") != "stdin_stdout":
            raise ValueError(f"{where}[{index}] has type {test['type']!r}; only 'stdin_stdout' tests are supported")
        for field_name in ("input", "output"):
            value = test[field_name]
            # None would be compared as the text "None" (and pass against a program printing it).
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ValueError(f"{where}[{index}]['{field_name}'] must be a string, got {value!r:.100}")
        tests.append(TestCase(str(test["input"]), str(test["output"])))
    return tuple(tests)


def _passed_columns(kwargs: dict) -> list[str]:
    return sorted(k for k in kwargs if k not in ("trainer_state", "log_extra", "log_metric"))


def _column(kwargs: dict, name: str, count: int, reward_name: str) -> list:
    if kwargs.get(name) is None:
        raise ValueError(
            f"{reward_name} needs a dataset column '{name}'; the columns passed were {_passed_columns(kwargs)}"
        )
    return _optional_column(kwargs, name, count, reward_name)


def _optional_column(kwargs: dict, name: str, count: int, reward_name: str, default=None) -> list:
    """A dataset column: one value per completion (`default` for each when the column was not passed)."""
    values = kwargs.get(name)
    if values is None:
        return [default] * count
    if not isinstance(values, (list, tuple)):
        raise ValueError(
            f"{reward_name}: '{name}' must be a dataset column (a list with one value per completion), "
            f"got {values!r:.100}"
        )
    if len(values) != count:
        raise ValueError(f"{reward_name}: got {count} completions but {len(values)} values in '{name}'")
    return list(values)


def _row_language(value, default: str) -> str:
    """The canonical language of a row: its own, else the reward's; raises (ValueError) naming a bad one."""
    return canonical_language(default if value is None or value == "" else value)


def _skip_row(reward_name: str, index: int, error: Exception) -> None:
    # One bad row costs that row's reward only, never the batch's.
    logger.warning("%s: row %d cannot be judged (reward None): %s", reward_name, index, error)


def _verification_info(value, index: int, reward_name: str) -> dict:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(f"{reward_name}: verification_info[{index}] must be a mapping, got {value!r:.200}")
    return value


def _run(provider: CodeExecutionProvider, submissions: list[Optional[Submission]], batch_size: int) -> list:
    """Results aligned with `submissions` (None entries are not run)."""
    to_run = [s for s in submissions if s is not None]
    results = iter(provider.execute(to_run, test_batch_size=batch_size) if to_run else [])
    return [next(results) if s is not None else None for s in submissions]


# ---------------------------------------------------------------------------------------------
# Reward factories
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderChoice:
    """A provider by name and settings, built once and shared (`open_r1.sandbox.get_provider`) on first use.

    Rewards built from a recipe hold one, so that a per-call option (`num_parallel=4`) changes only that setting
    of the configured provider."""

    name: str = DEFAULT_PROVIDER
    num_parallel: int = DEFAULT_NUM_PARALLEL
    e2b_router_url: Optional[str] = None
    morph_router_url: Optional[str] = None

    def __call__(self) -> CodeExecutionProvider:
        return get_provider(self.name, self.num_parallel, self.e2b_router_url, self.morph_router_url)


# Per-call options of upstream's code rewards. TRL passes dataset columns as keyword arguments too, so only these
# names are taken as options: each reward honours the ones it has a meaning for and refuses the others by name
# (a TypeError), never ignores them.
PER_CALL_OPTIONS = (
    "provider_type",
    "num_parallel",
    "e2b_router_url",
    "morph_router_url",
    "enforce_same_language",
    "test_batch_size",
    "scoring_mode",
    "patch_code",
)
_PROVIDER_OPTIONS = {"provider_type": "name", "num_parallel": "num_parallel"}
_PROVIDER_OPTIONS |= {"e2b_router_url": "e2b_router_url", "morph_router_url": "morph_router_url"}


def _call_options(
    kwargs: dict,
    reward_name: str,
    provider: Callable[[], CodeExecutionProvider],
    test_batch_size: int,
    scoring_mode: Optional[str],
    fixed_scoring: str = "",
) -> dict:
    """The options of one call: the reward's configuration, overridden by per-call options (popped from kwargs).

    `scoring_mode=None`: the reward has no scoring mode, for the reason `fixed_scoring`."""
    given = {name: kwargs.pop(name) for name in PER_CALL_OPTIONS if name in kwargs}
    refused = {}
    if "scoring_mode" in given and scoring_mode is None:
        refused["scoring_mode"] = fixed_scoring
    # Upstream patches Codeforces programs (fast I/O...) on request; here they run as written, which is what
    # patch_code=False asks for, and only cf_code_reward has the option at all.
    if "patch_code" in given and (given["patch_code"] or reward_name != "cf_code_reward"):
        refused["patch_code"] = "programs run as written"
    if refused:
        reasons = "; ".join(f"{name}={given[name]!r:.60} ({why})" for name, why in refused.items())
        raise TypeError(f"{reward_name} cannot honour {reasons}")
    options = {
        "provider": provider,
        "test_batch_size": given.get("test_batch_size", test_batch_size),
        "scoring_mode": given.get("scoring_mode", scoring_mode),
        "enforce_same_language": bool(given.get("enforce_same_language", False)),
    }
    if scoring_mode is not None and options["scoring_mode"] not in SCORING_MODES:
        raise ValueError(
            f"{reward_name}: scoring_mode must be one of {SCORING_MODES}, got {options['scoring_mode']!r}"
        )
    overrides = {_PROVIDER_OPTIONS[name]: given[name] for name in _PROVIDER_OPTIONS if name in given}
    if overrides:
        if isinstance(provider, ProviderChoice):
            chosen = replace(provider, **overrides)
        elif "name" in overrides:
            chosen = ProviderChoice(**overrides)
        else:
            raise TypeError(
                f"{reward_name} got {sorted(set(given) & set(_PROVIDER_OPTIONS))} without provider_type, but it was "
                f"built with a custom provider ({provider!r:.80}) whose settings it cannot change; pass provider_type "
                "as well"
            )
        options["provider"] = chosen
    return options


BINARY_SCORING = "binary_code_reward is 1.0 when every test passes, else 0.0"
IOI_SCORING = "IOI subtasks earn their points only when all their tests pass"


def _check_same_language(options: dict, languages: set, reward_name: str) -> None:
    if options["enforce_same_language"] and len(languages) > 1:
        raise ValueError(f"{reward_name}: enforce_same_language is set but the rows use {sorted(languages)}")


def get_code_reward(
    provider: Callable[[], CodeExecutionProvider],
    language: str = DEFAULT_LANGUAGE,
    test_batch_size: int = ALL_TESTS,
    scoring_mode: str = FRACTION_SCORING_MODE,
    binary: bool = False,
) -> Callable:
    """code_reward (or binary_code_reward) on `provider`; by default upstream's: every test runs and the reward is
    the fraction passed (binary: 1.0 when all pass). `scoring_mode` / `test_batch_size` choose another scoring."""
    if scoring_mode not in SCORING_MODES:
        raise ValueError(f"code_eval_scoring_mode must be one of {SCORING_MODES}, got {scoring_mode!r}")
    canonical_language(language)  # a reward built for a language no sandbox runs fails here, not mid-training
    reward_name = "binary_code_reward" if binary else "code_reward"

    def code_reward(completions, **kwargs) -> list[Optional[float]]:
        options = _call_options(
            kwargs, reward_name, provider, test_batch_size, None if binary else scoring_mode, BINARY_SCORING
        )
        texts = completion_texts(completions)
        infos = _column(kwargs, "verification_info", len(texts), reward_name)
        submissions: list[Optional[Submission]] = []
        judgeable = []  # True: has tests; False: no tests (None); None: a malformed row (None, warned)
        languages = set()
        for index, (text, info) in enumerate(zip(texts, infos)):
            try:
                info = _verification_info(info, index, reward_name)
                tests = _as_test_cases(info.get("test_cases"), f"verification_info[{index}]['test_cases']")
                sample_language = _row_language(info.get("language"), language)
            except ValueError as error:
                _skip_row(reward_name, index, error)
                judgeable.append(None)
                submissions.append(None)
                continue
            languages.add(sample_language)
            code = extract_code(text, sample_language)
            judgeable.append(bool(tests))
            submissions.append(Submission(code, sample_language, tests) if tests and code.strip() else None)
        _check_same_language(options, languages, reward_name)
        results = _run(options["provider"](), submissions, options["test_batch_size"])
        rewards = []
        for has_tests, result in zip(judgeable, results):
            if result is None:
                rewards.append(0.0 if has_tests else None)  # no code block: 0; no tests or a bad row: cannot judge
            elif binary:
                rewards.append(1.0 if result.all_passed else 0.0)
            else:
                rewards.append(result.score(options["scoring_mode"]))
        return rewards

    code_reward.__name__ = reward_name
    return code_reward


def get_ioi_code_reward(
    provider: Callable[[], CodeExecutionProvider],
    language: str = "cpp",
    test_batch_size: int = DEFAULT_TEST_BATCH_SIZE,
) -> Callable:
    canonical_language(language)

    def ioi_code_reward(completions, **kwargs) -> list[Optional[float]]:
        options = _call_options(kwargs, "ioi_code_reward", provider, test_batch_size, None, IOI_SCORING)
        texts = completion_texts(completions)
        if kwargs.get("verification_info") is None and kwargs.get("test_names") is not None:
            return _score_ioi_rows(texts, kwargs, options)
        if kwargs.get("verification_info") is None:
            raise ValueError(
                "ioi_code_reward needs the open-r1/ioi columns (test_names, grader_files, ...) or a "
                f"'verification_info' column with 'subtasks'; the columns passed were {_passed_columns(kwargs)}"
            )
        infos = _column(kwargs, "verification_info", len(texts), "ioi_code_reward")
        plan = []  # (completion index, subtask points) per submission
        submissions: list[Optional[Submission]] = []
        languages = set()
        for index, (text, info) in enumerate(zip(texts, infos)):
            try:
                info = _verification_info(info, index, "ioi_code_reward")
                subtasks = info.get("subtasks")
                if not isinstance(subtasks, list) or not subtasks:
                    raise ValueError(f"verification_info[{index}] needs a non-empty 'subtasks' list")
                sample_language = _row_language(info.get("language"), language)
                row = []
                for number, subtask in enumerate(subtasks):
                    where = f"verification_info[{index}]['subtasks'][{number}]"
                    if not isinstance(subtask, dict):
                        raise ValueError(
                            f"{where} must be a mapping with 'score' and 'test_cases', got {subtask!r:.100}"
                        )
                    tests = _as_test_cases(subtask.get("test_cases"), where + "['test_cases']")
                    row.append((float(subtask.get("score", 1.0)), tests))
            except (ValueError, TypeError) as error:
                _skip_row("ioi_code_reward", index, error)
                continue  # nothing planned for the row: its reward is None
            languages.add(sample_language)
            code = extract_code(text, sample_language)
            for points, tests in row:
                plan.append((index, points))
                submissions.append(Submission(code, sample_language, tests) if code.strip() and tests else None)
        _check_same_language(options, languages, "ioi_code_reward")
        # pass_fail per subtask: IOI awards a subtask's points only when all of its tests pass.
        results = _run(options["provider"](), submissions, options["test_batch_size"])
        earned = [0.0] * len(texts)
        available = [0.0] * len(texts)
        for (index, points), result in zip(plan, results):
            available[index] += points
            earned[index] += points if result is not None and result.all_passed else 0.0
        return [earned[i] / available[i] if available[i] > 0 else None for i in range(len(texts))]

    return ioi_code_reward


def _score_ioi_rows(texts: list[str], kwargs: dict, options: dict) -> list[Optional[float]]:
    """open-r1/ioi rows (one subtask each) on Piston's cms_ioi package: each reward is the subtask's score, the
    worst of its tests' scores (see open_r1.rewards.ioi)."""
    from open_r1.rewards.ioi import IOI_ROW_COLUMNS, add_includes, check_subtask_row, run_coroutine, score_subtask
    from open_r1.sandbox.piston import PistonProvider

    count = len(texts)
    columns = {
        name: _optional_column(kwargs, name, count, "ioi_code_reward") for name in IOI_ROW_COLUMNS if name in kwargs
    }
    rows = [{name: values[index] for name, values in columns.items()} for index in range(count)]
    runner = options["provider"]()
    if not isinstance(runner, PistonProvider):
        raise ValueError(
            "ioi_code_reward: open-r1/ioi rows are judged with their graders by Piston's cms_ioi package, so they "
            f"need ioi_provider (or provider_type) 'piston'; got {type(runner).__name__}. Other providers take "
            "verification_info rows with 'subtasks' of stdin/stdout tests."
        )
    batch_size = options["test_batch_size"]

    async def score(index: int, row: dict) -> Optional[float]:
        try:
            check_subtask_row(row, f"row {index}")
        except ValueError as error:
            _skip_row("ioi_code_reward", index, error)
            return None
        code = add_includes(extract_code(texts[index], "cpp"), row["id"])
        try:
            return float((await score_subtask(runner.client, row, code, test_batch_size=batch_size)).score)
        except ValueError as error:  # the row's tests are malformed
            _skip_row("ioi_code_reward", index, error)
            return None
        except Exception as error:  # the fleet failed, not the program: reward 0, training goes on
            logger.warning("ioi_code_reward: row %d: Piston failed (reward 0): %s", index, error)
            return 0.0

    async def score_all() -> list[Optional[float]]:
        return list(await asyncio.gather(*(score(index, row) for index, row in enumerate(rows))))

    return run_coroutine(score_all())


# Upstream's layout of CF_TESTS_FOLDER: one parquet file of generated tests per contest.
CF_CONTEST_TESTS_FILE = "test_cases_{contest:04d}.parquet"
_TEST_COLUMNS = ["problem_id", "input", "output"]


def _read_test_rows(path: str) -> list[dict]:
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
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
    provider: Callable[[], CodeExecutionProvider],
    language: str = "cpp",
    test_batch_size: int = DEFAULT_TEST_BATCH_SIZE,
    scoring_mode: str = DEFAULT_SCORING_MODE,
) -> Callable:
    if scoring_mode not in SCORING_MODES:
        raise ValueError(f"code_eval_scoring_mode must be one of {SCORING_MODES}, got {scoring_mode!r}")
    canonical_language(language)

    def cf_code_reward(completions, **kwargs) -> list[Optional[float]]:
        options = _call_options(kwargs, "cf_code_reward", provider, test_batch_size, scoring_mode)
        texts = completion_texts(completions)
        count = len(texts)
        official = _column(kwargs, "official_tests", count, "cf_code_reward")
        ids = _optional_column(kwargs, "id", count, "cf_code_reward")
        complete = _optional_column(kwargs, "official_tests_complete", count, "cf_code_reward", default=True)
        row_languages = _optional_column(kwargs, "language", count, "cf_code_reward")
        input_modes = _optional_column(kwargs, "input_mode", count, "cf_code_reward", default="stdio")
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
                tests = _as_test_cases(raw_tests + generated, f"official_tests[{index}]")
                sample_language = _row_language(row_languages[index], language)
            except ValueError as error:
                _skip_row("cf_code_reward", index, error)
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
        _check_same_language(options, languages, "cf_code_reward")
        results = _run(options["provider"](), submissions, options["test_batch_size"])
        for index, result in enumerate(results):
            if result is None:
                continue
            rewards[index] = (
                CF_NO_COMPILE_REWARD if result.compile_error is not None else result.score(options["scoring_mode"])
            )
        return rewards

    return cf_code_reward


def build_code_reward_funcs(script_args) -> dict[str, Callable]:
    """The four code rewards configured from a `GRPOScriptArguments`; they share one provider per kind."""

    def provider_for(name: str) -> ProviderChoice:
        return ProviderChoice(
            name, script_args.parallel_code_exec_per_proc, script_args.e2b_router_url, script_args.morph_router_url
        )

    code_provider = provider_for(script_args.code_provider)
    scoring = script_args.code_reward_scoring
    if scoring not in CODE_REWARD_SCORINGS:
        raise ValueError(f"code_reward_scoring must be one of {CODE_REWARD_SCORINGS}, got {scoring!r}")
    code_scoring = (
        {"scoring_mode": script_args.code_eval_scoring_mode, "test_batch_size": script_args.code_eval_test_batch_size}
        if scoring == "code_eval"
        else {"scoring_mode": FRACTION_SCORING_MODE, "test_batch_size": ALL_TESTS}
    )
    # Competitive programming (IOI and Codeforces) runs where `ioi_provider` says, as upstream ran both on Piston.
    ioi_provider = provider_for(script_args.ioi_provider)
    common = {
        "test_batch_size": script_args.code_eval_test_batch_size,
    }
    return {
        "code": get_code_reward(code_provider, script_args.code_language, **code_scoring),
        # All tests passing or not does not depend on early stopping, which only saves running the rest.
        "binary_code": get_code_reward(code_provider, script_args.code_language, binary=True, **common),
        "ioi_code": get_ioi_code_reward(ioi_provider, **common),
        "cf_code": get_cf_code_reward(ioi_provider, scoring_mode=script_args.code_eval_scoring_mode, **common),
    }


code_reward = get_code_reward(ProviderChoice())  # upstream's scoring: the fraction of tests passed
binary_code_reward = get_code_reward(ProviderChoice(), binary=True)
ioi_code_reward = get_ioi_code_reward(ProviderChoice(DEFAULT_IOI_PROVIDER))
cf_code_reward = get_cf_code_reward(ProviderChoice(DEFAULT_IOI_PROVIDER))

__all__ = [
    "ProviderChoice",
    "binary_code_reward",
    "build_code_reward_funcs",
    "cf_code_reward",
    "code_reward",
    "extract_code",
    "get_cf_code_reward",
    "get_code_reward",
    "get_generated_contest_tests",
    "get_generated_tests",
    "get_ioi_code_reward",
    "get_provider",
]
