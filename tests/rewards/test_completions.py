"""Specification of `rewards._completions`: the completion shapes every reward of the registry reads, and the error
every reward gives for any other shape (ValueError naming the completion's index and the shape found).

Each reward is built from the registry with a minimal recipe; the code rewards run on a provider that judges the
submitted code by its text, so nothing is executed.
"""

import pytest

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import REWARD_FUNCS_REGISTRY
from open_r1.rewards import code as code_rewards
from open_r1.rewards._completions import completion_text, completion_texts
from open_r1.sandbox.base import CodeExecutionProvider, ProgramResult, TestOutcome, Verdict

SOLUTION = "print(3)"
TEXT = f"<think>\nOne plus two.\n</think>\n<answer>\n```python\n{SOLUTION}\n```\nSo \\boxed{{3}}.\n</answer>"


class JudgeByText(CodeExecutionProvider):
    """Passes a submission's tests when its code is SOLUTION: the code rewards then grade the text they were given."""

    def execute(self, submissions, test_batch_size=1):
        verdict = {True: Verdict.PASSED, False: Verdict.FAILED}
        return [
            ProgramResult([TestOutcome(verdict[s.source.strip() == SOLUTION]) for _ in s.tests]) for s in submissions
        ]


@pytest.fixture(scope="module")
def every_reward():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(code_rewards, "get_provider", lambda config: JudgeByText())
        args = GRPOScriptArguments(dataset_name="unused", code_language="python")
        yield {name: build(args) for name, build in REWARD_FUNCS_REGISTRY.items()}


def columns(count: int) -> dict:
    """What TRL passes besides the completions: prompts, token ids and the dataset columns the rewards read."""
    tests = [{"input": "", "output": "3"}]
    info = {"language": "python", "test_cases": tests, "subtasks": [{"score": 1, "test_cases": tests}]}
    return {
        "prompts": ["What is 1 + 2?"] * count,
        "completion_ids": [list(range(40))] * count,
        "solution": ["3"] * count,
        "verification_info": [info] * count,
        "official_tests": [tests] * count,
        "language": ["python"] * count,
    }


def as_text_parts(text: str) -> list[dict]:
    """The same completion as a message whose content is text parts (split mid-text), with an image part between."""
    middle = len(text) // 2
    content = [{"type": "text", "text": text[:middle]}, {"type": "image"}, {"type": "text", "text": text[middle:]}]
    return [{"role": "assistant", "content": content}]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", REWARD_FUNCS_REGISTRY)
def test_every_reward_grades_text_parts_as_the_same_text(every_reward, name):
    reward = every_reward[name]
    plain = reward(completions=[TEXT], **columns(1))
    conversational = reward(completions=[[{"role": "assistant", "content": TEXT}]], **columns(1))
    parts = reward(completions=[as_text_parts(TEXT)], **columns(1))
    assert plain == conversational == parts
    if name in ("accuracy", "format", "code", "binary_code", "ioi_code"):
        assert parts == [1.0]  # graded, not read as empty text


MALFORMED = {
    "a list of strings": ["<think>", "\\boxed{3}"],
    "a text part whose text is a number": [{"role": "assistant", "content": [{"type": "text", "text": 3}]}],
    "a text part whose text is a list": [{"role": "assistant", "content": [{"type": "text", "text": ["\\boxed{3}"]}]}],
    "a part that is a string": [{"role": "assistant", "content": ["\\boxed{3}"]}],
    "content that is a number": [{"role": "assistant", "content": 3}],
    "content that is a mapping": [{"role": "assistant", "content": {"text": "\\boxed{3}"}}],
    "a message without content": [{"role": "assistant", "text": "\\boxed{3}"}],
    "a number": 3,
    "None": None,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", MALFORMED)
@pytest.mark.parametrize("name", REWARD_FUNCS_REGISTRY)
def test_every_reward_names_the_completion_and_the_shape_it_cannot_read(every_reward, name, shape):
    completions = [TEXT, MALFORMED[shape]]
    with pytest.raises(ValueError, match=r"completions\[1\]") as raised:
        every_reward[name](completions=completions, **columns(2))
    assert "got " in str(raised.value)


def test_the_error_describes_what_was_found():
    with pytest.raises(
        ValueError, match=r"completions\[0\] must be a string or a list of chat messages.*a list of str"
    ):
        completion_texts([["a", "b"]])
    with pytest.raises(
        ValueError, match=r"completions\[0\]\[0\]\['content'\]\[1\]\['text'\] must be a string; got int"
    ):
        completion_texts(
            [[{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": 1}]}]]
        )
    with pytest.raises(ValueError, match="completions must be a list with one completion per sample; got str"):
        completion_texts("one completion")
    with pytest.raises(ValueError, match=r"^completion must be"):
        completion_text(7)


def test_tool_turns_and_other_roles_are_not_graded():
    rollout = [
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "python"}}]},
        {"role": "tool", "content": "3"},
        {"role": "assistant", "content": [{"type": "text", "text": "\\boxed{3}"}]},
    ]
    assert completion_text(rollout) == "\\boxed{3}"
    assert completion_text({"content": "single message"}) == "single message"


def test_tool_calls_of_any_shape_give_their_argument_strings_once():
    """A review's: a call whose `function` is not a mapping raised AttributeError; one that holds itself looped."""
    looping = {"code": "x = 1"}
    looping["again"] = looping
    calls = [
        {"function": "python"},
        {"function": None},
        None,
        {"function": {"arguments": looping}},
        {"type": "function", "function": {"name": "python", "arguments": '{"code": "print(2)", "n": 3}'}},
    ]
    completion = [{"role": "assistant", "content": "text", "tool_calls": calls}]
    assert completion_text(completion, tool_calls=True) == "text\nx = 1\nprint(2)\n3"
    assert completion_text(completion) == "text"
