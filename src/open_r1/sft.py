"""Supervised fine-tuning (SFT): distil reasoning traces into a model.

Usage, on 8 GPUs with DeepSpeed ZeRO-3:

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml src/open_r1/sft.py \\
        --config recipes/OpenR1-Distill-7B/sft/config_distill.yaml

and on one CPU with the tiny model (`python scripts/make_tiny_model.py` first):

    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml --num_processes 1 src/open_r1/sft.py \\
        --config recipes/tiny/sft/config_cpu.yaml

Any recipe field can be overridden on the command line (`--learning_rate 1e-5`). A run whose
output_dir already holds checkpoints resumes from the last one (unless `overwrite_output_dir: true`).
Upstream open-r1 recipes (TRL 0.18 names) work as they are: see recipes/README.md. The dataset is conversational
(`messages`) or any format TRL's SFTTrainer accepts; see `open_r1.data.mixtures` for how datasets
and mixtures are named. A mistake in the recipe or the command line (an unknown field, a missing local path, a
dataset without the columns SFT reads, ...) ends the run before the model loads with one line and exit status 2
(`open_r1.usage`, `open_r1.startup_checks`).

Not covered: making the traces (scripts/generate_reasoning.py, src/open_r1/generate.py) and evaluating the model
(`make evaluate`, `python -m open_r1.evaluate`).
"""

import sys

from open_r1.usage import check_command_line, exit_on_usage_error

if __name__ == "__main__":
    # Before TRL loads (seconds): a broken recipe or a mistyped local path fails at once.
    with exit_on_usage_error():
        check_command_line(sys.argv[1:])

import logging

from trl import ModelConfig, SFTTrainer, get_peft_config

from open_r1.configs import TRAINER_ARGUMENTS, RecipeParser, ScriptArguments, SFTConfig
from open_r1.data.mixtures import add_system_prompt, get_dataset
from open_r1.startup_checks import check_sft_dataset, check_sft_lengths, warn_turn_tokens_in_text
from open_r1.utils.callbacks import get_callbacks
from open_r1.utils.model_utils import get_model, get_tokenizer, turn_tokens
from open_r1.utils.resume import TiedWeightsResume
from open_r1.utils.training import LocalModelCard, finish_training, log_settings, start_run, training_splits

logger = logging.getLogger("open_r1")


class ResumingSFTTrainer(TiedWeightsResume, LocalModelCard, SFTTrainer):
    """TRL's SFTTrainer that resumes models with tied embeddings without a false "missing keys" warning and writes
    model cards that name local models."""


def main(script_args: ScriptArguments, training_args: SFTConfig, model_args: ModelConfig):
    checkpoint = start_run(script_args, training_args, model_args)

    dataset = get_dataset(script_args)
    check_sft_dataset(dataset, script_args, training_args)
    log_settings(script_args, training_args, model_args, checkpoint)
    dataset = add_system_prompt(dataset, training_args.system_prompt, read_elsewhere=bool(training_args.benchmarks))
    train_dataset, eval_dataset = training_splits(dataset, script_args, training_args)
    tokenizer = get_tokenizer(model_args, training_args)
    text_columns = ("messages", "prompt", "completion", training_args.dataset_text_field)
    warn_turn_tokens_in_text(dataset, turn_tokens(tokenizer), text_columns)
    model = get_model(model_args, training_args, tokenizer)

    trainer = ResumingSFTTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=get_callbacks(training_args, model_args, script_args),
    )
    check_sft_lengths(trainer.train_dataset, len(train_dataset), training_args)

    logger.info("*** Train ***")
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    rows_trained = len(train_dataset) if training_args.packing else len(trainer.train_dataset)  # packed: sequences
    finish_training(trainer, training_args, script_args, tokenizer, train_result, rows_trained)


if __name__ == "__main__":
    with exit_on_usage_error():
        parser = RecipeParser(TRAINER_ARGUMENTS["sft"], description=__doc__.split("\n\n")[0])
        script_args, training_args, model_args = parser.parse_args_and_config()
        main(script_args, training_args, model_args)
