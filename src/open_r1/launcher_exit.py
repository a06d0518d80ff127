"""`accelerate launch`: a run stopped by a usage error ends in its one line and exit status 2, not a traceback.

The entry scripts report a user's mistake in one line and exit with status 2 (`open_r1.usage`). Under
`accelerate launch`, torch's elastic agent then logs the failed child, stops the others, and accelerate's command
re-raises the agent's `ChildFailedError` (or, with its simple launcher, a `CalledProcessError`): some 30 lines
after ours, and exit status 1. A script cannot change what its launcher prints, so `make install`
(scripts/install.sh) writes a `.pth` file that imports this module when any Python of the virtual environment
starts; when that Python is the `accelerate` command, `install()`:

- drops the agent's log lines about a child that exited with status 2 and the closing signals sent to the others;
- turns the uncaught exception of such a launch into exit status 2, with nothing printed (the child said why).

A `--config_file` that does not exist (accelerate raises FileNotFoundError before launching anything) is one line
too, `accelerate launch: error: --config_file: ...` with the close file names, and exit status 2.

Any other failure (a crash, a signal, another exit status) keeps the launcher's full report. Only the root cause
(the first child to fail) counts. Remove this module and its `.pth` once accelerate exits with the child's status
without a traceback.

Not covered: `torchrun` or `deepspeed` launched directly, or an install without scripts/install.sh (the
traceback then follows the line; the line is still there).
"""

import logging
import os
import sys

# The status of `open_r1.usage.USAGE_ERROR_STATUS`; not imported, as this module loads in every Python start-up.
USAGE_ERROR_STATUS = 2
AGENT_LOGGER = "torch.distributed.elastic.multiprocessing.api"


class UsageExitLogFilter(logging.Filter):
    """Drops the agent's report of a child that exited with USAGE_ERROR_STATUS and the closing signals sent to the
    others. The agent logs those signals before the failure, so they wait here for the next line of its log: the
    report of a usage error drops them, any other line lets them through first."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger
        self.held: list[logging.LogRecord] = []
        self.releasing = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.releasing:
            return True
        if str(record.msg).startswith("Sending process %s closing signal"):
            self.held.append(record)
            return False
        held, self.held = self.held, []
        if (
            str(record.msg).startswith("failed (exitcode: %s)")
            and record.args
            and record.args[0] == USAGE_ERROR_STATUS
        ):
            return False
        self.releasing = True
        try:
            for earlier in held:
                self.logger.handle(earlier)
        finally:
            self.releasing = False
        return True


def stopped_on_usage_error(error: BaseException) -> bool:
    """Whether `error`, raised by accelerate's launcher, means that the first child to fail exited with status 2."""
    if type(error).__name__ == "ChildFailedError" and hasattr(error, "get_first_failure"):
        _, first_failure = error.get_first_failure()
        return first_failure.exitcode == USAGE_ERROR_STATUS
    if type(error).__name__ == "CalledProcessError":
        return error.returncode == USAGE_ERROR_STATUS
    return False


def missing_config_file(error: BaseException, argv: list[str]) -> str | None:
    """The line for `accelerate launch --config_file <no such file>`, or None for any other error."""
    if not isinstance(error, FileNotFoundError) or argv[1:2] != ["launch"]:
        return None
    given = None
    for index, word in enumerate(argv):
        if word == "--config_file" and index + 1 < len(argv):
            given = argv[index + 1]
        elif word.startswith("--config_file="):
            given = word.split("=", 1)[1]
        if given is not None or word.endswith(".py"):  # the script's own options come after it
            break
    if given is None or os.path.exists(os.path.expanduser(given)):
        return None
    from open_r1.usage import UsageError, check_local_path  # an error path: the start-up of every Python stays light

    try:
        check_local_path("--config_file", given, local_only=True)
    except UsageError as usage:
        return str(usage)
    return None


def install() -> None:
    """In the `accelerate` command only: the log filter and an exception hook for launches that stopped on a
    usage error; every other exception goes to the hook that was there before."""
    if os.path.basename(sys.argv[0] if sys.argv else "") != "accelerate":
        return
    agent_logger = logging.getLogger(AGENT_LOGGER)
    agent_logger.addFilter(UsageExitLogFilter(agent_logger))
    previous_hook = sys.excepthook

    def exit_quietly_on_usage_error(kind, error, traceback) -> None:
        line = missing_config_file(error, sys.argv)
        if line is not None:
            print(f"accelerate launch: error: {line}", file=sys.stderr, flush=True)
            os._exit(USAGE_ERROR_STATUS)
        if not stopped_on_usage_error(error):
            previous_hook(kind, error, traceback)
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(USAGE_ERROR_STATUS)

    sys.excepthook = exit_quietly_on_usage_error


install()
