"""Specification of `scripts/pass_rate_filtering/compute_pass_rate.py`: sample, grade, filter, write pass rates."""

import json
import re

import datasets
import pytest

from tests.support import REPO_ROOT
from tests.support.files import write_jsonl
from tests.support.json_server import JsonHandler
from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def script():
    return load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")


def _args(script, **overrides):
    script_fields = {"dataset_name", "dataset_train_split", "dataset_prompt_column", "reward_funcs", "output_dir"}
    script_fields |= {"pass_rate_min", "pass_rate_max", "dataset_start_index", "dataset_end_index"}
    script_kwargs = {k: v for k, v in overrides.items() if k in script_fields}
    gen_kwargs = {k: v for k, v in overrides.items() if k not in script_fields}
    return script.PassRateScriptArguments(**script_kwargs), script.PassRateGenerationArguments(**gen_kwargs)


def _tiny_cpu_args(script, tiny_model, tmp_path, **overrides):
    """A run of the tiny model on the CPU (transformers), graded by accuracy, keeping every gradable row."""
    settings = dict(reward_funcs=["accuracy"], pass_rate_min=0.0, pass_rate_max=1.0, temperature=1.0)
    settings |= dict(output_dir=str(tmp_path / "out"), model_name_or_path=str(tiny_model), backend="transformers")
    return _args(script, **settings | overrides)


def test_cpu_run_with_the_tiny_model_writes_pass_rate_columns(script, tiny_model, tiny_assets, tmp_path):
    script_args, gen_args = _tiny_cpu_args(
        script,
        tiny_model,
        tmp_path,
        dataset_name=str(tiny_assets["tiny-math"]),
        dataset_train_split="test",
        dataset_prompt_column="prompt",
        dataset_end_index=6,
        num_generations=3,
        max_completion_length=8,
    )
    script.main(script_args, gen_args)
    saved = datasets.load_from_disk(str(tmp_path / "out"))
    assert sorted(saved) == ["test", "test_all"]
    everything = saved["test_all"]
    assert len(everything) == 6 and len(saved["test"]) == 6  # [0, 1] keeps every gradable row
    for row in everything:
        assert len(row["pass_rate_generations"]) == 3 and len(row["pass_rate_rewards"]) == 3
        assert row["pass_rate"] == sum(row["pass_rate_rewards"]) / 3


@pytest.fixture
def problems(tmp_path):
    rows = [
        {"problem": "What is 2+2?", "solution": "4"},
        {"problem": "What is 3+4?", "solution": "7"},
        {"problem": "What is 1/2?", "solution": "\\frac{1}{2}"},
        {"problem": "Unparseable gold", "solution": "\\boxed{}"},
    ]
    path = tmp_path / "problems.jsonl"
    write_jsonl(path, rows)
    return path


def test_rows_are_kept_only_when_their_pass_rate_lies_in_the_bounds(script, problems, tmp_path, monkeypatch):
    canned = [
        ["\\boxed{4}", "\\boxed{4}", "\\boxed{4}", "\\boxed{5}"],  # 0.75
        ["\\boxed{7}", "\\boxed{1}", "\\boxed{2}", "no answer"],  # 0.25
        ["\\boxed{0.5}", "\\boxed{\\frac{2}{4}}", "\\boxed{1/2}", "\\boxed{\\frac12}"],  # 1.0
        ["\\boxed{1}", "\\boxed{1}", "\\boxed{1}", "\\boxed{1}"],  # gold cannot be graded
    ]
    monkeypatch.setitem(script.SAMPLERS, "openai", lambda conversations, args: canned[: len(conversations)])
    script_args, gen_args = _args(
        script,
        dataset_name=str(problems),
        dataset_prompt_column="problem",
        reward_funcs=["accuracy"],
        pass_rate_min=0.2,
        pass_rate_max=0.8,
        output_dir=str(tmp_path / "out"),
        model_name_or_path="served-model",
        backend="openai",
        num_generations=4,
    )
    result = script.main(script_args, gen_args)
    assert result["train_all"]["pass_rate"] == [0.75, 0.25, 1.0, None]
    assert result["train_all"]["pass_rate_rewards"][1] == [1.0, 0.0, 0.0, 0.0]
    assert result["train"]["problem"] == ["What is 2+2?", "What is 3+4?"]
    assert datasets.load_from_disk(str(tmp_path / "out"))["train"]["pass_rate"] == [0.75, 0.25]


