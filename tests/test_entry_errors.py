"""The entry scripts as users run them: a mistake is one line on stderr, exit status 2, before any model loads.

Each error class of sft.py / grpo.py runs the script as a subprocess from a user's working directory whose `data/`
holds empty `tiny-model/`, `tiny-sft/`, `tiny-math/` folders (the tiny recipes' paths): a script that got as far as
loading them would fail there with another error. `--help` starts with what the script does and lists `--config` and the reward names, with no warning.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import time

import pytest

from open_r1.hub_access import HUB_CHECK_ATTEMPTS, HUB_CHECK_PAUSE_SECONDS
from open_r1.rewards import REWARD_FUNCS_REGISTRY
from open_r1.utils.launch import accelerate_command, launch_environment
from tests.support import REPO_ROOT, TINY_GRPO_RECIPE, TINY_SFT_RECIPE
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

SCRIPTS = REPO_ROOT / "src" / "open_r1"
TINY_SFT = REPO_ROOT / TINY_SFT_RECIPE
TINY_GRPO = REPO_ROOT / TINY_GRPO_RECIPE
# What the user waits for a mistyped local path: well below the 40-60 s of Hub retries it cost before.
LOCAL_PATH_SECONDS = 5.0


@pytest.fixture
def workdir(tmp_path):
    """A working directory laid out as the tiny recipes expect, but with `data/tiny-*` folders empty (the model's
    but for a config.json, which tells a model folder), and two small datasets."""
    data = tmp_path / "data"
    for name in ("tiny-model", "tiny-sft", "tiny-math"):
        (data / name).mkdir(parents=True)
    (data / "tiny-model" / "config.json").write_text("{}")
    (data / "tiny-model" / "model.safetensors").write_bytes(b"")
    (data / "plain.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n')
    (data / "prompts.jsonl").write_text('{"prompt": "1+1?", "level": 1}\n')
    return tmp_path


def run(script: str, *args: str, cwd, online: bool = False) -> tuple[subprocess.CompletedProcess, float]:
    """`python src/open_r1/<script> <args>` from `cwd`; `online` lets it reach the Hub (the default is offline)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    if online:
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            env.pop(name, None)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    return result, time.monotonic() - start


def error_line(result: subprocess.CompletedProcess, script: str, whole_stderr: bool = True) -> str:
    """The one `<script>: error: ...` line; `whole_stderr`: it is all of stderr."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"{script}: error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    if whole_stderr:
        assert result.stderr == errors[0] + "\n"
    return errors[0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script, recipe", [("sft.py", TINY_SFT), ("grpo.py", TINY_GRPO)])
def test_a_mistyped_local_model_path_fails_at_once_without_the_hub(workdir, script, recipe):
    result, seconds = run(
        script, "--config", str(recipe), "--model_name_or_path", "data/tiny-modle", cwd=workdir, online=True
    )
    line = error_line(result, script)
    assert (
        line
        == f"{script}: error: model_name_or_path: no such file or folder: data/tiny-modle (did you mean data/tiny-model?)"
    )
    assert seconds < LOCAL_PATH_SECONDS


@pytest.mark.timeout(120)
def test_a_mistyped_local_dataset_path_fails_at_once_without_the_hub(workdir):
    result, seconds = run(
        "sft.py", "--config", str(TINY_SFT), "--dataset_name", "data/plian.jsonl", cwd=workdir, online=True
    )
    line = error_line(result, "sft.py")
    assert line.endswith("dataset_name: no such file or folder: data/plian.jsonl (did you mean data/plain.jsonl?)")
    assert seconds < LOCAL_PATH_SECONDS


@pytest.mark.timeout(120)
def test_a_chat_template_path_sft_cannot_have_fails_at_once_without_the_hub(workdir, tmp_path, monkeypatch):
    """Found by a newcomer audit: a mistyped local chat_template_path spent 54 s on Hub retries after the model
    loaded; a Hub tokenizer's id offline and not cached did the same."""
    result, seconds = run(
        "sft.py", "--config", str(TINY_SFT), "--chat_template_path", "data/chatml.jinja", cwd=workdir, online=True
    )
    assert error_line(result, "sft.py").endswith("chat_template_path: no such file or folder: data/chatml.jinja")
    assert seconds < LOCAL_PATH_SECONDS
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache, offline
    result, seconds = run("sft.py", "--config", str(TINY_SFT), "--chat_template_path", "org/tokenizer", cwd=workdir)
    assert "chat_template_path org/tokenizer is neither a local path nor in the cache" in error_line(result, "sft.py")
    assert seconds < LOCAL_PATH_SECONDS


