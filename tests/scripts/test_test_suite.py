"""scripts/benchmarks/test_suite.py: `make test` timed, pytest's counts kept, and docs/benchmarks.md's table written
from the results files, never typed."""

import sys

import pytest

from tests.support.script_module import load_module

TEST_SUITE = load_module("scripts/benchmarks/test_suite.py", "test_suite")


@pytest.mark.parametrize(
    "output, counts, seconds",
    [
        ("....\n2429 passed in 647.12s (0:10:47)\n", {"passed": 2429}, 647.12),
        (
            "= 3 failed, 2 passed, 9 skipped, 1 warning in 12.50s =\n",
            {"failed": 3, "passed": 2, "skipped": 9, "warning": 1},
            12.5,
        ),
        ("1 passed in 1.00s\nlater run:\n5 passed, 2 errors in 3.25s\n", {"passed": 5, "error": 2}, 3.25),
    ],
)
def test_pytests_last_summary_line_gives_the_counts_and_seconds(output, counts, seconds):
    assert TEST_SUITE.pytest_summary(output) == {"counts": counts, "pytest_seconds": seconds}


def test_an_output_without_a_summary_stops_with_its_tail():
    with pytest.raises(SystemExit, match="(?s)no pytest summary line.*ImportError: no module"):
        TEST_SUITE.pytest_summary("collecting ...\nImportError: no module named x\n")


def test_a_run_is_timed_saved_and_tabulated_failures_included(tmp_path):
    printer = "print('..F'); print('1 failed, 40 passed, 2 skipped in 3.00s'); raise SystemExit(1)"
    output = tmp_path / "results" / "run.json"
    results = TEST_SUITE.run(output, [sys.executable, "-c", printer])
    assert results["exit_status"] == 1 and results["counts"] == {"failed": 1, "passed": 40, "skipped": 2}
    assert results["wall_seconds"] >= 0 and results["pytest_seconds"] == 3.0 and output.exists()
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{TEST_SUITE.BEGIN}\nold\n{TEST_SUITE.END}\nafter\n")
    TEST_SUITE.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    row = text.splitlines()[5]
    assert "40 passed, 1 failed, 2 skipped (exit 1)" in row and "| 3 s |" in row and str(output) in row
