#!/usr/bin/env python
"""Generates reasoning traces from any OpenAI-compatible server (vLLM, SGLang, `transformers serve`).

Every (prompt, sample) pair is one chat-completion request; results stream into a JSONL file as
they complete, one line per sample, with at most `--max-concurrent` requests in flight and retries
with exponential back-off. Restarted with the same arguments after being killed at any moment
(even `kill -9`), it reads the file back, cuts off a torn last line, and requests only the missing
pairs: the finished file holds every requested (prompt, sample) exactly once.

    # a vLLM / SGLang server on localhost:8000
    python scripts/generate_reasoning.py --dataset-name AI-MO/NuminaMath-1.5 --prompt-column problem \
        --output-file data/numina_r1.jsonl --num-generations 4 --max-tokens 16384 --max-concurrent 256
    # offline against a local file and a local server
    python scripts/generate_reasoning.py --dataset-name data/problems.jsonl --api-addr 127.0.0.1:8000 \
        --model my-model --output-file data/traces.jsonl

Each line: {"uuid", "sample_index", "prompt", "generation", "reasoning", "finish_reason",
"prompt_tokens", "completion_tokens", "model"} plus any `--keep-columns` of the row. Requests that
still fail after `--retries` are reported and the script exits non-zero; run it again to retry them.

With `--tools python` the model may call a Python interpreter while it reasons, as `tools: [python]` trains it
to: each request offers the `python` tool, every call the server returns runs in the project's sandbox
(`open_r1.tools.PythonTool`: `--python-tool-provider`, `--python-tool-wall-seconds`, ...; state replayed within
the sample's rollout, nothing shared between samples), its output goes back as a `tool` message, and the
conversation continues for at most `--max-tool-calling-iterations` rounds. A failing or hostile call comes back
to the model as an error message. The record then also holds `messages` (every assistant and tool turn) and
`tool_calls` (how many ran); `generation` is the last assistant turn; a rollout is written only once it ends, so
resuming never keeps half of one. A rollout still calling the tool after the last round ends with
`finish_reason` "tool_calls".

Not covered: several samples per request (`n` > 1 is not honoured by every server, and one
request per sample keeps the bookkeeping exact), and several writers on one output file.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import fields

import aiohttp
from tqdm.auto import tqdm

from open_r1.data.jsonl import ResumableJsonl
from open_r1.data.loading import check_prompts, load_dataset_reference
from open_r1.eval.arguments import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from open_r1.hub_access import check_references
from open_r1.tools import TOOLS
from open_r1.tools.arguments import PythonToolArguments
from open_r1.usage import (
    ArgumentParser,
    UsageError,
    did_you_mean,
    exit_on_interrupt,
    exit_on_usage_error,
    one_line,
    system_prompt_text,
)
from open_r1.utils.generation_server import DEFAULT_SERVER_ADDRESS, check_server_answers, server_api_key
from open_r1.utils.logs import configure_logging

logger = logging.getLogger("generate_reasoning")
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
RECORD_FIELDS = (
    "uuid",
    "sample_index",
    "prompt",
    "generation",
    "reasoning",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "model",
    "messages",  # with --tools
    "tool_calls",  # with --tools
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset-name", required=True, help="Hub id, local data file or saved dataset folder.")
    parser.add_argument("--dataset-config", default=None, help="Dataset configuration (Hub datasets only).")
    parser.add_argument("--dataset-split", default="train", help="Split to read prompts from.")
    parser.add_argument("--output-file", required=True, help="JSONL file to append to (and resume from).")
    parser.add_argument("--prompt-column", default="problem", help="Column holding each prompt.")
    parser.add_argument("--prompt-template", default="{prompt}", help="User message; {prompt} is the column value.")
    parser.add_argument(
        "--system-prompt",
        default=None,
        help="System message sent before every prompt, or a .txt/.md file holding it (as training reads it).",
    )
    parser.add_argument("--uuid-column", default=None, help="Unique id column (default: the row number).")
    parser.add_argument("--keep-columns", nargs="*", default=[], help="Row columns copied into every record.")
    parser.add_argument("--api-addr", default=DEFAULT_SERVER_ADDRESS, help="host:port of the server.")
    parser.add_argument("--base-url", default=None, help="Full API base URL (default http://<api-addr>/v1).")
    parser.add_argument("--api-key", default=server_api_key(), help="API key (default: $OPENAI_API_KEY).")
    parser.add_argument("--model", default=None, help="Model name to request (default: the server's only model).")
    parser.add_argument("--num-generations", type=int, default=4, help="Samples per prompt.")
    parser.add_argument(
        "--temperature", type=float, default=DEFAULT_TEMPERATURE, help="Sampling temperature (DeepSeek-R1's)."
    )
    parser.add_argument("--top-p", type=float, default=DEFAULT_TOP_P, help="Nucleus sampling top_p (DeepSeek-R1's).")
    parser.add_argument("--max-tokens", type=int, default=16384, help="Completion tokens per request at most.")
    parser.add_argument("--max-concurrent", type=int, default=1000, help="Requests in flight at most.")
    parser.add_argument("--retries", type=int, default=5, help="Retries per request after the first try.")
    parser.add_argument("--retry-backoff", type=float, default=1.0, help="First back-off in seconds; doubles.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds per request.")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="Sample j of row i is requested with seed SEED + i * num_generations + j.",
    )
    parser.add_argument(
        "--extra-body", default=None, help="JSON object merged into every request (server-specific fields)."
    )
    parser.add_argument("--fsync", action="store_true", help="fsync after every line (survives power loss).")
    parser.add_argument(
        "--tools", nargs="+", default=[], choices=TOOLS, help=f"Tools the model may call (some of {TOOLS})."
    )
    parser.add_argument(
        "--max-tool-calling-iterations",
        type=int,
        default=None,
        help="Rounds of tool calls per sample (with --tools), at least 1: a trace whose calls never run teaches nothing.",
    )
    for item in fields(PythonToolArguments):  # the recipe's python_tool_* fields, spelled as this script's flags
        kind = float if item.default is None else type(item.default)
        parser.add_argument(f"--{item.name.replace('_', '-')}", type=kind, default=None, help=item.metadata["help"])
    args = parser.parse_args(argv)
    args.system_prompt = system_prompt_text(args.system_prompt, "--system-prompt")
    tool_options = {
        name: getattr(args, name)
        for name in (
            "max_tool_calling_iterations",
            "python_tool_provider",
            "python_tool_wall_seconds",
            "python_tool_rollout_seconds",
            "python_tool_memory_mb",
            "python_tool_max_output_chars",
        )
        if getattr(args, name) is not None
    }
    if tool_options and not args.tools:
        parser.error(f"{['--' + name.replace('_', '-') for name in tool_options]} given without --tools python")
    if args.tools:
        if args.max_tool_calling_iterations is None:
            from open_r1.tools.rollout import DEFAULT_MAX_TOOL_CALLING_ITERATIONS

            args.max_tool_calling_iterations = DEFAULT_MAX_TOOL_CALLING_ITERATIONS
        if args.max_tool_calling_iterations < 1:
            parser.error(f"--max-tool-calling-iterations must be at least 1, got {args.max_tool_calling_iterations}")
        try:
            args.tool_settings = python_tool_settings(args)
        except ValueError as error:
            parser.error(str(error))
    for name in ("num_generations", "max_concurrent", "max_tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if "{prompt}" not in args.prompt_template:
        parser.error(f"--prompt-template must contain '{{prompt}}', got {args.prompt_template!r}")
    try:
        args.extra_body = json.loads(args.extra_body) if args.extra_body else {}
    except json.JSONDecodeError as error:
        parser.error(f"--extra-body is not valid JSON: {error}")
    if not isinstance(args.extra_body, dict):
        parser.error("--extra-body must be a JSON object")
    clashing = sorted(set(args.keep_columns) & set(RECORD_FIELDS))
    if clashing:
        parser.error(f"--keep-columns {clashing} would overwrite the record fields {list(RECORD_FIELDS)}")
    for name, low in (("retries", 0), ("retry_backoff", 0)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be {low} or more, got {getattr(args, name):g}")
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.temperature < 0:
        parser.error(f"--temperature must be >= 0, got {args.temperature:g}")
    if not 0 < args.top_p <= 1:
        parser.error(f"--top-p must be in (0, 1], got {args.top_p:g}")
    if args.base_url is not None and args.api_addr != DEFAULT_SERVER_ADDRESS:
        parser.error(f"--api-addr {args.api_addr} and --base-url {args.base_url} both name the server; give one")
    if "://" in args.api_addr:
        parser.error(f"--api-addr {args.api_addr}: give host:port; a whole URL goes in --base-url")
    if os.path.isdir(args.output_file):
        parser.error(f"--output-file {args.output_file} is a folder; name the JSONL file to write")
    args.base_url_given = args.base_url is not None
    args.base_url = (args.base_url or f"http://{args.api_addr}/v1").rstrip("/")
    return args


def python_tool_settings(args: argparse.Namespace):
    """The python tool's settings from the `--python-tool-*` flags (PythonToolArguments' defaults for the rest; the
    time budget follows --max-tool-calling-iterations)."""
    from open_r1.tools.python_tool import tool_sandbox

    given = {item.name: getattr(args, item.name) for item in fields(PythonToolArguments)}
    tool_args = PythonToolArguments(**{name: value for name, value in given.items() if value is not None})
    return tool_args.python_tool_settings(
        tool_sandbox(tool_args.python_tool_provider), args.max_tool_calling_iterations
    )


def python_tool_schema() -> dict:
    """The OpenAI-style schema of `PythonTool.python`, from its signature and docstring as TRL derives it."""
    from transformers.utils import get_json_schema

    from open_r1.tools.python_tool import PythonTool

    return get_json_schema(PythonTool.python.__get__(object()))


def run_tool_call(tool, call: dict) -> str:
    """What the model reads back for one of the server's `tool_calls`: OpenAI sends the arguments as a JSON
    string, which is decoded here; checking the call and running it is `open_r1.tools.rollout.call_tool`'s."""
    from open_r1.tools.rollout import call_tool

    function = call.get("function") if isinstance(call, dict) else None
    if isinstance(function, dict) and isinstance(function.get("arguments"), str):
        try:
            function = {**function, "arguments": json.loads(function["arguments"])}
        except json.JSONDecodeError:
            pass  # left a string: call_tool answers that the arguments are not an object with 'code'
        call = {**call, "function": function}
    return call_tool(tool, call)


