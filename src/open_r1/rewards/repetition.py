"""How a completion repeats itself: the n-gram repetition penalty (Appendix C.2 of "Demystifying Long
Chain-of-Thought Reasoning in LLMs"), and the same step written again and again (`repeats_a_line`).

    reward = get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0, language="en")
    reward(["a b c a b c a b c"])  # -> [-0.571...]: 3 distinct 3-grams out of 7
    repeats_a_line("He drives 3 hours at 80 mph\nHe drives 4 hours at 80 mph\nHe drives 5 hours at 80 mph")  # True

The penalty is `max_penalty * (1 - distinct n-grams / all n-grams)`: 0 for text without repeats, down
to `max_penalty` for text that repeats one n-gram. English splits lower-cased text on whitespace;
Chinese (`language="zh"`) segments words with jieba. Both read the text as it looks: invisible format characters
(zero-width spaces, joiners) are dropped and compatibility forms folded (NFKC), so marks between copies of a sentence
do not make its words new. Text shorter than one n-gram gets 0.
`repeats_a_line` is a diagnostic, not a reward: what `make gsm8k`'s report and the GRPO doctor count among the
completions cut at their token budget (docs/gsm8k.md, "Out of tokens").

Not covered: other languages (a clear error names the supported ones).
"""

import collections
import functools
import re
import sys
import unicodedata

from open_r1.rewards._completions import completion_text, completion_texts

# Defaults of the repetition penalty (GRPOScriptArguments imports them from here).
DEFAULT_NGRAM_SIZE = 3
DEFAULT_MAX_PENALTY = -1.0
DEFAULT_REPETITION_LANGUAGE = "en"

SUPPORTED_LANGUAGES = ("en", "zh")

# `repeats_a_line`: a line this long, written this often with only its numbers changed, is a step gone round again
# (shorter lines, "So:" or "= 12", repeat in sound solutions; 3 of GSM8K-test's 1,319 worked solutions do at 3).
REPEATED_LINE_MIN_CHARS = 20
REPEATED_LINE_TIMES = 3
_NUMBER = re.compile(r"\d[\d,.]*")


def repeats_a_line(completion) -> bool:
    """Whether a completion (a text, or the text of a tool rollout's assistant turns) writes one line of at least
    REPEATED_LINE_MIN_CHARS characters REPEATED_LINE_TIMES times or more, its numbers aside: the same step again, as
    the same words or the same sum on other numbers. Most completions cut at their token budget do (docs/gsm8k.md);
    a worked solution seldom does (three payments alike, say). Linear in the text's length."""
    lines = (line.strip() for line in completion_text(completion).splitlines())
    counts = collections.Counter(_NUMBER.sub("#", line) for line in lines if len(line) >= REPEATED_LINE_MIN_CHARS)
    return max(counts.values(), default=0) >= REPEATED_LINE_TIMES


@functools.cache
def _invisible_characters() -> dict[int, None]:
    """Unicode's format characters (zero-width spaces and joiners, direction marks, ...), for `str.translate`."""
    return {code: None for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"}


def _visible(text: str) -> str:
    """The text as it reads: compatibility forms folded (full-width letters, ligatures) and format characters dropped,
    so that one word spelled with invisible marks between its copies still counts as one."""
    return unicodedata.normalize("NFKC", text).translate(_invisible_characters())


def _english_words(text: str) -> list[str]:
    return _visible(text).lower().split()


# jieba's HMM pass over a run of characters its dictionary does not join copies its path at each character, which is
# quadratic (40,000 of one character: 5.9 s). A page at a time it is linear; a word is split only at a page's edge.
CHINESE_PAGE_CHARS = 1000


def _chinese_words(text: str) -> list[str]:
    import jieba  # imported on first use: loading its dictionary takes a second

    text = _visible(text)
    pages = (text[start : start + CHINESE_PAGE_CHARS] for start in range(0, len(text), CHINESE_PAGE_CHARS))
    return [word for page in pages for word in jieba.lcut(page) if word.strip()]


def get_repetition_penalty_reward(
    ngram_size: int = DEFAULT_NGRAM_SIZE,
    max_penalty: float = DEFAULT_MAX_PENALTY,
    language: str = DEFAULT_REPETITION_LANGUAGE,
):
    """A reward penalising repeated `ngram_size`-grams, down to `max_penalty` (<= 0)."""
    if max_penalty > 0:
        raise ValueError(f"max_penalty {max_penalty} should not be positive (repetition_max_penalty must be <= 0)")
    if ngram_size < 1:
        raise ValueError(f"repetition_n_grams must be >= 1, got {ngram_size}")
    if language == "en":
        split_words = _english_words
    elif language == "zh":
        try:
            import jieba  # noqa: F401
        except ImportError as error:
            raise ImportError("repetition_language='zh' needs jieba: pip install jieba") from error
        split_words = _chinese_words
    else:
        raise ValueError(f"repetition_language must be one of {SUPPORTED_LANGUAGES}, got {language!r}")

    def repetition_penalty_reward(completions, **kwargs) -> list[float]:
        """`max_penalty * (1 - distinct/total n-grams)` per completion; 0.0 for text shorter than one n-gram."""
        rewards = []
        for text in completion_texts(completions):
            words = split_words(text)
            total = len(words) - ngram_size + 1
            if total <= 0:
                rewards.append(0.0)
                continue
            distinct = len({tuple(words[i : i + ngram_size]) for i in range(total)})
            rewards.append((1 - distinct / total) * max_penalty)
        return rewards

    return repetition_penalty_reward
