"""DAPO's dynamic sampling (arXiv 2503.14476, section 3.2) for TRL's GRPOTrainer: no batch of groups without signal.

    class MyTrainer(DynamicSampling, GRPOTrainer): ...     # open_r1.grpo.PromptTruncatingGRPOTrainer does this
    # recipe: dynamic_sampling: true, dynamic_sampling_max_rounds: 3

A group (the `num_generations` completions of one prompt) whose rewards have no spread gets zero advantage and
adds nothing to the policy gradient, yet costs its whole generation. With `dynamic_sampling: true`, after the
rewards of a generation batch are computed, such groups are dropped and further prompts are generated and scored,
a whole generation batch per round, until the batch holds as many groups with spread as it normally holds
(`generation_batch_size / num_generations`), for at most `dynamic_sampling_max_rounds` rounds (the first one
included). After the last round the run trains on the groups it found, with a warning. When every round of a step
found none, refill rounds pause (said once): each step generates one batch, as without dynamic sampling, until a
first round finds a group with spread; more rounds of prompts that all earn the same would generate for nothing.

- No spread: the weighted sum of the rewards (what TRL's advantage is computed from) is the same for every scored
  completion of the group, up to float32 rounding, or fewer than two of its completions could be scored; with
  `multi_objective_aggregation: normalize_then_sum`, every weighted reward function is constant within the group.
  Not TRL's `frac_reward_zero_std` test (a standard deviation within 1e-8 of zero): float32 cannot average eight
  totals of 1.2 (accuracy 1 + format 0.2) exactly, their computed deviation is ~1e-7, and TRL calls such a group
  one with spread (and gives it advantages of ~1e-3).
- Where: `DynamicSampling._generate_and_score_completions` wraps TRL's method of that name, above generation, so
  transformers generation, vLLM (colocated or server) and tool calling (`tools: [python]`) share this one path;
  each round is TRL's own generate-and-score. Rewards are gathered across processes by TRL, and rank 0's verdict
  per group is broadcast, so every process keeps the same groups and runs the same rounds, the same collectives
  and the same number of forward and backward passes.
- Refill prompts come from a second sampler over the training set (TRL's `RepeatSampler`, its own seed), one
  generation batch per round, sharded across processes as the training dataloader is; the training dataloader's
  order and epoch count are untouched.
- Kept groups keep the advantages computed in their own round (no update happens between rounds: same policy).
  When a round drops a group, the rows of every round are gathered to every process, the kept ones are stacked in
  order (earlier rounds first) and each process takes its equal share; padding columns no kept row needs are cut.
- Loss normalisation: the batch trained on is the kept groups, and TRL's normalisers are those of that batch:
  `num_items_in_batch` (dapo, cispo, vespo) is recounted over the kept rows' tokens (not the tokens of every round
  generated), and the rows per micro-batch (grpo, dr_grpo, bnpo, sapo, luspo) are kept rows. A short batch (K
  groups found, fewer than a full one, after the last round) is a smaller batch: the K groups' rows, rounded up to
  a multiple of processes x `steps_per_generation` (every process runs the same number of equal micro-batches)
  with copies of a row whose loss mask is zero (no loss, no token counted; the row-normalised losses count them as
  rows, fewer than processes x steps_per_generation); with no group found, one such row per micro-batch (a zero
  loss). The loss is thus that of a batch of the K groups alone, up to those few rows.
- Logged at each generation (each optimizer step with TRL's default `steps_per_generation` and `num_iterations`),
  averaged over the logging window as TRL's metrics are: `dynamic_sampling/prompts_generated` (prompts generated
  and scored, all rounds; completions generated = that x num_generations), `dynamic_sampling/groups_kept` (groups
  with spread trained on), `dynamic_sampling/rounds` and `dynamic_sampling/paused` (1 while refills pause); a
  short batch also logs a warning (not while refills pause). On or off, TRL's `frac_reward_zero_std` of each
  round is replaced by the share of its groups without spread as judged here (TRL's test misses the float32 case
  above, and with `scale_rewards: batch` judges the whole batch, not its groups): the GRPO doctor's `zero_spread`
  check reads it. Off, the rows of groups without spread get an advantage of exactly 0 (`flat_groups_zeroed`,
  `sum_then_normalize` only: `normalize_then_sum` centres on the batch), not TRL's rounding noise.
- Costs: the dropped groups' generation and scoring (and TRL's old / reference log-probabilities of them, a forward
  pass each), and one gather of each round's rows to every process when a round drops a group. Saves: the steps
  spent on groups without gradient. Measured against the same run without it (held-out accuracy per completion
  generated and per second, the demos' GRPO stages): docs/benchmarks.md, scripts/benchmarks/dynamic_sampling.py.

Not covered: evaluation (it scores every group, as TRL does); image prompts (their pixel fields are not regrouped:
such a batch stops with an error); streamed (iterable) datasets (no sampler can draw refill prompts from them); the
refill sampler's position across a resume (it starts again, differently seeded by the global step).
"""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from accelerate.utils import broadcast, pad_across_processes
from torch.utils.data import IterableDataset
from trl.trainer.utils import RepeatSampler

