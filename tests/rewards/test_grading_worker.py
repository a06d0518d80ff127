"""The grader's cheap pre-check may only ever say "different" where math-verify's `verify` says "not equal".

`grading_worker._clearly_different` lets a wrong answer skip verify's symbolic simplification (most of the cost
of grading it). A pre-check that wrongly calls two equal answers different would grade correct completions 0.0,
so these tests pin it against plain `verify`: on identities that look nothing alike, on the cases it settles
(numbers, a number against an interval, expressions at sample points), and on every pair drawn from a pool of
answers of all shapes. With ../shared/data present, the same holds on real MATH-500 answer pairs.

The check for answers that state another value (`states_another_value`, whose verdicts tests/rewards/test_accuracy.py
specifies) is held to its cost here: linear scans, a bounded number of parses. So are the verdicts of its two
subtler parts, a chain through a variable ("43 = x = 42") and a number's subscript ("42_{43}"), which math-verify
reads as 42 and graded 1.0 against gold 42.
"""

import itertools
import json
import random
import time

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from math_verify import verify

from open_r1.rewards.accuracy import MAX_ANSWER_CHARS
from open_r1.rewards.grading_worker import (
    KIND_BOXED,
    _clearly_different,
    _digits,
    _false_equation,
    _hedged_in_text,
    _top_level_sides,
    _without_number_subscripts,
    parse_answer,
    parse_gold,
    parsed_answers_match,
    states_another_value,
)

TIMEOUT = 5.0

# Equal answers written very differently: the pre-check must leave every one of them to verify.
EQUAL_PAIRS = [
    ("1", "\\sin^2 x + \\cos^2 x"),
    ("x+1", "\\frac{x^2-1}{x-1}"),
    ("2\\pi r", "\\pi r + \\pi r"),
    ("x = 5", "5"),
    ("5", "x = 5"),
    ("\\frac{1}{2}", "0.5"),
    ("\\frac{1}{3}", "0.333333"),
    ("(x+1)^2", "x^2 + 2x + 1"),
    ("e^{\\ln 3}", "3"),
    ("\\sqrt{8}", "2\\sqrt{2}"),
    ("\\frac{n(n+1)}{2}", "\\frac{n^2+n}{2}"),
    ("2\\sin x \\cos x", "\\sin 2x"),
    ("\\tan x", "\\frac{\\sin x}{\\cos x}"),
    ("a b", "b a"),
    ("10\\%", "0.1"),
    ("[2, 5]", "[2,5]"),
    ("\\{1, 2\\}", "\\{2, 1\\}"),
]

# Answers verify finds unequal, which the pre-check should settle without verify.
SETTLED_PAIRS = [
    ("47", "y = 2x + 3"),
    ("5", "(0,9) \\cup (9,36)"),
    ("3", "[1, 2]"),
    ("x^2+1", "x^2+2"),
    ("0.35625", "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1"),
    ("\\frac{3\\sqrt{3}}{4}", "\\cot x"),
    ("15x - 80", "p - q"),
    ("12", "13"),
]

# Answers of every shape the benchmarks have, for the pairwise property below.
ANSWER_POOL = [
    "0",
    "1",
    "-1",
    "2",
    "5",
    "12",
    "0.5",
    "\\frac{1}{2}",
    "\\frac{3}{4}",
    "\\sqrt{2}",
    "2\\sqrt{2}",
    "\\sqrt{8}",
    "\\pi",
    "2\\pi",
    "e",
    "i",
    "1+2i",
    "10\\%",
    "x",
    "y",
    "k",
    "x+1",
    "x^2+1",
    "x^2 - 1",
    "(x-1)(x+1)",
    "\\frac{x^2-1}{x-1}",
    "\\sin^2 x + \\cos^2 x",
    "\\sin x",
    "\\cos x",
    "\\tan x",
    "\\cot x",
    "\\ln x",
    "e^x",
    "|x|",
    "\\sqrt{x^2}",
    "2x + 3",
    "y = 2x + 3",
    "x = 5",
    "x = 2",
    "p - q",
    "q - p",
    "\\frac{n(n+1)}{2}",
    "[1, 2]",
    "(0, 9) \\cup (9, 36)",
    "(-\\infty, 2)",
    "[2, 2]",
    "(1, 2)",
    "\\{1, 2\\}",
    "(3, 4)",
    "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    "x \\in [-2, 7]",
    "x < 3",
    "\\text{Evelyn}",
    "f(x)",
    "\\lfloor x \\rfloor",
    "\\int_0^1 x dx",
    "\\frac{1}{2} x^2",
]


