"""A GRPO-shaped reward call through the code reward's public API and the local sandbox: 64 completions for one
problem, half correct, half hostile (every class of issue 14), returns one reward per completion, every correct
one positive, every hostile one 0 or None, in bounded time.

Most hostile programs here print the right answer *only if their attack works* (they read a sibling's program
from memory, a key, a SysV segment, a site-package, the kernel command line, an inotify descriptor), so a
reward above 0 means a defence failed. The rest answer and then hide (closed streams, daemons), fork-bomb, or
are pathological text for the reward's code-block parser (kept to sizes that do not stall today's parser; the
linear-time parsing and the bad-input rows are covered by the rewards' own tests).
"""

import hashlib
import platform
import secrets
import time

import pytest

from open_r1.rewards.code import get_code_reward
from open_r1.sandbox import Limits
from tests.support.sandbox_checks import processes_of_uids, wait_until_gone, within

LIMITS = Limits(wall_seconds=3, cpu_seconds=3, memory_mb=512, processes=16, tmp_mb=8, output_mb=1)
TESTS = [{"input": "1 2", "output": "3"}, {"input": "20 22", "output": "42"}, {"input": "-5 5", "output": "0"}]
SOLVE = "a, b = map(int, input().split())\nprint(a + b)\n"
# The hostile programs' way to answer once an attack worked.
ANSWER = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "print(0)\n"

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")


def fenced(code: str, language: str = "python") -> str:
    return f"Let me think.\n\n```{language}\n{code}```\n"


def correct_completions(token: str) -> list[str]:
    variants = [
        SOLVE,
        "import sys\na, b = map(int, sys.stdin.read().split())\nsys.stdout.write(f'{a + b}\\n')\n",
        f"# {token}\n" + SOLVE + "# end of solution\n",  # the program a copycat looks for
        "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\nif __name__ == '__main__':\n    main()\n",
        "import threading\ndef go():\n    print(sum(map(int, input().split())))\nt = threading.Thread(target=go)\n"
        "t.start()\nt.join()\n",
    ]
    completions = [fenced(variants[i % len(variants)]) for i in range(30)]
    cpp = "#include <iostream>\nint main(){ long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n"
    return completions + [fenced(cpp, "cpp"), fenced(cpp, "cpp")]


