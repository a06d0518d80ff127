"""Where each GRPO step's time goes, logged with the step: so that a slow run says what made it slow.

Every GRPO run of src/open_r1/grpo.py (`PromptTruncatingGRPOTrainer`) logs, for each optimizer step, beside TRL's
`step_time` and averaged over `logging_steps` as TRL's own figures are:

- `profile/decoding_seconds`: the model generating (TRL's `_generate_single_turn`: transformers' `generate`,
  continuous batching or vLLM, with vLLM's weight sync), every round of a tool rollout;
- `profile/tools_seconds`: the rest of making rollouts (TRL's `_generate`): tool calls, reading replies, tokenising;
- `profile/logprobs_seconds`: the no-grad forward passes for the old and reference policies' log-probabilities
  (`open_r1.utils.old_logprobs` leaves the old policy's to the micro-batches trained after an update);
- `profile/rewards_seconds`: the reward functions;
- `profile/scoring_seconds`: the rest of making the micro-batches (TRL's `_prepare_inputs`): advantages, gathering,
  dynamic sampling's refills, shuffling and splitting;
- `profile/training_seconds`: the rest of `step_time`: the micro-batches' forward and backward passes;
- `profile/decoding_rounds`: generation calls (one per batch, one more per round of tool calls and per refill of
  dynamic sampling);
- `profile/decode_steps`, `profile/slot_use`: the forward passes the calls made one after another and the share of
  their decoded slots that held a token, as `open_r1.utils.decoding_tally` counts them from what each call
  returned (its longest completion: TRL returns no padding); slot use only for steps that generated;
- `profile/context_tokens`: the tokens the calls read before decoding (rows x longest input, as transformers'
  generate pads them; each input's own length with vLLM or continuous batching, which may also cache shared
  prefixes); a tool rollout's later rounds read the rollout so far again.

The six seconds add up to `step_time` (runs logged before 2026-11-29 have no `logprobs`: it was scoring's). A step
that reuses an earlier step's rollouts (`steps_per_generation` above `gradient_accumulation_steps`, or
`num_iterations` > 1) logs 0 for what it did not do. `summarise` reduces a run's `log_history` to its mean step, which
the run logs when training ends (a resumed run: its launch's steps) and `make gsm8k`'s report prints for each arm's
GRPO (`describe`). The last step's rollout seconds (all but training) also go to a `max_run_minutes` limit among the
trainer's callbacks (`open_r1.utils.time_limit`), which estimates a step on an earlier generation by the rest of that
step.

Times are this process's wall clock (the logs show the main process's). On a GPU, decoding ends synchronised (TRL
reads the tokens back); a backward pass still running when `training_step` returns is waited for by the Trainer
after it (its check of the loss for NaN), so `training_seconds` leaves out part of it on a GPU.
Not covered: evaluation during training (`eval_strategy`), which is not a training step; decode steps under
DeepSpeed ZeRO-3 or FSDP on several processes (`open_r1.utils.decoding_tally`).
"""

import logging
from collections import Counter
from time import perf_counter
from typing import Optional

from open_r1.utils.decoding_tally import DecodingTally, padded_tokens

__all__ = ["PROFILE_SECONDS", "StepProfile", "describe", "summarise"]

logger = logging.getLogger(__name__)

# The parts of a step, in the order they happen; their seconds add up to TRL's step_time.
PROFILE_SECONDS = ("decoding", "tools", "logprobs", "rewards", "scoring", "training")
PROFILE_COUNTS = ("decoding_rounds", "decode_steps", "context_tokens")  # logged as floats, as TRL logs its counts


