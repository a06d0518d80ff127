"""Specification of the non-math rewards and of `get_reward_funcs` (format, tags, steps, length, repetition), and of
`repeats_a_line`, the diagnostic beside the repetition penalty."""

import json
import math

import pytest

from open_r1.configs import GRPOScriptArguments
from open_r1.rewards import (
    REWARD_FUNCS_REGISTRY,
    accuracy_reward,
    format_reward,
    get_code_format_reward,
    get_cosine_scaled_reward,
    get_format_reward,
    get_repetition_penalty_reward,
    get_reward_funcs,
    get_soft_overlong_punishment,
    get_tag_count_reward,
    len_reward,
    reasoning_steps_reward,
    tag_count_reward,
)
from open_r1.rewards.repetition import repeats_a_line


def chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


WELL_FORMED = "<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>"


def script_args(**overrides) -> GRPOScriptArguments:
    return GRPOScriptArguments(dataset_name="local.jsonl", **overrides)


# --- format_reward / tag_count_reward -------------------------------------------------------------


def test_format_reward_accepts_the_think_answer_layout_and_rejects_others():
    completions = [
        chat(WELL_FORMED),
        chat("<think>\nreasoning\n</think>\nanswer without tags"),
        chat("<think>\n</think>\n<answer>\nno newline inside think\n</answer>"),
        chat("no tags at all"),
        chat(WELL_FORMED + "\ntrailing text after the answer"),
    ]
    assert format_reward(completions) == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_format_reward_accepts_plain_string_completions():
    assert format_reward([WELL_FORMED, "nope"]) == [1.0, 0.0]


def test_think_prefilled_completions_get_full_format_and_tag_rewards():
    # DeepSeek-R1-Distill templates end the prompt with "<think>\n": the completion starts inside the reasoning.
    prefilled = "Some reasoning\n</think>\n<answer>\nThe answer\n</answer>"
    assert format_reward([chat(prefilled)]) == [0.0]
    assert tag_count_reward([chat(prefilled)]) == [0.75]
    assert get_format_reward(think_prefilled=True)([chat(prefilled)]) == [1.0]
    assert get_tag_count_reward(think_prefilled=True)([chat(prefilled)]) == [1.0]


def test_think_prefilled_still_grades_a_completion_that_reopens_think_as_written():
    assert get_format_reward(think_prefilled=True)([chat(WELL_FORMED)]) == [1.0]
    broken = "reasoning\n</think>\n<answer>\nno closing answer tag"
    assert get_format_reward(think_prefilled=True)([chat(broken)]) == [0.0]


def test_tag_count_reward_gives_a_quarter_per_tag_present_exactly_once():
    completions = [
        chat(WELL_FORMED),
        chat("<think>\nonly think\n</think>\n"),
        chat("<think>\n<think>\ntwice\n</think>\n<answer>\nx\n</answer>"),
        chat(""),
    ]
    assert tag_count_reward(completions) == [1.0, 0.5, 0.75, 0.0]


# --- reasoning_steps_reward -----------------------------------------------------------------------


def test_reasoning_steps_reward_counts_step_markers_up_to_three():
    completions = [
        chat("Step 1: Do this\nStep 2: Then that\nStep 3: Done"),
        chat("First, add.\nNext, divide."),
        chat("1. one\n- bullet\n* star\nFinally, done"),
        chat("no structure here"),
    ]
    rewards = reasoning_steps_reward(completions)
    assert rewards[0] == 1.0
    assert rewards[1] == pytest.approx(2 / 3)
    assert rewards[2] == 1.0
    assert rewards[3] == 0.0


# --- code_format_reward ---------------------------------------------------------------------------


def test_code_format_reward_requires_a_fenced_block_in_the_language_inside_answer():
    good = "<think>\nplan\n</think>\n<answer>\n```python\nprint(1)\n```\n</answer>"
    wrong_language = "<think>\nplan\n</think>\n<answer>\n```cpp\nint main(){}\n```\n</answer>"
    no_code = "<think>\nplan\n</think>\n<answer>\nprint(1)\n</answer>"
    reward = get_code_format_reward(language="python")
    assert reward.__name__ == "code_format_reward"
    assert reward([chat(good), chat(wrong_language), chat(no_code)]) == [1.0, 0.0, 0.0]


