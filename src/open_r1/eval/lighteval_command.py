"""lighteval command lines: `lighteval vllm` for a registered benchmark, `lighteval accelerate` on CPU for a file.

    from open_r1.eval.lighteval_command import build_lighteval_command, run_lighteval_command
    command = build_lighteval_command("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "aime24", parallel="data", num_gpus=8)
    print(command.shell()); run_lighteval_command(command)

This is the one place that turns (model, benchmark, parallelism) into a `lighteval vllm` command (the command
line `python -m open_r1.eval.lighteval_jobs`, `make evaluate` and slurm/evaluate.slurm all come here): upstream
open-r1's README setting (bfloat16, 32,768-token budget, temperature 0.6, top_p 0.95, chat template, results
under data/evals/<model>), written in lighteval 0.13's syntax:
- `--use-chat-template` no longer exists: the chat template is used when the tokenizer has one,
  and `override_chat_template=true` in the model arguments makes that explicit;
- model arguments are split on commas, so a system prompt with a comma or a newline is written
  to a YAML model config (`model_parameters:`) next to the results and passed instead.

On a CPU, `build_lighteval_cpu_command` (`make evaluate BACKEND=accelerate DATA=<file.jsonl>`) runs
`lighteval accelerate` on a local benchmark file through the `local:<task>` custom tasks of
`open_r1.eval.lighteval_tasks`. lighteval 0.13's transformers backend samples only if the model's
generation_config.json sets do_sample=true (else it decodes greedily at any temperature), so such
models are refused; `python -m open_r1.evaluate` (`make evaluate BACKEND=cpu`) has no such limit. With
NUM_FEWSHOT and FEWSHOT_FILE it runs lighteval's GSM8K few-shot protocol instead, greedily (`open_r1.eval.few_shot`).

Not covered: anything about vLLM itself (vLLM only runs where the `gpu` extra is installed), which benchmarks
exist (`open_r1.eval.benchmark_registry`), Slurm (`open_r1.eval.slurm_jobs`).
"""

import contextlib
import logging
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from open_r1.data.benchmarks import load_problems
from open_r1.eval import few_shot
from open_r1.eval.arguments import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from open_r1.eval.benchmark_registry import task_string
from open_r1.usage import UsageError, check_local_path, one_line
from open_r1.utils.gpu_packages import missing_gpu_package
from open_r1.utils.launch import REPO_ROOT

logger = logging.getLogger(__name__)

MAX_MODEL_LENGTH = 32768
GPU_MEMORY_UTILIZATION = 0.8
DTYPE = "bfloat16"
PARALLEL_MODES = ("data", "tensor")


@dataclass(frozen=True)
class LightevalCommand:
    """A lighteval invocation: argv, extra environment, a YAML model config to write first (if any), the folder to
    run in, and lighteval's sample cache folder (`cache_dir`), which `run_lighteval_command` empties before and after
    the run."""

    argv: list[str]
    env: dict[str, str]
    model_config_path: str | None = None
    model_config_yaml: str | None = None
    cwd: str | None = None
    cache_dir: str | None = None

    def shell(self) -> str:
        env = " ".join(f"{key}={shlex.quote(value)}" for key, value in self.env.items())
        cd = f"cd {shlex.quote(self.cwd)} && " if self.cwd else ""
        return cd + (env + " " if env else "") + shlex.join(self.argv)


def vllm_model_parameters(
    model: str,
    revision: str | None = None,
    parallel: str | None = None,
    num_gpus: int = 1,
    system_prompt: str | None = None,
    trust_remote_code: bool = False,
) -> dict:
    """The `lighteval vllm` model parameters of upstream open-r1's README setting, in command-line order."""
    params: dict = {"model_name": model}
    if revision and revision != "main":
        params["revision"] = revision
    params["dtype"] = DTYPE
    if parallel is not None:
        if parallel not in PARALLEL_MODES:
            raise ValueError(f"PARALLEL must be one of {PARALLEL_MODES}, got {parallel!r}")
        if num_gpus < 1:
            raise ValueError(f"NUM_GPUS must be a positive number of GPUs, got {num_gpus!r}")
        params[f"{parallel}_parallel_size"] = num_gpus
    params["max_model_length"] = MAX_MODEL_LENGTH
    params["gpu_memory_utilization"] = GPU_MEMORY_UTILIZATION
    if trust_remote_code:
        params["trust_remote_code"] = True
    params["override_chat_template"] = True
    if system_prompt is not None:  # "" too: lighteval adds an empty system turn, as training does
        params["system_prompt"] = system_prompt
    params["generation_parameters"] = {
        "max_new_tokens": DEFAULT_MAX_NEW_TOKENS,
        "temperature": DEFAULT_TEMPERATURE,
        "top_p": DEFAULT_TOP_P,
    }
    return params


