"""Math answer grading: `accuracy_reward`, and the `extract_answer` / `grade_answers` engine behind it.

    from open_r1.rewards import accuracy_reward
    accuracy_reward([[{"role": "assistant", "content": "<think>...</think> \\boxed{0.5}"}]], solution=["\\frac{1}{2}"])
    # -> [1.0]

How a completion is graded:
- The model's answer is the content of the last `\\boxed{}` (or `\\fbox{}`) after the reasoning (text
  after the last `</think>`, or all of it when it has no `<think>`), else the last `<answer>...</answer>`
  block. No answer is 0.0, and so are a reasoning opened and never closed, and a last `\\boxed{` never closed
  (a completion cut at the length limit: a box written on the way is not its final answer).
- The gold answer (the `solution` column, else `answer`) may be a bare answer (`\\frac{1}{2}`, `025`,
  `27.0`, `2,125`) or a worked solution whose last `\\boxed{}` (or GSM8K `#### n` line) is the answer.
  A gold that math-verify cannot parse gives `None`: TRL skips that sample instead of paying a free 1.0, and so does
  a mapping or a list of several values (a one-value list is its value).
- The gold and the model's answer are read as a reader sees them (`readable_text`): zero-width spaces, the BOM,
  NUL and the other characters drawn as nothing dropped, full-width and styled digits folded, so a gold `4\\u200b`
  or `４` pays `\\boxed{4}`.
- Parsing and verifying use math-verify in a pool of worker processes (`_grading_pool`), each grading in
  its own main thread so math-verify's `signal.alarm` timeouts work (0.5.2 silently returns "wrong"
  from any other thread). The caller may be a thread, a worker process or async code. Each distinct gold
  is parsed once per call, identical (gold, answer) pairs are verified once, answers that clearly cannot
  match skip math-verify's symbolic simplification, and a completion that takes longer than `timeout`
  seconds is killed with its worker and graded 0.0 (None for a gold that does): under GRPOTrainer their share is
  logged as `rewards/<reward>/ungraded` by each reward that grades (`reward_grades`: accuracy_reward,
  cosine_scaled_reward, len_reward), and a warning says so at most every UNGRADED_WARNING_SECONDS.
- An answer that states a value beside the one math-verify grades is wrong: a number in text it drops
  (`42 \\text{ (or 43)}`), an equation between different constants (`41 = 42`, `a = 41 = 42`), approximations that
  disagree (`42 \\approx 41`); units, comments without numbers and true equations stay right (the rules are
  `grading_worker.states_another_value`'s). Sets, "or", "\\pm" and lists parse to several values, never equal to one.
- An answer longer than MAX_ANSWER_CHARS is graded 0.0 without math-verify, whose parsing grows faster than the
  answer (a 1,000-character sum takes about 2 s; a 100,000-character one runs into the time limit). Finding the
  answer is a linear scan, so a completion costs time linear in its length, plus at most `timeout` in
  math-verify for the answer (a short adversarial answer such as a power tower can still use all of it).

Not covered: answers that need the problem statement to be judged (proofs, "explain why"); multiple-choice
letters are compared as text only.
"""

import logging
import pickletools
import re
import time
from dataclasses import dataclass

from open_r1.rewards._completions import completion_text, completion_texts, gold_answers
from open_r1.rewards._grading_pool import CRASHED, TIMED_OUT, run_tasks
from open_r1.rewards.format import THINK_OPENING
from open_r1.rewards.grading_protocol import KIND_ANSWER_BLOCK, KIND_BOXED
from open_r1.utils.text_reading import readable_text

# Defaults of the accuracy-style rewards; `open_r1.configs` (reward_num_workers, reward_timeout_seconds) and the
# evaluator import them from here.
DEFAULT_GRADING_WORKERS = 2
DEFAULT_TIMEOUT_SECONDS = 5.0
# The share of a batch's answers whose running out of time its grading may wait for, and the least it may take
# (`batch_grading_seconds`).
STALLING_SHARE = 1 / 16
MIN_BATCH_GRADING_SECONDS = 60.0
# Longest final answer worth parsing: benchmark answers are far shorter (MATH-500's longest is 53 characters).
MAX_ANSWER_CHARS = 1000

_BOXED_OPENING = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
# Grading that ran out of time is warned about at most this often per process (the metric is logged every step).
UNGRADED_WARNING_SECONDS = 600.0

logger = logging.getLogger(__name__)