def test_a_last_shard_past_the_split_ends_with_it_and_an_empty_one_is_refused(script, problems):
    """Found by an audit: dataset_end_index 5000 on a 200-row split gave a 32-line IndexError."""
    from open_r1.usage import UsageError

    def rows(start, end):
        script_args, _ = _args(
            script, dataset_name=str(problems), dataset_prompt_column="problem", output_dir="o",
            model_name_or_path="m", dataset_start_index=start, dataset_end_index=end,
        )  # fmt: skip
        return script.load_rows(script_args)

    assert len(rows(2, 5000)) == 2  # the fixture's 4 problems, from the third
    for start, end, name in ((-2, None, "dataset_start_index"), (0, -1, "dataset_end_index")):  # were tracebacks
        with pytest.raises(ValueError, match=f"^{name} is a row number, at least 0; got -"):
            rows(start, end)
    with pytest.raises(UsageError, match="dataset_start_index 10 to dataset_end_index 20 keeps none of the 4 rows"):
        rows(10, 20)


def test_conversational_prompts_are_used_as_is_and_a_system_prompt_is_prepended(script):
    from open_r1.usage import UsageError

    conversations = script.build_conversations(
        ["Solve x.", [{"role": "user", "content": "Hi"}]], system_prompt="Think.", column="prompt"
    )
    assert conversations == [
        [{"role": "system", "content": "Think."}, {"role": "user", "content": "Solve x."}],
        [{"role": "system", "content": "Think."}, {"role": "user", "content": "Hi"}],
    ]
    # A red team's: an empty conversation was a chat-template traceback once the model had loaded.
    for prompt in (42, []):
        with pytest.raises(
            UsageError, match="row 1: column 'prompt' must be a string or a non-empty list of messages"
        ):
            script.build_conversations(["Solve x.", prompt], None, "prompt")


def test_a_prompt_that_is_no_conversation_is_named_before_any_model_loads(script, tmp_path):
    from open_r1.usage import UsageError

    chats = [{"prompt": [{"role": "user", "content": "1+1?"}], "solution": "2"}, {"prompt": [], "solution": "3"}]
    script_args, gen_args = _args(
        script, dataset_name=str(write_jsonl(tmp_path / "chats.jsonl", chats)), dataset_prompt_column="prompt",
        reward_funcs=["accuracy"], output_dir=str(tmp_path / "out"), model_name_or_path=str(tmp_path / "no-model"),
        backend="transformers",
    )  # fmt: skip
    with pytest.raises(UsageError, match=r"^row 1: column 'prompt' must be a string or a non-empty list of messages"):
        script.main(script_args, gen_args)


def test_bad_bounds_and_missing_outputs_are_rejected(script, monkeypatch):
    import huggingface_hub

    with pytest.raises(ValueError, match="pass_rate_min <= pass_rate_max"):
        script.PassRateScriptArguments(dataset_name="x", pass_rate_min=0.9, pass_rate_max=0.1, output_dir="o")
    # No output named: upstream pushed to <dataset>-<model>-<revision>-gen; that needs a login, checked up front.
    gen_args = script.PassRateGenerationArguments(model_name_or_path="org/Model-7B", model_revision="v1")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ValueError, match="set output_dir.*pushed to org/data-Model-7B-v1-gen.*Hub login"):
        script.resolve_outputs(script.PassRateScriptArguments(dataset_name="org/data"), gen_args)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_token")
    script_args = script.PassRateScriptArguments(dataset_name="org/data")
    script.resolve_outputs(script_args, gen_args)
    assert script_args.output_dataset_name == "org/data-Model-7B-v1-gen"


