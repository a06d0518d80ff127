"""The fork server that runs untrusted programs inside the local sandbox (standard library only).

`open_r1.sandbox.local` starts this file as `unshare --net --mount --pid --ipc --uts [--user] -- python -I
_zygote.py ROOT_SPEC`: it is then PID 1 of fresh namespaces with no network interface up. It builds a
private read-only root (tmpfs + read-only bind mounts of /usr, the Python install and a few /etc files),
chroots into it and serves requests read from stdin as length-prefixed JSON frames:

- {"op": "prepare", "language", "source", "limits"}: empties /work (a fresh tmpfs) and, for C/C++, compiles
  the source there (inside the sandbox, like any other run).
- {"op": "run", "inputs": [...], "limits"}: runs the prepared program once per input and answers the raw
  outcome of each (exit status, signal, stdout, stderr, wall time, limit flags). Expected outputs are never
  sent here, so a program cannot read them from this process's memory.

Each run forks twice: the middle process enters a new mount and PID namespace, the grandchild is PID 1 there
(so every process it leaves behind dies with it), mounts its own private /tmp tmpfs and /proc, sets rlimits,
drops to an unprivileged uid (or, inside a user namespace, drops every capability), closes every inherited
descriptor and then either execs the compiled binary or, for Python, runs the source in this already-started
interpreter (the fork server: no interpreter start-up per test).

This file must import nothing outside the standard library: after the chroot the package is not visible.
"""

import atexit
import builtins
import ctypes
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
import traceback

# Modules that solutions import most; importing them once here means forked runs do not pay for it.
for _name in ("bisect", "collections", "functools", "heapq", "itertools", "math", "random", "re", "string", "typing"):
    __import__(_name)

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
# keyctl(2): the syscall number per architecture, and the operations used to cut a run off from keyrings.
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -4, -5
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_CAPBSET_DROP = 38, 1, 24

_libc = ctypes.CDLL("libc.so.6", use_errno=True)  # find_library would spawn ldconfig


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


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
# Building the private root (once, at start-up)
# ---------------------------------------------------------------------------------------------


def build_root(spec: dict) -> None:
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
# One run
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
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    # Deep recursion is normal in contest solutions, so the stack may grow past the usual 8 MiB; but glibc
    # also reserves this much address space for every thread, so it must stay well below RLIMIT_AS.
    _, stack_hard = resource.getrlimit(resource.RLIMIT_STACK)
    stack = min(memory // 4, 64 << 20)
    stack = stack if stack_hard == resource.RLIM_INFINITY else min(stack, stack_hard)
    resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))


def _become_unprivileged(run_uid) -> None:
    if run_uid is not None:
        os.setgroups([])
        os.setresgid(run_uid, run_uid, run_uid)
        os.setresuid(run_uid, run_uid, run_uid)
    else:
        _drop_all_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def _isolate_keyrings() -> None:
    """A fresh anonymous session keyring, and empty per-uid keyrings, for this run.

    The session keyring inherited from the trainer (PAM sessions and containers give it one) would let the
    run read, revoke or plant its keys; the per-uid keyrings would carry keys from one run of this uid to the
    next. Called after the switch to the run's uid, so the new keyring belongs to it.
    """
    if SYS_KEYCTL is None:
        return
    for operation, argument in (
        (KEYCTL_JOIN_SESSION_KEYRING, None),
        (KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING),
        (KEYCTL_CLEAR, KEY_SPEC_USER_SESSION_KEYRING),
    ):
        if _libc.syscall(SYS_KEYCTL, operation, argument) == -1 and ctypes.get_errno() not in (38, 95):
            # ENOSYS / EOPNOTSUPP: no keyrings in this kernel, so none to reach either.
            raise OSError(ctypes.get_errno(), f"keyctl({operation}) failed: {os.strerror(ctypes.get_errno())}")


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
    sys.path[0] = "/tmp"
    gc.unfreeze()
    code = 0
    try:
        program = compile(source, "solution.py", "exec")
        exec(program, {"__name__": "__main__", "__builtins__": builtins, "__file__": "solution.py"})
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
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


