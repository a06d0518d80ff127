"""open_r1.doctor: each cause of flat rewards is found, and the project's own recipes and data are not flagged."""

import copy
import logging
import types

import pytest
from transformers import AutoTokenizer, TrainerControl, TrainerState
from trl import ModelConfig

from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.data.mixtures import get_dataset
from open_r1.doctor import (
    ROWS_CHECKED,
    TrainingDoctor,
    check_before_training,
    check_gold_answers,
    check_prompt_length,
    check_solution_length,
    check_stop_token,
    gold_finder,
)
from open_r1.grpo import prepare_prompts
from open_r1.rewards import get_accuracy_reward, get_reward_funcs
from open_r1.usage import UsageError
from open_r1.utils.model_utils import get_model, get_tokenizer
from open_r1.utils.training import training_splits
from tests.support import SMOLLM2

HEALTHY_GOLDS = ["$7$", "7", "\\frac{1}{2}", "Natalia sold 48/2 = 24 clips.\n#### 72", "So $x = \\boxed{3\\sqrt{2}}$."]
# A gold math-verify cannot parse, one that states two values, and a worked solution with no final answer (longer
# than any answer the reward parses).
BROKEN_GOLDS = ["}{", "42 \\text{ (or 43)}", "We add the numbers one by one. " * 40 + "So the total is 5."]


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def accuracy_reward():
    return get_accuracy_reward(num_workers=1)


def run_args(reward_funcs=("accuracy", "format"), **training):
    script_args = types.SimpleNamespace(
        reward_funcs=list(reward_funcs), reward_num_workers=1, reward_timeout_seconds=5.0, think_prefilled=False
    )
    defaults = dict(doctor=True, doctor_stop_on=[], max_completion_length=10_000, process_index=0)
    return script_args, types.SimpleNamespace(**{**defaults, **training})


def rows(golds, column="solution"):
    from datasets import Dataset

    return Dataset.from_list(
        [{"prompt": [{"role": "user", "content": f"Problem {i}"}], column: g} for i, g in enumerate(golds)]
    )


def doctor_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "GRPO doctor" in record.getMessage()]


# ---------------------------------------------------------------------------------------------
# Start-up: gold answers their own reward cannot pay
# ---------------------------------------------------------------------------------------------


def test_gold_answers_their_reward_cannot_pay_are_counted_with_an_example(accuracy_reward):
    golds = BROKEN_GOLDS + HEALTHY_GOLDS[:1]
    finding = check_gold_answers([{"solution": gold} for gold in golds], "solution", accuracy_reward)
    assert finding.check == "unscorable_gold"
    assert "3 of the 4 gold answers checked (column 'solution')" in finding.message
    assert "1 cannot be parsed: the reward returns None" in finding.message
    assert "Example: gold '}{'" in finding.message and "scored None" in finding.message


def test_gold_answers_that_are_sentences_are_counted_though_they_pay_themselves(accuracy_reward):
    """Found by an audit: prose golds scored 1.0 against themselves, while `\\boxed{20}` scored 0 against them."""
    golds = ["First add 2 and 3 to get 5. Then multiply by 4 to get 20.", "The result is twenty.", "7"]
    finding = check_gold_answers([{"answer": gold} for gold in golds], "answer", accuracy_reward)
    assert finding.check == "unscorable_gold" and "2 of the 3 gold answers checked" in finding.message
    assert "or are sentences, not a value (2:" in finding.message
    assert "Example: gold 'First add 2 and 3 to get 5. Then multiply by 4 to get 20.', whose final answer is a" in (
        finding.message
    )
    worded = ["x = 3 or x = 5", "10 \\text{ square units}", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}"]
    assert check_gold_answers([{"answer": gold} for gold in worded], "answer", accuracy_reward) is None


def test_gold_answers_with_words_around_their_one_number_are_counted(accuracy_reward):
    """Found by a red team: '4 dollars' paid a completion that copied it and 0 to \\boxed{4}, and nothing said so."""
    golds = ["4 dollars", "The answer is 4.", "7"]
    finding = check_gold_answers([{"answer": gold} for gold in golds], "answer", accuracy_reward)
    assert finding.check == "unscorable_gold" and "2 of the 3 gold answers checked" in finding.message
    assert "or hold words around their value (2:" in finding.message
    assert "Example: gold '4 dollars', against which \\boxed{4} scores 0" in finding.message
    units = [
        "10 \\text{ square units}",
        "3 \\text{ cm}",
        "x = 3 or x = 5",
        "\\text{Evelyn}",
    ]  # paid, or not one number
    assert check_gold_answers([{"answer": gold} for gold in units], "answer", accuracy_reward) is None


def test_gold_answers_read_as_text_only_are_counted_though_they_pay_themselves(accuracy_reward):
    """Found by a red team: the check stated a gold as written, so a gold math-verify reads as text ('√2', '30°')
    paid itself while a completion writing `\\sqrt{2}` scored 0, and nothing said so."""
    golds = ["√2", "30°", "x²", "7"]
    finding = check_gold_answers([{"answer": gold} for gold in golds], "answer", accuracy_reward)
    assert finding.check == "unscorable_gold" and "3 of the 4 gold answers checked" in finding.message
    assert "or are read as text, not a value (3: math-verify finds no number or expression in them" in finding.message
    assert "Example: gold '√2', read as the text '√2': only an answer that writes those characters is paid" in (
        finding.message
    )
    # Invisible characters and full-width digits are read away (`readable_text`): such golds pay the plain answer.
    plain = ["4\u200b", "\ufeff4", "4\x00", "４", "\\sqrt{2}", "30^\\circ"]
    assert check_gold_answers([{"answer": gold} for gold in plain], "answer", accuracy_reward) is None


def test_gold_answers_that_are_mappings_or_lists_of_several_values_are_counted(accuracy_reward):
    """Found by a red team: a struct or list column was graded as its str() ("{'v': '4'}"), which no answer equals."""
    golds = [{"v": "4"}, ["4", "5"], ["7"]]
    finding = check_gold_answers([{"solution": gold} for gold in golds], "solution", accuracy_reward)
    assert finding.check == "unscorable_gold" and "2 of the 3 gold answers checked" in finding.message
    assert "or are a mapping or a list of several values, not one answer (2: the reward returns None" in (
        finding.message
    )
    assert "cannot be parsed" not in finding.message
    assert "Example: gold \"{'v': '4'}\", a dict rather than one answer" in finding.message


@pytest.mark.parametrize("benchmark", ["math500.jsonl", "gsm8k_train.jsonl", "gsm8k_test.jsonl", "amc23.jsonl"])
def test_no_real_benchmarks_final_answer_reads_as_prose(shared_data, benchmark):
    from open_r1.data.benchmarks import load_problems
    from open_r1.doctor import reads_as_prose
    from open_r1.rewards.accuracy import prepare_gold

    golds = [prepare_gold(problem.answer) for problem in load_problems(shared_data / benchmark)]
    assert len(golds) >= 40 and not [gold for gold in golds if reads_as_prose(gold)]