def test_model_loading_fields_are_refused_where_the_backend_cannot_apply_them(script):
    with pytest.raises(ValueError, match=r"backend 'openai' cannot apply \['chat_template', 'model_revision'\]"):
        script.PassRateGenerationArguments(
            model_name_or_path="m", backend="openai", model_revision="v1", chat_template="x"
        )
    with pytest.raises(ValueError, match="attn_implementation='eager': backend 'vllm' chooses its own"):
        script.PassRateGenerationArguments(model_name_or_path="m", attn_implementation="eager")
    script.PassRateGenerationArguments(model_name_or_path="m", attn_implementation="flash_attention_2")  # upstream's
    with pytest.raises(ValueError, match="one positive weight per reward"):
        script.PassRateScriptArguments(
            dataset_name="x", output_dir="o", reward_funcs=["accuracy"], reward_weights=[0.0]
        )
    weighted = script.PassRateScriptArguments(
        dataset_name="x", output_dir="o", reward_funcs=["accuracy"], reward_weights=[1.0]
    )
    assert weighted.reward_weights == [1.0]


@pytest.mark.parametrize(
    "backend, field, value, reader",
    [
        ("transformers", "base_url", "http://localhost:9/v1", "base_url (openai)"),
        ("transformers", "tensor_parallel_size", 2, "tensor_parallel_size (vllm)"),
        ("vllm", "max_concurrent_requests", 4, "max_concurrent_requests (openai)"),
        ("openai", "batch_size", 4, "batch_size (transformers)"),
    ],
)
def test_a_field_another_backend_reads_is_refused_not_dropped(script, backend, field, value, reader):
    """Found by a newcomer audit: --base_url with backend transformers generated locally, without a word."""
    with pytest.raises(ValueError, match=rf"backend '{backend}' does not read {re.escape(reader)}"):
        script.PassRateGenerationArguments(model_name_or_path="m", backend=backend, **{field: value})


def test_several_greedy_generations_are_refused_as_making_every_pass_rate_0_or_1(script):
    """Found by an audit: temperature 0 with num_generations 4 ran, and its filter meant nothing."""
    with pytest.raises(ValueError, match="num_generations 4 at temperature 0: every completion would be the greedy"):
        script.PassRateGenerationArguments(model_name_or_path="m", temperature=0.0, num_generations=4)
    script.PassRateGenerationArguments(model_name_or_path="m", temperature=0.0, num_generations=1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("batch_size", 0, "batch_size must be at least 1, got 0"),
        ("max_completion_length", 0, "max_completion_length must be at least 1, got 0"),
        ("max_concurrent_requests", -1, "max_concurrent_requests must be at least 1, got -1"),
        ("temperature", -1.0, "temperature must be >= 0, got -1"),
        ("top_p", 2.0, r"top_p must be in \(0, 1\] \(1.0 keeps every token\), got 2"),
        ("gpu_memory_utilization", 1.5, r"gpu_memory_utilization must be in \(0, 1\], got 1.5"),
    ],
)
def test_numbers_sampling_cannot_use_are_refused_before_the_model_loads(script, field, value, message):
    """A newcomer audit's: batch_size 0 or -1 failed after generating, temperature -1 and top_p 2 ran greedily."""
    with pytest.raises(ValueError, match=f"^{message}$"):
        script.PassRateGenerationArguments(model_name_or_path="m", backend="vllm", **{field: value})


