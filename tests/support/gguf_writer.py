"""Writes a tiny Llama model and its tokenizer as a GGUF file, the way llama.cpp's converter lays one out.

Fast tests use it to exercise the GGUF loading path with no download: the file holds the tiny tokenizer
(byte-level BPE that splits digits one by one, declared with llama.cpp's `smollm` pre-tokenizer, as the
real SmolLM2 file is) and a random LlamaForCausalLM, in float32 (exact) or 4-bit Q4_1 (the real file's type).
"""

import json
import pathlib

import numpy as np
import torch

# A ChatML template in the shape of SmolLM2's: the ChatML line for every turn, and a default system prompt when the
# conversation has none.
CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _to_llama_cpp_rotary_layout(weight: np.ndarray, num_heads: int) -> np.ndarray:
    # llama.cpp stores q/k projections with each head's rotary halves interleaved; transformers' loader undoes it.
    head_dim_half = weight.shape[0] // num_heads // 2
    return weight.reshape(num_heads, 2, head_dim_half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def build_tiny_llama(tokenizer, seed: int = 0):
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # norms start at one; make them distinct so a mix-up of tensors shows
        for name, parameter in model.named_parameters():
            if name.endswith("norm.weight"):
                parameter.uniform_(0.5, 1.5)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return model.eval()


def write_gguf(path: pathlib.Path, model, tokenizer, chat_template: str, quantization: str = "F32") -> pathlib.Path:
    """Writes `model` (a LlamaForCausalLM) and `tokenizer` to `path`; 2-D weights in `quantization` (F32 or Q4_1)."""
    import gguf

    config = model.config
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_name("tiny-llama")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)

    vocab = tokenizer.get_vocab()
    tokens = [None] * len(tokenizer)
    for token, index in vocab.items():
        tokens[index] = token
    special = set(tokenizer.all_special_tokens)
    added = set(tokenizer.get_added_vocab())
    token_types = [
        gguf.TokenType.CONTROL
        if token in special
        else gguf.TokenType.USER_DEFINED
        if token in added
        else gguf.TokenType.NORMAL
        for token in tokens
    ]
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    merges = [merge if isinstance(merge, str) else " ".join(merge) for merge in merges]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    writer.add_add_bos_token(False)
    writer.add_chat_template(chat_template)

    quant_type = getattr(gguf.GGMLQuantizationType, quantization)

    def add(name: str, tensor: torch.Tensor, quantize: bool = True):
        array = tensor.detach().float().numpy()
        if quantize and array.ndim == 2 and quant_type != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, gguf.quants.quantize(array, quant_type), raw_dtype=quant_type)
        else:
            writer.add_tensor(name, array)

    state = model.state_dict()
    add("token_embd.weight", state["model.embed_tokens.weight"])
    add("output_norm.weight", state["model.norm.weight"], quantize=False)
    for layer in range(config.num_hidden_layers):
        prefix = f"model.layers.{layer}."
        q = _to_llama_cpp_rotary_layout(state[prefix + "self_attn.q_proj.weight"].numpy(), config.num_attention_heads)
        k = _to_llama_cpp_rotary_layout(state[prefix + "self_attn.k_proj.weight"].numpy(), config.num_key_value_heads)
        add(f"blk.{layer}.attn_q.weight", torch.from_numpy(q))
        add(f"blk.{layer}.attn_k.weight", torch.from_numpy(k))
        add(f"blk.{layer}.attn_v.weight", state[prefix + "self_attn.v_proj.weight"])
        add(f"blk.{layer}.attn_output.weight", state[prefix + "self_attn.o_proj.weight"])
        add(f"blk.{layer}.ffn_gate.weight", state[prefix + "mlp.gate_proj.weight"])
        add(f"blk.{layer}.ffn_up.weight", state[prefix + "mlp.up_proj.weight"])
        add(f"blk.{layer}.ffn_down.weight", state[prefix + "mlp.down_proj.weight"])
        add(f"blk.{layer}.attn_norm.weight", state[prefix + "input_layernorm.weight"], quantize=False)
        add(f"blk.{layer}.ffn_norm.weight", state[prefix + "post_attention_layernorm.weight"], quantize=False)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
