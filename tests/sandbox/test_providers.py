"""E2B, Morph and Piston clients against their documented request/response shapes, without network; the
routers against a local run of the router itself (served by uvicorn on a loopback port, local backend).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest

from open_r1.sandbox import Limits, Submission, TestCase, Verdict
from open_r1.sandbox.e2b import MISSING_KEY, E2BProvider
from open_r1.sandbox.morph import MorphProvider
from open_r1.sandbox.piston import PistonClient, PistonError, PistonProvider, raw_from_piston
from open_r1.sandbox.remote import evaluation_script, parse_script_output, with_retries
from tests.support.piston_answers import piston_answer
from tests.support.ports import free_port
from tests.support.sandbox_checks import skip_without_isolation

ADD = Submission(
    "a, b = map(int, input().split())\nprint(a + b)", "python", (TestCase("1 2", "3"), TestCase("2 2", "5"))
)


def run_script_here(script: str) -> str:
    """What a cloud sandbox does with the evaluation script: run it with python3 (here, unisolated, trusted code)."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout


def test_evaluation_script_runs_programs_and_reports_raw_outcomes():
    parsed = parse_script_output(run_script_here(evaluation_script(ADD, "python", Limits())))
    assert [r["stdout"] for r in parsed["results"]] == ["3\n", "4\n"]
    assert "SECRET" not in evaluation_script(
        Submission("x", "python", (TestCase("in", "SECRET"),)), "python", Limits()
    )


def test_retries_back_off_then_give_up():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("429 rate limited")
        return "ok"

    assert with_retries(flaky, attempts=4, base_delay=1.0, sleep=sleeps.append) == "ok"
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]
    with pytest.raises(ConnectionError):
        with_retries(lambda: (_ for _ in ()).throw(ConnectionError("down")), attempts=2, sleep=lambda _: None)


# ---------------------------------------------------------------------------------------------
# E2B: AsyncSandbox.create(...) -> sandbox.run_code(code, language=...) -> Execution(logs.stdout=[...])
# ---------------------------------------------------------------------------------------------


class FakeE2BSandbox:
    created, killed, fail_first = 0, 0, 0

    @classmethod
    async def create(cls, timeout=None, **kwargs):
        cls.created += 1
        if cls.fail_first:
            cls.fail_first -= 1
            raise RuntimeError("RateLimitException: 429")
        return cls()

    async def run_code(self, code, language=None, timeout=None):
        assert language == "python"
        stdout = run_script_here(code)
        return SimpleNamespace(logs=SimpleNamespace(stdout=[stdout[:10], stdout[10:]], stderr=[]), error=None)

    async def kill(self):
        type(self).killed += 1


def test_e2b_provider_runs_scripts_in_sandboxes_and_kills_them(monkeypatch):
    monkeypatch.setattr("open_r1.sandbox.remote.time.sleep", lambda _: None)
    FakeE2BSandbox.fail_first = 1
    provider = E2BProvider(num_workers=2, sandbox_class=FakeE2BSandbox)
    [result] = provider.execute([ADD], test_batch_size=0)
    assert [o.verdict for o in result.outcomes] == [Verdict.PASSED, Verdict.FAILED]
    assert FakeE2BSandbox.killed == 1 and FakeE2BSandbox.created == 2


def test_e2b_failures_give_reward_zero_not_an_exception(monkeypatch):
    monkeypatch.setattr("open_r1.sandbox.remote.time.sleep", lambda _: None)
    FakeE2BSandbox.fail_first = 100
    [result] = E2BProvider(sandbox_class=FakeE2BSandbox, attempts=2).execute([ADD])
    FakeE2BSandbox.fail_first = 0
    assert result.sandbox_error and result.score("weighted_sum") == 0.0


def test_e2b_without_a_key_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    with pytest.raises(ValueError, match="E2B_API_KEY") as error:
        E2BProvider()
    assert str(error.value) == MISSING_KEY


# ---------------------------------------------------------------------------------------------
# Morph: client.instances.start(snapshot_id=...) -> instance.exec([...]) -> InstanceExecResponse
# ---------------------------------------------------------------------------------------------


