"""The GRPO doctor while training: `TrainingDoctor`, a TrainerCallback that reads the metrics GRPOTrainer logs and
warns, with likely causes and one completion of the last batch, about symptoms that last (`open_r1.doctor` lists
them); `attach_doctor` adds one configured from the recipe.

    doctor = attach_doctor(trainer, script_args, training_args, train_dataset)   # None with doctor: false

Not covered: the start-up checks (`open_r1.doctor.startup`).
"""

import logging
import math
import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from transformers import TrainerCallback

from open_r1.doctor.checks import (
    DEFAULT_CLIPPED_SHARE,
    DEFAULT_PATIENCE,
    DEFAULT_TOOL_ERROR_SHARE,
    DEFAULT_ZERO_STD_SHARE,
    EXAMPLE_HEAD_CHARS,
    Finding,
    excerpt,
    gold_column,
    reward_func_names,
    short_repr,
    stop_checks,
)
from open_r1.rewards import ACCURACY_REWARD_NAMES, THINK_PREFILL_REWARDS
from open_r1.rewards._completions import completion_text
from open_r1.rewards.accuracy import extract_answer, prepare_gold, with_prefilled_opening
from open_r1.rewards.format import R1_TAGS
from open_r1.rewards.repetition import repeats_a_line

logger = logging.getLogger("open_r1.doctor")  # one name for the doctor's warnings, wherever they come from

# The GRPOConfig fields the training warnings name with their values.
DOCTOR_SETTINGS = (
    "num_generations",
    "temperature",
    "top_p",
    "top_k",
    "dynamic_sampling",
    "mask_truncated_completions",
    "beta",
)
# Rewards whose 0 means "nothing to punish": constant at 0 is a healthy run.
PENALTIES = ("soft_overlong_punishment", "repetition_penalty")
# `entropy_collapse`: the policy's mean token entropy below this share of the highest of its last ENTROPY_WINDOW
# logged values. Healthy runs move little over that many logs (make gsm8k's GRPO on an H100: 0.47 -> 0.42 over 10
# steps); a learning rate of 1.0 took the tiny model from 6.1 to 0.3 in two steps, writing one character over and over.
ENTROPY_COLLAPSE_SHARE = 0.25
ENTROPY_WINDOW = 10
# `kl_blowup`: the policy's mean KL from the reference above this many nats per token: its tokens are then, on
# average, e times less likely under the reference than under the policy, far past a fine-tune's drift.
KL_BLOWUP_NATS = 1.0
# `constant_reward` calls a reward that paid at least this mean in one log, then nothing, a regression (a lucky
# completion of a weak model is not one).
REGRESSION_MIN_MEAN = 0.1
# `zero_spread` names the problems too easy or too hard when the accuracy reward's mean is this near 1 or 0.
NEAR_END_OF_ACCURACY = 0.1
# `empty_completions`: completions this many tokens long or shorter on average end where they begin.
EMPTY_COMPLETION_TOKENS = 2.0
# What a smoke test's few steps of an untrained model show, named in one line at its end: anything else is said whole.
SMOKE_TEST_SYMPTOMS = {"constant_reward", "zero_spread", "clipped"}
# `dead_gradient`: a logged grad_norm at or below this is none (a saturated model's gradients underflow to 0). A log's
# grad_norm is its last step's alone, which may have trained flat rows only (a gradient of exactly 0): the symptom asks
# for at least half the groups with spread, in `doctor_patience` logs in a row, whatever their logging_steps.
DEAD_GRADIENT_NORM = 1e-10
DEAD_GRADIENT_MAX_ZERO_SPREAD = 0.5
# Shares judged on their mean over the last `doctor_patience` logging steps (a strict streak broke on one batch
# below the share), and the symptoms they make.
WINDOWED_METRICS = ("frac_reward_zero_std", "completions/clipped_ratio")
WINDOWED_SYMPTOMS = ("zero_spread", "clipped")
# A logged standard deviation below this is no spread (TRL logs float32 statistics).
_NO_SPREAD = 1e-6
# How many of a tool rollout's tool results an example shows.
_TOOL_RESULTS_SHOWN = 3


