"""Files the tests write for the code under test to read."""

import json
import pathlib


def write_jsonl(path: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    """`rows` as JSON Lines at `path`, one object a line; returns `path`."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
