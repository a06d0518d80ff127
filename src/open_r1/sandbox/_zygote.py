"""The fork server that runs untrusted programs inside the local sandbox (standard library only).

`open_r1.sandbox.local` starts this file as `unshare --net --mount --pid --ipc --uts [--user] -- python -I -S -B
_zygote.py`, so it is PID 1 of fresh namespaces with no network interface up. It reads its spec (run uid,
read-only host paths, /work size) as the first frame on stdin, builds a private read-only root (tmpfs +
read-only bind mounts of /usr, the Python install and a few /etc files, with every site-packages folder
masked by an empty mount), chroots into it, overwrites its own command line and answers {"ready": true}.

Three kinds of process, so that no run can see another run's program, input or output in inherited memory:

- the zygote (this process, PID 1 of the worker): never reads a program, an input or an output. It reads only
  {"op": "program"} frames and, for each, forks a *template* and waits for it to exit;
- the template (one per program): reads {"op": "prepare", "language", "source", "limits"}, empties /work (a
  fresh tmpfs) and forks a *launcher* that holds this program and nothing else; it then compiles (C/C++) and
  serves {"op": "run", "limits", "output_limit"} frames, one per test, until {"op": "end"}, collecting each
  run's output itself and answering each with one {"result"} frame before it reads the next;
- the launcher: receives, per run, only the descriptors of that run (stdin memfd, stdout/stderr/status pipes,
  over a socketpair) and forks the run. Its memory holds the zygote's state and this program's source, never
  an input or an output, so every run starts from the same image whatever ran before it.

Each run forks twice from the launcher: the middle process enters new mount, PID and IPC namespaces, the
leader is PID 1 there (so every process it leaves behind dies with it, and SysV objects die with the IPC
namespace), mounts its own /tmp tmpfs and /proc (with /proc/cmdline, /proc/keys and /proc/key-users masked),
joins a fresh session keyring, sets rlimits, drops to the worker's unprivileged uid (or, inside a user
namespace, drops every capability), sets no_new_privs, installs a seccomp filter that refuses the keyring
and inotify/fanotify system calls, closes every inherited descriptor and then either execs the compiled
binary or, for Python, runs the source in this already-started interpreter (no interpreter start-up per test).

The template enforces the wall limit on the run's exit status, not on its pipes: a run that closes or
redirects stdout and keeps going is killed at `wall_seconds` and reported as timed out. It also watches its
stdin: if the trainer goes away mid-run, the run is killed and the worker exits.

Frames, both ways: a header `!II` (length of a JSON message, length of a raw payload), the message, then the
payload. A run request's payload is the test's input (streamed into the run's stdin memfd, never held whole);
a result's payload is the run's stdout, as bytes (JSON would escape a control byte to six). So what the template
holds for a request is one run's stdout, at most that request's `output_limit` (never above `output_mb`), and
what it may hold at all is bounded by its own address-space limit (`worker_memory_mb` of the spec, a soft
RLIMIT_AS set on the zygote and inherited by templates and launchers; each run sets its own): an allocation
past it is a MemoryError in the worker, which then exits and is replaced, never the machine's memory.

Core dumps: every run gets a core size limit of 1 byte, soft and hard. An ELF core needs at least a page, and the
kernel refuses to start a piped core_pattern handler (apport, systemd-coredump) when the soft limit is exactly 1,
so a crashing test reaches no crash handler of the host. Python runs are also marked non-dumpable
(PR_SET_DUMPABLE 0); a compiled program's execve makes it dumpable again, hence the limit.

This file must import nothing outside the standard library: after the chroot the package is not visible.
Not covered: starting, replacing and feeding workers (`open_r1.sandbox.local`); what the isolation holds against,
each with its attack test (docs/sandbox.md).
"""

import atexit
import builtins
import ctypes
import errno
import gc
import glob
import json
import os
import platform
import resource
import select
import signal
import site
import socket
import struct
import sys
import sysconfig
import threading
import time
import traceback
import types

