"""One math-grading worker process: parses gold answers and verifies model answers with math-verify.

`open_r1.rewards._grading_pool` runs this file as a script (without importing the package) and talks to it over
stdin/stdout with length-prefixed pickle frames: "ready" once imports are warm, then for each frame it reads (a
list of tasks) one `(result, time.monotonic() when it finished)` frame per task, in order, each written as soon
as that task is done. Each worker grades in its own main thread, which is what math-verify 0.5.2 needs: its
timeouts use `signal.alarm`, and called from any other thread it swallows the resulting error and reports "not
equal" (a correct answer graded 0.0).

The parsing rules live here too (`parse_gold`, `parse_answer`, `answers_match`) so the benchmark's
sequential reference and the workers share them. Answer *extraction* (which part of a completion is
the final answer) is done by the caller in `open_r1.rewards.accuracy`; this module only sees the
extracted strings. It does not enforce the hard time limit: the parent kills a worker that overruns.

Before verify, a cheap pre-check (`_clearly_different`) settles answers that cannot match: numbers whose values
are clearly apart, a number against an interval, expressions clearly apart at two sample points. Proving a wrong
answer wrong is most of the cost of grading, and verify spends it in sympy's `simplify`. The pre-check only ever
answers "different" where verify must say "not equal" (tests/rewards/test_grading_worker.py holds it to that).

After parsing, `states_another_value` grades wrong an answer that states a value beside the one math-verify grades
(hedges in dropped text or a number's subscript, false equations, approximations that disagree): `parse_answer`
returns [] for it.

Not covered: which part of a completion is its answer (`open_r1.rewards.accuracy`), the hard time limit and the
pool of workers (`open_r1.rewards._grading_pool`).
"""

import dataclasses
import gc
import os
import pickle
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable

import sympy
from latex2sympy2_extended import NormalizationConfig
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.grader import is_assignment_relation, is_equation, take_last_relation
from math_verify.utils import timeout as alarm_timeout

from open_r1.rewards.grading_protocol import FRAME_HEADER, KIND_BOXED

# A gold answer is trusted LaTeX or a plain number: accept both notations and the default normalisation.
GOLD_EXTRACTION = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
# The model's boxed answer, normalised like upstream open-r1 except that TeX shorthands such as `\frac43`,
# `\frac 59` and `11\sqrt2` are read (upstream grades them 0.0; they are valid LaTeX and MATH uses them).
BOXED_ANSWER_EXTRACTION = [
    LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            nits=False, malformed_operators=True, basic_latex=True, equations=True, boxed="all", units=True
        ),
        boxed_match_priority=0,
        try_extract_without_anchor=False,
    )
]
# An <answer> block holds free text ("The answer is $5$."), so take its first LaTeX or plain expression.
ANSWER_BLOCK_EXTRACTION = [LatexExtractionConfig(), ExprExtractionConfig()]

WORKER_MEMORY_LIMIT_BYTES = 4 * 1024**3
# A comparison that took its alarm's whole time, less this, was stopped by it (alarms fire on whole seconds).
_ALARM_SLACK_SECONDS = 0.05


def _seconds(timeout: float) -> int:
    # math-verify's alarms take whole seconds; keep them under the parent's hard limit where possible.
    return max(1, int(timeout / 2))


# The imaginary unit set upright or as text (`6 - 5\\mathrm{i}`): math-verify drops it as a unit, which paid `5\\mathrm{i}`
# against 5 and graded an honest `6 - 5\\mathrm{i}` 0 (a red team's). Read as the `i` it is, in golds and answers alike.
_TEXT_IMAGINARY_UNIT = re.compile(r"\\(?:mathrm|textrm|text|mathit|textit)\s*\{\s*i\s*\}")


def _plain_imaginary_unit(latex: str) -> str:
    return _TEXT_IMAGINARY_UNIT.sub("i", latex)


def parse_gold(gold_latex: str, timeout: float) -> list:
    """Parses a prepared gold answer (the content of its \\boxed{}, or the bare answer); [] if unparseable."""
    gold_latex = _plain_imaginary_unit(gold_latex)
    parsed = parse(
        "\\boxed{" + gold_latex + "}",
        extraction_config=GOLD_EXTRACTION,
        extraction_mode="first_match",
        parsing_timeout=_seconds(timeout),
    )
    if not parsed:
        # A gold that is prose rather than one expression ("x = 3 or x = 5"): let math-verify find the expression.
        parsed = parse(gold_latex, extraction_mode="first_match", parsing_timeout=_seconds(timeout))
    return parsed


def _parse_boxed(answer: str, timeout: float, extraction_config: list = BOXED_ANSWER_EXTRACTION) -> list:
    return parse(
        "\\boxed{" + answer + "}",
        extraction_config=extraction_config,
        extraction_mode="first_match",
        parsing_timeout=_seconds(timeout),
    )


