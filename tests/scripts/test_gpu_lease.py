"""scripts/gpu_lease.sh: the plans a lent GPU runs, checked here against the scripts they call."""

import os
import pathlib
import re
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from tests.support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "gpu_lease.sh"
PLANS = ("decoding", "tools-throughput", "cot", "cot-lr", "cot-calc3", "cot-gen16", "tools-sft", "tools")


def _choices() -> dict[str, dict[str, tuple[str, ...]]]:
    from tests.support.script_module import load_module

    decode_step = load_module("scripts/benchmarks/decode_step.py", "decode_step_choices")
    throughput = load_module("scripts/benchmarks/grpo_throughput.py", "grpo_throughput_choices")
    return {
        "scripts/benchmarks/decode_step.py": {"--ways": decode_step.WAYS},
        "scripts/benchmarks/grpo_throughput.py": {"--arms": throughput.ARMS},
        "scripts/benchmarks/compiled_evaluation.py": {
            "--arm": ("cot", "tools"),
            "--kinds": ("greedy", "sampled"),
            "--ways": ("uncompiled", "compiled"),
        },
    }


CHOICES = _choices()


def lease(*args, cwd=None, **environment) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **environment},
        cwd=cwd,
    )


@pytest.mark.parametrize("plan", PLANS)
def test_each_plan_calls_scripts_with_options_they_take_and_files_that_exist(plan):
    for _, command in plan_lines(plan):
        words = command.split()
        assert words[0] == "python3" and (REPO_ROOT / words[1]).is_file(), command
        usage = subprocess.run(
            [sys.executable, words[1], "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": "src"},
        ).stdout
        for option in (word for word in words[2:] if word.startswith("--")):
            assert re.search(rf"{re.escape(option)}\b", usage), f"{words[1]} has no {option}"
        for value in ("--recipe", "--reuse_base"):  # files of this repository, unlike the bundle's data
            if value in words:
                assert (REPO_ROOT / words[words.index(value) + 1]).exists(), command
        for option, choices in CHOICES.get(words[1], {}).items():  # each value one the script takes
            assert set(option_values(words, option)) <= set(choices), command
        if words[1] == "scripts/benchmarks/grpo_throughput.py":  # it refuses arms without its baseline
            assert "trl" in option_values(words, "--arms"), command


def plan_lines(plan: str) -> list[tuple[int | None, str]]:
    """A plan's commands, each with the seconds it may run, as `start` dry-runs them (None: what the others leave)."""
    run = lease("start", plan, GPU_LEASE_DRY_RUN="1")
    assert run.returncode == 0, run.stderr
    lines = []
    for line in run.stdout.splitlines():
        limit, command = line.split(" ", 1)
        if limit == "rest":
            least, command = command.split(" ", 1)
            assert int(least) > 0, line
            lines.append((None, command))
        else:
            lines.append((int(limit), command))
    return lines


@pytest.mark.parametrize("plan", PLANS)
def test_each_plans_limits_its_start_install_and_collect_fit_a_lease(plan):
    from open_r1.demo.gsm8k_rehearsal import LEASE_SETUP_SECONDS

    # Each command stopped, then killed; a line of the time the others leave adds none.
    worst = sum(limit + script_constant("KILL_AFTER") for limit, _ in plan_lines(plan) if limit is not None)
    assert worst + LEASE_SETUP_SECONDS + script_constant("COLLECT_SECONDS") <= 15 * 60


def script_constant(name: str) -> int:
    return int(re.search(rf"^{name}=(\d+)", SCRIPT.read_text(), re.MULTILINE).group(1))


