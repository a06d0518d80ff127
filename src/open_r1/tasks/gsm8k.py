"""GSM8K's worked solutions as cold-start traces for the R1 recipe, in two arms: chain of thought, and tool calls.

A GSM8K row (../shared/data/gsm8k_{train,test}.jsonl: id, problem, solution, answer) has a worked solution whose
calculations carry calculator annotations, `48/2 = <<48/2=24>>24 clips`, and ends with `#### 72`. Each arm turns it
into a conversation: the system prompt of the arm, the user turn exactly as the offline evaluator writes it (the
problem and `open_r1.data.benchmarks.MATH_INSTRUCTION`), and the assistant's answer:

- chain of thought (`cot_trace`): the solution's visible text (annotations removed) as `<think>` steps, then
  `<answer>\\n\\boxed{72}\\n</answer>`, the layout `open_r1.rewards.format_reward` and `accuracy_reward` grade;
- tool-integrated (`tool_trace`): the same text, cut at each annotation into assistant turns that call the sandboxed
  `python` tool (`open_r1.tools.python_tool`) in the message format GRPO trains with `tools: [python]`:

      assistant  "Natalia sold 48/2 ="            tool_calls: python(code="print(round(48/2))")
      tool       "24\\n"
      assistant  "24 clips in May.\\nNatalia sold 48+24 ="   tool_calls: python(code="print(48+24)")
      tool       "72\\n"
      assistant  "72 clips altogether in April and May.\\n<answer>\\n\\boxed{72}\\n</answer>"

  No `<think>` tags in this arm: TRL's response parser for tool calls (Qwen 3's) moves `<think>` text out of the
  message, so the rollout would lose its own reasoning; each turn's text is stripped, as the parser strips it.

Every annotation becomes a call whose printed output is the annotated result written plainly (no trailing zeros,
a 0 before the point: `144.00` prints `144`, `.4` prints `0.4`). The code is `print(expr)` when Python prints that;
else `print(round(expr))` or `print(round(expr, d))`, allowed only to take away float noise (`48/2` is `24.0`,
`1.1*3` is `3.3000000000000003`), never to round a value that differs from the annotation. The expression is run
by a small arithmetic evaluator (numbers and `+ - * / // % **`, bounded powers) with Python's own semantics, so
the output is what the tool prints (the tests check every GSM8K annotation in the sandbox).

A malformed annotation (no single `=`, a result that is not a number, an expression that is not arithmetic or
fails, a value other than the annotated one, an unclosed `<<`) is never dropped silently: `convert` reports it
(`Malformed`: row id, annotation index, text, reason) and leaves its row out of both arms' SFT traces, so the two
arms learn from the same problems; its prompt and gold answer stay usable for GRPO and evaluation.

    from open_r1.tasks.gsm8k import load_rows, convert
    conversion = convert(load_rows("../shared/data/gsm8k_train.jsonl"))
    conversion.cot[0], conversion.tools[0], conversion.prompts[0], conversion.malformed
    calculations(row)  # calculator annotations in the worked solution: its number of calculation steps
    calculations_written(completion), worked_calculations_written(row)  # the `=` signs written before the answer

Not covered: other datasets' annotation styles; checking the solutions' prose (only the annotations are verified).
"""

import ast
import dataclasses
import decimal
import math
import operator
import pathlib
import re

from open_r1.data.benchmarks import read_jsonl, user_prompt
from open_r1.rewards._completions import completion_text
from open_r1.rewards.format import r1_completion
from open_r1.utils.launch import SHARED_DATA

# The benchmark files this module reads (the shared data's README says where they come from).
GSM8K_TRAIN_FILE = SHARED_DATA / "gsm8k_train.jsonl"
GSM8K_TEST_FILE = SHARED_DATA / "gsm8k_test.jsonl"

