"""open_r1.demo.gsm8k_rehearsal: the make gsm8k plans of scripts/gpu_lease.sh, rehearsed through the run's own
scheduling at the H100 leases' times, fit a 15-minute lease; the tool arm with its SFT evaluations does not, since
its GRPO evaluations wait for them."""

import dataclasses
import json

import pytest

from open_r1.demo import gsm8k_rehearsal as rehearsal

LEASE_SECONDS = 15 * 60
SCALE = 1 / 120  # half the module's: rehearsals in seconds, the clock's rounding still far below a GRPO step


def plan_options(plan: str) -> dict:
    """`rehearse`'s arguments for the scripts/gsm8k.py command of a gpu_lease.sh plan, as its dry run prints it."""
    return rehearsal.plan_options(rehearsal.plan_command(plan))


@pytest.fixture(scope="module")
def rehearsed_plans() -> dict:
    """Each plan's options and rehearsal, rehearsed once for the tests that read them (seconds each)."""
    rehearsed = {}

    def rehearsed_plan(plan: str) -> tuple[dict, dict]:
        if plan not in rehearsed:
            options = plan_options(plan)
            rehearsed[plan] = options, rehearsal.rehearse(**options, scale=SCALE)
        return rehearsed[plan]

    return rehearsed_plan


@pytest.mark.parametrize("plan", ["cot", "tools-sft", "tools"])
def test_each_make_gsm8k_lease_plan_fits_a_lease_at_the_leases_times(plan, rehearsed_plans):
    options, result = rehearsed_plans(plan)
    assert result["seconds"] + rehearsal.LEASE_SETUP_SECONDS <= LEASE_SECONDS, result["timeline"]
    if not options["sft_only"]:
        assert set(result["grpo_steps"]) == set(options["arms"]) and min(result["grpo_steps"].values()) >= 1


def test_the_chain_of_thought_plan_trains_more_grpo_steps_than_its_recipe(rehearsed_plans):
    _, result = rehearsed_plans("cot")
    assert result["grpo_steps"]["cot"] > 10, result["timeline"]


def test_the_chain_of_thought_plan_compiles_its_decode_step_for_more_steps_than_eager_decoding_gives(rehearsed_plans):
    options, compiled = rehearsed_plans("cot")
    assert options["compile_generation"]
    eager = rehearsal.rehearse(**{**options, "compile_generation": False}, scale=SCALE)
    # The first step's compilation (30 s) costs less than the steps the cheaper generations add.
    assert compiled["grpo_steps"]["cot"] >= 1.4 * eager["grpo_steps"]["cot"], (compiled, eager)


def test_a_compiled_tool_arm_is_rehearsed_only_at_a_step_given_since_no_lease_measured_one(capsys, tmp_path):
    with pytest.raises(SystemExit):
        rehearsal.main(["--arm", "tools", "--compile_generation", "--reuse_sft", "--time_budget_minutes", "11"])
    assert "no lease has measured the tools arm's compiled GRPO step; give it with --grpo_step_seconds tools=" in (
        capsys.readouterr().err
    )
    given = ["--arm", "tools", "--reuse_sft", "--time_budget_minutes", "11", "--grpo_step_seconds", "tools=30",
             "--speedup", f"{1 / SCALE:g}", "--compile_generation"]  # fmt: skip
    assert rehearsal.main(given)["grpo_steps"]["tools"] >= 1
    # At 30 s a generation, the first one's compilation (LeaseSeconds.grpo_compile_extra) costs the step that trains
    # on it a second time, within the 1.3 minutes the run leaves GRPO (on a clock of its own: the rehearsal's real one
    # moves on by the machine's delays too, 120 times over).
    times = dataclasses.replace(rehearsal.LEASE_SECONDS, grpo_step={"tools": 30.0}, grpo_compiled_step={"tools": 30.0})
    steps = rehearsal.Rehearsal(times, SCALE, tmp_path)
    recipe = {"steps_per_generation": 8, "gradient_accumulation_steps": 4}
    assert steps.grpo_steps_within("tools", recipe, 10, 1.3) == [True, False]
    assert steps.grpo_steps_within("tools", recipe, 10, 1.3, compiled=True) == [True]