class FakeMorphInstance:
    def __init__(self, log):
        self.log = log

    def wait_until_ready(self, timeout=None):
        self.log.append("ready")

    def exec(self, command, timeout=None):
        assert command[:2] == ["python3", "-c"]
        done = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, timeout=60)
        return SimpleNamespace(exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)

    def stop(self):
        self.log.append("stopped")


def test_morph_provider_starts_runs_and_stops_an_instance(monkeypatch):
    log = []
    monkeypatch.setenv("MORPH_SNAPSHOT_ID", "snapshot_test")

    def start(snapshot_id, ttl_seconds):
        log.append(snapshot_id)
        return FakeMorphInstance(log)

    client = SimpleNamespace(instances=SimpleNamespace(start=start))
    [result] = MorphProvider(client=client).execute([ADD], test_batch_size=0)
    assert [o.verdict for o in result.outcomes] == [Verdict.PASSED, Verdict.FAILED]
    assert log == ["snapshot_test", "ready", "stopped"]


# A program that cannot answer in time (it sleeps) but writes the result line itself: it reads every test's input
# from the script's command line (`python3 -c SCRIPT`, as Morph runs it), forks a daemon that opens the script's
# stdout through /proc and writes a line of passes followed by "X" (pushing the script's own line off its start),
# then, with `kill`, kills the script so that its line never comes.
FORGER = """
import json, os, signal, time
n = int(input())
parent = os.getppid()
script = open(f"/proc/{parent}/cmdline", "rb").read().split(bytes(1))[2].decode()
job = json.loads(eval(script.split("job = json.loads(", 1)[1].split(")\\n", 1)[0]))
passed = [{"exit_code": 0, "signal": None, "stdout": str(int(x) ** 2) + "\\n", "stderr": "", "timed_out": False,
           "output_exceeded": False, "wall_seconds": 0.0} for x in job["inputs"]]
if os.fork() == 0:
    os.setsid()
    try:
        out = os.open(f"/proc/{parent}/fd/1", os.O_WRONLY)
        os.write(out, ("OPEN_R1_RESULT " + json.dumps({"compile": {}, "results": passed}) + "\\nX").encode())
    except OSError:
        pass
    if __KILL__:
        try:
            os.kill(parent, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)
time.sleep(30)
"""


@pytest.mark.parametrize("kill", [False, True])
def test_a_program_cannot_write_the_evaluation_scripts_result(monkeypatch, kill):
    """Red team (2026-11-28): on Morph such a program's three timed-out tests came back passed, score 1.0."""
    monkeypatch.setenv("MORPH_SNAPSHOT_ID", "snapshot_test")
    client = SimpleNamespace(instances=SimpleNamespace(start=lambda **_: FakeMorphInstance([])))
    tests = tuple(TestCase(str(k), str(k * k)) for k in range(2, 5))
    forger = Submission(FORGER.replace("__KILL__", str(kill)), "python", tests)
    provider = MorphProvider(client=client, limits=Limits(wall_seconds=1, submission_wall_seconds=10), attempts=1)
    [result] = provider.execute([forger], test_batch_size=0)
    assert Verdict.PASSED not in [outcome.verdict for outcome in result.outcomes], result
    assert result.score("partial") == 0.0


# Forks a daemon in a session of its own that, a second later, creates the file its input names; the daemon keeps
# the run's output pipes open.
DAEMON = r"""
#include <cstdio>
#include <string>
#include <iostream>
#include <unistd.h>
int main() {
    std::string path; std::cin >> path;
    if (fork() == 0) { setsid(); sleep(1); FILE *f = fopen(path.c_str(), "w"); if (f) fclose(f); return 0; }
    puts("3");
}
"""