@pytest.mark.timeout(120)
@pytest.mark.parametrize("offline", [True, False], ids=["offline mode", "no network"])
def test_hub_ids_the_hub_cannot_give_and_a_push_fail_at_once(tmp_path, monkeypatch, offline):
    """A GPU recipe (Hub model and dataset, push_to_hub: true) where the Hub is out of reach: one line in seconds,
    where the libraries' retries took half a minute and the push failed once the model had loaded."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    recipe = REPO_ROOT / "recipes" / "Qwen2.5-1.5B-Instruct" / "grpo" / "config_demo.yaml"
    on_any_machine = ("--use_cpu", "true", "--use_vllm", "false")  # this test's machine may have no GPU
    result, seconds = run("grpo.py", "--config", str(recipe), *on_any_machine, cwd=tmp_path, online=not offline)
    line = error_line(result, "grpo.py")
    why = r"offline mode \(HF_HUB_OFFLINE=1.*\) keeps the Hub out of reach" if offline else r"\) does not answer \("
    assert re.search(f"^grpo.py: error: .*{why}", line), line
    assert (
        "so model_name_or_path Qwen/Qwen2.5-1.5B-Instruct and dataset_name open-r1/OpenR1-Math-220k are neither "
        f"local paths nor in the cache ({tmp_path / 'hf' / 'hub'} and {tmp_path / 'hf' / 'datasets'})"
    ) in line
    assert line.endswith("; push_to_hub needs the Hub: add --push_to_hub false")
    # Twice a local path's, and the check's own pauses between its tries (2 s): the library's retries took 30-60 s.
    assert seconds < 2 * LOCAL_PATH_SECONDS + (HUB_CHECK_ATTEMPTS - 1) * HUB_CHECK_PAUSE_SECONDS


@pytest.mark.timeout(120)
def test_a_tab_in_the_recipe_is_named_by_file_line_and_column(workdir):
    recipe = workdir / "recipe.yaml"
    recipe.write_text(TINY_SFT.read_text().replace("\nmax_steps:", "\n\tmax_steps:"))
    line = error_line(run("sft.py", "--config", str(recipe), cwd=workdir)[0], "sft.py")
    number = recipe.read_text().splitlines().index("\tmax_steps: 60") + 1
    assert line.startswith(f"sft.py: error: {recipe}:{number}:1: found character '\\t' that cannot start any token")


@pytest.mark.timeout(300)
def test_an_unknown_recipe_field_is_named_with_the_close_known_one(workdir):
    recipe = workdir / "recipe.yaml"
    recipe.write_text(TINY_SFT.read_text().replace("\nlearning_rate:", "\nlearnig_rate:"))
    line = error_line(run("sft.py", "--config", str(recipe), cwd=workdir)[0], "sft.py")
    assert (
        line
        == f"sft.py: error: {recipe}: unknown field learnig_rate (did you mean learning_rate?); --help-all lists them"
    )


@pytest.mark.timeout(300)
def test_a_field_the_mode_ignores_names_both_fields(workdir):
    result, _ = run("grpo.py", "--config", str(TINY_GRPO), "--vllm_gpu_memory_utilization", "0.5", cwd=workdir)
    line = error_line(result, "grpo.py")
    assert "vllm_gpu_memory_utilization: 0.5 has no effect with use_vllm: false" in line


@pytest.mark.timeout(300)
def test_sft_names_the_columns_found_and_expected_before_loading_the_model(workdir):
    result, _ = run("sft.py", "--config", str(TINY_SFT), "--dataset_name", "data/plain.jsonl", cwd=workdir)
    line = error_line(result, "sft.py")  # the whole of stderr: no datasets progress bar above it
    assert "data/plain.jsonl (split 'train') has columns ['question', 'answer']" in line
    assert "assistant_only_loss: true needs conversations: a 'messages' column" in line
    assert "Training parameters" not in result.stdout + result.stderr  # no settings dump above the one line


@pytest.mark.timeout(300)
def test_grpo_names_the_column_a_reward_needs_before_loading_the_model(workdir):
    result, _ = run("grpo.py", "--config", str(TINY_GRPO), "--dataset_name", "data/prompts.jsonl", cwd=workdir)
    line = error_line(result, "grpo.py")
    assert (
        "has columns ['prompt', 'level']; the 'accuracy' reward (reward_funcs) needs a 'solution' or 'answer'" in line
    )
    assert "Training parameters" not in result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_grpo_refuses_a_training_set_smaller_than_one_generation_batch_before_loading_the_model(workdir):
    """Found by an audit: TRL's sampler keeps whole batches only, so one prompt stopped the run at step 0, which
    saved the model it had loaded and exited 0."""
    (workdir / "data" / "one.jsonl").write_text('{"prompt": "1+1?", "solution": "2"}\n')
    result, _ = run("grpo.py", "--config", str(TINY_GRPO), "--dataset_name", "data/one.jsonl", cwd=workdir)
    line = error_line(result, "grpo.py")
    assert "the training set has 1 prompt, fewer than one generation batch draws (2: generation_batch_size 8" in line
    assert "Training parameters" not in result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_a_run_told_to_overwrite_that_fails_its_checks_keeps_the_earlier_runs_checkpoints(workdir):
    """Found by an audit: overwrite_output_dir deleted the earlier checkpoints, then a mistyped column stopped it."""
    earlier = workdir / "data" / "earlier-run" / "checkpoint-2"
    earlier.mkdir(parents=True)
    (earlier / "trainer_state.json").write_text('{"global_step": 2}')
    result, _ = run(
        "grpo.py", "--config", str(TINY_GRPO), "--dataset_name", "data/prompts.jsonl",
        "--output_dir", "data/earlier-run", "--overwrite_output_dir", "true", cwd=workdir,
    )  # fmt: skip
    assert "needs a 'solution' or 'answer'" in error_line(result, "grpo.py")
    assert (earlier / "trainer_state.json").is_file()


@pytest.mark.timeout(300)
def test_grpo_checks_the_think_prefill_once_the_tokenizer_is_loaded_before_the_model(workdir, tiny_model):
    # A tokenizer with empty weights: the run must stop before it reads them.
    tokenizer = workdir / "data" / "tokenizer-only"
    tokenizer.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_model / name, tokenizer / name)
    (tokenizer / "model.safetensors").write_bytes(b"")
    (workdir / "data" / "math.jsonl").write_text(
        '{"prompt": "1+1?", "solution": "2"}\n{"prompt": "2+2?", "solution": "4"}\n'
    )
    prefilling = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
    )
    result, _ = run(
        "grpo.py", "--config", str(TINY_GRPO), "--model_name_or_path", "data/tokenizer-only",
        "--dataset_name", "data/math.jsonl", "--chat_template", prefilling, cwd=workdir,
    )  # fmt: skip
    line = error_line(result, "grpo.py", whole_stderr=False)
    assert "The chat template ends the prompt with `<think>`" in line and "think_prefilled: true" in line


@pytest.mark.timeout(300)
def test_grpo_checks_that_the_template_renders_tool_calls_before_the_model_loads(workdir, tiny_model):
    """Found by an audit: `--tools python` with a plain model said so after loading it, under 232 lines; then still
    under the 220-line settings dump, without naming the tiny model's tool-calling variant."""
    tokenizer = workdir / "data" / "tokenizer-only"  # empty weights: a run that reached the model would fail on them
    tokenizer.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "tiny_model_spec.json"):
        shutil.copy(tiny_model / name, tokenizer / name)
    (tokenizer / "model.safetensors").write_bytes(b"")
    (workdir / "data" / "math.jsonl").write_text(
        '{"prompt": "1+1?", "solution": "2"}\n{"prompt": "2+2?", "solution": "4"}\n'
    )
    result, _ = run(
        "grpo.py", "--config", str(TINY_GRPO), "--model_name_or_path", "data/tokenizer-only",
        "--dataset_name", "data/math.jsonl", "--tools", "python", cwd=workdir,
    )  # fmt: skip
    line = error_line(result, "grpo.py", whole_stderr=False)
    assert "tools: the chat template does not render tool calls" in line
    assert (
        "a tiny model made without tools: make the tool-calling one with `python scripts/make_tiny_model.py " in line
    )
    assert "Training parameters" not in result.stdout + result.stderr  # no settings dump above the one line


