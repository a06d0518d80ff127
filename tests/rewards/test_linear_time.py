"""Reward parsing cannot stall training: every parser is linear in the completion's length.

A policy truncated at its length limit writes long runs of backticks, repeated answer blocks and unclosed
tags. The regexes these parsers replaced backtracked on such text (200,000 backticks took 11 s in
`extract_code`; an 8.7 KB completion repeating answer blocks took 14 s in `code_format_reward`). Each hostile
test below runs under a hard time limit that the old regexes overran by far; the equivalence tests pin the
verdicts to the old regexes' on short texts, where the regexes are fast. The last section grades a GRPO batch of
hostile 100,000-character completions with every reward of the registry (and extract_code / extract_answer);
the limits there assert that grading completes, and scripts/benchmarks/reward_parsing.py measures how the time
grows with the length.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import REWARD_FUNCS_REGISTRY, format_reward
from open_r1.rewards.code import code_blocks, extract_code
from open_r1.rewards.format import get_code_format_reward
from tests.support.script_module import load_module

# The definitions the linear scans must agree with.
FORMAT_REGEX = re.compile(r"<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>\s*", re.DOTALL)
CODE_BLOCK_REGEX = re.compile(r"```([A-Za-z0-9_+\-]*)[^\n]*\n(.*?)```", re.DOTALL)


def code_format_regex(tags: set[str]) -> re.Pattern:
    """Upstream's code format regex, for a block under any of `tags`, each whole and in any case."""
    alternatives = "|".join(re.escape(tag) for tag in sorted(tags))
    return re.compile(
        r"<think>\n.*?\n</think>\n<answer>\n.*?```(?i:"
        + alternatives
        + r")(?![A-Za-z0-9_+\-]).*?```.*?\n</answer>\s*",
        re.DOTALL,
    )


PIECES = [
    "<think>\n",
    "\n</think>\n<answer>\n",
    "\n</answer>",
    "```",
    "```python",
    "```py x",
    "```pycon",
    "```Python",
    "\n",
    " ",
    "x",
    "`",
    "\t",
]
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_format_reward_agrees_with_its_regex_definition(text):
    assert format_reward([text]) == [1.0 if FORMAT_REGEX.fullmatch(text) else 0.0]


@settings(max_examples=400, deadline=None)
@given(texts, st.sampled_from(["python", "py", "cpp"]))
def test_code_format_reward_agrees_with_its_regex_definition(text, language):
    from open_r1.sandbox.languages import fence_tags

    expected = 1.0 if code_format_regex(fence_tags(language)).fullmatch(text) else 0.0
    assert get_code_format_reward(language=language)([text]) == [expected]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_code_blocks_agree_with_the_fence_regex(text):
    assert code_blocks(text) == CODE_BLOCK_REGEX.findall(text)


