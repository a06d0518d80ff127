"""The GRPO doctor's vocabulary: its checks' names, its settings' defaults, a `Finding`, and the few helpers the
start-up and training checks share (which column holds the gold, how an example is quoted).

`open_r1.doctor` says what each check finds; `open_r1.configs` takes the defaults for GRPOConfig's doctor fields.
Not covered: the checks themselves (`open_r1.doctor.startup`, `open_r1.doctor.training`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from open_r1.rewards._completions import GOLD_COLUMNS
from open_r1.usage import UsageError

STARTUP_CHECKS = ("unscorable_gold", "no_stop_token", "long_solutions", "unpayable_format", "long_prompts")
TRAINING_CHECKS = (
    "constant_reward",
    "zero_spread",
    "clipped",
    "entropy_collapse",
    "kl_blowup",
    "empty_completions",
    "dead_gradient",
    "no_tool_calls",
    "tool_errors",
)
CHECKS = STARTUP_CHECKS + TRAINING_CHECKS
ALL_CHECKS = "all"  # in doctor_stop_on: every check

# Defaults of GRPOConfig's doctor fields (open_r1.configs).
DEFAULT_DOCTOR = True
DEFAULT_PATIENCE = 5
DEFAULT_ZERO_STD_SHARE = 0.9
DEFAULT_CLIPPED_SHARE = 0.5
DEFAULT_TOOL_ERROR_SHARE = 0.5

# How much of a completion an example shows: its start, and its end, where the answer is.
EXAMPLE_HEAD_CHARS, EXAMPLE_TAIL_CHARS = 200, 400


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: the check's name (one of CHECKS), what to tell the user, and `brief`, the measure
    alone ("100% of the groups"), for a summary that names several findings in one line."""

    check: str
    message: str
    brief: str = ""


def stop_checks(stop_on: Sequence[str]) -> frozenset[str]:
    """The checks `doctor_stop_on` names, `all` expanded; UsageError for a name that is not a check."""
    names = set(stop_on or ())
    unknown = sorted(names - set(CHECKS) - {ALL_CHECKS})
    if unknown:
        raise UsageError(
            f"doctor_stop_on: {unknown[0]!r} is not a doctor check; the checks: {', '.join(CHECKS)}, or all"
        )
    return frozenset(CHECKS) if ALL_CHECKS in names else frozenset(names)


def gold_column(columns: Sequence[str]) -> str | None:
    """The column of `columns` the accuracy rewards read the gold from."""
    return next((column for column in GOLD_COLUMNS if column in columns), None)


def reward_func_names(reward_funcs) -> list[str]:
    return [reward_funcs] if isinstance(reward_funcs, str) else list(reward_funcs)


def short_repr(text: str, limit: int = EXAMPLE_HEAD_CHARS) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def excerpt(text: str) -> str:
    if len(text) <= EXAMPLE_HEAD_CHARS + EXAMPLE_TAIL_CHARS:
        return repr(text)
    return f"{text[:EXAMPLE_HEAD_CHARS]!r} [... {len(text) - EXAMPLE_HEAD_CHARS - EXAMPLE_TAIL_CHARS} characters ...] {text[-EXAMPLE_TAIL_CHARS:]!r}"
