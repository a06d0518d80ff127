"""Resuming: a finished run is not trained further, changed settings are reported, tied weights are not "missing".

The launched runs (finished run asked again, resumed run with a new learning rate) are in tests/training/test_sft.py.
"""

import json
import logging
import types

import pytest
from transformers import AutoModelForCausalLM, TrainerControl, TrainerState

from open_r1.configs import SFTConfig
from open_r1.utils.resume import (
    TRAINING_ARGS_FILE,
    RecordTrainingArguments,
    TiedWeightsResume,
    changed_settings,
    finished_run,
    report_changed_settings,
)


def make_checkpoint(output_dir, step, epoch=0.5):
    folder = output_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "epoch": epoch}))
    return folder


def sft_config(tmp_path, **settings):
    return SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", **settings)


def record(checkpoint, training_args):
    """What RecordTrainingArguments writes when the Trainer saves `checkpoint`."""
    state = TrainerState(global_step=int(checkpoint.name.split("-")[1]))
    RecordTrainingArguments().on_save(training_args, state, TrainerControl())
    assert (checkpoint / TRAINING_ARGS_FILE).is_file()


def test_a_checkpoint_at_max_steps_is_a_finished_run(tmp_path):
    checkpoint = make_checkpoint(tmp_path, 2)
    message = finished_run(str(checkpoint), sft_config(tmp_path, max_steps=2))
    assert message.startswith(f"Nothing to train: {checkpoint} is at step 2, and this run ends at max_steps: 2")
    assert "overwrite_output_dir: true" in message
    assert finished_run(str(checkpoint), sft_config(tmp_path, max_steps=1)) is not None
    assert finished_run(str(checkpoint), sft_config(tmp_path, max_steps=3)) is None


def test_without_max_steps_the_epochs_decide(tmp_path):
    done = make_checkpoint(tmp_path, 8, epoch=2.0)
    assert "num_train_epochs: 2" in finished_run(str(done), sft_config(tmp_path, num_train_epochs=2))
    assert finished_run(str(done), sft_config(tmp_path, num_train_epochs=3)) is None
    halfway = make_checkpoint(tmp_path, 4, epoch=1.0)
    assert finished_run(str(halfway), sft_config(tmp_path, num_train_epochs=2)) is None


def test_the_same_command_changes_nothing(tmp_path):
    checkpoint = make_checkpoint(tmp_path, 2)
    record(checkpoint, sft_config(tmp_path, max_steps=2))
    assert changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=2)) == []


def test_changed_settings_say_whether_they_take_effect(tmp_path):
    checkpoint = make_checkpoint(tmp_path, 2)
    record(checkpoint, sft_config(tmp_path, max_steps=2, learning_rate=3e-3, seed=42))
    lines = changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=4, learning_rate=1e-4, seed=42))
    assert lines == [
        "learning_rate: 0.003 -> 0.0001 (ignored: 0.003 stays, restored with the checkpoint's optimizer and "
        "scheduler states)",
        "max_steps: 2 -> 4 (takes effect)",
    ]


def test_another_dataset_or_model_is_named_too(tmp_path):
    """A newcomer audit's: resuming on another dataset named only the training arguments that changed."""
    from trl import ModelConfig

    from open_r1.configs import ScriptArguments

    checkpoint = make_checkpoint(tmp_path, 2)
    before = ScriptArguments(dataset_name="data/tiny-math"), ModelConfig(model_name_or_path="data/tiny-model")
    state = TrainerState(global_step=2)
    RecordTrainingArguments(*before).on_save(sft_config(tmp_path, max_steps=2), state, TrainerControl())
    now = ScriptArguments(dataset_name="data/other.jsonl"), ModelConfig(model_name_or_path="data/tiny-sft")
    assert changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=2), *before) == []
    assert changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=2), *now) == [
        "dataset_name: 'data/tiny-math' -> 'data/other.jsonl' (takes effect; the rows already trained are skipped by "
        "count, so as many of this dataset's rows are skipped)",
        "model_name_or_path: 'data/tiny-model' -> 'data/tiny-sft' (takes effect; the weights stay the checkpoint's; "
        "the tokenizer and configuration are this path's)",
    ]
    # A checkpoint saved before the dataset and model arguments were recorded: the training ones are compared.
    (checkpoint / "run_arguments.json").unlink()
    assert changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=2), *now) == []