@pytest.mark.timeout(120)
def test_code_rows_whose_tests_all_expect_nothing_are_reported_by_id(script, tmp_path, monkeypatch, caplog):
    def info(*outputs):
        return json.dumps({"language": "python", "test_cases": [{"input": "1", "output": o} for o in outputs]})

    rows = [
        {"id": "empty", "prompt": "p", "verification_info": info("", " \n")},
        {"id": "mixed", "prompt": "p", "verification_info": info("", "2")},
        {"id": "fine", "prompt": "p", "verification_info": info("2")},
        {"id": "blank", "prompt": "p", "verification_info": info("\t")},
    ]
    path = tmp_path / "code.jsonl"
    write_jsonl(path, rows)
    # Completions without code: nothing runs, a judgeable row gets 0.0.
    monkeypatch.setitem(script.SAMPLERS, "openai", lambda conversations, args: [["no code"]] * len(conversations))
    script_args, gen_args = _args(
        script,
        dataset_name=str(path),
        dataset_prompt_column="prompt",
        reward_funcs=["code"],
        pass_rate_min=0.0,
        pass_rate_max=1.0,
        output_dir=str(tmp_path / "out"),
        model_name_or_path="served-model",
        backend="openai",
        num_generations=1,
    )
    result = script.main(script_args, gen_args)
    assert result["train_all"]["pass_rate"] == [None, 0.0, 0.0, None]
    assert "2 rows cannot be judged and get pass_rate None: every test expects empty output" in caplog.text
    assert "ids: ['empty', 'blank']" in caplog.text
    ioi_rows = {"verification_info": [{"subtasks": [{"score": 1, "test_cases": [{"input": "", "output": ""}]}]}]}
    assert script.rows_whose_tests_expect_nothing(ioi_rows, ["accuracy", "ioi_code"]) == [0]
    assert script.rows_whose_tests_expect_nothing(ioi_rows, ["code"]) == []  # code reads test_cases, not subtasks
    cf_rows = {"official_tests": [[{"input": "", "output": " "}], [{"input": "", "output": "1"}]]}
    assert script.rows_whose_tests_expect_nothing(cf_rows, ["cf_code"]) == [0]


RECIPE = REPO_ROOT / "recipes" / "dataset_filtering" / "config_tiny_cpu.yaml"


@pytest.mark.parametrize(
    "options, message",
    [
        (["--dataset_name", "data/tiny-maht"], "dataset_name: no such file or folder: data/tiny-maht (did you mean"),
        (
            ["--pass_rate_mni", "0.2"],
            "unknown option --pass_rate_mni (did you mean --pass_rate_min or --pass_rate_max?)",
        ),
        (["--dataset_prompt_column", "question"], "dataset_prompt_column 'question' is not a column of the dataset"),
        (["--dataset_prompt_column", "promtp"], "(did you mean dataset_prompt_column prompt?)"),
    ],
)
def test_the_command_line_reports_a_mistake_in_one_line_with_status_2_before_sampling(
    script, tiny_model, tiny_assets, tmp_path, monkeypatch, capsys, options, message
):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tiny-math").symlink_to(tiny_assets["tiny-math"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        script.cli(["--config", str(RECIPE), "--model_name_or_path", str(tiny_model), *options])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.count("\n") == 1, error
    assert error.startswith("compute_pass_rate.py: error: ") and message in error, error
    assert not (tmp_path / "data" / "tiny-math-pass-rate").exists()


@pytest.mark.parametrize("trainer", ["grpo", "sft"])
def test_a_training_recipe_is_named_as_its_trainers(script, capsys, trainer):
    """A newcomer audit's: a GRPO recipe given here listed its 21 unknown fields without saying whose they are."""
    with pytest.raises(SystemExit) as exited:
        script.cli(["--config", str(REPO_ROOT / "recipes" / "tiny" / trainer / "config_cpu.yaml")])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.count("\n") == 1, error
    assert error.endswith(
        f"(they are src/open_r1/{trainer}.py's: is this a training recipe? recipes/dataset_filtering/ has this "
        "script's)\n"
    )
    with pytest.raises(SystemExit):
        script.cli(["--config", str(RECIPE), "--beta", "0.1"])
    assert capsys.readouterr().err.endswith("unknown option --beta; --help lists them (it is src/open_r1/grpo.py's)\n")