COT_SYSTEM_PROMPT = (
    "Solve the math word problem. Think step by step inside <think> </think>, "
    "then give the final answer inside <answer> </answer> as \\boxed{N}."
)
TOOL_SYSTEM_PROMPT = (
    "Solve the math word problem step by step. Call python to compute each calculation and carry on from what it "
    "prints, then give the final answer inside <answer> </answer> as \\boxed{N}."
)
REQUIRED_FIELDS = ("id", "problem", "solution", "answer")
# Problems grouped by calculations in their worked solution: 0 and 1 together (6% of the test), 5 or more (17%).
CALCULATION_BUCKETS = ("≤1", "2", "3", "4", "≥5")

ANNOTATION = re.compile(r"<<([^<>]*)>>")
# GSM8K's final line, `#### 72`: the answer, which the row's `answer` field repeats.
FINAL_LINE = re.compile(r"\n?####[^\n]*\s*$")
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
# GSM8K's longest annotation has 36 characters; a longer one is not a calculator step.
MAX_ANNOTATION_CHARS = 200
# Powers are bounded so that an annotation cannot make the evaluator compute a number of millions of digits.
MAX_POWER_BASE = 10**12
MAX_POWER_EXPONENT = 100
# Results past this are refused: GSM8K's are far smaller, and a huge integer is slow to compare and to print.
MAX_MAGNITUDE = 10**100
# Float noise that round() may take away: relative to the annotated value (24.000000000000004 -> 24).
FLOAT_NOISE = 1e-9

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SIGNS = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class AnnotationError(ValueError):
    """Why one annotation cannot become a tool call."""


@dataclasses.dataclass(frozen=True)
class Malformed:
    """A reported annotation: the row's id, its 0-based index among the row's annotations, its text, and why."""

    row_id: str
    index: int
    annotation: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_id}, annotation {self.index} {self.annotation!r}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Call:
    """One calculator annotation as a tool call: the code the model writes and what the tool prints."""

    expression: str
    code: str
    output: str


@dataclasses.dataclass
class Conversion:
    """Both arms' SFT conversations (the same rows), GRPO prompt rows (every row) and the annotations reported."""

    cot: list[list[dict]]
    tools: list[list[dict]]
    prompts: list[dict]
    malformed: list[Malformed]
    rows_left_out: list[str]
    calls: int

    def summary(self) -> dict:
        return {
            "rows": len(self.prompts),
            "sft_rows": len(self.cot),
            "tool_calls": self.calls,
            "malformed_annotations": [dataclasses.asdict(item) for item in self.malformed],
            "rows_left_out_of_sft": self.rows_left_out,
        }


def load_rows(path: str | pathlib.Path, limit: int | None = None) -> list[dict]:
    """The rows of a GSM8K JSONL file (id, problem, solution, answer), in file order; the first `limit` ones."""
    path = pathlib.Path(path)
    rows = []
    for line_number, row in read_jsonl(path, REQUIRED_FIELDS, limit):
        wrong = [
            name for name in REQUIRED_FIELDS if isinstance(row[name], bool) or not isinstance(row[name], (str, int))
        ]
        if wrong:
            raise ValueError(f"{path}:{line_number}: field(s) {wrong} must be strings or integers")
        rows.append({name: str(row[name]) for name in REQUIRED_FIELDS})
    return rows


def gold_answer(answer: str) -> str:
    """The answer as the traces box it and the reward grades it: thousands separators removed ("2,125" -> "2125")."""
    answer = answer.strip()
    return answer.replace(",", "") if THOUSANDS.match(answer) else answer


def worked_text(solution: str) -> str:
    """The worked solution without its final `#### answer` line, annotations still in place."""
    return FINAL_LINE.sub("", solution).strip()


def visible_text(text: str) -> str:
    """`text` as a reader sees it: the annotations removed (the result written after each one stays)."""
    return ANNOTATION.sub("", text)


def plain_number(text: str) -> str:
    """A number written plainly: no exponent, no trailing zeros after the point, a 0 before it."""
    try:
        value = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise AnnotationError(f"the result {text!r} is not a number") from None
    if not value.is_finite():
        raise AnnotationError(f"the result {text!r} is not a finite number")
    written = format(value.normalize(), "f")
    return "0" if written in ("-0", "0") else written


