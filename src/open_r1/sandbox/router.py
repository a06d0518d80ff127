"""The HTTP service behind `scripts/e2b_router.py` and `scripts/morph_router.py`.

Many training processes send their evaluation scripts to one router, which holds the account's key and runs
at most `max_concurrency` scripts at a time on its backend, so the whole job stays inside the account's
sandbox quota. API (what `remote.post_to_router` sends):

    POST /execute_batch {"scripts": [str], "languages": ["python", ...], "timeout": seconds}
      -> [{"stdout": str | null, "exception_str": str | null}, ...]   (one per script, in order)
    GET /health -> {"status": "ok", "backend": name, "max_concurrency": n, "running": k}

A script that fails on the backend yields {"stdout": null, "exception_str": "..."}; the caller scores it 0.
Backends: `e2b`, `morph` (cloud, need their keys) and `local` (the local sandbox; for a single machine and
for tests). Not covered: authentication; run the router on a private network.
"""

import asyncio
from collections.abc import Callable

from pydantic import BaseModel

from .config import DEFAULT_ROUTER_TIMEOUT_SECONDS

Backend = Callable[[str, float], str]  # (script, timeout) -> stdout; blocking; raises on failure


class BatchRequest(BaseModel):
    scripts: list[str]
    languages: list[str] = []
    timeout: float = DEFAULT_ROUTER_TIMEOUT_SECONDS


def e2b_backend(num_workers: int) -> Backend:
    from .e2b import E2BProvider

    provider = E2BProvider(num_workers=num_workers)
    return lambda script, timeout: asyncio.run(provider.run_one(script))


def morph_backend(num_workers: int) -> Backend:
    from .morph import MorphProvider

    provider = MorphProvider(num_workers=num_workers)
    return lambda script, timeout: provider.run_one(script)


def local_backend(num_workers: int) -> Backend:
    from .base import Limits
    from .local import LocalSandbox

    # The evaluation script itself starts compilers and programs, so it gets room for them.
    sandbox = LocalSandbox(num_workers=num_workers, limits=Limits(wall_seconds=120, cpu_seconds=120, processes=64))

    def run(script: str, timeout: float) -> str:
        _, [raw] = sandbox.run_raw(script, "python", [""])
        if raw.get("exit_code") != 0:
            raise RuntimeError(f"script failed: {raw.get('stderr', '')[-500:]}")
        return raw["stdout"]

    return run


BACKENDS = {"e2b": e2b_backend, "morph": morph_backend, "local": local_backend}


def build_router_app(backend: Backend, max_concurrency: int, backend_name: str = "custom"):
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title=f"open-r1 {backend_name} router")
    slots = asyncio.Semaphore(max_concurrency)
    state = {"running": 0}

    async def run_one(script: str, timeout: float) -> dict:
        async with slots:
            state["running"] += 1
            try:
                stdout = await asyncio.wait_for(asyncio.to_thread(backend, script, timeout), timeout=timeout + 30)
                return {"stdout": stdout, "exception_str": None}
            except Exception as error:
                return {"stdout": None, "exception_str": f"{type(error).__name__}: {error}"}
            finally:
                state["running"] -= 1

    @app.post("/execute_batch")
    async def execute_batch(request: BatchRequest) -> list[dict]:
        if request.languages and len(request.languages) != len(request.scripts):
            raise HTTPException(422, f"{len(request.scripts)} scripts but {len(request.languages)} languages")
        if any(language != "python" for language in request.languages):
            raise HTTPException(422, "scripts must be python evaluation scripts (see open_r1.sandbox.remote)")
        return await asyncio.gather(*(run_one(script, request.timeout) for script in request.scripts))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "backend": backend_name, "max_concurrency": max_concurrency, **state}

    return app


def parse_args(default_backend: str, default_port: int, argv: list[str] | None = None):
    """The router's command line; a mistake is a one-line `UsageError` (a misspelt option with the close one)."""
    from open_r1.usage import ArgumentParser, UsageError

    parser = ArgumentParser(description=f"Batching router for the {default_backend} code sandbox")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on")
    parser.add_argument("--max_num_sandboxes", type=int, default=20, help="scripts running at once")
    parser.add_argument(
        "--backend", choices=sorted(BACKENDS), default=default_backend, help="sandbox that runs the scripts"
    )
    args = parser.parse_args(argv)
    if args.max_num_sandboxes < 1:
        raise UsageError(f"--max_num_sandboxes must be at least 1, got {args.max_num_sandboxes}")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be in 1-65535, got {args.port}")
    return args


def main(default_backend: str, default_port: int) -> None:
    from open_r1.usage import exit_on_usage_error

    with exit_on_usage_error():
        args = parse_args(default_backend, default_port)
    import uvicorn

    backend = BACKENDS[args.backend](args.max_num_sandboxes)
    uvicorn.run(build_router_app(backend, args.max_num_sandboxes, args.backend), host=args.host, port=args.port)
