"""The local sandbox runs ordinary programs exactly as `python file.py` / a compiled binary would, and grades them.

Includes the CodeContests check: reference solutions pass and a deliberately wrong variant fails, on a sample
of the real problems (skipped without ../shared/data) and on a self-contained problem through the same path.
"""

import json
import random
import subprocess
import sys

import pytest

from open_r1.sandbox import Limits, LocalSandbox, Submission, TestCase, Verdict
from open_r1.sandbox.base import ProgramResult, TestOutcome, check_scoring_mode, grade_in_batches, outputs_match
from open_r1.sandbox.languages import canonical_language
from open_r1.sandbox.local import sandbox_python
from tests.support.files import write_jsonl
from tests.support.sandbox_checks import verdicts


@pytest.fixture(scope="module")
def sandbox(make_module_local_sandbox):
    return make_module_local_sandbox(num_workers=2, limits=Limits(wall_seconds=5, cpu_seconds=5))


def test_outputs_compare_like_a_judge():
    assert outputs_match("1 2\r\n3  \n\n", "1 2\n3")
    assert outputs_match("  a\n", "a")
    assert not outputs_match("1\n2", "1\n2\n3")
    assert not outputs_match("12", "1 2")


def test_outputs_match_reads_lines_in_place_exactly_as_the_line_lists_compare():
    """The in-place comparison against the plain one (strip, splitlines, strip each line) on random texts built
    from every line break and space that str.splitlines and str.strip know, and a few letters."""
    from open_r1.sandbox.base import normalize_output

    pieces = ["a", "b", "ab", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"]
    pieces += ["\u2028", "\u2029", "\xa0", "\u3000", "\U0001f600", "\ufffd", "\x01", ""]
    generator = random.Random(0)
    for _ in range(20_000):
        texts = ["".join(generator.choices(pieces, k=generator.randint(0, 8))) for _ in range(2)]
        if generator.random() < 0.3:
            texts[1] = texts[0] + "".join(generator.choices(pieces[3:], k=3))  # same lines, other blanks
        actual, expected = texts
        assert outputs_match(actual, expected) == (normalize_output(actual) == normalize_output(expected)), texts


def test_scoring_modes():
    result = ProgramResult([TestOutcome(Verdict.PASSED), TestOutcome(Verdict.FAILED)])
    assert result.score("partial") == 0.5 and result.score("pass_fail") == 0.0
    assert result.score("weighted_sum") == pytest.approx(0.05)
    full = ProgramResult([TestOutcome(Verdict.PASSED)] * 2)
    assert full.score("weighted_sum") == pytest.approx(1.1)
    # The mode is checked once, where a reward is built (check_scoring_mode); score only asserts it.
    with pytest.raises(ValueError, match=r"scoring_mode must be one of \('pass_fail', 'partial', 'weighted_sum'\)"):
        check_scoring_mode("best")
    with pytest.raises(AssertionError):
        full.score("best")


def test_batches_after_a_failing_batch_are_skipped_and_never_requested():
    tests = tuple(TestCase(str(i), str(i)) for i in range(5))
    requested = []

    def raws():
        for batch in (
            [{"exit_code": 0, "stdout": "0"}, {"exit_code": 0, "stdout": "1"}],
            [{"exit_code": 0, "stdout": "2"}, {"exit_code": 0, "stdout": "wrong"}],
        ):
            requested.append(batch)
            yield batch
        raise AssertionError("a batch after a failure was run")

    result = grade_in_batches(tests, raws(), batch_size=2)
    assert verdicts(result) == [Verdict.PASSED] * 3 + [Verdict.FAILED, Verdict.SKIPPED]


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="python, cpp and c"):
        canonical_language("cobol")


