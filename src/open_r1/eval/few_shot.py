"""Few-shot prompts and answers for the offline evaluator: lighteval's GSM8K protocol, as behind SmolLM2's card.

    python -m open_r1.evaluate --task gsm8k --data_files ../shared/data/gsm8k_test.jsonl \
        --model data/models/SmolLM2-135M-Instruct-f32 --prompt_style plain --num_fewshot 5 \
        --fewshot_file ../shared/data/gsm8k_train.jsonl --temperature 0 --max_new_tokens 256 \
        --device cpu --output_dir data/evals/smollm2/gsm8k_5shot

SmolLM2-135M-Instruct's model card reports "GSM8K (5-shot)" from lighteval's task `custom|gsm8k|5|1` run with
`--use_chat_template` (huggingface/smollm, text/evaluation/smollm2, lighteval @ea46419). That protocol is:
- prompt: `Question: {problem}\\nAnswer:`; each shot is a user turn of that form and an assistant turn holding
  " " + the shot's worked solution as GSM8K writes it (`<<48/2=24>>` annotations, last line `#### 72`); then the
  problem's own user turn, all in the model's chat template (SmolLM2's adds its default system prompt);
- shots: drawn at random from GSM8K-train, a new draw for every problem;
- decoding: greedy, at most 256 new tokens; with a chat template lighteval stops at the end of the turn only
  (the task's stop sequences `Question:`, `Question` apply to prompts without one);
- score: quasi-exact match (`gsm8k_normalizer`): the first `#### <number>` of the completion, commas removed,
  equal as a string to the gold answer's.
One deliberate difference in the score: lighteval reads the leading number of `#### 3/4` (or `1e3`, `5-7`) and pays
it against the gold 3; here a number continued by an expression is that expression, which no gold matches. The
golds must be whole numbers (GSM8K's are; `1,000` and `72.0` read as 1000 and 72), checked before any model loads.
Here the shots come only from `--fewshot_file` (JSONL with `problem` and `solution`), drawn from a seed and the
problem's id, so a problem gets the same shots whatever --limit or batch; lighteval draws them in its own order
from one generator, so the shots differ but follow the same distribution. A shot file that is the evaluated file,
or shares a problem with it (same text up to case and spacing), is refused before any model loads.

Not covered: prompts without a chat template (lighteval's mode for base models), shortening the shots to fit a
context window (lighteval's `|1`: SmolLM2's 8,192 positions hold 5 GSM8K shots with room to spare), and few-shot
prompts in the `boxed` style (its shots would need `\\boxed{}` solutions).
"""

import pathlib
import random
import re
from dataclasses import dataclass

from open_r1.data.benchmarks import Problem, read_jsonl
from open_r1.usage import UsageError

PROMPT_STYLES = ("boxed", "plain")
# lighteval's gsm8k prompt (`default_prompts.gsm8k`).
PLAIN_QUERY = "Question: {problem}\nAnswer:"
# lighteval's `gsm8k_normalizer` (from openai/grade-school-math): the number after the first "#### ".
HASH_ANSWER = re.compile(r"#### (\-?[0-9\.\,]+)")
# What makes that number only the start of another one: a fraction (`3/4`, `5 1/2`, `3\frac{1}{2}`), an exponent
# (`1e3`, `2^3`), a range or sum (`5-7`, `5+2`, `5=7`), a time (`3:30`). lighteval reads the leading digits of such an
# answer and pays them; here the answer is the whole token, which no whole number matches. A unit or a sign after the
# number ends it, as in lighteval (`18cm`, `18%`, `18\%`, `18\$`; a review's: letters and backslashes had been read
# as more of the number), and so does markdown bold (`**#### 18**`).
CONTINUED_NUMBER = re.compile(
    r"(?:[eE][+-]?\d|\^|[+\-=][ \t]*\d|\\[dt]?frac|:\d|[ \t]*/[ \t]*\d|[ \t]+\d+[ \t]*/[ \t]*\d)\S*"
)
# A gold as GSM8K writes one: a whole number, thousands separated by commas or not; a trailing ".0" (a JSON 72.0
# read back as text) is the same number.
WHOLE_NUMBER_GOLD = re.compile(r"(-?[0-9][0-9,]*)(?:\.0+)?")
REQUIRED_SHOT_FIELDS = ("problem", "solution")
# lighteval's gsm8k task: its generation size, and stop sequences that lighteval applies only without a chat template.
LIGHTEVAL_GSM8K_GENERATION_SIZE = 256
LIGHTEVAL_GSM8K_STOP_SEQUENCES = ["Question:", "Question"]


