"""Runs the project's entry scripts the way users do: `accelerate launch --config_file ... src/open_r1/<script>`.

    from open_r1.utils.launch import accelerate_launch
    accelerate_launch("sft.py", "recipes/tiny/sft/config_cpu.yaml", "--max_steps", "2")            # captured
    accelerate_launch("grpo.py", recipe, *overrides, log_file=path, stream=True)                  # printed live

`run_at_once` runs functions each in its own process at the same time (`make gsm8k`'s arms on a GPU).

`make demo` (scripts/demo.py) and the end-to-end tests both launch training through this module, so the
command line and environment they use are the ones the README gives users, with these settings:
- `--num_cpu_threads_per_process` is set to the idle cores per process (`OMP_NUM_THREADS` cores where it is set):
  accelerate otherwise gives each process a single thread (it sets OMP_NUM_THREADS=1), leaving the other cores
  idle on a CPU machine; cores another program keeps busy are left out, where a thread would wait on them.
- Plain data-parallel configs get `ACCELERATE_USE_CPU=true` (gloo) when `cpu` is set. DeepSpeed
  configs never do: accelerate would then wrap a ZeRO-3-partitioned model in DDP and crash; they run on a
  CPU through the training config's `use_cpu: true`.
- `one_process.yaml` starts the script directly, without torchrun: `make demo` and `make gsm8k` train that way, so a
  single GPU holds no NCCL process group. It gets the first visible GPU, or the CPU with `cpu` (accelerate's `--cpu`).
- The Hub is switched off (`HF_HUB_OFFLINE=1`) and wandb disabled unless the caller's environment says
  otherwise; Python's fault handler is on (`PYTHONFAULTHANDLER=1`), so a process that crashes says where.

Not covered: Slurm (see slurm/train.slurm) and multi-node launches.
"""

