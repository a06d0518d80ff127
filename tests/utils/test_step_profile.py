"""The GRPO step profile (open_r1.utils.step_profile): each optimizer step's time split into decoding, tools,
log-probabilities, rewards, scoring and training, which add up to TRL's step_time; the decoding rounds, decode steps and
slot use; and a run's mean step read back from its log_history. A real GRPO run with the python tool logs it too
(tests/tools/test_training.py).
"""

import types
from collections import defaultdict

import pytest
import torch

from open_r1.grpo import PromptTruncatingGRPOTrainer
from open_r1.tools.training import ToolCallsAhead, ToolRoundBudget
from open_r1.utils import step_profile
from open_r1.utils.step_profile import PROFILE_SECONDS, StepProfile, describe, summarise
from open_r1.utils.time_limit import RunTimeLimit

# What each part of the fake trainer's work takes on the fake clock, in seconds.
TOKENISE, DECODE, TOOL_CALLS, LOGPROBS, REWARDS, SCORING, MICRO_BATCH = 0.5, 3.0, 0.25, 1.5, 2.0, 1.0, 5.0


class Clock:
    now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeGRPOTrainer:
    """What StepProfile wraps of TRL's GRPOTrainer, each part advancing a fake clock: a training step generates when
    its micro-batch index is a multiple of `generate_every`; each generation runs `rounds` (the completion ids each
    decoding call returns) with tool calls between them; TRL's step_time bookkeeping as TRL 1.16 does it."""

    def __init__(self, clock: Clock, rounds: list[list[list[int]]], gradient_accumulation_steps: int, generate_every):
        self.clock, self.rounds, self.generate_every = clock, rounds, generate_every
        self.current_gradient_accumulation_steps = gradient_accumulation_steps
        self._step, self._step_time = 0, 0.0
        self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}

    def training_step(self, model, inputs, num_items_in_batch):
        start = self.clock.now
        self._prepare_inputs(inputs)
        self._get_per_token_logps_and_entropies("the policy")  # the loss's pass, with gradients
        self._step += 1
        self._step_time += self.clock.now - start
        if self._step % self.current_gradient_accumulation_steps == 0:
            self._metrics["train"]["step_time"].append(self._step_time)
            self._step_time = 0.0

    def _prepare_inputs(self, generation_batch):
        if self._step % self.generate_every == 0:
            self._generate_and_score_completions(generation_batch)

    def _generate_and_score_completions(self, inputs):
        self._generate(inputs)
        with torch.no_grad():
            self._get_per_token_logps_and_entropies("the old policy")
        self._calculate_rewards(inputs, inputs, [], [])
        self.clock.advance(SCORING)

    def _generate(self, prompts):
        self.clock.advance(TOKENISE)
        for completion_ids in self.rounds:
            self._generate_single_turn(completion_ids)
            self.clock.advance(TOOL_CALLS)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self.clock.advance(REWARDS)

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        self.clock.advance(MICRO_BATCH if torch.is_grad_enabled() else LOGPROBS)

    def _generate_single_turn(self, completion_ids, *args, **kwargs):
        self.clock.advance(DECODE)
        return completion_ids, None


class ProfiledTrainer(StepProfile, FakeGRPOTrainer):
    pass


class TrainingLoop(FakeGRPOTrainer):
    """The fake with what StepProfile's `train` reads of a Trainer: its callbacks, its state, and a loop of 2
    micro-batches (one optimizer step)."""

    def __init__(self, *args, callbacks=()):
        super().__init__(*args)
        self.callback_handler = types.SimpleNamespace(callbacks=list(callbacks))
        self.state = types.SimpleNamespace(log_history=[])

    def train(self):
        for _ in range(2):
            self.training_step(None, ["prompt"], None)


class ProfiledTrainingLoop(StepProfile, TrainingLoop):
    pass


REFILL_BOOKKEEPING = 7.0


class DynamicSamplingLike:
    """Dynamic sampling's place in the project's trainer, above StepProfile: a second round, with gathers between."""

    def _generate_and_score_completions(self, inputs):
        super()._generate_and_score_completions(inputs)
        self.clock.advance(REFILL_BOOKKEEPING)
        return super()._generate_and_score_completions(inputs)


class RefillingTrainer(DynamicSamplingLike, StepProfile, FakeGRPOTrainer):
    pass


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(step_profile, "perf_counter", lambda: clock.now)
    return clock


def train(trainer: ProfiledTrainer, micro_batches: int) -> dict[str, list[float]]:
    for _ in range(micro_batches):
        trainer.training_step(None, ["prompt"], None)
    return trainer._metrics["train"]


