"""What a chat template does, found by rendering it, and the training variant `assistant_only_loss` needs.

    from open_r1.utils.chat_templates import end_of_turn_token, prefills_think, training_chat_template

    end_of_turn_token(tokenizer)      # "<|im_end|>" for ChatML: the token that closes an assistant turn
    prefills_think(tokenizer)         # True when the generation prompt already opens "<think>"
    keeps_system_turn(tokenizer)      # False when the template drops a system turn, or refuses one
    training_chat_template(tokenizer) # the template with {% generation %} markers, verified; or a ValueError
    template_syntax_problem(text)     # "line 3: unexpected '}'" for a template Jinja cannot parse, else None
    check_chat_template_path(path)    # SFT's `chat_template_path`: a .jinja file, or a folder with a tokenizer

TRL's `assistant_only_loss` trains only on the tokens a template wraps in `{% generation %}` /
`{% endgeneration %}`. Few model templates have those markers, and TRL adds them only to the templates it
stores byte for byte; any other one (SmolLM2's ChatML with its default system prompt, for instance) fails
once the trainer is built. `training_chat_template` adds them at start-up instead:

1. a template that has markers is kept;
2. otherwise two candidates are tried: open-r1's rewrite of ChatML's per-message line (any ChatML template
   that writes each turn as `'<|im_start|>' + role + '\\n' + content + '<|im_end|>'`, with or without a
   default system prompt), then TRL's own training variant of the template (Qwen2.5, Llama 3, Qwen3, ...);
3. a candidate is used only if, on a set of probe conversations, it renders exactly the text the original
   renders, keeps earlier turns a prefix of later renderings, and its assistant mask covers each assistant
   turn's content and end-of-turn token and nothing else (whitespace around them aside); for a template
   that renders tool calls, an assistant turn that only calls a tool must be masked too;
4. with no candidate left, a ValueError names `assistant_only_loss` and the fix (`chat_template` in the recipe).

Not covered: templates for multimodal processors, and templates that raise on the probe conversations
(system turns, several turns) — those fail step 3 and get the ValueError.
"""

from __future__ import annotations

import pathlib
import re
from typing import TYPE_CHECKING

from open_r1.usage import UsageError

if TYPE_CHECKING:  # the module is read by code that must not import transformers (`make demo`'s command line)
    from transformers import PreTrainedTokenizerBase

# ChatML as Qwen writes it, with `{% generation %}` around assistant turns so TRL's
# `assistant_only_loss` can mask everything else.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Probe conversations: contents without leading or trailing whitespace (Llama 3 trims them), with digits,
# a newline and reasoning tags, so a rewrite that changes any of them shows up in the rendered text.
_PROBE_CONVERSATIONS = (
    (
        {"role": "user", "content": "What is 12 + 30?"},
        {"role": "assistant", "content": "<think>\n12 + 30 = 42\n</think>\nThe answer is \\boxed{42}."},
    ),
    (
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "And an even one?"},
        {"role": "assistant", "content": "2 is the only even prime."},
    ),
)
_TOOL_NAME = "probe_tool_name"
_TOOL_PROBE = (
    {"role": "user", "content": "Add 2 and 3."},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": _TOOL_NAME, "arguments": {"a": 2, "b": 3}}}],
    },
    {"role": "tool", "name": _TOOL_NAME, "content": "5"},
    {"role": "assistant", "content": "2 + 3 = 5."},
)
_SENTINEL = "open-r1 probe sentinel 7Q"

# ChatML's per-message output, `{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}`,
# in the spellings model templates use: m.role or m['role'], the newline escaped or literal, '<|im_end|>\n' or
# '<|im_end|>' + '\n', with or without whitespace control.
_NEWLINE = r"(?:\\n|\n)"
_CHATML_MESSAGE_LINE = re.compile(
    r"\{\{(?P<left>-?)\s*'<\|im_start\|>'\s*\+\s*(?P<var>[A-Za-z_]\w*)(?P<role>\['role'\]|\[\"role\"\]|\.role)"
    rf"\s*\+\s*'{_NEWLINE}'\s*\+\s*(?P=var)(?P<content>\['content'\]|\[\"content\"\]|\.content)"
    rf"\s*\+\s*'<\|im_end\|>(?P<newline_inside>{_NEWLINE})?'"
    rf"(?P<newline_after>\s*\+\s*'{_NEWLINE}')?\s*(?P<right>-?)\}}\}}"
)
_GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")


