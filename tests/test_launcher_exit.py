"""`open_r1.launcher_exit`: under `accelerate launch`, a usage error ends in its one line and exit status 2; any other
failure keeps the launcher's whole report. The launch itself is in tests/test_entry_errors.py."""

import logging
import subprocess

import pytest
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from open_r1 import launcher_exit
from open_r1.usage import USAGE_ERROR_STATUS


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def agent_log():
    """A logger like torch's elastic agent's, with the filter, and the lines that get through it."""
    logger = logging.getLogger("tests.launcher_exit.agent")
    logger.propagate = False
    collect = Collect()
    logger.addHandler(collect)
    log_filter = launcher_exit.UsageExitLogFilter(logger)
    logger.addFilter(log_filter)
    yield logger, collect.lines
    logger.removeFilter(log_filter)
    logger.removeHandler(collect)


def agent_failure(logger, exitcode):
    # The agent's order: it stops the other processes, then reports the first failure.
    logger.warning("Sending process %s closing signal %s", 1234, "SIGTERM")
    logger.error("failed (exitcode: %s) local_rank: %s (pid: %s) of binary: %s", exitcode, 0, 1233, "python")


def test_the_status_is_the_one_the_scripts_exit_with_on_a_usage_error():
    assert launcher_exit.USAGE_ERROR_STATUS == USAGE_ERROR_STATUS


def test_a_usage_error_drops_the_agents_report_and_its_closing_signals(agent_log):
    logger, lines = agent_log
    agent_failure(logger, USAGE_ERROR_STATUS)
    assert lines == []


def test_any_other_failure_keeps_every_line_in_order(agent_log):
    logger, lines = agent_log
    agent_failure(logger, 1)
    assert lines == [
        "Sending process 1234 closing signal SIGTERM",
        "failed (exitcode: 1) local_rank: 0 (pid: 1233) of binary: python",
    ]


@pytest.mark.parametrize(
    "error, quiet",
    [
        (subprocess.CalledProcessError(USAGE_ERROR_STATUS, ["python"]), True),
        (subprocess.CalledProcessError(1, ["python"]), False),
        (ValueError("anything else"), False),
    ],
)
def test_only_a_child_that_exited_with_the_usage_status_makes_the_launch_quiet(error, quiet):
    assert launcher_exit.stopped_on_usage_error(error) is quiet


@pytest.mark.parametrize("root_cause_status, quiet", [(USAGE_ERROR_STATUS, True), (1, False), (-15, False)])
def test_the_root_cause_of_a_child_failed_error_decides(root_cause_status, quiet):
    root_cause = ProcessFailure(local_rank=0, pid=1, exitcode=root_cause_status, error_file="/nonexistent/e.json")
    later = ProcessFailure(local_rank=1, pid=2, exitcode=USAGE_ERROR_STATUS, error_file="/nonexistent/e.json")
    later.timestamp = root_cause.timestamp + 1
    error = ChildFailedError("src/open_r1/sft.py", {0: root_cause, 1: later})
    assert launcher_exit.stopped_on_usage_error(error) is quiet


@pytest.mark.parametrize(
    "argv",
    [
        ["accelerate", "launch", "--config_file", "recipes/accelerate_configs/zer03.yaml", "src/open_r1/sft.py"],
        ["accelerate", "launch", "--config_file=recipes/accelerate_configs/zer03.yaml", "src/open_r1/sft.py"],
    ],
)
def test_a_missing_accelerate_config_file_is_named_with_the_close_ones(argv):
    line = launcher_exit.missing_config_file(FileNotFoundError("accelerate's"), argv)
    assert line == (
        "--config_file: no such file or folder: recipes/accelerate_configs/zer03.yaml (did you mean "
        "recipes/accelerate_configs/zero3.yaml or recipes/accelerate_configs/zero2.yaml?)"
    )


@pytest.mark.parametrize(
    "error, argv",
    [
        (FileNotFoundError(), ["accelerate", "launch", "--config_file", "recipes/accelerate_configs/zero3.yaml"]),
        (FileNotFoundError(), ["accelerate", "launch", "sft.py", "--config_file", "nope.yaml"]),  # the script's
        (FileNotFoundError(), ["accelerate", "config", "--config_file", "nope.yaml"]),
        (KeyError("nope"), ["accelerate", "launch", "--config_file", "nope.yaml"]),
    ],
)
def test_other_errors_and_config_files_that_exist_are_left_to_accelerate(error, argv):
    assert launcher_exit.missing_config_file(error, argv) is None


@pytest.mark.timeout(120)
def test_accelerate_launch_with_a_mistyped_config_file_is_one_line_and_status_2():
    """A newcomer audit's: accelerate's FileNotFoundError traceback, 15 lines, exit status 1, no close name."""
    import pathlib
    import sys

    from tests.support import REPO_ROOT

    result = subprocess.run(
        [str(pathlib.Path(sys.executable).with_name("accelerate")), "launch", "--config_file", "recipes/accelerate_configs/zer03.yaml",
         "src/open_r1/sft.py", "--config", "recipes/tiny/sft/config_cpu.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr.startswith("accelerate launch: error: --config_file: no such file or folder: ")
    assert result.stderr.count("\n") == 1 and "did you mean recipes/accelerate_configs/zero3.yaml" in result.stderr
