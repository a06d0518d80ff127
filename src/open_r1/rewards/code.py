"""Code rewards on stdin/stdout tests: run the program in a completion against the row's tests and score it.

    from open_r1.rewards.code import get_code_reward
    from open_r1.sandbox import SandboxConfig
    reward = get_code_reward(SandboxConfig("local"), language="python")
    reward(completions, verification_info=[{"language": "python", "test_cases": [{"input", "output"}, ...]}, ...])

Rewards (upstream open-r1 names, each `(completions, **columns) -> list[float | None]`):
- `code_reward` (`get_code_reward`): the last fenced code block of each completion runs on
  `verification_info["test_cases"]` (stdin/stdout); as upstream, every test runs and the reward is the fraction
  passed. A scoring mode (pass_fail, partial = fraction passed, weighted_sum = pass_fail + 0.1 * fraction) and a
  test batch size (that many tests at a time, stopping after the first batch with a failure; the remaining tests
  count as failed) choose another scoring (the recipe's `code_scoring_mode`, `code_test_batch_size`).
- `binary_code_reward` (`get_code_reward(binary=True)`): 1.0 when every test passes, else 0.0.
The competitive-programming rewards live beside: `open_r1.rewards.ioi` (ioi_code_reward) and
`open_r1.rewards.codeforces` (cf_code_reward); they share this module's helpers (code extraction, test-case and
column parsing, running submissions).

Programs run on a `SandboxConfig` (the provider is built on first use, see `open_r1.sandbox`) or on a provider
given directly; a provider failure (a MemoryError included) yields reward 0 and a warning, never an exception in
training. A row without
tests yields None (TRL then ignores it), and so does a row that cannot be judged (a language no sandbox runs or
that is not a name, a test whose input or output is None, malformed test cases, tests that all expect empty
output), with a warning: the other rows of the batch are graded. A test that expects empty (or whitespace-only)
output is passed by a program that prints nothing, so it cannot be judged: `as_test_cases` drops it beside
judgeable tests, and a row with no other test gets None, in every reward that reads stdin/stdout tests (code,
binary_code, cf_code, and ioi_code's `verification_info` subtasks, where such a subtask makes its row None).
Likewise, given the prompts (TRL passes them), a test whose input and output the prompt shows (an example of the
statement) is dropped: a program that prints the examples' outputs from a table would pass it (`ShownInPrompt`). A
row whose judged tests all expect one output gets None too: `print(0)` would pass it (`OneAnswer`). A reward built
for a language no sandbox runs, or a missing column, is an error at once.
Fenced blocks are found by one left-to-right scan (`code_blocks`). Rewards here take dataset columns only;
upstream's per-call keywords are `open_r1.compat.rewards`'.

Not covered: custom checkers (`generated_checker`): outputs are compared line by line ignoring surrounding
whitespace, as most judges do; interactive problems.
"""

import bisect
import json
import logging
from collections.abc import Callable
from typing import Optional, Union

from open_r1.rewards._completions import completion_texts, prompt_texts
from open_r1.rewards.format import FENCE_TAG
from open_r1.sandbox.base import CodeExecutionProvider, Submission, TestCase, check_scoring_mode, normalize_output
from open_r1.sandbox.config import SandboxConfig
from open_r1.sandbox.factory import get_provider
from open_r1.sandbox.languages import DEFAULT_CODE_LANGUAGE, canonical_language, fence_tags
from open_r1.sandbox.remote import failed_result

logger = logging.getLogger(__name__)

# Where a reward runs its programs: a configuration (the provider is built on first use) or a provider.
Sandbox = Union[SandboxConfig, CodeExecutionProvider]
ALL_TESTS = 0  # a test batch size that runs every test in one batch (no early stopping)
# code_reward's own scoring, as upstream's: every test runs and the reward is the fraction passed.
CODE_SCORING_MODE = "partial"
CODE_TEST_BATCH_SIZE = ALL_TESTS
# binary_code_reward: the first failing test decides the reward, so the tests after it need not run.
BINARY_TEST_BATCH_SIZE = 1
BINARY_SCORING = "binary_code_reward is 1.0 when every test passes, else 0.0"


