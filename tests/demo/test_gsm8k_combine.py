"""`python scripts/gsm8k.py --combine` (`open_r1.demo.gsm8k_combine`): one-arm runs of `make gsm8k`, measured on
different GPU leases, read as one two-arm run: its table, goals and GPU time; runs that did not measure alike are
refused in one line."""

import json
import re

import pytest

from open_r1.demo import gsm8k, gsm8k_cli, gsm8k_combine
from open_r1.demo.gsm8k_report import gsm8k_targets
from open_r1.usage import UsageError
from tests.support.demo_results import GSM8K_CARD, gsm8k_results

COT = {"cot": {"base": 0.0, "sft": 0.055, "grpo": 0.08}}
TOOLS = {"tools": {"base": 0.0, "sft": 0.086, "grpo": 0.12}}


def one_arm_run(folder, greedy: dict, seconds: float, **changes) -> dict:
    """A finished one-arm run's output folder: its results.json and curves."""
    (arm,) = greedy
    results = {
        **gsm8k_results(greedy, arms=(arm,)),
        "card_protocol": GSM8K_CARD,
        "total_seconds": seconds,
        "time_budget_minutes": 11.0,
        "base_reused_from": "docs/results/gsm8k-h100-2026-11-24",
        "commit": f"{arm}1234",
        **changes,
    }
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (folder / f"curves-{arm}.png").write_bytes(b"png of " + arm.encode())
    write_evaluations(folder, results)
    return results


def write_evaluations(folder, results: dict) -> None:
    """The evaluator's results.json behind each stage's numbers in `results`, as the run's evals/ holds them (the
    card protocol's are the earlier run's that GSM8K_CARD names)."""
    for arm, stages in results["arms"].items():
        for stage, numbers in stages.items():
            for kind in ("greedy", "sampled"):
                evaluation = folder / "evals" / f"{stage}-{arm}-{kind}" / "results.json"
                evaluation.parent.mkdir(parents=True, exist_ok=True)
                measured = {key: numbers[f"{kind}_{key}"] for key in ("pass@1", "pass@1_stderr")}
                evaluation.write_text(json.dumps(measured), encoding="utf-8")


@pytest.fixture
def two_leases(tmp_path):
    """The chain-of-thought arm's run of 10 minutes and the tool arm's of 12.5, each from its own lease."""
    one_arm_run(tmp_path / "lease-cot", COT, 600.0)
    one_arm_run(tmp_path / "lease-tools", TOOLS, 750.0, grpo_max_steps=None)
    return tmp_path / "lease-cot", tmp_path / "lease-tools"