# Modules that solutions import most; importing them once here means forked runs do not pay for it.
for _name in ("bisect", "collections", "functools", "heapq", "itertools", "math", "random", "re", "string", "typing"):
    __import__(_name)

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 22, 38
SECCOMP_MODE_FILTER = 2
KEYCTL_JOIN_SESSION_KEYRING = 1
# After a kill, how long the template waits for the run's exit status before declaring the worker broken,
# and how long it drains the pipes once the run is gone.
KILL_GRACE_SECONDS = 2.0
DRAIN_SECONDS = 1.0
# A frame's header: the length of its JSON message, then of its raw payload (see the module docstring).
FRAME = struct.Struct("!II")
# stderr kept per run (its tail is what a verdict's detail and the python tool show).
MAX_STDERR_BYTES = 1 << 16
# 1 byte: below an ELF core's page, and the value at which the kernel refuses piped core_pattern handlers.
CORE_LIMIT_BYTES = 1
# /proc files a run sees as empty: the kernel command line and the kernel's key lists.
MASKED_PROC_FILES = ("/proc/cmdline", "/proc/keys", "/proc/key-users")

# Per architecture: seccomp's AUDIT_ARCH value, keyctl's number, the refused system calls (add_key, request_key,
# keyctl: keyrings; inotify_init(1), fanotify_init: watching host files; io_uring_setup, _enter, _register: io_uring
# opens sockets and files past seccomp; shmget, msgget, memfd_create, memfd_secret: memory that outlives its
# mapping, which RLIMIT_AS does not count; bpf, perf_event_open, userfaultfd: where kernel exploits start, which
# the host's sysctls may leave open), and socket and socketpair, allowed for SOCKET_FAMILIES only.
SECCOMP_ARCHITECTURES = {
    "x86_64": (
        0xC000003E,
        250,
        (248, 249, 250, 253, 294, 300, 425, 426, 427, 29, 68, 319, 447, 321, 298, 323),
        (41, 53),
    ),
    "aarch64": (
        0xC00000B7,
        219,
        (217, 218, 219, 26, 262, 425, 426, 427, 194, 186, 279, 447, 280, 241, 282),
        (198, 199),
    ),
}
# AF_UNIX, AF_INET, AF_INET6 (the run's own network namespace) and AF_NETLINK (glibc's getaddrinfo asks it); not
# AF_VSOCK, which no network namespace isolates: it reaches the hypervisor and the VM's other processes.
SOCKET_FAMILIES = (1, 2, 10, 16)

_libc = ctypes.CDLL("libc.so.6", use_errno=True)  # find_library would spawn ldconfig


class TrainerGone(Exception):
    """The trainer closed our stdin in the middle of a request."""


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {source} on {target}",
    )


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _drop_all_capabilities() -> None:
    """Inside a user namespace the run stays uid 0 there; it must still hold no capability at all."""
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)
    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