@pytest.mark.parametrize(
    ("plan", "lever"),
    [
        ("cot-lr", "--grpo_learning_rate 3e-5"),
        ("cot-calc3", "--grpo_max_calculations 3"),
        ("cot-gen16", "--grpo_num_generations 16"),
    ],
)
def test_a_cot_lever_plan_is_the_cot_plan_with_one_lever_changed_and_its_rest_first_compiled(plan, lever):
    # So that its run compares with the cot plan's, and fits a lease as that one does.
    (cot_limit, cot), *cot_rest = plan_lines("cot")
    (limit, command), compiled_evaluation, *rest = plan_lines(plan)
    assert (limit, command) == (cot_limit, f"{cot} {lever}") and rest == cot_rest
    # First, in what its run leaves, the compiled greedy evaluation of the GRPO model the run evaluated uncompiled.
    assert compiled_evaluation[0] is None and "--model data/gsm8k/grpo-cot --arm cot" in compiled_evaluation[1]


def option_values(words: list[str], option: str) -> list[str]:
    """The values a command gives `option`: the words after it up to the next option."""
    if option not in words:
        return []
    values = words[words.index(option) + 1 :]
    return values[: next((i for i, word in enumerate(values) if word.startswith("--")), len(values))]


def run_with_fakes(tmp_path, plan: str, fakes: dict[str, str], edit=lambda script: script, lease=()):
    """`gpu_lease.sh run PLAN [LEFT [AT]]` (`lease`; its text through `edit`), the bundle installed, with each of
    `fakes` (a command's name -> its bash lines) first on the PATH; returns the run and its data folder."""
    data, bin_dir = tmp_path / "data", tmp_path / "bin"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "installed").touch()  # the bundle installed by an earlier plan on this machine
    bin_dir.mkdir()
    for name, lines in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{lines}\n")
        (bin_dir / name).chmod(0o755)
    script = tmp_path / "scripts" / "gpu_lease.sh"
    script.parent.mkdir()
    script.write_text(edit(SCRIPT.read_text()))
    run = subprocess.run(
        ["bash", str(script), "run", plan, *map(str, lease)],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "GPU_LEASE_DATA": str(data)},
    )
    return run, data


def test_a_plans_commands_all_run_though_one_fails_and_the_run_says_which(tmp_path):
    calls = tmp_path / "calls"
    # The plan's scripts, the first of which is killed at once (as out of memory).
    python = f'echo "$1" >> {calls}\n[[ "$1" != *gsm8k.py ]] || kill -9 $$'
    run, _ = run_with_fakes(tmp_path, "tools-throughput", {"python3": python})
    assert calls.read_text().split() == ["scripts/gsm8k.py", "scripts/benchmarks/grpo_throughput.py"]
    assert run.returncode == 1 and "gpu_lease.sh: failed: python3 scripts/gsm8k.py" in run.stdout


def test_a_command_past_its_limit_is_stopped_with_its_children_and_the_plan_goes_on(tmp_path):
    calls, orphan = tmp_path / "calls", tmp_path / "orphan"
    # The first script hangs in a child process (a training that never ends), its limit one second.
    python = f'echo "$1" >> {calls}\nif [[ "$1" == *gsm8k.py ]]; then (sleep 30; touch {orphan}) & wait; fi'
    started = time.monotonic()
    run, _ = run_with_fakes(
        tmp_path,
        "tools-throughput",
        {"python3": python},
        lambda script: script.replace('echo "200 python3', 'echo "1 python3'),
    )
    assert time.monotonic() - started < 20
    assert len(calls.read_text().split()) == 2
    assert run.returncode == 1
    assert "gpu_lease.sh: stopped at its limit of 1 s: python3 scripts/gsm8k.py" in run.stdout
    time.sleep(1)
    assert not orphan.exists()  # the hung command's child went with it


def test_a_run_that_fails_early_leaves_its_time_to_the_compiled_decode_step(tmp_path):
    calls = tmp_path / "calls"
    run, _ = run_with_fakes(tmp_path, "cot", {"python3": f'echo "$1" >> {calls}; [[ "$1" != *gsm8k.py ]] || exit 1'})
    assert run.returncode == 1 and "gpu_lease.sh: failed: python3 scripts/gsm8k.py" in run.stdout
    first, rest = calls.read_text().splitlines()
    assert first.startswith("scripts/gsm8k.py") and rest.startswith("scripts/benchmarks/decode_step.py")
    # Each command's line says when it started (the time of day, and seconds into the run).
    assert re.search(
        r"^\+ \[\d\d:\d\d:\d\d, \d+ s\] python3 scripts/benchmarks/decode_step.py .*compiled", run.stdout, re.M
    )


