"""Upstream open-r1's IOI helpers path; the code lives in `open_r1.rewards.ioi`.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.ioi_utils`.
"""

from open_r1.rewards.ioi import add_includes, load_ioi_tests, load_ioi_tests_for_year

__all__ = ["add_includes", "load_ioi_tests", "load_ioi_tests_for_year"]
