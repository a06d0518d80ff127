"""Code rewards: upstream names and signatures, scoring modes, early stopping, IOI subtasks, Codeforces tests.

They run real programs through the local sandbox (the default provider), called as TRL's GRPOTrainer calls
them: conversational completions plus dataset columns as keyword lists.
"""

import json
import re

import pytest

from open_r1.compat.rewards import accepting_upstream_options
from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import REWARD_FUNCS_REGISTRY, codeforces, get_reward_funcs
from open_r1.rewards import code as code_rewards
from open_r1.rewards.code import extract_code, get_code_reward
from open_r1.rewards.codeforces import get_cf_code_reward
from open_r1.rewards.ioi import get_ioi_code_reward
from open_r1.sandbox import CodeExecutionProvider, SandboxConfig
from tests.support.sandbox_checks import skip_without_isolation

ADD = "a, b = map(int, input().split())\nprint(a + b)"
INFO = {
    "language": "python",
    "test_cases": [
        {"input": "1 2", "output": "3", "type": "stdin_stdout"},
        {"input": "10 5", "output": "15", "type": "stdin_stdout"},
        {"input": "0 0", "output": "0", "type": "stdin_stdout"},
    ],
}


@pytest.fixture(scope="module")
def sandbox(make_module_local_sandbox):
    return make_module_local_sandbox(num_workers=2)


class NothingMayRun(CodeExecutionProvider):
    def execute(self, submissions, test_batch_size=1):
        pytest.fail("nothing may run")


class OutOfMemory(CodeExecutionProvider):
    def execute(self, submissions, test_batch_size=1):
        raise MemoryError()


@pytest.mark.timeout(30)
def test_a_memory_error_in_the_provider_costs_the_rewards_not_the_training_step():
    """A provider that runs out of memory on a batch (reading junk outputs, say): those completions get 0, a row
    without tests still None, and nothing is raised into the trainer."""
    completions = [answer(ADD), answer("print(1)"), answer(ADD)]
    infos = [INFO, INFO, {"language": "python", "test_cases": []}]
    for reward in (get_code_reward(OutOfMemory()), get_code_reward(OutOfMemory(), binary=True)):
        assert reward(completions, verification_info=infos) == [0.0, 0.0, None]


class Counting(CodeExecutionProvider):
    """The given provider, counting the submissions it is asked to run."""

    def __init__(self, provider):
        self.provider, self.ran = provider, []

    def execute(self, submissions, test_batch_size=1):
        self.ran.extend(submissions)
        return self.provider.execute(submissions, test_batch_size=test_batch_size)


def test_a_groups_identical_programs_run_once_and_share_their_result(sandbox):
    """Found by an audit: eight identical completions of one prompt ran eight times (paid sandboxes bill each)."""
    counting = Counting(sandbox)
    completions = [answer(ADD)] * 6 + [answer("print(3)")] * 2 + [answer(ADD)]
    rewards = get_code_reward(counting, scoring_mode="partial", test_batch_size=0)(
        completions, verification_info=[INFO] * 9
    )
    assert rewards == pytest.approx([1.0] * 6 + [1 / 3] * 2 + [1.0])
    assert len(counting.ran) == 2
    other_tests = {**INFO, "test_cases": INFO["test_cases"][:1]}  # the same program on other tests is run again
    counting.ran.clear()
    get_code_reward(counting)([answer(ADD)] * 2, verification_info=[INFO, other_tests])
    assert len(counting.ran) == 2


def test_a_groups_problem_is_read_once_for_all_its_completions(sandbox, monkeypatch):
    """Found by an audit: each of a group's 16 rows parsed the same megabytes of JSON tests again."""
    read, original = [], code_rewards.as_test_cases
    monkeypatch.setattr(code_rewards, "as_test_cases", lambda *args: read.append(args[1]) or original(*args))
    other = json.dumps({**INFO, "test_cases": INFO["test_cases"][:1]})
    infos = [json.dumps(INFO)] * 4 + [other] * 3 + [json.dumps(INFO)]
    rewards = get_code_reward(sandbox, scoring_mode="partial")([answer(ADD)] * 8, verification_info=infos)
    assert rewards == pytest.approx([1.0] * 8)
    assert read == ["verification_info[0]['test_cases']", "verification_info[4]['test_cases']"]