def evaluate_arithmetic(expression: str) -> int | float:
    """The value of an arithmetic expression (numbers, + - * / // % **, unary signs, parentheses), computed with
    Python's semantics; AnnotationError for anything else, for a failing one and for powers past the bounds."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise AnnotationError(f"{expression!r} is not a Python expression") from None

    def value(node) -> int | float:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS:
            return _SIGNS[type(node.op)](value(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Pow) and (abs(left) > MAX_POWER_BASE or abs(right) > MAX_POWER_EXPONENT):
                raise AnnotationError(f"{expression!r}: a power past {MAX_POWER_BASE}**{MAX_POWER_EXPONENT}")
            try:
                result = _OPERATORS[type(node.op)](left, right)
            except (ArithmeticError, ValueError) as error:
                raise AnnotationError(f"{expression!r} fails: {error}") from None
            if isinstance(result, complex):
                raise AnnotationError(f"{expression!r} is not a real number")
            if abs(result) > MAX_MAGNITUDE:
                raise AnnotationError(f"{expression!r}: a value past 1e100")
            return result
        raise AnnotationError(f"{expression!r} holds {type(node).__name__}, not arithmetic on numbers")

    return value(tree.body)


def calculator_call(annotation: str) -> Call:
    """The tool call for one annotation's text (`48/2=24`): code whose printed output is the annotated result
    written plainly, or AnnotationError saying why there is none."""
    if len(annotation) > MAX_ANNOTATION_CHARS:
        raise AnnotationError(f"longer than {MAX_ANNOTATION_CHARS} characters")
    if annotation.count("=") != 1:
        raise AnnotationError(f"needs exactly one '=' between expression and result, has {annotation.count('=')}")
    expression, result = (part.strip() for part in annotation.split("="))
    expected = plain_number(result)
    value = evaluate_arithmetic(expression)
    if isinstance(value, float) and not math.isfinite(value):
        raise AnnotationError(f"{expression!r} is not finite")
    target = decimal.Decimal(expected)
    if abs(decimal.Decimal(value) - target) > decimal.Decimal(FLOAT_NOISE) * max(1, abs(target)):
        raise AnnotationError(f"{expression!r} evaluates to {value!r}, not the annotated {result}")
    decimals = -target.as_tuple().exponent if "." in expected else 0
    candidates = [(f"print({expression})", value)]
    if isinstance(value, float):
        rounded = round(value, decimals) if decimals else round(value)
        code = f"print(round({expression}, {decimals}))" if decimals else f"print(round({expression}))"
        candidates.append((code, rounded))
    for code, printed in candidates:
        if str(printed) == expected:
            return Call(expression=expression, code=code, output=expected + "\n")
    raise AnnotationError(f"{expression!r} evaluates to {value!r}, which no print() writes as {expected}")


def annotation_calls(row: dict) -> tuple[list[Call], list[Malformed]]:
    """The calls of a row's annotations, in order, and the annotations that cannot be calls."""
    text = worked_text(row["solution"])
    calls, malformed = [], []
    for index, match in enumerate(ANNOTATION.finditer(text)):
        try:
            calls.append(calculator_call(match.group(1)))
        except AnnotationError as error:
            malformed.append(Malformed(row["id"], index, match.group(0), str(error)))
    leftover = visible_text(text)
    stray = min((leftover.find(mark) for mark in ("<<", ">>") if mark in leftover), default=-1)
    if stray >= 0:
        # Numbered after the well-formed ones: it is not an annotation the regex could read.
        index = len(calls) + len(malformed)
        fragment = leftover[max(0, stray - 20) : stray + 20]
        malformed.append(Malformed(row["id"], index, fragment, "an unclosed or nested '<<' '>>' annotation"))
    return calls, malformed