def test_the_rest_of_a_plan_runs_within_what_its_limits_leave_and_not_at_all_below_its_least(tmp_path):
    # The cot plan with 5 s for its run, which takes 1: 4 s and KILL_AFTER's 10 left, of which the rest's own kill
    # grace takes 10 (2 to 4 s left, by bash's whole seconds on a loaded machine); a rest of at least 6 s is skipped,
    # one of at least 2 runs and is stopped at its limit.
    def plan(least: int):
        return lambda script: script.replace('echo "680 python3', 'echo "5 python3').replace(
            'echo "rest 120 python3', f'echo "rest {least} python3'
        )

    python = 'if [[ "$1" == *gsm8k.py ]]; then sleep 1; else sleep 30; fi'
    skipped, _ = run_with_fakes(tmp_path / "a", "cot", {"python3": python}, plan(least=6))
    assert skipped.returncode == 0
    assert re.search(
        r"gpu_lease.sh: skipped, [2-4] s left of the 6 s it needs: python3 scripts/benchmarks/decode_step",
        skipped.stdout,
    )
    stopped, _ = run_with_fakes(tmp_path / "b", "cot", {"python3": python}, plan(least=2))
    assert re.search(
        r"gpu_lease.sh: stopped at its limit of [2-4] s: python3 scripts/benchmarks/decode_step", stopped.stdout
    )


def test_a_lease_with_less_left_than_a_plans_limits_cuts_them_and_the_runs_time_budget_to_end_before_it(tmp_path):
    # A machine that took 166 s to start left 734 of the lease's 900 (2026-11-27): a plan sized for 35 s could run
    # past the lease. Here 670 s are left: the plan must end 60 s (COLLECT_SECONDS) before, so the run's command,
    # first, gets 600 s after KILL_AFTER's 10, 80 fewer than its 680, and its budget 80 s less.
    calls = tmp_path / "calls"
    run, _ = run_with_fakes(tmp_path, "cot", {"python3": f'echo "$*" >> {calls}'}, lease=[670])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the lease had 670 s left, 0 s before this run's start: its commands end within 610 s of it" in run.stdout
    gsm8k_call, decode_step_call = calls.read_text().splitlines()
    assert re.search(r"--time_budget_minutes 9\.(65|66) ", gsm8k_call), gsm8k_call
    assert re.search(r"cut from 680 to 60[01] s, to end before the lease does: python3 scripts/gsm8k.py", run.stdout)
    # The rest, which would have had the 680 s the run did not use, has what the lease leaves, its command unchanged
    # (less the seconds the run's fake took, several on a loaded machine).
    assert re.search(
        r"cut from \d+ to (59\d|60[01]) s, to end before the lease does: python3 scripts/benchmarks/decode_step",
        run.stdout,
    )
    assert "--time_budget_minutes" not in decode_step_call and "--rows 512" in decode_step_call


def test_the_seconds_since_the_lease_was_read_are_spent_already(tmp_path):
    # Read 100 s before the run starts (the first call's `date +%s`): 510 s of the 670 for the plan, 500 for its run.
    calls = tmp_path / "calls"
    lease = [670, int(time.time()) - 100]
    run, _ = run_with_fakes(tmp_path, "cot", {"python3": f'echo "$*" >> {calls}'}, lease=lease)
    assert re.search(r"670 s left, 10[01] s before this run's start: its commands end within 5(09|10) s", run.stdout)
    assert re.search(r"--time_budget_minutes (7\.9[6-9]|8\.00) ", calls.read_text().splitlines()[0])