def test_gold_answers_in_the_forms_the_reward_reads_pass(accuracy_reward):
    assert check_gold_answers([{"answer": gold} for gold in HEALTHY_GOLDS], "answer", accuracy_reward) is None


def test_the_gold_check_runs_the_configured_reward_and_warns(tokenizer, caplog):
    script_args, training_args = run_args()
    paid = []

    def accuracy_reward(completions, solution, **kwargs):  # a configured reward that pays nothing
        paid.append(len(completions))
        return [0.0] * len(completions)

    with caplog.at_level(logging.WARNING):
        findings = check_before_training(
            rows(HEALTHY_GOLDS),
            tokenizer,
            [accuracy_reward, None],
            script_args,
            training_args,
            [tokenizer.eos_token_id],
        )
    assert paid == [len(HEALTHY_GOLDS)]
    assert [finding.check for finding in findings] == ["unscorable_gold"]
    assert doctor_warnings(caplog) == [f"GRPO doctor [unscorable_gold]: {findings[0].message}"]


def test_unscorable_solutions_beside_an_answer_column_that_scores_name_it(tokenizer, accuracy_reward):
    """Found by a red team: worked solutions in `solution` and the values in `answer`; the reward reads `solution`."""
    from datasets import Dataset

    script_args, training_args = run_args(reward_funcs=["accuracy"])
    data = Dataset.from_list(
        [
            {"prompt": "p", "solution": f"First add {n} and 1, which gives the total we want.", "answer": str(n + 1)}
            for n in range(8)
        ]
    )
    (finding,) = check_before_training(
        data, tokenizer, [accuracy_reward], script_args, training_args, [tokenizer.eos_token_id]
    )
    assert finding.message.endswith(
        "The dataset's 'answer' column scores (its golds are paid when stated), but the accuracy rewards read "
        "'solution' first: drop or rename the 'solution' column."
    )


def test_cosine_alone_is_checked_with_the_accuracy_grading_it_uses(tokenizer):
    script_args, training_args = run_args(reward_funcs=["cosine"])
    findings = check_before_training(rows(BROKEN_GOLDS), tokenizer, [None], script_args, training_args, [])
    assert [finding.check for finding in findings] == ["unscorable_gold"]


def test_rows_are_spread_over_the_dataset(tokenizer, accuracy_reward):
    # A mixture concatenates its datasets: rows taken from the start would see only the first one.
    golds = ["7"] * (ROWS_CHECKED * 2) + ["}{"] * (ROWS_CHECKED * 2)
    script_args, training_args = run_args(reward_funcs=["accuracy"])
    findings = check_before_training(rows(golds), tokenizer, [accuracy_reward], script_args, training_args, [])
    assert [finding.check for finding in findings] == ["unscorable_gold"]
    assert f"{ROWS_CHECKED // 2} of the {ROWS_CHECKED} gold answers" in findings[0].message


# ---------------------------------------------------------------------------------------------
# Start-up: an end of turn generation does not stop at
# ---------------------------------------------------------------------------------------------


def test_an_end_of_turn_that_is_not_a_stop_token_is_found(tokenizer):
    base_model_eos = copy.deepcopy(tokenizer)
    base_model_eos.eos_token = "<|endoftext|>"  # a Qwen base model's eos with its ChatML template
    finding = check_stop_token(base_model_eos, [base_model_eos.eos_token_id])
    assert finding.check == "no_stop_token"
    assert "ends assistant turns with <|im_end|> but generation stops only at ['<|endoftext|>']" in finding.message


def test_the_generation_configs_stop_tokens_count(tokenizer):
    base_model_eos = copy.deepcopy(tokenizer)
    base_model_eos.eos_token = "<|endoftext|>"
    im_end = base_model_eos.convert_tokens_to_ids("<|im_end|>")
    assert check_stop_token(base_model_eos, [im_end]) is None
    assert check_stop_token(tokenizer, [tokenizer.eos_token_id]) is None


def test_a_template_that_ends_turns_with_no_special_token_is_found(tokenizer):
    plain = copy.deepcopy(tokenizer)
    plain.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    finding = check_stop_token(plain, [plain.eos_token_id])
    assert finding.check == "no_stop_token" and "writes no special token after an assistant turn" in finding.message


# ---------------------------------------------------------------------------------------------
# Start-up: reference solutions longer than max_completion_length
# ---------------------------------------------------------------------------------------------


def test_solutions_longer_than_max_completion_length_are_reported_with_their_share(tokenizer):
    solutions = [{"solution": "3 + 4 = 7, then 7 - 2 = 5. " * 8}] * 3 + [{"solution": "5"}]
    finding = check_solution_length(solutions, "solution", tokenizer, max_completion_length=16)
    assert finding.check == "long_solutions"
    assert "3 of the 4 reference solutions checked (column 'solution') are longer than max_completion_length (16" in (
        finding.message
    )
    assert check_solution_length(solutions, "solution", tokenizer, max_completion_length=4096) is None


# ---------------------------------------------------------------------------------------------
# Start-up: prompts longer than max_prompt_length
# ---------------------------------------------------------------------------------------------


def test_prompts_longer_than_max_prompt_length_are_reported_as_losing_their_start(tokenizer, accuracy_reward):
    """Found by an audit: prompts cut to 16 tokens lost the system prompt's instructions without a word."""
    system = {"role": "system", "content": "Reason in <think> tags, then put the answer in \\boxed{}."}
    prompts = [[system, {"role": "user", "content": f"Compute {i} + 1."}] for i in range(3)]
    prompts.append([{"role": "user", "content": "1"}])
    finding = check_prompt_length(prompts, tokenizer, max_prompt_length=16)
    assert finding.check == "long_prompts"
    assert "3 of the 4 prompts checked are longer than max_prompt_length (16 tokens" in finding.message
    assert "the system prompt and the instructions before the problem are cut first" in finding.message
    assert check_prompt_length(prompts, tokenizer, max_prompt_length=512) is None
    script_args, training_args = run_args(reward_funcs=["accuracy"], max_prompt_length=16)
    data = rows(["7"] * 4).map(lambda row, index: {"prompt": prompts[index]}, with_indices=True)
    findings = check_before_training(data, tokenizer, [accuracy_reward], script_args, training_args, [])
    assert [finding.check for finding in findings] == ["long_prompts"]