def test_what_a_run_leaves_behind_is_killed_before_the_script_goes_on(tmp_path):
    shared = pathlib.Path(tempfile.mkdtemp(prefix="open-r1-daemon-"))  # any uid may write here, as in /tmp
    try:
        shared.chmod(0o777)
        # The daemon does what it says when nothing sweeps it (the program run directly).
        subprocess.run(["g++", "-x", "c++", "-o", tmp_path / "daemon", "-"], input=DAEMON, text=True, check=True)
        subprocess.run(
            [tmp_path / "daemon"], input=str(shared / "control"), capture_output=True, text=True, check=True
        )
        time.sleep(1.5)
        assert (shared / "control").exists()
        # Through the script: its run answers, and the daemon is gone before it could write.
        tests = (TestCase(str(shared / "marker"), "3"),)
        started = time.monotonic()
        parsed = parse_script_output(
            run_script_here(evaluation_script(Submission(DAEMON, "cpp", tests), "cpp", Limits()))
        )
        assert parsed["results"][0]["stdout"] == "3\n" and not parsed["results"][0]["timed_out"]
        assert time.monotonic() - started < 10  # its open pipes kept the script waiting for the timeout no more
        time.sleep(1.5)
        assert not (shared / "marker").exists()
    finally:
        shutil.rmtree(shared)


WRITERS = {
    "python": "open('scratch.txt', 'w').write(input())\nprint(open('scratch.txt').read())",
    "cpp": '#include <cstdio>\nint main(){ int n; scanf("%d", &n); FILE *f = fopen("scratch.txt", "w");'
    ' if (!f) return 1; fprintf(f, "%d", n); fclose(f); f = fopen("scratch.txt", "r"); fscanf(f, "%d", &n);'
    ' printf("%d\\n", n); }',
}


@pytest.mark.parametrize("language", WRITERS)
def test_an_honest_run_may_write_files_in_its_working_folder(language):
    """A review's: runs dropped to their uid could not write where they ran (the script's root-owned folder)."""
    writer = Submission(WRITERS[language], language, (TestCase("7", "7"), TestCase("8", "8")))
    parsed = parse_script_output(run_script_here(evaluation_script(writer, language, Limits())))
    assert [result["stdout"] for result in parsed["results"]] == ["7\n", "8\n"]


