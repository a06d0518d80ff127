"""Local benchmark files and saved predictions for the offline evaluator.

    from open_r1.data.benchmarks import load_problems, load_predictions, build_messages
    problems = load_problems("../shared/data/math500.jsonl")

A benchmark file is JSONL with one problem per line and at least the fields `id`, `problem` and
`answer` (the shape of `../shared/data/*.jsonl`; other fields are ignored). A predictions file is
JSONL with `id` and `completion` per line (a string, or a tool rollout's list of chat messages), several
lines per id for several samples; the evaluator's own `details.jsonl` has that shape, so saved outputs
can be graded again.

Every malformed line is an error naming the file, the line and the field; nothing is skipped.
Not covered: code benchmarks (their tests need the sandboxed executor, see `open_r1.rewards`).
"""

import gzip
import math
import pathlib
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from open_r1.data.jsonl import json_row
from open_r1.utils.text_reading import readable_text

# DeepSeek-R1's recommended instruction for math evaluation: reason, then box the final answer,
# which is where `open_r1.rewards.accuracy.extract_answer` looks for it.
MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
REQUIRED_PROBLEM_FIELDS = ("id", "problem", "answer")
REQUIRED_PREDICTION_FIELDS = ("id", "completion")


@dataclass(frozen=True)
class Problem:
    id: str
    problem: str
    answer: str


# The file an evaluation writes its completions to (open_r1.eval.offline), and the gzipped copy docs/results keeps.
DETAILS_FILES = ("details.jsonl", "details.jsonl.gz")


def read_jsonl(path: pathlib.Path, required: tuple[str, ...], limit: int | None = None) -> list[tuple[int, dict]]:
    """(line number, row) of a JSONL file's first `limit` rows (all: None), each an object holding the `required`
    fields (not null); a bad line is a ValueError naming file and line. A `.gz` file is read gzipped."""
    if path.is_dir():  # an evaluation's output folder, most often, given for its details.jsonl
        inside = next((path / name for name in DETAILS_FILES if (path / name).is_file()), None)
        hint = f" (did you mean {inside}?)" if inside is not None else ""
        raise ValueError(f"{path} is a folder; expected a JSONL file with fields {list(required)}{hint}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected JSONL with fields {list(required)})")
    rows: list[tuple[int, dict]] = []
    try:
        _read_rows(path, required, limit, rows)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error) as error:  # Arrow, Parquet, a bad .gz
        line_number = rows[-1][0] + 1 if rows else 1
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else f"not a readable gzip file ({error})"
        raise ValueError(
            f"{path}:{line_number}: {reason}; expected a JSONL file with fields {list(required)}"
            + BINARY_HINTS.get(path.suffix, "")
        ) from None
    if not rows:
        raise ValueError(f"{path}: the file holds no rows (expected JSONL with fields {list(required)})")
    return rows


# What to do with a data file of another format than JSONL.
BINARY_HINTS = {
    ".arrow": " (an Arrow file: write it as JSONL with datasets, `Dataset.from_file(path).to_json(...)`)",
    ".parquet": " (a Parquet file: write it as JSONL with datasets, `Dataset.from_parquet(path).to_json(...)`)",
}


