"""Run identities do not collide: every concurrently live run on the machine has its own uid, across workers,
sandboxes and processes, so one run's process limit (RLIMIT_NPROC counts per uid) never starves another's.

The attack: a fork bomb that fills its process limit and holds it, in one sandbox of this process and in a
sandbox of another process, while a second sandbox of this process runs a program that needs a few processes.
"""

import os
import subprocess
import sys
import threading
import time

import pytest

from open_r1.sandbox import Limits, LocalSandbox, Submission, TestCase, Verdict
from open_r1.sandbox.local import RUN_UID_BASE, RUN_UID_COUNT, RUN_UID_LOCKS, isolation_mode
from tests.support.sandbox_checks import (
    processes_of_uids,
    skip_without_isolation,
    uids_locked_by,
    wait_until_gone,
    within,
)

LIMITS = Limits(wall_seconds=6, cpu_seconds=6, memory_mb=256, processes=16, tmp_mb=8, output_mb=1)

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

# Fills the process limit with sleeping children and keeps it full until the wall limit (a fork bomb that
# does not burn the shared machine's CPU).
HOLD_EVERY_PROCESS = """
import os, time
print("uid", os.getuid(), flush=True)
held = 0
deadline = time.time() + 30
while time.time() < deadline:
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        held += 1
    except OSError:
        time.sleep(0.05)
"""

# Needs 8 processes at once; reports whether the kernel refused any.
NEEDS_EIGHT_PROCESSES = """
import os, time
children, refused = [], 0
for _ in range(8):
    try:
        pid = os.fork()
        if pid == 0:
            time.sleep(0.3)
            os._exit(0)
        children.append(pid)
    except OSError:
        refused += 1
for pid in children:
    os.waitpid(pid, 0)
print("uid", os.getuid(), "starved" if refused else "ok")
"""

OTHER_PROCESS = """
import sys
from open_r1.sandbox import Limits, LocalSandbox
with LocalSandbox(num_workers=1, limits=Limits(wall_seconds=6, cpu_seconds=6, processes=16)) as box:
    _, [raw] = box.run_raw(sys.argv[1], "python", [""])
print(raw["stdout"].splitlines()[0])
"""


def _root_mode_or_skip():
    with skip_without_isolation():
        mode = isolation_mode()
    if mode != "root":
        pytest.skip("distinct uids per run need root (user-namespace mode runs as the trainer's uid)")


@pytest.mark.timeout(120)
def test_a_fork_bomb_in_one_sandbox_does_not_starve_another(make_local_sandbox):
    _root_mode_or_skip()
    bomb_box = make_local_sandbox(num_workers=1, limits=LIMITS)
    victim_box = make_local_sandbox(num_workers=1, limits=LIMITS)
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, HOLD_EVERY_PROCESS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    bombs = {}
    bomber = threading.Thread(
        target=lambda: bombs.update(raw=bomb_box.run_raw(HOLD_EVERY_PROCESS, "python", [""])[1][0]), daemon=True
    )
    try:
        bomber.start()
        time.sleep(2.5)  # both bombs hold their whole process limit by now
        _, [victim] = within(60, victim_box.run_raw, NEEDS_EIGHT_PROCESSES, "python", [""])
        bomber.join(60)
        other_out, other_err = other.communicate(timeout=60)
    finally:
        other.kill()
        other.wait()
    assert victim["stdout"].split()[-1] == "ok", victim
    assert other.returncode == 0, other_err[-2000:]
    run_uids = [int(bombs["raw"]["stdout"].split()[1]), int(victim["stdout"].split()[1]), int(other_out.split()[1])]
    assert len(set(run_uids)) == 3, f"runs shared a uid: {run_uids}"
    assert all(RUN_UID_BASE <= uid < RUN_UID_BASE + RUN_UID_COUNT for uid in run_uids)
    assert wait_until_gone(lambda: processes_of_uids(run_uids[:2]), 10) == []


@pytest.mark.timeout(120)
def test_workers_of_two_sandboxes_lease_distinct_uids_and_free_them_on_close():
    _root_mode_or_skip()
    first = LocalSandbox(num_workers=3, limits=LIMITS)
    second = LocalSandbox(num_workers=3, limits=LIMITS)
    try:
        print_uid = Submission("import os\nprint(os.getuid())", "python", (TestCase("", "?"),))
        within(60, first.execute, [print_uid] * 3)
        within(60, second.execute, [print_uid] * 3)
        leased = first.run_uids + second.run_uids
        assert len(leased) == len(set(leased)) == 6, leased
        for uid in leased:  # each uid's lock is held while its worker lives
            assert os.path.exists(os.path.join(RUN_UID_LOCKS, str(uid)))
    finally:
        first.close()
        second.close()
    assert not set(leased) & uids_locked_by(os.getpid()), "close() must free the uids"


def test_the_uid_lock_folder_is_root_owned_and_private():
    _root_mode_or_skip()
    with LocalSandbox(num_workers=1, limits=LIMITS) as box:
        [result] = within(60, box.execute, [Submission("print(1)", "python", (TestCase("", "1"),))])
        assert result.outcomes[0].verdict is Verdict.PASSED
    info = os.lstat(RUN_UID_LOCKS)
    assert info.st_uid == 0 and not info.st_mode & 0o077