def reward_reading(reward: str, text: str, gold: Any = None, think_prefilled: bool = False) -> str:
    """What the reward registered as `reward` reads in a completion's `text`; '' for the rewards not described."""
    if reward in ACCURACY_REWARD_NAMES:
        answer = extract_answer(with_prefilled_opening(text) if think_prefilled else text)  # as the rewards read it
        read = (
            "no final answer (no \\boxed{} after </think>, no <answer> block)"
            if answer is None
            else (f"parsed answer {short_repr(answer)}")
        )
        return read if gold is None else f"{read}; gold {short_repr(str(prepare_gold(gold)))}"
    if reward in THINK_PREFILL_REWARDS:
        counts = ", ".join(f"{tag} x{text.count(tag)}" for tag in R1_TAGS)
        return f"tags {counts}" + ("; the prompt pre-fills <think>" if think_prefilled else "")
    return ""


def _causes_of_constant(
    reward: str, value: float | None, paid_before: tuple[int, float] | None = None, beta: Any = None
) -> str:
    if paid_before is not None and value is not None and paid_before[1] >= REGRESSION_MIN_MEAN:
        step, mean = paid_before
        drift = "a learning rate too high" + (" or a beta too small" if beta else "")
        return (
            f"it paid {mean:g} on average at step {step}, so the policy lost what it had learnt: {drift} let it "
            "drift (see kl and entropy; resume from a checkpoint before the fall)"
        )
    if value is None:
        return (
            "it could judge no completion: the gold answers do not parse (start-up check unscorable_gold), the "
            "rows lack the column it reads, or a reward of your own returns None (or NaN) for every completion"
        )
    if reward in ACCURACY_REWARD_NAMES:
        return (
            "no completion states an answer it extracts (a final \\boxed{} after </think>, or an <answer> block: see "
            "the example's parsed answer), the completions are cut before their answer (completions/clipped_ratio), "
            "the gold answers do not parse (start-up check unscorable_gold), or the model cannot solve these "
            "problems yet (a random or base model: start from a cold-start SFT, or easier problems)"
        )
    if reward in THINK_PREFILL_REWARDS:
        return (
            "the completions do not follow `<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>` exactly (see the "
            "example's tags): the system prompt does not ask for that layout, the chat template opens <think> in "
            "the prompt (think_prefilled), or the completions are cut before </answer>"
        )
    return "it pays no completion anything: compare what it expects with the example"


