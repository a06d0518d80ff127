"""Specification of math grading: `accuracy_reward`, `extract_answer`, `grade_answers` and their worker pool."""

import asyncio
import concurrent.futures
import multiprocessing
import threading
import time

import pytest

from open_r1.rewards import _grading_pool, accuracy_reward, extract_answer, grade_answers
from open_r1.rewards.accuracy import MAX_ANSWER_CHARS


def chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


# --- extract_answer --------------------------------------------------------------------------------


def test_extract_answer_takes_the_last_boxed_after_the_reasoning():
    text = r"<think>maybe \boxed{1}? no, \boxed{2}</think> The answer is \boxed{\frac{3}{4}} or rather \boxed{5}."
    assert extract_answer(text) == "5"


def test_extract_answer_ignores_boxed_inside_unfinished_reasoning_only_when_reasoning_closed():
    assert extract_answer(r"<think>I guess \boxed{7}</think> I am not sure.") is None
    # Without </think> (truncated or untagged output) the whole text counts.
    assert extract_answer(r"Thinking... so \boxed{7}") == "7"


def test_extract_answer_handles_nested_and_escaped_braces():
    assert extract_answer(r"\boxed{\frac{1}{\sqrt{2}}}") == r"\frac{1}{\sqrt{2}}"
    assert extract_answer(r"\boxed{\{1, 2\}}") == r"\{1, 2\}"
    assert extract_answer(r"\boxed{\boxed{4}}") == "4"
    assert extract_answer(r"\fbox{9}") == "9"


def test_extract_answer_falls_back_to_the_answer_block():
    assert extract_answer("<think>\nx\n</think>\n<answer>\n42\n</answer>") == "42"
    assert extract_answer(r"<answer>\boxed{3}</answer>") == "3"


def test_extract_answer_returns_none_without_an_answer_or_with_unbalanced_braces():
    assert extract_answer("just text") is None
    assert extract_answer(r"\boxed{unclosed") is None
    assert extract_answer("") is None


def test_a_box_written_inside_reasoning_that_never_ends_is_no_final_answer():
    """A red team's: a completion cut at the length limit inside <think> was paid for a guess boxed on the way."""
    cut_off = "<think>\nLet me guess first: \\boxed{42}. Now let me check this carefully. Step 1 ..."
    assert extract_answer(cut_off) is None
    assert accuracy_reward([cut_off], solution=["42"]) == [0.0]
    assert extract_answer(cut_off + "\n</think>\n\\boxed{42}") == "42"  # closed: the box after it
    assert extract_answer("No tags at all: \\boxed{42}") == "42"  # a model that writes no reasoning tags


def test_with_the_reasoning_opened_by_the_prompt_the_answer_is_read_after_its_end():
    """think_prefilled: the completion starts inside <think>, so a box before its </think> is on the way."""
    from open_r1.rewards import get_accuracy_reward
    from open_r1.rewards.length import get_cosine_scaled_reward, get_len_reward

    cut_off = "Let me guess: \\boxed{42}. Now step 1 ..."
    finished = "Step 1 ... so 42.\n</think>\n\\boxed{42}"
    prefilled = get_accuracy_reward(num_workers=1, think_prefilled=True)
    assert prefilled([cut_off, finished], solution=["42", "42"]) == [0.0, 1.0]
    assert get_accuracy_reward(num_workers=1)([cut_off], solution=["42"]) == [1.0]  # no tags: read whole
    lengths = get_len_reward(num_workers=1, think_prefilled=True)([cut_off, finished], solution=["42", "42"])
    assert lengths[0] <= 0.0 < lengths[1]  # shorter, but wrong: never positive
    cosine = get_cosine_scaled_reward(num_workers=1, think_prefilled=True)
    # Paid as the same text with a wrong answer.
    assert cosine([cut_off], solution=["42"]) == get_cosine_scaled_reward(num_workers=1)([cut_off], solution=["41"])


def test_with_tools_the_reasoning_the_parser_moved_out_of_the_content_counts_as_ended():
    """A review's: TRL's tool parser moves the reasoning and its </think> to reasoning_content, so the content of a
    finished rollout on a template that opens <think> holds no </think>; it was read as reasoning never ended."""
    from open_r1.rewards import get_accuracy_reward
    from open_r1.rewards._completions import GENERATED_TEXT

    def turn(written):
        return [{"role": "assistant", "content": "<answer>\n\\boxed{5}\n</answer>", GENERATED_TEXT: written}]

    finished = turn("2+3 is 5\n</think>\n\n<answer>\n\\boxed{5}\n</answer>")
    cut_off = [{"role": "assistant", "content": "2+3 is \\boxed{5} maybe", GENERATED_TEXT: "2+3 is \\boxed{5} maybe"}]
    reward = get_accuracy_reward(num_workers=1, think_prefilled=True)
    assert reward([finished, cut_off], solution=["5", "5"]) == [1.0, 0.0]
    # The length rewards grade the same rollouts alike (they passed the contents alone, which hold no </think>).
    from open_r1.rewards.length import get_cosine_scaled_reward

    cosine = get_cosine_scaled_reward(num_workers=1, think_prefilled=True)([finished, cut_off], solution=["5", "5"])
    assert cosine[0] > 0 > cosine[1]


