"""The math grading pool survives workers dying at any moment, and raises only for a worker that cannot start.

Each test uses its own `GradingPool` (not the process-wide one) so that the workers it kills or breaks never
reach another test. Run: `.venv/bin/python -m pytest tests/rewards/test_grading_pool.py -q`.
"""

import multiprocessing
import os
import resource
import select
import sys
import textwrap
import threading
import time

import pytest

from open_r1.rewards import _grading_pool, grading_worker
from open_r1.rewards._grading_pool import GradingPool

TIMEOUT = 30.0
# ("gold", "2") is answered with the pickled parse of 2; ("grade", gold, None, answer, "boxed") with True/False.
GOLD_TASKS = [("gold", "2", TIMEOUT)] * 3
GRADE_TASKS = [("grade", "1", None, "1", "boxed", TIMEOUT), ("grade", "1", None, "2", "boxed", TIMEOUT)]


@pytest.fixture
def pool():
    pool = GradingPool()
    yield pool
    pool.close()


def idle_workers(pool: GradingPool, count: int) -> list:
    """Starts `count` workers and leaves them idle in the pool, as a call that ended before they were ready does."""
    workers = pool._acquire(count, count, block=True)
    pool._release(workers)
    return workers


def wait_until_ready(worker) -> None:
    while not worker.ready:
        select.select([worker.fd], [], [], 60)
        worker.ready = "ready" in worker.receive()


def sigkill(worker) -> None:
    worker.process.kill()
    worker.process.wait()


def assert_grades_correctly(pool: GradingPool, num_workers: int = 2) -> None:
    gold_results = pool.run(GOLD_TASKS, num_workers=num_workers, timeout=TIMEOUT)
    assert all(isinstance(result, bytes) and result for result in gold_results), gold_results
    assert pool.run(GRADE_TASKS, num_workers=num_workers, timeout=TIMEOUT) == [True, False]


# --- workers that die between calls are replaced --------------------------------------------------------------


def test_an_idle_worker_killed_before_it_was_ready_is_replaced(pool):
    for worker in idle_workers(pool, 2):
        assert not worker.ready
        sigkill(worker)
    assert_grades_correctly(pool)


def test_a_worker_that_died_right_after_saying_ready_is_replaced(pool):
    for worker in idle_workers(pool, 2):
        select.select([worker.fd], [], [], 60)  # its "ready" frame is in the pipe, unread, when it dies
        sigkill(worker)
    assert_grades_correctly(pool)


def test_a_ready_idle_worker_killed_between_calls_is_replaced(pool):
    for worker in idle_workers(pool, 2):
        wait_until_ready(worker)
        sigkill(worker)
    assert_grades_correctly(pool)


def test_idle_workers_killed_again_and_again_never_make_the_pool_give_up(pool):
    for _ in range(_grading_pool.MAX_FAILED_STARTS + 1):
        for worker in idle_workers(pool, 2):
            sigkill(worker)
        assert_grades_correctly(pool)


def test_a_dead_worker_is_dropped_from_the_pool_not_handed_out_again(pool):
    for worker in idle_workers(pool, 2):
        sigkill(worker)
    assert_grades_correctly(pool)
    assert len(pool._all) == 2
    assert all(worker.process.poll() is None for worker in pool._all)


# --- workers that cannot start ----------------------------------------------------------------------------------


def use_worker_script(monkeypatch, tmp_path, source: str) -> None:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(source))
    monkeypatch.setattr(_grading_pool, "_worker_argv", lambda: [sys.executable, str(script)])


def test_a_worker_that_cannot_import_raises_with_its_stderr(pool, monkeypatch, tmp_path):
    use_worker_script(monkeypatch, tmp_path, "import no_such_module_for_the_grading_worker\n")
    with pytest.raises(RuntimeError, match=r"(?s)failed to start.*exit status 1.*no_such_module_for_the_grading"):
        pool.run(GOLD_TASKS, num_workers=2, timeout=TIMEOUT)


def test_workers_that_always_die_right_after_ready_end_the_call_instead_of_looping(pool, monkeypatch, tmp_path):
    use_worker_script(
        monkeypatch,
        tmp_path,
        """
        import pickle, struct, sys
        frame = pickle.dumps("ready")
        sys.stdout.buffer.write(struct.pack("<Q", len(frame)) + frame)
        sys.stdout.buffer.flush()
        """,
    )
    # Each death either costs the task sent to that worker (CRASHED) or counts as a failed start: a bounded loop.
    try:
        results = pool.run(GOLD_TASKS, num_workers=1, timeout=TIMEOUT)
    except RuntimeError as error:
        assert f"{_grading_pool.MAX_FAILED_STARTS} math grading workers in a row failed to start" in str(error)
    else:
        assert results == [_grading_pool.CRASHED] * len(GOLD_TASKS)


