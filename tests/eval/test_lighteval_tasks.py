"""Specification of the lighteval path for local benchmark files: `local:<task>` custom tasks on CPU
(open_r1.eval.lighteval_tasks, `make evaluate BACKEND=accelerate`)."""

import glob
import gzip
import json
import os
import pathlib
import shutil
import subprocess

import pytest
from lighteval.models.model_output import ModelResponse

from open_r1.eval.lighteval_command import LOCAL_TASKS_MODULE, REPO_ROOT, build_lighteval_cpu_command
from open_r1.eval.lighteval_jobs import main
from open_r1.usage import UsageError
from tests.eval.conftest import GSM8K_TEST, GSM8K_TRAIN
from tests.support.files import write_jsonl
from tests.support.script_module import load_module

# Most tests here are end-to-end runs: they run lighteval end to end.
pytestmark = pytest.mark.e2e

PROBLEMS = [
    {"id": "a", "problem": "What is $2+3$?", "answer": "5"},
    {"id": "b", "problem": "What is $10/4$?", "answer": "\\frac{5}{2}"},
]


@pytest.fixture
def benchmark_file(tmp_path) -> pathlib.Path:
    path = tmp_path / "toy.jsonl"
    write_jsonl(path, PROBLEMS)
    return path


@pytest.fixture
def sampling_model(tmp_path, tiny_model) -> pathlib.Path:
    """The tiny model with do_sample=true in its generation config, as released chat models ship it."""
    folder = tmp_path / "sampling-model"
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}))
    return folder


def load_tasks_module(monkeypatch, spec: str):
    monkeypatch.setenv("OPEN_R1_EVAL_DATA", spec)
    return load_module(LOCAL_TASKS_MODULE, "local_tasks_under_test")


def test_each_named_file_becomes_a_local_task_with_the_offline_evaluator_prompt(monkeypatch, benchmark_file):
    module = load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    (task,) = module.TASKS_TABLE
    assert task.name == "local:toy"
    doc = task.prompt_function(PROBLEMS[1], "local:toy")
    assert doc.query.startswith("What is $10/4$?") and doc.query.endswith("within \\boxed{}.")
    assert doc.get_golds() == ["\\frac{5}{2}"]
    rows = [json.loads(line) for line in (pathlib.Path(task.hf_repo) / "test.jsonl").read_text().splitlines()]
    assert rows == PROBLEMS


def test_a_gzipped_benchmark_file_becomes_the_same_local_task(monkeypatch, benchmark_file, tmp_path):
    gzipped = tmp_path / "bench.jsonl.gz"
    gzipped.write_bytes(gzip.compress(benchmark_file.read_bytes()))
    (task,) = load_tasks_module(monkeypatch, f"toy={gzipped}").TASKS_TABLE
    rows = [json.loads(line) for line in (pathlib.Path(task.hf_repo) / "test.jsonl").read_text().splitlines()]
    assert rows == PROBLEMS


def test_the_local_metric_is_pass_at_1_over_the_samples_graded_by_the_project_grader(monkeypatch, benchmark_file):
    module = load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    (task,) = module.TASKS_TABLE
    doc = task.prompt_function(PROBLEMS[1], "local:toy")
    metric = task.metrics[0].sample_level_fn
    metric.n = 4
    response = ModelResponse(text=["\\boxed{2.5}", "\\boxed{5/2}", "\\boxed{3}", "no idea", "\\boxed{99}"])
    assert metric.compute(doc, response) == pytest.approx(2 / 4)  # only the first n=4 samples count
    assert metric.num_samples() == 4


@pytest.fixture
def think_prefilling_model(sampling_model) -> pathlib.Path:
    """The sampling tiny model with a chat template that opens `<think>` in the prompt, as R1's distilled models'."""
    from transformers import AutoTokenizer

    from open_r1.utils.chat_templates import CHATML_TEMPLATE

    tokenizer = AutoTokenizer.from_pretrained(sampling_model)
    tokenizer.chat_template = CHATML_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' }}", "{{- '<|im_start|>assistant\\n<think>\\n' }}"
    )
    assert tokenizer.chat_template != CHATML_TEMPLATE
    tokenizer.save_pretrained(sampling_model)
    return sampling_model