def build(name: str, **recipe) -> callable:
    """The registry's reward `name` from a recipe with `recipe`'s fields."""
    return REWARD_FUNCS_REGISTRY[name](GRPOScriptArguments(dataset_name="x", **recipe))


def answer(code: str, language: str = "python") -> list[dict]:
    return [
        {"role": "assistant", "content": f"<think>\neasy\n</think>\n<answer>\n```{language}\n{code}\n```\n</answer>"}
    ]


def test_extract_code_takes_the_last_block_of_the_language():
    text = "```python\nfirst\n```\ntext\n```cpp\nnot python\n```\n```python\nsecond\n```"
    assert extract_code(text, "python") == "second\n"
    assert extract_code(text, "cpp") == "not python\n"
    assert extract_code("no code here") == ""
    assert extract_code(text, None) == ""  # upstream: no language, no code


def test_code_reward_scores_each_mode(sandbox):
    half_right = "a, b = map(int, input().split())\nprint(a + b if a else 99)"
    completions = [answer(ADD), answer(half_right), [{"role": "assistant", "content": "no code"}]]
    infos = [INFO] * 3
    provider = sandbox  # noqa: E731
    partial = get_code_reward(provider, scoring_mode="partial", test_batch_size=0)
    assert partial(completions, verification_info=infos) == pytest.approx([1.0, 2 / 3, 0.0])
    pass_fail = get_code_reward(provider, scoring_mode="pass_fail", test_batch_size=0)
    assert pass_fail(completions, verification_info=infos) == [1.0, 0.0, 0.0]
    weighted = get_code_reward(provider, scoring_mode="weighted_sum", test_batch_size=0)
    assert weighted(completions, verification_info=infos) == pytest.approx([1.1, 0.2 / 3, 0.0])
    binary = get_code_reward(provider, binary=True)
    assert binary.__name__ == "binary_code_reward"
    assert binary(completions, verification_info=infos) == [1.0, 0.0, 0.0]


def test_early_stopping_counts_tests_after_a_failed_batch_as_failed(sandbox):
    wrong_first = "a, b = map(int, input().split())\nprint(a + b if a != 1 else 0)"
    one_at_a_time = get_code_reward(sandbox, scoring_mode="partial", test_batch_size=1)
    all_at_once = get_code_reward(sandbox, scoring_mode="partial", test_batch_size=0)
    assert one_at_a_time([answer(wrong_first)], verification_info=[INFO]) == [0.0]
    assert all_at_once([answer(wrong_first)], verification_info=[INFO]) == pytest.approx([2 / 3])


def test_rows_without_tests_are_not_judged_and_bad_rows_are_named(sandbox, caplog):
    reward = get_code_reward(sandbox)
    assert reward([answer(ADD)], verification_info=[{"language": "python", "test_cases": []}]) == [None]
    with pytest.raises(ValueError, match="verification_info"):
        reward([answer(ADD)])  # a missing column is the recipe's mistake: the whole call fails
    # A malformed row is the dataset's: that row gets None and a warning naming what is wrong.
    assert reward([answer(ADD)], verification_info=[{"language": "python", "test_cases": [{"in": "1"}]}]) == [None]
    assert "test_cases'][0] must have 'input' and 'output'" in caplog.text
    assert reward(["```python\n" + ADD + "\n```"], verification_info=[json.dumps(INFO)]) == [1.0]


def test_code_reward_is_upstreams_fraction_of_tests_passed_by_default(sandbox):
    # Three of four tests pass although the first fails: upstream's code_reward gives 0.75, not 0 (early stopping).
    info = {"language": "python", "test_cases": [{"input": "0 0", "output": "1"}] + INFO["test_cases"][:3]}
    assert len(info["test_cases"]) == 4
    assert get_code_reward(sandbox)([answer(ADD)], verification_info=[info]) == [0.75]
    assert get_code_reward(sandbox)([answer(ADD)], verification_info=[INFO]) == [1.0]
    # The weighted, early-stopping scoring is there when asked for: code_scoring_mode and code_test_batch_size.
    code_eval = build("code", code_scoring_mode="weighted_sum", code_test_batch_size=1)
    with skip_without_isolation():
        assert code_eval([answer(ADD)], verification_info=[INFO]) == pytest.approx([1.1])
        assert code_eval([answer(ADD)], verification_info=[info]) == [0.0]  # the first test failed: stop there
        # The scoring mode alone keeps code's default batch: every test runs, none counts as failed unrun.
        weighted = build("code", code_scoring_mode="weighted_sum")
        assert weighted([answer(ADD)], verification_info=[info]) == pytest.approx([0.075])
    with pytest.raises(ValueError, match="code_scoring_mode must be one of"):
        GRPOScriptArguments(dataset_name="x", code_scoring_mode="weighted")