def test_a_cut_limit_stops_its_command_and_what_the_lease_cannot_hold_is_skipped_and_fails_the_plan(tmp_path):
    calls = tmp_path / "calls"
    # 74 s left: 4 s for the first command (which hangs), none for the second; a command may run 1 s at least.
    # Bash's SECONDS counts whole-second ticks, so the run's start may already have spent one or two of them.
    python = f'echo "$1" >> {calls}\nsleep 30'
    started = time.monotonic()
    least_one = lambda script: script.replace("LEAST_SECONDS=60 ", "LEAST_SECONDS=1 ")  # noqa: E731
    run, _ = run_with_fakes(tmp_path / "a", "tools-throughput", {"python3": python}, least_one, lease=[74])
    assert time.monotonic() - started < 20
    assert calls.read_text().split() == ["scripts/gsm8k.py"]
    assert run.returncode == 1
    assert re.search(r"gpu_lease.sh: stopped at its limit of [234] s: python3 scripts/gsm8k.py", run.stdout)
    assert re.search(
        r"skipped, -?\d+ s left of the 1 s it needs: python3 scripts/benchmarks/grpo_throughput", run.stdout
    )
    # By default a command the lease leaves less than a minute is not started: the plan fails, saying which.
    run, _ = run_with_fakes(tmp_path / "b", "tools-throughput", {"python3": f'echo "$1" >> {calls}.b'}, lease=[72])
    assert run.returncode == 1 and not pathlib.Path(f"{calls}.b").exists()
    assert re.search(r"skipped, [0-2] s left of the 60 s it needs: python3 scripts/gsm8k.py", run.stdout)
    # 135 s left: 65 s for a run whose time budget, cut by 615 s, keeps less than a minute; nor is there enough for
    # the rest, whose skip alone would not fail the plan.
    run, _ = run_with_fakes(tmp_path / "c", "cot", {"python3": f'echo "$1" >> {calls}.c'}, lease=[135])
    assert run.returncode == 1 and not pathlib.Path(f"{calls}.c").exists()
    assert re.search(
        r"skipped, 6[45] s left, less than a minute of its time budget: python3 scripts/gsm8k.py", run.stdout
    )
    assert re.search(
        r"skipped, 6[45] s left of the 120 s it needs: python3 scripts/benchmarks/decode_step", run.stdout
    )


def test_a_run_samples_each_gpu_process_memory_every_second_until_it_ends(tmp_path):
    fakes = {
        "python3": "sleep 1.5",  # each of the plan's commands takes a second and a half
        # One GPU process: the sampler's own shell, so that ps finds its command.
        "nvidia-smi": 'if [[ "$*" == *query-gpu* ]]; then echo 70123; else echo "$PPID, 65432"; fi',
    }
    run, data = run_with_fakes(tmp_path, "cot", fakes)
    assert run.returncode == 0, run.stdout + run.stderr
    samples = data / "lease" / "gpu_memory.txt"
    lines = samples.read_text().splitlines()
    assert any(re.fullmatch(r"\d+ gpu 70123", line) for line in lines)
    assert any(re.fullmatch(r"\d+ \d+ 65432 bash .*gpu_lease\.sh run cot", line) for line in lines)
    size = samples.stat().st_size
    time.sleep(2.5)
    assert samples.stat().st_size == size  # the sampler ended with the run


def test_a_mistake_is_one_line_and_exit_status_2():
    run = lease("start", "nope", GPU_LEASE_DRY_RUN="1")
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "gpu_lease.sh: unknown plan 'nope' (one of decoding, tools-throughput, cot, cot-lr, cot-calc3, cot-gen16, tools-sft, tools)"
    ]
    assert lease("collect").returncode == 2 and lease().returncode == 2
    run = lease("start", "cot", "734s", GPU_LEASE_DRY_RUN="1")
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "gpu_lease.sh: start: the lease's seconds left is a number (the first call's budget_left_s), not '734s'"
    ]
    run = lease("start", "cot", "734", str(int(time.time()) + 3600), GPU_LEASE_DRY_RUN="1")
    assert run.returncode == 2 and "when the seconds left were read is this machine's `date +%s`" in run.stderr


