"""Hostile programs run through the local sandbox: each must be contained and leave the host intact.

Every test runs a program that tries to break out (network, files, environment, other runs, resources,
signals, leftover processes), in Python and, for the main cases, in C++, and then checks both what the
program saw and the state of the host afterwards. Skips only where the machine cannot isolate at all.
"""

import os
import socket
import textwrap
import time

import pytest

from open_r1.sandbox import Limits, Submission, TestCase, Verdict
from tests.support.sandbox_checks import processes_of_uids, wait_until_gone

LIMITS = Limits(wall_seconds=3.0, cpu_seconds=2, memory_mb=256, processes=16, tmp_mb=8, output_mb=1, file_size_mb=4)

pytestmark = [pytest.mark.usefixtures("sandbox_leftovers_check"), pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def sandbox(make_module_local_sandbox):
    return make_module_local_sandbox(num_workers=2, limits=LIMITS)


def run(sandbox, source, language="python", stdin=""):
    """Runs one program once; returns (raw outcome, verdict against an expected output that never matches)."""
    compiled, raws = sandbox.run_raw(textwrap.dedent(source), language, [stdin])
    assert compiled == {} or compiled["exit_code"] == 0, compiled.get("stderr")
    return raws[0]


def verdict(sandbox, source, language="python"):
    [result] = sandbox.execute([Submission(textwrap.dedent(source), language, (TestCase("", "never printed"),))])
    return result.outcomes[0]


def sandbox_still_works(sandbox):
    raw = run(sandbox, "print(sum(range(10)))")
    assert raw["stdout"].strip() == "45"


def leftover_processes(sandbox):
    """Processes of this sandbox's run uids (other sandboxes may run on the machine at the same time)."""
    return wait_until_gone(lambda: processes_of_uids(sandbox.run_uids), 5)


def processes_with_cmdline(marker):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if marker.encode() in cmdline.read():
                        found.append(entry)
            except OSError:
                continue
    return found


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------


def test_connecting_to_a_loopback_port_opened_by_the_test_fails(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        raw = run(
            sandbox,
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"escaped")
                print("CONNECTED")
            except OSError as error:
                print("blocked", error)
            """,
        )
        assert "blocked" in raw["stdout"] and "CONNECTED" not in raw["stdout"]
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_resolving_and_reaching_a_host_name_fails(sandbox):
    raw = run(
        sandbox,
        """
        import socket, urllib.request
        for attempt in (lambda: socket.getaddrinfo("pypi.org", 443),
                        lambda: socket.create_connection(("151.101.0.223", 443), timeout=1),
                        lambda: urllib.request.urlopen("http://example.com", timeout=1)):
            try:
                attempt()
                print("REACHED")
            except Exception as error:
                print("blocked", type(error).__name__)
        print("interfaces", socket.if_nameindex())
        """,
    )
    assert raw["stdout"].count("blocked") == 3 and "REACHED" not in raw["stdout"]
    assert "eth" not in raw["stdout"].split("interfaces")[1]


def test_vsock_io_uring_and_other_socket_families_are_refused_and_the_usual_ones_still_open(sandbox):
    """No network namespace isolates AF_VSOCK (it reaches the hypervisor and the VM's other processes), and io_uring
    opens sockets and files past seccomp: both are refused with EPERM, as is a family a program has no use for
    (AF_ALG); the families a program uses (unix, IP in its own namespace, netlink) still open."""
    raw = run(
        sandbox,
        """
        import ctypes, errno, socket
        for name, family in (("vsock", 40), ("alg", 38), ("unix", 1), ("inet", 2), ("inet6", 10), ("netlink", 16)):
            kind = socket.SOCK_RAW if family == 16 else socket.SOCK_SEQPACKET if family == 38 else socket.SOCK_STREAM
            try:
                socket.socket(family, kind).close()
                print(name, "OPEN")
            except OSError as error:
                print(name, errno.errorcode.get(error.errno))
        left, right = socket.socketpair()
        print("socketpair", "OPEN")
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)
        result = libc.syscall(425, 8, params)  # io_uring_setup, the same number on x86_64 and aarch64
        print("io_uring", "OPEN" if result >= 0 else errno.errorcode.get(ctypes.get_errno()))
        """,
    )
    said = dict(line.split() for line in raw["stdout"].splitlines())
    assert said == {
        "vsock": "EPERM",
        "alg": "EPERM",
        "unix": "OPEN",
        "inet": "OPEN",
        "inet6": "OPEN",
        "netlink": "OPEN",
        "socketpair": "OPEN",
        "io_uring": "EPERM",
    }, raw


def test_memory_the_address_space_limit_cannot_see_is_refused(sandbox):
    """Found by a red team: SysV shared memory and message queues, and memfds, hold memory after it is unmapped
    (or without mapping it), so a run under memory_mb = 256 held 1.5 GiB of segments and 1 GiB of memfds."""
    raw = run(
        sandbox,
        """
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
        for name, call in (
            ("shmget", lambda: libc.shmget(0, 1 << 20, 0o1600)),  # IPC_PRIVATE, IPC_CREAT | 0600
            ("msgget", lambda: libc.msgget(0, 0o1600)),
        ):
            print(name, "OPEN" if call() >= 0 else errno.errorcode.get(ctypes.get_errno()))
        try:
            os.memfd_create("held")
            print("memfd_create OPEN")
        except OSError as error:
            print("memfd_create", errno.errorcode.get(error.errno))
        os.pipe()  # what a program does need still works
        print("pipe OPEN")
        """,
    )
    said = dict(line.split() for line in raw["stdout"].splitlines())
    assert said == {"shmget": "EPERM", "msgget": "EPERM", "memfd_create": "EPERM", "pipe": "OPEN"}, raw


def test_kernel_interfaces_exploits_start_from_are_refused(sandbox):
    """bpf (the eBPF verifier), perf_event_open and userfaultfd are where kernel exploits most often start, and no
    submission needs them; where the host's sysctls allow them (perf_event_paranoid 2 still lets a process count
    its own events, unprivileged_userfaultfd 0 still gives user-mode-only userfaultfds), only seccomp refuses."""
    raw = run(
        sandbox,
        """
        import ctypes, errno, platform
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        numbers = {"x86_64": (321, 298, 323), "aarch64": (280, 241, 282)}[platform.machine()]
        attr = (ctypes.c_uint32 * 32)(1, 128, 0)  # PERF_TYPE_SOFTWARE, its size, PERF_COUNT_SW_CPU_CLOCK
        attr[10] = 0b1100000  # exclude_kernel | exclude_hv, as perf_event_paranoid 2 asks
        for name, number, args in (
            ("bpf", numbers[0], (0, 0, 0)),  # BPF_MAP_CREATE without attributes
            ("perf_event_open", numbers[1], (ctypes.byref(attr), 0, -1, -1, 0)),
            ("userfaultfd", numbers[2], (1,)),  # UFFD_USER_MODE_ONLY
        ):
            result = libc.syscall(number, *args)
            print(name, "OPEN" if result >= 0 else errno.errorcode.get(ctypes.get_errno()))
        """,
    )
    said = dict(line.split() for line in raw["stdout"].splitlines())
    assert said == {"bpf": "EPERM", "perf_event_open": "EPERM", "userfaultfd": "EPERM"}, raw


def test_cpp_program_cannot_connect_to_loopback(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        raw = run(
            sandbox,
            f"""
            #include <arpa/inet.h>
            #include <cstdio>
            #include <sys/socket.h>
            int main() {{
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in addr{{}};
                addr.sin_family = AF_INET;
                addr.sin_port = htons({port});
                addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                puts(connect(fd, (sockaddr*)&addr, sizeof addr) == 0 ? "CONNECTED" : "blocked");
            }}
            """,
            language="cpp",
        )
        assert raw["stdout"].strip() == "blocked"
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


# ---------------------------------------------------------------------------------------------
# Files and environment
# ---------------------------------------------------------------------------------------------


def test_writes_outside_the_run_temp_folder_fail_and_host_is_untouched(sandbox, tmp_path):
    targets = [str(tmp_path / "escaped.txt"), "/etc/escaped", "/usr/escaped", "/escaped", "/work/escaped"]
    raw = run(
        sandbox,
        f"""
        import os
        for path in {targets!r}:
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                print("WROTE", path)
            except OSError as error:
                print("blocked", path, error.errno)
        open("/tmp/inside.txt", "w").write("fine")
        print("tmp ok", open("/tmp/inside.txt").read())
        """,
    )
    assert "WROTE" not in raw["stdout"] and raw["stdout"].count("blocked") == len(targets)
    assert "tmp ok fine" in raw["stdout"]
    assert not os.path.exists(tmp_path / "escaped.txt") and not os.path.exists("/etc/escaped")
    assert not os.path.exists("/usr/escaped") and not os.path.exists("/escaped")


def test_trainer_environment_and_files_are_invisible(make_local_sandbox, tmp_path, monkeypatch):
    secret = "sk-fake-secret-4f1c9e"
    monkeypatch.setenv("OPEN_R1_FAKE_API_KEY", secret)
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"E2B_API_KEY={secret}\n")
    os.chmod(dotenv, 0o644)
    box = make_local_sandbox(num_workers=1, limits=LIMITS)  # started after the secret was planted
    compiled, [raw] = box.run_raw(
        textwrap.dedent(
            f"""
            import os
            print(dict(os.environ))
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        print(open(f"/proc/{{pid}}/environ", "rb").read())
                    except OSError as error:
                        print("no environ", pid, error.errno)
            for path in ({str(dotenv)!r}, "/proc/{os.getpid()}/environ", "/root/.bashrc"):
                try:
                    print(open(path).read())
                except OSError as error:
                    print("blocked", path, error.errno)
            """
        ),
        "python",
        [""],
    )
    assert raw["exit_code"] == 0, raw["stderr"]
    assert secret not in raw["stdout"] and secret not in raw["stderr"]
    assert raw["stdout"].count("blocked") == 3


def test_a_run_cannot_see_files_of_another_run(sandbox):
    marker = "marker-7d2e91"
    writer = Submission(
        f"import time\nopen('/tmp/{marker}', 'w').write('private')\ntime.sleep(1.5)\nprint('done')",
        "python",
        (TestCase("", "done"),),
    )
    searcher_source = f"""
import os, time
time.sleep(0.5)
hits = []
for top in ("/tmp", "/work", "/"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/usr", "/sys")]
        hits += [os.path.join(root, f) for f in files if "{marker}" in f]
print("hits", hits)
"""
    searcher = Submission(searcher_source, "python", (TestCase("", "hits []"),))
    results = sandbox.execute([writer, searcher])
    assert [r.outcomes[0].verdict for r in results] == [Verdict.PASSED, Verdict.PASSED]
    later = run(sandbox, f"import os\nprint(os.path.exists('/tmp/{marker}'))")
    assert later["stdout"].strip() == "False"


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------


def test_fork_bomb_is_contained(sandbox):
    started = time.monotonic()
    outcome = verdict(
        sandbox, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    assert outcome.verdict is Verdict.TIMEOUT
    assert time.monotonic() - started < LIMITS.wall_seconds + 5
    assert leftover_processes(sandbox) == []
    sandbox_still_works(sandbox)


def test_cpp_fork_bomb_is_contained(sandbox):
    outcome = verdict(sandbox, "#include <unistd.h>\nint main(){ while (true) fork(); }", language="cpp")
    assert outcome.verdict is Verdict.TIMEOUT
    assert leftover_processes(sandbox) == []
    sandbox_still_works(sandbox)


def test_memory_bomb_hits_the_memory_limit(sandbox):
    outcome = verdict(sandbox, "chunks = []\nwhile True:\n    chunks.append(bytearray(50 << 20))\n")
    assert outcome.verdict is Verdict.MEMORY


def test_cpp_memory_bomb_hits_the_memory_limit(sandbox):
    source = """
    #include <cstring>
    #include <vector>
    int main() { std::vector<char*> keep; while (true) { char* p = new char[50 << 20]; memset(p, 1, 50 << 20); keep.push_back(p); } }
    """
    assert verdict(sandbox, source, language="cpp").verdict is Verdict.MEMORY


# ---------------------------------------------------------------------------------------------
# Crashes: no core dump of any kind, so no host crash handler (a piped core_pattern) ever starts
# ---------------------------------------------------------------------------------------------

PYTHON_CRASH = """
import ctypes, os, sys
libc = ctypes.CDLL(None)
with open("/proc/self/limits") as limits:
    print([line for line in limits if line.startswith("Max core file size")][0].split()[4:6])
print("dumpable", libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
sys.stdout.flush()
{crash}
"""

C_CRASH = """
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
int main(void) {
    char line[256];
    FILE* limits = fopen("/proc/self/limits", "r");
    while (fgets(line, sizeof line, limits))
        if (strncmp(line, "Max core file size", 18) == 0) {
            char soft[32], hard[32];
            sscanf(line + 18, "%31s %31s", soft, hard);
            printf("['%s', '%s']\\n", soft, hard);
        }
    printf("dumpable %d\\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    fflush(stdout);
    CRASH;
}
"""


def crash_report(raw) -> tuple[list[str], int]:
    """(soft and hard core size limits, PR_GET_DUMPABLE) as the crashing program printed them."""
    core_line, dumpable_line = raw["stdout"].splitlines()
    return eval(core_line), int(dumpable_line.split()[1])


@pytest.mark.parametrize("crash", ["ctypes.string_at(0)", "os.abort()"], ids=["segfault", "abort"])
def test_a_crashing_python_run_cannot_dump_core(sandbox, crash):
    source = PYTHON_CRASH.format(crash=crash)
    raw = run(sandbox, source)
    assert raw["signal"] in (6, 11), raw
    limits, dumpable = crash_report(raw)
    assert limits[0] == "1" and limits[1] in ("1", "unlimited"), limits  # soft 1: piped dumps are refused
    assert dumpable == 0  # in root mode the uid switch does it; see the user-namespace test below
    assert verdict(sandbox, source).verdict is Verdict.RUNTIME_ERROR


def test_a_crashing_python_run_is_not_dumpable_in_user_namespace_mode_too(make_local_sandbox, monkeypatch):
    """In root mode the switch to the run uid already makes a Python run non-dumpable; in user-namespace mode
    (the trainer is not root) no uid changes, and PR_SET_DUMPABLE is what does it."""
    import subprocess

    from open_r1.sandbox import local

    if subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine cannot create user namespaces")
    monkeypatch.setattr(local, "isolation_mode", lambda: "userns")
    sandbox = make_local_sandbox(num_workers=1, limits=LIMITS)
    assert sandbox.mode == "userns"
    raw = run(sandbox, PYTHON_CRASH.format(crash="ctypes.string_at(0)"))
    assert raw["signal"] == 11, raw
    assert crash_report(raw) == (["1", "1"], 0)


@pytest.mark.parametrize("crash", ["*(volatile int*)0 = 1", "abort()"], ids=["segfault", "abort"])
@pytest.mark.parametrize("language", ["c", "cpp"])
def test_a_crashing_compiled_run_cannot_dump_core(sandbox, language, crash):
    source = C_CRASH.replace("CRASH", crash)  # a C placeholder: the source is full of % and braces
    raw = run(sandbox, source, language=language)
    assert raw["signal"] in (6, 11), raw
    limits, _ = crash_report(raw)  # dumpable again after execve: the limit is what stops the dump
    assert limits[0] == "1" and limits[1] in ("1", "unlimited"), limits
    assert verdict(sandbox, source, language=language).verdict is Verdict.RUNTIME_ERROR


def test_disk_fill_stops_at_the_temp_folder_size(sandbox):
    raw = run(
        sandbox,
        """
        written = 0
        try:
            with open("/tmp/fill", "wb") as handle:
                while True:
                    handle.write(b"x" * (1 << 20))
                    handle.flush()
                    written += 1 << 20
        except OSError as error:
            print("stopped", error.errno, written)
        """,
    )
    assert "stopped" in raw["stdout"], raw
    written = int(raw["stdout"].split()[-1])
    assert written <= LIMITS.tmp_mb << 20


def test_endless_output_is_cut_at_the_output_limit(sandbox):
    started = time.monotonic()
    outcome = verdict(sandbox, "while True:\n    print('y' * 1000)\n")
    assert outcome.verdict is Verdict.OUTPUT_LIMIT
    assert time.monotonic() - started < LIMITS.wall_seconds + 2


def test_cpp_endless_output_is_cut_at_the_output_limit(sandbox):
    source = '#include <cstdio>\nint main(){ while (true) puts("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"); }'
    assert verdict(sandbox, source, language="cpp").verdict is Verdict.OUTPUT_LIMIT


def test_infinite_loop_times_out(sandbox):
    started = time.monotonic()
    assert verdict(sandbox, "while True:\n    pass\n").verdict is Verdict.TIMEOUT
    assert time.monotonic() - started < LIMITS.wall_seconds + 2


def test_cpp_infinite_loop_times_out(sandbox):
    source = "int main(){ volatile unsigned long x = 0; while (true) x++; }"
    assert verdict(sandbox, source, language="cpp").verdict is Verdict.TIMEOUT


def test_sleeping_past_the_wall_limit_times_out(sandbox):
    started = time.monotonic()
    assert verdict(sandbox, "import time\ntime.sleep(60)\n").verdict is Verdict.TIMEOUT
    assert time.monotonic() - started < LIMITS.wall_seconds + 2


# ---------------------------------------------------------------------------------------------
# Signals and leftovers
# ---------------------------------------------------------------------------------------------


def test_killing_the_parent_and_everyone_fails(sandbox):
    raw = run(
        sandbox,
        f"""
        import os, signal
        for target in (os.getppid(), {os.getpid()}, 1, -1):
            try:
                os.kill(target, signal.SIGKILL)
                print("sent", target)
            except OSError as error:
                print("refused", target, error.errno)
        """,
    )
    # Only the run itself can be reached: it may kill itself (pid 1 of its own namespace), nothing else.
    assert f"sent {os.getpid()}" not in raw["stdout"]
    assert os.getppid() > 0  # this test process is alive to check
    sandbox_still_works(sandbox)


def test_privilege_escalation_attempts_fail(sandbox):
    raw = run(
        sandbox,
        """
        import os, ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        for name, attempt in (("setuid", lambda: os.setuid(0)), ("chroot", lambda: os.chroot("/tmp")),
                              ("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 or 1 / 0),
                              ("unshare", lambda: libc.unshare(0x40000000) == 0 or 1 / 0)):
            try:
                attempt()
                print("ESCALATED", name)
            except Exception as error:
                print("refused", name)
        """,
    )
    assert "ESCALATED" not in raw["stdout"] and raw["stdout"].count("refused") == 4, raw


def test_background_processes_do_not_survive_the_run(sandbox):
    marker = "31415926"
    raw = run(
        sandbox,
        f"""
        import os, subprocess
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "{marker}1"])
            os._exit(0)
        print("left them behind")
        """,
    )
    assert "left them behind" in raw["stdout"]
    time.sleep(0.2)
    assert processes_with_cmdline(marker) == []
    assert leftover_processes(sandbox) == []


def test_cpp_background_process_does_not_survive_the_run(sandbox):
    marker = "27182818"
    source = f"""
    #include <unistd.h>
    #include <cstdio>
    int main() {{
        if (fork() == 0) {{ setsid(); execlp("sleep", "sleep", "{marker}", (char*)nullptr); }}
        puts("bye");
    }}
    """
    raw = run(sandbox, source, language="cpp")
    assert raw["stdout"].strip() == "bye"
    time.sleep(0.2)
    assert processes_with_cmdline(marker) == []
