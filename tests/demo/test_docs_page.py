"""scripts/demo_report.py (`open_r1.demo.docs_page`): docs/demo.md written from results.json files, each run's
row computed from its file (targets included), the tool miniature's runs in their own section, FAST results
refused."""

import json
import pathlib
import subprocess
import sys

import pytest

from open_r1.demo import gsm8k_combine
from open_r1.demo.docs_page import demo_page, load_runs, main
from open_r1.usage import UsageError
from tests.support import REPO_ROOT
from tests.support.demo_results import GSM8K_CARD, demo_results, gsm8k_results, tool_demo_results


@pytest.fixture
def two_runs(tmp_path):
    paths = []
    for seed, grpo in ((1, 0.58), (0, 0.91)):
        path = tmp_path / f"demo-seed{seed}" / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(demo_results(seed=seed, sft=0.45, grpo=grpo)))
        paths.append(path)
    return paths


def test_one_row_per_run_in_seed_order_with_its_provenance_numbers_and_verdict(two_runs, capsys):
    main([str(path) for path in two_runs])
    page = capsys.readouterr().out
    rows = [line for line in page.splitlines() if "`abc1234`" in line]
    assert rows == [
        "| 0 | 2026-11-23 20:00:00 | `abc1234` | 2 cores, AMD EPYC | 0.3 / 1.9 | 4 min 41 s | 0.0% ± 1.0 | "
        "45.0% ± 1.0 | 91.0% ± 1.0 | +46.0 | 0.425 → 0.900 (+0.475) | all |",
        "| 1 | 2026-11-23 20:00:00 | `abc1234` | 2 cores, AMD EPYC | 0.3 / 1.9 | 4 min 41 s | 0.0% ± 1.0 | "
        "45.0% ± 1.0 | 58.0% ± 1.0 | +13.0 | 0.425 → 0.900 (+0.475) | **not: GRPO ≥ SFT + 20 points** |",
    ]
    assert "## `make demo`: 2 runs, all targets met on 1" in page
    assert f"`python scripts/demo_report.py {two_runs[1]} {two_runs[0]}`" in page, "the files in sorted order"
    # Each run's curve by fifths, beside its checkpoints' held-out accuracy.
    assert page.count("| 0 | - | - | 45.0% ± 1.0 | 80.0% | SFT, step 0 |") == 2
    assert "| 36-40 | 0.900 | 1.100 | 91.0% ± 1.0 | 0.0% | GRPO, step 40 |" in page
    assert "[demo_notes.md](demo_notes.md)" in page, "the typed measurements of the other demos are linked"
    assert "[gsm8k.md](gsm8k.md)" in page, "and make gsm8k's"


def test_the_page_depends_only_on_its_files(two_runs, tmp_path):
    output = tmp_path / "demo.md"
    main([*map(str, two_runs), "--output", str(output)])
    assert output.read_text() == demo_page(load_runs(two_runs))
    assert demo_page(load_runs(two_runs[::-1])) == output.read_text(), "the order of the files does not matter"


def test_the_tool_miniature_runs_get_their_own_section_after_the_r1_demo(two_runs, tmp_path, capsys):
    tool_runs = []
    for seed, (tool_sft, tool_grpo) in ((0, (0.765, 0.95)), (1, (0.9, 0.85))):
        path = tmp_path / f"demo-tools-seed{seed}" / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(tool_demo_results(tool_sft=tool_sft, tool_grpo=tool_grpo, seed=seed)))
        tool_runs.append(path)
    main([*map(str, tool_runs), *map(str, two_runs)])
    page = capsys.readouterr().out
    assert page.index("## `make demo`: 2 runs") < page.index("## `make demo TOOLS=1`: 2 runs, all targets met on 1")
    rows = [line for line in page.splitlines() if line.startswith("| ") and "19 min 10 s" in line]
    assert rows == [
        "| 0 | 2026-11-23 20:00:00 | `abc1234` | 2 cores, AMD EPYC | 0.3 / 1.9 | 19 min 10 s | "
        "0.0% ± 2.0 / 76.5% ± 2.0 / 95.0% ± 2.0 | 100% | 0.5% ± 2.0 / 1.0% ± 2.0 | +94.0 | all |",
        "| 1 | 2026-11-23 20:00:00 | `abc1234` | 2 cores, AMD EPYC | 0.3 / 1.9 | 19 min 10 s | "
        "0.0% ± 2.0 / 90.0% ± 2.0 / 85.0% ± 2.0 | 100% | 0.5% ± 2.0 / 1.0% ± 2.0 | +84.0 | "
        "**not: GRPO ≥ SFT, tool arm** |",
    ]