logger = logging.getLogger(__name__)

DEFAULT_MAX_ROUNDS = 3  # one generation batch, then up to two refills (GRPOConfig.dynamic_sampling_max_rounds)

# How each per-row field of TRL's scored batch is padded along its second (token) dimension when rows of different
# processes or rounds are stacked: the side and the value, None for the tokenizer's pad token. Rows are padded as
# TRL pads them (prompts on the left, completions on the right).
ROW_PADDING: dict[str, tuple[str, float | None]] = {
    "prompt_ids": ("left", None),
    "prompt_mask": ("left", 0),
    "completion_ids": ("right", None),
    "completion_mask": ("right", 0),
    "tool_mask": ("right", 1),
    "old_per_token_logps": ("right", 0.0),
    "ref_per_token_logps": ("right", 0.0),
    "sampling_per_token_logps": ("right", 0.0),
    "importance_sampling_ratio": ("right", 0.0),
    "advantages": ("right", 0.0),
}
# The one field of the scored batch that is not per row: the loss-mask tokens of the whole batch, all processes.
BATCH_TOKENS = "num_items_in_batch"


def groups_with_spread(
    rewards_per_func: torch.Tensor, weights: torch.Tensor, num_generations: int, per_function: bool = False
) -> torch.Tensor:
    """One bool per group of `num_generations` consecutive rows of `rewards_per_func` (rows x reward functions, NaN
    where a function could not score): whether the group's rewards have spread. The weighted sum of the functions
    is judged (as TRL's `sum_then_normalize` advantage), or each weighted function with `per_function`
    (`normalize_then_sum`). No spread: the group's largest and smallest scored value are equal within
    `torch.isclose`'s tolerances, or fewer than two of its completions are scorable."""
    weights = weights.to(rewards_per_func.device)
    if per_function:
        columns = [rewards_per_func[:, i] * weights[i] for i in range(len(weights)) if weights[i] != 0]
    else:
        total = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
        total[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan  # TRL leaves unscorable rows out too
        columns = [total]
    spread = torch.zeros(rewards_per_func.size(0) // num_generations, dtype=torch.bool, device=rewards_per_func.device)
    for column in columns:
        grouped = column.view(-1, num_generations)
        scored = ~torch.isnan(grouped)
        # Extremes, not a standard deviation: equal totals have no rounding error, their mean and deviation do.
        largest = torch.where(scored, grouped, -torch.inf).amax(dim=1)
        smallest = torch.where(scored, grouped, torch.inf).amin(dim=1)
        spread |= (scored.sum(dim=1) >= 2) & ~torch.isclose(largest, smallest)
    return spread


def flat_groups_zeroed(
    advantages: torch.Tensor, spread: torch.Tensor, num_generations: int, process_index: int
) -> torch.Tensor:
    """This process's advantages (its consecutive share of the gathered rows) with the rows of groups without spread
    at exactly 0: TRL gives a group of equal totals float32 cannot average (1.2, 0.2) its rounding noise, ~1e-3
    after scaling, on which the step would train (and `skip_flat_rows` could not skip it)."""
    rows = torch.arange(len(advantages), device=advantages.device) + process_index * len(advantages)
    flat = ~spread.to(advantages.device)[rows // num_generations]
    return advantages.masked_fill(flat.view(-1, *([1] * (advantages.dim() - 1))), 0.0)


def _padded(value: torch.Tensor, width: int, side: str, pad_value: float) -> torch.Tensor:
    if value.dim() < 2 or value.size(1) >= width:
        return value
    filler = value.new_full((value.size(0), width - value.size(1), *value.shape[2:]), pad_value)
    return torch.cat([filler, value] if side == "left" else [value, filler], dim=1)


def _check_fields(rows: dict) -> None:
    unknown = sorted(set(rows) - set(ROW_PADDING) - {BATCH_TOKENS})
    if unknown:
        raise ValueError(
            f"dynamic_sampling cannot regroup the batch fields {unknown} (image prompts?); it handles "
            f"{sorted(ROW_PADDING)}: set dynamic_sampling: false for this dataset"
        )


def stack_rows(pieces: list[dict], pad_token_id: int) -> dict:
    """The rows of `pieces` (scored batches without `num_items_in_batch`) one after the other, each field padded as
    TRL pads it to the widest piece."""
    stacked = {}
    for key in pieces[0]:
        side, pad_value = ROW_PADDING[key]
        pad_value = pad_token_id if pad_value is None else pad_value
        width = max(piece[key].size(1) if piece[key].dim() > 1 else 0 for piece in pieces)
        stacked[key] = torch.cat([_padded(piece[key], width, side, pad_value) for piece in pieces], dim=0)
    return stacked


def take_rows(rows: dict, index: torch.Tensor | slice | list[int]) -> dict:
    """`rows` (a scored batch, with its `advantages`) with only the rows `index` picks of every per-row tensor (a
    tensor whose first dimension is the batch's); scalars such as `num_items_in_batch` stay as they are."""
    count = len(rows["advantages"])
    return {
        key: value[index] if isinstance(value, torch.Tensor) and value.dim() > 0 and value.size(0) == count else value
        for key, value in rows.items()
    }


def loss_tokens(rows: dict) -> torch.Tensor:
    """The tokens the loss counts in `rows`, as TRL counts `num_items_in_batch`: completion mask x tool mask."""
    mask = rows["completion_mask"] if "tool_mask" not in rows else rows["completion_mask"] * rows["tool_mask"]
    return mask.sum()


def _kept_width(used: int, full: int, multiple: int | None) -> int:
    """`used` columns (at least 1), a multiple of `multiple` (TRL's `pad_to_multiple_of`) when set, at most `full`."""
    used = max(used, 1)
    return used if multiple is None else min(full, -(-used // multiple) * multiple)


def used_completion_width(completion_mask: torch.Tensor, multiple: int | None = None) -> int:
    """The completion columns up to the last any row uses (`_kept_width`): those after it pad every row."""
    used = completion_mask.any(dim=0).nonzero()
    return _kept_width(int(used[-1]) + 1 if len(used) else 0, completion_mask.size(1), multiple)


def trim_padding(rows: dict, multiple: int | None = None) -> dict:
    """`rows` without the prompt columns (left) and completion columns (right) that are padding in every row,
    widths kept multiples of `multiple` (TRL's `pad_to_multiple_of`) when set."""
    prompt_full, completion_full = rows["prompt_mask"].size(1), rows["completion_mask"].size(1)
    prompt_used = rows["prompt_mask"].any(dim=0).nonzero()
    prompt_width = _kept_width(prompt_full - int(prompt_used[0]) if len(prompt_used) else 0, prompt_full, multiple)
    completion_width = used_completion_width(rows["completion_mask"], multiple)
    trimmed = {}
    for key, value in rows.items():
        side = ROW_PADDING.get(key, (None,))[0]
        if side == "left" and value.dim() > 1:
            value = value[:, prompt_full - prompt_width :]
        elif side == "right" and value.dim() > 1 and value.size(1) == completion_full:
            value = value[:, :completion_width]
        trimmed[key] = value
    return trimmed


@dataclass
class ScoredRound:
    """One generation batch as every process sees it: the rows of all processes (rank order, `num_generations`
    consecutive rows per group) and, per group, whether its rewards have spread."""

    rows: dict
    spread: torch.Tensor


@dataclass
class FilledBatch:
    """The batch to train on (all processes' rows, with `num_items_in_batch`) and how it was found."""

    rows: dict
    rounds: int
    prompts_generated: int
    groups_kept: int


def fill_batch(
    first: ScoredRound,
    next_round: Callable[[], ScoredRound],
    full_groups: int,
    num_generations: int,
    max_rounds: int,
    row_multiple: int,
    pad_token_id: int,
) -> FilledBatch:
    """Keeps the groups with spread of `first`, then of `next_round()`'s rounds, until `full_groups` are kept or
    `max_rounds` rounds were scored; returns the first `full_groups` kept groups (earlier rounds first). Fewer is
    a short batch: the kept rows plus rows outside the loss (a row's copy with a zero completion mask) up to a
    multiple of `row_multiple` (processes x steps_per_generation), at least one. `num_items_in_batch` is counted
    over the rows returned."""
    scored, kept, rounds = first, [], 0
    while True:
        _check_fields(scored.rows)
        rows = {key: value for key, value in scored.rows.items() if key != BATCH_TOKENS}
        rounds += 1
        keep = scored.spread.repeat_interleave(num_generations)
        if keep.any():
            kept.append(take_rows(rows, keep))
        last = rows
        groups_kept = sum(len(piece["advantages"]) for piece in kept) // num_generations
        if groups_kept >= full_groups or rounds == max_rounds:
            break
        scored = next_round()
    prompts_generated = rounds * len(first.spread)
    if groups_kept >= full_groups:
        batch = take_rows(stack_rows(kept, pad_token_id), slice(0, full_groups * num_generations))
        return FilledBatch(_with_token_count(batch), rounds, prompts_generated, full_groups)
    rows_kept = groups_kept * num_generations
    padding = max(-(-rows_kept // row_multiple), 1) * row_multiple - rows_kept
    if padding:
        filler = take_rows(last, [0] * padding)
        filler["completion_mask"] = torch.zeros_like(filler["completion_mask"])
        kept.append(filler)
    return FilledBatch(_with_token_count(stack_rows(kept, pad_token_id)), rounds, prompts_generated, groups_kept)


def _with_token_count(rows: dict) -> dict:
    return {**rows, BATCH_TOKENS: loss_tokens(rows)}


class DynamicSampling:
    """GRPOTrainer mixin: `dynamic_sampling: true` refills each training generation batch with groups whose rewards
    have spread (see the module docstring). Off, or in evaluation, TRL's method runs as it is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._refill_batches = None  # the refill sampler's dataloader iterator, made at the first refill
        self._round_rewards = None  # the last round's rewards, all processes' rows (TRL gathers them)
        self._refills_paused = False  # every round of a step found no group with spread: see the module docstring
        if self._dynamic_sampling and isinstance(self.train_dataset, IterableDataset):
            raise ValueError(
                "dynamic_sampling: true needs a dataset with a length to draw refill prompts from, not a streamed "
                "(iterable) one"
            )

    @property
    def _dynamic_sampling(self) -> bool:
        return getattr(self.args, "dynamic_sampling", False)  # TRL's own GRPOConfig has no such field

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._round_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._round_rewards

    def _generate_and_score_completions(self, inputs):
        if not (self._dynamic_sampling and self.model.training):
            local = super()._generate_and_score_completions(inputs)
            num_generations = self.num_generations if self.model.training else self.num_generations_eval
            spread = self._spread(num_generations)
            self._log_zero_spread_share(spread)
            if getattr(self, "multi_objective_aggregation", "sum_then_normalize") == "sum_then_normalize":
                local["advantages"] = flat_groups_zeroed(
                    local["advantages"], spread, num_generations, self.accelerator.process_index
                )
            return local
        local = super()._generate_and_score_completions(inputs)
        first = ScoredRound(local, self._agreed_spread())
        full_groups = self.args.generation_batch_size // self.num_generations
        self._update_pause(first.spread)
        if bool(first.spread.all()):  # nothing to drop: TRL's batch as it is, no gather
            self._log_refill(FilledBatch(local, 1, full_groups, full_groups), full_groups)
            return local
        filled = fill_batch(
            ScoredRound(self._all_rows(local), first.spread),
            self._score_refill_round,
            full_groups=full_groups,
            num_generations=self.num_generations,
            max_rounds=1 if self._refills_paused else self.args.dynamic_sampling_max_rounds,
            row_multiple=self.accelerator.num_processes * self.args.steps_per_generation,
            pad_token_id=self._tokenizer.pad_token_id,
        )
        if filled.groups_kept == 0 and filled.rounds > 1:
            self._pause_refills(filled)
        self._log_refill(filled, full_groups)
        return self._local_share(filled.rows)

    def _pause_refills(self, filled: FilledBatch) -> None:
        """After a step whose every round found no group with spread: one round a step until one does."""
        self._refills_paused = True
        if self.accelerator.is_main_process:
            logger.warning(
                f"dynamic sampling: none of the {filled.prompts_generated} prompts generated over {filled.rounds} "
                "rounds had reward spread; refill rounds pause until a step's first generation batch has a group "
                "with spread (more rounds of prompts that all earn the same would generate for nothing). The GRPO "
                "doctor's zero_spread names the likely causes."
            )

    def _update_pause(self, first_spread: torch.Tensor) -> None:
        """Refills resume at the first step whose first round found a group with spread (every process agrees: the
        spread is rank 0's)."""
        if self._refills_paused and bool(first_spread.any()):
            self._refills_paused = False
            if self.accelerator.is_main_process:
                logger.info(
                    f"dynamic sampling: refill rounds resume at step {self.state.global_step + 1}: a first "
                    f"generation batch had {int(first_spread.sum())} groups with reward spread"
                )

    def _spread(self, num_generations: int) -> torch.Tensor:
        """Which groups of the last round have spread, judged from the rewards TRL gathered from every process."""
        multi_objective = getattr(self, "multi_objective_aggregation", "sum_then_normalize")
        return groups_with_spread(
            self._round_rewards,
            self.reward_weights,
            num_generations,
            per_function=multi_objective == "normalize_then_sum",
        )

    def _agreed_spread(self) -> torch.Tensor:
        """Which groups of the last round have spread, as rank 0 judged it from the gathered rewards."""
        spread = broadcast(self._spread(self.num_generations).to(torch.int32), from_process=0).bool()
        self._log_zero_spread_share(spread)
        return spread

    def _log_zero_spread_share(self, spread: torch.Tensor) -> None:
        """Replaces the `frac_reward_zero_std` TRL just logged for the round by the share of its groups without spread
        (`groups_with_spread`): TRL's zero-std test misses groups of equal totals float32 cannot average exactly."""
        shares = self._metrics["train" if self.model.training else "eval"]["frac_reward_zero_std"]
        if shares and len(spread):
            shares[-1] = 1.0 - spread.float().mean().item()

    def _score_refill_round(self) -> ScoredRound:
        local = super()._generate_and_score_completions(self._next_refill_inputs())
        return ScoredRound(self._all_rows(local), self._agreed_spread())

    def _next_refill_inputs(self) -> list[dict]:
        """This process's share of the next generation batch of the refill sampler (a new pass when one ends)."""
        if self._refill_batches is not None:
            batch = next(self._refill_batches, None)
            if batch is not None:
                return batch
        self._refill_batches = iter(self._refill_dataloader())
        return next(self._refill_batches)

    def _refill_dataloader(self):
        # Seeded apart from the training sampler, and by the step, so a resumed run draws other refill prompts.
        seed = self.args.seed + 1 + self.state.global_step
        return self._get_dataloader(
            dataset=self.train_dataset,
            description="Dynamic sampling",
            batch_size=self._train_batch_size * self.args.steps_per_generation,
            sampler_fn=lambda dataset: RepeatSampler(
                data_source=dataset,
                mini_repeat_count=self.num_generations,
                batch_size=self.args.generation_batch_size // self.num_generations,
                shuffle=self.shuffle_dataset,
                seed=seed,
            ),
            is_training=True,
        )

    def _all_rows(self, local: dict) -> dict:
        """The rows of every process's scored batch, in rank order (the order of the gathered rewards)."""
        _check_fields(local)
        gathered = {}
        for key, value in local.items():
            if key == BATCH_TOKENS:
                continue
            side, pad_value = ROW_PADDING[key]
            if value.dim() > 1:
                pad_value = self._tokenizer.pad_token_id if pad_value is None else pad_value
                value = pad_across_processes(value, dim=1, pad_index=pad_value, pad_first=side == "left")
            gathered[key] = self.accelerator.gather(value)
        return gathered

    def _local_share(self, rows: dict) -> dict:
        """This process's equal share of the batch's rows, padding columns cut; `num_items_in_batch` stays global."""
        share = len(rows["advantages"]) // self.accelerator.num_processes
        start = self.accelerator.process_index * share
        local = take_rows({k: v for k, v in rows.items() if k != BATCH_TOKENS}, slice(start, start + share))
        return {**trim_padding(local, self.pad_to_multiple_of), BATCH_TOKENS: rows[BATCH_TOKENS]}

    def _log_refill(self, filled: FilledBatch, full_groups: int) -> None:
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/prompts_generated"].append(filled.prompts_generated)
        metrics["dynamic_sampling/groups_kept"].append(filled.groups_kept)
        metrics["dynamic_sampling/rounds"].append(filled.rounds)
        metrics["dynamic_sampling/paused"].append(float(self._refills_paused))
        if filled.groups_kept < full_groups and self.accelerator.is_main_process and not self._refills_paused:
            logger.warning(
                f"dynamic sampling: {filled.groups_kept} of {full_groups} groups have reward spread after "
                f"{filled.rounds} rounds (dynamic_sampling_max_rounds); training on them alone this step; "
                + self._what_more_rounds_would_do(filled, full_groups)
            )

    @staticmethod
    def _what_more_rounds_would_do(filled: FilledBatch, full_groups: int) -> str:
        """Whether raising dynamic_sampling_max_rounds could fill the batch, from the rate the rounds found groups
        (some: a step that found none pauses the refills instead, `_pause_refills`)."""
        needed = math.ceil(full_groups * filled.rounds / filled.groups_kept)
        return f"at this rate a full batch takes about {needed} rounds"
