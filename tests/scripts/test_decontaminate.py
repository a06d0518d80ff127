"""Specification of decontamination: `open_r1.data.contamination` and `scripts/decontaminate.py`."""

import json
import re

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from open_r1.data.contamination import MIN_RUN_CHARS, NgramIndex, flag_texts_parallel, masks_to_flags
from open_r1.usage import UsageError
from open_r1.utils.text_reading import LATIN_LOOKALIKES, readable_text
from tests.support.files import write_jsonl
from tests.support.script_module import load_module


def _load_script():
    return load_module("scripts/decontaminate.py", "decontaminate_script")


BENCHMARK = {
    "algebra": [
        "Find all real numbers x such that x squared minus five x plus six equals zero.",
        "Let f be a function with f of two equal to seven; compute f of f of two.",
    ],
    "geometry": ["A circle of radius three is inscribed in a square. What is the area of the square outside it?"],
}


def reference_masks(texts, benchmarks, n):
    """Straightforward definition: shared word n-gram tuple, or, for a problem below n words, all of its words in
    order (the whole text, for a problem of one word or under MIN_RUN_CHARS characters), of the texts read as they
    show (`readable_text`), lower-cased, look-alike letters read as Latin."""
    masks = []
    for text in texts:
        words = readable_text(text).lower().translate(LATIN_LOOKALIKES).split()
        grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
        mask = 0
        for bit, problems in enumerate(benchmarks.values()):
            for problem in problems:
                bench_words = readable_text(problem).lower().translate(LATIN_LOOKALIKES).split()
                if len(bench_words) < n and (len(bench_words) < 2 or len(" ".join(bench_words)) < MIN_RUN_CHARS):
                    hit = words == bench_words
                elif len(bench_words) < n:
                    size = len(bench_words)
                    hit = any(words[i : i + size] == bench_words for i in range(len(words) - size + 1))
                else:
                    hit = bool(grams & {tuple(bench_words[i : i + n]) for i in range(len(bench_words) - n + 1)})
                if hit:
                    mask |= 1 << bit
        masks.append(mask)
    return masks


def test_planted_problems_are_found_verbatim_recased_respaced_and_embedded_and_nothing_else():
    algebra, second_algebra = BENCHMARK["algebra"]
    geometry = BENCHMARK["geometry"][0]
    seven_words = " ".join(algebra.split()[:7])
    rows = [
        algebra,  # verbatim
        second_algebra.upper(),  # re-cased
        "\n\t".join(geometry.split("  ")).replace(" ", "   \n "),  # whitespace changed
        "Warm-up first. " + geometry + " Then explain.",  # embedded in other text
        f"{seven_words} but then it changes completely here",  # only 7 shared words: not contaminated
        "Find all real numbers x such that y squared minus five x plus six equal zero.",  # every 7th word changed
        "An unrelated problem about counting sheep in a field of grass.",
        "",
    ]
    index = NgramIndex(BENCHMARK, ngram_size=8)
    flags = masks_to_flags(index.flag_texts(rows), index.names)
    assert flags["algebra"] == [True, True, False, False, False, False, False, False]
    assert flags["geometry"] == [False, False, True, True, False, False, False, False]


def test_a_copy_with_invisible_characters_full_width_forms_or_look_alike_letters_is_found():
    """Found by red teams: zero-width spaces between or inside words, soft hyphens (common in web text), full-width
    digits and Cyrillic look-alike letters hid a copied benchmark problem from the n-gram match."""
    problem = "Let x be a real number such that the sum of its digits equals 17 exactly"
    index = NgramIndex({"bench": [problem]}, ngram_size=8)
    copies = [
        problem.replace(" ", " \u200b"),
        problem.replace("number", "num\u00adber").replace("digits", "dig\u200bits"),
        problem.replace("17", "１７").replace("Let", "Ｌｅｔ"),
        problem.replace("a", "\u0430").replace("e", "\u0435").replace("o", "\u043e"),
        "An unrelated problem about the sum of two numbers that equals nothing in particular at all",
    ]
    assert masks_to_flags(index.flag_texts(copies), index.names)["bench"] == [True, True, True, True, False]


