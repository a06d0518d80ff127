"""open_r1.tools.chat: the tool-calling template's response parser, against completions written to break it."""

from transformers import AutoTokenizer
from trl.chat_template_utils import parse_response

from open_r1.tools.chat import NestingSafeParser, ensure_tool_parsing


def test_a_tool_call_nested_past_pythons_recursion_limit_is_plain_text_not_a_crash(tool_calling_model):
    """~1,000 `[` after `<tool_call>` fit a 512-token completion (506 of SmolLM2's tokens); the JSON decoder's RecursionError would end the
    training step (TRL's parse_response, which every rollout path calls, turns only ValueError and TypeError into
    plain text)."""
    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    ensure_tool_parsing(tokenizer)
    ensure_tool_parsing(tokenizer)  # once more, as a second trainer on the same tokenizer would: wrapped once
    assert isinstance(tokenizer.parse_response, NestingSafeParser)
    assert not isinstance(tokenizer.parse_response.parse_response, NestingSafeParser)

    # The prompt before the completion, as every rollout path passes it (the parser then follows the template).
    prompt = [{"role": "user", "content": tool_calling_model["user_turn"]}]
    prefix = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=False)
    hostile = tokenizer("<tool_call>\n" + "[" * 1000, add_special_tokens=False)["input_ids"]
    parsed = parse_response(tokenizer, hostile, prefix=prefix)
    assert parsed["role"] == "assistant" and "tool_calls" not in parsed and parsed["content"].endswith("[[[")

    call = '<tool_call>\n{"name": "python", "arguments": {"code": "print(6 * 7)"}}\n</tool_call><|im_end|>'
    parsed = parse_response(tokenizer, tokenizer(call, add_special_tokens=False)["input_ids"], prefix=prefix)
    assert parsed["tool_calls"][0]["function"] == {"name": "python", "arguments": {"code": "print(6 * 7)"}}
