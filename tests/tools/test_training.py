"""GRPO with the python tool on CPU, through src/open_r1/grpo.py's main and a recipe with `tools: [python]`.

The model has memorised one tool rollout (conftest's `tool_calling_model`), so its completions call the tool.
The test checks what issue 17 asks of training: the calls ran in the sandbox, their results reached the
model's context, the result tokens were masked out of the loss, and the rewards graded the whole rollout.
"""

import functools
import json
import types

import pytest
import torch
from datasets import Dataset, DatasetDict
from trl import ModelConfig

from open_r1 import grpo
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.rewards import REWARD_FUNCS_REGISTRY
from open_r1.sandbox import LocalSandbox, isolation_mode
from open_r1.sandbox.factory import clear_providers
from open_r1.tasks.tool_arithmetic import TOOL_SYSTEM_PROMPT
from open_r1.utils.step_profile import PROFILE_SECONDS
from tests.support.sandbox_checks import skip_without_isolation

RECIPE = "recipes/demo/grpo/config_tools.yaml"
pytestmark = pytest.mark.usefixtures("sandbox_leftovers_check")


def parse(*args):
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    return parser.parse_args_and_config(["--config", RECIPE, *args])


def memorised_tool_run(tool_calling_model, tmp_path, rows: int) -> list[str]:
    """Saves the memorised problem `rows` times as a GRPO dataset; the recipe arguments the GRPO runs of this file
    train it with (2 steps of 4 completions, into tmp_path/out). Skips where the sandbox cannot isolate."""
    with skip_without_isolation():
        isolation_mode()
    problem, user_turn = tool_calling_model["problem"], tool_calling_model["user_turn"]
    DatasetDict(
        {"train": Dataset.from_list([{"prompt": user_turn, "solution": problem["solution"]}] * rows)}
    ).save_to_disk(str(tmp_path / "data"))
    return [
        *("--model_name_or_path", str(tool_calling_model["path"]), "--dataset_name", str(tmp_path / "data")),
        *("--output_dir", str(tmp_path / "out"), "--max_steps", "2", "--logging_steps", "1"),
        *("--num_generations", "4", "--per_device_train_batch_size", "4", "--temperature", "0.3"),
        *("--max_completion_length", "96", "--system_prompt", TOOL_SYSTEM_PROMPT),
    ]