def test_a_think_closing_in_a_tool_calls_code_does_not_end_the_prefilled_reasoning():
    """A red team's: a rollout cut off mid-reasoning with an early guess boxed scored 1.0 once `# </think>` sat in
    its python call's code, since the `</think>` was looked for in the turn as generated, calls included."""
    from open_r1.rewards import get_accuracy_reward
    from open_r1.rewards._completions import GENERATED_TEXT

    def rollout(code: str) -> list[dict]:
        call = {"type": "function", "function": {"name": "python", "arguments": {"code": code}}}
        written = (
            'A guess: \\boxed{7}.<tool_call>\n{"name": "python", "arguments": {"code": "' + code + '"}}\n</tool_call>'
        )
        return [
            {"role": "assistant", "content": "A guess: \\boxed{7}.", "tool_calls": [call], GENERATED_TEXT: written},
            {"role": "tool", "name": "python", "content": "7"},
            {"role": "assistant", "content": "So it is 8 or", GENERATED_TEXT: "So it is 8 or"},  # cut off
        ]

    reward = get_accuracy_reward(num_workers=1, think_prefilled=True)
    assert reward([rollout("print(3 + 4)"), rollout("print(3 + 4)  # </think>")], solution=["7", "7"]) == [0.0, 0.0]
    # The reasoning ended in prose, the box after it: the answer.
    ended = rollout("print(3 + 4)")
    ended[-1] = {"role": "assistant", "content": "\\boxed{7}", GENERATED_TEXT: "It is 7.\n</think>\n\\boxed{7}"}
    assert reward([ended], solution=["7"]) == [1.0]


def test_a_last_box_never_closed_is_no_answer_not_the_box_before_it():
    """A red team's: the retracted \\boxed{42} was graded when the last box, \\boxed{41, was cut off."""
    retracted = "<think>\nx\n</think>\nThe answer is \\boxed{42}. Wait, no: it is \\boxed{41"
    assert extract_answer(retracted) is None
    assert accuracy_reward([retracted], solution=["42"]) == [0.0]
    assert extract_answer("\\boxed{\\boxed{42}}") == "42"
    # Nor an <answer> block before it (a review's).
    assert extract_answer("<think>x</think>\n<answer>\n\\boxed{42}\n</answer>\nWait, no: it is \\boxed{41") is None


# --- accuracy_reward: hand-written cases ----------------------------------------------------------


def test_accuracy_reward_upstream_readme_example():
    # The example of upstream open-r1's README/tests: a boxed fraction against the gold solution's LaTeX.
    completion = [[{"content": r"\boxed{\frac{63}{400}}"}]]
    assert accuracy_reward(completion, solution=[r"\frac{63}{400}"]) == [1.0]
    assert accuracy_reward([[{"content": r"\boxed{\frac{64}{400}}"}]], solution=[r"\frac{63}{400}"]) == [0.0]


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        (r"\frac{1}{2}", "0.5"),
        ("0.5", r"\dfrac{1}{2}"),
        ("25", "025"),  # AIME keeps leading zeros
        ("27", "27.0"),  # AMC answers are floats printed as strings
        ("2125", "2,125"),  # GSM8K thousands separators
        ("2,125", "2125"),
        (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})"),
        (r"x \in [-2, 7]", "[-2,7]"),
        (r"x\in[-2,7]", r"x \in [-2,7]"),  # this gold does not survive pickling to the workers
        (r"\text{(C)}", r"\text{(C)}"),
        (r"\frac43", r"\frac{4}{3}"),  # TeX shorthand, as MATH-500 writes its answers
        (r"11\sqrt2", r"11\sqrt{2}"),
    ],
)
def test_accuracy_reward_accepts_equal_answers_in_another_form(answer, gold):
    completion = chat("<think>\nworking\n</think>\nSo the answer is $\\boxed{" + answer + "}$.")
    assert accuracy_reward([completion], solution=[gold]) == [1.0]


