"""Loads the tokenizer and model a training script works on, and reports at start-up what would hurt training.

    tokenizer = get_tokenizer(model_args, training_args)
    model = get_model(model_args, training_args, tokenizer)

`model_name_or_path` is a Hub id, a local folder saved with `save_pretrained`, or a GGUF checkpoint: a
`.gguf` file, or a folder with exactly one `.gguf` and no `config.json` (llama.cpp's format; the weights are
dequantised to plain float on load, so the model trains and saves like any other). What the training config
can change:
- `chat_template`: replaces the tokenizer's template. A tokenizer without any template gets
  ChatML (`CHATML_TEMPLATE`), and its `<|im_start|>` / `<|im_end|>` tokens are added if missing
  (the model's embeddings are then resized by `get_model`).
- `eos_token` (SFT): the token that ends a turn. Qwen *base* models end documents with
  `<|endoftext|>` but their chat turns with `<|im_end|>`; training them on ChatML without
  `eos_token: <|im_end|>` teaches a model that never stops.
- `assistant_only_loss` (SFT): needs `{% generation %}` markers in the template. `get_tokenizer` adds them
  to the templates it knows and fails here, naming the field, for the others (see `chat_templates`).
- dtype, attention implementation, 4/8-bit quantization and LoRA come from TRL's `ModelConfig`
  (LoRA is applied by the TRL trainer from `get_peft_config(model_args)`).

Reported at start-up (`report_special_tokens`, `check_think_prefill`, `check_system_prompt`): an eos that is not the token the
template ends assistant turns with (the model never stops), a template that ends turns with no special
token, pad == eos (harmless with TRL's collators, which mask padding by position), a ChatML template
whose tokens had to be added (new, untrained embeddings), a generation config that would not stop at the
tokenizer's eos, a `<think>` pre-fill the format rewards are not told about, and a GRPO `system_prompt` the template
drops.

Not covered: vision-language models, tokenizers that need `trust_remote_code` beyond passing the flag,
and GGUF files on the Hub (download the file and pass its path).
"""

import logging
import os
import pathlib
import re

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase
from trl import ModelConfig, get_quantization_config

from open_r1.rewards import THINK_PREFILL_REWARDS, THINK_PREFILLED_READERS
from open_r1.usage import UsageError
from open_r1.utils.chat_templates import (
    CHATML_TEMPLATE,
    end_of_turn_token,
    keeps_system_turn,
    opens_the_assistant_turn,
    prefills_think,
    template_text,
    training_chat_template,
)

logger = logging.getLogger(__name__)

CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")

# llama.cpp's pre-tokenizer names (`tokenizer.ggml.pre`) for byte-level vocabularies that split digits one by
# one before GPT-2's split (llama.cpp's llama-vocab.cpp gives them the regexes `\p{N}` and then GPT-2's).
# transformers 5.23 does not map these names and falls back to GPT-2's split alone, which tokenizes runs of
# spaces before a digit differently from the model's own tokenizer.
_DIGIT_SPLIT_PRE_TOKENIZERS = ("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b")
# Names under which GPT-2's split alone is right.
_GPT2_PRE_TOKENIZERS = ("default", "gpt2", "gpt-2")


def _trust_remote_code(model_args: ModelConfig, training_args) -> bool:
    # TRL 1.16 moved trust_remote_code from ModelConfig to the training config.
    return bool(getattr(training_args, "trust_remote_code", False) or getattr(model_args, "trust_remote_code", False))


def gguf_checkpoint(model_name_or_path: str | pathlib.Path) -> pathlib.Path | None:
    """The `.gguf` file `model_name_or_path` designates: the file itself, or the only one in a model-less folder.

    None for anything else (a Hub id, a folder with `config.json`). A folder without `config.json` holding
    several `.gguf` files is an error: which one to load must be said.
    """
    path = pathlib.Path(model_name_or_path)
    if path.is_file() and path.suffix == ".gguf":
        return path
    if not path.is_dir() or (path / "config.json").exists():
        return None
    candidates = sorted(path.glob("*.gguf"))
    if len(candidates) > 1:
        names = ", ".join(candidate.name for candidate in candidates)
        raise UsageError(
            f"model_name_or_path {str(path)!r} holds {len(candidates)} GGUF files ({names}); "
            "set model_name_or_path to the one to load"
        )
    return candidates[0] if candidates else None


