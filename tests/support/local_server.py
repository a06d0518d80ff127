"""An aiohttp application served on 127.0.0.1 from a background thread, for tests that need a fake HTTP server."""

import asyncio
import contextlib
import threading

from aiohttp import web

from tests.support.ports import free_port


@contextlib.contextmanager
def serving(app: web.Application):
    """Serves `app` until the block ends; yields its base URL (`http://127.0.0.1:<port>`)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    port = free_port()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def fake_vllm(names, seen_keys=None):
    """An app that lists `names` at /v1/models and, as vLLM does, answers 404 for any other model; it notes the
    bearer keys it got."""

    async def models(request):
        if seen_keys is not None:
            seen_keys.append(request.headers.get("Authorization"))
        return web.json_response({"object": "list", "data": [{"id": name, "object": "model"} for name in names]})

    async def complete(request):
        model = (await request.json())["model"]
        if model not in names:
            return web.json_response({"message": f"The model `{model}` does not exist."}, status=404)
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": "2"}}]})

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", complete)
    return app