# --- hedges and false equations: one answer, one value ---------------------------------------------------------
# math-verify grades one value of an answer and drops the rest (text after \text{}, all sides of an equation but the
# last, the second side of \approx). Against gold 42 most of these earned 1.0 before; each states another value.
HEDGED_BOXED = [
    r"42 \text{ (or 43)}",
    r"42 \text{(43)}",
    r"42 \textbf{(maybe 43)}",
    r"42 \mbox{ or 43}",
    r"42 \mathrm{(43)}",
    r"42 \mathit{ (or 43)}",
    r"42\textnormal{ (or 43)}",
    r"42 \quad \text{(or 43)}",
    r"42 \text{ (or }43\text{)}",
    r"42 \text{(or 43}",
    r"42 \text{ (or 24)}",
    r"42 \text{ (or forty-three)}",
    r"41 = 42",
    r"a = 41 = 42",
    r"x=41=42",
    r"43 - 1 = 41 = 42",
    r"x = \frac{1}{2} = 42",
    r"41 == 42",
    r"x := 41 := 42",
    r"41 \equiv 42",
    r"42 \approx 41",
    r"x = 41 \approx 42",
    r"42 \approx 42 \approx 42 \approx 42 \approx 42",
]
# The same value, with a unit, a comment without numbers, or a true equation: still right.
HONEST_BOXED = [
    r"42",
    r"x = 42",
    r"42 \text{ cm}",
    r"42 \text{ (exact)}",
    r"42\text{ cm}^2",
    r"42 \mbox{ inches}^{2}",
    r"42\,\mathrm{m/s^{-2}}",
    r"42 = 43 - 1",
    r"6 \times 7 = 42",
    r"x = 6 \times 7 = 42",
    r"042",
    r"\frac{126}{3} \approx 42",
    r"42 \approx 42.3",
]
HEDGED_ANSWER_BLOCKS = ["43 or 42", "The answer is 42, though it could be 43", "41 = 42", "$41 = 42$"]


@pytest.mark.timeout(120)
def test_hedged_answers_and_false_equations_earn_nothing_and_honest_ones_keep_full_credit():
    boxed = [chat(f"<think>\nworking\n</think>\nThe answer is $\\boxed{{{answer}}}$.") for answer in HEDGED_BOXED]
    blocks = [chat(f"<think>\nworking\n</think>\n<answer>\n{answer}\n</answer>") for answer in HEDGED_ANSWER_BLOCKS]
    honest = [chat(f"<think>\nworking\n</think>\nThe answer is $\\boxed{{{answer}}}$.") for answer in HONEST_BOXED]
    completions = boxed + blocks + honest
    rewards = accuracy_reward(completions, solution=["42"] * len(completions))
    graded = dict(zip(HEDGED_BOXED + HEDGED_ANSWER_BLOCKS + HONEST_BOXED, rewards))
    assert {a: r for a, r in graded.items() if a in HEDGED_BOXED + HEDGED_ANSWER_BLOCKS and r != 0.0} == {}
    assert {a: r for a, r in graded.items() if a in HONEST_BOXED and r != 1.0} == {}


# Hedges without a number (a red team's: each earned 1.0, as upstream's): a hedge word or another choice letter in text
# math-verify dropped. (answer, gold)
HEDGED_WITHOUT_NUMBERS = [
    (r"C \text{ or D}", "C"),
    (r"C \text{, though possibly D}", "C"),
    (r"(C) \text{ or (D)}", "(C)"),
    (r"B \text{/C}", "B"),
    (r"\pi \text{ (or e)}", r"\pi"),
    (r"x \text{ (or y)}", "x"),
    (r"\mathbb{R} \text{ (or C)}", r"\mathbb{R}"),
    # Braces inside the text, or a text command of another name, hide nothing (a review's: each earned 1.0).
    (r"C \text{ or {D}}", "C"),
    (r"C \text{ o{}r D}", "C"),
    (r"C \text{ / {D}}", "C"),
    (r"C \textnormal{ or D}", "C"),
    # Another value of the same answer named in words (a red team's: each earned 1.0).
    (r"42 \text{ or its negative}", "42"),
    (r"42 \text{ (or the opposite)}", "42"),
    (r"42 \text{ unless negative}", "42"),
    (r"1+2i \text{ (or its conjugate)}", "1+2i"),
]
# One value still: a comment, a unit with a slash, the choice named again, an "or" math-verify reads as a set.
HONEST_WITHOUT_NUMBERS = [
    (r"B \text{ (option B)}", "B"),
    (r"42 \text{ m/s}", "42"),
    (r"C \text{ (the third choice)}", "C"),
    (r"x = 5 \text{ or } x = -5", "x = 5, x = -5"),
    (r"2 \text{ or } 3", r"\{2, 3\}"),
    # A variable with a unit, a comment with a hedge word before a word (a review's: each was graded 0).
    (r"x \text{ m}", "x"),
    (r"(B) \text{ m/s}", "(B)"),
    (r"C \text{, i.e. a right angle}", "C"),
    (r"120 \text{ ways (or arrangements)}", "120"),
    (r"2 \text{ hours or so}", "2"),
    (r"42 \text{ (the negative root is rejected)}", "42"),
]


@pytest.mark.timeout(120)
def test_a_hedge_without_a_number_earns_nothing_and_one_value_keeps_full_credit():
    cases = HEDGED_WITHOUT_NUMBERS + HONEST_WITHOUT_NUMBERS
    completions = [chat(f"<think>\nworking\n</think>\nThe answer is $\\boxed{{{answer}}}$.") for answer, _ in cases]
    rewards = accuracy_reward(completions, solution=[gold for _, gold in cases])
    graded = dict(zip([answer for answer, _ in cases], rewards))
    assert {answer: graded[answer] for answer, _ in HEDGED_WITHOUT_NUMBERS if graded[answer] != 0.0} == {}
    assert {answer: graded[answer] for answer, _ in HONEST_WITHOUT_NUMBERS if graded[answer] != 1.0} == {}


