"""The dynamic sampling tests' probe: a reward with spread on half the prompts, its dataset, and grpo.py with both.

    from tests.support import dynamic_sampling_probe as probe
    probe.flagged_spread_reward(completions, spread)     # rows flagged `spread`: distinct rewards, else 0
    probe.save_flagged_dataset(path, every=2)            # prompts, one in `every` flagged
    probe.tiny_trainer(model, output_dir, reward, rows, **settings)   # the project's GRPO trainer on them, in process

    DYNAMIC_SAMPLING_PROBE_DIR=<folder> accelerate launch ... tests/support/dynamic_sampling_probe.py \\
        --config <recipe> --reward_funcs flagged_spread --dynamic_sampling true ...

Run as a script it registers `flagged_spread` in the reward registry, appends what each process trains on after
each generation to `rank<k>.jsonl` in $DYNAMIC_SAMPLING_PROBE_DIR (step, rounds, groups kept, rows, the tokens in
its loss mask, num_items_in_batch), then runs src/open_r1/grpo.py as `python grpo.py <arguments>` would.
"""

import json
import os
import pathlib
import runpy

REWARD_NAME = "flagged_spread"
PROBE_DIR = "DYNAMIC_SAMPLING_PROBE_DIR"
SCRIPT = pathlib.Path(__file__).resolve()
GRPO_SCRIPT = SCRIPT.parents[2] / "src" / "open_r1" / "grpo.py"


def flagged_spread_reward(completions, spread, **kwargs) -> list[float]:
    """For rows flagged `spread`, the completion's position in the call over their number (distinct, so a group of
    a flagged prompt always has spread, even with identical completions); 0.0 for the others (never spread)."""
    return [i / len(completions) if flag else 0.0 for i, flag in enumerate(spread)]


def tiny_trainer(model, output_dir, reward, rows: list[dict], **settings):
    """The project's GRPO trainer (`PromptTruncatingGRPOTrainer`) of the tiny `model` on `rows` with `reward` (a
    function, or a list of them): on the CPU, in full precision, one logging step per step, no saves, groups of 4
    completions of 6 tokens, dapo without KL; `settings` add to or replace these."""
    from datasets import Dataset

    from open_r1.configs import GRPOConfig
    from open_r1.grpo import PromptTruncatingGRPOTrainer

    base = dict(
        output_dir=str(output_dir), use_cpu=True, bf16=False, report_to="none", seed=0, logging_steps=1,
        save_strategy="no", num_generations=4, max_completion_length=6, learning_rate=1e-3, loss_type="dapo", beta=0.0,
    )  # fmt: skip
    return PromptTruncatingGRPOTrainer(
        model=str(model),
        reward_funcs=reward if isinstance(reward, list) else [reward],
        args=GRPOConfig(**{**base, **settings}),
        train_dataset=Dataset.from_list(rows),
    )


def flagged_rows(count: int, every: int = 2) -> list[dict]:
    """`count` prompts, one in `every` flagged `spread`."""
    return [{"prompt": f"What is {i} + {i % 7}?", "spread": i % every == 0} for i in range(count)]


def save_flagged_dataset(path: pathlib.Path, count: int = 64, every: int = 2) -> None:
    from datasets import Dataset, DatasetDict

    DatasetDict({"train": Dataset.from_list(flagged_rows(count, every))}).save_to_disk(str(path))


def record_trained_batches(folder: pathlib.Path) -> None:
    """Makes every trainer append what its process trains on to `folder`/rank<k>.jsonl after each generation."""
    from open_r1.utils.dynamic_sampling import BATCH_TOKENS, DynamicSampling, loss_tokens

    folder.mkdir(parents=True, exist_ok=True)
    score = DynamicSampling._generate_and_score_completions

    def recording(self, inputs):
        batch = score(self, inputs)
        metrics = self._metrics["train"]
        entry = {
            "step": self.state.global_step,
            "rounds": metrics["dynamic_sampling/rounds"][-1],
            "groups_kept": metrics["dynamic_sampling/groups_kept"][-1],
            "rows": len(batch["advantages"]),
            "loss_tokens": int(loss_tokens(batch)),
            BATCH_TOKENS: int(batch[BATCH_TOKENS]),
        }
        with open(folder / f"rank{self.accelerator.process_index}.jsonl", "a") as file:
            file.write(json.dumps(entry) + "\n")
        return batch

    DynamicSampling._generate_and_score_completions = recording


if __name__ == "__main__":
    from open_r1.rewards import REWARD_FUNCS_REGISTRY

    REWARD_FUNCS_REGISTRY[REWARD_NAME] = lambda args: flagged_spread_reward
    record_trained_batches(pathlib.Path(os.environ[PROBE_DIR]))
    runpy.run_path(str(GRPO_SCRIPT), run_name="__main__")
