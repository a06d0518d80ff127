"""The GRPO doctor at start-up: gold answers the accuracy reward cannot pay, a chat template whose turns generation
does not stop at, reference solutions and prompts longer than their limits, format rewards no completion short
enough can earn (`open_r1.doctor` describes each).

    findings = check_before_training(train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_ids)

Run on the main process only, on ROWS_CHECKED rows spread over the train split, with the real tokenizer and rewards.
Not covered: what happens while training (`open_r1.doctor.training`).
"""

import logging
import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from open_r1.doctor.checks import Finding, gold_column, reward_func_names, short_repr, stop_checks
from open_r1.rewards import ACCURACY_REWARD_NAMES, THINK_PREFILL_REWARDS
from open_r1.rewards._completions import GOLD_COLUMNS, completion_text
from open_r1.rewards.accuracy import get_accuracy_reward, prepare_gold, read_as_text
from open_r1.rewards.format import R1_TAGS, THINK_OPENING, r1_completion
from open_r1.sandbox.languages import DEFAULT_CODE_LANGUAGE
from open_r1.usage import UsageError
from open_r1.utils.chat_templates import end_of_turn_token, template_text

logger = logging.getLogger("open_r1.doctor")  # one name for the doctor's warnings, wherever they come from

# Rows the start-up checks read: grading them takes about a second, and a cause worth a warning shows in a tenth.
ROWS_CHECKED = 64
# A start-up check warns when more than this share of its rows has the problem; a few odd rows are noise.
WARN_SHARE = 0.1
# A gold's final answer with this many words (outside LaTeX commands) is a sentence, not a value: MATH-500's wordiest
# answers have 2 ("\\begin{pmatrix} ... \\end{pmatrix}"), GSM8K's none.
PROSE_WORDS = 4
_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*(?:/\d+)?")