_FENCE = "```"


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
        tag = FENCE_TAG.match(text, start + len(_FENCE), line_end).group()
        blocks.append((tag, text[line_end + 1 : end]))
        position = end + len(_FENCE)


def extract_code(completion: str, language: Optional[str] = DEFAULT_CODE_LANGUAGE) -> str:
    """The last fenced code block (preferring blocks tagged `language`), or '' when there is none or `language` is
    None (as upstream: a row without a language has no code to run)."""
    if language is None:
        return ""
    blocks = code_blocks(completion)
    tags = fence_tags(language)
    tagged = [code for tag, code in blocks if tag.lower() in tags]
    chosen = tagged or [code for tag, code in blocks if not tag]
    return chosen[-1] if chosen else ""


class NoJudgeableTest(ValueError):
    """A row's tests all expect empty (or whitespace-only) output: a program that does nothing passes them all."""


def expects_nothing(expected_output: str) -> bool:
    """Whether an expected output is empty as the judge compares outputs (blank lines and spaces aside): such a
    test is passed by a program that prints nothing, so it cannot tell a solution from no solution."""
    return not normalize_output(expected_output)


class NothingUnseen(NoJudgeableTest):
    """A row's prompt shows every one of its judgeable tests (see `ShownInPrompt`)."""


class OneAnswer(NoJudgeableTest):
    """A row's judged tests (two or more inputs) all expect the same output: a program printing it passes them all."""


class ShownInPrompt:
    """A prompt's words, to find the tests it shows as examples: a program can print those outputs from a table,
    solving nothing. A test is shown when its output (as whole words) starts within `window` characters after an
    occurrence of its input; an empty input is shown wherever the output is. One instance serves every completion
    of its prompt in a reward call (`shown_in_prompts`): each test's verdict is worked out once."""

    def __init__(self, prompt: str, window: int = 100):
        self.words = _as_words(prompt)
        self.window = window
        self._verdicts: dict[tuple[str, str], bool] = {}

    def shows(self, test: TestCase) -> bool:
        key = (test.input, test.output)
        if key not in self._verdicts:
            self._verdicts[key] = self._shows(test)
        return self._verdicts[key]

    def _shows(self, test: TestCase) -> bool:
        given, expected = _as_words(test.input), _as_words(test.output)
        if len(given) + len(expected) > len(self.words) + 2:
            return False  # cannot both fit: no search
        outputs = self._starts(expected)
        if not test.input.split():
            return bool(outputs)
        # Where each occurrence of the input ends (its trailing space may be the output's leading one).
        for end in (start + len(given) - 1 for start in self._starts(given)):
            after = bisect.bisect_left(outputs, end)
            if after < len(outputs) and outputs[after] <= end + self.window:
                return True
        return False

    def _starts(self, needle: str) -> list[int]:
        starts, at = [], self.words.find(needle)
        while at >= 0:
            starts.append(at)
            at = self.words.find(needle, at + 1)
        return starts


def shown_in_prompts(prompts: list[Optional[str]]) -> list[Optional[ShownInPrompt]]:
    """A `ShownInPrompt` per prompt of a reward call, one for each distinct prompt (None where there is none)."""
    distinct: dict[str, ShownInPrompt] = {}
    for prompt in prompts:
        if prompt is not None and prompt not in distinct:
            distinct[prompt] = ShownInPrompt(prompt)
    return [None if prompt is None else distinct[prompt] for prompt in prompts]


def _as_words(text: str) -> str:
    return f" {' '.join(text.split())} "


