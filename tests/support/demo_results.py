"""A results.json of `make demo` (the R1 miniature) with chosen numbers, shaped as `open_r1.demo.r1.run` writes it,
for the tests of the report and of docs/demo.md; nothing trains."""


def demo_results(base=0.0, sft=0.45, grpo=0.80, accuracy_reward=None, seed=0, fast=False) -> dict:
    """A results.json of the R1 demo with the given held-out pass@1 and GRPO accuracy-reward curve."""
    accuracy_reward = accuracy_reward or [0.4, 0.45, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.9]
    steps = [4 * (index + 1) for index in range(len(accuracy_reward))]

    def stage(value):
        return {
            "pass@1": value,
            "pass@1_stderr": 0.01,
            "format_rate": 1.0,
            "short_trace_rate": 0.5,
            "step_accuracy": 0.99,
            "seconds": 60.0,
            "train_seconds": 50.0,
            "eval_seconds": 10.0,
        }

    return {
        "stages": {"base": stage(base), "sft": stage(sft), "grpo": stage(grpo)},
        "model": "tiny",
        "seed": seed,
        "test_problems": 500,
        "fast": fast,
        "total_seconds": 281.4,
        "model_parameters": 650_000,
        "train_problems": 3000,
        "sft_traces": 9000,
        "sft_flawed_traces": 6750,
        "eval_samples": 2,
        "grpo_curves": {
            "step": steps,
            "reward": [value + 0.2 for value in accuracy_reward],
            "accuracy_reward": accuracy_reward,
            "format_reward": [1.0] * len(accuracy_reward),
        },
        "held_out": [
            {"step": 0, "label": "SFT", "pass@1": sft, "pass@1_stderr": 0.01, "short_trace_rate": 0.8},
            {"step": 16, "label": "checkpoint", "pass@1": 0.7, "pass@1_stderr": 0.02, "short_trace_rate": 0.2},
            {"step": steps[-1], "label": "GRPO", "pass@1": grpo, "pass@1_stderr": 0.01, "short_trace_rate": 0.0},
        ],
        "date": "2026-11-23T20:00:00+00:00",
        "commit": "abc1234",
        "machine": {
            "cpu": "AMD EPYC",
            "cores": 2,
            "load_average_at_start": [0.3, 0.5, 0.6],
            "load_average_at_end": [2.1, 1.9, 1.2],
        },
    }