def test_verdicts_for_pass_wrong_crash_and_compile_error(sandbox):
    add = "a, b = map(int, input().split())\nprint(a + b)\n"
    tests = (TestCase("1 2", "3"), TestCase("5 5", "11"))
    crash = "raise ValueError('boom')"
    broken_cpp = "int main( { return 0; }"
    results = sandbox.execute(
        [
            Submission(add, "python", tests),
            Submission(crash, "python", tests),
            Submission(broken_cpp, "cpp", tests),
        ],
        test_batch_size=0,
    )
    assert verdicts(results[0]) == [Verdict.PASSED, Verdict.FAILED]
    assert verdicts(results[1]) == [Verdict.RUNTIME_ERROR] * 2
    assert "ValueError: boom" in results[1].outcomes[0].detail
    assert verdicts(results[2]) == [Verdict.COMPILE_ERROR] * 2 and "error" in results[2].compile_error


def test_c_and_cpp_programs_compile_once_and_run_per_test(sandbox):
    cpp = "#include <iostream>\nint main(){ long a, b; std::cin >> a >> b; std::cout << a * b << '\\n'; }"
    c = '#include <stdio.h>\nint main(){ long a, b; scanf("%ld %ld", &a, &b); printf("%ld\\n", a - b); }'
    tests = (TestCase("6 7", "42"), TestCase("3 3", "9"))
    results = sandbox.execute([Submission(cpp, "cpp", tests), Submission(c, "c", (TestCase("6 7", "-1"),))])
    assert verdicts(results[0]) == [Verdict.PASSED, Verdict.PASSED]
    assert verdicts(results[1]) == [Verdict.PASSED]


CONTEST_STYLE = """
import sys, threading
sys.setrecursionlimit(1 << 20)
threading.stack_size(1 << 26)
def main():
    data = sys.stdin.read().split()
    n = int(data[0])
    def depth(k):
        return 0 if k == 0 else 1 + depth(k - 1)
    sys.stdout.write(str(depth(n)) + "\\n")
    if n == 7:
        sys.exit(3)
threading.Thread(target=main).start()
"""


def test_python_runs_match_a_fresh_interpreter(sandbox, tmp_path):
    """Threads, recursion, exit codes, atexit, unflushed stdout: same as `python file.py`."""
    programs = [
        CONTEST_STYLE,
        "import atexit\natexit.register(lambda: print('bye'))\nprint('hi', end='')\n",
        "import sys\nprint('partial')\nsys.exit('fatal message')\n",
        "print(__name__, __file__.endswith('solution.py'))\nimport sys\nprint(len(sys.argv))\n",
        "x = input()\nprint(x[::-1])\n",
        # fast-I/O templates: stdout swapped for a buffer, written to sys.__stdout__ at exit
        "import atexit, io, sys\nbuf = io.StringIO()\nsys.stdout = buf\nprint(input())\n"
        "atexit.register(lambda: sys.__stdout__.write(buf.getvalue()))\n",
        "import sys\nwith sys.stdin as fin, sys.stdout as fout:\n    print(next(fin).strip(), file=fout)\n",
        "import sys\nprint(sys.stdout.mode, sys.stdout.name, sys.stdin.mode, sys.stdin.name)\n",
    ]
    inputs = ["20000", "7", ""]
    for program in programs:
        path = tmp_path / "solution.py"
        path.write_text(program)
        for data in inputs if program is CONTEST_STYLE else ["hello"]:
            plain = subprocess.run([sandbox_python(), str(path)], input=data, capture_output=True, text=True)
            _, [raw] = sandbox.run_raw(program, "python", [data])
            assert (raw["exit_code"], raw["stdout"]) == (plain.returncode, plain.stdout), program
            if plain.stderr:
                assert plain.stderr.strip().splitlines()[-1] == raw["stderr"].strip().splitlines()[-1]


def test_large_input_and_output_pass_through(sandbox):
    numbers = " ".join(str(i) for i in range(200_000))
    program = "import sys\nvalues = sys.stdin.read().split()\nprint('\\n'.join(values))\n"
    [result] = sandbox.execute([Submission(program, "python", (TestCase(numbers, numbers.replace(" ", "\n")),))])
    assert verdicts(result) == [Verdict.PASSED]


