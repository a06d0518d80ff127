"""lighteval custom tasks for local benchmark files, graded with the project's math grader.

    OPEN_R1_EVAL_DATA=math_500=../shared/data/math500.jsonl OPEN_R1_EVAL_MAX_NEW_TOKENS=32 \
    lighteval accelerate "model_name=data/tiny-model,device=cpu,dtype=float32,batch_size=4,max_length=1024,generation_parameters={max_new_tokens:1024,temperature:0.6,top_p:0.95}" \
        "local:math_500|0" --custom-tasks src/open_r1/eval/lighteval_tasks.py --max-samples 5 --output-dir data/evals/tiny

lighteval's built-in math tasks download their data from the Hub; these read JSONL files with
`id`, `problem` and `answer` (the shape of ../shared/data/) instead. OPEN_R1_EVAL_DATA lists them
as comma-separated `name=path` pairs; each becomes the task `local:<name>`. The prompt is the one
of `python -m open_r1.evaluate` and the metric is pass@1 estimated from n samples (`local:math_500@n=4|0`)
with `open_r1.rewards.accuracy.grade_answers`, the code behind `accuracy_reward`. OPEN_R1_EVAL_THINK_PREFILLED=1 says
the model's chat template opens `<think>` in the prompt: an answer then counts only after the reasoning's `</think>`,
as the offline evaluator and GRPO's `think_prefilled: true` read it (`build_lighteval_cpu_command` sets it from the
model's template). OPEN_R1_EVAL_MAX_NEW_TOKENS is the answer's token budget, every task's `generation_size`: where
lighteval 0.13's transformers backend caps an answer (its `generation_parameters.max_new_tokens` is the length prompts
are truncated to, so the command sets that to the model's context).

Few-shot: OPEN_R1_EVAL_FEWSHOT names a shot file per task in the same `name=path` form (JSONL with `problem` and
`solution`, e.g. GSM8K-train). Such a task is lighteval's GSM8K protocol, as `--prompt_style plain` of the offline
evaluator (`open_r1.eval.few_shot`): `Question: ...\\nAnswer:` prompts, shots drawn by lighteval
(`random_sampling_from_train`) from the shot file only, lighteval's GSM8K stop sequences and generation size, and
the exact match of the number after `####` (`local:gsm8k|5`). The shot file is refused when it is the evaluated file
or shares a problem with it; a task without one refuses to build shots (lighteval would take them from the
evaluated file itself).

Not covered: code benchmarks.
"""

import gzip
import hashlib
import json
import os
import pathlib
import tempfile

import numpy as np
from lighteval.metrics.metrics_sample import SampleLevelComputation, SamplingMetric
from lighteval.metrics.utils.metric_utils import SampleLevelMetric
from lighteval.models.model_output import ModelResponse
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc, SamplingMethod

from open_r1.data.benchmarks import Problem, build_messages, load_problems
from open_r1.eval import few_shot
from open_r1.eval.arguments import DEFAULT_MAX_NEW_TOKENS
from open_r1.eval.lighteval_command import LOCAL_TASK_NAME, MAX_NEW_TOKENS_ENV, THINK_PREFILLED_ENV
from open_r1.eval.metrics import pass_at_k
from open_r1.rewards.accuracy import DEFAULT_TIMEOUT_SECONDS

DATA_ENV = "OPEN_R1_EVAL_DATA"
FEWSHOT_ENV = "OPEN_R1_EVAL_FEWSHOT"


class ProjectPassAtK(SamplingMetric, SampleLevelComputation):
    """pass@k of one problem's n samples, each graded by `open_r1.rewards.accuracy.grade_answers`; `think_prefilled`:
    the prompt opened `<think>`, so an answer inside unfinished reasoning earns nothing (`answer_texts`)."""

    def __init__(self, k: int = 1, n: int | None = None, think_prefilled: bool = False):
        super().__init__()
        self.k, self.n, self.think_prefilled = k, n, think_prefilled

    def compute(self, doc: Doc, model_response: ModelResponse, **kwargs) -> float:
        from open_r1.rewards.accuracy import answer_texts, grade_answers

        completions = list(model_response.final_text)
        if self.n is not None:
            completions = completions[: self.n]
        completions = answer_texts(completions, self.think_prefilled)  # as the offline evaluator's grade_completions
        gold = doc.get_golds()[0]
        grades = grade_answers(
            completions,
            [gold] * len(completions),
            num_workers=1,
            timeout=DEFAULT_TIMEOUT_SECONDS,
        )
        return pass_at_k(len(completions), sum(1 for grade in grades if grade), min(self.k, len(completions)))

    def num_samples(self) -> int:
        return self.n if self.n is not None else self.k


