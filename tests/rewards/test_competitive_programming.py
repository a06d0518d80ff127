"""IOI and Codeforces rewards on upstream's dataset schemas, run on a local fake Piston server.

The fake speaks Piston's v2 API (`POST /api/v2/execute`, `GET /api/v2/runtimes`) on 127.0.0.1 and runs what it is
sent with plain subprocesses: the standard `python` runtime, and a `cms_ioi` package that, like the real one,
compiles the submission with the problem's graders in the folder of the request's files, runs it on `input.txt` and
judges its output against `correct_output.txt` when there is one (else prints it). Nothing here reaches the network.
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

import pytest

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import REWARD_FUNCS_REGISTRY, ioi
from open_r1.rewards.ioi import get_ioi_code_reward
from open_r1.sandbox.factory import clear_providers
from open_r1.sandbox.piston import PistonClient, PistonProvider
from open_r1.utils.competitive_programming import ioi_scoring
from tests.support.json_server import JsonHandler

needs_gpp = pytest.mark.skipif(shutil.which("g++") is None, reason="the fake cms_ioi package compiles with g++")


def _run_cms_ioi(files: dict[str, str], work: pathlib.Path) -> dict:
    """What upstream's cms_ioi package does with a request's files in `work`: compiles there (every file present),
    reads and deletes correct_output.txt before running, then judges with the checker, with `diff -b`, or not at all
    (no expected output: it prints what the program or the manager printed). Batch tasks only."""
    checker = work / "checker" / "checker"
    if "checker/checker.cpp" in files:
        built = subprocess.run(["g++", "-O0", "-o", str(checker), str(checker) + ".cpp"], capture_output=True)
        if built.returncode != 0:
            return {"compile": {"code": 1, "stderr": "Could not compile checker", "stdout": ""}}
    headers = sorted(name for name in files if name.startswith("graders/") and name.endswith(".h"))
    problem = pathlib.PurePath(headers[0]).stem if headers else "?"
    sources = [
        f"graders/{problem}.cpp",
        *(name for name in ("graders/grader.cpp", "graders/stub.cpp") if name in files),
    ]
    compiled = subprocess.run(
        ["g++", "-O0", "-std=gnu++17", "-pipe", "-o", f"graders/{problem}", *sources],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if compiled.returncode != 0:
        return {"compile": {"code": compiled.returncode, "stderr": compiled.stderr[-2000:], "stdout": ""}}
    config = json.loads(files["graders/grader_config.json"])
    if config["task_type"] != "Batch":
        return {"compile": {"code": 0}, "run": {"stdout": "0\n", "stderr": "Unsupported task type", "code": 1}}
    correct = files.get("correct_output.txt", "").rstrip("\n")
    (work / "correct_output.txt").unlink(missing_ok=True)
    with open(work / "input.txt") as stdin:
        try:
            ran = subprocess.run([f"graders/{config['code']}"], cwd=work, stdin=stdin, capture_output=True, text=True,
                                 timeout=10)  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"compile": {"code": 0}, "run": {"stdout": "0\n", "stderr": "Time limit exceeded (1s)", "code": 0}}
    if ran.returncode != 0:
        stderr = ran.stderr + f"Runtime error with exit code {ran.returncode % 256}\n"
        return {"compile": {"code": 0}, "run": {"stdout": "0\n", "stderr": stderr, "code": 0}}
    if not correct:
        return {"compile": {"code": 0}, "run": {"stdout": ran.stdout, "stderr": ran.stderr, "code": 0}}
    if checker.exists():
        (work / "correct_output.txt").write_text(correct + "\n")
        (work / "output.txt").write_text(ran.stdout)
        checked = subprocess.run([str(checker), "input.txt", "correct_output.txt", "output.txt"], cwd=work,
                                 capture_output=True, text=True)  # fmt: skip
        return {"compile": {"code": 0}, "run": {"stdout": checked.stdout, "stderr": checked.stderr,
                                                "code": checked.returncode}}  # fmt: skip
    same = _diff_b_lines(correct + "\n") == _diff_b_lines(ran.stdout)
    verdict = ("1\n", "Output is correct (diff)") if same else ("0\n", "Output isn't correct (diff)")
    return {"compile": {"code": 0}, "run": {"stdout": verdict[0], "stderr": verdict[1], "code": 0}}


def _diff_b_lines(text: str) -> list[str]:
    """Lines as `diff -b` compares them: runs of blanks count as one, blanks at a line's end not at all."""
    return [re.sub(r"[ \t\r\f\v]+", " ", line).rstrip() for line in text.splitlines()]


