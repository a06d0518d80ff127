"""Dynamic sampling (open_r1.utils.dynamic_sampling): which groups have spread, how a batch is refilled and bounded,
how rows of different rounds stack; the trainer on the tiny model refilling, bounding and logging, with the python
tool too; and grpo.py on 2 processes, whose ranks keep the same groups and the same loss normaliser.
"""

import json
import logging

import pytest
import torch
import yaml
from datasets import Dataset, DatasetDict
from trl import ModelConfig

from open_r1 import grpo
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.grpo import PromptTruncatingGRPOTrainer
from open_r1.rewards import REWARD_FUNCS_REGISTRY
from open_r1.sandbox import isolation_mode
from open_r1.sandbox.factory import clear_providers
from open_r1.tasks.tool_arithmetic import TOOL_SYSTEM_PROMPT
from open_r1.utils.dynamic_sampling import (
    BATCH_TOKENS,
    DynamicSampling,
    ScoredRound,
    fill_batch,
    flat_groups_zeroed,
    groups_with_spread,
    loss_tokens,
    stack_rows,
    trim_padding,
)
from open_r1.utils.step_profile import PROFILE_SECONDS
from tests.support import REPO_ROOT, TINY_GRPO_RECIPE
from tests.support import dynamic_sampling_probe as probe
from tests.support.launch import accelerate_launch, log_history
from tests.support.sandbox_checks import skip_without_isolation

TINY_RECIPE = TINY_GRPO_RECIPE
PAD = 0
G = 2  # completions per prompt in the hand-made rounds


def scored_round(groups: list[int], spread: list[bool], prompt_width: int = 3, lengths: list[int] | None = None):
    """A round of `groups` (ids), G rows each: every token of a row is its group id + 1 (0 is padding), prompts
    left-padded to `prompt_width`, completions of `lengths` tokens (one per row, default 2) right-padded."""
    rows = len(groups) * G
    lengths = lengths or [2] * rows
    width = max(lengths)
    owner = torch.tensor(groups).repeat_interleave(G) + 1
    completion_mask = torch.tensor([[1] * n + [0] * (width - n) for n in lengths])
    return ScoredRound(
        rows={
            "prompt_ids": owner.unsqueeze(1).expand(rows, prompt_width).clone(),
            "prompt_mask": torch.ones(rows, prompt_width, dtype=torch.long),
            "completion_ids": owner.unsqueeze(1) * completion_mask,
            "completion_mask": completion_mask,
            "advantages": torch.tensor([1.0, -1.0] * len(groups)),
            "old_per_token_logps": -completion_mask.float(),
        },
        spread=torch.tensor(spread),
    )


def groups_of(rows: dict) -> list[int]:
    """The group id of each group of G rows whose loss mask is not empty."""
    owners = rows["prompt_ids"][:, -1] - 1
    return [int(owners[i]) for i in range(0, len(owners), G) if rows["completion_mask"][i].any()]


def rounds_from(*rounds):
    """`next_round` handing out `rounds` in order, failing if asked for more."""
    queue = list(rounds)

    def next_round():
        assert queue, "asked for a round more than the test allows"
        return queue.pop(0)

    return next_round, queue


def fill(first, next_round, full_groups=4, max_rounds=3, row_multiple=2):
    return fill_batch(first, next_round, full_groups, G, max_rounds, row_multiple, PAD)


def test_half_the_groups_without_spread_are_refilled_from_new_prompts():
    first = scored_round([0, 1, 2, 3], [True, False, True, False])
    next_round, left = rounds_from(scored_round([4, 5, 6, 7], [False, True, True, True]))
    filled = fill(first, next_round)
    assert not left, "no refill was drawn"
    assert groups_of(filled.rows) == [0, 2, 5, 6]  # round order, then group order; group 7 is one too many
    assert (filled.rounds, filled.prompts_generated, filled.groups_kept) == (2, 8, 4)
    assert len(filled.rows["advantages"]) == 4 * G
    assert filled.rows[BATCH_TOKENS] == 4 * G * 2  # the tokens of the rows trained on, not of those generated


