"""Property tests: no reward raises on any model output, and each returns one float (or None) per completion."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import get_reward_funcs

NON_CODE_REWARDS = [
    "accuracy",
    "format",
    "reasoning_steps",
    "cosine",
    "repetition_penalty",
    "length",
    "code_format",
    "tag_count",
    "soft_overlong_punishment",
]

# Fragments models really emit, so random text hits the parsers' interesting paths, not just plain letters.
FRAGMENTS = [
    r"\boxed{",
    "}",
    "{",
    r"\frac{1}{2}",
    r"\sqrt{",
    "<think>\n",
    "\n</think>\n",
    "<answer>\n",
    "\n</answer>",
    "```python\n",
    "```",
    "$",
    "\\",
    "^{9^{9}}",
    "\ufffd",
    "Step 1:",
    " ",
    "\n",
    "2,125",
    "025",
    "\x00",
    "我喜欢",
]
model_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=30).map("".join)


@pytest.fixture(scope="module")
def reward_funcs():
    args = GRPOScriptArguments(dataset_name="local.jsonl", reward_funcs=NON_CODE_REWARDS, reward_timeout_seconds=2.0)
    return get_reward_funcs(args)


def call_all(reward_funcs, texts: list[str], golds: list[str]) -> None:
    conversational = [[{"role": "assistant", "content": t}] for t in texts]
    for completions in (texts, conversational):
        for reward in reward_funcs:
            rewards = reward(
                prompts=["p"] * len(texts),
                completions=completions,
                completion_ids=[list(range(len(t))) for t in texts],
                solution=golds,
            )
            assert len(rewards) == len(texts), reward.__name__
            assert all(r is None or isinstance(r, float) for r in rewards), (reward.__name__, rewards)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(model_text, min_size=1, max_size=4), gold=st.one_of(model_text, st.sampled_from(["1", "025"])))
def test_no_reward_raises_on_arbitrary_model_output(reward_funcs, texts, gold):
    call_all(reward_funcs, texts, [gold] * len(texts))


def test_no_reward_raises_on_adversarial_strings(reward_funcs):
    megabyte = "a" * 1_000_000
    texts = [
        "",
        megabyte,
        "{" * 100_000 + r"\boxed{" * 1000,
        r"\boxed{" * 5000 + "1" + "}" * 4000,
        r"\boxed{\boxed{\boxed{3}}}",
        "\ufffd\ufffd" + r"\boxed{\ufffd}",
        r"\boxed{9^{9^{9^{9^{9^{9}}}}}}",
        r"\boxed{\frac{" * 50 + "}",
        "<think>" * 1000 + "</answer>" * 1000,
        "```python" * 10_000,
    ]
    call_all(reward_funcs, texts, ["3"] * len(texts))


def test_a_megabyte_completion_is_graded_by_its_final_answer(reward_funcs):
    accuracy = reward_funcs[0]
    text = "<think>\n" + "word " * 200_000 + "\n</think>\nSo \\boxed{42}"
    assert accuracy([text], solution=["42"]) == [1.0]