# ---------------------------------------------------------------------------------------------
# Seccomp: refuse the keyring and file-watching system calls
# ---------------------------------------------------------------------------------------------


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_filter() -> tuple:
    """A classic BPF program (kept alive with its buffer) that fails the refused calls with EPERM.

    Any other ABI than the machine's native one (i386 via int 0x80, x32) is refused as a whole: the refused
    calls have other numbers there. A socket of another family than SOCKET_FAMILIES is refused too.
    """
    machine = platform.machine()
    if machine not in SECCOMP_ARCHITECTURES:
        raise RuntimeError(f"the local sandbox supports x86_64 and aarch64 (seccomp numbers), not {machine}")
    audit_arch, _, refused, socket_calls = SECCOMP_ARCHITECTURES[machine]
    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
    # (op, value, where to go when the test holds) with jumps named by label; a test that fails goes on.
    program = [("load", 4), (jump_eq, audit_arch, "number"), ("return", deny), ("label", "number"), ("load", 0)]
    program += [(jump_ge, 0x40000000, "deny")] if machine == "x86_64" else []
    program += [(jump_eq, number, "deny") for number in refused]
    program += [(jump_eq, number, "socket") for number in socket_calls]
    program += [("return", allow), ("label", "socket"), ("load", 16)]  # the first argument's low 32 bits
    program += [(jump_eq, family, "allow") for family in SOCKET_FAMILIES]
    program += [("label", "deny"), ("return", deny), ("label", "allow"), ("return", allow)]
    labels, position = {}, 0
    for step in program:
        if step[0] == "label":
            labels[step[1]] = position
        else:
            position += 1
    instructions = []
    for step in (step for step in program if step[0] != "label"):
        here = len(instructions)
        if step[0] == "load":
            instructions.append((load, 0, 0, step[1]))
        elif step[0] == "return":
            instructions.append((ret, 0, 0, step[1]))
        else:
            op, value, target = step
            instructions.append((op, labels[target] - here - 1, 0, value))
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in instructions)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    return buffer, _SockFprog(len(instructions), ctypes.addressof(buffer))


def _install_seccomp(compiled: tuple) -> None:
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(compiled[1]), 0, 0), "seccomp")


def _join_fresh_session_keyring() -> None:
    """Leaves the trainer's session keyring (inherited through fork) for a new, empty, anonymous one."""
    keyctl = SECCOMP_ARCHITECTURES[platform.machine()][1]
    if _libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None) < 0 and ctypes.get_errno() != errno.ENOSYS:
        raise OSError(ctypes.get_errno(), "keyctl(JOIN_SESSION_KEYRING)")


# ---------------------------------------------------------------------------------------------
# Building the private root (once, at start-up)
# ---------------------------------------------------------------------------------------------


