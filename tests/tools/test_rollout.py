"""open_r1.tools.rollout: multi-turn generation with the python tool outside the trainer (evaluation, generation).

Calls of different rollouts run at once, as many as the sandbox has workers; one rollout's calls run in the order
written, each seeing the cells of those before it.
"""

import threading

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from open_r1.sandbox import isolation_mode
from open_r1.sandbox.factory import clear_providers
from open_r1.tasks.tool_arithmetic import prompt_messages
from open_r1.tools import rollout
from open_r1.tools.python_tool import PythonTool, PythonToolSettings, tool_sandbox
from tests.support.sandbox_checks import skip_without_isolation

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")
ROLLOUTS = 4


@pytest.fixture
def settings():
    with skip_without_isolation():
        isolation_mode()
    yield lambda workers: PythonToolSettings(sandbox=tool_sandbox("local", workers), wall_seconds=5)
    clear_providers()


def generate(model_folder, problem, settings) -> list[list[dict]]:
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = AutoModelForCausalLM.from_pretrained(model_folder)
    conversation = prompt_messages(problem, with_tool=True)
    return rollout.generate_with_tools(
        model,
        tokenizer,
        [conversation] * ROLLOUTS,
        tool_settings=settings,
        max_new_tokens=96,
        max_tool_calling_iterations=2,
        sampling={"do_sample": False},
    )


def test_the_calls_of_different_rollouts_run_at_once(tool_calling_model, settings, monkeypatch):
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    one_at_a_time = generate(tool_calling_model["path"], problem, settings(1))
    # Each call waits until every rollout's call has started: run one after another, the first would wait alone.
    everyone = threading.Barrier(ROLLOUTS, timeout=30)
    real_call = rollout.call_tool

    def call_when_all_have_started(tool, call):
        everyone.wait()
        return real_call(tool, call)

    monkeypatch.setattr(rollout, "call_tool", call_when_all_have_started)
    at_once = generate(tool_calling_model["path"], problem, settings(ROLLOUTS))
    assert at_once == one_at_a_time
    for messages in at_once:
        assert [message["role"] for message in messages][:2] == ["assistant", "tool"], messages
        assert messages[1]["content"] == tool_calling_model["problem"]["answer"] + "\n"


def test_the_calls_of_one_turn_run_in_order_each_seeing_the_cells_before_it(settings):
    tool = PythonTool(settings(ROLLOUTS))
    tool.reset()
    calls = [
        {"type": "function", "function": {"name": "python", "arguments": {"code": code}}}
        for code in ("x = 6 * 7", "y = x + 1", "print(x, y)")
    ]
    messages = rollout.tool_messages(tool, calls)
    assert [message["content"] for message in messages] == ["(no output)", "(no output)", "42 43\n"]
