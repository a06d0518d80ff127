"""pass@k and maj@k estimated from n sampled completions per problem, with standard errors.

    from open_r1.eval.metrics import pass_at_k, summarize_scores
    pass_at_k(n=4, c=1, k=1)  # 0.25

pass@k uses the unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models
Trained on Code"): for a problem with n samples of which c are correct,
    pass@k = 1 - C(n - c, k) / C(n, k),
the probability that k samples drawn without replacement from the n contain a correct one.
maj@k votes among the first k samples' extracted answers and scores the winning answer.

A benchmark score is the mean of the per-problem estimates; its standard error is the sample
standard deviation of those estimates over sqrt(number of problems), i.e. the uncertainty from
the finite set of problems and samples, the number reported next to each score.

Not covered here: grading itself (see `open_r1.rewards.accuracy.grade_answers`).
"""

import math
from collections import Counter
from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with `n` samples of which `c` are correct."""
    if n < 1:
        raise ValueError(f"pass@k needs at least one sample per problem, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"the number of correct samples c must be within [0, n={n}], got c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n samples per problem, got k={k}, n={n}")
    if n - c < k:
        # Every draw of k samples contains a correct one.
        return 1.0
    # Product form of C(n-c, k) / C(n, k): stays exact enough and never builds huge binomials.
    miss_probability = 1.0
    for i in range(n - c + 1, n + 1):
        miss_probability *= 1.0 - k / i
    return 1.0 - miss_probability


def majority_vote_correct(answers: Sequence[str | None], verdicts: Sequence[bool], k: int) -> bool:
    """maj@k for one problem: is the most frequent answer among the first `k` samples correct?

    Samples without an extracted answer (None) do not vote; if none voted the problem counts as
    wrong. Ties go to the answer that appeared first, so the result is deterministic.
    """
    if len(answers) != len(verdicts):
        raise ValueError(f"answers ({len(answers)}) and verdicts ({len(verdicts)}) must have the same length")
    if not 1 <= k <= len(answers):
        raise ValueError(f"maj@{k} needs 1 <= k <= n samples per problem, got k={k}, n={len(answers)}")
    votes = Counter(answer for answer in answers[:k] if answer is not None)
    if not votes:
        return False
    top = max(votes.values())
    winner = next(answer for answer in answers[:k] if answer is not None and votes[answer] == top)
    return bool(verdicts[answers.index(winner)])


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean of per-problem scores and its standard error (0 for fewer than two problems)."""
    if not values:
        raise ValueError("cannot average an empty list of per-problem scores")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def summarize_scores(
    verdicts: Sequence[Sequence[bool]],
    answers: Sequence[Sequence[str | None]] | None = None,
    pass_ks: Sequence[int] = (1,),
    maj_ks: Sequence[int] = (),
) -> dict[str, float]:
    """Benchmark-level pass@k (and maj@k when `answers` are given) with `<metric>_stderr` entries.

    `verdicts[i][j]` says whether sample j of problem i is correct; every problem needs the same
    number of samples n, and each k must satisfy 1 <= k <= n.
    """
    if not verdicts:
        raise ValueError("no problems to score")
    sample_counts = {len(row) for row in verdicts}
    if len(sample_counts) != 1:
        raise ValueError(f"every problem needs the same number of samples, got counts {sorted(sample_counts)}")
    n = sample_counts.pop()
    summary: dict[str, float] = {}
    for k in pass_ks:
        per_problem = [pass_at_k(n, sum(bool(v) for v in row), k) for row in verdicts]
        summary[f"pass@{k}"], summary[f"pass@{k}_stderr"] = mean_and_stderr(per_problem)
    if maj_ks:
        if answers is None or len(answers) != len(verdicts):
            raise ValueError("maj@k needs the extracted answers of every problem's samples")
        for k in maj_ks:
            per_problem = [float(majority_vote_correct(a, v, k)) for a, v in zip(answers, verdicts)]
            summary[f"maj@{k}"], summary[f"maj@{k}_stderr"] = mean_and_stderr(per_problem)
    return summary
