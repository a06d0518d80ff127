"""Length-shaped rewards: `len_reward` (Kimi 1.5), `get_cosine_scaled_reward`, `get_soft_overlong_punishment` (DAPO).

- `len_reward`: within the completions of one call, `0.5 - (len - min_len) / (max_len - min_len)` for a
  correct answer and `min(0, that)` for a wrong one; all 0.0 when every completion has the same length.
- `cosine_scaled_reward`: a cosine schedule over the completion length (characters): a correct answer goes from
  `max_value_correct` at length 0 down to `min_value_correct` at `max_len`, a wrong one from `min_value_wrong` at
  length 0 to `max_value_wrong` at `max_len` (upstream's names and order). Short correct answers earn most; with
  `min_value_wrong` below `max_value_wrong` (the paper's -10 and 0) long wrong answers are punished least, while the
  defaults, upstream's 0.0 and -0.5, punish them most.
- `soft_overlong_punishment_reward`: 0 up to `max_completion_len - soft_punish_cache` tokens, then a
  linear ramp to -1 at `max_completion_len`, -1 beyond (Eq. 13 of the DAPO paper). It reads TRL's
  `completion_ids`.

Correctness comes from `open_r1.rewards.accuracy.reward_grades` (its ungraded share logged as the
reward's own `rewards/<reward>/ungraded`); a sample whose gold answer cannot be parsed
gets None (skipped by TRL), as in `accuracy_reward`. Lengths are in characters except for the DAPO
punishment, which counts tokens; a tool rollout's length counts what its calls carry (the code) beside its text.

Not covered: token lengths for `cosine` and `length`, which count characters as upstream's do.
"""

import math

from open_r1.rewards._completions import completion_texts, gold_answers
from open_r1.rewards.accuracy import DEFAULT_GRADING_WORKERS, DEFAULT_TIMEOUT_SECONDS, reward_grades

# Defaults of the length rewards (GRPOScriptArguments imports them from here).
COSINE_MIN_VALUE_WRONG = 0.0
COSINE_MAX_VALUE_WRONG = -0.5
COSINE_MIN_VALUE_CORRECT = 0.5
COSINE_MAX_VALUE_CORRECT = 1.0
COSINE_MAX_LEN = 1000
SOFT_OVERLONG_MAX_COMPLETION_LEN = 16384
SOFT_OVERLONG_PUNISH_CACHE = 4096


def get_len_reward(
    num_workers: int = DEFAULT_GRADING_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    think_prefilled: bool = False,
):
    """`len_reward` grading correctness with `num_workers` processes and a `timeout`-second limit (`think_prefilled`:
    as `accuracy.graded_batch`)."""

    def len_reward(completions, solution=None, **kwargs) -> list[float | None]:
        """Kimi 1.5 length reward: shorter is better, and length never earns a wrong answer a positive reward."""
        texts = completion_texts(completions)
        golds = gold_answers(kwargs | {"solution": solution}, "len_reward", len(texts))
        correctness = reward_grades(
            completions,  # not their texts: whether reasoning ended is read from them as written
            golds,
            "len_reward",
            kwargs,
            num_workers=num_workers,
            timeout=timeout,
            think_prefilled=think_prefilled,
        )
        lengths = [len(text) for text in completion_texts(completions, written=True)]
        if not lengths:
            return []
        min_len, max_len = min(lengths), max(lengths)
        rewards: list[float | None] = []
        for length, correct in zip(lengths, correctness):
            if correct is None:
                rewards.append(None)
            elif max_len == min_len:
                rewards.append(0.0)
            else:
                lambda_value = 0.5 - (length - min_len) / (max_len - min_len)
                rewards.append(float(lambda_value if correct == 1.0 else min(0.0, lambda_value)))
        return rewards

    return len_reward


len_reward = get_len_reward()


def get_cosine_scaled_reward(
    min_value_wrong: float = COSINE_MIN_VALUE_WRONG,
    max_value_wrong: float = COSINE_MAX_VALUE_WRONG,
    min_value_correct: float = COSINE_MIN_VALUE_CORRECT,
    max_value_correct: float = COSINE_MAX_VALUE_CORRECT,
    max_len: int = COSINE_MAX_LEN,
    *,
    num_workers: int = DEFAULT_GRADING_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    think_prefilled: bool = False,
):
    """A reward scaled by completion length with a cosine schedule (see the module docstring); `think_prefilled`:
    as `accuracy.graded_batch`."""
    if max_len <= 0:
        raise ValueError(f"cosine_max_len must be > 0, got {max_len}")

    def cosine_scaled_reward(completions, solution=None, **kwargs) -> list[float | None]:
        """Correct: from max_value_correct (length 0) down to min_value_correct (max_len); wrong: from
        min_value_wrong (length 0) to max_value_wrong (max_len). Lengths past max_len count as max_len."""
        texts = completion_texts(completions)
        golds = gold_answers(kwargs | {"solution": solution}, "cosine_scaled_reward", len(texts))
        correctness = reward_grades(
            completions,  # not their texts: whether reasoning ended is read from them as written
            golds,
            "cosine_scaled_reward",
            kwargs,
            num_workers=num_workers,
            timeout=timeout,
            think_prefilled=think_prefilled,
        )
        rewards: list[float | None] = []
        for text, correct in zip(completion_texts(completions, written=True), correctness):
            if correct is None:
                rewards.append(None)
                continue
            progress = min(len(text), max_len) / max_len
            cosine = math.cos(progress * math.pi)
            if correct == 1.0:
                low, high = min_value_correct, max_value_correct
            else:
                # Upstream's order: min_value_wrong at length 0, max_value_wrong at max_len.
                low, high = max_value_wrong, min_value_wrong
            rewards.append(float(low + 0.5 * (high - low) * (1.0 + cosine)))
        return rewards

    return cosine_scaled_reward


def get_soft_overlong_punishment(
    max_completion_len: int = SOFT_OVERLONG_MAX_COMPLETION_LEN,
    soft_punish_cache: int = SOFT_OVERLONG_PUNISH_CACHE,
):
    """DAPO's soft overlong punishment over the completion's token count."""
    if max_completion_len <= 0:
        raise ValueError(f"max_completion_len must be > 0, got {max_completion_len}")
    if not 0 <= soft_punish_cache <= max_completion_len:
        raise ValueError(
            f"soft_punish_cache must be in [0, max_completion_len={max_completion_len}], got {soft_punish_cache}"
        )

    def soft_overlong_punishment_reward(completion_ids=None, completions=None, **kwargs) -> list[float]:
        """0 for short completions, a linear ramp to -1 over the last `soft_punish_cache` tokens, -1 beyond."""
        if completions is not None:
            completion_texts(completions)  # a completion of a shape no reward reads fails here as in the others
        if completion_ids is None:
            raise ValueError(
                "soft_overlong_punishment_reward needs `completion_ids` (token ids per completion), which TRL's "
                "GRPOTrainer passes to every reward function"
            )
        rewards = []
        for ids in completion_ids:
            length = len(ids)
            if length <= max_completion_len - soft_punish_cache:
                rewards.append(0.0)
            elif length <= max_completion_len:
                rewards.append((max_completion_len - soft_punish_cache - length) / soft_punish_cache)
            else:
                rewards.append(-1.0)
        return rewards

    return soft_overlong_punishment_reward