def template_text(tokenizer: PreTrainedTokenizerBase, chat_template: str | dict | None = None) -> str | None:
    """The template `tokenizer` renders with (its `default` variant when it ships several)."""
    template = tokenizer.chat_template if chat_template is None else chat_template
    if isinstance(template, dict):
        template = template.get("default")
    return template


def template_syntax_problem(chat_template: str) -> str | None:
    """`line N: problem` where Jinja cannot parse `chat_template`, with the `{% generation %}` block and the loop
    controls transformers' renderer allows; None where it parses. Parsing needs no tokenizer, so a recipe's broken
    template fails at start-up rather than at the first rendered row."""
    import jinja2
    import jinja2.ext

    class GenerationBlock(jinja2.ext.Extension):
        tags = {"generation"}

        def parse(self, parser):
            next(parser.stream)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    environment = jinja2.Environment(extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    try:
        environment.parse(chat_template)
    except jinja2.TemplateSyntaxError as error:
        return f"line {error.lineno}: {error.message}"
    return None


# The file names TRL 1.16's SFTTrainer reads as a template for `chat_template_path`; it loads any other path as a
# tokenizer whose template it copies.
TEMPLATE_FILE_SUFFIXES = (".jinja", ".j2")
# A folder `chat_template_path` names must hold a tokenizer, whose template is copied.
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")


def template_path_is_local(reference: str) -> bool:
    """Whether SFT's `chat_template_path` names a local file or folder rather than a Hub tokenizer: a local-looking
    path (`usage.looks_local`), or a name ending in .jinja or .j2, which no Hub id does."""
    from open_r1.usage import looks_local

    return looks_local(reference) or reference.endswith(TEMPLATE_FILE_SUFFIXES)


def check_chat_template_path(reference: str) -> None:
    """Raises a UsageError naming `chat_template_path` (SFT, TRL's field) when the local file or folder it names
    does not exist (with its close names), is a file TRL would load as a tokenizer, holds a template Jinja cannot
    parse, or is a folder without a tokenizer. A Hub id is left to `usage.check_command_line`."""
    from open_r1.usage import check_local_path

    if not template_path_is_local(reference):
        return
    check_local_path("chat_template_path", reference, local_only=True)
    path = pathlib.Path(reference).expanduser()
    if path.is_file():
        if not path.name.endswith(TEMPLATE_FILE_SUFFIXES):
            raise UsageError(
                f"chat_template_path {reference}: TRL reads a file as a template only when its name ends in "
                f"{' or '.join(TEMPLATE_FILE_SUFFIXES)} (any other path it loads as a tokenizer)"
            )
        problem = template_syntax_problem(path.read_text(encoding="utf-8"))
        if problem:
            raise UsageError(f"chat_template_path {reference}: {problem}")
    elif not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise UsageError(
            f"chat_template_path {reference}: a folder must hold a tokenizer ({' or '.join(TOKENIZER_FILES)}), whose "
            "template is copied; or name a .jinja file"
        )


def has_generation_markers(chat_template: str | None) -> bool:
    return bool(chat_template) and _GENERATION_MARKER.search(chat_template) is not None


def _render(tokenizer, messages, chat_template: str, add_generation_prompt: bool = False, **kwargs) -> str:
    return tokenizer.apply_chat_template(
        list(messages),
        chat_template=chat_template,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )


def end_of_turn_token(tokenizer: PreTrainedTokenizerBase, chat_template: str | None = None) -> str | None:
    """The special token the template writes right after an assistant turn's content, or None when it writes none.

    This is the token an SFT model learns to emit at the end of an answer, so the one generation must stop at.
    """
    template = template_text(tokenizer, chat_template)
    if not template:
        return None
    text = _render(
        tokenizer, [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": _SENTINEL}], template
    )
    if _SENTINEL not in text:
        return None
    after = text.split(_SENTINEL, 1)[1]
    ids = tokenizer(after, add_special_tokens=False)["input_ids"]
    if not ids:
        return None
    token = tokenizer.convert_ids_to_tokens(ids[0])
    return token if token in tokenizer.get_added_vocab() else None


def generation_prompt(tokenizer: PreTrainedTokenizerBase, chat_template: str | None = None) -> str:
    """What `add_generation_prompt=True` appends after a user turn (e.g. `<|im_start|>assistant\\n`)."""
    template = template_text(tokenizer, chat_template)
    messages = [{"role": "user", "content": _SENTINEL}]
    without = _render(tokenizer, messages, template)
    with_prompt = _render(tokenizer, messages, template, add_generation_prompt=True)
    if not with_prompt.startswith(without):
        raise UsageError("the chat template renders a conversation differently when asked for a generation prompt")
    return with_prompt[len(without) :]


def opens_the_assistant_turn(tokenizer: PreTrainedTokenizerBase, chat_template: str | None = None) -> bool:
    """Whether a conversation rendered for generation ends where the assistant's reply begins: the template writes a
    generation prompt, or (Mistral's and Llama 2's `[/INST]`) the user's turn itself ends on the reply's opening.
    False when the user's turn is closed with the token that closes turns and nothing opens after it."""
    if generation_prompt(tokenizer, chat_template).strip():
        return True
    closing = end_of_turn_token(tokenizer, chat_template)
    rendered = _render(
        tokenizer, [{"role": "user", "content": _SENTINEL}], template_text(tokenizer, chat_template), True
    )
    return closing is None or closing not in rendered.split(_SENTINEL, 1)[-1]


def prefills_think(tokenizer: PreTrainedTokenizerBase, chat_template: str | None = None) -> bool:
    """True when the generation prompt ends by opening `<think>`, so completions start inside the reasoning."""
    return generation_prompt(tokenizer, chat_template).rstrip().endswith("<think>")


def keeps_system_turn(tokenizer: PreTrainedTokenizerBase, chat_template: str | None = None) -> bool:
    """Whether the template writes a system turn's content into the prompt (some drop it, or refuse the role)."""
    messages = [{"role": "system", "content": _SENTINEL}, {"role": "user", "content": "Hi."}]
    try:
        text = _render(tokenizer, messages, template_text(tokenizer, chat_template), add_generation_prompt=True)
    except Exception:  # a template's raise_exception("System role not supported"), a jinja2 TemplateError
        return False
    return _SENTINEL in text


def add_chatml_generation_markers(chat_template: str) -> str | None:
    """`chat_template` with `{% generation %}` around each assistant turn's content and `<|im_end|>`.

    Rewrites every ChatML per-message line into a branch that writes assistant turns the same way but marked,
    and leaves everything else (default system prompts, generation prompt) as it was. None when the template
    has no such line. The caller must verify the result (`verify_training_template`): this is a text rewrite.
    """

    def rewrite(match: re.Match) -> str:
        var, role, content = match["var"], match["role"], match["content"]
        newline = "\\n"
        trailing = "'\\n'" if (match["newline_inside"] or match["newline_after"]) else "''"
        left, right = match["left"], match["right"]
        return (
            f"{{%{left} if {var}{role} == 'assistant' %}}"
            f"{{{{ '<|im_start|>assistant{newline}' }}}}"
            f"{{% generation %}}{{{{ {var}{content} + '<|im_end|>' }}}}{{% endgeneration %}}"
            f"{{{{ {trailing} }}}}"
            f"{{% else %}}{match.group(0)}{{% endif {right}%}}"
        )

    rewritten, count = _CHATML_MESSAGE_LINE.subn(rewrite, chat_template)
    return rewritten if count else None


def _trl_training_template(tokenizer: PreTrainedTokenizerBase) -> str | None:
    from trl.chat_template_utils import get_training_chat_template

    try:
        return get_training_chat_template(tokenizer)
    except ValueError:  # TRL does not store this template
        return None


def _supports_tool_calls(tokenizer: PreTrainedTokenizerBase, chat_template: str) -> bool:
    """Whether the template writes an assistant's tool call (its name appears in the rendering)."""
    try:
        return _TOOL_NAME in _render(tokenizer, _TOOL_PROBE, chat_template)
    except Exception:  # templates raise TemplateError, TypeError, ... on roles or fields they do not know
        return False


def _masked_spans(tokenizer, messages, chat_template: str) -> list[str]:
    """The text of each run of tokens the template marks as assistant output, in order."""
    output = tokenizer.apply_chat_template(
        list(messages),
        chat_template=chat_template,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    spans, current = [], []
    for token_id, masked in zip(output["input_ids"], output["assistant_masks"]):
        if masked:
            current.append(token_id)
        elif current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    return [tokenizer.decode(span, skip_special_tokens=False) for span in spans]


def verify_training_template(
    tokenizer: PreTrainedTokenizerBase, original: str, candidate: str, end_of_turn: str
) -> str | None:
    """Why `candidate` may not stand in for `original` when training on assistant turns only; None if it may."""
    probes = list(_PROBE_CONVERSATIONS)
    if _supports_tool_calls(tokenizer, original):
        probes.append(_TOOL_PROBE)
    for messages in probes:
        try:
            renderings = [
                (_render(tokenizer, messages, original), _render(tokenizer, messages, candidate)),
                (
                    _render(tokenizer, messages[:-1], original, add_generation_prompt=True),
                    _render(tokenizer, messages[:-1], candidate, add_generation_prompt=True),
                ),
            ]
            spans = _masked_spans(tokenizer, messages, candidate)
        except Exception as error:  # a template that cannot render the probes cannot be checked
            return f"rendering a probe conversation failed: {error}"
        for expected, got in renderings:
            if expected != got:
                return f"it renders a conversation differently:\n  original: {expected!r}\n  with markers: {got!r}"
        full = renderings[0][0]
        for end, message in enumerate(messages):
            if message["role"] == "assistant" and end < len(messages) - 1:
                if not full.startswith(_render(tokenizer, messages[: end + 1], original)):
                    return "it is not prefix-preserving: an earlier turn renders differently once more turns follow"
        assistant_turns = [message for message in messages if message["role"] == "assistant"]
        if len(spans) != len(assistant_turns):
            return f"it marks {len(spans)} spans as assistant output in a conversation with {len(assistant_turns)}"
        for message, span in zip(assistant_turns, spans):
            if message.get("tool_calls"):
                if _TOOL_NAME not in span or not span.strip().endswith(end_of_turn):
                    return f"the assistant mask of a tool call turn is {span!r}"
            elif span.strip() != message["content"] + end_of_turn:
                return (
                    f"the assistant mask covers {span!r} instead of the turn's content and {end_of_turn!r}: "
                    f"{message['content'] + end_of_turn!r}"
                )
    return None


def training_chat_template(tokenizer: PreTrainedTokenizerBase, source: str = "the tokenizer's") -> str:
    """A template that renders like `tokenizer`'s and carries verified `{% generation %}` markers.

    Raises a ValueError naming `assistant_only_loss` and the fix when no such template can be had.
    """
    original = template_text(tokenizer)
    fix = (
        "Set `chat_template` in the recipe to this template with `{% generation %}` ... `{% endgeneration %}` "
        "around each assistant turn's content and end-of-turn token, or set `assistant_only_loss: false`."
    )
    if not original:
        raise UsageError(f"assistant_only_loss: true needs a chat template, and {source} has none. {fix}")
    end_of_turn = end_of_turn_token(tokenizer, original)
    if end_of_turn is None:
        raise UsageError(
            f"assistant_only_loss: true, but {source} chat template ends assistant turns with no special token, "
            f"so a model trained on its assistant turns never learns to stop. {fix}"
        )
    if has_generation_markers(original):
        problem = verify_training_template(tokenizer, original, original, end_of_turn)
        if problem is not None:
            raise UsageError(f"assistant_only_loss: true, but {source} chat template's markers are wrong: {problem}")
        return original

    problems = []
    for name, candidate in (
        ("open-r1's ChatML rewrite", add_chatml_generation_markers(original)),
        ("TRL's training template", _trl_training_template(tokenizer)),
    ):
        if candidate is None:
            problems.append(f"{name}: does not apply")
            continue
        problem = verify_training_template(tokenizer, original, candidate, end_of_turn)
        if problem is None:
            return candidate
        problems.append(f"{name}: {problem}")
    raise UsageError(
        f"assistant_only_loss: true needs `{{% generation %}}` markers in the chat template, {source} has none, "
        f"and open-r1 cannot add them to it ({'; '.join(problems)}). It adds them to ChatML templates (SmolLM2, "
        f"Qwen2.5) and to the templates TRL stores (Llama 3, Qwen3, ...). {fix}"
    )
