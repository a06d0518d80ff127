"""What each mode of `make demo` builds and how it evaluates it; the training schedules are in the recipes.

- `DemoSettings` (the R1 recipe in miniature, `open_r1.demo.r1`): FULL and FAST on the tiny model, SMOLLM2 and
  SMOLLM2_FAST on SmolLM2-135M-Instruct, chosen from `SETTINGS` by (model, fast).
- `ToolDemoSettings` (the tool-integrated miniature, `open_r1.demo.tools`): TOOLS_FULL and TOOLS_FAST.
- `GSM8KSettings` (`make gsm8k`, `open_r1.demo.gsm8k`): GSM8K_FULL (meant for one GPU) and GSM8K_FAST (the CPU
  end-to-end check), with the arms' recipes.
- The FAST overrides: the step counts that FAST gives the trainers in place of the recipes' own.

Not covered: the recipes' hyperparameters (recipes/demo/).
"""

import dataclasses

from open_r1.tasks.arithmetic import ArithmeticSpec
from open_r1.tasks.tiny_model import TinyModelSpec

# The demo's tiny model, built on the spot (its seed is the run's); the tiny model's default heads (4 query,
# 2 key-value).
TINY_MODEL = TinyModelSpec(hidden_size=128, num_layers=4, intermediate_size=256)
# Qwen2's initial std of 0.02 suits hidden sizes in the thousands; 0.1 is about 1/sqrt(128): at 0.02 attention
# stays near uniform for hundreds of steps (docs/demo_notes.md).
DEMO_INITIALIZER_RANGE = 0.1
R1_MODEL = dataclasses.replace(TINY_MODEL, initializer_range=DEMO_INITIALIZER_RANGE)
# Eight full key/value heads (head_dim 16) and the same initial std: the tool arm must copy operands and tool
# output, which the default 4/2 heads, or std 0.02, learnt only on some seeds (docs/demo_notes.md).
TOOL_CALLING_MODEL = dataclasses.replace(R1_MODEL, num_attention_heads=8, num_key_value_heads=8, tool_calling=True)
# Operands and running totals within 0..5: few enough arithmetic facts for SFT to learn (docs/demo_notes.md).
R1_TASK = ArithmeticSpec(min_operands=4, max_operands=4, max_value=5, min_total=0, max_total=5)


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """What the R1 demo builds and how it evaluates."""

    num_train: int = 1500
    num_test: int = 400
    # Share of cold-start traces written by the imperfect teacher (last step skipped). A skipped step that adds or
    # subtracts 0 still gives the right total (about a quarter of problems), so SFT starts near 0.25 + 0.75 / 4.
    teacher_error_rate: float = 0.75
    # Cold-start traces per training problem, each round flawed on its own random problems: with one trace per
    # problem SFT memorised which prompts skip, and GRPO's samples of a prompt all skipped or none did (no signal).
    traces_per_problem: int = 6
    task: ArithmeticSpec = R1_TASK
    # Used when `base_model` is "tiny".
    tiny_model: TinyModelSpec = dataclasses.field(default_factory=lambda: R1_MODEL)
    eval_samples: int = 2
    eval_max_new_tokens: int = 64
    eval_batch_size: int = 64
    # "tiny": the model above, built on the spot; "smollm2": SmolLM2-135M-Instruct from scripts/get_model.py.
    base_model: str = "tiny"
    sft_recipe: str = "recipes/demo/sft/config_demo.yaml"
    grpo_recipe: str = "recipes/demo/grpo/config_demo.yaml"
    # Each stage's pass@1 on the first `gsm8k_problems` problems of GSM8K test (0: not evaluated).
    gsm8k_problems: int = 0
    gsm8k_samples: int = 2
    gsm8k_max_new_tokens: int = 64