async def tool_rollout(session, payload: dict, args: argparse.Namespace, tool) -> tuple[dict, dict, list, dict]:
    """Requests, runs the calls the model makes and requests again, up to `max_tool_calling_iterations` rounds.

    Returns the last response, its choice, the turns after the prompt and the summed token usage."""
    messages = list(payload["messages"])
    turns: list[dict] = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    tool.reset()
    for round_number in range(args.max_tool_calling_iterations + 1):
        response = await complete(session, {**payload, "messages": messages}, args)
        choice = response["choices"][0]
        for key in usage:
            usage[key] += (response.get("usage") or {}).get(key) or 0
        message = {key: value for key, value in (choice.get("message") or {}).items() if value is not None}
        message["role"] = "assistant"
        turns.append(message)
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls or round_number == args.max_tool_calling_iterations:
            return response, choice, turns, usage
        for call in calls:
            # The sandbox call blocks; run it beside the event loop so other requests keep flowing.
            output = await asyncio.to_thread(run_tool_call, tool, call)
            result = {"role": "tool", "tool_call_id": call.get("id"), "name": "python", "content": output}
            turns.append(result)
            messages.append(result)
    raise AssertionError("unreachable")


def load_prompts(args: argparse.Namespace) -> list[dict]:
    """One entry per row: uuid, the user prompt and the kept columns; uuids must be unique. A mistake in the
    dataset or its columns is a `UsageError`."""
    check_references([("--dataset-name", args.dataset_name, "dataset")])
    try:
        dataset = load_dataset_reference(args.dataset_name, args.dataset_config, args.dataset_split)
    except ValueError as error:  # e.g. no such split
        raise UsageError(f"--dataset-name {args.dataset_name}: {one_line(error)}") from None
    needed = [args.prompt_column] + ([args.uuid_column] if args.uuid_column else []) + list(args.keep_columns)
    missing = [column for column in needed if column not in dataset.column_names]
    if missing:
        raise UsageError(
            f"dataset {args.dataset_name!r} has no column(s) {missing}; its columns: {dataset.column_names}"
            + "".join(did_you_mean(column, dataset.column_names) for column in missing)
        )
    check_prompts(dataset[args.prompt_column], args.prompt_column)
    rows, seen = [], set()
    for number, row in enumerate(dataset.select_columns(list(dict.fromkeys(needed)))):
        prompt = row[args.prompt_column]
        uuid = str(row[args.uuid_column]) if args.uuid_column else str(number)
        if uuid in seen:
            raise UsageError(f"row {number}: --uuid-column {args.uuid_column!r} value {uuid!r} is not unique")
        seen.add(uuid)
        kept = {column: row[column] for column in args.keep_columns}
        rows.append(
            {"uuid": uuid, "number": number, "prompt": args.prompt_template.format(prompt=prompt), "kept": kept}
        )
    return rows