def _last_boxed_content(text: str) -> str | None:
    """The content of the last `\\boxed{`, or of the box around it, with the inner boxes' `\\boxed` dropped; None when
    it is never closed (an answer cut off, or retracted: an earlier box is not the final answer). A box inside another
    is part of that answer: `\\boxed{41 = \\boxed{42}}` and `\\boxed{\\boxed{42} \\text{ or } 41}` were graded by their
    inner box alone (a red team's). Linear: one pass over the braces from the first opening."""
    openings = list(_BOXED_OPENING.finditer(text))
    if not openings:
        return None
    last_start = openings[-1].start()
    # The outermost box still open where the last one opens: scan the braces, tracking where each box opened.
    outer, depth, open_boxes = openings[-1], 0, []  # open_boxes: (depth inside the box, its opening)
    next_opening = 0
    for token in _BRACE_OR_ESCAPE.finditer(text, openings[0].start()):
        if token.start() >= last_start:
            break
        while next_opening < len(openings) and openings[next_opening].end() - 1 == token.start():
            open_boxes.append((depth + 1, openings[next_opening]))
            next_opening += 1
        brace = token.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            while open_boxes and open_boxes[-1][0] > depth:
                open_boxes.pop()
    if open_boxes:
        outer = open_boxes[0][1]
    depth = 1
    for token in _BRACE_OR_ESCAPE.finditer(text, outer.end()):
        brace = token.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                content, inner_boxes = _BOXED_OPENING.subn("{", text[outer.end() : token.start()])
                return _without_outer_group(content) if inner_boxes else content
    return None


def _without_outer_group(content: str) -> str:
    """`content` without the braces around all of it that a box in a box left (`\\boxed{\\boxed{42}}` is `42`).
    Linear: the braces are matched in one pass, then peeled from both ends (peeling by rescanning was quadratic in
    the nesting, which a completion chooses)."""
    closing, opened = {}, []
    for token in _BRACE_OR_ESCAPE.finditer(content):
        if token.group() == "{":
            opened.append(token.start())
        elif token.group() == "}" and opened:
            closing[opened.pop()] = token.start()
    kept = start, end = 0, len(content)
    while True:
        while start < end and content[start].isspace():
            start += 1
        while end > start and content[end - 1].isspace():
            end -= 1
        if start == end or content[start] != "{" or closing.get(start) != end - 1:
            return content[kept[0] : kept[1]]
        kept = start, end = start + 1, end - 1


def _last_answer_block(text: str) -> str | None:
    start = text.rfind("<answer>")
    if start < 0:
        return None
    end = text.find("</answer>", start)
    if end < 0:
        return None
    return text[start + len("<answer>") : end]


def _extract(completion: str) -> tuple[str, str] | None:
    """(answer text, kind) of a completion, or None when it states no final answer."""
    think_end = completion.rfind("</think>")
    if think_end < 0 and "<think>" in completion:
        return None  # the reasoning never ended: a box inside it is a guess on the way, not the final answer
    final_part = completion[think_end + len("</think>") :] if think_end >= 0 else completion
    boxed = _last_boxed_content(final_part)
    if boxed is not None and boxed.strip():
        return boxed.strip(), KIND_BOXED
    if boxed is None and _BOXED_OPENING.search(final_part):
        # A last box never closed is the answer being written when the completion was cut: an earlier <answer>
        # block is no more final than an earlier box.
        return None
    block = _last_answer_block(final_part)
    if block is not None and block.strip():
        return block.strip(), KIND_ANSWER_BLOCK
    return None


def answer_texts(completions: list, think_prefilled: bool = False) -> list[str]:
    """The text each completion's answer is read from: its content, opened with `<think>` where the prompt opened the
    reasoning (`think_prefilled`) and, as written, it did not end. With tools, TRL's parser moves the reasoning and
    its </think> out of the content, which then holds the answer alone; a `</think>` in a call's code ends nothing."""
    texts = completion_texts(completions)
    if not think_prefilled:
        return texts
    written = completion_texts(completions, written=True, calls=False)
    return [with_prefilled_opening(text, as_written) for text, as_written in zip(texts, written)]


def with_prefilled_opening(text: str, written: str | None = None) -> str:
    """`text` as the rewards read it when the prompt opened the reasoning: opened with `<think>` unless the completion
    as `written` (`text` itself when not given) ended its reasoning with `</think>`."""
    return text if "</think>" in (text if written is None else written) else THINK_OPENING + text


def extract_answer(completion: str) -> str | None:
    """The model's final answer: the last \\boxed{} content after the reasoning, else its <answer> block."""
    extracted = _extract(completion_text(completion))
    return extracted[0] if extracted else None


def prepare_gold(gold) -> str | None:
    """The answer inside a gold value (`readable_text`): its last \\boxed{}, the text after GSM8K's '####', or the
    value itself. None for no value: None, a bool, a mapping (a struct column) or a list of other than one value."""
    if isinstance(gold, (list, tuple)) and len(gold) == 1:
        gold = gold[0]  # a list column holding one answer
    if gold is None or isinstance(gold, (bool, dict, list, tuple)):
        return None
    text = readable_text(gold if isinstance(gold, str) else str(gold))
    boxed = _last_boxed_content(text)
    if boxed is not None:
        text = boxed
    elif "####" in text:
        text = text.rsplit("####", 1)[1]
    text = text.strip()
    return text or None


