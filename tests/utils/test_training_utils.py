"""Which checkpoint a restarted run resumes from; what the model card is called and which dataset it links; a finished
run leaves the process group its launch made."""

import logging
import types

import pytest

from open_r1.utils.training import hub_dataset_id, leave_process_group, model_card_name, resolve_checkpoint


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


@pytest.mark.parametrize("state", ["", '{"global_step": 30, "log_hist', "[]"])
def test_a_checkpoint_whose_state_was_cut_short_is_skipped(tmp_path, caplog, state):
    """Found by a red team: a save killed while transformers wrote trainer_state.json (it writes it last, not
    atomically) or a full disk left it cut short, and every resume, every requeue, crashed on it once the model
    had loaded, while the checkpoint before it was whole."""
    make_checkpoint(tmp_path, 20)
    make_checkpoint(tmp_path, 30)
    (tmp_path / "checkpoint-30" / "trainer_state.json").write_text(state)
    assert resolve_checkpoint(args(tmp_path)) == str(tmp_path / "checkpoint-20")
    assert "Skipping " + str(tmp_path / "checkpoint-30") + ": its trainer_state.json is cut short" in caplog.text


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


def _card_writer(output_dir, warn=None):
    """A trainer whose `create_model_card` is TRL's for a local base model (and, offline, reads wandb's run URL
    with `warn`), under the `LocalModelCard` mixin."""
    from trl.trainer.utils import generate_model_card

    from open_r1.utils.training import LocalModelCard

    class TRLCard:
        args = types.SimpleNamespace(output_dir=str(output_dir))
        model = types.SimpleNamespace(config=types.SimpleNamespace(_name_or_path="data/tiny-model"))

        def is_world_process_zero(self):
            return True

        def create_model_card(self, model_name=None, dataset_name=None, tags=None):
            if warn is not None:
                warn("URL not available in offline run")
            card = generate_model_card(
                base_model=None, model_name=model_name, hub_model_id=None, dataset_name=dataset_name, tags=tags or [],
                wandb_url=None, trackio_url=None, trainer_name="SFT",
            )  # fmt: skip
            card.save(str(output_dir / "README.md"))

    class Trainer(LocalModelCard, TRLCard):
        pass

    return Trainer()


def test_the_model_card_names_a_local_base_model_and_the_runs_folder_not_none(tmp_path):
    """Found by a newcomer audit: every local run's card said "fine-tuned version of [None](https://huggingface.co/None)"
    and `pipeline(model="None")`; the card is TRL's own template."""
    output_dir = tmp_path / "tiny-sft-out"
    output_dir.mkdir()
    _card_writer(output_dir).create_model_card(model_name="tiny-sft-out", tags=["open-r1"])
    card = (output_dir / "README.md").read_text()
    assert "fine-tuned version of `data/tiny-model` (a local model)" in card
    assert f'pipeline("text-generation", model="{output_dir}"' in card
    assert "None" not in card


def test_the_model_card_of_an_offline_wandb_run_does_not_warn_about_its_missing_url(monkeypatch, tmp_path):
    """The README's own run (WANDB_MODE=offline) printed wandb's "URL not available in offline run" twice at the end
    and twice more at every checkpoint (TRL writes the card in `_save_checkpoint`)."""
    import sys

    warned = []
    wandb = types.SimpleNamespace(run=object(), termwarn=lambda message: warned.append(message))
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    trainer = _card_writer(tmp_path, warn=lambda message: wandb.termwarn(message))
    trainer.create_model_card(model_name=tmp_path.name)  # what a checkpoint save calls
    wandb.termwarn("something else")
    wandb.termwarn("URL not available in offline run")  # outside the model card, wandb's own
    assert warned == ["something else", "URL not available in offline run"]


