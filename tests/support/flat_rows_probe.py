"""Trains one GRPO step of the tiny model on two processes whose groups differ: every group of rank 0 is flat, every
completion of rank 1 earns its own reward. Run with torchrun (tests/utils/test_flat_rows.py); argv: the tiny model's
folder, the output folder. Rank 0 then trains fewer rows than rank 1, unless flat_rows tops them up to match."""

import sys

import torch
from datasets import Dataset

from open_r1.configs import GRPOConfig
from open_r1.grpo import PromptTruncatingGRPOTrainer


def rank_reward(completions, **kwargs) -> list[float]:
    if torch.distributed.get_rank() == 0:
        return [0.0] * len(completions)
    return [index / len(completions) for index in range(len(completions))]


def main(model: str, output_dir: str) -> None:
    settings = dict(
        output_dir=output_dir, use_cpu=True, bf16=False, report_to="none", seed=0, max_steps=1, logging_steps=1,
        save_strategy="no", per_device_train_batch_size=8, num_generations=4, max_completion_length=6,
        learning_rate=1e-2, loss_type="dapo", beta=0.0, ddp_timeout=120,
    )  # fmt: skip
    trainer = PromptTruncatingGRPOTrainer(
        model=model,
        reward_funcs=[rank_reward],
        args=GRPOConfig(**settings),
        train_dataset=Dataset.from_list([{"prompt": f"What is {i} + 1?"} for i in range(16)]),
    )
    trainer.train()
    print(f"rank {trainer.accelerator.process_index} trained", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
