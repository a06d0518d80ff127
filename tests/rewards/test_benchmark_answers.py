"""Every real benchmark answer (MATH-500, AIME 2024/2025, AMC 2023, GSM8K), written as a model would write it,
is graded correct against its own gold and wrong against another problem's: the grader on real data.

Needs ../shared/data (skips without it); `tests/rewards/test_accuracy.py` covers the same code path on
hand-written answers of each kind ('025', '27.0', '2,125', LaTeX tuples and intervals).
"""

import json

from open_r1.rewards import grade_answers

BENCHMARKS = ["math500.jsonl", "aime24.jsonl", "aime25.jsonl", "amc23.jsonl", "gsm8k_test.jsonl"]
REQUIRED_RATE = 0.995


def as_model_writes_it(answer: str) -> str:
    return (
        f"<think>\nLet me work through the problem step by step.\n</think>\nThe final answer is $\\boxed{{{answer}}}$."
    )


def load_answers(shared_data) -> list[tuple[str, str]]:
    rows = []
    for name in BENCHMARKS:
        with open(shared_data / name, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                rows.append((f"{name}:{row['id']}", str(row["answer"])))
    return rows


def another_answer(answers: list[str], index: int) -> str:
    """The next problem's answer that is a different string (equal values written differently are counted)."""
    for offset in range(1, len(answers)):
        candidate = answers[(index + offset) % len(answers)]
        if candidate.strip() != answers[index].strip():
            return candidate
    raise AssertionError("all answers are equal")


def test_benchmark_answers_grade_correct_against_their_own_gold_and_wrong_against_another(shared_data):
    rows = load_answers(shared_data)
    ids = [row_id for row_id, _ in rows]
    answers = [answer for _, answer in rows]
    completions = [as_model_writes_it(answer) for answer in answers]

    own = grade_answers(completions, answers)
    others = [another_answer(answers, i) for i in range(len(answers))]
    crossed = grade_answers(completions, others)

    own_failures = [(ids[i], answers[i], own[i]) for i in range(len(rows)) if own[i] != 1.0]
    cross_failures = [(ids[i], answers[i], others[i], crossed[i]) for i in range(len(rows)) if crossed[i] != 0.0]
    own_rate = 1 - len(own_failures) / len(rows)
    cross_rate = 1 - len(cross_failures) / len(rows)
    print(f"\n{len(rows)} answers: own gold 1.0 for {own_rate:.2%}, another's gold 0.0 for {cross_rate:.2%}")
    print("not 1.0 against own gold:", own_failures)
    print("not 0.0 against another gold:", cross_failures)
    assert own_rate >= REQUIRED_RATE, own_failures
    assert cross_rate >= REQUIRED_RATE, cross_failures
