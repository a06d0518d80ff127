"""Jobs run at the same time in their own processes (`open_r1.utils.launch.run_at_once`: `make gsm8k`'s two arms on a
GPU), the demo pipeline's training launches, one process each (`one_process.yaml`), and the evaluator's GPU memory
given back when it ends. The jobs are this module's functions, spawned: the module imports nothing heavy at its
top."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

from open_r1.utils.launch import REPO_ROOT, accelerate_command, run_at_once


def meet(folder: str, name: str, other: str) -> str:
    """A job that can only finish while `other` runs too: it marks its start and waits for the other's mark."""
    (pathlib.Path(folder) / name).touch()
    deadline = time.monotonic() + 60
    while not (pathlib.Path(folder) / other).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{other} never started while {name} ran")
        time.sleep(0.05)
    print(f"{name} met {other}", flush=True)
    subprocess.run([sys.executable, "-c", f"print('a launch of {name}')"], check=True)
    return name.upper()


def threads_seen() -> tuple[str, list[str]]:
    """What a job and a launch it would make see of the cores."""
    from open_r1.utils.launch import accelerate_command

    command = accelerate_command("sft.py", "recipe.yaml")
    return os.environ["OMP_NUM_THREADS"], command[command.index("--num_cpu_threads_per_process") + 1]


def fail(message: str) -> None:
    print("about to fail", flush=True)
    raise ValueError(message)


def refuse(message: str) -> None:
    raise SystemExit(message)


def test_jobs_run_at_the_same_time_each_with_its_output_in_its_own_log(tmp_path):
    jobs = {"cot": (meet, (str(tmp_path), "cot", "tools")), "tools": (meet, (str(tmp_path), "tools", "cot"))}
    results = run_at_once(jobs, tmp_path)
    assert results == {"cot": "COT", "tools": "TOOLS"} and list(results) == ["cot", "tools"]
    for name, other in (("cot", "tools"), ("tools", "cot")):
        log = (tmp_path / f"{name}.log").read_text()
        # what the job printed and what a process it launched printed, and nothing of the other job
        assert f"{name} met {other}" in log and f"a launch of {name}" in log and f"{other} met" not in log


def test_jobs_share_the_cores_and_their_launches_keep_to_their_share(monkeypatch, tmp_path):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # a machine of 4 cores, as far as launches are concerned
    jobs = {name: (threads_seen, ()) for name in ("a", "b", "c")}
    assert run_at_once(jobs, tmp_path) == {name: ("1", "1") for name in jobs}
    assert run_at_once({"a": (threads_seen, ())}, tmp_path) == {"a": ("4", "4")}
    monkeypatch.delenv("OMP_NUM_THREADS")
    import psutil

    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [0.0] * (os.cpu_count() or 1))  # all idle
    command = accelerate_command("sft.py", "recipe.yaml", num_processes=1)
    assert command[command.index("--num_cpu_threads_per_process") + 1] == str(len(os.sched_getaffinity(0)))


def test_a_failed_job_is_named_with_its_error_and_log_and_the_others_still_finish(tmp_path):
    (tmp_path / "tools").touch()  # the meeting job's partner has "started"
    with pytest.raises(RuntimeError) as failed:
        run_at_once({"cot": (meet, (str(tmp_path), "cot", "tools")), "bad": (meet, ("no reward model",))}, tmp_path)
    message = str(failed.value)
    assert message == f"bad failed (TypeError: {message.split('TypeError: ')[1]}"  # meet() called with 1 argument
    assert "cot" not in message.split(";")[0] and str(tmp_path / "bad.log") in message
    assert "cot met tools" in (tmp_path / "cot.log").read_text()
    with pytest.raises(RuntimeError) as failed:
        run_at_once({"bad": (fail, ("no reward model",))}, tmp_path)
    message = str(failed.value)
    assert message == f"bad failed (ValueError: no reward model); its log: {tmp_path / 'bad.log'}"
    assert "about to fail" in (tmp_path / "bad.log").read_text()


def test_a_job_that_refuses_with_a_system_exit_is_reported_as_failed_and_the_others_still_finish(tmp_path):
    (tmp_path / "tools").touch()
    with pytest.raises(RuntimeError) as failed:
        run_at_once({"cot": (meet, (str(tmp_path), "cot", "tools")), "bad": (refuse, ("--reuse_base: no",))}, tmp_path)
    assert str(failed.value) == f"bad failed (SystemExit: --reuse_base: no); its log: {tmp_path / 'bad.log'}"
    assert "cot met tools" in (tmp_path / "cot.log").read_text()


def test_training_launches_one_process_directly_on_a_gpu_and_on_a_cpu(monkeypatch, tmp_path):
    from open_r1.demo import pipeline

    launched = []
    monkeypatch.setattr(pipeline, "accelerate_launch", lambda *args, **kwargs: launched.append(kwargs))
    for cpu in (False, True):
        pipeline.train("sft.py", "recipe.yaml", tmp_path, tmp_path, tmp_path, 0, tmp_path / "log", cpu=cpu)
    assert [(kwargs["accelerate_config"], kwargs["cpu"]) for kwargs in launched] == [
        ("one_process.yaml", False),
        ("one_process.yaml", True),
    ]