FULL = DemoSettings()
FAST = dataclasses.replace(FULL, num_train=400, num_test=48)
# The real model: every forward pass costs ~200x the tiny model's, so fewer problems, samples and steps.
SMOLLM2 = dataclasses.replace(
    FULL,
    num_train=2000,
    num_test=200,
    # The task it was measured with: every running total within 0..9.
    task=ArithmeticSpec(min_operands=4, max_operands=4, max_value=9, min_total=0, max_total=9),
    # At 0.7 the skip is copied by SFT on both measured seeds, so GRPO has it to unlearn (docs/demo_notes.md).
    teacher_error_rate=0.7,
    traces_per_problem=1,
    eval_samples=2,
    eval_batch_size=64,
    base_model="smollm2",
    sft_recipe="recipes/demo/sft/config_smollm2.yaml",
    grpo_recipe="recipes/demo/grpo/config_smollm2.yaml",
    gsm8k_problems=200,
)
SMOLLM2_FAST = dataclasses.replace(SMOLLM2, num_train=64, num_test=8, gsm8k_problems=4, gsm8k_max_new_tokens=16)
SETTINGS = {("tiny", False): FULL, ("tiny", True): FAST, ("smollm2", False): SMOLLM2, ("smollm2", True): SMOLLM2_FAST}
# The trainers' step counts live in the recipes; FAST only shrinks them for the end-to-end test.
FAST_SFT_OVERRIDES = {"tiny": ("--max_steps", "30", "--logging_steps", "10"), "smollm2": ("--max_steps", "2")}
FAST_GRPO_OVERRIDES = {"tiny": ("--max_steps", "4", "--logging_steps", "1"), "smollm2": ("--max_steps", "1")}


@dataclasses.dataclass(frozen=True)
class ToolDemoSettings:
    """What the tool miniature builds and how it evaluates (greedy, one sample per problem)."""

    num_train: int = 3000
    num_test: int = 200
    tiny_model: TinyModelSpec = dataclasses.field(default_factory=lambda: TOOL_CALLING_MODEL)
    eval_batch_size: int = 100
    sft_recipe: str = "recipes/demo/sft/config_tools.yaml"
    grpo_recipe: str = "recipes/demo/grpo/config_tools.yaml"


TOOLS_FULL = ToolDemoSettings()
TOOLS_FAST = dataclasses.replace(TOOLS_FULL, num_train=200, num_test=16)
TOOLS_FAST_SFT_OVERRIDES = ("--max_steps", "20", "--logging_steps", "10")
TOOLS_FAST_GRPO_OVERRIDES = ("--max_steps", "2", "--logging_steps", "1")


# How reports, tables and messages name `make gsm8k`'s two arms.
GSM8K_ARM_NAMES = {"cot": "chain of thought", "tools": "python tool"}