def test_the_report_is_one_block_on_the_main_process(tmp_path, caplog):
    checkpoint = make_checkpoint(tmp_path, 2)
    record(checkpoint, sft_config(tmp_path, max_steps=2))
    with caplog.at_level(logging.INFO, logger="open_r1"):
        report_changed_settings(str(checkpoint), sft_config(tmp_path, max_steps=5, weight_decay=0.1))
    [block] = [r.getMessage() for r in caplog.records if "differ" in r.getMessage()]
    assert "max_steps: 2 -> 5 (takes effect)" in block
    assert "weight_decay: 0.0 -> 0.1 (ignored: 0.0 stays" in block


def test_a_checkpoint_without_a_record_is_named(tmp_path, caplog):
    checkpoint = make_checkpoint(tmp_path, 2)
    assert changed_settings(str(checkpoint), sft_config(tmp_path)) is None
    with caplog.at_level(logging.INFO, logger="open_r1"):
        report_changed_settings(str(checkpoint), sft_config(tmp_path))
    assert f"{checkpoint} has no {TRAINING_ARGS_FILE}" in caplog.text


def test_transformers_repeat_of_the_report_is_dropped_where_the_report_compared(tmp_path, caplog):
    """A newcomer's: after the report, transformers warned "Warning: The following arguments do not match the ones
    in the `trainer_state.json`" about the same logging steps; without a record, its warning is all there is."""
    from transformers.trainer_callback import TrainerState
    from transformers.trainer_utils import compare_trainer_and_checkpoint_args

    notices = logging.getLogger("transformers.trainer_utils")
    kept_filters = list(notices.filters)
    notices.filters = [
        existing for existing in notices.filters if type(existing).__name__ != "_TransformersComparison"
    ]
    notices.addHandler(caplog.handler)  # transformers' loggers need not propagate to caplog's
    state = TrainerState(logging_steps=1, eval_steps=500, save_steps=500, train_batch_size=8)
    try:
        with caplog.at_level(logging.INFO):
            logging.Logger.warning_once.cache_clear()
            checkpoint = make_checkpoint(tmp_path, 2)
            report_changed_settings(str(checkpoint), sft_config(tmp_path, logging_steps=5))  # no record
            compare_trainer_and_checkpoint_args(sft_config(tmp_path, logging_steps=5), state)
            assert "do not match the ones in the `trainer_state.json`" in caplog.text
            caplog.clear()
            record(checkpoint, sft_config(tmp_path, logging_steps=1))
            report_changed_settings(str(checkpoint), sft_config(tmp_path, logging_steps=5))
            logging.Logger.warning_once.cache_clear()  # transformers says a message once a process
            compare_trainer_and_checkpoint_args(sft_config(tmp_path, logging_steps=5), state)
        assert "logging_steps: 1 -> 5" in caplog.text and "trainer_state.json" not in caplog.text
        # Dropped once: the next resume's comparison, from a checkpoint without the record, is said again.
        logging.Logger.warning_once.cache_clear()
        with caplog.at_level(logging.INFO):
            compare_trainer_and_checkpoint_args(sft_config(tmp_path, logging_steps=5), state)
        assert "trainer_state.json" in caplog.text
    finally:
        notices.removeHandler(caplog.handler)
        notices.filters = kept_filters


class RecordingTrainer:
    """Stands for transformers' Trainer: records the keys it would warn about."""

    def __init__(self, model):
        self.model = model
        self.reported = None

    def _issue_warnings_after_load(self, load_result):
        self.reported = list(load_result.missing_keys)


class ResumingTrainer(TiedWeightsResume, RecordingTrainer):
    pass


@pytest.mark.parametrize("tied", [True, False])
def test_only_untied_keys_are_reported_missing(tiny_model, tied):
    model = AutoModelForCausalLM.from_pretrained(tiny_model, tie_word_embeddings=tied)
    trainer = ResumingTrainer(model)
    state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    trainer._issue_warnings_after_load(model.load_state_dict(state, strict=False))
    assert trainer.reported == ([] if tied else ["lm_head.weight"])
    # A tied key whose source is missing too is still reported.
    load_result = types.SimpleNamespace(missing_keys=["lm_head.weight", "model.embed_tokens.weight"])
    load_result._replace = lambda missing_keys: types.SimpleNamespace(missing_keys=missing_keys)
    trainer._issue_warnings_after_load(load_result)
    assert trainer.reported == ["lm_head.weight", "model.embed_tokens.weight"]