def test_a_batch_whose_groups_all_have_spread_is_trained_as_generated():
    first = scored_round([0, 1, 2, 3], [True] * 4)
    filled = fill(first, rounds_from()[0])
    assert groups_of(filled.rows) == [0, 1, 2, 3]
    assert (filled.rounds, filled.prompts_generated, filled.groups_kept) == (1, 4, 4)


def test_the_round_bound_holds_and_a_short_batch_trains_on_the_groups_found():
    first = scored_round([0, 1, 2, 3], [False, True, False, False])
    next_round, left = rounds_from(
        scored_round([4, 5, 6, 7], [False, False, False, True]),
        scored_round([8, 9, 10, 11], [False, False, True, False], lengths=[3, 1, 2, 2, 1, 3, 2, 2]),
        scored_round([12, 13, 14, 15], [True] * 4),  # a fourth round would fill the batch: it must not be drawn
    )
    filled = fill(first, next_round, max_rounds=3, row_multiple=4)
    assert len(left) == 1, "the round bound was not kept"
    assert (filled.rounds, filled.prompts_generated, filled.groups_kept) == (3, 12, 3)
    # 3 groups = 6 rows, rounded up to a multiple of 4 (processes x steps_per_generation) with rows out of the loss.
    assert len(filled.rows["advantages"]) == 8
    assert groups_of(filled.rows) == [1, 7, 10]
    assert not filled.rows["completion_mask"][6:].any()
    # The loss normaliser counts the kept groups' tokens alone: 2 + 2 (group 1), 2 + 2 (group 7), 1 + 3 (group 10).
    assert filled.rows[BATCH_TOKENS] == 12
    # One group a round: a full batch of 4 takes 4 rounds, which the warning says.
    assert DynamicSampling._what_more_rounds_would_do(filled, 4) == "at this rate a full batch takes about 4 rounds"


def test_no_group_with_spread_leaves_one_row_outside_the_loss_per_micro_batch():
    first = scored_round([0, 1, 2, 3], [False] * 4)
    next_round, _ = rounds_from(scored_round([4, 5, 6, 7], [False] * 4))
    filled = fill(first, next_round, max_rounds=2, row_multiple=4)
    assert (filled.rounds, filled.prompts_generated, filled.groups_kept) == (2, 8, 0)
    assert len(filled.rows["advantages"]) == 4
    assert not filled.rows["completion_mask"].any() and filled.rows[BATCH_TOKENS] == 0


def test_rows_of_rounds_of_different_widths_stack_as_trl_pads_them():
    first = scored_round([0, 1], [True, False], prompt_width=2, lengths=[1, 1, 1, 1])
    next_round, _ = rounds_from(scored_round([2, 3], [False, True], prompt_width=4, lengths=[3, 1, 1, 2]))
    rows = fill(first, next_round, full_groups=2).rows
    assert rows["prompt_ids"].tolist() == [[PAD, PAD, 1, 1], [PAD, PAD, 1, 1], [4, 4, 4, 4], [4, 4, 4, 4]]
    assert rows["prompt_mask"].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert rows["completion_ids"].tolist() == [[1, PAD, PAD], [1, PAD, PAD], [4, PAD, PAD], [4, 4, PAD]]
    assert rows["old_per_token_logps"].tolist() == [[-1, 0, 0], [-1, 0, 0], [-1, 0, 0], [-1, -1, 0]]
    assert rows[BATCH_TOKENS] == 5


def test_columns_no_row_uses_are_cut_keeping_the_padding_multiple():
    rows = stack_rows([scored_round([0], [True], prompt_width=2, lengths=[1, 2]).rows], PAD)
    wide = stack_rows([rows, scored_round([1], [True], prompt_width=6, lengths=[5, 5]).rows], PAD)
    narrow = trim_padding({key: value[:2] for key, value in wide.items()})
    assert narrow["prompt_ids"].shape == (2, 2) and narrow["completion_ids"].shape == (2, 2)
    assert narrow["old_per_token_logps"].shape == (2, 2) and narrow["advantages"].shape == (2,)
    assert narrow["prompt_ids"].tolist() == [[1, 1], [1, 1]]
    assert trim_padding({key: value[:2] for key, value in wide.items()}, multiple=4)["prompt_ids"].shape == (2, 4)


