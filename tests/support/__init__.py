"""Helpers shared by the test modules (not tests themselves); import them as `from tests.support.<module> import ...`."""

import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