def test_two_one_arm_runs_make_one_run_of_both_arms_held_to_every_goal(two_leases, tmp_path):
    cot, tools = two_leases
    output = tmp_path / "combined"
    # The tool arm's run given first: the arms keep the report's order.
    results = gsm8k_cli.main(["--combine", str(tools), str(cot), "--output_dir", str(output)])
    assert list(results["arms"]) == ["cot", "tools"]
    both = gsm8k_results({**COT, **TOOLS})
    for field in ("arms", "grpo_curves", "held_out", "eval_max_new_tokens", "recipes"):
        assert results[field] == both[field], f"{field}: each arm's as its own run wrote it"
    assert results["total_seconds"] == 1350.0, "one GPU's time for both arms: the runs' summed"
    assert [run["arms"] for run in results["runs"]] == [["cot"], ["tools"]]
    assert [run["command"] for run in results["runs"]] == [
        "make gsm8k ARM=cot SEED=0 MINUTES=11",
        "make gsm8k ARM=tools SEED=0 MINUTES=11",
    ]
    assert results["commit"] == "cot1234 (chain of thought), tools1234 (python tool)"
    assert results["device"] == "NVIDIA H100 80GB HBM3" and results["time_budget_minutes"] == 11.0
    assert results["machine"] == {"cpu": "AMD EPYC", "cores": 16}, "the machine without each run's load"
    verdicts = {target.name: target for target in gsm8k_targets(results)}
    assert verdicts["after GRPO, python tool ≥ chain of thought + 3 points"].met, "held to the goals across arms"
    gpu_time = verdicts["both arms within 30 minutes of one GPU (a lease's start and install not counted)"]
    assert gpu_time.met and gpu_time.measured == (
        "22.5 min (2 runs, one after the other; the base evaluations from docs/results/gsm8k-h100-2026-11-24, "
        "not counted)"
    )
    assert json.loads((output / "results.json").read_text()) == results
    report = (output / "report.md").read_text()
    assert report.startswith(
        f"# make gsm8k: the R1 recipe on GSM8K, SmolLM2-135M-Instruct\n\n`python scripts/gsm8k.py --combine {tools} "
        f"{cot} --output_dir {output}` (seed 0, 1350 s in total on NVIDIA H100 80GB HBM3, commit cot1234 (chain of "
        "thought), tools1234"
    )
    assert (
        f"- **Runs**: 2, one arm each, their seconds summed above: `make gsm8k ARM=cot SEED=0 MINUTES=11` (chain of "
        f"thought: 2026-11-23 20:00:00, commit cot1234, NVIDIA H100 80GB HBM3, 600 s, `{cot / 'results.json'}`); "
    ) in report
    assert "| after GRPO, python tool ≥ chain of thought + 3 points | 8.0% → 12.0% (+4.0) | yes |" in report
    assert "each run's time budget was 11 minutes" in report
    assert (output / "curves-cot.png").read_bytes() == b"png of cot"
    assert (output / "curves-tools.png").read_bytes() == b"png of tools"


def test_a_run_from_before_the_paired_goal_is_paired_from_the_details_it_kept(two_leases, tmp_path):
    cot, tools = two_leases
    for name, solved in (("sft-cot-greedy", {0, 1}), ("grpo-cot-greedy", {1, 2, 3})):
        rows = [{"id": str(index), "correct": index in solved} for index in range(4)]
        (cot / "evals" / name / "details.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    results = gsm8k_cli.main(["--combine", str(cot), str(tools), "--output_dir", str(tmp_path / "combined")])
    change = results["arms"]["cot"]["grpo"]["greedy_change_from_sft"]
    assert (change["problems"], change["gained"], change["lost"]) == (4, 2, 1)
    assert "greedy_change_from_sft" not in results["arms"]["tools"]["grpo"], "its run kept no details"
    assert (
        "(+2.5 ± 47.9 paired: 2 problems gained, 1 lost) | yes |" in (tmp_path / "combined" / "report.md").read_text()
    )


def test_the_gpu_time_goal_is_at_most_thirty_minutes_summed_over_the_runs(tmp_path):
    one_arm_run(tmp_path / "cot", COT, 840.0)
    one_arm_run(tmp_path / "tools", TOOLS, 960.0)
    results = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.met and gpu_time.measured.startswith("30.0 min")
    one_arm_run(tmp_path / "tools-slower", TOOLS, 961.0)
    results = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools-slower"], tmp_path / "combined")
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert not gpu_time.met and gpu_time.measured.startswith("30.0 min")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": 1}, r"differ in seed \(0 against 1\)"),
        ({"test_file": "other/gsm8k_test_small.jsonl"}, r"differ in test_file \('gsm8k_test.jsonl' against"),
        ({"eval_samples": 2}, r"differ in eval_samples \(4 against 2\)"),
        ({"grpo_generation": "vLLM (colocated)"}, r"differ in grpo_generation \('transformers' against 'vLLM"),
        ({"compile_decoding": True}, r"differ in compile_decoding \(False against True\)"),
        (
            {"card_protocol": {**GSM8K_CARD, "pass@1": 0.03}},
            r"card_protocol pass@1 \(0.0205 against 0.03\).*--reuse_base",
        ),
        ({"device": "CPU"}, r"differ in device \('a GPU' against 'CPU'\)"),
        (
            # SFT's traces from other data (GRPO's prompts may differ: a training choice, named arm by arm).
            {"conversion": {**gsm8k_results(COT, ("cot",))["conversion"], "sft_rows": 7000}},
            r"differ in conversion.sft_rows \(7472 against 7000\)",
        ),
    ],
)
def test_runs_that_did_not_measure_alike_are_refused_naming_both_and_what_differs(tmp_path, change, message):
    one_arm_run(tmp_path / "cot", COT, 600.0)
    one_arm_run(tmp_path / "tools", TOOLS, 750.0, **change)
    both_files = f"{tmp_path / 'cot' / 'results.json'} and {tmp_path / 'tools' / 'results.json'}"
    with pytest.raises(UsageError, match=f"^--combine: {re.escape(both_files)} differ in "):
        gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    with pytest.raises(UsageError, match=message):
        gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    assert not (tmp_path / "combined").exists(), "refused before anything is written"


