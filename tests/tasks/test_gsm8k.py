"""GSM8K's worked solutions as traces (open_r1.tasks.gsm8k): every calculator annotation becomes a python call
whose output is the annotated result, a malformed one is reported with its row and reason, the chain-of-thought
trace ends in the boxed gold the accuracy reward accepts, and the tool trace is the message format the rollout
parser reads back. On rows written here, and on all of GSM8K when ../shared/data has it (every call run in the
project's sandbox)."""

import json
import pathlib

import pytest

from open_r1.rewards import accuracy_reward, format_reward
from open_r1.rewards.repetition import repeats_a_line
from open_r1.tasks.gsm8k import (
    CALCULATION_BUCKETS,
    COT_SYSTEM_PROMPT,
    TOOL_SYSTEM_PROMPT,
    AnnotationError,
    annotation_calls,
    calculation_bucket,
    calculations,
    calculations_written,
    calculator_call,
    convert,
    cot_trace,
    gold_answer,
    load_rows,
    plain_number,
    prompt_row,
    tool_trace,
    worked_calculations_written,
    worked_text,
)
from open_r1.tools import PythonTool, PythonToolSettings
from open_r1.tools.chat import CHATML_TOOLS_TEMPLATE, ensure_tool_parsing
from tests.conftest import SHARED_DATA
from tests.support import REPO_ROOT, SMOLLM2
from tests.support.sandbox_checks import skip_without_isolation

# Written here so the tests need no data: floats that print as ints, float noise, money written with cents, a
# leading point, a thousands separator in the answer, and a row without annotations.
ROWS = [
    {
        "id": "clips",
        "problem": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?",
        "solution": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
        "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72",
        "answer": "72",
    },
    {
        "id": "money",
        "problem": "A pen costs $1.10 and a box costs $18. What do 3 pens, 8 boxes and a 0.4 tip cost?",
        "solution": "3 pens cost 1.1*3 = $<<1.1*3=3.3>>3.3.\n8 boxes cost 8*18 = $<<8*18=144.00>>144.00.\n"
        "The tip is 2*20*.01 = <<2*20*.01=.4>>.4 dollars.\n"
        "In all 3.3+144+.4 = <<3.3+144+.4=147.7>>147.7 dollars.\n#### 147.7",
        "answer": "147.7",
    },
    {
        "id": "salary",
        "problem": "He earns $425 a week for 5 weeks. How much does he earn?",
        "solution": "He earns 425*5 = $<<425*5=2125>>2,125.\n#### 2,125",
        "answer": "2,125",
    },
    {
        "id": "no-annotation",
        "problem": "Tom has 3 apples and eats none. How many apples does he have?",
        "solution": "He still has 3 apples.\n#### 3",
        "answer": "3",
    },
]
MALFORMED = {
    "<<3/4=3/4>>": "is not a number",
    "<<5*3=16>>": "evaluates to 15, not the annotated 16",
    "<<2x3=6>>": "is not a Python expression",
    "<<4/0=0>>": "fails: division by zero",
    "<<1+1>>": "exactly one '='",
    "<<1=1=1>>": "exactly one '='",
    "<<10/3=3.33>>": "not the annotated 3.33",
    "<<abs(-2)=2>>": "not arithmetic on numbers",
}


def annotations(row: dict) -> int:
    return worked_text(row["solution"]).count("<<")


def tool_calls(trace: list[dict]) -> list[tuple[str, str]]:
    """(code, tool output) of every call of a tool trace, in order."""
    codes = [call["function"]["arguments"]["code"] for m in trace for call in m.get("tool_calls") or []]
    outputs = [m["content"] for m in trace if m["role"] == "tool"]
    assert len(codes) == len(outputs)
    return list(zip(codes, outputs))


