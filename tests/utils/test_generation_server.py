"""Specification of `open_r1.utils.generation_server`: a server that does not answer, or does not serve the model a
script names, is one line before the first request."""

import pytest

from open_r1.usage import UsageError


def test_a_generation_server_that_does_not_answer_is_named_and_any_http_answer_counts():
    from aiohttp import web

    from open_r1.utils.generation_server import check_server_answers
    from tests.support.local_server import serving
    from tests.support.ports import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(UsageError, match=f"--vllm-server-url {dead}: no server answers .*; is it running"):
        check_server_answers(dead, "--vllm-server-url")
    unauthorised = web.Application()
    unauthorised.router.add_get("/v1/models", lambda _: web.json_response({}, status=401))
    with serving(unauthorised) as url:  # a server is there: the run names the key
        check_server_answers(f"{url}/v1", "--vllm-server-url")
    with pytest.raises(UsageError, match="--vllm-server-url 8000: no server answers"):
        check_server_answers("8000", "--vllm-server-url")  # not a URL: one line too


def test_a_server_that_is_no_openai_api_is_named_and_one_without_a_model_list_passes():
    """A newcomer's: another service's port (http.server answers 404 to everything) passed the check, and
    generate.py then printed 929 lines of distilabel's tracebacks."""
    from aiohttp import web

    from open_r1.utils.generation_server import check_server_answers
    from tests.support.local_server import serving

    with (
        serving(web.Application()) as url,
        pytest.raises(
            UsageError,
            match=r"--api-addr .*: the server there answers /models and /chat/completions with HTTP 404 and 404: no "
            r"OpenAI-compatible API \(another service's port, or a URL without its /v1\?\)$",
        ),
    ):
        check_server_answers(f"{url}/v1", "--api-addr", model="m")

    async def complete(request):  # as vLLM and OpenAI answer a model they do not serve: a 404 in JSON
        if (await request.json())["model"] != "m":
            return web.json_response({"error": {"message": "The model does not exist."}}, status=404)
        return web.json_response({"choices": []})

    chat_only = web.Application()  # some OpenAI-compatible APIs list no models
    chat_only.router.add_post("/v1/chat/completions", complete)
    with serving(chat_only) as url:
        check_server_answers(f"{url}/v1", "--api-addr", model="m")
        with pytest.raises(UsageError, match=r"^--model 'n': the server at .* refused it \(HTTP 404: "):
            check_server_answers(f"{url}/v1", "--api-addr", model="n")  # a review's: a typo, not another service


def test_the_server_check_goes_through_the_proxy_only_where_the_client_does(monkeypatch):
    from open_r1.utils.generation_server import check_server_answers
    from tests.support.local_server import fake_vllm, serving
    from tests.support.ports import free_port

    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")  # a proxy nothing listens on
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with serving(fake_vllm(["m"])) as url:
        check_server_answers(f"{url}/v1", "--api-addr", use_proxy=False)  # generate_reasoning.py's aiohttp client
        with pytest.raises(UsageError, match="no server answers"):
            check_server_answers(f"{url}/v1", "--vllm-server-url")


def test_a_model_the_server_refuses_is_named_with_those_it_lists():
    """Found by a newcomer audit: generate.py --model with a typo was a 299-line traceback ending in len(None)."""
    from open_r1.utils.generation_server import check_server_answers
    from tests.support.local_server import fake_vllm, serving

    keys = []
    with serving(fake_vllm(["Qwen/Qwen2.5-Math-7B", "other"], keys)) as url:
        with pytest.raises(
            UsageError,
            match=r"^--model 'Qwen/Qwen2.5-Math7B': the server at .* refused it \(HTTP 404: .*does not exist\..*\); "
            r"it lists \['Qwen/Qwen2.5-Math-7B', 'other'\] \(did you mean --model Qwen/Qwen2.5-Math-7B\?\)$",
        ):
            check_server_answers(f"{url}/v1", "--vllm-server-url", model="Qwen/Qwen2.5-Math7B")
        check_server_answers(f"{url}/v1", "--api-addr", model="other", api_key="k")
        check_server_answers(f"{url}/v1", "--api-addr")  # no --model: nothing to check
    assert keys == [None, "Bearer k", None]


def test_a_model_the_server_does_not_list_but_serves_passes():
    """`transformers serve` lists the models in its cache and loads any other on the first request."""
    from aiohttp import web

    from open_r1.utils.generation_server import check_server_answers
    from tests.support.local_server import serving

    asked = []

    async def complete(request):
        asked.append((await request.json())["max_tokens"])
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": "2"}}]})

    on_demand = web.Application()
    on_demand.router.add_get("/v1/models", lambda _: web.json_response({"data": [{"id": "cached/model"}]}))
    on_demand.router.add_post("/v1/chat/completions", complete)
    with serving(on_demand) as url:
        check_server_answers(f"{url}/v1", "--vllm-server-url", model="local/path")
    assert asked == [1]


def test_the_generation_scripts_default_to_one_server_and_one_key(monkeypatch):
    """An audit's: generate.py, generate_reasoning.py and pass-rate filtering each wrote their own address and key."""
    from open_r1 import generate
    from open_r1.utils.generation_server import DEFAULT_BASE_URL, server_api_key
    from tests.support.script_module import load_module

    reasoning = load_module("scripts/generate_reasoning.py", "generate_reasoning")
    pass_rate = load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")
    generated = generate.parse_args(["--hf-dataset", "d", "--model", "m", "--output-file", "o.jsonl"])
    assert generated.vllm_server_url == DEFAULT_BASE_URL
    assert reasoning.parse_args(["--dataset-name", "d", "--output-file", "o.jsonl"]).base_url == DEFAULT_BASE_URL
    assert pass_rate.PassRateGenerationArguments(model_name_or_path="m").base_url == DEFAULT_BASE_URL
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert server_api_key() == "EMPTY"  # a local server takes any key; the clients require one
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert server_api_key() == "sk-test"
