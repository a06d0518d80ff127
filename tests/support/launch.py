"""End-to-end tests launch the entry scripts as users do, through `open_r1.utils.launch` (as `make demo` does).

`accelerate_launch` for runs that must succeed, `failed_launch` for ones that must fail, and `assert_quiet` for the
warnings the project's own recipes must not cause.
"""

import json
import pathlib
import re
import subprocess
import warnings

from open_r1.utils import launch

# What a launch of several processes prints once training has ended on every one (rank 0's summary; no collective
# runs after it), and what torchrun says of a rank a fatal signal killed.
TRAINING_ENDED = "***** train metrics *****"
KILLED_BY_SIGNAL = ("Signal 6 (SIGABRT)", "Signal 11 (SIGSEGV)")


def crashed_after_training(failure: launch.LaunchFailed) -> bool:
    """Whether a launch failed only because a process died of a fatal signal after training had ended on all: a
    gloo process group that DDP keeps alive past `destroy_process_group` can abort a process at interpreter exit
    (torch 2.13, pytorch/pytorch#190489; CI 2026-11-29). Not where a rank raised after it (its traceback, which
    torch prefixes with `[rankN]:`) or exited with an error status. Remove when torch tears it down cleanly."""
    output = failure.output
    if TRAINING_ENDED not in output or not any(signal in output for signal in KILLED_BY_SIGNAL):
        return False
    after = output[output.index(TRAINING_ENDED) :]
    statuses = [int(status) for status in re.findall(r"exitcode\s*:\s*(-?\d+)", output)]
    return not re.search(r"\[rank\d+\]: Traceback", after) and all(status < 0 for status in statuses)


def accelerate_launch(
    script: str, config: str, *args: str, accelerate_config: str = "ddp.yaml", num_processes: int = 1, env=None
) -> subprocess.CompletedProcess:
    """`accelerate launch ... src/open_r1/<script> --config <config> <args>`; the combined output is in `.stdout`.

    Fails the test with the output's tail when the launch fails or runs past 20 minutes. A launch of several
    processes one of which crashed after training had ended on all (`crashed_after_training`) warns instead, and the
    test goes on to check what the run left.
    """
    try:
        output = launch.accelerate_launch(
            script,
            config,
            *args,
            accelerate_config=accelerate_config,
            num_processes=num_processes,
            env=env,
            timeout=1200,
        )
    except launch.LaunchFailed as error:
        if not (num_processes > 1 and crashed_after_training(error)):
            raise AssertionError(str(error)) from None
        warnings.warn(f"a process crashed after training ended: {str(error)[-2000:]}", stacklevel=2)
        output = error.output
    except (RuntimeError, TimeoutError) as error:
        raise AssertionError(str(error)) from None
    command = launch.accelerate_command(
        script, config, *args, accelerate_config=accelerate_config, num_processes=num_processes
    )
    return subprocess.CompletedProcess(command, 0, stdout=output, stderr="")


def log_history(output_dir: pathlib.Path) -> list[dict]:
    return json.loads((output_dir / "trainer_state.json").read_text())["log_history"]


def failed_launch(
    script: str, config: str, *args: str, accelerate_config: str = "ddp.yaml", num_processes: int = 1, env=None
) -> subprocess.CompletedProcess:
    """`accelerate_launch` for a launch expected to fail: its exit status and combined output, within 10 minutes."""
    command = launch.accelerate_command(
        script, config, *args, accelerate_config=accelerate_config, num_processes=num_processes
    )
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=launch.launch_environment(accelerate_config, env=env),
        cwd=launch.REPO_ROOT,
        timeout=600,
    )
    assert result.returncode != 0, f"the launch was expected to fail:\n{result.stdout[-4000:]}"
    return result


# Warnings that runs of the project's own recipes used to print on every run (issue 28), each a sign of a setting
# that does not say what it means.
NOISE = (
    "`gradient_checkpointing` is deprecated",  # a recipe using transformers 4's name
    "find_unused_parameters=True was specified",  # DDP searching for unused parameters that do not exist
    "There were missing keys in the checkpoint",  # resuming a model with tied embeddings
    "`is_gradient_checkpointing` is deprecated",  # TRL reading transformers' old name at each generation
    "which is an experimental feature",  # TRL on environment_factory, which the python tool is built on
    "Setting accelerator to CPU",  # DeepSpeed, installed here, on a machine without a GPU (open_r1/__init__.py)
    "`torch.distributed.all_gather_into_tensor` is deprecated",  # DeepSpeed ZeRO and accelerate's gather, torch 2.13
    "OMP_NUM_THREADS/MKL_NUM_THREADS unset",  # accelerate choosing CPU threads under a DeepSpeed config
)


def assert_quiet(output: str) -> None:
    """Fails with the first line of each warning in `NOISE` that `output` holds."""
    found = [line for line in output.splitlines() if any(noise in line for noise in NOISE)]
    assert not found, "noise in the run's output:\n" + "\n".join(found[:10])