def test_cpp_verification_info_runs_cpp(sandbox):
    cpp = "#include <iostream>\nint main(){ long a, b; std::cin >> a >> b; std::cout << a + b; }"
    reward = get_code_reward(sandbox, scoring_mode="partial")
    assert reward([answer(cpp, "cpp")], verification_info=[INFO | {"language": "cpp"}]) == [1.0]


def test_ioi_reward_awards_subtask_points_only_when_all_tests_pass(sandbox):
    info = {
        "language": "python",
        "subtasks": [
            {"score": 30, "test_cases": [{"input": "1 2", "output": "3"}]},
            {"score": 70, "test_cases": [{"input": "0 5", "output": "5"}, {"input": "2 2", "output": "4"}]},
        ],
    }
    only_positive = "a, b = map(int, input().split())\nprint(a + b if a else -1)"
    reward = get_ioi_code_reward(sandbox)
    assert reward([answer(ADD), answer(only_positive)], verification_info=[info, info]) == pytest.approx([1.0, 0.3])


def test_cf_reward_uses_generated_tests_and_penalizes_missing_or_broken_code(sandbox, tmp_path, monkeypatch):
    (tmp_path / "tests.jsonl").write_text(
        json.dumps({"problem_id": "1/A", "input": "100 1", "output": "101"})
        + "\n"
        + json.dumps({"problem_id": "2/B", "input": "1 1", "output": "2"})
        + "\n"
    )
    monkeypatch.setenv("CF_TESTS_FOLDER", str(tmp_path))
    codeforces._generated_tests_index.cache_clear()
    small_only = "a, b = map(int, input().split())\nprint(a + b if a < 50 else 0)"
    reward = get_cf_code_reward(sandbox, scoring_mode="pass_fail", language="python")
    rows = {
        "id": ["1/A"] * 4,
        "official_tests": [[{"input": "1 2", "output": "3"}]] * 4,
        "official_tests_complete": [False] * 4,
    }
    completions = [answer(ADD), answer(small_only), [{"role": "assistant", "content": "none"}], answer("def (")]
    assert reward(completions, **rows) == [1.0, 0.0, -1.0, 0.0]
    cpp_reward = get_cf_code_reward(sandbox, scoring_mode="pass_fail", language="cpp")
    assert cpp_reward([answer("int main( {", "cpp")], **{k: v[:1] for k, v in rows.items()}) == [-0.1]
    codeforces._generated_tests_index.cache_clear()


def test_the_registry_builds_each_code_reward_from_the_recipes_sandbox(monkeypatch, sandbox):
    asked = []
    monkeypatch.setattr(code_rewards, "get_provider", lambda config: asked.append(config) or sandbox)
    args = GRPOScriptArguments(
        dataset_name="x", reward_funcs=["code", "binary_code"], code_provider="local", code_num_workers=3
    )
    code, binary = get_reward_funcs(args)
    assert (code.__name__, binary.__name__) == ("code_reward", "binary_code_reward")
    assert code([answer(ADD)], verification_info=[INFO]) == [1.0]
    assert binary([answer(ADD)], verification_info=[INFO]) == [1.0]
    assert asked == [SandboxConfig("local", num_workers=3)] * 2 and asked[0] is args.code_sandbox