def parse_answer(answer: str, kind: str, timeout: float) -> list:
    """Parses the model's extracted answer: the content of its last \\boxed{}, or an <answer> block; [] (graded
    wrong) for an answer that states more than one value (`states_another_value`)."""
    answer = _plain_imaginary_unit(answer)
    if kind == KIND_BOXED:
        parsed = _parse_boxed(answer, timeout)
    else:
        parsed = parse(
            answer,
            extraction_config=ANSWER_BLOCK_EXTRACTION,
            extraction_mode="first_match",
            parsing_timeout=_seconds(timeout),
        )
    if parsed and states_another_value(answer, kind, parsed, timeout):
        return []
    return parsed


# Two values that differ by more than this (relative) cannot be equal; math-verify itself calls numbers
# equal only to 6 decimals, so this is far on the safe side.
_CLEARLY_DIFFERENT = 1e-4
# Where a symbolic answer is evaluated: positive, irrational-looking, a different value per symbol (in name
# order), so that `p - q` or `x/y` are not accidentally 0 or 1 there.
_SAMPLE_POINTS = ((0.7317, 0.2463), (1.3813, 0.3719))
# Expressions built only from these can be evaluated numerically at a point; anything else (integrals, sums,
# limits, undefined functions, floor, piecewise...) is left to math-verify.
_EVALUABLE = (
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.Number,
    sympy.NumberSymbol,
    sympy.core.numbers.ImaginaryUnit,
    sympy.Symbol,
    sympy.exp,
    sympy.log,
    sympy.Abs,
    sympy.functions.elementary.trigonometric.TrigonometricFunction,
    sympy.functions.elementary.trigonometric.InverseTrigonometricFunction,
    sympy.functions.elementary.hyperbolic.HyperbolicFunction,
)


# Evaluable too where they hold no symbol: a constant built with them has one value. They are not smooth, so the
# sample-point comparison of expressions with symbols leaves them to math-verify.
_CONSTANT_EVALUABLE = (*_EVALUABLE, sympy.floor, sympy.ceiling, sympy.Max, sympy.Min, sympy.factorial, sympy.binomial)


def _finite(value: complex) -> bool:
    return value == value and abs(value) != float("inf")


def _clearly_apart(a: complex, b: complex) -> bool:
    return abs(a - b) > _CLEARLY_DIFFERENT * max(1.0, abs(a), abs(b))


def _plain_expression(item) -> bool:
    """An expression math-verify compares numerically and symbolically only (no relation, set, matrix or lone
    symbol, which it compares by their own rules)."""
    return (
        isinstance(item, sympy.Expr)
        and not isinstance(item, (sympy.Symbol, sympy.MatrixExpr))
        and all(isinstance(node, _EVALUABLE) for node in sympy.preorder_traversal(item))
    )


def _constant_value(item, plain: bool | None = None) -> complex | None:
    """The value of a constant expression, plain or also built with `_CONSTANT_EVALUABLE`'s functions (`\\lfloor 41
    \\rfloor`, `41!`); `plain`: `_plain_expression(item)` if the caller has it already."""
    if not (isinstance(item, sympy.Expr) and item.is_number):
        return None
    if not (_plain_expression(item) if plain is None else plain):
        if not all(isinstance(node, _CONSTANT_EVALUABLE) for node in sympy.preorder_traversal(item)):
            return None
        # Decimals as the fractions they are written as: a binary float evaluated at 30 digits lands beside an integer
        # (0.58 x 100 = 57.99...), and floor or ceiling would step to the next one.
        item = item.xreplace({number: sympy.Rational(str(number)) for number in item.atoms(sympy.Float)})
    value = complex(item.evalf(30))
    return value if _finite(value) else None


def _values_at_sample_points(item, symbols: list) -> list[complex] | None:
    values = []
    for point in _SAMPLE_POINTS:
        substitution = {symbol: sympy.Float(point[0] + point[1] * index, 30) for index, symbol in enumerate(symbols)}
        value = complex(item.evalf(30, subs=substitution))
        if not _finite(value):
            return None
        values.append(value)
    return values


def _symbols_hold_at_sample_points(symbols: list) -> bool:
    """Whether every symbol's assumptions (real, positive, integer...) hold for the sample values; a value that
    breaks them (0.73 for an integer n) could tell apart expressions that are equal under the assumptions."""
    probe = sympy.Float(_SAMPLE_POINTS[0][0], 30)
    return all(
        getattr(probe, f"is_{name}", None) == holds
        for symbol in symbols
        for name, holds in symbol.assumptions0.items()
    )


def _is_nondegenerate_interval_set(item) -> bool:
    """An interval of positive length, or a union with one: never equal to a single number."""
    if isinstance(item, sympy.Union):
        return any(_is_nondegenerate_interval_set(part) for part in item.args)
    if not isinstance(item, sympy.Interval):
        return False
    start, end = item.start, item.end
    if start is sympy.S.NegativeInfinity or end is sympy.S.Infinity:
        return True
    start_value, end_value = _constant_value(start), _constant_value(end)
    return (
        start_value is not None
        and end_value is not None
        and start_value.imag == end_value.imag == 0
        and end_value.real > start_value.real
        and _clearly_apart(start_value, end_value)
    )


