"""What `make gsm8k`'s report.md says of how each arm's GRPO trained, from its results.json: its steps (and what a
time budget gave it, a restart after running out of GPU memory, a launch with a new way of generating that failed),
where a step's time went, how it generated, the levers given in place of the recipes' (`--grpo_learning_rate`,
`--grpo_num_generations`), the share of its groups without reward spread (`groups_without_spread`) and how far its
policy moved within a generation (`importance_ratio_clipped`), these two read from the run's trainer state.

    groups_without_spread(log_history)      # results.json's arms.<arm>.grpo.groups_without_spread
    importance_ratio_clipped(log_history)   # results.json's arms.<arm>.grpo.importance_ratio_clipped
    grpo_steps_line(results), grpo_step_time_line(results), groups_line(results), clipped_line(results)

Not covered: the rest of report.md, its tables and goals (`open_r1.demo.gsm8k_report`); the step profile itself
(`open_r1.utils.step_profile`).
"""

import pathlib

from open_r1.demo.gsm8k_launch import new_generation_said
from open_r1.demo.settings import GSM8K_ARM_NAMES
from open_r1.utils.step_profile import describe as describe_step_profile


def grpo_generation(results: dict) -> str:
    """How the run's GRPO generated, naming an arm whose launch with a new way of generating failed and ran again
    without it (`open_r1.demo.gsm8k_launch.generation_launch_failed`)."""
    fell_back = [
        f"the {GSM8K_ARM_NAMES[arm]} arm without {new_generation_said(failed['without'])}, its first launch with "
        f"{'them' if len(failed['without']) > 1 else 'it'} having failed"
        for arm, stages in results["arms"].items()
        if (failed := stages.get("grpo", {}).get("generation_launch_failed"))
    ]
    if not fell_back:
        return results["grpo_generation"]
    return f"{results['grpo_generation']} ({'; '.join(fell_back)})"


def grpo_recipe_overrides_note(results: dict) -> str:
    """The Recipes line's note on a GRPO learning rate or completions per prompt given in place of the recipes'
    (`--grpo_learning_rate`, `--grpo_num_generations`)."""
    # A combined run's are each run's, labelled with its arms, where they differ.
    notes = []
    rate = results.get("grpo_learning_rate")
    if rate is not None:
        notes.append(
            f"; GRPO's learning rate {repr(rate) if isinstance(rate, float) else rate} in place of the recipes'"
        )
    groups = results.get("grpo_num_generations")
    if groups is not None:
        notes.append(
            f"; {groups} completions per GRPO prompt (num_generations) in place of the recipes', as many rows"
        )
    return "".join(notes)


def grpo_steps_line(results: dict) -> str:
    """The report's line on how many GRPO steps each arm trained, what a time budget gave each to train in, a
    restart after running out of GPU memory, and one without the compiled decode step after it failed."""
    arms = []
    for arm, stages in results["arms"].items():
        grpo = stages.get("grpo", {})
        if grpo.get("steps") is None:
            continue
        limit = grpo.get("max_run_minutes")
        given = "" if limit is None else f" (given {limit:g} min)"
        restart = grpo.get("out_of_memory_restart")
        restarted = (
            ""
            if restart is None
            else f", started again after running out of GPU memory beside {restart['beside']} "
            f"({restart['seconds_lost']:.0f} s lost; {pathlib.Path(restart['log']).name})"
        )
        failed = grpo.get("generation_launch_failed")
        eager = (
            ""
            if failed is None
            else f", started again without {new_generation_said(failed['without'])} after its first launch with "
            f"{'them' if len(failed['without']) > 1 else 'it'} failed ({failed['seconds_lost']:.0f} s lost; "
            f"{pathlib.Path(failed['log']).name})"
        )
        arms.append(f"{GSM8K_ARM_NAMES[arm]} {grpo['steps']} of {grpo['max_steps']}{given}{restarted}{eager}")
    if not arms:
        return ""
    budget = results.get("time_budget_minutes")
    under = (
        ""
        if budget is None
        else f"; {'each' if results.get('runs') else 'the'} run's time budget was {budget:g} minutes, and each "
        "arm's GRPO trained the steps that left "
        "time for the GRPO evaluations (`max_run_minutes`)"
    )
    return f"- **GRPO steps**: {', '.join(arms)}{under}.\n"