@pytest.mark.parametrize("name", ["code", "binary_code", "ioi_code", "cf_code"])
def test_each_registry_reward_is_built_alone(monkeypatch, name):
    from open_r1.rewards import code, codeforces, ioi

    built = []
    for module, factory in (
        (code, "get_code_reward"),
        (ioi, "get_ioi_code_reward"),
        (codeforces, "get_cf_code_reward"),
    ):
        original = getattr(module, factory)
        monkeypatch.setattr(module, factory, lambda *a, _f=factory, _o=original, **k: built.append(_f) or _o(*a, **k))
    build(name)
    expected = {"code": "get_code_reward", "binary_code": "get_code_reward"}.get(name, f"get_{name}_reward")
    assert built == [expected]


def test_module_level_code_reward_runs_on_the_default_local_provider():
    from open_r1.rewards import code_reward

    with skip_without_isolation():
        rewards = code_reward([answer(ADD)], verification_info=[INFO])
    assert rewards == [1.0]  # upstream's code_reward: the fraction of tests passed


# --- bad input: a clear error or a per-row None, never a silent wrong reward, never a lost batch ----------------


def with_language(language) -> dict:
    return {**INFO, "language": language}


@pytest.mark.parametrize("bad_language", [7, ["python"], "cobol"])
def test_a_row_in_a_language_no_sandbox_runs_gets_none_and_the_others_keep_their_rewards(
    sandbox, bad_language, caplog
):
    reward = get_code_reward(sandbox, scoring_mode="pass_fail")
    rewards = reward(
        [answer(ADD), answer(ADD), answer(ADD)], verification_info=[INFO, with_language(bad_language), INFO]
    )
    assert rewards == [1.0, None, 1.0]
    assert "row 1 cannot be judged" in caplog.text and repr(bad_language)[:5] in caplog.text


def test_a_test_whose_expected_output_is_none_is_not_compared_as_the_text_none(sandbox, caplog):
    info = {"language": "python", "test_cases": [{"input": "", "output": None}]}
    reward = get_code_reward(sandbox, scoring_mode="pass_fail")
    assert reward([answer("print(None)")], verification_info=[info]) == [None]
    assert "['output'] must be a string, got None" in caplog.text


def test_per_call_provider_options_are_honoured_not_ignored(monkeypatch, sandbox):
    asked = []
    monkeypatch.setattr(code_rewards, "get_provider", lambda config: asked.append(config) or sandbox)
    reward = accepting_upstream_options("code_reward", get_code_reward, NothingMayRun())
    reward([answer(ADD)], verification_info=[INFO], provider_type="e2b", num_parallel=4, e2b_router_url="h:1")
    assert asked == [SandboxConfig("e2b", num_workers=4, router_url="h:1")]


def test_per_call_scoring_options_override_the_configuration(sandbox):
    reward = accepting_upstream_options("code_reward", get_code_reward, sandbox, scoring_mode="weighted_sum")
    half_wrong = "a, b = map(int, input().split())\nprint(a + b if a else 1)"
    assert reward([answer(half_wrong)], verification_info=[INFO], scoring_mode="partial", test_batch_size=0) == [
        pytest.approx(2 / 3)
    ]
    with pytest.raises(ValueError, match="scoring_mode must be one of"):
        reward([answer(ADD)], verification_info=[INFO], scoring_mode="mostly")


def test_enforce_same_language_refuses_mixed_batches(sandbox):
    reward = get_code_reward(sandbox, enforce_same_language=True)
    with pytest.raises(ValueError, match=r"enforce_same_language.*\['cpp', 'python'\]"):
        reward([answer(ADD), answer(ADD)], verification_info=[INFO, with_language("cpp")])
    upstream = accepting_upstream_options("code_reward", get_code_reward, sandbox)  # upstream's per-call keyword
    with pytest.raises(ValueError, match=r"enforce_same_language.*\['cpp', 'python'\]"):
        upstream(
            [answer(ADD), answer(ADD)], verification_info=[INFO, with_language("cpp")], enforce_same_language=True
        )


def test_ioi_rows_that_cannot_be_judged_get_none_and_the_others_keep_their_rewards(sandbox, caplog):
    reward = get_ioi_code_reward(sandbox, language="python")
    subtasks = [{"score": 1, "test_cases": [{"input": "1 2", "output": "3"}]}]
    rows = [
        {"subtasks": subtasks},
        {"subtasks": [{"score": 1, "test_cases": [{"input": "1 2", "output": None}]}]},  # no expected output
        {"subtasks": subtasks, "language": "cobol"},
        {"subtasks": subtasks, "language": 7},
        {"subtasks": []},
        {"subtasks": subtasks, "language": "py"},
    ]
    assert reward([answer(ADD)] * len(rows), verification_info=rows) == [1.0, None, None, None, None, 1.0]
    for row in (1, 2, 3, 4):
        assert f"ioi_code_reward: row {row} cannot be judged" in caplog.text


