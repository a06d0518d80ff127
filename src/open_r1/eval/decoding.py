"""Decoding for the offline evaluator and pass-rate filtering: n sampled completions per chat, with transformers.

    from open_r1.eval.decoding import sample_completions
    prompts, completions, finish_reasons = sample_completions(
        "data/models/SmolLM2-135M-Instruct-f32", conversations, num_samples=2, temperature=0.6, top_p=0.95,
        max_new_tokens=64, batch_size=32, seed=0)

`sample_completions` loads the model and its tokenizer, applies the chat template, batches prompts longest first
and hands back `num_samples` completions per conversation in the caller's order (or tool rollouts, through
`open_r1.tools.rollout`, when the python tool is on), each with why it ended (`FINISH_REASONS`). Each batch goes
through `generate_sharing_prompts`: transformers' `generate`, with each prompt read once for all its samples and,
on a CPU, a static cache and `TopKCandidateSampler` (temperature, top-k, top-p over the top-k candidates only).
Timings: scripts/benchmarks/shared_prompt_sampling.py, docs/benchmarks.md.
Kept over transformers' own `generate(cache_implementation="static")` and `generate_batch`, both slower on this CPU
workload: docs/benchmarks.md, "Against transformers' own generation paths".
On a GPU, `compile_decoding=True` decodes with a static cache of one length for the whole evaluation (the longest
prompt plus the budget; with the tool, longer where a round needs it: open_r1.tools.rollout) and transformers'
compiled decode step (torch.compile, CUDA graphs), each call's rows padded to a few counts
(`open_r1.utils.padded_rows`), so that it compiles for the first call and for a smaller last batch, not for every
prompt width.

Not covered: vLLM or any server (scripts/pass_rate_filtering has those backends), grading and results
(`open_r1.eval.offline`), the GRPO trainer's generation (TRL's).
"""

import logging
import time
from collections.abc import Callable

from open_r1.eval.few_shot import cut_at_stop_sequences
from open_r1.usage import UsageError

logger = logging.getLogger(__name__)

# Why a completion ended, as vLLM and OpenAI's API name it: "stop" (end of turn or a stop sequence), "length" (the
# token budget ran out first); tool rollouts add "tool_rounds" (the last turn called a tool after the last round).
FINISH_REASONS = ("stop", "length", "tool_rounds")
# The model dtypes `sample_completions` loads a model in ("auto": the checkpoint's own).
DTYPES = ("auto", "float32", "bfloat16", "float16")

# The top-k that transformers' generate() samples with when neither the caller nor the model's generation config
# sets one (its GenerationConfig defaults); the candidate sampler must match it (tested).
DEFAULT_GENERATE_TOP_K = 50
# generate()'s other sampling warpers, with their "off" values: where one is on, the candidate sampler (which
# applies only temperature, top-k and top-p) leaves sampling to generate().
OTHER_WARPERS = (("min_p", None), ("top_h", None), ("typical_p", 1.0), ("epsilon_cutoff", 0.0), ("eta_cutoff", 0.0))


def resolved_device(device: str) -> str:
    """`device` as torch takes it: "auto" is cuda where a GPU is visible, else cpu."""
    import torch

    return device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


def budget_within_context(max_new_tokens: int, longest_prompt: int, context: int | None) -> int:
    """`max_new_tokens`, or less where the longest prompt of a generate call and it would run past the model's
    `context` (positions it was never trained on: noise, or an error for learned positions); a one-line `UsageError`
    where a prompt leaves no room. The evaluator's default budget (32768) is a reasoning model's, not a small
    model's."""
    if context is None or longest_prompt + max_new_tokens <= context:
        return max_new_tokens
    room = context - longest_prompt
    if room < 1:  # one line, no traceback (the evaluator names the problem before the model loads where it can)
        raise UsageError(
            f"a prompt is {longest_prompt} tokens, and the model's context {context}: no room to generate (shorten "
            "the prompt or the few-shot examples, or leave the row out)"
        )
    return room


