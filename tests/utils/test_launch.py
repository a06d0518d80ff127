"""`open_r1.utils.launch`: where it says the repository and the benchmark files are, how a failed launch reads, and
what a one-process launch starts."""

import os
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT


def shared_data_seen(**env) -> str:
    command = "from open_r1.utils.launch import SHARED_DATA; print(SHARED_DATA)"
    environment = {key: value for key, value in os.environ.items() if key != "OPEN_R1_SHARED_DATA"} | env
    return subprocess.run(
        [sys.executable, "-c", command], env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_benchmark_folder_is_shared_data_beside_the_checkout_unless_the_environment_names_another(tmp_path):
    assert shared_data_seen() == str(REPO_ROOT.parent / "shared" / "data")
    assert shared_data_seen(OPEN_R1_SHARED_DATA=str(tmp_path)) == str(tmp_path)


def failing_launch(monkeypatch, output: str):
    """`accelerate_launch` of a command that prints `output` and exits 1, without accelerate."""
    from open_r1.utils import launch

    program = f"import sys; print({output!r}); sys.exit(1)"
    monkeypatch.setattr(launch, "accelerate_command", lambda *args, **kwargs: [sys.executable, "-c", program])
    with pytest.raises(launch.LaunchFailed) as failed:
        launch.accelerate_launch("grpo.py", "recipe.yaml")
    return failed.value


def test_a_launch_that_ran_out_of_gpu_memory_says_so_in_its_last_line(monkeypatch):
    for said in (
        "[rank0]: torch.AcceleratorError: CUDA error: out of memory",  # the CUDA runtime's, as NCCL's was
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",  # PyTorch's allocator's
    ):
        failure = failing_launch(monkeypatch, f"{said}\n" + "elastic traceback\n" * 50)
        assert failure.out_of_gpu_memory
        assert str(failure).splitlines()[-1] == f"it ran out of GPU memory: {said}"
    failure = failing_launch(monkeypatch, "ValueError: a mistyped field")
    assert not failure.out_of_gpu_memory and "GPU memory" not in str(failure)
    assert isinstance(failure, RuntimeError)  # what callers that predate it catch


def test_a_launch_whose_process_crashed_says_where_and_why_in_its_last_line(monkeypatch):
    """CI's: a rank that died of SIGABRT after training showed only the launcher's traceback; the fault handler, on
    in every launch, prints the Python stack of a process killed by a fatal signal."""
    from open_r1.utils import launch

    program = "print('training done', flush=True); import os; os.abort()"
    monkeypatch.setattr(launch, "accelerate_command", lambda *args, **kwargs: [sys.executable, "-c", program])
    monkeypatch.delenv("PYTHONFAULTHANDLER", raising=False)
    with pytest.raises(launch.LaunchFailed) as failed:
        launch.accelerate_launch("grpo.py", "recipe.yaml")
    message = str(failed.value)
    assert 'File "<string>", line 1 in <module>' in message  # the stack of the thread that died
    assert message.splitlines()[-1] == "a process crashed: Fatal Python error: Aborted"
    assert "crashed" not in str(failing_launch(monkeypatch, "ValueError: a mistyped field"))
    # A completion that quotes a crash is no crash (a review's): only a line that begins so counts, the first one.
    quoted = "| completion | the program printed Fatal Python error: Aborted |\n[rank1]: terminate called recursively"
    quoted += "\nFatal Python error: Aborted"  # a peer's, after the cause
    assert (
        str(failing_launch(monkeypatch, quoted)).splitlines()[-1] == "a process crashed: terminate called recursively"
    )


def test_a_streamed_launch_prints_its_command_as_a_shell_reads_it_back(monkeypatch, capsys):
    """A warnings audit's: `--system_prompt Compute the product.` was printed unquoted, so a pasted copy broke."""
    import shlex

    from open_r1.utils import launch

    command = [sys.executable, "-c", "print('ok')", "--system_prompt", "Compute the product."]
    monkeypatch.setattr(launch, "accelerate_command", lambda *args, **kwargs: command)
    launch.accelerate_launch("grpo.py", "recipe.yaml", stream=True)
    printed = capsys.readouterr().out.splitlines()[0]
    assert shlex.split(printed.removeprefix("$ ")) == command


# Which process group accelerate would open on a GPU machine (CUDA made to look available), from the environment the
# launcher gave the process: torchrun's LOCAL_RANK makes it NCCL, even for one process.
BACKEND_PROBE = """
import os, torch
from accelerate.state import PartialState
torch.cuda.is_available = lambda: True
backend, distributed_type = PartialState._prepare_backend(None)
print(os.environ.get("LOCAL_RANK"), backend, distributed_type.value)
"""


@pytest.mark.parametrize(
    "accelerate_config, seen",
    [("one_process.yaml", "None None NO"), ("ddp.yaml", "0 nccl MULTI_GPU")],
)
def test_a_one_process_launch_starts_the_script_without_torchrun_so_a_gpu_gets_no_nccl_group(
    tmp_path, accelerate_config, seen
):
    from open_r1.utils.launch import accelerate_command, launch_environment

    probe = tmp_path / "probe.py"
    probe.write_text(BACKEND_PROBE)
    command = accelerate_command(str(probe), "recipe.yaml", accelerate_config=accelerate_config, num_processes=1)
    result = subprocess.run(
        command, env=launch_environment(accelerate_config, cpu=False), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == seen


DEVICE_PROBE = """
import os
print(os.environ.get("ACCELERATE_USE_CPU"), os.environ.get("CUDA_VISIBLE_DEVICES"))
"""


@pytest.mark.parametrize(
    "cpu, visible, seen",
    [(True, None, "True 0"), (False, None, "False 0"), (False, "3,5", "False 3"), (False, "", "False ")],
)
def test_a_one_process_launch_runs_on_the_first_visible_gpu_or_on_the_cpu_when_told(
    monkeypatch, tmp_path, cpu, visible, seen
):
    from open_r1.utils.launch import accelerate_command, launch_environment

    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    probe = tmp_path / "probe.py"
    probe.write_text(DEVICE_PROBE)
    command = accelerate_command(str(probe), "recipe.yaml", accelerate_config="one_process.yaml", cpu=cpu)
    result = subprocess.run(
        command, env=launch_environment("one_process.yaml", cpu=cpu), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == seen


def test_the_one_process_config_refuses_more_processes_which_accelerate_would_drop_silently():
    from open_r1.utils.launch import accelerate_command

    with pytest.raises(ValueError, match="one_process.yaml starts one process, not 2; use ddp.yaml or zero2.yaml"):
        accelerate_command("grpo.py", "recipe.yaml", accelerate_config="one_process.yaml", num_processes=2)


@pytest.mark.parametrize("launcher_waits, first_scan_misses", [(True, False), (False, False), (False, True)],
                         ids=["launcher-waits", "launcher-exited", "launcher-exited-first-scan-misses"])  # fmt: skip
def test_a_launch_past_its_time_limit_is_killed_with_the_training_it_started(
    monkeypatch, tmp_path, launcher_waits, first_scan_misses
):
    """accelerate's simple launcher starts the script as its child and dies alone on a SIGKILL; the watchdog must
    kill the child too, and what the child started (a sandbox or grading worker), or they go on holding the GPU and
    the pipe that the launch's output is read through. A launcher that has already exited no longer has the
    training as its child (it was handed to init): it is found all the same, also where it appeared only after the
    first look (a process that exits between that look and its stop hands its children to init)."""
    import time

    import psutil

    from open_r1.utils import launch

    if first_scan_misses:
        real_scan, scans = launch.processes_of_launch, []

        def late_scan(launch_id: str) -> list:
            scans.append(launch_id)
            return [] if len(scans) == 1 else real_scan(launch_id)

        monkeypatch.setattr(launch, "processes_of_launch", late_scan)

    def sleeper(name: str, then: str = "") -> str:
        """A program that writes its pid into `name`, runs `then` and sleeps a minute."""
        pid_file = tmp_path / name
        return f"import os, subprocess, sys, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); {then}time.sleep(60)"

    worker = sleeper("worker.pid")
    training = sleeper(
        "training.pid", f"subprocess.Popen([sys.executable, '-c', {worker!r}]); print('step', flush=True); "
    )
    wait = ".wait()" if launcher_waits else ""
    launcher = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {training!r}]){wait}"
    monkeypatch.setattr(launch, "accelerate_command", lambda *args, **kwargs: [sys.executable, "-c", launcher])
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 5 s") as stopped:
        launch.accelerate_launch("grpo.py", "recipe.yaml", timeout=5)
    assert time.monotonic() - started < 20
    assert "step" in str(stopped.value)
    deadline = time.monotonic() + 5
    for name in ("training.pid", "worker.pid"):
        pid = int((tmp_path / name).read_text())
        while True:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            assert time.monotonic() < deadline, f"{name}'s process still runs"
            time.sleep(0.05)


def test_a_launch_carries_its_own_id_after_those_of_the_launches_it_runs_in(monkeypatch):
    """A launch inside another's training: killing the outer launch finds the inner one's processes by the outer id."""
    import time

    import psutil

    from open_r1.utils import launch

    program = f"import os; print(os.environ[{launch.LAUNCH_ID_VARIABLE!r}])"
    monkeypatch.setattr(launch, "accelerate_command", lambda *args, **kwargs: [sys.executable, "-c", program])
    monkeypatch.setenv(launch.LAUNCH_ID_VARIABLE, "outer-id")
    outer, inner = launch.accelerate_launch("grpo.py", "recipe.yaml").strip().split(",")
    assert outer == "outer-id" and inner and inner != launch.accelerate_launch("grpo.py", "recipe.yaml").split(",")[1]

    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, launch.LAUNCH_ID_VARIABLE: "outer-id,inner-id"},
    )
    try:
        deadline = time.monotonic() + 10
        while launch.LAUNCH_ID_VARIABLE not in psutil.Process(sleeper.pid).environ():  # until its exec
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # Found by either id, never by a part of one.
        for launch_id, found in (("outer-id", True), ("inner-id", True), ("outer", False), ("id", False)):
            assert (psutil.Process(sleeper.pid) in launch.processes_of_launch(launch_id)) is found, launch_id
    finally:
        sleeper.kill()
        sleeper.wait()