@pytest.mark.parametrize(
    "options, refusal",
    [
        ([], "model_name_or_path Org/Served-Model is neither a local path"),
        (["--backend", "openai", "--output_dataset_name", "me/rates"], "output_dataset_name pushes the result"),
        (["--backend", "openai", "--output_dir", ""], "without output_dir or output_dataset_name the result goes to"),
        (["--backend", "openai"], None),
    ],
    ids=["loaded model", "push", "upstream's push", "served model"],
)
def test_the_hub_is_checked_for_what_the_run_loads_and_pushes_before_sampling(
    script, tiny_assets, tmp_path, monkeypatch, options, refusal
):
    """Offline: a model the run loads must be cached, a model served at base_url is only a name; a push of the
    result, named or upstream's default, would fail after hours of sampling."""
    from open_r1.usage import UsageError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tiny-math").symlink_to(tiny_assets["tiny-math"])
    argv = ["--config", str(RECIPE), "--model_name_or_path", "Org/Served-Model", *options]
    if refusal is None:
        script.check_paths_and_hub(argv)
    else:
        with pytest.raises(UsageError, match=refusal):
            script.check_paths_and_hub(argv)


def test_help_answers_without_a_recipe_or_the_hub(script, monkeypatch, capsys):
    """Found by an audit: `--help` offline said the Hub did not answer."""
    monkeypatch.setattr(script, "check_paths_and_hub", lambda argv: pytest.fail("checked the Hub for --help"))
    with pytest.raises(SystemExit) as exited:
        script.cli(["--help"])
    assert exited.value.code == 0 and "[--config RECIPE.yaml]" in capsys.readouterr().out  # prog: pytest's argv


@pytest.mark.parametrize("where", ["recipe", "option"])
def test_grpos_generation_batch_size_is_named_with_this_scripts_batch_size(script, capsys, tmp_path, where):
    """GRPO's generation_batch_size counts completions; read here as problems per call it would mean another thing."""
    argv = ["--config", str(RECIPE), "--generation_batch_size", "64"]
    if where == "recipe":
        (tmp_path / "recipe.yaml").write_text(RECIPE.read_text() + "generation_batch_size: 64\n")
        argv = ["--config", str(tmp_path / "recipe.yaml")]
    with pytest.raises(SystemExit) as exited:
        script.cli(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "compute_pass_rate.py: error: generation_batch_size is GRPO's (completions per generation step); this "
        "script's is batch_size, problems per transformers generate() call\n"
    )


def test_think_prefilled_is_checked_against_the_chat_template_the_samples_are_drawn_with(script, tiny_model):
    """A review's: the accuracy rewards read think_prefilled, and nothing here checked it against the template."""
    from open_r1.usage import UsageError

    script_args, gen_args = _args(
        script, dataset_name="d", reward_funcs=["accuracy"], model_name_or_path=str(tiny_model), backend="transformers"
    )
    tokenizer = script.local_tokenizer(gen_args)
    script.check_template_against_think_prefilled(script_args, tokenizer)  # neither opens <think>
    script_args.think_prefilled = True
    with pytest.raises(UsageError, match=r"does not open `<think>`.*\['accuracy'\] would find no answer"):
        script.check_template_against_think_prefilled(script_args, tokenizer)
    openai = script.PassRateGenerationArguments(model_name_or_path="served", backend="openai")
    assert script.local_tokenizer(openai) is None  # the server's template: not ours to read
    script.check_template_against_think_prefilled(script_args, None)


def test_a_prompt_past_the_models_context_is_not_sampled_and_the_shard_goes_on(script, tiny_model, tmp_path, caplog):
    """Found by a session: one such row raised "no room to generate" and stopped the whole shard."""
    rows = [
        {"problem": "What is 2+2?", "solution": "4"},
        {"problem": "What is 2+2? " * 1000, "solution": "4"},
        {"problem": "What is 3+4?", "solution": "7"},
    ]
    write_jsonl(tmp_path / "problems.jsonl", rows)
    script_args, gen_args = _tiny_cpu_args(
        script,
        tiny_model,
        tmp_path,
        dataset_name=str(tmp_path / "problems.jsonl"),
        dataset_prompt_column="problem",
        num_generations=2,
        max_completion_length=4,
    )
    with caplog.at_level("WARNING", logger="compute_pass_rate"):
        result = script.main(script_args, gen_args)
    everything = result["train_all"]
    assert [len(samples) for samples in everything["pass_rate_generations"]] == [2, 0, 2]
    assert everything["pass_rate"][1] is None and None not in everything["pass_rate"][::2]
    assert (
        "1 rows' prompts are at least the model's context (1024 tokens)" in caplog.text and "rows [1]" in caplog.text
    )


