"""Specification of the offline evaluator `python -m open_r1.evaluate` (open_r1.evaluate, open_r1.data.benchmarks)."""

import json
import pathlib

import pytest

from open_r1.eval.arguments import EvaluateArguments
from open_r1.eval.metrics import mean_and_stderr
from open_r1.evaluate import evaluate, main

PROBLEMS = [
    {"id": "p1", "problem": "What is $1+1$?", "answer": "2"},
    {"id": "p2", "problem": "What is $1/2$ as a fraction?", "answer": "\\frac{1}{2}"},
    {"id": "p3", "problem": "An AIME-style answer.", "answer": "025"},
]
# Two samples per problem: p1 right once (but the majority answer, "3", is wrong), p2 right once
# (the other sample has no answer), p3 right twice ('25' equals the gold '025').
PREDICTIONS = [
    ("p1", "I think it is \\boxed{3}."),
    ("p1", "<think>1+1</think> The answer is $\\boxed{2}$."),
    ("p2", "The answer is $\\boxed{\\frac{1}{2}}$."),
    ("p2", "I do not know."),
    ("p3", "\\boxed{25}"),
    ("p3", "So the answer is \\boxed{25}."),
]


def write_jsonl(path: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def benchmark_file(tmp_path) -> pathlib.Path:
    return write_jsonl(tmp_path / "bench.jsonl", PROBLEMS)


@pytest.fixture
def predictions_file(tmp_path) -> pathlib.Path:
    return write_jsonl(tmp_path / "predictions.jsonl", [{"id": i, "completion": c} for i, c in PREDICTIONS])


def read_details(output_dir: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "details.jsonl").read_text().splitlines()]


def run(tmp_path, benchmark_file, **overrides) -> dict:
    args = EvaluateArguments(
        task="toy", data_files=str(benchmark_file), output_dir=str(tmp_path / "out"), num_workers=1, **overrides
    )
    return evaluate(args)


