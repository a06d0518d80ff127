"""Checks for the local-sandbox tests: calls bounded in time, and what a run may leave on the machine, looked up
from the host (processes, mounts, files, SysV IPC objects, kernel keys).

The host checks are used by the sandbox tests (per test, for their own sandbox's uids and workers) and by the session-wide check in
conftest.py (`sandbox_leftovers_check`). Other engineers run sandboxes on the same machine at the same time, so
every check looks only at what this test session owns: the uids it leased (their lock is held by this process
or by nobody) and the processes it started.
"""

import contextlib
import os
import threading
import time

import pytest

from open_r1.sandbox.local import RUN_UID_BASE, RUN_UID_COUNT, RUN_UID_LOCKS, SandboxUnavailableError


@contextlib.contextmanager
def skip_without_isolation():
    """Skips the test where the block raises SandboxUnavailableError: this machine cannot isolate programs.

    For code that starts the local sandbox itself (a reward, the python tool, a router); tests that build a
    LocalSandbox use conftest's `make_local_sandbox` / `make_module_local_sandbox`, which skip through this."""
    try:
        yield
    except SandboxUnavailableError as error:
        pytest.skip(f"no kernel isolation on this machine: {error}")


def within(seconds: float, call, *args, **kwargs):
    """`call(*args, **kwargs)`, failing the test if it has not returned after `seconds` (it runs in a daemon
    thread, so a call that blocks forever cannot hang the suite)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call(*args, **kwargs)
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{getattr(call, '__name__', call)} did not return within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _proc_entries():
    return [entry for entry in os.listdir("/proc") if entry.isdigit()]


def process_uids() -> dict[int, int]:
    """pid -> real uid of every process (a run's /proc entry is root-owned, so read its status)."""
    found = {}
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Uid:"):
                        found[int(entry)] = int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
    return found


def processes_of_uids(uids) -> list[int]:
    uids = set(uids)
    return sorted(pid for pid, uid in process_uids().items() if uid in uids)


def process_groups() -> dict[int, int]:
    """pid -> process group id; zombies are left out (they are gone, only not yet reaped)."""
    groups = {}
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != b"Z":
            groups[int(entry)] = int(fields[2])
    return groups


def processes_in_groups(groups) -> list[int]:
    """Live processes of the given process groups (a sandbox worker and everything it forked)."""
    groups = set(groups)
    return sorted(pid for pid, group in process_groups().items() if group in groups)


def sandbox_workers_of(parent: int) -> set[int]:
    """Pids of the `unshare ... _zygote.py` worker processes that `parent` started (each leads its own group)."""
    found = set()
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        if int(fields[1]) == parent and b"_zygote.py" in command and fields[0] != b"Z":
            found.add(int(entry))
    return found


def wait_until_gone(find, seconds: float) -> list:
    """Polls `find()` until it returns nothing or `seconds` pass; returns the last answer."""
    deadline = time.monotonic() + seconds
    found = find()
    while found and time.monotonic() < deadline:
        time.sleep(0.1)
        found = find()
    return found


def _lock_holders() -> dict[int, int]:
    """inode -> pid of the holder, for every flock on the machine."""
    holders = {}
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if len(fields) >= 6 and fields[1] == "FLOCK":
                holders[int(fields[5].split(":")[-1])] = int(fields[4])
    return holders


def uids_locked_by(pid: int) -> set[int]:
    """Run uids whose lock `pid` holds."""
    holders = _lock_holders()
    if not os.path.isdir(RUN_UID_LOCKS):
        return set()
    names = os.listdir(RUN_UID_LOCKS)
    return {int(n) for n in names if holders.get(os.stat(os.path.join(RUN_UID_LOCKS, n)).st_ino) == pid}


def uids_of_this_session(pids) -> set[int]:
    """Run uids whose lock is held by one of `pids` (this test process and its trainers) or by nobody."""
    holders = _lock_holders()
    mine = set()
    if not os.path.isdir(RUN_UID_LOCKS):
        return mine
    for name in os.listdir(RUN_UID_LOCKS):
        path = os.path.join(RUN_UID_LOCKS, name)
        holder = holders.get(os.stat(path).st_ino)
        if holder is None or holder in pids:
            mine.add(int(name))
    return mine


class Snapshot:
    """The host state a sandbox must leave as it found it; `leftovers()` lists what changed."""

    def __init__(self):
        self.mounts = self._mounts()
        self.files = self._files()

    @staticmethod
    def _mounts() -> set[str]:
        with open("/proc/self/mountinfo") as mountinfo:
            return {" ".join(line.split()[3:5]) for line in mountinfo}

    @staticmethod
    def _files() -> set[str]:
        found = set()
        for folder in ("/tmp", "/dev/shm"):
            try:
                found.update(os.path.join(folder, name) for name in os.listdir(folder))
            except OSError:
                continue
        return found

    def leftovers(self) -> list[str]:
        in_range = range(RUN_UID_BASE, RUN_UID_BASE + RUN_UID_COUNT)
        ours = uids_of_this_session({os.getpid()})
        problems = []
        for pid, uid in process_uids().items():
            if uid in ours and uid in in_range:
                problems.append(f"process {pid} of run uid {uid} is still alive")
        problems += [f"new mount in the host namespace: {m}" for m in self._mounts() - self.mounts]
        for path in self._files() - self.files:
            try:
                owner = os.lstat(path).st_uid
            except OSError:
                continue
            if owner in in_range:
                problems.append(f"file {path} owned by run uid {owner}")
        for kind in ("shm", "msg", "sem"):
            try:
                with open(f"/proc/sysvipc/{kind}") as table:
                    rows = [line.split() for line in table][1:]
            except OSError:
                continue
            for row in rows:
                owners = {int(value) for value in row if value.isdigit() and int(value) in in_range}
                if owners:
                    problems.append(f"SysV {kind} object {row[1]} owned by run uid {sorted(owners)}")
        problems += [f"run uid {uid} holds {count} kernel keys" for uid, count in keys_of_run_uids().items()]
        problems += [f"sandbox process {pid} ({name}) outlived its sandbox" for pid, name in orphan_workers()]
        return problems


def keys_of_run_uids() -> dict[int, int]:
    """Run uids that own kernel keys or keyrings (from /proc/key-users, which counts them for every uid)."""
    owned = {}
    with open("/proc/key-users") as table:
        for line in table:
            uid_text, _, counts = line.split()[:3]
            uid = int(uid_text.rstrip(":"))
            keys = int(counts.split("/")[0])
            if RUN_UID_BASE <= uid < RUN_UID_BASE + RUN_UID_COUNT and keys:
                owned[uid] = keys
    return owned


def orphan_workers() -> list[tuple[int, str]]:
    """Sandbox processes (unshare running the zygote, or a zygote's fork) descended from this test process
    whose worker is not one of a still-open LocalSandbox (found with the garbage collector)."""
    import gc

    from open_r1.sandbox.local import LocalSandbox

    live_groups = set()
    for item in gc.get_objects():
        try:
            sandbox = isinstance(item, LocalSandbox) and not item._closed
        except ReferenceError:  # a weakref proxy whose object is gone (torch.compile leaves some)
            continue
        if sandbox:
            live_groups.update(item.worker_pids())
    parents, commands = {}, {}
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                commands[int(entry)] = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != b"Z":
            parents[int(entry)] = (int(fields[1]), int(fields[2]))

    def descends_from_me(pid: int) -> bool:
        for _ in range(64):
            if pid == os.getpid():
                return True
            if pid not in parents:
                return False
            pid = parents[pid][0]
        return False

    found = []
    for pid, (_, group) in parents.items():
        command = commands.get(pid, "")
        is_sandbox = "_zygote.py" in command or command.startswith("open-r1-sandbox")
        if is_sandbox and group not in live_groups and descends_from_me(pid):
            found.append((pid, command[:80]))
    return found


def verdicts(result) -> list:
    """The verdict of each test of a `ProgramResult`, in order."""
    return [outcome.verdict for outcome in result.outcomes]
