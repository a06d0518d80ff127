"""Turns the `completions` TRL passes to reward functions into plain strings; every reward reads them through here.

TRL 1.16 calls every reward as `reward(prompts=..., completions=..., completion_ids=..., **columns)`
where a completion is either a string (standard datasets) or a list of messages (conversational
datasets, `[{"role": "assistant", "content": ...}]`). Rewards grade the text the model wrote, so
this joins the content of the assistant message(s) (a message without a role counts as the assistant's).

Shapes read: a message's content may be a string, None (a turn that only calls tools), or a list of parts as chat
templates take them: `{"type": "text", "text": str}` parts are joined, parts of other types (an image) carry no text
and are skipped. Any other shape (a completion that is a list of strings, a number as content, a text part whose
`text` is not a string) is the pipeline's mistake, not the model's: it raises ValueError naming the completion's
index and the shape found, from whichever reward reads it first, rather than grading a guess.

With tools, TRL parses each generated turn into a message: `<think>` moves to `reasoning_content`, only the last
text segment beside a call stays in `content`, and the call's JSON goes to `tool_calls`. The rewards that weigh how
much, how repetitively or in what layout the model wrote (length, cosine, repetition, the format rewards) read the
turn as generated instead (`written=True`: the project's parser keeps it, `open_r1.tools.chat.GENERATED_TEXT`), so
that no text escapes them by where the parser put it; the repetition penalty reads each call in it decoded from its
JSON (`tool_calls=True`), so that code repeated in a call's argument is read line by line, and read once. The
rewards that grade the answer read the content.

Not covered: token counts (TRL's `completion_ids`, which the DAPO punishment reads), the tools' own output.
"""

import json
from collections.abc import Callable

from open_r1.tools.chat import GENERATED_TEXT, TOOL_CALL_TOKENS


def _shape(value) -> str:
    """A short description of a value's shape for an error message."""
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))[:8]}"
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {', '.join(kinds)}" if kinds else f"an empty {type(value).__name__}"
    return f"{type(value).__name__} {value!r:.80}"