def gold_completion(gold: Any) -> str:
    """The completion that states `gold` as a model is asked to: the R1 layout with the answer boxed, as the reward
    reads it (`prepare_gold`: invisible characters dropped, full-width forms folded)."""
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
    # Stated as written, a gold read as text only pays itself: what a model writes for '√2' (\sqrt{2}) is not paid.
    text_only = read_as_text([answer if score == 1.0 else None for answer, score in zip(answers, scores)])
    structured = [
        gold is not None and not isinstance(gold, str) and answer is None for gold, answer in zip(golds, answers)
    ]
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
        if score is None or score < 1.0 or prose[index] or index in unpaid_number or text_only[index]
    ]
    if not rows or len(failed) <= WARN_SHARE * len(rows):
        return None
    unvalued = sum(structured[index] for index in failed)
    unparsed = sum(scores[index] is None for index in failed) - unvalued
    worded = sum(prose[index] and scores[index] is not None for index in failed)
    around = sum(index in unpaid_number and scores[index] == 1.0 for index in failed)
    as_text = sum(text_only[index] and not prose[index] and index not in unpaid_number for index in failed)
    first = failed[0]
    if structured[first]:
        example = (
            f"Example: gold {short_repr(str(golds[first]))}, a {type(golds[first]).__name__} rather than one answer"
        )
    elif prose[first] and scores[first] is not None:
        example = f"Example: gold {short_repr(str(golds[first]))}, whose final answer is a sentence"
    elif text_only[first] and first not in unpaid_number:
        example = (
            f"Example: gold {short_repr(str(golds[first]))}, read as the text {short_repr(answers[first])}: "
            "only an answer that writes those characters is paid"
        )
    elif first in unpaid_number and scores[first] == 1.0:
        example = f"Example: gold {short_repr(str(golds[first]))}, against which \\boxed{{{numbers[first]}}} scores 0"
    else:
        example = (
            f"Example: gold {short_repr(str(golds[first]))}, stated as {short_repr(completion_text(completions[first]))}, "
            f"scored {scores[first]}"
        )
    return Finding(
        "unscorable_gold",
        f"{len(failed)} of the {len(rows)} gold answers checked (column {column!r}) are not paid by their own "
        "accuracy reward when a completion states them"
        + (f" ({unparsed} cannot be parsed: the reward returns None and TRL skips the sample)" if unparsed else "")
        + (
            f" or are a mapping or a list of several values, not one answer ({unvalued}: the reward returns None and "
            "TRL skips the sample)"
            if unvalued
            else ""
        )
        + (
            f" or are read as text, not a value ({as_text}: math-verify finds no number or expression in them, so a "
            "completion that writes their value in LaTeX, as \\sqrt{2} for '√2', scores 0)"
            if as_text
            else ""
        )
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


def shortest_paid_completion(reward: str, think_prefilled: bool, code_language: str = DEFAULT_CODE_LANGUAGE) -> str:
    """The shortest completion the format reward `reward` (one of THINK_PREFILL_REWARDS) pays in full: the R1 layout
    with nothing between its tags (and an empty `code_language` block in the answer for `code_format`; for
    `tag_count`, which counts each tag with its newlines, the tags sharing them), without the `<think>` opening when
    the prompt pre-fills it."""
    if reward == "tag_count":
        text = "\n".join(R1_TAGS)
    else:
        text = r1_completion("", f"```{code_language}```" if reward == "code_format" else "")
    return text.removeprefix(THINK_OPENING) if think_prefilled else text


def check_format_reach(
    reward_funcs: Sequence[str], tokenizer, max_completion_length: int, think_prefilled: bool, code_language: str
) -> list[Finding]:
    """`unpayable_format`: each format reward of `reward_funcs` whose shortest paid completion
    (`shortest_paid_completion`) is longer than `max_completion_length` tokens, so that it pays no completion
    (tag_count none in full)."""
    findings = []
    for reward in (name for name in THINK_PREFILL_REWARDS if name in reward_funcs):
        text = shortest_paid_completion(reward, think_prefilled, code_language)
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        if tokens <= max_completion_length:
            continue
        in_full = " in full" if reward == "tag_count" else ""  # it pays 0.25 for each tag written
        findings.append(
            Finding(
                "unpayable_format",
                f"{reward} cannot pay any completion{in_full}: its shortest completion paid{in_full}, {text!r} "
                f"(think_prefilled: {str(think_prefilled).lower()}), is {tokens} tokens, and max_completion_length is "
                f"{max_completion_length}: every completion is cut before its layout closes. Raise "
                f"max_completion_length well above {tokens} (the reasoning and the answer go between the tags), or "
                f"drop {reward} from reward_funcs.",
            )
        )
    return findings


def _prompt_lengths(prompts: Sequence[list[dict]], tokenizer) -> list[int]:
    return [
        len(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=False))
        for prompt in prompts
    ]


def check_prompt_length(prompts: Sequence[list[dict]], tokenizer, max_prompt_length: int) -> Finding | None:
    """`long_prompts`: the share of prompts, rendered by the chat template, longer than `max_prompt_length` tokens,
    which the trainer cuts on the left: the system prompt and the instructions go first."""
    return _long_prompts(
        prompts,
        tokenizer,
        max_prompt_length,
        lambda share, spread: (
            f"{share} prompts checked are longer than max_prompt_length ({max_prompt_length} "
            f"tokens; {spread}, with the chat template): the trainer keeps their last tokens, so the system prompt and "
            "the instructions before the problem are cut first (prompts/truncated_ratio counts them each step). Raise "
            "max_prompt_length, or unset it."
        ),
    )


def _long_prompts(prompts, tokenizer, limit: int, message) -> Finding | None:
    """`long_prompts` where prompts, rendered, are longer than `limit` tokens: `message(share, spread)` says it."""
    too_long = _too_long(_prompt_lengths(prompts, tokenizer), limit)
    return None if too_long is None else Finding("long_prompts", message(*too_long))


# transformers' model_max_length when the tokenizer's files set none (int(1e30)): no context at all.
_NO_MODEL_MAX_LENGTH = 10**12