def project_pass_at_k_metric(think_prefilled: bool = False) -> SampleLevelMetric:
    return SampleLevelMetric(
        metric_name="pass@k",  # the "@" lets lighteval set k and n from the task string (local:x@n=4|0)
        sample_level_fn=ProjectPassAtK(think_prefilled=think_prefilled),
        category=SamplingMethod.GENERATIVE,
        corpus_level_fn=np.mean,
        higher_is_better=True,
    )


def local_math_prompt(line: dict, task_name: str | None = None) -> Doc:
    if line.get("__few_shots"):
        # lighteval draws shots from the evaluated split when a task has no other one: never from a test set.
        raise ValueError(
            f"{task_name}: no shot file for this task, so lighteval would take its shots from the evaluated file; "
            f"name one in {FEWSHOT_ENV} (or run it 0-shot, `{task_name}|0`)"
        )
    problem = Problem(id=str(line["id"]), problem=str(line["problem"]), answer=str(line["answer"]))
    return Doc(
        task_name=task_name,
        query=build_messages(problem)[-1]["content"],
        choices=[problem.answer],
        gold_index=0,
        id=problem.id,
    )


def parse_data_spec(spec: str, variable: str = DATA_ENV) -> dict[str, pathlib.Path]:
    """`name=path,name=path` (the format of OPEN_R1_EVAL_DATA and OPEN_R1_EVAL_FEWSHOT) as {name: path}; a name is
    `LOCAL_TASK_NAME`'s (no separator of lighteval's task argument), a path holds no comma."""
    files = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(
                f"{variable}: expected comma-separated name=path pairs (no comma in a path), got {item!r}"
            )
        if not LOCAL_TASK_NAME.fullmatch(name):
            raise ValueError(f"{variable}: task name {name!r} is not letters and digits with _ . : - inside")
        if name in files:
            raise ValueError(f"{variable}: task {name!r} is named twice")
        files[name] = pathlib.Path(path).resolve()
    return files


def plain_prompt(line: dict, task_name: str | None = None) -> Doc:
    """lighteval's gsm8k Doc: a shot's gold is " " + its solution (the assistant turn), a problem's its answer."""
    if line.get("__few_shots"):
        return Doc(
            task_name=task_name,
            query=few_shot.plain_query(line["problem"]),
            choices=[f" {line['solution']}"],
            gold_index=0,
        )
    return Doc(
        task_name=task_name,
        query=few_shot.plain_query(line["problem"]),
        choices=[str(line["answer"])],
        gold_index=0,
        id=str(line["id"]),
    )


class HashExactMatch(SampleLevelComputation):
    """lighteval's GSM8K quasi-exact match (`few_shot.grade_hash_answer`) of the first completion."""

    def compute(self, doc: Doc, model_response: ModelResponse, **kwargs) -> float:
        return few_shot.grade_hash_answer(model_response.final_text[0], doc.get_golds()[0])[1]


def hash_exact_match_metric() -> SampleLevelMetric:
    return SampleLevelMetric(
        metric_name="qem",
        sample_level_fn=HashExactMatch(),
        category=SamplingMethod.GENERATIVE,
        corpus_level_fn=np.mean,
        higher_is_better=True,
    )


def _write_once(folder: pathlib.Path, name: str, content: bytes) -> None:
    target = folder / name
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{os.getpid()}"
        partial.write_bytes(content)
        partial.replace(target)  # atomic: a concurrent run never reads half a file


def _dataset_folder(name: str, path: pathlib.Path, shots_path: pathlib.Path | None = None) -> str:
    # lighteval loads a task's data with load_dataset(hf_repo); a folder holding only test.jsonl loads as
    # its `test` split, so copy the file into a folder of its own, named after the file's content (a
    # link could outlive its target, and the copy stays what was evaluated).
    problems = load_problems(path)  # fail here, naming the file and line, rather than inside lighteval
    # The rows load_problems read: a gzipped file's decompressed.
    content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if shots_path is None:
        folder = _data_root() / f"{name}-{hashlib.sha256(content).hexdigest()[:16]}"
        _write_once(folder, "test.jsonl", content)
        return str(folder)
    few_shot.check_whole_number_golds(problems, str(path))  # the exact match reads no other gold
    shots = few_shot.load_disjoint_shots(str(shots_path), str(path), problems)
    # With a train split beside it, both splits must have the same columns for load_dataset.
    test = [{"id": p.id, "problem": p.problem, "answer": p.answer, "solution": ""} for p in problems]
    train = [{"id": f"line-{s.line}", "problem": s.problem, "answer": "", "solution": s.solution} for s in shots]
    test_bytes, train_bytes = (("".join(json.dumps(row) + "\n" for row in rows)).encode() for rows in (test, train))
    folder = _data_root() / f"{name}-{hashlib.sha256(test_bytes + b'|' + train_bytes).hexdigest()[:16]}"
    _write_once(folder, "train.jsonl", train_bytes)
    _write_once(folder, "test.jsonl", test_bytes)
    return str(folder)