def _wrong_variant(solution: str) -> str:
    """The reference solution with its output shifted: every stdout line gets a trailing ' 0'."""
    return (
        "import sys, io\n_real = sys.stdout\nsys.stdout = io.StringIO()\n"
        "try:\n" + "".join("    " + line + "\n" for line in solution.splitlines()) + "finally:\n"
        "    _text = sys.stdout.getvalue()\n    sys.stdout = _real\n"
        "    print('\\n'.join(line + ' 0' for line in _text.splitlines()))\n"
    )


def _check_reference_and_wrong(sandbox, problems):
    submissions, wrong = [], []
    for problem in problems:
        tests = tuple(TestCase(t["input"], t["output"]) for t in problem["tests"])
        submissions.append(Submission(problem["solution"], "python", tests))
        wrong.append(Submission(_wrong_variant(problem["solution"]), "python", tests))
    for problem, result in zip(problems, sandbox.execute(submissions, test_batch_size=0)):
        assert result.all_passed, (problem["id"], verdicts(result), [o.detail for o in result.outcomes][:1])
    for problem, result in zip(problems, sandbox.execute(wrong, test_batch_size=1)):
        assert not result.all_passed and result.outcomes[0].verdict is not Verdict.PASSED, problem["id"]


def test_reference_solution_passes_and_wrong_variant_fails_self_contained(sandbox):
    problem = {
        "id": "local/sum-of-pairs",
        "solution": "t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a + b)\n",
        "tests": [{"input": "2\n1 2\n3 4", "output": "3\n7"}, {"input": "1\n-5 5", "output": "0"}],
    }
    _check_reference_and_wrong(sandbox, [problem])


def test_code_contests_sample_reference_passes_and_wrong_variant_fails(sandbox, shared_data):
    with open(shared_data / "code_contests_py.jsonl", encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle]
    sample = random.Random(0).sample(problems, 12)
    _check_reference_and_wrong(sandbox, sample)


@pytest.mark.slow
def test_all_code_contests_reference_solutions_pass(shared_data):
    with open(shared_data / "code_contests_py.jsonl", encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle]
    with LocalSandbox(num_workers=2) as box:
        _check_reference_and_wrong(box, problems)


def test_sandbox_python_is_the_base_interpreter():
    assert "site-packages" not in sandbox_python()
    assert (
        subprocess.run([sandbox_python(), "-c", "import sys; print(sys.prefix)"], capture_output=True).returncode == 0
    )
    assert sys.executable  # the venv interpreter exists alongside


def test_the_throughput_benchmark_agrees_on_verdicts_and_its_ceiling_bounds_the_ratio(sandbox, tmp_path, capsys):
    """scripts/benchmarks/sandbox.py on two self-contained problems: same verdicts in both arms, and the ceiling
    (the plain loop's time over the programs' own run time) is never below the ratio actually measured."""
    from tests.support.script_module import load_module

    busy = "s = 0\nfor i in range(200000):\n    s += i\nprint(int(input()) + s % 1)\n"
    problems = [
        {"id": "local/echo", "solution": "print(int(input()) * 2)\n", "tests": [{"input": "21", "output": "42"}] * 3},
        {"id": "local/busy", "solution": busy, "tests": [{"input": "7", "output": "7"}] * 3},
    ]
    data = tmp_path / "problems.jsonl"
    write_jsonl(data, problems)
    benchmark = load_module("scripts/benchmarks/sandbox.py", "sandbox_benchmark")
    benchmark.main(["--data", str(data), "--workers", "1", "--rounds", "2"])
    printed = capsys.readouterr().out

    assert "reference solutions passing every test in the sandbox: 2/2" in printed
    assert "problems with different verdicts: 0" in printed
    speed_up = float(printed.split("speed-up      : ")[1].split("x")[0])
    ceiling = float(printed.split("ceiling       : ")[1].split("x")[0])
    assert ceiling >= speed_up > 0