def _budget_after_the_longest_prompt(
    max_new_tokens: int, longest_prompt: int, context: int | None, per_call: bool
) -> int:
    """`budget_within_context` after the run's longest prompt, said once at INFO where it cuts the budget: each
    generate call then gets what its own longest prompt leaves (`per_call`), or every completion this (tool
    rollouts, compiled decoding)."""
    budget = budget_within_context(max_new_tokens, longest_prompt, context)
    if budget < max_new_tokens:
        logger.info(
            "max_new_tokens %d runs past the model's context (%d tokens): "
            + (
                "each generate call gets what its longest prompt leaves (at least %d tokens, after the longest "
                "prompt's %d)"
                if per_call
                else "every completion gets %d tokens at most (after the longest prompt's %d)"
            ),
            max_new_tokens,
            context,
            budget,
            longest_prompt,
        )
    return budget


def sample_completions(
    model_name: str,
    conversations: list[list[dict]],
    *,
    num_samples: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
    device: str = "auto",
    dtype: str = "auto",
    on_progress: Callable[..., None] | None = None,
    tool_settings=None,
    max_tool_calling_iterations: int | None = 0,
    revision: str | None = None,
    attn_implementation: str | None = None,
    chat_template: str | None = None,
    stop_sequences: list[str] | None = None,
    decoding=None,
    compile_decoding: bool = False,
    tool_rollout_chunk_tokens: int | None = None,
) -> tuple[list[str], list[list], list[list[str]]]:
    """Prompts (after the chat template), `num_samples` completions per conversation and each completion's finish
    reason (one of `FINISH_REASONS`, in the completions' shape), with transformers.

    Temperature 0 decodes greedily. The evaluator and pass-rate filtering both sample through this function.
    `on_progress(done, total)` is called after each batch (conversations done so far, all conversations); with
    tools `on_progress(done, total, tool_round)`, the round the batch decoded (`generate_with_tools`' `on_batch`; None
    with rows joining, `tool_rollout_chunk_tokens`).
    With `tool_settings` (a `PythonToolSettings`) the model may call the python tool
    (`open_r1.tools.rollout`); each completion is then the rollout's list of messages, not a string; with
    `tool_rollout_chunk_tokens` its rollouts decode with rows joining, that many tokens per call at most.
    `revision`, `attn_implementation`: as in `from_pretrained`; `chat_template` replaces the tokenizer's.
    `stop_sequences` (without tools): generation stops once one appears and the completion ends before it.
    `decoding` (an `open_r1.utils.decoding_tally.DecodingTally`) counts every generate call that returned: rows' kept
    tokens, time; and a batch that ran out of GPU memory and went again in halves (`BatchesThatFit`).
    `compile_decoding` (a GPU only): the compiled decode step (module docstring); the padding rows are not counted."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.utils.model_utils import model_context
    from open_r1.utils.padded_rows import padded_to_bucket

    if tool_rollout_chunk_tokens is not None and tool_settings is None:
        raise ValueError("tool_rollout_chunk_tokens applies to generation with tools")
    device = resolved_device(device)
    compile_config = compiled_decoding_config(device) if compile_decoding else None  # refused before the model loads
    tokenizer = AutoTokenizer.from_pretrained(model_name, revision=revision)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    if tokenizer.chat_template is None:
        raise ValueError(f"model {model_name}: the tokenizer has no chat template; the prompts are chats")
    # Decoder-only models continue the last token, so pad on the left.
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        model_name, dtype=dtype, revision=revision, attn_implementation=attn_implementation
    )
    model = model.to(device).eval()
    if compile_config is not None:
        model.generation_config.compile_config = compile_config
    torch.manual_seed(seed)

    sampling = (
        {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {"do_sample": False}
    )
    if tool_settings is not None:
        if stop_sequences:
            raise ValueError("stop_sequences apply to generation without tools")
        from open_r1.tools.python_tool import PythonTool
        from open_r1.tools.rollout import generate_with_tools

        tool = PythonTool(tool_settings)
        prompts = [
            tokenizer.apply_chat_template(messages, tools=[tool.python], tokenize=False, add_generation_prompt=True)
            for messages in conversations
        ]
        longest = max((len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]), default=0)
        # Tool rollouts: one budget a rollout, tool results included, so that every call stays within the context.
        max_new_tokens = _budget_after_the_longest_prompt(
            max_new_tokens, longest, model_context(model.config), per_call=False
        )
        repeated = [messages for messages in conversations for _ in range(num_samples)]
        rollouts, reasons = generate_with_tools(
            model,
            tokenizer,
            repeated,
            tool_settings=tool_settings,
            max_new_tokens=max_new_tokens,
            max_tool_calling_iterations=max_tool_calling_iterations,
            sampling=sampling,
            batch_size=batch_size * num_samples,
            decoding=decoding,
            compiled=compile_decoding,
            chunk_tokens=tool_rollout_chunk_tokens,
            on_batch=None
            if on_progress is None
            else (lambda done, total, tool_round: on_progress(done // num_samples, total // num_samples, tool_round)),
        )
        sizes = [num_samples] * len(conversations)
        return prompts, regroup(rollouts, sizes), regroup(reasons, sizes)
    prompts = [
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        for messages in conversations
    ]
    # The chat template already wrote the special tokens (BOS, <|im_start|>); don't add them twice.
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    context = model_context(model.config)
    cut = _budget_after_the_longest_prompt(max_new_tokens, max(lengths, default=0), context, not compile_decoding)
    if compile_decoding:  # one cache length for every call: the longest prompt's budget for all
        max_new_tokens = cut
    # Batches of similar lengths, longest first: a batch is left-padded to its longest prompt, and the padding
    # costs as much as real tokens (GSM8K's first 200 prompts, in file order: 38% of a batch's prefill).
    order = sorted(range(len(prompts)), key=lambda index: -lengths[index])
    completions: list[list[str] | None] = [None] * len(prompts)
    finish_reasons: list[list[str] | None] = [None] * len(prompts)
    # A finished row is padded after its end of turn, so a padding token also says it stopped.
    ends = end_of_turn_ids(model, tokenizer) | {tokenizer.pad_token_id}
    stops = {"stop_strings": list(stop_sequences), "tokenizer": tokenizer} if stop_sequences else {}
    # Compiled: one cache length for every call, the longest prompt's plus the budget.
    max_cache_len = max(lengths, default=0) + max_new_tokens if compile_decoding else None

    def decode(indices: list[int]) -> list[tuple[list[str], list[str]]]:
        """Each prompt's samples and their finish reasons, from one generate call."""
        real = len(indices)
        if compile_decoding:  # copies of the first (longest) prompt pad the call to one of a few sizes
            indices = padded_to_bucket(indices, batch_size)
        batch = [prompts[index] for index in indices]
        budget = budget_within_context(max_new_tokens, max(lengths[index] for index in indices), context)
        inputs = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        started = time.perf_counter()
        output = generate_sharing_prompts(
            model,
            inputs["input_ids"],
            inputs["attention_mask"],
            num_samples=num_samples,
            max_new_tokens=budget,
            pad_token_id=tokenizer.pad_token_id,
            max_cache_len=max_cache_len,
            real_prompts=real,
            **sampling,
            **stops,
        )
        generated = output[: real * num_samples, inputs["input_ids"].shape[1] :]
        generated_ids = generated.tolist()
        if decoding is not None:
            kept = [kept_length(ids, ends) for ids in generated_ids]
            seconds, read = time.perf_counter() - started, inputs["input_ids"][:real].numel()  # each prompt once
            decoding.add(kept, seconds, steps=generated.shape[1], context_tokens=read)
        texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
        reasons = [finish_reason(ids, ends, budget) for ids in generated_ids]
        if stop_sequences:
            cut = [cut_at_stop_sequences(text, stop_sequences) for text in texts]
            reasons = ["stop" if short != text else reason for short, text, reason in zip(cut, texts, reasons)]
            texts = cut
        sizes = [num_samples] * real
        return list(zip(regroup(texts, sizes), regroup(reasons, sizes)))

    fit = BatchesThatFit(decoding)
    for start in range(0, len(prompts), batch_size):
        indices = order[start : start + batch_size]
        for index, (samples, sample_reasons) in zip(indices, fit(decode, indices)):
            completions[index], finish_reasons[index] = samples, sample_reasons
        done = min(start + batch_size, len(prompts))
        logger.info("generated %d/%d problems", done, len(prompts))
        if on_progress is not None:
            on_progress(done, len(prompts))
    return prompts, completions, finish_reasons


