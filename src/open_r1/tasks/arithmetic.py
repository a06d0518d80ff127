"""Multi-step integer arithmetic: a verifiable reasoning task that a tiny model can learn on a CPU.

Each problem is a chain like `17 + 5 - 9`, evaluated left to right. A worked solution writes one
step per line inside `<think>`, then the result in `<answer>` as `\\boxed{N}`, the format that
`open_r1.rewards.format_reward` and `accuracy_reward` grade:

    <think>
    17 + 5 = 22
    22 - 9 = 13
    </think>
    <answer>
    \\boxed{13}
    </answer>

    from open_r1.tasks.arithmetic import make_problems
    rows = make_problems(1000, seed=0)   # [{"problem", "answer", "solution", "completion"}, ...]

Problems are drawn from a seeded generator, so a split is reproducible; `make_splits` keeps the
test problems disjoint from the training ones. Not covered: operator precedence (only + and -,
left to right), multiplication, word problems.
"""

import random
from dataclasses import dataclass

from open_r1.rewards.format import r1_completion

SYSTEM_PROMPT = (
    "Solve the arithmetic problem. Think step by step inside <think> </think>, "
    "then give the result inside <answer> </answer> as \\boxed{N}."
)


@dataclass(frozen=True)
class ArithmeticSpec:
    """How hard the problems are."""

    min_operands: int = 2
    max_operands: int = 3
    max_value: int = 20
    # Bounds on every running total (None: unbounded). `min_total=0, max_total=9` keeps each step a
    # one-digit fact, which a model of a few hundred thousand parameters learns in minutes on a CPU.
    min_total: int | None = None
    max_total: int | None = None

    def __post_init__(self):
        if not 1 <= self.min_operands <= self.max_operands:
            raise ValueError(f"need 1 <= min_operands <= max_operands, got {self.min_operands}, {self.max_operands}")
        if self.max_value < 0:
            raise ValueError(f"max_value must be >= 0, got {self.max_value}")
        if self.min_total is not None and self.max_total is not None and self.min_total > self.max_total:
            raise ValueError(f"min_total {self.min_total} is above max_total {self.max_total}")
        if not self._first_operands():
            raise ValueError(f"no operand in [0, {self.max_value}] lies within [{self.min_total}, {self.max_total}]")

    @property
    def bounded(self) -> bool:
        return self.min_total is not None or self.max_total is not None

    def within_bounds(self, total: int) -> bool:
        return (self.min_total is None or total >= self.min_total) and (
            self.max_total is None or total <= self.max_total
        )

    def _first_operands(self) -> list[int]:
        return [value for value in range(self.max_value + 1) if self.within_bounds(value)]


def _format_completion(steps: list[str], answer: int) -> str:
    return r1_completion("\n".join(steps), f"\\boxed{{{answer}}}")


def _draw_bounded_chain(rng: random.Random, spec: ArithmeticSpec, count: int) -> tuple[list[int], list[str]]:
    """Operands and operators whose running total never leaves the spec's bounds."""
    operands = [rng.choice(spec._first_operands())]
    operators: list[str] = []
    total = operands[0]
    for _ in range(count - 1):
        moves = [
            (operator, value)
            for operator in "+-"
            for value in range(spec.max_value + 1)
            if spec.within_bounds(total + value if operator == "+" else total - value)
        ]
        # Never empty: "+ 0" keeps the total where it is.
        operator, value = rng.choice(moves)
        operators.append(operator)
        operands.append(value)
        total = total + value if operator == "+" else total - value
    return operands, operators


def make_problem(rng: random.Random, spec: ArithmeticSpec = ArithmeticSpec()) -> dict:
    """One problem with its gold answer and a worked solution."""
    count = rng.randint(spec.min_operands, spec.max_operands)
    if spec.bounded:
        operands, operators = _draw_bounded_chain(rng, spec, count)
    else:
        operands = [rng.randint(0, spec.max_value) for _ in range(count)]
        operators = [rng.choice("+-") for _ in range(count - 1)]
    expression = str(operands[0])
    total = operands[0]
    steps = []
    for operator, operand in zip(operators, operands[1:]):
        result = total + operand if operator == "+" else total - operand
        steps.append(f"{total} {operator} {operand} = {result}")
        expression += f" {operator} {operand}"
        total = result
    completion = _format_completion(steps, total)
    return {
        "problem": f"Compute {expression}.",
        "answer": str(total),
        # `solution` is the column upstream's accuracy_reward reads the gold from.
        "solution": f"${total}$",
        "completion": completion,
    }


def make_problems(count: int, seed: int, spec: ArithmeticSpec = ArithmeticSpec()) -> list[dict]:
    """`count` problems with distinct statements, reproducible from `seed`."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows = []
    attempts = 0
    while len(rows) < count:
        attempts += 1
        if attempts > 100 * count + 1000:
            raise ValueError(f"cannot draw {count} distinct problems from {spec}; raise max_value or max_operands")
        row = make_problem(rng, spec)
        if row["problem"] not in seen:
            seen.add(row["problem"])
            rows.append(row)
    return rows


def make_splits(
    num_train: int, num_test: int, seed: int, spec: ArithmeticSpec = ArithmeticSpec()
) -> tuple[list[dict], list[dict]]:
    """Disjoint train and test problems."""
    rows = make_problems(num_train + num_test, seed, spec)
    return rows[:num_train], rows[num_train:]


def skip_last_step(row: dict) -> dict:
    """The row as an imperfect teacher solves it: the last step is left out and the total before it is boxed.

    A systematic mistake for "imperfect cold start" data: SFT on a mix of correct and such traces
    teaches the format and most of the skill, and only a verifiable reward tells the two apart.
    Needs at least two steps (three operands).
    """
    think, _, _ = row["completion"].partition("\n</think>")
    steps = think.removeprefix("<think>\n").split("\n")
    if len(steps) < 2 or not all(" = " in step for step in steps):
        raise ValueError(f"row {row['problem']!r}: need at least two worked steps to skip one, got {steps}")
    kept = steps[:-1]
    return {**row, "completion": _format_completion(kept, int(kept[-1].rsplit(" = ", 1)[1]))}


def as_conversation(row: dict, system_prompt: str | None = SYSTEM_PROMPT) -> list[dict]:
    """The SFT form of a row: system (optional), user problem, assistant worked solution."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": row["problem"]})
    messages.append({"role": "assistant", "content": row["completion"]})
    return messages