def test_benchmark_problem_shorter_than_ngram_matches_a_row_holding_its_words_in_order():
    """A data red team's: a short problem (32 of MATH-500's 500 at n=8) wrapped in a prompt template passed."""
    index = NgramIndex(
        {"short": ["Compute $\\dbinom{31}{28}$.", "Evaluate $\\log_264$."], "other": ["x"]}, ngram_size=8
    )
    rows = [
        "compute   $\\dbinom{31}{28}$.",
        "Please compute $\\dbinom{31}{28}$. Put the final answer in \\boxed{}.",
        "Compute $\\dbinom{31}{29}$.",
        "compute $\\dbinom{31}{28}$",  # another last word: not the problem's run of words
        "$\\dbinom{31}{28}$. Compute",
        "first row ends with Compute",
        "$\\dbinom{31}{28}$. opens the second",  # a run across two rows is no match
        "x marks the spot; then evaluate $\\log_264$.",
        "  X ",  # a one-word problem is too common to look for inside rows (a review's): only a row that is it
    ]
    assert index.flag_texts(rows).tolist() == [1, 1, 0, 0, 0, 0, 0, 1, 2]
    counts = (index.num_ngrams, index.num_short_problems, index.num_whole_row_problems)
    assert counts == (0, 2, 1)  # the script's log lines say each
    with pytest.raises(ValueError, match=r"problem 0: expected a non-empty string, got '\\u200b'"):
        NgramIndex({"invisible": ["\u200b"]})  # it read as no word, and silently matched nothing


def test_the_script_refuses_no_processes(planted):
    """A newcomer audit's: --num_proc 0 was accepted."""
    dataset_file, benchmark_file = planted
    with pytest.raises(UsageError, match="--num_proc must be at least 1, got 0"):
        _load_script().parse_args(["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--num_proc", "0"])
    # A newcomer audit's: --batch_size 0 ended in a range() traceback; --new_dataset_name beside --output_dir unread.
    for extra, message in (
        (["--batch_size", "0"], r"^--batch_size must be at least 1, got 0$"),
        (["--output_dir", "out", "--new_dataset_name", "me/x"], r"^--new_dataset_name names the Hub dataset to push"),
    ):
        with pytest.raises(UsageError, match=message):
            _load_script().parse_args(["--dataset", dataset_file, "--benchmark_files", benchmark_file, *extra])


words = st.sampled_from(
    ["a", "b", "c", "Σ", "ΟΣ", "x²", "İ", "déjà", "1", "$x$", "A", "B", "\ud800z", "a\u200b", "１"]
)
spaces = st.sampled_from([" ", "  ", "\n", "\t", "\u3000", "\xa0", "\x1f"])
texts = st.lists(st.tuples(words, spaces), max_size=14).map(lambda parts: "".join(w + s for w, s in parts))


@settings(max_examples=150, deadline=None)
@given(
    benchmarks=st.dictionaries(
        st.sampled_from(["b0", "b1", "b2"]),
        st.lists(texts.filter(lambda t: t.split()), min_size=1, max_size=3),
        min_size=1,
    ),
    rows=st.lists(texts, max_size=12),
    n=st.integers(1, 4),
)
def test_batched_hashing_gives_exactly_the_reference_flags(benchmarks, rows, n):
    index = NgramIndex(benchmarks, ngram_size=n)
    assert index.flag_texts(rows).tolist() == reference_masks(rows, benchmarks, n)


def test_parallel_flagging_equals_one_process_and_keeps_row_order():
    rng = np.random.default_rng(0)
    vocabulary = " ".join(BENCHMARK["algebra"] + BENCHMARK["geometry"]).split()
    rows = [" ".join(rng.choice(vocabulary, size=30)) for _ in range(300)]
    rows[17], rows[250] = BENCHMARK["geometry"][0], BENCHMARK["algebra"][1]
    index = NgramIndex(BENCHMARK, ngram_size=8)
    parallel = flag_texts_parallel(index, rows, num_proc=2, batch_size=40)
    assert parallel.tolist() == flag_texts_parallel(index, rows, num_proc=1, batch_size=40).tolist()
    assert parallel.tolist() == reference_masks(rows, BENCHMARK, 8)
    assert parallel[17] == 2 and parallel[250] == 1