class TrainingDoctor(TrainerCallback):
    """Watches the metrics GRPOTrainer logs for flat rewards, groups without spread, clipped completions, and with
    tools, a policy that never calls them or whose calls mostly fail.

    `last_batch()` returns TRL's `_logs` (prompt, completion and rewards by function name, of the last generation
    batch); `reward_names` maps TRL's reward function names to the registry's; `find_gold(prompt)` returns that
    prompt's gold, or None.
    """

    def __init__(
        self,
        *,
        patience: int = DEFAULT_PATIENCE,
        zero_std_share: float = DEFAULT_ZERO_STD_SHARE,
        clipped_share: float = DEFAULT_CLIPPED_SHARE,
        tool_error_share: float = DEFAULT_TOOL_ERROR_SHARE,
        stop_on: Sequence[str] = (),
        last_batch: Callable[[], dict] = dict,
        reward_names: dict[str, str] | None = None,
        find_gold: Callable[[Any], Any] | None = None,
        think_prefilled: bool = False,
        pad_is_eos: bool = False,
        settings: Mapping[str, Any] | None = None,
        record_metric: Callable[[str, float], None] | None = None,
    ):
        self.patience = patience  # in optimizer steps; `logs_needed` turns it into logs at the run's logging_steps
        self.logs_needed = patience
        self.logging_steps = 1  # the run's, at train begin
        # Puts a metric into the trainer's next log (wandb's too): `doctor/<check>` 1 at the log after its warning.
        self.record_metric = record_metric
        self._unrecorded: set[str] = set()
        # The run's DOCTOR_SETTINGS, which the warnings name (absent ones are not named).
        self.settings = dict(settings or {})
        self.zero_std_share = zero_std_share
        self.clipped_share = clipped_share
        self.tool_error_share = tool_error_share
        self.stop_on = stop_checks(stop_on)
        self.last_batch = last_batch
        self.reward_names = reward_names or {}
        self.find_gold = find_gold
        self.think_prefilled = think_prefilled
        self.pad_is_eos = pad_is_eos
        self._streaks: dict[str, int] = {}
        self._reported: set[str] = set()
        self._absences: dict[str, int] = {}  # per reported symptom, the logs in a row without it since
        self._windows: dict[str, deque] = {metric: deque(maxlen=patience) for metric in WINDOWED_METRICS}
        self._entropies: deque = deque(maxlen=ENTROPY_WINDOW)  # (step, value) of the last logged entropies
        self._zero_spread_shares: list[float] = []  # every training log's, for the end-of-training summary
        self._accuracy_means: list[float] = []  # likewise, the accuracy reward's means: which way flat groups miss
        self._skipped_shares: list[float] = []  # likewise, `flat_rows/skipped`: whether flat rows still trained
        self._best_paid: dict[str, tuple[int, float]] = {}  # per reward, (step, mean) of its best paying log so far
        self._logs_seen = 0  # training logs so far
        self._last_logs: dict = {}  # the last training log, for the end-of-training summary of a short run

    def symptoms(
        self,
        logs: dict,
        max_completion_length: int | None = None,
        tool_rounds: int | None = None,
        learning_rate: float = float("nan"),
        own_zero_spread: float | None = None,
    ) -> dict[str, Finding] | None:
        """The symptoms one training log shows, by key (a reward's flatness is keyed by its name); None for a log
        without GRPO's reward metrics (evaluation, the end-of-training summary). `tool_rounds` is the run's
        `max_tool_calling_iterations`: 0 runs no call, so no tool check applies; `learning_rate`, named in
        `entropy_collapse`'s warning; `own_zero_spread`, the log's own `frac_reward_zero_std` where `logs` holds its
        windowed mean (`dead_gradient` reads each log's). The entropies of earlier logs are the ones recorded so far."""
        if not _is_training_log(logs):
            return None
        found = {}
        spreads = {
            key[len("rewards/") : -len("/std")]: _number(value)
            for key, value in logs.items()
            if key.startswith("rewards/") and key.endswith("/std")
        }
        # Per reward with no spread in this log, its mean (None: it scored nothing).
        constants = {
            name: _number(logs.get(f"rewards/{name}/mean"))
            for name, spread in spreads.items()
            if spread is None or spread <= _NO_SPREAD
        }
        # A reward at full marks for every completion is a learnt format, unless no reward varies: then it is why no
        # group has spread (too easy, or a reward that tells no completion apart).
        paying = {
            name: value is not None and (value > 0 or (value == 0 and self.reward_names.get(name, name) in PENALTIES))
            for name, value in constants.items()
        }
        # Full marks are named only where every reward is constant and none pays nothing (that one is the finding).
        name_full_marks = len(constants) == len(spreads) and all(paying.values())
        for name, value in constants.items():
            reward = self.reward_names.get(name, name)
            if paying[name] and not (name_full_marks and value > 0):
                continue
            shown = "None (cannot judge it)" if value is None else f"{value:g}"
            unscored = self._unscored_in_last_batch(name) if value is not None else ""
            if unscored:
                shown = f"it scored {shown} {unscored}"
            if paying[name]:
                causes = (
                    "Every reward is constant too, so no group has reward spread. Likely causes: the problems are too "
                    "easy for the model (every completion earns full marks), or this reward does not tell completions "
                    "apart (compare what it checks with the example)"
                )
            else:
                causes = "Likely causes: " + _causes_of_constant(
                    reward, value, self._best_paid.get(name), self.settings.get("beta")
                )
            found[f"constant_reward:{name}"] = Finding(
                "constant_reward",
                f"{name} gave every completion {shown}. {causes}.",
                f"{name} {'None' if value is None else format(value, 'g')}",
            )
        zero_spread = _number(logs.get("frac_reward_zero_std"))
        if zero_spread is not None and zero_spread > self.zero_std_share:
            found["zero_spread"] = Finding(
                "zero_spread",
                f"{zero_spread:.0%} of the groups had no reward spread (frac_reward_zero_std, on average, above "
                f"doctor_zero_std_share {self.zero_std_share:g}): every completion of a group earned the same, so it "
                f"has no advantage and gives no gradient. {self._causes_of_no_spread(self._accuracy_mean(logs))}",
                f"{zero_spread:.0%} of the groups without spread",
            )
        clipped = _number(logs.get("completions/clipped_ratio"))
        if clipped is not None and clipped > self.clipped_share:
            pad_note = (
                " pad == eos: if the policy's SFT masked labels equal to pad_token_id, it never learnt to emit eos."
                if self.pad_is_eos
                else ""
            )
            found["clipped"] = Finding(
                "clipped",
                f"{clipped:.0%} of the completions were cut at max_completion_length ({max_completion_length}; "
                f"completions/clipped_ratio, on average, above doctor_clipped_share {self.clipped_share:g}). Likely "
                "causes: the model does not emit a token generation stops at (start-up check no_stop_token), "
                "max_completion_length is too short for the reasoning it writes (start-up check long_solutions), or it "
                "repeats itself (see the example's end and the repeated lines counted below). "
                + (
                    "mask_truncated_completions: true keeps the cut completions out of the loss, so only the rest "
                    f"({1 - clipped:.0%}) trains: raise max_completion_length."
                    if self.settings.get("mask_truncated_completions")
                    else "Until then mask_truncated_completions: true keeps cut completions out of the loss, as DAPO "
                    "does."
                )
                + pad_note,
                f"{clipped:.0%} of the completions cut",
            )
        entropy = _number(logs.get("entropy"))
        reference = max(self._entropies, key=lambda logged: logged[1], default=None)
        if reference is not None and entropy is not None:
            first_step, first = reference
            if entropy < ENTROPY_COLLAPSE_SHARE * first:
                grad_norm = _number(logs.get("grad_norm"))
                found["entropy_collapse"] = Finding(
                    "entropy_collapse",
                    f"the policy's entropy fell from {first:.3g} (step {first_step}) to {entropy:.3g}, below "
                    f"{ENTROPY_COLLAPSE_SHARE:.0%} of where it stood"
                    + (f" (grad_norm {grad_norm:.3g})" if grad_norm is not None else "")
                    + ": it now puts nearly all its probability on a few tokens, and its groups lose their spread. "
                    f"Likely causes: a learning rate too high for the model (learning_rate {learning_rate:g}), "
                    "or a reward the policy games with one repeated output (see the example). Resume from a "
                    "checkpoint before the fall with a lower learning_rate.",
                    f"entropy {first:.3g} -> {entropy:.3g}",
                )
        kl = _number(logs.get("kl"))
        if kl is not None and kl > KL_BLOWUP_NATS:
            beta = self.settings.get("beta")
            found["kl_blowup"] = Finding(
                "kl_blowup",
                f"the policy's KL from the reference model is {kl:.3g} nats per token (kl, above {KL_BLOWUP_NATS:g}): "
                "it now writes what the reference would not, and rewards it earned before tend to fall with it. "
                f"Likely causes: a learning rate too high (learning_rate {learning_rate:g})"
                + (f" or a beta too small to hold the policy (beta {beta:g})" if beta else "")
                + ". Resume from a checkpoint before the rise with a lower learning_rate or a higher beta.",
                f"kl {kl:.3g}",
            )
        length = _number(logs.get("completions/mean_length"))
        if length is not None and length <= EMPTY_COMPLETION_TOKENS:
            found["empty_completions"] = Finding(
                "empty_completions",
                f"the completions are {length:.3g} tokens long on average (completions/mean_length): generation stops "
                "at once. Likely causes: the chat template's generation prompt is missing, so the model's first token "
                "closes the prompt's turn; the cold-start SFT taught it to end at once (empty or cut assistant turns "
                "in its data); or the generation config stops at a token the model writes first (its eos_token_id).",
                f"{length:.3g} tokens a completion",
            )
        grad_norm = _number(logs.get("grad_norm"))
        zero_spread_now = own_zero_spread if own_zero_spread is not None else _number(logs.get("frac_reward_zero_std"))
        if grad_norm is not None and grad_norm <= DEAD_GRADIENT_NORM and zero_spread_now is not None:
            if zero_spread_now <= DEAD_GRADIENT_MAX_ZERO_SPREAD:
                found["dead_gradient"] = Finding(
                    "dead_gradient",
                    f"grad_norm is {grad_norm:g} at the last step of each of the last {self.patience} logs although "
                    f"{1 - zero_spread_now:.0%} of the groups had reward spread (1 - frac_reward_zero_std): the "
                    "completions that should learn give no gradient. Likely causes: "
                    f"the weights saturated under a learning rate too high (learning_rate {learning_rate:g}; see "
                    "entropy and the example), or every row with an advantage is out of the loss "
                    "(mask_truncated_completions with every such completion cut: completions/clipped_ratio). Resume "
                    "from a checkpoint before it with a lower learning_rate.",
                    f"grad_norm {grad_norm:g}",
                )
        if tool_rounds != 0:
            found.update(self.tool_symptoms(logs))
        return found

    def _unscored_in_last_batch(self, name: str) -> str:
        """'(N of the last batch's M unscored: None ...)' where the reward left some of the last batch unscored
        (TRL's mean and std skip them), else ''."""
        values = ((self.last_batch() or {}).get("rewards") or {}).get(name) or ()
        unscored = sum(_number(value) is None for value in values)
        if not unscored:
            return ""
        return (
            f"({unscored} of the last batch's {len(values)} unscored: None, which adds 0 to a completion's total "
            "beside the other rewards)"
        )

    def remember_paying_rewards(self, logs: dict, step: int) -> None:
        """Keeps each reward's best paying mean so far: a reward that paid and then stopped is a regression."""
        for key, value in logs.items():
            if key.startswith("rewards/") and key.endswith("/mean"):
                name, mean = key[len("rewards/") : -len("/mean")], _number(value)
                if mean is not None and mean > self._best_paid.get(name, (0, 0.0))[1]:
                    self._best_paid[name] = (step, mean)

    def repeated_lines(self) -> str:
        """How many completions of the last batch go round a step (`repeats_a_line`), as most cut at their budget
        do (docs/gsm8k.md, "Out of tokens"); "" without a batch, or with a completion of a shape not read (a
        diagnostic never stops training)."""
        completions = (self.last_batch() or {}).get("completion") or ()
        if not completions:
            return ""
        try:
            repeating = sum(repeats_a_line(completion) for completion in completions)
        except ValueError:
            return ""
        return (
            f"Repeated lines: {repeating} of the last batch's {len(completions)} completions write one line three "
            "times or more, its numbers aside (open_r1.rewards.repetition.repeats_a_line)."
        )

    def tool_symptoms(self, logs: dict) -> dict[str, Finding]:
        """A policy given tools that never calls them, or whose python calls mostly fail (TRL logs
        `tools/call_frequency` only when the trainer has tools; `open_r1.tools.training` the python tool's metrics)."""
        found = {}
        calls = _number(logs.get("tools/call_frequency"))
        if calls == 0:
            found["no_tool_calls"] = Finding(
                "no_tool_calls",
                "no completion called a tool (tools/call_frequency 0) although the recipe gives the policy `tools`. "
                "Likely causes: the model was never taught to call them (SFT on tool-calling traces first, as make "
                "gsm8k's tool arm does), the system prompt does not ask for calls, or the model writes calls in a "
                "format its tokenizer's response parser does not read (see the example: a call in its text that "
                "was not run).",
                "no tool call",
            )
        # TRL's failures are calls it could not make (an unknown tool, arguments the tool does not take); the
        # python tool's errors are calls it made that failed. Together: the share of calls that gave no value.
        not_made = _number(logs.get("tools/failure_frequency")) or 0.0
        failed = _number(logs.get("tools/python_error_rate")) or 0.0
        share = not_made + (1 - not_made) * failed
        if calls and share > self.tool_error_share:
            found["tool_errors"] = Finding(
                "tool_errors",
                f"{share:.0%} of the tool calls gave no value (above doctor_tool_error_share "
                f"{self.tool_error_share:g}): {not_made:.0%} could not be made (tools/failure_frequency: an unknown "
                f"tool or arguments it does not take) and {failed:.0%} of the python calls failed "
                "(tools/python_error_rate: an error, a timeout, a sandbox failure or a call refused for the rollout's "
                "time budget), so the model reads an error where it expected a value. Likely causes: the calls or "
                "the code the model writes are malformed (see the example's tool results), or "
                "python_tool_wall_seconds, python_tool_memory_mb or python_tool_rollout_seconds are too tight for it.",
                f"{share:.0%} of the tool calls without a value",
            )
        return found

    def example(self) -> str:
        """One completion of the last batch, its prompt's end, its rewards and what each reward read in it."""
        batch = self.last_batch() or {}
        completions = batch.get("completion") or ()
        if not completions:
            return "No completion of the last batch to show."
        prompt, text = batch["prompt"][0], completion_text(completions[0])
        gold = self.find_gold(prompt) if self.find_gold is not None else None
        prompt_text = prompt[-1].get("content", "") if isinstance(prompt, list) and prompt else str(prompt)
        lines = [
            f"Example from the last batch: prompt ending {short_repr(str(prompt_text)[-EXAMPLE_HEAD_CHARS:])}",
            f"completion ({len(text)} characters): {excerpt(text)}",
        ]
        # The first completion of the batch that called a tool: what its calls gave back.
        for number, completion in enumerate(completions):
            tool_results = [
                message.get("content")
                for message in (completion if isinstance(completion, list) else ())
                if isinstance(message, dict) and message.get("role") == "tool"
            ]
            if tool_results:
                shown = ", ".join(short_repr(str(result)) for result in tool_results[:_TOOL_RESULTS_SHOWN])
                lines.append(f"tool results of completion {number + 1} ({len(tool_results)}): {shown}")
                break
        for name, values in (batch.get("rewards") or {}).items():
            value = _number(values[0]) if len(values) else None
            reading = reward_reading(self.reward_names.get(name, name), text, gold, self.think_prefilled)
            lines.append(
                f"  {name} = {'None' if value is None else f'{value:g}'}" + (f": {reading}" if reading else "")
            )
        return "\n".join(lines)

    def windowed(self, logs: dict) -> dict:
        """`logs` with each of WINDOWED_METRICS it has replaced by its mean over the last `logs_needed` logs that had
        it, or None until there are that many: one batch below the share among many above breaks no streak."""
        logs = dict(logs)
        for metric, window in self._windows.items():
            if metric not in logs:
                continue
            value = _number(logs[metric])
            if value is not None:
                window.append(value)
            logs[metric] = sum(window) / len(window) if len(window) == self.logs_needed else None
        return logs

    def on_train_begin(self, args, state, control, **kwargs):
        """`doctor_patience` counts optimizer steps: at `logging_steps` 10 a log already averages ten of them, so one
        log is enough where five were asked for (five logs would have been fifty steps)."""
        self.logging_steps = getattr(state, "logging_steps", None) or 1
        self.logs_needed = max(1, math.ceil(self.patience / self.logging_steps))
        self._windows = {metric: deque(maxlen=self.logs_needed) for metric in WINDOWED_METRICS}

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if not _is_training_log(logs):
            return  # evaluation and the end-of-training summary neither count nor interrupt
        self._logs_seen += 1
        self._last_logs = logs
        for values, value in (
            (self._zero_spread_shares, _number(logs.get("frac_reward_zero_std"))),
            (self._accuracy_means, self._accuracy_mean(logs)),
            (self._skipped_shares, _number(logs.get("flat_rows/skipped"))),
        ):
            if value is not None:
                values.append(value)
        symptoms = self.symptoms(
            self.windowed(logs),
            getattr(args, "max_completion_length", None),
            getattr(args, "max_tool_calling_iterations", None),
            getattr(args, "learning_rate", float("nan")),
            own_zero_spread=_number(logs.get("frac_reward_zero_std")),
        )
        entropy = _number(logs.get("entropy"))
        if entropy is not None:  # after the symptoms: a log's entropy is compared with those before it
            self._entropies.append((state.global_step, entropy))
        self.remember_paying_rewards(logs, state.global_step)  # likewise
        # A windowed symptom is due as soon as its window is: it already spans `logs_needed` logs.
        self._streaks = {
            key: self.logs_needed if key in WINDOWED_SYMPTOMS else self._streaks.get(key, 0) + 1 for key in symptoms
        }
        # A symptom gone for `patience` logs in a row may be warned of again when it is due again: a run that recovers
        # and relapses at step 2000 is told so, and one hovering at a threshold is not told every few logs.
        for key in list(self._reported):
            self._absences[key] = 0 if key in symptoms else self._absences.get(key, 0) + 1
            if self._absences[key] >= self.patience:
                self._reported.discard(key)
                del self._absences[key]
        due = {key: finding for key, finding in symptoms.items() if self._streaks[key] >= self._logs_to_warn(key)}
        due = {key: finding for key, finding in due.items() if key not in self._reported}
        if not due:
            return
        self._reported.update(due)
        self._unrecorded |= {finding.check for finding in due.values()}
        fatal = sorted({finding.check for finding in due.values()} & self.stop_on)
        if state.is_world_process_zero:
            findings = "\n".join(f"- [{finding.check}] {finding.message}" for finding in due.values())
            # Counted only once the warning is due, on the main process: it reads every completion of the batch.
            repeated = self.repeated_lines() if "clipped" in due else ""
            logger.warning(
                "GRPO doctor, step %d: for the last %s:\n%s\n%s\n%s",
                state.global_step,
                self._span(state),
                findings,
                self.example() + (f"\n{repeated}" if repeated else ""),
                f"Training stops here (doctor_stop_on: {', '.join(fatal)})."
                if fatal
                else "Training goes on; doctor_stop_on would stop it, `doctor: false` silences the doctor.",
            )
        if fatal:
            control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        # After the log that warned: TRL clears its metrics once a log is written, so what on_log added would be lost.
        if self.record_metric is not None:
            for check in sorted(self._unrecorded):
                self.record_metric(f"doctor/{check}", 1.0)
        self._unrecorded.clear()

    def on_epoch_end(self, args, state, control, **kwargs):
        # A run the doctor stopped ends its epoch before the end-of-training log: the warning goes there.
        self.on_step_end(args, state, control, **kwargs)

    def _accuracy_mean(self, logs: dict) -> float | None:
        """The mean of the run's accuracy reward in `logs`, None without one."""
        for name, reward in self.reward_names.items():
            if reward == "accuracy":  # not cosine or length, whose scales are others
                return _number(logs.get(f"rewards/{name}/mean"))
        return None

    def _causes_of_no_spread(self, accuracy: float | None = None) -> str:
        """The likely causes of groups without spread, with the run's own sampling settings; `accuracy`, the accuracy
        reward's mean, says which way the problems miss when it is near either end."""
        shown = ", ".join(
            f"{name} {self.settings[name]:g}"
            for name in ("num_generations", "temperature", "top_p", "top_k")
            if isinstance(self.settings.get(name), (int, float)) and not isinstance(self.settings.get(name), bool)
        )
        remedy = (
            "dynamic_sampling is on, and its rounds found too few groups with spread (see its warnings)"
            if self.settings.get("dynamic_sampling")
            else "dynamic_sampling: true (DAPO's) drops such groups and generates others"
        )
        difficulty = "all too easy or all too hard for the model"
        if accuracy is not None and accuracy >= 1 - NEAR_END_OF_ACCURACY:
            difficulty = f"too easy for the model (accuracy {accuracy:.2g}: most groups answer right throughout)"
        elif accuracy is not None and accuracy <= NEAR_END_OF_ACCURACY:
            difficulty = f"too hard for the model (accuracy {accuracy:.2g}: most groups answer wrong throughout)"
        return (
            f"Likely causes: the problems are {difficulty}, too few num_generations, or sampling too narrow to vary "
            "the completions" + (f" ({shown})" if shown else "") + f"; {remedy}."
        )

    def _logs_to_warn(self, key: str) -> int:
        """The logs in a row a symptom must last: `logs_needed`; `dead_gradient`, `patience` (its grad_norm is one
        step's)."""
        return self.patience if key == "dead_gradient" else self.logs_needed

    def _span(self, state) -> str:
        """The steps a due symptom lasted: "5 steps", or "10 steps (1 log)" at logging_steps 10; no more than the
        run's steps (`logging_first_step` logs step 1 alone)."""
        steps = min(self.logs_needed * self.logging_steps, max(state.global_step, 1))
        logs = f" ({self.logs_needed} log{'s' * (self.logs_needed > 1)})" if self.logging_steps > 1 else ""
        return f"{steps} step{'s' * (steps > 1)}{logs}"

    def short_run_findings(self, args) -> dict[str, Finding]:
        """The symptoms that lasted the whole of a run too short to warn while training (fewer logs than
        `logs_needed`): those of its last log, the windowed ones over every log it had, and the others only where
        every log showed them."""
        logs = dict(self._last_logs)
        for metric, window in self._windows.items():
            if window:
                logs[metric] = statistics.fmean(window)
        for name, reward in self.reward_names.items():
            if reward == "accuracy" and self._accuracy_means:  # which way the flat groups miss, over the whole run
                logs[f"rewards/{name}/mean"] = statistics.fmean(self._accuracy_means)
        symptoms = (
            self.symptoms(
                logs,
                getattr(args, "max_completion_length", None),
                getattr(args, "max_tool_calling_iterations", None),
                getattr(args, "learning_rate", float("nan")),
            )
            or {}
        )
        return {
            key: finding
            for key, finding in symptoms.items()
            if key in WINDOWED_SYMPTOMS or self._streaks.get(key, 0) >= self._logs_seen
        }

    def on_train_end(self, args, state, control, **kwargs):
        """One line on what the run spent for nothing: the groups without reward spread, generated and trained on
        for no gradient (a warning only once that share stays above doctor_zero_std_share, `zero_spread`). A run too
        short to warn while training gets the symptoms that lasted all of it named, at INFO."""
        if not self._zero_spread_shares or not state.is_world_process_zero:
            return
        share = statistics.fmean(self._zero_spread_shares)
        if self._logs_seen < self.logs_needed and state.global_step < self.logs_needed * self.logging_steps:
            # Named, not warned, in one line: a smoke test (the README's 2 GRPO steps) is flat by design, and our own
            # commands print no warnings; but it is when a user looks.
            findings = self.short_run_findings(args)
            if findings and {finding.check for finding in findings.values()} <= SMOKE_TEST_SYMPTOMS:
                logger.info(
                    "GRPO doctor, over the run's %d logging steps (too few to judge: doctor_patience %d steps), "
                    "throughout: %s. Usual for a smoke test; a longer run is warned of with the likely causes and an "
                    'example (docs/guide.md, "The GRPO doctor").',
                    self._logs_seen,
                    self.patience,
                    "; ".join(
                        f"{check} ({', '.join(briefs)})" for check, briefs in _briefs_by_check(findings).items()
                    ),
                )
                return
            if findings:  # something no smoke test shows: the whole findings, as INFO still (the run is over)
                logger.info(
                    "GRPO doctor, over the run's %d logging steps (too few to warn while training: doctor_patience "
                    "%d steps), what lasted all of it:\n%s",
                    self._logs_seen,
                    self.patience,
                    "\n".join(f"- [{finding.check}] {finding.message}" for finding in findings.values()),
                )
                return
        # Under skip_flat_rows their rows left the backward pass: only their generation was spent.
        skipped = bool(self._skipped_shares) and statistics.fmean(self._skipped_shares) > 0
        spent = "(not their backward pass: skip_flat_rows left their rows out)" if skipped else "and backward pass"
        kl = " reward gradient (beta's KL term still gives one)" if self.settings.get("beta") else " gradient"
        logger.info(
            "Reward spread over the run: %.0f%% of the groups over %d logging steps had none, so their generation "
            "%s gave no%s%s",
            100 * share,
            len(self._zero_spread_shares),
            spent,
            kl,
            "; dynamic_sampling: true replaces such groups with others"
            if share and not getattr(args, "dynamic_sampling", False)
            else "",
        )