def test_a_compiled_and_an_uncompiled_grpo_combine_and_the_report_names_each_arms(tmp_path):
    """The `cot` lease plan compiles GRPO's decode step and the `tools` plan does not, but decodes its rollouts ahead:
    the same engine, the same sampling, so their arms compare; the combined results say which arm decoded how."""
    one_arm_run(tmp_path / "cot", COT, 600.0, grpo_generation="transformers, compiled decode step")
    ahead = "transformers, python tool rollouts decoded ahead in chunks of 96 tokens"
    chunks = {"tools": 96}
    one_arm_run(tmp_path / "tools", TOOLS, 750.0, grpo_generation=ahead, grpo_tool_rollout_chunk_tokens=chunks)
    results = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    both = f"transformers, compiled decode step (chain of thought), {ahead} (python tool)"
    assert results["grpo_generation"] == both
    assert f"GRPO generates with {both}" in (tmp_path / "combined" / "report.md").read_text(encoding="utf-8")
    # Each arm's chunk as its run recorded it; the cot run, which recorded none, decoded in TRL's rounds.
    assert results["grpo_tool_rollout_chunk_tokens"] == {"cot": None, "tools": 96}


@pytest.mark.parametrize(
    ("field", "value", "combined", "make_variable", "in_report"),
    [
        (
            "grpo_learning_rate",
            3e-5,
            "3e-05 (chain of thought)",
            "GRPO_LR=3e-05",
            "GRPO's learning rate 3e-05 (chain of thought) in place of the recipes'",
        ),
        (
            "grpo_num_generations",
            16,
            "16 (chain of thought)",
            "GRPO_GENERATIONS=16",
            "; 16 (chain of thought) completions per GRPO prompt (num_generations) in place of the recipes'",
        ),
    ],
)
def test_runs_whose_grpo_trained_with_another_lever_combine_and_the_report_names_each_arms(
    tmp_path, field, value, combined, make_variable, in_report
):
    """A learning rate or a group size is how an arm trained, not how it was measured: a `cot` lease that tried one
    combines with a `tools` lease at its recipe's, and the report says which arm had which."""
    one_arm_run(tmp_path / "cot", COT, 600.0, **{field: value})
    one_arm_run(tmp_path / "tools", TOOLS, 750.0)
    results = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    assert results[field] == combined
    assert [run["command"].endswith(make_variable) for run in results["runs"]] == [True, False]
    assert in_report in (tmp_path / "combined" / "report.md").read_text(encoding="utf-8")