def test_the_pool_works_again_once_the_worker_can_start(pool, monkeypatch, tmp_path):
    use_worker_script(monkeypatch, tmp_path, "raise SystemExit(3)\n")
    with pytest.raises(RuntimeError, match="exit status 3"):
        pool.run(GOLD_TASKS, num_workers=2, timeout=TIMEOUT)
    monkeypatch.undo()
    assert_grades_correctly(pool)


# --- processes and descriptors ----------------------------------------------------------------------------------


def _shut_down_the_inherited_pool(queue):
    _grading_pool.shutdown_pool()  # what the child's atexit handler does
    queue.put("done")


def test_a_forked_child_shutting_down_its_pool_leaves_the_parents_workers_alive():
    parent_pool = _grading_pool.get_pool()
    parent_pool.run(GOLD_TASKS, num_workers=2, timeout=TIMEOUT)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_shut_down_the_inherited_pool, args=(queue,))
    child.start()
    assert queue.get(timeout=60) == "done"
    child.join(timeout=30)
    assert child.exitcode == 0
    assert all(worker.process.poll() is None for worker in parent_pool._all)
    assert parent_pool.run(GRADE_TASKS, num_workers=2, timeout=TIMEOUT) == [True, False]


def test_workers_with_descriptors_above_1024_are_watched(pool):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if soft != resource.RLIM_INFINITY else soft, hard))
    filler = []
    try:
        while not filler or filler[-1] < 1030:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        assert_grades_correctly(pool)
        assert max(worker.fd for worker in pool._all) > 1024
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- tasks travel in chunks, each task keeps its own time limit -------------------------------------------------

# A worker that speaks the real protocol but whose tasks are (seconds to sleep, value to return): the pool's
# chunking and time limits, without math-verify's timing.
SLEEPING_WORKER = """
    import pickle, struct, sys, time
    HEADER = struct.Struct("<Q")

    def write(message):
        data = pickle.dumps(message)
        sys.stdout.buffer.write(HEADER.pack(len(data)) + data)
        sys.stdout.buffer.flush()

    write("ready")
    while True:
        header = sys.stdin.buffer.read(HEADER.size)
        if len(header) < HEADER.size:
            break
        for seconds, value in pickle.loads(sys.stdin.buffer.read(HEADER.unpack(header)[0])):
            time.sleep(seconds)
            write((value, time.monotonic()))
"""


@pytest.fixture
def sent_chunks(monkeypatch):
    """The chunks the pool sends, in order (each a list of tasks)."""
    chunks = []
    original = _grading_pool._Worker.send

    def recording_send(worker, tasks):
        chunks.append(list(tasks))
        return original(worker, tasks)

    monkeypatch.setattr(_grading_pool._Worker, "send", recording_send)
    return chunks


def test_a_hung_task_mid_chunk_costs_only_that_task_and_the_rest_of_its_chunk_is_graded(
    pool, monkeypatch, tmp_path, sent_chunks
):
    use_worker_script(monkeypatch, tmp_path, SLEEPING_WORKER)
    tasks = [(0, "a"), (0, "b"), (60, "hung"), (0, "c"), (0, "d"), (0, "e"), (0, "f"), (0, "g")]
    start = time.monotonic()
    results = pool.run(tasks, num_workers=1, timeout=1.0)
    assert time.monotonic() - start < 30
    assert results == ["a", "b", _grading_pool.TIMED_OUT, "c", "d", "e", "f", "g"]
    first_chunk = sent_chunks[0]
    assert (60, "hung") in first_chunk and first_chunk[-1] != (60, "hung"), "the hung task was not mid-chunk"
    # The tasks after it went out again, to the replacement worker.
    assert any((0, "c") in chunk for chunk in sent_chunks[1:])