def _content_text(content, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ValueError(f"{where}['content'] must be a string, None or a list of parts; got {_shape(content)}")
    texts = []
    for number, part in enumerate(content):
        if not isinstance(part, dict):
            raise ValueError(
                f"{where}['content'][{number}] must be a part such as {{'type': 'text', 'text': str}}; "
                f"got {_shape(part)}"
            )
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{where}['content'][{number}]['text'] must be a string; got {_shape(text)}")
        if part.get("type", "text") == "text":
            texts.append(text or "")
    return "".join(texts)


def _tool_call_text(calls) -> str:
    """Every string a turn's tool calls carry in their arguments (a JSON text is read as JSON), one per line; a
    number or other value as its text."""
    arguments = []
    for call in calls if isinstance(calls, (list, tuple)) else []:
        function = call.get("function", call) if isinstance(call, dict) else None
        arguments.append(function.get("arguments") if isinstance(function, dict) else None)
    return _strings_in(arguments)


def _with_calls_decoded(generated: str) -> str:
    """A turn as generated with each `<tool_call>...</tool_call>` span (the call syntax of Qwen and of
    open_r1.tools.chat's template) replaced by the strings its JSON holds, one per line: the call's code read as
    the lines it writes rather than one escaped line, and read once. Other call syntaxes are left as generated."""
    return _calls_replaced(generated, lambda call: "\n" + _strings_in([call]) + "\n")


def _without_calls(generated: str) -> str:
    """A turn as generated with each closed `<tool_call>...</tool_call>` span cut out: what the model said, not what
    its calls carry."""
    return _calls_replaced(generated, lambda call: "\n")


def _calls_replaced(generated: str, replacement: Callable[[str], str]) -> str:
    """`generated` with each closed `<tool_call>...</tool_call>` span replaced by `replacement(its inside)`; an
    unclosed one is left as written. Linear: each span is found by one forward search."""
    opening, closing = TOOL_CALL_TOKENS
    parts, position = [], 0
    while True:
        start = generated.find(opening, position)
        end = generated.find(closing, start + len(opening)) if start >= 0 else -1
        if end < 0:
            parts.append(generated[position:])
            return "".join(parts)
        parts += [generated[position:start], replacement(generated[start + len(opening) : end])]
        position = end + len(closing)


def _strings_in(values: list) -> str:
    """Every string `values` hold (a JSON text is read as JSON), one per line; a number or other value as its text."""
    texts, pending, seen = [], list(reversed(values)), {}  # seen: id -> the object, kept alive so ids stay apart
    while pending:  # not recursive: the model chooses how deep the arguments nest
        value = pending.pop()
        if isinstance(value, (dict, list, tuple)):
            if id(value) in seen:  # a structure that holds itself (a pipeline's, never parsed JSON) is read once
                continue
            seen[id(value)] = value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = value
            if isinstance(parsed, (dict, list)):
                pending.append(parsed)
            else:
                texts.append(value)
        elif isinstance(value, dict):
            pending.extend(reversed(list(value.values())))
        elif isinstance(value, (list, tuple)):
            pending.extend(reversed(value))
        elif value is not None:
            texts.append(str(value))
    return "\n".join(texts)


def completion_text(
    completion, index: int | None = None, tool_calls: bool = False, written: bool = False, calls: bool = True
) -> str:
    """The text the model wrote in one completion (`index`: its position in the batch, for error messages):
    its turns' content; `tool_calls`: with what its turns' tool calls carry, after each turn's text.

    `written`: each turn as generated, where the tool parser kept it (GENERATED_TEXT: the reasoning it moved to
    `reasoning_content` and the text it dropped beside a call included), else its content followed by what its
    calls carry. The rewards that weigh how much, how repetitively or in what layout the model wrote read this;
    those that grade the answer read the content. `calls=False`: as written, without the calls (whether it wrote
    `</think>` is read from its prose, not from a call's code)."""
    where = "completion" if index is None else f"completions[{index}]"
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        raise ValueError(f"{where} must be a string or a list of chat messages; got {_shape(completion)}")
    parts = []
    for number, message in enumerate(completion):
        if not isinstance(message, dict) or "content" not in message:
            raise ValueError(
                f"{where} must be a string or a list of chat messages with a 'content'; got {_shape(completion)} "
                f"whose element {number} is {_shape(message)}"
            )
        if message.get("role", "assistant") == "assistant":
            generated = message.get(GENERATED_TEXT) if written else None
            if isinstance(generated, str):  # its calls are in it already
                if not calls:
                    generated = _without_calls(generated)
                parts.append(_with_calls_decoded(generated) if tool_calls else generated)
                continue
            parts.append(_content_text(message["content"], f"{where}[{number}]"))
            carried = _tool_call_text(message.get("tool_calls")) if calls and (tool_calls or written) else ""
            if carried:
                parts.append("\n" + carried)
    return "".join(parts)


def completion_texts(completions, tool_calls: bool = False, written: bool = False, calls: bool = True) -> list[str]:
    """The text of every completion of a reward call (`tool_calls`, `written`, `calls`: as `completion_text`);
    ValueError naming the first completion of a shape not read."""
    if not isinstance(completions, (list, tuple)):
        raise ValueError(f"completions must be a list with one completion per sample; got {_shape(completions)}")
    return [
        completion_text(completion, index, tool_calls, written, calls) for index, completion in enumerate(completions)
    ]


def prompt_texts(prompts, count: int) -> list[str | None]:
    """The text of every prompt of a reward call (every message's content, joined), None for each when the caller
    passed no prompts (a reward called outside training); ValueError naming the first prompt of a shape not read."""
    if prompts is None:
        return [None] * count
    if not isinstance(prompts, (list, tuple)) or len(prompts) != count:
        raise ValueError(f"prompts must be a list with one prompt per completion ({count}); got {_shape(prompts)}")
    texts = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, str):
            texts.append(prompt)
            continue
        if not isinstance(prompt, (list, tuple)) or not all(isinstance(m, dict) and "content" in m for m in prompt):
            raise ValueError(f"prompts[{index}] must be a string or a list of chat messages; got {_shape(prompt)}")
        texts.append("\n".join(_content_text(m["content"], f"prompts[{index}][{n}]") for n, m in enumerate(prompt)))
    return texts


# The columns the reference answer is read from, in order of preference (`solution` is upstream's).
GOLD_COLUMNS = ("solution", "answer")


def gold_answers(kwargs: dict, reward_name: str, count: int) -> list:
    """The reference answers: the `solution` column (upstream), else `answer`."""
    for column in GOLD_COLUMNS:
        if kwargs.get(column) is not None:
            golds = list(kwargs[column])
            if len(golds) != count:
                raise ValueError(f"{reward_name}: got {count} completions but {len(golds)} values in '{column}'")
            return golds
    raise ValueError(
        f"{reward_name} needs the reference answers in a dataset column named 'solution' (or 'answer'); "
        f"the columns passed were "
        f"{sorted(k for k, v in kwargs.items() if v is not None and k not in ('trainer_state', 'log_extra', 'log_metric'))}"
    )
