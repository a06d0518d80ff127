"""GRPO with code rewards on CPU: completions' programs run in the local sandbox against each row's tests."""

import json

import pytest
import yaml

from open_r1.rewards import accuracy
from tests.support import REPO_ROOT, TINY_GRPO_RECIPE
from tests.support.launch import accelerate_launch, log_history

RECIPE = REPO_ROOT / TINY_GRPO_RECIPE
GRPO_SYSTEM_PROMPT = yaml.safe_load(RECIPE.read_text())["system_prompt"]
PROBLEMS = [
    ("Read two integers and print their sum.", "print(sum(map(int, input().split())))", [("1 2", "3"), ("5 7", "12")]),
    ("Read an integer n and print n squared.", "n = int(input())\nprint(n * n)", [("3", "9"), ("-4", "16")]),
]


def write_code_datasets(folder):
    """A GRPO dataset (problem + verification_info) and an SFT one teaching the model to answer with the program."""
    with open(folder / "code.jsonl", "w") as grpo, open(folder / "code_sft.jsonl", "w") as sft:
        for index in range(64):
            statement, program, tests = PROBLEMS[index % 2]
            verification_info = {
                "language": "python",
                "test_cases": [{"input": i, "output": o, "type": "stdin_stdout"} for i, o in tests],
            }
            grpo.write(json.dumps({"problem": statement, "verification_info": verification_info}) + "\n")
            answer = f"```python\n{program}\n```"
            messages = [{"role": "user", "content": statement}, {"role": "assistant", "content": answer}]
            sft.write(json.dumps({"messages": messages}) + "\n")


# In make slow_test (25 s of make test's 830-910 s on 2 cores): the code rewards' sandbox calls as GRPO makes them
# stay in make test (tests/sandbox/test_grpo_call.py), and GRPO's own training in tests/training/test_grpo.py.
@pytest.mark.slow
@pytest.mark.e2e
def test_grpo_with_code_rewards_in_the_local_sandbox_trains_end_to_end(tiny_assets, tmp_path):
    write_code_datasets(tmp_path)
    # A random model writes no program; a short SFT teaches it to answer with one, so GRPO's rewards come from
    # programs that really ran in the sandbox.
    accelerate_launch(
        "sft.py",
        "recipes/tiny/sft/config_cpu.yaml",
        "--model_name_or_path", str(tiny_assets["tiny-model"]),
        "--dataset_name", str(tmp_path / "code_sft.jsonl"),
        "--output_dir", str(tmp_path / "sft-code"),
        "--system_prompt", GRPO_SYSTEM_PROMPT,
        "--max_steps", "80", "--learning_rate", "1e-2", "--save_strategy", "no",
    )  # fmt: skip
    output_dir = tmp_path / "grpo-code"
    accelerate_launch(
        "grpo.py",
        "recipes/tiny/grpo/config_cpu.yaml",
        "--model_name_or_path", str(tmp_path / "sft-code"),
        "--dataset_name", str(tmp_path / "code.jsonl"),
        "--dataset_prompt_column", "problem",
        "--output_dir", str(output_dir),
        "--reward_funcs", "code", "binary_code", "code_format",
        "--reward_weights", "1.0", "1.0", "0.1",
        "--code_provider", "local",
        "--reward_num_workers", str(accuracy.DEFAULT_GRADING_WORKERS),  # the recipe's 1 is for math grading, unused here
        "--max_completion_length", "40", "--temperature", "0.3",
        "--max_steps", "2",
    )  # fmt: skip
    history = [entry for entry in log_history(output_dir) if "reward" in entry]
    assert [entry["step"] for entry in history] == [1, 2]
    for key in ("rewards/code_reward/mean", "rewards/binary_code_reward/mean", "rewards/code_format_reward/mean"):
        assert all(key in entry for entry in history), key
    assert any(entry["rewards/code_reward/mean"] > 0 for entry in history), "no program passed a test"
    assert (output_dir / "model.safetensors").exists()