def completed_pairs(records: list[dict], rows: list[dict], num_generations: int, path) -> set[tuple[str, int]]:
    """(uuid, sample_index) already in the output; anything not belonging to this run is a `UsageError`."""
    prompts = {row["uuid"]: row["prompt"] for row in rows}
    done = set()
    for number, record in enumerate(records, start=1):
        key = (record.get("uuid"), record.get("sample_index"))
        if key[0] not in prompts or not isinstance(key[1], int) or not 0 <= key[1] < num_generations:
            raise UsageError(
                f"{path}, line {number}: record {key} is not a (prompt, sample) of this run "
                f"({len(rows)} prompts x {num_generations} samples); was the file made with other arguments?"
            )
        # Same uuids and count do not make the same run: another dataset or --prompt-template asks other prompts.
        if record.get("prompt") != prompts[key[0]]:
            raise UsageError(
                f"{path}, line {number}: record {key} holds another prompt than this run's "
                f"({one_line(str(record.get('prompt')))[:80]!r}, not {one_line(prompts[key[0]])[:80]!r}): "
                "the file is another run's; give this run another --output-file"
            )
        if key in done:
            raise UsageError(f"{path}, line {number}: duplicate record {key}")
        done.add(key)
    return done


async def resolve_model(session: aiohttp.ClientSession, args: argparse.Namespace) -> str:
    if args.model:
        return args.model
    async with session.get(f"{args.base_url}/models") as response:
        response.raise_for_status()
        models = [entry["id"] for entry in (await response.json()).get("data", [])]
    if len(models) != 1:
        raise ValueError(f"the server at {args.base_url} lists models {models}; choose one with --model")
    return models[0]


