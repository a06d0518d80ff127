"""open_r1.usage: one-line usage errors, recipe YAML errors with their place, local paths that do not exist."""

import os
import re

import pytest

from open_r1 import usage
from open_r1.usage import (
    UsageError,
    check_command_line,
    check_local_path,
    check_options_given_once,
    exit_on_usage_error,
    looks_local,
    made_by_script,
    read_recipe,
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory with a `data/` folder holding `tiny-model/` (a model folder's config.json)."""
    (tmp_path / "data" / "tiny-model").mkdir(parents=True)
    (tmp_path / "data" / "tiny-model" / "config.json").write_text("{}")
    (tmp_path / "data" / "tiny-model" / "model.safetensors").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_tab_in_a_recipe_is_reported_at_its_line_and_column(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: m\nlearning_rate: 1.0e-3\n\tmax_steps: 2\n")
    with pytest.raises(UsageError) as raised:
        read_recipe(str(recipe))
    message = str(raised.value)
    assert message.startswith(f"{recipe}:3:1: found character '\\t' that cannot start any token")
    assert "spaces, not tabs" in message and "\n" not in message


def test_other_yaml_errors_are_one_line_at_the_line_at_fault(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("reward_funcs: [accuracy, format\nmax_steps: 2\n")
    with pytest.raises(UsageError, match=rf"^{recipe}:\d+:\d+: .*flow sequence") as raised:
        read_recipe(str(recipe))
    assert "\n" not in str(raised.value)
    recipe.write_text("max_steps: 2\nseed: 0\n- c\n")  # where the block began would be line 1
    with pytest.raises(UsageError, match=rf"^{recipe}:3:1: expected <block end>, but found '-'"):
        read_recipe(str(recipe))
    recipe.write_text("max_steps: 2\nnum_generations 4\nseed: 0\n")  # the key's colon forgotten: found on line 3
    with pytest.raises(
        UsageError, match=rf"^{recipe}:2:1: could not find expected ':' \(while scanning a simple key\)$"
    ):
        read_recipe(str(recipe))


@pytest.mark.parametrize(
    "text, error",
    [("- a\n- b\n", "a recipe is a YAML mapping of fields to values, got list"), ("", "got NoneType")],
)
def test_a_recipe_must_be_a_mapping(tmp_path, text, error):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    with pytest.raises(UsageError, match=error):
        read_recipe(str(recipe))


def test_a_missing_recipe_or_a_missing_recipe_argument_is_named(tmp_path):
    with pytest.raises(UsageError, match="--config: no such file or folder: nope.yaml"):
        check_command_line(["--config", "nope.yaml"])
    with pytest.raises(UsageError, match="--config needs a recipe file"):
        check_command_line(["--max_steps", "2", "--config"])
    (tmp_path / "config_cpu.yaml").write_text("max_steps: 2\n")
    misspelt = str(tmp_path / "config_cpus.yaml")
    with pytest.raises(UsageError, match=rf"no such file or folder: {misspelt} \(did you mean .*config_cpu.yaml\?\)$"):
        check_command_line(["--config", misspelt])


def test_a_recipe_without_config_or_a_second_config_is_named():
    """A newcomer's `sft.py recipes/...yaml` was dropped (the run then asked for a dataset); two --config crashed."""
    with pytest.raises(
        UsageError, match=r"unexpected argument 'recipes/tiny/sft/config_cpu.yaml'; did you mean --config"
    ):
        check_command_line(["recipes/tiny/sft/config_cpu.yaml", "--max_steps", "1"])
    with pytest.raises(UsageError, match=r"--config given 2 times \(a.yaml, b.yaml\): give one recipe"):
        check_command_line(["--config", "a.yaml", "--config=b.yaml"])
    # A newcomer's bare `grpo.py` was told "Either dataset_name or dataset_mixture must be provided".
    with pytest.raises(UsageError, match=r"^give a recipe, --config RECIPE.yaml, and any field to change as"):
        check_command_line([])


@pytest.mark.parametrize(
    "args, first, then",
    [
        (["--max_steps", "1", "--learning_rate", "1e-5", "--max_steps", "2"], "--max_steps 1", "--max_steps 2"),
        (["--max_steps=1", "--max-steps", "2"], "--max_steps=1", "--max-steps 2"),  # one field, two spellings
        (["--bf16", "--bf16", "false"], "--bf16 (bare)", "--bf16 false"),
        (
            ["--reward_funcs", "accuracy", "format", "--reward_funcs", "tag_count"],
            "--reward_funcs accuracy format",
            "--reward_funcs tag_count",
        ),
    ],
)
def test_an_option_given_twice_is_named_with_both_values(args, first, then):
    """argparse keeps the last of two silently: a slurm --args or a pasted override lost without a word."""
    with pytest.raises(
        UsageError, match=rf"given twice on the command line \({re.escape(first)}, then {re.escape(then)}"
    ):
        check_command_line(args)


def test_list_values_and_one_config_are_not_repeats():
    check_options_given_once(["--config", "a.yaml", "--reward_funcs", "accuracy", "format", "--max_steps", "1"])


def test_merged_options_let_a_later_group_replace_an_option_in_its_place():
    fast = ["--max_steps", "2", "--reward_funcs", "accuracy", "format", "--bf16"]
    chosen = ["--max-steps", "7", "--learning_rate=1e-6", "--bf16", "false"]
    merged = usage.merged_options(fast, chosen)
    assert merged == [
        "--max-steps",
        "7",
        "--reward_funcs",
        "accuracy",
        "format",
        "--bf16",
        "false",
        "--learning_rate=1e-6",
    ]
    check_options_given_once(merged)
    with pytest.raises(ValueError, match="'recipe.yaml' is no --option"):
        usage.merged_options(["recipe.yaml", "--max_steps", "1"])


@pytest.mark.parametrize(
    "reference, local",
    [
        ("./model", True),
        ("/abs/model", True),
        ("~/model", True),
        ("train.jsonl", True),
        ("data/tiny-modle", True),  # data/ is a folder here
        ("data", True),
        ("runs/models/SmolLM2", True),  # no runs/ folder here, but a Hub repo id has at most one slash
        ("buckets/org/bucket/dir", False),  # a Hub Storage Bucket (datasets 5.2), left to the loader
        ("hf://datasets/org/name", False),  # a URL, left to the loader
        ("Qwen/Qwen2.5-1.5B-Instruct", False),  # no Qwen/ folder here: a Hub id
        ("gpt2", False),
    ],
)
def test_what_looks_local(workdir, reference, local):
    assert looks_local(reference) is local


def test_a_hub_id_under_a_folder_of_the_same_name_says_why_it_was_read_as_local(workdir):
    (workdir / "open-r1" / ".git").mkdir(parents=True)  # the folder that holds a clone named open-r1
    with pytest.raises(UsageError) as raised:
        check_local_path("dataset_name", "open-r1/OpenR1-Math-220k")
    assert str(raised.value) == (
        "dataset_name: no such file or folder: open-r1/OpenR1-Math-220k (read as a local path because open-r1/ is "
        "a folder here; to load the Hub id, run elsewhere)"
    )
    with pytest.raises(UsageError, match="^dataset_name: no such file or folder: data/missing$"):  # no clone: no hint
        check_local_path("dataset_name", "data/missing")


def test_a_missing_local_path_names_the_field_and_the_close_existing_one(workdir):
    with pytest.raises(UsageError) as raised:
        check_local_path("model_name_or_path", "data/tiny-modle")
    assert str(raised.value) == (
        "model_name_or_path: no such file or folder: data/tiny-modle (did you mean data/tiny-model?)"
    )
    check_local_path("model_name_or_path", "data/tiny-model")
    check_local_path("model_name_or_path", "Qwen/Qwen2.5-1.5B-Instruct")  # left to the Hub


def test_a_path_the_projects_scripts_make_names_the_script_in_a_fresh_clone(tmp_path, monkeypatch):
    """Found by a newcomer: without data/ (make_tiny_model.py not run yet), data/tiny-model read as a Hub id, and the
    error said the Hub does not answer."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as raised:
        check_local_path("model_name_or_path", "data/tiny-model")
    assert str(raised.value) == (
        "model_name_or_path: no such file or folder: data/tiny-model (python scripts/make_tiny_model.py makes it: "
        "run it first, from the repository's root)"
    )
    with pytest.raises(UsageError, match=r"data/models/SmolLM2-135M-Instruct-f32 \(python scripts/get_model.py"):
        check_local_path("model_name_or_path", "data/models/SmolLM2-135M-Instruct-f32")
    # What the training scripts write is no script's to make beforehand (a review's): left to the Hub's check.
    assert made_by_script("data/tiny-sft-out") is None and made_by_script("./data/tiny-model/") is not None
    assert made_by_script("data/tiny-model/tokenizer.json") == "python scripts/make_tiny_model.py"  # a review's
    check_local_path("model_name_or_path", "data/tiny-sft-out")


def test_a_model_folder_without_a_model_is_named_before_anything_loads(workdir):
    """Found by an audit: an empty folder failed after 280 lines, blaming a missing sentencepiece."""
    (workdir / "data" / "nomodel").mkdir()
    with pytest.raises(UsageError, match=r"^model_name_or_path: data/nomodel is a folder without a model: expected"):
        check_local_path("model_name_or_path", "data/nomodel", kind="model")
    check_local_path("dataset_name", "data/nomodel", kind="dataset")  # a folder of data files is not checked so
    (workdir / "data" / "nomodel" / "model.gguf").write_bytes(b"GGUF")
    check_local_path("model_name_or_path", "data/nomodel", kind="model")


@pytest.mark.parametrize(
    ("kind", "suggested"),
    [("dataset", "data/tiny-sft"), ("model", "data/tiny-sft-out"), (None, "data/tiny-sft or data/tiny-sft-out")],
)
def test_a_reference_of_one_kind_is_not_offered_a_folder_of_the_other(workdir, kind, suggested):
    (workdir / "data" / "tiny-sft").mkdir()
    (workdir / "data" / "tiny-sft" / "dataset_dict.json").write_text("{}")  # save_to_disk's
    (workdir / "data" / "tiny-sft-out").mkdir()
    (workdir / "data" / "tiny-sft-out" / "config.json").write_text("{}")  # a trained model's
    (workdir / "data" / "tiny-sft-out" / "model.safetensors").write_bytes(b"")
    with pytest.raises(UsageError) as raised:
        check_local_path("a_field", "data/tiny-sfft", kind=kind)
    assert str(raised.value).endswith(f"(did you mean {suggested}?)")


def test_each_file_of_a_comma_separated_dataset_is_checked(workdir):
    (workdir / "data" / "a.jsonl").write_text("{}\n")
    check_local_path("dataset_name", "data/a.jsonl")
    with pytest.raises(
        UsageError, match=r"^dataset_name: no such file or folder: data/b.jsonl \(did you mean data/a.jsonl\?\)$"
    ):
        check_local_path("dataset_name", "data/a.jsonl, data/b.jsonl")


def test_the_command_line_and_the_recipe_paths_are_checked_the_command_line_winning(workdir, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(workdir / "hf"))  # an empty cache, whatever this machine's holds
    recipe = workdir / "recipe.yaml"
    recipe.write_text(
        "model_name_or_path: data/missing-model\ndataset_mixture:\n  datasets:\n    - id: data/missing.jsonl\n"
    )
    with pytest.raises(UsageError, match="^model_name_or_path: no such file or folder: data/missing-model"):
        check_command_line(["--config", str(recipe)])
    with pytest.raises(UsageError, match=r"^dataset_mixture.datasets\[0\].id: no such file or folder"):
        check_command_line([f"--config={recipe}", "--model_name_or_path", "data/tiny-model"])
    recipe.write_text("model_name_or_path: data/tiny-model\n")
    with pytest.raises(UsageError, match="^dataset_name: no such file or folder: ./nope$"):
        check_command_line(["--config", str(recipe), "--dataset_name=./nope"])
    # A Hub id is no missing local path: it goes to the Hub check (tests run offline, so to the cache).
    with pytest.raises(UsageError, match="dataset_name open-r1/OpenR1-Math-220k is neither a local path nor in"):
        check_command_line(["--config", str(recipe), "--dataset_name", "open-r1/OpenR1-Math-220k"])


def test_a_checkpoint_to_resume_from_that_is_not_there_is_refused_before_anything_loads(workdir):
    (workdir / "data" / "run" / "checkpoint-2").mkdir(parents=True)
    (workdir / "data" / "run" / "checkpoint-2" / "optimizer.pt").write_bytes(b"")
    recipe = workdir / "recipe.yaml"
    recipe.write_text("model_name_or_path: data/tiny-model\nresume_from_checkpoint: data/run/checkpoint-3\n")
    with pytest.raises(UsageError) as refused:
        check_command_line(["--config", str(recipe)])
    assert str(refused.value) == (
        "resume_from_checkpoint: no such file or folder: data/run/checkpoint-3 (did you mean data/run/checkpoint-2?)"
    )
    check_command_line(["--config", str(recipe), "--resume_from_checkpoint", "data/run/checkpoint-2"])


def test_a_model_folder_without_weights_is_named_with_its_latest_checkpoint(workdir):
    """A newcomer audit's: config and tokenizer without weights failed after the data loaded (170 lines); a run's
    folder holding only checkpoints got no hint."""
    config_only = workdir / "data" / "noweights"
    config_only.mkdir()
    (config_only / "config.json").write_text("{}")
    (config_only / "tokenizer.json").write_text("{}")
    with pytest.raises(UsageError, match=r"^model_name_or_path: data/noweights is a model folder without weights"):
        check_command_line(["--model_name_or_path", "data/noweights"])
    run = workdir / "data" / "run"
    for step in (3, 12):
        (run / f"checkpoint-{step}").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    with pytest.raises(UsageError, match=r"is a folder without a model: .*; did you mean data/run/checkpoint-12\?$"):
        check_command_line(["--model_name_or_path", "data/run"])


def test_a_runs_final_save_is_no_checkpoint_to_resume_from(workdir):
    """A newcomer audit's: resuming from a finished run's folder (weights and trainer_state, no optimizer) exited 0
    with a fresh optimizer and schedule, saying only that the folder had no training_args.json."""
    run = workdir / "data" / "run"
    for checkpoint in ("checkpoint-2", "checkpoint-10", "checkpoint-12"):
        (run / checkpoint).mkdir(parents=True)
        (run / checkpoint / "optimizer.pt").write_bytes(b"")
        if checkpoint != "checkpoint-12":  # its save was interrupted: no trainer_state.json
            (run / checkpoint / "trainer_state.json").write_text("{}")
    (run / "trainer_state.json").write_text("{}")
    (run / "model.safetensors").write_bytes(b"")
    with pytest.raises(UsageError) as refused:
        check_command_line(["--model_name_or_path", "data/tiny-model", "--resume_from_checkpoint", "data/run"])
    assert str(refused.value).startswith("resume_from_checkpoint: data/run holds no optimizer state (no optimizer.pt)")
    assert str(refused.value).endswith("; did you mean data/run/checkpoint-10?")
    check_command_line(
        ["--model_name_or_path", "data/tiny-model", "--resume_from_checkpoint", "data/run/checkpoint-10"]
    )
    deepspeed = run / "checkpoint-14"
    (deepspeed / "global_step14").mkdir(parents=True)  # DeepSpeed keeps its optimizer state there
    check_command_line(["--model_name_or_path", "data/tiny-model", "--resume_from_checkpoint", str(deepspeed)])


def test_a_checkpoint_whose_save_did_not_finish_is_refused_by_name(workdir):
    """A red team's: resuming from a checkpoint whose trainer_state.json was cut short crashed after the model
    loaded, with a JSONDecodeError."""
    run = workdir / "data" / "run"
    for step in (2, 4):
        (run / f"checkpoint-{step}").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "optimizer.pt").write_bytes(b"")
        (run / f"checkpoint-{step}" / "trainer_state.json").write_text('{"global_step": 2}' if step == 2 else '{"glo')
    with pytest.raises(UsageError) as refused:
        check_command_line(
            ["--model_name_or_path", "data/tiny-model", "--resume_from_checkpoint", "data/run/checkpoint-4"]
        )
    assert str(refused.value) == (
        "resume_from_checkpoint: data/run/checkpoint-4 cannot be resumed from: its trainer_state.json is cut short or "
        "unreadable (its save was interrupted, or the disk was full); did you mean data/run/checkpoint-2?"
    )


def test_a_misspelt_choice_is_answered_with_the_closest_one():
    """Found by a newcomer audit: `--backend vlm` listed the choices without pointing at vllm."""
    from open_r1.usage import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--backend", choices=["vllm", "openai", "transformers"], help="Where completions come from.")
    with pytest.raises(UsageError, match=r"invalid choice: 'vlm' .* \(did you mean 'vllm'\?\)$"):
        parser.parse_args(["--backend", "vlm"])
    with pytest.raises(UsageError, match=r"\(choose from 'vllm', 'openai', 'transformers'\)$"):
        parser.parse_args(["--backend", "gpu"])


def test_a_scripts_parser_suggests_the_option_a_misspelt_one_was_meant_to_be():
    from open_r1.usage import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grpo_max_steps", type=int)
    with pytest.raises(UsageError, match=r"^unknown option --sed \(did you mean --seed\?\); --help lists them$"):
        parser.parse_args(["--sed", "1"])
    with pytest.raises(UsageError, match=r"^unknown option --grpo_steps \(did you mean --grpo_max_steps\?\)"):
        parser.parse_args(["--grpo_steps=3"])
    with pytest.raises(UsageError, match="^unrecognized arguments: extra$"):
        parser.parse_args(["extra"])
    with pytest.raises(UsageError, match="^unrecognized arguments: extra$"):  # "--" ends the options, as in argparse
        parser.parse_args(["--", "extra"])
    assert parser.parse_args(["--seed", "2"]).seed == 2


def test_the_main_process_prints_one_line_and_exits_with_status_2(monkeypatch, capsys):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with pytest.raises(SystemExit) as exited:
        with exit_on_usage_error("sft.py"):
            raise UsageError("learning_rate:\n  must be positive")
    assert exited.value.code == 2
    assert capsys.readouterr().err == "sft.py: error: learning_rate: must be positive\n"


def test_other_processes_wait_for_the_main_one_and_report_only_if_still_alive(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(usage, "MAIN_PROCESS_GRACE_SECONDS", 0.01)
    with pytest.raises(SystemExit) as exited:
        with exit_on_usage_error("sft.py"):
            raise UsageError("bad")
    assert exited.value.code == 2
    assert capsys.readouterr().err == "[rank 1] sft.py: error: bad\n"


def test_other_errors_pass_through():
    with pytest.raises(KeyError):
        with exit_on_usage_error("sft.py"):
            raise KeyError("not the user's mistake")
    assert issubclass(UsageError, ValueError)  # callers that catch ValueError still do
    assert os.environ.get("RANK") in (None, "0")


def test_generate_py_checks_its_server_before_building_the_pipeline(tmp_path, monkeypatch):
    from open_r1 import generate
    from tests.support.ports import free_port

    monkeypatch.setattr(generate, "build_distilabel_pipeline", lambda **_: pytest.fail("the pipeline was built"))
    (tmp_path / "p.jsonl").write_text('{"prompt": "1+1?"}\n')
    argv = ["--hf-dataset", str(tmp_path / "p.jsonl"), "--model", "m", "--output-file", str(tmp_path / "out.jsonl")]
    with pytest.raises(UsageError, match="no server answers"):
        generate.main([*argv, "--vllm-server-url", f"http://127.0.0.1:{free_port()}/v1"])


def test_generate_py_names_a_model_its_server_does_not_serve_before_building_the_pipeline(tmp_path, monkeypatch):
    from open_r1 import generate
    from tests.support.local_server import fake_vllm, serving

    monkeypatch.setattr(generate, "build_distilabel_pipeline", lambda **_: pytest.fail("the pipeline was built"))
    (tmp_path / "p.jsonl").write_text('{"prompt": "1+1?"}\n')
    argv = ["--hf-dataset", str(tmp_path / "p.jsonl"), "--output-file", str(tmp_path / "out.jsonl")]
    with serving(fake_vllm(["tiny-model"])) as url:
        with pytest.raises(UsageError, match=r"--model 'tiny-modle'.*\(did you mean --model tiny-model\?\)$"):
            generate.main([*argv, "--model", "tiny-modle", "--vllm-server-url", f"{url}/v1"])


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--retries", "-1", "--retries must be 0 or more, got -1"),
        ("--timeout", "0", "--timeout must be at least 1, got 0"),
        ("--temperature", "-1", "--temperature must be >= 0, got -1"),
        ("--top-p", "3", r"--top-p must be in \(0, 1\], got 3"),
    ],
)
def test_generate_py_refuses_numbers_its_requests_cannot_use(option, value, message):
    """A newcomer audit's: each reached distilabel or the server and ended in a 300- to 565-line traceback."""
    from open_r1 import generate

    argv = ["--hf-dataset", "d.jsonl", "--model", "m", "--output-file", "out.jsonl", option, value]
    with pytest.raises(UsageError, match=f"^{message}$"):
        generate.parse_args(argv)


def test_generate_py_with_ray_builds_the_ray_pipeline_it_runs():
    """A newcomer audit's: --ray built its steps in a Ray pipeline and returned the local one, which ran them."""
    from open_r1 import generate

    kwargs = {"model": "m", "base_url": "http://127.0.0.1:1/v1", "prompt_column": "prompt"}
    ray_pipeline = generate.build_distilabel_pipeline(**kwargs, use_ray=True)  # imports distilabel, its warnings quiet
    from distilabel.pipeline import RayPipeline

    assert isinstance(ray_pipeline, RayPipeline) and len(ray_pipeline.dag) == 1
    assert not isinstance(generate.build_distilabel_pipeline(**kwargs), RayPipeline)


def test_generate_py_names_the_column_its_prompts_are_likely_in(tmp_path):
    """Found by a newcomer audit: a dataset of `problem`s answered --prompt-column's default with the columns only."""
    from open_r1 import generate

    (tmp_path / "p.jsonl").write_text('{"problem": "1+1?", "answer": "2"}\n')
    argv = ["--hf-dataset", str(tmp_path / "p.jsonl"), "--model", "m", "--output-file", str(tmp_path / "out.jsonl")]
    with pytest.raises(
        UsageError, match=r"its columns: \['problem', 'answer'\] \(did you mean --prompt-column problem\?\)$"
    ):
        generate.main(argv)


@pytest.mark.parametrize(
    "template, problem",
    [
        ("Solve: {{ instruction }", r"line 1: unexpected '}'"),
        ("Solve: {{ problem }}", r"it never uses \{\{ instruction \}\}, the --prompt-column value"),
        ("{{ instruction }} in {{ languge }}", r"it uses \['languge'\], which nothing fills"),
    ],
)
def test_generate_py_refuses_a_prompt_template_that_cannot_fill_the_prompt(template, problem):
    """Found by a newcomer audit: each was a 180-line traceback from distilabel, or a run of identical prompts."""
    from open_r1 import generate

    argv = ["--hf-dataset", "d.jsonl", "--model", "m", "--output-file", "o.jsonl", "--prompt-template", template]
    with pytest.raises(UsageError, match=f"^--prompt-template '.*': {problem}"):
        generate.parse_args(argv)
    assert generate.parse_args([*argv[:-1], "Solve: {{ instruction | trim }}"]).prompt_template.startswith("Solve")


def test_a_recipe_given_to_a_script_that_reads_none_is_named_before_its_required_options():
    """A newcomer audit's: `generate.py --config recipe.yaml` said only that --hf-dataset and --model are required."""
    from open_r1 import generate

    for config in (["--config", "recipe.yaml"], ["--config=recipe.yaml"]):
        with pytest.raises(
            UsageError, match=r"^this script reads no recipe \(--config\): give its settings as options"
        ):
            generate.parse_args(config)


def test_the_project_parsers_take_an_option_spelled_with_underscores_or_dashes():
    """Found by an audit: `generate_reasoning.py --dataset_name x` said only that --dataset-name is required."""
    from open_r1.usage import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--dataset-name", required=True)
    parser.add_argument("--max_new_tokens", type=int, default=1)
    parsed = parser.parse_args(["--dataset_name", "d", "--max-new-tokens=3"])
    assert (parsed.dataset_name, parsed.max_new_tokens) == ("d", 3)
    with pytest.raises(UsageError, match=r"unknown option --dataset_nmae \(did you mean --dataset-name\?\)"):
        parser.parse_args(["--dataset-name", "d", "--dataset_nmae", "e"])


def test_a_misspelt_option_is_named_before_a_missing_required_one():
    """argparse named the missing option first: `generate_reasoning.py --dataset-nmae d` said --dataset-name is
    required; a quoted value that starts with dashes is a value (`--args "--lr 1e-5"`)."""
    from dataclasses import dataclass, field

    from open_r1.usage import ArgumentParser, dataclass_parser

    parser = ArgumentParser()
    parser.add_argument("--dataset-name", required=True)
    parser.add_argument("--args", default="")
    with pytest.raises(UsageError, match=r"^unknown option --dataset-nmae \(did you mean --dataset-name\?\)"):
        parser.parse_args(["--dataset-nmae", "d"])
    assert parser.parse_args(["--dataset-name", "d", "--args", "--lr 1e-5"]).args == "--lr 1e-5"
    with pytest.raises(UsageError, match=r"^unknown option --arsg \(did you mean --args\?\)"):  # a review's
        parser.parse_args(["--dataset-name", "d", "--arsg=--lr 1e-5"])

    @dataclass
    class Settings:
        model_id: str = field(metadata={"help": "a model"})
        revision: str = field(default="main", metadata={"help": "its revision"})

    dataclasses = dataclass_parser(Settings)
    # HfArgumentParser knows --model-id too: one spelling is suggested, the field's
    with pytest.raises(UsageError, match=r"^unknown option --model_idd \(did you mean --model_id\?\); --help"):
        dataclasses.parse_args_into_dataclasses(["--model_idd", "m"])
    with pytest.raises(UsageError, match=r"^unexpected argument\(s\) \['extra'\]"):
        dataclasses.parse_args_into_dataclasses(["--model-id", "m", "extra"])
    assert dataclasses.parse_args_into_dataclasses(["--model-id", "m"])[0].model_id == "m"


def test_the_project_parsers_read_no_option_from_its_first_letters():
    """A newcomer audit's: `gsm8k.py --arms cot` was read as --arms_at_once, and blamed the value `cot`."""
    from open_r1.usage import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--arm", default="both")
    parser.add_argument("--arms_at_once", action="store_true")
    with pytest.raises(UsageError, match=r"^unknown option --arms \(did you mean --arm\?\)"):
        parser.parse_args(["--arms", "cot"])
    with pytest.raises(UsageError, match=r"^unknown option --arms_at \(did you mean --arms_at_once\?\)"):
        parser.parse_args(["--arms_at"])


def test_a_recipe_that_sets_a_field_twice_is_refused_at_the_second(tmp_path):
    """Found by an audit: the later value won silently (and recipes/Qwen2.5-1.5B-Instruct/grpo/config_dapo.yaml set
    loss_type twice)."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: m\nlearning_rate: 1.0e-3\nmax_steps: 2\nlearning_rate: 5.0e-2\n")
    with pytest.raises(UsageError) as raised:
        read_recipe(str(recipe))
    assert (
        str(raised.value)
        == f"{recipe}:4:1: learning_rate is set twice (first on line 2); the later would silently win"
    )
    nested = tmp_path / "nested.yaml"  # mixture entries repeat their keys, each in its own mapping
    nested.write_text("dataset_mixture:\n  datasets:\n    - {id: a, weight: 1}\n    - {id: b, weight: 1}\n")
    assert len(read_recipe(str(nested))["dataset_mixture"]["datasets"]) == 2


def test_a_checkpoint_to_resume_from_that_is_a_file_is_refused_before_anything_loads(workdir):
    """Found by an audit: transformers said "Can't find a valid checkpoint" after the model had loaded."""
    (workdir / "data" / "afile").write_text("")
    recipe = workdir / "recipe.yaml"
    recipe.write_text("model_name_or_path: data/tiny-model\nresume_from_checkpoint: data/afile\n")
    with pytest.raises(UsageError, match="^resume_from_checkpoint: data/afile is a file; name a checkpoint-N folder$"):
        check_command_line(["--config", str(recipe)])


def test_a_system_prompt_that_names_a_file_is_read_as_training_evaluation_and_filtering_read_it(tmp_path, monkeypatch):
    """An audit's: training read `system_prompt: prompts/r1.txt` as the file's text, the evaluator and pass-rate
    filtering sent the file name to the model."""
    from open_r1.eval.arguments import EvaluateArguments
    from open_r1.usage import system_prompt_text
    from tests.support.script_module import load_module

    prompt = tmp_path / "r1.txt"
    prompt.write_text("Think first.\n")
    assert system_prompt_text(str(prompt)) == "Think first."
    assert system_prompt_text("Think, then answer.") == "Think, then answer."
    with pytest.raises(UsageError, match=r"^--system_prompt: no such file or folder: .*r2.txt"):
        system_prompt_text(str(tmp_path / "r2.txt"), "--system_prompt")
    data = tmp_path / "bench.jsonl"
    data.write_text('{"id": "1", "problem": "1+1?", "answer": "2"}\n')
    evaluation = EvaluateArguments(
        task="t",
        data_files=str(data),
        predictions=str(data),
        output_dir=str(tmp_path / "o"),
        system_prompt=str(prompt),
    )
    assert evaluation.system_prompt == "Think first."
    pass_rate = load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")
    generation = pass_rate.PassRateGenerationArguments(model_name_or_path="m", system_prompt=str(prompt))
    assert generation.system_prompt == "Think first."


@pytest.mark.parametrize("bad, shown", [("null", "None"), ('""', "''"), ('"  "', "'  '")])
def test_generate_py_names_the_first_row_without_a_prompt_before_the_pipeline(tmp_path, monkeypatch, bad, shown):
    """Found by a red team: a null or empty prompt reached distilabel, which failed its batch with a ~200-line
    traceback and wrote nothing."""
    from open_r1 import generate

    monkeypatch.setattr(generate, "build_distilabel_pipeline", lambda **_: pytest.fail("the pipeline was built"))
    (tmp_path / "p.jsonl").write_text(f'{{"prompt": "1+1?"}}\n{{"prompt": {bad}}}\n{{"prompt": null}}\n')
    argv = ["--hf-dataset", str(tmp_path / "p.jsonl"), "--model", "m", "--output-file", str(tmp_path / "out.jsonl")]
    with pytest.raises(UsageError, match=f"^row 1: column 'prompt' must be a non-empty string, got {shown}$"):
        generate.main([*argv, "--dry-run"])
