"""GRPO-shaped reward calls through the rewards' public API and the local sandbox: 64 completions for one problem,
half correct, half hostile (every class of issues 14 and 27), return one reward per completion, every correct one
positive, every hostile one 0 or None, in bounded time and (for the code reward) bounded memory in the trainer
and in the sandbox's workers. A python-tool rollout of looping calls stays within its time budget.

Most hostile programs here print the right answer *only if their attack works* (they read a sibling's program
from memory, a key, a SysV segment, a site-package, the kernel command line, an inotify descriptor), so a
reward above 0 means a defence failed. The rest answer and then hide (closed streams, daemons), fork-bomb, or
are pathological text for the reward's code-block parser (kept to sizes that do not stall today's parser; the
linear-time parsing and the bad-input rows are covered by the rewards' own tests). Issue 27's: junk output on
many tests (memory), compile bombs and slow programs on many tests (time), a row whose tests expect nothing, a
crash that answers only where it could dump core; correct completions arrive as chat messages, some with text
parts; the math call mixes honest answers with hedged and false ones.
"""

import hashlib
import platform
import secrets
import time

import pytest

from open_r1.rewards.accuracy import accuracy_reward
from open_r1.rewards.code import get_code_reward
from open_r1.sandbox import Limits, SandboxConfig, Submission, TestCase
from open_r1.sandbox.factory import clear_providers
from open_r1.tools import PythonTool, PythonToolSettings
from open_r1.tools.rollout import call_tool
from tests.support.compile_bombs import CONSTEXPR_LOOPS
from tests.support.memory_probe import Sampler
from tests.support.sandbox_checks import processes_of_uids, skip_without_isolation, wait_until_gone, within

LIMITS = Limits(
    wall_seconds=3,
    cpu_seconds=3,
    memory_mb=512,
    processes=16,
    tmp_mb=8,
    output_mb=1,
    compile_wall_seconds=8,
    submission_wall_seconds=20,
)
TESTS = [{"input": "1 2", "output": "3"}, {"input": "20 22", "output": "42"}, {"input": "-5 5", "output": "0"}]
# Hostile rows with more tests: what a submission can make the trainer hold must not grow with their number.
MANY_TESTS = [{"input": f"{i} {i + 1}", "output": str(2 * i + 1)} for i in range(16)]
NOTHING_EXPECTED = [{"input": "1 2", "output": ""}, {"input": "3 4", "output": " \n \n"}]
# Peak memory a GRPO call may add: the trainer holds at most a few outputs at once per worker, a worker one.
TRAINER_GROWTH_LIMIT_MB = 150
WORKER_PEAK_LIMIT_MB = 64
SOLVE = "a, b = map(int, input().split())\nprint(a + b)\n"
# The hostile programs' way to answer once an attack worked.
ANSWER = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "print(0)\n"

pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")


def fenced(code: str, language: str = "python") -> str:
    return f"Let me think.\n\n```{language}\n{code}```\n"


def as_message(text: str, index: int) -> list[dict]:
    """A completion as a conversational dataset gives it; every other one with its text split into parts."""
    if index % 2:
        middle = len(text) // 2
        parts = [{"type": "text", "text": text[:middle]}, {"type": "text", "text": text[middle:]}]
        return [{"role": "assistant", "content": parts}]
    return [{"role": "assistant", "content": text}]


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
    completions = [(fenced(code), TESTS) for code in programs.values()]
    completions += [
        (text, TESTS)
        for text in [
            "No code block at all, just text " * 50,
            "`" * 5000 + "\n```python\n" + WRONG + "```",  # long backtick runs (kept small: see the docstring)
            "```python\n" + WRONG + "```" + "```" * 2000,
            "```python\nprint(0)\n" * 300,  # truncated: never closed
            fenced("while True:\n    pass\n"),
            fenced("raise SystemExit(3)\n"),
            fenced("import time\ntime.sleep(60)\n"),
            fenced("x = 'y' * (1 << 40)\n"),
        ]
    ]
    completions += issue_27_completions()
    repeats = (completions * 2)[: 32 - len(completions)]
    return completions + repeats


def issue_27_completions() -> list[tuple[str, list[dict]]]:
    """(completion, its row's tests) for each class of issue 27 that reaches the code reward."""
    just_under_cap = (1 << 20) - 64
    core_check_cpp = (
        "#include <sys/resource.h>\n#include <cstdlib>\n#include <iostream>\nint main() {\n"
        "  struct rlimit r; getrlimit(RLIMIT_CORE, &r);\n"
        "  if (r.rlim_cur == 1) std::abort();  // no core can be written: crash as planned\n"
        "  long a, b; std::cin >> a >> b; std::cout << a + b << '\\n';\n}\n"
    )
    return [
        (fenced(f"import sys\nsys.stdout.buffer.write(b'\\x01' * {just_under_cap})\n"), MANY_TESTS),
        (fenced(f"import os, sys\nsys.stdout.buffer.write(os.urandom({just_under_cap}))\n"), MANY_TESTS),
        (
            fenced("#include <cstdio>\nint main() { for (int i = 0; i < (1 << 20) - 64; ++i) putchar(27); }\n", "cpp"),
            MANY_TESTS,
        ),
        (fenced(CONSTEXPR_LOOPS, "cpp"), TESTS),  # compiles for minutes
        (fenced("import time\ntime.sleep(2.5)\n" + ANSWER), MANY_TESTS),  # right, but 16 x 2.5 s > the bound
        (fenced("pass\n"), NOTHING_EXPECTED),  # None: nothing can be judged
        # Answer only where the run could dump core (and so reach a piped core_pattern); else crash.
        (
            fenced(
                "import ctypes, os, resource\n"
                "if resource.getrlimit(resource.RLIMIT_CORE)[0] == 1 and ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0:\n"
                "    os.abort()\n" + ANSWER
            ),
            TESTS,
        ),
        (fenced(core_check_cpp, "cpp"), TESTS),
    ]