def compiled_decoding_config(device: str):
    """transformers' compilation settings for `compile_decoding` on `device` (its defaults: inductor, CUDA graphs);
    refused in one line off a GPU, where transformers does not compile."""
    from transformers import CompileConfig

    if not device.startswith("cuda"):
        raise ValueError(
            f"compile_decoding: transformers compiles the decode step on a GPU only, and the device is {device!r} "
            "(leave compile_decoding out)"
        )
    return CompileConfig()


def end_of_turn_ids(model, tokenizer) -> set[int]:
    """The tokens generate() ends a sequence at: the generation config's end-of-sequence token(s), else the
    tokenizer's (the evaluator's decoding and `open_r1.tools.rollout` both cut there)."""
    configured = model.generation_config.eos_token_id
    return set(configured if isinstance(configured, list) else [configured or tokenizer.eos_token_id])


def kept_length(generated_ids: list[int], end_ids: set[int]) -> int:
    """The tokens a row generated up to its first end token, that token included (all of them if none)."""
    return next((index + 1 for index, token in enumerate(generated_ids) if token in end_ids), len(generated_ids))


def finish_reason(generated_ids: list[int], end_ids: set[int], max_new_tokens: int) -> str:
    """Why a sequence ended: "stop" when its new tokens hold an end of turn (finished sequences are padded after
    it), "length" when it used all `max_new_tokens` without one."""
    if len(generated_ids) >= max_new_tokens and not end_ids.intersection(generated_ids):
        return "length"
    return "stop"