def test_vllm_fields_stack_and_trim_with_the_completions():
    """What vLLM generation adds to the scored batch: its sampling log-probabilities (per token) and the importance
    sampling ratio, per token or per sequence (one column)."""

    def with_vllm_fields(scored, per_sequence):
        mask = scored.rows["completion_mask"]
        ratio = torch.ones(len(mask), 1) if per_sequence else mask.float()
        scored.rows.update(sampling_per_token_logps=-0.5 * mask, importance_sampling_ratio=ratio)
        return scored

    for per_sequence in (False, True):
        first = with_vllm_fields(scored_round([0, 1], [True, False], lengths=[1, 1, 4, 4]), per_sequence)
        next_round, _ = rounds_from(
            with_vllm_fields(scored_round([2, 3], [True, False], lengths=[2, 1, 3, 3]), per_sequence)
        )
        rows = trim_padding(fill(first, next_round, full_groups=2).rows)
        assert rows["completion_ids"].shape == rows["sampling_per_token_logps"].shape == (4, 2)
        assert rows["sampling_per_token_logps"].tolist() == [[-0.5, 0], [-0.5, 0], [-0.5, -0.5], [-0.5, 0]]
        assert rows["importance_sampling_ratio"].shape == ((4, 1) if per_sequence else (4, 2))


def test_fields_dynamic_sampling_cannot_regroup_stop_the_batch_with_their_names():
    first = scored_round([0, 1], [True, False])
    first.rows["pixel_values"] = torch.zeros(4, 3)
    with pytest.raises(ValueError, match=r"\['pixel_values'\].*dynamic_sampling: false"):
        fill(first, rounds_from()[0], full_groups=2)


def test_loss_tokens_count_the_tool_mask_as_trl_does():
    rows = scored_round([0], [True], lengths=[2, 2]).rows
    assert loss_tokens(rows) == 4
    assert loss_tokens({**rows, "tool_mask": torch.tensor([[1, 0], [0, 0]])}) == 1


NAN = float("nan")


@pytest.mark.parametrize(
    "rewards, weights, per_function, expected",
    [
        ([[1, 0], [0, 0], [1, 0], [1, 0]], [1, 1], False, [True, False]),
        # Weighted sums equal (1 = 0 + 2 x 0.5): no spread for sum_then_normalize, spread per function.
        ([[1, 0], [0, 2]], [1, 0.5], False, [False]),
        ([[1, 0], [0, 2]], [1, 0.5], True, [True]),
        ([[0, 5], [0, 7]], [1, 0], True, [False]),  # a zero-weight function's spread does not count
        ([[NAN, NAN], [1, NAN]], [1, 1], False, [False]),  # one scorable completion: nothing to compare
        ([[NAN, 1], [1, NAN]], [1, 1], False, [False]),  # unscored functions count as 0 in the sum, as in TRL
        ([[0.5, 0], [0.5 + 1e-9, 0]], [1, 1], False, [False]),  # TRL's zero-std tolerance
    ],
)
def test_groups_with_spread(rewards, weights, per_function, expected):
    spread = groups_with_spread(torch.tensor(rewards, dtype=torch.float32), torch.tensor(weights), G, per_function)
    assert spread.tolist() == expected


@pytest.mark.parametrize("accuracy", [0.0, 1.0])
def test_a_group_whose_totals_float32_cannot_average_exactly_has_no_spread(accuracy):
    """The demo's rewards: accuracy weighted 1, format 0.2. Eight completions all earning 1.2 (or 0.2) have a
    computed standard deviation of ~1e-7, which TRL's zero-std test calls spread; they have none."""
    weights = torch.tensor([1.0, 0.2])
    uniform = torch.tensor([[accuracy, 1.0]] * 8)
    mixed = torch.tensor([[1.0, 1.0]] * 7 + [[0.0, 1.0]])
    spread = groups_with_spread(torch.cat([uniform, mixed]), weights, num_generations=8)
    assert spread.tolist() == [False, True]


