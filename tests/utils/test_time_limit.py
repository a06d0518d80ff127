"""`max_run_minutes` (open_r1.utils.time_limit): training stops, saved, before the step that would end past the limit."""

import functools
import json
import logging
import os
import pathlib
import re

import pytest
from transformers import TrainerControl, TrainerState
from trl import ModelConfig

from open_r1 import grpo
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser, SFTConfig
from open_r1.utils import callbacks, time_limit
from open_r1.utils.time_limit import TIME_LIMIT_STOP_FILE, RunTimeLimit
from tests.support.launch import log_history
from tests.training.test_grpo import TINY_RECIPE, grpo_args


class Steps:
    """A clock that moves on by the given seconds at each reading."""

    def __init__(self, *seconds: float, start: float = 0.0):
        self.now, self.seconds = start, list(seconds)

    def __call__(self) -> float:
        self.now += self.seconds.pop(0) if self.seconds else 0.0
        return self.now


def run_steps(
    limit: RunTimeLimit,
    steps: int,
    max_steps: int = 100,
    save_strategy: str = "steps",
    output_dir: str = "unused",
    end: bool = False,
    args=None,
    first_step: int = 0,
):
    """Drives the callback as the Trainer does (`end`: to the end of training, a checkpoint saved where the Trainer
    would save one; `first_step`: the step a resumed run starts after); returns the control and state after the last
    step it allowed."""
    if args is None:
        args = SFTConfig(
            output_dir=output_dir, use_cpu=True, bf16=False, save_strategy=save_strategy, report_to="none"
        )
    state, control = TrainerState(max_steps=max_steps, global_step=first_step), TrainerControl()
    limit.on_train_begin(args, state, control)
    for _ in range(steps):
        state.global_step += 1
        control.should_save = False
        limit.on_step_end(args, state, control)
        if control.should_training_stop:
            break
    if end:
        if limit.stopped_at is not None and save_strategy != "no":
            (pathlib.Path(output_dir) / f"checkpoint-{state.global_step}").mkdir(parents=True)
        limit.on_train_end(args, state, control)
    return control, state


def stop_record(output_dir) -> dict | None:
    path = pathlib.Path(output_dir) / TIME_LIMIT_STOP_FILE
    return json.loads(path.read_text()) if path.exists() else None


def test_training_stops_at_the_last_step_whose_successor_would_end_past_the_limit(caplog):
    # The process started at 0, training at 60 s (loading); steps of 50, 100 then 50 s; the limit is 5 minutes.
    # After step 2 (210 s, longest 100 s): 310 > 300, so step 3 would end past the limit.
    limit = RunTimeLimit(5, started=0.0, clock=Steps(60, 50, 100, 50))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        control, state = run_steps(limit, steps=10, max_steps=10)
    assert state.global_step == 2 and limit.stopped_at == 2
    assert control.should_training_stop and control.should_save
    assert (
        "max_run_minutes 5: training stops after step 2 of 10, since the next step would end past the limit "
        "(3.5 min since the process started; steps after the first took up to 1.7 min); the model is saved, and "
        "checkpoint-2 to resume from" in caplog.text
    )


def test_the_first_steps_warm_up_is_not_taken_for_the_price_of_the_later_ones(caplog):
    # A 10 s start, a first step of 60 s (warming up), then steps of 20 s; 2.5 minutes. Estimated by the first step,
    # the run would stop after step 3 (110 + 60 > 150); by the later ones it trains 5 (150 + 20 > 150).
    limit = RunTimeLimit(2.5, started=0.0, clock=Steps(10, 60, 20, 20, 20, 20, 20))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        assert run_steps(limit, steps=10, max_steps=10)[1].global_step == 5
    assert "(2.5 min since the process started; steps after the first took up to 0.3 min)" in caplog.text
    # A later step slower than the first is the estimate: after step 2 (10 + 20 + 60 s), 90 + 60 > 2.4 minutes.
    limit = RunTimeLimit(2.4, started=0.0, clock=Steps(10, 20, 60, 20))
    assert run_steps(limit, steps=10, max_steps=10)[1].global_step == 2
    # With one step run, it is all there is to go by: 10 + 60 + 60 > 2 minutes.
    limit = RunTimeLimit(2, started=0.0, clock=Steps(10, 60, 5))
    assert run_steps(limit, steps=10, max_steps=10)[1].global_step == 1


def generating_every(optimizer_steps: int, **fields) -> GRPOConfig:
    """GRPO settings whose each generation trains `optimizer_steps` steps of 4 micro-batches."""
    settings = dict(
        output_dir="unused", use_cpu=True, bf16=False, report_to="none", save_strategy="no",
        per_device_train_batch_size=8, num_generations=8, gradient_accumulation_steps=4,
        steps_per_generation=4 * optimizer_steps,
    )  # fmt: skip
    return GRPOConfig(**{**settings, **fields})