def peak_kib(field: str = "VmHWM") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.timeout(400)
def test_64_completions_half_hostile_get_one_fair_reward_each(make_local_sandbox):
    sandbox = make_local_sandbox(num_workers=4, limits=LIMITS)
    reward = get_code_reward(sandbox, language="python", test_batch_size=1, scoring_mode="pass_fail")
    token = secrets.token_hex(16)
    correct = correct_completions(token)
    hostile = hostile_completions(hashlib.sha256(token.encode()).hexdigest())
    # Interleaved as in a GRPO group: by the time the copycats run, their workers have run correct siblings.
    completions, kinds, rows = [], [], []
    for good, (bad, bad_tests) in zip(correct, hostile):
        for kind, text, tests in (("correct", good, TESTS), ("hostile", bad, bad_tests)):
            completions.append(as_message(text, len(completions)))
            kinds.append(kind)
            rows.append({"language": "cpp" if "```cpp" in text else "python", "test_cases": tests})
    warm_up = Submission("print(1)", "python", (TestCase("", "1"),))
    sandbox.execute([warm_up] * 4)  # every worker started, so the sampler below knows their processes
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the trainer's peak RSS restarts from its current RSS
    before_kib = peak_kib("VmRSS")
    sampler = Sampler(sandbox.worker_pids())
    sampler.start()
    started = time.monotonic()
    try:
        rewards = within(360, reward, completions, verification_info=rows)
    finally:
        sampler.running = False
    elapsed = time.monotonic() - started
    assert len(rewards) == 64
    for index, (kind, value) in enumerate(zip(kinds, rewards)):
        text = str(completions[index])[:300]
        if kind == "correct":
            assert value is not None and value > 0, (index, value, text)
        elif rows[index]["test_cases"] is NOTHING_EXPECTED:
            assert value is None, (index, value, text)
        else:
            assert value in (0.0, None), (index, value, text)
    assert elapsed < 360
    growth_mb = (peak_kib() - before_kib) / 1024
    assert growth_mb < TRAINER_GROWTH_LIMIT_MB, f"the call grew the trainer's peak RSS by {growth_mb:.0f} MiB"
    worker_peaks_mb = {role: kib / 1024 for role, kib in sampler.peaks.items()}
    assert worker_peaks_mb and max(worker_peaks_mb.values()) < WORKER_PEAK_LIMIT_MB, worker_peaks_mb
    assert wait_until_gone(lambda: processes_of_uids(sandbox.run_uids), 10) == []


def test_a_completion_shape_the_rewards_cannot_read_fails_the_call_at_once_naming_it():
    completions = [[{"role": "assistant", "content": fenced(SOLVE)}]] * 3 + [["a list", "of strings"]]
    rows = [{"language": "python", "test_cases": TESTS}] * 4
    reward = get_code_reward(SandboxConfig(num_workers=1), language="python")
    with pytest.raises(ValueError, match=r"3.*list of str"):
        within(10, reward, completions, verification_info=rows)


HONEST_ANSWERS = [
    r"\boxed{42}",
    r"\boxed{x = 42}",
    r"\boxed{42 \text{ cm}}",
    r"\boxed{6 \times 7 = 42}",
    r"\boxed{42 = 43 - 1}",
    r"\boxed{42.0}",
    r"\boxed{\frac{84}{2}}",
    r"\boxed{42 \text{ (exact)}}",
]
HEDGED_ANSWERS = [
    r"\boxed{42 \text{ (or 43)}}",
    r"\boxed{41 = 42}",
    r"\boxed{a = 41 = 42}",
    r"\boxed{42 \text{ or } 43}",
    r"\boxed{42 \textbf{(maybe 43)}}",
    r"\boxed{42 \mbox{ or 41}}",
    r"\boxed{42 \mathrm{~or~} 41}",
    r"\boxed{x = 41 = 42}",
]


@pytest.mark.timeout(120)
def test_64_math_completions_half_hedged_get_one_fair_reward_each():
    completions, kinds = [], []
    for index in range(32):
        for kind, answers in (("honest", HONEST_ANSWERS), ("hedged", HEDGED_ANSWERS)):
            text = f"The product is computed step by step. {answers[index % len(answers)]}"
            completions.append(as_message(text, len(completions)))
            kinds.append(kind)
    rewards = within(90, accuracy_reward, completions, solution=["$42$"] * 64)
    assert len(rewards) == 64
    for index, (kind, value) in enumerate(zip(kinds, rewards)):
        if kind == "honest":
            assert value == 1.0, (index, value, completions[index])
        else:
            assert value in (0.0, None), (index, value, completions[index])


@pytest.mark.timeout(120)
def test_python_tool_rollouts_of_looping_calls_stay_within_their_budgets():
    """Rollouts as TRL runs them in one process, one after another: each turn holds many looping calls."""
    settings = PythonToolSettings(SandboxConfig(num_workers=2), wall_seconds=1, memory_mb=256, rollout_seconds=2)
    with skip_without_isolation():
        PythonTool(settings).python("pass")
    try:
        tool = PythonTool(settings)
        started = time.monotonic()
        for _ in range(8):
            tool.reset()
            call = {"type": "function", "function": {"name": "python", "arguments": {"code": "while True:\n    pass"}}}
            texts = [call_tool(tool, call) for _ in range(20)]
            assert sum("time budget of this answer is spent" in text for text in texts) == 18, texts[:3]
        elapsed = time.monotonic() - started
        assert elapsed < 8 * (2 + 1.5), f"8 rollouts with a 2 s budget each took {elapsed:.0f} s"
    finally:
        clear_providers()