def test_the_tools_plan_without_a_tools_sft_leases_evaluations_stops_before_installing(tmp_path):
    run = lease("start", "tools", GPU_LEASE_DATA=str(tmp_path / "data"))
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        f"gpu_lease.sh: the tools plan takes a tools-sft lease's SFT evaluations from {tmp_path / 'data'}/lease-tools-sft"
        f"/gsm8k, which has none: unpack that lease's lease.tgz into {tmp_path / 'data'}/lease-tools-sft and carry it"
    ]
    assert not (tmp_path / "data" / "lease").exists()  # nothing started
    (tmp_path / "data" / "lease-tools-sft" / "gsm8k" / "evals").mkdir(parents=True)  # a lease that died early
    assert lease("start", "tools", GPU_LEASE_DATA=str(tmp_path / "data")).returncode == 2


def test_status_and_collect_read_what_the_run_wrote(tmp_path):
    data = tmp_path / "data"
    assert lease("status", GPU_LEASE_DATA=str(data)).stdout.strip() == "no run started here"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "run.log").write_text("+ python3 scripts/gsm8k.py\nGRPO's mean step took 30.0 s\n")
    (data / "lease" / "gpu_memory.txt").write_text("1764182400 gpu 70123\n")
    (data / "gsm8k" / "sft-tools").mkdir(parents=True)
    (data / "gsm8k" / "results.json").write_text("{}")
    (data / "gsm8k" / "curves-tools.png").write_bytes(b"png")
    for evaluation in ("sft-tools-greedy", "grpo-tools-sampled"):
        (data / "gsm8k" / "evals" / evaluation).mkdir(parents=True)
        (data / "gsm8k" / "evals" / evaluation / "results.json").write_text("{}")
        (data / "gsm8k" / "evals" / evaluation / "details.jsonl").write_text("{}\n")
    status = lease("status", GPU_LEASE_DATA=str(data)).stdout
    assert status.startswith("running\n") and "mean step took 30.0 s" in status
    assert status.endswith("GPU memory in use: 70123 MiB now, 70123 MiB at most\n")
    samples = "1764182401 4242 40000 python3 src/open_r1/grpo.py\n1764182401 gpu 79000\n1764182402 gpu 900\n"
    with (data / "lease" / "gpu_memory.txt").open("a") as memory:
        memory.write(samples)
    status = lease("status", GPU_LEASE_DATA=str(data)).stdout
    assert status.endswith("GPU memory in use: 900 MiB now, 79000 MiB at most\n")
    (data / "lease" / "exit_status").write_text("0\n")
    assert lease("status", GPU_LEASE_DATA=str(data)).stdout.startswith("ended with exit status 0\n")

    out = tmp_path / "out"
    out.mkdir()
    assert lease("collect", str(out), GPU_LEASE_DATA=str(data)).returncode == 0
    # The evaluations' details in a tarball of their own: one held back for its size leaves the other whole.
    with tarfile.open(out / "lease.tgz") as archive:
        names = sorted(name for name in archive.getnames() if archive.getmember(name).isfile())
    assert names == [
        "gsm8k/curves-tools.png",
        "gsm8k/evals/grpo-tools-sampled/results.json",
        "gsm8k/evals/sft-tools-greedy/results.json",
        "gsm8k/results.json",
        "lease/gpu_memory.txt",
        "lease/run.log",
    ]
    with tarfile.open(out / "details.tgz") as archive:
        assert sorted(archive.getnames()) == [
            "gsm8k/evals/grpo-tools-sampled/details.jsonl",
            "gsm8k/evals/sft-tools-greedy/details.jsonl",
        ]


