"""The GRPO doctor: the few causes of rewards that stay flat, found at start-up and while training.

    check_before_training(train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids)
    attach_doctor(trainer, script_args, training_args, train_dataset)  # grpo.py, once the trainer is built

After "the evaluation does not match the paper", upstream open-r1's most frequent reports are "the rewards stay
flat", "accuracy reward is always 0", "format reward is always 0". Their causes are few and checkable, and each
has cost users GPU-days before anyone looked. The doctor looks; each check has a name, used in `doctor_stop_on`.

At start-up (main process only, on ROWS_CHECKED rows spread over the train split, with the real tokenizer and the
configured rewards), after the model is loaded (its generation config says where generation stops):
- `unscorable_gold`: gold answers that their own accuracy reward does not pay when a completion states them (the
  gold boxed in the R1 layout): unparseable (None: TRL skips the sample), several values, a worked solution with no
  final answer, or a final answer that is a sentence (`reads_as_prose`: it pays only itself, word for word).
  Warns when more than WARN_SHARE of the rows checked fail; says how many, with one example.
- `no_stop_token`: a chat template that ends assistant turns with no special token, or with one generation does
  not stop at (neither the tokenizer's eos nor the generation config's): completions run to
  `max_completion_length`. pad == eos is not a finding: TRL 1.16 masks padding by position.
- `long_solutions`: more than WARN_SHARE of the reference solutions (`solution`, else `answer`) are longer than
  `max_completion_length` tokens: a completion that reasons as far as the reference is cut before its answer.
- `long_prompts`: more than WARN_SHARE of the prompts (chat template applied, without the tools' schemas) are
  longer than `max_prompt_length`, which keeps the last tokens of a prompt: the system prompt is cut first.
A chat template that pre-fills `<think>` while `think_prefilled` is off is not the doctor's: it is certain, so
`open_r1.utils.model_utils.check_think_prefill` makes it an error, with or without the doctor.

While training (`TrainingDoctor`, a TrainerCallback reading the metrics TRL logs at each logging step), a symptom
that lasts `doctor_patience` consecutive logging steps:
- `constant_reward`: a reward function gives every completion the same value that pays nothing (`rewards/<name>/std`
  0 and the mean 0, negative or None). A reward at its full value for everyone (format 1.0 once learnt) is not a
  symptom; nor is a penalty at 0 (`PENALTIES`: no completion was penalised).
- `zero_spread`: the share of groups whose completions all earn the same total (`frac_reward_zero_std`), averaged
  over the last `doctor_patience` logging steps, is above `doctor_zero_std_share`: those groups have no advantage,
  so no gradient.
- `clipped`: the share of completions cut at `max_completion_length` (`completions/clipped_ratio`), averaged
  likewise, is above `doctor_clipped_share`; the warning counts the last batch's completions that go round a step
  (`open_r1.rewards.repetition.repeats_a_line`).
- `entropy_collapse`: the policy's mean token entropy (`entropy`) below ENTROPY_COLLAPSE_SHARE of the highest of
  its ENTROPY_WINDOW logged values before: a fall that sudden is a learning rate too high, or a reward gamed with one
  repeated output (a long run's slow decline, from a base model, is not one).
- `kl_blowup`: the policy's KL from the reference (`kl`, logged when beta is not 0) above KL_BLOWUP_NATS per token:
  a learning rate too high or a beta too small. A reward that paid before and now pays nothing (`constant_reward`)
  is then named as a regression, with the step where it paid, not as a model that cannot solve the problems.
- `empty_completions`: completions of EMPTY_COMPLETION_TOKENS or fewer on average (`completions/mean_length`):
  generation stops at once (a missing generation prompt, an SFT that taught the end first, the eos setting).
- With `tools` (TRL logs `tools/call_frequency`) and `max_tool_calling_iterations` not 0 (the tool demo's arm
  without calls): `no_tool_calls`, no completion called a tool; `tool_errors`, the share of calls that gave no
  value stays above `doctor_tool_error_share`: those TRL could not make (`tools/failure_frequency`: an unknown
  tool, arguments it does not take) and the python calls that failed (`tools/python_error_rate`: an error, a
  timeout, a sandbox failure or a call refused for the rollout's time budget).
Symptoms due at the same step make one warning, with the likely causes of each and one completion of the last batch
(TRL's `GRPOTrainer._logs`) with what each reward read in it: the accuracy rewards' parsed answer and the row's gold,
the format rewards' tags, and the first tool results of a completion that called a tool. Each symptom is
reported once per run.

At the end of training one line says what share of the run's groups had no reward spread (generated and trained
on for no gradient), whether or not it ever warranted `zero_spread`; named as `zero_spread`, with its causes, when that
share is above `doctor_zero_std_share` in a run too short for the training check to have reported it (a smoke test).

It warns. `doctor_stop_on` names the findings that stop the run instead: a start-up one ends it before training
(a `UsageError`: one line, exit status 2), a training one stops training at that step (the Trainer then saves as at
its normal end). `doctor: false` turns it off.

Not covered: code rewards' test cases (their sandbox reports those), reward models, evaluation logs; drift between
vLLM's and the trainer's log-probabilities (TRL logs `sampling/*`; no threshold here has been measured on a GPU).
"""

