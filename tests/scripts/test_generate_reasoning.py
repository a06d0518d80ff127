"""Specification of generation against a real OpenAI-compatible server.

`scripts/generate_reasoning.py` (async client, exactly-once resume) and `src/open_r1/generate.py`
(distilabel pipeline).

The server is `transformers serve` with the tiny local model on CPU, started on a free loopback
port for this module and stopped after it. It answers one request at a time and ignores `n`.
"""

import collections
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest
from aiohttp import web

from open_r1.data.jsonl import ResumableJsonl
from tests.support import REPO_ROOT
from tests.support.files import write_jsonl
from tests.support.local_server import serving
from tests.support.ports import free_port
from tests.support.script_module import load_module

# Most tests here are end-to-end runs: they drive the generation scripts against a real `transformers serve`.
pytestmark = pytest.mark.e2e

SCRIPT = REPO_ROOT / "scripts" / "generate_reasoning.py"
DISTILABEL_SCRIPT = REPO_ROOT / "src" / "open_r1" / "generate.py"
TRANSFORMERS_CLI = pathlib.Path(sys.executable).parent / "transformers"


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    """`transformers serve <tiny model> --device cpu` on 127.0.0.1; yields (base URL, model name)."""
    home = tmp_path_factory.mktemp("hf_home")
    (home / "hub").mkdir()  # /v1/models needs $HF_HOME/hub
    port = free_port()
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    command = [str(TRANSFORMERS_CLI), "serve", str(tiny_model), "--device", "cpu", "--host", "127.0.0.1"]
    log = open(home / "serve.log", "w")
    process = subprocess.Popen(command + ["--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not start: {(home / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1", str(tiny_model)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "problems.jsonl"
    rows = [{"id": f"p{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(5)]
    write_jsonl(path, rows)
    return path


def _command(server, prompts_file, output, samples, max_tokens=4):
    base_url, model = server
    return [
        sys.executable,
        str(SCRIPT),
        "--dataset-name",
        str(prompts_file),
        "--uuid-column",
        "id",
        "--keep-columns",
        "answer",
        "--output-file",
        str(output),
        "--base-url",
        base_url,
        "--model",
        model,
        "--num-generations",
        str(samples),
        "--max-tokens",
        str(max_tokens),
        "--max-concurrent",
        "3",
        "--retries",
        "2",
    ]


def _pairs(path):
    lines = path.read_text().splitlines()
    return [(record["uuid"], record["sample_index"]) for record in map(json.loads, lines)]


def test_every_prompt_sample_pair_is_written_once_with_the_server_answer(server, prompts_file, tmp_path):
    output = tmp_path / "traces.jsonl"
    subprocess.run(_command(server, prompts_file, output, samples=2), check=True, timeout=300)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted((r["uuid"], r["sample_index"]) for r in records) == [(f"p{i}", s) for i in range(5) for s in (0, 1)]
    for record in records:
        assert record["prompt"] == f"What is {record['uuid'][1:]} + {record['uuid'][1:]}?"
        assert record["answer"] == str(2 * int(record["uuid"][1:]))
        # A random model may emit its end token early; it never exceeds the budget.
        assert 1 <= record["completion_tokens"] <= 4 and record["finish_reason"] in ("length", "stop")
        assert isinstance(record["generation"], str)
    # A second run with the same arguments finds nothing left to do.
    subprocess.run(_command(server, prompts_file, output, samples=2), check=True, timeout=300)
    assert len(output.read_text().splitlines()) == 10


def test_generator_killed_mid_run_resumes_to_a_complete_duplicate_free_file(server, prompts_file, tmp_path):
    output = tmp_path / "traces.jsonl"
    command = _command(server, prompts_file, output, samples=4, max_tokens=24)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while (not output.exists() or len(output.read_bytes().splitlines()) < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = _pairs(output)
    assert 3 <= len(written) < 20, "the kill should land mid-run"
    # The kill may also tear a line: simulate the worst case, a record cut in the middle.
    with open(output, "a") as file:
        file.write('{"uuid": "p4", "sample_index": 3, "gener')

    subprocess.run(command, check=True, timeout=300)
    final = _pairs(output)
    assert collections.Counter(final) == collections.Counter((f"p{i}", s) for i in range(5) for s in range(4))
    assert final[: len(written)] == written  # what was done before the kill is kept, not redone


def test_records_from_other_arguments_are_refused(server, prompts_file, tmp_path):
    output = tmp_path / "traces.jsonl"
    output.write_text(json.dumps({"uuid": "p1", "sample_index": 7, "generation": "x"}) + "\n")
    result = subprocess.run(
        _command(server, prompts_file, output, samples=2), capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "line 1: record ('p1', 7) is not a (prompt, sample) of this run" in result.stderr


def test_torn_last_line_is_cut_off_and_a_corrupt_earlier_line_is_an_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3, "b"')
    log = ResumableJsonl(path)
    assert log.recover() == [{"a": 1}, {"a": 2}]
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'
    log.append({"a": 3})
    log.close()
    assert ResumableJsonl(path).recover() == [{"a": 1}, {"a": 2}, {"a": 3}]

    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match="log.jsonl, line 2: not a JSON record"):
        ResumableJsonl(path).recover()


def test_a_whole_last_record_without_its_newline_is_kept_and_a_torn_one_is_said(tmp_path, caplog):
    """Found by a red team: a last record missing only its newline was cut without a word, and so was a torn one."""
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}')
    assert ResumableJsonl(path).recover() == [{"a": 1}, {"a": 2}]
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n' and not caplog.text
    path.write_text('{"a": 1}\n{"a": 2')
    assert ResumableJsonl(path).recover() == [{"a": 1}]
    assert "log.jsonl: cut its torn last line (7 bytes)" in caplog.text


def _distilabel_command(server, prompts_file, output, num_generations):
    base_url, model = server
    return [
        sys.executable,
        str(DISTILABEL_SCRIPT),
        "--hf-dataset",
        str(prompts_file),
        "--prompt-column",
        "problem",
        "--model",
        model,
        "--vllm-server-url",
        base_url,
        "--max-new-tokens",
        "6",
        "--num-generations",
        str(num_generations),
        "--input-batch-size",
        "2",
        "--output-file",
        str(output),
    ]


def test_distilabel_pipeline_generates_one_grouped_completion_per_prompt(server, prompts_file, tmp_path):
    output = tmp_path / "generated.jsonl"
    env = {**os.environ, "DISTILABEL_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run(_distilabel_command(server, prompts_file, output, 1), check=True, timeout=300, env=env)
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["problem"] for row in rows] == [f"What is {i} + {i}?" for i in range(5)]
    for row in rows:
        assert len(row["generation"]) == 1 and isinstance(row["generation"][0], str)
        assert 1 <= row["distilabel_metadata"][0]["statistics_text_generation_0"]["output_tokens"] <= 6
        assert row["model_name"] == server[1]


def test_distilabel_run_fails_loudly_when_the_server_returns_fewer_generations_than_asked(
    server, prompts_file, tmp_path
):
    # transformers serve ignores `n`: asking for 2 must not quietly keep 1.
    env = {**os.environ, "DISTILABEL_CACHE_DIR": str(tmp_path / "cache")}
    command = _distilabel_command(server, prompts_file, tmp_path / "out.jsonl", 2)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode != 0
    assert "got fewer than 2 generations" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_distilabel_run_whose_requests_fail_names_them_instead_of_crashing(prompts_file, tmp_path):
    """Found by a newcomer audit: every request failing ended in a traceback at `len(None)`."""

    async def models(_):
        return web.json_response({"data": [{"id": "m"}]})

    async def broken(_):
        return web.Response(status=500, text="out of memory")

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", broken)
    env = {**os.environ, "DISTILABEL_CACHE_DIR": str(tmp_path / "cache")}
    with serving(app) as url:
        command = _distilabel_command((f"{url}/v1", "m"), prompts_file, tmp_path / "out.jsonl", 1)
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode != 0
    assert "5 rows (first: 0) got fewer than 1 generations: requests failed" in result.stderr, result.stderr[-3000:]
    assert "TypeError" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.fixture
def flaky_proxy(server):
    """A proxy in front of the real server that answers every other chat request with 503 first."""
    base_url, _ = server
    seen = collections.Counter()

    async def forward(request):
        body = await request.read()
        if request.method == "POST":
            seen[body] += 1
            if seen[body] % 2 == 1:  # the first try of each distinct request fails
                return web.Response(status=503, text="overloaded, try again")
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method,
                base_url + request.path[len("/v1") :],
                data=body,
                headers={"Content-Type": "application/json"},
            ) as response:
                return web.Response(
                    status=response.status, body=await response.read(), content_type="application/json"
                )

    app = web.Application()
    app.router.add_route("*", "/v1/{tail:.*}", forward)
    with serving(app) as proxy_url:
        yield f"{proxy_url}/v1", seen


def test_transient_server_errors_are_retried_until_every_sample_is_written(
    server, flaky_proxy, prompts_file, tmp_path
):
    proxy_url, seen = flaky_proxy
    output = tmp_path / "traces.jsonl"
    command = _command((proxy_url, server[1]), prompts_file, output, samples=2)
    command[command.index("--retries") + 1] = "1"
    # Distinct seeds make the two samples of a prompt distinct requests for the proxy's bookkeeping.
    subprocess.run(command + ["--retry-backoff", "0.05", "--seed", "0"], check=True, timeout=300)
    assert sorted(_pairs(output)) == [(f"p{i}", s) for i in range(5) for s in (0, 1)]
    # Each of the 10 samples: one 503, then one success (the start-up check's one-token request for the model, which
    # transformers serve does not list, aside).
    assert sum(count for body, count in seen.items() if json.loads(body)["max_tokens"] != 1) == 20


def test_a_request_the_server_rejects_is_reported_and_not_written(prompts_file, tmp_path):
    async def models(_):
        return web.json_response({"data": [{"id": "m"}]})

    async def rejected(_):
        return web.json_response({"error": "max_tokens is too large"}, status=400)

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", rejected)
    output = tmp_path / "traces.jsonl"
    with serving(app) as url:
        command = _command((f"{url}/v1", "m"), prompts_file, output, samples=1)
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "5 samples failed" in result.stderr and "run the same command again" in result.stderr
    assert not output.exists() or output.read_text() == ""


def test_pass_rate_openai_backend_samples_each_completion_from_the_server(server, tmp_path):
    script = load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")
    base_url, model = server
    args = script.PassRateGenerationArguments(
        model_name_or_path=model, backend="openai", base_url=base_url, num_generations=3, max_completion_length=4
    )
    conversations = script.build_conversations(["What is 1 + 1?", "What is 2 + 2?"], None, "problem")
    generations = script.sample_openai(conversations, args)
    assert [len(samples) for samples in generations] == [3, 3]
    assert all(isinstance(text, str) for samples in generations for text in samples)


def test_kept_columns_may_not_overwrite_the_record_fields():
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--dataset-name",
            "x.jsonl",
            "--output-file",
            "y.jsonl",
            "--keep-columns",
            "prompt",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--keep-columns ['prompt'] would overwrite the record fields" in result.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--retries", "-1"], "--retries must be 0 or more, got -1"),
        (["--retry-backoff", "-3"], "--retry-backoff must be 0 or more, got -3"),
        (["--timeout", "-1"], "--timeout must be a positive number of seconds, got -1"),
        (["--temperature", "-1"], "--temperature must be >= 0, got -1"),
        (["--top-p", "2"], r"--top-p must be in \(0, 1\], got 2"),
        (
            ["--api-addr", "127.0.0.1:59999", "--base-url", "http://127.0.0.1:58123/v1"],
            "--api-addr 127.0.0.1:59999 and --base-url http://127.0.0.1:58123/v1 both name the server; give one",
        ),
    ],
)
def test_settings_no_request_can_use_are_refused(options, message):
    """A newcomer audit's: --retries -1 tried no request (an AssertionError per sample); the others went unread."""
    from open_r1.usage import UsageError

    script = load_module("scripts/generate_reasoning.py", "generate_reasoning_script")
    with pytest.raises(UsageError, match=f"^{message}$"):
        script.parse_args(["--dataset-name", "x.jsonl", "--output-file", "y.jsonl", *options])