class StepProfile:
    """Mixin for TRL's `GRPOTrainer`, just above it in the bases (so that what the project's other mixins do around
    a generation call counts as tool time, not decoding): times the parts of each training step (module docstring)."""

    _step_profile: Optional["_StepSums"] = None  # the running optimizer step's sums, while a training step runs
    last_rollout_seconds: Optional[float] = None  # the last optimizer step's seconds making its micro-batches
    # Where this launch's log entries start in log_history: a resumed run's earlier ones are the checkpoint's.
    _first_log_entry: Optional[int] = None

    def training_step(self, model, inputs, num_items_in_batch):
        if self._first_log_entry is None:  # the first step of this train(): a checkpoint's state is loaded by now
            state = getattr(self, "state", None)
            self._first_log_entry = len(state.log_history) if state is not None else 0
        if self._step_profile is None:
            self._step_profile = _StepSums()
        try:
            output = super().training_step(model, inputs, num_items_in_batch)
        except BaseException:  # TRL timed none of it: a step that goes on after this (a retry) starts afresh
            self._step_profile = None
            raise
        # TRL has just appended step_time if this was the optimizer step's last micro-batch.
        if self._step % self.current_gradient_accumulation_steps == 0:
            self._log_step_profile(self._step_profile, self._metrics["train"]["step_time"][-1])
            self._step_profile = None
        return output

    def train(self, *args, **kwargs):
        self._step_profile = None  # what an earlier train() left, stopped between micro-batches, is not this run's
        self._first_log_entry = None
        from open_r1.utils.time_limit import RunTimeLimit  # here: the report's `describe` loads no training stack

        # A time limit estimates a step on an earlier generation by the last step less its rollouts.
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, RunTimeLimit):
                callback.last_rollout_seconds = lambda: self.last_rollout_seconds
        output = super().train(*args, **kwargs)
        summary = summarise(self.state.log_history[self._first_log_entry or 0 :])
        if summary is not None and self.accelerator.is_main_process:
            resumed = " of this launch" if self._first_log_entry else ""
            logger.info(
                "GRPO's mean step%s (%d log entries) took %s", resumed, summary["log_entries"], describe(summary)
            )
        return output

    def _log_step_profile(self, sums: "_StepSums", step_time: float) -> None:
        metrics, seconds, decoding = self._metrics["train"], sums.seconds, sums.decoding
        parts = {
            "decoding": decoding.seconds,
            "tools": seconds["generation"] - decoding.seconds,
            "logprobs": seconds["logprobs"],
            "rewards": seconds["rewards"],
            "scoring": seconds["inputs"] - seconds["generation"] - seconds["logprobs"] - seconds["rewards"],
            "training": step_time - seconds["inputs"],
        }
        for part in PROFILE_SECONDS:
            metrics[f"profile/{part}_seconds"].append(parts[part])
        self.last_rollout_seconds = seconds["inputs"]
        metrics["profile/decoding_rounds"].append(float(decoding.calls))
        metrics["profile/decode_steps"].append(float(decoding.decode_steps))
        metrics["profile/context_tokens"].append(float(decoding.context_tokens))
        if decoding.slot_use is not None:
            metrics["profile/slot_use"].append(decoding.slot_use)

    def _prepare_inputs(self, generation_batch):
        # Outermost of what makes a micro-batch: dynamic sampling's refills and gathers, TRL's shuffling, included.
        with self._timed("inputs"):
            return super()._prepare_inputs(generation_batch)

    def _generate(self, prompts):
        with self._timed("generation"):
            return super()._generate(prompts)

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        import torch  # here: the report's `describe` loads no training stack

        if torch.is_grad_enabled():  # the loss's own pass, part of training
            return super()._get_per_token_logps_and_entropies(model, *args, **kwargs)
        with self._timed("logprobs"):
            return super()._get_per_token_logps_and_entropies(model, *args, **kwargs)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        with self._timed("rewards"):
            return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        start = perf_counter()
        completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *args, **kwargs)
        if self._step_profile is not None:
            read = sum(map(len, prompt_ids)) if self._unpadded_generation() else padded_tokens(prompt_ids)
            self._step_profile.decoding.add(
                [len(ids) for ids in completion_ids], perf_counter() - start, context_tokens=read
            )
        return completion_ids, logprobs

    def _unpadded_generation(self) -> bool:
        """vLLM and continuous batching read each prompt as it is; transformers' generate pads to the longest."""
        args = getattr(self, "args", None)
        return bool(getattr(self, "use_vllm", False) or getattr(args, "use_transformers_continuous_batching", False))

    def _timed(self, part: str):
        return _Timer(None if self._step_profile is None else self._step_profile.seconds, part)


