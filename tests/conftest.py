"""Shared pytest fixtures: the shared benchmark folder, tiny models built once per session, local sandboxes."""

import contextlib
import os
import pathlib
import sys

import pytest

from open_r1.utils.launch import SHARED_DATA

# Tests never reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def grade_afresh(monkeypatch):
    """Each test grades its own batches: grade_answers keeps the last batch's grades, which an earlier test's
    batch of the same answers would otherwise give a test that counts or stands in for the grading."""
    accuracy = sys.modules.get("open_r1.rewards.accuracy")
    if accuracy is not None:
        monkeypatch.setattr(accuracy, "_last_grading", None)


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The `../shared/data` benchmark folder; tests using it skip in a clone that lacks it."""
    if not (SHARED_DATA / "math500.jsonl").exists():
        pytest.skip(f"benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory) -> dict[str, pathlib.Path]:
    """Paths of a locally built tiny model and its datasets: keys tiny-model, tiny-sft, tiny-math."""
    from open_r1.tasks.tiny_model import build_all

    return build_all(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_model(tiny_assets) -> pathlib.Path:
    """Folder of a tiny Qwen2 causal LM with a ChatML tokenizer, loadable with from_pretrained."""
    return tiny_assets["tiny-model"]


@pytest.fixture(scope="session")
def sandbox_leftovers_check():
    """For sandbox test modules: once the session ends, no run left a process, mount, file, IPC object or key."""
    from tests.support.sandbox_checks import Snapshot, wait_until_gone

    before = Snapshot()
    yield
    problems = wait_until_gone(before.leftovers, 5.0)  # a run's last process may still be exiting
    assert not problems, "the local sandbox left things behind:\n" + "\n".join(problems)


@contextlib.contextmanager
def _local_sandboxes():
    """A `make(**LocalSandbox kwargs)` that skips where the machine cannot isolate; closes all it made on exit."""
    from open_r1.sandbox import LocalSandbox
    from tests.support.sandbox_checks import skip_without_isolation

    boxes = []

    def make(**kwargs):
        with skip_without_isolation():
            box = LocalSandbox(**kwargs)
        boxes.append(box)
        return box

    try:
        yield make
    finally:
        for box in boxes:
            box.close()


@pytest.fixture
def make_local_sandbox():
    """Builds LocalSandbox instances (skips where the machine cannot isolate); all are closed after the test."""
    with _local_sandboxes() as make:
        yield make


@pytest.fixture(scope="module")
def make_module_local_sandbox():
    """`make_local_sandbox` for a module's shared sandbox fixture: the sandboxes are closed after the module."""
    with _local_sandboxes() as make:
        yield make


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model, tmp_path_factory) -> dict[str, pathlib.Path]:
    """A tiny Llama in GGUF files and as a model folder: keys f32 and q4_1 (.gguf files), reference (folder).

    The tokenizer is the tiny model's vocabulary with SmolLM2's pre-tokenization and a ChatML template in
    SmolLM2's shape (default system prompt).
    """
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from tests.support.gguf_writer import CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE, build_tiny_llama, write_gguf

    folder = tmp_path_factory.mktemp("gguf")
    source = AutoTokenizer.from_pretrained(tiny_model)
    backend = source.backend_tokenizer
    # What the files' `smollm` pre-tokenizer means (llama.cpp): single digits split off, then GPT-2's split.
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    # A generic fast tokenizer: saved as a Qwen2Tokenizer it would get Qwen2's pre-tokenizer back on loading.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=source.eos_token,
        pad_token=source.pad_token,
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE
    model = build_tiny_llama(tokenizer)
    model.save_pretrained(folder / "reference")
    tokenizer.save_pretrained(folder / "reference")
    paths = {"reference": folder / "reference"}
    for quantization in ("F32", "Q4_1"):
        (folder / quantization.lower()).mkdir()
        target = folder / quantization.lower() / f"tiny-llama.{quantization}.gguf"
        paths[quantization.lower()] = write_gguf(
            target, model, tokenizer, CHATML_WITH_DEFAULT_SYSTEM_TEMPLATE, quantization
        )
    return paths