class PermanentError(Exception):
    """A request the server rejected in a way retrying cannot fix (e.g. 400 Bad Request)."""


def answer_problem(response) -> str | None:
    """Why a 200 body is not a chat completion this script can record (None if it is): the first choice's message
    must hold text (content or reasoning) or tool calls, and the token counts must be numbers."""
    if not isinstance(response, dict):
        return f"a JSON {type(response).__name__}, not an object"
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return f"'choices' is {str(choices)[:80]}, not a list of objects"
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return f"the first choice's 'message' is {str(message)[:80]}, not an object"
    texts = [message.get(key) for key in ("content", "reasoning_content", "reasoning")]
    if any(text is not None and not isinstance(text, str) for text in texts):
        return "the message's content or reasoning is not a string"
    calls = message.get("tool_calls")
    if calls is not None and not (isinstance(calls, list) and all(isinstance(call, dict) for call in calls)):
        return "the message's 'tool_calls' is not a list of objects"
    if not any(isinstance(text, str) for text in texts) and not calls:
        return "the message holds no content, reasoning or tool call"
    usage = response.get("usage")
    if usage is not None and not isinstance(usage, dict):
        return f"'usage' is {str(usage)[:80]}, not an object"
    counts = [(usage or {}).get(key) for key in ("prompt_tokens", "completion_tokens")]
    if any(count is not None and (not isinstance(count, int) or isinstance(count, bool)) for count in counts):
        return "the token counts in 'usage' are not integers"
    return None


