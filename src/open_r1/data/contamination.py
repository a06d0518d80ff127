"""Word n-gram contamination index: which benchmark problems does a dataset row overlap?

A row is contaminated by a benchmark when it shares at least one word n-gram (default 8 words)
with one of the benchmark's problems, after lower-casing and splitting on whitespace, as in
upstream open-r1's `scripts/decontaminate.py`, and reading both as they show (`open_r1.utils.text_reading`:
invisible characters dropped, full-width forms and look-alike letters folded; upstream matched them as written). A benchmark problem
shorter than n words has no n-gram: it matches a row holding all of its words in order (upstream never matched one),
unless it is a single word or shorter than `MIN_RUN_CHARS` characters, too common to be a copy anywhere ("x", "Solve
it."): such a problem matches only a row that is exactly it.

How it stays fast: a batch of rows is lower-cased, joined and turned into one code-point array
by C loops; word boundaries, word hashes (polynomial over code points, from prefix sums) and
n-gram hashes (the words' hashes combined with fixed multipliers) are a handful of numpy
operations, with no Python work per word. A bit table and a sorted array of the benchmark n-gram
hashes pick the candidates; each candidate is confirmed by looking its normalised text up in a
dict of the benchmark n-grams, so hash collisions cost time, never correctness.
`flag_texts_parallel` spreads batches over processes. Measured against Python sets of n-gram tuples, with
identical flags: docs/benchmarks.md (`scripts/benchmarks/decontaminate.py`).

Usage:
    index = NgramIndex({"math_500": problems, "aime_2024": more_problems}, ngram_size=8)
    masks = index.flag_texts(texts)          # uint64 bit mask per row, bit i = index.names[i]
    masks_to_flags(masks, index.names)       # {"math_500": [bool, ...], ...}

Not covered: fuzzy or semantic matches (paraphrases, renamed variables), and punctuation
normalisation beyond what whitespace splitting gives (as upstream).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence

import numpy as np

from open_r1.utils.launch import usable_cores
from open_r1.utils.text_reading import fold_latin_lookalikes, readable_text

# Upstream's: 8-word n-grams; rows sent to a process at a time.
DEFAULT_NGRAM_SIZE = 8
DEFAULT_BATCH_SIZE = 2000
# A problem shorter than the n-gram is looked for inside rows from 2 words and this many characters (MATH-500's
# shortest, "Simplify $\sqrt{242}$.", has 22); a shorter one is too common to be a copy (a review's: "x" flagged every
# row holding the word x) and matches only a row that is exactly it.
MIN_RUN_CHARS = 15

_MAX_BENCHMARKS = 64  # one bit per benchmark in a uint64 mask
# Odd bases of the code-point and word polynomial hashes, and the multiplier spreading hashes over the bit table.
_CHAR_BASE = 0x9E3779B97F4A7C15
_WORD_BASE = 0xD6E8FEB86659FD93
_SPREAD = np.uint64(0xBF58476D1CE4E5B9)


def masks_to_flags(masks: np.ndarray, names: Sequence[str]) -> dict[str, list[bool]]:
    """Splits benchmark bit masks into one boolean list per benchmark name (bit i is `names[i]`)."""
    return {name: ((masks >> np.uint64(bit)) & np.uint64(1)).astype(bool).tolist() for bit, name in enumerate(names)}


# Characters `str.split()` treats as whitespace; none lies above U+3000.
_WHITESPACE_LIMIT = 0x3001
_IS_WHITESPACE = np.array([chr(code).isspace() for code in range(_WHITESPACE_LIMIT)] + [False])


def _normalised(text: str) -> str:
    """A text as it is matched: read as it shows (`readable_text`: a zero-width space, a soft hyphen or full-width
    digits inside a copied problem hid it from the match), lower-cased, and look-alike letters read as Latin
    (`LATIN_LOOKALIKES`: Cyrillic `а` and `о` hid it too). ASCII rows, most of them, pass as they are (the reading's
    only ASCII change is dropping NUL), keeping CPython's fast path."""
    if text.isascii():
        return text.lower()
    return fold_latin_lookalikes(readable_text(text).lower())


