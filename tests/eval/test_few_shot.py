"""Specification of the few-shot protocol's prompts and answers (open_r1.eval.few_shot): lighteval's GSM8K task as
SmolLM2's card ran it, with shots only from the training file."""

import json
import pathlib
import time

import pytest

from open_r1.data.benchmarks import Problem, load_problems
from open_r1.eval import few_shot
from open_r1.usage import UsageError
from tests.support.files import write_jsonl

# GSM8K-shaped rows. The two files number their rows alike ("0", "1", ...), as the real GSM8K files do: a shot
# must be taken from the train file by position, never looked up by an id the test file shares.
TRAIN = [
    {
        "id": str(i),
        "problem": f"Train problem {i}: what is {i} + {i}?",
        "solution": f"{i}+{i}=<<{i}+{i}={2 * i}>>{2 * i}\n#### {2 * i}",
    }
    for i in range(12)
]
TEST = [{"id": str(i), "problem": f"Test problem {i}: what is {i} * 3?", "answer": str(3 * i)} for i in range(6)]


@pytest.fixture
def files(tmp_path) -> tuple[pathlib.Path, pathlib.Path]:
    return write_jsonl(tmp_path / "train.jsonl", TRAIN), write_jsonl(tmp_path / "test.jsonl", TEST)


def prompts_of(train: pathlib.Path, test: pathlib.Path, num_fewshot: int = 5, seed: int = 0) -> list[list[dict]]:
    problems = load_problems(test)
    shots = few_shot.load_disjoint_shots(str(train), str(test), problems)
    return [few_shot.plain_messages(p, few_shot.draw_shots(shots, p, num_fewshot, seed)) for p in problems]


def test_each_problem_gets_five_distinct_shots_all_from_the_train_file_none_from_the_test_file(files):
    train, test = files
    train_questions = {f"Question: {row['problem']}\nAnswer:" for row in TRAIN}
    train_answers = {f" {row['solution']}" for row in TRAIN}
    for row, messages in zip(TEST, prompts_of(train, test)):
        shot_questions = [m["content"] for m in messages[:-1] if m["role"] == "user"]
        shot_answers = [m["content"] for m in messages[:-1] if m["role"] == "assistant"]
        assert len(shot_questions) == len(set(shot_questions)) == 5
        assert set(shot_questions) <= train_questions and set(shot_answers) <= train_answers
        assert not any("Test problem" in m["content"] for m in messages[:-1])
        assert messages[-1] == {"role": "user", "content": f"Question: {row['problem']}\nAnswer:"}


def test_the_prompt_has_lighteval_gsm8k_format_shot_after_shot_then_the_question(files):
    problem = Problem(id="7", problem="Tom has 3 apples. How many?", answer="3")
    shots = few_shot.load_shots(files[0])[:2]
    assert few_shot.plain_messages(problem, shots, system_prompt="Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Question: Train problem 0: what is 0 + 0?\nAnswer:"},
        {"role": "assistant", "content": " 0+0=<<0+0=0>>0\n#### 0"},
        {"role": "user", "content": "Question: Train problem 1: what is 1 + 1?\nAnswer:"},
        {"role": "assistant", "content": " 1+1=<<1+1=2>>2\n#### 2"},
        {"role": "user", "content": "Question: Tom has 3 apples. How many?\nAnswer:"},
    ]


def test_shots_are_deterministic_per_seed_and_problem_and_change_with_the_seed(files):
    train, test = files
    first, again, other = (
        prompts_of(train, test, seed=0),
        prompts_of(train, test, seed=0),
        prompts_of(train, test, seed=1),
    )
    assert first == again
    assert first != other
    # Problems get different draws, and a problem's draw does not depend on which problems are evaluated with it.
    assert len({json.dumps(messages[:-1]) for messages in first}) > 1
    shots, problem = few_shot.load_shots(train), load_problems(test)[3]
    assert few_shot.plain_messages(problem, few_shot.draw_shots(shots, problem, 5, 0)) == first[3]