def _pair_clearly_different(gold, answer) -> bool:
    """True only where math-verify's `verify` must find `gold` and `answer` unequal, decided without its symbolic
    simplification (most of the cost of grading a wrong answer). False means "don't know": verify decides.

    It mirrors verify's first steps (an assignment gold `x = 5` is compared by its right-hand side, an equation
    answer against a non-equation gold likewise) and then settles three cases:
    - two constants whose values are clearly apart;
    - a constant against an interval of positive length (or a union with one);
    - two expressions, at least one with free symbols, built from arithmetic and elementary functions, whose
      values are clearly apart at two sample points that satisfy the symbols' assumptions: expressions equal as
      functions agree at every point where both are defined, so simplify(gold - answer) cannot be zero."""
    if isinstance(gold, (sympy.Basic, sympy.MatrixBase)) and isinstance(answer, (sympy.Basic, sympy.MatrixBase)):
        if is_assignment_relation(gold) and not is_equation(answer):
            gold = take_last_relation(gold).rhs
        if is_equation(answer) and not is_equation(gold):
            answer = take_last_relation(answer).rhs
    else:
        return False
    # Walking an expression tree is the costly part of this check: do it once per side.
    gold_plain, answer_plain = _plain_expression(gold), _plain_expression(answer)
    gold_constant, answer_constant = _constant_value(gold, gold_plain), _constant_value(answer, answer_plain)
    if gold_constant is not None and answer_constant is not None:
        return _clearly_apart(gold_constant, answer_constant)
    if gold_constant is not None or answer_constant is not None:
        other = answer if gold_constant is not None else gold
        if _is_nondegenerate_interval_set(other):
            return True
    if not (gold_plain and answer_plain):
        return False
    symbols = sorted(gold.free_symbols | answer.free_symbols, key=lambda symbol: symbol.name)
    if not symbols or not _symbols_hold_at_sample_points(symbols):
        return False
    # verify also calls expressions that print alike equal; two distinct symbols named alike (`x` real and `x`
    # plain) would get different sample values here.
    if str(gold).strip() == str(answer).strip() or len({symbol.name for symbol in symbols}) < len(symbols):
        return False
    gold_values = _values_at_sample_points(gold, symbols)
    answer_values = _values_at_sample_points(answer, symbols) if gold_values else None
    if not gold_values or not answer_values:
        return False
    return all(_clearly_apart(g, a) for g, a in zip(gold_values, answer_values))


# --- answers that state more than one value -------------------------------------------------------------------
# math-verify grades one value of an answer and drops the rest: the text after the first \\text{} ("42 \\text{ (or
# 43)}" is 42), a number's subscript ("42_{43}" is 42), every side of an equation chain but the last ("a = 41 = 42"
# and "43 = x = 42" are 42), the right-hand side of an equation against a plain gold ("41 = 42" is 42), the first
# side of "42 \\approx 41". `states_another_value` calls such an answer wrong, with linear scans of the answer plus,
# for a chain or an \\approx, one more parse.

# The boxed configuration without equation splitting: an equation chain parses whole, as a conjunction of equations.
_WHOLE_CHAIN_EXTRACTION = [
    dataclasses.replace(config, normalization_config=dataclasses.replace(config.normalization_config, equations=False))
    for config in BOXED_ANSWER_EXTRACTION
]
# Where latex2sympy's equation normalisation splits an answer (not in <=, >=, !=, \\=).
_EQUALS = re.compile(r"(?<![\\<!>])=")
# Numbers in digits, and in English words ("or forty-three" is as much a hedge as "or 43").
_NUMBER = re.compile(
    r"\d+|(?<![a-z])(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand"
    r"|million|billion)",
    re.IGNORECASE,
)
# A single-digit power, as units have ("15\\mbox{ cm}^2", "\\mathrm{m/s^{-2}}"): math-verify drops it with the unit.
# Both sides of the comparison leave it out, so an expression's own x^2 changes nothing.
_UNIT_POWER = re.compile(r"\^\s*(?:\d|\{\s*[-+]?\s*\d\s*\})")
_APPROX_OR_BRACE = re.compile(r"\\approx(?![A-Za-z])|\\.|[{}]", re.DOTALL)
# Most sides of "a \\approx b \\approx ..." worth parsing ("\\frac{22}{7} \\approx 3.1429 \\approx 3.14" has three).
_MAX_APPROXIMATIONS = 4
# Finer places than this are below the precision the values are compared at.
_MAX_DECIMAL_PLACES = 12
_DECIMAL = re.compile(r"\s*[-+]?\d+(?:\.(\d*))?\s*i?\s*")  # "1.414i" too: an imaginary decimal
# Spacing latex2sympy skips between a number and its subscript ("42\\,_{43}"; \\text{ } is gone from what it read).
_SPACING = r"(?:\s|\\[,;:! ]|\\q?quad(?![A-Za-z]))*"
# A number followed by "_": latex2sympy drops that subscript from the value ("42_{43}", "42_{(43)}", "42^2_3" are 42,
# 42 and 42^2). Digits right after a letter, "\\", "_" or "^" belong to a name or another script ("x_1", "x^2_3").
_NUMBER_BEFORE_SUBSCRIPT = re.compile(
    r"(?<![A-Za-z\\_^\d.])(\d+(?:\.\d+)?)"
    + _SPACING
    + r"(?:\^\s*(?:\{[^{}]*\}|\\[A-Za-z]+|[^\s{}])"
    + _SPACING
    + r")?_\s*"
)
# A subscript that is not a brace group is one number, command or character, as latex2sympy reads it ("42_43" is 42).
_SUBSCRIPT_TOKEN = re.compile(r"\d+(?:\.\d+)?|\\[A-Za-z]+|\\.|.", re.DOTALL)
_BRACE = re.compile(r"\\.|[{}]", re.DOTALL)
# A base subscript ("52_8", "4210_{5}", "101_{(2)}", MATH's answers in other bases): it names the base, not a value.
_BASE = re.compile(r"\{?\s*(?:\(\s*)?(\d{1,2})\s*(?:\)\s*)?\}?")  # no two \s* side by side: linear
_MAX_BASE = 36