import logging
import math
import re
import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

from open_r1.rewards import ACCURACY_REWARD_NAMES, THINK_PREFILL_REWARDS
from open_r1.rewards._completions import GOLD_COLUMNS, completion_text
from open_r1.rewards.accuracy import extract_answer, get_accuracy_reward, prepare_gold
from open_r1.rewards.format import R1_TAGS, r1_completion
from open_r1.rewards.repetition import repeats_a_line
from open_r1.usage import UsageError
from open_r1.utils.chat_templates import end_of_turn_token, template_text

logger = logging.getLogger(__name__)

STARTUP_CHECKS = ("unscorable_gold", "no_stop_token", "long_solutions", "long_prompts")
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
TRAINING_CHECKS = (
    "constant_reward",
    "zero_spread",
    "clipped",
    "entropy_collapse",
    "kl_blowup",
    "empty_completions",
    "no_tool_calls",
    "tool_errors",
)
CHECKS = STARTUP_CHECKS + TRAINING_CHECKS
ALL_CHECKS = "all"  # in doctor_stop_on: every check

# Defaults of GRPOConfig's doctor fields (open_r1.configs).
DEFAULT_DOCTOR = True
DEFAULT_PATIENCE = 5
DEFAULT_ZERO_STD_SHARE = 0.9
DEFAULT_CLIPPED_SHARE = 0.5
DEFAULT_TOOL_ERROR_SHARE = 0.5

# Rows the start-up checks read: grading them takes about a second, and a cause worth a warning shows in a tenth.
ROWS_CHECKED = 64
# A start-up check warns when more than this share of its rows has the problem; a few odd rows are noise.
WARN_SHARE = 0.1
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
# Shares judged on their mean over the last `doctor_patience` logging steps (a strict streak broke on one batch
# below the share), and the symptoms they make.
WINDOWED_METRICS = ("frac_reward_zero_std", "completions/clipped_ratio")
WINDOWED_SYMPTOMS = ("zero_spread", "clipped")
# A gold's final answer with this many words (outside LaTeX commands) is a sentence, not a value: MATH-500's wordiest
# answers have 2 ("\\begin{pmatrix} ... \\end{pmatrix}"), GSM8K's none.
PROSE_WORDS = 4
_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*(?:/\d+)?")
# A logged standard deviation below this is no spread (TRL logs float32 statistics).
_NO_SPREAD = 1e-6
# How much of a completion an example shows: its start, and its end, where the answer is.
_HEAD_CHARS, _TAIL_CHARS = 200, 400
# How many of a tool rollout's tool results an example shows.
_TOOL_RESULTS_SHOWN = 3


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: the check's name (one of CHECKS) and what to tell the user."""

    check: str
    message: str


def stop_checks(stop_on: Sequence[str]) -> frozenset[str]:
    """The checks `doctor_stop_on` names, `all` expanded; UsageError for a name that is not a check."""
    names = set(stop_on or ())
    unknown = sorted(names - set(CHECKS) - {ALL_CHECKS})
    if unknown:
        raise UsageError(
            f"doctor_stop_on: {unknown[0]!r} is not a doctor check; the checks: {', '.join(CHECKS)}, or all"
        )
    return frozenset(CHECKS) if ALL_CHECKS in names else frozenset(names)


