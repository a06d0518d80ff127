"""One log line for every entry point: `2026-11-29 08:00:00 - INFO - open_r1.doctor - message`.

    from open_r1.utils.logs import configure_logging
    configure_logging()                      # INFO and up, to stderr (evaluation, generation, the data scripts)
    configure_logging(stream=sys.stdout)     # training's: stdout, beside the Trainer's progress and metrics

Not covered: the libraries' own verbosity and format (training sets transformers' and datasets' in
`open_r1.utils.training.setup_logging`), uvicorn's (the sandbox routers).
"""

import logging

LOG_FORMAT = "%(asctime)s - %(levelname)s - %(name)s - %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def configure_logging(level: int | None = logging.INFO, stream=None, force: bool = False) -> None:
    """The root logger writes `LOG_FORMAT` lines to `stream` (stderr when None) from `level` up (None: leaves the
    root's level as it is); `force` replaces handlers set before (a library that closed its own)."""
    logging.basicConfig(
        level=level, format=LOG_FORMAT, datefmt=DATE_FORMAT, handlers=[logging.StreamHandler(stream)], force=force
    )
