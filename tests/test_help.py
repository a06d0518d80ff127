"""Every option a user can set says what it does: each command-line flag of scripts/ and src/open_r1, and each field
of the argument dataclasses that recipes and command lines fill."""

import ast
import inspect
from dataclasses import fields

import pytest

from open_r1.configs import GRPOConfig, GRPOScriptArguments, ScriptArguments, SFTConfig
from open_r1.eval.arguments import EvaluateArguments
from open_r1.sandbox import Limits, SandboxConfig
from open_r1.tools.python_tool import PythonToolSettings
from tests.support import REPO_ROOT
from tests.support.script_module import load_module


def options_without_help() -> list[str]:
    """`file:line: call` for each `add_argument(...)` call of the project's code that has no `help=`."""
    missing = []
    for path in sorted([*(REPO_ROOT / "scripts").rglob("*.py"), *(REPO_ROOT / "src" / "open_r1").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            called = getattr(node, "func", None)
            if isinstance(node, ast.Call) and isinstance(called, ast.Attribute) and called.attr == "add_argument":
                if not any(keyword.arg == "help" for keyword in node.keywords):
                    missing.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return missing


def test_every_command_line_option_has_help():
    assert options_without_help() == []


def test_the_scan_sees_an_option_without_help(tmp_path, monkeypatch):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tool.py").write_text(
        'parser.add_argument("--rows", type=int)\nparser.add_argument("--x", help="X.")\n'
    )
    monkeypatch.setattr(f"{__name__}.REPO_ROOT", tmp_path)
    assert options_without_help() == ["scripts/tool.py:1: parser.add_argument('--rows', type=int)"]


def argument_dataclasses() -> list[type]:
    pass_rate = load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")
    run_benchmarks = load_module("scripts/run_benchmarks.py", "run_benchmarks")
    return [
        ScriptArguments,
        GRPOScriptArguments,
        SFTConfig,
        GRPOConfig,
        EvaluateArguments,
        pass_rate.PassRateScriptArguments,
        pass_rate.PassRateGenerationArguments,
        run_benchmarks.RunBenchmarksArguments,
        Limits,  # the configs the argument dataclasses build
        SandboxConfig,
        PythonToolSettings,
    ]


@pytest.mark.parametrize("arguments", argument_dataclasses(), ids=lambda cls: cls.__name__)
def test_every_field_of_the_argument_dataclasses_has_help(arguments):
    assert [item.name for item in fields(arguments) if not item.metadata.get("help")] == []


def test_generate_takes_its_defaults_from_the_pipeline_it_builds():
    from open_r1.generate import build_distilabel_pipeline, parse_args

    args = parse_args(["--hf-dataset", "data/problems.jsonl", "--model", "m", "--output-file", "out.jsonl"])
    parameters = inspect.signature(build_distilabel_pipeline).parameters
    shared = {"base_url": "vllm_server_url"}
    own = {"prompt_column", "use_ray"}  # the command line names a column always; --ray is a switch
    for name, parameter in parameters.items():
        if parameter.default is not inspect.Parameter.empty and name not in own:
            assert getattr(args, shared.get(name, name)) == parameter.default, name


def test_a_trainers_help_lists_its_fields_by_dataclass_with_the_tool_fields_last():
    """A newcomer audit's: grpo.py --help was one "options" list of 1,431 lines that started with the python tool."""
    from trl import ModelConfig

    from open_r1.configs import RecipeParser

    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), description="GRPO.")
    printed = parser.format_help()
    headings = [line for line in printed.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert [heading.split(":")[0] for heading in headings] == [
        "recipe", "options", "GRPOScriptArguments", "GRPOConfig", "ModelConfig", "tool use"
    ]  # fmt: skip
    starts = [printed.index(f"\n{heading}\n") for heading in headings] + [len(printed)]
    sections = {heading: printed[start:end] for heading, start, end in zip(headings, starts, starts[1:])}
    assert "--dataset_name" in sections[headings[2]] and "--learning_rate" in sections[headings[3]]
    assert "--model_name_or_path" in sections[headings[4]]
    tool_use = sections[headings[5]]
    assert tool_use.splitlines()[2].startswith("  --tools ") and "--python_tool_provider" in tool_use
    assert "--python_tool" not in printed.split(headings[5])[0] and "--tools " not in printed.split(headings[5])[0]