def test_for_a_model_whose_template_opens_think_an_answer_in_unfinished_reasoning_earns_nothing(
    monkeypatch, benchmark_file, think_prefilling_model
):
    """Red team: the local task paid `\\boxed{}` inside reasoning the prompt opened; the offline evaluator did not."""
    from open_r1.data.benchmarks import Problem
    from open_r1.eval.lighteval_command import THINK_PREFILLED_ENV
    from open_r1.eval.offline import grade_completions

    command = build_lighteval_cpu_command(str(think_prefilling_model), "toy", str(benchmark_file), num_samples=2)
    assert command.env[THINK_PREFILLED_ENV] == "1"
    for name, value in command.env.items():
        monkeypatch.setenv(name, value)
    (task,) = load_module(LOCAL_TASKS_MODULE, "local_tasks_under_test").TASKS_TABLE
    metric = task.metrics[0].sample_level_fn
    metric.n = 2
    doc = task.prompt_function(PROBLEMS[0], "local:toy")
    samples = ["Maybe \\boxed{5}? wait, step 1 ...", "So 5.\n</think>\n\\boxed{5}"]
    assert metric.compute(doc, ModelResponse(text=samples)) == 0.5
    problems = [Problem("a", PROBLEMS[0]["problem"], "5")]
    assert grade_completions(problems, [samples], 1, 5.0, think_prefilled=True)[1] == [[0.0, 1.0]]  # the same verdicts


def test_for_a_model_whose_template_opens_nothing_an_answer_anywhere_counts(
    monkeypatch, benchmark_file, sampling_model
):
    from open_r1.eval.lighteval_command import THINK_PREFILLED_ENV

    command = build_lighteval_cpu_command(str(sampling_model), "toy", str(benchmark_file), num_samples=2)
    assert THINK_PREFILLED_ENV not in command.env
    (task,) = load_tasks_module(monkeypatch, command.env["OPEN_R1_EVAL_DATA"]).TASKS_TABLE
    doc = task.prompt_function(PROBLEMS[0], "local:toy")
    assert task.metrics[0].sample_level_fn.compute(doc, ModelResponse(text=["Maybe \\boxed{5}? wait"])) == 1.0


def test_the_think_prefilled_switch_is_1_or_0_and_named_alike_on_both_sides(monkeypatch, benchmark_file):
    from open_r1.eval.lighteval_command import THINK_PREFILLED_ENV

    monkeypatch.setenv(THINK_PREFILLED_ENV, "yes")
    with pytest.raises(ValueError, match="OPEN_R1_EVAL_THINK_PREFILLED: expected 1 or 0, got 'yes'"):
        load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    monkeypatch.setenv(THINK_PREFILLED_ENV, "0")
    assert load_tasks_module(monkeypatch, f"toy={benchmark_file}").THINK_PREFILLED_ENV == THINK_PREFILLED_ENV


def test_a_malformed_data_spec_or_file_is_reported_by_name(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="name=path pairs"):
        load_tasks_module(monkeypatch, "just-a-path.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "problem": "q"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: missing field"):
        load_tasks_module(monkeypatch, f"bad={bad}")


@pytest.mark.parametrize("task", ["a,b=c", "", "x|5", "toy@n=2", "two words", "../up"])
def test_a_task_name_lighteval_would_read_as_separators_is_one_line_before_anything_runs(
    sampling_model, benchmark_file, task
):
    """Red team: `a,b=c` or an empty TASK gave a command that failed on import; `x|5` ran the task string `x|5|0`."""
    with pytest.raises(UsageError, match=r"^TASK=.*: a local task's name is letters and digits"):
        build_lighteval_cpu_command(str(sampling_model), task, str(benchmark_file), num_samples=1)


@pytest.mark.parametrize("spec", ["a,b=c=/x.jsonl", "x|5=/x.jsonl", "toy=/x.jsonl,toy=/y.jsonl"])
def test_the_environment_names_each_task_once_by_a_simple_name(monkeypatch, spec):
    with pytest.raises(ValueError, match="OPEN_R1_EVAL_DATA: "):
        load_tasks_module(monkeypatch, spec)