def test_without_max_prompt_length_prompts_that_leave_no_room_in_the_context_are_reported(tokenizer, accuracy_reward):
    """Found by a red team: with `max_prompt_length: null` the prompt check never ran, so prompts longer than the
    model's context, less max_completion_length, started training without a word."""
    long_problem = [{"role": "user", "content": "Compute 1 + 1. " * 200}]
    prompts = [long_problem] * 3 + [[{"role": "user", "content": "1"}]]
    data = rows(["7"] * 4).map(lambda row, index: {"prompt": prompts[index]}, with_indices=True)
    script_args, training_args = run_args(reward_funcs=["format"], max_prompt_length=None, max_completion_length=48)
    (finding,) = check_before_training(data, tokenizer, [None], script_args, training_args, [], context_length=512)
    assert finding.check == "long_prompts"
    assert finding.message.startswith(
        "3 of the 4 prompts checked are longer than 464 tokens, the model's context (512 tokens, "
        "its config's max_position_embeddings with any RoPE scaling) less max_completion_length (48) (median"
    )
    assert "max_prompt_length is unset, so they are not cut" in finding.message
    # Without the model's context, the tokenizer's says it (the tiny model's: 1024).
    (finding,) = check_before_training(data, tokenizer, [None], script_args, training_args, [])
    assert "longer than 976 tokens, the model's context (1024 tokens, the tokenizer's model_max_length)" in (
        finding.message
    )
    assert not check_before_training(data, tokenizer, [None], script_args, training_args, [], context_length=1 << 16)
    unknown = copy.deepcopy(tokenizer)
    unknown.model_max_length = int(1e30)  # transformers' value where the tokenizer's files set none
    assert not check_before_training(data, unknown, [None], script_args, training_args, [])


# ---------------------------------------------------------------------------------------------
# Start-up: on or off, warn or stop
# ---------------------------------------------------------------------------------------------


def test_doctor_stop_on_turns_a_startup_finding_into_a_usage_error(tokenizer, accuracy_reward):
    script_args, training_args = run_args(reward_funcs=["accuracy"], doctor_stop_on=["unscorable_gold"])
    with pytest.raises(UsageError, match=r"GRPO doctor \[unscorable_gold\] \(doctor_stop_on\): 3 of the 3"):
        check_before_training(rows(BROKEN_GOLDS), tokenizer, [accuracy_reward], script_args, training_args, [])
    script_args, training_args = run_args(reward_funcs=["accuracy"], doctor_stop_on=["long_solutions"])
    assert check_before_training(rows(BROKEN_GOLDS), tokenizer, [accuracy_reward], script_args, training_args, [])


@pytest.mark.parametrize("training", [{"doctor": False}, {"process_index": 1}])
def test_the_startup_checks_run_only_when_on_and_on_the_main_process(tokenizer, caplog, training):
    script_args, training_args = run_args(reward_funcs=["accuracy"], **training)
    with caplog.at_level(logging.WARNING):
        assert check_before_training(rows(BROKEN_GOLDS), tokenizer, [None], script_args, training_args, []) == []
    assert doctor_warnings(caplog) == []


def test_doctor_fields_are_checked_when_parsed(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: m\ndataset_name: d\noutput_dir: out\nuse_cpu: true\n")
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    with pytest.raises(UsageError, match="doctor_stop_on: 'clip' is not a doctor check.*clipped"):
        parser.parse_args_and_config(["--config", str(recipe), "--doctor_stop_on", "clip"])
    with pytest.raises(UsageError, match="doctor_patience must be at least 1"):
        parser.parse_args_and_config(["--config", str(recipe), "--doctor_patience", "0"])
    _, training_args, _ = parser.parse_args_and_config(["--config", str(recipe), "--doctor_stop_on", "all"])
    assert training_args.doctor and training_args.doctor_stop_on == ["all"]


# ---------------------------------------------------------------------------------------------
# While training: synthetic logs as GRPOTrainer writes them
# ---------------------------------------------------------------------------------------------

COMPLETION = "<think>\n3 + 4 = 7\n7 - 2 = 5\n</think>\nThe answer is \\boxed{5}."
PROMPT = [{"role": "user", "content": "Compute 3 + 4 - 2."}]
LAST_BATCH = {
    "prompt": [PROMPT, PROMPT],
    "completion": [[{"role": "assistant", "content": COMPLETION}]] * 2,
    "rewards": {"accuracy_reward": [0.0, 0.0], "format_reward": [0.0, 0.0]},
}


def grpo_log(accuracy=(0.0, 0.0), format=(0.5, 0.5), zero_std=0.0, clipped=0.0, **extra):
    """One training log of GRPOTrainer: each reward's (mean, std), the zero-spread share and the clipped share."""
    logs = {"loss": 0.1, "reward": 0.3, "frac_reward_zero_std": zero_std, "completions/clipped_ratio": clipped}
    for name, (mean, std) in (("accuracy_reward", accuracy), ("format_reward", format)):
        logs[f"rewards/{name}/mean"], logs[f"rewards/{name}/std"] = mean, std
    return {**logs, **extra}


def make_doctor(**kwargs):
    defaults = dict(
        patience=3,
        last_batch=lambda: LAST_BATCH,
        reward_names={"accuracy_reward": "accuracy", "format_reward": "format"},
        find_gold=gold_finder(rows(["7"]).map(lambda row: {"prompt": PROMPT}), "solution"),
    )
    return TrainingDoctor(**{**defaults, **kwargs})


def feed(
    doctor, logs_per_step, caplog, max_completion_length=48, max_tool_calling_iterations=None, first_step=1
) -> tuple[list[str], TrainerControl]:
    """Passes each log to `doctor.on_log` as the Trainer does, the first at `first_step`, one step apart; returns the
    doctor's warnings and the final control."""
    args = types.SimpleNamespace(
        max_completion_length=max_completion_length,
        max_tool_calling_iterations=max_tool_calling_iterations,
        learning_rate=1e-6,
    )
    control = TrainerControl()
    with caplog.at_level(logging.WARNING):
        for step, logs in enumerate(logs_per_step, start=first_step):
            doctor.on_log(args, TrainerState(global_step=step), control, logs=logs)
    return doctor_warnings(caplog), control


def test_a_reward_that_pays_nothing_for_patience_steps_is_reported_once_with_an_example(caplog):
    warnings, control = feed(make_doctor(), [grpo_log()] * 6, caplog)
    assert len(warnings) == 1 and warnings[0].startswith("GRPO doctor, step 3: for the last 3 steps:")
    assert (
        "[constant_reward] accuracy_reward gave every completion 0. Likely causes: no completion states" in warnings[0]
    )
    # The example: what each reward read in the completion, the gold of its prompt from the dataset.
    assert "accuracy_reward = 0: parsed answer '5'; gold '7'" in warnings[0]
    assert "format_reward = 0: tags <think> x1, </think> x1, <answer> x0, </answer> x0" in warnings[0]
    assert "prompt ending 'Compute 3 + 4 - 2.'" in warnings[0]
    assert not control.should_training_stop


def test_a_symptom_that_comes_back_after_it_cleared_is_reported_again(caplog):
    """An audit's: a finding was warned of once a run, so a relapse at step 2000 went unsaid after one at step 5."""
    healthy = grpo_log(accuracy=(0.25, 0.4))
    logs = [grpo_log()] * 4 + [healthy] + [grpo_log()] * 3 + [healthy] * 3 + [grpo_log()] * 3
    warnings, _ = feed(make_doctor(), logs, caplog)
    # Gone for one log (step 5): not new when it comes back; gone for doctor_patience logs (6-8... 9-11): warned again.
    assert [warning.split(":")[0] for warning in warnings] == ["GRPO doctor, step 3", "GRPO doctor, step 14"]
    # A windowed share hovering at its threshold is warned of once, not every few logs (a review's: 6 warnings in 22).
    caplog.clear()
    shares = [0.92, 0.92, 0.92, 0.85, 0.95, 0.95, 0.85, 0.95, 0.95, 0.85, 0.95, 0.95]  # windows of 3 dip below once
    logs = [grpo_log(accuracy=(0.3, 0.4), zero_std=share) for share in shares]
    warnings, _ = feed(make_doctor(zero_std_share=0.9), logs, caplog)
    assert len([warning for warning in warnings if "[zero_spread]" in warning]) == 1


def test_a_warning_is_also_a_metric_of_the_next_log_for_wandb(caplog):
    """An audit's: a warning went to the console only; a run watched on wandb never showed it."""
    recorded = []
    doctor = make_doctor(record_metric=lambda key, value: recorded.append((key, value)))
    args = types.SimpleNamespace(max_completion_length=48, max_tool_calling_iterations=None, learning_rate=1e-6)
    for step in range(1, 5):
        doctor.on_log(args, TrainerState(global_step=step), TrainerControl(), logs=grpo_log())
        doctor.on_step_end(args, TrainerState(global_step=step + 1), TrainerControl())
    assert recorded == [("doctor/constant_reward", 1.0)]  # once, after the log that warned (step 3)


def test_a_symptom_shorter_than_the_patience_or_interrupted_is_not_reported(caplog):
    healthy = grpo_log(accuracy=(0.25, 0.4))
    warnings, _ = feed(make_doctor(), [grpo_log(), grpo_log(), healthy, grpo_log(), grpo_log()], caplog)
    assert warnings == []


def test_evaluation_and_summary_logs_neither_count_nor_interrupt(caplog):
    other = [{"eval_loss": 0.3, "eval_rewards/accuracy_reward/mean": 0.5}, {"train_runtime": 12.0}]
    warnings, _ = feed(make_doctor(), [grpo_log(), *other, grpo_log(), grpo_log()], caplog)
    assert len(warnings) == 1


@pytest.mark.parametrize(
    "accuracy, reported",
    [
        ((None, None), "accuracy_reward gave every completion None (cannot judge it). Likely causes: it could judge"),
        ((-1.0, 0.0), "accuracy_reward gave every completion -1"),
        ((1.0, 0.0), None),  # full marks for everyone: zero_spread's business, not a reward that pays nothing
    ],
)
def test_which_constant_values_count_as_paying_nothing(caplog, accuracy, reported):
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=accuracy)] * 3, caplog)
    assert [reported in warning for warning in warnings] == ([True] if reported else [])


