"""The Makefile's targets that take variables refuse one they do not read, naming the ones they do."""

import os
import subprocess

import pytest

from tests.support import REPO_ROOT


def make_dry_run(*arguments: str) -> subprocess.CompletedProcess:
    """`make -n ...` as a user types it: not under another make (as `make test` runs this), whose level and
    variables would come along."""
    environment = {
        name: value for name, value in os.environ.items() if name not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    }
    return subprocess.run(
        ["make", "-n", *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "command, unknown",
    [
        (["demo", "TOOL=1", "FAST=1"], "TOOL"),  # found by an audit: it ran the plain demo for 90 s
        (["evaluate", "BACKEND=cpu", "MODEL=m", "TASK=t", "DATA=d", "LIMT=5"], "LIMT"),
        (["gsm8k", "ARMS=cot"], "ARMS"),
    ],
)
def test_a_variable_the_target_does_not_read_stops_make_before_anything_runs(command, unknown):
    result = make_dry_run(*command)
    assert result.returncode == 2 and result.stdout == ""
    assert f"*** {unknown}: not a variable make {command[0]} reads; it reads " in result.stderr


def test_the_variables_a_target_reads_and_the_global_ones_pass():
    for command in (["demo", "TOOLS=1", "FAST=1", "VENV=.venv"], ["gsm8k", "ARM=cot", "FAST=1", "TEST_WORKERS=0"]):
        result = make_dry_run(*command)
        assert result.returncode == 0, result.stderr


def test_the_environments_variables_of_the_same_names_change_no_run():
    """A newcomer audit's: FAST=1 or OUTPUT_DIR exported for something else changed `make demo` without a word."""
    environment = {
        **{name: value for name, value in os.environ.items() if name not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")},
        "FAST": "1", "OUTPUT_DIR": "/tmp/elsewhere", "LIMIT": "3", "MODEL": "exported/model",
    }  # fmt: skip
    noted = {
        "demo": ["MODEL=exported/model", "FAST=1", "OUTPUT_DIR=/tmp/elsewhere"],
        "evaluate": ["OUTPUT_DIR=/tmp/elsewhere", "LIMIT=3"],
    }
    for command in (["demo"], ["evaluate", "BACKEND=cpu", "MODEL=m", "TASK=t", "DATA=d"]):
        result = subprocess.run(
            ["make", "-n", *command], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        notes, run = _notes_and_commands(result.stdout)
        assert not {"--fast", "/tmp/elsewhere", "--limit", "exported/model"} & set(run.split()), run
        # ... and each one the target would have read is named, not dropped silently (a newcomer's `FAST=1 make demo`).
        target = command[0]
        assert notes == [
            f"make {target}: {setting} from the environment is not read; give it on make's command line: make {target} "
            f"{setting}"
            for setting in noted[target]
        ]
    result = subprocess.run(
        ["make", "-n", "demo", "FAST=1"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    notes, run = _notes_and_commands(result.stdout)
    assert "--fast" in run.split() and "/tmp/elsewhere" not in run
    assert not [note for note in notes if "FAST" in note]  # given on the command line, it is read


def _notes_and_commands(output: str) -> tuple[list[str], str]:
    """make's own lines (`make TARGET: ...`) apart from the commands it prints."""
    lines = output.splitlines()
    return [line for line in lines if line.startswith("make ")], "\n".join(
        line for line in lines if not line.startswith("make ")
    )


def test_under_another_make_its_variables_are_not_this_makes_mistakes():
    """Found by a review: `make outer CUDA=1` running `$(MAKE) -C open-r1 demo` would have refused CUDA."""
    environment = {**os.environ, "MAKELEVEL": "1"}
    result = subprocess.run(
        ["make", "-n", "demo", "CUDA=1", "FAST=1"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "command, switch",
    [
        (["demo", "FAST=0"], "FAST=0"),
        (["demo", "TOOLS=yes"], "TOOLS=yes"),
        (["gsm8k", "VLLM=false"], "VLLM=false"),
        (["evaluate", "MODEL=m", "TASK=aime24", "DRY_RUN=0"], "DRY_RUN=0"),
    ],
)
def test_a_switch_set_to_anything_but_1_is_refused_rather_than_read_as_on(command, switch):
    """Found by a newcomer audit: make reads any value as on, so `make demo FAST=0` ran the FAST demo."""
    result = make_dry_run(*command)
    assert result.returncode == 2 and result.stdout == ""
    assert f"*** {switch}: a switch is {switch.split('=')[0]}=1, or not given" in result.stderr


@pytest.mark.parametrize(
    "command, setting",
    [
        (["demo", "SEED=abc"], "SEED=abc"),
        (["gsm8k", "GRPO_STEPS=4.5"], "GRPO_STEPS=4.5"),
        (["gsm8k", "SEED=-1"], "SEED=-1"),
    ],
)
def test_a_number_that_is_no_whole_number_is_refused_by_its_make_name(command, setting):
    """Found by a newcomer: `make demo SEED=abc` said "argument --seed: invalid int value", a name never typed."""
    result = make_dry_run(*command)
    assert result.returncode == 2 and result.stdout == ""
    assert f"*** {setting}: a whole number, e.g. {setting.split('=')[0]}=1." in result.stderr
    assert "--seed 12" in make_dry_run("demo", "SEED=12").stdout


def test_make_evaluate_on_cpu_checks_and_prints_its_command_on_a_dry_run_and_refuses_the_gpu_variables():
    """Found by newcomer audits: DRY_RUN=1 ran the CPU evaluation, then checked nothing (a missing DATA file passed),
    and PARALLEL/NUM_GPUS were dropped there."""
    cpu = ["evaluate", "MODEL=m", "TASK=t", "BACKEND=cpu", "DATA=d.jsonl"]
    assert (
        "-m open_r1.evaluate --task t --data_files d.jsonl --model m --device cpu --dry_run"
        in make_dry_run(*cpu, "DRY_RUN=1").stdout
    )
    refused = make_dry_run(*cpu, "PARALLEL=data", "NUM_GPUS=4")
    assert "*** PARALLEL NUM_GPUS: no effect with BACKEND=cpu" in refused.stderr
    assert "NUM_GPUS needs PARALLEL=" in make_dry_run("evaluate", "MODEL=m", "TASK=aime24", "NUM_GPUS=4").stderr
    # Exported on a cluster, NUM_GPUS is no mistake of this command (a review's).
    exported = subprocess.run(
        ["make", "--no-print-directory", "-n", "evaluate", "MODEL=m", "TASK=aime24"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")},
            "NUM_GPUS": "8",
        },
    )
    assert exported.returncode == 0, exported.stderr


def test_plain_make_lists_every_target_with_what_it_does_and_runs_nothing():
    """Found by a newcomer: plain `make`, typed to see the targets, ran the first one, the 4-minute install."""
    import re

    environment = {
        name: value for name, value in os.environ.items() if name not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    }
    assert "scripts/install.sh" not in make_dry_run().stdout  # a dry run: were install the default, it would not run
    result = subprocess.run(["make"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    phony = re.search(r"^\.PHONY: (.*)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE).group(1).split()
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert listed == set(phony) - {"help"}
