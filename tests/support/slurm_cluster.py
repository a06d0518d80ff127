"""A real, throw-away Slurm cluster on this one machine, for the slow Slurm tests.

It runs Debian's `munged`, `slurmctld` and one `slurmd` per pretend node, all from a temporary
folder: its own munge key and socket, its own `slurm.conf` with free ports, and nodes `node1`,
`node2`, ... that all live on 127.0.0.1 with 32 (pretend) CPUs and 8 fake GPUs each (`gres.conf` points at
character devices made with `mknod`, so Slurm hands out GPUs and sets CUDA_VISIBLE_DEVICES while
nothing real is behind them). Jobs run as the current user (root on CI) with the submitter's
environment, so `SLURM_CONF` in that environment reaches every process a job starts.

    cluster = SlurmCluster(tmp_path, num_nodes=2); cluster.start()
    result = cluster.sbatch(["--nodes=1", "slurm/train.slurm", ...], cwd=repo_root)   # waits; exit code + log
    cluster.stop()

To try the slurm/ scripts by hand on it: `python -m tests.support.slurm_cluster [FOLDER]` starts it, prints the
`SLURM_CONF` to export in another shell, and stops it on Ctrl-C.

Install the daemons with `bash scripts/install_slurm.sh`. This does not cover accounting
(slurmdbd), cgroups or real GPUs, and it needs root (slurmd runs jobs as their owner).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.support import REPO_ROOT
from tests.support.ports import free_port

REQUIRED_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
GPUS_PER_NODE = 8
# More than this machine has, like a real GPU node (scripts ask for e.g. --cpus-per-task=8); slurmd accepts
# it thanks to SlurmdParameters=config_overrides.
CPUS_PER_NODE = 32


def missing_programs() -> list[str]:
    """The Slurm/munge programs not on PATH (or the sbin folders Debian puts the daemons in)."""
    return [program for program in REQUIRED_PROGRAMS if _which(program) is None]


def _which(program: str) -> str | None:
    return shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _process_state(pid: int) -> str | None:
    """The one-letter state from /proc/PID/stat, or None when the process is gone."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name in parentheses may contain spaces; the state follows the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def _is_stopped(pid: int) -> bool:
    # A killed daemon whose parent does not reap it stays a zombie (state Z): it is stopped.
    return _process_state(pid) in (None, "Z", "X")


# Job states after which a job will not run again (a requeued job goes back to PENDING instead).
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


@dataclass
class JobResult:
    job_id: int
    returncode: int
    state: str
    output: str

    def __repr__(self) -> str:
        # The tail of the job's log is what explains a failure; the start of it is the banner.
        tail = "\n".join(self.output.splitlines()[-60:])
        return f"job {self.job_id} {self.state} (exit {self.returncode}); last lines of its output:\n{tail}"