# An equation or approximation whose other side is a complex number, a matrix or an expression in symbols (an
# evaluation red team's: math-verify reads `i` as a symbol and never evaluates a matrix, so each earned 1.0; these
# graders are the training reward too). (answer, gold)
TWO_VALUES_BEYOND_NUMBERS = [
    (r"7 = 1+2i", "1+2i"),
    (r"1+2i \approx 7", "1+2i"),
    (r"3+i = 2", "2"),
    (r"2 \approx 2+5i", "2"),
    (r"\begin{pmatrix}1\\2\end{pmatrix} = 5", "5"),
    (r"\begin{pmatrix}1\\2\end{pmatrix} = \begin{pmatrix}3\\4\end{pmatrix}", r"\begin{pmatrix}3\\4\end{pmatrix}"),
    (r"5 = x^2+1", "x^2+1"),
    (r"x^2+1 \approx 5", "x^2+1"),
    (r"\infty = -13x+3", "-13x+3"),
    (r"5\mathrm{i}", "5"),  # an upright i was dropped as a unit
    (r"3+4\text{i}", "7"),
    # A red team's: matrix arithmetic, a matrix with one unknown entry, matrices that disagree under \approx, and a
    # box inside the answer's box (each earned 1.0, graded by the inner box or the right side alone).
    (
        r"\begin{pmatrix}1&0\\0&1\end{pmatrix}^{-1} = \begin{pmatrix}-1&0\\0&-1\end{pmatrix}",
        r"-\begin{pmatrix}1&0\\0&1\end{pmatrix}",
    ),
    (
        r"2\begin{pmatrix}1\\1\end{pmatrix} = \begin{pmatrix}-2\\-14\end{pmatrix}",
        r"\begin{pmatrix}-2\\-14\end{pmatrix}",
    ),
    (
        r"\begin{pmatrix}1\\x\end{pmatrix} = \begin{pmatrix}-2\\-14\end{pmatrix}",
        r"\begin{pmatrix}-2\\-14\end{pmatrix}",
    ),
    (
        r"\begin{pmatrix}-2\\-14\end{pmatrix} \approx \begin{pmatrix}0\\0\end{pmatrix}",
        r"\begin{pmatrix}-2\\-14\end{pmatrix}",
    ),
    (r"41 = \boxed{42}", "42"),
    (r"\boxed{42} \text{ or } 41", "42"),
    (r"41 \text{ or } \boxed{42}", "42"),
]
# The same shapes stating one value: a variable named, an index `i`, the expression on the left of its value.
ONE_VALUE_BEYOND_NUMBERS = [
    (r"z = 1+2i", "1+2i"),
    (r"2+3i = 2+3i", "2+3i"),
    (r"a_i = 2i + 1", "2i+1"),
    (r"i = 3", "3"),
    (r"x + y = 10", "10"),
    (r"f(x) = x^2+1", "x^2+1"),
    (r"\mathbf{v} = \begin{pmatrix}1\\2\end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
    (r"x \approx 3.14", "3.14"),
    # A review's: each was graded 0 by a first version of this check (a name beside its value, a gold equation).
    (r"AB \approx 5.2", "5.2"),
    (r"\sin x \approx 0.5", "0.5"),
    (r"a+b \approx 7.5", "7.5"),
    (r"P(A) \approx 0.35", "0.35"),
    (r"\angle A \approx 41.4^\circ", "41.4"),
    (r"25 = x^2+y^2", "x^2+y^2=25"),
    (r"0 = x^2-5x+6", "x^2-5x+6=0"),
    # A red team's: complex numbers beside \approx were graded 0 by the first version of the \approx check.
    (r"z \approx 6 - 5i", "6 - 5i"),
    (r"6+9i \approx 6.0+9.0i", "6+9i"),
    (r"\sqrt{2}i \approx 1.414i", r"\sqrt{2}i"),
    (
        r"\begin{pmatrix}-2\\-14\end{pmatrix} \approx \begin{pmatrix}-2.0\\-14.0\end{pmatrix}",
        r"\begin{pmatrix}-2\\-14\end{pmatrix}",
    ),
    (r"\boxed{42}", "42"),  # a box in a box is still the one answer
    (r"6 - 5\mathrm{i}", "6 - 5i"),  # the upright imaginary unit is i (this was graded 0)
    (r"6 - 5i", r"6 - 5\mathrm{i}"),
]


@pytest.mark.timeout(120)
def test_two_values_beside_a_complex_number_matrix_or_expression_earn_nothing_and_one_value_keeps_credit():
    cases = TWO_VALUES_BEYOND_NUMBERS + ONE_VALUE_BEYOND_NUMBERS
    rewards = accuracy_reward([chat(f"\\boxed{{{answer}}}") for answer, _ in cases], solution=[g for _, g in cases])
    graded = dict(zip([answer for answer, _ in cases], rewards))
    assert {answer: graded[answer] for answer, _ in TWO_VALUES_BEYOND_NUMBERS if graded[answer] != 0.0} == {}
    assert {answer: graded[answer] for answer, _ in ONE_VALUE_BEYOND_NUMBERS if graded[answer] != 1.0} == {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        (r"\pi \approx 3.14", r"\pi"),
        (r"\sqrt{2} \approx 1.4", r"\sqrt{2}"),
        (r"\frac{2}{3} \approx 0.666", r"\frac{2}{3}"),
        (r"\frac{1}{2} = 0.5", "0.5"),
        ("y = 2x + 3", "y = 2x + 3"),  # golds that are equations match themselves
        ("5x - 7y + 11z + 4 = 0", "5x - 7y + 11z + 4 = 0"),
        (r"15\mbox{ cm}^2", r"15\mbox{ cm}^2"),
        (r"\frac{270}7\text{ degrees}", r"\frac{270}7\text{ degrees}"),
    ],
)
def test_approximations_units_and_equations_that_state_one_value_stay_right(answer, gold):
    assert accuracy_reward([chat(f"\\boxed{{{answer}}}")], solution=[gold]) == [1.0]