def test_grading_predictions_reports_pass_and_majority_scores_with_standard_errors(
    tmp_path, benchmark_file, predictions_file
):
    results = run(tmp_path, benchmark_file, predictions=str(predictions_file), pass_k=[1, 2], maj_k=[2])

    assert results["task"] == "toy"
    assert (results["num_problems"], results["num_samples"]) == (3, 2)
    assert results["pass@1"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert results["pass@1_stderr"] == pytest.approx(mean_and_stderr([0.5, 0.5, 1.0])[1])
    assert results["pass@2"] == pytest.approx(1.0)
    assert results["maj@2"] == pytest.approx(2 / 3)
    assert results["num_ungraded"] == 0
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk == results


def test_details_record_every_completion_with_its_extracted_answer_and_verdict(
    tmp_path, benchmark_file, predictions_file
):
    run(tmp_path, benchmark_file, predictions=str(predictions_file))
    details = read_details(tmp_path / "out")

    assert [(row["id"], row["sample_index"]) for row in details] == [
        ("p1", 0),
        ("p1", 1),
        ("p2", 0),
        ("p2", 1),
        ("p3", 0),
        ("p3", 1),
    ]
    assert [row["completion"] for row in details] == [completion for _, completion in PREDICTIONS]
    assert [row["extracted_answer"] for row in details] == ["3", "2", "\\frac{1}{2}", None, "25", "25"]
    assert [row["correct"] for row in details] == [False, True, True, False, True, True]
    assert all(row["gold"] == next(p["answer"] for p in PROBLEMS if p["id"] == row["id"]) for row in details)
    assert all("What is" in row["prompt"] or "AIME" in row["prompt"] for row in details)


def test_details_can_be_graded_again_as_predictions_with_the_same_results(tmp_path, benchmark_file, predictions_file):
    first = run(tmp_path, benchmark_file, predictions=str(predictions_file))
    again = evaluate(
        EvaluateArguments(
            task="toy",
            data_files=str(benchmark_file),
            predictions=str(tmp_path / "out" / "details.jsonl"),
            output_dir=str(tmp_path / "again"),
            num_workers=1,
        )
    )
    for key in ("num_problems", "num_samples", "pass@1", "pass@1_stderr"):
        assert again[key] == first[key]


def test_limit_grades_only_the_first_problems_and_sets_the_other_predictions_aside(
    tmp_path, benchmark_file, predictions_file
):
    results = run(tmp_path, benchmark_file, predictions=str(predictions_file), limit=2)
    assert results["num_problems"] == 2
    assert results["pass@1"] == pytest.approx(0.5)
    assert {row["id"] for row in read_details(tmp_path / "out")} == {"p1", "p2"}


def test_a_gold_that_cannot_be_parsed_is_counted_as_ungraded_and_wrong(tmp_path):
    bench = write_jsonl(tmp_path / "b.jsonl", [{"id": "x", "problem": "?", "answer": "}{"}])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "x", "completion": "\\boxed{\\frac{}"}])
    results = run(tmp_path, bench, predictions=str(preds))
    assert results["num_ungraded"] == 1
    assert results["ungraded_examples"] == ["x#0"]
    assert results["pass@1"] == 0.0
    assert read_details(tmp_path / "out")[0]["verdict"] is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "p1", "completion": "\\boxed{2}"}, {"id": "zz", "completion": "x"}], "'zz' is not a problem"),
        ([{"id": "p1", "completion": "\\boxed{2}"}], "no completion for 2 problem"),
        (
            [{"id": "p1", "completion": "a"}, {"id": "p1", "completion": "b"}]
            + [{"id": "p2", "completion": "a"}, {"id": "p3", "completion": "a"}],
            "same number of completions",
        ),
        ([{"id": "p1"}], "missing field"),
    ],
)
def test_bad_predictions_files_are_rejected_with_the_reason(tmp_path, benchmark_file, rows, message):
    preds = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ValueError, match=message):
        run(tmp_path, benchmark_file, predictions=str(preds))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "problem": "q"}'], r"bench.jsonl:1: missing field\(s\) \['answer'\]"),
        (['{"id": "a", "problem": "q", "answer": "1"}', '{"id": "a", "problem": "r", "answer": "2"}'], "duplicate id"),
        (['{"id": "a", "problem": "q", "answer": "1"}', "not json"], "bench.jsonl:2: not valid JSON"),
        (['{"id": "a", "problem": "q", "answer": ""}'], "field 'answer' is empty"),
    ],
)
def test_bad_benchmark_files_are_rejected_naming_file_line_and_field(tmp_path, lines, message):
    bench = tmp_path / "bench.jsonl"
    bench.write_text("\n".join(lines) + "\n")
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "\\boxed{1}"}])
    with pytest.raises(ValueError, match=message):
        run(tmp_path, bench, predictions=str(preds))


def test_arguments_need_exactly_one_of_model_or_predictions_and_k_within_the_samples(
    tmp_path, benchmark_file, predictions_file
):
    with pytest.raises(ValueError, match="exactly one of --model"):
        EvaluateArguments(task="t", data_files="d", output_dir="o")
    with pytest.raises(ValueError, match="exactly one of --model"):
        EvaluateArguments(task="t", data_files="d", output_dir="o", model="m", predictions="p")
    with pytest.raises(ValueError, match=r"k values \[4\] exceed the 2 sample"):
        run(tmp_path, benchmark_file, predictions=str(predictions_file), pass_k=[1, 4])
    with pytest.raises(ValueError, match="--num_samples is 3"):
        run(tmp_path, benchmark_file, predictions=str(predictions_file), num_samples=3)