def test_a_plan_without_evaluations_collects_no_details(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "run.log").write_text("+ python3 scripts/benchmarks/grpo_throughput.py\n")
    (data / "lease" / "grpo_throughput_gsm8k_tools.json").write_text("{}")
    out.mkdir()
    (out / "details.tgz").write_bytes(b"an earlier lease's")
    collected = lease("collect", str(out), GPU_LEASE_DATA=str(data))
    assert collected.returncode == 0 and "details.tgz" not in collected.stdout
    assert sorted(path.name for path in out.iterdir()) == ["lease.tgz"]
    # A relative folder is the caller's.
    (out / "lease.tgz").unlink()
    assert lease("collect", "out", cwd=tmp_path, GPU_LEASE_DATA=str(data)).returncode == 0
    assert (out / "lease.tgz").is_file()
    missing = lease("collect", str(tmp_path / "nowhere"), GPU_LEASE_DATA=str(data))
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == f"gpu_lease.sh: collect: no folder {tmp_path / 'nowhere'}"
    )


def test_start_refuses_at_once_where_a_load_of_the_bundle_has_not_arrived(tmp_path):
    """A load lost with an earlier machine would fail the run's unpack in the background, unseen until `status`."""
    from tests.support.script_module import load_module

    data = tmp_path / "data"
    nothing = lease("start", "cot", GPU_LEASE_DATA=str(data))
    assert nothing.returncode == 2 and "no load*/manifest.json" in nothing.stderr
    bundle = load_module("scripts/offline_bundle.py", "offline_bundle_for_lease")
    source = tmp_path / "model.whl"
    source.write_bytes(b"w" * 3000)
    manifest = bundle.plan_loads({"data/model.whl": source}, 1500, 3500)
    bundle.write_loads(manifest, data / "offline")
    for path in (data / "offline" / "load2").iterdir():
        path.unlink()
    (data / "offline" / "load2").rmdir()
    refused = lease("start", "cot", GPU_LEASE_DATA=str(data))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"offline_bundle.py: error: {data / 'offline'}: load(s) ['load2'] have not arrived (expected ['load1', 'load2'])",
        f"gpu_lease.sh: not started: carry the loads into {data}/offline first",
    ]
    assert not (data / "lease").exists()  # nothing started


def test_wait_collects_as_it_waits_so_a_call_cut_short_keeps_the_last_collect(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    (data / "lease").mkdir(parents=True)
    out.mkdir()
    (data / "lease" / "run.log").write_text("+ python3 scripts/gsm8k.py\n")
    script = tmp_path / "scripts" / "gpu_lease.sh"
    script.parent.mkdir()
    script.write_text(
        SCRIPT.read_text().replace("COLLECT_EVERY=60", "COLLECT_EVERY=1").replace("sleep 5", "sleep 0.2")
    )
    environment = {"PATH": "/usr/bin:/bin", "GPU_LEASE_DATA": str(data)}
    waiting = subprocess.Popen(["bash", str(script), "wait", "60", str(out)], env=environment, start_new_session=True)
    try:
        time.sleep(1)
        (data / "gsm8k").mkdir()
        (data / "gsm8k" / "results.json").write_text("{}")  # written while the call waits
        time.sleep(2.5)
        assert waiting.poll() is None  # the run has not ended: still waiting
    finally:
        os.killpg(waiting.pid, signal.SIGKILL)  # the device's limit ends the call
        waiting.wait()
    with tarfile.open(out / "lease.tgz") as archive:
        assert sorted(name for name in archive.getnames() if archive.getmember(name).isfile()) == [
            "gsm8k/results.json",
            "lease/run.log",
        ]

    (data / "lease" / "exit_status").write_text("0\n")
    ended = subprocess.run(
        ["bash", str(script), "wait", "60", str(out)], env=environment, capture_output=True, text=True, timeout=30
    )
    assert ended.returncode == 0
    assert f"wrote {out}/lease.tgz" in ended.stdout and "ended with exit status 0" in ended.stdout


def test_wait_without_its_seconds_folder_or_run_is_one_line_and_exit_status_2(tmp_path):
    data = tmp_path / "data"
    assert lease("wait", "60", GPU_LEASE_DATA=str(data)).returncode == 2
    assert lease("wait", "soon", str(tmp_path), GPU_LEASE_DATA=str(data)).returncode == 2
    no_run = lease("wait", "60", str(tmp_path), GPU_LEASE_DATA=str(data))
    assert no_run.returncode == 2 and no_run.stderr == "gpu_lease.sh: wait: no run started here\n"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "run.log").write_text("")
    no_folder = lease("wait", "60", str(tmp_path / "nowhere"), GPU_LEASE_DATA=str(data))
    assert no_folder.returncode == 2 and no_folder.stderr == f"gpu_lease.sh: wait: no folder {tmp_path / 'nowhere'}\n"