@pytest.mark.parametrize(
    "annotation, code, output",
    [
        ("48/2=24", "print(round(48/2))", "24\n"),
        ("48+24=72", "print(48+24)", "72\n"),
        ("12/60=0.2", "print(12/60)", "0.2\n"),
        ("1.1*3=3.3", "print(round(1.1*3, 1))", "3.3\n"),
        ("8*18=144.00", "print(8*18)", "144\n"),
        ("18*.5=9.00", "print(round(18*.5))", "9\n"),
        ("2*20*.01=.4", "print(2*20*.01)", "0.4\n"),
        ("70*.01*90=63", "print(round(70*.01*90))", "63\n"),
        ("2**10-1=1023", "print(2**10-1)", "1023\n"),
        ("5-8=-3", "print(5-8)", "-3\n"),
    ],
)
def test_each_annotation_becomes_code_printing_the_annotated_result_plainly(annotation, code, output):
    call = calculator_call(annotation)
    assert (call.code, call.output) == (code, output)
    # What Python prints for that code, here in-process; the sandbox runs them all below.
    printed = []
    exec(code, {"print": lambda value: printed.append(f"{value}\n")})
    assert printed == [output]


def test_a_rows_calculations_are_its_worked_solutions_annotations_grouped_from_at_most_one_to_five_or_more():
    assert [calculations(row) for row in ROWS] == [2, 4, 1, 0]
    assert [calculation_bucket(count) for count in range(8)] == ["≤1", "≤1", "2", "3", "4", "≥5", "≥5", "≥5"]
    assert set(map(calculation_bucket, range(20))) == set(CALCULATION_BUCKETS)


def test_the_calculations_written_are_the_equals_signs_before_the_answer_in_a_text_or_the_models_turns():
    text = "<think>\n2+3 = 5\n5*2 = 10\n</think>\n<answer>\n\\boxed{x=10}\n</answer>"
    assert calculations_written(text) == 2
    assert calculations_written("<think>\nIt is 10.\n</think>") == 0
    rollout = [
        {"role": "assistant", "content": "2+3 =", "tool_calls": []},
        {"role": "tool", "name": "python", "content": "a = 5\n"},  # what the tool prints is not the model's
        {"role": "assistant", "content": "5 apples, 5*2 =", "tool_calls": []},
        {"role": "tool", "name": "python", "content": "10\n"},
        {"role": "assistant", "content": "<answer>\n\\boxed{10}\n</answer>"},
    ]
    assert calculations_written(rollout) == 2


def test_gsm8k_worked_solutions_seldom_repeat_a_line():
    # The control beside the models' completions in docs/gsm8k.md: 3 of the test set's, 19 of the training set's.
    assert sum(repeats_a_line(cot_trace(row)[-1]["content"]) for row in gsm8k_rows("test")) == 3
    assert sum(repeats_a_line(cot_trace(row)[-1]["content"]) for row in gsm8k_rows("train")) == 19


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["id"])
def test_a_worked_solution_writes_as_many_calculations_in_either_arms_trace(row):
    written = worked_calculations_written(row)
    assert written == calculations_written(tool_trace(row)[2:]) == calculations_written(cot_trace(row)[2:])
    assert written >= calculations(row)  # these rows write `=` before each annotation, and prose may write more


def test_round_only_takes_away_float_noise_never_a_real_difference():
    with pytest.raises(AnnotationError, match="not the annotated 3.33"):
        calculator_call("10/3=3.33")
    with pytest.raises(AnnotationError, match="not the annotated 24"):
        calculator_call("47/2=24")


def test_plain_numbers_drop_trailing_zeros_and_add_the_leading_zero():
    assert [plain_number(t) for t in ("144.00", ".4", "-0.0", "2125", "1e3", "0.250")] == [
        "144",
        "0.4",
        "0",
        "2125",
        "1000",
        "0.25",
    ]


def test_the_tool_trace_calls_python_at_each_annotation_and_carries_on_from_its_output():
    trace = tool_trace(ROWS[0])
    assert [m["role"] for m in trace] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert trace[0]["content"] == TOOL_SYSTEM_PROMPT
    assert trace[2]["content"] == "Natalia sold 48/2 ="
    assert trace[2]["tool_calls"] == [
        {"type": "function", "function": {"name": "python", "arguments": {"code": "print(round(48/2))"}}}
    ]
    assert trace[3] == {"role": "tool", "name": "python", "content": "24\n"}
    assert trace[4]["content"] == "24 clips in May.\nNatalia sold 48+24 ="
    assert trace[6]["content"] == "72 clips altogether in April and May.\n<answer>\n\\boxed{72}\n</answer>"
    assert "<think>" not in json.dumps(trace)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["id"])