@pytest.mark.skipif(os.geteuid() != 0, reason="runs share a uid to be swept by only under a root script")
def test_a_scripts_sweep_leaves_another_scripts_runs_alone():
    """A review's: each script killed every process of the shared run uid, so two scripts on one host killed each
    other's honest runs."""
    slow = Submission(
        '#include <cstdio>\n#include <unistd.h>\nint main(){ sleep(2); puts("3"); }', "cpp", (TestCase("", "3"),)
    )
    quick = Submission('#include <cstdio>\nint main(){ puts("3"); }', "cpp", (TestCase("", "3"),) * 20)
    outputs = {}
    threads = [
        threading.Thread(
            target=lambda name=name, s=s: outputs.update(
                {name: run_script_here(evaluation_script(s, "cpp", Limits()))}
            )
        )
        for name, s in (("slow", slow), ("quick", quick))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert parse_script_output(outputs["slow"])["results"][0]["stdout"] == "3\n"
    assert {result["stdout"] for result in parse_script_output(outputs["quick"])["results"]} == {"3\n"}


def test_the_end_of_a_long_stderr_is_what_is_kept():
    """A review's: the script kept the first megabyte of stderr, so a MemoryError after many warnings read as a plain
    runtime error."""
    noisy = Submission(
        'import sys\nsys.stderr.write("warning\\n" * 300000)\nraise MemoryError', "python", (TestCase("", "x"),)
    )
    parsed = parse_script_output(run_script_here(evaluation_script(noisy, "python", Limits())))
    assert parsed["results"][0]["stderr"].rstrip().endswith("MemoryError")
    assert len(parsed["results"][0]["stderr"]) <= 4000


def test_only_one_result_line_is_read():
    line = 'OPEN_R1_RESULT {"compile": {}, "results": []}'
    assert parse_script_output(line + "\n") == {"compile": {}, "results": []}
    for output in (line + "\n" + line, line + "\nX" + line, "noise\n" + line, ""):
        with pytest.raises(ValueError, match="not one OPEN_R1_RESULT line"):
            parse_script_output(output)


def test_morph_without_snapshot_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("MORPH_SNAPSHOT_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="MORPH_SNAPSHOT_ID"):
        MorphProvider(client=object())


# ---------------------------------------------------------------------------------------------
# Piston v2: POST /execute {language, version, files, stdin, ...} -> {run: {stdout, code, signal, status}}
# ---------------------------------------------------------------------------------------------


class FakePistonSession:
    def __init__(self, answers, content_length: bool = True):
        self.answers = list(answers)
        self.requests = []
        self.content_length = content_length

    def post(self, url, json=None, timeout=None, stream=False):
        self.requests.append((url, json))
        status, body = self.answers.pop(0)
        self.closed = False
        self.answer = piston_answer(status, body, self.content_length, on_close=lambda: setattr(self, "closed", True))
        return self.answer


def test_piston_provider_sends_v2_bodies_round_robin_and_grades():
    answers = [
        (503, {"message": "busy"}),
        (200, {"language": "python", "run": {"stdout": "3\n", "stderr": "", "code": 0, "signal": None}}),
        (200, {"run": {"stdout": "", "stderr": "", "code": None, "signal": "SIGKILL", "status": "TO"}}),
    ]
    session = FakePistonSession(answers)
    client = PistonClient(["http://a:2000/api/v2", "http://b:2000/api/v2"], session=session)
    provider = PistonProvider(client, attempts=3)
    import open_r1.sandbox.remote as remote

    original = remote.time.sleep
    remote.time.sleep = lambda _: None
    try:
        [result] = provider.execute([ADD], test_batch_size=1)
    finally:
        remote.time.sleep = original
    assert [o.verdict for o in result.outcomes] == [Verdict.PASSED, Verdict.TIMEOUT]
    urls = [url for url, _ in session.requests]
    assert urls == ["http://a:2000/api/v2/execute", "http://b:2000/api/v2/execute", "http://a:2000/api/v2/execute"]
    body = session.requests[1][1]
    assert body["language"] == "python" and body["version"] == "*" and body["stdin"] == "1 2\n"
    assert body["files"] == [{"name": "main.py", "content": ADD.source}]


def test_a_request_piston_refuses_is_not_sent_again():
    """A 413 (the worker's body limit) answers every retry alike: found by a red team, retried six times in 32 s."""
    from open_r1.sandbox.piston import PistonRefused

    session = FakePistonSession([(413, "request entity too large")] * 6)
    with pytest.raises(PistonRefused, match="413.*body limit.*piston_worker.slurm"):
        PistonProvider(PistonClient("http://a:2000/api/v2", session=session), attempts=6)._run_test(ADD, "1 2", 10.0)
    assert len(session.requests) == 1
    # With several workers the retry reaches another, which may be set up otherwise (found by a review).
    session = FakePistonSession([(413, "too large"), (200, {"run": {"stdout": "3\n", "stderr": "", "code": 0}})])
    two = PistonClient(["http://a:2000/api/v2", "http://b:2000/api/v2"], session=session)
    assert PistonProvider(two, attempts=2)._run_test(ADD, "1 2", 10.0)["run"]["stdout"] == "3\n"
    calls = []
    with pytest.raises(ValueError):
        with_retries(lambda: calls.append(1) or int("x"), attempts=3, sleep=lambda _: None)
    assert len(calls) == 3  # other failures are retried


def test_an_answer_over_the_clients_limit_is_not_read_and_counts_as_the_programs_output_limit(monkeypatch):
    """Found by a red team: a program's 200 MB of output raised the trainer's memory by 619 MB per answer."""
    import open_r1.sandbox.piston as piston
    from open_r1.rewards import ioi

    printed = {"run": {"stdout": "1\n" * 100, "stderr": "", "code": 0, "signal": None}}
    monkeypatch.setattr(piston, "MAX_ANSWER_BYTES", 100)
    session = FakePistonSession([(200, printed)] * 2)
    client = PistonClient("http://a:2000/api/v2", session=session)
    answer = client.execute({"language": "python"})
    assert session.closed and raw_from_piston(answer)["output_exceeded"]
    assert session.answer.chunks_sent == []  # its Content-Length said enough
    ran = ioi.run_coroutine(ioi.send_cms_ioi(client, {}))
    assert ran.output is None and ran.feedback == "Output limit exceeded"


def test_a_chunked_answer_is_read_only_up_to_the_clients_limit(monkeypatch):
    """An answer without a Content-Length (chunked, as through a proxy) is cut off as it arrives, not read whole."""
    import open_r1.sandbox.piston as piston

    monkeypatch.setattr(piston, "MAX_ANSWER_BYTES", 3 << 20)
    printed = {"run": {"stdout": "1\n" * (8 << 20), "stderr": "", "code": 0, "signal": None}}
    session = FakePistonSession([(200, printed)], content_length=False)
    answer = PistonClient("http://a:2000/api/v2", session=session).execute({"language": "python"})
    assert session.closed and raw_from_piston(answer)["output_exceeded"]
    assert len(session.answer.chunks_sent) == 4  # 1 MiB chunks: the fourth one passes 3 MiB; 16 MiB were on offer
    small = {"run": {"stdout": "3\n", "stderr": "", "code": 0, "signal": None}}
    session = FakePistonSession([(200, small)], content_length=False)
    assert PistonClient("http://a:2000/api/v2", session=session).execute({})["run"]["stdout"] == "3\n"
    assert not session.closed


def test_an_answer_that_is_not_json_is_the_workers_error():
    session = FakePistonSession([(200, "<html>Bad gateway</html>")])
    with pytest.raises(PistonError, match="answered b'<html>Bad gateway</html>' instead of JSON"):
        PistonClient("http://a:2000/api/v2", session=session).execute({})


def test_piston_compile_errors_and_status_codes_map_to_verdicts():
    assert raw_from_piston({"run": {"code": 0, "stdout": "x", "status": "OL"}})["output_exceeded"]
    assert raw_from_piston({"run": {"code": None, "signal": "SIGSEGV"}})["signal"] == 11
    with pytest.raises(ValueError, match="PISTON_ENDPOINTS"):
        PistonProvider.from_env()


# ---------------------------------------------------------------------------------------------
# Routers: a real uvicorn server on loopback, backed by the local sandbox
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--max_num_sandboxs", "3"], "unknown option --max_num_sandboxs (did you mean --max_num_sandboxes?)"),
        (["--max", "3"], "unknown option --max"),  # was read as --max_num_sandboxes
        (["--max_num_sandboxes", "0"], "--max_num_sandboxes must be at least 1, got 0"),
        (["--backend", "e2"], "(did you mean 'e2b'?)"),
    ],
)
def test_a_routers_command_line_mistake_is_one_line(argv, message):
    """An audit's: the routers used argparse's own parser (usage dump, abbreviations read as options)."""
    from open_r1.sandbox.router import parse_args
    from open_r1.usage import UsageError

    with pytest.raises(UsageError) as error:
        parse_args("e2b", 8000, argv)
    assert message in str(error.value)
    assert parse_args("e2b", 8000, ["--max-num-sandboxes", "4"]).max_num_sandboxes == 4