class _BatchNgrams:
    """The word n-grams of a batch of texts, hashed with numpy over the code points of one string.

    The rows are lower-cased and joined with newlines; words are the runs of non-whitespace code
    points, each hashed by a polynomial over its code points (from prefix sums), and an n-gram's
    hash is a polynomial with another base over its words' hashes (from prefix sums again).
    """

    def __init__(self, texts: Sequence[str], ngram_size: int, powers: _Powers, word_powers: _Powers):
        self.ngram_size = ngram_size
        # Lower-casing row by row keeps CPython's fast path for ASCII rows, and each row's length
        # (a character may lower-case to several, e.g. U+0130).
        pieces = list(map(_normalised, texts))
        lowered = "\n".join(pieces)
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        self.text = lowered
        row_starts = np.concatenate(([0], np.cumsum(lengths[:-1] + 1)))
        codes = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Word boundaries are where whitespace flips; the padding puts whitespace at both ends.
        is_space = np.ones(codes.size + 2, dtype=bool)
        np.take(_IS_WHITESPACE, codes, mode="clip", out=is_space[1:-1])
        flips = np.flatnonzero(is_space[1:] != is_space[:-1])
        self.word_starts, self.word_ends = flips[0::2], flips[1::2]
        self.row_first_words = np.searchsorted(self.word_starts, row_starts)
        self.row_word_counts = np.diff(self.row_first_words, append=self.word_starts.size)
        self.word_rows = np.repeat(np.arange(len(texts)), self.row_word_counts)

        prefix = powers.scratch(codes.size + 1)
        prefix[0] = 0
        np.multiply(codes, powers.up_to(codes.size), out=prefix[1:])
        np.cumsum(prefix[1:], out=prefix[1:])
        word_hashes = (prefix[self.word_ends] - prefix[self.word_starts]) * powers.inverse_up_to(codes.size)[
            self.word_starts
        ]
        num_words = word_hashes.size
        # Valid until the next batch is built: it is the word powers' scratch buffer.
        self._word_prefix = word_powers.scratch(num_words + 1)
        self._word_prefix[0] = 0
        np.multiply(word_hashes, word_powers.up_to(num_words), out=self._word_prefix[1:])
        np.cumsum(self._word_prefix[1:], out=self._word_prefix[1:])
        self._word_powers = word_powers
        self.first_words, self.hashes = self.grams(ngram_size)

    def grams(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(first word, hash) of every run of `size` words within one row; the index's n-grams are those of
        `ngram_size`, and a benchmark problem shorter than that is looked for as a run of its own length."""
        num_grams = max(self.word_rows.size - size + 1, 0)
        prefix = self._word_prefix
        hashes = (prefix[size : size + num_grams] - prefix[:num_grams]) * self._word_powers.inverse_up_to(num_grams)
        # A run is real only when its first and last words are in the same row.
        first_words = np.flatnonzero(self.word_rows[:num_grams] == self.word_rows[size - 1 : size - 1 + num_grams])
        return first_words, hashes[first_words]

    def words(self, first: int, count: int) -> str:
        """Words first..first+count-1 of the batch, normalised (joined by single spaces)."""
        return " ".join(self.text[self.word_starts[k] : self.word_ends[k]] for k in range(first, first + count))

    def ngram(self, position: int) -> str:
        return self.words(int(self.first_words[position]), self.ngram_size)


def _power_table(base: int, length: int, block: int = 4096) -> np.ndarray:
    """base^k mod 2^64 for k < length, as an outer product of two short cumulative products (fast)."""
    within = np.cumprod(np.full(block, base, dtype=np.uint64)) * np.uint64(pow(base, -1, 2**64))
    blocks = -(-length // block)
    across = np.cumprod(np.full(blocks, pow(base, block, 2**64), dtype=np.uint64)) * np.uint64(
        pow(base, -block, 2**64)
    )
    return (across[:, None] * within[None, :]).ravel()[:length]


class _Powers:
    """base^k and base^-k mod 2^64 for k < length and a scratch buffer, grown on demand, kept between batches."""

    def __init__(self, base: int):
        self._base = base
        self._powers = np.ones(1, dtype=np.uint64)
        self._inverses = np.ones(1, dtype=np.uint64)
        self._scratch = np.zeros(1, dtype=np.uint64)

    def scratch(self, length: int) -> np.ndarray:
        """A reusable uint64 buffer of `length` (allocating megabytes per batch costs page faults)."""
        if self._scratch.size < length:
            self._scratch = np.zeros(max(length, 2 * self._scratch.size), dtype=np.uint64)
        return self._scratch[:length]

    def _grow(self, length: int) -> None:
        if self._powers.size < length:
            length = max(length, 2 * self._powers.size)
            self._powers = _power_table(self._base, length)
            self._inverses = _power_table(pow(self._base, -1, 2**64), length)

    def up_to(self, length: int) -> np.ndarray:
        self._grow(length)
        return self._powers[:length]

    def inverse_up_to(self, length: int) -> np.ndarray:
        self._grow(length)
        return self._inverses[:length]


class NgramIndex:
    """Benchmark problems indexed by word n-grams; flags rows that share an n-gram with any of them."""

    def __init__(self, benchmarks: Mapping[str, Sequence[str]], ngram_size: int = DEFAULT_NGRAM_SIZE):
        if ngram_size < 1:
            raise ValueError(f"ngram_size must be a positive number of words, got {ngram_size}")
        if not benchmarks:
            raise ValueError("NgramIndex needs at least one benchmark (name -> list of problem texts)")
        if len(benchmarks) > _MAX_BENCHMARKS:
            raise ValueError(f"at most {_MAX_BENCHMARKS} benchmarks fit in one index, got {len(benchmarks)}")
        self.ngram_size = ngram_size
        self.names = list(benchmarks)
        self._powers, self._word_powers = _Powers(_CHAR_BASE), _Powers(_WORD_BASE)
        # Normalised n-gram -> benchmark bits: the ground truth every hash hit is confirmed against.
        self._ngram_masks: dict[str, int] = {}
        # The same for problems shorter than n words (each its whole normalised text), grouped by word count: those
        # looked for as runs inside rows, and those too short to be, matched only by a whole row.
        self._short_masks: dict[str, int] = {}
        self._whole_row_masks: dict[str, int] = {}
        short_lines: dict[int, list[str]] = {}
        hashes, masks = [], []
        for bit, (name, problems) in enumerate(benchmarks.items()):
            for position, problem in enumerate(problems):
                if not isinstance(problem, str) or not _normalised(problem).split():
                    raise ValueError(
                        f"benchmark {name!r}, problem {position}: expected a non-empty string, got {problem!r}"
                    )
            for problem in problems:
                words = _normalised(problem).split()
                if len(words) < ngram_size:
                    line = " ".join(words)
                    if len(words) < 2 or len(line) < MIN_RUN_CHARS:
                        self._whole_row_masks[line] = self._whole_row_masks.get(line, 0) | (1 << bit)
                        continue
                    if line not in self._short_masks:
                        short_lines.setdefault(len(words), []).append(line)
                    self._short_masks[line] = self._short_masks.get(line, 0) | (1 << bit)
                for start in range(len(words) - ngram_size + 1):
                    key = " ".join(words[start : start + ngram_size])
                    self._ngram_masks[key] = self._ngram_masks.get(key, 0) | (1 << bit)
            # The same normalisation as `_BatchNgrams.ngram`, so these hashes are the keys its hashes meet.
            batch = self._ngrams(problems)
            hashes.append(batch.hashes)
            masks.append(np.full(batch.hashes.size, 1 << bit, dtype=np.uint64))
        hashes, masks = np.concatenate(hashes), np.concatenate(masks)
        order = np.argsort(hashes, kind="stable")
        hashes, masks = hashes[order], masks[order]
        # One entry per distinct hash; its mask ORs the benchmarks having an n-gram with that hash.
        first = np.flatnonzero(np.concatenate(([hashes.size > 0], hashes[1:] != hashes[:-1])))
        self._hash_keys = hashes[first]
        self._hash_masks = np.bitwise_or.reduceat(masks, first) if first.size else masks
        # A bit table over the hashes' top bits rejects nearly every non-benchmark n-gram with one lookup.
        self._table_bits = max(16, int(np.ceil(np.log2(max(self._hash_keys.size, 1) * 32))))
        self._table = np.zeros(1 << self._table_bits, dtype=bool)
        self._table[self._table_slots(self._hash_keys)] = True
        # Sorted hashes of the short problems, by word count (each is its own one run of that length), and a bit
        # table over all of them, which rejects nearly every run of a row with one lookup as above.
        self._short_hashes = {
            size: np.unique(self._ngrams(lines).grams(size)[1]) for size, lines in sorted(short_lines.items())
        }
        self._short_table = np.zeros(1 << self._table_bits, dtype=bool)
        for keys in self._short_hashes.values():
            self._short_table[self._table_slots(keys)] = True

    @property
    def num_ngrams(self) -> int:
        return len(self._ngram_masks)

    @property
    def num_short_problems(self) -> int:
        """Distinct problems shorter than `ngram_size` words that match a row holding their words in order."""
        return len(self._short_masks)

    @property
    def num_whole_row_problems(self) -> int:
        """Distinct problems too short to be looked for inside rows (`MIN_RUN_CHARS`): each matches a row equal to it."""
        return len(self._whole_row_masks)

    def _ngrams(self, texts: Sequence[str]) -> _BatchNgrams:
        return _BatchNgrams(texts, self.ngram_size, self._powers, self._word_powers)

    def _table_slots(self, hashes: np.ndarray) -> np.ndarray:
        return (hashes * _SPREAD) >> np.uint64(64 - self._table_bits)

    def flag_texts(self, texts: Sequence[str], first_row: int = 0) -> np.ndarray:
        """Benchmark bit masks (uint64), one per row; `first_row` only numbers rows in error messages."""
        masks = np.zeros(len(texts), dtype=np.uint64)
        if not texts:
            return masks
        try:
            batch = self._ngrams(texts)
        except (TypeError, AttributeError):  # _normalised met something other than text: name the row
            offset = next((i for i, text in enumerate(texts) if not isinstance(text, str)), None)
            if offset is None:
                raise
            raise ValueError(
                f"row {first_row + offset}: expected the problem text as a string, got {texts[offset]!r}"
            ) from None
        candidates = np.flatnonzero(self._table[self._table_slots(batch.hashes)])
        if candidates.size:
            slots = np.minimum(np.searchsorted(self._hash_keys, batch.hashes[candidates]), self._hash_keys.size - 1)
            found = self._hash_keys[slots] == batch.hashes[candidates]
            hits, hit_masks = candidates[found], self._hash_masks[slots[found]]
            hit_rows = batch.word_rows[batch.first_words[hits]]
            # Confirm each hit exactly, skipping hits that could only add benchmarks the row already has.
            for position, row, bits in zip(hits.tolist(), hit_rows.tolist(), hit_masks.tolist()):
                if bits & ~int(masks[row]):
                    masks[row] |= np.uint64(self._ngram_masks.get(batch.ngram(position), 0))
        for size, keys in self._short_hashes.items():
            first_words, hashes = batch.grams(size)
            candidates = np.flatnonzero(self._short_table[self._table_slots(hashes)])
            slots = np.minimum(np.searchsorted(keys, hashes[candidates]), keys.size - 1)
            for first in first_words[candidates[keys[slots] == hashes[candidates]]].tolist():
                masks[batch.word_rows[first]] |= np.uint64(self._short_masks.get(batch.words(first, size), 0))
        if self._whole_row_masks:
            for row in np.flatnonzero(
                (batch.row_word_counts > 0) & (batch.row_word_counts < self.ngram_size)
            ).tolist():
                line = batch.words(int(batch.row_first_words[row]), int(batch.row_word_counts[row]))
                masks[row] |= np.uint64(self._whole_row_masks.get(line, 0))
        return masks


# --- parallel flagging -------------------------------------------------------------------------------------------

_worker_state: tuple[NgramIndex, Sequence[str]] | None = None


def _init_worker(index: NgramIndex, rows: Sequence[str]) -> None:
    # With the default fork start method the index and the rows reach the workers without pickling;
    # each worker reads its own batches, so the parent only hands out row ranges.
    global _worker_state
    _worker_state = (index, rows)


def _flag_range(bounds: tuple[int, int]) -> np.ndarray:
    index, rows = _worker_state
    start, end = bounds
    return index.flag_texts(list(rows[start:end]), first_row=start)


def flag_texts_parallel(
    index: NgramIndex, rows: Sequence[str], num_proc: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    """Bit masks for every row, batches spread over `num_proc` processes (default: every core this process may
    use, `usable_cores`).

    `rows` is anything with `len` and slicing that returns texts: a list, or a lazy view of a dataset
    column that reads only the slice asked for.
    """
    num_proc = num_proc or usable_cores()
    ranges = [(start, min(start + batch_size, len(rows))) for start in range(0, len(rows), batch_size)]
    if not ranges:
        return np.zeros(0, dtype=np.uint64)
    if num_proc == 1:
        _init_worker(index, rows)
        results = [_flag_range(bounds) for bounds in ranges]
    else:
        with multiprocessing.get_context().Pool(num_proc, _init_worker, (index, rows)) as pool:
            results = list(pool.imap(_flag_range, ranges))
    return np.concatenate(results)