def test_accuracy_reward_reads_the_gold_from_a_worked_solution():
    solution = r"We compute $1+1$ and get \boxed{2}. Earlier we wrote \frac{1}{3} but that was a typo."
    assert accuracy_reward([chat(r"\boxed{2}"), chat(r"\boxed{\frac{1}{3}}")], solution=[solution, solution]) == [
        1.0,
        0.0,
    ]
    gsm8k = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 18"
    assert accuracy_reward([chat(r"\boxed{18}")], solution=[gsm8k]) == [1.0]


def test_accuracy_reward_is_none_for_an_unparseable_gold_never_a_free_point():
    completions = [chat(r"\boxed{1}")] * 3
    assert accuracy_reward(completions, solution=["", r"\boxed{}", None]) == [None, None, None]


@pytest.mark.parametrize(
    "gold",
    ["4\u200b", "\ufeff4", "4\x00", "４", "𝟒", "4\u2060", ["4"], "\\boxed{4\u200b}", "4\ufe0f", "4\u034f", "4\u3164"],
)
def test_a_gold_with_invisible_characters_or_full_width_digits_pays_the_plain_answer(gold):
    """Found by a red team: golds with a zero-width space, a BOM, a NUL or a full-width digit paid `\\boxed{4}` 0.0, and
    a one-element list gold was graded as the text "['4']"."""
    assert accuracy_reward([chat(r"\boxed{4}"), chat(r"\boxed{5}")], solution=[gold, gold]) == [1.0, 0.0]


@pytest.mark.parametrize("gold", [{"v": "4"}, ["4", "5"], [], ("4", "5")])
def test_a_mapping_or_a_list_of_several_values_is_no_gold(gold):
    """Found by a red team: such golds were graded as their str() ("{'v': '4'}"), which no boxed value equals; as
    an unparseable gold, the reward gives None (TRL skips the sample) and the doctor reports them."""
    assert accuracy_reward([chat(r"\boxed{4}")], solution=[gold]) == [None]


def test_the_answer_is_read_as_the_gold_is_and_earns_nothing_more():
    """A completion that copies the gold as written is paid as before the gold was read (`readable_text`), and one
    that writes the value in full-width digits or with invisible characters is paid as its plain form."""
    golds = ["４", "４", "4", "4", "23", "22", "\\frac{1}{2}", "42"]
    answers = ["４", "4", "４", "4\u200b", "2\u20623", "2²", "½", "42 \\text{ (or 4\u200b3)}"]
    # Invisible times between 2 and 3 is a product, not 23; 2² is not 22; ½ is no LaTeX math-verify reads; a hedge
    # split by an invisible character stays a hedge.
    assert accuracy_reward([chat(f"\\boxed{{{a}}}") for a in answers], solution=golds) == [1.0] * 4 + [0.0] * 4


@pytest.mark.parametrize(
    ("gold", "answer"),
    [("24", "\u202e24"), ("24", "\u2067\u202e24\u2069"), ("54", "5\x084"), ("427", "\ufff942\ufffa7\ufffb")],
)
def test_an_answer_that_shows_otherwise_than_it_is_graded_earns_nothing(gold, answer):
    """Found by a review: dropped with the other invisible characters, a right-to-left override (`\\u202e24` shows
    "42"), a backspace or an annotation anchor let an answer be paid for a value that its readers do not see."""
    assert accuracy_reward([chat(f"\\boxed{{{answer}}}")], solution=[gold]) == [0.0]


def test_accuracy_reward_gives_zero_without_a_final_answer():
    assert accuracy_reward([chat("I think it is 5"), chat("")], solution=["5", "5"]) == [0.0, 0.0]


def test_accuracy_reward_uses_the_answer_column_when_solution_is_absent():
    assert accuracy_reward([chat(r"\boxed{7}")], answer=["7"]) == [1.0]