def _digits(text: str) -> Counter:
    """The digits of the numbers a text writes (leading zeros aside, so "025" and "25" agree; digits, not numbers, as
    math-verify rewrites "\\frac43" as "\\frac{4}{3}") and its number words, unit powers aside."""
    counts = Counter()
    for number in _NUMBER.findall(_UNIT_POWER.sub(" ", text)):
        if number[0].isdigit():
            counts.update(number.lstrip("0") or "0")
        else:
            counts[number.lower()] += 1
    return counts


def _closing_braces(text: str) -> dict[int, int]:
    """Where each "{" of a text is closed (unclosed ones: its end); escaped braces aside. One pass, so finding the end
    of every subscript costs no more than the text."""
    closing, opened = {}, []
    for token in _BRACE.finditer(text):
        if token.group() == "{":
            opened.append(token.start())
        elif token.group() == "}" and opened:
            closing[opened.pop()] = token.end()
    closing.update((start, len(text)) for start in opened)
    return closing


def _is_base(number: str, subscript: str) -> bool:
    """Whether a subscript is a base the number is written in: 2 to 36, above each of the number's digits."""
    written = _BASE.fullmatch(subscript)
    if not written:
        return False
    base = int(written.group(1))
    # A radix point is the base's too ("0.0011_{2}", MATH's fractions in base 2).
    return 2 <= base <= _MAX_BASE and all(int(digit) < base for digit in number if digit != ".")


def _without_number_subscripts(read: str) -> str:
    """What math-verify read, less the subscripts of numbers that latex2sympy drops from the value ("42_{43}" is
    "42"); a base ("52_8") stays, as a base is not another value."""
    closing, kept, cursor = None, [], 0
    for match in _NUMBER_BEFORE_SUBSCRIPT.finditer(read):
        if match.start() < cursor:
            continue  # a number inside a subscript already dropped
        start = match.end()
        if read.startswith("{", start):
            closing = _closing_braces(read) if closing is None else closing
            end = closing.get(start, len(read))
        else:
            token = _SUBSCRIPT_TOKEN.match(read, start)
            end = token.end() if token else start
        if _is_base(match.group(1), read[start:end]):
            continue
        kept.append(read[cursor : match.end()])
        cursor = end
    return "".join(kept) + read[cursor:]


def _top_level_sides(answer: str) -> list[str]:
    """The answer split at its \\approx signs outside braces."""
    sides, start, depth = [], 0, 0
    for token in _APPROX_OR_BRACE.finditer(answer):
        text = token.group()
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
        elif text.startswith("\\approx") and depth == 0:
            sides.append(answer[start : token.start()])
            start = token.end()
    return sides + [answer[start:]]


def _chain_states_two_values(conjunction: sympy.And, constant_value: Callable) -> bool:
    """Whether a conjunction's equations, joined where they share a side as a chain's do ("43 = x = 42" parses as
    Eq(43, x) & Eq(x, 42)), call two constants that are clearly apart equal. Equations that share no side ("x = 1,
    y = 2") are separate statements."""
    group_of: dict = {}  # side -> index into `parent`, a union-find over the sides
    parent: list[int] = []

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for equation in conjunction.args:
        if not isinstance(equation, sympy.Eq):
            continue  # "1 < x = 42": an inequality joins nothing
        indices = [group_of.setdefault(side, len(group_of)) for side in (equation.lhs, equation.rhs)]
        parent.extend(range(len(parent), len(group_of)))
        parent[root(indices[0])] = root(indices[1])
    first_value_of_group: dict[int, complex] = {}
    for side, index in group_of.items():
        value = constant_value(side)
        if value is None:
            continue
        first = first_value_of_group.setdefault(root(index), value)
        if _clearly_apart(first, value):
            return True
    return False


