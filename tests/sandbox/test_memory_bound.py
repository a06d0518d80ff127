"""Hostile outputs cannot make the trainer or a local-sandbox worker hold more than a few times the output cap.

Each attack runs in a fresh trainer process (`tests.support.memory_probe`), which reports its own peak RSS growth
and the peak RSS of every worker process (zygote, template, launcher) while the submissions run: junk of control
bytes or random bytes up to the cap on every one of 16-24 tests, in Python and C++, one or two submissions at
once; large honest outputs; junk against short expected outputs (cut at the per-test limit, not at the cap).
Also: the fork server's own memory limit, and a failure while reading a reply costs the submission, not the
trainer.
"""

import json
import os
import subprocess
import sys
import threading

import pytest

from open_r1.sandbox import Limits, Submission, TestCase, Verdict
from open_r1.sandbox.local import _ForkServer
from tests.support import REPO_ROOT
from tests.support.memory_probe import worker_processes
from tests.support.sandbox_checks import skip_without_isolation, within

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

OUTPUT_MB = 2
CAP = OUTPUT_MB << 20
# What one submission in progress may cost the trainer: the output's bytes and its text (up to 4 bytes a
# character when it holds an emoji among ASCII) and a little more; plus allocator slack for the whole call.
TRAINER_MB_PER_WORKER = 6 * OUTPUT_MB
TRAINER_SLACK_MB = 8
# A template holds one run's output (and reads it in 64 KiB chunks), on top of the zygote image it shares.
WORKER_MB = 3 * OUTPUT_MB + 4

CONTROL_BYTES = "import sys\nsys.stdout.buffer.write(b'\\x01' * {size})\n"
RANDOM_BYTES = "import os, sys\nsys.stdout.buffer.write(os.urandom({size}))\n"
CPP_CONTROL_BYTES = """
#include <cstdio>
#include <vector>
int main() {{ std::vector<char> junk({size}, '\\x1f'); fwrite(junk.data(), 1, junk.size(), stdout); }}
"""
HONEST = "n = int(input())\nprint('\\n'.join(str(n) * 9 for _ in range({lines})))\n"


def probe(submissions, workers=1, output_mb=OUTPUT_MB) -> dict:
    """Runs `submissions` in a fresh trainer process; its report (see tests/support/memory_probe.py)."""
    spec = {"output_mb": output_mb, "workers": workers, "submissions": submissions}
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'src'}{os.pathsep}{REPO_ROOT}")
    with skip_without_isolation():
        from open_r1.sandbox.local import isolation_mode

        isolation_mode()
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.memory_probe", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO_ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def junk(source, tests=16, expected_size=CAP, language="python"):
    """A submission writing `source`'s junk on every test, against expected outputs of `expected_size` bytes."""
    return {
        "source": source,
        "language": language,
        "tests": [{"input": str(i), "expected": "7", "repeat": expected_size} for i in range(tests)],
    }


def assert_bounded(report, workers=1):
    trainer_bound = workers * TRAINER_MB_PER_WORKER + TRAINER_SLACK_MB
    assert report["trainer_growth_mb"] <= trainer_bound, report
    for role in ("template", "launcher"):
        assert report["worker_peak_mb"][role] <= report["zygote_mb"] + WORKER_MB, (role, report)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("source", [CONTROL_BYTES, RANDOM_BYTES], ids=["control-bytes", "random-bytes"])
def test_junk_up_to_the_cap_on_every_test_is_held_one_test_at_a_time(source):
    report = probe([junk(source.format(size=CAP - 100))])
    assert report["verdicts"] == [["failed"] * 16], report["verdicts"]
    assert_bounded(report)


@pytest.mark.timeout(300)
def test_cpp_junk_past_the_cap_on_every_test_is_cut_and_bounded():
    report = probe([junk(CPP_CONTROL_BYTES.format(size=CAP + 4096), tests=20, language="cpp")])
    assert report["verdicts"] == [["output_limit"] * 20], report["verdicts"]
    assert_bounded(report)