def test_a_penalty_at_zero_is_a_run_without_penalties(caplog):
    reward_names = {"accuracy_reward": "soft_overlong_punishment", "format_reward": "format"}
    warnings, _ = feed(make_doctor(reward_names=reward_names), [grpo_log()] * 3, caplog)
    assert warnings == []


def test_a_format_reward_that_pays_nothing_names_the_think_prefill(caplog):
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), format=(0.0, 0.0))] * 3, caplog)
    assert len(warnings) == 1 and "format_reward gave every completion 0" in warnings[0]
    assert "think_prefilled" in warnings[0]


def test_groups_without_spread_above_the_threshold_are_reported(caplog):
    spread = grpo_log(accuracy=(0.3, 0.4), zero_std=0.95)
    warnings, _ = feed(make_doctor(), [spread] * 3, caplog)
    assert len(warnings) == 1 and "[zero_spread] 95% of the groups had no reward spread" in warnings[0]
    assert feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), zero_std=0.9)] * 3, caplog)[0] == warnings
    assert "the problems are all too easy or all too hard for the model" in warnings[0]
    # Near either end of the accuracy reward, the warning says which (an audit: the mean already showed it).
    for accuracy, named in ((0.97, "too easy for the model (accuracy 0.97"), (0.02, "too hard for the model")):
        caplog.clear()
        warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(accuracy, 0.1), zero_std=0.95)] * 3, caplog)
        assert f"Likely causes: the problems are {named}" in warnings[0]
    # A review: only the accuracy reward is read, not len_reward (centred on 0) beside it.
    caplog.clear()
    names = {"len_reward": "length", "accuracy_reward": "accuracy", "format_reward": "format"}
    logs = {**grpo_log(accuracy=(0.97, 0.1), zero_std=0.95), "rewards/len_reward/mean": 0.01}
    warnings, _ = feed(make_doctor(reward_names=names), [logs] * 3, caplog)
    assert "the problems are too easy for the model (accuracy 0.97" in warnings[0]


def test_clipped_completions_above_the_threshold_are_reported(caplog):
    clipped = grpo_log(accuracy=(0.3, 0.4), clipped=1.0)
    warnings, _ = feed(make_doctor(pad_is_eos=True), [clipped] * 3, caplog, max_completion_length=48)
    assert (
        len(warnings) == 1
        and "[clipped] 100% of the completions were cut at max_completion_length (48" in (warnings[0])
    )
    assert "pad == eos" in warnings[0]
    assert "\nRepeated lines: 0 of the last batch's 2 completions write one line three times or more" in warnings[0]
    caplog.clear()
    assert feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), clipped=0.5)] * 3, caplog)[0] == []
    # Found by an audit: 87.5% cut over a whole run was below the old share of 0.9, and never named.
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), clipped=0.875)] * 3, caplog)
    assert "[clipped] 88% of the completions were cut" in warnings[0]


def test_shares_are_judged_on_their_mean_over_the_patience_so_one_batch_below_breaks_no_streak(caplog):
    """Found by an audit: 40 logging steps at 97% clipped, dipping to 87.5% every few, were never reported."""
    dipping = [grpo_log(accuracy=(0.3, 0.4), clipped=0.875 if step % 3 == 2 else 0.97) for step in range(40)]
    warnings, _ = feed(make_doctor(), dipping, caplog)  # patience 3: no three in a row above 0.9
    assert len(warnings) == 1 and warnings[0].startswith("GRPO doctor, step 3:")
    assert "[clipped] 94% of the completions were cut" in warnings[0] and "mask_truncated_completions" in warnings[0]
    caplog.clear()  # a mean at the share is not above it, however high one batch was
    mostly_fine = [grpo_log(accuracy=(0.3, 0.4), zero_std=value) for value in (1.0, 0.85, 0.85) * 5]
    assert feed(make_doctor(), mostly_fine, caplog)[0] == []


