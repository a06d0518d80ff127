"""A Piston worker's HTTP answer as `PistonClient` reads it from `requests` (status, headers, a streamed body), for the
fake sessions of the sandbox tests; the fake cms_ioi server in tests/rewards answers over real HTTP instead."""

import json
from types import SimpleNamespace


def piston_answer(status: int, body, content_length: bool = True, on_close=lambda: None) -> SimpleNamespace:
    """`body` (a JSON value, or a str sent as it is) answered with `status`; without `content_length` the answer
    is chunked, as a proxy may send it, and only its size as it arrives tells how large it is."""
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    headers = {"Content-Length": str(len(data))} if content_length else {"Transfer-Encoding": "chunked"}
    sent = []

    def iter_content(chunk_size=1):
        for start in range(0, len(data), chunk_size):
            sent.append(start)
            yield data[start : start + chunk_size]

    return SimpleNamespace(
        status_code=status,
        headers=headers,
        text=data.decode(),
        iter_content=iter_content,
        chunks_sent=sent,
        close=on_close,
    )
