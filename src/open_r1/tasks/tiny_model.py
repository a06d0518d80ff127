"""Builds a tiny causal LM, its tokenizer and small datasets locally, with no Hub access.

Tests, CPU recipes and `make demo` load these exactly as they load a Hub model:
`--model_name_or_path data/tiny-model --dataset_name data/tiny-sft`.

    python scripts/make_tiny_model.py                      # data/tiny-model, data/tiny-sft, data/tiny-math
    python scripts/make_tiny_model.py --output_dir /tmp/t  # /tmp/t/tiny-model, ...

What it builds:
- A byte-level BPE tokenizer trained here on arithmetic, LaTeX and English text (so any text
  encodes, nothing maps to an unknown token), with Qwen's special tokens (`<|endoftext|>` as pad,
  `<|im_start|>`, `<|im_end|>` as eos) and `<think>`, `</think>`, `<answer>`, `</answer>` as single
  non-special tokens (so decoding with `skip_special_tokens=True` keeps them), digits split one by
  one as Qwen does, and the ChatML chat template with `{% generation %}` markers (needed by TRL's
  `assistant_only_loss`).
- A randomly initialised Qwen2 model (a real architecture: same code path as Qwen2.5 checkpoints),
  ~0.2M parameters by default; `hidden_size` and `num_layers` scale it.
- `tiny-sft`: a conversational (`messages`) DatasetDict for SFT; `tiny-math`: `prompt`/`solution`
  columns (plus `answer`) for GRPO, both from `open_r1.tasks.arithmetic`, saved with `save_to_disk`.

Not covered: anything about quality; the model is random until trained.
"""

import json
import pathlib
from dataclasses import dataclass, field

from open_r1.data.benchmarks import MATH_INSTRUCTION
from open_r1.rewards.format import R1_TAGS
from open_r1.tasks import tool_arithmetic
from open_r1.tasks.arithmetic import SYSTEM_PROMPT, as_conversation, make_problems, make_splits
from open_r1.tools.chat import CHATML_TOOLS_TEMPLATE, TOOL_CALL_TOKENS
from open_r1.utils.chat_templates import CHATML_TEMPLATE

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
REASONING_TOKENS = list(R1_TAGS)


# The spec's sizes: each a positive count.
SIZE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "max_position_embeddings",
)

# Written beside the model: how it was made (and that it is a tiny model, for the messages that say how to remake it).
TINY_MODEL_SPEC_FILE = "tiny_model_spec.json"


