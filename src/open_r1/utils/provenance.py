"""Where and when a measurement was made, as the demos and benchmark scripts record it in their results files.

    from open_r1.utils.provenance import provenance_record, read_provenance, with_end_load

    record = provenance_record()        # at the start: date, commit, machine (CPU, cores, load), versions
    ...                                 # the run
    results = {**with_end_load(record), ...}          # the load average at the end added
    machine = read_provenance(results)["machine"]     # any results file's, in `provenance_record`'s form

A record is `{"date", "commit", "machine": {"cpu", "cores", "omp_num_threads", "load_average_at_start",
"load_average_at_end"}, "versions": {"python", "torch", "transformers", "trl"}}`, merged into a demo's results or a
benchmark's `settings`. Load averages are lists (1, 5 and 15 minutes). `read_provenance` also reads the forms older
results files kept (docs/results/ holds committed ones): a flat `machine` naming the architecture, the cores as
`cpus`, `cpu_cores` or `cores_usable`, a load average as one number or as `load_average` [start, end] of 1-minute
ones. `provenance_cells` and `utc_time` write a record into the docs tables.
Not covered: the GPU (the scripts that use one record its name themselves), what a table says about the load
(each script words its own), the results files and tables themselves (`open_r1.utils.results_docs`).
"""

import datetime
import importlib.metadata
import os
import pathlib
import platform
import subprocess

from open_r1.utils.launch import REPO_ROOT, usable_cores

# The packages whose versions a record keeps: the timings depend on them.
PACKAGES = ("torch", "transformers", "trl")
# What older results files called the core count (`cpus`: demo.report.benchmark_provenance, `cpu_cores`:
# grpo_throughput.py, `cores_usable`: tool_round.py).
OLD_CORE_KEYS = ("cpus", "cpu_cores", "cores_usable")


def git_commit() -> str | None:
    """This checkout's short commit, with "+changes" when tracked files differ from it; None outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changes else "")


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (platform's guess elsewhere)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict:
    """Python's version and each of `PACKAGES`' installed one (None where not installed), without importing them."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def provenance_record() -> dict:
    """When (UTC), at which commit and on which machine a run starts. `cores`: those this process may use. The load
    average (1, 5, 15 minutes) says how much else was running; `with_end_load` takes it again at the end.
    `omp_num_threads` is the environment's OMP_NUM_THREADS (None: torch's default, one thread per core): timings
    depend on it."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cpu": cpu_model(),
            "cores": usable_cores(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_average_at_start": list(os.getloadavg()),
        },
        "versions": versions(),
    }


def with_end_load(record: dict) -> dict:
    """`record`, taken at a run's start, with the load average at its end added (which covers about the run)."""
    return {**record, "machine": {**record["machine"], "load_average_at_end": list(os.getloadavg())}}


def read_provenance(results: dict) -> dict:
    """The provenance in `results` (a demo's results or a benchmark's settings) in `provenance_record`'s form,
    whichever form it was saved in; what was not recorded is None (a machine not recorded: its `cpu` is None)."""
    machine = results.get("machine")
    if isinstance(machine, dict):
        cpu, threads, cores = machine.get("cpu"), machine.get("omp_num_threads"), machine.get("cores")
        start, end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    else:  # the flat settings of older benchmark files: "machine" was platform.machine(), "x86_64"
        cpu, threads = machine, None
        cores = next((results[key] for key in OLD_CORE_KEYS if key in results), None)
        start, end = results.get("load_average_at_start"), results.get("load_average_at_end")
        if "load_average" in results:  # [1-minute load at the start, 1-minute load at the end], the end optional
            start, end = results["load_average"][:1], results["load_average"][1:] or None
        if isinstance(start, (int, float)):  # the 1-minute load alone
            start = [start]
    return {
        "date": results.get("date"),
        "commit": results.get("commit"),
        "machine": {
            "cpu": cpu,
            "cores": cores,
            "omp_num_threads": threads,
            "load_average_at_start": start,
            "load_average_at_end": end,
        },
        "versions": results.get("versions") or {name: results[name] for name in PACKAGES if name in results},
    }


def utc_time(date: str) -> str:
    """A record's date as the pages write it: "2026-11-23 20:00:00"."""
    return date.replace("T", " ").removesuffix("+00:00")


def provenance_cells(results: dict, load: str, machine: str | None = None) -> list[str]:
    """A benchmark table row's first cells, from the provenance in `results`: the day, the commit, and the machine
    (its CPU, or `machine`, a GPU's name) with its cores and `load` (which each script words its own way)."""
    record = read_provenance(results)
    return [
        record["date"][:10],  # the day alone, as the tables always gave it
        record["commit"] or "unknown",
        f"{machine or record['machine']['cpu']}, {record['machine']['cores']} CPUs, {load}",
    ]
