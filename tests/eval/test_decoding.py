"""Specification of the evaluator's decoding (open_r1.eval.decoding): samples share their prompt's prefill and decode
as `num_return_sequences` does, the candidate sampler draws from generate()'s distribution, and completions
come back in the caller's order."""

import pytest

from tests.support.out_of_memory import out_of_memory_above


def test_samples_read_their_prompt_once_and_decode_as_num_return_sequences_does(tiny_model):
    """The shared-prompt sampler equals generating from n copies of each prompt, token for token (greedy, so
    the comparison does not depend on the random stream; generate() itself refuses num_return_sequences > 1
    when greedy), on left-padded prompts of different lengths."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.eval.decoding import generate_sharing_prompts

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    prompts = ["What is 1+1?", "Compute 3 - 2 + 7 - 1 and box the result, thinking first."]
    inputs = tokenizer(prompts, return_tensors="pt", padding=True)
    assert inputs["attention_mask"][0].sum() < inputs["attention_mask"][1].sum()  # the first row is padded
    settings = {"max_new_tokens": 12, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}

    with torch.no_grad():
        reference = model.generate(
            input_ids=inputs["input_ids"].repeat_interleave(3, dim=0),
            attention_mask=inputs["attention_mask"].repeat_interleave(3, dim=0),
            **settings,
        )
    caches = []
    generate = model.generate
    model.generate = lambda **kwargs: caches.append(type(kwargs["past_key_values"]).__name__) or generate(**kwargs)
    shared = generate_sharing_prompts(model, inputs["input_ids"], inputs["attention_mask"], num_samples=3, **settings)
    dynamic = generate_sharing_prompts(
        model, inputs["input_ids"], inputs["attention_mask"], num_samples=3, cpu_static_cache=False, **settings
    )
    model.generate = generate

    assert shared.shape == reference.shape
    assert torch.equal(shared, reference)
    assert torch.equal(dynamic, reference)
    # On a CPU the default decodes with a preallocated cache; the switch really turns it off.
    assert caches == ["StaticCache", "DynamicCache"]
    # The prompt prefix really is computed once per prompt: 2 rows in the first forward pass, not 6.
    batch_sizes = []
    hook = model.model.embed_tokens.register_forward_hook(lambda module, args, out: batch_sizes.append(args[0].shape))
    try:
        generate_sharing_prompts(model, inputs["input_ids"], inputs["attention_mask"], num_samples=3, **settings)
    finally:
        hook.remove()
    assert batch_sizes[0] == (2, inputs["input_ids"].shape[1] - 1)
    assert all(shape[1] == 1 for shape in batch_sizes[1:])


def test_the_candidate_sampler_keeps_the_tokens_and_probabilities_generate_samples_from(tiny_model):
    """generate(do_sample=True) with the evaluator's temperature and top_p (and transformers' default top-k,
    which the model does not set) returns its processed scores; the sampler, given the raw logits of the same
    steps, must allow the same tokens with the same probabilities."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.eval.decoding import DEFAULT_GENERATE_TOP_K, TopKCandidateSampler

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    assert model.generation_config.top_k is None and model.config.vocab_size > DEFAULT_GENERATE_TOP_K
    inputs = tokenizer(["What is 1+1?", "Compute 3 - 2 + 7"], return_tensors="pt", padding=True)
    sampler = TopKCandidateSampler(top_k=DEFAULT_GENERATE_TOP_K, temperature=0.6, top_p=0.95)
    with torch.no_grad():
        output = model.generate(
            **inputs,
            max_new_tokens=4,
            do_sample=True,
            temperature=0.6,
            top_p=0.95,
            output_scores=True,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=tokenizer.pad_token_id,
        )
    kept_counts = set()
    for raw, processed in zip(output.logits, output.scores):
        candidates, probabilities = sampler.candidate_probabilities(None, raw)
        ours = torch.zeros_like(raw).scatter_(-1, candidates, probabilities)
        torch.testing.assert_close(ours, torch.softmax(processed, dim=-1), atol=1e-6, rtol=1e-5)
        kept_counts.update((probabilities > 0).sum(-1).tolist())
    # Both cuts are at work: no row keeps the whole vocabulary, and top-p keeps fewer than top-k somewhere.
    assert max(kept_counts) <= DEFAULT_GENERATE_TOP_K and min(kept_counts) < DEFAULT_GENERATE_TOP_K


