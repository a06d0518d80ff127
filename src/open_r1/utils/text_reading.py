"""How text reads: the characters drawn as nothing, and `readable_text`, a text as a reader sees it.

    readable_text("4\u200b")   # "4": a zero-width space dropped
    readable_text("４２")        # "42": full-width digits read as the digits
    default_ignorable()          # Unicode's default-ignorable code points (beyond format characters)

The accuracy rewards read gold answers and completions' answers through `readable_text` before math-verify
(`open_r1.rewards.accuracy`), decontamination reads training rows and benchmark problems through it
(`open_r1.data.contamination`), and the repetition penalty drops the same default-ignorable characters
(`open_r1.rewards.repetition`). `LATIN_LOOKALIKES` reads lower-case Cyrillic and Greek letters drawn as Latin ones as
those (Cyrillic `а` as `a`): decontamination and the repetition penalty fold them, the accuracy rewards do not (a
look-alike in an answer fails to parse, as it did). Linear in the text.

Not covered: look-alikes beyond that table (mathematical alphanumerics other than digits, Cherokee, ...); NFKC as a
whole (it reads x² as x2).
"""

import functools
import re
import unicodedata

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) beyond format characters: variation
# selectors, the combining grapheme joiner, Hangul fillers, Mongolian selectors, ... (rendered as nothing).
_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip


# Lower-case Cyrillic and Greek letters drawn as Latin ones, as a `str.translate` table (lower-case the text first,
# so that a capitalised word folds too).
LATIN_LOOKALIKES = {
    **{ord(look): latin for look, latin in zip("аеорсухіјѕһԁԛԝӏ", "aeopcyxijshdqwl")},
    **{ord(look): latin for look, latin in zip("οινκρυ", "oivkpu")},
}


_LOOKALIKE = re.compile(f"[{''.join(map(chr, LATIN_LOOKALIKES))}]")


def fold_latin_lookalikes(text: str) -> str:
    """A lower-cased `text` with its look-alike letters read as Latin; the search first, as most texts hold none and
    translating costs a dictionary lookup per character."""
    return text.translate(LATIN_LOOKALIKES) if _LOOKALIKE.search(text) else text


@functools.cache
def default_ignorable() -> frozenset[int]:
    """Unicode's default-ignorable code points: drawn as nothing where a font lacks them (the accuracy rewards'
    reading of answers drops them too)."""
    return frozenset(code for first, last in _DEFAULT_IGNORABLE for code in range(first, last + 1))


class _Reading(dict):
    """A `str.translate` table, filled as characters are met, of `readable_text`'s reading of each character."""

    # Characters remembered at most (a text may hold any of Unicode's million); past it each is read anew.
    MAX_ENTRIES = 1 << 16

    def __missing__(self, code: int) -> str | None:
        character = chr(code)
        category = unicodedata.category(character)
        unseen = category == "Cf" or code == 0 or code in default_ignorable()
        if unseen and code not in _KEPT_AS_WRITTEN:
            read = None
        elif unicodedata.decomposition(character).startswith(("<wide>", "<narrow>")) or (
            unicodedata.decomposition(character).startswith("<font>") and category == "Nd"
        ):
            read = unicodedata.normalize("NFKC", character)
        else:
            read = character
        if len(self) < self.MAX_ENTRIES:
            self[code] = read
        return read


# Invisible characters kept as written, so that math-verify fails on them as it did: what changes how the text shows
# (direction overrides and isolates: `\u202e24` shows "42"; interlinear annotation anchors) and the invisible
# operators U+2061-U+2064 (`2\u20623` is a product, not 23). Controls other than NUL stay too (a backspace erases).
_KEPT_AS_WRITTEN = frozenset(
    (*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xFFF9, 0xFFFC), *range(0x2061, 0x2065))
)
_READING = _Reading()


def readable_text(text: str) -> str:
    """`text` as a reader sees it: characters drawn as nothing dropped (format characters, default-ignorable ones:
    zero-width spaces, the BOM, variation selectors; and NUL), except those that change how the text shows
    (`_KEPT_AS_WRITTEN`), full- and half-width forms (４) and styled digits (𝟒) read as the plain character (NFKC's
    reading of them). Other compatibility forms stay as written: NFKC reads x² as x2, ½ as 1⁄2 and ℝ (which
    math-verify reads as the reals) as R. Linear in the text."""
    return text.translate(_READING)