def test_the_tool_arm_with_its_own_sft_evaluations_does_not_fit_a_lease_whatever_its_budget():
    result = rehearsal.rehearse(("tools",), time_budget_minutes=11, scale=SCALE)
    assert result["seconds"] + rehearsal.LEASE_SETUP_SECONDS > LEASE_SECONDS
    started = {name.split(" ")[0]: (start, end) for name, start, end in result["timeline"]}
    # The GRPO evaluations start only once the SFT evaluations, which the GRPO run's slot leaves one at a time, end.
    assert started["grpo-tools-greedy"][0] >= started["sft-tools-sampled"][1] - 5
    assert result["grpo_steps"] == {"tools": 1}


def test_the_command_prints_the_timeline_and_whether_the_run_fits(capsys):
    rehearsal.main(["--arm", "tools", "--sft_only", "--lease_minutes", "10", "--speedup", f"{1 / SCALE:g}"])
    printed = capsys.readouterr().out
    assert "sft-tools-sampled" in printed and "does not fit a lease of 10 min" in printed


def test_a_measured_grpo_step_replaces_the_leases_and_a_malformed_one_is_refused(capsys, tmp_path):
    result = rehearsal.main(["--arm", "tools", "--reuse_sft", "--time_budget_minutes", "11", "--grpo_step_seconds",
                             "tools=10", "--speedup", f"{1 / SCALE:g}"])  # fmt: skip
    assert result["grpo_steps"]["tools"] >= 1
    # 20 s of start-up, the first generation (10 s and 24 of warm-up) trained twice; the next is estimated at the first's
    # (on a clock of its own, as above).
    steps = rehearsal.Rehearsal(
        dataclasses.replace(rehearsal.LEASE_SECONDS, grpo_step={"tools": 10.0}), SCALE, tmp_path
    )
    recipe = {"steps_per_generation": 8, "gradient_accumulation_steps": 4}
    assert steps.grpo_steps_within("tools", recipe, 10, 1.3) == [True, False]
    leases = rehearsal.Rehearsal(rehearsal.LEASE_SECONDS, SCALE, tmp_path)  # the leases' 78 s step
    assert leases.grpo_steps_within("tools", recipe, 10, 1.3) == [True]
    with pytest.raises(SystemExit):
        rehearsal.main(["--grpo_step_seconds", "tool=35"])
    assert "expected ARM=SECONDS with ARM cot or tools, got 'tool=35'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        rehearsal.main(["--speedup", "0"])
    assert "--speedup: expected a positive number, got 0" in capsys.readouterr().err
    # One line with the close option, where argparse read `--arms` as --arm (an audit's).
    with pytest.raises(SystemExit) as stop:
        rehearsal.main(["--arms", "cot"])
    said = capsys.readouterr().err
    assert stop.value.code == 2 and said.count("\n") == 1 and "unknown option --arms (did you mean --arm?)" in said


def test_with_both_arms_the_tool_arms_grpo_starts_as_its_sft_ends():
    result = rehearsal.rehearse(("cot", "tools"), time_budget_minutes=26, scale=SCALE)
    ends = {name.split(" ")[0]: (start, end) for name, start, end in result["timeline"]}
    # A chain-of-thought job waiting for a slot does not take the one the tool arm's SFT gives back: had one taken it,
    # the GRPO run would start at least that job's length later. Below half the shortest, the gap is the launch's own
    # (a few seconds here, its milliseconds scaled up 120 times on a loaded machine).
    shortest_cot_job = min(end - start for name, (start, end) in ends.items() if "-cot" in name)
    assert ends["grpo-tools"][0] - ends["sft-tools"][1] < shortest_cot_job / 2, result["timeline"]