def as_test_cases(raw_tests, where: str, shown: Optional[ShownInPrompt] = None) -> tuple[TestCase, ...]:
    """The judgeable stdin/stdout tests of a dataset row; raises ValueError naming the first malformed test, and
    `NoJudgeableTest` when there are tests but none is judgeable.

    A test that expects nothing (see `expects_nothing`), or, given the row's prompt as `shown`, one the prompt
    shows as an example (`NothingUnseen` when all are), is dropped beside judgeable ones: with fraction scoring it
    would pay a program that does nothing, or that replays the examples; the judgeable tests decide the verdict.
    Judged tests of two or more inputs that all expect one output (`OneAnswer`) cannot tell a solution from a
    program that prints that output: the row is not judgeable either."""
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
    judgeable = tuple(test for test in tests if not expects_nothing(test.output))
    if tests and not judgeable:
        raise NoJudgeableTest(
            f"{where}: every test expects empty output ({len(tests)} tests), which a program that prints nothing passes"
        )
    if shown is not None and judgeable:
        unseen = tuple(test for test in judgeable if not shown.shows(test))
        if not unseen:
            raise NothingUnseen(
                f"{where}: the prompt shows every test's input and output ({len(judgeable)} tests), which a program "
                "that prints them from a table passes"
            )
        judgeable = unseen
    inputs = {tuple(normalize_output(test.input)) for test in judgeable}  # a test listed twice is one test
    if len(inputs) > 1 and len({tuple(normalize_output(test.output)) for test in judgeable}) == 1:
        raise OneAnswer(
            f"{where}: every judged test expects the same output ({len(judgeable)} tests, "
            f"{judgeable[0].output.strip()!r:.60}), which a program that prints it passes without solving anything"
        )
    return judgeable


def passed_columns(kwargs: dict) -> list[str]:
    return sorted(k for k in kwargs if k not in ("trainer_state", "log_extra", "log_metric"))


def required_column(kwargs: dict, name: str, count: int, reward_name: str) -> list:
    if kwargs.get(name) is None:
        raise ValueError(
            f"{reward_name} needs a dataset column '{name}'; the columns passed were {passed_columns(kwargs)}"
        )
    return optional_column(kwargs, name, count, reward_name)


def optional_column(kwargs: dict, name: str, count: int, reward_name: str, default=None) -> list:
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


def row_language(value, default: str) -> str:
    """The canonical language of a row: its own, else the reward's `default`; raises (ValueError) naming a bad one.

    The one place the code rewards canonicalise a language (a reward checks its default with `row_language(None,
    language)` when it is built, so a language no sandbox runs fails then, not mid-training)."""
    return canonical_language(default if value is None or value == "" else value)


def skip_row(reward_name: str, index: int, error: Exception) -> None:
    # One bad row costs that row's reward only, never the batch's.
    logger.warning("%s: row %d cannot be judged (reward None): %s", reward_name, index, error)


def parse_verification_info(value, index: int, reward_name: str) -> dict:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(f"{reward_name}: verification_info[{index}] must be a mapping, got {value!r:.200}")
    return value


def provider_of(sandbox: Sandbox) -> CodeExecutionProvider:
    """The provider a reward runs on: built from a `SandboxConfig` on first use (once per configuration and
    process), or the provider given."""
    return sandbox if isinstance(sandbox, CodeExecutionProvider) else get_provider(sandbox)


def check_sandbox(sandbox: Sandbox, reward_name: str) -> None:
    if not isinstance(sandbox, (SandboxConfig, CodeExecutionProvider)):
        raise TypeError(
            f"{reward_name} runs programs on a SandboxConfig or a CodeExecutionProvider, got {sandbox!r:.80}"
        )


def run_submissions(sandbox: Sandbox, submissions: list[Optional[Submission]], batch_size: int) -> list:
    """Results aligned with `submissions` (None entries are not run); identical submissions (the same program on
    the same tests, as a group's completions often are) run once and share their result.

    A MemoryError while the provider runs or reads them costs these submissions their reward (SANDBOX_ERROR,
    reward 0), never the training step; providers already turn a failed worker into SANDBOX_ERROR themselves."""
    to_run = list(dict.fromkeys(s for s in submissions if s is not None))
    provider = provider_of(sandbox)
    try:
        results = provider.execute(to_run, test_batch_size=batch_size) if to_run else []
    except MemoryError:
        logger.warning(
            "the %s provider ran out of memory on %d submissions (reward 0)", type(provider).__name__, len(to_run)
        )
        results = [failed_result(s, "out of memory while running or reading the submission") for s in to_run]
    result_of = dict(zip(to_run, results, strict=True))
    return [result_of[s] if s is not None else None for s in submissions]