def test_a_data_or_shot_file_whose_path_holds_a_comma_is_one_line_naming_it(sampling_model, gsm8k_files, tmp_path):
    """Red team: DATA=.../a,we.jsonl was reported as "no such file or folder: .../we" though the file exists."""
    train, test = gsm8k_files
    folder = tmp_path / "a,b"
    folder.mkdir()
    comma_test, comma_train = (folder / "test.jsonl", folder / "train.jsonl")
    shutil.copy(test, comma_test)
    shutil.copy(train, comma_train)
    with pytest.raises(UsageError, match=r"^DATA=.*a,b/test.jsonl: lighteval's local tasks cannot read a path with"):
        build_lighteval_cpu_command(str(sampling_model), "toy", str(comma_test), num_samples=1)
    with pytest.raises(UsageError, match=r"^FEWSHOT_FILE=.*a,b/train.jsonl: lighteval's local tasks cannot read"):
        build_lighteval_cpu_command(str(sampling_model), "t", str(test), num_fewshot=1, fewshot_file=str(comma_train))


def test_the_cpu_command_runs_lighteval_accelerate_on_the_local_task(sampling_model, benchmark_file, tmp_path, capsys):
    argv = ["--backend", "accelerate", "--model", str(sampling_model), "--benchmark", "toy"]
    argv += ["--data_files", str(benchmark_file), "--num_samples", "2", "--max_new_tokens", "4", "--dry_run"]
    assert main([*argv, "--output_dir", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.strip()
    command = build_lighteval_cpu_command(
        str(sampling_model),
        "toy",
        str(benchmark_file),
        num_samples=2,
        max_new_tokens=4,
        output_dir=str(tmp_path / "out"),
    )
    assert printed == command.shell()
    # Run from the model's parent under its bare name, so lighteval's cache and results stay out of the folder.
    assert command.cwd == str(sampling_model.parent)
    # ... and with this checkout's open_r1 first on the path, whatever relative PYTHONPATH make exported.
    assert command.env["PYTHONPATH"].split(os.pathsep)[0] == str(REPO_ROOT / "src")
    assert command.argv[:4] == [
        "lighteval",
        "accelerate",
        # lighteval 0.13 truncates prompts to generation_parameters.max_new_tokens: the tiny model's whole context,
        # so that no prompt is cut; MAX_NEW_TOKENS is the task's generation_size, which caps the answer.
        "model_name=sampling-model,device=cpu,dtype=float32,batch_size=4,max_length=1024,"
        f"cache_dir={tmp_path}/out/lighteval_cache/toy,generation_parameters={{max_new_tokens:1024,temperature:0.6,top_p:0.95}}",
        "local:toy@k=1@n=2|0",
    ]
    assert command.env["OPEN_R1_EVAL_DATA"] == f"toy={benchmark_file.resolve()}"
    assert command.env["OPEN_R1_EVAL_MAX_NEW_TOKENS"] == "4"
    assert command.env["PYTHONWARNINGS"].endswith("ignore:Deprecated argument(s) used in 'list_models':FutureWarning")


def test_the_answer_budget_reaches_lighteval_as_each_task_generation_size(monkeypatch, benchmark_file, gsm8k_files):
    """Where lighteval's transformers backend caps an answer; unset, each task's default; not a count, by name."""
    module = load_tasks_module(monkeypatch, f"toy={benchmark_file}")
    assert [task.generation_size for task in module.TASKS_TABLE] == [32768]
    monkeypatch.setenv("OPEN_R1_EVAL_MAX_NEW_TOKENS", "16")
    train, test = gsm8k_files
    monkeypatch.setenv("OPEN_R1_EVAL_FEWSHOT", f"gsm8k={train}")
    tasks = load_tasks_module(monkeypatch, f"toy={benchmark_file},gsm8k={test}").TASKS_TABLE
    assert [task.generation_size for task in tasks] == [16, 16]
    monkeypatch.setenv("OPEN_R1_EVAL_MAX_NEW_TOKENS", "0")
    with pytest.raises(ValueError, match="OPEN_R1_EVAL_MAX_NEW_TOKENS: expected a positive whole number"):
        load_tasks_module(monkeypatch, f"toy={benchmark_file}")


def test_the_accelerate_backend_writes_by_default_where_default_output_dir_says(
    sampling_model, benchmark_file, monkeypatch
):
    from open_r1.eval.lighteval_command import QUIET_WARNINGS, default_output_dir

    monkeypatch.setenv("PYTHONWARNINGS", "error::DeprecationWarning")
    command = build_lighteval_cpu_command(str(sampling_model), "toy", str(benchmark_file))
    assert command.env["PYTHONWARNINGS"] == f"error::DeprecationWarning,{QUIET_WARNINGS}"  # the user's kept
    written = command.argv[command.argv.index("--output-dir") + 1]
    assert written == os.path.abspath(default_output_dir(str(sampling_model))) and "//" not in written


def test_a_model_that_would_decode_greedily_is_refused_instead_of_reported_as_sampled(
    tiny_model, benchmark_file, tmp_path
):
    with pytest.raises(UsageError, match="does not set do_sample=true") as raised:
        build_lighteval_cpu_command(str(tiny_model), "toy", str(benchmark_file))
    # The message says the key to add and the file to add it to (it said "set it there"), and that key is enough.
    message = str(raised.value)
    assert f'add "do_sample": true to the JSON object in {tiny_model}/generation_config.json' in message
    fixed = tmp_path / "fixed"
    shutil.copytree(tiny_model, fixed)
    config = json.loads((fixed / "generation_config.json").read_text())
    (fixed / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}))
    build_lighteval_cpu_command(str(fixed), "toy", str(benchmark_file))
    (fixed / "generation_config.json").unlink()  # no file at all: the message says what to create
    with pytest.raises(UsageError, match=r'create the file as \{"do_sample": true\} if there is none'):
        build_lighteval_cpu_command(str(fixed), "toy", str(benchmark_file))