@pytest.mark.timeout(600)
def test_grpo_runs_tool_calls_in_the_sandbox_masks_their_results_and_rewards_whole_rollouts(
    tool_calling_model, tmp_path, monkeypatch
):
    training_arguments = memorised_tool_run(tool_calling_model, tmp_path, rows=8)
    problem = tool_calling_model["problem"]

    rewarded = []  # what the accuracy reward was given

    def recording(factory):
        def build(script_args):
            reward = factory(script_args)

            @functools.wraps(reward)
            def record(completions, **kwargs):
                scores = reward(completions, **kwargs)
                rewarded.extend(zip(completions, scores))
                return scores

            return record

        return build

    monkeypatch.setitem(REWARD_FUNCS_REGISTRY, "accuracy", recording(REWARD_FUNCS_REGISTRY["accuracy"]))
    batches = []  # what generation handed to the loss

    original = grpo.PromptTruncatingGRPOTrainer._generate_and_score_completions

    def capture(self, inputs):
        output = original(self, inputs)
        batches.append({key: output[key].clone() for key in ("completion_ids", "completion_mask", "tool_mask")})
        return output

    monkeypatch.setattr(grpo.PromptTruncatingGRPOTrainer, "_generate_and_score_completions", capture)
    script_args, training_args, model_args = parse(*training_arguments)
    try:
        grpo.main(script_args, training_args, model_args)
        settings = script_args.python_tool_settings(
            script_args.tool_sandbox, training_args.max_tool_calling_iterations
        )
        provider = settings.get_provider()
        assert isinstance(provider, LocalSandbox)
        sandbox_uids = provider.run_uids
    finally:
        clear_providers()

    product = problem["answer"]
    # 1. The calls ran (in the local sandbox: in root mode its runs used their own leased uids).
    with_tool = [completion for completion, _ in rewarded if any(m["role"] == "tool" for m in completion)]
    assert with_tool, f"no completion called the tool: {[c for c, _ in rewarded][:2]}"
    if isolation_mode() == "root":
        assert sandbox_uids, "the tool's programs did not run as sandbox uids"
    # 2. Their results came back: the tool turn holds what the program printed, and the model answered after it.
    for completion in with_tool:
        tool_turns = [m for m in completion if m["role"] == "tool"]
        assert tool_turns[0]["content"] == product + "\n", tool_turns
        assert completion[0]["tool_calls"][0]["function"]["arguments"] == {"code": f"print({problem['expression']})"}
    # 3. Rewards graded the whole rollout: the boxed answer comes after the tool turn, and it scored.
    assert any(
        score == 1.0 and completion[-1]["role"] == "assistant" and product in completion[-1]["content"]
        for completion, score in rewarded
    ), rewarded[:2]
    # 4. The result tokens were in the sequence the model was trained on, and masked out of the loss.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    masked_texts = []
    for batch in batches:
        for ids, mask, tool_mask in zip(batch["completion_ids"], batch["completion_mask"], batch["tool_mask"]):
            masked = [int(t) for t, m, keep in zip(ids, mask, tool_mask) if m and not keep]
            if masked:
                masked_texts.append(tokenizer.decode(masked))
                trained = tokenizer.decode([int(t) for t, m, keep in zip(ids, mask, tool_mask) if m and keep])
                assert "<tool_call>" in trained and product in trained, trained
    assert masked_texts and all(product in text and "tool" in text for text in masked_texts), masked_texts[:2]
    # 5. The per-step tool metrics were logged.
    history = json.loads((tmp_path / "out" / "trainer_state.json").read_text())["log_history"]
    steps = [entry for entry in history if "tools/python_calls_per_completion" in entry]
    assert steps and any(entry["tools/python_calls_per_completion"] > 0 for entry in steps), history
    # The two metrics the GRPO doctor's tool checks read (no_tool_calls, tool_errors) are in every training log.
    assert all("tools/call_frequency" in entry and "tools/python_error_rate" in entry for entry in steps), steps
    assert all(entry["tools/python_error_rate"] == 0 for entry in steps if entry["tools/python_calls_per_completion"])
    # The recipe's budget: a 5 s wall limit for each of its 2 rounds; honest calls used a sliver of it.
    assert all(entry["tools/python_budget_seconds"] == 10.0 for entry in steps), steps
    assert all(entry["tools/python_refused_calls_per_completion"] == 0 for entry in steps), steps
    assert all(0 <= entry["tools/python_budget_used_max"] < 2.0 for entry in steps), steps
    # 6. Each step says where its time went (open_r1.utils.step_profile): the parts add up to its step_time, and a
    # step whose rollouts called the tool decoded a round after the results.
    for entry in steps:
        parts = [entry[f"profile/{part}_seconds"] for part in PROFILE_SECONDS]
        assert sum(parts) == pytest.approx(entry["step_time"]) and min(parts) >= 0, entry
        assert entry["profile/decode_steps"] >= entry["completions/max_length"], entry
        assert 0 < entry["profile/slot_use"] <= 1, entry
    assert any(entry["profile/decoding_rounds"] >= 2 for entry in steps if entry["tools/call_frequency"]), steps


def test_unknown_tool_and_bad_provider_fail_at_parse_time_naming_the_field():
    with pytest.raises(ValueError, match=r"tools: unknown tool\(s\) \['bash'\]"):
        parse("--tools", "bash")
    with pytest.raises(ValueError, match=r"tools: unknown tool\(s\) \['pyhton'\]; .* \(did you mean python\?\)$"):
        parse("--tools", "pyhton")
    with pytest.raises(ValueError, match="python_tool_provider must be one of"):
        parse("--python_tool_provider", "piston")


def test_a_template_that_cannot_render_tool_calls_fails_at_start_up(tiny_model):
    from transformers import AutoTokenizer

    from open_r1.tools.training import python_tool_environment

    script_args, _, _ = parse()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)  # plain ChatML: drops tool_calls
    with pytest.raises(ValueError, match="tools: the chat template does not render tool calls"):
        python_tool_environment(script_args, tokenizer, max_tool_calling_iterations=2)