def grpo_step_time_line(results: dict) -> str:
    """The report's line on where each arm's mean GRPO step spent its time (`open_r1.utils.step_profile`)."""
    return arms_line(
        results,
        "step_profile",
        "**A GRPO step's time** (mean over its logged steps, `open_r1.utils.step_profile`)",
        describe_step_profile,
    )


def groups_without_spread(log_history: list[dict]) -> dict | None:
    """The share of GRPO's groups whose completions all earned the same reward, so had no advantage and gave no
    gradient (TRL's `frac_reward_zero_std`), from a run's `log_history` (trainer_state.json): its mean over the logged
    entries that scored a generation, and over their first and last fifths (at least one entry each), to read a lever
    that aims at it (`--grpo_num_generations`, `--grpo_max_calculations`) beside the runs without. None where no entry
    logged it."""
    shares = [entry["frac_reward_zero_std"] for entry in log_history if entry.get("frac_reward_zero_std") is not None]
    if not shares:
        return None
    fifth = max(1, len(shares) // 5)
    return {
        "log_entries": len(shares),
        "mean": sum(shares) / len(shares),
        "first_fifth": sum(shares[:fifth]) / fifth,
        "last_fifth": sum(shares[-fifth:]) / fifth,
    }


def importance_ratio_clipped(log_history: list[dict]) -> dict | None:
    """How far GRPO's policy moved within a generation: the share of completion tokens whose importance ratio was
    clipped (TRL's `clip_ratio/region_mean`) on the logged steps that trained on a generation an earlier step had
    already stepped on (those that log no `frac_reward_zero_std`: the step that generates clips none, its policy
    the one that sampled), its mean and largest, to read a learning-rate lever (`--grpo_learning_rate`) beside the
    runs without. Each log entry is one step where `logging_steps` is 1, as the recipes log. None where no such step
    was logged."""
    shares = [
        entry["clip_ratio/region_mean"]
        for entry in log_history
        if entry.get("clip_ratio/region_mean") is not None and "frac_reward_zero_std" not in entry
    ]
    if not shares:
        return None
    return {"log_entries": len(shares), "mean": sum(shares) / len(shares), "max": max(shares)}


def arms_line(results: dict, field: str, caption: str, describe) -> str:
    """A report line, `caption` then each arm's GRPO `field` of results.json as `describe` words it ("" where no arm
    has it)."""
    arms = [
        f"{GSM8K_ARM_NAMES[arm]} {describe(value)}"
        for arm, stages in results["arms"].items()
        if (value := stages.get("grpo", {}).get(field))
    ]
    return f"- {caption}: {'; '.join(arms)}.\n" if arms else ""


def groups_line(results: dict) -> str:
    """The report's line on each arm's GRPO groups without reward spread (`groups_without_spread`)."""
    return arms_line(
        results,
        "groups_without_spread",
        "**GRPO's groups without reward spread** (`frac_reward_zero_std`: no advantage, so no gradient; the share of "
        "a generation's groups, on average)",
        lambda groups: (
            f"{groups['mean']:.2f} over {groups['log_entries']} logged generations (first fifth "
            f"{groups['first_fifth']:.2f}, last {groups['last_fifth']:.2f})"
        ),
    )


def clipped_line(results: dict) -> str:
    """The report's line on how far each arm's GRPO policy moved within a generation (`importance_ratio_clipped`)."""
    return arms_line(
        results,
        "importance_ratio_clipped",
        "**How far GRPO's policy moved** (the share of tokens whose importance ratio was clipped, "
        "`clip_ratio/region_mean`, on the steps that trained on a generation already stepped on)",
        lambda clipped: (
            f"{100 * clipped['mean']:.2f}% on average, at most {100 * clipped['max']:.2f}%, over "
            f"{clipped['log_entries']} logged steps"
        ),
    )
