"""GRPO: reinforcement learning with verifiable rewards (the R1-Zero / R1 recipe).

Usage, on one node of 8 GPUs with vLLM colocated with training:

    accelerate launch --config_file recipes/accelerate_configs/zero2.yaml src/open_r1/grpo.py \\
        --config recipes/Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml --vllm_mode colocate

with a separate vLLM server (`vllm serve ...` with TRL's settings on other GPUs; see docs/gpu.md):

    accelerate launch --config_file recipes/accelerate_configs/zero2.yaml --num_processes 7 src/open_r1/grpo.py \\
        --config recipes/Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml --vllm_mode server

and on one CPU with the tiny model (`python scripts/make_tiny_model.py` first; transformers generation):

    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml --num_processes 1 src/open_r1/grpo.py \\
        --config recipes/tiny/grpo/config_cpu.yaml

Each row's `dataset_prompt_column` becomes the user turn (after `system_prompt`, if set); every other
column (solution, verification_info, ...) reaches the reward functions as a keyword argument.
Rewards are named in `reward_funcs` (see `open_r1.rewards`). A run whose output_dir holds
checkpoints resumes from the last one (unless `overwrite_output_dir: true`). Upstream open-r1 recipes
(TRL 0.18 names) work as they are: see recipes/README.md; `max_prompt_length` keeps the last tokens of
each prompt as TRL 0.18 did (`PromptTruncatingGRPOTrainer`). With `tools: [python]` the policy calls a
sandboxed Python interpreter while it generates (`open_r1.tools`; recipes/Qwen3-1.7B/grpo/config_tools.yaml, and
recipes/demo/grpo/config_tools.yaml on a CPU).
A mistake in the recipe or the command line (an unknown field, a missing local path, a column a reward
needs, a `think_prefilled` the chat template contradicts, ...) ends the run before the model loads with one line and
exit status 2 (`open_r1.usage`, `open_r1.startup_checks`). The GRPO doctor (`open_r1.doctor`) then warns about
what makes rewards stay flat: at start-up, gold answers their reward cannot pay, no stop token, solutions longer than
`max_completion_length`; while training, a reward that pays nothing, groups without spread, clipped completions,
tool calls never made or mostly failing.

Not covered: starting a vLLM server for `--vllm_mode server` (docs/gpu.md) and evaluating the model (`make evaluate`,
`python -m open_r1.evaluate`).
"""

import sys

from open_r1.usage import check_command_line, did_you_mean, exit_on_usage_error

if __name__ == "__main__":
    # Before TRL loads (seconds): a broken recipe or a mistyped local path fails at once.
    with exit_on_usage_error():
        check_command_line(sys.argv[1:])

import logging

from trl import GRPOTrainer, ModelConfig, get_peft_config

from open_r1.configs import TRAINER_ARGUMENTS, GRPOConfig, GRPOScriptArguments, RecipeParser
from open_r1.data.mixtures import get_dataset
from open_r1.doctor import attach_doctor, check_before_training
from open_r1.rewards import get_reward_funcs, guarded_rewards
from open_r1.startup_checks import (
    check_grpo_dataset,
    check_remote_sandboxes_run,
    check_reward_columns,
    warn_turn_tokens_in_text,
)
from open_r1.tools.rollouts_ahead import ToolRolloutsAhead
from open_r1.tools.training import ToolCallsAhead, ToolRoundBudget, logged_tool_metrics, python_tool_environment
from open_r1.utils.callbacks import get_callbacks
from open_r1.utils.compiled_generation import CompiledGeneration
from open_r1.utils.dynamic_sampling import DynamicSampling
from open_r1.utils.finite_updates import nonfinite_update_guards
from open_r1.utils.flat_rows import FlatRowSkipping
from open_r1.utils.model_utils import (
    check_generation_prompt,
    check_system_prompt,
    check_think_prefill,
    get_model,
    get_tokenizer,
    model_context,
    turn_tokens,
)
from open_r1.utils.old_logprobs import OldLogProbsWhereNeeded
from open_r1.utils.resume import TiedWeightsResume
from open_r1.utils.step_profile import StepProfile
from open_r1.utils.training import LocalModelCard, finish_training, log_settings, start_run, training_splits

logger = logging.getLogger("open_r1")