def test_backend_vllm_without_vllm_stops_before_the_dataset_loads(script, monkeypatch):
    """A newcomer's: the ImportError came as a 12-line traceback once the dataset had loaded."""
    from open_r1.usage import UsageError

    if script.missing_gpu_package("vllm", "x", "y") is None:
        pytest.skip("vllm is installed here")
    monkeypatch.setattr(script, "load_rows", lambda *args: pytest.fail("the dataset loaded"))
    script_args, gen_args = _args(script, dataset_name="d", output_dir="o", model_name_or_path="m", backend="vllm")
    with pytest.raises(
        UsageError, match=r"^backend 'vllm' needs vllm, which is not installed here: .*backend 'transformers'$"
    ):
        script.main(script_args, gen_args)


@pytest.fixture
def hostile_server():
    """An OpenAI-compatible server on loopback that answers "\\boxed{2}", except: a prompt with BAD gets a 400 (a
    prompt past the server's context), one with NULL a null content, one with EMPTY no choices."""
    import http.server
    import threading

    class Handler(JsonHandler):
        def do_GET(self):
            self.reply(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

        def do_POST(self):
            request = self.json_body()
            prompt = request["messages"][-1]["content"]
            if "BAD" in prompt:
                return self.reply(400, {"error": {"message": "prompt too long", "type": "invalid_request_error"}})
            choices = [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None}}]
            if "NULL" not in prompt:
                choices[0]["message"]["content"] = "\\boxed{2}"
            body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": choices}
            self.reply(200, {**body, "choices": [] if "EMPTY" in prompt else choices})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_failed_request_costs_its_row_not_the_shard(script, hostile_server, tmp_path, caplog, monkeypatch):
    """Found by a red team: one 400 (a prompt past the server's context) lost every sample of the shard in a
    traceback; an answer without choices raised IndexError; a null content was graded as a wrong answer."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    prompts = ["1+1? BAD", "1+1?", "1+1? NULL", "1+1? EMPTY"]
    write_jsonl(tmp_path / "rows.jsonl", [{"prompt": prompt, "solution": "2"} for prompt in prompts])
    script_args, gen_args = _args(
        script, dataset_name=str(tmp_path / "rows.jsonl"), dataset_train_split="train", dataset_prompt_column="prompt",
        reward_funcs=["accuracy"], pass_rate_min=0.0, pass_rate_max=1.0, output_dir=str(tmp_path / "out"),
        model_name_or_path="m", backend="openai", base_url=hostile_server, num_generations=2, temperature=1.0,
    )  # fmt: skip
    result = script.main(script_args, gen_args)
    assert result["train_all"]["pass_rate"] == [None, 1.0, None, None]
    assert "6 of 8 requests failed, the first: row " in caplog.text
    assert "3 rows have samples whose requests failed: not graded, pass_rate None (in train_all), rows [0, 2, 3]" in (
        caplog.text
    )


def test_a_missing_gold_column_is_named_before_sampling(script, tmp_path, monkeypatch):
    """Found by a red team: the grading named it after every completion had been sampled, and nothing was saved."""
    write_jsonl(tmp_path / "rows.jsonl", [{"prompt": "1+1?", "answer2": "2"}])
    monkeypatch.setitem(script.SAMPLERS, "openai", lambda *args: pytest.fail("sampled before the check"))
    script_args, gen_args = _args(
        script, dataset_name=str(tmp_path / "rows.jsonl"), dataset_train_split="train", dataset_prompt_column="prompt",
        reward_funcs=["accuracy"], output_dir=str(tmp_path / "out"), model_name_or_path="m", backend="openai",
    )  # fmt: skip
    with pytest.raises(script.UsageError, match=r"the 'accuracy' reward \(reward_funcs\) needs a 'solution' or "):
        script.main(script_args, gen_args)
