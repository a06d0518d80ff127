"""get_tokenizer / get_model: chat template, ChatML default, eos alignment, dtype; and the tiny model itself."""

import types

import pytest
import torch
from transformers import AutoTokenizer
from trl import ModelConfig

from open_r1.configs import SFTConfig
from open_r1.utils import get_model, get_tokenizer
from open_r1.utils.model_utils import CHATML_TEMPLATE


def training_args(**overrides):
    defaults = dict(chat_template=None, eos_token=None, trust_remote_code=False, gradient_checkpointing=False)
    return types.SimpleNamespace(**{**defaults, **overrides})


def test_tiny_tokenizer_speaks_chatml_and_keeps_reasoning_tags(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Compute 1 + 2."}, {"role": "assistant", "content": "<think>\nx\n</think>"}],
        tokenize=False,
    )
    assert (
        text == "<|im_start|>user\nCompute 1 + 2.<|im_end|>\n<|im_start|>assistant\n<think>\nx\n</think><|im_end|>\n"
    )
    ids = tokenizer("<think>12</think>")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["<think>", "1", "2", "</think>"], "tags are single tokens"
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>12</think>", "decoding keeps the tags"


def test_tiny_tokenizer_gives_the_prompts_it_is_trained_on_few_tokens(tiny_model):
    """The evaluator's instruction came out one token per letter once (45 tokens against the problem's 13),
    which made the tiny model's SFT stall: the prompts a tiny model sees must be cheap to attend over."""
    from open_r1.data.benchmarks import MATH_INSTRUCTION
    from open_r1.tasks.arithmetic import SYSTEM_PROMPT

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert len(tokenizer(MATH_INSTRUCTION)["input_ids"]) <= 20
    assert len(tokenizer(SYSTEM_PROMPT)["input_ids"]) <= 35


def test_chat_template_override_replaces_the_tokenizers(tiny_model):
    template = "{% for m in messages %}[{{ m['content'] }}]{% endfor %}"
    tokenizer = get_tokenizer(ModelConfig(model_name_or_path=str(tiny_model)), training_args(chat_template=template))
    assert tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False) == "[x]"


def test_tokenizer_without_template_gets_chatml_and_its_tokens(tiny_model, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    loaded = get_tokenizer(ModelConfig(model_name_or_path=str(tmp_path)), training_args())
    assert loaded.chat_template == CHATML_TEMPLATE


def test_eos_token_override_is_applied(tiny_model):
    tokenizer = get_tokenizer(
        ModelConfig(model_name_or_path=str(tiny_model)), training_args(eos_token="<|endoftext|>")
    )
    assert tokenizer.eos_token == "<|endoftext|>"


def test_chatml_with_a_different_eos_warns(tiny_model, caplog):
    get_tokenizer(ModelConfig(model_name_or_path=str(tiny_model)), training_args(eos_token="<|endoftext|>"))
    assert "eos_token: <|im_end|>" in caplog.text


def test_get_model_honours_dtype_and_cache(tiny_model):
    model_args = ModelConfig(model_name_or_path=str(tiny_model), dtype="bfloat16")
    model = get_model(model_args, training_args(gradient_checkpointing=True))
    assert model.dtype == torch.bfloat16
    assert model.config.use_cache is False


def test_get_model_resizes_embeddings_for_added_tokens(tiny_model):
    model_args = ModelConfig(model_name_or_path=str(tiny_model))
    tokenizer = get_tokenizer(model_args, training_args())
    tokenizer.add_tokens(["<new_token_a>", "<new_token_b>"])
    model = get_model(model_args, training_args(), tokenizer)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


def test_unknown_dtype_is_rejected(tiny_model):
    with pytest.raises(ValueError, match="dtype"):
        get_model(ModelConfig(model_name_or_path=str(tiny_model), dtype="float31"), training_args())


def test_sft_config_keeps_open_r1_fields_with_help():
    from dataclasses import fields

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, ScriptArguments

    for cls in (ScriptArguments, GRPOScriptArguments, SFTConfig, GRPOConfig):
        missing_help = [f.name for f in fields(cls) if not f.metadata.get("help")]
        assert not missing_help, f"{cls.__name__} fields without help: {missing_help}"