def test_the_rows_of_groups_without_spread_get_an_advantage_of_exactly_zero():
    # Process 1 of 2 holds gathered rows 4..7: group 2 (flat, TRL's rounding noise) and group 3 (spread).
    noisy = torch.tensor([-1.5e-4, -1.5e-4, 0.7, -0.7])
    spread = torch.tensor([True, True, False, True])
    zeroed = flat_groups_zeroed(noisy, spread, num_generations=2, process_index=1)
    assert zeroed.tolist() == [0.0, 0.0, pytest.approx(0.7), pytest.approx(-0.7)]
    per_token = noisy.unsqueeze(1).expand(4, 3)  # advantages per token: a flat group's rows are 0 throughout
    assert flat_groups_zeroed(per_token, spread, 2, 1).eq(0).tolist() == [[True] * 3] * 2 + [[False] * 3] * 2


@pytest.mark.timeout(300)
def test_without_dynamic_sampling_a_flat_group_float32_cannot_average_trains_on_no_rounding_noise(
    tiny_model, tmp_path
):
    """Found by an audit: eight totals of 0.2 have a float32 deviation of ~1e-8, and TRL gave each row of such a
    group an advantage of -1.5e-4, on which the step trained (and `skip_flat_rows` did not skip it)."""

    def constant(completions, **kwargs):
        return [1.0] * len(completions)

    settings = dict(max_steps=1, num_generations=8, steps_per_generation=2, gradient_accumulation_steps=2)
    trainer = probe.tiny_trainer(
        tiny_model, tmp_path, [probe.flagged_spread_reward, constant], probe.flagged_rows(2),
        per_device_train_batch_size=8, reward_weights=[1.0, 0.2], **settings,
    )  # fmt: skip
    trainer.model.train()
    batch = trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))
    flagged, flat = batch["advantages"][:8], batch["advantages"][8:]
    assert flagged.ne(0).all() and flat.eq(0).all(), batch["advantages"]


# The trainer on the tiny model, in this process: transformers generation, 2 steps of 4 groups of 2 completions.


def tiny_trainer(tiny_model, tmp_path, reward, **overrides):
    """The trainer of the tiny model with `reward` (a function, or a list of them), dynamic sampling on."""
    settings = dict(max_steps=2, per_device_train_batch_size=8, num_generations=G, dynamic_sampling=True)
    return probe.tiny_trainer(tiny_model, tmp_path, reward, probe.flagged_rows(64), **{**settings, **overrides})


def capture_batches(trainer) -> list[dict]:
    """The batches the trainer's generate-and-score returns (before TRL shuffles them into micro-batches)."""
    batches, score = [], trainer._generate_and_score_completions

    def recording(inputs):
        batch = score(inputs)
        batches.append(batch)
        return batch

    trainer._generate_and_score_completions = recording
    return batches


@pytest.mark.timeout(300)
def test_the_trainer_refills_from_new_prompts_and_trains_only_on_groups_with_spread(tiny_model, tmp_path, caplog):
    caplog.set_level("INFO", logger="open_r1.utils.step_profile")
    seen = []

    def reward(prompts, completions, spread, **kwargs):
        seen.append(list(prompts))
        return probe.flagged_spread_reward(completions, spread)

    trainer = tiny_trainer(tiny_model, tmp_path, reward)
    batches = capture_batches(trainer)
    trainer.train()

    history = [entry for entry in trainer.state.log_history if "dynamic_sampling/rounds" in entry]
    assert len(history) == 2 and len(batches) == 2
    assert all(entry["dynamic_sampling/groups_kept"] == 4 for entry in history), history
    refilled = [entry for entry in history if entry["dynamic_sampling/rounds"] > 1]
    assert refilled, f"no step needed a refill (seed 0 draws unflagged prompts at step 1): {history}"
    for entry in history:
        assert entry["dynamic_sampling/prompts_generated"] == 4 * entry["dynamic_sampling/rounds"]
    assert len(seen) == sum(entry["dynamic_sampling/rounds"] for entry in history)
    # Each step's profile (open_r1.utils.step_profile): a decoding call per round, parts adding up to step_time.
    for entry in history:
        assert entry["profile/decoding_rounds"] == entry["dynamic_sampling/rounds"], entry
        parts = [entry[f"profile/{part}_seconds"] for part in PROFILE_SECONDS]
        assert sum(parts) == pytest.approx(entry["step_time"]) and min(parts) >= 0, entry
    assert "GRPO's mean step (2 log entries) took " in caplog.text  # said once training ends
    assert any(set(later) - set(first) for first, later in zip(seen, seen[1:])), "a refill round drew no new prompt"
    for batch in batches:
        assert len(batch["advantages"]) == 8
        groups = batch["advantages"].view(-1, G)
        assert (groups.abs().sum(dim=1) > 0).all(), f"a group without spread was trained on: {groups}"


