"""Trains one GRPO step of the tiny model on two processes whose groups differ: every group of rank 0 is flat, every
completion of rank 1 earns its own reward. Run with torchrun (tests/utils/test_flat_rows.py); argv: the tiny model's
folder, the output folder. Rank 0 then trains fewer rows than rank 1, unless flat_rows tops them up to match."""

import sys

import torch

from tests.support import dynamic_sampling_probe as probe


def rank_reward(completions, **kwargs) -> list[float]:
    if torch.distributed.get_rank() == 0:
        return [0.0] * len(completions)
    return [index / len(completions) for index in range(len(completions))]


def main(model: str, output_dir: str) -> None:
    rows = [{"prompt": f"What is {i} + 1?"} for i in range(16)]
    settings = dict(max_steps=1, per_device_train_batch_size=8, learning_rate=1e-2, ddp_timeout=120)
    trainer = probe.tiny_trainer(model, output_dir, rank_reward, rows, **settings)
    trainer.train()
    print(f"rank {trainer.accelerator.process_index} trained", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
