"""scripts/make_tiny_model.py: besides the model and datasets, tiny-math's splits as JSONL files: the held-out
problems for the evaluator, the training problems for the README's GRPO on a file of one's own."""

import os
import re
import subprocess
import sys

import pytest

from open_r1.data.benchmarks import load_problems
from open_r1.usage import UsageError
from tests.support import REPO_ROOT
from tests.support.script_module import load_module


@pytest.mark.parametrize("split", ["train", "test"])
def test_each_split_is_written_in_the_evaluators_format(tiny_assets, tmp_path, split):
    from datasets import load_from_disk

    script = load_module("scripts/make_tiny_model.py", "make_tiny_model")
    path = script.write_jsonl(tiny_assets["tiny-math"], split, tmp_path)
    assert path == tmp_path / f"tiny-math-{split}.jsonl"
    rows = load_from_disk(str(tiny_assets["tiny-math"]))[split]
    problems = load_problems(path)
    assert [(p.problem, p.answer) for p in problems] == list(zip(rows["prompt"], rows["answer"]))
    assert len({p.id for p in problems}) == len(problems) > 0


def test_the_training_file_shares_no_problem_with_the_held_out_one(tiny_assets, tmp_path):
    script = load_module("scripts/make_tiny_model.py", "make_tiny_model")
    train, test = (
        load_problems(script.write_jsonl(tiny_assets["tiny-math"], split, tmp_path)) for split in ("train", "test")
    )
    assert not {p.problem for p in train} & {p.problem for p in test}


def test_each_spec_field_is_read_in_its_own_type_and_a_size_below_1_is_refused(tmp_path):
    script = load_module("scripts/make_tiny_model.py", "make_tiny_model")
    args = script.parse_args(["--initializer_range", "0.01", "--tool_calling", "true", "--seed", "0"])
    assert (args.initializer_range, args.tool_calling, args.seed) == (0.01, True, 0)
    (tmp_path / "file").write_text("")
    for argv, message in (
        (["--hidden_size", "-8"], "--hidden_size must be at least 1, got -8"),
        (["--tool_calling", "ture"], "expected true or false, got 'ture'"),
        (["--output_dir", str(tmp_path / "file")], "is a file; name a folder"),
        # A newcomer audit's: each built a model whose first forward pass failed, or a bigger vocabulary than asked.
        (["--num_key_value_heads", "3"], "--num_key_value_heads must divide num_attention_heads: 3 does not divide 4"),
        (
            ["--num_attention_heads", "3", "--num_key_value_heads", "3"],
            "must divide hidden_size: 3 does not divide 64",
        ),
        (
            ["--vocab_size", "10"],
            "--vocab_size must be at least 259 (256 byte symbols and the special tokens), got 10",
        ),
    ):
        with pytest.raises(UsageError, match=re.escape(message)):
            script.parse_args(argv)
    # The command itself: one line and exit status 2, no usage block.
    result = subprocess.run(
        [sys.executable, "scripts/make_tiny_model.py", "--hidden_size", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "usage:" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == "make_tiny_model.py: error: --hidden_size must be at least 1, got 0"


def test_the_readmes_first_command_prints_its_five_lines_and_no_progress_bar(tmp_path):
    """A warnings audit's: five progress bars (the model's shards, each dataset split) surrounded the five lines."""
    result = subprocess.run(
        [sys.executable, "scripts/make_tiny_model.py", "--output_dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5 and result.stdout.startswith("tiny-model: ")
    assert "Saving the dataset" not in result.stderr and "Writing" not in result.stderr, result.stderr
    # Bars the user turned on stay on, without huggingface_hub's warning that they could not be turned off (a review's).
    shown = subprocess.run(
        [sys.executable, "scripts/make_tiny_model.py", "--output_dir", str(tmp_path / "again")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_DISABLE_PROGRESS_BARS": "0"},
    )
    assert shown.returncode == 0 and "Cannot disable progress bars" not in shown.stderr, shown.stderr