def calculations(row: dict) -> int:
    """How many calculator annotations the row's worked solution has: its number of calculation steps, the
    difficulty measure `make gsm8k` selects GRPO prompts by and breaks its test scores down by."""
    return len(ANNOTATION.findall(worked_text(row["solution"])))


def calculations_written(completion) -> int:
    """The `=` signs a completion writes before its `<answer>` (a text, or the text of a tool rollout's assistant
    turns; the code of its calls is not read): the calculations it wrote out. `worked_calculations_written` counts a
    worked solution's the same way, so that a model writing fewer steps than its problems take shows beside them
    (`make gsm8k`'s report). A calculation written in words ("2 times 5 equals 10") counts none."""
    return completion_text(completion).split("<answer>")[0].count("=")


def worked_calculations_written(row: dict) -> int:
    """`calculations_written` of the row's worked solution as its traces write it (both arms' assistant turns hold
    the same `=` signs: the tool arm's end a turn where the chain of thought writes the result)."""
    return calculations_written(cot_trace(row)[-1]["content"])


def calculation_bucket(count: int) -> str:
    """The group of a problem with `count` calculations in `make gsm8k`'s breakdown of scores (CALCULATION_BUCKETS)."""
    if count <= 1:
        return CALCULATION_BUCKETS[0]
    return CALCULATION_BUCKETS[min(count, len(CALCULATION_BUCKETS)) - 1]


def answer_block(row: dict) -> str:
    return f"<answer>\n\\boxed{{{gold_answer(row['answer'])}}}\n</answer>"


def cot_trace(row: dict) -> list[dict]:
    """System, user, and the assistant's `<think>` steps (the visible solution) and boxed answer."""
    steps = visible_text(worked_text(row["solution"]))
    return [
        {"role": "system", "content": COT_SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(row["problem"])},
        {"role": "assistant", "content": r1_completion(steps, f"\\boxed{{{gold_answer(row['answer'])}}}")},
    ]


def tool_trace(row: dict) -> list[dict]:
    """System, user, then the solution cut at each annotation into assistant turns that call `python` and the
    tool's outputs; AnnotationError naming every malformed annotation of the row."""
    calls, malformed = annotation_calls(row)
    if malformed:
        raise AnnotationError("; ".join(map(str, malformed)))
    text = worked_text(row["solution"])
    messages = [
        {"role": "system", "content": TOOL_SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(row["problem"])},
    ]
    position = 0
    for call, match in zip(calls, ANNOTATION.finditer(text)):
        function = {"name": "python", "arguments": {"code": call.code}}
        content = visible_text(text[position : match.start()]).strip()
        messages.append(
            {"role": "assistant", "content": content, "tool_calls": [{"type": "function", "function": function}]}
        )
        messages.append({"role": "tool", "name": "python", "content": call.output})
        position = match.end()
    rest = visible_text(text[position:]).strip()
    messages.append({"role": "assistant", "content": f"{rest}\n{answer_block(row)}" if rest else answer_block(row)})
    return messages


def prompt_row(row: dict) -> dict:
    """A GRPO row: the user turn (the recipe adds the arm's system prompt) and the gold `solution` the accuracy
    reward grades against."""
    return {"prompt": user_prompt(row["problem"]), "solution": gold_answer(row["answer"]), "id": row["id"]}


def convert(rows: list[dict]) -> Conversion:
    """Both arms' traces of the rows whose annotations are all well formed, every row's GRPO prompt, and the
    malformed annotations (their rows left out of SFT)."""
    conversion = Conversion(cot=[], tools=[], prompts=[], malformed=[], rows_left_out=[], calls=0)
    for row in rows:
        conversion.prompts.append(prompt_row(row))
        calls, malformed = annotation_calls(row)
        if malformed:
            conversion.malformed.extend(malformed)
            conversion.rows_left_out.append(row["id"])
            continue
        conversion.calls += len(calls)
        conversion.cot.append(cot_trace(row))
        conversion.tools.append(tool_trace(row))
    return conversion
