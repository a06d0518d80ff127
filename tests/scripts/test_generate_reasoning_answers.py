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