@pytest.mark.parametrize(
    "model, data, message",
    [
        ("{model}e", "{data}", "MODEL: no such file or folder: {model}e (did you mean"),
        ("{model}", "{data}l", "DATA: no such file or folder: {data}l (did you mean"),
        ("{model}", "{folder}", "DATA={folder}: not a file"),
        ("{model}", "{no_ids}", "DATA={no_ids}:1: missing field(s) ['id']"),
    ],
)
def test_the_model_and_benchmark_file_are_checked_before_lighteval_runs(
    tiny_model, benchmark_file, tmp_path, model, data, message
):
    no_ids = tmp_path / "no_ids.jsonl"
    no_ids.write_text('{"problem": "1+1?", "answer": "2"}\n')
    names = {"model": tiny_model, "data": benchmark_file, "folder": tmp_path, "no_ids": no_ids}
    with pytest.raises(UsageError) as raised:
        main(["--backend", "accelerate", "--model", model.format(**names), "--benchmark", "toy"]
             + ["--data_files", data.format(**names), "--dry_run"])  # fmt: skip
    assert message.format(**names) in str(raised.value)


@pytest.mark.slow
def test_make_evaluate_with_lighteval_on_cpu_writes_results_and_details(sampling_model, benchmark_file, tmp_path):
    output_dir = tmp_path / "evals"
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "evaluate", "BACKEND=accelerate", f"MODEL={sampling_model}", "TASK=toy"]
        + [f"DATA={benchmark_file}", "NUM_SAMPLES=2", "MAX_NEW_TOKENS=4", f"OUTPUT_DIR={output_dir}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (results_file,) = glob.glob(f"{output_dir}/results/sampling-model/results_*.json")
    results = json.loads(pathlib.Path(results_file).read_text())["results"]["local:toy|0"]
    assert 0.0 <= results["pass@k"] <= 1.0 and "pass@k_stderr" in results
    import pandas as pd

    (details_file,) = glob.glob(f"{output_dir}/details/sampling-model/*/details_local:toy|0_*.parquet")
    details = pd.read_parquet(details_file)
    assert len(details) == 2
    assert all(len(response["text"]) == 2 for response in details["model_response"])
    # The whole prompt reached the model and MAX_NEW_TOKENS capped the answers (lighteval cut the prompt to its last
    # 4 tokens and generated up to the rest of the context, before the budget became the task's generation_size).
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(sampling_model)
    for doc, response in zip(details["doc"], details["model_response"]):
        assert doc["query"] in tokenizer.decode(response["input_tokens"])
        assert all(len(tokens) <= 4 for tokens in response["output_tokens"])
    assert not list(sampling_model.glob("**/*.parquet"))  # nothing written into the model folder


@pytest.mark.slow
def test_a_model_folder_of_the_same_name_gets_its_own_answers_not_lighteval_cached_ones(
    sampling_model, benchmark_file, tmp_path
):
    """lighteval keyed its sample cache by the folder's name and the model arguments: another `sampling-model`
    folder, run the same way, got the first one's answers back ("Cache: 1/1 samples are cached")."""
    namesake = tmp_path / "elsewhere" / sampling_model.name
    shutil.copytree(sampling_model, namesake)
    output_dir = tmp_path / "evals"
    for model in (sampling_model, namesake):
        result = subprocess.run(
            ["make", "--no-print-directory", "-s", "evaluate", "BACKEND=accelerate", f"MODEL={model}", "TASK=toy"]
            + [f"DATA={benchmark_file}", "MAX_NEW_TOKENS=2", "LIMIT=1", f"OUTPUT_DIR={output_dir}"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Cache: Starting to process 1/1 samples" in result.stderr  # generated, not read back
        assert "samples are cached" not in result.stderr
        # lighteval's own deprecation noise is filtered out of the run (the user's PYTHONWARNINGS kept).
        assert "FutureWarning" not in result.stderr
        assert not (output_dir / "lighteval_cache").exists()  # the run's cache went with it


# ------------------------------------------------------------------------------------------------
# Few-shot: lighteval's GSM8K protocol with shots from a shot file (OPEN_R1_EVAL_FEWSHOT)
# ------------------------------------------------------------------------------------------------


def few_shot_docs(monkeypatch, train, test, num_fewshot: int):
    """lighteval's own documents for `local:gsm8k|<num_fewshot>`, shots drawn by its sampler."""
    import dataclasses

    from lighteval.tasks.lighteval_task import LightevalTask

    monkeypatch.setenv("OPEN_R1_EVAL_FEWSHOT", f"gsm8k={train}")
    (config,) = load_tasks_module(monkeypatch, f"gsm8k={test}").TASKS_TABLE
    return LightevalTask(dataclasses.replace(config, num_fewshots=num_fewshot)).get_docs()


def test_lighteval_draws_the_shots_from_the_shot_file_only_and_prompts_as_the_offline_evaluator(
    monkeypatch, gsm8k_files, tiny_model
):
    from lighteval.tasks.prompt_manager import PromptManager
    from transformers import AutoTokenizer

    from open_r1.data.benchmarks import Problem
    from open_r1.eval.few_shot import Shot, plain_messages

    train, test = gsm8k_files
    docs = few_shot_docs(monkeypatch, train, test, num_fewshot=5)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    prompts = PromptManager(use_chat_template=True, tokenizer=tokenizer)
    by_query = {f"Question: {row['problem']}\nAnswer:": row for row in GSM8K_TRAIN}
    assert sorted(doc.get_golds()[0] for doc in docs) == sorted(row["answer"] for row in GSM8K_TEST)
    for doc in docs:
        assert len(doc.fewshot_samples) == 5
        assert all(shot.query in by_query for shot in doc.fewshot_samples)  # every shot a row of the shot file
        shots = [by_query[shot.query] for shot in doc.fewshot_samples]
        assert [shot.get_golds()[0] for shot in doc.fewshot_samples] == [f" {row['solution']}" for row in shots]
        # The offline evaluator's conversation with the same shots renders to lighteval's prompt, character for character.
        problem = Problem(id="-", problem=doc.query.removeprefix("Question: ").removesuffix("\nAnswer:"), answer="0")
        ours = plain_messages(problem, [Shot(row["problem"], row["solution"], 0) for row in shots])
        assert prompts.prepare_prompt(doc) == tokenizer.apply_chat_template(
            ours, tokenize=False, add_generation_prompt=True
        )


def test_the_few_shot_metric_is_the_exact_match_of_the_number_after_hashes(monkeypatch, gsm8k_files):
    train, test = gsm8k_files
    doc = next(doc for doc in few_shot_docs(monkeypatch, train, test, 0) if doc.get_golds() == ["4"])
    (metric,) = load_tasks_module(monkeypatch, f"gsm8k={test}").TASKS_TABLE[0].metrics
    assert metric.metric_name == "qem"
    doc_metric = metric.sample_level_fn
    assert doc_metric.compute(doc, ModelResponse(text=["5-1=4\n#### 4"])) == 1.0
    assert doc_metric.compute(doc, ModelResponse(text=["The answer is 4."])) == 0.0
    assert doc_metric.compute(doc, ModelResponse(text=["#### 3\n#### 4"])) == 0.0
    assert doc_metric.compute(doc, ModelResponse(text=["#### 4/5"])) == 0.0  # not the leading digits of a fraction


def test_a_task_without_a_shot_file_refuses_to_take_shots_from_the_evaluated_file(monkeypatch, gsm8k_files):
    import dataclasses

    from lighteval.tasks.lighteval_task import LightevalTask

    _, test = gsm8k_files

    (config,) = load_tasks_module(monkeypatch, f"gsm8k={test}").TASKS_TABLE
    assert len(LightevalTask(dataclasses.replace(config, num_fewshots=0)).get_docs()) == 3
    with pytest.raises(ValueError, match="no shot file for this task"):
        LightevalTask(dataclasses.replace(config, num_fewshots=2)).get_docs()


def test_a_shot_file_that_is_or_overlaps_the_evaluated_file_is_refused(monkeypatch, gsm8k_files, tmp_path, tiny_model):
    from open_r1.usage import UsageError

    train, test = gsm8k_files
    leaky = tmp_path / "leaky.jsonl"
    leaky.write_text(train.read_text() + json.dumps({**GSM8K_TEST[0], "solution": "#### 2"}) + "\n")
    for shot_file, message in ((test, "is the evaluated file"), (leaky, "shares 1 problem")):
        monkeypatch.setenv("OPEN_R1_EVAL_FEWSHOT", f"gsm8k={shot_file}")
        with pytest.raises(UsageError, match=message):
            load_tasks_module(monkeypatch, f"gsm8k={test}")
        with pytest.raises(UsageError, match=message):
            build_lighteval_cpu_command(
                str(tiny_model), "gsm8k", str(test), num_fewshot=5, fewshot_file=str(shot_file)
            )


def test_the_few_shot_make_variables_are_named_as_make_evaluate_takes_them(gsm8k_files, tiny_model):
    train, test = gsm8k_files
    with pytest.raises(UsageError, match=r"^NUM_FEWSHOT=N \(N > 0\) and FEWSHOT_FILE=<train.jsonl> go together$"):
        build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(test), num_fewshot=5)
    with pytest.raises(UsageError, match=r"^NUM_FEWSHOT=-2: expected a count of shots, 0 or more$"):
        build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(test), num_fewshot=-2, fewshot_file=str(train))


def test_more_shots_than_the_shot_file_holds_or_a_gold_no_whole_number_are_refused_before_lighteval(
    gsm8k_files, tiny_model, tmp_path
):
    """Red team: lighteval's sampler failed on a 2-row shot file with a traceback ("Sample larger than population"),
    and a `\\frac12` gold with one after every problem was generated."""
    train, test = gsm8k_files
    two_shots = write_jsonl(tmp_path / "two.jsonl", GSM8K_TRAIN[:2])
    with pytest.raises(UsageError, match=r"^NUM_FEWSHOT=5 is more than the 2 rows of the shot file$"):
        build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(test), num_fewshot=5, fewshot_file=str(two_shots))
    build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(test), num_fewshot=2, fewshot_file=str(two_shots))
    half = write_jsonl(tmp_path / "half.jsonl", [*GSM8K_TEST, {"id": "h", "problem": "Half?", "answer": "\\frac12"}])
    with pytest.raises(UsageError, match=r"half.jsonl: problem 'h' has the answer .* not a whole number"):
        build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(half), num_fewshot=2, fewshot_file=str(train))