def _data_root() -> pathlib.Path:
    return pathlib.Path(tempfile.gettempdir()) / "open_r1_lighteval_data"


def local_task(
    name: str, path: pathlib.Path, think_prefilled: bool = False, max_new_tokens: int | None = None
) -> LightevalTaskConfig:
    return LightevalTaskConfig(
        name=f"local:{name}",
        prompt_function=local_math_prompt,
        hf_repo=_dataset_folder(name, path),
        hf_subset="default",
        hf_avail_splits=["test"],
        evaluation_splits=["test"],
        few_shots_split=None,
        few_shots_select=None,
        generation_size=max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
        metrics=[project_pass_at_k_metric(think_prefilled)],
        stop_sequence=[],  # stop at the end-of-turn token only; reasoning can contain any text
        version=0,
    )


def local_fewshot_task(
    name: str, path: pathlib.Path, shots_path: pathlib.Path, max_new_tokens: int | None = None
) -> LightevalTaskConfig:
    return LightevalTaskConfig(
        name=f"local:{name}",
        prompt_function=plain_prompt,
        hf_repo=_dataset_folder(name, path, shots_path),
        hf_subset="default",
        hf_avail_splits=["train", "test"],
        evaluation_splits=["test"],
        few_shots_split="train",
        few_shots_select="random_sampling_from_train",
        generation_size=max_new_tokens or few_shot.LIGHTEVAL_GSM8K_GENERATION_SIZE,
        metrics=[hash_exact_match_metric()],
        stop_sequence=few_shot.LIGHTEVAL_GSM8K_STOP_SEQUENCES,
        version=0,
    )


def read_think_prefilled(value: str) -> bool:
    """OPEN_R1_EVAL_THINK_PREFILLED: "1" for a model whose chat template opens `<think>`, "0" or unset otherwise."""
    if value not in ("", "0", "1"):
        raise ValueError(f"{THINK_PREFILLED_ENV}: expected 1 or 0, got {value!r}")
    return value == "1"


def read_max_new_tokens(value: str) -> int | None:
    """OPEN_R1_EVAL_MAX_NEW_TOKENS: the answer's token budget (a positive whole number), or unset for each task's
    default (DEFAULT_MAX_NEW_TOKENS; lighteval's GSM8K 256 for a few-shot task)."""
    if value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_NEW_TOKENS_ENV}: expected a positive whole number of tokens, got {value!r}")
    return int(value)


def build_tasks(
    data_spec: str, fewshot_spec: str, think_prefilled: bool = False, max_new_tokens: int | None = None
) -> list[LightevalTaskConfig]:
    """The `local:<name>` tasks of OPEN_R1_EVAL_DATA, few-shot where OPEN_R1_EVAL_FEWSHOT names a shot file;
    `think_prefilled` for the model's chat template (the few-shot exact match reads the number after `####` alone,
    as the offline evaluator's plain style); `max_new_tokens` is each task's generation_size, the cap lighteval's
    transformers backend puts on an answer (`build_lighteval_cpu_command` says why it travels this way)."""
    files = parse_data_spec(data_spec, DATA_ENV)
    shot_files = parse_data_spec(fewshot_spec, FEWSHOT_ENV)
    unknown = sorted(set(shot_files) - set(files))
    if unknown:
        raise ValueError(f"{FEWSHOT_ENV}: shot file(s) for {unknown}, which {DATA_ENV} does not name")
    return [
        local_fewshot_task(name, path, shot_files[name], max_new_tokens)
        if name in shot_files
        else local_task(name, path, think_prefilled, max_new_tokens)
        for name, path in files.items()
    ]


TASKS_TABLE = build_tasks(
    os.environ.get(DATA_ENV, ""),
    os.environ.get(FEWSHOT_ENV, ""),
    read_think_prefilled(os.environ.get(THINK_PREFILLED_ENV, "")),
    read_max_new_tokens(os.environ.get(MAX_NEW_TOKENS_ENV, "")),
)