def _gguf_metadata(gguf_path: pathlib.Path) -> dict:
    """The file's key/value metadata, arrays given as their lengths (the tokenizer's 49k tokens are not parsed)."""
    # transformers' reader, not gguf.GGUFReader: that one parses every array element by element (~20 s here).
    from transformers.integrations.gguf.reader import read_gguf_metadata

    metadata, _ = read_gguf_metadata(str(gguf_path))
    return metadata


def _match_gguf_pre_tokenizer(tokenizer: PreTrainedTokenizerBase, gguf_path: pathlib.Path) -> None:
    """Give a GGUF tokenizer the pre-tokenization its file names where transformers does not know the name."""
    from tokenizers import pre_tokenizers
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

    metadata = _gguf_metadata(gguf_path)
    if metadata.get("tokenizer.ggml.model") != "gpt2":
        return
    name = metadata.get("tokenizer.ggml.pre")
    if name is None or name in GGUF_PRE_TOKENIZER_SPLITS or name in _GPT2_PRE_TOKENIZERS:
        return
    if name in _DIGIT_SPLIT_PRE_TOKENIZERS:
        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
            ]
        )
        return
    logger.warning(
        "%s: its pre-tokenizer %r is unknown to transformers and open-r1; texts are split as GPT-2 splits them, "
        "which may differ from the tokenization the model was trained with",
        gguf_path,
        name,
    )


def load_gguf_tokenizer(gguf_path: pathlib.Path, **kwargs) -> PreTrainedTokenizerBase:
    """The tokenizer stored in a GGUF file, with its chat template, special tokens and pre-tokenization."""
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, **kwargs)
    _match_gguf_pre_tokenizer(tokenizer, gguf_path)
    metadata = _gguf_metadata(gguf_path)
    context_length = metadata.get(f"{metadata.get('general.architecture')}.context_length")
    if context_length is not None:
        tokenizer.model_max_length = int(context_length)
    return tokenizer


def load_gguf_model(gguf_path: pathlib.Path, **kwargs):
    """The causal LM stored in a GGUF file, dequantised: plain float weights, no quantizer attached.

    Without `dequantize=True`, transformers keeps a GGUF quantizer on the model, which then can neither be
    trained nor saved ("The model is quantized with gguf and is not serializable").
    """
    from transformers import GgufConfig

    if kwargs.get("quantization_config") is not None:
        raise UsageError(
            f"model_name_or_path {str(gguf_path)!r} is a GGUF checkpoint, loaded dequantised; it cannot be "
            "combined with load_in_4bit / load_in_8bit"
        )
    kwargs.pop("quantization_config", None)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent,
        gguf_file=gguf_path.name,
        quantization_config=GgufConfig(dequantize=True),
        **kwargs,
    )
    if getattr(model, "hf_quantizer", None) is not None or hasattr(model.config, "quantization_config"):
        raise RuntimeError(f"transformers kept a quantizer on the model loaded from {gguf_path}; it cannot be trained")
    model.config.name_or_path = str(gguf_path)
    return model


def report_special_tokens(tokenizer: PreTrainedTokenizerBase, model_name_or_path: str) -> str | None:
    """Warns about eos / pad / chat-template mismatches; returns the template's end-of-turn token."""
    template = template_text(tokenizer)
    if not template:
        logger.warning(
            "%s has no chat template: conversational datasets cannot be rendered. Set `chat_template` in the recipe.",
            model_name_or_path,
        )
        return None
    end_of_turn = end_of_turn_token(tokenizer)
    if end_of_turn is None:
        logger.warning(
            "The chat template of %s writes no special token after an assistant turn, so an SFT model does not "
            "learn to stop: put an end-of-turn token in the template (`chat_template`).",
            model_name_or_path,
        )
    elif tokenizer.eos_token != end_of_turn:
        logger.warning(
            "The chat template ends assistant turns with %s but the eos token is %r: a model trained on it keeps "
            "writing after its answer, since generation stops at eos. Set `eos_token: %s` in the recipe "
            "(needed for Qwen base models).",
            end_of_turn,
            tokenizer.eos_token,
            end_of_turn,
        )
    if tokenizer.pad_token is not None and tokenizer.pad_token == tokenizer.eos_token:
        logger.info(
            "pad token == eos token (%r): TRL's collators mask padding by position, so the eos at the end of each "
            "turn is still trained; a collator that masks labels equal to pad_token_id would never teach the "
            "model to stop.",
            tokenizer.eos_token,
        )
    return end_of_turn