def generate_sharing_prompts(
    model,
    input_ids,
    attention_mask,
    *,
    num_samples: int,
    cpu_static_cache: bool = True,
    candidate_sampler: bool = True,
    max_cache_len: int | None = None,
    real_prompts: int | None = None,
    **generate_kwargs,
):
    """`model.generate` of `num_samples` sequences per (left-padded) prompt, reading each prompt only once.

    `num_return_sequences` would copy every prompt `num_samples` times before the first forward pass, so the
    prompt is computed once per sample; on a CPU, where long prompts (GSM8K's are ~130 tokens) cost as much
    as the completions, that doubles the evaluation's time at 2 samples. Here the prompts but their last
    token go through the model once, the key/value cache is repeated per sample, and generation continues
    from it; the result is the same as `num_return_sequences` (the same logits, tested with greedy decoding).
    Two more savings, both exact (scripts/benchmarks/shared_prompt_sampling.py measures them):
    - on a CPU the cache is a preallocated `StaticCache` when the model's layers allow it (`static_copy`):
      the default `DynamicCache` concatenates every layer's whole cache at every step, which was 28% of
      SmolLM2's decoding time at 128 sequences;
    - sampling with a finite top-k goes through `TopKCandidateSampler`, which applies the same warpers to the
      top-k candidates instead of the whole vocabulary (sorting and drawing over 49k tokens per sequence per
      step was another 30%).
    `cpu_static_cache=False` / `candidate_sampler=False` turn them off (for the benchmark's side-by-side).
    `max_cache_len` (compiled decoding): a static cache of that length on any device, which transformers compiles on a
    GPU; `real_prompts`: the prompts from that one on only pad the call, and their rows finish at their first token.
    Returns the prompt and completion tokens, samples of one prompt next to each other."""
    import torch

    from open_r1.utils.padded_rows import with_padding_finished

    if real_prompts is not None and real_prompts < input_ids.shape[0]:
        criteria = generate_kwargs.get("stopping_criteria")
        generate_kwargs["stopping_criteria"] = with_padding_finished(real_prompts * num_samples, criteria)
    with torch.no_grad():
        if input_ids.shape[1] < 2:
            return model.generate(
                input_ids=input_ids, attention_mask=attention_mask, num_return_sequences=num_samples, **generate_kwargs
            )
        if candidate_sampler:
            generate_kwargs = candidate_sampling(model, generate_kwargs)
        prefix_mask = attention_mask[:, :-1]
        # Positions as generate() derives them from the mask (rotary models are indifferent to the shift left
        # padding would cause; models with absolute positions are not).
        positions = (prefix_mask.long().cumsum(-1) - 1).masked_fill(prefix_mask == 0, 0)
        prefix = model(
            input_ids=input_ids[:, :-1],
            attention_mask=prefix_mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        cache = prefix.past_key_values
        del prefix  # its logits and outputs; the cache alone goes on (or its static copy: the prefill's is dropped)
        static = None
        if max_cache_len is not None:
            static = static_copy(cache, model.config, num_samples=num_samples, max_cache_len=max_cache_len)
            if static is None:
                raise ValueError("compile_decoding: the model's cache has layers without a static form to compile")
        elif cpu_static_cache and input_ids.device.type == "cpu" and "max_new_tokens" in generate_kwargs:
            length = input_ids.shape[1] + generate_kwargs["max_new_tokens"]
            static = static_copy(cache, model.config, num_samples=num_samples, max_cache_len=length)
        if static is not None:
            cache = static
        else:
            cache.batch_repeat_interleave(num_samples)
        return model.generate(
            input_ids=input_ids.repeat_interleave(num_samples, dim=0),
            attention_mask=attention_mask.repeat_interleave(num_samples, dim=0),
            past_key_values=cache,
            **generate_kwargs,
        )


def static_copy(cache, config, *, num_samples: int, max_cache_len: int):
    """A `StaticCache` of `max_cache_len` positions holding `cache` (a prefill's `DynamicCache`) repeated
    `num_samples` times per row, or None when the cache has layers other than plain full attention (sliding
    windows, linear attention), whose static forms keep positions differently.

    On a GPU the `DynamicCache`'s concatenation is cheap and a static cache would make every step attend over
    all `max_cache_len` positions, so the caller uses this there only to compile the decode step (`compile_decoding`)."""
    from transformers import DynamicCache, StaticCache
    from transformers.cache_utils import DynamicLayer, StaticLayer

    if type(cache) is not DynamicCache or any(type(layer) is not DynamicLayer for layer in cache.layers):
        return None
    static = StaticCache(config=config, max_cache_len=max_cache_len)
    if len(static.layers) != len(cache.layers) or any(type(layer) is not StaticLayer for layer in static.layers):
        return None
    for index, layer in enumerate(cache.layers):
        static.update(
            layer.keys.repeat_interleave(num_samples, dim=0), layer.values.repeat_interleave(num_samples, dim=0), index
        )
    return static


def candidate_sampling(model, generate_kwargs: dict) -> dict:
    """`generate_kwargs` with sampling (do_sample, temperature, top_p and the effective top_k) moved into a
    `TopKCandidateSampler` and generate() left to pick the one token it allows; unchanged when not sampling,
    when no finite top-k applies, when another warper is set (by the caller or the model's generation config),
    or when the caller already passes its own logits processors."""
    if not generate_kwargs.get("do_sample") or "logits_processor" in generate_kwargs:
        return generate_kwargs
    model_config = model.generation_config
    if any(
        key in generate_kwargs or getattr(model_config, key, None) not in (None, default)
        for key, default in OTHER_WARPERS
    ):
        return generate_kwargs
    # The top-k generate() applies: the caller's, else the model's, else transformers' own default
    # (GenerationConfig fills it in when neither sets one).
    top_k = generate_kwargs.get("top_k", model_config.top_k)
    top_k = DEFAULT_GENERATE_TOP_K if top_k is None else top_k
    if not top_k:
        return generate_kwargs
    sampler = TopKCandidateSampler(
        top_k=top_k,
        temperature=generate_kwargs.get("temperature", model_config.temperature or 1.0),
        top_p=generate_kwargs.get("top_p", model_config.top_p or 1.0),
    )
    sampling_keys = ("do_sample", "temperature", "top_k", "top_p")
    rest = {key: value for key, value in generate_kwargs.items() if key not in sampling_keys}
    return {**rest, "do_sample": False, "logits_processor": [sampler]}


class TopKCandidateSampler:
    """A logits processor that draws the next token as `generate(do_sample=True)` does with temperature, top-k
    and top-p, and returns scores that allow only that token (0 for it, -inf elsewhere), for greedy decoding.

    transformers' warpers mask the whole vocabulary and generate() then sorts it (top-p), normalises it and
    draws from it; after top-k only `top_k` tokens can be drawn, so this takes them first and runs the same
    warpers (transformers' `TemperatureLogitsWarper`, `TopPLogitsWarper`) on those `top_k` scores. The
    distribution is the same (tested against generate's own processed scores); the random stream is not."""

    def __init__(self, *, top_k: int, temperature: float, top_p: float):
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        if top_k < 1:
            raise ValueError(f"top_k: expected a positive number of candidates, got {top_k}")
        self.top_k = top_k
        self.warpers = []
        if temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(temperature))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=top_p))

    def candidate_probabilities(self, input_ids, scores):
        """The `top_k` candidate tokens per row and their sampling probabilities."""
        import torch

        values, candidates = scores.topk(min(self.top_k, scores.shape[-1]), dim=-1)
        for warper in self.warpers:
            values = warper(input_ids, values)
        return candidates, torch.softmax(values, dim=-1)

    def __call__(self, input_ids, scores):
        import torch

        candidates, probabilities = self.candidate_probabilities(input_ids, scores)
        chosen = candidates.gather(-1, torch.multinomial(probabilities, num_samples=1))
        allowed = torch.full_like(scores, float("-inf"))
        return allowed.scatter_(-1, chosen, 0.0)


