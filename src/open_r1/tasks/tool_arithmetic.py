"""Multiplication of many-digit numbers: hard to compute in the head, easy with a Python interpreter.

The task of the tool-integrated reasoning miniature (`make demo TOOLS=1`, open_r1.demo.tools). A problem is
`Compute 347 * 865.`; the answer is `\\boxed{300155}`. Two kinds of cold-start traces teach the format:

- with the tool: the assistant calls `python` with `print(347 * 865)`, reads `300155` back, and answers;
- without it: the assistant answers at once (the same pipeline without the tool, for comparison).

    from open_r1.tasks.tool_arithmetic import make_splits, tool_trace, direct_trace
    train, test = make_splits(2000, 200, seed=0)
    tool_trace(train[0])     # [system, user, assistant(tool_calls), tool, assistant]

Not covered: problems that need more than one call, or reasoning between calls.
"""

import random

TOOL_SYSTEM_PROMPT = "Compute the product. Call python to calculate, then answer as \\boxed{N}."
DIRECT_SYSTEM_PROMPT = "Compute the product. Answer as \\boxed{N}."
DEFAULT_DIGITS = 3


def make_problem(rng: random.Random, digits: int = DEFAULT_DIGITS) -> dict:
    """Two `digits`-digit factors whose product has exactly 2 * `digits` digits: every answer has the same length,
    so the answer sits at the same distance from the tool's output in every rollout."""
    low, high = 10 ** (digits - 1), 10**digits - 1
    while True:
        left, right = rng.randint(low, high), rng.randint(low, high)
        if left * right >= 10 ** (2 * digits - 1):
            break
    answer = str(left * right)
    return {
        "problem": f"Compute {left} * {right}.",
        "expression": f"{left} * {right}",
        "answer": answer,
        "solution": f"\\boxed{{{answer}}}",
    }


def make_splits(num_train: int, num_test: int, seed: int, digits: int = DEFAULT_DIGITS) -> tuple[list, list]:
    """Train and test problems, no expression in both."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[dict] = []
    capacity = (9 * 10 ** (digits - 1)) ** 2
    if num_train + num_test > capacity // 2:
        raise ValueError(f"{num_train + num_test} problems asked of {digits}-digit factors: too few distinct ones")
    while len(rows) < num_train + num_test:
        row = make_problem(rng, digits)
        if row["expression"] not in seen:
            seen.add(row["expression"])
            rows.append(row)
    return rows[:num_train], rows[num_train:]


def prompt_messages(row: dict, with_tool: bool) -> list[dict]:
    system = TOOL_SYSTEM_PROMPT if with_tool else DIRECT_SYSTEM_PROMPT
    return [{"role": "system", "content": system}, {"role": "user", "content": row["problem"]}]


def tool_trace(row: dict) -> list[dict]:
    """A worked rollout that calls the tool once (what the sandbox prints is the product and a newline)."""
    call = {"type": "function", "function": {"name": "python", "arguments": {"code": f"print({row['expression']})"}}}
    return [
        *prompt_messages(row, with_tool=True),
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "python", "content": row["answer"] + "\n"},
        {"role": "assistant", "content": row["solution"]},
    ]


def direct_trace(row: dict) -> list[dict]:
    return [*prompt_messages(row, with_tool=False), {"role": "assistant", "content": row["solution"]}]


def tokenizer_corpus(count: int = 300, seed: int = 12345) -> list[str]:
    """Text like the traces, so the tiny tokenizer gives the call's boilerplate a few tokens."""
    rng = random.Random(seed)
    lines = [TOOL_SYSTEM_PROMPT, DIRECT_SYSTEM_PROMPT] * 30
    for _ in range(count):
        row = make_problem(rng)
        lines.append(
            f'{row["problem"]}\n{{"name": "python", "arguments": {{"code": "print({row["expression"]})"}}}}\n'
            f"{row['answer']}\n{row['solution']}"
        )
    return lines