def get_tokenizer(model_args: ModelConfig, training_args) -> PreTrainedTokenizerBase:
    """The tokenizer of `model_args.model_name_or_path`, with the chat template and eos the config asks for.

    With `assistant_only_loss`, the template returned carries verified `{% generation %}` markers, or this
    raises a ValueError naming the field.
    """
    name = model_args.model_name_or_path
    gguf_path = gguf_checkpoint(name)
    load_kwargs = dict(
        revision=model_args.model_revision, trust_remote_code=_trust_remote_code(model_args, training_args)
    )
    if gguf_path is not None:
        tokenizer = load_gguf_tokenizer(gguf_path, **load_kwargs)
    else:
        tokenizer = AutoTokenizer.from_pretrained(name, **load_kwargs)

    chat_template = getattr(training_args, "chat_template", None)
    template_source = "the tokenizer's"
    if chat_template is not None:
        tokenizer.chat_template = chat_template
        template_source = "the recipe's (`chat_template`)"
    elif not tokenizer.chat_template:
        logger.info("%s has no chat template; using ChatML", name)
        tokenizer.chat_template = CHATML_TEMPLATE
        template_source = "open-r1's default ChatML"

    if "<|im_end|>" in (template_text(tokenizer) or ""):
        missing = [
            token
            for token in CHATML_TOKENS
            if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id)
        ]
        if missing:
            tokenizer.add_special_tokens({"additional_special_tokens": missing})
            logger.warning(
                "%s has no %s tokens; they were added for its ChatML template and start with untrained embeddings.",
                name,
                " / ".join(missing),
            )

    eos_token = getattr(training_args, "eos_token", None)
    if eos_token is not None:
        if eos_token not in tokenizer.get_vocab():
            raise UsageError(f"eos_token {eos_token!r} is not a token of {name}'s vocabulary")
        tokenizer.eos_token = eos_token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    report_special_tokens(tokenizer, name)
    if getattr(training_args, "assistant_only_loss", False):
        marked = training_chat_template(tokenizer, source=template_source)
        if marked != template_text(tokenizer):
            logger.info("assistant_only_loss: added {%% generation %%} markers to the chat template (verified)")
        tokenizer.chat_template = marked
    return tokenizer


def check_think_prefill(tokenizer: PreTrainedTokenizerBase, script_args) -> None:
    """Holds `think_prefilled` to the chat template's `<think>` pre-fill for the rewards that read it. grpo.py calls
    it once the tokenizer, with the recipe's chat template, is loaded, before the rewards and the model are built.

    A template that opens `<think>` in the prompt (DeepSeek-R1-Distill) gives completions without the opening tag.
    With `think_prefilled: false` the format rewards would score every completion 0: an error. Where only the
    accuracy rewards read it (upstream recipes never set it), it is set true, with a line saying so: they then read
    the answer after the completion's `</think>`, not a box inside reasoning that never ended. The other way round
    (`think_prefilled: true`, no pre-fill) is an error: completions would be credited with a tag nobody wrote, and
    one that writes no reasoning tags would state no answer.
    """
    graded = [name for name in getattr(script_args, "reward_funcs", []) if name in THINK_PREFILLED_READERS]
    if not graded or not template_text(tokenizer):
        return
    formats = [name for name in graded if name in THINK_PREFILL_REWARDS]
    prefilled = prefills_think(tokenizer)
    if prefilled and not script_args.think_prefilled:
        if formats:
            raise UsageError(
                f"The chat template ends the prompt with `<think>`, so completions never write it, and {formats} would "
                "score every completion 0. Set `think_prefilled: true` in the recipe."
            )
        script_args.think_prefilled = True
        logger.info(
            "think_prefilled: true, as the chat template opens <think> in the prompt: %s read the answer after the "
            "completion's </think>",
            graded,
        )
    if script_args.think_prefilled and not prefilled:
        answers = [name for name in graded if name not in THINK_PREFILL_REWARDS]
        harms = ([f"{formats} would credit completions with an opening tag nobody wrote"] if formats else []) + (
            [f"{answers} would find no answer in a completion that writes no reasoning tags"] if answers else []
        )
        raise UsageError(
            f"think_prefilled is true but the chat template does not open `<think>` in the prompt: "
            f"{' and '.join(harms)}. Set `think_prefilled: false` in the recipe."
        )