def test_codeforces_rows_that_cannot_be_judged_get_none_and_the_others_keep_their_rewards(sandbox, caplog):
    reward = get_cf_code_reward(sandbox, scoring_mode="pass_fail", language="python")
    tests = [{"input": "1 2", "output": "3"}]
    rewards = reward(
        [answer(ADD)] * 5,
        official_tests=[tests, tests, [{"input": "1 2", "output": None}], tests, "not a list"],
        language=["python", 7, "python", None, "python"],  # None: the reward's own language
    )
    assert rewards == [1.0, None, None, 1.0, None]
    assert "cf_code_reward: row 1 cannot be judged" in caplog.text and "got int 7" in caplog.text


def test_a_column_passed_as_a_single_value_is_named():
    reward = get_cf_code_reward(NothingMayRun(), language="python")
    with pytest.raises(ValueError, match=r"'language' must be a dataset column.*'cpp'"):
        reward([answer(ADD)], official_tests=[[]], language="cpp")


def test_a_reward_built_for_a_language_no_sandbox_runs_fails_when_built():
    for factory in (get_code_reward, get_ioi_code_reward, get_cf_code_reward):
        with pytest.raises(ValueError, match="'cobol' is not supported"):
            factory(NothingMayRun(), language="cobol")


@pytest.mark.parametrize(
    "reward_name, option, value",
    [
        ("binary_code_reward", "scoring_mode", "partial"),
        ("ioi_code_reward", "scoring_mode", "partial"),
        ("cf_code_reward", "patch_code", True),
        ("code_reward", "patch_code", False),
    ],
)
def test_a_per_call_option_a_reward_has_no_meaning_for_is_refused_by_name(reward_name, option, value):
    import open_r1.rewards

    reward = getattr(open_r1.rewards, reward_name)  # upstream's module-level rewards
    with pytest.raises(TypeError, match=rf"cannot honour {option}={value!r}"):
        reward([answer(ADD)], verification_info=[INFO], official_tests=[[]], **{option: value})


def test_a_per_call_provider_setting_changes_only_that_setting_of_the_configured_provider(monkeypatch, sandbox):
    from open_r1.compat.rewards import accepting_upstream_options as upstream

    asked = []
    monkeypatch.setattr(code_rewards, "get_provider", lambda config: asked.append(config) or sandbox)
    args = GRPOScriptArguments(
        dataset_name="x", code_provider="e2b", e2b_router_url="r:1", competitive_programming_provider="morph"
    )
    upstream("code_reward", get_code_reward, args.code_sandbox)(
        [answer(ADD)], verification_info=[INFO], num_parallel=8
    )
    cf = upstream("cf_code_reward", get_cf_code_reward, args.competitive_programming_sandbox)
    cf([answer(ADD)], official_tests=[INFO["test_cases"]], language=["python"], test_batch_size=0)
    ioi_info = {"language": "python", "subtasks": [{"score": 1, "test_cases": INFO["test_cases"]}]}
    ioi = upstream("ioi_code_reward", get_ioi_code_reward, args.competitive_programming_sandbox)
    ioi([answer(ADD)], verification_info=[ioi_info], provider_type="local")
    # cf_code runs on the competitive-programming provider, as upstream ran it on Piston; the e2b router is e2b's.
    assert asked == [SandboxConfig("e2b", 8, "r:1"), SandboxConfig("morph", 2), SandboxConfig("local", 2)]


def test_a_provider_setting_without_provider_type_is_refused_for_a_custom_provider():
    reward = accepting_upstream_options("code_reward", get_code_reward, NothingMayRun())
    with pytest.raises(TypeError, match=r"\['num_parallel'\] without provider_type"):
        reward([answer(ADD)], verification_info=[INFO], num_parallel=4)