def test_the_evaluator_measures_a_tool_model_with_the_tool_as_it_was_trained(tool_calling_model, tmp_path):
    from open_r1.eval.arguments import EvaluateArguments
    from open_r1.eval.offline import evaluate

    with skip_without_isolation():
        isolation_mode()
    problem = tool_calling_model["problem"]
    data = tmp_path / "test.jsonl"
    data.write_text(json.dumps({"id": "p0", "problem": problem["problem"], "answer": problem["answer"]}) + "\n")
    common = dict(
        task="tool_arithmetic",
        data_files=str(data),
        model=str(tool_calling_model["path"]),
        num_samples=1,
        temperature=0.0,
        max_new_tokens=96,
        system_prompt=TOOL_SYSTEM_PROMPT,
        device="cpu",
        dtype="float32",
    )
    try:
        with_tool = evaluate(
            EvaluateArguments(
                output_dir=str(tmp_path / "tool"), tools=["python"], max_tool_calling_iterations=2, **common
            )
        )
    finally:
        clear_providers()
    [row] = [json.loads(line) for line in (tmp_path / "tool" / "details.jsonl").open()]
    roles = [message["role"] for message in row["completion"]]
    assert roles[:2] == ["assistant", "tool"], row["completion"]
    assert row["completion"][1]["content"] == problem["answer"] + "\n", "the tool's real output reached the model"
    assert with_tool["settings"]["tools"] == ["python"]
    assert with_tool["finish_reasons"] == {"stop": 1, "length": 0, "tool_rounds": 0}
    # Two generate calls, the second after the tool result; one row, so every decoded slot holds a kept token.
    decoding = with_tool["decoding"]
    assert decoding["calls"] == 2 and decoding["slot_use"] == 1.0, decoding
    assert decoding["decode_steps"] == decoding["kept_tokens"] > 0 and decoding["seconds"] > 0
    # The second call reads the prompt again, with the first turn and its tool result.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tool_calling_model["path"])
    assert decoding["context_tokens"] > 2 * len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"])
    # Its details are graded again, rollouts and all, to the same numbers.
    regraded = evaluate(
        EvaluateArguments(
            task="tool_arithmetic",
            data_files=str(data),
            predictions=str(tmp_path / "tool" / "details.jsonl"),
            output_dir=str(tmp_path / "regraded"),
        )
    )
    assert (regraded["pass@1"], regraded["finish_reasons"]) == (1.0, with_tool["finish_reasons"])
    without_tool = evaluate(EvaluateArguments(output_dir=str(tmp_path / "plain"), **common))
    assert with_tool["pass@1"] == 1.0, row
    [plain] = [json.loads(line) for line in (tmp_path / "plain" / "details.jsonl").open()]
    # Without the tool the same model's call is text that nobody runs, and it never gets to an answer.
    assert isinstance(plain["completion"], str) and "<tool_call>" in plain["completion"], plain
    assert without_tool["pass@1"] == 0.0 and without_tool["settings"]["tools"] == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tools": ["bash"]}, r"--tools: unknown tool\(s\) \['bash'\]"),
        ({"python_tool_wall_seconds": 1.0}, "--python_tool_wall_seconds is set but --tools is empty"),
        ({"tools": ["python"], "max_tool_calling_iterations": -1}, "max_tool_calling_iterations must be >= 0"),
        ({"tools": ["python"], "python_tool_provider": "piston"}, "provider must be one of"),
        ({"python_tool_rollout_seconds": 9.0}, "--python_tool_rollout_seconds is set but --tools is empty"),
        ({"tools": ["python"], "python_tool_rollout_seconds": 1.0}, "rollout_seconds must be 0 .* or at least"),
    ],
)
def test_evaluator_tool_options_are_checked_naming_the_option(kwargs, message, tmp_path):
    from open_r1.eval.arguments import EvaluateArguments

    with pytest.raises(ValueError, match=message):
        EvaluateArguments(task="t", data_files="x.jsonl", output_dir=str(tmp_path), model="m", **kwargs)


def test_the_evaluator_takes_every_python_tool_field_of_grpo_with_its_default_and_refuses_each_without_tools(tmp_path):
    import dataclasses

    from open_r1.eval.arguments import TOOL_FIELDS, EvaluateArguments
    from open_r1.sandbox.config import DEFAULT_PROVIDER

    def tool_defaults(arguments):
        return {
            item.name: item.default for item in dataclasses.fields(arguments) if item.name.startswith("python_tool_")
        }

    # `make gsm8k` evaluates the tool arm with its GRPO recipe's TOOL_FIELDS: a field only GRPO had would be dropped.
    assert tool_defaults(EvaluateArguments) == tool_defaults(GRPOScriptArguments)
    assert tool_defaults(GRPOScriptArguments)["python_tool_provider"] == DEFAULT_PROVIDER
    assert set(TOOL_FIELDS) == {
        "max_tool_calling_iterations",
        "code_num_workers",
        "tool_rollout_chunk_tokens",
        *tool_defaults(EvaluateArguments),
    }
    one_name_one_default = ("code_num_workers", "reward_num_workers", "reward_timeout_seconds")
    for name in one_name_one_default:
        assert (
            EvaluateArguments.__dataclass_fields__[name].default
            == GRPOScriptArguments.__dataclass_fields__[name].default
        )
    other_values = {
        "max_tool_calling_iterations": 2,
        "python_tool_provider": "e2b",
        "python_tool_rollout_seconds": 9.0,
        "code_num_workers": 3,
        "tool_rollout_chunk_tokens": 32,
    }
    # GRPO's tool_rollout_chunk_tokens is a field of its training arguments, with the same default (None: rounds).
    from open_r1.configs import GRPOConfig

    assert (
        EvaluateArguments.__dataclass_fields__["tool_rollout_chunk_tokens"].default
        == GRPOConfig.__dataclass_fields__["tool_rollout_chunk_tokens"].default
        is None
    )
    for name in TOOL_FIELDS:
        value = other_values[name] if name in other_values else 2 * tool_defaults(EvaluateArguments)[name]
        with pytest.raises(ValueError, match=f"--{name} is set but --tools is empty"):
            EvaluateArguments(task="t", data_files="x.jsonl", output_dir=str(tmp_path), model="m", **{name: value})


