"""`make demo TOOLS=1`: the tool task, its traces, and the miniature end to end at tiny step counts (slow).

The learning target (tool arm >= no-tool arm + 20 points) is measured by running `make demo TOOLS=1`; at FAST
step counts the models barely train, so this checks that every stage runs and what it writes.
"""

import json
import random
import subprocess

import pytest

from open_r1.demo import cli, tools
from open_r1.demo.pipeline import STAGES, build_tiny_model
from open_r1.demo.settings import TOOLS_FAST
from open_r1.tasks.tool_arithmetic import direct_trace, make_problem, make_splits, tool_trace
from open_r1.tools.chat import TOOL_CALL_TOKENS
from open_r1.usage import UsageError
from tests.support import REPO_ROOT
from tests.support.launch import assert_quiet


def test_problems_have_fixed_length_answers_and_disjoint_splits():
    rng = random.Random(0)
    for _ in range(500):
        row = make_problem(rng)
        left, right = map(int, row["expression"].split(" * "))
        assert len(row["answer"]) == 6 and int(row["answer"]) == left * right and 100 <= left <= 999
    train, test = make_splits(300, 50, seed=1)
    assert not {r["expression"] for r in train} & {r["expression"] for r in test}


def test_the_tool_trace_calls_python_and_boxes_what_it_printed():
    [row], _ = make_splits(1, 0, seed=3)
    trace = tool_trace(row)
    call = trace[2]["tool_calls"][0]["function"]
    assert call == {"name": "python", "arguments": {"code": f"print({row['expression']})"}}
    assert trace[3] == {"role": "tool", "name": "python", "content": row["answer"] + "\n"}
    assert trace[4]["content"] == f"\\boxed{{{row['answer']}}}"
    assert direct_trace(row)[-1]["content"] == trace[4]["content"]


def test_the_demo_model_has_the_settings_head_counts(tmp_path):
    """The copying the tool arm must learn depends on the attention heads and the initial std (see
    open_r1.demo.settings): the model the demo builds has the settings' values, not the tiny model's defaults, and
    calls tools."""
    build_tiny_model(tmp_path / "model", TOOLS_FAST.tiny_model, seed=0)
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["num_attention_heads"] == TOOLS_FAST.tiny_model.num_attention_heads == 8
    assert config["num_key_value_heads"] == TOOLS_FAST.tiny_model.num_key_value_heads == 8
    assert config["hidden_size"] == TOOLS_FAST.tiny_model.hidden_size
    assert config["initializer_range"] == TOOLS_FAST.tiny_model.initializer_range == 0.1
    added_tokens = json.loads((tmp_path / "model" / "tokenizer.json").read_text())["added_tokens"]
    assert set(TOOL_CALL_TOKENS) <= {token["content"] for token in added_tokens}


@pytest.mark.parametrize("arm", tools.ARMS)
def test_each_arm_is_evaluated_within_the_grpo_recipes_budget_and_rounds_as_it_trains(monkeypatch, tmp_path, arm):
    from open_r1.usage import read_recipe

    asked = {}

    def evaluator(model, task, test_file, output_dir, **options):
        asked.update(options)
        return {"pass@1": 1.0, "pass@1_stderr": 0.0}, [{"completion": "\\boxed{1}"}]

    monkeypatch.setattr(tools.pipeline, "run_evaluator", evaluator)
    tools.evaluate_stage(tmp_path / "model", arm, "sft", tmp_path / "test.jsonl", tmp_path, 0, TOOLS_FAST)
    recipe = read_recipe(str(REPO_ROOT / TOOLS_FAST.grpo_recipe))
    assert asked["max_new_tokens"] == recipe["max_completion_length"]
    if arm == "tool":
        assert (asked["tools"], asked["max_tool_calling_iterations"]) == (
            ["python"],
            recipe["max_tool_calling_iterations"],
        )
        # Every tool setting the recipe trains with: its tool's output cut as in training, not at the default.
        tool_settings = {name: value for name, value in recipe.items() if name.startswith("python_tool_")}
        assert tool_settings["python_tool_max_output_chars"] == 200
        assert {name: asked[name] for name in tool_settings} == tool_settings
    else:
        assert "tools" not in asked


def test_make_demo_tools_is_the_demo_in_its_tools_mode_writing_to_data_demo_tools():
    dry_run = subprocess.run(
        ["make", "-n", "demo", "TOOLS=1", "FAST=1"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert "scripts/demo.py --tools" in dry_run.stdout and "--fast" in dry_run.stdout, dry_run.stdout
    assert cli.default_output_dir("tiny", with_tools=True) == "data/demo_tools"
    assert cli.default_output_dir("tiny", with_tools=False) == "data/demo"
    assert cli.default_output_dir("smollm2", with_tools=False) == "data/demo-smollm2"
    with pytest.raises(UsageError, match="--tools runs on the tiny model only"):
        cli.main(["--tools", "--model", "smollm2"])


def test_the_reports_make_command_names_the_output_folder_where_it_is_not_the_default(tmp_path, monkeypatch):
    """A newcomer's: a run with OUTPUT_DIR=data/demo_tools_full was reported as a command that wrote elsewhere."""
    from open_r1.demo.pipeline import make_command

    monkeypatch.chdir(tmp_path)
    default = tmp_path / "data" / "demo_tools"
    assert make_command(0, True, "TOOLS=1", output_dir=default, default="data/demo_tools") == (
        "make demo TOOLS=1 SEED=0 FAST=1"
    )
    other = tmp_path / "data" / "demo tools full"
    assert make_command(1, False, "TOOLS=1", output_dir=other, default="data/demo_tools") == (
        f"make demo TOOLS=1 SEED=1 OUTPUT_DIR='{other}'"
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_demo_tools_fast_runs_every_stage_and_writes_its_report(tmp_path):
    results = cli.main(["--tools", "--fast", "--output_dir", str(tmp_path / "demo")])
    for arm in tools.ARMS:
        assert set(results[arm]) == set(STAGES)
        for stage in STAGES:
            assert 0.0 <= results[arm][stage]["pass@1"] <= 1.0
    assert results["no_tool"]["sft"]["tool_call_rate"] is None
    assert results["grpo_tool_log"], "the tool arm's GRPO logged no step"
    assert "tools/python_calls_per_completion" in results["grpo_tool_log"][0]
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert saved["fast"] is True and "| grpo |" in (tmp_path / "demo" / "report.md").read_text()
    assert saved["date"] and saved["machine"]["load_average_at_end"], "docs/demo.md's provenance cells"
    for log in sorted((tmp_path / "demo" / "logs").glob("*.log")):
        assert_quiet(log.read_text())


def test_each_stage_is_printed_as_the_plain_demo_prints_its_own():
    """A warnings audit's: `no_tool sft: {'pass@1': 0.0, 'pass@1_stderr': 0.0, 'tool_call_rate': None}`."""
    from open_r1.demo.tools import stage_line

    assert stage_line({"pass@1": 0.125, "pass@1_stderr": 0.038, "tool_call_rate": None}) == "pass@1 12.5% ± 3.8"
    assert stage_line({"pass@1": 0.5, "pass@1_stderr": 0.05, "tool_call_rate": 0.75}).endswith(", tool calls 75.0%")