class _StepSums:
    """One optimizer step's sums: seconds of the nested parts it timed, and its decoding calls."""

    def __init__(self):
        self.seconds, self.decoding = Counter(), DecodingTally()


class _Timer:
    """Adds the seconds its block took to `sums[part]`; does nothing outside a training step (`sums` None)."""

    def __init__(self, sums: Optional[Counter], part: str):
        self.sums, self.part = sums, part

    def __enter__(self):
        self.start = perf_counter()

    def __exit__(self, *exc_info):
        if self.sums is not None:
            self.sums[self.part] += perf_counter() - self.start
        return False


def describe(summary: dict) -> str:
    """A mean step (`summarise`) in words: its seconds, then each part's, decoding with its rounds and steps."""

    def seconds(value: float) -> str:  # a GPU's steps in tenths, a tiny CPU model's in two figures
        return f"{value:.1f} s" if abs(value) >= 1 else f"{value:.2g} s"

    decoding = f"decoding {seconds(summary['decoding_seconds'])} ({summary['decoding_rounds']:.1f} rounds, "
    decoding += f"{summary['decode_steps']:,.0f} decode steps"
    if summary.get("context_tokens") is not None:  # runs before 2026-11-26 did not log it
        decoding += f", {summary['context_tokens']:,.0f} context tokens read"
    if summary["slot_use"] is not None:
        decoding += f", slot use {summary['slot_use']:.0%}"
    rest = ", ".join(
        f"{part} {seconds(summary[f'{part}_seconds'])}"
        for part in PROFILE_SECONDS[1:]
        if summary.get(f"{part}_seconds") is not None  # logprobs: not in runs logged before 2026-11-29
    )
    described = f"{seconds(summary['step_seconds'])}: {decoding}), {rest}"
    generating = summary.get("generating_entries")  # absent from summaries written before 2026-11-26
    if generating is not None and 0 < generating < summary["log_entries"]:
        described += (
            f"; the {generating} of {summary['log_entries']} logged steps that generated took "
            f"{seconds(summary['generating_step_seconds'])}, the others trained on their generations"
        )
    return described


def summarise(log_history: list[dict]) -> Optional[dict]:
    """A run's mean training step from its `log_history` (trainer_state.json), each log entry (a `logging_steps`
    window's mean) counted alike: `log_entries` (how many), `step_seconds`, each part's seconds
    (`PROFILE_SECONDS`), `decoding_rounds`, `decode_steps`, `context_tokens` and `slot_use` (None where no step
    generated, or the run did not log it), and the entries that generated, `generating_entries`, with their mean
    `generating_step_seconds`. None for a run that logged no profile."""
    entries = [entry for entry in log_history if "profile/training_seconds" in entry and "step_time" in entry]
    if not entries:
        return None

    def mean(key: str) -> Optional[float]:
        values = [entry[key] for entry in entries if entry.get(key) is not None]
        return sum(values) / len(values) if values else None

    summary = {"log_entries": len(entries), "step_seconds": mean("step_time")}
    summary.update({f"{part}_seconds": mean(f"profile/{part}_seconds") for part in PROFILE_SECONDS})
    if summary["logprobs_seconds"] is not None:  # a run resumed across 2026-11-29: scoring held the pass before
        logprobs = [entry.get("profile/logprobs_seconds") or 0.0 for entry in entries]
        summary["logprobs_seconds"] = sum(logprobs) / len(logprobs)
    summary.update({count: mean(f"profile/{count}") for count in PROFILE_COUNTS})
    summary["slot_use"] = mean("profile/slot_use")
    # Where some logged steps trained on an earlier step's generation, the mean step is no step's time: the steps
    # that generated are given apart (each entry one step where logging_steps is 1, as the recipes log).
    generating = [entry["step_time"] for entry in entries if entry.get("profile/decoding_rounds")]
    summary["generating_entries"] = len(generating)
    summary["generating_step_seconds"] = sum(generating) / len(generating) if generating else None
    return summary