@pytest.mark.timeout(300)
@pytest.mark.parametrize("accelerate_config", ["ddp.yaml", pytest.param("zero3.yaml", marks=pytest.mark.slow)])
def test_under_accelerate_launch_with_two_processes_the_error_line_is_all_and_the_status_2(workdir, accelerate_config):
    pth = pathlib.Path(sysconfig.get_paths()["purelib"]) / "open_r1_launcher_exit.pth"
    assert pth.is_file(), f"{pth} is missing: `make install` (scripts/install.sh) writes it"
    command = accelerate_command(
        "sft.py",
        str(TINY_SFT.relative_to(REPO_ROOT)),
        "--learnig_rate",
        "1e-3",
        accelerate_config=accelerate_config,
        num_processes=2,
    )
    assert command[command.index("--main_process_port") + 1] == "0"  # a free port, not one another run holds
    result = subprocess.run(
        command, cwd=workdir, env=launch_environment(accelerate_config), capture_output=True, text=True, timeout=280
    )
    wanted = "sft.py: error: unknown option --learnig_rate (did you mean --learning_rate?); --help-all lists them"
    # Not the launcher's ChildFailedError traceback nor its lines about the failed and the stopped process
    # (open_r1.launcher_exit); what every launch prints on a CPU (DeepSpeed's accelerator line, torchrun's
    # OMP_NUM_THREADS banner) is not ours to drop.
    every_launch = ("real_accelerator.py", "torch/distributed/run.py")
    output = (result.stdout + result.stderr).splitlines()
    ours = [line for line in output if not any(source in line for source in every_launch)]
    assert (result.returncode, ours) == (2, [wanted]), result.stdout[-2000:] + result.stderr[-4000:]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "script, description",
    [
        ("sft.py", "Supervised fine-tuning (SFT): distil reasoning traces into a model."),
        ("grpo.py", "GRPO: reinforcement learning with verifiable rewards (the R1-Zero / R1 recipe)."),
    ],
)
def test_help_starts_with_the_description_then_config_and_lists_the_rewards(workdir, script, description):
    result, _ = run(script, "--help", cwd=workdir)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == f"usage: {script} [--config RECIPE.yaml] [--FIELD VALUE ...]"
    assert lines[2] == description
    assert lines[4] == "recipe:" and lines[5].startswith("  --config RECIPE.yaml")
    if script == "grpo.py":
        reward_help = re.search(r"--reward_funcs .*?\(default", result.stdout, re.DOTALL).group(0)
        listed = set(re.findall(r"\w+", reward_help))
        assert set(REWARD_FUNCS_REGISTRY) <= listed, set(REWARD_FUNCS_REGISTRY) - listed