def test_the_clipped_warning_counts_the_last_batchs_completions_that_go_round_a_step(caplog):
    looping = "\n".join(f"She sells {eggs} eggs for $2 each at the market" for eggs in (9, 18, 36, 72))
    batch = {**LAST_BATCH, "completion": [looping, [{"role": "assistant", "content": looping}], COMPLETION]}
    clipped = grpo_log(accuracy=(0.3, 0.4), clipped=1.0)
    warnings, _ = feed(make_doctor(last_batch=lambda: batch), [clipped] * 3, caplog)
    assert warnings[0].endswith(
        "\nRepeated lines: 2 of the last batch's 3 completions write one line three times or more, its numbers "
        "aside (open_r1.rewards.repetition.repeats_a_line).\nTraining goes on; doctor_stop_on would stop it, "
        "`doctor: false` silences the doctor."
    )
    # Only once the clipped warning is due: another symptom's warning reads no completion for it.
    caplog.clear()
    warnings, _ = feed(make_doctor(last_batch=lambda: batch), [grpo_log(zero_std=1.0)] * 3, caplog)
    assert "[zero_spread]" in warnings[0] and "Repeated lines" not in warnings[0]
    # A completion of a shape the count does not read leaves the warning without it, never stops training.
    caplog.clear()
    odd = {**batch, "completion": [looping, looping, 42]}
    warnings, control = feed(make_doctor(last_batch=lambda: odd), [clipped] * 3, caplog)
    assert "[clipped]" in warnings[0] and "Repeated lines" not in warnings[0] and not control.should_training_stop


def test_an_entropy_that_collapses_is_named_with_the_learning_rate(caplog):
    """Found by an audit: a learning rate of 1.0 took entropy from 6.1 to 0.3 and the doctor blamed the stop token."""
    entropies = [6.13, 0.32, 0.21, 0.2]
    logs = [grpo_log(accuracy=(0.3, 0.4), entropy=entropy, grad_norm=5.35) for entropy in entropies]
    warnings, _ = feed(make_doctor(patience=3), logs, caplog)
    assert len(warnings) == 1 and warnings[0].startswith("GRPO doctor, step 4:")
    assert (
        "[entropy_collapse] the policy's entropy fell from 6.13 (step 1) to 0.2, below 25% of where it stood "
        "(grad_norm 5.35)" in warnings[0]
    )
    assert "learning_rate 1e-06" in warnings[0]
    caplog.clear()  # a healthy run's drift, as make gsm8k's GRPO on an H100
    healthy = [grpo_log(accuracy=(0.3, 0.4), entropy=entropy) for entropy in (0.47, 0.44, 0.45, 0.42, 0.41, 0.42)]
    assert feed(make_doctor(patience=3), healthy, caplog)[0] == []
    # Found by a review: a long run from a base model declines slowly, far below its first entropy; no collapse.
    declining = [grpo_log(accuracy=(0.3, 0.4), entropy=1.2 * 0.99**step) for step in range(300)]
    assert feed(make_doctor(patience=3), declining, caplog)[0] == []


def test_a_kl_that_blows_up_is_named_and_a_reward_it_lost_is_named_a_regression(caplog):
    """Found by an audit: kl rose to 2.9 nats per token, accuracy fell from 0.31 to 0, and the doctor blamed a model
    that cannot solve the problems yet."""
    rising = [grpo_log(accuracy=(0.31, 0.4), kl=0.02), grpo_log(accuracy=(0.2, 0.4), kl=0.68)]
    lost = [grpo_log(accuracy=(0.0, 0.0), kl=kl) for kl in (1.5, 2.3, 2.9)]
    warnings, _ = feed(make_doctor(settings={"beta": 0.1}), rising + lost, caplog)
    assert len(warnings) == 1 and warnings[0].startswith("GRPO doctor, step 5:")
    assert "[kl_blowup] the policy's KL from the reference model is 2.9 nats per token (kl, above 1)" in warnings[0]
    assert "learning_rate 1e-06) or a beta too small to hold the policy (beta 0.1)" in warnings[0]
    assert (
        "[constant_reward] accuracy_reward gave every completion 0. Likely causes: it paid 0.31 on average at step 1, "
        "so the policy lost what it had learnt" in warnings[0]
    )
    caplog.clear()  # a policy that stays near its reference: no finding
    assert feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), kl=0.05)] * 4, caplog)[0] == []
    # A review: one lucky completion of a weak model (0.03) is no regression, and beta 0 is not named.
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(0.03, 0.1))] + [grpo_log()] * 3, caplog)
    assert "Likely causes: no completion states" in warnings[0]
    caplog.clear()
    paid = [grpo_log(accuracy=(0.3, 0.4))] + [grpo_log()] * 3
    warnings, _ = feed(make_doctor(settings={"beta": 0.0}), paid, caplog)
    assert "lost what it had learnt: a learning rate too high let it drift" in warnings[0]


def test_completions_that_end_where_they_begin_are_named(caplog):
    """Found by an audit: a policy that wrote eos first got constant_reward and zero_spread, blaming clipping."""
    empty = grpo_log(**{"completions/mean_length": 1.0})
    warnings, _ = feed(make_doctor(), [empty] * 3, caplog)
    assert "[empty_completions] the completions are 1 tokens long on average (completions/mean_length)" in warnings[0]
    caplog.clear()
    short = grpo_log(accuracy=(0.3, 0.4), **{"completions/mean_length": 12.0})
    assert feed(make_doctor(), [short] * 3, caplog)[0] == []


def test_the_end_of_training_says_what_share_of_the_groups_gave_no_gradient(caplog):
    """Found by an audit: make gsm8k's GRPO had 65% of its groups without spread, below any warning, unsaid."""
    doctor = make_doctor()
    feed(doctor, [grpo_log(accuracy=(0.3, 0.4), zero_std=share) for share in (0.5, 0.75, 0.7)], caplog)
    args = types.SimpleNamespace(dynamic_sampling=False)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(args, TrainerState(), TrainerControl())
    assert (
        "Reward spread over the run: 65% of the groups over 3 logging steps had none, so their generation and "
        "backward pass gave no gradient; dynamic_sampling: true replaces" in caplog.text
    )
    # Under skip_flat_rows their backward pass was not paid: the line says so (an audit's).
    caplog.clear()
    doctor = make_doctor()
    logs = [grpo_log(accuracy=(0.3, 0.4), zero_std=share, **{"flat_rows/skipped": share}) for share in (0.5, 0.75)]
    feed(doctor, logs, caplog)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(args, TrainerState(), TrainerControl())
    assert "so their generation (not their backward pass: skip_flat_rows left their rows out) gave no" in caplog.text


