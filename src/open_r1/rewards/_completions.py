"""Turns the `completions` TRL passes to reward functions into plain strings.

TRL 1.16 calls every reward as `reward(prompts=..., completions=..., completion_ids=..., **columns)`
where a completion is either a string (standard datasets) or a list of messages (conversational
datasets, `[{"role": "assistant", "content": ...}]`). Rewards grade the text the model wrote, so
this joins the content of the assistant message(s); anything else is rejected with a clear error.
"""


def completion_text(completion) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)):
        parts = []
        for message in completion:
            if not isinstance(message, dict) or "content" not in message:
                raise TypeError(
                    "A conversational completion must be a list of messages with a 'content' field, "
                    f"got an element {message!r:.200}"
                )
            content = message["content"]
            if isinstance(content, list):  # multimodal message: keep its text parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if content is not None and message.get("role", "assistant") == "assistant":
                parts.append(str(content))
        return "".join(parts)
    raise TypeError(
        f"completions must be strings or lists of chat messages, got {type(completion).__name__}: {completion!r:.200}"
    )


def completion_texts(completions) -> list[str]:
    return [completion_text(c) for c in completions]


def gold_column(kwargs: dict, reward_name: str, count: int) -> list:
    """The reference answers: the `solution` column (upstream), else `answer`."""
    for column in ("solution", "answer"):
        if kwargs.get(column) is not None:
            golds = list(kwargs[column])
            if len(golds) != count:
                raise ValueError(f"{reward_name}: got {count} completions but {len(golds)} values in '{column}'")
            return golds
    raise ValueError(
        f"{reward_name} needs the reference answers in a dataset column named 'solution' (or 'answer'); "
        f"the columns passed were "
        f"{sorted(k for k, v in kwargs.items() if v is not None and k not in ('trainer_state', 'log_extra', 'log_metric'))}"
    )
