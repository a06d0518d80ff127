"""Chat templates and response parsing for tool calls.

A tool-calling rollout needs two things from the tokenizer: a chat template that renders assistant
`tool_calls` and `tool` messages (and keeps earlier turns unchanged when later ones are added: TRL's
"prefix-preserving" check), and a response parser that turns generated tokens back into a message with
`tool_calls`. TRL 1.16 knows the parsers of the templates it ships (Qwen 2.5/3, Llama 3.1, GPT-OSS, ...);
`ensure_tool_parsing` uses those, and adds the project's own:

- `CHATML_TOOLS_TEMPLATE`: ChatML with Qwen-style calls (`<tool_call>{"name": ..., "arguments": ...}</tool_call>`)
  and a short `tool` turn for results. Short on purpose: it is the tiny model's template (`make demo TOOLS=1`),
  where a JSON-schema system prompt would cost more context than the problems. It does not list the tools (the
  system prompt says which to call), so a prompt renders the same with and without them; real models keep their
  own templates (Qwen2.5-Math/Qwen3 templates describe each tool's schema in full).

Not covered: templates TRL does not know other than the one here; set `tokenizer.response_template` yourself.
"""

import json
import os

CHATML_TOOLS_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{% generation %}"
    "{{- message['content'] or '' }}"
    "{%- for call in message.get('tool_calls') or [] %}"
    "{%- set function = call['function'] if call['function'] is defined else call %}"
    "{{- '<tool_call>\\n{\"name\": \"' + function['name'] + '\", \"arguments\": ' }}"
    "{{- function['arguments'] if function['arguments'] is string else function['arguments'] | tojson }}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>' }}"
    "{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- elif message['role'] == 'tool' %}"
    "{{- '<|im_start|>tool\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
TOOL_CALL_TOKENS = ("<tool_call>", "</tool_call>")
# The key of a parsed assistant message that holds the turn as generated (`NestingSafeParser`); the rewards read it
# (`open_r1.rewards._completions`), chat templates ignore it.
GENERATED_TEXT = "generated_text"


class NestingSafeParser:
    """A tokenizer's `parse_response` whose `RecursionError` is a `ValueError`: a completion of ~1,000 `[` after
    `<tool_call>` (500 tokens) makes the JSON decoder recurse past Python's limit, and TRL's `parse_response`, which
    turns a malformed call into plain text, catches only `ValueError` and `TypeError`.

    The message it returns also holds, under GENERATED_TEXT, the turn as generated (decoded without special tokens,
    as a run without tools hands it to the rewards): the parser moves `<think>` into `reasoning_content` and keeps
    only the last text segment beside a call, so the rewards that weigh what was written read this instead."""

    def __init__(self, parse_response, decode):
        self.parse_response = parse_response
        self.decode = decode

    def __call__(self, response, *args, **kwargs):
        try:
            parsed = self.parse_response(response, *args, **kwargs)
        except RecursionError as error:
            raise ValueError(f"a tool call nested too deep to parse ({error})") from None
        if isinstance(parsed, dict):
            generated = response if isinstance(response, str) else self.decode(response, skip_special_tokens=True)
            parsed[GENERATED_TEXT] = generated
            if isinstance(parsed.get("tool_calls"), list):
                parsed["tool_calls"] = [echo_safe_call(call) for call in parsed["tool_calls"]]
        return parsed


def echo_safe_call(call):
    """A parsed call whose name and argument names can be echoed into a tool turn: a name that is not a string
    (`5`, `["python"]`) becomes its JSON text, since chat templates join it as a string (ours raised, and the
    training step with it), and control-token spellings in both are disarmed, since TRL's "Tool {name} not found."
    and a binding error's message repeat them in the tool turn, where they would render as real turns."""
    from .python_tool import disarm_control_text

    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return call
    name = function.get("name")
    name = disarm_control_text(name if isinstance(name, str) else json.dumps(name, default=str))
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        arguments = {disarm_control_text(str(key)): value for key, value in arguments.items()}
    # A call without arguments keeps None under the key: templates render `arguments | tojson` (null).
    return {**call, "function": {**function, "name": name, "arguments": arguments}}


def ensure_tool_parsing(tokenizer) -> None:
    """Gives `tokenizer` a response parser for tool calls, or raises naming the template and the fix.

    Keeps a parser the tokenizer already has; else TRL's for the templates it knows; else Qwen 3's parser for
    `CHATML_TOOLS_TEMPLATE` (the call syntax is Qwen's). Either way its `parse_response` is a `NestingSafeParser`, for
    TRL's rollouts and the project's alike."""
    if not isinstance(tokenizer.parse_response, NestingSafeParser):
        tokenizer.parse_response = NestingSafeParser(tokenizer.parse_response, tokenizer.decode)
    if getattr(tokenizer, "response_template", None) is not None or getattr(tokenizer, "response_schema", None):
        return
    from trl.chat_template_utils import add_response_schema, qwen3_template

    if tokenizer.chat_template == CHATML_TOOLS_TEMPLATE:
        tokenizer.response_template = qwen3_template
        return
    try:
        add_response_schema(tokenizer)
    except ValueError as error:
        raise ValueError(
            "tools: the model's chat template is not one whose tool-call syntax is known, so tool calls cannot be "
            "parsed. Use a model whose template TRL knows (Qwen2.5/Qwen3, Llama 3.1/3.2, GPT-OSS, ...), set "
            "`chat_template` in the recipe to open_r1.tools.chat.CHATML_TOOLS_TEMPLATE's text, or set "
            f"tokenizer.response_template yourself ({error})"
        ) from error


def check_tool_template(tokenizer) -> None:
    """Raises at start-up, naming the field, when the chat template cannot render a tool-calling conversation."""
    from trl.chat_template_utils import supports_tool_calling

    from open_r1.usage import UsageError

    if not supports_tool_calling(tokenizer):
        from open_r1.tasks.tiny_model import TINY_MODEL_SPEC_FILE

        fix = "Set `chat_template` in the recipe to a template that does (e.g. the model family's tool template)."
        folder = getattr(tokenizer, "name_or_path", "") or ""
        if os.path.isfile(os.path.join(folder, TINY_MODEL_SPEC_FILE)):
            fix = (
                f"{folder} is a tiny model made without tools: make the tool-calling one with `python "
                "scripts/make_tiny_model.py --tool_calling true --output_dir DIR` (as make demo TOOLS=1 does)."
            )
        raise UsageError(
            "tools: the chat template does not render tool calls and tool results (TRL's check: a user -> "
            f"assistant with tool_calls -> tool conversation must keep the call's name, arguments and the result). {fix}"
        )