def package_folders() -> list[str]:
    """Installed third-party package folders (the interpreter's and the system's): masked in the root."""
    found = set(site.getsitepackages()) | {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    for pattern in ("/usr/lib/python3*/dist-packages", "/usr/local/lib/python3*/*-packages"):
        found.update(glob.glob(pattern))
    return sorted(os.path.realpath(path) for path in found if os.path.isdir(path))


def hide_command_line() -> None:
    """Overwrites this process's argv area, so /proc/PID/cmdline of every run shows no host path."""
    with open("/proc/self/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    arg_start, arg_end = int(fields[45]), int(fields[46])  # fields 48 and 49 of proc(5)
    name = b"open-r1-sandbox"
    ctypes.memset(arg_start, 0, arg_end - arg_start)
    ctypes.memmove(arg_start, name, min(len(name), arg_end - arg_start - 1))
    sys.orig_argv[:] = ["python3"]


def build_root(spec: dict, masked: list[str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # A private /tmp in this mount namespace only; the new root lives inside it.
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700")
    root = "/tmp/root"
    os.mkdir(root)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), root + host)
        elif os.path.isdir(host):
            os.mkdir(root + host)
            _bind_read_only(host, root + host)
    for path in spec["read_only"]:
        if not os.path.exists(path) or os.path.exists(root + path):
            continue
        if os.path.isdir(path):
            os.makedirs(root + path)
        else:
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            open(root + path, "w").close()
        _bind_read_only(path, root + path)
    for path in masked:
        if os.path.isdir(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0755")
    os.makedirs(root + "/dev")
    for device in ("null", "zero", "full", "random", "urandom"):
        open(f"{root}/dev/{device}", "w").close()
        _mount(f"/dev/{device}", f"{root}/dev/{device}", None, MS_BIND)
    for path in ("/tmp", "/work", "/proc"):
        os.mkdir(root + path)
    os.chroot(root)
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


# ---------------------------------------------------------------------------------------------
# One run: the leader (PID 1 of the run), the middle process, the launcher
# ---------------------------------------------------------------------------------------------


def _set_limits(limits: dict) -> None:
    memory = int(limits["memory_mb"]) << 20
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    file_size = int(limits["file_size_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (CORE_LIMIT_BYTES, CORE_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    # Deep recursion is normal in contest solutions, so the stack may grow past the usual 8 MiB; but glibc
    # also reserves this much address space for every thread, so it must stay well below RLIMIT_AS.
    _, stack_hard = resource.getrlimit(resource.RLIMIT_STACK)
    stack = min(memory // 4, 64 << 20)
    stack = stack if stack_hard == resource.RLIM_INFINITY else min(stack, stack_hard)
    resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))


def _become_unprivileged(run_uid, seccomp: tuple) -> None:
    if run_uid is not None:
        os.setgroups([])
        os.setresgid(run_uid, run_uid, run_uid)
        os.setresuid(run_uid, run_uid, run_uid)
    else:
        _drop_all_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _install_seccomp(seccomp)


def _std_stream(fd: int, mode: str, name: str, errors: str, line_buffering: bool = False):
    buffering = 1 if line_buffering else -1
    stream = open(fd, mode, buffering=buffering, encoding="utf-8", errors=errors, closefd=False)
    stream.buffer.raw.name = name
    return stream


def _run_python_here(source: str) -> None:
    """Runs `source` as `python solution.py` would, in this forked interpreter, then exits."""
    # Built with open() so they carry `mode` and `name` like the interpreter's own (fast-I/O templates read them).
    sys.stdin = sys.__stdin__ = _std_stream(0, "r", "<stdin>", "strict")
    sys.stdout = sys.__stdout__ = _std_stream(1, "w", "<stdout>", "strict")
    sys.stderr = sys.__stderr__ = _std_stream(2, "w", "<stderr>", "backslashreplace", line_buffering=True)
    sys.argv = ["solution.py"]
    sys.orig_argv = ["python3", "solution.py"]
    sys.path.insert(0, "/tmp")  # the script's folder comes first, as for `python solution.py`
    main = types.ModuleType("__main__")
    main.__dict__.update({"__builtins__": builtins, "__file__": "solution.py", "__cached__": None})
    sys.modules["__main__"] = main
    gc.unfreeze()
    code = 0
    try:
        program = compile(source, "solution.py", "exec")
        exec(program, main.__dict__)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    except BaseException as error:
        # As `python solution.py` prints it: from the program's frames on, without this file's.
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        code = 1
    try:
        threading._shutdown()  # wait for non-daemon threads, as interpreter shutdown does
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            # A program may replace or close them itself, as CPython allows.
            if stream is not None and hasattr(stream, "flush") and not stream.closed:
                stream.flush()
        except BaseException:
            code = code or 120  # what CPython returns when flushing stdout fails at exit
    os._exit(code & 0xFF)


def _leader(spec: dict, program: dict, limits: dict, fds: list, seccomp: tuple) -> None:
    """PID 1 of the run's own PID namespace; never returns."""
    input_fd, out_w, err_w = fds
    try:
        compile_step = program.get("compile_step", False)
        tmp_mb = int(limits["tmp_mb"])
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for path in MASKED_PROC_FILES:
            if os.path.exists(path):
                _mount("/dev/null", path, None, MS_BIND)
        if not compile_step:
            _mount("/work", "/work", None, MS_BIND)
            _mount(None, "/work", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.dup2(input_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        os.chdir("/work" if compile_step else "/tmp")
        _join_fresh_session_keyring()
        _set_limits(limits)
        _become_unprivileged(spec["run_uid"], seccomp)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
        if program["kind"] == "python":
            # No core dump at all, whatever the core size limit (a compiled program's execve would undo this).
            _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(SET_DUMPABLE)")
            os.environ.clear()
            os.environ.update(env)
            _run_python_here(program["source"])
        # The interpreter ignores these two; a binary started from a shell would not (subprocess's restore_signals).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        os.execve(program["argv"][0], program["argv"], env)
    except BaseException as error:  # the run failed to start: report it on the run's stderr
        try:
            os.write(2, f"sandbox: could not start the program: {error!r}\n".encode())
        finally:
            os._exit(126)


def _middle(spec: dict, program: dict, limits: dict, fds: list, seccomp: tuple) -> None:
    """Enters the run's namespaces, forks its leader, reports the leader's pid and then its exit status."""
    input_fd, out_w, err_w, status_w = fds
    try:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare(mount, pid, ipc)")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        leader = os.fork()
        if leader == 0:
            os.close(status_w)
            _leader(spec, program, limits, [input_fd, out_w, err_w], seccomp)
        for fd in (input_fd, out_w, err_w):
            os.close(fd)
        os.write(status_w, struct.pack("i", leader))
        _, status = os.waitpid(leader, 0)
        os.write(status_w, struct.pack("i", status))
    finally:
        os._exit(0)


def launcher(spec: dict, programs: dict, channel: socket.socket, seccomp: tuple) -> None:
    """Forks one run per message on `channel` until it closes; never returns. Holds no input or output."""
    code = 0
    try:
        while True:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 16, 4)
            if not message:
                break
            step = json.loads(message)
            middle = os.fork()
            if middle == 0:
                os.close(channel.detach())
                _middle(spec, programs[step["step"]], step["limits"], fds, seccomp)
            for fd in fds:
                os.close(fd)
            os.waitpid(middle, 0)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def memfd_with(data: bytes) -> int:
    """A memfd holding `data`, at offset 0 (a run's stdin)."""
    fd = os.memfd_create("stdin")
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def memfd_from_stdin(size: int) -> int:
    """A memfd holding the next `size` bytes of fd 0 (a run request's payload), copied in chunks: the template
    never holds a whole input."""
    fd = os.memfd_create("stdin")
    try:
        while size:
            chunk = os.read(0, min(size, 1 << 16))
            if not chunk:
                raise TrainerGone()
            size -= len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def run_once(channel: socket.socket, step: str, input_fd: int, limits: dict, output_limit: int) -> tuple:
    """Runs one step of the prepared program with `input_fd` (closed here) as stdin, through the launcher.

    Returns (raw outcome without stdout, stdout bytes): at most `output_limit` bytes of stdout are kept; a run
    that writes more is killed and reported as `output_exceeded`."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    status_r, status_w = os.pipe()
    start = time.monotonic()
    try:
        socket.send_fds(
            channel, [json.dumps({"step": step, "limits": limits}).encode()], [input_fd, out_w, err_w, status_w]
        )
    finally:
        for fd in (input_fd, out_w, err_w, status_w):
            os.close(fd)
    try:
        return _collect(out_r, err_r, status_r, start, limits, output_limit)
    finally:
        for fd in (out_r, err_r, status_r):
            try:
                os.close(fd)
            except OSError:
                pass


def _collect(out_r: int, err_r: int, status_r: int, start: float, limits: dict, output_limit: int) -> tuple:
    """Reads a run's output until it exits or hits a limit; the deadline applies to the exit, not to the pipes."""
    deadline = start + float(limits["wall_seconds"])
    max_output = min(int(output_limit), int(limits["output_mb"]) << 20)
    stdout, stderr, status = bytearray(), bytearray(), bytearray()
    outputs = {out_r: stdout, err_r: stderr}
    status_open = True
    timed_out = output_exceeded = killed = False
    stop_at = deadline
    while status_open or outputs:
        remaining = stop_at - time.monotonic()
        if remaining <= 0:
            if not killed and status_open:
                timed_out = True
                _kill_leader(status)
                killed, stop_at = True, time.monotonic() + KILL_GRACE_SECONDS
                continue
            break
        watched = list(outputs) + ([status_r] if status_open else []) + [0]
        ready, _, _ = select.select(watched, [], [], remaining)
        if 0 in ready:
            _kill_leader(status)
            raise TrainerGone()
        for fd in ready:
            if fd == status_r:
                chunk = os.read(fd, 8)
                status += chunk
                if not chunk or len(status) >= 8:
                    status_open = False  # the run is over: drain what is left in the pipes
                    stop_at = time.monotonic() + DRAIN_SECONDS
                continue
            if fd == err_r:
                chunk = os.read(fd, 1 << 16)
                stderr += chunk[: max(0, MAX_STDERR_BYTES - len(stderr))]  # the rest is read and dropped
            else:
                # Never more than one byte past the limit in memory: that byte tells an overflow.
                chunk = os.read(fd, min(1 << 16, max_output + 1 - len(stdout)))
                stdout += chunk
                if len(stdout) > max_output:
                    del stdout[max_output:]
                    output_exceeded = True
                    _kill_leader(status)
                    killed, stop_at = True, time.monotonic() + KILL_GRACE_SECONDS
                    del outputs[fd]  # the run is being killed: what it wrote past the limit is never read
                    continue
            if not chunk:
                del outputs[fd]
    wall = time.monotonic() - start
    if not status:
        return {"sandbox_error": "could not create the run's namespaces"}, b""
    if len(status) < 8:
        if len(status) >= 4:
            _kill_leader(status)
        # The run's exit was never reported: the worker is broken (raise, and it is replaced).
        raise RuntimeError(f"run did not report its exit within {KILL_GRACE_SECONDS}s of being killed")
    exit_status = struct.unpack("i", status[4:8])[0]
    outcome = {
        "exit_code": os.WEXITSTATUS(exit_status) if os.WIFEXITED(exit_status) else None,
        "signal": os.WTERMSIG(exit_status) if os.WIFSIGNALED(exit_status) else None,
        "stderr": stderr.decode("utf-8", "replace"),
        "wall_seconds": round(wall, 4),
        "timed_out": timed_out,
        "output_exceeded": output_exceeded,
    }
    return outcome, stdout


def _kill_leader(status: bytearray) -> None:
    """Killing PID 1 of the run's namespace kills every process the program started."""
    if len(status) >= 4:
        try:
            os.kill(struct.unpack("i", status[:4])[0], signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------------------------------------
# Frames on stdin/stdout; the template; the zygote
# ---------------------------------------------------------------------------------------------

COMPILERS = {
    "cpp": ["/usr/bin/g++", "-x", "c++", "-std=c++17", "-O2", "-pipe", "-o", "/work/program", "-"],
    "c": ["/usr/bin/gcc", "-x", "c", "-std=gnu11", "-O2", "-pipe", "-o", "/work/program", "-", "-lm"],
}


def _read_exact(size: int) -> bytes:
    """Reads exactly `size` bytes of fd 0 without reading ahead: the zygote and its template share the pipe."""
    data = b""
    while len(data) < size:
        chunk = os.read(0, size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def read_header():
    """The next frame's message and the size of its payload, still unread on fd 0; None at end of file."""
    header = _read_exact(FRAME.size)
    if len(header) < FRAME.size:
        return None
    message_size, payload_size = FRAME.unpack(header)
    body = _read_exact(message_size)
    if len(body) < message_size:
        return None
    return json.loads(body), payload_size


def read_frame():
    """The next frame's message (a frame with a payload is refused); None at end of file."""
    frame = read_header()
    if frame is None:
        return None
    message, payload_size = frame
    if payload_size:
        raise ValueError(f"unexpected payload of {payload_size} bytes with {str(message)[:100]!r}")
    return message


def write_frame(message: dict, payload=b"") -> None:
    """One frame on fd 1; the payload (bytes-like) is written from where it lies, never copied."""
    body = json.dumps(message).encode()
    for data in (FRAME.pack(len(body), len(payload)) + body, payload):
        view = memoryview(data)
        while view:
            view = view[os.write(1, view) :]


def _reset_work(spec: dict) -> None:
    try:
        _libc.umount2(b"/work", 2)  # MNT_DETACH; fails harmlessly the first time
    except Exception:
        pass
    owner = spec["run_uid"] if spec["run_uid"] is not None else 0
    _mount("tmpfs", "/work", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['work_mb']}m,mode=0755,uid={owner}")


def serve_program(spec: dict, seccomp: tuple) -> int:
    """The template: one program, from its prepare frame to its end frame. Returns the exit code."""
    request = read_frame()
    if request is None:
        return 0
    if request.get("op") != "prepare":
        write_frame({"error": f"expected a prepare request, got {request.get('op')!r}"})
        return 1
    _reset_work(spec)
    language = request["language"]
    if language == "python":
        programs = {"run": {"kind": "python", "source": request["source"]}}
    else:
        programs = {
            "compile": {"kind": "exec", "argv": COMPILERS[language], "compile_step": True},
            "run": {"kind": "exec", "argv": ["/work/program"]},
        }
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    launcher_pid = os.fork()
    if launcher_pid == 0:
        ours.close()
        launcher(spec, programs, theirs, seccomp)
    theirs.close()
    try:
        outcome, stdout = {}, b""
        if language != "python":
            limits = request["limits"]
            source = memfd_with(request["source"].encode())
            outcome, stdout = run_once(ours, "compile", source, limits, int(limits["output_mb"]) << 20)
        write_frame({"compile": outcome}, stdout)
        del stdout
        while True:
            frame = read_header()
            if frame is None:
                break
            request, input_size = frame
            if request.get("op") == "end" and not input_size:
                break
            if request.get("op") != "run":
                raise ValueError(f"unknown op {request.get('op')!r}")
            # One test per request and one reply per test: the template holds one run's output at a time.
            outcome, stdout = run_once(
                ours, "run", memfd_from_stdin(input_size), request["limits"], request["output_limit"]
            )
            write_frame({"result": outcome}, stdout)
            del stdout
    except TrainerGone:
        return 0  # the zygote reads the same end of file and ends the worker, runs included
    except Exception as error:
        try:
            write_frame({"error": f"{type(error).__name__}: {error}"})
        except OSError:
            pass  # the trainer is gone
        return 1  # the zygote then ends the worker; a fresh one replaces it
    ours.close()
    os.waitpid(launcher_pid, 0)  # idle in recv: it sees the socket close and exits
    return 0


def _reap_orphans() -> None:
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def main() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    spec = read_frame()
    if spec is None:
        return
    # Soft only: each run raises it to its own memory limit (hard limits cannot be raised in a user namespace).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = int(spec["worker_memory_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    seccomp = seccomp_filter()
    hide_command_line()
    build_root(spec, package_folders())
    # `python -S` skipped site: give runs its builtins (exit, quit, help...) but no site-packages on sys.path.
    site.setquit()
    site.setcopyright()
    site.sethelper()
    gc.collect()
    gc.freeze()  # keep the zygote's objects out of the runs' copy-on-write pages
    write_frame({"ready": True, "pid_namespace_init": os.getpid() == 1})
    while True:
        request = read_frame()  # only ever {"op": "program"}: the zygote never reads a program or its data
        if request is None:
            return
        if request != {"op": "program"}:
            write_frame({"error": f"the zygote only forks templates, got {str(request)[:100]!r}"})
            sys.exit(1)
        template = os.fork()
        if template == 0:
            code = 1
            try:
                code = serve_program(spec, seccomp)
            finally:
                os._exit(code)
        _, status = os.waitpid(template, 0)
        _reap_orphans()
        if status != 0:
            sys.exit(1)  # the template failed: end the worker (the trainer starts a fresh one)


if __name__ == "__main__":
    main()