def test_code_format_reward_uses_the_language_column_per_sample():
    cpp = "<think>\nplan\n</think>\n<answer>\n```cpp\nint main(){}\n```\n</answer>"
    py = "<think>\nplan\n</think>\n<answer>\n```python\nprint(1)\n```\n</answer>"
    reward = get_code_format_reward(language="python")
    assert reward([chat(cpp), chat(py)], language=["cpp", "cpp"]) == [1.0, 0.0]


def test_code_format_reward_pays_a_block_under_any_tag_its_code_runs_under():
    """Found by a red team: a ```py block ran as the answer but earned no format credit, and a "C++" row wanted
    ```C++, where extract_code takes any alias of the row's language."""
    py = "<think>\nplan\n</think>\n<answer>\n```py\nprint(1)\n```\n</answer>"
    cpp = "<think>\nplan\n</think>\n<answer>\n```cpp\nint main(){}\n```\n</answer>"
    reward = get_code_format_reward(language="python")
    assert reward([chat(py), chat(cpp), chat(cpp)], language=["python", "C++", "python"]) == [1.0, 1.0, 0.0]
    # Whole tags, in any case, as extract_code reads them (a review's): ```pycon is no python, ```Python is; a blank
    # language names no tag, so no block pays.
    pycon, capital = (py.replace("```py", f"```{tag}") for tag in ("pycon", "Python"))
    assert reward([chat(pycon), chat(capital), chat(py)], language=["python", "python", " "]) == [0.0, 1.0, 0.0]


# --- repetition_penalty_reward --------------------------------------------------------------------


def test_repetition_penalty_is_zero_without_repeats_and_scales_with_repeated_ngrams():
    reward = get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0)
    rewards = reward([chat("a b c d e f"), chat("a b c a b c a b c"), chat("a b"), chat("")])
    assert rewards[0] == 0.0
    assert rewards[1] == pytest.approx(-(1 - 3 / 7))  # 3 distinct 3-grams out of 7
    assert rewards[2:] == [0.0, 0.0]


