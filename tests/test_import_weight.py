"""The rewards, the grading workers, the sandbox, the offline evaluator and the demos' command lines start without
torch, transformers or TRL.

Grading workers are started per training process and the evaluator and data scripts are run by hand: loading
torch, transformers and TRL (~3,500 modules) would cost each of them seconds and hundreds of MB. Each entry
point runs in a fresh interpreter under `-X importtime`, which lists every module it imports.
"""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "trl", "accelerate", "deepspeed")

ENTRY_POINTS = {
    "rewards package, used": [
        "-c",
        "from open_r1.rewards import accuracy_reward, format_reward, tag_count_reward;"
        "assert accuracy_reward(['\\\\boxed{2}'], solution=['2']) == [1.0];"
        "assert format_reward(['x']) == [0.0]",
    ],
    "grading worker": ["-c", "import open_r1.rewards.grading_worker"],
    "sandbox and code rewards": ["-c", "import open_r1.sandbox, open_r1.rewards.code"],
    "offline evaluator --help": ["-m", "open_r1.evaluate", "--help"],
    # A typo in `make demo` / `make gsm8k` arguments is answered at once, not after 10 s of imports.
    "demo and gsm8k command lines": ["-c", "import open_r1.demo.cli, open_r1.demo.gsm8k_cli"],
    "evaluation and data packages": [
        "-c",
        "import open_r1.eval.offline, open_r1.eval.decoding, open_r1.eval.lighteval_jobs, open_r1.eval.slurm_jobs, "
        "open_r1.data",
    ],
}


def imported_modules(argv: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # Lines look like "import time:   self [us] | cumulative | imported package"; the name is the last column.
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


# The evaluator's command line is transformers' HfArgumentParser (as in every entry script), which imports
# transformers' top level but not torch; the rest must not import transformers at all.
ALLOWED = {"offline evaluator --help": {"transformers"}}


@pytest.mark.parametrize("name, argv", ENTRY_POINTS.items(), ids=ENTRY_POINTS.keys())
def test_entry_point_imports_no_training_stack(name, argv):
    modules = imported_modules(argv)
    assert modules, "-X importtime listed nothing: the probe itself is broken"
    loaded = sorted(heavy for heavy in HEAVY if heavy in modules and heavy not in ALLOWED.get(name, set()))
    assert not loaded, f"{argv} imported {loaded}"


def test_the_probe_sees_a_heavy_import():
    # The check above cannot pass by accident: the same probe sees trl when it is imported.
    assert "trl" in imported_modules(["-c", "import open_r1.configs"])


def test_the_trainer_side_of_the_rewards_leaves_sympy_to_the_grading_workers():
    modules = imported_modules(["-c", "import open_r1.rewards"])
    assert not {"sympy", "math_verify"} & modules