@pytest.mark.timeout(300)
def test_the_trainer_stops_at_the_round_bound_and_says_so(tiny_model, tmp_path, caplog):
    calls = []

    def reward(completions, spread, **kwargs):  # one group of four with spread: a short batch at the bound
        calls.append(len(completions))
        return [float(i == 0 and len(calls) == 1) for i in range(len(completions))]

    trainer = tiny_trainer(tiny_model, tmp_path, reward, dynamic_sampling_max_rounds=2, max_steps=1)
    batches = capture_batches(trainer)
    with caplog.at_level(logging.WARNING, logger="open_r1"):
        trainer.train()

    assert len(calls) == 2, "the step must score exactly dynamic_sampling_max_rounds rounds"
    history = [entry for entry in trainer.state.log_history if "dynamic_sampling/rounds" in entry]
    assert [(entry["dynamic_sampling/rounds"], entry["dynamic_sampling/groups_kept"]) for entry in history] == [(2, 1)]
    assert "1 of 4 groups have reward spread after 2 rounds" in caplog.text
    assert "at this rate a full batch takes about 8 rounds" in caplog.text
    assert len(batches[0]["advantages"]) == 2  # one group of two completions, no filler (2 micro-batches of 1)


@pytest.mark.timeout(300)
def test_a_step_whose_rounds_all_find_no_spread_pauses_the_refills_until_a_first_round_finds_some(
    tiny_model, tmp_path, caplog
):
    """Found by an audit: with a reward that never spreads, every step ran all its rounds, three times the generation
    of a run without dynamic sampling, each step warning that more rounds would not help."""
    calls = []

    def reward(completions, spread, **kwargs):  # flat for the first three rounds, then the flagged rows spread
        calls.append(len(completions))
        return [1.0] * len(completions) if len(calls) <= 3 else probe.flagged_spread_reward(completions, spread)

    trainer = tiny_trainer(tiny_model, tmp_path, reward, dynamic_sampling_max_rounds=2, max_steps=3)
    batches = capture_batches(trainer)
    with caplog.at_level(logging.INFO, logger="open_r1"):
        trainer.train()

    history = [entry for entry in trainer.state.log_history if "dynamic_sampling/rounds" in entry]
    # Step 1: both rounds flat, refills pause; step 2: one round, flat; step 3: its first round spreads, they resume.
    assert [entry["dynamic_sampling/rounds"] for entry in history[:2]] == [2, 1], history
    assert [entry["dynamic_sampling/paused"] for entry in history] == [1, 1, 0], history
    assert history[2]["dynamic_sampling/rounds"] == 2, history  # its first round was short: a refill ran
    assert len(calls) == 3 + history[2]["dynamic_sampling/rounds"]
    assert caplog.text.count("refill rounds pause until a step's first generation batch has a group with spread") == 1
    assert "dynamic sampling: refill rounds resume at step 3: a first generation batch had " in caplog.text
    # The pause said it once, not a warning a paused step; step 3's short batch, refills resumed, is warned of.
    assert caplog.text.count("groups have reward spread after") == 1 and "2 of 4 groups" in caplog.text
    assert all(entry["loss"] == 0 for entry in trainer.state.log_history[:2] if "loss" in entry)
    for batch in batches[:2]:  # one row per micro-batch, outside the loss: a zero loss, no gradient
        assert len(batch["advantages"]) == 1 and batch[BATCH_TOKENS] == 0