def test_bad_rows_and_benchmarks_are_rejected_with_their_position():
    index = NgramIndex(BENCHMARK)
    with pytest.raises(ValueError, match="row 12: expected the problem text as a string, got None"):
        index.flag_texts(["fine", None], first_row=11)
    with pytest.raises(ValueError, match="benchmark 'geometry', problem 1: expected a non-empty string"):
        NgramIndex({"geometry": ["ok text", "   "]})
    with pytest.raises(ValueError, match="ngram_size"):
        NgramIndex(BENCHMARK, ngram_size=0)


@pytest.fixture
def planted(tmp_path):
    benchmark = [{"problem": p, "answer": "1"} for p in BENCHMARK["algebra"]]
    benchmark_file = str(write_jsonl(tmp_path / "algebra_bench.jsonl", benchmark))
    rows = [{"problem": f"Clean problem number {i} about apples, oranges and pears.", "id": i} for i in range(20)]
    rows[3]["problem"] = BENCHMARK["algebra"][0].upper()
    rows[9]["problem"] = "  \n".join(BENCHMARK["algebra"][1].split(" "))
    dataset_file = str(write_jsonl(tmp_path / "train.jsonl", rows))
    return dataset_file, benchmark_file


def test_script_writes_flag_columns_and_contamination_counts_offline(planted, tmp_path):
    dataset_file, benchmark_file = planted
    output = tmp_path / "flagged"
    report = _load_script().main(
        [
            "--dataset",
            dataset_file,
            "--benchmark_files",
            benchmark_file,
            "--output_dir",
            str(output),
            "--num_proc",
            "2",
        ]
    )
    expected = {"rows": 20, "contaminated": {"algebra_bench": 2}, "removed": 0}
    assert report == expected
    assert json.loads((output / "contamination.json").read_text()) == expected
    flagged = datasets.load_from_disk(str(output))
    assert [i for i, flag in enumerate(flagged["contaminated_algebra_bench"]) if flag] == [3, 9]


def test_script_cleanup_removes_exactly_the_contaminated_rows(planted, tmp_path):
    dataset_file, benchmark_file = planted
    output = tmp_path / "clean"
    args = ["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--output_dir", str(output), "--cleanup"]
    report = _load_script().main(args + ["--num_proc", "1"])
    assert report["removed"] == 2
    cleaned = datasets.load_from_disk(str(output))
    assert cleaned.column_names == ["problem", "id"]
    assert cleaned["id"] == [i for i in range(20) if i not in (3, 9)]


def test_script_names_a_missing_column(planted, tmp_path):
    dataset_file, benchmark_file = planted
    script = _load_script()
    with pytest.raises(ValueError, match="'question' is not a column of the dataset"):
        script.main(
            ["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--problem_column", "question"]
            + ["--output_dir", str(tmp_path / "o")]
        )
    with pytest.raises(
        ValueError, match=r"is not a column of the dataset; .* \(did you mean --problem_column problem\?\)$"
    ):
        script.main(
            ["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--problem_column", "problme"]
            + ["--output_dir", str(tmp_path / "o")]
        )
    with pytest.raises(ValueError, match=r"--benchmark_column 'statement' is not a column of benchmark file "):
        script.main(
            ["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--benchmark_column", "statement"]
            + ["--output_dir", str(tmp_path / "o")]
        )


def test_a_column_that_is_not_text_is_named_before_any_matching(planted, tmp_path):
    """A column of chat messages (an SFT dataset's) failed inside the worker pool with a traceback."""
    from open_r1.usage import UsageError

    _, benchmark_file = planted
    chats = tmp_path / "chats.jsonl"
    chats.write_text('{"messages": [{"role": "user", "content": "1+1?"}]}\n')
    with pytest.raises(
        UsageError, match=r"^--problem_column 'messages' of the dataset holds List\(.*not problem text"
    ):
        _load_script().main(
            ["--dataset", str(chats), "--benchmark_files", benchmark_file, "--problem_column", "messages"]
            + ["--output_dir", str(tmp_path / "o")]
        )