def memorised_tool_model(tmp_path_factory, trace: list[dict], name: str) -> tuple[pathlib.Path, float]:
    """A tiny tool-calling model (open_r1.tools.chat's template) trained until it has memorised `trace`, saved with
    its tokenizer; its folder and final loss."""
    import torch

    from open_r1.tasks.tiny_model import TinyModelSpec, build_model, build_tokenizer

    spec = TinyModelSpec(hidden_size=64, num_layers=2, intermediate_size=128, tool_calling=True)
    tokenizer = build_tokenizer(spec)
    model = build_model(tokenizer, spec)
    ids = torch.tensor([tokenizer.apply_chat_template(trace, tokenize=True, return_dict=False)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    # One thread: on a busy 2-core machine, threads of tiny ops wait on each other (1 s here instead of ~60 s).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(400):
            loss = model(input_ids=ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if loss.item() < 0.01:
                break
    finally:
        torch.set_num_threads(threads)
    assert loss.item() < 0.01, f"the tool rollout was not memorised (loss {loss.item():.3f})"
    folder = tmp_path_factory.mktemp(name) / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, loss.item()


@pytest.fixture(scope="session")
def tool_calling_model(tmp_path_factory) -> dict:
    """A tiny tool-calling model that has memorised one problem's tool rollout: it calls python with
    `print(<expression>)`, then boxes what the tool printed. Keys: path, problem (a row of
    open_r1.tasks.tool_arithmetic), user_turn (the prompt it memorised: the evaluator's user turn)."""
    from open_r1.data.benchmarks import Problem, build_messages
    from open_r1.tasks.tool_arithmetic import make_splits, tool_trace

    [problem], _ = make_splits(1, 0, seed=7)
    # The user turn as the evaluator writes it (problem + instruction), so GRPO and evaluation prompt alike.
    user_turn = build_messages(Problem(id="", problem=problem["problem"], answer=problem["answer"]))[-1]["content"]
    folder, loss = memorised_tool_model(tmp_path_factory, tool_trace({**problem, "problem": user_turn}), "tool-model")
    return {"path": folder, "problem": problem, "user_turn": user_turn, "final_loss": loss}


@pytest.fixture(scope="session")
def two_call_tool_model(tmp_path_factory) -> dict:
    """A tiny tool-calling model that has memorised a rollout of two rounds of calls, the second using a variable of
    the first (`x = 6 * 7` and `print(x)`, then `print(x + 1)`), then its answer. Keys: path, user_turn, solution,
    codes (the calls' code, in order)."""
    from open_r1.tasks.tool_arithmetic import TOOL_SYSTEM_PROMPT

    def call(code: str) -> dict:
        return {"role": "assistant", "content": "", "tool_calls": [python_call(code)]}

    user_turn = "What is 6 * 7 + 1? Put the final answer in \\boxed{}."
    codes = ["x = 6 * 7\nprint(x)", "print(x + 1)"]
    trace = [
        {"role": "system", "content": TOOL_SYSTEM_PROMPT},
        {"role": "user", "content": user_turn},
        call(codes[0]),
        {"role": "tool", "name": "python", "content": "42\n"},
        call(codes[1]),
        {"role": "tool", "name": "python", "content": "43\n"},
        {"role": "assistant", "content": "The answer is \\boxed{43}."},
    ]
    folder, _ = memorised_tool_model(tmp_path_factory, trace, "two-call-tool-model")
    return {"path": folder, "user_turn": user_turn, "solution": "\\boxed{43}", "codes": codes}


def python_call(code: str) -> dict:
    """A `python` tool call as TRL's parser gives it."""
    return {"type": "function", "function": {"name": "python", "arguments": {"code": code}}}