def _read_rows(path: pathlib.Path, required: tuple[str, ...], limit: int | None, rows: list) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    # utf-8-sig: a byte-order mark that an editor wrote first is no part of the first row (json says "decode using
    # utf-8-sig" of it).
    with opener(path, "rt", encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if limit is not None and len(rows) >= limit:
                break
            if not line.strip():
                continue
            row, problem = json_row(line)
            if problem:
                hint = _array_hint(line) or BINARY_HINTS.get(path.suffix, "")
                raise ValueError(f"{path}:{line_number}: {problem}{hint}")
            _check_required(row, required, path, line_number)
            rows.append((line_number, row))


def _array_hint(line: str) -> str:
    """What to do with a JSON array where a row should be: a file that is one JSON array (or a line of one)."""
    return "; write one JSON object per line (JSONL)" if line.lstrip().startswith("[") else ""


def _check_required(row: dict, required: tuple[str, ...], path: pathlib.Path, line_number: int) -> None:
    """Raises naming the `required` fields a row lacks, and apart those it gives as null."""
    missing = [name for name in required if name not in row]
    null = [name for name in required if name in row and row[name] is None]
    if missing:
        raise ValueError(
            f"{path}:{line_number}: missing field(s) {missing}; each line needs {list(required)}, this one "
            f"has {list(row)}"
        )
    if null:
        raise ValueError(
            f"{path}:{line_number}: field(s) {null} are null; each line needs {list(required)} with a value"
        )


def _as_text(value, path: pathlib.Path, line_number: int, name: str) -> str:
    # Answers are sometimes numbers in the source files (27.0); ids are sometimes integers.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{path}:{line_number}: field {name!r} must be a string or a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity, 1e400: Python's json reads them
        raise ValueError(
            f"{path}:{line_number}: field {name!r} is {value}, not a finite number (NaN, Infinity or a number past a "
            "float's range such as 1e400); write it as a string if it is meant"
        )
    text = str(value)
    if not readable_text(text).strip():  # "\u200b", "\u0000": drawn as nothing, and graded as nothing
        raise ValueError(f"{path}:{line_number}: field {name!r} is empty (got {text!r})")
    return text


def load_problems(path: str | pathlib.Path, limit: int | None = None) -> list[Problem]:
    """The problems of a benchmark JSONL file, in file order; `limit` keeps the first ones."""
    path = pathlib.Path(path)
    problems, seen = [], {}
    for line_number, row in read_jsonl(path, REQUIRED_PROBLEM_FIELDS):
        problem = Problem(*(_as_text(row[name], path, line_number, name) for name in REQUIRED_PROBLEM_FIELDS))
        if problem.id in seen:
            raise ValueError(f"{path}:{line_number}: duplicate id {problem.id!r} (first on line {seen[problem.id]})")
        seen[problem.id] = line_number
        problems.append(problem)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of problems, got {limit}")
        problems = problems[:limit]
    return problems


@dataclass(frozen=True)
class Predictions:
    """Saved completions per problem (in the problems' order), each one's finish reason in the same shape (None
    unless every row gives one), and each problem's prompt as the run that made them rendered it (None where the
    file does not give it: a file of id and completion only)."""

    completions: list[list[str | list[dict]]]
    finish_reasons: list[list[str]] | None
    prompts: list[str | None]


def load_predictions(
    path: str | pathlib.Path,
    problems: list[Problem],
    left_out_ids: set[str] = frozenset(),
    finish_reasons: tuple[str, ...] = (),
) -> Predictions:
    """The completions of a predictions JSONL file for `problems`, with each one's `finish_reason` when every row
    of the file gives one of `finish_reasons` (an evaluator's details.jsonl; a row giving another reason is an
    error) and each problem's `prompt` where the rows give it (a details.jsonl's: the chat template's rendering).

    Every problem must have the same number of completions, and every id must be one of the
    problems: a prediction for an unknown id, or a problem without predictions, is an error; so are rows of one
    problem that give different prompts (details of two runs put together).
    Predictions for `left_out_ids` (problems of the file past --limit) are set aside on purpose.
    """
    path = pathlib.Path(path)
    known = {problem.id for problem in problems}
    by_id: dict[str, list[str]] = defaultdict(list)
    reasons_by_id: dict[str, list[str]] = defaultdict(list)
    prompts: dict[str, tuple[str | None, int]] = {}
    every_row_says = True
    for line_number, row in read_jsonl(path, REQUIRED_PREDICTION_FIELDS):
        reason = row.get("finish_reason")
        if reason is None:
            every_row_says = False
        elif reason not in finish_reasons:
            raise ValueError(
                f"{path}:{line_number}: finish_reason must be one of {list(finish_reasons)}, got {reason!r}"
            )
        problem_id = _as_text(row["id"], path, line_number, "id")
        if problem_id in left_out_ids:
            continue
        if problem_id not in known:
            raise ValueError(f"{path}:{line_number}: id {problem_id!r} is not a problem of the benchmark file")
        by_id[problem_id].append(_as_completion(row["completion"], path, line_number))
        reasons_by_id[problem_id].append(reason)
        _note_prompt(prompts, problem_id, row.get("prompt"), path, line_number)
    missing = [problem.id for problem in problems if problem.id not in by_id]
    if missing:
        raise ValueError(f"{path}: no completion for {len(missing)} problem(s), e.g. {missing[:5]}")
    _check_even_counts(path, {problem.id: len(by_id[problem.id]) for problem in problems})
    return Predictions(
        completions=[by_id[problem.id] for problem in problems],
        finish_reasons=[reasons_by_id[problem.id] for problem in problems] if every_row_says else None,
        prompts=[prompts[problem.id][0] for problem in problems],
    )


def _note_prompt(
    prompts: dict[str, tuple[str | None, int]], problem_id: str, prompt, path: pathlib.Path, line_number: int
) -> None:
    """Records a row's prompt (None where it gives none) as its problem's, refusing one that is no string or
    differs from an earlier row's for the same problem."""
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError(
            f"{path}:{line_number}: field 'prompt' must be a string (the rendered prompt), got {prompt!r:.80}"
        )
    if problem_id not in prompts:
        prompts[problem_id] = (prompt, line_number)
    elif prompts[problem_id][0] != prompt:
        raise ValueError(
            f"{path}:{line_number}: the prompt of {problem_id!r} differs from its prompt on line "
            f"{prompts[problem_id][1]}; a predictions file holds one run's completions"
        )


def _check_even_counts(path: pathlib.Path, counts: dict[str, int]) -> None:
    """Raises naming the problems whose number of completions differs from most problems' (pass@k and maj@k need
    the same number for every problem)."""
    usual = Counter(counts.values()).most_common(1)[0][0]
    odd = [f"{problem_id!r} has {count}" for problem_id, count in counts.items() if count != usual]
    if odd:
        more = f" (and {len(odd) - 5} more)" if len(odd) > 5 else ""
        raise ValueError(
            f"{path}: every problem needs the same number of completions; most have {usual}, but "
            f"{', '.join(odd[:5])}{more}"
        )


def _as_completion(value, path: pathlib.Path, line_number: int) -> str | list[dict]:
    """A prediction's completion: a string, or a tool rollout's messages, whose assistant turns are graded."""
    from open_r1.rewards._completions import completion_text

    if isinstance(value, str):
        return value
    try:
        if not isinstance(value, list) or not value:
            raise ValueError(f"got {value!r:.80}")
        completion_text(value)
    except ValueError as error:
        raise ValueError(
            f"{path}:{line_number}: field 'completion' must be a string or a non-empty list of chat messages "
            f"(a tool rollout); {error}"
        ) from None
    return value


def build_messages(problem: Problem, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The chat conversation that asks the model to solve `problem`."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []  # "": as GRPO
    messages.append({"role": "user", "content": f"{problem.problem}\n\n{MATH_INSTRUCTION}"})
    return messages


def user_prompt(problem: str) -> str:
    """The user turn `build_messages` asks `problem` with: what training prompts hold, so that they match the
    evaluator's."""
    return build_messages(Problem(id="", problem=problem, answer=""))[-1]["content"]
