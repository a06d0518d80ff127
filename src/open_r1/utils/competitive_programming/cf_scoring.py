"""Upstream open-r1's Codeforces scoring path; generated tests come from `open_r1.rewards.codeforces`.

    await get_generated_tests("2063/A")          # from CF_TESTS_FOLDER, as upstream
    await get_generated_contest_tests("2063")    # {problem id: [{input, output}]} of one contest

Upstream's `score_submission` and `score_single_test_case` sent each test to custom Codeforces Piston packages
(c++17 / cf_python3 with a grader config and checker). Here Codeforces rows are scored by `cf_code_reward` on any
provider (Piston's standard runtimes included) with outputs compared in the training process, so those two raise
and say so.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.cf_scoring`.
"""

import os

from open_r1.compat.unavailable import unavailable
from open_r1.rewards import codeforces as _codeforces

_WHY = "Codeforces tests run through a provider with outputs compared here, not through custom cf Piston packages"
_INSTEAD = "open_r1.rewards.cf_code_reward (or get_cf_code_reward with a provider)"
_PREFIX = "open_r1.utils.competitive_programming.cf_scoring."
score_single_test_case = unavailable(_PREFIX + "score_single_test_case", _WHY, _INSTEAD)
score_submission = unavailable(_PREFIX + "score_submission", _WHY, _INSTEAD)


async def get_generated_contest_tests(contest_id: str) -> dict[str, list[dict]]:
    """{problem id: [{input, output}]} of one contest from CF_TESTS_FOLDER's `test_cases_<contest>.parquet`."""
    folder = os.environ.get("CF_TESTS_FOLDER")
    if not folder or not os.path.isdir(folder):
        raise ValueError(f"CF_TESTS_FOLDER must name the folder of generated tests, got {folder!r}")
    return _codeforces.get_generated_contest_tests(folder, str(contest_id))


async def get_generated_tests(problem_id: str) -> list[dict]:
    """Generated tests of one problem ('2063/A') from CF_TESTS_FOLDER (see open_r1.rewards.codeforces)."""
    return _codeforces.get_generated_tests(problem_id)


__all__ = ["get_generated_contest_tests", "get_generated_tests", "score_single_test_case", "score_submission"]
