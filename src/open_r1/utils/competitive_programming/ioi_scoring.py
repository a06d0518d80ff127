"""Upstream open-r1's IOI scoring path; the code lives in `open_r1.rewards.ioi`.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.ioi_scoring`.
"""

from open_r1.rewards.ioi import (
    SubtaskResult,
    TestResult,
    execute_ioi,
    run_submission,
    score_single_test_case,
    score_subtask,
    score_subtasks,
)

__all__ = [
    "SubtaskResult",
    "TestResult",
    "execute_ioi",
    "run_submission",
    "score_single_test_case",
    "score_subtask",
    "score_subtasks",
]