class PromptTruncatingGRPOTrainer(
    FlatRowSkipping,
    DynamicSampling,
    TiedWeightsResume,
    LocalModelCard,
    ToolRolloutsAhead,
    ToolCallsAhead,
    ToolRoundBudget,
    CompiledGeneration,  # beneath the tool mixins: every generate call goes through it, decoding ahead's included
    StepProfile,
    OldLogProbsWhereNeeded,  # beneath StepProfile: its pass counts in `profile/logprobs_seconds`
    GRPOTrainer,
):
    """TRL's GRPOTrainer that keeps only the last `max_prompt_length` tokens of each prompt, as TRL 0.18 did (and
    resumes models with tied embeddings without a false "missing keys" warning, `TiedWeightsResume`; refills
    batches with groups whose rewards have spread under `dynamic_sampling: true`, `DynamicSampling`; decodes no
    token past every row's budget in the rounds after tool results, `ToolRoundBudget`; runs each round's tool calls
    at once across rollouts, `ToolCallsAhead`; decodes tool rollouts ahead of TRL's rounds under
    `tool_rollout_chunk_tokens`, `ToolRolloutsAhead`; decodes with a compiled decode step under
    `compile_generation`, `CompiledGeneration`; leaves rows with advantage 0 out of the loss's passes,
    `FlatRowSkipping`; scores with the old policy only the micro-batches trained after an update,
    `OldLogProbsWhereNeeded`; logs where each step's time went, `StepProfile`; writes model cards that name local
    models, `LocalModelCard`).

    TRL 1.16 removed the option; upstream recipes set it. The share of this process's prompts cut is logged as
    `prompts/truncated_ratio` (the doctor's `long_prompts` warns at start-up). Prompts are cut after the chat template, on the left
    (the end of a prompt, where the generation starts, is kept), before generation, so the model generates
    from, and is trained on, the same truncated prompt with transformers and with vLLM (TRL 0.18 generated from
    the whole prompt with vLLM). Reward functions still receive the whole prompt, as in TRL 0.18.
    """

    tool_stats = None  # set by main() when the recipe has `tools`: their per-step metrics join the logs

    def log(self, logs: dict, start_time: float | None = None) -> None:
        if self.tool_stats is not None:
            prefix = "" if self.model.training else "eval_"
            logs.update(
                {prefix + key: value for key, value in logged_tool_metrics(self.tool_stats, self.accelerator).items()}
            )
        super().log(logs, start_time)

    def _tokenize_prompts(self, prompts: list):
        prompt_ids, images, multimodal_fields = super()._tokenize_prompts(prompts)
        limit = self.args.max_prompt_length
        if limit is None:
            return prompt_ids, images, multimodal_fields
        cut = sum(len(ids) > limit for ids in prompt_ids)
        self._metrics["train" if self.model.training else "eval"]["prompts/truncated_ratio"].append(
            cut / len(prompt_ids)
        )
        if not cut:
            return prompt_ids, images, multimodal_fields
        if images is not None or multimodal_fields:
            raise ValueError(
                f"max_prompt_length ({limit}) would cut a prompt with images, whose image tokens must stay whole; "
                "raise max_prompt_length or unset it"
            )
        return [ids[-limit:] for ids in prompt_ids], images, multimodal_fields


def make_conversation(example: dict, prompt_column: str, system_prompt: str | None) -> dict:
    """The conversational prompt GRPOTrainer samples from: optional system turn, then the problem."""
    prompt = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []
    prompt.append({"role": "user", "content": example[prompt_column]})
    return {"prompt": prompt}


def prepare_prompts(dataset, prompt_column: str, system_prompt: str | None):
    """Turns `prompt_column` of every split into a conversational `prompt` column, keeping the other columns."""
    for split, part in dataset.items():
        if prompt_column not in part.column_names:
            raise ValueError(
                f"dataset_prompt_column {prompt_column!r} is not a column of split {split!r}; "
                f"its columns are {part.column_names}"
                + did_you_mean(prompt_column, part.column_names, "dataset_prompt_column ")
            )
    dataset = dataset.map(
        make_conversation,
        fn_kwargs={"prompt_column": prompt_column, "system_prompt": system_prompt},
        desc="Building prompts",
    )
    # A `messages` column (SFT traces) would hand the trainer the answers along with the prompts.
    dropped = [split for split in dataset if "messages" in dataset[split].column_names]
    for split in dropped:
        dataset[split] = dataset[split].remove_columns("messages")
    if dropped:
        logger.info(
            "The 'messages' column (worked solutions) is dropped from split(s) %s: GRPO trains on prompts", dropped
        )
    return dataset


def main(script_args: GRPOScriptArguments, training_args: GRPOConfig, model_args: ModelConfig):
    checkpoint = start_run(script_args, training_args, model_args)

    dataset = get_dataset(script_args)
    check_grpo_dataset(dataset, script_args, training_args)
    dataset = prepare_prompts(dataset, script_args.dataset_prompt_column, training_args.system_prompt)
    train_dataset, eval_dataset = training_splits(dataset, script_args, training_args)
    tokenizer = get_tokenizer(model_args, training_args)
    check_generation_prompt(tokenizer)
    check_think_prefill(tokenizer, script_args)  # before the rewards: it may set think_prefilled for them
    reward_funcs = get_reward_funcs(script_args)
    check_reward_columns(dataset, script_args, training_args, reward_funcs)
    check_remote_sandboxes_run(script_args)
    check_system_prompt(tokenizer, training_args.system_prompt)
    warn_turn_tokens_in_text(dataset, turn_tokens(tokenizer), ("prompt",))
    environment_factory, tool_stats = None, None
    if script_args.tools:  # one sandboxed python interpreter per rollout; its template and sandbox checked now
        environment_factory, tool_stats = python_tool_environment(
            script_args, tokenizer, max_tool_calling_iterations=training_args.max_tool_calling_iterations
        )
    log_settings(script_args, training_args, model_args, checkpoint)  # once every one-line check has passed
    model = get_model(model_args, training_args, tokenizer)
    check_before_training(
        train_dataset,
        tokenizer,
        reward_funcs,
        script_args,
        training_args,
        model.generation_config.eos_token_id,
        context_length=model_context(model.config),
    )

    trainer = PromptTruncatingGRPOTrainer(
        model=model,
        reward_funcs=guarded_rewards(script_args, reward_funcs),  # one batch a reward raises on ends no run
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=get_callbacks(training_args, model_args, script_args),
        environment_factory=environment_factory,
    )
    trainer.tool_stats = tool_stats
    attach_doctor(trainer, script_args, training_args, train_dataset)
    if training_args.skip_nonfinite_updates:
        for guard in nonfinite_update_guards(trainer):
            trainer.add_callback(guard)

    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    finish_training(trainer, training_args, script_args, tokenizer, train_result, len(train_dataset))


if __name__ == "__main__":
    with exit_on_usage_error():
        parser = RecipeParser(TRAINER_ARGUMENTS["grpo"], description=__doc__.split("\n\n")[0])
        script_args, training_args, model_args = parser.parse_args_and_config()
        main(script_args, training_args, model_args)
