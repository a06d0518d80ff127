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