def test_every_annotation_of_a_row_becomes_one_call_with_the_annotated_output(row):
    calls, malformed = annotation_calls(row)
    assert not malformed and len(calls) == annotations(row)
    assert [output for _, output in tool_calls(tool_trace(row))] == [call.output for call in calls]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["id"])
def test_both_traces_end_in_the_boxed_gold_which_the_rewards_accept(row):
    cot, tools = cot_trace(row), tool_trace(row)
    assert cot[0]["content"] == COT_SYSTEM_PROMPT and cot[1] == tools[1]
    assert "<<" not in cot[-1]["content"] and cot[-1]["content"].startswith("<think>\n")
    gold = prompt_row(row)["solution"]
    for completion in (cot[-1:], [m for m in tools[2:] if m["role"] == "assistant"]):
        assert completion[-1]["content"].endswith(f"<answer>\n\\boxed{{{gold}}}\n</answer>")
        # Graded against the gold written for GRPO and against the dataset's own answer (thousands separators).
        assert accuracy_reward([completion, completion], solution=[gold, row["answer"]]) == [1.0, 1.0]
        assert accuracy_reward([completion], solution=["999999"]) == [0.0]
    assert format_reward([cot[-1:]]) == [1.0]


def test_thousands_separators_leave_the_gold_and_the_boxed_answer():
    assert gold_answer("2,125") == "2125" and gold_answer("1,000,000") == "1000000" and gold_answer("72") == "72"
    assert prompt_row(ROWS[2]) == {"prompt": cot_trace(ROWS[2])[1]["content"], "solution": "2125", "id": "salary"}
    assert "\\boxed{2125}" in cot_trace(ROWS[2])[-1]["content"]
    # The visible text keeps the author's separators; only the boxed gold is normalised.
    assert "$2,125." in cot_trace(ROWS[2])[-1]["content"]


@pytest.mark.parametrize("annotation, reason", MALFORMED.items())
def test_a_malformed_annotation_is_reported_with_its_row_index_and_reason_and_its_row_left_out(annotation, reason):
    row = {
        "id": "bad-row",
        "problem": "What is it?",
        "solution": f"First 2+3 = <<2+3=5>>5.\nThen {annotation}x.\n#### 5",
        "answer": "5",
    }
    conversion = convert([ROWS[0], row])
    [malformed] = conversion.malformed
    assert (malformed.row_id, malformed.index, malformed.annotation) == ("bad-row", 1, annotation)
    assert reason in malformed.reason
    assert conversion.rows_left_out == ["bad-row"] and len(conversion.cot) == len(conversion.tools) == 1
    # The prompt and its gold stay for GRPO; the traces of the good row are all there.
    assert [p["id"] for p in conversion.prompts] == ["clips", "bad-row"]
    assert conversion.calls == 2
    with pytest.raises(AnnotationError, match="bad-row"):
        tool_trace(row)
    summary = conversion.summary()
    assert summary["malformed_annotations"][0]["reason"] == malformed.reason and summary["sft_rows"] == 1


@pytest.mark.parametrize("solution", ["It is 2+2 = <<2+2=4 four.\n#### 4", "It is 2+2 = 2+2=4>>4.\n#### 4"])
def test_an_unclosed_annotation_is_reported(solution):
    _, [malformed] = annotation_calls({"id": "open", "solution": solution})
    assert malformed.row_id == "open" and "unclosed" in malformed.reason


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "annotation",
    [
        "9**9**9**9=1",
        "(10**12)**100**2=1",
        "*".join(["999999999999**100"] * 4) + "=1",
        "__import__('os').system('touch /tmp/open_r1_gsm8k_owned')=0",
    ],
)
def test_hostile_annotations_are_reported_at_once_and_never_run(annotation):
    """A data file is not code: a power tower must not hang the conversion, a call must never execute."""
    _, [malformed] = annotation_calls({"id": "hostile", "solution": f"x = <<{annotation}>>1\n#### 1"})
    assert malformed.row_id == "hostile"
    assert not pathlib.Path("/tmp/open_r1_gsm8k_owned").exists()