def gold_column(columns: Sequence[str]) -> str | None:
    """The column of `columns` the accuracy rewards read the gold from."""
    return next((column for column in GOLD_COLUMNS if column in columns), None)


def _names(reward_funcs) -> list[str]:
    return [reward_funcs] if isinstance(reward_funcs, str) else list(reward_funcs)


def _short(text: str, limit: int = _HEAD_CHARS) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _excerpt(text: str) -> str:
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return repr(text)
    return (
        f"{text[:_HEAD_CHARS]!r} [... {len(text) - _HEAD_CHARS - _TAIL_CHARS} characters ...] {text[-_TAIL_CHARS:]!r}"
    )


# ------------------------------------------------------------------------------------------------------------------
# At start-up
# ------------------------------------------------------------------------------------------------------------------


def gold_completion(gold: Any) -> str:
    """The completion that states `gold` as a model is asked to: the R1 layout with the answer boxed."""
    answer = prepare_gold(gold) or ""
    return r1_completion("The reference solution.", f"\\boxed{{{answer}}}")


def reads_as_prose(answer: str | None) -> bool:
    """Whether a gold's final answer (`prepare_gold`) is a sentence rather than a value: PROSE_WORDS words or more
    outside LaTeX commands. Graded against itself it is paid (the same text parses alike), yet no boxed value is."""
    return answer is not None and len(_WORD.findall(_LATEX_COMMAND.sub(" ", answer))) >= PROSE_WORDS


def lone_number(answer: str | None) -> str | None:
    """The one number of a gold's final answer that also holds words ("4 dollars", "The answer is 4."), or None: a
    model is asked to box that number, which such a gold may not equal."""
    if answer is None or not _WORD.findall(_LATEX_COMMAND.sub(" ", answer)):
        return None
    numbers = _NUMBER.findall(answer)
    return numbers[0] if len(numbers) == 1 else None


def _stated(gold: Any) -> list[dict]:
    """The assistant turn that states `gold` (`gold_completion`), as the rewards read a completion."""
    return [{"role": "assistant", "content": gold_completion(gold)}]


def check_gold_answers(rows: Sequence[dict], column: str, accuracy_reward: Callable) -> Finding | None:
    """`unscorable_gold`: the rows whose gold `accuracy_reward` does not pay 1 when a completion states it, whose
    final answer is prose (`reads_as_prose`), or whose one number in words (`lone_number`) is not paid when boxed."""
    golds = [row[column] for row in rows]
    completions = [_stated(gold) for gold in golds]
    scores = accuracy_reward(completions, **{column: golds})
    answers = [prepare_gold(gold) for gold in golds]
    prose = [reads_as_prose(answer) for answer in answers]
    numbers = {
        index: number
        for index, answer in enumerate(answers)
        if not prose[index] and (number := lone_number(answer)) is not None
    }
    number_scores = (
        accuracy_reward([_stated(number) for number in numbers.values()], **{column: [golds[i] for i in numbers]})
        if numbers
        else []
    )
    unpaid_number = {index for index, score in zip(numbers, number_scores) if score is not None and score < 1.0}
    failed = [
        index
        for index, score in enumerate(scores)
        if score is None or score < 1.0 or prose[index] or index in unpaid_number
    ]
    if not rows or len(failed) <= WARN_SHARE * len(rows):
        return None
    unparsed = sum(scores[index] is None for index in failed)
    worded = sum(prose[index] and scores[index] is not None for index in failed)
    around = sum(index in unpaid_number and scores[index] == 1.0 for index in failed)
    first = failed[0]
    if prose[first] and scores[first] is not None:
        example = f"Example: gold {_short(str(golds[first]))}, whose final answer is a sentence"
    elif first in unpaid_number and scores[first] == 1.0:
        example = f"Example: gold {_short(str(golds[first]))}, against which \\boxed{{{numbers[first]}}} scores 0"
    else:
        example = (
            f"Example: gold {_short(str(golds[first]))}, stated as {_short(completion_text(completions[first]))}, "
            f"scored {scores[first]}"
        )
    return Finding(
        "unscorable_gold",
        f"{len(failed)} of the {len(rows)} gold answers checked (column {column!r}) are not paid by their own "
        "accuracy reward when a completion states them"
        + (f" ({unparsed} cannot be parsed: the reward returns None and TRL skips the sample)" if unparsed else "")
        + (
            f" or are sentences, not a value ({worded}: a boxed number never equals them, and no \\boxed{{}} or "
            "'####' line says which value they mean)"
            if worded
            else ""
        )
        + (
            f" or hold words around their value ({around}: the boxed value alone scores 0; only a completion that "
            "copies the words is paid)"
            if around
            else ""
        )
        + f": a completion that states their value is never rewarded on those problems. {example}. Give the column a "
        "bare answer or a worked solution whose final answer is in \\boxed{}, or drop those rows.",
    )