def _briefs_by_check(findings: dict[str, Finding]) -> dict[str, list[str]]:
    """Each check of `findings`, in order, with the briefs of its findings (constant_reward has one per reward)."""
    briefs: dict[str, list[str]] = {}
    for finding in findings.values():
        briefs.setdefault(finding.check, []).append(finding.brief or finding.check)
    return briefs


def _is_training_log(logs: dict) -> bool:
    """Whether a log is a GRPO training step's (its reward metrics), not evaluation's or the end-of-run summary's."""
    return "frac_reward_zero_std" in logs or any(key.startswith("rewards/") for key in logs)


def _number(value) -> float | None:
    """A logged metric as a float; None for a missing one or NaN (TRL logs None for an all-None reward)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def gold_finder(dataset, column: str) -> Callable[[Any], Any]:
    """`find(prompt)`: the gold of the first row of `dataset` with that prompt, or None; a scan, run once a warning."""

    def find(prompt):
        for batch in dataset.select_columns(["prompt", column]).iter(batch_size=1024):
            for candidate, gold in zip(batch["prompt"], batch[column]):
                if candidate == prompt:
                    return gold
        return None

    return find


def attach_doctor(trainer, script_args, training_args, train_dataset) -> TrainingDoctor | None:
    """Adds a `TrainingDoctor` configured from the recipe to `trainer` (a GRPOTrainer); None with `doctor: false`."""
    if not training_args.doctor:
        return None
    column = gold_column(train_dataset.column_names)
    tokenizer = trainer.processing_class
    doctor = TrainingDoctor(
        patience=training_args.doctor_patience,
        zero_std_share=training_args.doctor_zero_std_share,
        clipped_share=training_args.doctor_clipped_share,
        tool_error_share=training_args.doctor_tool_error_share,
        stop_on=training_args.doctor_stop_on,
        # TRL 1.16 keeps the last generation batch here for `log_completions`, on every process, filled either way.
        last_batch=lambda: trainer._logs,
        reward_names=dict(zip(trainer.reward_func_names, reward_func_names(script_args.reward_funcs))),
        find_gold=gold_finder(train_dataset, column) if column and "prompt" in train_dataset.column_names else None,
        think_prefilled=script_args.think_prefilled,
        pad_is_eos=getattr(tokenizer, "pad_token_id", None) == getattr(tokenizer, "eos_token_id", None),
        settings={name: getattr(training_args, name, None) for name in DOCTOR_SETTINGS},
        # The mode TRL's next log reads: a run ending on an evaluation writes its end-of-training log in eval mode.
        record_metric=lambda key, value: trainer._metrics["train" if trainer.model.training else "eval"][key].append(
            value
        ),
    )
    trainer.add_callback(doctor)
    return doctor