def test_the_evaluators_tool_time_budget_follows_its_rounds_unless_set(tmp_path):
    from open_r1.eval.arguments import EvaluateArguments

    common = dict(task="t", data_files="x.jsonl", output_dir=str(tmp_path), model="m", tools=["python"])
    rounds = EvaluateArguments(max_tool_calling_iterations=3, python_tool_wall_seconds=2.0, **common)
    assert rounds.tool_settings().budget_seconds == 3 * 2.0
    assert EvaluateArguments(python_tool_rollout_seconds=7.0, **common).tool_settings().budget_seconds == 7.0


def test_a_grpo_recipes_unbounded_rounds_reach_the_evaluator_as_trls_none(tmp_path):
    from open_r1.eval.arguments import EvaluateArguments, recipe_tool_settings
    from open_r1.tools.python_tool import DEFAULT_MAX_TOOL_CALLING_ITERATIONS

    recipe = {"tools": ["python"], "max_tool_calling_iterations": None, "python_tool_wall_seconds": 2.0}
    args = EvaluateArguments(
        task="t", data_files="x.jsonl", output_dir=str(tmp_path), model="m", **recipe_tool_settings(recipe)
    )
    assert args.max_tool_calling_iterations is None
    # The time budget GRPO gives such a recipe's rollouts (PythonToolArguments.python_tool_settings), not another.
    assert args.tool_settings().budget_seconds == DEFAULT_MAX_TOOL_CALLING_ITERATIONS * 2.0


def test_tools_do_not_apply_to_saved_predictions(tmp_path):
    from open_r1.eval.arguments import EvaluateArguments

    with pytest.raises(ValueError, match="--tools applies to generation"):
        EvaluateArguments(
            task="t", data_files="x.jsonl", output_dir=str(tmp_path), predictions="p.jsonl", tools=["python"]
        )


def test_largest_budget_left_matches_each_row_to_its_prompt_and_never_cuts_what_trl_keeps():
    from open_r1.tools.training import largest_budget_left

    short, long = [1, 2, 3], [4, 5, 6, 7, 8]
    # A row holds its prompt, then what it generated and the tool results so far: 6 and 2 tokens used of 10.
    assert largest_budget_left([short + [9] * 6, long + [9] * 2], [short, long, long], 10) == 8
    # A prompt that is the start of another: the row is given the longer one, the smaller use (a larger budget).
    assert largest_budget_left([short + [7, 9]], [short, short + [7]], 10) == 9
    # A row that starts with no prompt of the batch gets the whole budget; a row at its budget, one token.
    assert largest_budget_left([[9, 9, 9, 9]], [short], 10) == 10
    assert largest_budget_left([short + [9] * 10], [short], 10) == 1


def _tool_trainers(
    tool_calling_model,
    tmp_path,
    max_completion_length: int,
    max_tool_calling_iterations: int = 2,
    tool_args=(),
    chunk_tokens: int | None = None,
    compiled: dict | None = None,
):
    """Bare TRL's GRPOTrainer and the project's, greedy, on the memorised tool rollout (`tool_calling_model`, or
    `two_call_tool_model`); each records the number of prompt tokens and the `max_new_tokens` of every generate
    call. With `chunk_tokens`, a third: the project's decoding rollouts ahead in chunks of that many tokens; with
    `compiled` (fields of its own), the project's under `compile_generation`."""
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.configs import GRPOConfig as ProjectGRPOConfig
    from open_r1.rewards import accuracy_reward
    from open_r1.tools.training import python_tool_environment

    path = tool_calling_model["path"]
    solution = (
        tool_calling_model["solution"]
        if "solution" in tool_calling_model
        else tool_calling_model["problem"]["solution"]
    )
    prompt = [
        {"role": "system", "content": TOOL_SYSTEM_PROMPT},
        {"role": "user", "content": tool_calling_model["user_turn"]},
    ]
    row = {"prompt": prompt, "solution": solution}
    settings = dict(
        output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, bf16=False, num_generations=2,
        per_device_train_batch_size=2, max_completion_length=max_completion_length,
        max_tool_calling_iterations=max_tool_calling_iterations, generation_kwargs={"do_sample": False}, beta=0.0,
        logging_steps=1,
    )  # fmt: skip
    script_args, _, _ = parse(*tool_args)
    trainers = {}
    arms = [
        ("trl", trl.GRPOTrainer, trl.GRPOConfig, {}),
        ("project", grpo.PromptTruncatingGRPOTrainer, ProjectGRPOConfig, {}),
    ]
    if chunk_tokens is not None:
        arms.append(
            ("ahead", grpo.PromptTruncatingGRPOTrainer, ProjectGRPOConfig, {"tool_rollout_chunk_tokens": chunk_tokens})
        )
    if compiled is not None:
        compiled_settings = {"compile_generation": True, "activation_checkpointing": False, **compiled}
        arms.append(("compiled", grpo.PromptTruncatingGRPOTrainer, ProjectGRPOConfig, compiled_settings))
    for name, trainer_class, config_class, extra in arms:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
        rounds = []

        def recording_generate(*args, generate=model.generate, rounds=rounds, **kwargs):
            rounds.append((kwargs["input_ids"].shape[1], kwargs["generation_config"].max_new_tokens))
            return generate(*args, **kwargs)

        model.generate = recording_generate
        environment_factory, _ = python_tool_environment(
            script_args, tokenizer, max_tool_calling_iterations=max_tool_calling_iterations
        )
        trainer = trainer_class(
            model=model,
            reward_funcs=[accuracy_reward],
            args=config_class(**settings, **extra),
            train_dataset=Dataset.from_list([row] * 2),
            processing_class=tokenizer,
            environment_factory=environment_factory,
        )
        trainers[name] = (trainer, rounds)
    return trainers, [row] * 2