def test_a_run_too_short_for_the_training_checks_ends_naming_what_lasted_all_of_it(caplog):
    """Found by a red team: a 4-step smoke test with every group flat ended with the plain spread line only; and by an
    audit: such a run named zero_spread alone, not the reward that paid nothing or the clipped completions. Named as
    the doctor's findings, but as INFO: the README's own 2-step GRPO is such a run, and prints no warning."""
    doctor = make_doctor(patience=5, settings={"num_generations": 8, "temperature": 0.7, "dynamic_sampling": False})
    logs = [grpo_log(accuracy=(0.0, 0.0), zero_std=1.0, clipped=0.9)] * 3 + [grpo_log(zero_std=1.0, clipped=0.5)]
    feed(doctor, logs, caplog)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(types.SimpleNamespace(dynamic_sampling=False), TrainerState(), TrainerControl())
    summary = [record.getMessage() for record in caplog.records if "GRPO doctor" in record.getMessage()]
    assert summary == [
        "GRPO doctor, over the run's 4 logging steps (too few to judge: doctor_patience 5 steps), throughout: "
        "constant_reward (accuracy_reward 0); zero_spread (100% of the groups without spread); clipped (80% of the "
        "completions cut). Usual for a smoke test; a longer run is warned of with the likely causes and an example "
        '(docs/guide.md, "The GRPO doctor").'
    ]  # one line, format (0.5 throughout, with spread) aside, the clipped share the mean over the run's logs
    assert "Reward spread over the run" not in caplog.text
    assert {record.levelname for record in caplog.records if "zero_spread" in record.getMessage()} == {"INFO"}
    # A run long enough for the training check, whose windows stayed under the share, gets the INFO line (a review's).
    caplog.clear()
    doctor = make_doctor(patience=5)
    feed(doctor, [grpo_log(accuracy=(0.3, 0.4), zero_std=share) for share in (1, 0.87, 0.87, 0.87, 0.87, 1)], caplog)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(types.SimpleNamespace(dynamic_sampling=False), TrainerState(), TrainerControl())
    assert "GRPO doctor, over the run" not in caplog.text and "Reward spread over the run" in caplog.text


def test_the_warnings_name_the_runs_settings_and_no_remedy_already_in_use(caplog):
    """Found by a red team: the doctor advised dynamic_sampling and mask_truncated_completions to runs using them."""
    settings = {"temperature": 0.7, "top_k": 1, "dynamic_sampling": True, "mask_truncated_completions": True}
    warnings, _ = feed(make_doctor(settings=settings), [grpo_log(zero_std=1.0, clipped=1.0)] * 3, caplog)
    assert "(temperature 0.7, top_k 1); dynamic_sampling is on, and its rounds found too few groups" in warnings[0]
    assert "dynamic_sampling: true (DAPO's) drops" not in warnings[0]
    assert (
        "mask_truncated_completions: true keeps the cut completions out of the loss, so only the rest (0%)"
        in (warnings[0])
    )


def test_symptoms_due_at_the_same_step_make_one_warning(caplog):
    warnings, _ = feed(make_doctor(), [grpo_log(zero_std=1.0, clipped=1.0)] * 3, caplog)
    assert len(warnings) == 1
    assert all(check in warnings[0] for check in ("[constant_reward]", "[zero_spread]", "[clipped]"))


TOOL_ROLLOUT = [
    {"role": "assistant", "content": "3 + 4 - 2 is", "tool_calls": [{"type": "function", "function": {
        "name": "python", "arguments": {"code": "print(3 + 4 - 2"}}}]},
    {"role": "tool", "name": "python", "content": "SyntaxError: '(' was never closed"},
    {"role": "assistant", "content": "\\boxed{7}"},
]  # fmt: skip


def tool_log(calls: float, error_rate: float, not_made: float = 0.0) -> dict:
    """A training log of a GRPO run with the python tool: TRL's call frequency and share of calls it could not make,
    the python tool's error rate."""
    metrics = {
        "tools/call_frequency": calls,
        "tools/failure_frequency": not_made,
        "tools/python_error_rate": error_rate,
    }
    return grpo_log(accuracy=(0.3, 0.4), **metrics)


def test_a_policy_that_never_calls_its_tools_is_reported(caplog):
    warnings, _ = feed(make_doctor(), [tool_log(calls=0.0, error_rate=0.0)] * 3, caplog)
    assert len(warnings) == 1 and "[no_tool_calls] no completion called a tool (tools/call_frequency 0)" in warnings[0]
    assert "SFT on tool-calling traces first" in warnings[0]
    caplog.clear()
    # Calls in some completions, or a run without tools (no call frequency logged): nothing to report.
    assert feed(make_doctor(), [tool_log(calls=0.1, error_rate=0.0)] * 3, caplog)[0] == []
    assert feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4))] * 3, caplog)[0] == []
    # max_tool_calling_iterations 0 runs no call (the tool demo's arm without the tool): none is expected.
    assert (
        feed(make_doctor(), [tool_log(calls=0.0, error_rate=0.0)] * 3, caplog, max_tool_calling_iterations=0)[0] == []
    )


def test_tool_calls_that_mostly_fail_are_reported_with_a_rollouts_tool_results(caplog):
    # The first completion answered without a call; the second one's call failed.
    batch = {**LAST_BATCH, "completion": [LAST_BATCH["completion"][0], TOOL_ROLLOUT]}
    doctor = make_doctor(last_batch=lambda: batch)
    warnings, _ = feed(doctor, [tool_log(calls=2.0, error_rate=0.8)] * 3, caplog)
    assert len(warnings) == 1 and "[tool_errors] 80% of the tool calls gave no value" in warnings[0]
    assert "doctor_tool_error_share 0.5" in warnings[0] and "80% of the python calls failed" in warnings[0]
    assert "tool results of completion 2 (1): \"SyntaxError: '(' was never closed\"" in warnings[0]
    caplog.clear()
    assert feed(make_doctor(), [tool_log(calls=2.0, error_rate=0.5)] * 3, caplog)[0] == []
    assert feed(make_doctor(tool_error_share=0.2), [tool_log(calls=2.0, error_rate=0.3)] * 3, caplog)[0]
    caplog.clear()
    # Calls TRL could not make (an unknown tool, bad arguments) never reach python: they count too. 40% not made,
    # and half of the other 60% failed in python: 70% gave no value.
    warnings, _ = feed(make_doctor(), [tool_log(calls=2.0, error_rate=0.5, not_made=0.4)] * 3, caplog)
    assert len(warnings) == 1 and "70% of the tool calls gave no value" in warnings[0]
    assert "40% could not be made (tools/failure_frequency" in warnings[0]


