"""open_r1.utils.logs: every entry point logs one line format, set up in one place."""

import re
import subprocess
import sys

from tests.support import REPO_ROOT


def test_a_log_line_carries_time_level_logger_and_message():
    program = (
        "import logging; from open_r1.utils.logs import configure_logging; configure_logging(); "
        "logging.getLogger('open_r1.demo').info('trained'); logging.getLogger('open_r1.demo').debug('hidden')"
    )
    stderr = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stderr
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - INFO - open_r1\.demo - trained\n", stderr), stderr


def test_no_entry_point_sets_up_logging_its_own_way():
    """A one-home audit's: four formats in eight places (training's, the evaluator's, the data scripts', Python's
    default without a time), so that lines of one `make gsm8k` run read four ways."""
    own_setups = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for folder in ("src", "scripts")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if path.name != "logs.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "logging.basicConfig(" in line
    ]
    assert not own_setups, own_setups
