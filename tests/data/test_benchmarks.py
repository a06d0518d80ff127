"""open_r1.data.benchmarks: the conversations a benchmark problem is asked with."""

from open_r1.data.benchmarks import Problem, build_messages
from open_r1.eval.few_shot import plain_messages

PROBLEM = Problem(id="p", problem="What is 6 * 7?", answer="42")


def test_an_empty_system_prompt_is_a_system_turn_as_in_training():
    """Found by an audit: GRPO and SFT add `system_prompt: ""` as an empty system turn (which keeps a template's
    default system prompt out), the evaluation added none, so a model was measured on another prompt than it
    trained on."""
    for messages in (build_messages(PROBLEM, ""), plain_messages(PROBLEM, [], "")):
        assert messages[0] == {"role": "system", "content": ""}
    assert [message["role"] for message in build_messages(PROBLEM)] == ["user"]
    assert build_messages(PROBLEM, "Be brief.")[0] == {"role": "system", "content": "Be brief."}