def check_stop_token(tokenizer, stop_token_ids: Sequence[int]) -> Finding | None:
    """`no_stop_token`: the template's end of an assistant turn is no token generation stops at."""
    if not template_text(tokenizer):
        return None  # get_tokenizer gives every tokenizer a template; one without is reported there
    stops = {token_id for token_id in (*stop_token_ids, tokenizer.eos_token_id) if token_id is not None}
    stop_names = tokenizer.convert_ids_to_tokens(sorted(stops))
    end_of_turn = end_of_turn_token(tokenizer)
    if end_of_turn is None:
        return Finding(
            "no_stop_token",
            "the chat template writes no special token after an assistant turn, so the policy never learnt a token "
            f"that ends its answer, and generation stops only at {stop_names}: expect completions cut at "
            "max_completion_length. Use a chat template (`chat_template`) that ends turns with the eos.",
        )
    if tokenizer.convert_tokens_to_ids(end_of_turn) not in stops:
        return Finding(
            "no_stop_token",
            f"the chat template ends assistant turns with {end_of_turn} but generation stops only at {stop_names} "
            "(the tokenizer's eos and the model's generation config): a completion that ends its turn runs on to "
            f"max_completion_length. Add {end_of_turn} to eos_token_id in the model's generation_config.json, or "
            "use a chat template (`chat_template`) that ends turns with the eos.",
        )
    return None


def _too_long(lengths: list[int], limit: int) -> tuple[str, str] | None:
    """`N of the M` and the lengths' median and longest, when more than WARN_SHARE of `lengths` exceed `limit`."""
    longer = sum(length > limit for length in lengths)
    if not lengths or longer <= WARN_SHARE * len(lengths):
        return None
    return f"{longer} of the {len(lengths)}", f"median {statistics.median(lengths):g}, longest {max(lengths)}"


def check_solution_length(rows: Sequence[dict], column: str, tokenizer, max_completion_length: int) -> Finding | None:
    """`long_solutions`: the share of reference solutions longer than `max_completion_length` tokens."""
    texts = [str(row[column]) for row in rows if row[column] is not None]
    if not texts:
        return None
    too_long = _too_long(
        [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]], max_completion_length
    )
    if too_long is None:
        return None
    share, spread = too_long
    return Finding(
        "long_solutions",
        f"{share} reference solutions checked (column {column!r}) are longer than max_completion_length "
        f"({max_completion_length} tokens; {spread}): a completion that reasons as far as the reference is cut "
        "before its answer. Raise max_completion_length, or train on shorter problems.",
    )


def check_prompt_length(prompts: Sequence[list[dict]], tokenizer, max_prompt_length: int) -> Finding | None:
    """`long_prompts`: the share of prompts, rendered by the chat template, longer than `max_prompt_length` tokens,
    which the trainer cuts on the left: the system prompt and the instructions go first."""
    lengths = [
        len(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=False))
        for prompt in prompts
    ]
    too_long = _too_long(lengths, max_prompt_length)
    if too_long is None:
        return None
    share, spread = too_long
    return Finding(
        "long_prompts",
        f"{share} prompts checked are longer than max_prompt_length ({max_prompt_length} tokens; {spread}, with "
        "the chat template): the trainer keeps their last tokens, so the system prompt and the instructions before "
        "the problem are cut first (prompts/truncated_ratio counts them each step). Raise max_prompt_length, or "
        "unset it.",
    )