import contextlib
import multiprocessing
import os
import pathlib
import re
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
# The real benchmark files (MATH-500, AIME, GSM8K, CodeContests; their README says what each is): ../shared/data
# beside the checkout, or where OPEN_R1_SHARED_DATA points.
SHARED_DATA = pathlib.Path(os.environ.get("OPEN_R1_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ACCELERATE_CONFIGS = REPO_ROOT / "recipes" / "accelerate_configs"
# Where scripts/get_model.py writes real models' folders, and keeps what it downloads (relative to the checkout).
MODELS_FOLDER = "data/models"
MODEL_CACHE_FOLDER = "data/cache/models"
# One process started directly, without torchrun: on a GPU, no NCCL process group (`make gsm8k`'s launches).
ONE_PROCESS_CONFIG = "one_process.yaml"
# Set in a launch's environment, one value per launch: how `kill_with_children` finds what the launcher left behind.
LAUNCH_ID_VARIABLE = "OPEN_R1_LAUNCH_ID"


# What a launch prints where a CUDA allocation failed: PyTorch's allocator ("CUDA out of memory. Tried to allocate")
# or the CUDA runtime, as for NCCL's own buffers on 2026-11-26 ("CUDA error: out of memory").
GPU_OUT_OF_MEMORY = ("CUDA out of memory", "CUDA error: out of memory")
# How the line a process that died of a fatal signal or a C++ exception printed begins: Python's fault handler (on in
# every launch), the C++ runtime.
PROCESS_CRASH = ("Fatal Python error: ", "terminate called ")


class LaunchFailed(RuntimeError):
    """A launch that exited with an error; `out_of_gpu_memory`: its output says a CUDA allocation failed; `output`:
    all it printed (the message keeps the tail)."""

    def __init__(self, message: str, out_of_gpu_memory: bool = False, output: str = ""):
        super().__init__(message)
        self.out_of_gpu_memory = out_of_gpu_memory
        self.output = output


def out_of_gpu_memory_line(output: str) -> str | None:
    """The first line of a launch's output that says a CUDA allocation failed, or None."""
    for line in output.splitlines():
        if any(marker in line for marker in GPU_OUT_OF_MEMORY):
            return line.strip()
    return None


def process_crash_line(output: str) -> str | None:
    """The first line of a launch's output that says a process crashed (a fatal signal, a C++ exception: the first is
    the cause, a peer's that follow its consequence), or None. Only a line that begins so (after torch's `[rankN]:`):
    a completion or a program's output may say it too."""
    for line in output.splitlines():
        line = re.sub(r"^\[rank\d+\]:\s*", "", line.strip())
        if line.startswith(PROCESS_CRASH):
            return line
    return None


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one; else the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def idle_cores(sample_seconds: float = 0.25) -> int:
    """This process's cores that are idle now (a short sample of each one's use), at least 1: a thread that waits on
    a core another program keeps busy costs tens of times what an idle core gives (docs/benchmarks.md, CPU threads)."""
    import psutil

    use = psutil.cpu_percent(interval=sample_seconds, percpu=True)
    mine = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(len(use))
    idle = sum(1 - use[cpu] / 100 for cpu in mine if cpu < len(use))  # at most this process's cores
    return max(1, int(idle + 0.25))


def cores_for_launches() -> int:
    """The cores a launch may spread its processes' threads over: `OMP_NUM_THREADS` where it is set (as
    `run_at_once` sets it for each of its jobs, so that launches running at once do not oversubscribe), else those of
    this process's cores that are idle now (`idle_cores`: on a machine busy with other work, one)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else idle_cores()


def accelerate_command(
    script: str,
    config: str,
    *args: str,
    accelerate_config: str = "ddp.yaml",
    num_processes: int = 1,
    cpu: bool = False,
) -> list[str]:
    """The `accelerate launch` command line for `src/open_r1/<script> --config <config> <args>`. `cpu` matters to
    `one_process.yaml` only (its `--cpu`); the data-parallel configs take it from the environment
    (`launch_environment`), since accelerate's `--cpu` would start them as one process."""
    one_process = accelerate_config == ONE_PROCESS_CONFIG
    if one_process and num_processes != 1:
        # accelerate would start one process and say nothing.
        raise ValueError(f"{ONE_PROCESS_CONFIG} starts one process, not {num_processes}; use ddp.yaml or zero2.yaml")
    return [
        str(pathlib.Path(sys.executable).with_name("accelerate")),
        "launch",
        *(["--cpu"] if one_process and cpu else []),
        "--config_file",
        str(ACCELERATE_CONFIGS / accelerate_config),
        "--num_processes",
        str(num_processes),
        # Several processes rendezvous on a free port, not the default 29500 that another run here may hold.
        *(["--main_process_port", "0"] if num_processes > 1 else []),
        "--num_cpu_threads_per_process",
        str(max(1, cores_for_launches() // num_processes)),
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
    # A process killed by a fatal signal (SIGSEGV, SIGABRT) prints every thread's Python stack before it dies.
    full_env.setdefault("PYTHONFAULTHANDLER", "1")
    if accelerate_config == ONE_PROCESS_CONFIG:
        # No ACCELERATE_USE_CPU: its launcher overwrites it from its own --cpu (`accelerate_command`). One GPU, the
        # first visible, as torchrun's LOCAL_RANK=0 gave it: with several visible and no process group, transformers
        # would spread the process over all of them (nn.DataParallel), which TRL refuses.
        visible = full_env.get("CUDA_VISIBLE_DEVICES")
        full_env["CUDA_VISIBLE_DEVICES"] = "0" if visible is None else visible.split(",")[0]
    elif cpu and not accelerate_config.startswith("zero"):
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
    """Launches `src/open_r1/<script>` and returns its combined output; raises `LaunchFailed` with the output's tail
    on failure.

    `stream=True` also prints the output as it comes (progress bars); `log_file` keeps all of it. Past `timeout`
    seconds the launch and the processes it started are killed and a TimeoutError raised.
    """
    command = accelerate_command(
        script,
        config,
        *args,
        accelerate_config=accelerate_config,
        num_processes=num_processes,
        cpu=cpu,
    )
    if stream:
        print("$ " + shlex.join(command), flush=True)  # as a shell reads it back
    # Inherited by everything the launch starts, so that what outlives the launcher is still found and killed;
    # after the ids of the launches this one runs in, which kill it with theirs.
    launch_id = f"{os.getpid()}-{uuid.uuid4().hex}"
    environment = launch_environment(accelerate_config, cpu, env)
    outer_ids = environment.get(LAUNCH_ID_VARIABLE)
    environment[LAUNCH_ID_VARIABLE] = f"{outer_ids},{launch_id}" if outer_ids else launch_id
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        cwd=REPO_ROOT,
    )
    chunks = []
    log = log_file.open("wb") if log_file is not None else None
    # The output is read until the process closes it, so the time limit is a watchdog that kills the launch.
    timed_out = threading.Event()
    watchdog = (
        threading.Timer(timeout, lambda: (timed_out.set(), kill_with_children(process, launch_id)))
        if timeout
        else None
    )
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
        kill_with_children(process, launch_id)
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
        message = f"{' '.join(command)} failed with exit code {returncode}{where}:\n{output[-8000:]}"
        # Last, where a caller that keeps only the message's tail (run_at_once) still shows it.
        out_of_memory = out_of_gpu_memory_line(output)
        if out_of_memory is not None:
            message += f"\nit ran out of GPU memory: {out_of_memory}"
        crash = process_crash_line(output)
        if crash is not None:
            message += f"\na process crashed: {crash}"
        raise LaunchFailed(message, out_of_gpu_memory=out_of_memory is not None, output=output)
    return output


def kill_with_children(process: subprocess.Popen, launch_id: str | None = None) -> None:
    """SIGKILLs a launch and every process below it. accelerate's launchers do not pass a SIGKILL on: the training
    they started would go on, holding its GPU and the output pipe the launch is read through. The tree is stopped
    from the top down first (a stopped process starts no other), listed again until it no longer grows, then killed.
    With `launch_id` (the launch's `OPEN_R1_LAUNCH_ID`), the processes that carry it in their environment are part
    of the tree too: a launcher that has exited no longer lists the training it started as its child.
    """
    import psutil

    family = []
    if process.returncode is None:  # once reaped, its pid may be another process's by now
        with contextlib.suppress(psutil.Error):
            family.append(psutil.Process(process.pid))
    stopped = 0
    while True:
        if launch_id is not None:  # each round: one that exited before it was stopped left its children to init
            family += [member for member in processes_of_launch(launch_id) if member not in family]
        if stopped == len(family):
            break
        for member in family[stopped:]:
            with contextlib.suppress(psutil.Error):
                member.suspend()
        listed, stopped = family[stopped:], len(family)
        for member in listed:
            with contextlib.suppress(psutil.Error):
                family += [child for child in member.children() if child not in family]
    for member in family:
        with contextlib.suppress(psutil.Error):
            member.kill()


def processes_of_launch(launch_id: str) -> list:
    """The running processes whose environment carries `launch_id`, alone or among the ids of the launches they are
    nested in (those of other users cannot be read)."""
    import psutil

    found = []
    for candidate in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            ids = candidate.environ().get(LAUNCH_ID_VARIABLE, "")
            if candidate.pid != os.getpid() and launch_id in ids.split(","):
                found.append(candidate)
    return found


def _run_logged(log_file: pathlib.Path, threads: int, function, args: tuple):
    """In a child process: `function(*args)` on `threads` CPU threads (its launches too), with everything the
    process writes in `log_file`. Jobs that each took every core would oversubscribe them, and torch's threads then
    spin against each other (small CPU matmuls ran many times slower)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:  # imported with the job's module, before OMP_NUM_THREADS was set
        sys.modules["torch"].set_num_threads(threads)
    log = log_file.open("ab", buffering=0)
    for stream, descriptor in ((sys.stdout, 1), (sys.stderr, 2)):
        stream.flush()
        os.dup2(log.fileno(), descriptor)
    return function(*args)


def run_at_once(jobs: dict[str, tuple], log_dir: pathlib.Path) -> dict:
    """`function(*args)` for every job of `jobs` (name -> (function, args)), each in its own process, all at once;
    each job's output goes to `log_dir/<name>.log`, and each gets an equal share of the cores (`OMP_NUM_THREADS`).
    Returns each job's result once all have ended; if any raised, raises a RuntimeError naming each failed job, its
    error and its log (the others still run to the end).

    Each function must be importable by name: the processes are spawned, not forked, since a forked child cannot use
    CUDA once its parent has."""
    logs = {name: log_dir / f"{name}.log" for name in jobs}
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context) as pool:
        threads = max(1, cores_for_launches() // len(jobs))
        futures = {
            pool.submit(_run_logged, logs[name], threads, function, args): name
            for name, (function, args) in jobs.items()
        }
        for name in jobs:
            print(f"{name}: running in its own process; its output: {logs[name]}", flush=True)
        results, failures = {}, {}
        for future in as_completed(futures):
            name = futures[future]
            try:
                results[name] = future.result()
            # A job's SystemExit too (its one-line refusal): raised here, it would end this run unreported, and
            # only once every other job had run to its end.
            except (Exception, SystemExit) as error:  # noqa: BLE001 - reported with its job's name and log below
                failures[name] = f"{name} failed ({type(error).__name__}: {str(error)[-2000:]}); its log: {logs[name]}"
                print(failures[name], flush=True)
                continue
            print(f"{name}: done after {time.perf_counter() - started:.0f} s", flush=True)
    if failures:
        raise RuntimeError("\n".join(failures[name] for name in jobs if name in failures))
    return {name: results[name] for name in jobs}
