"""Specification of the offline evaluator `python -m open_r1.evaluate` (open_r1.eval.offline, open_r1.evaluate,
open_r1.data.benchmarks)."""

import gzip
import json
import os
import pathlib
import re
import time

import pytest

from open_r1.data.benchmarks import MATH_INSTRUCTION
from open_r1.eval import offline
from open_r1.eval.arguments import EvaluateArguments, parse_command_line
from open_r1.eval.metrics import mean_and_stderr
from open_r1.eval.offline import read_details
from open_r1.evaluate import evaluate, main
from open_r1.usage import UsageError
from tests.eval.conftest import GSM8K_TEST, GSM8K_TRAIN
from tests.support.files import write_jsonl

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


@pytest.fixture
def benchmark_file(tmp_path) -> pathlib.Path:
    return write_jsonl(tmp_path / "bench.jsonl", PROBLEMS)


@pytest.fixture
def predictions_file(tmp_path) -> pathlib.Path:
    return write_jsonl(tmp_path / "predictions.jsonl", [{"id": i, "completion": c} for i, c in PREDICTIONS])


def run(tmp_path, benchmark_file, **overrides) -> dict:
    args = EvaluateArguments(
        task="toy", data_files=str(benchmark_file), output_dir=str(tmp_path / "out"), reward_num_workers=1, **overrides
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


def test_results_say_when_at_which_commit_and_on_which_machine_they_were_measured(
    tmp_path, benchmark_file, predictions_file
):
    """A results file cited in docs/ stands without the prose around it (the fidelity run's had none)."""
    from open_r1.utils.provenance import git_commit, read_provenance

    provenance = read_provenance(run(tmp_path, benchmark_file, predictions=str(predictions_file)))
    assert provenance["date"].startswith(time.strftime("%Y-", time.gmtime())) and provenance["commit"] == git_commit()
    assert provenance["machine"]["cpu"] and provenance["machine"]["load_average_at_end"] is not None
    assert provenance["versions"]["torch"]


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
    # Saved completions do not say how they ended.
    assert all(row["finish_reason"] is None for row in details)
    assert json.loads((tmp_path / "out" / "results.json").read_text())["finish_reasons"] is None


def test_details_can_be_graded_again_as_predictions_with_the_same_results(tmp_path, benchmark_file, predictions_file):
    first = run(tmp_path, benchmark_file, predictions=str(predictions_file))
    again = evaluate(
        EvaluateArguments(
            task="toy",
            data_files=str(benchmark_file),
            predictions=str(tmp_path / "out" / "details.jsonl"),
            output_dir=str(tmp_path / "again"),
            reward_num_workers=1,
        )
    )
    for key in ("num_problems", "num_samples", "pass@1", "pass@1_stderr"):
        assert again[key] == first[key]


def test_an_evaluations_details_read_back_plain_or_gzipped_as_docs_results_keeps_them(
    tmp_path, benchmark_file, predictions_file
):
    first = run(tmp_path, benchmark_file, predictions=str(predictions_file))
    written = tmp_path / "out" / "details.jsonl"
    rows = read_details(written.parent)
    assert len(rows) == first["num_problems"] * first["num_samples"] and rows[0]["completion"]
    kept = tmp_path / "kept"
    kept.mkdir()
    with gzip.open(kept / "details.jsonl.gz", "wt", encoding="utf-8") as gzipped:
        gzipped.write(written.read_text(encoding="utf-8"))
    assert read_details(kept) == rows
    assert read_details(tmp_path) is None  # neither file
    (tmp_path / "details.jsonl").write_text("")  # a run stopped as it began writing
    assert read_details(tmp_path) == []
    # A gzipped details file grades again as predictions, as the plain one does.
    again = evaluate(
        EvaluateArguments(
            task="toy",
            data_files=str(benchmark_file),
            predictions=str(kept / "details.jsonl.gz"),
            output_dir=str(tmp_path / "again"),
            reward_num_workers=1,
        )
    )
    assert again["pass@1"] == first["pass@1"]


def test_regrading_an_evaluations_details_keeps_how_each_completion_ended(
    tmp_path, benchmark_file, tiny_model, caplog, capsys
):
    caplog.set_level("INFO", logger="open_r1.eval.offline")
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--reward_num_workers", "1"]
    sampled = main([*argv, "--model", str(tiny_model), "--num_samples", "2", "--max_new_tokens", "3",
                    "--device", "cpu", "--output_dir", str(tmp_path / "sampled")])  # fmt: skip
    printed = json.loads(capsys.readouterr().out)  # the command's summary says how the completions ended
    assert printed["finish_reasons"] == sampled["finish_reasons"] and printed["pass@1"] == sampled["pass@1"]
    regraded = main([*argv, "--predictions", str(tmp_path / "sampled" / "details.jsonl"),
                     "--output_dir", str(tmp_path / "regraded")])  # fmt: skip
    assert sum(sampled["finish_reasons"].values()) == 6
    cut = sampled["finish_reasons"]["length"]
    assert cut > 0  # 3 tokens of a random model
    assert f"{cut} of 6 completions ran out of their token budget (--max_new_tokens" in caplog.text
    # Said, not warned: a base model that never stops is no fault of the run.
    assert not [record for record in caplog.records if record.levelname == "WARNING"]
    assert regraded["finish_reasons"] == sampled["finish_reasons"]
    # What generation decoded: the 3 problems x 2 samples in one padded call, which ran 3 steps for the rows cut.
    decoding = sampled["decoding"]
    assert decoding["calls"] == 1 and decoding["decode_steps"] == 3
    assert 3 * cut <= decoding["kept_tokens"] <= 6 * 3 and decoding["slot_use"] == decoding["kept_tokens"] / 18
    assert 0 < decoding["seconds"] <= decoding["generation_seconds"]
    # The log gives both: the generation's time includes loading the model, which its generate calls' does not.
    assert (
        f"generation took {decoding['generation_seconds']:.1f} s, its generate calls {decoding['seconds']:.1f} s "
        "(the rest: loading the model" in caplog.text
    )
    assert decoding["gpu_memory_reserved_peak_gib"] is None  # no GPU used
    # Each prompt read once for its 2 samples, left-padded to the longest of the 3.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    prompts = [json.loads(line)["prompt"] for line in (tmp_path / "sampled" / "details.jsonl").open()]
    longest = max(len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) for prompt in set(prompts))
    assert decoding["context_tokens"] == 3 * longest
    [(steps, read, seconds)] = decoding["call_timings"]  # the one call's own figures, for a call's price
    assert (steps, read) == (3, 3 * longest) and seconds == decoding["seconds"]
    assert regraded["decoding"] is None  # graded from saved completions: nothing decoded
    ends = [(row["id"], row["finish_reason"]) for row in read_details(tmp_path / "sampled")]
    assert [(row["id"], row["finish_reason"]) for row in read_details(tmp_path / "regraded")] == ends