def test_grpos_steps_follow_the_recipes_generations_and_the_launchs_own_schedule(tmp_path):
    recipe = {"steps_per_generation": 8, "gradient_accumulation_steps": 4}
    times = rehearsal.LeaseSeconds(
        grpo_step={"cot": 30.0, "tools": 30.0}, grpo_reuse_step=1.0, launch_start=20.0, grpo_first_step_extra=0.0
    )
    steps = rehearsal.Rehearsal(times, SCALE, tmp_path)
    # 2 minutes from the process's start: generating steps of 30 s, each followed by one of 1 s on its generation
    assert steps.grpo_steps_within("cot", recipe, 10, 2.0) == [True, False, True, False, True, False]
    # A first generation 30 s dearer (warming up): 20 + 60 + 1 s, and the next generation is estimated at the first's
    warming_up = rehearsal.Rehearsal(dataclasses.replace(times, grpo_first_step_extra=30.0), SCALE, tmp_path)
    assert warming_up.grpo_steps_within("cot", recipe, 10, 2.0) == [True, False]
    assert steps.grpo_steps_within("cot", {**recipe, "steps_per_generation": 4}, 10, 2.0) == [True, True, True]
    assert list(tmp_path.iterdir()) == []  # the callback's output_dir is the rehearsal's own
    # A launch's own --steps_per_generation is the schedule, over the recipe's (8, two steps per generation)
    recipe_file = "recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_cot.yaml"
    launch = ("grpo.py", recipe_file, None, None, tmp_path / "grpo-cot", 0, None, "--max_run_minutes", "2")
    steps.train(*launch, cpu=False)
    assert steps.grpo_steps == {"cot": 6}
    steps.train(*launch, "--steps_per_generation", "4", cpu=False)
    assert steps.grpo_steps == {"cot": 3}


def test_a_plans_options_are_shown_without_the_leases_files():
    words = rehearsal.plan_command("tools")
    assert "--reuse_sft" in words and "--train_file" in words
    assert rehearsal.shown_options(words) == "--arm tools --time_budget_minutes 11 --reuse_sft <a tools-sft lease>"


def test_the_plans_table_is_written_from_rehearsals_results_and_says_which_fit(tmp_path):
    def plan(name, seconds, steps):
        return {"plan": name, "options": f"--arm {name}", "seconds": seconds, "grpo_steps": steps}

    results = {
        "date": "2026-11-29T03:00:00+00:00",
        "commit": "abc1234",
        "lease_setup_seconds": 142.0,
        "plans": [plan("cot", 600.0, {"cot": 70}), plan("tools", 780.0, {"tools": 2})],
    }
    page = tmp_path / "gpu.md"
    page.write_text(f"before\n{rehearsal.PLANS_BEGIN}\nold\n{rehearsal.PLANS_END}\nafter\n")
    (tmp_path / "plans.json").write_text(json.dumps(results))
    rehearsal.write_results_table(
        [tmp_path / "plans.json"], page, rehearsal.PLANS_BEGIN, rehearsal.PLANS_END, rehearsal.plans_section, tmp_path
    )
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert text.count(rehearsal.PLANS_BEGIN) == text.count(rehearsal.PLANS_END) == 1
    assert "| `cot` | `--arm cot` | 10.0 | cot 70 | 12.4: fits | 2026-11-29, abc1234 | `plans.json` |" in text
    assert "| `tools` | `--arm tools` | 13.0 | tools 2 | 15.4: does not fit |" in text


def test_an_unknown_plan_is_refused(capsys):
    with pytest.raises(SystemExit):
        rehearsal.main(["--plans", "cot", "tool"])
    assert "--plans: 'tool' is no make gsm8k plan of scripts/gpu_lease.sh" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--time_budget_minutes", "-5"], "--time_budget_minutes: expected a positive number of minutes, got -5"),
        (["--time_budget_minutes", "nan"], "--time_budget_minutes: expected a positive number of minutes, got nan"),
        (["--grpo_max_steps", "0"], "--grpo_max_steps: expected a positive number of steps, got 0"),
        (["--grpo_max_steps", "-3"], "--grpo_max_steps: expected a positive number of steps, got -3"),
        (["--lease_minutes", "-1"], "--lease_minutes: expected a positive number of minutes, got -1"),
        (["--sft_only", "--reuse_sft"], "--reuse_sft has no effect with --sft_only"),
        (["--sft_only", "--time_budget_minutes", "11"], "--time_budget_minutes has no effect with --sft_only"),
    ],
)
def test_the_rehearsal_refuses_what_scripts_gsm8k_refuses_in_one_line(options, message, capsys):
    """A red team's: the rehearsal rehearsed runs scripts/gsm8k.py would refuse (--grpo_max_steps 0 ran 20 steps)."""
    with pytest.raises(SystemExit) as stop:
        rehearsal.main(options)
    assert stop.value.code == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and f"error: {message}" in said
