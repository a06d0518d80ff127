"""lighteval custom tasks for local benchmark files, graded with the project's math grader.

    OPEN_R1_EVAL_DATA=math_500=../shared/data/math500.jsonl \
    lighteval accelerate "model_name=data/tiny-model,device=cpu,dtype=float32,batch_size=4,generation_parameters={max_new_tokens:32,temperature:0.6,top_p:0.95}" \
        "local:math_500|0" --custom-tasks src/open_r1/eval/lighteval_tasks.py --max-samples 5 --output-dir data/evals/tiny

lighteval's built-in math tasks download their data from the Hub; these read JSONL files with
`id`, `problem` and `answer` (the shape of ../shared/data/) instead. OPEN_R1_EVAL_DATA lists them
as comma-separated `name=path` pairs; each becomes the task `local:<name>`. The prompt is the one
of `python -m open_r1.evaluate` and the metric is pass@1 estimated from n samples (`local:math_500@n=4|0`)
with `open_r1.rewards.accuracy.grade_answers`, the code behind `accuracy_reward`.

Not covered: code benchmarks, and few-shot prompts (the files have no few-shot split).
"""

import hashlib
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
from open_r1.eval.arguments import DEFAULT_MAX_NEW_TOKENS
from open_r1.eval.metrics import pass_at_k
from open_r1.rewards.accuracy import DEFAULT_TIMEOUT_SECONDS

DATA_ENV = "OPEN_R1_EVAL_DATA"


class ProjectPassAtK(SamplingMetric, SampleLevelComputation):
    """pass@k of one problem's n samples, each graded by `open_r1.rewards.accuracy.grade_answers`."""

    def __init__(self, k: int = 1, n: int | None = None):
        super().__init__()
        self.k, self.n = k, n

    def compute(self, doc: Doc, model_response: ModelResponse, **kwargs) -> float:
        from open_r1.rewards.accuracy import grade_answers

        completions = list(model_response.final_text)
        if self.n is not None:
            completions = completions[: self.n]
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


def project_pass_at_k_metric() -> SampleLevelMetric:
    return SampleLevelMetric(
        metric_name="pass@k",  # the "@" lets lighteval set k and n from the task string (local:x@n=4|0)
        sample_level_fn=ProjectPassAtK(),
        category=SamplingMethod.GENERATIVE,
        corpus_level_fn=np.mean,
        higher_is_better=True,
    )


def local_math_prompt(line: dict, task_name: str | None = None) -> Doc:
    problem = Problem(id=str(line["id"]), problem=str(line["problem"]), answer=str(line["answer"]))
    return Doc(
        task_name=task_name,
        query=build_messages(problem)[-1]["content"],
        choices=[problem.answer],
        gold_index=0,
        id=problem.id,
    )


def parse_data_spec(spec: str) -> dict[str, pathlib.Path]:
    """`name=path,name=path` (the OPEN_R1_EVAL_DATA format) as {name: path}."""
    files = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"{DATA_ENV}: expected comma-separated name=path pairs, got {item!r}")
        files[name] = pathlib.Path(path).resolve()
    return files


def _dataset_folder(name: str, path: pathlib.Path) -> str:
    # lighteval loads a task's data with load_dataset(hf_repo); a folder holding only test.jsonl loads as
    # its `test` split, so copy the file into a folder of its own, named after the file's content (a
    # link could outlive its target, and the copy stays what was evaluated).
    load_problems(path)  # fail here, naming the file and line, rather than inside lighteval
    content = path.read_bytes()
    folder = (
        pathlib.Path(tempfile.gettempdir())
        / "open_r1_lighteval_data"
        / f"{name}-{hashlib.sha256(content).hexdigest()[:16]}"
    )
    target = folder / "test.jsonl"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".test.jsonl.{os.getpid()}"
        partial.write_bytes(content)
        partial.replace(target)  # atomic: a concurrent run never reads half a file
    return str(folder)


def local_task(name: str, path: pathlib.Path) -> LightevalTaskConfig:
    return LightevalTaskConfig(
        name=f"local:{name}",
        prompt_function=local_math_prompt,
        hf_repo=_dataset_folder(name, path),
        hf_subset="default",
        hf_avail_splits=["test"],
        evaluation_splits=["test"],
        few_shots_split=None,
        few_shots_select=None,
        generation_size=DEFAULT_MAX_NEW_TOKENS,
        metrics=[project_pass_at_k_metric()],
        stop_sequence=[],  # stop at the end-of-turn token only; reasoning can contain any text
        version=0,
    )


TASKS_TABLE = [local_task(name, path) for name, path in parse_data_spec(os.environ.get(DATA_ENV, "")).items()]