def test_a_k_above_the_predictions_count_is_refused_before_the_folder_of_an_earlier_run_is_touched(
    tmp_path, benchmark_file, predictions_file
):
    """A red team's: a second grading into the same folder with --pass_k 4 wrote its details.jsonl, then failed,
    leaving it beside the first run's results.json."""
    run(tmp_path, benchmark_file, predictions=str(predictions_file))
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    one_each = write_jsonl(tmp_path / "one.jsonl", [{"id": row["id"], "completion": "\\boxed{2}"} for row in PROBLEMS])
    with pytest.raises(UsageError, match=r"exceed the 1 completion\(s\) per problem of --predictions .*one.jsonl"):
        run(tmp_path, benchmark_file, predictions=str(one_each), pass_k=[4])
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()} == before


def test_a_folder_never_holds_one_runs_details_beside_another_runs_results(
    tmp_path, benchmark_file, predictions_file, monkeypatch, caplog
):
    """A red team's: a run stopped after writing its details.jsonl left the previous run's results.json beside it.
    The earlier results go first, and a line says whose they were (replaced, as upstream and lighteval do)."""
    from open_r1.eval import offline

    caplog.set_level("INFO", logger="open_r1.eval.offline")
    run(tmp_path, benchmark_file, predictions=str(predictions_file))
    interrupt = KeyboardInterrupt()
    monkeypatch.setattr(offline, "save_results", lambda *args, **kwargs: (_ for _ in ()).throw(interrupt))
    one_each = write_jsonl(tmp_path / "one.jsonl", [{"id": row["id"], "completion": "\\boxed{2}"} for row in PROBLEMS])
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, benchmark_file, predictions=str(one_each))
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["details.jsonl"]
    assert len(read_details(tmp_path / "out")) == 3  # the second run's
    assert (
        f"replacing the results of a previous run in {tmp_path / 'out'} (task toy, predictions {predictions_file})"
        in (caplog.text)
    )


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
        (
            [{"id": p, "completion": [{"role": "assistant"}]} for p in ("p1", "p2", "p3")],
            r"bad.jsonl:1: field 'completion' must be a string or a non-empty list of chat messages",
        ),
        ([{"id": p, "completion": []} for p in ("p1", "p2", "p3")], "bad.jsonl:1: field 'completion' must be"),
        (
            [{"id": p, "completion": "a", "finish_reason": "eos"} for p in ("p1", "p2", "p3")],
            r"bad.jsonl:1: finish_reason must be one of \['stop', 'length', 'tool_rounds'\], got 'eos'",
        ),
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
    # The count of --predictions is the file's: --num_samples is no fix (a red team's: it was advised).
    with pytest.raises(UsageError, match=r"^--pass_k/--maj_k \[4\] exceed the 2 completion\(s\) per problem of "):
        run(tmp_path, benchmark_file, predictions=str(predictions_file), pass_k=[1, 4])
    with pytest.raises(ValueError, match="--num_samples is 3"):
        run(tmp_path, benchmark_file, predictions=str(predictions_file), num_samples=3)
    with pytest.raises(UsageError, match="and --predictions grades saved completions; drop --compile_decoding"):
        EvaluateArguments(task="t", data_files="d", output_dir="o", predictions="p", compile_decoding=True)