def _side_value(side) -> complex | None:
    """A side's constant value (`_constant_value`), reading `i` in a compound side ("1+2i", "3+i") as the imaginary
    unit, which math-verify leaves a symbol: "7 = 1+2i" was no false equation, and graded as 1+2i. A lone `i` ("i =
    3") may name an index and stays a symbol."""
    value = _constant_value(side)
    if value is not None or not isinstance(side, sympy.Expr) or isinstance(side, sympy.Symbol):
        return value
    symbols = side.free_symbols
    if len(symbols) != 1 or next(iter(symbols)).name != "i":
        return None
    return _constant_value(side.xreplace({next(iter(symbols)): sympy.I}))


def _matrix_values(side) -> tuple[tuple[int, int], list[complex | None]] | None:
    """(shape, value of each entry, None where it is no constant) of a matrix, a product, sum or power of constant
    matrices evaluated first (`(1,1,1)^T + (1,1,1)^T`, a red team's); None for anything else."""
    if (
        isinstance(side, sympy.Expr)
        and not isinstance(side, sympy.MatrixBase)
        and not side.free_symbols
        and any(isinstance(node, sympy.MatrixBase) for node in sympy.preorder_traversal(side))
    ):
        side = side.doit()  # a power of a matrix parses as a scalar Pow ("I^{-1}"), evaluated to a MatPow
        if isinstance(side, sympy.MatrixExpr) and not isinstance(side, sympy.MatrixBase):
            side = side.as_explicit()
    if not isinstance(side, sympy.MatrixBase):
        return None
    return side.shape, [_side_value(entry) for entry in side]


def _matrices_differ(left: tuple, right: tuple) -> bool:
    """Whether two `_matrix_values` differ: in shape, or in an entry that is a constant on both sides."""
    return left[0] != right[0] or any(
        a is not None and b is not None and _clearly_apart(a, b) for a, b in zip(left[1], right[1])
    )


def _names_a_value(side) -> bool:
    """An expression in free symbols that is not a lone symbol ("x^2 + 1", not "x" or "f"): said equal to a number,
    it is given a value."""
    return isinstance(side, sympy.Expr) and not isinstance(side, sympy.Symbol) and bool(side.free_symbols)


def _sides_state_two_values(left, right, value_of: Callable) -> bool:
    """Whether an equation's two sides are different values: constants clearly apart ("41 = 42", "7 = 1+2i"), a
    matrix and a number, or constant matrices of other shapes or entries. ("5 = x^2+1" depends on the gold:
    `_number_given_to_graded_expression`.)"""
    left_value, right_value = value_of(left), value_of(right)
    if left_value is not None and right_value is not None:
        return _clearly_apart(left_value, right_value)
    left_matrix, right_matrix = _matrix_values(left), _matrix_values(right)
    if (left_matrix and right_value is not None) or (right_matrix and left_value is not None):
        return True
    return bool(left_matrix and right_matrix and _matrices_differ(left_matrix, right_matrix))


def _symbol_free(side) -> bool:
    """A scalar with no free symbols that `_side_value` does not evaluate: infinity, a sum, an integral."""
    return isinstance(side, sympy.Expr) and not isinstance(side, sympy.MatrixExpr) and not side.free_symbols


def _number_given_to_graded_expression(gold_parsed: list, answer_parsed: list) -> bool:
    """Whether the answer is "number = expression in symbols" ("5 = x^2+1") against a gold that is no equation:
    verify then grades the answer by its right side alone, so the expression was paid although the answer says it
    equals a number. Against an equation gold ("x^2+y^2=25") verify compares the relations whole, and "25 = x^2+y^2"
    is that equation; "x + y = 10" is graded by its number."""
    if any(isinstance(gold, sympy.Basic) and is_equation(gold) for gold in gold_parsed):
        return False
    return any(
        isinstance(item, sympy.Eq)
        and (_symbol_free(item.lhs) or _side_value(item.lhs) is not None)  # "\\infty = x+1", a sum, "1+2i" too
        and _names_a_value(item.rhs)
        and _side_value(item.rhs) is None  # "2+3i = 2+3i" is a number on both sides
        for item in answer_parsed
    )


def _false_equation(parsed: list) -> bool:
    """Whether a parse holds an equation between two different values ("41 = 42", "6 \\times 7 = 43", "7 = 1+2i", a
    matrix = 5: `_sides_state_two_values`), directly or, for constants, through a chain's variable ("43 = x = 42")."""
    values: dict = {}

    def constant_value(side) -> complex | None:
        # A chain's inner sides belong to two equations: evaluate each once.
        if side not in values:
            values[side] = _side_value(side)
        return values[side]

    for item in parsed:
        if not isinstance(item, sympy.Basic):
            continue
        for node in sympy.preorder_traversal(item):
            if isinstance(node, sympy.Eq):
                if _sides_state_two_values(node.lhs, node.rhs, constant_value):
                    return True
            elif isinstance(node, sympy.And) and _chain_states_two_values(node, constant_value):
                return True
    return False