def test_each_steps_parts_add_up_to_trls_step_time_and_decoding_is_counted_per_round(clock):
    # Two rounds: two rows, the longest of 3 tokens; then the row that called a tool, 2 more.
    rounds = [[[1, 2, 3], [4]], [[5, 6]]]
    trainer = ProfiledTrainer(clock, rounds, gradient_accumulation_steps=2, generate_every=2)
    metrics = train(trainer, micro_batches=2)

    assert metrics["step_time"] == [
        2 * MICRO_BATCH + TOKENISE + 2 * (DECODE + TOOL_CALLS) + LOGPROBS + REWARDS + SCORING
    ]
    assert metrics["profile/decoding_seconds"] == [2 * DECODE]
    assert metrics["profile/tools_seconds"] == [TOKENISE + 2 * TOOL_CALLS]
    assert metrics["profile/logprobs_seconds"] == [LOGPROBS]  # the no-grad pass; the loss's counts as training
    assert metrics["profile/rewards_seconds"] == [REWARDS]
    assert metrics["profile/scoring_seconds"] == [SCORING]
    assert metrics["profile/training_seconds"] == [2 * MICRO_BATCH]
    assert sum(metrics[f"profile/{part}_seconds"][0] for part in PROFILE_SECONDS) == metrics["step_time"][0]
    assert metrics["profile/decoding_rounds"] == [2.0]
    assert metrics["profile/decode_steps"] == [3.0 + 2.0]
    # 6 tokens kept of the 3 x 2 + 2 x 1 slots the padded rounds decoded.
    assert metrics["profile/slot_use"] == [6 / 8]
    # Each call reads its rows padded to the longest (the fake's rows are what it is given): 2 x 3, then 1 x 2.
    assert metrics["profile/context_tokens"] == [2 * 3 + 1 * 2]

    # vLLM reads each row as it is: 3 + 1, then 2.
    unpadded = ProfiledTrainer(clock, rounds, gradient_accumulation_steps=2, generate_every=2)
    unpadded.use_vllm = True
    assert train(unpadded, micro_batches=2)["profile/context_tokens"] == [3 + 1 + 2]


def test_a_refill_rounds_generation_and_the_bookkeeping_around_it_are_not_counted_as_training(clock):
    trainer = RefillingTrainer(clock, [[[1, 2]]], gradient_accumulation_steps=1, generate_every=1)
    metrics = train(trainer, micro_batches=1)

    assert metrics["profile/decoding_rounds"] == [2.0]
    assert metrics["profile/decoding_seconds"] == [2 * DECODE]
    assert metrics["profile/rewards_seconds"] == [2 * REWARDS]
    assert metrics["profile/logprobs_seconds"] == [2 * LOGPROBS]
    assert metrics["profile/scoring_seconds"] == [2 * SCORING + REFILL_BOOKKEEPING]
    assert metrics["profile/training_seconds"] == [MICRO_BATCH]


def test_a_training_step_that_fails_leaves_nothing_to_the_next_one(clock):
    trainer = ProfiledTrainer(clock, [[[1, 2]]], gradient_accumulation_steps=1, generate_every=1)

    def out_of_memory(*args):
        clock.advance(REWARDS)
        raise MemoryError("out of memory")

    trainer._calculate_rewards = out_of_memory
    with pytest.raises(MemoryError):
        trainer.training_step(None, ["prompt"], None)
    del trainer._calculate_rewards  # the retry, as transformers' auto_find_batch_size makes one
    metrics = train(trainer, micro_batches=1)
    assert metrics["profile/decoding_rounds"] == [1.0]
    assert metrics["profile/training_seconds"] == [MICRO_BATCH]


def test_a_step_that_reuses_earlier_rollouts_logs_zero_generation_and_no_slot_use(clock):
    trainer = ProfiledTrainer(clock, [[[1, 2]]], gradient_accumulation_steps=1, generate_every=2)
    metrics = train(trainer, micro_batches=2)

    assert metrics["step_time"] == [
        MICRO_BATCH + TOKENISE + DECODE + TOOL_CALLS + LOGPROBS + REWARDS + SCORING,
        MICRO_BATCH,
    ]
    assert metrics["profile/decoding_seconds"] == [DECODE, 0.0]
    assert metrics["profile/decoding_rounds"] == [1.0, 0.0]
    assert metrics["profile/training_seconds"] == [MICRO_BATCH, MICRO_BATCH]
    assert metrics["profile/slot_use"] == [1.0]  # the generating step only