def _inline_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_inline_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def fits_inline(params: dict) -> bool:
    """Whether lighteval's `key=value,...` parser would read every value back unchanged (it splits on ',' and keeps
    what lies between the first two '=': a folder named `a=b` came back as `a`)."""
    return all(not any(c in str(v) for c in ",\n{}=") for k, v in params.items() if k != "generation_parameters")


def inline_model_args(params: dict) -> str:
    if not fits_inline(params):
        raise ValueError(
            "a model parameter contains ',', '=', '{', '}' or a newline; pass it through a YAML model config"
        )
    return ",".join(f"{key}={_inline_value(value)}" for key, value in params.items())


def run_cache_dir(output_dir: str, task: str) -> str:
    """lighteval's sample cache for one run: a folder of the run's output folder, emptied before and after it, one
    per task (slurm/evaluate.slurm runs a model's benchmarks at once into one output folder, and lighteval reads its
    answers back from that cache at the end of the run).

    lighteval 0.13 has no switch to turn that cache off (`SampleCache`, used by the transformers and vLLM backends
    alike): by default it keeps every answer under ~/.cache/huggingface/lighteval/<model_name>/<hash of the model
    arguments>, and reads them back for any later run with the same arguments. Neither the key nor the folder sees
    the weights: two model folders of one name (`model_name` is the folder's name alone on the accelerate backend), or
    a checkpoint retrained in place or pushed again, got the earlier model's answers back ("Cache: 1/1 samples are
    cached"). A cache that lives only as long as the run is never read by another."""
    return f"{output_dir}/lighteval_cache/{task}"


def model_arguments(params: dict, output_dir: str, task: str) -> tuple[str, str | None, str | None]:
    """lighteval's model argument for `params`: inline `key=value,...` when every value reads back unchanged, else
    a YAML model config in `output_dir` (model_spec, config path, config text), one per task: its `cache_dir` is the
    task's, and slurm/evaluate.slurm runs a model's benchmarks at once into one output folder (a review's: one file
    for all let a job read another's cache folder, which that job then emptied)."""
    if fits_inline(params):
        return inline_model_args(params), None, None
    import yaml

    path = f"{output_dir}/model_config_{task.replace(':', '_')}.yaml"
    return path, path, yaml.safe_dump({"model_parameters": params}, sort_keys=False, allow_unicode=True)


def default_output_dir(model: str, task: str | None = None) -> str:
    """Where an evaluation of `model` writes when no output folder is named: data/evals/<model>[/<task>], `model`'s
    path without its empty, `.` and `..` parts (an absolute MODEL made `data/evals//tmp/...` on the cpu backend; a
    `..` climbed out of data/evals). lighteval's backends name no task (their files carry it); the offline
    evaluator's one results.json per folder does. The Makefile's cpu branch writes the same rule in make
    (`evals_folder`); a test holds the two together."""
    parts = [part for part in model.split("/") if part not in ("", ".", "..")]
    return "/".join(["data/evals", *parts, *([task] if task else [])])