def test_accuracy_reward_names_the_missing_gold_column():
    with pytest.raises(ValueError, match="'solution'"):
        accuracy_reward([chat(r"\boxed{7}")], problem=["what?"])


def test_accuracy_reward_accepts_trl_call_shape_with_extra_columns():
    # TRL 1.16 passes prompts, completions, completion_ids, trainer_state and every dataset column.
    rewards = accuracy_reward(
        prompts=[[{"role": "user", "content": "1+1?"}]] * 2,
        completions=[chat(r"\boxed{2}"), chat(r"\boxed{3}")],
        completion_ids=[[1, 2], [3]],
        solution=["2", "2"],
        problem=["1+1?", "1+1?"],
        trainer_state=None,
    )
    assert rewards == [1.0, 0.0]


def test_grade_answers_returns_one_reward_per_completion_in_order():
    golds = ["1", "2", "3", "4"] * 8
    completions = [rf"\boxed{{{(i % 4) + 1 if i % 3 else 9}}}" for i in range(32)]
    expected = [1.0 if i % 3 else 0.0 for i in range(32)]
    assert grade_answers(completions, golds) == expected


def test_grade_answers_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 completions but 1 gold"):
        grade_answers(["a", "b"], ["1"])


# --- where grading can be called from --------------------------------------------------------------


def test_accuracy_reward_from_a_worker_thread_grades_a_correct_answer_one():
    # math-verify 0.5.2 in a non-main thread silently grades everything 0.0 (its signal.alarm fails).
    results = []
    thread = threading.Thread(
        target=lambda: results.append(accuracy_reward([chat(r"\boxed{\frac{1}{2}}")], solution=["0.5"]))
    )
    thread.start()
    thread.join()
    assert results == [[1.0]]