def test_null_rows_and_empty_benchmark_problems_are_named_before_any_matching(planted, tmp_path):
    """A data red team's: a null row failed inside the worker pool, an empty benchmark problem in the index, both as
    tracebacks."""
    from open_r1.usage import UsageError

    dataset_file, benchmark_file = planted
    output = ["--output_dir", str(tmp_path / "o")]
    holes = write_jsonl(tmp_path / "holes.jsonl", [{"problem": "a b"}, {"problem": None}, {"problem": None}])
    with pytest.raises(UsageError, match=r"^--problem_column 'problem' of the dataset: 2 rows hold, from row 1, no"):
        _load_script().main(["--dataset", str(holes), "--benchmark_files", benchmark_file, "--num_proc", "2", *output])
    holes2 = write_jsonl(tmp_path / "holes2.jsonl", [{"problem": "a b"}, {"problem": "c"}, {"problem": None}])
    with pytest.raises(UsageError, match=r"^--benchmark_column .problem. of benchmark file .*: row 2 holds no text"):
        _load_script().main(["--dataset", dataset_file, "--benchmark_files", str(holes2), *output])
    empty = write_jsonl(tmp_path / "empty.jsonl", [{"problem": " "}])
    with pytest.raises(UsageError, match=r"^benchmark 'empty', problem 0: expected a non-empty string, got ' '$"):
        _load_script().main(["--dataset", dataset_file, "--benchmark_files", str(empty), *output])


def test_a_flagged_dataset_can_be_checked_again_but_not_saved_over_itself(planted, tmp_path):
    """A data red team's: re-checking a flagged dataset failed on its flag columns after all the matching, and saving
    over the folder read from failed there too."""
    from open_r1.usage import UsageError

    dataset_file, benchmark_file = planted
    script = _load_script()
    flagged = str(tmp_path / "flagged")
    script.main(["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--output_dir", flagged])
    with pytest.raises(UsageError, match=r"^--output_dir .*flagged is the --dataset folder it reads; name another"):
        script.parse_args(["--dataset", flagged, "--benchmark_files", benchmark_file, "--output_dir", flagged])
    again = str(tmp_path / "again")
    report = script.main(["--dataset", flagged, "--benchmark_files", benchmark_file, "--output_dir", again])
    assert report == {"rows": 20, "contaminated": {"algebra_bench": 2}, "removed": 0}
    assert datasets.load_from_disk(again).column_names == ["problem", "id", "contaminated_algebra_bench"]
    # A check against another benchmark keeps these flags (a review's: every contaminated_* column was dropped).
    other = write_jsonl(tmp_path / "other_bench.jsonl", [{"problem": "nothing in this dataset says these words"}])
    third = str(tmp_path / "third")
    script.main(["--dataset", again, "--benchmark_files", str(other), "--output_dir", third])
    flags = datasets.load_from_disk(third)
    assert flags.column_names == ["problem", "id", "contaminated_algebra_bench", "contaminated_other_bench"]
    assert [i for i, flag in enumerate(flags["contaminated_algebra_bench"]) if flag] == [3, 9]


def test_real_benchmark_problems_planted_in_a_dataset_are_found(shared_data, tmp_path):
    benchmark_files = [str(shared_data / name) for name in ("math500.jsonl", "aime24.jsonl", "aime25.jsonl")]
    math500 = [json.loads(line)["problem"] for line in open(shared_data / "math500.jsonl")]
    aime25 = [json.loads(line)["problem"] for line in open(shared_data / "aime25.jsonl")]
    gsm8k = [json.loads(line)["problem"] for line in open(shared_data / "gsm8k_test.jsonl")][:200]
    rows = list(gsm8k)
    rows[10] = math500[123]
    rows[50] = aime25[4].upper()
    rows[150] = "  ".join(math500[-1].split())
    dataset_file = str(write_jsonl(tmp_path / "mix.jsonl", [{"problem": p} for p in rows]))
    report = _load_script().main(
        ["--dataset", dataset_file, "--benchmark_files", *benchmark_files, "--output_dir", str(tmp_path / "out")]
    )
    assert report["contaminated"] == {"math500": 2, "aime24": 0, "aime25": 1}
    flagged = datasets.load_from_disk(str(tmp_path / "out"))
    assert [i for i, f in enumerate(flagged["contaminated_math500"]) if f] == [10, 150]
    assert [i for i, f in enumerate(flagged["contaminated_aime25"]) if f] == [50]