def _spread_rows(dataset, columns: list[str]) -> list[dict]:
    """Up to ROWS_CHECKED rows spread over `dataset` (a mixture's datasets are concatenated), only `columns`."""
    step = max(1, len(dataset) // ROWS_CHECKED)
    indices = list(range(0, len(dataset), step))[:ROWS_CHECKED]
    return dataset.select_columns(columns).select(indices).to_list()


def _with_the_column_that_scores(finding: Finding, dataset, column: str, other: str, accuracy_reward) -> Finding:
    """`finding` (unscorable golds in `column`) told that the dataset's `other` gold column would score, when it
    would: the rewards read `column` first (GOLD_COLUMNS), so `other` is never read."""
    rows = _spread_rows(dataset, [other])
    if check_gold_answers(rows, other, accuracy_reward) is not None:
        return finding
    return Finding(
        finding.check,
        f"{finding.message} The dataset's {other!r} column scores (its golds are paid when stated), but the "
        f"accuracy rewards read {column!r} first: drop or rename the {column!r} column.",
    )


def startup_findings(train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids) -> list:
    """The start-up checks' findings for this run, in the order of STARTUP_CHECKS."""
    names = _names(script_args.reward_funcs)
    column = gold_column(train_dataset.column_names)
    rows = _spread_rows(train_dataset, [column]) if column else []
    findings = []
    if rows and set(names) & set(ACCURACY_REWARD_NAMES):
        if "accuracy" in names:
            accuracy_reward = reward_funcs[names.index("accuracy")]
        else:  # cosine and length grade correctness as accuracy does, with the same settings
            accuracy_reward = get_accuracy_reward(script_args.reward_num_workers, script_args.reward_timeout_seconds)
        finding = check_gold_answers(rows, column, accuracy_reward)
        others = [other for other in GOLD_COLUMNS if other != column and other in train_dataset.column_names]
        if finding is not None and others:
            finding = _with_the_column_that_scores(finding, train_dataset, column, others[0], accuracy_reward)
        findings.append(finding)
    findings.append(check_stop_token(tokenizer, stop_token_ids))
    if rows and training_args.max_completion_length is not None:
        findings.append(check_solution_length(rows, column, tokenizer, training_args.max_completion_length))
    limit = getattr(training_args, "max_prompt_length", None)
    if limit is not None and "prompt" in train_dataset.column_names:
        prompts = [row["prompt"] for row in _spread_rows(train_dataset, ["prompt"])]
        findings.append(check_prompt_length(prompts, tokenizer, limit))
    return [finding for finding in findings if finding is not None]


def check_before_training(train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids) -> list:
    """Runs the start-up checks on the main process and warns about each finding; returns the findings.

    Raises UsageError for the first finding `doctor_stop_on` names. Other processes return [] at once: a finding is
    about the data and the tokenizer, which every process shares, and a launcher stops them all when one fails.
    """
    if not training_args.doctor or getattr(training_args, "process_index", 0) != 0:
        return []
    if isinstance(stop_token_ids, int):
        stop_token_ids = [stop_token_ids]
    findings = startup_findings(
        train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids or []
    )
    for finding in findings:
        logger.warning("GRPO doctor [%s]: %s", finding.check, finding.message)
    fatal = [finding for finding in findings if finding.check in stop_checks(training_args.doctor_stop_on)]
    if fatal:
        raise UsageError(f"GRPO doctor [{fatal[0].check}] (doctor_stop_on): {fatal[0].message}")
    return findings


# ------------------------------------------------------------------------------------------------------------------
# While training
# ------------------------------------------------------------------------------------------------------------------


def reward_reading(reward: str, text: str, gold: Any = None, think_prefilled: bool = False) -> str:
    """What the reward registered as `reward` reads in a completion's `text`; '' for the rewards not described."""
    if reward in ACCURACY_REWARD_NAMES:
        answer = extract_answer(text)
        read = (
            "no final answer (no \\boxed{} after </think>, no <answer> block)"
            if answer is None
            else (f"parsed answer {_short(answer)}")
        )
        return read if gold is None else f"{read}; gold {_short(str(prepare_gold(gold)))}"
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
            "it could judge no completion: the gold answers do not parse (start-up check unscorable_gold) or the "
            "rows lack the column it reads"
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
    ):
        self.patience = patience
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
        self._windows: dict[str, deque] = {metric: deque(maxlen=patience) for metric in WINDOWED_METRICS}
        self._entropies: deque = deque(maxlen=ENTROPY_WINDOW)  # (step, value) of the last logged entropies
        self._zero_spread_shares: list[float] = []  # every training log's, for the end-of-training summary
        self._best_paid: dict[str, tuple[int, float]] = {}  # per reward, (step, mean) of its best paying log so far

    def symptoms(
        self,
        logs: dict,
        max_completion_length: int | None = None,
        tool_rounds: int | None = None,
        learning_rate: float = float("nan"),
    ) -> dict[str, Finding] | None:
        """The symptoms one training log shows, by key (a reward's flatness is keyed by its name); None for a log
        without GRPO's reward metrics (evaluation, the end-of-training summary). `tool_rounds` is the run's
        `max_tool_calling_iterations`: 0 runs no call, so no tool check applies; `learning_rate`, named in
        `entropy_collapse`'s warning. The entropies of earlier logs are the ones recorded so far."""
        if not _is_training_log(logs):
            return None
        found = {}
        for key, spread in logs.items():
            if not (key.startswith("rewards/") and key.endswith("/std")):
                continue
            name = key[len("rewards/") : -len("/std")]
            value = _number(logs.get(f"rewards/{name}/mean"))
            spread = _number(spread)
            reward = self.reward_names.get(name, name)
            if spread is not None and spread > _NO_SPREAD:
                continue
            if value is not None and (value > 0 or (value == 0 and reward in PENALTIES)):
                continue
            shown = "None (cannot judge it)" if value is None else f"{value:g}"
            causes = _causes_of_constant(reward, value, self._best_paid.get(name), self.settings.get("beta"))
            found[f"constant_reward:{name}"] = Finding(
                "constant_reward", f"{name} gave every completion {shown}. Likely causes: {causes}."
            )
        zero_spread = _number(logs.get("frac_reward_zero_std"))
        if zero_spread is not None and zero_spread > self.zero_std_share:
            found["zero_spread"] = Finding(
                "zero_spread",
                f"{zero_spread:.0%} of the groups had no reward spread (frac_reward_zero_std, on average, above "
                f"doctor_zero_std_share {self.zero_std_share:g}): every completion of a group earned the same, so it "
                f"has no advantage and gives no gradient. {self._causes_of_no_spread(self._accuracy_mean(logs))}",
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
            )
        length = _number(logs.get("completions/mean_length"))
        if length is not None and length <= EMPTY_COMPLETION_TOKENS:
            found["empty_completions"] = Finding(
                "empty_completions",
                f"the completions are {length:.3g} tokens long on average (completions/mean_length): generation stops "
                "at once. Likely causes: the chat template's generation prompt is missing, so the model's first token "
                "closes the prompt's turn; the cold-start SFT taught it to end at once (empty or cut assistant turns "
                "in its data); or the generation config stops at a token the model writes first (its eos_token_id).",
            )
        if tool_rounds != 0:
            found.update(self.tool_symptoms(logs))
        return found

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
            f"Example from the last batch: prompt ending {_short(str(prompt_text)[-_HEAD_CHARS:])}",
            f"completion ({len(text)} characters): {_excerpt(text)}",
        ]
        # The first completion of the batch that called a tool: what its calls gave back.
        for number, completion in enumerate(completions):
            tool_results = [
                message.get("content")
                for message in (completion if isinstance(completion, list) else ())
                if isinstance(message, dict) and message.get("role") == "tool"
            ]
            if tool_results:
                shown = ", ".join(_short(str(result)) for result in tool_results[:_TOOL_RESULTS_SHOWN])
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
        """`logs` with each of WINDOWED_METRICS it has replaced by its mean over the last `patience` logs that had
        it, or None until there are that many: one batch below the share among many above breaks no streak."""
        logs = dict(logs)
        for metric, window in self._windows.items():
            if metric not in logs:
                continue
            value = _number(logs[metric])
            if value is not None:
                window.append(value)
            logs[metric] = sum(window) / len(window) if len(window) == self.patience else None
        return logs

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if not _is_training_log(logs):
            return  # evaluation and the end-of-training summary neither count nor interrupt
        zero_spread = _number(logs.get("frac_reward_zero_std"))
        if zero_spread is not None:
            self._zero_spread_shares.append(zero_spread)
        symptoms = self.symptoms(
            self.windowed(logs),
            getattr(args, "max_completion_length", None),
            getattr(args, "max_tool_calling_iterations", None),
            getattr(args, "learning_rate", float("nan")),
        )
        entropy = _number(logs.get("entropy"))
        if entropy is not None:  # after the symptoms: a log's entropy is compared with those before it
            self._entropies.append((state.global_step, entropy))
        self.remember_paying_rewards(logs, state.global_step)  # likewise
        # A windowed symptom is due as soon as its window is: it already spans `patience` logging steps.
        self._streaks = {
            key: self.patience if key in WINDOWED_SYMPTOMS else self._streaks.get(key, 0) + 1 for key in symptoms
        }
        due = {key: finding for key, finding in symptoms.items() if self._streaks[key] >= self.patience}
        due = {key: finding for key, finding in due.items() if key not in self._reported}
        if not due:
            return
        self._reported.update(due)
        fatal = sorted({finding.check for finding in due.values()} & self.stop_on)
        if state.is_world_process_zero:
            findings = "\n".join(f"- [{finding.check}] {finding.message}" for finding in due.values())
            # Counted only once the warning is due, on the main process: it reads every completion of the batch.
            repeated = self.repeated_lines() if "clipped" in due else ""
            logger.warning(
                "GRPO doctor, step %d: for the last %d logging steps:\n%s\n%s\n%s",
                state.global_step,
                self.patience,
                findings,
                self.example() + (f"\n{repeated}" if repeated else ""),
                f"Training stops here (doctor_stop_on: {', '.join(fatal)})."
                if fatal
                else "Training goes on; doctor_stop_on would stop it, `doctor: false` silences the doctor.",
            )
        if fatal:
            control.should_training_stop = True

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

    def on_train_end(self, args, state, control, **kwargs):
        """One line on what the run spent for nothing: the groups without reward spread, generated and trained on
        for no gradient (a warning only once that share stays above doctor_zero_std_share, `zero_spread`)."""
        if not self._zero_spread_shares or not state.is_world_process_zero:
            return
        share = statistics.fmean(self._zero_spread_shares)
        if share > self.zero_std_share and len(self._zero_spread_shares) < self.patience:
            # Too few logging steps for the training check: a smoke test is when a user looks. Named, not warned: a
            # smoke test (the README's 2 GRPO steps) is flat by design, and our own commands print no warnings.
            logger.info(
                "GRPO doctor [zero_spread], over the run's %d logging steps (fewer than doctor_patience %d to warn "
                "while training): %.0f%% of the groups had no reward spread, so nothing was learnt from them. %s",
                len(self._zero_spread_shares),
                self.patience,
                100 * share,
                self._causes_of_no_spread(),
            )
            return
        logger.info(
            "Reward spread over the run: %.0f%% of the groups over %d logging steps had none, so their generation "
            "and backward pass gave no gradient%s",
            100 * share,
            len(self._zero_spread_shares),
            "; dynamic_sampling: true replaces such groups with others"
            if share and not getattr(args, "dynamic_sampling", False)
            else "",
        )


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
        reward_names=dict(zip(trainer.reward_func_names, _names(script_args.reward_funcs))),
        find_gold=gold_finder(train_dataset, column) if column and "prompt" in train_dataset.column_names else None,
        think_prefilled=script_args.think_prefilled,
        pad_is_eos=getattr(tokenizer, "pad_token_id", None) == getattr(tokenizer, "eos_token_id", None),
        settings={name: getattr(training_args, name, None) for name in DOCTOR_SETTINGS},
    )
    trainer.add_callback(doctor)
    return doctor