def _approximations_disagree(sides: list[str], parses: list[list], graded) -> bool:
    """Whether the constant sides of "a \\approx b \\approx ..." (`parses`: each side's) differ by a unit in the last
    place of the coarsest decimal among them or more ("42 \\approx 41"; "\\pi \\approx 3.14" agree), or clearly when none
    is a decimal; or the side math-verify grades (`graded`, the whole answer's parse) is a matrix or an expression in
    symbols beside a number ("x^2+1 \\approx 5" was graded as x^2+1). A name beside its value ("AB \\approx 5.2",
    "\\sin x \\approx 0.5", graded as the number) is one value."""
    values, last_place, matrices = [], None, []
    # A complex number ("6 - 5i", whose i is a symbol to math-verify) is a value, compared below.
    valued = (_names_a_value(graded) and _side_value(graded) is None) or isinstance(graded, sympy.MatrixBase)
    for side, parsed in zip(sides, parses):
        item = parsed[0] if parsed else None
        if isinstance(item, sympy.Basic) and is_equation(item):
            item = take_last_relation(item).rhs  # "x = 41 \\approx 42": x's value is 41
        matrix = _matrix_values(item)
        if matrix is not None:  # "v \\approx (0,0,0)^T" beside another matrix (a red team's)
            if matrices and _matrices_differ(matrices[0], matrix):
                return True
            matrices.append(matrix)
            continue
        value = _side_value(item) if isinstance(item, sympy.Basic) else None
        if value is None:
            continue
        values.append(value)
        decimal = _DECIMAL.fullmatch(side)
        if decimal:
            place = 10.0 ** -min(len(decimal.group(1) or ""), _MAX_DECIMAL_PLACES)
            last_place = place if last_place is None else max(last_place, place)
    if valued and values:
        return True
    if len(values) < 2:
        return False
    if last_place is None:
        return any(_clearly_apart(values[0], value) for value in values[1:])
    # A unit in the last place, less float rounding (1.2 - 1.1 is 0.0999...).
    return any(abs(values[0] - value) >= last_place * (1 - 1e-6) for value in values[1:])


def _within_time(check: Callable[[], bool], timeout: float) -> bool:
    """`check()` under math-verify's alarm (not around a parse, whose own alarm would cancel it): evaluating the
    sides of an honest answer is quick, so running out of time counts as a hedge; an error in sympy as none."""
    try:
        return alarm_timeout(_seconds(timeout))(check)()
    except TimeoutError:
        return True
    except Exception:
        return False


# A hedge word followed by a value without a number, in text math-verify dropped: a letter of its own, a command (a
# symbol) or a parenthesised letter ("C \\text{ or D}", "\\pi \\text{ (or e)}", "B \\text{, possibly C}"); a hedge word
# before a word is a comment ("120 \\text{ ways (or arrangements)}", "2 \\text{ hours or so}").
_HEDGE_WORDS = "or|maybe|possibly|perhaps|probably|alternatively|either|otherwise"
_HEDGE = re.compile(
    rf"\b(?:{_HEDGE_WORDS})\b[\s(,:;]*(?:\\[A-Za-z]+|[A-Za-z](?![A-Za-z]))",
    re.IGNORECASE,
)
# A hedge word before a word that names another value of the same answer ("42 \\text{ or its negative}", "\\text{ (or
# minus that)}", "\\text{ unless negative}", "1+2i \\text{ (or its conjugate)}": a red team's, each earned 1.0); a
# hedge word before another word stays a comment. Bounded: the value word within 40 characters of the hedge word.
_HEDGE_TO_A_RELATED_VALUE = re.compile(
    rf"\b(?:{_HEDGE_WORDS}|unless)\b[^.;\n]{{0,40}}?"
    r"\b(?:negative|opposite|conjugate|reciprocal|inverse|double|twice|half|minus|sign)\b",
    re.IGNORECASE,
)
# The text commands whose content math-verify drops.
_TEXT_COMMAND = re.compile(r"\\(?:text|textnormal|textup|textrm|textit|textbf|textsf|mbox|mathrm|operatorname)\s*\{")
# A multiple-choice answer as read, a capital letter bare or in parentheses; another choice letter in the text.
_CHOICE = re.compile(r"\(?([A-J])\)?")
_CHOICE_LETTER = re.compile(r"(?<![A-Za-z\\])[A-J](?![A-Za-z])")


def _several_values(value) -> bool:
    """Whether a parse is several values (a set of two or more, a union, a tuple or list): an "or" read as such."""
    if isinstance(value, sympy.FiniteSet):
        return len(value) > 1
    return isinstance(value, sympy.Union) or (isinstance(value, (sympy.Tuple, tuple, list, set)) and len(value) > 1)


def _dropped_texts(answer: str) -> list[str]:
    """The contents of the answer's outermost text commands, braces inside removed ("\\text{ o{}r {D}}" is " or D").
    Linear: the braces are matched in one pass, and a group inside another is read with it."""
    closing, texts, covered = _closing_braces(answer), [], 0
    for command in _TEXT_COMMAND.finditer(answer):
        opening = command.end() - 1
        if opening < covered:
            continue
        covered = closing.get(opening, len(answer))
        texts.append(answer[opening + 1 : covered].replace("{", "").replace("}", ""))
    return texts


