"""Runs the project's entry scripts the way users do: `accelerate launch --config_file ... src/open_r1/<script>`.

    from open_r1.utils.launch import accelerate_launch
    accelerate_launch("sft.py", "recipes/tiny/sft/config_cpu.yaml", "--max_steps", "2")            # captured
    accelerate_launch("grpo.py", recipe, *overrides, log_file=path, stream=True)                  # printed live

`make demo` (scripts/demo.py) and the end-to-end tests both launch training through this module, so the
command line and environment they use are the ones the README gives users:
- `--num_cpu_threads_per_process` is set to the cores per process: accelerate otherwise gives each
  process a single thread (it sets OMP_NUM_THREADS=1), leaving the other cores idle on a CPU machine.
- Plain data-parallel configs get `ACCELERATE_USE_CPU=true` (gloo) when `cpu` is set. DeepSpeed
  configs never do: accelerate would then wrap a ZeRO-3-partitioned model in DDP and crash; they run on a
  CPU through the training config's `use_cpu: true`.
- The Hub is switched off (`HF_HUB_OFFLINE=1`) and wandb disabled unless the caller's environment says
  otherwise.

Not covered: Slurm (see slurm/train.slurm) and multi-node launches.
"""

import os
import pathlib
import subprocess
import sys
import threading
from collections.abc import Mapping

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
ACCELERATE_CONFIGS = REPO_ROOT / "recipes" / "accelerate_configs"


def accelerate_command(
    script: str, config: str, *args: str, accelerate_config: str = "ddp.yaml", num_processes: int = 1
) -> list[str]:
    """The `accelerate launch` command line for `src/open_r1/<script> --config <config> <args>`."""
    return [
        str(pathlib.Path(sys.executable).with_name("accelerate")),
        "launch",
        "--config_file",
        str(ACCELERATE_CONFIGS / accelerate_config),
        "--num_processes",
        str(num_processes),
        "--num_cpu_threads_per_process",
        str(max(1, (os.cpu_count() or 1) // num_processes)),
        str(REPO_ROOT / "src" / "open_r1" / script),
        "--config",
        str(REPO_ROOT / config),
        *args,
    ]


def launch_environment(accelerate_config: str, cpu: bool = True, env: Mapping[str, str] | None = None) -> dict:
    """The environment of a launch: offline Hub, wandb off, gloo for plain DDP on a CPU, `env` on top."""
    full_env = {**os.environ}
    full_env.setdefault("HF_HUB_OFFLINE", "1")
    full_env.setdefault("HF_DATASETS_OFFLINE", "1")
    full_env.setdefault("WANDB_MODE", "disabled")
    if cpu and not accelerate_config.startswith("zero"):
        full_env["ACCELERATE_USE_CPU"] = "true"
    # The launched script must import this checkout's package, whatever the caller's working directory.
    src = str(REPO_ROOT / "src")
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, full_env.get("PYTHONPATH")]))
    full_env.update(env or {})
    return full_env


def accelerate_launch(
    script: str,
    config: str,
    *args: str,
    accelerate_config: str = "ddp.yaml",
    num_processes: int = 1,
    cpu: bool = True,
    env: Mapping[str, str] | None = None,
    log_file: pathlib.Path | None = None,
    stream: bool = False,
    timeout: float | None = None,
) -> str:
    """Launches `src/open_r1/<script>` and returns its combined output; raises with the output's tail on failure.

    `stream=True` also prints the output as it comes (progress bars); `log_file` keeps all of it.
    """
    command = accelerate_command(
        script, config, *args, accelerate_config=accelerate_config, num_processes=num_processes
    )
    if stream:
        print("$ " + " ".join(command), flush=True)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=launch_environment(accelerate_config, cpu, env),
        cwd=REPO_ROOT,
    )
    chunks = []
    log = log_file.open("wb") if log_file is not None else None
    # The output is read until the process closes it, so the time limit is a watchdog that kills the launch.
    timed_out = threading.Event()
    watchdog = threading.Timer(timeout, lambda: (timed_out.set(), process.kill())) if timeout else None
    if watchdog is not None:
        watchdog.start()
    try:
        for chunk in iter(lambda: process.stdout.read1(65536), b""):
            chunks.append(chunk)
            if log is not None:
                log.write(chunk)
            if stream:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        returncode = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if log is not None:
            log.close()
    output = b"".join(chunks).decode(errors="replace")
    if timed_out.is_set():
        raise TimeoutError(f"{' '.join(command)} did not finish within {timeout} s:\n{output[-8000:]}")
    if returncode != 0:
        where = f"; full log in {log_file}" if log_file is not None else ""
        raise RuntimeError(f"{' '.join(command)} failed with exit code {returncode}{where}:\n{output[-8000:]}")
    return output