@dataclasses.dataclass(frozen=True)
class GSM8KSettings:
    """What `make gsm8k` trains on and how it evaluates each arm; the training schedules are in the recipes."""

    # GSM8K-train rows turned into SFT traces and GRPO prompts, from the start of the file (None: all 7,473).
    num_train: int | None = None
    # GSM8K-test problems evaluated, from the start of the file (None: all 1,319).
    num_test: int | None = None
    # Completions per problem behind the sampled pass@1 (temperature and top_p: the evaluator's defaults); each
    # sample costs a pass over the test set, and the tool arm's runs every call in the sandbox one after another.
    eval_samples: int = 2
    # Problems per generate() call; times eval_samples, the sequences a GPU decodes at once.
    eval_batch_size: int = 256
    # New tokens per evaluated completion (None: the arm's GRPO max_completion_length, as it was trained).
    eval_max_new_tokens: int | None = None
    # The tool arm's evaluations decode with rows joining, at most this many tokens per generate call, in place of
    # what its GRPO recipe sets (None: the recipe's, rounds where it sets none): replayed on the H100 SFT model's
    # greedy rollouts at that evaluation's fitted prices, about 0.74-0.78 of the rounds' decoding time
    # (docs/benchmarks.md, tool_rollout_schedule.py).
    eval_tool_rollout_chunk_tokens: int | None = 96
    # On a GPU with transformers generation, an arm whose GRPO recipe calls tools decodes its rollouts ahead of TRL's
    # rounds, at most this many tokens per generate call (None: rounds): replayed on the H100 SFT model's rollouts,
    # in batches of 128 at that GPU's prices 0.80 of the rounds' decoding time, at the recipe's 256 rows 0.67 of
    # their decode steps, the fewest of chunks from 64 to 128 (docs/benchmarks.md). Not under vLLM, which schedules
    # by itself, nor on a CPU, where re-reading each call's context costs more than the decode steps saved.
    grpo_tool_rollout_chunk_tokens: int | None = 96
    # GRPO prompts: the rows whose worked solution has at most this many calculations (None: every row). GRPO
    # learns only from groups whose rewards differ, which SFT's 2-9% on all rows seldom gave (docs/gsm8k.md).
    grpo_max_calculations: int | None = 2
    # Under --time_budget_minutes, the seconds each arm's GRPO model's evaluation (greedy and sampled) is given
    # before the budget ends, the longest of the arms run for every arm's GRPO; on an H100 it took 78 s (chain of
    # thought) and 291 s (tool: its greedy and sampled passes at once), 424 s one after the other (docs/gsm8k.md,
    # second lease), plus GRPO's save and exit.
    grpo_evaluation_seconds: dict = dataclasses.field(default_factory=lambda: {"cot": 120, "tools": 330})
    # Under --compile_generation, GRPO's max_prompt_length (the recipes set none): the static cache then has one
    # length, prompt plus completion, so no wider step compiles the decode step again (55 s on an H100). GSM8K's
    # longest prompt, train or test, under SmolLM2's chat template and either arm's system prompt is 299 tokens.
    compiled_max_prompt_length: int = 512
    sft_recipes: dict = dataclasses.field(
        default_factory=lambda: {
            "cot": "recipes/SmolLM2-135M-Instruct/sft/config_gsm8k_cot.yaml",
            "tools": "recipes/SmolLM2-135M-Instruct/sft/config_gsm8k_tools.yaml",
        }
    )
    grpo_recipes: dict = dataclasses.field(
        default_factory=lambda: {
            "cot": "recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_cot.yaml",
            "tools": "recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_tools.yaml",
        }
    )


GSM8K_FULL = GSM8KSettings()
GSM8K_FAST = dataclasses.replace(
    GSM8K_FULL,
    num_train=16,
    num_test=4,
    eval_samples=2,
    eval_batch_size=4,
    eval_max_new_tokens=48,
    # On 2 CPU cores each FAST evaluation took 12-16 s.
    grpo_evaluation_seconds={"cot": 60, "tools": 60},
)
# FAST: a few steps on a few rows, short completions; what each stage writes, not what it learns.
GSM8K_FAST_SFT_OVERRIDES = ("--max_steps", "2", "--per_device_train_batch_size", "4", "--logging_steps", "1")
GSM8K_FAST_GRPO_OVERRIDES = (
    *("--max_steps", "2", "--logging_steps", "1", "--num_generations", "2"),
    *("--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1", "--max_completion_length", "48"),
    # One generation of 4 prompts for the 2 steps, as the recipes' generations each train two.
    *("--steps_per_generation", "2"),
)
# The recipes are written for one GPU; without one the same recipes run on the CPU in float32.
GSM8K_CPU_OVERRIDES = ("--use_cpu", "true", "--bf16", "false")
# `--use_vllm`: GRPO generates with vLLM, colocated in the GRPO process; 0.15 of an 80 GB H100 holds the 135M model
# and its cache beside the one other job that may share the GPU (GPU_JOBS_AT_ONCE in open_r1.demo.gsm8k).
GSM8K_VLLM_GRPO_OVERRIDES = (
    *("--use_vllm", "true", "--vllm_mode", "colocate", "--vllm_gpu_memory_utilization", "0.15"),
    # TRL's correction for vLLM's sampling probabilities differing from the trainer's, set so no run asks.
    *("--vllm_importance_sampling_correction", "true"),
)