def test_ioi_and_codeforces_rewards_honour_enforce_same_language(sandbox):
    ioi = get_ioi_code_reward(sandbox, language="python", enforce_same_language=True)
    subtasks = [{"score": 1, "test_cases": [{"input": "1 2", "output": "3"}]}]
    with pytest.raises(ValueError, match=r"enforce_same_language.*\['cpp', 'python'\]"):
        ioi(
            [answer(ADD)] * 2,
            verification_info=[{"subtasks": subtasks}, {"subtasks": subtasks, "language": "cpp"}],
        )
    cf = accepting_upstream_options("cf_code_reward", get_cf_code_reward, sandbox, language="python")
    assert cf([answer(ADD)], official_tests=[[]], language=["py"], enforce_same_language=True) == [None]


def test_a_router_url_no_reward_runs_on_is_an_error_not_ignored():
    # Upstream's code_provider defaulted to e2b; here it is local, so an upstream recipe's router would go unused.
    with pytest.raises(ValueError, match="e2b_router_url is set but nothing runs on e2b.*add code_provider: e2b"):
        GRPOScriptArguments(dataset_name="x", e2b_router_url="r:8000")
    with pytest.raises(ValueError, match="morph_router_url is set but nothing runs on morph"):
        GRPOScriptArguments(dataset_name="x", code_provider="e2b", morph_router_url="r:8001")
    args = GRPOScriptArguments(dataset_name="x", competitive_programming_provider="morph", morph_router_url="r:8001")
    assert args.competitive_programming_sandbox == SandboxConfig("morph", router_url="r:8001")
    assert args.code_sandbox == SandboxConfig("local")  # the router is morph's only
    # The python tool counts as something running on e2b when the recipe has tools.
    args = GRPOScriptArguments(dataset_name="x", tools=["python"], python_tool_provider="e2b", e2b_router_url="r:1")
    assert args.tool_sandbox == SandboxConfig("e2b", router_url="r:1")


# --- tests that expect nothing --------------------------------------------------------------------------------
# A program that prints nothing passes a test whose expected output is empty or whitespace: such a test cannot tell
# a solution from no solution. Every reward that grades stdin/stdout tests drops it, and a row left with no test
# gets None with a warning naming the row (not the 1.0 a do-nothing program earned before).
DOES_NOTHING = "pass"
EXPECTS_NOTHING = [
    {"input": "1 2", "output": ""},
    {"input": "3 4", "output": "  \n\n"},
    {"input": "", "output": "\t"},
]


@pytest.mark.timeout(120)
def test_a_program_that_does_nothing_earns_nothing_from_tests_that_expect_nothing(sandbox, caplog):
    info = {"language": "python", "test_cases": EXPECTS_NOTHING}
    mixed = {"language": "python", "test_cases": EXPECTS_NOTHING + INFO["test_cases"][:1]}
    rows = [info, mixed, info, INFO]
    completions = [answer(DOES_NOTHING), answer(DOES_NOTHING), answer(ADD), answer(ADD)]
    code = get_code_reward(sandbox, test_batch_size=0)
    assert code(completions, verification_info=rows) == [None, 0.0, None, 1.0]
    assert "code_reward: row 0 cannot be judged" in caplog.text and "row 2 cannot be judged" in caplog.text
    assert "every test expects empty output (3 tests)" in caplog.text
    binary = get_code_reward(sandbox, binary=True)
    assert binary(completions, verification_info=rows) == [None, 0.0, None, 1.0]

    cf = get_cf_code_reward(sandbox, scoring_mode="partial", language="python", test_batch_size=0)
    official = [EXPECTS_NOTHING, mixed["test_cases"], EXPECTS_NOTHING, INFO["test_cases"]]
    assert cf(completions, official_tests=official) == [None, 0.0, None, 1.0]
    assert "cf_code_reward: row 0 cannot be judged" in caplog.text

    ioi = get_ioi_code_reward(sandbox, language="python")
    judgeable = {"score": 50, "test_cases": INFO["test_cases"][:1]}
    ioi_rows = [
        {"subtasks": [{"score": 100, "test_cases": EXPECTS_NOTHING}]},
        {"subtasks": [judgeable, {"score": 50, "test_cases": mixed["test_cases"]}]},
        {"subtasks": [judgeable, {"score": 50, "test_cases": EXPECTS_NOTHING}]},  # half the points unjudgeable
        {"subtasks": [judgeable]},
    ]
    assert ioi(completions, verification_info=ioi_rows) == [None, 0.0, None, 1.0]
    assert "ioi_code_reward: row 2 cannot be judged" in caplog.text