def _hedged_in_text(answer: str, parsed: list) -> bool:
    """Whether text math-verify dropped offers another value without a number (`_digits` catches those): a hedge word
    before a value (`_HEDGE`) where the answer parsed to one value (an "or" that math-verify reads makes a set instead:
    "x = 5 \\text{ or } x = -5"), or, beside a choice letter, another one ("B \\text{/C}"). Units and comments ("42
    \\text{ m/s}", "42 \\text{ (exact)}", "x \\text{ m}") are neither. Linear in the answer's length."""
    values = [item for item in parsed if not isinstance(item, str)]
    if len(values) != 1 or _several_values(values[0]):
        return False
    texts = _dropped_texts(answer)
    if any(_HEDGE.search(text) or _HEDGE_TO_A_RELATED_VALUE.search(text) for text in texts):
        return True
    read = next((item for item in reversed(parsed) if isinstance(item, str)), "")
    choice = _CHOICE.fullmatch(read.strip())
    if choice is None:
        return False
    return any(letter != choice.group(1) for text in texts for letter in _CHOICE_LETTER.findall(text))


def states_another_value(answer: str, kind: str, parsed: list, timeout: float) -> bool:
    """Whether an answer states a value beside the one math-verify grades, or an equation between different numbers:
    - a number math-verify dropped ("42 \\text{ (or 43)}", "a = 41 = 42", an <answer> block's "42, or maybe 43", a
      number's subscript "42_{43}"); single-digit powers ("15\\mbox{ cm}^2") and bases ("52_8", see `_is_base`) aside.
      Text without numbers ("42 \\text{ cm}", "42 \\text{ (exact)}") is a unit or a comment; text with another number,
      in digits or English words, is a hedge, even "42 \\text{ (2 s.f.)}" or "42 \\text{ (only one)}"; so is dropped text
      with a hedge word or, beside a choice letter, another letter ("C \\text{ or D}", "B \\text{/C}": `_hedged_in_text`);
    - an equation whose sides are constants clearly apart ("41 = 42", "x = 41 = 42", "41 \\equiv 42", "7 = 1+2i"), also
      through a chain's other sides ("43 = x = 42"), or other values (a matrix = 5: `_sides_state_two_values`; "5 =
      x^2+1" against a gold that is no equation is graded wrong in `parsed_answers_match`); a boxed chain is parsed
      whole for this, and one that cannot be ("x := 41 := 42") is wrong. "x = 42", "6 \\times 7 = 42", "x = 6 \\times 7 = 42" and "y = 2x + 3" state one value;
    - approximations that disagree ("42 \\approx 41", see `_approximations_disagree`).
    Sets, "or", "\\pm" and lists are math-verify's: they parse to several values, which a single gold never equals.
    The scans are linear in the answer's length; a chain costs one more parse, an \\approx one per side (at most
    `_MAX_APPROXIMATIONS`)."""
    whole = parsed
    if kind == KIND_BOXED and len(_EQUALS.findall(answer)) >= 2:
        whole = _parse_boxed(answer, timeout, _WHOLE_CHAIN_EXTRACTION)
        if not any(isinstance(item, (sympy.Basic, sympy.MatrixBase)) for item in whole):
            return True
    read = next((item for item in reversed(whole) if isinstance(item, str)), "")
    if _digits(answer) - _digits(_without_number_subscripts(read)) or _hedged_in_text(answer, parsed):
        return True
    if _within_time(lambda: _false_equation(whole), timeout):
        return True
    sides = _top_level_sides(answer) if "\\approx" in answer else [answer]
    if len(sides) < 2:
        return False
    if len(sides) > _MAX_APPROXIMATIONS:
        return True  # a final answer is one value, not a table of them; and each side costs a parse
    parses = [_parse_boxed(side, timeout) for side in sides]
    graded = next((item for item in parsed if not isinstance(item, str)), None)
    return _within_time(lambda: _approximations_disagree(sides, parses, graded), timeout)


def _clearly_different(gold_parsed: list, answer_parsed: list, timeout: float) -> bool | None:
    """True when no pair of gold and answer parses can match (see `_pair_clearly_different`); verify compares every
    pair, text against text and sympy against sympy. None when the check ran out of time: evaluating an honest answer
    at two points is quick, and verify would spend its own alarm on the same expression."""
    gold_strings = {g.strip() for g in gold_parsed if isinstance(g, str)}
    if any(isinstance(a, str) and a.strip() in gold_strings for a in answer_parsed):
        return False
    gold_objects = [g for g in gold_parsed if not isinstance(g, str)]
    answer_objects = [a for a in answer_parsed if not isinstance(a, str)]
    if not gold_objects or not answer_objects:
        return False
    try:
        return alarm_timeout(_seconds(timeout))(
            lambda: all(_pair_clearly_different(g, a) for g in gold_objects for a in answer_objects)
        )()
    except TimeoutError:
        return None
    except Exception:
        return False


def answers_match(gold_parsed: list, answer: str, kind: str, timeout: float) -> bool | None:
    return parsed_answers_match(gold_parsed, parse_answer(answer, kind, timeout), timeout)