def check_fewshot_settings(num_fewshot: int, fewshot_file: str | None, spell) -> None:
    """The rule both evaluators hold the shot settings to: a count of shots >= 0, and a shot file exactly when the
    count is above 0. `spell(field, value)` writes a setting as the caller's user types it (`--num_fewshot 5`,
    `NUM_FEWSHOT=5`)."""
    if num_fewshot < 0:
        raise UsageError(f"{spell('num_fewshot', num_fewshot)}: expected a count of shots, 0 or more")
    if (num_fewshot > 0) != (fewshot_file is not None):
        raise UsageError(
            f"{spell('num_fewshot', 'N')} (N > 0) and {spell('fewshot_file', '<train.jsonl>')} go together"
        )


@dataclass(frozen=True)
class Shot:
    """One worked example of the few-shot pool: a training problem and its solution, as the model is shown them."""

    problem: str
    solution: str
    line: int  # line of the shot file, for messages


def load_shots(path: str | pathlib.Path) -> list[Shot]:
    """The rows of a shot file (JSONL with non-empty string fields `problem` and `solution`; others ignored)."""
    path = pathlib.Path(path)
    try:
        rows = read_jsonl(path, REQUIRED_SHOT_FIELDS)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(f"--fewshot_file: {error}") from None
    shots = []
    for line_number, row in rows:
        bad = [name for name in REQUIRED_SHOT_FIELDS if not isinstance(row[name], str) or not row[name].strip()]
        if bad:
            raise UsageError(f"--fewshot_file: {path}:{line_number}: field(s) {bad} not text; a shot needs both")
        shots.append(Shot(problem=row["problem"], solution=row["solution"], line=line_number))
    return shots


def problem_key(text: str) -> str:
    """A problem's text up to case and spacing: two problems with the same key are the same problem."""
    return " ".join(text.casefold().split())


def _same_file(a: pathlib.Path, b: pathlib.Path) -> bool:
    # samefile also sees through hard links.
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))


def load_disjoint_shots(shots_path: str, data_path: str, problems: list[Problem]) -> list[Shot]:
    """The shots of `shots_path`, refused (UsageError, one line) when it is the evaluated file `data_path` or shares
    a problem with its `problems`."""
    if _same_file(pathlib.Path(shots_path), pathlib.Path(data_path)):
        raise UsageError(f"--fewshot_file {shots_path} is the evaluated file; shots must come from a training split")
    shots = load_shots(shots_path)
    evaluated = {problem_key(problem.problem): problem.id for problem in problems}
    shared = [(shot, evaluated[problem_key(shot.problem)]) for shot in shots if problem_key(shot.problem) in evaluated]
    if shared:
        shot, problem_id = shared[0]
        raise UsageError(
            f"--fewshot_file {shots_path} shares {len(shared)} problem(s) with {data_path} (e.g. its line {shot.line} "
            f"is problem {problem_id!r}); shots must not come from the evaluated set"
        )
    return shots


def draw_shots(shots: list[Shot], problem: Problem, num_fewshot: int, seed: int) -> list[Shot]:
    """`num_fewshot` distinct shots for `problem`, the same for the same seed, problem id and pool."""
    check_shot_count(num_fewshot, shots)
    # A string seed is hashed with SHA-512 by `random`, so the draw does not depend on PYTHONHASHSEED.
    return random.Random(f"{seed}:{problem.id}").sample(shots, num_fewshot)


