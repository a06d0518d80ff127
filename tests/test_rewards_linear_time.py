"""Reward parsing cannot stall training: every parser is linear in the completion's length.

A policy truncated at its length limit writes long runs of backticks, repeated answer blocks and unclosed
tags. The regexes these parsers replaced backtracked on such text (200,000 backticks took 11 s in
`extract_code`; an 8.7 KB completion repeating answer blocks took 14 s in `code_format_reward`). Each hostile
test below runs under a hard time limit that the old regexes overran by far; the equivalence tests pin the
verdicts to the old regexes' on short texts, where the regexes are fast.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import REWARD_FUNCS_REGISTRY, format_reward, get_code_format_reward
from open_r1.rewards.code import code_blocks, extract_code

# The definitions the linear scans must agree with.
FORMAT_REGEX = re.compile(r"<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>\s*", re.DOTALL)
CODE_BLOCK_REGEX = re.compile(r"```([A-Za-z0-9_+\-]*)[^\n]*\n(.*?)```", re.DOTALL)


def code_format_regex(language: str) -> re.Pattern:
    return re.compile(
        r"<think>\n.*?\n</think>\n<answer>\n.*?```" + re.escape(language) + r".*?```.*?\n</answer>\s*", re.DOTALL
    )


PIECES = [
    "<think>\n",
    "\n</think>\n<answer>\n",
    "\n</answer>",
    "```",
    "```python",
    "```py x",
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
    expected = 1.0 if code_format_regex(language).fullmatch(text) else 0.0
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


@pytest.mark.timeout(60)
def test_the_accuracy_reward_grades_hostile_text_within_its_time_limit():
    reward = REWARD_FUNCS_REGISTRY["accuracy"](GRPOScriptArguments(dataset_name="unused"))
    rewards = reward(list(HOSTILE.values()), solution=["2"] * len(HOSTILE))
    assert rewards == [0.0] * len(HOSTILE)