def test_a_few_shot_task_over_golds_that_are_no_whole_numbers_is_refused_as_it_loads(
    monkeypatch, gsm8k_files, tmp_path
):
    train, _ = gsm8k_files
    half = write_jsonl(tmp_path / "half.jsonl", [*GSM8K_TEST, {"id": "h", "problem": "Half?", "answer": "1/2"}])
    monkeypatch.setenv("OPEN_R1_EVAL_FEWSHOT", f"gsm8k={train}")
    with pytest.raises(UsageError, match=r"problem 'h' has the answer '1/2'"):
        load_tasks_module(monkeypatch, f"gsm8k={half}")


def test_the_few_shot_cpu_command_is_greedy_with_lighteval_gsm8k_generation_size(gsm8k_files, tiny_model):
    train, test = gsm8k_files
    # The tiny model does not sample by default: fine here, the protocol decodes greedily.
    command = build_lighteval_cpu_command(str(tiny_model), "gsm8k", str(test), num_fewshot=5, fewshot_file=str(train))
    assert command.argv[2].endswith("generation_parameters={max_new_tokens:1024,temperature:0}")
    assert "max_length=1024," in command.argv[2]
    assert command.env["OPEN_R1_EVAL_MAX_NEW_TOKENS"] == "256"
    assert command.argv[3] == "local:gsm8k|5"
    assert command.env["OPEN_R1_EVAL_DATA"] == f"gsm8k={test.resolve()}"
    assert command.env["OPEN_R1_EVAL_FEWSHOT"] == f"gsm8k={train.resolve()}"
    with pytest.raises(ValueError, match="decodes greedily"):
        build_lighteval_cpu_command(
            str(tiny_model), "gsm8k", str(test), num_fewshot=5, fewshot_file=str(train), num_samples=4
        )


