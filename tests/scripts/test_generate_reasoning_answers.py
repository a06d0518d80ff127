"""`scripts/generate_reasoning.py` against what a server or an old output file may hold: a file from another run
is refused before any request, an answer that is not a chat completion is a failed sample (counted, not written,
retried by the next run), and no answer crashes the run.

The server is an in-process OpenAI-compatible endpoint listing the model `m`, answering every chat request with
the raw body the test gives it.
"""

import json

import pytest
from aiohttp import web

from tests.support.local_server import serving

GOOD = {
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "\\boxed{2}"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 5},
}


@pytest.fixture
def answering():
    """`answering(body)` serves `body` (bytes, or JSON-encoded) as every chat answer; yields the base URL."""
    state = {"body": json.dumps(GOOD).encode()}

    async def chat(_):
        return web.Response(body=state["body"], content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", lambda _: web.json_response({"data": [{"id": "m"}]}))

    def answer(body):
        state["body"] = body if isinstance(body, bytes) else json.dumps(body).encode()

    with serving(app) as url:
        yield answer, f"{url}/v1"


@pytest.fixture
def problems(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text('{"problem": "1+1?"}\n{"problem": "2+2?"}\n')
    return path


def _run(generator, url, problems, output, *flags):
    argv = ["--dataset-name", str(problems), "--output-file", str(output), "--base-url", url, "--model", "m"]
    return generator.main([*argv, "--num-generations", "1", "--retries", "0", *flags])


def _records(output):
    return [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []


def test_a_file_of_another_prompt_template_is_refused_naming_the_line(
    generator, answering, problems, tmp_path, capsys
):
    """Found by a red team: only (uuid, sample_index) were compared, so a file written with another
    --prompt-template (or another dataset of the same length) was reported as this run's, all samples in."""
    _, url = answering
    output = tmp_path / "out.jsonl"
    assert _run(generator, url, problems, output) == 0
    before = output.read_text()
    with pytest.raises(SystemExit) as exited:
        _run(generator, url, problems, output, "--prompt-template", "Solve: {prompt}")
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert f"{output}, line 1: record ('0', 0) holds another prompt than this run's" in stderr
    assert "the file is another run's; give this run another --output-file" in stderr and "Traceback" not in stderr
    assert output.read_text() == before


def _good_but(**changes):
    """GOOD with the first choice's message (`message=`) or a top-level field replaced."""
    answer = json.loads(json.dumps(GOOD))
    if "message" in changes:
        answer["choices"][0]["message"] = changes.pop("message")
    return {**answer, **changes}


@pytest.mark.parametrize(
    "body, why",
    [
        ({"choices": [{}]}, "the first choice's 'message' is None, not an object"),
        (
            _good_but(message={"role": "assistant", "content": None}),
            "the message holds no content, reasoning or tool call",
        ),
        (_good_but(message={"role": "assistant", "content": 7}), "the message's content or reasoning is not a string"),
        ([1, 2, 3], "a JSON list, not an object"),
        (None, "a JSON NoneType, not an object"),
        ({"choices": ["hello"]}, "'choices' is ['hello'], not a list of objects"),
        ({"choices": []}, "'choices' is [], not a list of objects"),
        (_good_but(usage=5), "'usage' is 5, not an object"),
        (_good_but(usage={"completion_tokens": "many"}), "the token counts in 'usage' are not integers"),
    ],
)
def test_an_answer_that_is_not_a_chat_completion_is_a_failed_sample_retried_by_the_next_run(
    generator, answering, problems, tmp_path, caplog, body, why
):
    """Found by a red team: `{"choices": [{}]}` or a null content was written as done with "generation": null and
    never asked again; a list or null body, a string choice or `"usage": 5` crashed the whole run."""
    answer, url = answering
    output = tmp_path / "out.jsonl"
    answer(body)
    assert _run(generator, url, problems, output) == 1
    assert _records(output) == []
    assert f"the server's answer is not a chat completion: {why}" in caplog.text
    assert "2 samples failed" in caplog.text and "run the same command again" in caplog.text
    answer(GOOD)
    assert _run(generator, url, problems, output) == 0
    assert [record["generation"] for record in _records(output)] == ["\\boxed{2}"] * 2


def test_reasoning_without_content_is_a_sample(generator, answering, problems, tmp_path):
    """A reasoning model cut off by --max-tokens while thinking answers reasoning and no content: a real sample."""
    answer, url = answering
    output = tmp_path / "out.jsonl"
    answer(_good_but(message={"role": "assistant", "content": None, "reasoning_content": "Let me think"}))
    assert _run(generator, url, problems, output) == 0
    assert [(record["generation"], record["reasoning"]) for record in _records(output)] == [(None, "Let me think")] * 2


def test_a_lone_surrogate_in_an_answer_is_written_and_read_back_as_sent(generator, answering, problems, tmp_path):
    """Found by a red team: content "x\\ud800y" (valid JSON, not encodable as UTF-8) crashed the run in
    `ResumableJsonl.append` with a UnicodeEncodeError."""
    answer, url = answering
    output = tmp_path / "out.jsonl"
    answer(b'{"choices": [{"message": {"role": "assistant", "content": "x\\ud800y"}, "finish_reason": "stop"}]}')
    assert _run(generator, url, problems, output) == 0
    assert [record["generation"] for record in _records(output)] == ["x\ud800y"] * 2
    assert _run(generator, url, problems, output) == 0  # the rerun reads it back as done
    assert len(_records(output)) == 2


def test_ctrl_c_is_one_line_saying_the_samples_written_are_kept(
    generator, answering, problems, tmp_path, capsys, monkeypatch
):
    """Found by a red team: Ctrl-C printed a KeyboardInterrupt traceback."""
    _, url = answering

    async def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "generate", interrupted)
    with pytest.raises(SystemExit) as exited:
        _run(generator, url, problems, tmp_path / "out.jsonl")
    assert exited.value.code == 130
    stderr = capsys.readouterr().err
    assert "interrupted; the samples written so far are kept; run the same command again to continue" in stderr
    assert "Traceback" not in stderr