def parsed_answers_match(gold_parsed: list, answer_parsed: list, timeout: float) -> bool | None:
    """True or False; None when the pre-check, or one of verify's comparisons that did not match, ran out of time
    (the parent counts the answer ungraded, reward 0). Once the pre-check has, verify is not tried: an answer built to
    stall the grader costs one alarm, not two."""
    if not answer_parsed:
        return False
    if _within_time(lambda: _number_given_to_graded_expression(gold_parsed, answer_parsed), timeout):
        return False
    different = _clearly_different(gold_parsed, answer_parsed, timeout)
    if different is None:
        return None
    if different:
        return False
    # verify pair by pair, as verify(gold_parsed, answer_parsed) compares them: it answers False for a comparison
    # its alarm stopped, which only then has taken the alarm's whole time.
    seconds, out_of_time = _seconds(timeout), False
    for gold in gold_parsed:
        for answer in answer_parsed:
            started = time.monotonic()
            if verify(gold, answer, timeout_seconds=seconds):
                return True
            out_of_time = out_of_time or time.monotonic() - started >= seconds - _ALARM_SLACK_SECONDS
    return None if out_of_time else False


def _read_frame(stream) -> object:
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        raise EOFError
    (size,) = FRAME_HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _write_frame(stream, message: object) -> None:
    data = pickle.dumps(message)
    stream.write(FRAME_HEADER.pack(len(data)) + data)
    stream.flush()


class ParseCache:
    """What this worker has parsed: each gold, and short answers (the same short answer, "2" or "\\frac{1}{2}",
    turns up against many golds). Bounded, so a long-lived worker's memory stays flat."""

    MAX_ENTRIES = 4096
    # Longer answers rarely repeat, and their parses can be large.
    MAX_CACHED_ANSWER_CHARS = 200

    def __init__(self):
        self.golds: dict = {}
        self.answers: dict = {}

    def remember_gold(self, gold_latex: str, parsed: list) -> None:
        if len(self.golds) >= self.MAX_ENTRIES:
            self.golds.clear()
        self.golds[gold_latex] = parsed

    def parsed_answer(self, answer: str, kind: str, timeout: float) -> list:
        if len(answer) > self.MAX_CACHED_ANSWER_CHARS:
            return parse_answer(answer, kind, timeout)
        key = (answer, kind, _seconds(timeout))
        parsed = self.answers.get(key)
        if parsed is None:
            started = time.monotonic()
            parsed = parse_answer(answer, kind, timeout)
            # Keep only parses that came nowhere near math-verify's parsing timeout: one cut short under load
            # (empty, or a fallback extraction) must not stick for the answer's later occurrences.
            if parsed and time.monotonic() - started < _seconds(timeout) / 4:
                if len(self.answers) >= self.MAX_ENTRIES:
                    self.answers.clear()
                self.answers[key] = parsed
        return parsed


def _handle(task: tuple, cache: ParseCache) -> object:
    if task[0] == "gold":
        _, gold_latex, timeout = task
        parsed = parse_gold(gold_latex, timeout)
        if not parsed:
            return None
        cache.remember_gold(gold_latex, parsed)
        try:
            data = pickle.dumps(parsed)
            # Some sympy objects do not survive pickling (Eq(x, Interval(-2, 7)) comes back as False);
            # for those the graders re-parse the gold text themselves.
            if str(pickle.loads(data)) == str(parsed):
                return data
        except Exception:
            pass
        return b""
    if task[0] == "grade":
        _, gold_latex, gold_pickle, answer, kind, timeout = task
        gold_parsed = cache.golds.get(gold_latex)
        if gold_parsed is None:
            gold_parsed = pickle.loads(gold_pickle) if gold_pickle else parse_gold(gold_latex, timeout)
            cache.remember_gold(gold_latex, gold_parsed)
        try:
            return parsed_answers_match(gold_parsed, cache.parsed_answer(answer, kind, timeout), timeout)
        except Exception:
            return False
    raise ValueError(f"unknown grading task {task[0]!r}")


def main() -> None:
    # Frames go to the real stdout; math-verify prints parse errors, which must not corrupt the protocol.
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    frames_in = sys.stdin.buffer
    # sympy can allocate without bound on adversarial input; a MemoryError is just a wrong answer.
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_LIMIT_BYTES, WORKER_MEMORY_LIMIT_BYTES))

    answers_match(parse_gold("1", 1.0), "1", KIND_BOXED, 1.0)  # warm up imports before reporting ready
    # The hundreds of thousands of objects sympy and the LaTeX parser leave after import live as long as the worker:
    # keep the garbage collector from walking them again and again (about a tenth of the grading time).
    gc.freeze()
    _write_frame(frames_out, "ready")
    cache = ParseCache()
    while True:
        try:
            chunk = _read_frame(frames_in)
        except EOFError:
            return
        for task in chunk:
            try:
                result = _handle(task, cache)
            except Exception:
                result = None if task[0] == "gold" else False
            # One frame per task, written at once: the parent times each task from the previous one's finish.
            _write_frame(frames_out, (result, time.monotonic()))


if __name__ == "__main__":
    main()