def test_the_tool_error_share_is_checked_and_needs_tools(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: m\ndataset_name: d\noutput_dir: out\nuse_cpu: true\n")
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    with pytest.raises(UsageError, match=r"doctor_tool_error_share must be a share in \[0, 1\), got 1.5"):
        parser.parse_args_and_config(
            ["--config", str(recipe), "--doctor_tool_error_share", "1.5", "--tools", "python"]
        )
    with pytest.raises(UsageError, match="doctor_tool_error_share: 0.2 has no effect with tools: .*needs tools"):
        parser.parse_args_and_config(["--config", str(recipe), "--doctor_tool_error_share", "0.2"])
    _, training_args, _ = parser.parse_args_and_config(
        ["--config", str(recipe), "--doctor_tool_error_share", "0.2", "--tools", "python"]
    )
    assert training_args.doctor_tool_error_share == 0.2


@pytest.mark.parametrize(
    "stop_on, stops", [([], False), (["clipped"], False), (["constant_reward"], True), (["all"], True)]
)
def test_doctor_stop_on_stops_training_at_the_step_it_names(caplog, stop_on, stops):
    warnings, control = feed(make_doctor(stop_on=stop_on), [grpo_log()] * 3, caplog)
    assert control.should_training_stop is stops
    assert ("Training stops here (doctor_stop_on: constant_reward)" in warnings[0]) is stops


# ---------------------------------------------------------------------------------------------
# The project's own recipes and data: no finding
# ---------------------------------------------------------------------------------------------


def startup_findings_of(recipe, model, dataset, tmp_path, caplog) -> list:
    """The doctor's start-up findings for `recipe` on `model` and `dataset`, loaded as grpo.py loads them."""
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(
        ["--config", recipe, "--model_name_or_path", str(model), "--dataset_name", str(dataset)]
        + ["--output_dir", str(tmp_path / "out")]
    )
    data = prepare_prompts(get_dataset(script_args), script_args.dataset_prompt_column, training_args.system_prompt)
    train_dataset, _ = training_splits(data, script_args, training_args)
    tokenizer = get_tokenizer(model_args, training_args)
    model = get_model(model_args, training_args, tokenizer)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        findings = check_before_training(
            train_dataset,
            tokenizer,
            get_reward_funcs(script_args),
            script_args,
            training_args,
            model.generation_config.eos_token_id,
        )
    assert doctor_warnings(caplog) == []
    return findings


def demo_model(folder, spec):
    from open_r1.demo.pipeline import build_tiny_model

    folder.mkdir()
    build_tiny_model(folder, spec, seed=0)
    return folder


def test_the_tiny_cpu_recipe_has_no_finding(tiny_assets, tmp_path, caplog):
    recipe = "recipes/tiny/grpo/config_cpu.yaml"
    assert startup_findings_of(recipe, tiny_assets["tiny-model"], tiny_assets["tiny-math"], tmp_path, caplog) == []


def test_the_demos_grpo_recipe_and_data_have_no_finding(tmp_path, caplog):
    from open_r1.demo.r1 import build_datasets
    from open_r1.demo.settings import FAST

    data = build_datasets(tmp_path / "datasets", FAST, seed=0)
    model = demo_model(tmp_path / "model", FAST.tiny_model)
    assert startup_findings_of(FAST.grpo_recipe, model, data["grpo"], tmp_path, caplog) == []


def test_the_tool_demos_grpo_recipe_and_data_have_no_finding(tmp_path, caplog):
    from open_r1.demo.settings import TOOLS_FAST
    from open_r1.demo.tools import build_datasets

    data = build_datasets(tmp_path / "datasets", TOOLS_FAST, seed=0)
    model = demo_model(tmp_path / "model", TOOLS_FAST.tiny_model)
    assert startup_findings_of(TOOLS_FAST.grpo_recipe, model, data["grpo"], tmp_path, caplog) == []


@pytest.mark.skipif(
    not SMOLLM2.exists(), reason="SmolLM2-135M-Instruct not fetched (python scripts/get_model.py smollm2)"
)
def test_the_smollm2_demos_grpo_recipe_and_data_have_no_finding(tmp_path, caplog):
    from open_r1.demo.r1 import build_datasets
    from open_r1.demo.settings import SMOLLM2_FAST

    data = build_datasets(tmp_path / "datasets", SMOLLM2_FAST, seed=0)
    assert startup_findings_of(SMOLLM2_FAST.grpo_recipe, SMOLLM2, data["grpo"], tmp_path, caplog) == []


# ---------------------------------------------------------------------------------------------
# Start-up: format rewards no completion short enough can earn
# ---------------------------------------------------------------------------------------------


def test_a_format_reward_whose_shortest_paid_completion_max_completion_length_cuts_is_named(
    tokenizer, accuracy_reward, caplog
):
    """Found by an audit: max_completion_length 4 cut every completion, so format could never pay, and the doctor
    said only that 8 of 64 reference solutions were longer."""
    from open_r1.doctor.startup import shortest_paid_completion

    shortest = len(tokenizer(shortest_paid_completion("format", False), add_special_tokens=False)["input_ids"])
    script_args, training_args = run_args(max_completion_length=shortest - 1)
    with caplog.at_level(logging.WARNING):
        findings = check_before_training(
            rows(HEALTHY_GOLDS), tokenizer, [accuracy_reward, None], script_args, training_args, []
        )
    assert [finding.check for finding in findings if finding.check == "unpayable_format"] == ["unpayable_format"]
    assert (
        "GRPO doctor [unpayable_format]: format cannot pay any completion: its shortest completion paid, "
        f"'<think>\\n\\n</think>\\n<answer>\\n\\n</answer>' (think_prefilled: false), is {shortest} tokens, and "
        f"max_completion_length is {shortest - 1}: every completion is cut before its layout closes."
    ) in "\n".join(doctor_warnings(caplog))
    training_args.max_completion_length = shortest
    findings = check_before_training(
        rows(HEALTHY_GOLDS), tokenizer, [accuracy_reward, None], script_args, training_args, []
    )
    assert "unpayable_format" not in [finding.check for finding in findings]
    # Under think_prefilled the prompt writes `<think>`; tag_count pays 0.25 a tag, so only its full score is out.
    script_args, training_args = run_args(["tag_count", "code_format"], max_completion_length=4)
    script_args.think_prefilled = True
    messages = [
        finding.message
        for finding in check_before_training(
            rows(HEALTHY_GOLDS), tokenizer, [None, None], script_args, training_args, []
        )
        if finding.check == "unpayable_format"
    ]
    assert messages[0].startswith(
        "tag_count cannot pay any completion in full: its shortest completion paid in full, "
        "'</think>\\n<answer>\\n</answer>' (think_prefilled: true)"
    )
    assert messages[1].startswith(
        "code_format cannot pay any completion: its shortest completion paid, "
        "'\\n</think>\\n<answer>\\n```python```\\n</answer>' (think_prefilled: true)"
    )


@pytest.mark.parametrize("think_prefilled", [False, True])
@pytest.mark.parametrize("name", ["format", "tag_count", "code_format"])
def test_the_shortest_completion_a_format_reward_pays_is_paid_and_none_shorter_is(name, think_prefilled):
    """The doctor's `unpayable_format` measures these: each is paid in full, and none a character shorter is."""
    from open_r1.doctor.startup import shortest_paid_completion

    script_args = GRPOScriptArguments(dataset_name="d", reward_funcs=[name], think_prefilled=think_prefilled)
    [reward] = get_reward_funcs(script_args)
    shortest = shortest_paid_completion(name, think_prefilled)
    assert reward([[{"role": "assistant", "content": shortest}]]) == [1.0]
    shorter = [shortest[:index] + shortest[index + 1 :] for index in range(len(shortest))]
    assert all(score < 1.0 for score in reward([[{"role": "assistant", "content": text}] for text in shorter]))


def test_patience_counts_steps_so_a_run_logging_every_ten_steps_is_warned_at_its_first_log(caplog):
    """Found by an audit: at TRL's default logging_steps 10, five logs in a row were fifty steps, and a reward that
    paid nothing from the first log was first named at step 50."""
    doctor = make_doctor(patience=5)
    doctor.on_train_begin(None, TrainerState(logging_steps=10), TrainerControl())
    assert doctor.logs_needed == 1
    warnings, _ = feed(doctor, [grpo_log(zero_std=1.0)], caplog, first_step=10)
    assert len(warnings) == 1 and warnings[0].startswith("GRPO doctor, step 10: for the last 10 steps (1 log):")
    assert "[zero_spread] 100% of the groups" in warnings[0] and "[constant_reward] accuracy_reward" in warnings[0]
    doctor = make_doctor(patience=5)
    doctor.on_train_begin(None, TrainerState(logging_steps=2), TrainerControl())
    assert doctor.logs_needed == 3  # ceil(5 / 2): at least the steps asked for


def test_a_dead_gradient_while_groups_have_spread_is_named_with_the_learning_rate(caplog):
    """Found by an audit: at learning rate 1e4 the model saturated, grad_norm was 0 at every step although the groups
    had reward spread, and nothing said so (entropy rose, so entropy_collapse never fired)."""
    alive = grpo_log(accuracy=(0.3, 0.4), zero_std=0.25, grad_norm=0.5)
    dead = grpo_log(accuracy=(0.3, 0.4), zero_std=0.25, grad_norm=0.0)
    warnings, _ = feed(make_doctor(), [alive, dead, dead, dead], caplog)
    assert len(warnings) == 1 and "step 4" in warnings[0]
    assert (
        "[dead_gradient] grad_norm is 0 at the last step of each of the last 3 logs although 75% of the groups had "
        "reward spread (1 - frac_reward_zero_std): the completions that should learn give no gradient. Likely causes: "
        "the weights saturated under a learning rate too high (learning_rate 1e-06" in warnings[0]
    )
    # A log's grad_norm is its last step's, which may have trained flat rows alone (skip_flat_rows: exactly 0): with
    # most groups flat that is no symptom (a review's), nor is a dead gradient in fewer than `patience` logs in a row
    # where a log spans ten steps.
    caplog.clear()
    mostly_flat = grpo_log(accuracy=(0.3, 0.4), zero_std=0.9, grad_norm=0.0)
    warnings, _ = feed(make_doctor(zero_std_share=0.99), [mostly_flat] * 4, caplog)
    assert not any("dead_gradient" in warning for warning in warnings)
    caplog.clear()
    doctor = make_doctor()
    doctor.on_train_begin(None, TrainerState(logging_steps=10), TrainerControl())
    warnings, _ = feed(doctor, [dead, dead], caplog)
    assert not any("dead_gradient" in warning for warning in warnings)
    warnings, _ = feed(doctor, [dead], caplog)
    assert any("dead_gradient" in warning for warning in warnings)


def test_full_marks_for_every_completion_are_named_when_no_reward_varies(caplog):
    """Found by an audit: a single reward paying 1 to every completion was blamed on the problems (zero_spread)
    without naming the reward; a learnt format at full marks beside an accuracy that varies is still no symptom."""
    logs = [grpo_log(accuracy=(1.0, 0.0), format=(1.0, 0.0), zero_std=1.0)] * 3
    warnings, _ = feed(make_doctor(), logs, caplog)
    assert (
        "[constant_reward] accuracy_reward gave every completion 1. Every reward is constant too, so no group has "
        "reward spread. Likely causes: the problems are too easy for the model" in warnings[0]
    )
    caplog.clear()
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(0.3, 0.4), format=(1.0, 0.0))] * 3, caplog)
    assert warnings == []
    caplog.clear()  # beside a reward that pays nothing, that one is the finding, not the full marks
    warnings, _ = feed(make_doctor(), [grpo_log(accuracy=(0.0, 0.0), format=(1.0, 0.0), zero_std=1.0)] * 3, caplog)
    assert "accuracy_reward gave every completion 0" in warnings[0] and "format_reward gave" not in warnings[0]