def test_tool_miniature_results_written_before_pass_at_1_was_their_name_read_the_same(tmp_path):
    written_now = tool_demo_results()
    written_before = {
        **written_now,
        **{
            arm: {
                stage: {
                    "accuracy": s["pass@1"],
                    "accuracy_stderr": s["pass@1_stderr"],
                    "tool_call_rate": s["tool_call_rate"],
                }
                for stage, s in written_now[arm].items()
            }
            for arm in ("tool", "no_tool")
        },
    }
    paths = []
    for name, results in (("now", written_now), ("before", written_before)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(results))
    now, before = load_runs(paths)
    assert {**before, "source": None} == {**now, "source": None}


def test_fast_results_and_other_files_are_refused(tmp_path):
    for name, results in (("fast.json", demo_results(fast=True)), ("tools.json", tool_demo_results(fast=True))):
        fast = tmp_path / name
        fast.write_text(json.dumps(results))
        with pytest.raises(UsageError, match="FAST run"):
            load_runs([fast])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"arms": {}, "seed": 0, "fast": False}))
    with pytest.raises(UsageError, match="not a results.json of `make demo`"):
        load_runs([other])
    details = tmp_path / "details.jsonl"
    details.write_text('{"a": 1}\n{"a": 2}\n')
    for path, message in (
        (tmp_path / "absent.json", "no such file"),
        (tmp_path, "a folder"),
        (details, "not JSON"),
    ):
        with pytest.raises(UsageError, match=f"{path}: {message}"):
            load_runs([path])


def test_the_script_writes_the_page_as_the_docs_say(two_runs):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo_report.py"), *map(str, two_runs)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == demo_page(load_runs(two_runs))


def test_docs_demo_md_is_the_page_of_the_results_kept_in_docs_results_demo():
    kept = sorted((REPO_ROOT / "docs" / "results" / "demo").glob("*.json"))
    assert kept, "docs/results/demo holds the measured runs docs/demo.md is written from"
    # The page names its files as the command in its first line does: relative to the repository.
    runs = [{**run, "source": str(pathlib.Path(run["source"]).relative_to(REPO_ROOT))} for run in load_runs(kept)]
    page = demo_page(runs)
    assert (REPO_ROOT / "docs" / "demo.md").read_text(encoding="utf-8") == page, (
        "docs/demo.md was edited by hand or its results changed: "
        "python scripts/demo_report.py docs/results/demo/*.json --output docs/demo.md"
    )


def test_a_runs_machine_cell_names_its_thread_setting_when_one_was_set(tmp_path, capsys):
    results = demo_results(seed=0, sft=0.45, grpo=0.91)
    results["machine"]["omp_num_threads"] = "1"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    main([str(path)])
    assert "| 2 cores, AMD EPYC, OMP_NUM_THREADS=1 |" in capsys.readouterr().out