def test_the_candidate_sampler_allows_one_token_drawn_with_its_probability():
    import torch

    from open_r1.eval.decoding import TopKCandidateSampler

    torch.manual_seed(0)
    logits = torch.randn(1, 100) * 2
    sampler = TopKCandidateSampler(top_k=5, temperature=1.0, top_p=1.0)
    scores = sampler(None, logits.repeat(20_000, 1))

    allowed = torch.isfinite(scores)
    assert allowed.sum(-1).eq(1).all() and scores[allowed].eq(0).all()
    drawn = allowed.float().mean(0)
    top5 = logits[0].topk(5).indices
    assert drawn[top5].sum() == 1.0  # never outside the top 5
    expected = torch.softmax(logits[0, top5], dim=-1)
    torch.testing.assert_close(drawn[top5], expected, atol=0.015, rtol=0)
    with pytest.raises(ValueError, match="top_k: expected a positive"):
        TopKCandidateSampler(top_k=0, temperature=1.0, top_p=1.0)


def test_candidate_sampling_takes_the_effective_top_k_and_leaves_other_warpers_to_generate():
    from types import SimpleNamespace

    from transformers import GenerationConfig

    from open_r1.eval.decoding import DEFAULT_GENERATE_TOP_K, candidate_sampling

    model = SimpleNamespace(generation_config=GenerationConfig())
    sampling = {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 8}

    moved = candidate_sampling(model, sampling)
    assert moved["do_sample"] is False and moved["max_new_tokens"] == 8
    assert not {"temperature", "top_p", "top_k"} & set(moved)
    assert moved["logits_processor"][0].top_k == DEFAULT_GENERATE_TOP_K
    assert candidate_sampling(model, {**sampling, "top_k": 5})["logits_processor"][0].top_k == 5
    model.generation_config.top_k = 20
    assert candidate_sampling(model, sampling)["logits_processor"][0].top_k == 20
    # Warpers the sampler does not apply, from the caller or the model, and top_k=0 (no cut): generate() samples.
    for other in ({"min_p": 0.1}, {"top_h": 0.5}, {"typical_p": 0.9}, {"top_k": 0}):
        assert candidate_sampling(model, {**sampling, **other}) == {**sampling, **other}
    model.generation_config.min_p = 0.1
    assert candidate_sampling(model, sampling) == sampling
    assert candidate_sampling(model, {**sampling, "do_sample": False}) == {**sampling, "do_sample": False}