@pytest.fixture(scope="module")
def router_url():
    uvicorn = pytest.importorskip("uvicorn")
    from open_r1.sandbox.router import build_router_app, local_backend

    with skip_without_isolation():
        backend = local_backend(2)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_router_app(backend, 2, "local"), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("provider_class", [E2BProvider, MorphProvider])
def test_routed_providers_run_through_a_local_router(router_url, provider_class):
    cpp = Submission('#include <cstdio>\nint main(){ puts("3"); }', "cpp", (TestCase("", "3"),))
    broken = Submission("int main( {", "cpp", (TestCase("", "3"),))
    results = provider_class(router_url=router_url).execute([ADD, cpp, broken], test_batch_size=0)
    assert [o.verdict for o in results[0].outcomes] == [Verdict.PASSED, Verdict.FAILED]
    assert [o.verdict for o in results[1].outcomes] == [Verdict.PASSED]
    assert results[2].compile_error is not None


def test_router_reports_per_script_failures_and_health(router_url):
    import requests

    answer = requests.post(
        f"http://{router_url}/execute_batch",
        json={"scripts": ["print('fine')", "raise SystemExit(3)"], "languages": ["python", "python"], "timeout": 30},
        timeout=60,
    ).json()
    assert answer[0] == {"stdout": "fine\n", "exception_str": None}
    assert answer[1]["stdout"] is None and "script failed" in answer[1]["exception_str"]
    health = requests.get(f"http://{router_url}/health", timeout=10).json()
    assert health["backend"] == "local" and health["max_concurrency"] == 2
    rejected = requests.post(
        f"http://{router_url}/execute_batch", json={"scripts": ["x"], "languages": ["rust"]}, timeout=10
    )
    assert rejected.status_code == 422 and json.loads(rejected.text)