async def complete(session: aiohttp.ClientSession, payload: dict, args: argparse.Namespace) -> dict:
    """One chat completion, retried with exponential back-off and jitter on transient failures."""
    for attempt in range(args.retries + 1):
        try:
            async with session.post(f"{args.base_url}/chat/completions", json=payload) as response:
                if response.status == 200:
                    answer = await response.json()
                    problem = answer_problem(answer)
                    if problem is None:
                        return answer
                    # Written as is, it would count as done and never be asked again: a failed sample instead.
                    raise PermanentError(f"the server's answer is not a chat completion: {problem}")
                body = (await response.text())[:500]
                if response.status not in RETRYABLE_STATUS:
                    raise PermanentError(f"HTTP {response.status}: {body}")
                problem = f"HTTP {response.status}: {body}"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:  # ValueError: a torn JSON body
            problem = f"{type(error).__name__}: {error}"
        if attempt == args.retries:
            raise RuntimeError(f"gave up after {args.retries + 1} tries; last error {problem}")
        delay = min(args.retry_backoff * 2**attempt, 60.0) * (0.5 + random.random())
        logger.debug("retrying in %.1fs after %s", delay, problem)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def generate(args: argparse.Namespace) -> int:
    rows = load_prompts(args)
    headers = {"Authorization": f"Bearer {args.api_key}"}
    log = ResumableJsonl(args.output_file, fsync=args.fsync)
    done = completed_pairs(log.recover(), rows, args.num_generations, args.output_file)
    pending: Iterator[tuple[dict, int]] = (
        (row, sample) for row in rows for sample in range(args.num_generations) if (row["uuid"], sample) not in done
    )
    total = len(rows) * args.num_generations - len(done)
    if total:  # aiohttp's client below does not read the http_proxy variables; neither does the check
        check_server_answers(
            args.base_url,
            "--base-url" if args.base_url_given else "--api-addr",
            use_proxy=False,
            model=args.model,
            api_key=args.api_key,
        )
    logger.info("%d prompts x %d samples: %d done, %d to go", len(rows), args.num_generations, len(done), total)
    failures, completion_tokens, start = [], 0, time.monotonic()
    progress = tqdm(total=total, desc="samples", unit="sample", dynamic_ncols=True)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=args.max_concurrent)
    tools_schema = [python_tool_schema()] if args.tools else None
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as session:
        model = await resolve_model(session, args)

        async def worker() -> None:
            nonlocal completion_tokens
            for row, sample in pending:  # one shared iterator: each pair is taken by exactly one worker
                messages = [{"role": "user", "content": row["prompt"]}]
                if args.system_prompt:
                    messages.insert(0, {"role": "system", "content": args.system_prompt})
                payload = {
                    "model": model,
                    "messages": messages,
                    "temperature": args.temperature,
                    "top_p": args.top_p,
                    "max_tokens": args.max_tokens,
                    **args.extra_body,
                }
                if args.seed is not None:  # reproducible samples, independent of completion order
                    payload["seed"] = args.seed + row["number"] * args.num_generations + sample
                rollout = {}
                try:
                    if tools_schema is None:
                        response = await complete(session, payload, args)
                        choice = response["choices"][0]
                        usage = response.get("usage") or {}
                    else:
                        from open_r1.tools.python_tool import PythonTool

                        payload["tools"] = tools_schema
                        tool = PythonTool(args.tool_settings)
                        response, choice, turns, usage = await tool_rollout(session, payload, args, tool)
                        rollout = {"messages": turns, "tool_calls": len(tool.transcript)}
                except (PermanentError, RuntimeError, KeyError, IndexError) as error:
                    failures.append((row["uuid"], sample, str(error)))
                    logger.error("prompt %s sample %d failed: %s", row["uuid"], sample, error)
                    continue
                message = choice.get("message") or {}
                log.append(
                    {
                        "uuid": row["uuid"],
                        "sample_index": sample,
                        "prompt": row["prompt"],
                        "generation": message.get("content"),
                        "reasoning": message.get("reasoning_content", message.get("reasoning")),
                        "finish_reason": choice.get("finish_reason"),
                        "prompt_tokens": usage.get("prompt_tokens"),
                        "completion_tokens": usage.get("completion_tokens"),
                        "model": response.get("model", model),
                        **rollout,
                        **row["kept"],
                    }
                )
                completion_tokens += usage.get("completion_tokens") or 0
                progress.update(1)
                progress.set_postfix(tok_per_s=f"{completion_tokens / (time.monotonic() - start):.0f}")

        await asyncio.gather(*(worker() for _ in range(min(args.max_concurrent, max(total, 1)))))
    progress.close()
    log.close()
    if failures:
        logger.error(
            "%d samples failed (first: %s); run the same command again to retry them", len(failures), failures[0]
        )
        return 1
    logger.info(
        "all %d samples of %d prompts are in %s", len(rows) * args.num_generations, len(rows), args.output_file
    )
    return 0


def main(argv=None) -> int:
    configure_logging()
    # Every sample is a whole line once written, so an interrupted run loses only the requests in flight.
    with exit_on_interrupt("the samples written so far are kept; run the same command again to continue"):
        with exit_on_usage_error("generate_reasoning.py"):  # a mistake: one line and exit status 2
            return asyncio.run(generate(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