def test_the_tiny_model_is_sampled_several_times_per_problem_through_its_chat_template(
    tmp_path, benchmark_file, tiny_model
):
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--model", str(tiny_model), "--num_samples", "3"]
    argv += ["--max_new_tokens", "6", "--device", "cpu", "--num_workers", "1", "--seed", "7"]
    results = main([*argv, "--output_dir", str(tmp_path / "a")])
    details = read_details(tmp_path / "a")

    assert (results["num_problems"], results["num_samples"]) == (3, 3)
    assert 0.0 <= results["pass@1"] <= 1.0 and results["pass@1_stderr"] >= 0.0
    assert results["settings"]["temperature"] == 0.6 and results["settings"]["top_p"] == 0.95
    assert len(details) == 9
    assert all(row["prompt"].startswith("<|im_start|>user\n") for row in details)
    assert all(row["prompt"].endswith("<|im_start|>assistant\n") for row in details)
    assert all("\\boxed{}" in row["prompt"] for row in details)
    # Sampling at temperature 0.6 from a random model: the samples of a problem differ.
    assert len({row["completion"] for row in details if row["id"] == "p1"}) > 1

    main([*argv, "--output_dir", str(tmp_path / "b")])
    assert [row["completion"] for row in read_details(tmp_path / "b")] == [row["completion"] for row in details]


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

    from open_r1.eval import offline

    widths = []

    def echo(model, input_ids, attention_mask, *, num_samples, **kwargs):
        widths.append(input_ids.shape[1])
        return torch.cat([input_ids, input_ids], dim=1).repeat_interleave(num_samples, dim=0)

    monkeypatch.setattr(offline, "generate_sharing_prompts", echo)
    questions = ["1+1?", "Compute 3 - 2 + 7 - 1 - 4 + 2 - 9 + 8 please", "2*5?", "Compute 6 - 3 + 1 now", "9?"]
    conversations = [[{"role": "user", "content": question}] for question in questions]
    _, completions = offline.sample_completions(
        str(tiny_model), conversations, num_samples=2, temperature=0.6, top_p=0.95, max_new_tokens=4,
        batch_size=2, seed=0, device="cpu", dtype="float32",
    )  # fmt: skip

    assert widths == sorted(widths, reverse=True) and len(widths) == 3
    for question, samples in zip(questions, completions):
        assert len(samples) == 2 and all(question in sample for sample in samples)


def test_command_line_reports_a_missing_predictions_file_by_name(tmp_path, benchmark_file):
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    with pytest.raises(FileNotFoundError, match="missing.jsonl: no such file"):
        main([*argv, "--predictions", str(tmp_path / "missing.jsonl")])
    assert not (tmp_path / "o" / "results.json").exists()


# ------------------------------------------------------------------------------------------------
# Real benchmarks from ../shared/data (skipped when the folder is absent)
# ------------------------------------------------------------------------------------------------

SHARED_BENCHMARKS = ["math500", "aime24", "aime25", "amc23", "gsm8k_test"]


def _echo_predictions(path: pathlib.Path, tmp_path: pathlib.Path, shift: int) -> pathlib.Path:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    # shift=0 answers every problem with its own gold answer; shift=k with the answer of problem i+k.
    answers = [rows[(i + shift) % len(rows)]["answer"] for i in range(len(rows))]
    predictions = [
        {"id": row["id"], "completion": f"<think>Let me solve it.</think> The answer is $\\boxed{{{answer}}}$."}
        for row, answer in zip(rows, answers)
    ]
    return write_jsonl(tmp_path / f"{path.stem}_{shift}.jsonl", predictions)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHARED_BENCHMARKS)
def test_a_model_answering_with_the_gold_scores_100_percent_and_with_other_answers_near_0(tmp_path, shared_data, name):
    data = shared_data / f"{name}.jsonl"
    scores = {}
    for shift in (0, 7):
        predictions = _echo_predictions(data, tmp_path, shift)
        args = EvaluateArguments(
            task=name, data_files=str(data), predictions=str(predictions), output_dir=str(tmp_path / f"o{shift}")
        )
        scores[shift] = evaluate(args)
        if shift == 0:
            misses = [
                (row["gold"], row["extracted_answer"], row["verdict"])
                for row in read_details(tmp_path / "o0")
                if not row["correct"]
            ]
    assert scores[0]["pass@1"] == 1.0, f"{name}: gold answers graded wrong: {misses[:10]}"
    assert scores[7]["pass@1"] < 0.02


def test_the_shared_prompt_benchmark_times_both_ways_on_the_same_work(tiny_model, tmp_path):
    from script_module import load_module

    benchmark = load_module("scripts/benchmarks/shared_prompt_sampling.py", "shared_prompt_benchmark")
    output = tmp_path / "timings.json"
    argv = ["--model", str(tiny_model), "--prompts", "2", "--samples", "2", "3", "--new_tokens", "3"]
    results = benchmark.main([*argv, "--repeats", "1", "--threads", "1", "--output", str(output)])

    assert json.loads(output.read_text()) == results
    assert set(results["runs"]) == {"2", "3"}
    for run in results["runs"].values():
        medians = run["median_seconds"]
        assert set(medians) == {"num_return_sequences", "shared", "shared+static+candidates"}
        assert run["ratio"] == medians["num_return_sequences"] / medians["shared"]
        assert run["static_candidates_ratio"] == medians["shared"] / medians["shared+static+candidates"]