@pytest.fixture
def process_group(tmp_path):
    """A one-process gloo group, as a launch makes one (on GPUs an NCCL one, which PyTorch warns of if left)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    yield dist
    if dist.is_initialized():
        dist.destroy_process_group()


def test_a_finished_grpo_run_leaves_its_process_group(process_group, tiny_assets, tmp_path):
    from trl import ModelConfig

    from open_r1 import grpo
    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
    from tests.training.test_grpo import TINY_RECIPE, grpo_args

    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    arguments = ["--config", TINY_RECIPE, *grpo_args(tiny_assets, tmp_path / "grpo", "--max_steps", "1")]
    grpo.main(*parser.parse_args_and_config([*arguments, "--save_strategy", "no"]))
    assert not process_group.is_initialized()


def test_a_run_that_evaluated_its_last_step_is_not_evaluated_again_at_the_end(process_group, tiny_assets, tmp_path):
    """Found by an audit: eval_steps that divide max_steps evaluated the final weights twice (GRPO: two generations)."""
    import json

    from trl import ModelConfig

    from open_r1 import grpo
    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
    from tests.training.test_grpo import TINY_RECIPE, grpo_args

    evaluations = []
    original = grpo.PromptTruncatingGRPOTrainer.evaluate

    def counted(self, *args, **kwargs):
        evaluations.append(self.state.global_step)
        return original(self, *args, **kwargs)

    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    extra = ["--max_steps", "1", "--save_strategy", "no", "--eval_strategy", "steps", "--eval_steps", "1"]
    arguments = ["--config", TINY_RECIPE, *grpo_args(tiny_assets, tmp_path / "grpo", *extra)]
    arguments += ["--per_device_eval_batch_size", "8"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grpo.PromptTruncatingGRPOTrainer, "evaluate", counted)
        grpo.main(*parser.parse_args_and_config(arguments))
    assert evaluations == [1]
    results = json.loads((tmp_path / "grpo" / "eval_results.json").read_text())
    assert "eval_reward" in results and results["epoch"] > 0


def test_the_final_evaluation_is_read_only_from_the_last_step():
    from transformers import TrainerState

    from open_r1.utils.training import evaluation_at_last_step

    state = TrainerState(global_step=4)
    args = types.SimpleNamespace(load_best_model_at_end=False)
    state.log_history = [{"eval_loss": 1.0, "step": 2, "epoch": 0.5}, {"loss": 0.3, "step": 4}]
    assert evaluation_at_last_step(state, args) is None  # the last evaluation saw other weights
    state.log_history += [
        {"eval_a_loss": 0.5, "eval_a_reward": 0.2, "epoch": 1.0, "step": 4},
        {"eval_b_loss": 0.7, "epoch": 1.0, "step": 4},  # a second eval dataset's entry (a review's)
        {"train_runtime": 9.0, "step": 4},
    ]
    assert evaluation_at_last_step(state, args) == {
        "eval_a_loss": 0.5,
        "eval_a_reward": 0.2,
        "eval_b_loss": 0.7,
        "epoch": 1.0,
    }
    # The best checkpoint reloaded at the end: not the weights the last step evaluated (a review's).
    assert evaluation_at_last_step(state, types.SimpleNamespace(load_best_model_at_end=True)) is None


def test_where_vllm_generates_its_engine_is_left_to_end_the_group(process_group):
    leave_process_group(use_vllm=True)
    assert process_group.is_initialized()
    leave_process_group()
    assert not process_group.is_initialized()


@pytest.mark.parametrize(
    "setting, warned",
    [
        ({"temperature": 0.01}, "temperature 0.01: a prompt's num_generations completions will be nearly alike"),
        ({"beta": 100.0}, "beta 100: the KL penalty outweighs rewards of about 1"),
        ({"repetition_penalty": 100.0}, "repetition_penalty 100: sampling scales down every token already"),
    ],
)
def test_grpo_settings_it_seldom_learns_under_are_named(tmp_path, setting, warned):
    """Red team (2026-11-28): each ran without a word (temperature 0.01 was flagged only at step 5, by the doctor)."""
    from open_r1.configs import GRPOConfig
    from open_r1.utils.training import settings_that_rarely_learn

    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", **setting)
    (message,) = settings_that_rarely_learn(args)
    assert message.startswith(warned)
    assert settings_that_rarely_learn(GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False)) == []


def test_a_reporting_integration_that_is_not_installed_is_named_before_the_model_loads(tmp_path):
    """A newcomer audit's: report_to tensorboard without tensorboard failed with a traceback once the model loaded."""
    from open_r1.configs import GRPOConfig
    from open_r1.usage import UsageError
    from open_r1.utils.training import check_reporting_installed

    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to=["dagshub", "comet_ml"])
    with pytest.raises(
        UsageError, match=r"^report_to dagshub, comet_ml: not installed here \(pip install dagshub comet-ml\)"
    ):
        check_reporting_installed(args)
    for installed in ("none", "all", "wandb"):
        check_reporting_installed(GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to=installed))


def test_a_run_at_learning_rate_0_says_it_trains_nothing(tmp_path, caplog):
    """Found by a red team: learning_rate 0 ran a whole GRPO run whose policy never moved (kl 0 at every step)."""
    import types

    from open_r1.configs import SFTConfig
    from open_r1.utils.training import start_run

    training_args = SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none", learning_rate=0.0)
    model_args = types.SimpleNamespace(model_name_or_path="m", model_revision="main")
    with caplog.at_level(logging.WARNING, logger="open_r1"):
        start_run(types.SimpleNamespace(), training_args, model_args)
    assert "learning_rate 0: the optimizer never changes the weights, so this run trains nothing" in caplog.text


