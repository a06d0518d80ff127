"""README.md is the front door: short, a command early, its links alive, and every command in it run as written.

Every ```shell block of the README is read as a reader would type it (continuation lines joined). Each command is
one of:
- the set-up (`SETUP`): CI runs exactly these (.ci/run), checked below;
- not runnable on this machine (`NOT_RUNNABLE_HERE`, each with its reason): parsed as far as a CPU can (the
  accelerate launcher's arguments, the accelerate config, the script, the recipe with the command's overrides,
  the local paths it names) in `make test`;
- everything else: run exactly as written, block after block in the README's order, in one scratch workspace
  that looks like a checkout with an activated `.venv` (`make slow_test`), then checked for the files the README
  says it writes. Every `accelerate launch` among them is also parsed in `make test`, so a README that drifts from
  the scripts fails the fast suite too.
"""

import pathlib
import re
import shlex
import subprocess

import pytest
from trl import ModelConfig

from open_r1 import hub_access
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser, ScriptArguments, SFTConfig
from open_r1.usage import check_command_line
from tests.support import REPO_ROOT
from tests.support.script_module import load_module

README = REPO_ROOT / "README.md"
MAX_LINES = 150
FIRST_COMMAND_BY_LINE = 40

SETUP = ("make install", "source .venv/bin/activate", "make test")

NOT_RUNNABLE_HERE = {
    "accelerate launch --config_file recipes/accelerate_configs/zero3.yaml src/open_r1/sft.py "
    "--config recipes/OpenR1-Distill-7B/sft/config_distill.yaml": "8 × H100 and the Hub (a 7B model, "
    "Mixture-of-Thoughts)",
    "accelerate launch --config_file recipes/accelerate_configs/zero2.yaml --num_processes 1 src/open_r1/grpo.py "
    "--config recipes/Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml --gradient_accumulation_steps 32": "a GPU with "
    "vLLM, and the Hub (Qwen2.5-1.5B-Instruct, OpenR1-Math-220k)",
    "python -m open_r1.check_recipe sft --config recipes/OpenR1-Distill-7B/sft/config_distill.yaml": "the Hub (it "
    "checks that the recipe's model and dataset can be had); run below with the Hub's answer faked",
}

# What the README says a block writes, beyond the table that may follow it (checked after the block ran).
WRITES = {
    "make demo": ["data/demo/results.json", "data/demo/report.md", "data/demo/curves.png"],
    "WANDB_MODE=offline accelerate launch": ["wandb/offline-run-*", "data/my-grpo/checkpoint-2"],
}

# The README's parsing and scratch checkout are the first-hour benchmark's, which times the same commands.
FIRST_HOUR = load_module("scripts/benchmarks/first_hour.py", "first_hour")
shell_blocks = FIRST_HOUR.shell_blocks

PARSERS = {
    "sft.py": (ScriptArguments, SFTConfig, ModelConfig),
    "grpo.py": (GRPOScriptArguments, GRPOConfig, ModelConfig),
}


def readme_blocks() -> list[tuple[int, list[str]]]:
    return shell_blocks(README.read_text(encoding="utf-8"))


def readme_commands() -> list[str]:
    return [command for _, commands in readme_blocks() for command in commands]


def runnable_blocks() -> list[tuple[int, list[str]]]:
    """The blocks this machine runs, in README order."""
    skipped = set(SETUP) | set(NOT_RUNNABLE_HERE)
    return [(line, commands) for line, commands in readme_blocks() if not set(commands) <= skipped]


def accelerate_commands() -> list[str]:
    return [command for command in readme_commands() if "accelerate launch" in command]


def test_the_readme_is_short_and_its_first_command_comes_early():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES
    first_block_line = readme_blocks()[0][0]
    assert first_block_line + 1 <= FIRST_COMMAND_BY_LINE, f"first command on line {first_block_line + 1}"


def test_every_command_is_set_up_run_here_or_listed_with_a_reason():
    commands = readme_commands()
    for command in list(SETUP) + list(NOT_RUNNABLE_HERE):
        assert command in commands, f"listed here but no longer in the README: {command}"
    mixed = [
        (line, c)
        for line, c in readme_blocks()
        if set(c) & set(NOT_RUNNABLE_HERE) and not set(c) <= set(NOT_RUNNABLE_HERE)
    ]
    assert not mixed, f"a block mixes commands run here with ones that are not: {mixed}"
    ran = [command for _, block in runnable_blocks() for command in block]
    assert set(ran) | set(SETUP) | set(NOT_RUNNABLE_HERE) == set(commands)
    assert {"python scripts/make_tiny_model.py", "make demo"} <= set(ran)


