"""Upstream open-r1's IOI helpers path; the code lives in `open_r1.rewards.ioi`."""

from open_r1.rewards.ioi import add_includes, load_ioi_tests, load_ioi_tests_for_year

__all__ = ["add_includes", "load_ioi_tests", "load_ioi_tests_for_year"]
