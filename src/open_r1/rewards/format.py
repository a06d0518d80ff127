"""Format rewards: `format_reward`, `tag_count_reward`, `reasoning_steps_reward`, `get_code_format_reward`.

The expected layout is upstream open-r1's:

    <think>
    ...reasoning...
    </think>
    <answer>
    ...answer...
    </answer>

`<think>` pre-filled prompts: DeepSeek-R1-Distill chat templates end the prompt with `<think>\\n`, so the
completion starts inside the reasoning and never contains the opening tag. Build the rewards with
`think_prefilled=True` (`get_format_reward(think_prefilled=True)`, or `think_prefilled: true` in a
recipe) and they grade such completions as if the prompt's `<think>\\n` were part of them; a completion
that opens `<think>` again is then graded as written, as a completion of a template without the prefill would be.

Not covered: judging the content inside the tags (see `open_r1.rewards.accuracy` and the code rewards).
"""

import logging
import re
from typing import Optional

from open_r1.rewards._completions import completion_texts
from open_r1.sandbox.languages import DEFAULT_CODE_LANGUAGE, fence_tags

logger = logging.getLogger(__name__)

THINK_OPENING = "<think>\n"
# Default of `think_prefilled` (GRPOScriptArguments imports it from here).
DEFAULT_THINK_PREFILLED = False
THINK_TO_ANSWER = "\n</think>\n<answer>\n"
# A fenced block's tag ("```py" -> py), as `code_format_reward` and `open_r1.rewards.code.code_blocks` read it.
FENCE_TAG = re.compile(r"[A-Za-z0-9_+\-]*")
_ANSWER_CLOSE = "\n</answer>"
# The R1 layout's four tags, in order.
R1_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def r1_completion(reasoning: str, answer: str) -> str:
    """`reasoning` and `answer` in the layout `format_reward` pays in full:
    `<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>` (the traces, the doctor's probes)."""
    return THINK_OPENING + reasoning + THINK_TO_ANSWER + answer + _ANSWER_CLOSE


_REASONING_STEP_PATTERN = re.compile(r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)")


def _answer_span(text: str) -> tuple[int, int] | None:
    """Where the answer of `<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>` lies in `text` (the whole text
    must have that shape, trailing whitespace allowed), or None.

    Equivalent to a full match of the regex `<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>\\s*` (DOTALL),
    found in linear time: the earliest `\\n</think>\\n<answer>\\n` leaves the most room for the rest, and only the
    last `\\n</answer>` can be followed by nothing but whitespace. The regex itself backtracks quadratically on
    completions that repeat the blocks, which a policy truncated at its length limit writes.
    """
    if not text.startswith(THINK_OPENING):
        return None
    opening = text.find(THINK_TO_ANSWER, len(THINK_OPENING))
    if opening < 0:
        return None
    answer_start = opening + len(THINK_TO_ANSWER)
    closing = text.rfind(_ANSWER_CLOSE)
    trailing = text[closing + len(_ANSWER_CLOSE) :]
    if closing < answer_start or (trailing and not trailing.isspace()):
        return None
    return answer_start, closing


def _as_written(texts: list[str], think_prefilled: bool) -> list[str]:
    """The completions with the prompt's pre-filled `<think>\\n` put back in front when there is one."""
    if not think_prefilled:
        return texts
    return [text if text.lstrip().startswith("<think>") else THINK_OPENING + text for text in texts]


def get_format_reward(think_prefilled: bool = DEFAULT_THINK_PREFILLED):
    """`format_reward` for completions that include the opening `<think>` or, if `think_prefilled`, do not."""

    def format_reward(completions, **kwargs) -> list[float]:
        """1.0 if the completion is exactly `<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>`, else 0.0."""
        texts = _as_written(completion_texts(completions, written=True), think_prefilled)
        return [1.0 if _answer_span(text) is not None else 0.0 for text in texts]

    return format_reward