def _run_python(body: dict, work: pathlib.Path) -> dict:
    ran = subprocess.run(
        [sys.executable, "main.py"], input=body.get("stdin", ""), cwd=work, capture_output=True, text=True, timeout=10
    )
    return {"run": {"stdout": ran.stdout, "stderr": ran.stderr, "code": ran.returncode, "signal": None}}


class FakePiston:
    """A threaded Piston v2 server on loopback; `requests` records every execute body, `answer` can override."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer = None  # a function body -> response, to play a misbehaving worker
        fake = self

        class Handler(JsonHandler):
            def do_GET(self):
                self.reply(200, [{"language": "cms_ioi", "version": "1.0.0"}, {"language": "python"}])

            def do_POST(self):
                if self.path != "/api/v2/execute":
                    return self.reply(404, {"message": f"no route {self.path}"})
                body = self.json_body()
                fake.requests.append(body)
                if fake.answer is not None:
                    return self.reply(200, fake.answer(body))
                with tempfile.TemporaryDirectory() as folder:
                    work = pathlib.Path(folder)
                    files = {entry["name"]: entry["content"] for entry in body["files"]}
                    for name, content in files.items():
                        (work / name).parent.mkdir(parents=True, exist_ok=True)
                        (work / name).write_text(content)
                    if body["language"] == "cms_ioi":
                        answer = _run_cms_ioi(files, work)
                    elif body["language"] == "python":
                        answer = _run_python(body, work)
                    else:
                        return self.reply(400, {"message": f"{body['language']}-{body['version']} not installed"})
                self.reply(200, {"language": body["language"], "version": "1.0.0", **answer})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def piston():
    with FakePiston() as server:
        yield server


@pytest.fixture
def piston_env(piston, monkeypatch):
    """PISTON_ENDPOINTS pointing at the fake; providers built from the environment are rebuilt for each test."""
    monkeypatch.setenv("PISTON_ENDPOINTS", piston.url)
    clear_providers()
    yield piston
    clear_providers()


HEADER = "long long sum(long long a, long long b);\n"
GRADER = (
    '#include <cstdio>\n#include "sum.h"\n'
    'int main() { long long a, b; if (scanf("%lld %lld", &a, &b) != 2) return 1; printf("%lld\\n", sum(a, b)); }\n'
)
RIGHT = "long long sum(long long a, long long b) { return a + b; }"
WRONG_WHEN_EQUAL = "long long sum(long long a, long long b) { return a == b ? 0 : a + b; }"


GRADER_FILES = [
    ["graders/sum.h", HEADER],
    ["graders/grader.cpp", GRADER],
    ["graders/grader_config.json", json.dumps({"task_type": "Batch", "code": "sum", "time_limit": 1.0})],
    ["graders/empty.txt", ""],
]


def ioi_row(**overrides) -> dict:
    """One row of open-r1/ioi: a subtask of a function-style problem with its grader and header."""
    row = {
        "id": "sum",
        "subtask": "01-small",
        "score": 30,
        "score_precision": 2,
        "test_names": ["1-01", "1-02", "1-03"],
        "test_cases": [["1 2\n", "3\n"], ["4 4\n", "8\n"], ["10 5\n", "15\n"]],
        "grader_files": GRADER_FILES,
        "time_limit": 1.0,
        "memory_limit": 256,
        "year": 2024,
        "statement": "Add two numbers.",  # other dataset columns are passed too and not read
    }
    return row | overrides


def communication_task(**overrides) -> dict:
    """A row of a Communication task: the package runs the program beside its manager, which prints the score."""
    config = json.dumps({"task_type": "Communication", "code": "sum", "time_limit": 1.0})
    files = [[name, config if name == "graders/grader_config.json" else content] for name, content in GRADER_FILES]
    return ioi_row(**{"grader_files": files, **overrides})


def columns(rows: list[dict]) -> dict[str, list]:
    """Rows as TRL passes them to a reward: one keyword per dataset column."""
    return {name: [row[name] for row in rows] for name in rows[0]}


def cpp(code: str) -> list[dict]:
    return [{"role": "assistant", "content": f"Here it is:\n```cpp\n{code}\n```"}]


def piston_ioi_reward(piston, **kwargs):
    return get_ioi_code_reward(PistonProvider(PistonClient(piston.url, max_requests_per_endpoint=2)), **kwargs)


@needs_gpp
def test_ioi_rows_are_judged_with_their_graders_and_score_the_worst_test(piston):
    reward = piston_ioi_reward(piston)
    rows = [ioi_row(), ioi_row()]
    assert reward([cpp(RIGHT), cpp(WRONG_WHEN_EQUAL)], **columns(rows)) == [1.0, 0.0]
    first = piston.requests[0]
    assert first["language"] == "cms_ioi" and first["version"] == "*"
    assert first["run_timeout"] == 4000 and first["run_memory_limit"] == 256  # time limit + 3 s, as upstream
    names = {entry["name"] for entry in first["files"]}
    # Never the expected output beside the submission (see test_a_submission_never_sees_the_expected_output).
    assert names == {
        "graders/sum.cpp",
        "input.txt",
        "graders/sum.h",
        "graders/grader.cpp",
        "graders/grader_config.json",
    }
    submitted = next(entry["content"] for entry in first["files"] if entry["name"] == "graders/sum.cpp")
    assert submitted.startswith('#include <bits/stdc++.h>\n#include "sum.h"\n')  # add_includes, as upstream
    # One test at a time (test_batch_size 1): the wrong program stopped at its first failure, test 1-02.
    assert len(piston.requests) == 3 + 2


@needs_gpp
def test_a_subtask_result_keeps_each_tests_verdict_and_skips_after_a_failure(piston):
    client = PistonClient(piston.url)
    result = ioi.run_coroutine(ioi.score_subtask(client, ioi_row(), ioi.add_includes(WRONG_WHEN_EQUAL, "sum")))
    assert [(t.test_name, t.score, t.status) for t in result.test_results] == [
        ("1-01", 1.0, "AC"),
        ("1-02", 0.0, "WA"),
        ("1-03", 0.0, "SKIPPED"),
    ]
    assert (result.score, result.weighted_score, result.status) == (0.0, 0.0, "WA")
    assert result.to_dict()["test_results"][1]["feedback"] == "Output isn't correct"


@needs_gpp
def test_subtasks_of_one_problem_run_shared_tests_once(piston):
    client = PistonClient(piston.url)
    small = ioi_row(test_names=["1-01", "1-02"], test_cases=[["1 2\n", "3\n"], ["4 4\n", "8\n"]])
    full = ioi_row(subtask="02-full", score=70)
    code = ioi.add_includes(RIGHT, "sum")
    results = ioi.run_coroutine(ioi_scoring.score_subtasks(client, [small, full], code))
    assert [(r.subtask, r.score, r.weighted_score) for r in results] == [
        ("01-small", 1.0, 30.0),
        ("02-full", 1.0, 70.0),
    ]
    assert len(piston.requests) == 3  # 1-01 and 1-02 ran for the first subtask only


@needs_gpp
def test_a_program_that_does_not_compile_scores_zero_with_a_compilation_error(piston):
    result = ioi.run_coroutine(ioi.score_subtask(PistonClient(piston.url), ioi_row(), "int sum( {"))
    assert result.score == 0.0 and result.status == "CE" and len(piston.requests) == 1


# Builds the expected output into the program: the package compiles in the folder of the request's files.
READS_THE_EXPECTED_OUTPUT = r"""
#include <cstdio>
#include <cstdlib>
asm(".section .rodata\n.global expected_bytes\nexpected_bytes:\n.incbin \"correct_output.txt\"\n.byte 0\n.text\n");
extern "C" const char expected_bytes[];
long long sum(long long a, long long b) { std::fputs(expected_bytes, stdout); std::fflush(stdout); std::_Exit(0); }
"""
# No program computes this from "1 2".
UNREACHABLE_ANSWER = [["1 2\n", "987654321\n"]]


@needs_gpp
@pytest.mark.parametrize("row", [ioi_row, lambda **kw: with_checker(ioi_row(**kw))], ids=["diff", "checker"])
def test_a_submission_never_sees_the_expected_output(piston, row):
    """Found by a red team: with correct_output.txt beside it, `.incbin` compiled the answer into the program."""
    cheat = row(test_names=["1-01"], test_cases=UNREACHABLE_ANSWER)
    assert piston_ioi_reward(piston)([cpp(READS_THE_EXPECTED_OUTPUT)], **columns([cheat])) == [0.0]
    submitted = [request for request in piston.requests if "graders/sum.cpp" in names_sent(request)]
    assert submitted and not any("correct_output.txt" in names_sent(request) for request in submitted)


@needs_gpp
def test_a_program_that_fails_scores_zero_even_where_the_answer_is_the_zero_the_package_prints(piston):
    # The package prints "0" for a crashed or timed-out program, and says so on stderr only.
    expects_zero = ioi_row(test_names=["1-01"], test_cases=[["0 0\n", "0\n"]])
    crashes = "long long sum(long long a, long long b) { std::abort(); }"
    assert piston_ioi_reward(piston)([cpp(RIGHT), cpp(crashes)], **columns([expects_zero] * 2)) == [1.0, 0.0]


CHECKER = r"""
#include <cstdio>
#include <fstream>
int main(int argc, char** argv) {
    std::ifstream expected(argv[2]), got(argv[3]);
    long long want, have;
    expected >> want;
    if (!(got >> have)) { std::puts("0"); std::fputs("Output isn't correct: no number", stderr); return 0; }
    std::puts(have == want ? "1" : have == want + 1 ? "0.5" : "0");
    std::fputs(have == want ? "Output is correct" : "Output isn't correct", stderr);
}
"""
OFF_BY_ONE = "long long sum(long long a, long long b) { return a + b + 1; }"


def with_checker(row: dict) -> dict:
    return row | {"grader_files": [*row["grader_files"], ["checker/checker.cpp", CHECKER]]}


def names_sent(request: dict) -> set[str]:
    return {entry["name"] for entry in request["files"]}


@needs_gpp
def test_a_checker_judges_the_programs_recorded_output_in_a_request_without_the_program(piston):
    rows = [with_checker(ioi_row(test_names=["1-01"], test_cases=[["1 2\n", "3\n"]]))] * 2
    assert piston_ioi_reward(piston)([cpp(RIGHT), cpp(OFF_BY_ONE)], **columns(rows)) == [1.0, 0.5]
    submissions = [request for request in piston.requests if "graders/sum.cpp" in names_sent(request)]
    checks = [request for request in piston.requests if "checker/checker.cpp" in names_sent(request)]
    assert len(submissions) == len(checks) == 2 and len(piston.requests) == 4
    assert not any(
        name.startswith("checker/") or name == "correct_output.txt" for r in submissions for name in names_sent(r)
    )
    recorded = sorted(next(e["content"] for e in r["files"] if e["name"] == ioi.RECORDED_OUTPUT_FILE) for r in checks)
    assert recorded == ["3\n", "4\n"]


def test_a_test_that_expects_no_output_cannot_be_judged_and_its_row_gets_none(piston, caplog):
    rows = [ioi_row(test_cases=[["1 2\n", "3\n"], ["0 0\n", " \n"], ["1 1\n", "2\n"]])]
    assert piston_ioi_reward(piston)([cpp("long long sum(long long, long long) { return 0; }")], **columns(rows)) == [
        None
    ]
    assert "tests ['1-02'] expect no output" in caplog.text and piston.requests == []


def test_a_completion_without_code_scores_zero_without_running_anything(piston):
    assert piston_ioi_reward(piston)([[{"role": "assistant", "content": "no idea"}]], **columns([ioi_row()])) == [0.0]
    assert piston.requests == []


@pytest.mark.parametrize("printed", ["7\n", "nan\n", "inf\n", "-1\n", "1 1\n", "1e308\n"])
def test_a_worker_cannot_report_more_than_a_full_test(piston, printed):
    # Whatever the package prints (a program may write to it), a test scores at most 1 and garbage scores 0.
    piston.answer = lambda body: {"compile": {"code": 0}, "run": {"stdout": printed, "stderr": "", "code": 0}}
    assert piston_ioi_reward(piston)([cpp(RIGHT)], **columns([with_checker(ioi_row())])) == [0.0]


@pytest.mark.parametrize("signal", ["SIGKILL", "SIGSEGV"])
def test_a_killed_run_scores_zero_whatever_it_printed(signal):
    """Killed before the checker spoke, the run's stdout may be the program's own "1" (found by a red team)."""

    class KilledRun:
        async def send_execute(self, data):
            return {"compile": {"code": 0}, "run": {"code": None, "signal": signal, "stdout": "1\n", "stderr": ""}}

    score, feedback = ioi.run_coroutine(ioi_scoring.execute_ioi(KilledRun(), {}))
    assert score == "0" and feedback == ("Time limit exceeded" if signal == "SIGKILL" else "Killed by SIGSEGV")


def test_partial_scores_are_rounded_to_the_rows_precision(piston):
    piston.answer = lambda body: {"compile": {"code": 0}, "run": {"stdout": "0.4567\n", "stderr": "", "code": 0}}
    assert piston_ioi_reward(piston)([cpp(RIGHT)], **columns([with_checker(ioi_row(score_precision=1))])) == [0.5]


def test_a_failing_worker_costs_the_row_its_reward_not_the_batch(piston, caplog):
    piston.answer = lambda body: {"message": "cms_ioi-* runtime is unknown"}
    assert piston_ioi_reward(piston)([cpp(RIGHT)], **columns([ioi_row()])) == [0.0]
    assert "Piston failed (reward 0)" in caplog.text and "runtime is unknown" in caplog.text


def test_ioi_rows_that_cannot_be_judged_get_none_and_a_warning_naming_the_field(piston, caplog):
    bad = [ioi_row(test_names=None), ioi_row(test_cases=[["1 2\n", "3\n"]]), ioi_row(grader_files=[["only"]])]
    no_task_type = ioi_row(grader_files=GRADER_FILES[:2])
    output_only = ioi_row(
        grader_files=[*GRADER_FILES[:2], ["graders/grader_config.json", '{"task_type": "OutputOnly"}']]
    )
    samples = ioi_row(subtask="00-samples", score=0)
    rows = [ioi_row(test_cases=None, year=None), *bad, no_task_type, output_only, communication_task(), samples]
    assert piston_ioi_reward(piston)([cpp(RIGHT)] * 8, **columns(rows)) == [None] * 8
    assert "neither 'test_cases' nor 'year'" in caplog.text and "lacks ['test_names']" in caplog.text
    assert "1 test_cases for 3 test_names" in caplog.text and "['grader_files'][0]" in caplog.text
    assert "['grader_files'] lacks 'graders/grader_config.json', where cms_ioi reads the task type" in caplog.text
    assert "task_type 'OutputOnly'; judged here: ('Batch',)" in caplog.text
    # Found by a red team: the program could read the manager's input.txt, or replace the file its verdict is read from.
    assert "row 6 is a Communication task" in caplog.text and "its score cannot be trusted" in caplog.text
    # Found by a red team: a samples subtask paid 1.0 to a program that returned the statement's example.
    assert "row 7 is a subtask worth 0 points" in caplog.text
    assert piston.requests == []


def test_ioi_rows_need_piston_and_say_so(sandbox_free_provider):
    reward = get_ioi_code_reward(sandbox_free_provider)
    with pytest.raises(ValueError, match="cms_ioi package.*competitive_programming_provider 'piston'"):
        reward([cpp(RIGHT)], **columns([ioi_row()]))
    with pytest.raises(ValueError, match="open-r1/ioi columns.*verification_info"):
        reward([cpp(RIGHT)], id=["sum"])


@pytest.fixture
def sandbox_free_provider():
    from open_r1.sandbox.base import CodeExecutionProvider

    class NotPiston(CodeExecutionProvider):
        def execute(self, submissions, test_batch_size=1):
            raise AssertionError("nothing may run")

    return NotPiston()


@needs_gpp
def test_the_ioi_recipe_reward_runs_on_piston_from_the_environment(piston_env):
    args = GRPOScriptArguments(dataset_name="x", competitive_programming_provider="piston", code_test_batch_size=-1)
    reward = REWARD_FUNCS_REGISTRY["ioi_code"](args)
    assert reward([cpp(RIGHT)], **columns([ioi_row()])) == [1.0]
    assert len(piston_env.requests) == 3  # all tests in one batch


# --- Codeforces -----------------------------------------------------------------------------------

ADD = "a, b = map(int, input().split())\nprint(a + b)"
ADD_SMALL_ONLY = "a, b = map(int, input().split())\nprint(a + b if a < 100 else 0)"


def python(code: str) -> list[dict]:
    return [{"role": "assistant", "content": f"```python\n{code}\n```"}]


def cf_row(**overrides) -> dict:
    """One row of open-r1/codeforces (verifiable-prompts): official tests, generated tests in CF_TESTS_FOLDER."""
    row = {
        "id": "1/A",
        "official_tests": [{"input": "1 2", "output": "3"}],
        "official_tests_complete": True,
        "language": "python",
        "input_mode": "stdio",
        "generated_checker": None,
        "time_limit": 1.0,
        "memory_limit": 256,
    }
    return row | overrides


@pytest.fixture
def cf_tests_folder(tmp_path, monkeypatch):
    """CF_TESTS_FOLDER in upstream's layout: test_cases_0001.parquet holds contest 1's generated tests."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from open_r1.rewards import codeforces as code

    rows = [
        {"problem_id": "1/A", "input": "100 1", "output": "101"},
        {"problem_id": "1/B", "input": "x", "output": ""},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test_cases_0001.parquet")
    monkeypatch.setenv("CF_TESTS_FOLDER", str(tmp_path))
    for cached in (code.get_generated_contest_tests, code._has_contest_files, code._generated_tests_index):
        cached.cache_clear()
    yield tmp_path
    for cached in (code.get_generated_contest_tests, code._has_contest_files, code._generated_tests_index):
        cached.cache_clear()


def test_the_codeforces_recipes_competitive_programming_provider_piston_runs_cf_code_on_piston(
    piston_env, cf_tests_folder
):
    args = GRPOScriptArguments(
        dataset_name="x", code_provider="local", competitive_programming_provider="piston", code_scoring_mode="partial"
    )
    reward = REWARD_FUNCS_REGISTRY["cf_code"](args)
    rows = [cf_row(), cf_row()]
    # The generated test (100 1 -> 101) catches the program that only handles small numbers.
    assert reward([python(ADD), python(ADD_SMALL_ONLY)], **columns(rows)) == [1.0, 0.5]
    assert {body["language"] for body in piston_env.requests} == {"python"}  # ran on Piston, not locally
    assert len(piston_env.requests) == 4


def test_upstream_cf_scoring_path_reads_generated_tests_per_contest(cf_tests_folder):
    from open_r1.utils.competitive_programming import cf_scoring

    assert ioi.run_coroutine(cf_scoring.get_generated_tests("1/A")) == [{"input": "100 1", "output": "101"}]
    assert ioi.run_coroutine(cf_scoring.get_generated_tests("2/A")) == []  # no file for contest 2
    assert set(ioi.run_coroutine(cf_scoring.get_generated_contest_tests("1"))) == {"1/A", "1/B"}


def test_a_generated_tests_file_in_jsonl_names_its_bad_line(tmp_path):
    """A one-home audit's: a .jsonl tests file was read with bare json.loads, a bad line a traceback without its
    place."""
    from open_r1.rewards import codeforces as code

    good = {"problem_id": "1/A", "input": "1", "output": "2"}
    path = tmp_path / "test_cases_0001.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({"problem_id": "1/B", "input": "1"}) + "\n")
    with pytest.raises(ValueError, match=f"{path}:2: .*output"):
        code._read_test_rows(str(path))
    path.write_text(json.dumps(good) + "\n")
    assert code._read_test_rows(str(path)) == [good]
    path.write_text("\n")  # a review's: an empty file stopped training where it held no tests before
    assert code._read_test_rows(str(path)) == []
    path.write_bytes(b"PAR1\xff\x00")  # a file that is not text is named with its place
    with pytest.raises(ValueError, match=f"{path}:1: not UTF-8 text"):
        code._read_test_rows(str(path))


def test_codeforces_rows_in_file_input_mode_cannot_be_judged_here(piston_env, cf_tests_folder, caplog):
    args = GRPOScriptArguments(dataset_name="x", competitive_programming_provider="piston")
    reward = REWARD_FUNCS_REGISTRY["cf_code"](args)
    assert reward([python(ADD)], **columns([cf_row(input_mode="file")])) == [None]
    assert "input_mode[0] is 'file'" in caplog.text and piston_env.requests == []


def test_upstreams_piston_client_interface_sends_to_the_fake(piston):
    from open_r1.utils.competitive_programming.piston_client import PistonClient as UpstreamPath

    client = UpstreamPath([piston.url], None, max_requests_per_endpoint=1)
    body = {"files": [{"name": "main.py", "content": "print(input()[::-1])"}], "stdin": "abc\n"}
    answer = ioi.run_coroutine(client.send_execute(body, language="python"))
    assert answer["run"]["stdout"] == "cba\n"
    assert piston.requests[0]["language"] == "python" and piston.requests[0]["version"] == "*"


def test_the_piston_client_from_the_environment_reads_endpoints_and_in_flight_limit(monkeypatch):
    from open_r1.sandbox.piston import piston_client_from_env

    monkeypatch.setenv("PISTON_ENDPOINTS", "http://a:2000/api/v2, http://b:2000/api/v2,")
    monkeypatch.setenv("PISTON_MAX_REQUESTS_PER_ENDPOINT", "3")
    client = piston_client_from_env()
    assert client.endpoints == ["http://a:2000/api/v2", "http://b:2000/api/v2"] and client.max_in_flight == 6
    monkeypatch.setenv("PISTON_MAX_REQUESTS_PER_ENDPOINT", "many")
    with pytest.raises(ValueError, match="PISTON_MAX_REQUESTS_PER_ENDPOINT must be an integer, got 'many'"):
        piston_client_from_env()
    monkeypatch.delenv("PISTON_ENDPOINTS")
    with pytest.raises(ValueError, match="needs PISTON_ENDPOINTS"):
        piston_client_from_env()