def test_the_set_up_commands_are_what_ci_runs():
    ci = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    make_lines = [line for line in ci if line.startswith("make ")]
    assert make_lines == [command for command in SETUP if command.startswith("make ")]
    assert readme_blocks()[0][1] == list(SETUP), "the set-up is the README's first block"
    # `source .venv/bin/activate` activates what `make install` created.
    assert re.search(r"^VENV \?= \.venv$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert "VENV=${VENV:-.venv}" in (REPO_ROOT / "scripts" / "install.sh").read_text()


def parse_accelerate_command(command: str):
    """The launcher's arguments and the script's parsed dataclasses, without running anything."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    words = shlex.split(command)
    while "=" in words[0]:  # leading VAR=value assignments
        words.pop(0)
    assert words[:2] == ["accelerate", "launch"], command
    launcher = launch_command_parser().parse_args(words[2:])
    assert (REPO_ROOT / launcher.config_file).is_file(), launcher.config_file
    cluster = load_config_from_file(str(REPO_ROOT / launcher.config_file))
    script = pathlib.Path(launcher.training_script)
    assert (REPO_ROOT / script).is_file() and script.name in PARSERS, script
    parser = RecipeParser(PARSERS[script.name])
    # `use_cpu` lets TrainingArguments accept bf16 on a GPU-less machine (as tests/test_recipes.py does).
    parsed = parser.parse_args_and_config([*launcher.training_script_args, "--use_cpu", "true"])
    return launcher, cluster, parsed


@pytest.mark.parametrize("command", accelerate_commands())
def test_every_accelerate_command_of_the_readme_parses(command, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the README's paths are relative to the checkout
    launcher, cluster, (_, training_args, model_args) = parse_accelerate_command(command)
    assert model_args.model_name_or_path and training_args.output_dir


@pytest.mark.parametrize("command", [command for command in NOT_RUNNABLE_HERE if "python -m" in command])
def test_the_readmes_recipe_check_passes_where_the_hub_answers(command, monkeypatch):
    from open_r1.check_recipe import check_recipe

    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(hub_access, "check_hub_access", lambda references, push, instead: None)
    trainer, *args = shlex.split(command)[3:]
    assert check_recipe(trainer, args).endswith(f"checked for src/open_r1/{trainer}.py")


@pytest.mark.parametrize("command", [command for command in NOT_RUNNABLE_HERE if "accelerate launch" in command])
def test_commands_not_runnable_here_name_what_exists_and_keep_the_recipes_batch(command, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    launcher, cluster, (_, training_args, _) = parse_accelerate_command(command)
    hub = []
    monkeypatch.setattr(hub_access, "check_hub_access", lambda references, push, instead: hub.extend(references))
    # The recipe's YAML, and no local path that is missing; not whether this machine has the GPUs it is written for.
    check_command_line(launcher.training_script_args, on_this_machine=False)
    assert {reference.kind for reference in hub} == {"model", "dataset"}  # what the Hub gives these commands
    processes = launcher.num_processes or cluster.num_processes
    if isinstance(training_args, GRPOConfig):
        generation_batch = training_args.per_device_train_batch_size * processes * training_args.steps_per_generation
        assert generation_batch % training_args.num_generations == 0
    if processes != cluster.num_processes:
        # A variant on fewer GPUs than the accelerate config's keeps the recipe's global batch.
        recipe = launcher.training_script_args[launcher.training_script_args.index("--config") + 1]
        parser = RecipeParser(PARSERS[pathlib.Path(launcher.training_script).name])
        _, as_written, _ = parser.parse_args_and_config(["--config", recipe, "--use_cpu", "true"])
        variant = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * processes
        recipe_batch = as_written.per_device_train_batch_size * as_written.gradient_accumulation_steps
        assert variant == recipe_batch * cluster.num_processes


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_of_the_readme_leads_somewhere():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [target for target in targets if not target.startswith("https://")]
    assert local and all(target.startswith("https://") for target in set(targets) - set(local))
    for target in local:
        path, _, anchor = target.partition("#")
        assert (REPO_ROOT / path).exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.*)$", (REPO_ROOT / path).read_text(encoding="utf-8"), re.MULTILINE)
            assert anchor in {github_anchor(heading) for heading in headings}, target


def test_the_reward_list_is_written_from_the_registry():
    writer = load_module("scripts/write_reward_list.py", "write_reward_list")
    text = README.read_text(encoding="utf-8")
    assert writer.reward_list() in text, "README.md's reward list is stale: run python scripts/write_reward_list.py"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> pathlib.Path:
    """A folder that looks like the checkout (its src, recipes, scripts, Makefile) with `.venv` this interpreter's."""
    return FIRST_HOUR.scratch_checkout(tmp_path_factory.mktemp("readme"))


def written_paths(block_line: int) -> list[str]:
    """The paths of the `writes` column of the table right after the block opened on `block_line`, if any."""
    lines = README.read_text(encoding="utf-8").split("\n")[block_line:]
    end = lines.index("```")
    table = []
    for line in lines[end + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table or line.strip():
            break
    if not table or "writes" not in table[0]:
        return []
    column = [cell.strip() for cell in table[0].strip("|").split("|")].index("writes")
    paths = []
    for row in table[2:]:
        folder = None
        for name in re.findall(r"`([^`]+)`", row.strip("|").split("|")[column]):
            if name.startswith("data/"):
                paths.append(name)
                folder = pathlib.PurePath(name) if not pathlib.PurePath(name).suffix else pathlib.PurePath(name).parent
            elif folder is not None:
                paths.append(str(folder / name))
    return paths


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda block: f"line{block[0]}")
def test_readme_block_runs_as_written(block, workspace):
    """Each runnable block, in README order, in one workspace (later blocks use what earlier ones wrote)."""
    line, commands = block
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=workspace,
            env=FIRST_HOUR.activated_environment(),
            capture_output=True,
            text=True,
            timeout=3000,
        )
        output = (result.stdout + result.stderr)[-4000:]
        assert result.returncode == 0, f"README line {line}: {command}\n{output}"
    expected = written_paths(line) + [
        path for prefix, paths in WRITES.items() if commands[0].startswith(prefix) for path in paths
    ]
    for path in expected:
        assert list(workspace.glob(path)), f"README line {line} says it writes {path}"
