"""Points wandb at the entity, project and group named in the training config, and checks that it can log.

    check_wandb_login(); init_wandb_training(training_args)   # start_run does both when report_to has wandb

Not covered: a key wandb refuses (checked by wandb itself, when the Trainer starts its run).
"""

import os
import typing

from open_r1.usage import UsageError, did_you_mean

# WANDB_MODE values that need no login.
LOCAL_MODES = ("offline", "disabled", "dryrun")


def init_wandb_training(training_args) -> None:
    """Sets the WANDB_* variables the Trainer's wandb integration reads when it starts a run."""
    for variable, value in (
        ("WANDB_ENTITY", training_args.wandb_entity),
        ("WANDB_PROJECT", training_args.wandb_project),
        ("WANDB_RUN_GROUP", training_args.wandb_run_group),
    ):
        if value is not None:
            os.environ[variable] = value


def check_wandb_login() -> None:
    """A UsageError when wandb would log online without credentials (no WANDB_API_KEY, no `wandb login`), or
    WANDB_MODE is no mode wandb knows: wandb itself raises only once the Trainer starts, after the model has loaded
    (for a mistyped mode, blaming the API key). The mode and the server are wandb's own settings (the environment,
    `wandb offline`, `wandb login --host`), read as wandb reads them."""
    mode = os.environ.get("WANDB_MODE")
    if mode in LOCAL_MODES:
        return  # decided without importing wandb
    try:
        from wandb.sdk import wandb_setup
        from wandb.sdk.lib.wbauth import authenticate_session
        from wandb.sdk.wandb_settings import Settings
    except ImportError:  # another wandb: it says so itself at train start
        return
    modes = typing.get_args(getattr(Settings.model_fields.get("mode"), "annotation", None))
    if mode is not None and modes and mode not in modes:
        close = [mode.lower()] if mode.lower() in modes else modes  # wandb's modes are lower-case
        raise UsageError(
            f"WANDB_MODE={mode} is none of wandb's modes {', '.join(modes)}"
            + did_you_mean(mode.lower(), close, "WANDB_MODE=")
        )
    try:
        settings = wandb_setup.singleton().settings
        if str(settings.mode).lower() in LOCAL_MODES:
            return
        credentials = authenticate_session(
            host=settings.base_url, source="open_r1", prompt=False, update_session=False
        )
    except Exception:  # settings or credentials wandb finds malformed: its own message at train start is clearer
        return
    if credentials is None:
        raise UsageError(
            f"report_to wandb needs credentials for {settings.base_url}: run `wandb login` once (or set "
            "WANDB_API_KEY), or set WANDB_MODE=offline to log under wandb/ and upload later with `wandb sync`"
        )
