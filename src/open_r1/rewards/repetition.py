"""How a completion repeats itself: the n-gram repetition penalty (Appendix C.2 of "Demystifying Long
Chain-of-Thought Reasoning in LLMs"), and the same step written again and again (`repeats_a_line`).

    reward = get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0, language="en")
    reward(["a b c a b c a b c"])  # -> [-0.571...]: 3 distinct 3-grams out of 7
    repeats_a_line("He drives 3 hours at 80 mph\nHe drives 4 hours at 80 mph\nHe drives 5 hours at 80 mph")  # True

The penalty is `max_penalty * (1 - distinct n-grams / all n-grams)`: 0 for text without repeats, down
to `max_penalty` for text that repeats one n-gram. English splits lower-cased text on whitespace;
Chinese (`language="zh"`) segments words with jieba. Both read the text as it looks (`_visible`): invisible
characters (zero-width spaces, joiners, variation selectors, controls, private-use code points) are dropped,
compatibility forms folded (NFKC) and Cyrillic and Greek look-alikes read as Latin, so marks or look-alikes between
copies of a sentence do not make its words new. Text shorter than one n-gram gets 0.
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
from open_r1.utils.text_reading import LATIN_LOOKALIKES, default_ignorable

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


# Categories a reader never sees as a letter: format, control (whitespace aside), private use, surrogate, unassigned.
_UNSEEN_CATEGORIES = ("Cf", "Cc", "Co", "Cs", "Cn")
# Blank characters that are no whitespace to str.split, read as a space; look-alike letters read as Latin (the text
# is lower-cased first, so that a capitalised word stays one word).
_READ_AS = {0x2800: " ", **LATIN_LOOKALIKES}  # U+2800: BRAILLE PATTERN BLANK
# A run of combining marks longer than Unicode's stream-safe limit (UAX #15) is cut to it before NFKC, whose
# reordering sorts each run by insertion, in quadratic time.
MAX_COMBINING_RUN = 30


def _character_class(codes: list[int]) -> str:
    """A regex character class of the (sorted) code points, as ranges."""
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = code
    return f"[{''.join(ranges)}]"


def _unseen(code: int) -> bool:
    """Drawn as nothing or as no letter: format characters (zero-width spaces and joiners, direction marks, ...),
    controls that are no whitespace, private-use and unassigned code points, default-ignorable ones."""
    character = chr(code)
    return (
        unicodedata.category(character) in _UNSEEN_CATEGORIES and not character.isspace()
    ) or code in default_ignorable()


@functools.cache
def _reading_table() -> dict[int, str | None]:
    """A `str.translate` table of the Basic Multilingual Plane: unseen characters dropped, `_READ_AS` read so."""
    table: dict[int, str | None] = {code: None for code in range(0x10000) if _unseen(code)}
    table.update(_READ_AS)
    return table


@functools.cache
def _unseen_beyond_the_plane() -> re.Pattern:
    """The unseen characters past U+FFFF (tags, variation selectors supplement, private-use planes, unassigned):
    a regex, whose first test lets every character of the Basic Multilingual Plane pass at once."""
    codes = [code for code in range(0x10000, sys.maxunicode + 1) if _unseen(code)]
    return re.compile(f"(?=[^\x00-\uffff]){_character_class(codes)}+")


@functools.cache
def _long_combining_runs() -> re.Pattern:
    """The part of a run of combining marks past `MAX_COMBINING_RUN`: characters of a canonical combining class
    other than 0, and those that decompose into such alone (U+0F73, of class 0, is two Tibetan vowel signs; é, a
    letter and a mark, is no mark)."""

    def is_mark(character: str) -> bool:
        return bool(unicodedata.combining(character)) or bool(
            unicodedata.decomposition(character)
            and all(unicodedata.combining(part) for part in unicodedata.normalize("NFKD", character))
        )

    mark = _character_class([code for code in range(sys.maxunicode + 1) if is_mark(chr(code))])
    return re.compile(f"(?<={mark}{{{MAX_COMBINING_RUN}}}){mark}+")


def _visible(text: str) -> str:
    """The text as it reads, lower-cased: compatibility forms folded (full-width letters, ligatures), unseen characters
    dropped, blanks made spaces and look-alike letters read as Latin, so that one word spelled with invisible marks or
    look-alikes between its copies still counts as one. Linear in the text's length (`MAX_COMBINING_RUN`)."""
    table, beyond = _reading_table(), _unseen_beyond_the_plane()
    text = _long_combining_runs().sub("", beyond.sub("", text.translate(table)))
    return beyond.sub("", unicodedata.normalize("NFKC", text)).lower().translate(table)


def _english_words(text: str) -> list[str]:
    return _visible(text).lower().split()


# jieba's HMM pass over a run of characters its dictionary does not join copies its path at each character, which is
# quadratic (40,000 of one character: 5.9 s). A page at a time it is linear; a word is split only at a page's edge.
CHINESE_PAGE_CHARS = 1000


def _chinese_words(text: str) -> list[str]:
    import jieba  # imported on first use: loading its dictionary takes a second

    text = " ".join(_visible(text).split())  # blank runs as one space: padding does not move the pages' edges
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
        for text in completion_texts(completions, tool_calls=True, written=True):
            words = split_words(text)
            total = len(words) - ngram_size + 1
            if total <= 0:
                rewards.append(0.0)
                continue
            distinct = len({tuple(words[i : i + ngram_size]) for i in range(total)})
            rewards.append((1 - distinct / total) * max_penalty)
        return rewards

    return repetition_penalty_reward