# An added token that spells a tag (`<think>`, `</answer>`, `<tool_call>`) is text a system prompt may name on purpose.
_PLAIN_TAG = re.compile(r"</?[A-Za-z_][A-Za-z0-9_]*>")


def turn_tokens(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The tokens that may mark turns: the special ones, and added ones the chat template writes (DeepSeek-R1's
    `<｜Assistant｜>` is added without being special), other than plain tags."""
    template = template_text(tokenizer) or ""
    added = [
        token.content
        for token in tokenizer.added_tokens_decoder.values()
        if token.content in template and not _PLAIN_TAG.fullmatch(token.content)
    ]
    return [token for token in dict.fromkeys([*tokenizer.all_special_tokens, *added]) if token]


def check_system_prompt(tokenizer: PreTrainedTokenizerBase, system_prompt: str | None) -> None:
    """Fails (UsageError) when the recipe sets `system_prompt` and the chat template drops system turns, so the
    policy would never read it, or when it spells one of the tokenizer's special tokens: tokenized as that token,
    `<|im_end|>` there ends the system turn and what follows forges others (an assistant turn with the answer).
    grpo.py calls it beside `check_think_prefill`."""
    if system_prompt is None:
        return
    spelled = next((token for token in turn_tokens(tokenizer) if token in system_prompt), None)
    if spelled is not None:
        raise UsageError(
            f"system_prompt spells the tokenizer's control token {spelled!r}, which the chat template would render as "
            "that token (ending the system turn, opening others): remove it; the template writes the turns"
        )
    if not template_text(tokenizer) or keeps_system_turn(tokenizer):
        return
    raise UsageError(
        "system_prompt is set but the chat template drops system turns (or refuses them), so the policy would "
        "never read it: set a `chat_template` that renders them, or put the instructions in the prompt column "
        "and unset system_prompt"
    )


def check_generation_prompt(tokenizer: PreTrainedTokenizerBase) -> None:
    """Fails (UsageError) when the chat template closes the user's turn and opens no assistant turn for
    `add_generation_prompt`: GRPO's completions would then start outside any turn. grpo.py calls it beside
    `check_system_prompt`."""
    if template_text(tokenizer) and not opens_the_assistant_turn(tokenizer):
        raise UsageError(
            "the chat template adds no assistant turn for a generation prompt (add_generation_prompt): it closes "
            "the user's turn and opens nothing, so every completion would start outside any turn: set a "
            "`chat_template` whose end writes the assistant's "
            "opening, e.g. {% if add_generation_prompt %}<|im_start|>assistant\\n{% endif %}"
        )


def _dtype(model_args: ModelConfig):
    dtype = getattr(model_args, "dtype", None)
    if dtype in (None, "auto") or isinstance(dtype, torch.dtype):
        return dtype
    if not hasattr(torch, dtype) or not isinstance(getattr(torch, dtype), torch.dtype):
        raise UsageError(f"dtype must be 'auto' or a torch dtype name such as 'bfloat16', got {dtype!r}")
    return getattr(torch, dtype)


def _kbit_device_map() -> dict:
    # A quantized model cannot be moved after loading: put each process's copy on its own device.
    from accelerate import PartialState

    return {"": PartialState().local_process_index} if torch.cuda.is_available() else {"": "cpu"}


def get_model_kwargs(model_args: ModelConfig, training_args) -> dict:
    """`from_pretrained` keyword arguments for the model (dtype, attention, quantization, cache)."""
    quantization_config = get_quantization_config(model_args)
    return dict(
        revision=model_args.model_revision,
        trust_remote_code=_trust_remote_code(model_args, training_args),
        attn_implementation=model_args.attn_implementation,
        dtype=_dtype(model_args),
        # The KV cache is useless while training with activation checkpointing and only costs memory.
        use_cache=not getattr(training_args, "activation_checkpointing", False),
        device_map=_kbit_device_map() if quantization_config is not None else None,
        quantization_config=quantization_config,
    )


def _stop_at_eos(model, tokenizer: PreTrainedTokenizerBase) -> None:
    """Make the model's generation config stop at the tokenizer's eos (it may list other stop tokens too)."""
    eos_ids = model.generation_config.eos_token_id
    eos_ids = [] if eos_ids is None else [eos_ids] if isinstance(eos_ids, int) else list(eos_ids)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_ids:
        logger.warning(
            "The model's generation config stops at token ids %s, not at the tokenizer's eos %r (id %d): added it, "
            "so generation during training and in the saved model stops at the end of a turn.",
            eos_ids,
            tokenizer.eos_token,
            tokenizer.eos_token_id,
        )
        model.generation_config.eos_token_id = [tokenizer.eos_token_id, *eos_ids]


def _warn_if_weights_update_in_half_precision(model, model_args: ModelConfig, training_args) -> None:
    """Full fine-tuning of bfloat16/float16 weights without DeepSpeed updates the weights in that precision.

    An update smaller than about 1/256 of a weight (bfloat16's 8-bit mantissa) is rounded away, which at the usual
    learning rates is most of them. Measured on an H100 with SmolLM2-135M and the demo's SFT recipe under plain
    DDP: 24 steps at lr 5e-5 left the loss at 0.46 (0.03 with float32 weights) and the held-out pass@1 at 3.5%
    (54%). DeepSpeed keeps float32 master weights, and LoRA adapters are float32, so neither is affected.
    """
    dtype = next(model.parameters()).dtype
    if dtype not in (torch.bfloat16, torch.float16) or getattr(model_args, "use_peft", False):
        return
    if getattr(training_args, "deepspeed", None) or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        return
    logger.warning(
        "dtype: %s loads the weights in %s and this run has neither DeepSpeed (which keeps float32 master weights) "
        "nor LoRA, so the optimizer updates the weights in %s and loses every update smaller than about 1/256 of a "
        "weight: full fine-tuning may barely move. Set `dtype: float32` and `bf16: true` to train in mixed "
        "precision, or launch with a DeepSpeed config.",
        getattr(model_args, "dtype", None),
        dtype,
        dtype,
    )


def model_context(config) -> int | None:
    """The longest sequence a model's `config` says it was trained for: `max_position_embeddings`, stretched by a RoPE
    scaling's factor (YaRN, linear, ...); None where the config does not say."""
    context = getattr(config, "max_position_embeddings", None)
    if not isinstance(context, int):
        return None
    scaling = getattr(config, "rope_scaling", None) or getattr(config, "rope_parameters", None)
    if isinstance(scaling, dict) and isinstance(scaling.get("factor"), (int, float)) and scaling["factor"] > 1:
        # Llama 3.1 writes the stretched length already (131072 = 8192 x 8): the original times the factor, then.
        original = scaling.get("original_max_position_embeddings")
        stretched = (original if isinstance(original, int) else context) * scaling["factor"]
        context = max(context, int(stretched))
    return context


def _warn_if_sequences_outgrow_the_context(model, training_args) -> None:
    """Warns when the run's sequences may be longer than the model's context (`model_context`): SFT's
    `max_length`, GRPO's `max_prompt_length` + `max_completion_length` (or the completion alone when prompts are not
    cut). Positions past the context were never trained, so what the model reads or writes there is noise."""
    context = model_context(model.config)
    if context is None:
        return
    if getattr(training_args, "max_completion_length", None) is not None:
        prompt = getattr(training_args, "max_prompt_length", None)
        length = training_args.max_completion_length + (prompt or 0)
        fields = "max_completion_length" + (" + max_prompt_length" if prompt else "")
    elif isinstance(getattr(training_args, "max_length", None), int):
        length, fields = training_args.max_length, "max_length"
    else:
        return
    if length > context:
        logger.warning(
            "%s (%d tokens) is longer than the model's context (max_position_embeddings %d): positions past it were "
            "never trained, so tokens there are read and written as noise; keep the sequences within %d tokens",
            fields,
            length,
            context,
            context,
        )


def get_model(model_args: ModelConfig, training_args, tokenizer: PreTrainedTokenizerBase | None = None):
    """The causal LM to train; embeddings are resized when `tokenizer` gained tokens."""
    kwargs = get_model_kwargs(model_args, training_args)
    gguf_path = gguf_checkpoint(model_args.model_name_or_path)
    if gguf_path is not None:
        model = load_gguf_model(gguf_path, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, **kwargs)
    if tokenizer is not None:
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))
        _stop_at_eos(model, tokenizer)
    _warn_if_weights_update_in_half_precision(model, model_args, training_args)
    _warn_if_sequences_outgrow_the_context(model, training_args)
    return model
