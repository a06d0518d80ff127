"""Specification of the pass@k / maj@k estimators and their standard errors (open_r1.eval.metrics)."""

import math
from itertools import combinations

import pytest

from open_r1.eval.metrics import majority_vote_correct, mean_and_stderr, pass_at_k, summarize_scores


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 1, 0.25),  # pass@1 is the fraction correct
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (64, 16, 1, 0.25),
        (3, 1, 3, 1.0),  # n = k with one correct sample: every draw contains it
        (3, 0, 3, 0.0),  # n = k with none correct
        (8, 0, 4, 0.0),  # c = 0
        (8, 8, 4, 1.0),  # c = n
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
    ],
)
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(6, 2, 3), (7, 4, 2), (5, 1, 4)])
def test_pass_at_k_equals_the_fraction_of_k_subsets_containing_a_correct_sample(n, c, k):
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(samples, k))
    brute_force = sum(any(subset) for subset in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute_force, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (4, 5, 1), (4, -1, 1), (4, 2, 5), (4, 2, 0)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_majority_vote_scores_the_most_frequent_answer_among_the_first_k():
    answers = ["3", "5", "5", "3", "3"]
    verdicts = [True, False, False, True, True]
    assert majority_vote_correct(answers, verdicts, k=3) is False  # "5" wins 2-1 among the first three
    assert majority_vote_correct(answers, verdicts, k=5) is True  # "3" wins 3-2


def test_majority_vote_breaks_ties_by_first_appearance_and_ignores_missing_answers():
    assert majority_vote_correct(["7", "8"], [False, True], k=2) is False
    assert majority_vote_correct([None, None, "8"], [False, False, True], k=3) is True
    assert majority_vote_correct([None, None], [False, False], k=2) is False


def test_mean_and_stderr_uses_the_sample_standard_deviation_over_problems():
    assert mean_and_stderr([1.0, 0.0]) == pytest.approx((0.5, 0.5))
    mean, stderr = mean_and_stderr([0.25, 0.5, 1.0])
    expected_sd = math.sqrt(((0.25 - mean) ** 2 + (0.5 - mean) ** 2 + (1.0 - mean) ** 2) / 2)
    assert mean == pytest.approx(7 / 12)
    assert stderr == pytest.approx(expected_sd / math.sqrt(3))
    assert mean_and_stderr([0.3]) == (0.3, 0.0)


def test_summarize_scores_reports_each_metric_with_its_standard_error():
    verdicts = [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
    answers = [["1", "1", "2", "2"], ["9", "9", "8", None], ["4", "4", "4", "4"]]
    summary = summarize_scores(verdicts, answers, pass_ks=(1, 2), maj_ks=(4,))
    assert summary["pass@1"] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert summary["pass@1_stderr"] == pytest.approx(mean_and_stderr([0.5, 0.0, 1.0])[1])
    assert summary["pass@2"] == pytest.approx((1 - 1 / 6 + 0.0 + 1.0) / 3)  # 1 - C(2,2)/C(4,2)
    assert summary["maj@4"] == pytest.approx(2 / 3)  # "1" ties "2" and wins by appearing first
    assert set(summary) == {"pass@1", "pass@1_stderr", "pass@2", "pass@2_stderr", "maj@4", "maj@4_stderr"}


def test_summarize_scores_rejects_ragged_sample_counts_and_k_above_n():
    with pytest.raises(ValueError, match="same number of samples"):
        summarize_scores([[True], [True, False]])
    with pytest.raises(ValueError, match="pass@3"):
        summarize_scores([[True, False]], pass_ks=(3,))