# Tests that all expect one output: a program printing it passes them, solving nothing.
ONE_ANSWER = [{"input": "1 1", "output": "0"}, {"input": "2 2", "output": "0\n"}, {"input": "5 5", "output": " 0 "}]


@pytest.mark.timeout(120)
def test_a_program_that_prints_a_constant_earns_nothing_from_tests_that_all_expect_it(sandbox, caplog):
    """Found by a red team: `print(0)` earned 1.0 from every code reward on CodeContests rows whose judged tests (the
    examples dropped) all expect 0; the best constant per row averaged 0.31 of partial credit."""
    completions = [answer("print(0)"), answer(ADD)]
    rows = [{"language": "python", "test_cases": ONE_ANSWER}, INFO]
    assert get_code_reward(sandbox, test_batch_size=0)(completions, verification_info=rows) == [None, 1.0]
    assert "every judged test expects the same output (3 tests, '0')" in caplog.text
    assert get_code_reward(sandbox, binary=True)(completions, verification_info=rows) == [None, 1.0]
    cf = get_cf_code_reward(sandbox, scoring_mode="partial", language="python", test_batch_size=0)
    assert cf(completions, official_tests=[ONE_ANSWER, INFO["test_cases"]]) == [None, 1.0]
    ioi_rows = [{"subtasks": [{"score": 100, "test_cases": ONE_ANSWER}]}, {"subtasks": [{"score": 100, **INFO}]}]
    ioi = get_ioi_code_reward(sandbox, language="python")
    assert ioi(completions, verification_info=ioi_rows) == [None, 1.0]
    # Beside a judged subtask, such a subtask's points are not at stake, as a subtask of examples alone (a review's).
    mixed = [{"subtasks": [{"score": 50, **INFO}, {"score": 50, "test_cases": ONE_ANSWER}]}] * 2
    assert ioi(completions, verification_info=mixed) == [0.0, 1.0]
    # A test listed twice is one test: judged (a review's).
    twice = [{"language": "python", "test_cases": INFO["test_cases"][:1] * 2}]
    assert get_code_reward(sandbox)([answer(ADD)], verification_info=twice) == [1.0]
    # One judged test cannot be told apart from a guess either way, and is judged: a constant must know the answer.
    one = [{"language": "python", "test_cases": ONE_ANSWER[:1]}]
    assert get_code_reward(sandbox)([answer("print(0)")], verification_info=one) == [1.0]


# A statement whose example is INFO's first test; the program below prints the example's output from a table.
STATEMENT = "Print the sum of two integers.\n\nExamples\n\nInput\n\n1 2\n\nOutput\n\n3\n"
REPLAYS_THE_EXAMPLE = "print({'1 2': 3}.get(' '.join(input().split()), -1))"


@pytest.mark.timeout(120)
def test_a_program_that_replays_the_prompts_examples_earns_nothing_from_them(sandbox, caplog):
    """Found by a red team: over 226 CodeContests rows such a program earned 0.31 on average from code_reward."""
    completions = [answer(ADD), answer(REPLAYS_THE_EXAMPLE)]
    infos = [INFO, INFO]
    conversation = [{"role": "system", "content": "Solve it."}, {"role": "user", "content": STATEMENT}]
    for prompts in ([STATEMENT] * 2, [conversation] * 2):
        assert get_code_reward(sandbox)(completions, prompts=prompts, verification_info=infos) == [1.0, 0.0]
    # Called without prompts (outside training), the reward is upstream's, examples included.
    assert get_code_reward(sandbox)(completions, verification_info=infos) == [1.0, pytest.approx(1 / 3)]

    official = [INFO["test_cases"]] * 2
    cf = get_cf_code_reward(sandbox, scoring_mode="partial", language="python", test_batch_size=0)
    assert cf(completions, prompts=[STATEMENT] * 2, official_tests=official) == [1.0, 0.0]
    ioi = get_ioi_code_reward(sandbox, language="python")
    samples_and_all = {"subtasks": [{"score": 0, "test_cases": INFO["test_cases"][:1]}, {"score": 100, **INFO}]}
    # A subtask of the examples alone is not at stake (found by a red team: it made the row None).
    examples_and_all = {"subtasks": [{"score": 10, "test_cases": INFO["test_cases"][:1]}, {"score": 90, **INFO}]}
    only_the_example = {"subtasks": [{"score": 100, "test_cases": INFO["test_cases"][:1]}]}
    rows = [samples_and_all, samples_and_all, only_the_example, examples_and_all]
    given = [*completions, answer(ADD), answer(ADD)]
    assert ioi(given, prompts=[STATEMENT] * 4, verification_info=rows) == [1.0, 0.0, None, 1.0]
    assert "row 2 cannot be judged" in caplog.text and "the prompt shows every test's input and output" in caplog.text