SIZE = 200_000
HOSTILE = {
    "backticks": "`" * SIZE,
    "backtick runs with newlines": ("`" * 997 + "\n") * (SIZE // 998),
    "open fences": "```python\n" * (SIZE // 10),
    "repeated answer blocks": "<think>\nx\n</think>\n<answer>\n```python\nprint(1)\n" * (SIZE // 48),
    "repeated think-answer seams": "<think>\n" + "\n</think>\n<answer>\n" * (SIZE // 19),
    "unclosed boxed": "\\boxed{" * (SIZE // 7),
    "deep braces": "\\boxed{" + "{" * SIZE,
    "closed nested boxes": "\\boxed{" * (SIZE // 7) + "}" * (SIZE // 7),  # unwrapping box by box was quadratic
    "answer closes then junk": "<think>\n\n</think>\n<answer>\n" + "\n</answer>x" * (SIZE // 11),
}


@pytest.mark.timeout(5)
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_code_parsers_are_linear_on_hostile_text(text):
    extract_code(text, "python")
    get_code_format_reward(language="python")([text])
    format_reward([text])


# The rewards that only parse (no grading pool, no sandbox): all of them must finish within the limit.
PARSING_REWARDS = ["format", "reasoning_steps", "tag_count", "code_format", "repetition_penalty"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", PARSING_REWARDS)
def test_every_parsing_reward_is_linear_on_every_hostile_text(name):
    reward = REWARD_FUNCS_REGISTRY[name](GRPOScriptArguments(dataset_name="unused"))
    rewards = reward(list(HOSTILE.values()))
    assert len(rewards) == len(HOSTILE)


@pytest.mark.timeout(30)  # about 3 s here (jieba's first load included), 6 s on a loaded machine; whole, 40 s
def test_the_chinese_repetition_penalty_is_linear_on_a_run_of_one_character():
    """jieba's HMM pass is quadratic on a run of characters its dictionary does not join: 100,000 of one took 40 s
    in one call; a page at a time, about a second."""
    pytest.importorskip("jieba")
    from open_r1.rewards.repetition import get_repetition_penalty_reward

    reward = get_repetition_penalty_reward(language="zh")
    assert reward(["的" * 100_000, "今天天气很好。" * 15_000]) == [pytest.approx(-1.0, abs=1e-3)] * 2


@pytest.mark.timeout(60)
def test_the_accuracy_reward_grades_hostile_text_within_its_time_limit():
    reward = REWARD_FUNCS_REGISTRY["accuracy"](GRPOScriptArguments(dataset_name="unused"))
    rewards = reward(list(HOSTILE.values()), solution=["2"] * len(HOSTILE))
    assert rewards == [0.0] * len(HOSTILE)


# --- every reward, a GRPO batch of hostile 100,000-character completions -----------------------------------------

LENGTH = 100_000
BATCH = 8
# The hostile shapes, the reward set (code rewards on a provider that passes everything) and TRL's columns are the
# benchmark's, which measures how the time grows with the length.
benchmark = load_module("scripts/benchmarks/reward_parsing.py", "reward_parsing")
SHAPES = benchmark.SHAPES


@pytest.fixture(scope="module")
def every_reward() -> dict:
    return benchmark.build_rewards()


def test_the_shapes_graded_are_every_one_the_parsers_once_stalled_on():
    assert {
        "backtick run",
        "fence opened, then backticks",
        "fence opened, no line break",
        "fence never closed",
        "fence openings",
        "truncated answer blocks",
        "think-answer seams",
        "answer closings not at the end",
        "unclosed tags",
        "open braces",
        "escaped braces",
        "boxed flood",
        "huge boxed sum",
        "huge answer block",
        "step markers",
        "trailing whitespace",
        "combining marks out of order",
        "marks in precomposed signs",
        "unseen astral characters",
    } <= set(SHAPES)


REWARD_NAMES = [*REWARD_FUNCS_REGISTRY, "extract_code", "extract_answer"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reward_name", REWARD_NAMES)
def test_every_reward_grades_a_batch_of_hostile_100k_completions(every_reward, reward_name, shape):
    completions = [SHAPES[shape](LENGTH, k) for k in range(BATCH)]
    assert all(LENGTH - BATCH <= len(c) <= LENGTH + 100 for c in completions)
    grades = every_reward[reward_name](completions=completions, **benchmark.trl_columns(completions))
    assert len(grades) == BATCH
    if reward_name in ("accuracy", "format", "code_format"):
        assert all(grade in (0.0, None) for grade in grades), grades  # no shape earns these rewards


@pytest.mark.timeout(10)
@pytest.mark.parametrize("piece", ["<tool_call>", "<tool_call>{[</tool_call>", '<tool_call>"' + "[" * 50])
def test_the_repetition_penalty_reads_a_tool_turn_as_generated_in_linear_time(piece):
    """A tool turn's calls are decoded from the text as generated (`_completions._with_calls_decoded`): spans never
    closed, or closed around unparseable JSON, 100,000 characters of them, cost one pass."""
    from open_r1.rewards import get_repetition_penalty_reward
    from open_r1.tools.chat import GENERATED_TEXT

    generated = piece * (100_000 // len(piece))
    message = {"role": "assistant", "content": "", GENERATED_TEXT: generated}
    assert len(get_repetition_penalty_reward()([[message]] * 4)) == 4


def test_reading_a_gold_or_an_answer_is_linear_in_its_length():
    """`readable_text` (gold answers and completions' answers, before math-verify) keeps grading linear: no NFKC of a
    whole text, whose reordering of a run of combining marks is quadratic."""
    import time

    from open_r1.rewards.accuracy import prepare_gold

    # Combining marks of alternating classes: NFKC sorts the run by insertion (25,000 pairs took 2 s).
    for text in ("\u0327\u0301" * 100_000, "４\u200b" * 200_000, "x" * 400_000):
        started = time.monotonic()
        prepare_gold(text + " #### 7")
        assert time.monotonic() - started < 1.0
