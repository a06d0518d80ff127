"""GRPO reward functions under upstream open-r1's names, and `get_reward_funcs` to build them from a recipe.

    from open_r1.rewards import get_reward_funcs
    reward_funcs = get_reward_funcs(script_args)  # script_args.reward_funcs == ["accuracy", "format", ...]

Every reward is called as TRL's GRPOTrainer calls it, `reward(completions, **kwargs) -> list[float | None]`,
with completions as strings or as conversational message lists; None means "cannot be judged" (TRL
skips it). Modules, one concern each:
- `math`: accuracy_reward (+ extract_answer, grade_answers) in a pool of grading processes.
- `format`: format_reward, tag_count_reward, reasoning_steps_reward, get_code_format_reward.
- `length`: len_reward, get_cosine_scaled_reward, get_soft_overlong_punishment.
- `repetition`: get_repetition_penalty_reward (English and Chinese).
- `code`: code_reward, binary_code_reward (stdin/stdout tests in a sandbox), and the helpers the others share.
- `ioi`: ioi_code_reward and IOI subtask scoring of open-r1/ioi rows on Piston's cms_ioi package.
- `codeforces`: cf_code_reward and its generated tests (CF_TESTS_FOLDER).
  The code rewards are imported only when one of them is used, so importing this package starts no sandbox
  machinery.

Names for `reward_funcs` are the keys of `REWARD_FUNCS_REGISTRY`; each entry builds its one function from the
`GRPOScriptArguments` fields (the code rewards from its `code_sandbox` / `competitive_programming_sandbox`), or is a
reward function itself (one that takes `completions`: `REWARD_FUNCS_REGISTRY["mine"] = my_reward`). GRPO trains
with each reward `guarded_reward`: one that raises on a batch scores it None with a warning, and stops training on the
third batch in a row; an infinite score is read as the batch's highest or lowest finite one. `REWARD_DESCRIPTIONS` says
in one line what each name scores (the README's reward list is written from it). Upstream's module-level code rewards
(`code_reward`, ..., which also take upstream's per-call keywords) import from here and are built in
`open_r1.compat.rewards`.

Not covered: running programs, which the code rewards leave to `open_r1.sandbox`.
"""

import functools
import inspect
import logging
import math
import numbers
from collections.abc import Callable
from typing import Any

from open_r1.rewards._completions import completion_text
from open_r1.rewards.accuracy import accuracy_reward, extract_answer, get_accuracy_reward, grade_answers
from open_r1.rewards.format import (
    format_reward,
    get_code_format_reward,
    get_format_reward,
    get_tag_count_reward,
    reasoning_steps_reward,
    tag_count_reward,
)
from open_r1.rewards.length import (
    get_cosine_scaled_reward,
    get_len_reward,
    get_soft_overlong_punishment,
    len_reward,
)
from open_r1.rewards.repetition import get_repetition_penalty_reward
from open_r1.usage import UsageError, did_you_mean

logger = logging.getLogger(__name__)

CODE_REWARD_NAMES = ("code", "binary_code", "ioi_code", "cf_code")
# The recipe field naming the sandbox provider each code reward runs its programs on (GRPOScriptArguments builds
# `code_sandbox` and `competitive_programming_sandbox` from them).
SANDBOX_PROVIDER_FIELDS = {
    "code_provider": ("code", "binary_code"),
    "competitive_programming_provider": ("ioi_code", "cf_code"),
}
# The rewards that grade the final answer against the gold column (`_completions.GOLD_COLUMNS`).
ACCURACY_REWARD_NAMES = ("accuracy", "cosine", "length")
# The rewards that grade the `<think>` opening and so take `think_prefilled` (open_r1.rewards.format).
THINK_PREFILL_REWARDS = ("format", "tag_count", "code_format")
# All that read `think_prefilled`: the accuracy rewards too, which read an answer only after reasoning that ended.
THINK_PREFILLED_READERS = (*THINK_PREFILL_REWARDS, *ACCURACY_REWARD_NAMES)
_UPSTREAM_CODE_REWARDS = ("code_reward", "binary_code_reward", "ioi_code_reward", "cf_code_reward")