def test_a_call_past_its_batch_time_counts_every_task_not_finished_as_timed_out(pool, monkeypatch, tmp_path):
    """Each task within its own limit, the call past its own: the tasks left are TIMED_OUT, the busy worker killed."""
    use_worker_script(monkeypatch, tmp_path, SLEEPING_WORKER)
    tasks = [(0, "a"), (0, "b"), *[(2, index) for index in range(6)]]  # 12 s of tasks, each within its 5 s
    start = time.monotonic()
    results = pool.run(tasks, num_workers=1, timeout=5.0, batch_seconds=1.0)
    assert time.monotonic() - start < 4
    assert results == ["a", "b", *[_grading_pool.TIMED_OUT] * 6]
    assert pool.run([(0, "c")], num_workers=1, timeout=5.0) == ["c"]  # the pool goes on


def test_each_task_in_a_chunk_gets_the_full_time_limit_from_when_the_previous_one_finished(
    pool, monkeypatch, tmp_path, sent_chunks
):
    use_worker_script(monkeypatch, tmp_path, SLEEPING_WORKER)
    tasks = [(0.2, index) for index in range(8)]  # first chunk: 4 tasks, 0.8 s in all; each well within 0.6 s
    assert pool.run(tasks, num_workers=1, timeout=0.6) == list(range(8))
    assert max(len(chunk) for chunk in sent_chunks) * 0.2 > 0.6


def test_a_worker_killed_mid_chunk_loses_only_the_task_it_was_on(pool, monkeypatch, tmp_path, sent_chunks):
    use_worker_script(monkeypatch, tmp_path, SLEEPING_WORKER)
    pool.run([(0, "warm")], num_workers=1, timeout=TIMEOUT)  # a ready worker, so the kill lands mid-chunk

    def kill_every_worker():
        for worker in list(pool._all):
            worker.process.kill()

    killer = threading.Timer(1.0, kill_every_worker)
    killer.start()
    tasks = [(0, "a"), (60, "killed"), (0, "b"), (0, "c"), (0, "d"), (0, "e")]
    results = pool.run(tasks, num_workers=1, timeout=TIMEOUT)
    killer.join()
    assert results == ["a", _grading_pool.CRASHED, "b", "c", "d", "e"]
    assert (0, "b") in sent_chunks[1], "the killed task was not mid-chunk"


def test_results_come_back_in_task_order_from_several_workers(pool, sent_chunks):
    answers = [str(i % 7) for i in range(300)]
    tasks = [("grade", "3", None, answer, "boxed", TIMEOUT) for answer in answers]
    assert pool.run(tasks, num_workers=2, timeout=TIMEOUT) == [answer == "3" for answer in answers]
    assert len(sent_chunks) < len(tasks) / 4, "tasks were not sent in chunks"
    assert sorted(task for chunk in sent_chunks for task in chunk) == sorted(tasks)


# --- what a worker keeps between tasks ----------------------------------------------------------------------------


def test_a_worker_parses_a_short_answer_once_and_grades_it_against_each_gold():
    cache = grading_worker.ParseCache()
    golds = {gold: grading_worker.parse_gold(gold, TIMEOUT) for gold in ("2", "3", r"\frac{4}{2}")}
    first = cache.parsed_answer("2", "boxed", TIMEOUT)
    assert cache.parsed_answer("2", "boxed", TIMEOUT) is first
    verdicts = [grading_worker.parsed_answers_match(parsed, first, TIMEOUT) for parsed in golds.values()]
    assert verdicts == [True, False, True]


def test_the_answer_cache_skips_long_and_unparseable_answers_and_stays_bounded(monkeypatch):
    cache = grading_worker.ParseCache()
    long_answer = "+".join(["1"] * 150)
    assert cache.parsed_answer(long_answer, "boxed", TIMEOUT) is not cache.parsed_answer(long_answer, "boxed", TIMEOUT)
    assert cache.parsed_answer("}{", "boxed", TIMEOUT) == []
    assert cache.answers == {}
    monkeypatch.setattr(grading_worker.ParseCache, "MAX_ENTRIES", 3)
    for number in range(10):
        cache.parsed_answer(str(number), "boxed", TIMEOUT)
    assert 0 < len(cache.answers) <= 3


def test_an_answer_whose_parse_came_near_the_parsing_timeout_is_not_cached(monkeypatch):
    # A parse cut short under load may have fallen back to another extraction; it must not stick.
    def slow_parse(answer, kind, timeout):
        time.sleep(0.3)
        return [answer]

    monkeypatch.setattr(grading_worker, "parse_answer", slow_parse)
    cache = grading_worker.ParseCache()
    assert cache.parsed_answer("7", "boxed", 2.0) == ["7"]  # math-verify's parsing timeout here: 1 s
    assert cache.answers == {}
