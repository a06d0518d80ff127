"""scripts/make_tiny_model.py: besides the model and datasets, tiny-math's held-out problems for the evaluator."""

from open_r1.data.benchmarks import load_problems
from tests.support.script_module import load_module


def test_the_evaluation_file_holds_tiny_maths_test_split_in_the_evaluators_format(tiny_assets, tmp_path):
    from datasets import load_from_disk

    script = load_module("scripts/make_tiny_model.py", "make_tiny_model")
    path = script.write_evaluation_file(tiny_assets["tiny-math"], tmp_path)
    assert path == tmp_path / "tiny-math-test.jsonl"
    test_split = load_from_disk(str(tiny_assets["tiny-math"]))["test"]
    problems = load_problems(path)
    assert [(p.problem, p.answer) for p in problems] == list(zip(test_split["prompt"], test_split["answer"]))
    assert len({p.id for p in problems}) == len(problems) > 0