# The code rewards import their modules when built, so a recipe without them loads no sandbox client.
def _code(args) -> Callable:
    from open_r1.rewards.code import get_code_reward

    return get_code_reward(args.code_sandbox, args.code_language, args.code_test_batch_size, args.code_scoring_mode)


def _binary_code(args) -> Callable:
    from open_r1.rewards.code import get_code_reward

    return get_code_reward(args.code_sandbox, args.code_language, args.code_test_batch_size, binary=True)


def _ioi_code(args) -> Callable:
    from open_r1.rewards.ioi import get_ioi_code_reward

    return get_ioi_code_reward(args.competitive_programming_sandbox, test_batch_size=args.code_test_batch_size)


def _cf_code(args) -> Callable:
    from open_r1.rewards.codeforces import get_cf_code_reward

    return get_cf_code_reward(
        args.competitive_programming_sandbox,
        test_batch_size=args.code_test_batch_size,
        scoring_mode=args.code_scoring_mode,
    )


REWARD_FUNCS_REGISTRY: dict[str, Callable[[Any], Callable]] = {
    "accuracy": lambda args: get_accuracy_reward(
        num_workers=args.reward_num_workers, timeout=args.reward_timeout_seconds, think_prefilled=args.think_prefilled
    ),
    "format": lambda args: get_format_reward(think_prefilled=args.think_prefilled),
    "reasoning_steps": lambda args: reasoning_steps_reward,
    "cosine": lambda args: get_cosine_scaled_reward(
        min_value_wrong=args.cosine_min_value_wrong,
        max_value_wrong=args.cosine_max_value_wrong,
        min_value_correct=args.cosine_min_value_correct,
        max_value_correct=args.cosine_max_value_correct,
        max_len=args.cosine_max_len,
        num_workers=args.reward_num_workers,
        timeout=args.reward_timeout_seconds,
        think_prefilled=args.think_prefilled,
    ),
    "repetition_penalty": lambda args: get_repetition_penalty_reward(
        ngram_size=args.repetition_n_grams, max_penalty=args.repetition_max_penalty, language=args.repetition_language
    ),
    "length": lambda args: get_len_reward(
        num_workers=args.reward_num_workers, timeout=args.reward_timeout_seconds, think_prefilled=args.think_prefilled
    ),
    "code_format": lambda args: get_code_format_reward(
        language=args.code_language, think_prefilled=args.think_prefilled
    ),
    "tag_count": lambda args: get_tag_count_reward(think_prefilled=args.think_prefilled),
    "soft_overlong_punishment": lambda args: get_soft_overlong_punishment(
        max_completion_len=args.max_completion_len, soft_punish_cache=args.soft_punish_cache
    ),
    "code": _code,
    "binary_code": _binary_code,
    "ioi_code": _ioi_code,
    "cf_code": _cf_code,
}


# One line per reward of the registry, what it scores; the README's reward list is written from it
# (scripts/write_reward_list.py), and a test keeps its names equal to the registry's.
REWARD_DESCRIPTIONS: dict[str, str] = {
    "accuracy": "1 if the final `\\boxed{}` answer equals the gold one (math-verify), else 0",
    "format": "1 if the completion is exactly `<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>`, else 0",
    "reasoning_steps": 'step markers ("Step 1:", "1.", "First,", ...): 1 for three or more, a third each below',
    "cosine": "correctness scaled by length on a cosine schedule: short right answers earn most (`cosine_*`)",
    "repetition_penalty": "`repetition_max_penalty` (<= 0) times the share of repeated `repetition_n_grams`-grams",
    "length": "Kimi 1.5's length reward: shorter is better, never positive for a wrong answer",
    "code_format": "1 if the think/answer layout holds a fenced code block in `code_language` in its answer, else 0",
    "tag_count": "0.25 for each of the four think/answer tags present exactly once",
    "soft_overlong_punishment": "DAPO: 0, then to -1 over the last `soft_punish_cache` tokens of `max_completion_len`",
    "code": "the fraction of the row's stdin/stdout tests the last code block passes (`code_provider`'s sandbox)",
    "binary_code": "1 if the last code block passes every test, else 0",
    "ioi_code": "IOI subtask score (open-r1/ioi rows on Piston, or `verification_info` subtasks)",
    "cf_code": "Codeforces score (official and `CF_TESTS_FOLDER` tests; -1 without code, -0.1 if it does not compile)",
}