def tokenizer_with_tool_template():
    """SmolLM2's tokenizer with the tool-calling ChatML template, as the pipeline gives the tool arm."""
    from transformers import AutoTokenizer

    if not (SMOLLM2 / "tokenizer.json").is_file():
        pytest.skip(f"{SMOLLM2} is absent (python scripts/get_model.py smollm2)")
    tokenizer = AutoTokenizer.from_pretrained(SMOLLM2)
    tokenizer.chat_template = CHATML_TOOLS_TEMPLATE
    ensure_tool_parsing(tokenizer)
    return tokenizer


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["id"])
def test_the_rollout_parser_reads_each_assistant_turn_of_the_trace_back_unchanged(row):
    """The SFT trace is what a GRPO rollout with `tools: [python]` produces: TRL parses every generated assistant
    turn into exactly the trace's message, and the rendering is prefix-preserving."""
    from trl.chat_template_utils import parse_response

    tokenizer = tokenizer_with_tool_template()
    trace = tool_trace(row)
    full = tokenizer.apply_chat_template(trace, tokenize=False)
    for end, message in enumerate(trace):
        if message["role"] != "assistant":
            continue
        prefix = tokenizer.apply_chat_template(trace[:end], tokenize=False, add_generation_prompt=True)
        turn = tokenizer.apply_chat_template(trace[: end + 1], tokenize=False)
        assert full.startswith(prefix) and turn.startswith(prefix)
        prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
        ids = tokenizer(turn[len(prefix) :].removesuffix("\n"), add_special_tokens=False)["input_ids"]
        parsed = parse_response(tokenizer, ids, prefix=prefix_ids)
        assert parsed["content"] == message["content"]
        assert parsed.get("tool_calls") == message.get("tool_calls")


@pytest.fixture(scope="module")
def python_tool():
    settings = PythonToolSettings(wall_seconds=30, memory_mb=256)
    with skip_without_isolation():
        tool = PythonTool(settings)
        tool.python("pass")
    return tool


@pytest.mark.timeout(120)
def test_the_python_tool_prints_exactly_the_trace_tool_messages(python_tool):
    """One rollout per row through the real tool, calls in order (later calls replay the earlier ones)."""
    for row in ROWS:
        python_tool.reset()
        for code, output in tool_calls(tool_trace(row)):
            assert python_tool.python(code) == output, (row["id"], code)


def gsm8k_rows(split: str) -> list[dict]:
    path = SHARED_DATA / f"gsm8k_{split}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return load_rows(path)


def run_in_sandbox(tool: PythonTool, codes: list[str]) -> list[str]:
    """What each code prints, each run on its own in one sandboxed program (the codes are data, never spliced)."""
    program = (
        "import contextlib, io, json\n"
        f"codes = {codes!r}\n"
        "printed = []\n"
        "for code in codes:\n"
        "    buffer = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buffer):\n"
        "        exec(code, {})\n"
        "    printed.append(buffer.getvalue())\n"
        "print(json.dumps(printed))\n"
    )
    _, [raw] = tool._provider.run_raw(program, "python", [""])
    assert raw.get("exit_code") == 0, raw
    return json.loads(raw["stdout"])


@pytest.mark.timeout(300)
@pytest.mark.parametrize("split", ["train", "test"])
def test_all_of_gsm8k_every_annotation_is_a_call_the_sandbox_confirms_or_is_reported(split, python_tool):
    rows = gsm8k_rows(split)
    conversion = convert(rows)
    for row in rows:
        calls, malformed = annotation_calls(row)
        assert len(calls) + len(malformed) == annotations(row), row["id"]
    kept = [row for row in rows if row["id"] not in conversion.rows_left_out]
    assert sum(map(annotations, kept)) == conversion.calls
    assert len(conversion.prompts) == len(rows) and len(conversion.cot) == len(rows) - len(conversion.rows_left_out)
    for malformed in conversion.malformed:
        assert malformed.reason and malformed.row_id in conversion.rows_left_out
    pairs = [pair for trace in conversion.tools for pair in tool_calls(trace)]
    assert len(pairs) == conversion.calls
    codes = [code for code, _ in pairs]
    # The sandbox caps collected output at 1 MB; a few thousand calls per program stay far below it.
    printed = [
        text
        for start in range(0, len(codes), 5000)
        for text in run_in_sandbox(python_tool, codes[start : start + 5000])
    ]
    mismatches = [(code, output, got) for (code, output), got in zip(pairs, printed) if got != output]
    assert not mismatches, mismatches[:10]
    gold = [trace[-1]["content"] for trace in conversion.cot[:200]]
    golds = [p["solution"] for p, row in zip(conversion.prompts, rows) if row["id"] not in conversion.rows_left_out]
    assert accuracy_reward([[{"role": "assistant", "content": text}] for text in gold], solution=golds[:200]) == [
        1.0
    ] * len(gold)