def read_as_text(answers: list[str | None], timeout: float = DEFAULT_TIMEOUT_SECONDS) -> list[bool]:
    """For each prepared gold (`prepare_gold`; None is no gold), whether math-verify parses no value from it, only its
    text ('√2', '30°', '±2'): then only an answer that copies those characters is paid, not `\\sqrt{2}`."""
    distinct = list(dict.fromkeys(answer for answer in answers if answer is not None))
    results = run_tasks([("gold", answer, timeout) for answer in distinct], 1, timeout)
    text_only = {
        answer for answer, result in zip(distinct, results) if isinstance(result, bytes) and _strings_only(result)
    }
    return [answer in text_only for answer in answers]


def _strings_only(pickled: bytes) -> bool:
    # A parse of strings alone pickles without naming a class: no need to unpickle (and import sympy) to tell.
    return bool(pickled) and not any("GLOBAL" in opcode.name for opcode, *_ in pickletools.genops(pickled))


@dataclass(frozen=True)
class Grades:
    """A batch's grades, and how many of its completions math-verify did not finish with (`timeout` or a crash of
    its worker): graded 0.0, or None where the gold was the one that did not finish."""

    rewards: tuple[float | None, ...]
    ungraded: int


def grade_answers(
    completions: list[str],
    golds: list[str],
    *,
    num_workers: int = DEFAULT_GRADING_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[float | None]:
    """Grades each completion against its gold: 1.0 correct, 0.0 wrong (or too slow), None for an unparseable gold."""
    return list(graded_batch(completions, golds, num_workers=num_workers, timeout=timeout).rewards)


def graded_batch(
    completions: list[str],
    golds: list[str],
    *,
    num_workers: int = DEFAULT_GRADING_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    think_prefilled: bool = False,
    bounded: bool = False,
) -> Grades:
    """`grade_answers`' grades with the count of completions not graded in time. The last batch's grades are kept:
    accuracy_reward beside cosine_scaled_reward or len_reward grades one batch once, not once per reward.
    `think_prefilled`: the prompt opened `<think>`, so a completion's reasoning ends only at its `</think>`.
    `bounded` (the rewards, in training): the batch's grading stops at `batch_grading_seconds`; an evaluation grades
    every answer, each within its own timeout."""
    global _last_grading
    if len(completions) != len(golds):
        raise ValueError(f"grade_answers: got {len(completions)} completions but {len(golds)} gold answers")
    texts = answer_texts(completions, think_prefilled)
    key = (tuple(texts), tuple(golds), timeout, bounded)
    last = _last_grading
    if last is not None and last[0] == key:
        return last[1]
    grades = _grade(texts, golds, num_workers, timeout, bounded)
    _last_grading = key, grades
    return grades


# (completions, golds, timeout) of the last `graded_batch` call, and its grades.
_last_grading: tuple[tuple, Grades] | None = None
# When this process last warned about grading that ran out of time (time.monotonic()), and the count since.
_ungraded_warned_at: float | None = None
_ungraded_since_warning = [0, 0]  # completions not graded in time, completions graded


def _grade(texts: list[str], golds: list[str], num_workers: int, timeout: float, bounded: bool) -> Grades:
    prepared_golds = [prepare_gold(g) for g in golds]

    distinct_golds = list(dict.fromkeys(g for g in prepared_golds if g is not None))
    gold_results = run_tasks([("gold", g, timeout) for g in distinct_golds], num_workers, timeout)
    parsed_gold = {
        gold: result
        for gold, result in zip(distinct_golds, gold_results)
        if result is not TIMED_OUT and result is not CRASHED and result is not None
    }
    unfinished_golds = {
        gold for gold, result in zip(distinct_golds, gold_results) if result is TIMED_OUT or result is CRASHED
    }

    rewards: list[float | None] = []
    pair_index: dict[tuple, int] = {}
    pair_of_completion: list[int | None] = []
    for text, gold in zip(texts, prepared_golds):
        if gold not in parsed_gold:
            rewards.append(None)
            pair_of_completion.append(None)
            continue
        extracted = _extract(text)
        if extracted is None or len(extracted[0]) > MAX_ANSWER_CHARS:
            rewards.append(0.0)
            pair_of_completion.append(None)
            continue
        rewards.append(0.0)
        # Read as the gold is (`readable_text`): a completion that copies the gold as written is paid as before.
        answer = readable_text(extracted[0]).strip()
        pair_of_completion.append(pair_index.setdefault((gold, answer, extracted[1]), len(pair_index)))

    tasks = [("grade", gold, parsed_gold[gold], answer, kind, timeout) for gold, answer, kind in pair_index]
    batch_seconds = batch_grading_seconds(len(tasks), num_workers, timeout) if bounded else None
    verdicts = run_tasks(tasks, num_workers, timeout, batch_seconds)
    ungraded = sum(gold in unfinished_golds for gold in prepared_golds)
    for position, pair in enumerate(pair_of_completion):
        if pair is not None:
            rewards[position] = 1.0 if verdicts[pair] is True else 0.0
            # None: the worker's comparison ran out of math-verify's time, short of the pool's hard limit.
            ungraded += verdicts[pair] is None or verdicts[pair] is TIMED_OUT or verdicts[pair] is CRASHED
    return Grades(tuple(rewards), ungraded)


def batch_grading_seconds(answers: int, num_workers: int, timeout: float) -> float:
    """How long one batch's answers may take to grade: a minute (a worker killed at its timeout restarts in
    seconds), or, for a large batch, as long as `STALLING_SHARE` of them running out of time on `num_workers`
    workers. Honest answers take milliseconds, so only answers built to stall the grader reach it (each costs about a
    second of a worker within its own timeout: 8 took 9 s on 2 workers, so 512 would take some 9 minutes); the
    answers past it are counted ungraded."""
    return max(MIN_BATCH_GRADING_SECONDS, timeout * (1 + answers * STALLING_SHARE / num_workers))


def reward_grades(
    completions: list,
    golds: list,
    reward_name: str,
    kwargs: dict,
    *,
    num_workers: int,
    timeout: float,
    think_prefilled: bool = False,
) -> tuple[float | None, ...]:
    """`graded_batch` for a reward function named `reward_name`: the share of completions math-verify did not
    finish with is logged as `rewards/<reward_name>/ungraded` (TRL's GRPOTrainer passes `log_metric`), and warned
    about (`_warn_about_ungraded`), once per batch graded however many rewards read its grades."""
    grades = graded_batch(
        completions, golds, num_workers=num_workers, timeout=timeout, think_prefilled=think_prefilled, bounded=True
    )
    if callable(kwargs.get("log_metric")):  # averaged over the logging step
        kwargs["log_metric"](f"rewards/{reward_name}/ungraded", grades.ungraded / max(len(grades.rewards), 1))
    _warn_about_ungraded(grades, timeout, reward_name)
    return grades.rewards


# The grades last counted towards the warning: accuracy_reward beside cosine_scaled_reward reads one batch's twice.
_counted_grades: Grades | None = None


def _warn_about_ungraded(grades: Grades, timeout: float, reward_name: str) -> None:
    """A warning, at most once per UNGRADED_WARNING_SECONDS, when completions were not graded in time."""
    global _ungraded_warned_at, _counted_grades
    if grades is _counted_grades:
        return
    _counted_grades = grades
    _ungraded_since_warning[0] += grades.ungraded
    _ungraded_since_warning[1] += len(grades.rewards)
    now = time.monotonic()
    if not _ungraded_since_warning[0] or (
        _ungraded_warned_at is not None and now - _ungraded_warned_at < UNGRADED_WARNING_SECONDS
    ):
        return
    ungraded, graded = _ungraded_since_warning
    logger.warning(
        "%s: math-verify did not finish with %d of %d completions%s within reward_timeout_seconds (%g) each, or the "
        "batch's time (a minute, more for a batch of hundreds); they were graded 0.0 (None where the gold did not "
        "finish). Answers built to stall the grader (power towers, huge factorials) do this; if honest answers do, "
        "raise reward_timeout_seconds. The share is logged as rewards/%s/ungraded.",
        reward_name,
        ungraded,
        graded,
        "" if _ungraded_warned_at is None else " since the last warning",
        timeout,
        reward_name,
    )
    _ungraded_warned_at, _ungraded_since_warning[:] = now, [0, 0]


def get_accuracy_reward(
    num_workers: int = DEFAULT_GRADING_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    think_prefilled: bool = False,
):
    """`accuracy_reward` grading with `num_workers` processes and a `timeout`-second limit per completion;
    `think_prefilled`: the prompt opens `<think>` (`graded_batch`)."""

    def accuracy_reward(completions, solution=None, **kwargs) -> list[float | None]:
        """1.0 if the completion's final answer equals the gold (`solution`/`answer` column), else 0.0; None if
        the gold cannot be parsed. `solution` may be passed by position, as upstream's signature allows."""
        golds = gold_answers(kwargs | {"solution": solution}, "accuracy_reward", len(completions))
        return list(
            reward_grades(
                completions,
                golds,
                "accuracy_reward",
                kwargs,
                num_workers=num_workers,
                timeout=timeout,
                think_prefilled=think_prefilled,
            )
        )

    return accuracy_reward


accuracy_reward = get_accuracy_reward()