@pytest.mark.timeout(300)
def test_two_junk_submissions_at_once_on_two_workers_are_bounded_per_worker():
    report = probe([junk(CONTROL_BYTES.format(size=CAP - 100))] * 2, workers=2)
    assert report["verdicts"] == [["failed"] * 16] * 2, report["verdicts"]
    assert_bounded(report, workers=2)


@pytest.mark.timeout(300)
def test_many_tests_with_large_honest_outputs_pass_within_the_bound():
    lines = (CAP - 4096) // 10  # "nnnnnnnnn\n": just under the cap
    tests = [{"input": str(n % 10), "expected": (str(n % 10) * 9 + "\n"), "repeat": lines} for n in range(24)]
    report = probe([{"source": HONEST.format(lines=lines), "language": "python", "tests": tests}])
    assert report["verdicts"] == [["passed"] * 24], report["verdicts"]
    assert_bounded(report)


@pytest.mark.timeout(300)
def test_junk_against_short_expected_outputs_is_cut_at_the_per_test_limit_not_the_cap():
    """With the default 16 MiB cap, a program writing 8 MiB per test against answers of a few bytes is stopped
    after `OUTPUT_FLOOR_BYTES`: the trainer never receives more than that per test."""
    from open_r1.sandbox.base import OUTPUT_FLOOR_BYTES

    report = probe([junk("import sys\nsys.stdout.write('1' * (8 << 20))\n", expected_size=1)], output_mb=16)
    assert report["trainer_growth_mb"] <= 4 * OUTPUT_FLOOR_BYTES / 2**20 + 2, report
    assert report["verdicts"] == [["output_limit"] * 16], report["verdicts"]


def _address_space_limits(pids):
    found = []
    for pid in pids:
        with open(f"/proc/{pid}/limits") as limits:
            line = next(line for line in limits if line.startswith("Max address space"))
        found.append(line.split()[3])
    return found


@pytest.mark.timeout(120)
def test_the_fork_server_and_its_templates_have_a_memory_limit_of_their_own(make_local_sandbox):
    """Each worker process has a soft address-space limit, room for one output at the cap (the large honest
    outputs above pass under it): a runaway allocation there is a MemoryError in the worker, not in the host."""
    from open_r1.sandbox.local import WORKER_BASE_MEMORY_MB

    limits = Limits(wall_seconds=5, cpu_seconds=5, output_mb=OUTPUT_MB)
    sandbox = make_local_sandbox(num_workers=1, limits=limits)
    seen = {}

    def look():
        for pid, role in worker_processes(sandbox.worker_pids()).items():
            try:
                seen[role] = _address_space_limits([pid])[0]
            except OSError:
                continue

    program = "import time\ntime.sleep(1.5)\nprint(1)\n"
    runner = threading.Thread(target=lambda: sandbox.execute([Submission(program, "python", (TestCase("", "1"),))]))
    runner.start()
    while runner.is_alive():
        look()
        runner.join(0.1)
    expected = str((WORKER_BASE_MEMORY_MB + 2 * OUTPUT_MB) << 20)
    assert seen == {"zygote": expected, "template": expected, "launcher": expected}, seen


@pytest.mark.timeout(120)
def test_a_memory_error_while_reading_a_reply_costs_the_submission_and_the_worker_only(
    make_local_sandbox, monkeypatch
):
    """The trainer cannot allocate a reply's payload: that submission gets SANDBOX_ERROR, the worker is replaced,
    and the next submission is graded as usual."""
    sandbox = make_local_sandbox(num_workers=1, limits=Limits(wall_seconds=5, cpu_seconds=5))
    real_read = _ForkServer._read_exact

    def read_or_fail(self, size, deadline):
        if size > 100_000:
            raise MemoryError()
        return real_read(self, size, deadline)

    monkeypatch.setattr(_ForkServer, "_read_exact", read_or_fail)
    big = Submission("print('x' * 200_000)", "python", (TestCase("", "x" * 200_000),))
    [failed] = within(60, sandbox.execute, [big])
    assert [o.verdict for o in failed.outcomes] == [Verdict.SANDBOX_ERROR], failed
    assert "MemoryError" in failed.sandbox_error
    [passed] = within(60, sandbox.execute, [Submission("print(42)", "python", (TestCase("", "42"),))])
    assert passed.all_passed, passed