def test_gsm8k_test_has_one_known_malformed_annotation():
    conversion = convert(gsm8k_rows("test"))
    assert [(m.row_id, m.annotation) for m in conversion.malformed] == [("319", "<<3/4=3/4>>")]


@pytest.mark.parametrize("split", ["train", "test"])
def test_all_of_gsm8k_writes_as_many_calculations_in_either_arms_trace(split):
    for row in gsm8k_rows(split):
        if not annotation_calls(row)[1]:  # a malformed annotation leaves its row out of the tool arm
            assert worked_calculations_written(row) == calculations_written(tool_trace(row)[2:]), row["id"]


@pytest.mark.slow  # every GSM8K-train trace through SmolLM2's chat template: 20 s
@pytest.mark.timeout(300)
@pytest.mark.parametrize("arm", ["cot", "tools"])
def test_the_recipes_lengths_fit_gsm8k_train_traces(arm):
    """SFT's max_length is above every trace (none is cut); GRPO's max_completion_length holds nearly every
    trace's answer, tool results included (TRL counts them); the max_prompt_length make gsm8k gives a compiled
    decode step cuts no prompt."""
    import yaml

    from open_r1.demo.settings import GSM8K_FULL

    rows = gsm8k_rows("train")
    tokenizer = tokenizer_with_tool_template() if arm == "tools" else None
    if tokenizer is None:
        from transformers import AutoTokenizer

        if not (SMOLLM2 / "tokenizer.json").is_file():
            pytest.skip(f"{SMOLLM2} is absent")
        tokenizer = AutoTokenizer.from_pretrained(SMOLLM2)
    conversion = convert(rows)
    recipes = REPO_ROOT / "recipes" / "SmolLM2-135M-Instruct"
    sft = yaml.safe_load((recipes / "sft" / f"config_gsm8k_{arm}.yaml").read_text())
    grpo = yaml.safe_load((recipes / "grpo" / f"config_gsm8k_{arm}.yaml").read_text())
    traces = conversion.cot if arm == "cot" else conversion.tools
    full = [len(tokenizer.apply_chat_template(trace, return_dict=False)) for trace in traces]
    prompts = [
        len(tokenizer.apply_chat_template(trace[:2], add_generation_prompt=True, return_dict=False))
        for trace in traces
    ]
    assert max(full) < sft["max_length"]
    assert max(prompts) <= GSM8K_FULL.compiled_max_prompt_length
    fits = sum(whole - prompt <= grpo["max_completion_length"] for whole, prompt in zip(full, prompts))
    assert fits >= 0.95 * len(traces)


def test_the_docs_count_of_problems_by_calculations_is_the_shared_datas(shared_data):
    page = (REPO_ROOT / "docs" / "gsm8k.md").read_text(encoding="utf-8")
    for label, name in (("GSM8K-train rows", "gsm8k_train.jsonl"), ("GSM8K-test problems", "gsm8k_test.jsonl")):
        counts = dict.fromkeys(CALCULATION_BUCKETS, 0)
        for row in load_rows(shared_data / name):
            counts[calculation_bucket(calculations(row))] += 1
        assert f"| {label} | " + " | ".join(f"{count:,}" for count in counts.values()) + " |" in page


def test_every_training_prompt_is_the_evaluators_user_turn():
    """SFT traces, tool traces and GRPO prompts ask each problem exactly as the offline evaluator asks it."""
    from open_r1.data.benchmarks import Problem, build_messages

    for row in ROWS:
        evaluator_turn = build_messages(Problem(id=row["id"], problem=row["problem"], answer="0"), "system")[-1]
        assert evaluator_turn["role"] == "user" and row["problem"] in evaluator_turn["content"]
        assert cot_trace(row)[1] == evaluator_turn
        assert tool_trace(row)[1] == evaluator_turn
        assert prompt_row(row)["prompt"] == evaluator_turn["content"]