@pytest.mark.timeout(300)
def test_without_dynamic_sampling_the_trainer_is_trls(tiny_model, tmp_path):
    trainer = tiny_trainer(tiny_model, tmp_path, lambda completions, **kwargs: [1.0] * len(completions))
    trainer.args.dynamic_sampling = False
    batches = capture_batches(trainer)
    trainer.train()
    assert not any("dynamic_sampling/rounds" in entry for entry in trainer.state.log_history)
    assert [len(batch["advantages"]) for batch in batches] == [8, 8]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("dynamic_sampling", [False, True])
def test_the_logged_zero_spread_share_counts_groups_of_equal_totals(tiny_model, tmp_path, dynamic_sampling):
    """The demo's rewards (accuracy 1, format 0.2) paying every completion: every group has no spread, and
    frac_reward_zero_std says so (TRL's own test logs 0 here), which the GRPO doctor's zero_spread check reads."""

    def accuracy(completions, **kwargs):
        return [1.0] * len(completions)

    def format_reward(completions, **kwargs):
        return [1.0] * len(completions)

    trainer = tiny_trainer(
        tiny_model, tmp_path, [accuracy, format_reward], num_generations=8, reward_weights=[1.0, 0.2],
        dynamic_sampling=dynamic_sampling, dynamic_sampling_max_rounds=2,
    )  # fmt: skip
    trainer.train()
    shares = [entry["frac_reward_zero_std"] for entry in trainer.state.log_history if "frac_reward_zero_std" in entry]
    assert shares == [1.0, 1.0]