@pytest.mark.timeout(120)
def test_generate_help_has_its_description_and_no_warning(workdir):
    result, _ = run("generate.py", "--help", cwd=workdir)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "usage: generate.py --hf-dataset DATASET --model MODEL [--OPTION VALUE ...]"
    assert lines[2].startswith("Generates completions for a dataset with a distilabel pipeline")
    result, _ = run(
        "generate.py", "--hf-dataset", "data/plian.jsonl", "--model", "m", "--output-file", "o.jsonl", cwd=workdir
    )
    assert error_line(result, "generate.py").endswith(
        "--hf-dataset: no such file or folder: data/plian.jsonl (did you mean data/plain.jsonl?)"
    )
    result, _ = run("generate.py", "--hf-dataset", "data/plain.jsonl", "--model", "m", cwd=workdir)
    assert error_line(result, "generate.py") == (
        "generate.py: error: nothing would keep the result: give --output-file, --output-dir or --hf-output-dataset"
    )
    # Offline, a push of the result is named before the server is asked or the dataset loaded.
    result, _ = run(
        "generate.py", "--hf-dataset", "data/plain.jsonl", "--model", "m", "--hf-output-dataset", "me/x", cwd=workdir
    )
    assert error_line(result, "generate.py").endswith(
        "so --hf-output-dataset pushes the result: give --output-file or --output-dir instead"
    )


def test_every_script_that_parses_with_the_usage_parser_turns_its_errors_into_one_line():
    """`open_r1.usage.ArgumentParser` raises `UsageError` (so tests and callers can catch it): a script run from the
    shell must catch it with `exit_on_usage_error`, or a mistyped option prints a traceback."""
    scripts = sorted((REPO_ROOT / "scripts").rglob("*.py"))
    parsing = [
        path for path in scripts if re.search(r"from open_r1\.usage import[^\n]*\bArgumentParser\b", path.read_text())
    ]
    assert len(parsing) >= 5  # the scan sees the scripts it checks
    assert [
        str(path.relative_to(REPO_ROOT)) for path in parsing if "exit_on_usage_error" not in path.read_text()
    ] == []


def test_a_benchmark_scripts_mistyped_option_is_one_line():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "benchmarks" / "sft_padding.py"), "--modle", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sft_padding.py: error: unknown option --modle (did you mean --model?); --help lists them"
    ]