def test_the_settings_name_the_special_tokens_transformers_dump_masks(caplog):
    """A warnings audit's: the dump showed `eos_token=<EOS_TOKEN>` where the recipe set `<|im_end|>` (transformers
    masks every field ending in _token), and a newcomer's, once the settings line copied that mask."""
    from trl import ModelConfig

    from open_r1.configs import ScriptArguments, SFTConfig
    from open_r1.utils.training import log_settings

    training = SFTConfig(output_dir="out", use_cpu=True, report_to="none", eos_token="<|im_end|>")
    with caplog.at_level(logging.INFO, logger="open_r1"):
        log_settings(ScriptArguments(dataset_name="d"), training, ModelConfig(), checkpoint=None)
    assert "eos_token='<|im_end|>'" in caplog.text and "<EOS_TOKEN>" not in caplog.text
    assert "pad_token" not in caplog.text  # unset: the tokenizer's (no "pad_token None": a newcomer's)


def test_training_logs_drop_transformers_notice_about_checkpoints_saved_within_a_second(tmp_path, caplog):
    """Found by a newcomer: the tiny recipe's full GRPO saves checkpoints under a second apart, and transformers
    warned "mtime may not be reliable on this filesystem" (it then orders them by step, as it would anyway)."""
    import os

    from transformers.trainer_utils import sort_checkpoints

    from open_r1.configs import GRPOConfig
    from open_r1.utils.training import setup_logging

    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
        os.utime(tmp_path / f"checkpoint-{step}", (1000.0 + step / 10, 1000.0 + step / 10))
    setup_logging(GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none"))
    logging.Logger.warning_once.cache_clear()  # transformers says it once a process: an earlier test may have
    notices = logging.getLogger("transformers.trainer_utils")
    notices.addHandler(caplog.handler)  # outside CI transformers' loggers do not propagate to caplog's (a review's)
    try:
        with caplog.at_level(logging.WARNING):
            ordered = sort_checkpoints(str(tmp_path), use_mtime=True)
            notices.warning("another notice")  # the rest still goes through
    finally:
        notices.removeHandler(caplog.handler)
    assert [os.path.basename(path) for path in ordered] == ["checkpoint-2", "checkpoint-4"]
    assert "another notice" in caplog.text and "mtime" not in caplog.text


def test_the_settings_logged_are_those_not_at_their_defaults_tokens_masked():
    """Found by a newcomer audit: GRPOConfig's whole dump was 216 of the 249 lines of the README's 2-step GRPO."""
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig
    from open_r1.utils.training import changed_from_defaults

    args = GRPOConfig(
        output_dir="out", use_cpu=True, learning_rate=0.5, lr_scheduler_type="constant", hub_token="secret",
        max_tool_calling_iterations=0, report_to="none", bf16=False, system_prompt="Think. " * 100,
        vllm_server_base_url="http://user:pass@host:8000",
    )  # fmt: skip
    shown = changed_from_defaults(args)
    assert "bf16=False" in shown  # TRL's default (None) means bf16 on: a review's
    assert f"system_prompt={repr('Think. ' * 100)[:120]}... (702 characters)" in shown
    assert "vllm_server_base_url='http://<CREDENTIALS>@host:8000'" in shown and "pass" not in shown
    assert "learning_rate=0.5" in shown and "lr_scheduler_type='constant'" in shown  # an enum as its text
    assert "max_tool_calling_iterations=0" in shown  # 0 is a setting, where None is the default
    assert "hub_token=<HUB_TOKEN>" in shown and "secret" not in shown
    assert "accelerator_config" not in shown and "adam_beta1" not in shown  # built from defaults, a default
    assert shown.endswith(" (every other field at its default)")
    assert changed_from_defaults(ModelConfig()) == "every field at its default"


def test_the_settings_logged_show_a_dataset_mixture():
    """Found by a red team: a mixture's config has a field without a default, so building it "from its defaults"
    raised, and every run with a dataset_mixture crashed as it logged its settings."""
    from open_r1.configs import GRPOScriptArguments
    from open_r1.utils.training import changed_from_defaults

    shown = changed_from_defaults(GRPOScriptArguments(dataset_mixture={"datasets": [{"id": "data/tiny-math"}]}))
    assert "dataset_mixture=DatasetMixtureConfig(datasets=[DatasetConfig(id='data/tiny-math'" in shown