def build_lighteval_command(
    model: str,
    benchmark: str,
    *,
    revision: str | None = None,
    parallel: str | None = None,
    num_gpus: int = 1,
    system_prompt: str | None = None,
    trust_remote_code: bool = False,
    num_samples: int | None = None,
    output_dir: str | None = None,
    max_samples: int | None = None,
) -> LightevalCommand:
    """The `lighteval vllm` command that evaluates `model` on `benchmark` (see the module docstring)."""
    output_dir = output_dir or default_output_dir(model)
    params = vllm_model_parameters(model, revision, parallel, num_gpus, system_prompt, trust_remote_code)
    cache_dir = run_cache_dir(output_dir, benchmark)
    # Not the weights' folder: lighteval joins cache_dir and model_name, so an absolute local model path still puts
    # its cache there (the accelerate backend names a local folder alone for that reason).
    params = _with_cache_dir(params, cache_dir)
    model_spec, model_config_path, model_config_yaml = model_arguments(params, output_dir, benchmark)
    argv = ["lighteval", "vllm", model_spec, task_string(benchmark, num_samples)]
    argv += ["--output-dir", output_dir, "--save-details"]
    if max_samples is not None:
        argv += ["--max-samples", str(max_samples)]
    # vLLM's tensor-parallel workers must not fork a process that already initialised CUDA.
    env = {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"} if parallel == "tensor" else {}
    return LightevalCommand(argv, env, model_config_path, model_config_yaml, cache_dir=cache_dir)


def _with_cache_dir(params: dict, cache_dir: str) -> dict:
    """`params` with lighteval's `cache_dir` just before the generation parameters (which stay last)."""
    rest = {key: value for key, value in params.items() if key != "generation_parameters"}
    return {**rest, "cache_dir": cache_dir, "generation_parameters": params["generation_parameters"]}


LOCAL_TASKS_MODULE = "src/open_r1/eval/lighteval_tasks.py"
# lighteval 0.13 builds its own LLM-judge metrics as it loads its task registry, and their check calls
# huggingface_hub's list_models(model_name=...): a FutureWarning on every run, about lighteval's code, not this one.
# (The registry's ifeval module also tries to download nltk's punkt at import: "[nltk_data] Error loading punkt" when
# offline, harmless for these tasks and printed by nltk itself, so it stays.)
QUIET_WARNINGS = "ignore:Deprecated argument(s) used in 'list_models':FutureWarning"
# Read by that module (which imports it from here: importing that module imports lighteval).
THINK_PREFILLED_ENV = "OPEN_R1_EVAL_THINK_PREFILLED"
# The answer's token budget (MAX_NEW_TOKENS), which that module makes the tasks' `generation_size`: see
# `build_lighteval_cpu_command` for why it is not lighteval's `generation_parameters.max_new_tokens`.
MAX_NEW_TOKENS_ENV = "OPEN_R1_EVAL_MAX_NEW_TOKENS"
# A local task's name: lighteval reads ',', '|', '@' and '=' in a task argument as separators, and the name also
# names a folder of the task's data.
LOCAL_TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def check_local_task_name(task: str) -> None:
    """Refuses (UsageError, one line) a TASK that is no simple name: `a,b=c` or `x|5` gave a command that failed
    inside lighteval, or ran another task string than the one asked for."""
    if not LOCAL_TASK_NAME.fullmatch(task):
        raise UsageError(
            f"TASK={task!r}: a local task's name is letters and digits, with _ . : - inside (e.g. gsm8k or math_500); "
            "lighteval reads , | @ = as separators"
        )


def check_no_comma(variable: str, path: str) -> None:
    """Refuses (UsageError, one line) a file whose absolute path holds a comma: the custom tasks' environment lists
    name=path pairs separated by commas (it was reported as a missing file named after the comma)."""
    resolved = str(Path(path).resolve())
    if "," in resolved:
        shown = path if resolved == path else f"{path} ({resolved})"
        raise UsageError(
            f"{variable}={shown}: lighteval's local tasks cannot read a path with a comma (their environment lists "
            "name=path pairs separated by commas); link or copy the file to a path without one, or use BACKEND=cpu"
        )


def _check_model_samples(model: str, num_samples: int) -> None:
    # lighteval 0.13's transformers backend never sets do_sample itself: it samples only when the
    # model's generation_config.json says do_sample=true, and otherwise decodes greedily whatever the
    # temperature (n > 1 then fails inside generate()). Refuse rather than report a greedy score as sampled.
    from transformers import GenerationConfig

    try:
        do_sample = GenerationConfig.from_pretrained(model).do_sample
    except OSError:
        do_sample = False
    if not do_sample:
        # Only that key: temperature and top_p come from the command's generation parameters.
        config_file = Path(model, "generation_config.json") if Path(model).is_dir() else "its generation_config.json"
        raise UsageError(
            f"MODEL={model}: its generation_config.json does not set do_sample=true, so lighteval's accelerate backend "
            f"would decode greedily instead of sampling {num_samples} completion(s) at temperature "
            f'{DEFAULT_TEMPERATURE}; add "do_sample": true to the JSON object in {config_file} (create the file '
            'as {"do_sample": true} if there is none; temperature and top_p come from the command), or use '
            "BACKEND=cpu (python -m open_r1.evaluate), which samples itself"
        )


def _prefills_think(model: str) -> bool:
    """Whether `model`'s chat template opens `<think>` in the prompt (`open_r1.eval.offline.model_prefills_think`),
    read before lighteval runs: a tokenizer that does not load is one line naming MODEL."""
    from open_r1.eval.offline import model_prefills_think

    try:
        return model_prefills_think(model)
    except (OSError, ValueError) as error:
        raise UsageError(f"MODEL={model}: its tokenizer does not load: {one_line(error)}") from None


def model_context_length(model: str) -> int:
    """The positions of `model`'s context as lighteval 0.13's transformers backend reads them (`_init_max_length`:
    the text config's n_positions, max_position_embeddings or n_ctx, else 2048); a config that does not load is one
    line naming MODEL."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model).get_text_config()
    except (OSError, ValueError) as error:
        raise UsageError(f"MODEL={model}: its config.json does not load: {one_line(error)}") from None
    for attribute in ("n_positions", "max_position_embeddings", "n_ctx"):
        if hasattr(config, attribute):
            return int(getattr(config, attribute))
    return 2048


def _make_variable(name: str, value) -> str:
    """A setting as `make evaluate`'s user writes it (`NUM_FEWSHOT=5`), for the messages of `few_shot`'s checks."""
    return f"{name.upper()}={value}"


def build_lighteval_cpu_command(
    model: str,
    task: str,
    data_files: str,
    *,
    num_samples: int | None = None,
    max_new_tokens: int | None = None,
    max_samples: int | None = None,
    output_dir: str | None = None,
    batch_size: int = 4,
    num_fewshot: int = 0,
    fewshot_file: str | None = None,
) -> LightevalCommand:
    """`lighteval accelerate` on CPU for a local benchmark file, through the `local:<task>` custom task.

    With `num_fewshot` shots from `fewshot_file` it is lighteval's GSM8K protocol (`open_r1.eval.few_shot`): greedy,
    one completion per problem, lighteval's generation size unless `max_new_tokens` says otherwise."""
    check_local_task_name(task)
    check_no_comma("DATA", data_files)
    if fewshot_file is not None:
        check_no_comma("FEWSHOT_FILE", fewshot_file)
    check_local_path("DATA", data_files)
    if not Path(data_files).is_file():
        raise UsageError(f"DATA={data_files}: not a file (expected a benchmark JSONL with id, problem, answer)")
    try:
        problems = load_problems(data_files)  # its fields and JSON checked here, not in a traceback from lighteval
    except ValueError as error:
        raise UsageError(f"DATA={one_line(error)}") from None
    if num_samples is not None and num_samples < 1:
        raise UsageError(f"NUM_SAMPLES must be >= 1, got {num_samples}")
    few_shot.check_fewshot_settings(num_fewshot, fewshot_file, _make_variable)
    if num_fewshot and num_samples not in (None, 1):
        raise UsageError("the few-shot protocol decodes greedily, one completion per problem; drop NUM_SAMPLES")
    env = {"OPEN_R1_EVAL_DATA": f"{task}={Path(data_files).resolve()}"}
    if num_fewshot:
        # Refused here, in one line, rather than in a traceback from inside lighteval (its sampler's "Sample larger
        # than population") or after every problem was generated (a gold the exact match cannot read).
        few_shot.check_whole_number_golds(problems, data_files)
        few_shot.check_shot_count(
            num_fewshot, few_shot.load_disjoint_shots(fewshot_file, data_files, problems), _make_variable
        )
        env["OPEN_R1_EVAL_FEWSHOT"] = f"{task}={Path(fewshot_file).resolve()}"
    else:
        _check_model_samples(model, num_samples or 1)
        if _prefills_think(model):  # graded as the offline evaluator grades such a model (lighteval_tasks)
            env[THINK_PREFILLED_ENV] = "1"
    context = model_context_length(model)  # read here, before `model` becomes a name relative to `cwd`
    output_dir = os.path.abspath(output_dir or default_output_dir(model))
    cwd = None
    if Path(model).is_dir():
        # lighteval writes its sample cache to <cache_dir>/<model_name> and results to
        # <output_dir>/results/<model_name>: an absolute model path (or one with "..") would land
        # them inside or beside the model folder. Run from the folder's parent and name it alone.
        cwd, model = str(Path(model).resolve().parent), Path(model).resolve().name
    # The custom tasks import open_r1: this checkout's, from any working directory (`make` exports PYTHONPATH=src).
    inherited = [os.path.abspath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(REPO_ROOT / "src"), *inherited]))
    env["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS", ""), QUIET_WARNINGS]))
    # The answer's budget is the task's generation_size (lighteval_tasks reads it from this variable), where lighteval
    # 0.13's transformers backend caps generation. Its `generation_parameters.max_new_tokens` is no answer budget there:
    # it is the `max_length` every prompt is left-truncated to (`_padded_greedy_until`), so MAX_NEW_TOKENS=32 cut each
    # prompt to its last 32 tokens (few-shot prompts lost their shots) and the answer ran to the task's size. Without
    # it lighteval truncates to the first prompt of a batch plus generation_size, sorted by the question's characters,
    # not the prompt's tokens: a few-shot prompt with longer shots would still be cut. So it is the model's whole
    # context (also passed as max_length): a prompt is cut only if it alone overflows the context.
    env[MAX_NEW_TOKENS_ENV] = str(
        max_new_tokens or (few_shot.LIGHTEVAL_GSM8K_GENERATION_SIZE if num_fewshot else DEFAULT_MAX_NEW_TOKENS)
    )
    if num_fewshot:
        # temperature 0: lighteval's transformers backend then decodes greedily, as the card's protocol does.
        generation = {"max_new_tokens": context, "temperature": 0}
    else:
        generation = {"max_new_tokens": context, "temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P}
    params = {"model_name": model, "device": "cpu", "dtype": "float32", "batch_size": batch_size}
    params["max_length"] = context
    cache_dir = run_cache_dir(output_dir, task)
    params = _with_cache_dir({**params, "generation_parameters": generation}, cache_dir)
    model_spec, model_config_path, model_config_yaml = model_arguments(params, output_dir, task)
    task_arg = f"local:{task}" + (f"@k=1@n={num_samples}" if num_samples else "") + f"|{num_fewshot}"
    argv = ["lighteval", "accelerate", model_spec, task_arg, "--custom-tasks", str(REPO_ROOT / LOCAL_TASKS_MODULE)]
    argv += ["--output-dir", output_dir, "--save-details"]
    if max_samples is not None:
        argv += ["--max-samples", str(max_samples)]
    return LightevalCommand(argv, env, model_config_path, model_config_yaml, cwd, cache_dir)


def run_lighteval_command(command: LightevalCommand) -> int:
    """Runs `command` (writing its YAML model config first, in an empty sample cache removed afterwards: see
    `run_cache_dir`); returns lighteval's exit status."""
    if command.model_config_path is not None:
        Path(command.model_config_path).parent.mkdir(parents=True, exist_ok=True)
        Path(command.model_config_path).write_text(command.model_config_yaml, encoding="utf-8")
    problem = command.argv[1] == "vllm" and missing_gpu_package(
        "vllm", "lighteval's vLLM backend", "on a CPU use the offline path: make evaluate BACKEND=cpu DATA=<file>"
    )
    if problem:
        logger.error(problem)
        return 1
    cache_dir = None if command.cache_dir is None else Path(command.cwd or ".") / command.cache_dir
    if cache_dir is not None:
        shutil.rmtree(cache_dir, ignore_errors=True)  # left by a run that was killed, or by the command run by hand
    try:
        return subprocess.run(command.argv, env={**os.environ, **command.env}, cwd=command.cwd, check=False).returncode
    finally:
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                cache_dir.parent.rmdir()  # lighteval_cache/, once no other task's run holds a folder there