@dataclass
class TinyModelSpec:
    """Size of the tiny model and its tokenizer."""

    vocab_size: int = field(default=512, metadata={"help": "Tokens of the BPE tokenizer trained on the task's text."})
    hidden_size: int = field(default=64, metadata={"help": "Width of the Qwen2 model."})
    num_layers: int = field(default=2, metadata={"help": "Decoder layers."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads per layer."})
    num_key_value_heads: int = field(
        default=2, metadata={"help": "Key/value heads per layer (grouped-query attention); divides the heads."}
    )
    intermediate_size: int = field(default=128, metadata={"help": "Width of each layer's MLP."})
    max_position_embeddings: int = field(default=1024, metadata={"help": "Longest sequence, in tokens."})
    initializer_range: float = field(
        default=0.02,
        metadata={"help": "Standard deviation of the initial weights (Qwen2's default, sized for wide models)."},
    )
    seed: int = field(default=0, metadata={"help": "Seed of the weights, the tokenizer's corpus and the problems."})
    tool_calling: bool = field(
        default=False,
        metadata={
            "help": "The tool-calling variant (make demo TOOLS=1): <tool_call> tokens, open_r1.tools.chat's "
            "template, and a tokenizer also trained on tool traces."
        },
    )

    def __post_init__(self):
        small = [name for name in SIZE_FIELDS if getattr(self, name) < 1]
        if small:
            raise ValueError(f"{small[0]} must be at least 1, got {getattr(self, small[0])}")
        least = 256 + len(SPECIAL_TOKENS)  # byte-level BPE starts from every byte, then its special tokens
        if self.vocab_size < least:
            raise ValueError(f"vocab_size must be at least {least} (256 byte symbols and the special tokens), got "
                             f"{self.vocab_size}")  # fmt: skip
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_key_value_heads must divide num_attention_heads: {self.num_key_value_heads} does not divide "
                f"{self.num_attention_heads}"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"num_attention_heads must divide hidden_size: {self.num_attention_heads} does not divide "
                f"{self.hidden_size}"
            )


def _tokenizer_corpus(seed: int, tool_calling: bool = False) -> list[str]:
    rows = make_problems(2000, seed=seed + 1000)
    corpus = [row["problem"] + "\n" + row["completion"] for row in rows]
    # The prompts the tiny model is trained and evaluated with, repeated so that BPE gives them a few tokens each
    # (once among thousands of arithmetic lines, the evaluator's instruction came out one token per letter).
    corpus += [SYSTEM_PROMPT, MATH_INSTRUCTION] * 50
    if tool_calling:
        corpus += tool_arithmetic.tokenizer_corpus() + ["system\nuser\nassistant\ntool\n" * 20]
    corpus += [
        "system\nuser\nassistant\n" * 20,
        "The answer is \\boxed{\\frac{1}{2}} because $x^2 + y^2 = z^2$ and \\sqrt{2} \\cdot \\pi.",
        "def solve():\n    n = int(input())\n    print(n * 2)\n",
        "Let us think step by step. First, we compute the sum. Then we check the result.",
        "What is the value of the expression? Find all real numbers such that the equation holds.",
    ]
    return corpus


def build_tokenizer(spec: TinyModelSpec = TinyModelSpec()):
    """A byte-level BPE tokenizer with Qwen's special tokens and the ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_tokenizer_corpus(spec.seed, spec.tool_calling), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
        model_max_length=spec.max_position_embeddings,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    from tokenizers import AddedToken

    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in REASONING_TOKENS])
    tokenizer.chat_template = CHATML_TEMPLATE
    if spec.tool_calling:
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_CALL_TOKENS])
        tokenizer.chat_template = CHATML_TOOLS_TEMPLATE
    return tokenizer


def build_model(tokenizer, spec: TinyModelSpec = TinyModelSpec()):
    """A randomly initialised Qwen2ForCausalLM sized by `spec`, matching `tokenizer`."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(spec.seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        initializer_range=spec.initializer_range,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    return model


def build_datasets(num_train: int = 2000, num_test: int = 200, seed: int = 0):
    """(tiny-sft, tiny-math) DatasetDicts with train and test splits drawn from disjoint problems."""
    from datasets import Dataset, DatasetDict

    train, test = make_splits(num_train, num_test, seed=seed)

    def sft_rows(rows):
        return Dataset.from_list([{"messages": as_conversation(row)} for row in rows])

    def math_rows(rows):
        return Dataset.from_list(
            [{"prompt": row["problem"], "solution": row["solution"], "answer": row["answer"]} for row in rows]
        )

    sft = DatasetDict({"train": sft_rows(train), "test": sft_rows(test)})
    math = DatasetDict({"train": math_rows(train), "test": math_rows(test)})
    return sft, math


def build_all(output_dir: str | pathlib.Path, spec: TinyModelSpec = TinyModelSpec()) -> dict[str, pathlib.Path]:
    """Writes tiny-model, tiny-sft and tiny-math under `output_dir`; returns their paths."""
    output_dir = pathlib.Path(output_dir)
    paths = {name: output_dir / name for name in ("tiny-model", "tiny-sft", "tiny-math")}
    tokenizer = build_tokenizer(spec)
    model = build_model(tokenizer, spec)
    from open_r1.data.loading import without_progress_bars  # datasets loads in seconds: here, not at import

    with without_progress_bars():  # a tiny model's writes take no time worth a bar
        model.save_pretrained(paths["tiny-model"])
        tokenizer.save_pretrained(paths["tiny-model"])
        (paths["tiny-model"] / TINY_MODEL_SPEC_FILE).write_text(json.dumps(spec.__dict__, indent=2))
        sft, math = build_datasets(seed=spec.seed)
        sft.save_to_disk(str(paths["tiny-sft"]))
        math.save_to_disk(str(paths["tiny-math"]))
    return paths
