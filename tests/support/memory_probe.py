"""Measures the peak memory that submissions make a trainer and its local-sandbox workers hold.

    python -m tests.support.memory_probe '{"output_mb": 2, "workers": 2, "submissions": [...]}'

Run in a fresh process (a process's peak RSS never goes down, so a test process could not measure twice): it
starts a `LocalSandbox`, warms its workers, resets its own peak (writing 5 to /proc/self/clear_refs), runs the
submissions in one `execute` call while a thread samples every worker process under /proc, and prints one JSON
line: the trainer's peak RSS growth, each worker role's peak RSS (VmHWM) and the zygote's RSS before the call,
in MiB, and the verdicts.

A submission is {"source", "language", "tests": [{"input", "expected", "repeat"}]}: the expected output is
`expected * repeat`, built here so that large outputs need not pass through the command line.
Only the sandbox's public API is used, so the probe measures any version of it.
"""

import json
import os
import sys
import threading
import time

from open_r1.sandbox import Limits, LocalSandbox, Submission, TestCase

# Depth below a worker's `unshare` process: the zygote, its template, the template's launcher.
ROLES = {1: "zygote", 2: "template", 3: "launcher"}


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def worker_processes(roots: list[int]) -> dict[int, str]:
    """pid -> role of every zygote, template and launcher under the given `unshare` pids."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except OSError:
                continue
    found = {}
    for pid in parents:
        depth, ancestor = 0, pid
        while ancestor not in roots and ancestor in parents and depth < 8:
            ancestor, depth = parents[ancestor], depth + 1
        if ancestor in roots and depth in ROLES:
            found[pid] = ROLES[depth]
    return found


class Sampler(threading.Thread):
    """Records the peak VmHWM per worker role while it runs."""

    def __init__(self, roots: list[int]):
        super().__init__(daemon=True)
        self.roots, self.peaks, self.running = roots, {}, True

    def run(self) -> None:
        while self.running:
            for pid, role in worker_processes(self.roots).items():
                try:
                    peak = _status_kib(pid, "VmHWM")
                except OSError:
                    continue
                self.peaks[role] = max(self.peaks.get(role, 0), peak)
            time.sleep(0.005)


def main(spec: dict) -> dict:
    limits = Limits(wall_seconds=spec.get("wall_seconds", 10), cpu_seconds=10, output_mb=spec["output_mb"])
    with LocalSandbox(num_workers=spec["workers"], limits=limits) as sandbox:
        sandbox.execute([Submission("print(1)", "python", (TestCase("", "1"),))] * spec["workers"])
        submissions = [
            Submission(
                item["source"],
                item["language"],
                tuple(TestCase(t["input"], t["expected"] * t.get("repeat", 1)) for t in item["tests"]),
            )
            for item in spec["submissions"]
        ]
        roots = sandbox.worker_pids()
        zygotes = [pid for pid, role in worker_processes(roots).items() if role == "zygote"]
        zygote_kib = max(_status_kib(pid, "VmRSS") for pid in zygotes)
        sampler = Sampler(roots)
        sampler.start()
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current RSS
        before_kib = _status_kib(os.getpid(), "VmRSS")
        results = sandbox.execute(submissions, test_batch_size=spec.get("batch_size", 0))
        trainer_kib = _status_kib(os.getpid(), "VmHWM") - before_kib
        sampler.running = False
        sampler.join()
    return {
        "trainer_growth_mb": trainer_kib / 1024,
        "worker_peak_mb": {role: kib / 1024 for role, kib in sampler.peaks.items()},
        "zygote_mb": zygote_kib / 1024,
        "verdicts": [[outcome.verdict.value for outcome in result.outcomes] for result in results],
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