def test_the_tiny_model_is_sampled_several_times_per_problem_through_its_chat_template(
    tmp_path, benchmark_file, tiny_model
):
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--model", str(tiny_model), "--num_samples", "3"]
    argv += ["--max_new_tokens", "6", "--device", "cpu", "--reward_num_workers", "1", "--seed", "7"]
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
    # Six new tokens from a random model: each completion's end is recorded and counted.
    counted = {reason: sum(row["finish_reason"] == reason for row in details) for reason in ("stop", "length")}
    assert results["finish_reasons"] == {**counted, "tool_rounds": 0} and sum(counted.values()) == 9

    main([*argv, "--output_dir", str(tmp_path / "b")])
    assert [row["completion"] for row in read_details(tmp_path / "b")] == [row["completion"] for row in details]


def test_command_line_reports_a_missing_predictions_file_by_name(tmp_path, benchmark_file):
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    with pytest.raises(UsageError, match="--predictions: no such file or folder: .*missing.jsonl"):
        main([*argv, "--predictions", str(tmp_path / "missing.jsonl")])
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_dry_run_checks_everything_and_prints_the_command_without_evaluating(
    tmp_path, benchmark_file, predictions_file, capsys
):
    """A newcomer audit's: `make evaluate BACKEND=cpu DRY_RUN=1` echoed the command and checked nothing."""
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o"), "--dry_run"]
    with pytest.raises(UsageError, match="--data_files: no such file or folder: .*nope.jsonl"):
        main([*argv[:3], str(tmp_path / "nope.jsonl"), *argv[4:], "--predictions", str(predictions_file)])
    assert main([*argv, "--predictions", str(predictions_file)]) == {}
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("python -m open_r1.evaluate --task toy") and "--dry_run" not in printed
    assert not (tmp_path / "o").exists()
    # Any boolean the parser reads after --dry_run goes with it (`yes` was printed as an argument of its own).
    assert main([*argv, "yes", "--predictions", str(predictions_file)]) == {}
    assert capsys.readouterr().out.strip() == printed


def test_an_output_dir_that_is_or_lies_under_a_file_is_refused_before_sampling(
    tmp_path, benchmark_file, predictions_file
):
    """A newcomer audit's: a FileExistsError traceback came after the generation, its work lost."""
    (tmp_path / "afile").write_text("")
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--predictions", str(predictions_file)]
    with pytest.raises(UsageError, match=r"^--output_dir .*afile is a file; name a folder$"):
        main([*argv, "--output_dir", str(tmp_path / "afile")])
    with pytest.raises(UsageError, match=r"^--output_dir .*afile/evals lies under .*afile, a file; name a folder$"):
        main([*argv, "--output_dir", str(tmp_path / "afile" / "evals")])


def test_an_evaluations_folder_given_for_its_details_file_is_one_line_naming_the_file(
    tmp_path, benchmark_file, predictions_file
):
    run(tmp_path, benchmark_file, predictions=str(predictions_file))  # writes tmp_path/out/details.jsonl
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    with pytest.raises(UsageError) as refused:
        main([*argv, "--predictions", str(tmp_path / "out")])
    assert str(refused.value) == (
        f"{tmp_path / 'out'} is a folder; expected a JSONL file with fields ['id', 'completion'] "
        f"(did you mean {tmp_path / 'out' / 'details.jsonl'}?)"
    )
    with pytest.raises(
        UsageError, match=r"is a folder; expected a JSONL file with fields \['id', 'problem', 'answer'\]$"
    ):
        main(["--task", "toy", "--data_files", str(tmp_path), "--predictions", str(predictions_file), *argv[4:]])


def test_several_greedy_samples_are_refused_as_measuring_nothing(tmp_path, benchmark_file):
    """Found by an audit: --temperature 0 --num_samples 2 gave identical samples, their stderr read as independent."""
    from open_r1.usage import UsageError

    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--model", "m", "--output_dir", str(tmp_path)]
    with pytest.raises(UsageError, match="--num_samples 2 at --temperature 0: every sample would be the greedy"):
        parse_command_line([*argv, "--num_samples", "2", "--temperature", "0"])
    # Found by a second pass: pass@5 of 2 samples failed once every completion had been generated.
    with pytest.raises(UsageError, match=r"--pass_k/--maj_k \[5, 3\] exceed the 2 sample\(s\) per problem"):
        parse_command_line([*argv, "--num_samples", "2", "--pass_k", "5", "--maj_k", "3"])