def check_shot_count(num_fewshot: int, shots: list[Shot], spell=lambda name, value: f"--{name} {value}") -> None:
    """Refuses (UsageError, one line) more shots per problem than the shot file has rows, as they are drawn without
    replacement; `spell` as for `check_fewshot_settings`."""
    if num_fewshot > len(shots):
        raise UsageError(f"{spell('num_fewshot', num_fewshot)} is more than the {len(shots)} rows of the shot file")


def plain_query(problem_text: str) -> str:
    return PLAIN_QUERY.format(problem=problem_text)


def plain_messages(problem: Problem, shots: list[Shot], system_prompt: str | None = None) -> list[dict[str, str]]:
    """The conversation of the plain style: each shot a question and its answer, then the problem's question."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []  # "": as GRPO
    for shot in shots:
        messages.append({"role": "user", "content": plain_query(shot.problem)})
        # lighteval's gold is " " + the solution; the chat template keeps the space.
        messages.append({"role": "assistant", "content": f" {shot.solution}"})
    messages.append({"role": "user", "content": plain_query(problem.problem)})
    return messages


def extract_hash_answer(text: str) -> str | None:
    """The number after the first `#### ` (commas removed), or None: lighteval's `gsm8k_normalizer`, except that a
    number continued by more of an expression (`#### 3/4`) is the whole expression, which matches no gold."""
    match = HASH_ANSWER.search(text.strip())
    if match is None:
        return None
    continued = CONTINUED_NUMBER.match(match.string, match.end())
    if continued is not None:
        return match.string[match.start(1) : continued.end()]
    return match.group(1).strip().replace(",", "")


def whole_number_gold(gold: str) -> str | None:
    """`gold` as the plain style compares it, the digits of a whole number (`2,125` -> `2125`, `72.0` -> `72`); None
    where it is no whole number (`\\frac{1}{2}`, `3.5`, `1 000`)."""
    match = WHOLE_NUMBER_GOLD.fullmatch(gold.strip())
    if match is None or match.group(1).endswith(","):
        return None
    return str(int(match.group(1).replace(",", "")))


def check_whole_number_golds(problems: list[Problem], path: str) -> None:
    """Refuses (UsageError, one line, before any model loads) a benchmark file whose golds the plain style cannot
    grade: each must be a whole number, as GSM8K's are. The first such problem is named, with the count."""
    bad = [problem for problem in problems if whole_number_gold(problem.answer) is None]
    if bad:
        raise UsageError(
            f"{path}: problem {bad[0].id!r} has the answer {bad[0].answer!r}, and {len(bad)} problem(s) in all have "
            "an answer that is not a whole number; the GSM8K protocol (plain prompt style, few-shot) grades whole "
            "numbers such as 72 or 1,000, the boxed style grades others"
        )


def grade_hash_answer(completion: str, gold: str) -> tuple[str | None, float]:
    """(extracted answer, 1.0 or 0.0): lighteval's quasi-exact match of a GSM8K completion against `gold`.

    `gold` is the answer as the benchmark files write it (`2,125`), a whole number (`check_whole_number_golds`); the
    completion's answer must be those digits, as lighteval compares them (`18.0` is not `18`)."""
    expected = whole_number_gold(gold)
    if expected is None:
        raise ValueError(f"gold answer {gold!r} is not a whole number; the plain style grades GSM8K-like answers")
    answer = extract_hash_answer(completion) if completion else None
    return answer, float(answer == expected)


def cut_at_stop_sequences(text: str, stop_sequences: list[str]) -> str:
    """`text` up to (not including) the earliest of `stop_sequences`, as lighteval returns a completion."""
    positions = [index for index in (text.find(stop) for stop in stop_sequences if stop) if index >= 0]
    return text[: min(positions)] if positions else text