def test_generation_outside_a_training_step_is_not_profiled_nor_counted_in_the_next_step(clock):
    trainer = ProfiledTrainer(clock, [[[1, 2, 3]]], gradient_accumulation_steps=1, generate_every=1)
    trainer._generate_and_score_completions(["an evaluation batch"])  # what evaluation during training does
    assert not any(key.startswith("profile/") for key in trainer._metrics["train"])
    metrics = train(trainer, micro_batches=1)
    assert metrics["profile/decoding_seconds"] == [DECODE]
    assert metrics["profile/decoding_rounds"] == [1.0]


def test_the_project_trainer_profiles_trls_decoding_beneath_its_other_mixins():
    bases = PromptTruncatingGRPOTrainer.__mro__
    profile = bases.index(StepProfile)
    beneath = bases[profile + 1 : [base.__name__ for base in bases].index("GRPOTrainer")]
    # What StepProfile times is TRL's own: nothing between them makes rollouts or rewards (old_logprobs' pass, there,
    # goes through StepProfile's timer of log-probabilities).
    timed = ("_generate_single_turn", "_generate", "_calculate_rewards", "_tool_call_loop")
    assert not [f"{base.__name__}.{name}" for base in beneath for name in timed if name in vars(base)]
    # The rounds' budget and the calls run ahead happen around the decoding StepProfile times, as tool time.
    assert bases.index(ToolRoundBudget) < profile and bases.index(ToolCallsAhead) < profile


def test_a_runs_mean_step_is_read_from_its_log_history():
    logged = {"step_time": 10.0, "profile/decoding_seconds": 6.0, "profile/tools_seconds": 1.0}
    logged |= {"profile/rewards_seconds": 0.5, "profile/scoring_seconds": 0.5, "profile/training_seconds": 2.0}
    history = [
        {"step": 1, **logged, "profile/decoding_rounds": 3.0, "profile/decode_steps": 300.0, "profile/slot_use": 0.5,
         "profile/context_tokens": 9000.0},
        {"step": 2, **logged, "step_time": 20.0, "profile/training_seconds": 12.0, "profile/decoding_rounds": 0.0,
         "profile/decode_steps": 0.0, "profile/slot_use": None, "profile/context_tokens": 0.0},
        {"train_runtime": 30.0, "step": 2},
    ]  # fmt: skip
    summary = summarise(history)
    assert summary["log_entries"] == 2
    assert summary["step_seconds"] == 15.0
    assert summary["decoding_seconds"] == 6.0 and summary["training_seconds"] == 7.0
    assert summary["decoding_rounds"] == 1.5 and summary["decode_steps"] == 150.0
    assert summary["slot_use"] == 0.5  # the one step that generated
    assert summary["context_tokens"] == 4500.0
    assert "150 decode steps, 4,500 context tokens read, slot use 50%" in describe(summary)
    assert "logprobs" not in describe(summary)  # a run logged before the part was: it was scoring's
    # A run resumed across the change: the entries before it held the pass in scoring, so it counts 0 there.
    assert summarise([{**history[0], "profile/logprobs_seconds": 0.5}, history[1]])["logprobs_seconds"] == 0.25
    assert "tools 1.0 s, logprobs 0.25 s, rewards" in describe(
        summarise([{**entry, "profile/logprobs_seconds": 0.25} for entry in history])
    )
    # Step 2 trained on step 1's generation: the step that generated is given apart from the mean.
    assert summary["generating_entries"] == 1 and summary["generating_step_seconds"] == 10.0
    assert describe(summary).endswith(
        "; the 1 of 2 logged steps that generated took 10.0 s, the others trained on their generations"
    )
    assert "generated took" not in describe(summarise(history[:1]))  # every step generated
    # A run from before context tokens were logged is described without them.
    for entry in history:
        entry.pop("profile/context_tokens", None)
    older = summarise(history)
    assert older["context_tokens"] is None and "150 decode steps, slot use 50%" in describe(older)
    assert summarise([{"step": 1, "loss": 0.1, "step_time": 3.0}]) is None  # a run from before the profile


def test_a_time_limit_is_handed_the_last_steps_rollout_seconds(clock):
    limit = RunTimeLimit(10, started=0.0)
    trainer = ProfiledTrainingLoop(clock, [[[1, 2]]], 2, 2, callbacks=[limit])
    assert limit.last_rollout_seconds() is None
    trainer.train()
    metrics = trainer._metrics["train"]
    assert limit.last_rollout_seconds() == TOKENISE + DECODE + TOOL_CALLS + LOGPROBS + REWARDS + SCORING
    assert limit.last_rollout_seconds() == metrics["step_time"][-1] - metrics["profile/training_seconds"][-1]