@pytest.mark.timeout(600)
def test_tool_rollouts_take_the_same_path_with_their_tool_mask(
    tool_calling_model, tmp_path, monkeypatch, sandbox_leftovers_check
):
    """grpo.main with the tools demo recipe (python tool in the local sandbox): refill rounds run tool calls too,
    and the batch trained on keeps the tool results out of the loss."""
    with skip_without_isolation():
        isolation_mode()
    problem = {"prompt": tool_calling_model["user_turn"], "solution": tool_calling_model["problem"]["solution"]}
    rows = [{**problem, "spread": row["spread"]} for row in probe.flagged_rows(16)]
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "data"))
    rounds = []  # the completions of each scored round

    def reward(completions, spread, **kwargs):
        rounds.append(completions)
        return probe.flagged_spread_reward(completions, spread)

    monkeypatch.setitem(REWARD_FUNCS_REGISTRY, probe.REWARD_NAME, lambda script_args: reward)
    batches = []
    score = grpo.PromptTruncatingGRPOTrainer._generate_and_score_completions

    def capture(self, inputs):
        batch = score(self, inputs)
        batches.append(batch)
        return batch

    monkeypatch.setattr(grpo.PromptTruncatingGRPOTrainer, "_generate_and_score_completions", capture)
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(
        ["--config", "recipes/demo/grpo/config_tools.yaml"]
        + ["--model_name_or_path", str(tool_calling_model["path"]), "--dataset_name", str(tmp_path / "data")]
        + ["--output_dir", str(tmp_path / "out"), "--max_steps", "2", "--logging_steps", "1"]
        + ["--reward_funcs", "accuracy", probe.REWARD_NAME, "--reward_weights", "0.0", "1.0"]
        + ["--num_generations", "4", "--per_device_train_batch_size", "8", "--temperature", "0.3"]
        + ["--max_completion_length", "96", "--system_prompt", TOOL_SYSTEM_PROMPT, "--dynamic_sampling", "true"]
    )
    try:
        grpo.main(script_args, training_args, model_args)
    finally:
        clear_providers()

    history = [entry for entry in log_history(tmp_path / "out") if "dynamic_sampling/rounds" in entry]
    per_step = [int(entry["dynamic_sampling/rounds"]) for entry in history]
    assert sum(per_step) == len(rounds) > len(per_step), per_step
    refills = [round_ for step in per_step for round_ in range(step)]  # 0 for a step's first round
    tool_calls = [sum(any(turn["role"] == "tool" for turn in c) for c in completions) for completions in rounds]
    assert any(calls for round_, calls in zip(refills, tool_calls) if round_ > 0), "no refill round called the tool"
    for batch in batches:
        assert (batch["advantages"].view(-1, 4).abs().sum(dim=1) > 0).all(), batch["advantages"]
        in_loss, generated = batch["completion_mask"] * batch["tool_mask"], batch["completion_mask"]
        assert (in_loss < generated).any(), "no tool result was masked out of the loss"
        assert batch[BATCH_TOKENS] == in_loss.sum()


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_two_processes_keep_the_same_groups_and_loss_normaliser(tiny_assets, tmp_path):
    data, probes, output_dir = tmp_path / "flagged", tmp_path / "probes", tmp_path / "grpo"
    probe.save_flagged_dataset(data, every=4)
    # The tiny recipe with the probe's reward on prompts a quarter of which have spread, 2 rounds at most: full and
    # short batches. 6 rows per process and 4 completions per prompt: groups straddle the two processes.
    recipe = yaml.safe_load((REPO_ROOT / TINY_RECIPE).read_text())
    for name in ("reward_num_workers", "system_prompt"):
        del recipe[name]
    recipe.update(
        model_name_or_path=str(tiny_assets["tiny-model"]), dataset_name=str(data), output_dir=str(output_dir),
        reward_funcs=[probe.REWARD_NAME], reward_weights=[1.0], per_device_train_batch_size=6, num_generations=4,
        max_completion_length=8, max_steps=4, save_strategy="no", dynamic_sampling=True,
        dynamic_sampling_max_rounds=2,
    )  # fmt: skip
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    result = accelerate_launch(
        str(probe.SCRIPT), str(tmp_path / "recipe.yaml"), num_processes=2, env={probe.PROBE_DIR: str(probes)}
    )
    ranks = [[json.loads(line) for line in (probes / f"rank{rank}.jsonl").read_text().splitlines()] for rank in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 4, result.stdout[-3000:]
    for first, second in zip(*ranks):
        for key in ("step", "rounds", "groups_kept", "rows", BATCH_TOKENS):
            assert first[key] == second[key], (key, first, second)
        # The normaliser (dapo: num_items_in_batch) counts exactly the tokens both ranks train on.
        assert first[BATCH_TOKENS] == first["loss_tokens"] + second["loss_tokens"]
    assert any(entry["rounds"] > 1 and entry["groups_kept"] == 3 for entry in ranks[0]), f"no refill: {ranks[0]}"
    assert any(entry["groups_kept"] < 3 for entry in ranks[0]), f"no short batch: {ranks[0]}"
    history = [entry for entry in log_history(output_dir) if "dynamic_sampling/rounds" in entry]
    assert [entry["dynamic_sampling/groups_kept"] for entry in history] == [r["groups_kept"] for r in ranks[0]]


def test_the_probe_reward_gives_spread_to_flagged_rows_only():
    assert probe.flagged_spread_reward(["a", "a", "b", "b"], [True, True, False, False]) == [0.0, 0.25, 0.0, 0.0]


def test_fewer_than_two_rounds_is_refused_before_training():
    with pytest.raises(ValueError, match="dynamic_sampling_max_rounds must be at least 2"):
        GRPOConfig(output_dir="out", use_cpu=True, bf16=False, dynamic_sampling=True, dynamic_sampling_max_rounds=1)


def test_a_streamed_dataset_is_refused_when_the_trainer_is_built(tiny_model, tmp_path):
    streamed = Dataset.from_list(probe.flagged_rows(8)).to_iterable_dataset()
    with pytest.raises(ValueError, match="not a streamed"):
        PromptTruncatingGRPOTrainer(
            model=str(tiny_model),
            reward_funcs=[probe.flagged_spread_reward],
            args=GRPOConfig(
                output_dir=str(tmp_path),
                use_cpu=True,
                bf16=False,
                report_to="none",
                max_steps=1,
                per_device_train_batch_size=2,
                num_generations=2,
                dynamic_sampling=True,
            ),  # fmt: skip
            train_dataset=streamed,
        )