def test_a_device_that_is_not_one_or_not_here_is_refused_before_the_model_loads(tmp_path, benchmark_file, monkeypatch):
    import torch

    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    (tmp_path / "never-loaded").mkdir()
    (tmp_path / "never-loaded" / "config.json").write_text("{}")
    (tmp_path / "never-loaded" / "model.safetensors").write_bytes(b"")
    argv += ["--model", str(tmp_path / "never-loaded")]
    with pytest.raises(
        UsageError, match=r"^--device must be auto, cpu, cuda \(cuda:N\) or another torch device, got 'gpu'$"
    ):
        parse_command_line([*argv, "--device", "gpu"])
    assert parse_command_line([*argv, "--device", "mps"]).device == "mps"  # an Apple GPU's, as torch names it
    # A newcomer's `--dtype bf16` failed in torch once the model was loading, in a 39-line traceback.
    with pytest.raises(
        UsageError,
        match=r"^--dtype must be one of auto, float32, bfloat16, float16, got 'bf16' \(did you mean --dtype bfloat16",
    ):
        parse_command_line([*argv, "--dtype", "bf16"])
    assert parse_command_line([*argv, "--dtype", "bfloat16"]).dtype == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match=r"^--device cuda:1: no GPU is visible here; use --device cpu, or auto$"):
        parse_command_line([*argv, "--device", "cuda:1"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--num_workers", "2"],
            "unknown option --num_workers (did you mean --code_num_workers or --reward_num_workers?)",
        ),
        (
            ["--reward_timeout_second", "3"],
            "unknown option --reward_timeout_second (did you mean --reward_timeout_seconds?)",
        ),
        (["--max_new_tokens", "abc"], "argument --max_new_tokens/--max-new-tokens: invalid int value: 'abc'"),
        (["--max_new_tokens", "0"], "--max_new_tokens must be at least 1, got 0"),
        (["--batch_size", "-2"], "--batch_size must be at least 1, got -2"),
        (
            ["--prompt_style", "boxd"],
            "--prompt_style must be one of boxed, plain, got 'boxd' (did you mean --prompt_style boxed?)",
        ),
        (["--code_num_workers", "3"], "--code_num_workers is set but --tools is empty"),
        (["--tool_rollout_chunk_tokens", "96"], "--tool_rollout_chunk_tokens is set but --tools is empty"),
        (
            ["--tools", "python", "--tool_rollout_chunk_tokens", "0"],
            "--tool_rollout_chunk_tokens must be a positive number of tokens, got 0",
        ),
        (
            ["--compile_decoding", "true", "--device", "cpu"],
            "--compile_decoding compiles generation on a GPU, and --device cpu has no GPU; drop --compile_decoding",
        ),
        (["5"], "unexpected argument(s) ['5']"),
        # A red team's: these were found once the completions were made (a ValueError from the grader), or never.
        (["--reward_num_workers", "0"], "--reward_num_workers must be at least 1, got 0"),
        (["--reward_timeout_seconds", "0"], "--reward_timeout_seconds must be above 0, got 0.0"),
        (["--reward_timeout_seconds", "nan"], "--reward_timeout_seconds must be a finite number, got nan"),
        # NaN and Infinity were written into results.json, which is then no JSON.
        (["--temperature", "nan"], "--temperature must be a finite number, got nan"),
        (["--temperature", "inf"], "--temperature must be a finite number, got inf"),
        (["--top_p", "nan"], "--top_p must be a finite number, got nan"),
        (["--output_dir", ""], "--output_dir is empty; name the folder for results.json and details.jsonl"),
    ],
)
def test_every_mistake_on_the_command_line_is_one_usage_error_before_anything_loads(
    tmp_path, benchmark_file, extra, message
):
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o"), "--model", "m"]
    with pytest.raises(UsageError) as raised:
        parse_command_line([*argv, *extra])
    assert message in str(raised.value)


def test_predictions_read_from_the_output_folder_are_refused_before_anything_is_written(
    tmp_path, benchmark_file, predictions_file
):
    """A red team's: `--predictions D/details.jsonl --output_dir D` wrote over the file it graded (its prompts
    replaced by the bare problem, results.json without the model that made them)."""
    run(tmp_path, benchmark_file, predictions=str(predictions_file))
    details = tmp_path / "out" / "details.jsonl"
    before = details.read_bytes()
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--predictions", str(details)]
    for output_dir in (tmp_path / "out", tmp_path / "out" / "."):
        with pytest.raises(
            UsageError, match=r"^--predictions .*details.jsonl lies in --output_dir .*, where this run"
        ):
            main([*argv, "--output_dir", str(output_dir)])
    assert details.read_bytes() == before


def test_a_misspelt_option_is_named_before_a_missing_required_one():
    """A newcomer audit's: `--seeed 3 --task x` said --data_files and --output_dir were missing, not --seeed."""
    with pytest.raises(UsageError, match=r"^unknown option --seeed \(did you mean --seed\?\); --help lists them$"):
        parse_command_line(["--seeed", "3", "--task", "x"])


def test_a_missing_local_benchmark_file_is_named_with_the_close_existing_ones(tmp_path, benchmark_file):
    argv = ["--task", "toy", "--output_dir", str(tmp_path / "o"), "--model", "m"]
    with pytest.raises(
        UsageError, match=r"--data_files: no such file or folder: .*bnech.jsonl \(did you mean .*bench.jsonl\?\)"
    ):
        parse_command_line([*argv, "--data_files", str(tmp_path / "bnech.jsonl")])


