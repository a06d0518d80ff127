"""scripts/benchmarks/example_replay.py: what a program that prints a statement's examples from a table earns from the
code rewards, without the prompt and with it."""

import json

import pytest

from tests.support.files import write_jsonl
from tests.support.script_module import load_module

# Two problems as CodeContests writes them: the statement's example is the first test; the others it does not show.
PROBLEMS = [
    {
        "id": "local/double",
        "problem": "Print twice n.\n\nExamples\n\nInput\n\n21\n\n\nOutput\n\n42\n\nNote\n\nEasy.",
        "tests": [{"input": "21", "output": "42"}, {"input": "5", "output": "10"}, {"input": "7", "output": "14"}],
    },
    {
        "id": "local/negate",
        "problem": "Print minus n.\n\nExamples\n\nInput\n\n3\n\n\nOutput\n\n-3\n",
        "tests": [{"input": "3", "output": "-3"}, {"input": "8", "output": "-8"}],
    },
]


@pytest.fixture(scope="module")
def replay():
    return load_module("scripts/benchmarks/example_replay.py", "example_replay")


def test_the_replay_program_holds_the_statements_examples_and_solves_nothing(replay):
    program = replay.replay_program(PROBLEMS[0]["problem"])
    assert "'21': '42'" in program and "'5'" not in program


@pytest.mark.timeout(120)
def test_the_replay_earns_its_examples_without_the_prompt_and_nothing_with_it(replay, tmp_path, capsys):
    data = tmp_path / "problems.jsonl"
    write_jsonl(data, PROBLEMS)
    output = tmp_path / "replay.json"
    results = replay.main(["--data", str(data), "--workers", "1", "--output", str(output)])
    assert json.loads(output.read_text()) == results
    figures = results["figures"]
    assert (figures["problems"], figures["tests"], figures["tests_dropped_with_prompt"]) == (2, 5, 2)
    without, with_prompt = figures["arms"]["without_prompt"], figures["arms"]["with_prompt"]
    assert without["mean_code_reward"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert with_prompt["mean_code_reward"] == 0.0 and with_prompt["rows_judged"] == 2
    assert "| with the prompt | 0.000 | 0 |" in capsys.readouterr().out


def test_without_its_data_file_the_script_says_which(replay, tmp_path):
    from open_r1.usage import UsageError

    with pytest.raises(UsageError, match="--data .*missing.jsonl: no such file"):
        replay.main(["--data", str(tmp_path / "missing.jsonl")])