def test_runs_whose_grpo_prompted_with_other_rows_combine_and_the_report_gives_each_arms_prompts(tmp_path):
    cot = one_arm_run(tmp_path / "cot", COT, 600.0)
    harder = {**cot["conversion"], "grpo_prompts": 4811, "grpo_max_calculations": 3}
    one_arm_run(tmp_path / "cot-3", COT, 600.0, conversion=harder, grpo_max_calculations=3)
    one_arm_run(tmp_path / "tools", TOOLS, 750.0)
    alike = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "alike")
    assert "grpo_prompts_by_arm" not in alike
    results = gsm8k_combine.main([tmp_path / "cot-3", tmp_path / "tools"], tmp_path / "combined")
    tools = results["grpo_prompts_by_arm"]["tools"]
    assert results["grpo_prompts_by_arm"]["cot"] == {"grpo_prompts": 4811, "grpo_max_calculations": 3}
    # The conversion is the runs' common one: no arm's GRPO prompts in it, as if they were both's.
    assert "grpo_prompts" not in results["conversion"] and alike["conversion"]["grpo_prompts"] == tools["grpo_prompts"]
    report = (tmp_path / "combined" / "report.md").read_text(encoding="utf-8")
    assert (
        "- **GRPO prompts**: chain of thought: the 4811 rows whose worked solution has at most 3 calculations "
        f"(`GSM8KSettings.grpo_max_calculations`, `--grpo_max_calculations`); python tool: the {tools['grpo_prompts']} "
        f"rows whose worked solution has at most {tools['grpo_max_calculations']} calculations"
    ) in report
    assert results["runs"][0]["command"].endswith("GRPO_CALCULATIONS=3")


def test_the_same_arm_twice_one_run_and_files_that_are_not_runs_are_refused_in_one_line(two_leases, tmp_path):
    cot, tools = two_leases
    one_arm_run(tmp_path / "cot-again", COT, 600.0)
    (tmp_path / "not-json").mkdir()
    (tmp_path / "not-json" / "results.json").write_text("{", encoding="utf-8")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "results.json").write_text(json.dumps({"stages": {}}), encoding="utf-8")
    older = one_arm_run(tmp_path / "older", TOOLS, 750.0)  # from before make gsm8k recorded its GRPO generation
    del older["grpo_generation"]
    (tmp_path / "older" / "results.json").write_text(json.dumps(older), encoding="utf-8")
    unprompted = one_arm_run(tmp_path / "unprompted", TOOLS, 750.0)  # from before it recorded GRPO's prompts
    del unprompted["conversion"]["grpo_prompts"]
    (tmp_path / "unprompted" / "results.json").write_text(json.dumps(unprompted), encoding="utf-8")
    gsm8k_combine.main([cot, tools], tmp_path / "combined")
    refused = [
        ([cot, tmp_path / "cot-again"], "both ran the chain of thought arm; combine runs of different arms"),
        ([cot], "give at least two runs' output folders"),
        ([cot, tmp_path / "absent"], "absent/results.json not found"),
        ([cot, tmp_path / "not-json"], "not-json/results.json is not JSON"),
        ([cot, tmp_path / "demo"], "demo/results.json is not the results.json of a make gsm8k run"),
        ([cot, tmp_path / "older"], "older/results.json has no grpo_generation .*; run it again"),
        ([tmp_path / "unprompted", cot], "unprompted/results.json has no conversion.grpo_prompts .*; run it again"),
        ([cot, tmp_path / "combined"], "combined/results.json is already a combination of runs"),
    ]
    for folders, message in refused:
        with pytest.raises(UsageError, match=message):
            gsm8k_combine.main(folders, tmp_path / "combined-again")
    assert not (tmp_path / "combined-again").exists()
    with pytest.raises(UsageError, match="--output_dir: .*lease-cot holds one of the runs"):
        gsm8k_combine.main([cot, tools], cot)
    # Another run's folder is not written over; an earlier combination's is, its stale curves gone.
    one_arm_run(tmp_path / "elsewhere", COT, 600.0)
    with pytest.raises(UsageError, match="--output_dir: .*elsewhere/results.json is a run's results, not an earlier"):
        gsm8k_combine.main([cot, tools], tmp_path / "elsewhere")
    (tools / "curves-tools.png").unlink()
    gsm8k_combine.main([cot, tools], tmp_path / "combined")
    assert sorted(path.name for path in (tmp_path / "combined").glob("curves-*.png")) == ["curves-cot.png"]