def test_repetition_penalty_reaches_max_penalty_for_one_repeated_word():
    reward = get_repetition_penalty_reward(ngram_size=2, max_penalty=-0.5)
    assert reward([chat("go " * 1001)]) == [pytest.approx(-0.5 * (1 - 1 / 1000))]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_repetition_penalty_is_not_escaped_with_invisible_or_full_width_characters(language):
    """Red team (2026-11-28): zero-width marks between copies of a sentence made each copy's words new (-0.98 -> 0)."""
    reward = get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0, language=language)
    words = "so the answer is 42 .".split()
    invisible = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
    plain = " ".join(" ".join(words) for _ in range(50))
    marked = " ".join(" ".join(word + invisible[copy % 6] * (1 + copy // 6) for word in words) for copy in range(50))
    wide = " ".join("ｓｏ ｔｈｅ ａｎｓｗｅｒ ｉｓ ４２ ." if copy % 2 else " ".join(words) for copy in range(50))
    # Red team (later that day): default-ignorable marks outside the format category, and the blank braille cell.
    ignorable = ["\ufe0f", "\U000e0100", "\u034f", "\u3164", "\u180b", "\u2800"]
    unmarked = " ".join(" ".join(word + ignorable[copy % 6] * (1 + copy // 6) for word in words) for copy in range(50))
    # Red team (session 53): controls that are no whitespace, private-use code points, Cyrillic look-alikes.
    unseen = ["\x01", "\x1b", "\x7f", "\x9f", "\ue000", "\U00100001"]
    controlled = " ".join(" ".join(word + unseen[copy % 6] * (1 + copy // 6) for word in words) for copy in range(50))
    cyrillic = " ".join("ѕо thе аnѕwеr іѕ 42 ." if copy % 2 else " ".join(words) for copy in range(50))
    penalty, *escapes = reward(
        [chat(plain), chat(marked), chat(wide), chat(unmarked), chat(controlled), chat(cyrillic)]
    )
    assert penalty < -0.9
    assert escapes == [pytest.approx(penalty)] * 5
    # A review: folding capitals to Latin split a capitalised Russian word from its lower-case copy.
    russian = "все знают этот ответ сорок два"
    alternating = " ".join(russian.capitalize() if copy % 2 else russian for copy in range(50))
    upper = " ".join(russian.upper() if copy % 2 else russian for copy in range(50))
    same = reward([chat(" ".join([russian] * 50)), chat(alternating), chat(upper)])
    assert same == [pytest.approx(same[0])] * 3


def test_repetition_penalty_segments_chinese_with_jieba():
    reward = get_repetition_penalty_reward(ngram_size=2, max_penalty=-1.0, language="zh")
    repeated, varied = reward([chat("我喜欢吃苹果我喜欢吃苹果我喜欢吃苹果"), chat("今天天气很好我们去公园散步")])
    assert repeated < -0.3
    assert varied == 0.0
    # Whitespace splitting would see one "word" and no bigram at all: jieba is what finds the repeats.
    assert get_repetition_penalty_reward(2, -1.0, "en")([chat("我喜欢吃苹果我喜欢吃苹果")]) == [0.0]


def test_repetition_penalty_rejects_a_positive_penalty_and_unknown_languages():
    with pytest.raises(ValueError, match="repetition_max_penalty"):
        get_repetition_penalty_reward(3, 0.5)
    with pytest.raises(ValueError, match="repetition_language"):
        get_repetition_penalty_reward(3, -1.0, language="fr")


# --- soft overlong punishment ---------------------------------------------------------------------


def test_a_completion_repeats_a_line_when_it_writes_one_long_line_three_times_its_numbers_aside():
    step = "He drives 4 hours going at {} mph and then turns around"
    assert repeats_a_line("\n".join(step.format(speed) for speed in (80, "1,200.5", 80)))
    assert not repeats_a_line("\n".join(step.format(speed) for speed in (80, 80)))  # twice is not yet a loop
    assert not repeats_a_line("\n".join(["So: 2 + 2 = 4"] * 5))  # short lines repeat in sound solutions
    assert not repeats_a_line("\n".join([step.format(80), step.format(80) + " again", step.format(80) + "!"]))
    # A tool rollout: its assistant turns, whose text carries on the line a call cut; the tool's output is not read.
    turn = {"role": "assistant", "content": "The merchant needs to choose between 2 * 1.2 = $", "tool_calls": []}
    printed = {"role": "tool", "name": "python", "content": "The merchant needs to choose between 2 * 1.2 = $\n" * 3}
    again = {**turn, "content": "2.\n" + turn["content"]}
    answer = {"role": "assistant", "content": "2.\n<answer>\n\\boxed{2}\n</answer>"}
    assert not repeats_a_line([turn, printed, again, printed, answer])  # the model wrote the line twice
    assert repeats_a_line([turn, printed, again, printed, again, printed, answer])


def test_soft_overlong_punishment_ramps_down_over_the_cache_and_is_minus_one_beyond():
    reward = get_soft_overlong_punishment(max_completion_len=100, soft_punish_cache=20)
    ids = [[0] * n for n in (10, 80, 90, 100, 101)]
    assert reward(completion_ids=ids) == [0.0, 0.0, -0.5, -1.0, -1.0]


def test_soft_overlong_punishment_names_the_missing_completion_ids():
    with pytest.raises(ValueError, match="completion_ids"):
        get_soft_overlong_punishment(100, 20)(completions=["x"])


# --- length rewards (use the math grader) ---------------------------------------------------------


def test_len_reward_favours_short_correct_answers_and_never_rewards_wrong_ones():
    completions = [chat(r"\boxed{2}"), chat(r"long reasoning ........ \boxed{2}"), chat(r"\boxed{3}")]
    rewards = len_reward(completions, solution=["2", "2", "2"])
    assert rewards[0] == pytest.approx(0.5)
    assert rewards[1] == pytest.approx(-0.5)
    assert rewards[2] == pytest.approx(0.0)  # wrong and shortest: min(0, 0.5)


def test_cosine_scaled_reward_follows_the_cosine_schedule():
    reward = get_cosine_scaled_reward(
        min_value_wrong=-1.0, max_value_wrong=-0.5, min_value_correct=0.5, max_value_correct=1.0, max_len=100
    )
    short_correct = r"\boxed{2}"
    long_correct = "x" * 50 + r"\boxed{2}" + "y" * 41  # 100 characters: at max_len
    wrong = r"\boxed{3}"
    rewards = reward([chat(short_correct), chat(long_correct), chat(wrong)], solution=["2", "2", "2"])
    cosine_short = math.cos(len(short_correct) / 100 * math.pi)
    assert rewards[0] == pytest.approx(0.5 + 0.25 * (1 + cosine_short))
    assert rewards[1] == pytest.approx(0.5)
    assert rewards[2] == pytest.approx(-0.5 + 0.5 * (-1.0 + 0.5) * (1 + math.cos(len(wrong) / 100 * math.pi)))


def test_a_wrong_answer_goes_from_min_value_wrong_at_length_0_to_max_value_wrong_at_max_len():
    """An audit's: the field help and docstrings had the two ends of a wrong answer's range the other way round. With
    the defaults (upstream's 0.0 and -0.5) a long wrong answer is punished most."""
    reward = get_cosine_scaled_reward(min_value_wrong=-10.0, max_value_wrong=0.0, max_len=1000)
    short, long = chat(r"\boxed{3}"), chat("x" * 1000 + r"\boxed{3}")
    assert reward([short, long], solution=["2", "2"]) == pytest.approx([-10.0, 0.0], abs=1e-2)
    assert get_cosine_scaled_reward(max_len=1000)([short, long], solution=["2", "2"]) == pytest.approx(
        [0.0, -0.5], abs=1e-3
    )


def test_gold_answers_may_be_passed_by_position_as_upstreams_signatures_allow():
    from open_r1.rewards import accuracy_reward

    completions = [chat(r"\boxed{2}"), chat(r"\boxed{3}")]
    assert accuracy_reward(completions, ["2", "2"]) == [1.0, 0.0]
    assert len_reward(completions, ["2", "2"]) == len_reward(completions, solution=["2", "2"])
    cosine = get_cosine_scaled_reward()
    assert cosine(completions, ["2", "2"]) == cosine(completions, solution=["2", "2"])
    with pytest.raises(ValueError, match="'solution' \\(or 'answer'\\)"):
        accuracy_reward(completions)


def test_length_rewards_skip_samples_whose_gold_cannot_be_parsed():
    reward = get_cosine_scaled_reward()
    assert reward([chat(r"\boxed{2}")], solution=[r"\boxed{}"]) == [None]
    assert len_reward([chat(r"\boxed{2}"), chat("abc")], solution=["", ""]) == [None, None]


# --- get_reward_funcs ----------------------------------------------------------------------------

UPSTREAM_NAMES = {
    "accuracy": "accuracy_reward",
    "format": "format_reward",
    "reasoning_steps": "reasoning_steps_reward",
    "cosine": "cosine_scaled_reward",
    "repetition_penalty": "repetition_penalty_reward",
    "length": "len_reward",
    "code_format": "code_format_reward",
    "tag_count": "tag_count_reward",
    "soft_overlong_punishment": "soft_overlong_punishment_reward",
}


def test_get_reward_funcs_builds_the_named_functions_in_order_with_upstream_names():
    names = list(UPSTREAM_NAMES)[::-1]
    funcs = get_reward_funcs(script_args(reward_funcs=names))
    assert [f.__name__ for f in funcs] == [UPSTREAM_NAMES[n] for n in names]


def test_get_reward_funcs_defaults_to_the_config_default_names():
    funcs = get_reward_funcs(script_args())
    assert [f.__name__ for f in funcs] == [
        UPSTREAM_NAMES[n] for n in GRPOScriptArguments(dataset_name="x").reward_funcs
    ]


def test_get_reward_funcs_passes_parameters_from_script_args():
    args = script_args(
        reward_funcs=["soft_overlong_punishment", "format", "repetition_penalty"],
        max_completion_len=10,
        soft_punish_cache=5,
        think_prefilled=True,
        repetition_n_grams=1,
        repetition_max_penalty=-2.0,
    )
    overlong, fmt, repetition = get_reward_funcs(args)
    assert overlong(completion_ids=[[0] * 7]) == [pytest.approx(-0.4)]
    assert fmt([chat("reasoning\n</think>\n<answer>\nx\n</answer>")]) == [1.0]
    assert repetition([chat("a a")]) == [pytest.approx(-1.0)]


def test_a_reward_that_raises_on_a_batch_scores_it_none_and_stops_training_only_when_it_keeps_raising(caplog):
    """An audit's: one completion that made a reward raise ended a run of days with a bare traceback."""
    import logging

    from open_r1.rewards import guarded_reward, guarded_rewards
    from open_r1.usage import UsageError

    def fragile_reward(completions, **kwargs):
        text = completions[0][0]["content"]
        if text.startswith("usage"):
            raise UsageError("column 'solution' is missing")
        if text.startswith("boom"):
            raise ValueError("cannot read it")
        return [1.0] * len(completions)

    reward = guarded_reward("fragile", fragile_reward, max_failing_batches=3)
    assert reward.__name__ == "fragile_reward"  # TRL names its metrics after it
    with caplog.at_level(logging.WARNING, logger="open_r1.rewards"):
        assert reward(completions=[chat("boom 1"), chat("x")]) == [None, None]
    assert (
        "reward fragile (fragile_reward) raised ValueError: cannot read it; the batch's 2 completions" in caplog.text
    )
    assert "'boom 1'" in caplog.text and "Traceback" in caplog.text
    assert reward(completions=[chat("boom 2")]) == [None]
    assert reward(completions=[chat("fine")]) == [1.0]  # a batch it scores resets the count
    assert reward(completions=[chat("boom 3")]) == [None]
    assert reward(completions=[chat("boom 4")]) == [None]
    with pytest.raises(RuntimeError, match="reward fragile .* raised on 3 batches in a row, the last time ValueError"):
        reward(completions=[chat("boom 5")])
    # The completion that broke the reward, first in its batch, is shown as it is (a red team's: its reading raised).
    broken = guarded_reward("format", format_reward)
    assert broken(completions=[[{"role": "assistant", "content": 5}], chat("ok")]) == [None, None]
    with pytest.raises(UsageError, match="column 'solution' is missing"):  # a mistake in the run, not a completion's
        guarded_reward("fragile", fragile_reward)(completions=[chat("usage")])
    args = script_args(reward_funcs=["format", "accuracy"])
    guarded = guarded_rewards(
        args, get_reward_funcs(args)
    )  # what GRPO trains with; pass-rate filtering takes them bare
    assert [func.__wrapped__.__name__ for func in guarded] == ["format_reward", "accuracy_reward"]


def test_an_infinite_score_is_read_as_the_batchs_best_or_worst_finite_one_with_one_warning(caplog):
    """An audit's: TRL turned the advantage of a group with an infinite reward to 0, every completion of it unlearnt;
    read as None, a -inf penalty would add 0 beside the other rewards, the best a penalty pays (a review's)."""
    import logging

    from open_r1.rewards import guarded_reward, within_finite_scores

    reward = guarded_reward("odd", lambda completions, **kwargs: [float("inf"), 1.0, -float("inf"), -0.5, None])
    with caplog.at_level(logging.WARNING, logger="open_r1.rewards"):
        assert reward(completions=[chat("a")] * 5) == [1.0, 1.0, -0.5, -0.5, None]
        assert reward(completions=[chat("a")] * 5) == [1.0, 1.0, -0.5, -0.5, None]
    assert caplog.text.count("scored 2 of 5 completions infinite") == 1
    assert within_finite_scores([-float("inf"), None]) == ([None, None], 1, 0)
    assert within_finite_scores([0.5, 1]) == ([0.5, 1], 0, 0)
    import numpy

    assert within_finite_scores([numpy.float32("inf"), 0.5]) == ([0.5, 0.5], 1, 0)  # not Python's float (a review's)


def test_a_nan_score_is_read_as_the_batchs_lowest_finite_one_so_no_completion_earns_by_causing_it(caplog):
    """An audit's: a reward paying -1, or NaN where its arithmetic broke, was read by TRL as 0 for the NaN completions
    (a NaN adds 0 beside the other rewards): the run learnt to break the reward, while its logged mean stayed -1."""
    import logging

    from open_r1.rewards import guarded_reward, within_finite_scores

    nan = float("nan")
    reward = guarded_reward("ratio", lambda completions, **kwargs: [-1.0, nan, -0.5, nan, None])
    with caplog.at_level(logging.WARNING, logger="open_r1.rewards"):
        assert reward(completions=[chat("a")] * 5) == [-1.0, -1.0, -0.5, -1.0, None]
        assert reward(completions=[chat("a")] * 5) == [-1.0, -1.0, -0.5, -1.0, None]
    assert caplog.text.count("scored 2 of 5 completions NaN: read as the batch's lowest finite score") == 1
    assert within_finite_scores([nan, None]) == ([None, None], 0, 1)
    assert within_finite_scores([nan, float("inf"), 2.0]) == ([2.0, 2.0, 2.0], 1, 1)
    import torch

    # A reward that returns a tensor (a review's: its NaN passed through as TRL's 0).
    assert within_finite_scores(torch.tensor([nan, -1.0, 0.5])) == ([-1.0, -1.0, 0.5], 0, 1)
    assert within_finite_scores([torch.tensor(nan), torch.tensor(0.5)]) == ([0.5, 0.5], 0, 1)


def test_get_reward_funcs_rejects_an_unknown_name_with_the_close_one_listing_the_known_ones():
    from open_r1.usage import UsageError

    with pytest.raises(
        UsageError, match=r"reward_funcs: unknown reward 'acuracy' \(did you mean accuracy\?\)"
    ) as error:
        get_reward_funcs(script_args(reward_funcs=["accuracy", "acuracy"]))
    for known in UPSTREAM_NAMES:
        assert known in str(error.value)


def test_comma_separated_reward_names_are_refused_with_the_spelling_that_works():
    from open_r1.rewards import check_reward_names
    from open_r1.usage import UsageError

    with pytest.raises(UsageError, match=r"'accuracy,format' is not one reward: .*--reward_funcs accuracy format\)"):
        check_reward_names(["accuracy,format"])
    assert check_reward_names("format") == ["format"]


def test_registry_lists_every_upstream_reward_name_including_code():
    assert set(UPSTREAM_NAMES) | {"code", "binary_code", "ioi_code", "cf_code"} == set(REWARD_FUNCS_REGISTRY)


def test_importing_rewards_does_not_import_the_code_sandbox():
    import subprocess
    import sys

    probe = "import sys, open_r1.rewards; print('open_r1.rewards.code' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_get_reward_funcs_builds_code_rewards_under_upstreams_names():
    funcs = get_reward_funcs(script_args(reward_funcs=["code", "binary_code", "ioi_code", "cf_code"]))
    assert [f.__name__ for f in funcs] == ["code_reward", "binary_code_reward", "ioi_code_reward", "cf_code_reward"]


def test_code_format_reward_gives_a_row_whose_language_is_not_a_name_none_and_grades_the_others(caplog):
    from open_r1.rewards.format import get_code_format_reward

    reward = get_code_format_reward("python")
    good = "<think>\nok\n</think>\n<answer>\n```python\nprint(1)\n```\n</answer>"
    assert reward([good, good, good], language=["python", 3, None]) == [1.0, None, 1.0]
    assert "row 1 cannot be judged" in caplog.text and "got 3" in caplog.text
    with pytest.raises(ValueError, match=r"'language' column must hold one language per completion.*'python'"):
        reward([good], language="python")


def with_reasoning_in_a_call(reasoning: str, answer: str) -> list[dict]:
    """A tool rollout that writes its reasoning as a comment-only python call and answers briefly."""
    call = {"type": "function", "function": {"name": "python", "arguments": {"code": f"# {reasoning}"}}}
    return [
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "python", "content": ""},
        {"role": "assistant", "content": answer},
    ]


def test_reasoning_moved_into_a_tool_calls_arguments_still_counts_for_length_and_repetition():
    """Red team (2026-11-28): the same 2,800 characters of repeated reasoning cost cosine and repetition nothing, and
    won len_reward's +0.5, once written as a comment in a python call instead of the content."""
    reasoning = "so we add the two numbers and then we check it again " * 52
    in_content = chat(f"{reasoning}\\boxed{{42}}")
    in_a_call = with_reasoning_in_a_call(reasoning, "\\boxed{42}")
    as_json = with_reasoning_in_a_call(reasoning, "\\boxed{42}")
    as_json[0]["tool_calls"][0]["function"]["arguments"] = json.dumps({"code": f"# {reasoning}"})
    repetition = get_repetition_penalty_reward()([in_content, in_a_call, as_json])
    assert repetition[0] < -0.9 and repetition[1:] == [pytest.approx(repetition[0], abs=0.01)] * 2
    cosine = get_cosine_scaled_reward(max_len=1000)([in_content, in_a_call], solution=["42", "42"])
    assert cosine[1] == pytest.approx(cosine[0])
    short = chat("\\boxed{42}")
    assert len_reward([short, in_a_call], solution=["42", "42"]) == [0.5, -0.5]
    # The answer is still read from the content only.
    assert accuracy_reward([with_reasoning_in_a_call("\\boxed{42}", "no idea")], solution=["42"]) == [0.0]


@pytest.fixture(scope="module")
def parsed_as_trl_parses_tool_turns(tool_calling_model):
    """Turns a generated assistant turn into the message TRL 1.16's tool rollouts hand the rewards: the project's
    tool parsing on the tiny tool model's tokenizer, then TRL's `parse_response`."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import parse_response

    from open_r1.tools.chat import ensure_tool_parsing

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    ensure_tool_parsing(tokenizer)
    prefix = tokenizer.apply_chat_template(
        [{"role": "user", "content": "6 * 7?"}], add_generation_prompt=True, tokenize=True, return_dict=False
    )

    def parsed(text: str) -> list[dict]:
        ids = tokenizer(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
        return [parse_response(tokenizer, ids, prefix=prefix)]

    return parsed


def test_text_the_tool_parser_moves_out_of_the_content_still_counts_for_length_repetition_and_format(
    parsed_as_trl_parses_tool_turns,
):
    """Red team (2026-11-28): with `tools`, TRL's parser moves `<think>` into `reasoning_content`, keeps only the last
    text beside a call and any extra key of a call as it is; 3,120 characters of a looping sentence hidden there cost
    cosine, len and repetition nothing, and an honest R1 layout lost format_reward."""
    rambling = "so the answer might be 42 so the answer might be 42 " * 60
    call = '<tool_call>\n{"name": "python", "arguments": {"code": "print(6*7)"}, "x": "%s"}\n</tool_call>'
    written = {
        "plain": f"<think>\n{rambling}\n</think>\n<answer>\n\\boxed{{42}}\n</answer>",
        "text before a call": f"{rambling}\n{call % ''}\n\\boxed{{42}}",
        "a call's extra key": f"{call % rambling}\n\\boxed{{42}}",
    }
    completions = [chat(written["plain"])] + [parsed_as_trl_parses_tool_turns(text) for text in written.values()]
    assert "reasoning_content" in completions[1][0]  # the parser moved the reasoning out of the content
    repetition = get_repetition_penalty_reward()(completions)
    assert all(value < -0.9 for value in repetition), repetition
    cosine = get_cosine_scaled_reward(max_len=1000)(completions, solution=["42"] * 4)
    assert cosine == [pytest.approx(cosine[0])] * 4
    assert format_reward(completions[:2]) == [1.0, 1.0]
    # The answer is read from the content, as without tools.
    assert accuracy_reward(completions, solution=["42"] * 4) == [1.0] * 4


def test_an_honest_tool_call_is_read_once_by_the_repetition_penalty(parsed_as_trl_parses_tool_turns):
    """Review (2026-11-28): reading the turn as generated and the call's decoded code besides counted a 14-line
    program twice, -0.10 for honest tool use; its JSON-escaped code is read decoded, once."""
    program = "\n".join(
        [
            "import math",
            "apples = 12",
            "pears = apples // 3",
            "crates = math.ceil((apples + pears) / 5)",
            "cost_each = 7.5",
            "total = crates * cost_each",
            "discount = 0.1 if total > 20 else 0",
            "paid = round(total * (1 - discount), 2)",
            "change = 50 - paid",
            "coins = [2, 1, 0.5, 0.2, 0.1]",
            "counts = {coin: int(change // coin) for coin in coins}",
            "left = change - sum(c * n for c, n in counts.items())",
            "assert left >= 0",
            "print(paid, change, counts)",
        ]
    )
    call = json.dumps({"name": "python", "arguments": {"code": program}})
    turn = f"<think>\nI will compute it.\n</think>\n<tool_call>\n{call}\n</tool_call>"
    parsed = parsed_as_trl_parses_tool_turns(turn)
    as_plain_text = chat(f"<think>\nI will compute it.\n</think>\n{program}")
    assert get_repetition_penalty_reward()([parsed, as_plain_text]) == [0.0, 0.0]
    # Code repeated inside the call is still read line by line.
    looping = json.dumps({"name": "python", "arguments": {"code": "print('so the answer is 42')\n" * 80}})
    [penalty] = get_repetition_penalty_reward()(
        [parsed_as_trl_parses_tool_turns(f"<tool_call>\n{looping}\n</tool_call>")]
    )
    assert penalty < -0.9