@pytest.mark.parametrize(
    "test_problem",
    [
        "Train problem 4: what is 4 + 4?",  # the same text
        "  train PROBLEM 4:   what is 4 +\n4?",  # the same problem, other case and spacing
    ],
)
def test_a_shot_file_sharing_a_problem_with_the_evaluated_file_is_refused_naming_it(tmp_path, files, test_problem):
    train, _ = files
    test = write_jsonl(tmp_path / "overlap.jsonl", [*TEST, {"id": "x", "problem": test_problem, "answer": "8"}])
    with pytest.raises(
        UsageError, match=r"shares 1 problem\(s\) with .*overlap.jsonl \(e.g. its line 5 is problem 'x'\)"
    ):
        prompts_of(train, test)


def test_the_evaluated_file_itself_is_refused_as_shot_file_also_through_a_link(tmp_path):
    path = write_jsonl(tmp_path / "both.jsonl", TEST)  # a test file: no solutions, refused before reading shots
    (tmp_path / "alias.jsonl").symlink_to(path)
    for shot_file in (path, tmp_path / "alias.jsonl"):
        with pytest.raises(UsageError, match="is the evaluated file"):
            few_shot.load_disjoint_shots(str(shot_file), str(path), load_problems(path))


def test_a_shot_file_without_solutions_or_with_too_few_rows_is_refused(tmp_path, files):
    no_solution = write_jsonl(tmp_path / "bad.jsonl", [{"problem": "q", "answer": "1"}])
    with pytest.raises(UsageError, match=r"--fewshot_file: .*bad.jsonl:1: missing field\(s\) \['solution'\]"):
        few_shot.load_shots(no_solution)
    numeric = write_jsonl(tmp_path / "numeric.jsonl", [{"problem": "q", "solution": 4}])
    with pytest.raises(UsageError, match=r"numeric.jsonl:1: field\(s\) \['solution'\] not text"):
        few_shot.load_shots(numeric)
    with pytest.raises(UsageError, match="no such file"):
        few_shot.load_shots(tmp_path / "missing.jsonl")
    with pytest.raises(UsageError, match="--num_fewshot 13 is more than the 12 rows"):
        few_shot.draw_shots(few_shot.load_shots(files[0]), Problem("0", "q", "1"), 13, 0)


@pytest.mark.parametrize(
    ("completion", "gold", "extracted", "correct"),
    [
        ("3 * 6 = <<3*6=18>>18\n#### 18", "18", "18", True),
        ("#### 2125", "2,125", "2125", True),  # GSM8K's golds keep thousands separators
        ("#### 2,125 dollars", "2125", "2125", True),
        ("#### 5\nQuestion: ... #### 7", "7", "5", False),  # the first answer counts
        ("#### 18.0", "18", "18.0", False),  # an exact match of strings, as lighteval's
        ("#### -4", "-4", "-4", True),
        ("The answer is 18.", "18", None, False),  # no '#### ': no answer
        ("####18", "18", None, False),
        ("", "18", None, False),
        ("**#### 18**", "18", "18", True),  # markdown bold ends the number
        ("#### 18%", "18", "18", True),
        ("#### 18\\%", "18", "18", True),  # a review's: a LaTeX sign or a unit after the number ends it
        ("#### 18\\$ in all", "18", "18", True),
        ("#### 18cm", "18", "18", True),
        ("#### 72", "72.0", "72", True),  # a JSON number 72.0, read back as text, is the gold 72
        ("#### 1000", "1,000.00", "1000", True),
    ],
)
def test_answers_are_graded_as_lighteval_gsm8k_quasi_exact_match(completion, gold, extracted, correct):
    assert few_shot.grade_hash_answer(completion, gold) == (extracted, float(correct))


@pytest.mark.parametrize(
    ("completion", "extracted"),
    [
        ("#### 3/4", "3/4"),
        ("#### 3 / 4 of them", "3 / 4"),
        ("#### 3 1/2", "3 1/2"),
        ("#### 3e2", "3e2"),
        ("#### 3^2", "3^2"),
        ("#### 3-7 days", "3-7"),
        ("#### 3+1", "3+1"),
        ("#### 3\\frac{1}{2}", "3\\frac{1}{2}"),
        ("#### 3:30", "3:30"),
    ],
)
def test_a_number_continued_by_an_expression_is_that_expression_not_its_leading_digits(completion, extracted):
    """Red team: lighteval's normaliser reads `#### 3/4` as 3 and pays it against the gold 3 (deliberately not
    followed: docs/upstream.md)."""
    assert few_shot.grade_hash_answer(completion, "3") == (extracted, 0.0)