def rollouts_as_trls(trainers: dict, batch: list[dict], arm: str) -> dict:
    """Each trainer's generated and scored batch; fails unless `arm`'s tokens and masks are bare TRL's."""
    outputs = {name: trainer._generate_and_score_completions(batch) for name, (trainer, _) in trainers.items()}
    for key in ("completion_ids", "completion_mask", "tool_mask"):
        assert torch.equal(outputs["trl"][key], outputs[arm][key]), key
    return outputs


def two_call_trainers(two_call_tool_model, tmp_path, **settings):
    """`_tool_trainers` on the two-call model, with a time budget for more calls than the rounds allow: only the
    rounds or the token budget keep the second call from running."""
    return _tool_trainers(two_call_tool_model, tmp_path, tool_args=("--python_tool_rollout_seconds", "50"), **settings)


def every_call_took_its_run_ahead(trainer, codes: list[str], calls: int) -> None:
    """Fails unless each rollout of the two-call model made its first `calls` calls (printing 42, then 43), each
    taking the result run ahead (the second replaying the first one's cell), and no other program ran ahead."""
    trainer._tools_ahead_pool.shutdown(wait=True)  # whatever was started ahead has run
    expected = list(zip(codes, ["42\n", "43\n"]))[:calls]
    for environment in trainer.environments:
        assert environment.transcript == expected
        assert environment.calls_ahead == environment.runs_ahead == calls


@pytest.mark.timeout(300)
def test_rounds_after_tool_results_decode_only_the_budget_left_and_keep_trls_tokens(tool_calling_model, tmp_path):
    with skip_without_isolation():
        isolation_mode()
    try:
        trainers, batch = _tool_trainers(tool_calling_model, tmp_path, max_completion_length=96)
        outputs = rollouts_as_trls(trainers, batch, "project")
        tool_mask = outputs["project"]["tool_mask"][0].tolist()
        assert 0 in tool_mask, "the rollout made no tool call"
        # The second round starts after the tool result: the last masked (tool) token.
        used_before_answer = len(tool_mask) - tool_mask[::-1].index(0)
        for name in ("trl", "project"):
            rounds = trainers[name][1]
            assert len(rounds) == 2 and rounds[0][1] == 96, (name, rounds)
        # TRL asks the answer round for the whole budget again; the project for what the rows have left.
        assert trainers["trl"][1][1][1] == 96
        assert trainers["project"][1][1][1] == 96 - used_before_answer

        # A budget that ends inside the answer: the project decodes 2 tokens where TRL decodes the answer and cuts
        # it to 2; both keep the same tokens.
        trainers, batch = _tool_trainers(tool_calling_model, tmp_path, max_completion_length=used_before_answer + 2)
        outputs = rollouts_as_trls(trainers, batch, "project")
        assert trainers["project"][1][1][1] == 2
        assert outputs["project"]["tool_mask"].shape[1] == used_before_answer + 2
    finally:
        clear_providers()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "max_completion_length, rounds_of_calls, calls",
    [
        (160, 2, 2),
        (160, 1, 1),  # the second call, which TRL does not make, does not run either
        (75, 2, 1),  # the second result, even empty, would overrun the budget: TRL drops it, so it does not run
        (40, 2, 1),  # the first result would too, but an empty one would fit: it runs, and TRL drops it
    ],
)
def test_each_rounds_calls_run_ahead_and_the_rollouts_are_trls(
    two_call_tool_model, tmp_path, max_completion_length, rounds_of_calls, calls
):
    with skip_without_isolation():
        isolation_mode()
    try:
        trainers, batch = two_call_trainers(
            two_call_tool_model,
            tmp_path,
            max_completion_length=max_completion_length,
            max_tool_calling_iterations=rounds_of_calls,
        )
        rollouts_as_trls(trainers, batch, "project")
        every_call_took_its_run_ahead(trainers["project"][0], two_call_tool_model["codes"], calls)
        calls_past_budget(trainers["project"][0], max_completion_length == 75)
    finally:
        clear_providers()