@pytest.mark.parametrize(("status", "kept"), [(1, "new"), (2, "old")])
def test_a_tarball_is_replaced_only_by_a_whole_one(tmp_path, status, kept):
    """tar's status 1 says a file changed while it was read (the running plan's log): the tarball is whole and
    replaces the last; a failure (2) leaves the last whole one and no part behind."""
    data, out, bin_dir = tmp_path / "data", tmp_path / "out", tmp_path / "bin"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "run.log").write_text("new\n")
    out.mkdir()
    (out / "lease.tgz").write_bytes(b"old")
    bin_dir.mkdir()
    (bin_dir / "tar").write_text(f'#!/bin/bash\n/usr/bin/tar "$@"\nexit {status}\n')
    (bin_dir / "tar").chmod(0o755)
    collected = lease("collect", str(out), GPU_LEASE_DATA=str(data), PATH=f"{bin_dir}:/usr/bin:/bin")
    assert collected.returncode == (0 if kept == "new" else 1)
    assert sorted(path.name for path in out.iterdir()) == ["lease.tgz"]
    if kept == "new":
        with tarfile.open(out / "lease.tgz") as archive:
            assert archive.extractfile("lease/run.log").read() == b"new\n"
    else:
        assert (out / "lease.tgz").read_bytes() == b"old"
        assert "tar failed (2)" in collected.stderr


def test_start_hands_the_leases_seconds_left_and_when_they_were_read_to_the_run(tmp_path):
    data, bin_dir = tmp_path / "data", tmp_path / "bin"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "installed").touch()
    bin_dir.mkdir()
    (bin_dir / "setsid").write_text(f'#!/bin/bash\necho "$@" > {tmp_path / "setsid"}\n')  # the run's command line
    (bin_dir / "setsid").chmod(0o755)
    at = int(time.time()) - 5
    # A budget with a decimal and a leading zero: whole seconds, never octal.
    started = lease("start", "cot", "0734.6", str(at), GPU_LEASE_DATA=str(data), PATH=f"{bin_dir}:/usr/bin:/bin")
    assert started.returncode == 0, started.stderr
    command_line = tmp_path / "setsid"
    deadline = time.monotonic() + 10
    while not (command_line.is_file() and command_line.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)  # start runs it in the background
    assert re.search(rf"gpu_lease\.sh' run 'cot' 734 {at} >>", command_line.read_text())
    assert "warning" not in started.stdout, "the cot plan's GRPO shortens to fit"


