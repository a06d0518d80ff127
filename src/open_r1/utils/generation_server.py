"""Whether an OpenAI-compatible generation server answers and serves the model a script names, before the first
request: one line instead of one error per request, or a long traceback from the pipeline.

    check_server_answers(args.vllm_server_url, "--vllm-server-url", model=args.model)   # UsageError if not

`DEFAULT_BASE_URL` and `server_api_key()` are the scripts' defaults for the server and its key.
It uses only the standard library (urllib), whatever client the caller uses. Not covered: whether the server can
hold the run's load, or answers with the sampling settings the script asks for: the run's requests say so.
"""

import os

from open_r1.usage import UsageError, did_you_mean

# Where the generation scripts (generate.py, generate_reasoning.py, pass-rate filtering) look for an OpenAI-compatible
# server by default: `vllm serve`'s port on this machine.
DEFAULT_SERVER_ADDRESS = "localhost:8000"
DEFAULT_BASE_URL = f"http://{DEFAULT_SERVER_ADDRESS}/v1"


def server_api_key() -> str:
    """The key the generation scripts send: $OPENAI_API_KEY, else a placeholder a local server accepts (the clients
    require one)."""
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"


# Seconds a generation script waits for its server's first answer before it stops, naming the address.
SERVER_CHECK_SECONDS = 30
# HTTP statuses saying a path is not served (not found, method not allowed, not implemented).
NOT_THERE = (404, 405, 501)
# Bytes of a server's answer read at most: a list of thousands of model names is far smaller.
SERVER_ANSWER_BYTES = 1 << 20


def _is_json_object(text: str) -> bool:
    import json

    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def check_server_answers(
    base_url: str,
    option: str,
    use_proxy: bool = True,
    seconds: float = SERVER_CHECK_SECONDS,
    model: str | None = None,
    api_key: str | None = None,
) -> None:
    """Raises a UsageError naming `option` when nothing answers an OpenAI-compatible server's `base_url`/models:
    one line before a generation starts, not one error per request. Any HTTP answer (401, 500) counts, but a server
    that serves neither /models nor /chat/completions (404, 405, 501) is no such API.
    `use_proxy`: whether the `http_proxy` variables apply, as they do for the client the caller uses.

    `model`, when the server does not list it, is asked for one token: servers that load models on demand
    (`transformers serve`) list only what they hold, vLLM refuses any other name. A refusal (HTTP 4xx) is a
    UsageError naming `--model`, the names the server lists and the close ones."""
    import http.client
    import json
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(*([] if use_proxy else [urllib.request.ProxyHandler({})]))
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    no_models = None  # the HTTP status of a /models the server does not have
    try:
        request = urllib.request.Request(f"{base_url.rstrip('/')}/models", headers=headers)
        with opener.open(request, timeout=seconds) as response:
            body = response.read(SERVER_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        if error.code not in NOT_THERE:
            return
        no_models, body = error.code, b""
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        raise UsageError(f"{option} {base_url}: no server answers ({reason}); is it running?") from None
    try:
        served = [str(entry["id"]) for entry in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError):  # not the OpenAI list
        served = []
    if no_models is None and (model is None or model in served):
        return
    # Some OpenAI-compatible APIs have no /models: one without /chat/completions either is no such API.
    one_token = {"model": model or "", "messages": [{"role": "user", "content": "1"}], "max_tokens": 1}
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/chat/completions",
        data=json.dumps(one_token).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with opener.open(request, timeout=seconds):
            return
    except urllib.error.HTTPError as error:
        try:
            said = " ".join(error.read(SERVER_ANSWER_BYTES).decode(errors="replace").split())
        except (OSError, http.client.HTTPException):  # the refusal's body cut off: its status says enough
            said = error.reason
        if no_models is not None and error.code in NOT_THERE and not _is_json_object(said):
            # An API answers in JSON (vLLM's and OpenAI's unknown model is a 404 with an error object).
            raise UsageError(
                f"{option} {base_url}: the server there answers /models and /chat/completions with HTTP "
                f"{no_models} and {error.code}: no OpenAI-compatible API (another service's port, or a URL without "
                "its /v1?)"
            ) from None
        if model is None or not 400 <= error.code < 500 or error.code in (401, 403, 408, 429):  # not the name's
            return
        refusal = f"HTTP {error.code}: {said}"
    except (urllib.error.URLError, OSError, http.client.HTTPException):  # slow or busy: the run will tell
        return
    listed = f"it lists {served}" if served else "it lists no model"
    raise UsageError(
        f"--model {model!r}: the server at {base_url} refused it ({refusal[:300]}); {listed}"
        + did_you_mean(model, served, "--model ")
    )