@pytest.mark.slow
def test_lighteval_runs_the_five_shot_protocol_on_the_tiny_model(gsm8k_files, tiny_model, tmp_path, monkeypatch):
    import os
    import sys

    import pandas as pd

    # The `lighteval` command of this environment, as `make` puts its bin folder first.
    monkeypatch.setenv("PATH", f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    # lighteval runs from the model's parent folder: this checkout's code, by an absolute path.
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT / "src"))

    train, test = gsm8k_files
    command = build_lighteval_cpu_command(
        str(tiny_model),
        "gsm8k",
        str(test),
        num_fewshot=5,
        fewshot_file=str(train),
        max_new_tokens=8,
        output_dir=str(tmp_path / "evals"),
    )
    from open_r1.eval.lighteval_command import run_lighteval_command

    assert run_lighteval_command(command) == 0
    (results_file,) = glob.glob(f"{tmp_path}/evals/results/{tiny_model.name}/results_*.json")
    results = json.loads(pathlib.Path(results_file).read_text())["results"]["local:gsm8k|5"]
    assert 0.0 <= results["qem"] <= 1.0
    (details_file,) = glob.glob(f"{tmp_path}/evals/details/{tiny_model.name}/*/details_local:gsm8k|5_*.parquet")
    details = pd.read_parquet(details_file)
    assert len(details) == 3
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for doc, response in zip(details["doc"], details["model_response"]):
        assert len(doc["fewshot_samples"]) == 5
        assert all("Ann has" in shot["query"] for shot in doc["fewshot_samples"])
        # The model read all five shots and the question (MAX_NEW_TOKENS=8 once cut the prompt to its last 8
        # tokens), and answered in at most 8 tokens (not the 256 of lighteval's GSM8K generation size).
        prompt = tokenizer.decode(response["input_tokens"])
        assert all(shot["query"] in prompt for shot in doc["fewshot_samples"]) and doc["query"] in prompt
        assert all(len(tokens) <= 8 for tokens in response["output_tokens"])
