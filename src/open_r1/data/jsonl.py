"""An append-only JSONL file that a killed writer leaves consistent: every line a whole record.

    log = ResumableJsonl("out.jsonl")
    done = log.recover()          # records already written; a torn last line is cut off first
    log.append({"id": 1, ...})    # one `write` of one whole line, flushed to the OS at once
    log.close()

Each record reaches the kernel in a single `os.write` on an O_APPEND descriptor, so a process
killed at any moment (even `kill -9`) leaves whole lines plus at most one partial last line, which
`recover` truncates. Only one process may append at a time. Not covered: power loss (no fsync
per line unless `fsync=True`), and concurrent writers.
"""

import json
import logging
import os
import pathlib

logger = logging.getLogger(__name__)


def json_row(line: str) -> tuple[dict | None, str | None]:
    """(the row, None) for a JSON Lines line holding one JSON object; (None, why not) otherwise: every reader of
    data and benchmark files says the same of a bad line, after its `file:line: `."""
    try:
        row = json.loads(line)
    except ValueError as error:
        return None, f"not valid JSON ({getattr(error, 'msg', error)})"
    if not isinstance(row, dict):
        return None, f"a JSON {type(row).__name__}, not an object holding the row's fields"
    return row, None


class ResumableJsonl:
    """Append-only JSONL records with crash recovery of the last, possibly torn, line."""

    def __init__(self, path: str | os.PathLike, fsync: bool = False):
        self.path = pathlib.Path(path)
        self.fsync = fsync
        self._fd: int | None = None

    def recover(self) -> list[dict]:
        """Reads the whole records, cutting off a torn last line (said in a warning); fails on a corrupt line
        elsewhere. A last line that is a whole record without its newline (a file written by hand) is kept."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write, or a record unterminated
        if end < len(data) and json_row(data[end:].decode("utf-8", errors="replace"))[0] is not None:
            with open(self.path, "ab") as file:
                file.write(b"\n")
            data, end = data + b"\n", len(data) + 1
        records = []
        for number, line in enumerate(data[:end].splitlines(), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{self.path}, line {number}: not a JSON record ({error}); fix or remove it"
                ) from error
            if not isinstance(record, dict):
                raise ValueError(f"{self.path}, line {number}: expected a JSON object, got {line[:80]!r}")
            records.append(record)
        if end < len(data):
            logger.warning(
                "%s: cut its torn last line (%d bytes), a write a killed run left unfinished",
                self.path,
                len(data) - end,
            )
            with open(self.path, "r+b") as file:
                file.truncate(end)
        return records

    def append(self, record: dict) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a server may send "\ud800"): escaped, it reads back the same
            line = (json.dumps(record) + "\n").encode("ascii")
        written = os.write(self._fd, line)
        while written < len(line):  # a short write only happens on odd file systems; finish the line
            written += os.write(self._fd, line[written:])
        if self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "ResumableJsonl":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