@pytest.mark.parametrize("gold", ["\\frac{1}{2}", "3/4", "1e3", "5-7", "3\\frac{1}{2}", "3.5", "1 000", "", "12,"])
def test_a_gold_that_is_not_a_whole_number_is_an_error_not_a_grade(gold):
    """Red team: a gold cut to its leading number (`3/4` as 3) paid `#### 3`; every such gold is refused instead."""
    with pytest.raises(ValueError, match="not a whole number"):
        few_shot.grade_hash_answer(f"#### {gold}", gold)


def test_a_file_whose_golds_are_not_all_whole_numbers_is_refused_naming_the_first_and_the_count(tmp_path):
    problems = [Problem("a", "q", "1,000"), Problem("b", "q", "\\frac{1}{2}"), Problem("c", "q", "2.5")]
    few_shot.check_whole_number_golds(problems[:1], "test.jsonl")
    with pytest.raises(UsageError, match=r"^test.jsonl: problem 'b' has the answer '\\\\frac\{1\}\{2\}', and 2 "):
        few_shot.check_whole_number_golds(problems, "test.jsonl")


def test_more_shots_than_the_shot_file_has_rows_are_refused_as_the_user_wrote_the_count(files):
    shots = few_shot.load_shots(files[0])
    few_shot.check_shot_count(12, shots)
    with pytest.raises(UsageError, match=r"^--num_fewshot 13 is more than the 12 rows of the shot file$"):
        few_shot.check_shot_count(13, shots)
    with pytest.raises(UsageError, match=r"^<num_fewshot 13> is more than the 12 rows"):
        few_shot.check_shot_count(13, shots, lambda name, value: f"<{name} {value}>")


@pytest.mark.timeout(10)
def test_grading_a_hostile_completion_stays_linear_in_its_length():
    # Megabytes of near-answers: '#### ' everywhere, digit runs without an end, separators alone.
    hostile = ["#### " * 400_000, "#### " + "1," * 1_000_000, "# " * 1_000_000 + "#### ,", "#" * 2_000_000]
    start = time.perf_counter()
    assert [few_shot.grade_hash_answer(text, "1")[1] for text in hostile] == [0.0, 0.0, 0.0, 0.0]
    assert time.perf_counter() - start < 5.0


def test_completions_end_before_the_first_stop_sequence():
    text = "#### 4\nQuestion: what next? Question"
    assert few_shot.cut_at_stop_sequences(text, few_shot.LIGHTEVAL_GSM8K_STOP_SEQUENCES) == "#### 4\n"
    assert few_shot.cut_at_stop_sequences(text, []) == text
    assert few_shot.cut_at_stop_sequences("a Question b", ["b", "Question"]) == "a "


@pytest.mark.parametrize(
    ("num_fewshot", "fewshot_file", "message"),
    [
        (-1, None, "<num_fewshot -1>: expected a count of shots, 0 or more"),
        (5, None, "(N > 0) and <fewshot_file <train.jsonl>> go together"),
        (0, "train.jsonl", "(N > 0) and <fewshot_file <train.jsonl>> go together"),
    ],
)
def test_a_shot_count_and_a_shot_file_go_together(num_fewshot, fewshot_file, message):
    """One rule for the evaluator's options and make evaluate's variables, each spelt as its user types it."""
    few_shot.check_fewshot_settings(0, None, lambda name, value: pytest.fail("nothing to say"))
    few_shot.check_fewshot_settings(5, "train.jsonl", lambda name, value: pytest.fail("nothing to say"))
    with pytest.raises(UsageError) as raised:
        few_shot.check_fewshot_settings(num_fewshot, fewshot_file, lambda name, value: f"<{name} {value}>")
    assert str(raised.value).endswith(message)