def parsed_pair(gold: str, answer: str) -> tuple[list, list]:
    return parse_gold(gold, TIMEOUT), parse_answer(answer, KIND_BOXED, TIMEOUT)


@pytest.mark.parametrize(("gold", "answer"), EQUAL_PAIRS)
def test_equal_answers_are_left_to_verify_and_graded_correct(gold, answer):
    gold_parsed, answer_parsed = parsed_pair(gold, answer)
    assert verify(gold_parsed, answer_parsed), "the case itself must be one verify accepts"
    assert not _clearly_different(gold_parsed, answer_parsed, TIMEOUT)
    assert parsed_answers_match(gold_parsed, answer_parsed, TIMEOUT)


@pytest.mark.parametrize(("gold", "answer"), SETTLED_PAIRS)
def test_clearly_different_answers_are_settled_without_verify(gold, answer):
    gold_parsed, answer_parsed = parsed_pair(gold, answer)
    assert not verify(gold_parsed, answer_parsed)
    assert _clearly_different(gold_parsed, answer_parsed, TIMEOUT)


def test_an_integer_symbol_is_not_sampled_at_non_integer_points():
    # (-1)^(2n) is 1 for every integer n, but not at n = 0.73: a sample there would call it different from 1.
    import sympy

    n = sympy.Symbol("n", integer=True)
    assert not _clearly_different([sympy.Integer(1)], [(-1) ** (2 * n)], TIMEOUT)


def test_every_pair_of_the_answer_pool_agrees_with_verify():
    parsed = {answer: parse_answer(answer, KIND_BOXED, TIMEOUT) for answer in ANSWER_POOL}
    golds = {answer: parse_gold(answer, TIMEOUT) for answer in ANSWER_POOL}
    settled = 0
    for gold, answer in itertools.product(ANSWER_POOL, repeat=2):
        if not golds[gold] or not parsed[answer]:
            continue
        if _clearly_different(golds[gold], parsed[answer], TIMEOUT):
            settled += 1
            assert not verify(golds[gold], parsed[answer]), (gold, answer)
    # The pre-check must be doing its job too, not only staying out of the way.
    assert settled > len(ANSWER_POOL) ** 2 // 3


@settings(max_examples=60, deadline=None)
@given(
    coefficients=st.lists(st.integers(-3, 3), min_size=2, max_size=4),
    shift=st.integers(-2, 2),
    written_expanded=st.booleans(),
)
def test_polynomials_equal_or_not_agree_with_verify(coefficients, shift, written_expanded):
    """A polynomial against the same polynomial written another way (factored vs expanded), or shifted."""
    import sympy

    x = sympy.Symbol("x")
    polynomial = sum(c * x**power for power, c in enumerate(coefficients))
    gold = sympy.latex(polynomial)
    other = polynomial + shift
    answer = sympy.latex(sympy.expand(other) if written_expanded else sympy.factor(other))
    gold_parsed, answer_parsed = parsed_pair(gold, answer)
    if not gold_parsed or not answer_parsed:
        return
    if _clearly_different(gold_parsed, answer_parsed, TIMEOUT):
        assert not verify(gold_parsed, answer_parsed), (gold, answer)
    if shift == 0:
        assert not _clearly_different(gold_parsed, answer_parsed, TIMEOUT), (gold, answer)


@pytest.mark.slow  # all of MATH-500; the answer pool above is the self-contained check of the same code
def test_real_math500_answer_pairs_agree_with_verify(shared_data):
    rows = [json.loads(line) for line in (shared_data / "math500.jsonl").open(encoding="utf-8")]
    answers = [str(row["answer"]) for row in rows]
    rng = random.Random(0)
    pairs = [(answer, answer) for answer in answers] + [
        (rng.choice(answers), rng.choice(answers)) for _ in range(1500)
    ]
    settled = 0
    for gold, answer in pairs:
        gold_parsed, answer_parsed = parsed_pair(gold, answer)
        if not gold_parsed or not answer_parsed:
            continue
        if _clearly_different(gold_parsed, answer_parsed, TIMEOUT):
            settled += 1
            assert not verify(gold_parsed, answer_parsed), (gold, answer)
    assert settled > 1000