def _grandchild(spec: dict, program: dict, limits: dict, input_fd: int, out_w: int, err_w: int) -> None:
    """PID 1 of the run's own PID namespace; never returns."""
    try:
        compile_step = program.get("compile_step", False)
        tmp_mb = int(limits["tmp_mb"])
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if not compile_step:
            _mount("/work", "/work", None, MS_BIND)
            _mount(None, "/work", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.dup2(input_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        os.chdir("/work" if compile_step else "/tmp")
        _set_limits(limits)
        _become_unprivileged(spec["run_uid"])
        _isolate_keyrings()
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
        if program["kind"] == "python":
            os.environ.clear()
            os.environ.update(env)
            _run_python_here(program["source"])
        os.execve(program["argv"][0], program["argv"], env)
    except BaseException as error:  # the run failed to start: report it on the run's stderr
        try:
            os.write(2, f"sandbox: could not start the program: {error!r}\n".encode())
        finally:
            os._exit(126)


def run_once(spec: dict, program: dict, stdin_data: str, limits: dict) -> dict:
    input_fd = os.memfd_create("stdin")
    os.write(input_fd, stdin_data.encode())
    os.lseek(input_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    status_r, status_w = os.pipe()
    start = time.monotonic()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            os.close(status_r)
            # A new IPC namespace per run: SysV shared memory, message queues and semaphores a run creates are
            # invisible to every other run and are freed with the namespace when the run ends.
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare(mount, pid, ipc)")
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            leader = os.fork()
            if leader == 0:
                os.close(status_w)
                _grandchild(spec, program, limits, input_fd, out_w, err_w)
            os.close(out_w)
            os.close(err_w)
            os.write(status_w, struct.pack("i", leader))
            _, status = os.waitpid(leader, 0)
            os.write(status_w, struct.pack("i", status))
        finally:
            os._exit(0)
    for fd in (input_fd, out_w, err_w, status_w):
        os.close(fd)

    raw_leader = os.read(status_r, 4)
    if len(raw_leader) < 4:
        for fd in (out_r, err_r, status_r):
            os.close(fd)
        os.waitpid(middle, 0)
        return {"sandbox_error": "could not create the run's namespaces"}
    leader = struct.unpack("i", raw_leader)[0]
    deadline = start + float(limits["wall_seconds"])
    max_output = int(limits["output_mb"]) << 20
    max_stderr = 1 << 16
    stdout, stderr = bytearray(), bytearray()
    open_fds = {out_r: stdout, err_r: stderr}
    timed_out = output_exceeded = False
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                del open_fds[fd]
                os.close(fd)
                continue
            buffer = open_fds[fd]
            if fd == err_r:
                buffer += chunk[: max(0, max_stderr - len(buffer))]
            else:
                buffer += chunk
                if len(buffer) > max_output:
                    output_exceeded = True
                    del buffer[max_output:]
        if output_exceeded:
            break
    if not open_fds and not timed_out:
        # The program closed its stdout and stderr (or they reached end-of-file) but may still be running: the
        # wall limit holds until its PID 1 has exited, whatever it did to its descriptors.
        remaining = deadline - time.monotonic()
        ready = select.select([status_r], [], [], max(0.0, remaining))[0] if remaining > 0 else []
        if not ready:
            timed_out = True
    if open_fds or timed_out:
        # Killing PID 1 of the run's namespace kills every process the program started.
        try:
            os.kill(leader, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for fd in open_fds:
            os.close(fd)
    raw = os.read(status_r, 4)
    os.close(status_r)
    os.waitpid(middle, 0)
    wall = time.monotonic() - start
    status = struct.unpack("i", raw)[0] if len(raw) == 4 else -1
    return {
        "exit_code": os.WEXITSTATUS(status) if status >= 0 and os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if status >= 0 and os.WIFSIGNALED(status) else None,
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr": stderr.decode("utf-8", "replace"),
        "wall_seconds": round(wall, 4),
        "timed_out": timed_out,
        "output_exceeded": output_exceeded,
    }


# ---------------------------------------------------------------------------------------------
# The request loop
# ---------------------------------------------------------------------------------------------

COMPILERS = {
    "cpp": ["/usr/bin/g++", "-x", "c++", "-std=c++17", "-O2", "-pipe", "-o", "/work/program", "-"],
    "c": ["/usr/bin/gcc", "-x", "c", "-std=gnu11", "-O2", "-pipe", "-o", "/work/program", "-", "-lm"],
}


def prepare(spec: dict, request: dict) -> tuple[dict, dict]:
    """Resets /work and builds the program; returns (program, compile outcome or {})."""
    try:
        _libc.umount2(b"/work", 2)  # MNT_DETACH; fails harmlessly the first time
    except Exception:
        pass
    owner = spec["run_uid"] if spec["run_uid"] is not None else 0
    _mount("tmpfs", "/work", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['work_mb']}m,mode=0755,uid={owner}")
    language = request["language"]
    if language == "python":
        return {"kind": "python", "source": request["source"]}, {}
    compiler = COMPILERS[language]
    outcome = run_once(
        spec, {"kind": "exec", "argv": compiler, "compile_step": True}, request["source"], request["limits"]
    )
    return {"kind": "exec", "argv": ["/work/program"]}, outcome


def _read_frame():
    header = sys.stdin.buffer.read(4)
    if len(header) < 4:
        return None
    size = struct.unpack("!I", header)[0]
    return json.loads(sys.stdin.buffer.read(size))


def _write_frame(message: dict) -> None:
    data = json.dumps(message).encode()
    sys.stdout.buffer.write(struct.pack("!I", len(data)) + data)
    sys.stdout.buffer.flush()


def main() -> None:
    spec = json.loads(sys.argv[1])
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    build_root(spec)
    gc.collect()
    gc.freeze()  # keep the fork server's objects out of the runs' copy-on-write pages
    _write_frame({"ready": True, "pid_namespace_init": os.getpid() == 1})
    program = None
    while True:
        request = _read_frame()
        if request is None:
            return
        try:
            if request["op"] == "prepare":
                program, outcome = prepare(spec, request)
                _write_frame({"compile": outcome})
            elif request["op"] == "run":
                if program is None:
                    raise RuntimeError("run before prepare")
                results = [run_once(spec, program, data, request["limits"]) for data in request["inputs"]]
                _write_frame({"results": results})
            else:
                raise ValueError(f"unknown op {request['op']!r}")
        except Exception as error:
            _write_frame({"error": f"{type(error).__name__}: {error}"})
        finally:
            # Reap anything the namespace's PID 1 (this process) inherited.
            while True:
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break


if __name__ == "__main__":
    main()