def test_a_row_whose_prompt_shows_every_test_cannot_be_judged(caplog):
    shows_all = STATEMENT + "".join(f"\nInput\n{t['input']}\nOutput\n{t['output']}\n" for t in INFO["test_cases"])
    reward = get_code_reward(NothingMayRun(), binary=True)
    assert reward([answer(ADD)], prompts=[shows_all], verification_info=[INFO]) == [None]
    assert "the prompt shows every test's input and output (3 tests)" in caplog.text


@pytest.mark.parametrize(
    ("test", "shown"),
    [
        ({"input": "1 2", "output": "3"}, True),
        ({"input": "1  2\n", "output": " 3 "}, True),  # blanks differ: still the example
        ({"input": "3", "output": "1 2"}, False),  # both in the prompt, but the output before the input
        ({"input": "1", "output": "3"}, True),  # words of the example: a small test can be taken for one, and dropped
        ({"input": "2", "output": "13"}, False),  # "13" is no word of the prompt
        ({"input": "", "output": "3"}, True),  # a program without input prints the statement's answer
        ({"input": "two", "output": "3"}, False),  # the output is after "two", but 40 characters on
    ],
)
def test_a_test_is_shown_when_the_prompt_holds_its_output_just_after_its_input_as_whole_words(test, shown):
    found = code_rewards.ShownInPrompt(STATEMENT, window=30).shows(
        code_rewards.TestCase(test["input"], test["output"])
    )
    assert found is shown


def test_a_tests_verdict_is_worked_out_once_for_all_the_completions_of_its_prompt():
    shown = code_rewards.shown_in_prompts([STATEMENT, STATEMENT, None, "Another statement."])
    assert shown[0] is shown[1] and shown[2] is None and shown[3] is not shown[0]
    test = code_rewards.TestCase("1 2", "3")
    assert shown[0].shows(test) and shown[0]._verdicts == {("1 2", "3"): True}


# A Codeforces statement's example: "Input", its lines, two blank lines, "Output", its lines.
CODEFORCES_EXAMPLE = re.compile(r"\nInput\n\n(.*?)\n\n\nOutput\n\n(.*?)(?=\n\n\n|\n\nNote\n|\Z)", re.S)


def test_on_code_contests_every_test_equal_to_a_statements_example_is_dropped_and_no_row_loses_all(shared_data):
    with open(shared_data / "code_contests_py.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]

    def words(text: str) -> str:
        return " ".join(text.split())

    examples_dropped, one_answer = 0, []
    for row in rows:
        examples = {(words(given), words(expected)) for given, expected in CODEFORCES_EXAMPLE.findall(row["problem"])}
        try:
            kept = code_rewards.as_test_cases(row["tests"], row["id"], code_rewards.ShownInPrompt(row["problem"]))
        except code_rewards.OneAnswer:  # the tests left after the examples all expect one output: not judged
            one_answer.append(row["id"])
            continue
        assert kept, row["id"]
        assert not {(words(test.input), words(test.output)) for test in kept} & examples, row["id"]
        examples_dropped += sum((words(t["input"]), words(t["output"])) in examples for t in row["tests"])
    assert examples_dropped >= 200  # the parse found the examples (261 of the 2,259 tests)
    assert sorted(one_answer) == ["334_b_eight_point_sets_7016", "977_e_cyclic_components_8291"]