def test_runs_of_two_gpu_kinds_or_that_took_the_base_apart_are_named_arm_by_arm(tmp_path):
    one_arm_run(tmp_path / "cot", COT, 600.0, base_reused_from=None, commit=None)
    one_arm_run(tmp_path / "tools", TOOLS, 750.0, device="NVIDIA H200", sft_reused_from="data/lease-tools-sft")
    results = gsm8k_combine.main([tmp_path / "cot", tmp_path / "tools"], tmp_path / "combined")
    assert results["sft_reused_from"] == "data/lease-tools-sft (python tool)"
    assert [run["sft_reused_from"] for run in results["runs"]] == [None, "data/lease-tools-sft"]
    assert results["device"] == "NVIDIA H100 80GB HBM3 (chain of thought), NVIDIA H200 (python tool)"
    assert results["commit"] == "not recorded (chain of thought), tools1234 (python tool)"
    assert results["base_reused_from"] == "docs/results/gsm8k-h100-2026-11-24 (python tool)"
    (gpu_time,) = [target for target in gsm8k_targets(results) if "minutes of one GPU" in target.name]
    assert gpu_time.measured == (
        "22.5 min (2 runs, one after the other; on NVIDIA H100 80GB HBM3 (chain of thought), NVIDIA H200 (python "
        "tool); the base evaluations from docs/results/gsm8k-h100-2026-11-24 (python tool), not counted; the SFT "
        "evaluations from data/lease-tools-sft (python tool), not counted)"
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--fast"], "--fast has no effect with --combine"),
        (["--time_budget_minutes", "11"], "--time_budget_minutes has no effect with --combine"),
        (["--arms_at_once"], "--arms_at_once has no effect with --combine"),
        (["--arm", "cot"], "--arm has no effect with --combine"),
        (["--seed", "1"], "--seed has no effect with --combine"),
        (["--test_file", "other.jsonl"], "--test_file has no effect with --combine"),
        (["--reuse_base", "elsewhere"], "--reuse_base has no effect with --combine"),
        (["--evaluations_table", "elsewhere"], "--evaluations_table has no effect with --combine"),
    ],
)
def test_options_of_a_run_are_refused_with_combine(two_leases, option, message):
    with pytest.raises(UsageError, match=message):
        gsm8k_cli.main(["--combine", *map(str, two_leases), *option])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_two_fast_one_arm_runs_combine_as_two_leases_would(tmp_path, shared_gsm8k_options):
    # The chain of thought's lease tries GRPO's levers (the cot-lr and cot-calc3 plans), the tool arm's does not.
    lever = {
        "cot": ["--grpo_learning_rate", "3e-5", "--grpo_max_calculations", "3", "--grpo_num_generations", "4"],
        "tools": [],
    }
    runs = {
        arm: gsm8k_cli.main(
            ["--fast", "--arm", arm, "--output_dir", str(tmp_path / arm), *lever[arm], *shared_gsm8k_options]
        )
        for arm in gsm8k.ARMS
    }
    assert runs["cot"]["grpo_learning_rate"] == 3e-5 and runs["tools"]["grpo_learning_rate"] is None
    assert runs["cot"]["conversion"]["grpo_max_calculations"] == 3 and runs["cot"]["grpo_max_calculations"] == 3
    grpo_log = (tmp_path / "cot" / "logs" / "grpo-cot.log").read_text()
    assert "\nlearning_rate=3e-05,\n" in grpo_log and "\nnum_generations=4,\n" in grpo_log  # as GRPO trained
    results = gsm8k_cli.main(
        ["--combine", str(tmp_path / "cot"), str(tmp_path / "tools"), "--output_dir", str(tmp_path / "both")]
    )
    for arm, run in runs.items():
        assert results["arms"][arm] == run["arms"][arm] and results["held_out"][arm] == run["held_out"][arm]
        assert (tmp_path / "both" / f"curves-{arm}.png").read_bytes() == (
            tmp_path / arm / f"curves-{arm}.png"
        ).read_bytes()
    assert results["total_seconds"] == runs["cot"]["total_seconds"] + runs["tools"]["total_seconds"]
    assert results["card_protocol"] == runs["cot"]["card_protocol"], "greedy on a CPU: both runs scored the card alike"
    report = (tmp_path / "both" / "report.md").read_text()
    assert (
        "| after GRPO, python tool ≥ chain of thought + 3 points |" in report
        and "- **Runs**: 2, one arm each" in report
    )