def calls_past_budget(trainer, one_each: bool) -> None:
    """Fails unless each rollout had its one call past the budget (`one_each`) answered without a run, or none."""
    stats = trainer.environments[0].stats
    assert stats.past_budget == (len(trainer.environments) if one_each else 0)
    assert stats.calls == sum(len(environment.transcript) for environment in trainer.environments)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "max_completion_length, calls, results, past_budget",
    [
        # The whole rollout: a turn of 31 tokens, a result of 12, a turn of 25, a result of 12, the answer.
        (160, 2, 2, False),
        (43, 1, 1, False),  # the first result fills the budget: TRL asks for the next turn and keeps none of it
        (75, 1, 1, True),  # the second result, even empty, would overrun the budget: TRL drops it (it does not run)
        (40, 1, 0, False),  # the first would too, but an empty one would fit: it runs, and TRL drops it
    ],
)
def test_rollouts_decoded_ahead_in_chunks_are_trls_and_every_call_takes_its_run_ahead(
    two_call_tool_model, tmp_path, max_completion_length, calls, results, past_budget
):
    with skip_without_isolation():
        isolation_mode()
    try:
        trainers, batch = two_call_trainers(
            two_call_tool_model, tmp_path, max_completion_length=max_completion_length, chunk_tokens=4
        )
        outputs = rollouts_as_trls(trainers, batch, "ahead")
        ahead, generate_calls = trainers["ahead"]
        # Every generate call decoded at most a chunk: TRL's rounds after the first read the turns decoded ahead.
        assert generate_calls and all(max_new_tokens <= 4 for _, max_new_tokens in generate_calls), generate_calls
        tool_mask = outputs["ahead"]["tool_mask"][0].tolist()
        assert sum(1 for before, now in zip([1, *tool_mask], tool_mask) if before == 1 and now == 0) == results
        every_call_took_its_run_ahead(ahead, two_call_tool_model["codes"], calls)
        calls_past_budget(ahead, past_budget)
    finally:
        clear_providers()


@pytest.mark.timeout(300)
def test_compiled_generation_decodes_trls_tool_rollouts_through_a_compiled_static_cache_in_every_round(
    tool_calling_model, tmp_path, monkeypatch
):
    """`compile_generation` (open_r1.utils.compiled_generation) on a CPU: every round's generate call decodes from a
    static cache through transformers' compiled step (torch.compile's eager backend here, as transformers compiles
    only on a GPU unless told to), and the rollouts stay TRL's. The refusal of a CPU is lifted for the test (its own
    test: tests/utils/test_compiled_generation.py)."""
    from transformers import CompileConfig

    from open_r1.utils import compiled_generation
    from tests.support.compiled_on_cpu import recorded_static_caches

    static_caches = recorded_static_caches(monkeypatch)
    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    with skip_without_isolation():
        isolation_mode()
    try:
        trainers, batch = _tool_trainers(tool_calling_model, tmp_path, max_completion_length=96, compiled={})
        trainer, rounds = trainers["compiled"]
        trainer.generation_config.compile_config = CompileConfig(backend="eager", mode=None)
        trainer.generation_config.compile_config._compile_all_devices = True  # transformers' switch for a CPU
        configs = []

        def config_recording_generate(*args, generate=trainer.model.generate, **kwargs):
            configs.append(kwargs["generation_config"])
            return generate(*args, **kwargs)

        trainer.model.generate = config_recording_generate
        static_caches.clear()
        rollouts_as_trls(trainers, batch, "compiled")
        assert len(rounds) == 2 and rounds == trainers["project"][1]  # the tool call's round and the answer's
        assert [(config.cache_implementation, config.disable_compile) for config in configs] == [("static", False)] * 2
        assert len(static_caches) == 2  # one per round of the compiled arm; the other arms' caches are dynamic
        assert hasattr(trainer.model, "_compiled_call")  # transformers compiled the decode step
        assert not hasattr(trainers["project"][0].model, "_compiled_call")
        assert trainers["project"][0].generation_config.disable_compile is True  # TRL's, without the field
    finally:
        clear_providers()