def check_reward_names(names: str | list[str]) -> list[str]:
    """`names` (a recipe's `reward_funcs`) as a list; a name that is not a registered reward is a one-line
    `UsageError` with the close known ones."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name in REWARD_FUNCS_REGISTRY:
            continue
        if "," in name:
            raise UsageError(
                f"reward_funcs: {name!r} is not one reward: list the names separated by spaces on the command line "
                f"(--reward_funcs {' '.join(part.strip() for part in name.split(','))}) or as a YAML list"
            )
        raise UsageError(
            f"reward_funcs: unknown reward {name!r}{did_you_mean(name, REWARD_FUNCS_REGISTRY)}; known: "
            f"{', '.join(REWARD_FUNCS_REGISTRY)}"
        )
    return names


def call_parameters(function: Callable) -> dict[str, inspect.Parameter]:
    """`function`'s parameters as a caller sees them (a partial's bound ones have defaults, `functools.wraps` leads
    to the wrapped function, a callable object's are its `__call__`'s); {} for a callable without a signature."""
    try:
        return dict(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return {}


def is_reward_function(entry: Callable) -> bool:
    """Whether a REWARD_FUNCS_REGISTRY entry is a reward function itself (it takes `completions`), not a builder (a
    callable without a signature is one, as the registry's own are)."""
    return "completions" in call_parameters(entry)


def get_reward_funcs(script_args) -> list[Callable]:
    """The reward functions named by `script_args.reward_funcs`, in order, configured from `script_args`."""
    entries = [REWARD_FUNCS_REGISTRY[name] for name in check_reward_names(script_args.reward_funcs)]
    return [entry if is_reward_function(entry) else entry(script_args) for entry in entries]


def guarded_rewards(script_args, reward_funcs: list[Callable]) -> list[Callable]:
    """`reward_funcs` (from `get_reward_funcs(script_args)`) as GRPO trains with them, each `guarded_reward`."""
    names = check_reward_names(script_args.reward_funcs)
    return [guarded_reward(name, reward_func) for name, reward_func in zip(names, reward_funcs, strict=True)]


# Batches in a row a reward function may raise on before training stops with its error.
MAX_FAILING_BATCHES = 3


def guarded_reward(name: str, reward_func: Callable, max_failing_batches: int = MAX_FAILING_BATCHES) -> Callable:
    """`reward_func` that, on a batch it raises on, warns with the error, its traceback and the batch's first completion
    and scores the batch None (unscored, as a completion it cannot judge), so one completion that breaks it does not
    end a run of days; raising on `max_failing_batches` batches in a row is a broken reward, and stops training with its
    error. A `UsageError` (a mistake in the recipe or data) passes at once. Infinite and NaN scores are read as by
    `within_finite_scores`, with one warning each: TRL would turn an infinite score's whole group's advantage to 0,
    and add a NaN's completion 0 beside the other rewards, more than this reward's negative scores pay."""
    failures = 0
    warned = set()

    @functools.wraps(reward_func)
    def reward(*args, **kwargs):
        nonlocal failures
        try:
            scores = reward_func(*args, **kwargs)
        except UsageError:
            raise
        except Exception as error:
            failures += 1
            if failures >= max_failing_batches:
                raise RuntimeError(
                    f"reward {name} ({reward_func.__name__}) raised on {failures} batches in a row, the last time "
                    f"{type(error).__name__}: {error}"
                ) from error
            completions = kwargs.get("completions", args[0] if args else [])
            try:  # the completion that broke the reward may break reading it too
                first = completion_text(completions[0]) if completions else ""
            except Exception:
                first = repr(completions[0])
            logger.warning(
                "reward %s (%s) raised %s: %s; the batch's %d completions get None from it (unscored). %d more batches "
                "in a row would stop training. The batch's first completion: %r",
                name,
                reward_func.__name__,
                type(error).__name__,
                error,
                len(completions),
                max_failing_batches - failures,
                first[:300],
                exc_info=True,
            )
            return [None] * len(completions)
        failures = 0
        scores, infinite, nan = within_finite_scores(scores)
        for kind, count, reading in (
            # TRL's advantage of a group with an infinite reward is NaN, then 0
            ("infinite", infinite, "the batch's highest (+inf) or lowest (-inf) finite score"),
            # TRL adds a NaN as 0: a completion that breaks the reward's arithmetic would beat its negative scores
            ("NaN", nan, "the batch's lowest finite score (return None for a completion it cannot judge)"),
        ):
            if count and kind not in warned:
                logger.warning(
                    "reward %s (%s) scored %d of %d completions %s: read as %s, None where it has none, so their "
                    "groups still learn and none earns by it (said once per run)",
                    name,
                    reward_func.__name__,
                    count,
                    len(scores),
                    kind,
                    reading,
                )
                warned.add(kind)
        return scores

    return reward


def within_finite_scores(scores: list) -> tuple[list, int, int]:
    """`scores` with +inf read as the highest finite score among them, -inf and NaN as the lowest (None where none is
    finite), and how many were infinite and NaN: an infinite score stays the best or worst of its batch, where None
    would add 0 beside the other rewards (for a penalty, the best score); a NaN (a reward's arithmetic gone wrong:
    0/0, inf - inf) is the worst, so that a completion cannot earn by causing one."""
    # A reward may return a tensor, or a list of 0-d tensors, whose elements are no `numbers.Real`.
    scores = [
        score.item() if getattr(score, "ndim", None) == 0 and hasattr(score, "item") else score for score in scores
    ]
    finite = [score for score in scores if isinstance(score, numbers.Real) and math.isfinite(score)]
    infinite = sum(isinstance(score, numbers.Real) and math.isinf(score) for score in scores)
    nan = sum(isinstance(score, numbers.Real) and math.isnan(score) for score in scores)
    if not infinite and not nan:
        return scores, 0, 0
    highest, lowest = (max(finite), min(finite)) if finite else (None, None)

    def read(score):
        if not isinstance(score, numbers.Real) or math.isfinite(score):
            return score
        return highest if score > 0 else lowest  # NaN > 0 is False

    return [read(score) for score in scores], infinite, nan


def __getattr__(name: str):
    # The code rewards pull in sandbox clients; import them only when someone asks for them.
    if name in _UPSTREAM_CODE_REWARDS:
        from open_r1.compat import rewards as upstream_rewards

        return getattr(upstream_rewards, name)
    if name == "extract_code":
        from open_r1.rewards.code import extract_code

        return extract_code
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REWARD_DESCRIPTIONS",
    "REWARD_FUNCS_REGISTRY",
    "accuracy_reward",
    "binary_code_reward",
    "cf_code_reward",
    "code_reward",
    "extract_answer",
    "format_reward",
    "get_accuracy_reward",
    "get_code_format_reward",
    "get_cosine_scaled_reward",
    "get_format_reward",
    "get_len_reward",
    "get_repetition_penalty_reward",
    "get_reward_funcs",
    "get_soft_overlong_punishment",
    "get_tag_count_reward",
    "grade_answers",
    "ioi_code_reward",
    "len_reward",
    "reasoning_steps_reward",
    "tag_count_reward",
]