def test_prompts_are_batched_by_length_and_completions_come_back_in_the_callers_order(tiny_model, monkeypatch):
    """Batches are formed longest prompt first (less left padding); each conversation still gets its own
    completions. The fake generator's completion is the prompt itself, so a mix-up would show."""
    import torch

    from open_r1.eval import decoding

    widths = []

    def echo(model, input_ids, attention_mask, *, num_samples, **kwargs):
        widths.append(input_ids.shape[1])
        return torch.cat([input_ids, input_ids], dim=1).repeat_interleave(num_samples, dim=0)

    monkeypatch.setattr(decoding, "generate_sharing_prompts", echo)
    questions = ["1+1?", "Compute 3 - 2 + 7 - 1 - 4 + 2 - 9 + 8 please", "2*5?", "Compute 6 - 3 + 1 now", "9?"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    _, completions, _ = decoding.sample_completions(
        str(tiny_model), conversations, num_samples=2, temperature=0.6, top_p=0.95, max_new_tokens=4,
        batch_size=2, seed=0, device="cpu", dtype="float32",
    )  # fmt: skip

    assert widths == sorted(widths, reverse=True) and len(widths) == 3
    for question, samples in zip(questions, completions):
        assert len(samples) == 2 and all(question in sample for sample in samples)


def test_each_completion_says_whether_it_ended_its_turn_or_ran_out_of_tokens(tiny_model, monkeypatch):
    """A completion holding an end of turn (padded after it, as generate() pads finished rows) finished with
    "stop"; one that used every new token without one, with "length"; in the caller's order, per sample."""
    import torch
    from transformers import AutoTokenizer

    from open_r1.eval import decoding

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    word = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("7"))[0]
    end, pad = tokenizer.eos_token_id, tokenizer.pad_token_id or tokenizer.eos_token_id
    max_new_tokens = 4

    def scripted(model, input_ids, attention_mask, *, num_samples, **kwargs):
        rows = []
        for prompt in input_ids:
            text = tokenizer.decode(prompt)
            new = [word, end, pad, pad] if "ends" in text else [word] * max_new_tokens
            rows.append(torch.cat([prompt, torch.tensor(new)]))
        return torch.stack(rows).repeat_interleave(num_samples, dim=0)

    monkeypatch.setattr(decoding, "generate_sharing_prompts", scripted)
    questions = ["This one ends early, after a word or so?", "Runs on?", "Also ends?"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    _, completions, finish_reasons = decoding.sample_completions(
        str(tiny_model), conversations, num_samples=2, temperature=0.6, top_p=0.95, max_new_tokens=max_new_tokens,
        batch_size=2, seed=0, device="cpu", dtype="float32",
    )  # fmt: skip

    assert finish_reasons == [["stop", "stop"], ["length", "length"], ["stop", "stop"]]
    assert [len(samples) for samples in completions] == [2, 2, 2]


def test_finish_reason_is_length_only_for_a_full_row_without_an_end_of_turn():
    from open_r1.eval.decoding import finish_reason

    ends = {0, 2}
    assert finish_reason([5, 6, 7], ends, 3) == "length"
    assert finish_reason([5, 6, 2], ends, 3) == "stop"  # its last allowed token ended the turn
    assert finish_reason([5, 0, 0], ends, 3) == "stop"  # padded after finishing
    assert finish_reason([5, 6], ends, 3) == "stop"  # a batch that finished early (stop strings)


def test_rows_that_run_out_of_gpu_memory_go_again_in_halves_and_later_calls_are_no_larger():
    from open_r1.eval.decoding import BatchesThatFit
    from open_r1.utils.decoding_tally import DecodingTally

    tried, tally = [], DecodingTally()
    squares = out_of_memory_above(2, lambda rows: [row * row for row in rows], tried)
    fit = BatchesThatFit(tally)
    assert fit(squares, [1, 2, 3, 4, 5]) == [1, 4, 9, 16, 25]
    # 5 -> 3 + 2, 3 -> 2 + 1: each failed call split once, the rows' order kept.
    assert tried == [5, 3, 2, 1, 2] and tally.out_of_memory_splits == 2 and tally.out_of_memory_seconds > 0
    tried.clear()
    # Once a half failed, the other half goes no larger than the one that failed did next: 4 -> 2 (fails) -> 1s.
    assert BatchesThatFit()(out_of_memory_above(1, list, tried), [1, 2, 3, 4]) == [1, 2, 3, 4]
    assert tried == [4, 2, 1, 1, 1, 1]
    # A part of a capped call that fails lowers the cap for the parts after it too.
    tried.clear()
    capped = BatchesThatFit()
    capped.most_rows = 4
    assert capped(out_of_memory_above(1, list, tried), list(range(12))) == list(range(12))
    assert tried == [4, 2, 1, 1, 1, 1] + [1] * 8
    tried.clear()
    # The next call of the same evaluation goes in parts of the last half tried, without failing first.
    assert fit(squares, [6, 7, 8, 9, 10]) == [36, 49, 64, 81, 100]
    assert tried == [2, 2, 1] and tally.out_of_memory_splits == 2
    # A fresh evaluation starts whole.
    tried.clear()
    assert BatchesThatFit()(squares, [1, 2]) == [1, 4] and tried == [2]


def test_a_call_that_ran_out_of_memory_holds_nothing_when_its_halves_run():
    """The failed call's tensors are referenced from its traceback's frames: the halves run after they are gone
    (garbage collection off, as between its automatic runs), or the GPU memory they hold is not free to retry."""
    import gc
    import weakref

    import torch

    from open_r1.eval.decoding import BatchesThatFit

    class Activations:  # stands for the key/value cache of the call that failed
        pass

    held = []

    def generate_rows(rows):
        cache = Activations()
        if len(rows) > 1:
            held.append(weakref.ref(cache))
            frame_cycle = [cache]
            frame_cycle.append(frame_cycle)  # a cycle: freed by the collector only, as a traceback's often are
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        assert all(ref() is None for ref in held), "the failed call's cache is still alive"
        return rows

    gc.disable()
    try:
        assert BatchesThatFit()(generate_rows, [1, 2]) == [1, 2]
    finally:
        gc.enable()


def test_a_row_that_does_not_fit_alone_and_any_other_error_are_raised_as_they_are():
    import torch

    from open_r1.eval.decoding import BatchesThatFit

    tried = []
    with pytest.raises(torch.OutOfMemoryError):
        BatchesThatFit()(out_of_memory_above(0, list, tried), [1, 2])
    assert tried == [2, 1]

    def broken(rows):
        tried.append(len(rows))
        raise RuntimeError("CUDA error: out of memory")  # the CUDA runtime's: the GPU may be unusable after it

    tried.clear()
    with pytest.raises(RuntimeError, match="CUDA error: out of memory"):
        BatchesThatFit()(broken, [1, 2, 3, 4])
    assert tried == [4]  # not retried: only PyTorch's allocator's out-of-memory error is


def test_an_evaluation_batch_that_runs_out_of_gpu_memory_completes_in_halves_with_the_same_completions(
    tiny_model, monkeypatch
):
    """Greedy completions of a batch of 4 prompts that runs out of memory are those of the batch that fits, in the
    caller's order, and the tally counts the split and each half's call."""
    from open_r1.eval import decoding
    from open_r1.utils.decoding_tally import DecodingTally

    questions = ["1+1?", "Compute 3 - 2 + 7 - 1 - 4 + 2 - 9 + 8 please", "2*5?", "Compute 6 - 3 + 1 now"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    settings = {"num_samples": 2, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": 6, "batch_size": 4}

    def sample(tally):
        return decoding.sample_completions(
            str(tiny_model), conversations, **settings, seed=0, device="cpu", dtype="float32", decoding=tally
        )

    fits, split = DecodingTally(), DecodingTally()
    reference = sample(fits)
    tried = []
    monkeypatch.setattr(
        decoding,
        "generate_sharing_prompts",
        out_of_memory_above(2, decoding.generate_sharing_prompts, tried, batch_argument=1),
    )
    assert sample(split) == reference
    assert tried == [4, 2, 2]
    assert (fits.calls, fits.out_of_memory_splits) == (1, 0)
    assert (split.calls, split.out_of_memory_splits) == (2, 1) and split.out_of_memory_seconds > 0
    assert split.kept_tokens == fits.kept_tokens


def test_compiled_decoding_pads_each_call_to_a_bucket_of_rows_and_keeps_one_cache_length(tiny_model, monkeypatch):
    """`compile_decoding` (torch.compile's eager backend on this CPU): every call decodes from a static cache of one
    length, the longest prompt's plus the budget, whatever its own prompts' width; the last batch's single prompt is
    padded to the batch's rows, its padding finished at its first token; the completions are the uncompiled ones."""
    from transformers.generation.utils import GenerationMixin

    from open_r1.eval import decoding
    from tests.support.compiled_on_cpu import cpu_compile_config

    monkeypatch.setattr(decoding, "compiled_decoding_config", cpu_compile_config)
    questions = ["Compute 3 - 2 + 7 - 1 - 4 + 2 - 9 + 8 please", "2*5?", "Compute 6 - 3 + 1 now"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    settings = dict(
        num_samples=2, temperature=0.0, top_p=1.0, max_new_tokens=6, batch_size=2, seed=0, device="cpu",
        dtype="float32",
    )  # fmt: skip
    uncompiled = decoding.sample_completions(str(tiny_model), conversations, **settings)
    calls, generate = [], GenerationMixin.generate

    def recording_generate(self, *args, **kwargs):
        output = generate(self, *args, **kwargs)
        cache = kwargs["past_key_values"]
        calls.append((kwargs["input_ids"].shape, cache.layers[0].max_cache_len, output, self))
        return output

    monkeypatch.setattr(GenerationMixin, "generate", recording_generate)
    compiled = decoding.sample_completions(str(tiny_model), conversations, compile_decoding=True, **settings)
    assert compiled == uncompiled
    (first, first_length, _, model), (last, last_length, output, _) = calls
    assert first[0] == last[0] == 4  # 2 prompts x 2 samples; the last batch's one prompt padded to two
    assert first_length == last_length == first[1] + 6 and last[1] < first[1]  # the longest prompt is in the first
    assert (output[2:, last[1] + 1 :] == model.generation_config.pad_token_id).all()  # the padding stopped at once
    assert hasattr(model, "_compiled_call")  # transformers compiled the decode step


def test_compiled_decoding_is_refused_off_a_gpu_before_the_model_loads(tmp_path):
    from open_r1.eval import decoding

    with pytest.raises(ValueError, match=r"^compile_decoding: transformers compiles the decode step on a GPU only"):
        decoding.sample_completions(
            str(tmp_path / "no-model"), [[{"role": "user", "content": "1+1?"}]], num_samples=1, temperature=0.0,
            top_p=1.0, max_new_tokens=4, batch_size=1, seed=0, device="cpu", compile_decoding=True,
        )  # fmt: skip


def test_tool_rollouts_decoded_with_rows_joining_are_the_rounds_ones(tool_calling_model):
    """The evaluator passes `tool_rollout_chunk_tokens` on to the rollouts (greedy: the same rollouts, each sample of
    each problem), and refuses it without tools, before the model loads."""
    from open_r1.eval import decoding
    from open_r1.sandbox import isolation_mode
    from open_r1.sandbox.factory import clear_providers
    from open_r1.tasks.tool_arithmetic import prompt_messages
    from open_r1.tools.python_tool import PythonToolSettings, tool_sandbox
    from tests.support.sandbox_checks import skip_without_isolation

    with skip_without_isolation():
        isolation_mode()
    problem = {**tool_calling_model["problem"], "problem": tool_calling_model["user_turn"]}
    conversations = [prompt_messages(problem, with_tool=True), prompt_messages({**problem, "problem": "Hi."}, True)]
    settings = dict(
        num_samples=2, temperature=0.0, top_p=1.0, max_new_tokens=48, batch_size=1, seed=0, device="cpu",
        dtype="float32", max_tool_calling_iterations=2,
        tool_settings=PythonToolSettings(sandbox=tool_sandbox("local", 2), wall_seconds=5),
    )  # fmt: skip
    try:
        rounds = decoding.sample_completions(str(tool_calling_model["path"]), conversations, **settings)
        joining = decoding.sample_completions(
            str(tool_calling_model["path"]), conversations, tool_rollout_chunk_tokens=8, **settings
        )
    finally:
        clear_providers()
    assert joining == rounds
    assert rounds[1][0][0][1]["role"] == "tool"  # the memorised problem's rollouts called the tool
    with pytest.raises(ValueError, match="^tool_rollout_chunk_tokens applies to generation with tools$"):
        decoding.sample_completions(
            "no-model", conversations, num_samples=1, temperature=0.0, top_p=1.0, max_new_tokens=4, batch_size=1,
            seed=0, device="cpu", tool_rollout_chunk_tokens=8,
        )  # fmt: skip


def test_a_budget_past_the_models_context_is_cut_to_what_the_longest_prompt_leaves(tiny_model, monkeypatch, caplog):
    """Found by a newcomer: the evaluator's default budget (32768, a reasoning model's) ran the tiny model, whose
    context is 1024, for minutes past its positions, with transformers' "exceeded the model's predefined maximum
    length" the only line."""
    import logging

    from open_r1.eval import decoding
    from open_r1.utils import model_utils

    asked = []

    def recording(*args, max_new_tokens, **kwargs):
        asked.append(max_new_tokens)
        return generate(*args, max_new_tokens=max_new_tokens, **kwargs)

    generate = decoding.generate_sharing_prompts
    monkeypatch.setattr(decoding, "generate_sharing_prompts", recording)
    monkeypatch.setattr(model_utils, "model_context", lambda config: 100)  # a context just past the prompts
    questions = ["What is 2 + 2?", "A much longer question, which leaves the model fewer positions: what is 2 + 2?"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    with caplog.at_level(logging.INFO, logger="open_r1.eval.decoding"):
        prompts, completions, _ = decoding.sample_completions(
            str(tiny_model), conversations, num_samples=1, temperature=0, top_p=1.0, max_new_tokens=32768,
            batch_size=1, seed=0, device="cpu", dtype="float32",
        )  # fmt: skip
    # One call per prompt, longest first: each gets what its own prompt leaves of the 100 positions (a review's).
    assert len(asked) == 2 and 1 <= asked[0] < asked[1] < 100
    assert (
        "max_new_tokens 32768 runs past the model's context (100 tokens): each generate call gets what its longest "
        f"prompt leaves (at least {asked[0]} tokens, after the longest prompt's {100 - asked[0]})" in caplog.text
    )


def test_the_budget_within_the_context():
    from open_r1.eval.decoding import budget_within_context
    from open_r1.usage import UsageError

    assert budget_within_context(32768, 37, 1024) == 987
    assert budget_within_context(64, 37, 1024) == 64  # within it: as asked
    assert budget_within_context(64, 37, None) == 64  # a config that does not say
    # One line, no traceback (a red team's: a ValueError traceback, once the model had loaded).
    with pytest.raises(UsageError, match="a prompt is 1030 tokens, and the model's context 1024: no room"):
        budget_within_context(10, 1030, 1024)


def test_the_models_context_reads_a_rope_scaling_once():
    """A review's: Llama 3.1's config gives the stretched length and the factor both (131072 = 8192 x 8)."""
    import types

    from open_r1.utils.model_utils import model_context

    def config(length, scaling=None):
        return types.SimpleNamespace(max_position_embeddings=length, rope_scaling=scaling)

    assert model_context(config(1024)) == 1024
    assert model_context(config(32768, {"factor": 4.0, "rope_type": "yarn"})) == 131072
    llama = {"factor": 8.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}
    assert model_context(config(131072, llama)) == 131072
    assert model_context(types.SimpleNamespace()) is None