@pytest.mark.timeout(300)
def test_rollouts_decoded_ahead_through_the_compiled_step_are_trls_in_one_cache_length(
    two_call_tool_model, tmp_path, monkeypatch
):
    """`compile_generation` and `tool_rollout_chunk_tokens` together (a GPU run of make gsm8k's tool arm under
    --compile_generation) on a CPU: every chunk's generate call decodes through the compiled step, its rows padded to
    a bucket, from a static cache of the one length `max_prompt_length` sets, whatever context the rollout has
    reached, and the rollouts and tool calls are TRL's."""
    from open_r1.utils import compiled_generation
    from tests.support.compiled_on_cpu import cpu_compile_config, recorded_static_caches

    static_caches = recorded_static_caches(monkeypatch)
    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    with skip_without_isolation():
        isolation_mode()
    try:
        budget, prompt_length = 160, 256
        compiled = {"tool_rollout_chunk_tokens": 4, "max_prompt_length": prompt_length}
        trainers, batch = two_call_trainers(
            two_call_tool_model, tmp_path, max_completion_length=budget, chunk_tokens=4, compiled=compiled
        )
        trainer, generate_calls = trainers["compiled"]
        trainer.generation_config.compile_config = cpu_compile_config()
        # A generation of 4 rows to pad to: the batch's 2 rollouts decode in calls of 4, the copies dropped.
        monkeypatch.setattr(trainer, "_generation_rows", lambda: 4)
        rows = []

        def rows_recording_generate(*args, generate=trainer.model.generate, **kwargs):
            rows.append(kwargs["input_ids"].shape[0])
            return generate(*args, **kwargs)

        trainer.model.generate = rows_recording_generate
        static_caches.clear()
        outputs = rollouts_as_trls(trainers, batch, "compiled")
        assert torch.equal(outputs["ahead"]["completion_ids"], outputs["compiled"]["completion_ids"])
        # Decoded ahead: many calls of at most a chunk each, where TRL's rounds make three; each of a padded bucket.
        assert len(generate_calls) > 3 and all(new_tokens <= 4 for _, new_tokens in generate_calls), generate_calls
        assert rows == [4] * len(generate_calls)
        compiled_caches = static_caches[-len(generate_calls) :]
        assert {cache.layers[0].max_cache_len for cache in compiled_caches} == {prompt_length + 2 * budget}
        assert hasattr(trainer.model, "_compiled_call")  # transformers compiled the decode step
        every_call_took_its_run_ahead(trainer, two_call_tool_model["codes"], calls=2)
    finally:
        clear_providers()


def test_python_codes_stop_at_the_first_call_trl_would_not_make_of_the_python_tool():
    from open_r1.tools.training import python_codes
    from tests.conftest import python_call

    assert python_codes([python_call("a = 1"), python_call("print(a)")]) == ["a = 1", "print(a)"]
    other_tool = {"type": "function", "function": {"name": "search", "arguments": {"query": "x"}}}
    bad_arguments = {"type": "function", "function": {"name": "python", "arguments": {"code": "1", "extra": 2}}}
    not_code = {"type": "function", "function": {"name": "python", "arguments": {"code": 7}}}
    for stop in (other_tool, bad_arguments, not_code, {"type": "other"}, "not a call"):
        assert python_codes([python_call("a = 1"), stop, python_call("print(a)")]) == ["a = 1"]


def test_rows_of_a_round_are_matched_to_their_rollouts_in_order_and_unknown_rows_to_none():
    from open_r1.tools.training import rows_of_round

    prompts = [[1, 2], [1, 2], [3]]
    completions = [[7, 8], [7, 9], [5]]
    # Rollouts 0 and 2 called a tool; 1 did not. Each row: prompt, completion so far, tool result.
    rows = [[1, 2, 7, 8, 40], [3, 5, 41]]
    assert rows_of_round(rows, prompts, completions, active=[0, 2]) == [0, 2]
    # TRL dropped rollout 0 (its result overran the budget): the first row is rollout 2's.
    assert rows_of_round([[3, 5, 41]], prompts, completions, active=[0, 2]) == [2]
    assert rows_of_round([[1, 2, 7, 9, 40]], prompts, completions, active=[0, 2]) is None
    # None dropped: each row must be its rollout's, in order.
    assert rows_of_round([[3, 5, 41], [1, 2, 7, 8, 40]], prompts, completions, active=[0, 2]) is None


def test_a_row_whose_rollout_cannot_be_told_apart_from_a_dropped_one_is_not_matched():
    from open_r1.tools.training import rows_of_round

    # Rollouts 0 and 1 are alike so far and TRL dropped one of them: the row may be either's.
    prompts, completions = [[1, 2], [1, 2], [3]], [[7, 8], [7, 8], [5]]
    assert rows_of_round([[1, 2, 7, 8, 41], [3, 5, 4]], prompts, completions, active=[0, 1, 2]) == [None, 2]
    # Both kept: the rows are theirs in order, alike or not.
    assert rows_of_round([[1, 2, 7, 8, 40], [1, 2, 7, 8, 41]], prompts, completions, active=[0, 1]) == [0, 1]