def test_a_constant_reward_that_left_completions_unscored_says_how_many(caplog):
    """Found by an audit: a reward paying -1 or None was reported as giving every completion -1."""
    batch = {**LAST_BATCH, "rewards": {"accuracy_reward": [-1.0, float("nan")], "format_reward": [0.0, 0.0]}}
    warnings, _ = feed(make_doctor(last_batch=lambda: batch), [grpo_log(accuracy=(-1.0, 0.0))] * 3, caplog)
    assert (
        "accuracy_reward gave every completion it scored -1 (1 of the last batch's 2 unscored: None, which adds 0 to "
        "a completion's total beside the other rewards)." in warnings[0]
    )


def test_with_beta_the_runs_spread_line_says_flat_groups_still_had_the_kl_terms_gradient(caplog):
    doctor = make_doctor(patience=5, settings={"beta": 0.1})
    feed(doctor, [grpo_log(accuracy=(0.3, 0.4), zero_std=0.5)] * 6, caplog)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(types.SimpleNamespace(dynamic_sampling=False), TrainerState(), TrainerControl())
    assert "gave no a reward gradient" not in caplog.text
    assert (
        "so their generation and backward pass gave no reward gradient (beta's KL term still gives one)" in caplog.text
    )


def test_a_resumed_run_with_few_logs_left_gets_the_runs_spread_line_not_the_short_run_summary(caplog):
    """A review's: the summary counted this call's logs alone, so a long run resumed near its end read as a smoke
    test."""
    doctor = make_doctor(patience=5)
    feed(doctor, [grpo_log(zero_std=1.0)] * 2, caplog, first_step=199)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(
            types.SimpleNamespace(dynamic_sampling=False), TrainerState(global_step=200), TrainerControl()
        )
    assert "GRPO doctor, over the run" not in caplog.text and "Reward spread over the run: 100%" in caplog.text


def test_a_short_run_with_a_symptom_no_smoke_test_shows_gets_the_whole_findings(caplog):
    """A review's: the one-line summary called whatever it found usual for a smoke test, an empty completion too."""
    doctor = make_doctor(patience=5)
    feed(doctor, [grpo_log(zero_std=1.0, **{"completions/mean_length": 1.0})] * 2, caplog)
    with caplog.at_level(logging.INFO, logger="open_r1.doctor"):
        doctor.on_train_end(types.SimpleNamespace(dynamic_sampling=False), TrainerState(), TrainerControl())
    assert "Usual for a smoke test" not in caplog.text
    assert "what lasted all of it:\n- [constant_reward] accuracy_reward gave every completion 0. Likely causes" in (
        caplog.text
    )
    assert "- [empty_completions] the completions are 1 tokens long on average" in caplog.text