def test_accuracy_reward_from_many_threads_at_once_is_correct():
    def grade(i):
        return accuracy_reward([chat(rf"\boxed{{{i}}}"), chat(rf"\boxed{{{i + 1}}}")], solution=[str(i)] * 2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as executor:
        results = list(executor.map(grade, range(12)))
    assert results == [[1.0, 0.0]] * 12


def test_accuracy_reward_from_async_code_is_correct():
    async def main():
        in_loop = accuracy_reward([chat(r"\boxed{3}")], solution=["3"])
        in_thread = await asyncio.to_thread(accuracy_reward, [chat(r"\boxed{3}")], solution=["3"])
        return in_loop, in_thread

    assert asyncio.run(main()) == ([1.0], [1.0])


def _grade_in_child(queue):
    queue.put(accuracy_reward([[{"role": "assistant", "content": r"\boxed{0.25}"}]], solution=[r"\frac14"]))


def test_accuracy_reward_from_a_forked_and_a_daemonic_child_process_is_correct():
    grade_answers([r"\boxed{1}"], ["1"])  # the parent's pool exists before the fork
    for method in ("fork", "spawn"):
        context = multiprocessing.get_context(method)
        queue = context.Queue()
        child = context.Process(target=_grade_in_child, args=(queue,), daemon=True)
        child.start()
        result = queue.get(timeout=120)
        child.join(timeout=30)
        assert result == [1.0], method


# --- time limits and failures ------------------------------------------------------------------------

# About 0.6 s of sympy work per parse, yet short enough (under accuracy.MAX_ANSWER_CHARS) to be parsed at all.
SLOW_ANSWER = r"\boxed{" + r"\sqrt{" * 140 + "2" + "}" * 140 + "}"


def test_an_answer_longer_than_the_limit_is_graded_zero_without_reaching_math_verify(monkeypatch):
    assert len(SLOW_ANSWER) < MAX_ANSWER_CHARS
    sent = []

    def recording_run_tasks(tasks, *args):
        sent.extend(tasks)
        return _grading_pool.run_tasks(tasks, *args)

    monkeypatch.setattr("open_r1.rewards.accuracy.run_tasks", recording_run_tasks)
    long_but_right = r"\boxed{" + "+".join(["0"] * (MAX_ANSWER_CHARS // 2)) + "+1}"  # equals 1
    assert grade_answers([long_but_right, r"\boxed{1}"], ["1", "1"]) == [0.0, 1.0]
    assert [task[0] for task in sent] == ["gold", "grade"]  # only the short answer went to a worker


def test_a_batch_graded_by_accuracy_and_a_length_reward_is_graded_once(monkeypatch):
    """Found by an audit: accuracy_reward beside cosine_scaled_reward sent every answer to math-verify twice."""
    from open_r1.rewards import get_cosine_scaled_reward, len_reward

    cosine_scaled_reward = get_cosine_scaled_reward()
    sent = []

    def recording_run_tasks(tasks, *args):
        sent.extend(task[0] for task in tasks)
        return _grading_pool.run_tasks(tasks, *args)

    monkeypatch.setattr("open_r1.rewards.accuracy.run_tasks", recording_run_tasks)
    completions = [[{"role": "assistant", "content": rf"\boxed{{{value}}}"}] for value in (1, 2, 1)]
    assert accuracy_reward(completions, solution=["1", "1", "1"]) == [1.0, 0.0, 1.0]
    cosine = cosine_scaled_reward(completions, solution=["1", "1", "1"])
    assert cosine[0] > 0 > cosine[1] and len_reward(completions, solution=["1", "1", "1"])[1] <= 0
    assert sent == ["gold", "grade", "grade"]
    assert accuracy_reward(completions, solution=["2", "2", "2"]) == [0.0, 1.0, 0.0]  # another batch: graded
    assert sent[3:] == ["gold", "grade", "grade"]


def test_a_pathological_answer_is_cut_off_at_the_time_limit_and_graded_zero():
    # Start both workers outside the timed region (one task would start only one).
    grade_answers([r"\boxed{1}", r"\boxed{2}"], ["1", "1"], num_workers=2)
    start = time.monotonic()
    rewards = grade_answers([SLOW_ANSWER, r"\boxed{1}", r"\boxed{2}"], ["1", "1", "1"], num_workers=2, timeout=0.3)
    elapsed = time.monotonic() - start
    assert rewards == [0.0, 1.0, 0.0]
    assert elapsed < 3.0


@pytest.mark.timeout(60)
def test_an_answer_that_stalls_the_grader_costs_one_alarm_and_is_counted_ungraded():
    """A red team's: 9^{9^{9^{9}}} ran out of the pre-check's alarm and then of verify's (4 s of a worker each), and
    was graded plain wrong, so rewards/accuracy/ungraded stayed 0 and no warning came."""
    from open_r1.rewards.accuracy import graded_batch

    completions = ["<think>\nx\n</think>\n\\boxed{42}", "<think>\nx\n</think>\n\\boxed{9^{9^{9^{9}}}}"]
    grades = graded_batch(completions, ["42", "42"], num_workers=1, timeout=5.0)
    assert (grades.rewards, grades.ungraded) == ((1.0, 0.0), 1)


@pytest.mark.timeout(120)
def test_a_batch_of_answers_that_stall_the_grader_costs_a_bounded_time(monkeypatch):
    """A red team's: each answer built to stall math-verify costs its time limit (about a second of a worker, within
    the pool's; 8 took 9 s on 2 workers), so 512 would hold a GRPO step for some 9 minutes. A batch's grading stops at
    `batch_grading_seconds`, a minute or, for a large batch, a sixteenth of its answers running out of time; the
    answers past it are counted ungraded (0.0)."""
    from open_r1.rewards import accuracy

    assert accuracy.batch_grading_seconds(8, 2, 5.0) == 60.0  # small batches: the minute
    assert accuracy.batch_grading_seconds(512, 2, 5.0) == 5.0 * (1 + 512 / 16 / 2)  # 85 s, not 9 minutes
    monkeypatch.setattr(accuracy, "MIN_BATCH_GRADING_SECONDS", 2.0)
    towers = [f"<think>\nx\n</think>\n\\boxed{{9^{{9^{{9^{{9^{{{power}}}}}}}}}}}" for power in range(2, 18)]
    start = time.monotonic()
    answers = ["<think>\nx\n</think>\n\\boxed{42}", *towers]
    grades = accuracy.graded_batch(answers, ["42"] * 17, num_workers=1, timeout=1.0, bounded=True)
    assert time.monotonic() - start < 8  # 16 stalls of a second each, cut at max(2, 1 x (1 + 17 / 16)) s
    assert grades.rewards[0] == 1.0 and set(grades.rewards[1:]) == {0.0} and grades.ungraded == 16
    # The rewards' grading is bounded; an evaluation's grades every answer, each within its own timeout.
    asked = []
    monkeypatch.setattr(
        accuracy, "run_tasks", lambda tasks, workers, timeout, batch=None: asked.append(batch) or [True]
    )
    accuracy.get_accuracy_reward(num_workers=1)(["\\boxed{7}"], solution=["7"])
    accuracy.grade_answers(["\\boxed{8}"], ["8"], num_workers=1)
    assert asked[1] == accuracy.batch_grading_seconds(1, 1, accuracy.DEFAULT_TIMEOUT_SECONDS) and asked[3] is None


def test_answers_math_verify_did_not_finish_are_logged_as_a_share_and_warned_about_once(monkeypatch, caplog):
    """Found by an audit: answers cut off at the time limit became 0.0 with no word, so a grader too slow for honest
    answers looked like a model that answers wrong."""
    from open_r1.rewards import accuracy

    monkeypatch.setattr(accuracy, "_ungraded_warned_at", None)
    monkeypatch.setattr(accuracy, "_ungraded_since_warning", [0, 0])
    reward, logged = accuracy.get_accuracy_reward(num_workers=2, timeout=0.3), []
    completions = [SLOW_ANSWER, r"\boxed{1}", r"\boxed{2}", r"\boxed{1}"]
    with caplog.at_level("WARNING", logger="open_r1.rewards.accuracy"):
        grades = reward(completions, solution=["1"] * 4, log_metric=lambda *metric: logged.append(metric))
        reward(completions[1:], solution=["1"] * 3, log_metric=lambda *metric: logged.append(metric))
        reward(completions, solution=["2"] * 4, log_metric=lambda *metric: logged.append(metric))
    assert grades == [0.0, 1.0, 0.0, 1.0]
    assert logged == [("rewards/accuracy_reward/ungraded", 0.25), ("rewards/accuracy_reward/ungraded", 0.0)] + [
        ("rewards/accuracy_reward/ungraded", 0.25)
    ]
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "accuracy_reward: math-verify did not finish with 1 of 4 completions within reward_timeout_seconds (0.3) "
        "each, or the batch's time (a minute, more for a batch of hundreds); they were graded 0.0 (None where the gold did not finish). Answers built to stall the grader (power towers, "
        "huge factorials) do this; if honest answers do, raise reward_timeout_seconds. The share is logged as "
        "rewards/accuracy_reward/ungraded."
    ]  # the third batch's is held back: at most one warning per UNGRADED_WARNING_SECONDS


def test_the_length_rewards_log_what_they_could_not_grade_and_a_batch_read_twice_is_counted_once(monkeypatch, caplog):
    """Found by an audit: a recipe grading with cosine_scaled_reward alone logged and warned of nothing."""
    from open_r1.rewards import accuracy, length

    monkeypatch.setattr(accuracy, "_ungraded_warned_at", None)
    monkeypatch.setattr(accuracy, "_ungraded_since_warning", [0, 0])
    logged = []
    options = dict(solution=["1"] * 4, log_metric=lambda *metric: logged.append(metric))
    completions = [SLOW_ANSWER, r"\boxed{1}", r"\boxed{2}", r"\boxed{1}"]
    with caplog.at_level("WARNING", logger="open_r1.rewards.accuracy"):
        length.get_cosine_scaled_reward(num_workers=2, timeout=0.3)(completions, **options)
        accuracy.get_accuracy_reward(num_workers=2, timeout=0.3)(completions, **options)  # the same batch's grades
        length.get_len_reward(num_workers=2, timeout=0.3)(completions, **options)
    assert logged == [
        ("rewards/cosine_scaled_reward/ungraded", 0.25),
        ("rewards/accuracy_reward/ungraded", 0.25),
        ("rewards/len_reward/ungraded", 0.25),
    ]
    [warning] = [record.getMessage() for record in caplog.records]
    assert warning.startswith("cosine_scaled_reward: math-verify did not finish with 1 of 4 completions within")
    assert accuracy._ungraded_since_warning == [0, 0]  # the batch counted once, then reset by the warning


def test_sympy_exploding_latex_returns_promptly_with_the_default_limit():
    exploding = [r"\boxed{9^{9^{9^{9^{9}}}}}", r"\boxed{(10^{6})!}", r"\boxed{(x+1)^{100000}}"]
    start = time.monotonic()
    assert grade_answers(exploding, ["1"] * 3, timeout=2.0) == [0.0, 0.0, 0.0]
    assert time.monotonic() - start < 10.0


def test_the_pool_replaces_a_killed_worker_and_keeps_grading(monkeypatch):
    replaced = []
    original = _grading_pool.GradingPool._replace

    def counting_replace(self, worker, **kwargs):
        replaced.append(worker)
        return original(self, worker, **kwargs)

    monkeypatch.setattr(_grading_pool.GradingPool, "_replace", counting_replace)
    assert grade_answers([SLOW_ANSWER], ["1"], num_workers=1, timeout=0.2) == [0.0]
    assert len(replaced) == 1
    assert grade_answers([r"\boxed{1}"], ["1"], num_workers=1) == [1.0]


def test_a_worker_that_dies_mid_task_costs_only_that_item():
    pool = _grading_pool.get_pool()
    grade_answers([r"\boxed{1}"], ["1"], num_workers=1)

    def kill_every_worker():
        for worker in list(pool._all):
            worker.process.kill()

    killer = threading.Timer(0.3, kill_every_worker)
    killer.start()
    slow_task = ("grade", "1", None, SLOW_ANSWER[len("\\boxed{") : -1], "boxed", 30.0)
    results = pool.run([slow_task, ("gold", "2", 30.0)], num_workers=1, timeout=30.0)
    killer.join()
    assert results[0] is _grading_pool.CRASHED
    assert isinstance(results[1], bytes)  # graded by the replacement worker


def test_a_worker_that_died_while_idle_is_replaced_without_losing_the_task():
    pool = _grading_pool.get_pool()
    grade_answers([r"\boxed{1}"], ["1"], num_workers=1)
    for worker in list(pool._idle):
        worker.process.kill()
        worker.process.wait()
    assert grade_answers([r"\boxed{3}"], ["3"], num_workers=1) == [1.0]


def test_grading_parameters_are_validated():
    with pytest.raises(ValueError, match="reward_num_workers"):
        grade_answers([r"\boxed{1}"], ["1"], num_workers=0)
    with pytest.raises(ValueError, match="reward_timeout_seconds"):
        grade_answers([r"\boxed{1}"], ["1"], timeout=0)
