"""What a run can see of the host, beyond the defences of test_hostile.py: each item that local.py's
docstring lists as closed is checked closed here, and each listed as open is checked to be what it says.

Closed: the kernel command line (/proc/cmdline), the kernel key lists (/proc/keys, /proc/key-users), the fork
server's command line (no host path or spec in /proc/self/cmdline, /proc/1/cmdline or sys.orig_argv), the
interpreter's and the system's site-packages (masked by empty mounts, not on sys.path), inotify and fanotify
(refused by seccomp, so host file activity cannot be watched through the read-only mounts).
Open, on purpose: the standard library, /usr and the Python install are readable (public software).
"""

import os
import subprocess
import textwrap

import pytest

from open_r1.sandbox import Limits
from open_r1.sandbox.local import ZYGOTE, sandbox_python
from tests.support.sandbox_checks import within

LIMITS = Limits(wall_seconds=10, cpu_seconds=10, memory_mb=512, processes=16, tmp_mb=8, output_mb=1)

pytestmark = [pytest.mark.usefixtures("sandbox_leftovers_check"), pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def sandbox(make_module_local_sandbox):
    return make_module_local_sandbox(num_workers=1, limits=LIMITS)


def run(sandbox, source: str, language: str = "python") -> dict:
    compiled, raws = within(90, sandbox.run_raw, textwrap.dedent(source), language, [""])
    assert compiled == {} or compiled["exit_code"] == 0, compiled
    assert raws[0]["exit_code"] == 0, raws[0]["stderr"]
    return raws[0]


def test_kernel_command_line_and_key_lists_read_empty(sandbox):
    with open("/proc/cmdline") as host:
        assert host.read().strip(), "the host's /proc/cmdline is not empty"
    raw = run(
        sandbox,
        """
        for path in ("/proc/cmdline", "/proc/keys", "/proc/key-users"):
            try:
                print(path, repr(open(path).read()))
            except OSError as error:
                print(path, "unreadable", error.errno)
        """,
    )
    for line in raw["stdout"].splitlines():
        assert line.endswith("''") or "unreadable" in line, line


def test_the_fork_servers_command_line_shows_no_host_path(sandbox):
    raw = run(
        sandbox,
        """
        import __main__, sys
        for path in ("/proc/self/cmdline", "/proc/1/cmdline"):
            print(open(path, "rb").read().replace(b"\\0", b" ").decode().strip())
        print(sys.orig_argv, sys.argv, __main__.__file__)
        """,
    )
    visible = raw["stdout"]
    assert "_zygote" not in visible and str(ZYGOTE.parent) not in visible and "run_uid" not in visible, visible
    assert "solution.py" in visible


def test_a_traceback_shows_only_the_programs_frames(sandbox):
    compiled, [raw] = within(90, sandbox.run_raw, "def f():\n    1 / 0\nf()\n", "python", [""])
    assert raw["exit_code"] == 1
    lines = raw["stderr"].strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("ZeroDivisionError"), lines
    assert "_zygote" not in raw["stderr"] and all("solution.py" in line for line in lines if "File " in line)


def test_cpp_program_sees_no_host_path_in_its_command_lines(sandbox):
    raw = run(
        sandbox,
        """
        #include <fstream>
        #include <iostream>
        #include <iterator>
        int main() {
            for (const char* path : {"/proc/self/cmdline", "/proc/1/cmdline", "/proc/cmdline"}) {
                std::ifstream in(path);
                std::cout << std::string(std::istreambuf_iterator<char>(in), {}) << "\\n";
            }
        }
        """,
        language="cpp",
    )
    with open("/proc/cmdline") as host:
        kernel_command_line = host.read().strip()
    assert "_zygote" not in raw["stdout"] and kernel_command_line[:40] not in raw["stdout"], raw["stdout"]


def _an_installed_package():
    """(site-packages folder, top-level package) of the sandbox interpreter, or skip if it has none."""
    probe = subprocess.run(
        [sandbox_python(), "-c", "import site, sys; print('\\n'.join(site.getsitepackages()))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for folder in probe.stdout.split():
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if name.isidentifier() and os.path.isfile(os.path.join(folder, name, "__init__.py")):
                return folder, name
    pytest.skip("the sandbox interpreter has no package in site-packages")


def test_site_packages_of_the_interpreter_are_not_importable(sandbox):
    folder, package = _an_installed_package()
    raw = run(
        sandbox,
        f"""
        import os, sys
        print("on sys.path", any("-packages" in entry for entry in sys.path))
        sys.path.append({folder!r})
        try:
            __import__({package!r})
            print("IMPORTED")
        except ImportError:
            print("not importable")
        print("listing", os.listdir({folder!r}))
        for system in ("/usr/lib/python3/dist-packages",):
            print("system", os.path.isdir(system) and os.listdir(system))
        """,
    )
    out = raw["stdout"].splitlines()
    assert out[:3] == ["on sys.path False", "not importable", "listing []"], out
    assert out[3] in ("system False", "system []"), out


def test_the_standard_library_and_site_builtins_still_work(sandbox):
    raw = run(
        sandbox,
        """
        import collections, decimal, fractions, json, sqlite3, heapq
        print(type(exit).__name__, type(quit).__name__, callable(help))
        exit(0)
        """,
    )
    assert raw["stdout"].split() == ["Quitter", "Quitter", "True"]


def test_inotify_and_fanotify_are_refused(sandbox):
    raw = run(
        sandbox,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(0)
        print("inotify", fd if fd < 0 else "OPEN", ctypes.get_errno())
        if fd >= 0:
            print("watch", libc.inotify_add_watch(fd, b"/usr/lib", 0x100 | 0x200 | 0x2))
        print("fanotify", libc.fanotify_init(0, 0), ctypes.get_errno())
        """,
    )
    lines = raw["stdout"].splitlines()
    assert lines[0] == "inotify -1 1", lines  # EPERM
    assert lines[-1].startswith("fanotify -1"), lines


def test_usr_and_the_python_install_are_readable_as_documented(sandbox):
    raw = run(sandbox, "import os, sys\nprint(os.path.isfile('/usr/bin/env'), os.path.isdir(sys.prefix))")
    assert raw["stdout"].split() == ["True", "True"]