def hostile_completions(token_hash: str) -> list[str]:
    keyctl = {"x86_64": 250, "aarch64": 219}.get(platform.machine(), 250)
    programs = {
        "answer, close streams, sleep": "import os, time\n" + ANSWER + "os.close(1)\nos.close(2)\ntime.sleep(30)\n",
        "answer, redirect streams, sleep forever": "import os, time\n"
        + ANSWER
        + "sys_null = os.open('/dev/null', 1)\n"
        "os.dup2(sys_null, 1)\nos.dup2(sys_null, 2)\nwhile True:\n    time.sleep(0.2)\n",
        "daemon answers after the program exits": "import os, time, sys\nline = input()\nif os.fork() == 0:\n"
        "    os.setsid()\n    time.sleep(0.5)\n    a, b = map(int, line.split())\n    print(a + b, flush=True)\n"
        "    os._exit(0)\n",
        "copycat reads a sibling's program from memory": "import ctypes, hashlib, re\n"
        "ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)\n"
        "code = None\n"
        "with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:\n"
        "    for line in maps:\n"
        "        f = line.split()\n"
        "        if 'r' not in f[1] or f[-1] in ('[vvar]', '[vvar_vclock]', '[vsyscall]') or code:\n"
        "            continue\n"
        "        s, e = (int(x, 16) for x in f[0].split('-'))\n"
        "        try:\n"
        "            mem.seek(s)\n"
        "            chunk = mem.read(min(e - s, 64 << 20))\n"
        "        except (OSError, ValueError, OverflowError):\n"
        "            continue\n"
        "        for m in re.finditer(rb'[0-9a-f]{32}', chunk):\n"
        f"            if hashlib.sha256(m.group()).hexdigest() == {token_hash!r}:\n"
        "                code = chunk[m.end():m.end() + 300].split(b'# end of solution')[0].decode()\n"
        "                break\n"
        "exec(code) if code else print(0)\n",
        "SysV segment from an earlier run": "import ctypes\nlibc = ctypes.CDLL(None)\n"
        "libc.shmat.restype = ctypes.c_void_p\n"
        "old = libc.shmget(0xC0FFEE, 0, 0)\n"
        "new = libc.shmget(0xC0FFEE, 4096, 0o1666)\n"
        "if old >= 0:\n" + "".join("    " + line + "\n" for line in ANSWER.splitlines()) + "else:\n    print(0)\n",
        "key planted in the user keyring": "import ctypes\nlibc = ctypes.CDLL(None)\n"
        f"key = libc.syscall({keyctl}, 0, -4, 1)\n"  # KEYCTL_GET_KEYRING_ID, create if missing
        "if key > 0:\n" + "".join("    " + line + "\n" for line in ANSWER.splitlines()) + "else:\n    print(0)\n",
        "kernel command line": "text = open('/proc/cmdline').read()\n"
        "if text:\n" + "".join("    " + line + "\n" for line in ANSWER.splitlines()) + "else:\n    print(0)\n",
        "site-packages import": "import sys\ntry:\n    import yaml\nexcept ImportError:\n    try:\n"
        "        import attr\n    except ImportError:\n        print(0)\n        sys.exit()\n" + ANSWER,
        "inotify on the read-only mounts": "import ctypes\n"
        "if ctypes.CDLL(None).inotify_init1(0) >= 0:\n"
        + "".join("    " + line + "\n" for line in ANSWER.splitlines())
        + "else:\n    print(0)\n",
        "fork bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        "server command line": "import sys\nif 'zygote' in open('/proc/self/cmdline', 'rb').read().decode("
        "errors='replace') or any('zygote' in a for a in sys.orig_argv):\n"
        + "".join("    " + line + "\n" for line in ANSWER.splitlines())
        + "else:\n    print(0)\n",
    }
    completions = [fenced(code) for code in programs.values()]
    completions += [
        "No code block at all, just text " * 50,
        "`" * 5000 + "\n```python\n" + WRONG + "```",  # long backtick runs (kept small: see the docstring)
        "```python\n" + WRONG + "```" + "```" * 2000,
        "```python\nprint(0)\n" * 300,  # truncated: never closed
        fenced("while True:\n    pass\n"),
        fenced("raise SystemExit(3)\n"),
        fenced("import time\ntime.sleep(60)\n"),
        fenced("x = 'y' * (1 << 40)\n"),
    ]
    return (completions * 2)[:32]


@pytest.mark.timeout(400)
def test_64_completions_half_hostile_get_one_fair_reward_each(make_local_sandbox):
    sandbox = make_local_sandbox(num_workers=4, limits=LIMITS)
    reward = get_code_reward(sandbox, language="python", test_batch_size=1, scoring_mode="pass_fail")
    token = secrets.token_hex(16)
    correct = correct_completions(token)
    hostile = hostile_completions(hashlib.sha256(token.encode()).hexdigest())
    # Interleaved as in a GRPO group: by the time the copycats run, their workers have run correct siblings.
    completions, kinds = [], []
    for good, bad in zip(correct, hostile):
        completions += [good, bad]
        kinds += ["correct", "hostile"]
    rows = [{"language": "cpp" if "```cpp" in text else "python", "test_cases": TESTS} for text in completions]
    started = time.monotonic()
    rewards = within(360, reward, completions, verification_info=rows)
    elapsed = time.monotonic() - started
    assert len(rewards) == 64
    for index, (kind, value) in enumerate(zip(kinds, rewards)):
        if kind == "correct":
            assert value is not None and value > 0, (index, value, completions[index][:300])
        else:
            assert value in (0.0, None), (index, value, completions[index][:300])
    assert elapsed < 360
    assert wait_until_gone(lambda: processes_of_uids(sandbox.run_uids), 10) == []
