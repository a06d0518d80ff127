"""Runs the project's entry scripts the way users do (`accelerate launch ...`), for end-to-end tests."""

import json
import os
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
ACCELERATE = str(pathlib.Path(sys.executable).with_name("accelerate"))


def accelerate_launch(
    script: str, config: str, *args: str, accelerate_config: str = "ddp.yaml", num_processes: int = 1, env=None
) -> subprocess.CompletedProcess:
    """`accelerate launch --config_file recipes/accelerate_configs/<cfg> src/open_r1/<script> --config <recipe> ...`."""
    command = [
        ACCELERATE,
        "launch",
        "--config_file",
        str(REPO_ROOT / "recipes" / "accelerate_configs" / accelerate_config),
        "--num_processes",
        str(num_processes),
        # accelerate launch otherwise gives each process a single thread, leaving cores idle.
        "--num_cpu_threads_per_process",
        str(max(1, (os.cpu_count() or 1) // num_processes)),
        str(REPO_ROOT / "src" / "open_r1" / script),
        "--config",
        str(REPO_ROOT / config),
        *args,
    ]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    if not accelerate_config.startswith("zero"):
        # Plain data parallelism on CPU (gloo). DeepSpeed configs must not get this switch: accelerate would
        # then fall back to DDP around a ZeRO-3-partitioned model; they run on CPU through `use_cpu: true`.
        full_env["ACCELERATE_USE_CPU"] = "true"
    full_env.update(env or {})
    result = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=REPO_ROOT, timeout=1200)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def log_history(output_dir: pathlib.Path) -> list[dict]:
    return json.loads((output_dir / "trainer_state.json").read_text())["log_history"]