def test_start_warns_when_a_plan_cannot_end_within_the_lease_even_with_its_grpo_shortened(tmp_path):
    data, bin_dir = tmp_path / "data", tmp_path / "bin"
    (data / "lease").mkdir(parents=True)
    bin_dir.mkdir()
    (bin_dir / "setsid").write_text("#!/bin/bash\nexit 0\n")  # the run never starts
    (bin_dir / "setsid").chmod(0o755)
    # The bundle's loads are there, not yet installed: the install counts too.
    (bin_dir / "python3").write_text("#!/bin/bash\nexit 0\n")  # offline_bundle.py unpack --check: all arrived
    (bin_dir / "python3").chmod(0o755)
    environment = {"GPU_LEASE_DATA": str(data), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    # The fourth lease of 2026-11-27: 734 s left after a 166 s start; tools-sft needs 680 + 10 + 107 + 60.
    started = lease("start", "tools-sft", "734", **environment)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith(
        "gpu_lease.sh: warning: tools-sft needs 857 s at least and the lease has 734: its commands will be cut and "
        "may end before their results (`bash scripts/gpu_lease.sh need PLAN`)\n"
    )
    assert "warning" not in lease("start", "tools-sft", "857", **environment).stdout
    # A chain-of-thought plan gives up GRPO time (GIVE_UP_SECONDS) to fit; the tool arm's cannot.
    assert "warning" not in lease("start", "cot-calc3", "734", **environment).stdout
    assert "cot-calc3 needs 677 s at least" in lease("start", "cot-calc3", "600", **environment).stdout
    earlier = data / "lease-tools-sft" / "gsm8k"  # the tools plan's tools-sft lease
    (earlier / "evals").mkdir(parents=True)
    (earlier / "results.json").write_text("{}")
    assert "tools needs 857 s at least" in lease("start", "tools", "734", **environment).stdout
    # The same, here before the lease's second call; a lent machine starts bare, whatever this one installed.
    (data / "lease" / "installed").touch()
    assert lease("need", "tools-sft", **environment).stdout == (
        "tools-sft: 857 s of lease after the machine's start; with less, run a plan that shortens its GRPO\n"
    )
    assert lease("need", "cot-calc3", **environment).stdout == (
        "cot-calc3: 857 s of lease after the machine's start, 677 at least (its GRPO shortened)\n"
    )
    assert lease("need", "nope", **environment).returncode == 2
    # A plan after another on the same machine: no install.
    assert "tools-sft needs 750 s at least" in lease("start", "tools-sft", "734", **environment).stdout


def test_start_writes_the_run_log_itself_so_a_wait_chained_after_it_finds_the_run(tmp_path):
    """The background run only appends: a `wait` right after `start` must not find "no run started here"."""
    data, bin_dir = tmp_path / "data", tmp_path / "bin"
    (data / "lease").mkdir(parents=True)
    (data / "lease" / "installed").touch()
    bin_dir.mkdir()
    (bin_dir / "setsid").write_text("#!/bin/bash\nexit 0\n")  # the run never starts: only start's own writes
    (bin_dir / "setsid").chmod(0o755)
    started = lease("start", "cot", GPU_LEASE_DATA=str(data), PATH=f"{bin_dir}:/usr/bin:/bin")
    assert started.returncode == 0, started.stderr
    assert (data / "lease" / "run.log").read_text() == ""
    out = tmp_path / "out"
    out.mkdir()
    waited = lease("wait", "0", str(out), GPU_LEASE_DATA=str(data))
    assert waited.returncode == 0 and waited.stdout.endswith("running\n")


@pytest.mark.parametrize("plan", PLANS)
def test_every_results_file_a_plan_writes_is_collected(plan):
    collected = re.search(r"for path in (.*?); do", SCRIPT.read_text(), re.DOTALL).group(1).replace("\\\n", " ")
    for _, command in plan_lines(plan):
        words = command.split()
        if "--output" in words:
            written = words[words.index("--output") + 1]
            assert written.startswith("data/lease/"), command
            assert written.removeprefix("data/") in collected.split(), f"collect leaves out {written}"


def test_the_docs_give_the_lease_each_plan_needs_as_need_counts_it(tmp_path):
    from open_r1.demo.gsm8k_rehearsal import LEASE_SETUP_SECONDS

    # One estimate of the install: the rehearsal's setup is a 35 s start and the install.
    assert script_constant("INSTALL_SECONDS") == LEASE_SETUP_SECONDS - 35
    procedure = (REPO_ROOT / "docs" / "gpu.md").read_text(encoding="utf-8")
    documented = int(re.search(r"Each plan needs (\d+) s after the machine's start", procedure).group(1))
    least = int(
        re.search(r"a chain-of-thought plan (\d+) at least with its GRPO", " ".join(procedure.split())).group(1)
    )
    for plan in PLANS:  # on a fresh machine: the install counts
        need = lease("need", plan, GPU_LEASE_DATA=str(tmp_path)).stdout
        assert need.startswith(f"{plan}: {documented} s "), plan
        assert (f", {least} at least (its GRPO shortened)" in need) == plan.startswith("cot"), need