def test_optimizer_steps_per_generation_follow_trls_generation_schedule():
    sft = SFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none")
    assert time_limit.optimizer_steps_per_generation(sft) == 1
    assert time_limit.optimizer_steps_per_generation(generating_every(1)) == 1  # TRL's default
    assert time_limit.optimizer_steps_per_generation(generating_every(2)) == 2
    assert time_limit.optimizer_steps_per_generation(generating_every(1, num_iterations=3)) == 3
    # 6 micro-batches per generation, 4 per step: generations start mid-step, and the steps are not two kinds
    assert time_limit.optimizer_steps_per_generation(generating_every(1, steps_per_generation=6)) == 1


def test_a_step_that_reuses_a_generation_is_estimated_by_such_steps_not_by_the_generating_ones(caplog):
    # Two optimizer steps per generation: steps of 55 s (generating) and 1 s (reusing) after a 20 s start; 3 minutes.
    # After step 3 (131 s) the next reuses its generation (1 s more fits); after step 4 (132 s) the next would
    # generate (55 s: 187 > 180). The longest step of all would have stopped after step 3.
    limit = RunTimeLimit(3, started=0.0, clock=Steps(20, 55, 1, 55, 1, 55, 1))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        control, state = run_steps(limit, steps=10, max_steps=10, args=generating_every(2))
    assert state.global_step == 4 and limit.stopped_at == 4
    assert "(2.2 min since the process started; steps that generate after the first took up to 0.9 min)" in caplog.text
    # Until a reusing step has run, it is estimated at the generating step's share of its generation, 27.5 s: after
    # step 1 (75 s) it fits 2 minutes (102.5 s), not 1.7 (102 s).
    limit = RunTimeLimit(2, started=0.0, clock=Steps(20, 55, 1))
    assert run_steps(limit, steps=10, max_steps=10, args=generating_every(2))[1].global_step == 2
    limit = RunTimeLimit(1.7, started=0.0, clock=Steps(20, 55, 1))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        assert run_steps(limit, steps=10, max_steps=10, args=generating_every(2))[1].global_step == 1
    assert "(1.2 min since the process started; a step that reuses a generation, its share of one: 0.5 min)" in (
        caplog.text
    )


def test_before_a_step_on_an_earlier_generation_has_run_it_is_estimated_by_the_last_step_less_its_rollouts(caplog):
    # A generating step of 55 s after a 20 s start, 54.5 s of it making rollouts as GRPO's step profile measures
    # them: the step on its generation is estimated at twice the rest, 1 s, not at the generation's half (27.5 s).
    limit = RunTimeLimit(1.7, started=0.0, clock=Steps(20, 55, 1, 55))
    limit.last_rollout_seconds = lambda: 54.5
    assert run_steps(limit, steps=10, max_steps=10, args=generating_every(2))[1].global_step == 2
    limit = RunTimeLimit(1.26, started=0.0, clock=Steps(20, 55, 1))  # 75 + 1 > 75.6 s
    limit.last_rollout_seconds = lambda: 54.5
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        assert run_steps(limit, steps=10, max_steps=10, args=generating_every(2))[1].global_step == 1
    assert (
        "(1.2 min since the process started; a step that reuses a generation, 2 times the last one without its "
        in (caplog.text)
    )


def test_a_resumed_run_generates_at_its_first_step_whatever_its_number():
    limit = RunTimeLimit(3, started=0.0, clock=Steps(20, 55, 1, 55, 1, 55, 1))
    control, state = run_steps(limit, steps=10, max_steps=20, args=generating_every(2), first_step=7)
    assert state.global_step == 11 and limit.longest_of_kind == {True: 55, False: 1}


def test_within_the_limit_training_goes_on_to_max_steps(caplog):
    limit = RunTimeLimit(5, started=0.0, clock=Steps(10, *[20] * 10))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        control, state = run_steps(limit, steps=10, max_steps=10)
    assert state.global_step == 10 and limit.stopped_at is None and not control.should_save
    assert caplog.text == ""


def test_the_last_step_of_a_run_is_not_reported_as_stopped_by_the_limit(caplog):
    # Step 3 is max_steps: the Trainer's own flow has stopped training already.
    limit = RunTimeLimit(1, started=0.0, clock=Steps(0, 50, 50, 50))
    args = SFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none")
    state, control = TrainerState(max_steps=3, global_step=3), TrainerControl(should_training_stop=True)
    limit.on_train_begin(args, state, control)
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        limit.on_step_end(args, state, control)
    assert limit.stopped_at is None and caplog.text == ""


def test_without_checkpoints_only_the_model_is_saved(caplog):
    limit = RunTimeLimit(1, started=0.0, clock=Steps(0, 40))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        control, state = run_steps(limit, steps=5, save_strategy="no")
    assert state.global_step == 1 and control.should_training_stop and not control.should_save
    assert caplog.text.rstrip().endswith("the model is saved")