class BatchesThatFit:
    """Generate calls over rows that fit the GPU's memory: `fit(generate_rows, rows)` is `generate_rows(rows)`, one
    result per row, except that where the GPU runs out of memory the same rows go again in two halves, each halved
    again where it must, their results joined in the rows' order; and the calls after that take no more rows at
    once than the last half that was tried. A row that does not fit alone raises, and so does any other error
    (the CUDA runtime's own "out of memory", as NCCL or cuBLAS raise it, included: PyTorch's allocator's error is
    the one after which the GPU is still usable). Beside a training on a shared GPU the free memory shrinks as the
    training's grows, and a failed batch would otherwise lose the whole evaluation. Rows generated in smaller
    batches may differ: sampled rows draw other random numbers, and on a GPU other batch shapes round otherwise.
    `decoding` (a DecodingTally) counts the splits and the seconds the failed calls took, which the evaluator's
    results.json reports."""

    def __init__(self, decoding=None):
        self.decoding = decoding
        self.most_rows: int | None = None  # the size of the last half tried, once a call ran out of memory

    def __call__(self, generate_rows: Callable[[list], list], rows: list) -> list:
        results, start = [], 0
        while start < len(rows):
            # The cap read again before each part: a part that ran out of memory lowers it for the next.
            step = self.most_rows or len(rows)
            results += self._in_halves(generate_rows, rows[start : start + step])
            start += step
        return results

    def _in_halves(self, generate_rows: Callable[[list], list], rows: list) -> list:
        import gc

        import torch

        started = time.perf_counter()
        try:
            return generate_rows(rows)
        except torch.OutOfMemoryError as error:
            if len(rows) < 2:
                raise
            reason = str(error).split(".")[0]
        # Out of the except block, whose traceback held the failed call's tensors; collected before the cache empties.
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = (len(rows) + 1) // 2
        self.most_rows = half if self.most_rows is None else min(self.most_rows, half)
        if self.decoding is not None:
            self.decoding.out_of_memory_splits += 1
            self.decoding.out_of_memory_seconds += time.perf_counter() - started
        logger.warning("%s generating %d rows: again as %d and %d", reason, len(rows), half, len(rows) - half)
        return self(generate_rows, rows[:half]) + self(generate_rows, rows[half:])


def flatten(groups: list[list]) -> tuple[list, list[int]]:
    """The items of all groups in one list, and each group's size (for `regroup`)."""
    return [item for group in groups for item in group], [len(group) for group in groups]


def regroup(items: list, sizes: list[int]) -> list[list]:
    """Undoes `flatten`: consecutive runs of `sizes` items."""
    if len(items) != sum(sizes):
        raise ValueError(f"got {len(items)} items for groups of {sum(sizes)}")
    groups, position = [], 0
    for size in sizes:
        groups.append(list(items[position : position + size]))
        position += size
    return groups
