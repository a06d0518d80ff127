"""Upstream open-r1's IOI scoring path; the code the reward uses lives in `open_r1.rewards.ioi`, and the two functions
only upstream's callers use live here.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.ioi_scoring`.
"""

from collections.abc import Sequence

from open_r1.rewards.ioi import (
    SubtaskResult,
    TestResult,
    run_submission,
    score_single_test_case,
    score_subtask,
    send_cms_ioi,
)


async def execute_ioi(client, data: dict) -> tuple[str, str]:
    """Runs one cms_ioi request; (printed text, feedback), "0" when the program failed. Raises PistonError when the
    worker, not the program, failed."""
    ran = await send_cms_ioi(client, data)
    if ran.output is None:
        return "0", ran.feedback
    if not ran.output:  # as upstream: nothing printed reads as "0"
        return "0", "Unknown error"
    return ran.output, ran.feedback


async def score_subtasks(
    client, subtasks: Sequence[dict], submission: str, skip_mode: bool = True
) -> list[SubtaskResult]:
    """Scores every subtask of a problem, running each test once; `skip_mode`: one test at a time, stopping at the
    first failure (else all tests of a subtask at once)."""
    cache: dict[str, TestResult] = {}
    return [
        await score_subtask(client, subtask, submission, cache, test_batch_size=1 if skip_mode else 0)
        for subtask in subtasks
    ]


__all__ = [
    "SubtaskResult",
    "TestResult",
    "execute_ioi",
    "run_submission",
    "score_single_test_case",
    "score_subtask",
    "score_subtasks",
]