class SubmittedJob:
    """A submitted job; `result()` waits until it reaches a final state.

    This polls `scontrol show job` itself rather than using `sbatch --wait`, whose polling interval grows to
    about 30 seconds and would make every test wait that long after its job has ended.
    """

    def __init__(self, cluster: SlurmCluster, job_id: int, output: pathlib.Path):
        self.cluster = cluster
        self.job_id = job_id
        self.output = output

    def read_output(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def state(self) -> tuple[str, int]:
        """The job's state and exit status (128 + signal when a signal ended it, as a shell reports it)."""
        fields = dict(
            item.split("=", 1)
            for item in self.cluster.scontrol("show", "job", str(self.job_id)).split()
            if "=" in item
        )
        exit_code, signal_number = (int(part) for part in fields["ExitCode"].split(":"))
        return fields["JobState"], exit_code or (128 + signal_number if signal_number else 0)

    def finished(self) -> bool:
        return self.state()[0] in FINAL_STATES

    def result(self, timeout: float = 600) -> JobResult:
        deadline = time.monotonic() + timeout
        while True:
            state, returncode = self.state()
            if state in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                self.cluster.cancel(self.job_id)
                raise TimeoutError(f"job {self.job_id} did not finish in {timeout}s ({state}):\n{self.read_output()}")
            time.sleep(0.25)
        if state != "COMPLETED" and returncode == 0:
            returncode = 1  # cancelled or failed without an exit status of its own
        result = JobResult(self.job_id, returncode, state, self.read_output())
        if returncode != 0:
            # pytest shows a failing test's stdout in full, where an assertion message gets truncated.
            print(f"--- output of job {self.job_id} ({state}, exit {returncode}) ---\n{result.output}")
        return result


class SlurmCluster:
    """Starts and stops a single-host Slurm cluster of `num_nodes` pretend GPU nodes under `root`."""

    def __init__(self, root: pathlib.Path, num_nodes: int = 2, partition: str = "debug"):
        self.root = pathlib.Path(root)
        self.num_nodes = num_nodes
        self.partition = partition
        self.node_names = [f"node{index + 1}" for index in range(num_nodes)]
        self.conf_path = self.root / "etc" / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._daemons: list[tuple[str, subprocess.Popen]] = []

    # -- set-up ---------------------------------------------------------------------------------

    def _write_files(self) -> None:
        for folder in ("etc", "munge", "state", "spool", "log", "dev"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)

        gres_lines = ["AutoDetect=off"]
        for node in self.node_names:
            for gpu in range(GPUS_PER_NODE):
                device = self.root / "dev" / f"{node}-gpu{gpu}"
                if not device.exists():
                    # Same major/minor as /dev/null: Slurm only needs a character device to exist.
                    os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))
            gres_lines.append(f"NodeName={node} Name=gpu File={self.root / 'dev'}/{node}-gpu[0-{GPUS_PER_NODE - 1}]")
        (self.root / "etc" / "gres.conf").write_text("\n".join(gres_lines) + "\n")

        user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
        node_lines = [
            f"NodeName={node} NodeHostname=localhost NodeAddr=127.0.0.1 Port={free_port()} "
            f"CPUs={CPUS_PER_NODE} Gres=gpu:{GPUS_PER_NODE} State=UNKNOWN"
            for node in self.node_names
        ]
        conf = f"""\
ClusterName=openr1test
SlurmctldHost=localhost
SlurmctldPort={free_port()}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
StateSaveLocation={self.root / "state"}
SlurmdSpoolDir={self.root / "spool"}/%n
SlurmctldPidFile={self.root / "state"}/slurmctld.pid
SlurmdPidFile={self.root / "spool"}/slurmd-%n.pid
SlurmctldLogFile={self.root / "log"}/slurmctld.log
SlurmdLogFile={self.root / "log"}/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
{chr(10).join(node_lines)}
PartitionName={self.partition} Nodes={",".join(self.node_names)} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""
        self.conf_path.write_text(conf)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for Slurm commands (and, through sbatch, for the jobs) on this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf_path)
        env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
        # A partition/QoS from the developer's own shell would not exist here.
        for name in ("SBATCH_PARTITION", "SBATCH_QOS", "SBATCH_ACCOUNT", "SLURM_JOB_ID", "SLURM_JOBID"):
            env.pop(name, None)
        env.update(extra)
        return env

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=self.root)
        self._daemons.append((name, process))

    def start(self, timeout: float = 30.0) -> None:
        """Starts munged, slurmctld and the slurmd of every node; returns once all nodes are idle."""
        self._write_files()
        self._spawn(
            "munged",
            [
                _which("munged"),
                "--foreground",
                "--force",
                f"--key-file={self.root / 'munge' / 'munge.key'}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
        )
        self._wait_for(lambda: self.munge_socket.exists(), timeout, "munged to create its socket")
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf_path)])
        for node in self.node_names:
            (self.root / "spool" / node).mkdir(exist_ok=True)
            self._spawn(f"slurmd-{node}", [_which("slurmd"), "-D", "-N", node, "-f", str(self.conf_path)])
        self._wait_for(self._all_nodes_idle, timeout, f"nodes {self.node_names} to become idle")

    def _all_nodes_idle(self) -> bool:
        for name, process in self._daemons:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} while starting; {self.logs()}")
        result = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%N %t"], capture_output=True, text=True, env=self.env()
        )
        states = dict(line.split() for line in result.stdout.splitlines() if line.strip())
        return result.returncode == 0 and all(states.get(node) == "idle" for node in self.node_names)

    def _wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; {self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            parts.append(
                f"--- {path.name} (last lines) ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-20:])
            )
        return "daemon logs:\n" + "\n".join(parts)

    # -- jobs -----------------------------------------------------------------------------------

    def submit(self, args: list[str], cwd: pathlib.Path, env: dict[str, str] | None = None) -> SubmittedJob:
        """Queues a job with sbatch; its stdout and stderr go to one file under the cluster folder."""
        output = self.root / "jobs" / f"job-{time.monotonic_ns()}.out"
        output.parent.mkdir(exist_ok=True)
        argv = ["sbatch", "--parsable", f"--output={output}", f"--error={output}", *args]
        result = subprocess.run(argv, cwd=cwd, env=env or self.env(), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"sbatch {args} was refused: {result.stderr}")
        return SubmittedJob(self, int(result.stdout.strip().split(";")[0]), output)

    def sbatch(
        self, args: list[str], cwd: pathlib.Path, env: dict[str, str] | None = None, timeout: float = 600
    ) -> JobResult:
        """Submits, waits for the job to end and returns its exit status and output."""
        return self.submit(args, cwd, env).result(timeout)

    def scontrol(self, *args: str) -> str:
        result = subprocess.run(["scontrol", *args], capture_output=True, text=True, env=self.env())
        if result.returncode != 0:
            raise RuntimeError(f"scontrol {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def requeue(self, job_id: int, timeout: float = 60) -> None:
        """Requeues a running job the way a preemption or node failure does, and lets it start again at once.

        Slurm holds a requeued job back for about two minutes (Reason=BeginTime) once it is pending again;
        resetting its start time then skips that wait.
        """
        self.scontrol("requeue", str(job_id))
        self._wait_for(lambda: "JobState=PENDING" in self.scontrol("show", "job", str(job_id)), timeout, "the requeue")
        self.scontrol("update", f"JobId={job_id}", "StartTime=now")

    def cancel(self, job_id: int) -> None:
        self.scontrol("show", "job", str(job_id))  # fails loudly for an unknown job
        subprocess.run(["scancel", "--full", str(job_id)], env=self.env(), capture_output=True, check=True)

    def cancel_all(self) -> None:
        subprocess.run(["scancel", "--full", f"--partition={self.partition}"], env=self.env(), capture_output=True)

    # -- tear-down ------------------------------------------------------------------------------

    def _job_process_ids(self) -> list[int]:
        """Processes started by this cluster's jobs: they carry this cluster's SLURM_CONF in their environment."""
        marker = f"SLURM_CONF={self.conf_path}".encode()
        own = {os.getpid()} | {process.pid for _, process in self._daemons}
        found = []
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in own:
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0") and not _is_stopped(int(entry.name)):
                found.append(int(entry.name))
        return found

    def stop(self, timeout: float = 20.0) -> None:
        """Cancels every job, stops the daemons and any process left from a job; safe to call twice."""
        if self._daemons:
            self.cancel_all()
        for _, process in reversed(self._daemons):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, process in self._daemons:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        leftovers = self._job_process_ids()
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while any(not _is_stopped(pid) for pid in leftovers) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._daemons.clear()


def run_outside_a_job(script: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """`bash slurm/<script> <args>` from the repository root as on a login node: no SLURM_* variables, this checkout's
    environment (cluster.env's settings, overridden by `settings`)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    env.update({"OPEN_R1_ROOT": str(REPO_ROOT), "OPEN_R1_MODULES": "", "OPEN_R1_VENV": str(REPO_ROOT / ".venv")})
    env.update(settings)  # OPEN_R1_ROOT too: a test's own copy of the repository
    return subprocess.run(
        ["bash", f"slurm/{script}", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def main(argv: list[str] | None = None) -> None:
    """Runs the cluster until Ctrl-C (or SIGTERM), for trying the slurm/ scripts by hand."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.slurm_cluster", description=main.__doc__)
    parser.add_argument("folder", nargs="?", default="/tmp/open-r1-slurm", help="Where its files and logs go.")
    parser.add_argument("--nodes", type=int, default=2, help="Pretend 8-GPU nodes.")
    args = parser.parse_args(argv)
    missing = missing_programs()
    if missing:
        parser.error(f"Slurm/munge not installed (missing {missing}); run: bash scripts/install_slurm.sh")
    cluster = SlurmCluster(pathlib.Path(args.folder), num_nodes=args.nodes)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the daemons on kill too
    try:
        cluster.start()
        print(
            f"Slurm cluster up: {args.nodes} pretend 8-GPU nodes in partition {cluster.partition}. In another shell:\n"
            f"    export SLURM_CONF={cluster.conf_path} PATH=$PATH:/usr/sbin\n"
            "    export OPEN_R1_PROCESSES_PER_NODE=1 ACCELERATE_USE_CPU=true   # the jobs train on the CPU\n"
            "Ctrl-C here stops it.",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
