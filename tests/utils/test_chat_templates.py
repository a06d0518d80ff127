"""Chat templates read by rendering them: end-of-turn token, `<think>` pre-fill, and verified generation markers."""

import pytest
from transformers import AutoTokenizer
from trl.chat_template_utils import llama3_chat_template, qwen2_5_chat_template

from open_r1.utils.chat_templates import (
    CHATML_TEMPLATE,
    add_chatml_generation_markers,
    end_of_turn_token,
    has_generation_markers,
    prefills_think,
    training_chat_template,
    verify_training_template,
)
from tests.support.gguf_writer import CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE

LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
CONVERSATION = [
    {"role": "user", "content": "What is 3 + 4?"},
    {"role": "assistant", "content": "<think>\n3 + 4 = 7\n</think>\n\\boxed{7}"},
    {"role": "user", "content": "And 5 + 6?"},
    {"role": "assistant", "content": "11"},
]


@pytest.fixture
def tokenizer(tiny_model):
    """The tiny ChatML tokenizer, also knowing Llama 3's special tokens; each test sets the template it needs."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.add_special_tokens({"additional_special_tokens": LLAMA3_TOKENS}, replace_extra_special_tokens=False)
    tokenizer.bos_token = "<|begin_of_text|>"
    return tokenizer


def assistant_spans(tokenizer, messages, chat_template):
    output = tokenizer.apply_chat_template(
        messages, chat_template=chat_template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    spans, current = [], []
    for token_id, masked in zip(output["input_ids"], output["assistant_masks"]):
        if masked:
            current.append(token_id)
        elif current:
            spans.append(tokenizer.decode(current))
            current = []
    return spans + ([tokenizer.decode(current)] if current else [])


@pytest.mark.parametrize(
    "template, end_of_turn",
    [
        (CHATML_TEMPLATE, "<|im_end|>"),
        (CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE, "<|im_end|>"),
        (llama3_chat_template, "<|eot_id|>"),
    ],
)
def test_end_of_turn_is_the_special_token_after_an_assistant_turn(tokenizer, template, end_of_turn):
    assert end_of_turn_token(tokenizer, template) == end_of_turn


def test_a_template_that_ends_turns_with_plain_text_has_no_end_of_turn(tokenizer):
    plain = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
    assert end_of_turn_token(tokenizer, plain) is None


def test_think_prefill_is_read_from_the_generation_prompt(tokenizer):
    prefilling = CHATML_TEMPLATE.replace(
        "'<|im_start|>assistant\\n' }}{%- endif %}", "'<|im_start|>assistant\\n<think>\\n' }}{%- endif %}"
    )
    assert prefilling != CHATML_TEMPLATE
    assert prefills_think(tokenizer, prefilling)
    assert not prefills_think(tokenizer, CHATML_TEMPLATE)


def test_smollm2_style_chatml_gets_markers_that_change_no_text(tokenizer):
    tokenizer.chat_template = CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE
    marked = training_chat_template(tokenizer)

    assert has_generation_markers(marked) and not has_generation_markers(CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE)
    for messages, prompt in ((CONVERSATION, False), (CONVERSATION[:3], True)):
        assert tokenizer.apply_chat_template(
            messages, chat_template=marked, tokenize=False, add_generation_prompt=prompt
        ) == tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt)
    assert "You are a tiny test model." in tokenizer.apply_chat_template(
        CONVERSATION, chat_template=marked, tokenize=False
    )
    # Exactly each answer and the token that ends it are trained; prompts, role headers and newlines are not.
    assert assistant_spans(tokenizer, CONVERSATION, marked) == [
        CONVERSATION[1]["content"] + "<|im_end|>",
        "11<|im_end|>",
    ]


@pytest.mark.parametrize("original", [qwen2_5_chat_template, llama3_chat_template], ids=["qwen2.5", "llama3"])
def test_qwen25_and_llama3_templates_get_markers_around_each_answer(tokenizer, original):
    tokenizer.chat_template = original
    marked = training_chat_template(tokenizer)
    end = end_of_turn_token(tokenizer)

    assert has_generation_markers(marked)
    assert tokenizer.apply_chat_template(CONVERSATION, chat_template=marked, tokenize=False) == (
        tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    )
    spans = assistant_spans(tokenizer, CONVERSATION, marked)
    assert [span.strip() for span in spans] == [CONVERSATION[1]["content"] + end, "11" + end]


def test_a_template_that_already_has_markers_is_kept(tokenizer):
    tokenizer.chat_template = CHATML_TEMPLATE
    assert training_chat_template(tokenizer) == CHATML_TEMPLATE


def test_markers_that_leave_out_the_end_of_turn_are_rejected(tokenizer):
    # The model would never be trained to emit <|im_end|>, so it would never stop.
    tokenizer.chat_template = CHATML_TEMPLATE.replace(
        "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}",
        "{% generation %}{{- message['content'] }}{% endgeneration %}{{- '<|im_end|>' }}",
    )
    assert tokenizer.chat_template != CHATML_TEMPLATE
    with pytest.raises(ValueError, match="assistant_only_loss.*markers are wrong"):
        training_chat_template(tokenizer)


def test_an_unknown_template_fails_naming_the_field_and_the_fix(tokenizer):
    tokenizer.chat_template = (
        "{% for m in messages %}{{ '### ' + m['role'] + '\n' + m['content'] + '<|im_end|>' }}{% endfor %}"
    )
    with pytest.raises(ValueError) as error:
        training_chat_template(tokenizer, source="the recipe's (`chat_template`)")
    message = str(error.value)
    assert "assistant_only_loss" in message and "Set `chat_template` in the recipe" in message
    assert "the recipe's (`chat_template`)" in message


def test_a_template_without_an_end_of_turn_token_fails(tokenizer):
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
    with pytest.raises(ValueError, match="assistant_only_loss.*never learns to stop"):
        training_chat_template(tokenizer)


def test_the_chatml_rewrite_is_verified_not_trusted(tokenizer):
    """A template whose ChatML line never writes assistant turns (another branch does) still matches the rewrite's
    pattern; the rewritten template marks nothing, and verification must refuse it."""
    sneaky = (
        "{% for message in messages %}{% if message['role'] == 'assistant' %}"
        "{{ '<|im_start|>assistant\\n' + message['content'] | upper + '<|im_end|>\\n' }}"
        "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
        "{% endif %}{% endfor %}"
    )
    rewritten = add_chatml_generation_markers(sneaky)
    assert rewritten is not None and rewritten != sneaky
    problem = verify_training_template(tokenizer, sneaky, rewritten, "<|im_end|>")
    assert problem is not None and "spans" in problem
    tokenizer.chat_template = sneaky
    with pytest.raises(ValueError, match="assistant_only_loss"):
        training_chat_template(tokenizer)


def test_a_candidate_that_renders_different_text_is_refused(tokenizer):
    changed = CHATML_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' }}{% generation %}", "{{- '<|im_start|>assistant:\\n' }}{% generation %}"
    )
    assert changed != CHATML_TEMPLATE
    problem = verify_training_template(tokenizer, CHATML_TEMPLATE, changed, "<|im_end|>")
    assert problem is not None and "renders a conversation differently" in problem


@pytest.mark.parametrize(
    "template, problem",
    [
        ("{% for message in messages %}{{ message['content'] }{% endfor %}", "line 1: unexpected '}'"),
        ("{% for message in messages %}\n{{ message['content'] }}", "line 2: Unexpected end of template"),
        ("{% generation %}{{ x }}", "line 1: Unexpected end of template"),
    ],
)
def test_a_template_jinja_cannot_parse_is_named_by_line(template, problem):
    from open_r1.utils.chat_templates import template_syntax_problem

    assert template_syntax_problem(template).startswith(problem)


def test_the_templates_transformers_and_trl_render_parse():
    """`{% generation %}` blocks (TRL's training variants) and loop controls are transformers' Jinja, not errors."""
    from open_r1.utils.chat_templates import template_syntax_problem

    assert template_syntax_problem(CHATML_TEMPLATE) is None and has_generation_markers(CHATML_TEMPLATE)
    assert template_syntax_problem(qwen2_5_chat_template) is None
    assert template_syntax_problem("{% for m in messages %}{% if m %}{% break %}{% endif %}{% endfor %}") is None


def test_chat_template_path_names_what_trl_would_fail_on_after_the_model_loaded(tmp_path, tiny_model, monkeypatch):
    """Found by a newcomer audit: a mistyped local `chat_template_path` spent 54 s on Hub retries, after the model
    loaded, then a traceback; TRL loads any file not named .jinja/.j2 as a tokenizer."""
    from open_r1.usage import UsageError
    from open_r1.utils.chat_templates import check_chat_template_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "chatml.jinja").write_text(CHATML_TEMPLATE)
    (tmp_path / "templates" / "chatml.txt").write_text(CHATML_TEMPLATE)
    (tmp_path / "templates" / "broken.jinja").write_text("{% if messages %}\n{{ messages }")
    check_chat_template_path("templates/chatml.jinja")
    check_chat_template_path(str(tiny_model))  # a folder with a tokenizer: TRL copies its template
    check_chat_template_path("Qwen/Qwen2.5-0.5B-Instruct")  # a Hub id: the command line's Hub check asks for it
    for reference, message in [
        ("templates/chatml.jinj", r"no such file or folder: templates/chatml.jinj \(did you mean templates/chatml"),
        ("templates/chatml.txt", r"only when its name ends in .jinja or .j2"),
        ("templates/broken.jinja", r"^chat_template_path templates/broken.jinja: line 2: unexpected '}'"),
        ("templates", r"a folder must hold a tokenizer \(tokenizer_config.json or tokenizer.json\)"),
    ]:
        with pytest.raises(UsageError, match=message):
            check_chat_template_path(reference)