def test_several_processes_rendezvous_on_a_free_port_and_one_process_needs_none():
    from open_r1.utils.launch import accelerate_command

    several = accelerate_command("sft.py", "recipe.yaml", accelerate_config="ddp.yaml", num_processes=2)
    assert several[several.index("--main_process_port") + 1] == "0"  # not 29500, which another run here may hold
    assert "--main_process_port" not in accelerate_command("sft.py", "recipe.yaml", accelerate_config="ddp.yaml")


def test_cores_are_those_this_process_may_run_on_not_the_machines(monkeypatch):
    """A one-home audit's: on a Slurm job given 1 of a node's 64 cores, launches, grading and decontamination counted
    the node's cores and oversubscribed the job's."""
    import psutil

    from open_r1.demo.gsm8k_evals import grading_workers
    from open_r1.usage import UsageError
    from open_r1.utils import launch
    from open_r1.utils.launch_settings import check_processes_fit_the_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [0.0] * 64)  # the node idle
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert launch.usable_cores() == launch.cores_for_launches() == 1
    assert grading_workers() == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(UsageError, match="2 training processes on 1 CPU cores"):
        check_processes_fit_the_cores(use_cpu=True)


def test_a_test_launch_tolerates_only_a_crash_after_training_ended_on_every_process():
    """CI 2026-11-29: a rank died of SIGABRT at exit after a two-process run had trained and saved (torch's gloo
    teardown); the test then checks what the run left. A crash during training still fails the test."""
    from open_r1.utils.launch import LaunchFailed
    from tests.support.launch import crashed_after_training

    after = "***** train metrics *****\n  epoch = 0.19\n...\ntraceback : Signal 6 (SIGABRT) received by PID 8377"
    assert crashed_after_training(LaunchFailed("failed", output=after))
    during = "{'loss': 0.1}\ntraceback : Signal 6 (SIGABRT) received by PID 8377"
    assert not crashed_after_training(LaunchFailed("failed", output=during))
    assert not crashed_after_training(LaunchFailed("failed", output="***** train metrics *****\nValueError: a field"))
    # A rank that raised after training (its final evaluation, its save), or exited with an error, still fails (a
    # review's): only a death by signal at exit is tolerated.
    raised = after.replace("...", "[rank1]: Traceback (most recent call last):\n[rank1]: RuntimeError: in evaluate")
    assert not crashed_after_training(LaunchFailed("failed", output=raised))
    exited = after + "\n  exitcode  : 1 (pid: 8376)\n  exitcode  : -6 (pid: 8377)"
    assert not crashed_after_training(LaunchFailed("failed", output=exited))
    assert crashed_after_training(LaunchFailed("failed", output=after + "\n  exitcode  : -6 (pid: 8377)"))


@pytest.mark.parametrize(
    "use, threads",
    [
        ([3.0, 5.0], 2),  # idle: a thread per core
        ([100.0, 2.0], 1),  # a neighbour keeps a core busy: it is left out
        ([100.0, 100.0], 1),  # every core busy: one thread, never none
        ([60.0, 60.0], 1),
    ],
)
def test_a_launch_threads_over_the_cores_that_are_idle_now(monkeypatch, use, threads):
    """A newcomer audit's: `make demo` beside other work took 145 s with a thread per core, 59 s with one (a thread
    waiting on a busy core costs 37 to 94 times, docs/benchmarks.md)."""
    import psutil

    from open_r1.utils import launch

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: use)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert launch.cores_for_launches() == threads
    command = launch.accelerate_command("sft.py", "recipe.yaml", num_processes=1)
    assert command[command.index("--num_cpu_threads_per_process") + 1] == str(threads)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # said outright: taken as it is
    assert launch.cores_for_launches() == 2