def rewritten(folder, change) -> None:
    """`folder`'s results.json with `change` made to it (a hand edit)."""
    results = json.loads((folder / "results.json").read_text())
    change(results)
    (folder / "results.json").write_text(json.dumps(results))


def delete_grpo(results):
    del results["arms"]["tools"]["grpo"]


def relabel_arm(results):
    results["arms"]["tool"] = results["arms"].pop("tools")


def greedy_text(results):
    results["arms"]["tools"]["grpo"]["greedy_pass@1"] = "abc"


def arms_list(results):
    results["arms"] = ["tools"]


def no_curves(results):
    results["grpo_curves"] = {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (delete_grpo, r"has arms.tools.grpo None, expected an object of the stage's numbers"),
        (relabel_arm, r"has arms \{.*'tool'.*, expected an object of the arms cot and/or tools"),
        (greedy_text, r"has arms.tools.grpo.greedy_pass@1 'abc', expected a number"),
        (arms_list, r"has arms \['tools'\], expected an object of the arms"),
        (no_curves, r"has grpo_curves \{\}, expected an object with the tools arm"),
    ],
)
def test_a_run_whose_results_are_not_as_make_gsm8k_writes_them_is_refused_in_one_line_writing_nothing(
    two_leases, tmp_path, change, message
):
    """A red team's: KeyError, AttributeError, or a TypeError after curves-tools.png had been copied."""
    cot, tools = two_leases
    rewritten(tools, change)
    path = re.escape(str(tools / "results.json"))
    with pytest.raises(UsageError, match=f"^--combine: {path} {message}"):
        gsm8k_combine.main([cot, tools], tmp_path / "combined")
    assert not (tmp_path / "combined").exists()


def test_a_runs_numbers_must_be_those_of_the_evaluations_behind_them(two_leases, tmp_path):
    """A red team's: a hand-edited 75% showed in the report, and a results.json without its evals/ combined."""
    cot, tools = two_leases
    rewritten(tools, lambda results: results["arms"]["tools"]["grpo"].update({"greedy_pass@1": 0.75}))
    with pytest.raises(
        UsageError,
        match=rf"^--combine: .*lease-tools/results.json has arms.tools.grpo.greedy_pass@1 0.75, its evaluation "
        rf"{re.escape(str(tools / 'evals' / 'grpo-tools-greedy' / 'results.json'))} 0.12; the results were not",
    ):
        gsm8k_combine.main([cot, tools], tmp_path / "combined")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "results.json").write_text((tools / "results.json").read_text())
    with pytest.raises(
        UsageError, match=r"^--combine: .*bare/results.json gives arms.tools.base.greedy_pass@1 without"
    ):
        gsm8k_combine.main([cot, bare / "results.json"], tmp_path / "combined")
    assert not (tmp_path / "combined").exists()


def test_a_combination_says_what_it_replaces_and_refuses_a_folder_that_holds_a_run(two_leases, tmp_path, capsys):
    cot, tools = two_leases
    gsm8k_combine.main([cot, tools], tmp_path / "combined")
    assert "Replacing" not in capsys.readouterr().out
    gsm8k_combine.main([cot, tools], tmp_path / "combined")
    assert (
        f"Replacing the earlier combination in {tmp_path / 'combined'} (results.json, report.md, curves-cot.png, "
        "curves-tools.png)"
    ) in capsys.readouterr().out
    interrupted = tmp_path / "interrupted"  # a run stopped before its results: its evaluations and a curve
    (interrupted / "evals" / "sft-cot-greedy").mkdir(parents=True)
    (interrupted / "sft-cot").mkdir()
    (interrupted / "curves-cot.png").write_bytes(b"png")
    with pytest.raises(UsageError, match=r"^--output_dir: .*interrupted holds a run \(evals, sft-cot\), finished or"):
        gsm8k_combine.main([cot, tools], interrupted)
    assert (interrupted / "curves-cot.png").read_bytes() == b"png"