# --- answers that state another value: the check's cost ------------------------------------------------------
@pytest.mark.timeout(60)
def test_the_hedge_check_scans_in_linear_time_and_parses_a_bounded_number_of_sides():
    megabyte = 250_000  # a quarter of a megabyte: a quadratic scan would still take minutes
    started = time.monotonic()
    for text in (
        "9" * megabyte,
        "}^{2}" * (megabyte // 5),
        "\\approx{" * (megabyte // 8),
        "\\approx" * (megabyte // 7),
        "seventeen" * (megabyte // 9),
    ):
        _digits(text)
        _top_level_sides(text)
    assert time.monotonic() - started < 10
    # The longest answers that reach a worker (MAX_ANSWER_CHARS), built to make the check parse as much as it can.
    parsed = parse_answer("1", KIND_BOXED, TIMEOUT)
    hostile = {
        "1 \\approx " * 99 + "1": True,
        "x = " + "1 = " * 240 + "1": False,
        "1 = " + "x = " * 248 + "2": True,  # the longest chain from one constant to another, through one variable
        "1 \\text{1}" * 100: True,
        "42_{43}" * 142: True,
    }
    for answer, hedged in hostile.items():
        assert len(answer) <= MAX_ANSWER_CHARS
        started = time.monotonic()
        assert states_another_value(answer, KIND_BOXED, parsed, TIMEOUT) == hedged
        assert time.monotonic() - started < 3, answer[:40]


@pytest.mark.timeout(60)
def test_the_subscript_scan_is_linear_in_time():
    size = 250_000  # characters: a quadratic scan would still take minutes
    started = time.monotonic()
    for text in (
        "1_{" * (size // 3),  # unclosed subscripts inside subscripts
        "1_{2}" * (size // 5),  # a base, over and over
        "1" + " " * size,  # a number, then spacing that leads nowhere
        "1^{" + "+1^" * (size // 3),  # a superscript that never closes
        "1_{" + "}" * size,
    ):
        _digits(_without_number_subscripts(text))
    assert time.monotonic() - started < 15


# --- answers that state another value: chains and subscripts ------------------------------------------------------
def grades_against(gold: str, answer: str) -> bool:
    return parsed_answers_match(parse_gold(gold, TIMEOUT), parse_answer(answer, KIND_BOXED, TIMEOUT), TIMEOUT)


@pytest.mark.parametrize(
    "answer", ["43 = x = 42", "1 = x = 42", "42 = x = 43 = y", "1 = x = y = 42", "43 = x = 2 \\cdot 21"]
)
def test_a_chain_that_equates_two_different_constants_through_a_variable_is_graded_wrong(answer):
    # math-verify grades a chain by its last side: 42 here. The chain also says x is 43 (or 1): two values.
    assert states_another_value(answer, KIND_BOXED, parse_answer("42", KIND_BOXED, TIMEOUT), TIMEOUT)
    assert not grades_against("42", answer)


@pytest.mark.parametrize(
    "answer",
    [
        "\\lfloor 41 \\rfloor = 42",
        "42 = \\lfloor 41 \\rfloor",
        "42 = \\lceil 41 \\rceil",
        "42 = \\max(41, 0)",
        "42 = 41!/40!",
        "x = 42 = \\lfloor 41 \\rfloor",
        "42 \\approx 41!",
        "42 \\approx \\max(41, 0)",
    ],
)
def test_a_false_equation_through_floor_max_or_factorial_is_wrong_under_either_side(answer):
    """A red team's: constants built with floor, ceiling, max or a factorial were not evaluated, so `\\lfloor 41
    \\rfloor = 42` was paid as 42 (and as 41 written the other way round)."""
    assert not grades_against("42", answer) and not grades_against("41", answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("42", "\\lfloor 42.5 \\rfloor = 42"),
        ("58", "\\lfloor 0.58 \\times 100 \\rfloor = 58"),  # a review's: 0.58 x 100 in binary is 57.99...
        ("1", "\\lceil 0.1 \\times 10 \\rceil"),
        ("42", "42 = 42!/41!"),
        ("42", "x = \\max(42, 7)"),
        ("42", "\\binom{7}{2} + 21"),
        ("42", "x = 42"),
        ("42", "6 \\times 7 = 42"),
        ("42", "x = 6 \\times 7 = 42"),
        ("42", "x = y = 42"),
        ("42", "42 = x = 42"),
        ("42", "a = 2 \\cdot 21 = 42"),
        ("42", "x_{1} = x_{2} = 42"),
        ("y = 2x + 3", "y = 2x + 3"),
    ],
)
def test_true_chains_state_one_value_and_stay_correct(gold, answer):
    assert grades_against(gold, answer)


def test_equations_that_share_no_side_are_separate_statements_not_one_chain():
    import sympy

    x, y = sympy.symbols("x y")
    separate = sympy.And(sympy.Eq(x, 1, evaluate=False), sympy.Eq(y, 2, evaluate=False))
    across_an_inequality = sympy.And(
        sympy.Eq(x, 1, evaluate=False), sympy.Lt(x, y, evaluate=False), sympy.Eq(y, 2, evaluate=False)
    )
    chain = sympy.And(sympy.Eq(43, x, evaluate=False), sympy.Eq(x, 42, evaluate=False))
    assert not _false_equation([separate])
    assert not _false_equation([across_an_inequality])
    assert _false_equation([chain])


@pytest.mark.parametrize(
    "answer",
    [
        "42_{43}",
        "42_{(43)}",
        "42 \\text{ } _{43}",
        "42\\,_{43}",
        "42_43",
        "42_{4+3}",
        "42_{forty-three}",
        "42_1",  # no number is written in base 1
        "42_3",  # nor has a digit 4 in base 3
        "42_{42}",  # a base above 36 is no base
    ],
)
def test_a_number_subscript_that_is_no_base_is_a_hedge(answer):
    # latex2sympy drops a number's subscript from the value: each of these is graded as 42.
    assert not grades_against("42", answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("52_8", "52_8"),  # MATH-500's answers in other bases
        ("4210_{5}", "4210_{5}"),
        ("2516_8", "2516_{8}"),
        ("101_2", "101_{(2)}"),
        ("0.0011_{2}", "0.0011_{2}"),  # a fraction in base 2, its radix point the base's
        ("42", "42_{10}"),
        ("42", "x_{43} = 42"),  # a name's subscript is part of the name
        ("42", "a_1 = 42"),
        ("3", "\\log_{2} 8"),
        ("42", "42_{x}"),  # no number in it
    ],
)
def test_bases_and_subscripts_of_names_are_no_hedge(gold, answer):
    assert grades_against(gold, answer)


def test_a_pre_check_out_of_time_is_no_grade_and_verify_is_not_tried(monkeypatch):
    from open_r1.rewards import grading_worker

    monkeypatch.setattr(grading_worker, "_pair_clearly_different", lambda gold, answer: time.sleep(3))
    monkeypatch.setattr(grading_worker, "verify", lambda *args, **kwargs: pytest.fail("verify ran"))
    gold = parse_gold("42", TIMEOUT)
    assert parsed_answers_match(gold, parse_answer("9^{9^{9}}", KIND_BOXED, TIMEOUT), 2.0) is None


def test_a_comparison_verify_gave_up_on_is_no_grade_and_a_match_after_it_still_counts(monkeypatch):
    """verify answers False when its alarm stops a comparison; one that took the alarm's whole time was stopped."""
    from open_r1.rewards import grading_worker

    def slow_then_equal(gold, answer, timeout_seconds):
        if isinstance(answer, str):
            return answer.strip() == "7"
        time.sleep(timeout_seconds)
        return False

    monkeypatch.setattr(grading_worker, "_clearly_different", lambda *args: False)
    monkeypatch.setattr(grading_worker, "verify", slow_then_equal)
    assert parsed_answers_match([sympy.Integer(8)], [sympy.Integer(8), "8"], 2.0) is None
    assert parsed_answers_match([sympy.Integer(7), "7"], [sympy.Integer(7), "7"], 2.0) is True
    monkeypatch.setattr(grading_worker, "verify", lambda gold, answer, timeout_seconds: False)
    assert parsed_answers_match([sympy.Integer(8)], [sympy.Integer(9)], 2.0) is False


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text",
    [
        "\\text{" * 40_000,  # nested text groups never closed: each read again would be quadratic
        "C \\text{" + " or" * 60_000 + "}",
        "C " + "\\text{ A}" * 30_000,
        "\\text{ or (" * 30_000,
    ],
)
def test_the_hedge_scan_is_linear_in_the_answers_length(text):
    """Answers reach the workers cut to MAX_ANSWER_CHARS, yet the scan is held to its own docstring: one pass."""
    assert len(text) > 100 * MAX_ANSWER_CHARS
    _hedged_in_text(text, [sympy.Symbol("C"), "C"])