def test_make_gsm8k_runs_get_a_section_of_their_own_with_their_gpu_time_and_goals(two_runs, tmp_path, capsys):
    greedy = {"cot": {"base": 0.0, "sft": 0.059, "grpo": 0.066}, "tools": {"base": 0.0, "sft": 0.086, "grpo": 0.099}}
    both = {**gsm8k_results(greedy), "card_protocol": GSM8K_CARD}
    # Seed 1's arms from two leases of 16 and 16.5 minutes, combined as `scripts/gsm8k.py --combine` combines them.
    leases = []
    for arm, seconds, commit in (("cot", 960.0, None), ("tools", 990.0, "def5678")):
        one_arm = {**gsm8k_results({arm: greedy[arm]}, (arm,)), "card_protocol": GSM8K_CARD, "seed": 1}
        leases.append({**one_arm, "total_seconds": seconds, "commit": commit, "source": f"lease-{arm}/results.json"})
    leases[0]["grpo_learning_rate"] = 3e-5  # the chain of thought's lease tried GRPO's learning-rate lever
    combined = gsm8k_combine.combine(leases, "python scripts/gsm8k.py --combine lease-cot lease-tools")
    paths = []
    for name, results in (("gsm8k-seed0", both), ("gsm8k-seed1", combined)):
        path = tmp_path / name / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(results))
        paths.append(path)
    main([*map(str, paths), *map(str, two_runs)])
    page = capsys.readouterr().out
    assert page.index("## `make demo`: 2 runs") < page.index("## `make gsm8k`: 2 runs, all goals met on 0")
    rows = [line for line in page.splitlines() if "| NVIDIA H100 80GB HBM3 |" in line]
    assert rows == [
        "| 0 | 2026-11-23 20:00:00 | `abc1234` | NVIDIA H100 80GB HBM3 | 28 min 20 s | 5.9% ± 0.7 → 6.6% ± 0.7 | "
        "8.6% ± 0.7 → 9.9% ± 0.7 | **not: chain of thought: GRPO ≥ SFT + 2 points; python tool: GRPO ≥ SFT + 2 "
        "points** |",
        "| 1 | 2026-11-23 20:00:00 | `not recorded (chain of thought), def5678 (python tool)` | NVIDIA H100 80GB HBM3 | "
        "32 min 30 s | 5.9% ± 0.7 → 6.6% ± 0.7 | 8.6% ± 0.7 → 9.9% ± 0.7 | **not: chain of thought: GRPO ≥ SFT + 2 "
        "points; python tool: GRPO ≥ SFT + 2 points; both arms within 30 minutes of one GPU (a lease's start and "
        "install not counted)** |",
    ]
    assert f"Seed 0 (`{paths[0]}`), `make gsm8k ARM=both SEED=0`:" in page
    assert (
        f"Seed 1 (`{paths[1]}`), `python scripts/gsm8k.py --combine lease-cot lease-tools` of `make gsm8k ARM=cot "
        "SEED=1 GRPO_LR=3e-05` and `make gsm8k ARM=tools SEED=1`:" in page
    )
    assert "| python tool after GRPO > nanochat d20 after RL (7.58%) | 9.9% | yes |" in page
    assert "| 32.5 min (2 runs, one after the other) | **no** |" in page


def test_make_gsm8k_runs_of_one_arm_or_fast_are_refused(tmp_path):
    greedy = {"cot": {"base": 0.0, "sft": 0.059, "grpo": 0.066}, "tools": {"base": 0.0, "sft": 0.086, "grpo": 0.099}}
    refused = {
        "fast.json": ({**gsm8k_results(greedy, fast=True), "card_protocol": GSM8K_CARD}, "FAST run"),
        "tools.json": (
            {**gsm8k_results({"tools": greedy["tools"]}, ("tools",)), "card_protocol": GSM8K_CARD},
            r"a make gsm8k run of one arm, .* \(python scripts/gsm8k.py --combine\)",
        ),
    }
    for name, (results, message) in refused.items():
        path = tmp_path / name
        path.write_text(json.dumps(results))
        with pytest.raises(UsageError, match=message):
            load_runs([path])


def test_a_run_given_twice_or_an_output_without_its_folder_is_one_line(two_runs, tmp_path, capsys):
    """A newcomer audit's: the same file twice counted as two runs; a missing --output folder was a traceback after
    the page was built."""
    for argv, message in (
        ([str(two_runs[0]), str(two_runs[0])], f"{two_runs[0]}: given twice; each run counts once"),
        ([str(two_runs[0]), "--output", str(tmp_path / "no" / "demo.md")], f"no folder {tmp_path / 'no'}"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        said = capsys.readouterr().err
        assert stop.value.code == 2 and said.startswith("demo_report.py: error: ") and message in said, said