def test_hub_benchmarks_are_the_default_only_without_local_files_and_local_data_needs_a_destination(
    tmp_path, monkeypatch
):
    from open_r1.usage import UsageError

    script = _load_script()
    asked = []
    monkeypatch.setattr(script, "check_references", lambda references, push, _: asked.append((list(references), push)))
    benchmark = tmp_path / "a.jsonl"
    benchmark.write_text('{"problem": "y"}\n')
    assert script.parse_args(["--dataset", "org/data"]).hub_benchmarks == sorted(script.HUB_BENCHMARKS)
    local = script.parse_args(["--dataset", "org/data", "--benchmark_files", str(benchmark)])
    assert local.hub_benchmarks == [] and local.benchmark_files == [str(benchmark)]
    both = script.parse_args(
        ["--dataset", "org/data", "--benchmark_files", str(benchmark), "--hub_benchmarks", "math_500"]
    )
    assert both.hub_benchmarks == ["math_500"]
    references, push = asked[-1]  # what the Hub must give: the dataset and the benchmarks, and the push
    assert references == [
        ("--dataset", "org/data", "dataset"),
        ("--hub_benchmarks math_500", "HuggingFaceH4/MATH-500", "dataset"),
    ]
    assert push.instead == "give --output_dir"
    data = tmp_path / "train.jsonl"
    data.write_text('{"problem": "x"}\n')
    with pytest.raises(UsageError, match="is local: give --output_dir, or --new_dataset_name"):
        script.parse_args(["--dataset", str(data), "--benchmark_files", str(benchmark)])


def test_missing_local_files_are_named_with_the_close_existing_ones(planted, tmp_path):
    from open_r1.usage import UsageError

    dataset_file, benchmark_file = planted
    script = _load_script()
    output = ["--output_dir", str(tmp_path / "o")]
    with pytest.raises(
        UsageError, match=r"--dataset: no such file or folder: .*trian.jsonl \(did you mean .*train.jsonl"
    ):
        script.main(["--dataset", str(tmp_path / "trian.jsonl"), "--benchmark_files", benchmark_file, *output])
    with pytest.raises(UsageError, match=r"--dataset .*train.jsonl: .*has no split 'test'"):
        script.main(["--dataset", dataset_file, "--split", "test", "--benchmark_files", benchmark_file, *output])
    with pytest.raises(UsageError, match=r"--output_dir .*algebra_bench.jsonl is a file"):
        script.main(["--dataset", dataset_file, "--benchmark_files", benchmark_file, "--output_dir", benchmark_file])
    with pytest.raises(UsageError, match=r"--benchmark_files: no such file or folder: .*algebra.jsonl \(did you mean"):
        script.main(["--dataset", dataset_file, "--benchmark_files", str(tmp_path / "algebra.jsonl"), *output])


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_command_prints_a_mistake_as_one_line_with_status_2(planted, tmp_path):
    import os
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    dataset_file, benchmark_file = planted
    command = [sys.executable, str(REPO_ROOT / "scripts" / "decontaminate.py"), "--dataset", dataset_file]
    command += [
        "--benchmark_files",
        benchmark_file,
        "--problem_column",
        "question",
        "--output_dir",
        str(tmp_path / "o"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=100)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith("decontaminate.py: error: --problem_column 'question' is not a column of the dataset")


def test_hub_benchmarks_out_of_reach_are_named_before_anything_loads(tmp_path, monkeypatch):
    """Offline without --benchmark_files: one line naming each Hub benchmark, where datasets retried for 26 s."""
    from open_r1.usage import UsageError

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = tmp_path / "train.jsonl"
    data.write_text('{"problem": "x"}\n')
    script = _load_script()
    with pytest.raises(UsageError) as error:
        script.parse_args(["--dataset", str(data), "--output_dir", str(tmp_path / "o")])
    assert re.match(r"offline mode \(HF_HUB_OFFLINE=1.*\) keeps the Hub out of reach, so ", str(error.value))
    named = [f"--hub_benchmarks {name} {script.HUB_BENCHMARKS[name][0]}" for name in sorted(script.HUB_BENCHMARKS)]
    assert ", ".join(named[:-1]) + " and " + named[-1] + " are neither local paths" in str(error.value)
    # The dataset is local already: only the benchmarks need another source (a newcomer audit's).
    assert str(error.value).endswith(
        ": give --benchmark_files (benchmark JSONL files with a problem column; the Hub's are then left out)"
    )


def test_help_shows_each_options_default(capsys):
    """A newcomer's: --help named no default (the split, the n-gram size, the columns)."""
    from tests.support.script_module import load_module

    script = load_module("scripts/decontaminate.py", "decontaminate_help")
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "Split to check. (default: train)" in shown and "Words per n-gram. (default: 8)" in shown
