"""Runs are isolated in time: nothing a run can observe depends on an earlier run or on the trainer's secrets.

Attacks, each on one worker so the runs follow each other on the same fork server:
- memory: a run scans its whole address space (/proc/self/mem, after making itself dumpable again) for a
  sibling's program or for another test's input, and a copycat completion runs the sibling's program it found;
- SysV IPC: a run leaves shared memory, a message queue and a semaphore set behind for the next run;
- keyrings: a run reads the trainer's session keyring, or plants a key in its uid's user keyring for a later run.
The secrets are random tokens; the scanners know only their SHA-256, so a scanner never holds the token itself
unless it really found it.
"""

import os
import platform
import secrets
import subprocess
import sys
import textwrap

import pytest

from open_r1.sandbox import Limits, Submission, TestCase, Verdict
from tests.support.memory_scanner import scanner, sha
from tests.support.sandbox_checks import within

LIMITS = Limits(wall_seconds=20, cpu_seconds=20, memory_mb=1024, processes=16, tmp_mb=8, output_mb=1)

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")

# The copycat: finds the sibling's program after its token and runs it as its own.
COPY_AND_RUN = """
for token, rest in found.items():
    program = rest.split(b"# end of solution")[0].decode("utf-8", "replace")
    try:
        exec(compile(program, "copied", "exec"), {"__name__": "__main__"})
        break
    except Exception:
        continue
else:
    print("nothing to copy")
"""

SOLUTION = (
    """# {token}
a, b = map(int, input().split())
print(a + b)
# end of solution
"""
    + "# padding so the program is a large allocation\n" * 400
)

SUM_TESTS = (TestCase("1 2", "3"), TestCase("20 22", "42"))


@pytest.mark.timeout(180)
def test_a_completion_cannot_copy_an_earlier_completions_program(make_local_sandbox):
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    token = secrets.token_hex(16)
    correct = Submission(SOLUTION.format(token=token), "python", SUM_TESTS)
    copycat = Submission(scanner([sha(token)], action=COPY_AND_RUN), "python", SUM_TESTS)
    [first] = within(120, sandbox.execute, [correct])
    assert first.all_passed
    [copied] = within(120, sandbox.execute, [copycat], test_batch_size=0)
    assert [o.verdict for o in copied.outcomes] == [Verdict.FAILED] * 2, [o.detail for o in copied.outcomes]
    _, [raw] = within(120, sandbox.run_raw, scanner([sha(token)]), "python", [""])
    assert raw["stdout"].startswith("clean"), raw


@pytest.mark.timeout(180)
def test_a_run_cannot_see_the_other_inputs_of_its_batch(make_local_sandbox):
    """The tests of a program run one after another in one template; each run sees only its own input."""
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    tokens = [secrets.token_hex(16) for _ in range(3)]
    program = scanner([sha(t) for t in tokens], own="input().strip()")
    _, raws = within(150, sandbox.run_raw, program, "python", [t + "\n" for t in tokens])
    assert [raw["stdout"].split()[0] for raw in raws] == ["clean"] * 3, [r["stdout"][:300] for r in raws]


SYSV = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
KEY, IPC_CREAT = 0x5EED1D, 0o1000
mode = sys.stdin.read().strip()
if mode == "leave":
    shm = libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666)
    if shm >= 0:
        ctypes.memmove(libc.shmat(shm, None, 0), b"left by an earlier run", 22)
    print("created", shm >= 0, libc.msgget(KEY, IPC_CREAT | 0o666) >= 0, libc.semget(KEY, 1, IPC_CREAT | 0o666) >= 0)
else:
    found = [libc.shmget(KEY, 0, 0), libc.msgget(KEY, 0), libc.semget(KEY, 0, 0)]
    print("found" if any(ident >= 0 for ident in found) else "none", found)
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("same_program", [True, False], ids=["next-test", "next-program"])
def test_sysv_objects_die_with_the_run_that_made_them(make_local_sandbox, same_program):
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    if same_program:
        _, raws = within(60, sandbox.run_raw, SYSV, "python", ["leave", "look"])
    else:
        raws = [within(60, sandbox.run_raw, SYSV, "python", [mode])[1][0] for mode in ("leave", "look")]
    # Segments and queues are refused (test_hostile.py): memory RLIMIT_AS does not count; a semaphore set is made.
    assert raws[0]["stdout"].strip() == "created False False True", raws[0]
    assert raws[1]["stdout"].startswith("none"), raws[1]


KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}  # add_key, keyctl system call numbers
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = -3, -4
KEYCTL_SEARCH, KEYCTL_READ = 10, 11

# Reads every key it can reach: the session keyring's contents, a key searched by name, /proc/keys.
KEY_READER = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL = {numbers}
def read(key):
    buffer = ctypes.create_string_buffer(4096)
    size = libc.syscall(KEYCTL, {read}, key, buffer, 4096)
    return buffer.raw[: max(size, 0)]
found = []
ids = read({session})
found += [read(int.from_bytes(ids[i : i + 4], "little")) for i in range(0, len(ids), 4)]
for keyring in ({session}, {user}):
    key = libc.syscall(KEYCTL, {search}, keyring, b"user", {name!r}, 0)
    found.append(read(key) if key > 0 else b"no key %d" % ctypes.get_errno())
found.append(open("/proc/keys", "rb").read())
print(found)
"""


def key_reader(name: bytes) -> str:
    numbers = KEYCTL[platform.machine()]
    return KEY_READER.format(
        numbers=numbers,
        read=KEYCTL_READ,
        search=KEYCTL_SEARCH,
        session=KEY_SPEC_SESSION_KEYRING,
        user=KEY_SPEC_USER_KEYRING,
        name=name,
    )


TRAINER_WITH_A_KEY = """
import ctypes, sys
from open_r1.sandbox import Limits, LocalSandbox
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL = {numbers}
assert libc.syscall(KEYCTL, 1, b"trainer-session") > 0, "join a session keyring"
secret = sys.argv[1].encode()
assert libc.syscall(ADD_KEY, b"user", b"trainer-secret", secret, len(secret), {session}) > 0, "add_key"
with LocalSandbox(num_workers=1, limits=Limits(wall_seconds=10)) as box:
    _, [raw] = box.run_raw(sys.argv[2], "python", [""])
print(raw)
"""


@pytest.mark.timeout(120)
@pytest.mark.skipif(platform.machine() not in KEYCTL, reason="keyctl numbers known for x86_64 and aarch64")
def test_a_run_cannot_read_the_trainers_session_keyring():
    """A trainer with a key in its session keyring (PAM sessions, containers): no run can reach it."""
    secret = "trainer-" + secrets.token_hex(12)
    trainer = TRAINER_WITH_A_KEY.format(numbers=KEYCTL[platform.machine()], session=KEY_SPEC_SESSION_KEYRING)
    done = subprocess.run(
        [sys.executable, "-c", trainer, secret, key_reader(b"trainer-secret")],
        capture_output=True,
        text=True,
        timeout=100,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exit_code': 0" in done.stdout, done.stdout
    assert secret not in done.stdout and "trainer-secret" not in done.stdout, done.stdout


KEY_PLANTER = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL = {numbers}
payload = b"planted by an earlier run"
key = libc.syscall(ADD_KEY, b"user", b"planted-{tag}", payload, len(payload), {user})
print("planted" if key > 0 else "refused %d" % ctypes.get_errno())
"""


@pytest.mark.timeout(120)
@pytest.mark.skipif(platform.machine() not in KEYCTL, reason="keyctl numbers known for x86_64 and aarch64")
def test_a_run_cannot_leave_a_key_for_a_later_run(make_local_sandbox):
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    tag = secrets.token_hex(4)
    planter = KEY_PLANTER.format(numbers=KEYCTL[platform.machine()], tag=tag, user=KEY_SPEC_USER_KEYRING)
    _, [planted] = within(60, sandbox.run_raw, planter, "python", [""])
    _, [later] = within(60, sandbox.run_raw, key_reader(f"planted-{tag}".encode()), "python", [""])
    assert planted["stdout"].startswith("refused"), planted
    assert "planted by an earlier run" not in later["stdout"], later
    assert later["exit_code"] == 0, later["stderr"]


def test_scanner_finds_a_token_in_its_own_memory(make_local_sandbox):
    """The memory scanner works: it finds a token that really is in its memory (so 'clean' above means clean)."""
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    token = secrets.token_hex(16)
    program = "kept = input().strip()\n" + textwrap.dedent(scanner([sha(token)]))
    _, [raw] = within(120, sandbox.run_raw, program, "python", [token + "\n"])
    assert raw["stdout"].startswith("FOUND"), raw