def test_a_later_override_replaces_an_earlier_option_so_the_script_sees_each_once(monkeypatch, tmp_path):
    """make gsm8k FAST=1 GRPO_STEPS=40: FAST's --max_steps 2 and the chosen 40 would reach grpo.py twice, which
    refuses an option given twice."""
    from open_r1.demo import pipeline
    from open_r1.demo.gsm8k_launch import stage_overrides
    from open_r1.demo.settings import GSM8K_FAST
    from open_r1.usage import check_options_given_once

    launched = []
    monkeypatch.setattr(pipeline, "accelerate_launch", lambda *args, **kwargs: launched.append(args))
    run = {"settings": GSM8K_FAST, "device": "cpu", "fast": True, "grpo_max_steps": 40, "grpo_num_generations": 4}
    overrides = stage_overrides("grpo", "cot", run)
    assert overrides.count("--max_steps") == 2  # FAST's, then the chosen
    pipeline.train("grpo.py", "recipe.yaml", tmp_path, tmp_path, tmp_path, 0, tmp_path / "log", *overrides)
    (args,) = launched
    check_options_given_once(list(args[2:]))
    assert args[args.index("--max_steps") + 1] == "40"
    assert args[args.index("--num_generations") + 1] == "4"
    assert args[args.index("--output_dir") + 1] == str(tmp_path)


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_an_evaluation_on_a_gpu_gives_its_memory_back_when_it_ends(monkeypatch, tmp_path, device):
    import torch

    import open_r1.eval.offline
    from open_r1.demo import pipeline

    events = []

    def evaluate(args, on_progress):
        events.append("evaluated")
        (tmp_path / "details.jsonl").write_text('{"id": "1"}\n')
        return {"pass@1": 0.5}

    monkeypatch.setattr(open_r1.eval.offline, "evaluate", evaluate)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: events.append("cache emptied"))
    results, details = pipeline.run_evaluator(
        tmp_path / "model", "gsm8k", tmp_path / "test.jsonl", tmp_path, label="x", device=device
    )
    assert results == {"pass@1": 0.5} and details == [{"id": "1"}]
    assert events == (["evaluated", "cache emptied"] if device == "cuda" else ["evaluated"])


def test_an_evaluations_progress_bar_names_the_tool_round_it_is_in(monkeypatch, tmp_path, capsys):
    import open_r1.eval.offline
    from open_r1.demo import pipeline

    shown = []

    def evaluate(args, on_progress):
        on_progress(1, 4, 1)
        on_progress(1, 4, 2)  # a later round in which no rollout has ended yet: the bar still moves on
        shown.append(capsys.readouterr().err)
        on_progress(3, 4, 3)
        (tmp_path / "details.jsonl").write_text('{"id": "1"}\n')
        return {"pass@1": 0.5}

    monkeypatch.setattr(open_r1.eval.offline, "evaluate", evaluate)
    pipeline.run_evaluator(tmp_path / "model", "gsm8k", tmp_path / "test.jsonl", tmp_path, label="tools, sft")
    assert "1/4" in shown[0] and "tool round 2" in shown[0]
    assert "3/4" in capsys.readouterr().err


def test_an_output_folder_keeps_nothing_of_an_earlier_run_and_says_so(tmp_path, capsys):
    from open_r1.demo.pipeline import prepare_output_dir

    prepare_output_dir(tmp_path / "run", ["sft-cot"])
    assert capsys.readouterr().out == f"Writing to {tmp_path / 'run'}\n"
    for name in (
        "results.json",
        "report.md",
        "evals/sft-cot-greedy/results.json",
        "sft-cot/model.safetensors",
        "curves-tools.png",  # a run of another arm would leave it beside its own results
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("earlier")
    prepare_output_dir(tmp_path, ["sft-cot"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "run"]
    # A newcomer's: a FAST check replaced a full run's results without a word.
    assert capsys.readouterr().out == (
        f"Replacing the earlier run in {tmp_path} (results.json, report.md, evals, sft-cot, curves-tools.png); "
        "another --output_dir "
        "(make's OUTPUT_DIR=...) keeps both\n"
    )


def test_ctrl_c_stops_the_demo_in_one_line(tmp_path):
    """Found by a newcomer: Ctrl-C printed a 110-line traceback; now one line says what the folder holds."""
    import signal

    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py", "--tools", "--fast", "--output_dir", str(tmp_path / "demo")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert demo.stdout.readline().startswith("Writing to ")  # it has started its stages
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=120)
    finally:
        demo.kill()
    assert demo.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "demo.py: interrupted; its output folder holds the stages it finished; a new run starts over"
    )