def test_training_ends_with_the_pool_of_calls_run_ahead_shut_down_and_its_waiting_runs_cancelled():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from open_r1.tools.training import ToolCallsAhead

    release = threading.Event()

    class Trainer:
        def train(self):
            self._tools_ahead_pool = ThreadPoolExecutor(1)
            self._tools_ahead_pool.submit(release.wait)  # a run ahead still going when training ends
            self.waiting = self._tools_ahead_pool.submit(print, "never run")
            raise RuntimeError("training failed")

    class Training(ToolCallsAhead, Trainer):
        pass

    trainer = Training()
    with pytest.raises(RuntimeError, match="training failed"):
        trainer.train()
    release.set()
    assert trainer._tools_ahead_pool is None and trainer.waiting.cancelled()


def test_calls_run_ahead_use_at_most_this_processs_share_of_the_cores(monkeypatch):
    from open_r1.tools import training

    monkeypatch.setattr(training, "usable_cores", lambda: 16)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert training.calls_ahead_workers(4) == 4
    assert training.calls_ahead_workers(32) == 16
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # eight training processes on this machine
    assert training.calls_ahead_workers(4) == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")
    assert training.calls_ahead_workers(4) == 1


def test_the_logged_tool_figures_combine_every_processs_calls():
    from open_r1.tools.python_tool import TOOL_COUNTS, TOOL_MAXIMA, ToolStats
    from open_r1.tools.training import logged_tool_metrics

    stats = ToolStats()  # this process: 2 rollouts, 4 calls, 1 failed
    for _ in range(2):
        stats.record_rollout(budget_seconds=10.0)
    for failed in (False, False, False, True):
        stats.record_call(0.01, failed, charged=0.5, rollout_charged=1.0)
    # Another process: 2 rollouts, 4 calls, all failed, one rollout charged 3 s.
    other = {"rollouts": 2, "calls": 4, "errors": 4, "refused": 0, "exhausted_rollouts": 0, "seconds": 0.04}
    other |= {"charged_seconds": 2.0, "most_charged_seconds": 3.0, "budget_seconds": 10.0, "past_budget": 2}

    class TwoProcesses:
        num_processes, device = 2, "cpu"

        @staticmethod
        def gather(local):
            theirs = torch.tensor([[float(other[name]) for name in TOOL_COUNTS + TOOL_MAXIMA]], dtype=local.dtype)
            return torch.cat([local, theirs])

    metrics = logged_tool_metrics(stats, TwoProcesses())
    assert metrics["tools/python_error_rate"] == 5 / 8  # not this process's 1 / 4
    assert metrics["tools/python_calls_per_completion"] == 2.0
    assert metrics["tools/python_budget_used_max"] == 3.0  # the largest, not a sum
    assert metrics["tools/python_budget_seconds"] == 10.0
    assert metrics["tools/python_calls_past_budget_per_completion"] == 0.5  # the other process's 2 over 4 rollouts
    # One process: its own figures, as before.
    stats.record_rollout(budget_seconds=10.0)
    stats.record_call(0.01, True)
    single = logged_tool_metrics(stats, types.SimpleNamespace(num_processes=1))
    assert single["tools/python_error_rate"] == 1.0 and single["tools/python_calls_per_completion"] == 1.0


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("decoded_ahead", [False, True])
def test_grpo_with_the_tool_on_two_processes_logs_every_processs_calls(tool_calling_model, tmp_path, decoded_ahead):
    from tests.support.launch import accelerate_launch, log_history

    ahead = ("--tool_rollout_chunk_tokens", "8") if decoded_ahead else ()
    arguments = memorised_tool_run(tool_calling_model, tmp_path, rows=16)
    accelerate_launch("grpo.py", RECIPE, *arguments, *ahead, num_processes=2)
    steps = [entry for entry in log_history(tmp_path / "out") if "tools/python_calls_per_completion" in entry]
    # Both processes' calls, gathered at each logging step (a collective every process reached: the run ended).
    assert [entry["step"] for entry in steps] == [1, 2]
    assert all(entry["tools/python_calls_per_completion"] > 0 for entry in steps), steps
    # Decoded ahead, each process makes its own generate calls of at most 8 tokens: more than the rounds' 2.
    assert all((entry["profile/decoding_rounds"] > 2) == decoded_ahead for entry in steps), steps


def test_the_evaluators_tool_sandbox_runs_code_num_workers_programs_not_the_grading_workers(tmp_path):
    from open_r1.eval.arguments import EvaluateArguments

    common = dict(task="t", data_files="x.jsonl", output_dir=str(tmp_path), model="m", tools=["python"])
    settings = EvaluateArguments(code_num_workers=3, reward_num_workers=1, **common).tool_settings()
    assert settings.sandbox.num_workers == 3