def check_same_language(enforce: bool, languages: set, reward_name: str) -> None:
    if enforce and len(languages) > 1:
        raise ValueError(f"{reward_name}: enforce_same_language is set but the rows use {sorted(languages)}")


def get_code_reward(
    sandbox: Sandbox = SandboxConfig(),
    language: str = DEFAULT_CODE_LANGUAGE,
    test_batch_size: Optional[int] = None,
    scoring_mode: Optional[str] = None,
    binary: bool = False,
    enforce_same_language: bool = False,
) -> Callable:
    """code_reward (or binary_code_reward with `binary`) running programs on `sandbox`.

    By default upstream's: every test runs and the reward is the fraction passed (`CODE_SCORING_MODE`,
    `CODE_TEST_BATCH_SIZE`); binary: 1.0 when all pass, else 0.0 (it takes no scoring mode). `test_batch_size`
    tests run at a time and a failed batch stops the rest (they count as failed); `enforce_same_language` refuses
    a batch whose rows mix languages."""
    reward_name = "binary_code_reward" if binary else "code_reward"
    check_sandbox(sandbox, reward_name)
    if binary and scoring_mode is not None:
        raise ValueError(f"binary_code_reward takes no scoring mode (got {scoring_mode!r}): {BINARY_SCORING}")
    scoring_mode = check_scoring_mode(CODE_SCORING_MODE if scoring_mode is None else scoring_mode)
    if test_batch_size is None:
        test_batch_size = BINARY_TEST_BATCH_SIZE if binary else CODE_TEST_BATCH_SIZE
    row_language(None, language)

    def code_reward(completions, **kwargs) -> list[Optional[float]]:
        texts = completion_texts(completions)
        infos = required_column(kwargs, "verification_info", len(texts), reward_name)
        shown = shown_in_prompts(prompt_texts(kwargs.get("prompts"), len(texts)))
        submissions: list[Optional[Submission]] = []
        judgeable = []  # True: has tests; False: no tests (None); None: a malformed row (None, warned)
        languages = set()
        # A group's rows carry one problem's JSON (megabytes of tests): read once per problem and prompt.
        read: dict[tuple[str, int], tuple[tuple[TestCase, ...], str]] = {}
        for index, (text, info) in enumerate(zip(texts, infos)):
            key = (info, id(shown[index])) if isinstance(info, str) else None
            try:
                if key in read:
                    tests, sample_language = read[key]
                else:
                    info = parse_verification_info(info, index, reward_name)
                    tests = as_test_cases(
                        info.get("test_cases"), f"verification_info[{index}]['test_cases']", shown[index]
                    )
                    sample_language = row_language(info.get("language"), language)
                    if key is not None:
                        read[key] = tests, sample_language
            except ValueError as error:
                skip_row(reward_name, index, error)
                judgeable.append(None)
                submissions.append(None)
                continue
            languages.add(sample_language)
            code = extract_code(text, sample_language)
            judgeable.append(bool(tests))
            submissions.append(Submission(code, sample_language, tests) if tests and code.strip() else None)
        check_same_language(enforce_same_language, languages, reward_name)
        results = run_submissions(sandbox, submissions, test_batch_size)
        rewards = []
        for has_tests, result in zip(judgeable, results):
            if result is None:
                rewards.append(0.0 if has_tests else None)  # no code block: 0; no tests or a bad row: cannot judge
            elif binary:
                rewards.append(1.0 if result.all_passed else 0.0)
            else:
                rewards.append(result.score(scoring_mode))
        return rewards

    code_reward.__name__ = reward_name
    return code_reward


__all__ = [
    "ALL_TESTS",
    "NoJudgeableTest",
    "NothingUnseen",
    "OneAnswer",
    "Sandbox",
    "ShownInPrompt",
    "code_blocks",
    "expects_nothing",
    "extract_code",
    "get_code_reward",
]