def _count_tags(text: str) -> float:
    count = 0.0
    if text.count(THINK_OPENING) == 1:
        count += 0.25
    if text.count("\n</think>\n") == 1:
        count += 0.25
    if text.count("\n<answer>\n") == 1:
        count += 0.25
    if text.count(_ANSWER_CLOSE) == 1:
        count += 0.25
    return count


def get_tag_count_reward(think_prefilled: bool = DEFAULT_THINK_PREFILLED):
    """`tag_count_reward` for completions that include the opening `<think>` or, if `think_prefilled`, do not."""

    def tag_count_reward(completions, **kwargs) -> list[float]:
        """0.25 for each of `<think>\\n`, `\\n</think>\\n`, `\\n<answer>\\n`, `\\n</answer>` present exactly once."""
        return [
            _count_tags(text) for text in _as_written(completion_texts(completions, written=True), think_prefilled)
        ]

    return tag_count_reward


format_reward = get_format_reward()
tag_count_reward = get_tag_count_reward()


def reasoning_steps_reward(completions, **kwargs) -> list[float]:
    """Rewards visible step-by-step reasoning ("Step 1:", "1." at the start, bullets, "First,", "Next,", ...):
    1.0 for three or more markers, a third per marker below that."""
    return [
        min(1.0, len(_REASONING_STEP_PATTERN.findall(text)) / 3)
        for text in completion_texts(completions, written=True)
    ]


def _answer_has_fenced_block(text: str, tags: set[str]) -> bool:
    """Whether `text` has the think/answer layout and its answer holds a block "```<tag>" ... "```" whose whole tag,
    in any case, is one of `tags`, in linear time (the verdict of the regex
    `<think>\\n.*?\\n</think>\\n<answer>\\n.*?```(?i:<tags>)(?![\\w+-]).*?```.*?\\n</answer>\\s*`)."""
    span = _answer_span(text)
    if span is None or not tags:
        return False
    answer_start, closing = span
    fence = text.find("```", answer_start)
    while 0 <= fence < closing:
        tag = FENCE_TAG.match(text, fence + 3).group()
        if tag.lower() in tags:
            # The first such opening decides: its closing fence must end before the "\n</answer>" of the answer.
            end = text.find("```", fence + 3 + len(tag))
            return 0 <= end and end + 3 <= closing
        fence = text.find("```", fence + 1)  # a run of backticks may open a block one character later
    return False


def get_code_format_reward(language: str = DEFAULT_CODE_LANGUAGE, think_prefilled: bool = DEFAULT_THINK_PREFILLED):
    """Format reward for code answers: the `<answer>` block must contain a ```language fenced block.

    A `language` dataset column, when present, overrides `language` per sample (mixed-language training); a row
    without one (None) uses `language`, a row whose language is not a name gets None and a warning.
    """

    def code_format_reward(completions, **kwargs) -> list[Optional[float]]:
        texts = _as_written(completion_texts(completions, written=True), think_prefilled)
        languages = kwargs.get("language")
        if languages is None:
            languages = [language] * len(texts)
        elif not isinstance(languages, (list, tuple)) or len(languages) != len(texts):
            raise ValueError(
                f"code_format_reward: the 'language' column must hold one language per completion ({len(texts)}), "
                f"got {languages!r:.200}"
            )
        rewards: list[Optional[float]] = []
        for index, (text, sample_language) in enumerate(zip(texts, languages)):
            if sample_language is None or sample_language == "":
                sample_language = language
            if not isinstance(sample_language, str):
                # One bad row costs that row's reward only, never the batch's.
                logger.warning(
                    "code_format_reward: row %d cannot be judged (reward None): language must be a string such as "
                    "'python', got %r",
                    index,
                    sample_language,
                )
                rewards.append(None)
                continue
            # The tags extract_code runs a block under (```py for python; a "C++" row's ```cpp), whole, in any case.
            tags = {tag for tag in fence_tags(sample_language) if tag}
            rewards.append(1.0 if _answer_has_fenced_block(text, tags) else 0.0)
        return rewards

    return code_format_reward
