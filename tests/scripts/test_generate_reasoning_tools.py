"""`scripts/generate_reasoning.py --tools python`: generation with the sandboxed python tool, as GRPO trains it.

The server is a scripted OpenAI-compatible endpoint: asked with a user turn, it calls `python` with the user's
text as the code (so each prompt is the program a test wants run); asked after a tool result, it boxes what the
tool printed. A prompt starting with `#always` makes it call the tool in every round.
"""

import json

import pytest
from aiohttp import web

from tests.support.local_server import serving


def _reply(message: dict, finish_reason: str) -> dict:
    return {
        "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3},
    }


@pytest.fixture
def scripted_server():
    """Yields (base URL, the request bodies it received)."""
    requests: list[dict] = []

    async def chat(request):
        body = await request.json()
        requests.append(body)
        messages = body["messages"]
        last, user = messages[-1], next(m for m in messages if m["role"] == "user")
        if last["role"] == "tool" and not user["content"].startswith("#always"):
            return web.json_response(
                _reply({"role": "assistant", "content": f"\\boxed{{{last['content'].strip()}}}"}, "stop")
            )
        call_id = f"call_{len(messages)}"
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": "python", "arguments": json.dumps({"code": user["content"]})},
        }
        return web.json_response(_reply({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    # As vLLM, it lists what it serves: the start-up check reads the list instead of asking for a token.
    app.router.add_get("/v1/models", lambda _: web.json_response({"data": [{"id": "scripted"}]}))
    with serving(app) as base_url:
        yield f"{base_url}/v1", requests


def _generate(generator, server, tmp_path, programs: list[str], *flags: str) -> list[dict]:
    base_url, _ = server
    prompts = tmp_path / "programs.jsonl"
    prompts.write_text("".join(json.dumps({"problem": program}) + "\n" for program in programs))
    output = tmp_path / "rollouts.jsonl"
    argv = ["--dataset-name", str(prompts), "--output-file", str(output), "--base-url", base_url]
    argv += ["--model", "scripted", "--num-generations", "1", "--tools", "python", *flags]
    assert generator.main(argv) == 0
    return [json.loads(line) for line in output.read_text().splitlines()]


def test_calls_run_in_the_sandbox_and_their_output_goes_back_to_the_model(generator, scripted_server, tmp_path):
    [record] = _generate(generator, scripted_server, tmp_path, ["import os\nprint(6 * 7, os.getuid() != 0)"])
    _, requests = scripted_server
    assert [tool["function"]["name"] for tool in requests[0]["tools"]] == ["python"]
    assert requests[0]["tools"][0]["function"]["parameters"]["required"] == ["code"]
    # The sandbox runs the program under an unprivileged uid; the host runs these tests as root.
    tool_turn = requests[1]["messages"][-1]
    assert tool_turn == {"role": "tool", "tool_call_id": "call_1", "name": "python", "content": "42 True\n"}
    assert record["generation"] == "\\boxed{42 True}" and record["finish_reason"] == "stop"
    assert [turn["role"] for turn in record["messages"]] == ["assistant", "tool", "assistant"]
    assert record["tool_calls"] == 1 and record["completion_tokens"] == 6 and record["prompt_tokens"] == 20


@pytest.mark.parametrize(
    "program, expected",
    [
        ("while True:\n    pass", "time"),
        ("while True:\n    print('x' * 10000)", "cut"),
        ("import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass", "time"),
    ],
)
def test_a_hostile_call_comes_back_as_an_error_message_and_the_sample_is_written(
    generator, scripted_server, tmp_path, program, expected
):
    [record] = _generate(
        generator,
        scripted_server,
        tmp_path,
        [program],
        "--python-tool-wall-seconds",
        "1",
        "--python-tool-max-output-chars",
        "200",
    )
    tool_result = record["messages"][1]["content"]
    assert expected in tool_result.lower() and len(tool_result) <= 300
    assert record["finish_reason"] == "stop"


def test_rollouts_stop_after_the_last_round_and_say_so(generator, scripted_server, tmp_path):
    [record] = _generate(
        generator, scripted_server, tmp_path, ["#always\nprint(1)"], "--max-tool-calling-iterations", "2"
    )
    assert [turn["role"] for turn in record["messages"]] == ["assistant", "tool", "assistant", "tool", "assistant"]
    assert record["tool_calls"] == 2 and record["finish_reason"] == "tool_calls"
    assert record["messages"][-1]["tool_calls"], "the unexecuted last call is kept, not dropped"


def test_a_call_of_another_tool_or_with_bad_arguments_is_answered_with_an_error(generator):
    class RecordingTool:
        def __init__(self):
            self.codes = []

        def python(self, code):
            self.codes.append(code)
            return "ran\n"

    tool = RecordingTool()
    unknown = generator.run_tool_call(tool, {"function": {"name": "shell", "arguments": '{"code": "ls"}'}})
    assert unknown.startswith("Error: unknown tool 'shell'")
    for arguments in ("not json", '{"source": "print(1)"}', '["print(1)"]', '{"code": "print(1)", "x": 1}'):
        message = generator.run_tool_call(tool, {"function": {"name": "python", "arguments": arguments}})
        assert message.startswith("Error: python takes exactly one argument, 'code' (a string)")
    assert tool.codes == []
    assert generator.run_tool_call(tool, {"function": {"name": "python", "arguments": '{"code": "x"}'}}) == "ran\n"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--max-tool-calling-iterations", "2"], "['--max-tool-calling-iterations'] given without --tools python"),
        (
            ["--tools", "python", "--max-tool-calling-iterations", "0"],
            "--max-tool-calling-iterations must be at least 1",
        ),
        (["--tools", "python", "--python-tool-provider", "docker"], "python tool provider must be one of"),
        (["--tools", "shell"], "invalid choice: 'shell'"),
        (
            ["--tools", "python", "--python-tool-wall-seconds", "2", "--python-tool-rollout-seconds", "1"],
            "rollout_seconds must be 0 (no call runs) or at least wall_seconds",
        ),
    ],
)
def test_tool_flags_are_checked_naming_the_flag(generator, flags, message):
    from open_r1.usage import UsageError

    with pytest.raises(UsageError) as raised:
        generator.parse_args(["--dataset-name", "x.jsonl", "--output-file", "y.jsonl", *flags])
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "flags, budget",
    [
        ([], 4 * 5.0),  # the default rounds and wall limit
        (["--max-tool-calling-iterations", "3", "--python-tool-wall-seconds", "2"], 3 * 2.0),
        (["--python-tool-rollout-seconds", "7"], 7.0),
    ],
)
def test_the_time_budget_of_a_sample_follows_its_rounds_unless_set(generator, flags, budget):
    args = generator.parse_args(["--dataset-name", "x.jsonl", "--output-file", "y.jsonl", "--tools", "python", *flags])
    assert args.tool_settings.budget_seconds == budget


def test_nothing_carries_over_from_one_sample_to_another(generator, scripted_server, tmp_path):
    records = _generate(
        generator,
        scripted_server,
        tmp_path,
        ["secret = 12345\nprint('set')", "print(secret)"],
        "--max-concurrent",
        "1",
    )
    results = {record["prompt"]: record["messages"][1]["content"] for record in records}
    assert results["secret = 12345\nprint('set')"] == "set\n"
    assert "NameError" in results["print(secret)"]