def model_context_length(tokenizer, context_length: int | None = None) -> tuple[int, str] | None:
    """(the model's context in tokens, where it was read): `context_length` (the caller's, from the model config's
    max_position_embeddings), else the tokenizer's model_max_length where its files set one; None when neither says."""
    if context_length is not None:
        return context_length, "its config's max_position_embeddings with any RoPE scaling"
    length = getattr(tokenizer, "model_max_length", None)
    if isinstance(length, int) and 0 < length < _NO_MODEL_MAX_LENGTH:
        return length, "the tokenizer's model_max_length"
    return None


def check_prompt_room(
    prompts: Sequence[list[dict]], tokenizer, context: tuple[int, str], max_completion_length: int
) -> Finding | None:
    """`long_prompts` without `max_prompt_length`: the share of prompts, rendered by the chat template, longer than
    the room the model's `context` (tokens, where it was read: `model_context_length`) leaves beside
    `max_completion_length`; none is cut, so a completion that runs to its limit reaches past the context. Nothing
    when the completion alone fills the context (model_utils warns about that)."""
    length, source = context
    limit = length - max_completion_length
    if limit <= 0:
        return None
    return _long_prompts(
        prompts,
        tokenizer,
        limit,
        lambda share, spread: (
            f"{share} prompts checked are longer than {limit} tokens, the model's context ({length} "
            f"tokens, {source}) less max_completion_length ({max_completion_length}) ({spread}, with the chat template): "
            "max_prompt_length is unset, so they are not cut, and a completion that runs to max_completion_length reaches "
            "past the context, where positions were never trained (a model with learnt positions fails there). Set "
            f"max_prompt_length to at most {limit} (the trainer keeps a prompt's last tokens), lower "
            "max_completion_length, or drop the longest prompts."
        ),
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


def startup_findings(
    train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids, context_length=None
) -> list:
    """The start-up checks' findings for this run, in the order of STARTUP_CHECKS; `context_length`: the model's
    (`open_r1.utils.model_utils.model_context`), else the tokenizer's model_max_length is read."""
    names = reward_func_names(script_args.reward_funcs)
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
    if training_args.max_completion_length is not None:
        findings += check_format_reach(
            names,
            tokenizer,
            training_args.max_completion_length,
            script_args.think_prefilled,
            getattr(script_args, "code_language", DEFAULT_CODE_LANGUAGE),
        )
    limit = getattr(training_args, "max_prompt_length", None)
    context = model_context_length(tokenizer, context_length)
    completion_limit = training_args.max_completion_length
    if "prompt" in train_dataset.column_names and (limit is not None or (context and completion_limit is not None)):
        prompts = [row["prompt"] for row in _spread_rows(train_dataset, ["prompt"])]
        if limit is not None:
            findings.append(check_prompt_length(prompts, tokenizer, limit))
        else:  # uncut prompts still have to leave a completion room in the model's context
            findings.append(check_prompt_room(prompts, tokenizer, context, completion_limit))
    return [finding for finding in findings if finding is not None]


def check_before_training(
    train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids, context_length=None
) -> list:
    """Runs the start-up checks on the main process and warns about each finding; returns the findings.
    `context_length`: the model's context (`open_r1.utils.model_utils.model_context`), for prompts when
    max_prompt_length is unset; without it, the tokenizer's model_max_length.

    Raises UsageError for the first finding `doctor_stop_on` names. Other processes return [] at once: a finding is
    about the data and the tokenizer, which every process shares, and a launcher stops them all when one fails.
    """
    if not training_args.doctor or getattr(training_args, "process_index", 0) != 0:
        return []
    if isinstance(stop_token_ids, int):
        stop_token_ids = [stop_token_ids]
    findings = startup_findings(
        train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids or [], context_length
    )
    for finding in findings:
        logger.warning("GRPO doctor [%s]: %s", finding.check, finding.message)
    fatal = [finding for finding in findings if finding.check in stop_checks(training_args.doctor_stop_on)]
    if fatal:
        raise UsageError(f"GRPO doctor [{fatal[0].check}] (doctor_stop_on): {fatal[0].message}")
    return findings