def test_under_epoch_saves_the_epochs_end_saves_the_stop_once(caplog):
    # The stop breaks out of the epoch, whose end the Trainer reaches next and saves at: a second save would be
    # minutes of a large model's time past the limit.
    limit = RunTimeLimit(1, started=0.0, clock=Steps(0, 40))
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        control, state = run_steps(limit, steps=5, save_strategy="epoch")
    assert state.global_step == 1 and control.should_training_stop and not control.should_save
    assert "checkpoint-1 to resume from" in caplog.text


def test_a_stopped_run_leaves_its_launcher_the_step_and_the_checkpoint_to_resume_from(tmp_path):
    limit = RunTimeLimit(5, started=0.0, clock=Steps(60, 50, 100, 50))
    run_steps(limit, steps=10, max_steps=10, output_dir=str(tmp_path), end=True)
    assert stop_record(tmp_path) == {"step": 2, "max_steps": 10, "max_run_minutes": 5, "checkpoint": "checkpoint-2"}


def test_a_stop_without_a_checkpoint_says_there_is_none_to_resume_from(tmp_path):
    limit = RunTimeLimit(1, started=0.0, clock=Steps(0, 40))
    run_steps(limit, steps=5, save_strategy="no", output_dir=str(tmp_path), end=True)
    assert stop_record(tmp_path)["checkpoint"] is None


def test_a_run_that_ends_within_its_limit_removes_an_earlier_runs_stop(tmp_path):
    (tmp_path / TIME_LIMIT_STOP_FILE).write_text(json.dumps({"step": 2, "checkpoint": "checkpoint-2"}))
    limit = RunTimeLimit(5, started=0.0, clock=Steps(10, *[20] * 10))
    run_steps(limit, steps=10, max_steps=10, output_dir=str(tmp_path), end=True)
    assert stop_record(tmp_path) is None


def test_only_the_main_process_writes_the_stop(tmp_path):
    limit = RunTimeLimit(1, started=0.0, clock=Steps(0, 40))
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none")
    state, control = TrainerState(max_steps=5, is_world_process_zero=False), TrainerControl()
    limit.on_train_begin(args, state, control)
    state.global_step = 1
    limit.on_step_end(args, state, control)
    limit.on_train_end(args, state, control)
    assert limit.stopped_at == 1 and stop_record(tmp_path) is None


def test_the_clock_starts_with_the_process():
    assert RunTimeLimit(1).started == pytest.approx(time_limit.psutil.Process(os.getpid()).create_time())


@pytest.mark.parametrize("config", [SFTConfig, GRPOConfig])
@pytest.mark.parametrize("minutes", [0, -5.0, float("nan")])
def test_a_limit_that_is_not_positive_fails_before_training(config, minutes):
    expected = f"max_run_minutes must be a positive number of minutes (leave it out for no limit), got {minutes:g}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        config(output_dir="out", use_cpu=True, bf16=False, max_run_minutes=minutes)


@pytest.mark.e2e
def test_a_grpo_run_stopped_by_its_limit_is_saved_and_resumes_from_that_step(
    tiny_assets, tmp_path, monkeypatch, caplog
):
    # Each reading of the clock is a minute later: training begins at minute 1, step k ends at minute k + 1, and the
    # next step would end a minute after that; under a limit of 3.5 minutes, step 2 is the last (3 + 1 > 3.5).
    minutes = Steps(60, *[60] * 10)
    monkeypatch.setattr(callbacks, "RunTimeLimit", functools.partial(RunTimeLimit, started=0.0, clock=minutes))
    output_dir = tmp_path / "grpo"
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    arguments = [
        "--config",
        TINY_RECIPE,
        *grpo_args(tiny_assets, output_dir, "--max_steps", "4", "--save_steps", "10"),
    ]
    with caplog.at_level(logging.WARNING, logger="open_r1.utils.time_limit"):
        grpo.main(*parser.parse_args_and_config([*arguments, "--max_run_minutes", "3.5"]))

    assert "training stops after step 2 of 4" in caplog.text
    assert [entry["step"] for entry in log_history(output_dir) if "reward" in entry] == [1, 2]
    assert (output_dir / "model.safetensors").is_file()
    assert sorted(path.name for path in output_dir.glob("checkpoint-*")) == ["checkpoint-2"]
    assert stop_record(output_dir) == {"step": 2, "max_steps": 4, "max_run_minutes": 3.5, "checkpoint": "checkpoint-2"}

    grpo.main(*parser.parse_args_and_config([*arguments, "--max_run_minutes", "60"]))
    assert stop_record(output_dir) is None
    assert [entry["step"] for entry in log_history(output_dir) if "reward" in entry] == [1, 2, 3, 4]
