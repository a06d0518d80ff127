"""Which checkpoint a restarted run resumes from; what the model card is called and which dataset it links."""

import types

from open_r1.utils.training import hub_dataset_id, model_card_name, resolve_checkpoint


def make_checkpoint(output_dir, step, complete=True):
    folder = output_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    if complete:
        (folder / "trainer_state.json").write_text("{}")
    return folder


def args(output_dir, resume_from_checkpoint=None):
    return types.SimpleNamespace(output_dir=str(output_dir), resume_from_checkpoint=resume_from_checkpoint)


def test_fresh_output_dir_starts_from_scratch(tmp_path):
    assert resolve_checkpoint(args(tmp_path / "missing")) is None
    assert resolve_checkpoint(args(tmp_path)) is None


def test_resumes_from_the_highest_step_not_the_last_listed(tmp_path):
    make_checkpoint(tmp_path, 9)
    make_checkpoint(tmp_path, 10)
    make_checkpoint(tmp_path, 100)
    assert resolve_checkpoint(args(tmp_path)) == str(tmp_path / "checkpoint-100")


def test_a_checkpoint_whose_save_was_interrupted_is_skipped(tmp_path, caplog):
    make_checkpoint(tmp_path, 10)
    make_checkpoint(tmp_path, 20, complete=False)
    assert resolve_checkpoint(args(tmp_path)) == str(tmp_path / "checkpoint-10")
    assert "checkpoint-20" in caplog.text


def test_an_explicit_resume_path_wins(tmp_path):
    make_checkpoint(tmp_path, 10)
    assert resolve_checkpoint(args(tmp_path, "/elsewhere/checkpoint-3")) == "/elsewhere/checkpoint-3"


def test_the_model_card_is_named_after_the_hub_repository_else_the_output_dir(tmp_path):
    named = types.SimpleNamespace(hub_model_id="open-r1/OpenR1-Distill-7B", output_dir=str(tmp_path / "out"))
    assert model_card_name(named) == "OpenR1-Distill-7B"
    unnamed = types.SimpleNamespace(hub_model_id=None, output_dir=str(tmp_path / "data" / "tiny-sft-out") + "/")
    assert model_card_name(unnamed) == "tiny-sft-out"


def test_the_model_card_links_hub_datasets_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "tiny-sft").mkdir(parents=True)
    (tmp_path / "train.jsonl").write_text("{}")
    assert hub_dataset_id("open-r1/Mixture-of-Thoughts") == "open-r1/Mixture-of-Thoughts"
    assert hub_dataset_id("data/tiny-sft") is None
    assert hub_dataset_id("train.jsonl,more.jsonl") is None
    assert hub_dataset_id(None) is None