def test_help_lists_the_tool_options_last_in_one_group_led_by_tools(capsys):
    with pytest.raises(SystemExit):
        parse_command_line(["--help"])
    printed = capsys.readouterr().out
    head, tool_use = printed.split("tool use: --tools and the settings it reads:\n")
    listed = [line.split()[0] for line in tool_use.splitlines() if line.startswith("  --")]
    assert listed[0] == "--tools" and {"--max_tool_calling_iterations", "--python_tool_provider"} <= set(listed)
    assert "--tools" not in head and "--code_num_workers" not in head and "--task" in head


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_command_prints_a_mistake_as_one_line_with_status_2(tmp_path, benchmark_file):
    import os
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o"), "--model", "m"]
    result = subprocess.run(
        [sys.executable, "-m", "open_r1.evaluate", *argv, "--num_workers", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        timeout=100,
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr == (
        "open_r1.evaluate: error: unknown option --num_workers (did you mean --code_num_workers or "
        "--reward_num_workers?); --help lists them\n"
    )


def _arrow_file_bytes() -> bytes:
    """What `datasets` writes to a cache .arrow file: Arrow's stream format, binary."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    table = pa.table({"id": ["a"], "problem": ["1+1?"], "answer": ["2"]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "bench.jsonl",
            '{"problem": "1+1?"}\n',
            "missing field(s) ['id', 'answer']; each line needs ['id', 'problem', 'answer'], this one has ['problem']",
        ),
        ("bench.jsonl", "{not json\n", "not valid JSON"),
        (  # a MATH-style file: the answer is inside `solution`
            "bench.jsonl",
            '{"id": "m-0", "problem": "1+1?", "solution": "So \\\\boxed{2}."}\n',
            "missing field(s) ['answer']; each line needs ['id', 'problem', 'answer'], this one has ['id', 'problem', "
            "'solution']",
        ),
        (  # found by a newcomer audit: a utf-8 codec error without the file's name
            "bench.arrow",
            None,
            "not UTF-8 text; expected a JSONL file with fields ['id', 'problem', 'answer'] (an Arrow file: write it as "
            "JSONL with datasets, `Dataset.from_file(path).to_json(...)`)",
        ),
    ],
)
def test_a_benchmark_file_it_cannot_read_is_one_line_naming_its_line_before_the_model_loads(
    tmp_path, tiny_model, name, content, message
):
    import os
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    data = tmp_path / name
    data.write_bytes(_arrow_file_bytes() if content is None else content.encode())
    argv = [
        "--task",
        "toy",
        "--data_files",
        str(data),
        "--output_dir",
        str(tmp_path / "o"),
        "--model",
        str(tiny_model),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "open_r1.evaluate", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        timeout=100,
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr.startswith(f"open_r1.evaluate: error: {data}:1: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


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


# ------------------------------------------------------------------------------------------------
# Few-shot mode: lighteval's GSM8K protocol (open_r1.eval.few_shot)
# ------------------------------------------------------------------------------------------------


def few_shot_argv(train: pathlib.Path, test: pathlib.Path, model, output_dir) -> list[str]:
    argv = ["--task", "gsm8k", "--data_files", str(test), "--model", str(model), "--output_dir", str(output_dir)]
    argv += ["--prompt_style", "plain", "--num_fewshot", "5", "--fewshot_file", str(train), "--temperature", "0"]
    return argv + ["--max_new_tokens", "12", "--device", "cpu", "--reward_num_workers", "1"]


def test_five_shot_mode_on_the_tiny_model_prompts_with_train_shots_and_grades_the_number_after_hashes(
    tmp_path, gsm8k_files, tiny_model
):
    from open_r1.eval.few_shot import grade_hash_answer

    train, test = gsm8k_files
    results = main(few_shot_argv(train, test, tiny_model, tmp_path / "a"))
    details = read_details(tmp_path / "a")

    assert (results["num_problems"], results["num_samples"]) == (3, 1)
    settings = results["settings"]
    assert (settings["prompt_style"], settings["num_fewshot"], settings["fewshot_seed"]) == ("plain", 5, 0)
    assert (settings["temperature"], settings["fewshot_file"]) == (0.0, str(train))
    for row, problem in zip(details, GSM8K_TEST):
        prompt = row["prompt"]
        assert prompt.count("<|im_start|>user\nQuestion: Ann has") == 5
        assert prompt.count("<|im_start|>assistant\n She has") == 5
        assert "Bob has" not in prompt.rsplit("<|im_start|>user\n", 1)[0]  # no test problem among the shots
        assert prompt.endswith(
            f"<|im_start|>user\nQuestion: {problem['problem']}\nAnswer:<|im_end|>\n<|im_start|>assistant\n"
        )
        assert (row["extracted_answer"], float(row["correct"])) == grade_hash_answer(
            row["completion"], problem["answer"]
        )
    # Greedy, shots from a seed: the same run gives the same prompts and completions.
    main(few_shot_argv(train, test, tiny_model, tmp_path / "b"))
    assert read_details(tmp_path / "b") == details


def test_stop_sequences_end_each_completion_before_the_first_of_them(tmp_path, gsm8k_files, tiny_model):
    train, test = gsm8k_files
    # Sampled at temperature 1 from the random model: varied text (greedily it repeats one token). The same seed,
    # prompts and batch draw the same tokens up to the stop.
    sampling = ["--temperature", "1.0", "--top_p", "1.0", "--seed", "3"]
    main([*few_shot_argv(train, test, tiny_model, tmp_path / "free"), *sampling])
    free = [row["completion"] for row in read_details(tmp_path / "free")]
    stop = next(free[0][i : i + 2] for i in range(1, len(free[0]) - 1) if free[0][i : i + 2].strip())
    main([*few_shot_argv(train, test, tiny_model, tmp_path / "cut"), *sampling, "--stop_sequences", stop])
    cut = [row["completion"] for row in read_details(tmp_path / "cut")]
    assert cut[0] == free[0][: free[0].index(stop)]
    assert all(stop not in text for text in cut)
    assert all(text == full.split(stop)[0] for text, full in zip(cut, free))
    stopped = [row["finish_reason"] for row, full in zip(read_details(tmp_path / "cut"), free) if stop in full]
    assert stopped and set(stopped) == {"stop"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_fewshot": 5}, "--num_fewshot needs --prompt_style plain"),
        ({"prompt_style": "plain", "num_fewshot": 5}, "go together"),
        ({"prompt_style": "plain", "fewshot_file": "train.jsonl"}, "go together"),
        ({"prompt_style": "fancy"}, "--prompt_style must be one of"),
        ({"prompt_style": "plain", "tools": ["python"]}, "has no tools"),
    ],
)
def test_few_shot_options_that_cannot_work_together_are_refused(overrides, message):
    with pytest.raises(UsageError, match=message):
        EvaluateArguments(task="t", data_files="d", output_dir="o", model="m", **overrides)


def refusal_before_loading_a_model(tmp_path, train: pathlib.Path, test: pathlib.Path, num_fewshot: int = 5) -> str:
    """The one line `python -m open_r1.evaluate` prints when it refuses a few-shot run (exit 2, nothing written), with
    a model folder that has no weights: a refusal that came after loading the model would fail on the model."""
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    (tmp_path / "no-model-here").mkdir()
    (tmp_path / "no-model-here" / "config.json").write_text("{}")
    (tmp_path / "no-model-here" / "model.safetensors").write_bytes(b"")
    argv = few_shot_argv(train, test, tmp_path / "no-model-here", tmp_path / "out")
    argv[argv.index("--num_fewshot") + 1] = str(num_fewshot)
    result = subprocess.run(
        [sys.executable, "-m", "open_r1.evaluate", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        timeout=100,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert not (tmp_path / "out").exists()
    return line


@pytest.mark.e2e
@pytest.mark.timeout(120)
@pytest.mark.parametrize("shots", ["the evaluated file", "a file sharing a problem"])
def test_the_command_refuses_shots_from_the_evaluated_set_in_one_line_before_loading_a_model(
    tmp_path, gsm8k_files, shots
):
    train, test = gsm8k_files
    if shots == "a file sharing a problem":
        train = write_jsonl(tmp_path / "leaky.jsonl", [*GSM8K_TRAIN, {**GSM8K_TEST[1], "solution": "#### 4"}])
    else:
        train = test
    line = refusal_before_loading_a_model(tmp_path, train, test)
    expected = "is the evaluated file" if shots == "the evaluated file" else "shares 1 problem(s)"
    assert line.startswith("open_r1.evaluate: error: --fewshot_file") and expected in line, line


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_gold_that_is_no_whole_number_is_refused_in_one_line_before_loading_a_model(tmp_path, gsm8k_files):
    """Red team (few-shot grading): a `\\frac{1}{2}` gold was found only at grading, a traceback after generation."""
    train, _ = gsm8k_files
    test = write_jsonl(
        tmp_path / "mixed.jsonl", [*GSM8K_TEST, {"id": "half", "problem": "Half?", "answer": "\\frac12"}]
    )
    line = refusal_before_loading_a_model(tmp_path, train, test)
    assert line.startswith(f"open_r1.evaluate: error: {test}: problem 'half' has the answer '\\\\frac12'"), line
    assert "not a whole number" in line


def test_tool_rollouts_are_graded_on_what_the_model_wrote_and_not_under_the_plain_style(tmp_path, gsm8k_files):
    _, test = gsm8k_files
    rollout = [
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "python"}}]},
        {"role": "tool", "name": "python", "content": "\\boxed{999}"},  # what the tool printed earns nothing
        {"role": "assistant", "content": "So \\boxed{ANSWER}."},
    ]
    rows = [
        {"id": problem["id"], "completion": json.loads(json.dumps(rollout).replace("ANSWER", problem["answer"]))}
        for problem in GSM8K_TEST
    ]
    predictions = write_jsonl(tmp_path / "rollouts.jsonl", rows)
    boxed = run(tmp_path, test, predictions=str(predictions))
    assert boxed["pass@1"] == 1.0
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{**row, "completion": rollout[:2]} for row in rows])
    assert run(tmp_path, test, predictions=str(wrong))["pass@1"] == 0.0
    argv = ["--task", "gsm8k", "--data_files", str(test), "--predictions", str(predictions), "--prompt_style", "plain"]
    with pytest.raises(ValueError, match="--prompt_style plain grades text completions"):
        main([*argv, "--output_dir", str(tmp_path / "plain"), "--reward_num_workers", "1"])


def test_the_evaluators_files_are_never_hub_ids_and_its_model_may_be_one(tmp_path, benchmark_file, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    argv = ["--task", "toy", "--output_dir", str(tmp_path / "o")]
    with pytest.raises(UsageError, match="^--data_files: no such file or folder: math-500$"):
        parse_command_line([*argv, "--model", "m", "--data_files", "math-500"])
    with pytest.raises(UsageError, match="so --model Org/Model is neither a local path nor in the cache"):
        parse_command_line([*argv, "--model", "Org/Model", "--data_files", str(benchmark_file)])


def test_on_a_gpu_the_results_say_the_most_memory_the_evaluation_reserved(monkeypatch):
    """Beside a training on one GPU, what an evaluation held is what it left the training."""
    import torch

    from open_r1.eval.offline import gpu_memory_reserved_peak_gib, reset_gpu_memory_peak

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda: 15 * 2**30 + 2**29)
    assert gpu_memory_reserved_peak_gib() == 15.5
    # Each evaluation's own peak: one run earlier in the process (on a GPU, one after another) is forgotten.
    resets = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda: resets.append(True))
    reset_gpu_memory_peak()
    assert resets == [True]
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)  # CUDA present, the evaluation on the CPU
    assert gpu_memory_reserved_peak_gib() is None


def test_a_model_whose_template_opens_think_is_graded_as_grpo_grades_it(tmp_path, tiny_model):
    """A review's: training with think_prefilled read no answer in reasoning cut off, while the evaluator paid it."""
    import shutil

    from transformers import AutoTokenizer

    from open_r1.data.benchmarks import Problem
    from open_r1.eval.offline import grade_completions, model_prefills_think
    from open_r1.utils.chat_templates import CHATML_TEMPLATE

    prefilling = tmp_path / "prefilling"
    shutil.copytree(tiny_model, prefilling)
    tokenizer = AutoTokenizer.from_pretrained(prefilling)
    tokenizer.chat_template = CHATML_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' }}", "{{- '<|im_start|>assistant\\n<think>\\n' }}"
    )
    assert tokenizer.chat_template != CHATML_TEMPLATE
    tokenizer.save_pretrained(prefilling)
    assert model_prefills_think(str(prefilling)) and not model_prefills_think(str(tiny_model))
    problems = [Problem("p", "2+2?", "4")]
    samples = [["First guess \\boxed{4}, then step 1 ...", "So 4.\n</think>\n\\boxed{4}"]]
    assert grade_completions(problems, samples, 1, 5.0, think_prefilled=True)[1] == [[0.0, 1.0]]
    assert grade_completions(problems, samples, 1, 5.0)[1] == [[1.0, 1.0]]


def test_saved_completions_are_graded_as_their_saved_prompt_says_they_were_made(tmp_path, benchmark_file):
    """A red team's: regrading a think-prefilled run's details paid a \\boxed{} inside reasoning cut off by the
    token budget (the run itself had graded it 0): --predictions was always graded as without a prefilled <think>."""
    opened = "<|im_start|>user\nWhat is $1+1$?<|im_end|>\n<|im_start|>assistant\n<think>\n"
    cut_off = {"id": "p1", "completion": "Maybe \\boxed{2}? wait, let me keep checking", "finish_reason": "length"}
    others = [{"id": i, "completion": "no idea", "finish_reason": "stop"} for i in ("p2", "p3")]
    (tmp_path / "saved").mkdir()
    for prompt, score in ((opened, 0.0), (opened.removesuffix("<think>\n"), 1 / 3), (None, 1 / 3)):
        rows = [{**cut_off, "prompt": prompt}, *others] if prompt else [cut_off, *others]
        saved = write_jsonl(tmp_path / "saved" / "details.jsonl", rows)
        assert run(tmp_path, benchmark_file, predictions=str(saved))["pass@1"] == pytest.approx(score)
        regraded = read_details(tmp_path / "out")
        # The prompt the completions were made from is kept, not replaced by the bare problem.
        assert regraded[0]["prompt"] == (prompt or "What is $1+1$?\n\n" + MATH_INSTRUCTION)


def test_rows_of_one_problem_with_different_prompts_are_refused_as_two_runs_put_together(tmp_path, benchmark_file):
    rows = [
        {"id": i, "completion": "\\boxed{2}", "prompt": f"{i} <think>\n" if n else f"{i}"}
        for i in ("p1", "p2", "p3")
        for n in range(2)
    ]
    saved = write_jsonl(tmp_path / "saved.jsonl", rows)
    with pytest.raises(UsageError, match=r"saved.jsonl:2: the prompt of 'p1' differs from its prompt on line 1; "):
        run(tmp_path, benchmark_file, predictions=str(saved))


def test_a_prompt_longer_than_the_models_context_is_named_before_the_model_loads(tmp_path, tiny_model, monkeypatch):
    """A red team's: MATH-500 on the tiny model (1024 positions) failed after the model loaded, in a ValueError
    traceback that named no problem."""
    from open_r1.eval import offline

    long = [{"id": "short", "problem": "1+1?", "answer": "2"}, {"id": "long", "problem": "1+" * 1200, "answer": "2"}]
    bench = write_jsonl(tmp_path / "bench.jsonl", long)
    monkeypatch.setattr(offline, "generate_completions", lambda *args, **kwargs: pytest.fail("the model loaded"))
    argv = [
        "--task",
        "toy",
        "--data_files",
        str(bench),
        "--output_dir",
        str(tmp_path / "o"),
        "--model",
        str(tiny_model),
    ]
    for extra in ([], ["--dry_run"]):
        with pytest.raises(
            UsageError, match=r"^problem 'long' is \d{4} tokens as a prompt, and the context of --model "
        ):
            offline.main([*argv, *extra])
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (b"", [], "the file holds no rows"),
        (b'{"id": "a", "problem": "1+1?", "answer": NaN}\n', [], "field 'answer' is nan, not a finite number"),
        (b"PAR1\x15\x04\xff\xfe", [], "not UTF-8 text"),
        (None, ["--fewshot_file", "SAME", "--num_fewshot", "1", "--prompt_style", "plain"], "evaluated"),
    ],
)
def test_a_dry_run_reads_the_benchmark_and_shot_files(tmp_path, content, extra, message, predictions_file, tiny_model):
    """A red team's: the dry run, whose help says it checks the files, never read them: an empty file, a Parquet
    file, NaN answers, shots from the evaluated file all passed."""
    bench = tmp_path / "bench.jsonl"
    if content is None:  # the plain style's golds are whole numbers
        write_jsonl(bench, [problem for problem in PROBLEMS if problem["answer"].isdigit()])
    else:
        bench.write_bytes(content)
    extra = [str(bench) if word == "SAME" else word for word in extra]
    source = ["--model", str(tiny_model)] if extra else ["--predictions", str(predictions_file)]
    argv = ["--task", "toy", "--data_files", str(bench), "--output_dir", str(tmp_path / "o"), "--dry_run", *source]
    with pytest.raises(UsageError, match=re.escape(message)):
        main([*argv, *extra])


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_ctrl_c_is_one_line_with_status_130(tmp_path, benchmark_file, predictions_file):
    """A red team's: Ctrl-C printed a KeyboardInterrupt traceback, status 1."""
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    interrupted = (
        "import runpy, sys; from open_r1.eval import offline\n"
        "def evaluate(args): raise KeyboardInterrupt\n"
        "offline.evaluate = evaluate\n"
        "runpy.run_module('open_r1.evaluate', run_name='__main__')"
    )
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    result = subprocess.run(
        [sys.executable, "-c", interrupted, *argv, "--predictions", str(predictions_file)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        timeout=100,
    )
    assert result.returncode == 130, result.stderr[-2000:]
    assert result.stderr.strip().endswith(f"interrupted; {offline.INTERRUPTED}")
    assert "details.jsonl without its results.json" in offline.INTERRUPTED  # what a stop while writing can leave
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("device", ["cpu", "auto"])  # auto: the README's command, on a machine without a GPU
def test_on_a_cpu_the_evaluator_threads_over_the_cores_idle_when_it_starts(
    tmp_path, benchmark_file, tiny_model, monkeypatch, device
):
    """A newcomer audit's: beside other work the README's evaluation took 17 s of generation with torch's thread per
    core, 0.6 s with one."""
    import psutil
    import torch

    from open_r1.eval import offline

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads, before = [], torch.get_num_threads()
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [100.0] * (os.cpu_count() or 1))
    results = {"task": "toy", "finish_reasons": {}}
    monkeypatch.setattr(offline, "evaluate", lambda args: threads.append(torch.get_num_threads()) or results)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--model", str(tiny_model), "--device", device]
    try:
        torch.set_num_threads(2)  # torch's own choice on 2 cores: one per core
        offline.main([*argv, "--output_dir", str(tmp_path / "out"), "--reward_num_workers", "1"])
    finally:
        torch.set_num_threads(before)
    assert threads == [1]


def test_tools_with_a_model_whose_template_has_no_tool_calls_stop_before_it_loads(
    tmp_path, benchmark_file, tiny_model, monkeypatch
):
    """A newcomer's: `--tools python` on data/tiny-model failed once the model had loaded, in a 31-line traceback
    whose fix named a recipe field the evaluator does not have."""
    from open_r1.eval import offline

    monkeypatch.setattr(offline, "generate_completions", lambda *args, **kwargs: pytest.fail("the model loaded"))
    argv = ["--task", "toy", "--data_files", str(benchmark_file), "--output_dir", str(tmp_path / "o")]
    args = parse_command_line([*argv, "--model", str(tiny_model), "--tools", "python"])
    with pytest.raises(
        UsageError, match=r"^--tools: the chat template of .* does not render tool calls and results; "
    ):
        offline.evaluate(args)
