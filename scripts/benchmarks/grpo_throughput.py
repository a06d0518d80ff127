#!/usr/bin/env python
"""Benchmark: seconds per GRPO step and completion tokens per second, arm beside arm, in one process.

Arms (each a fresh copy of the same float32 model, the same prompts, seed and settings; pick with --arms):
- `trl`: bare TRL `GRPOTrainer`, its plain generation (transformers `generate`, padded batch);
- `project`: the project's trainer as `src/open_r1/grpo.py` builds it (`PromptTruncatingGRPOTrainer`, open_r1's
  `GRPOConfig`, its callbacks and the GRPO doctor), on the same batch: its time over `trl`'s is the project's
  overhead (both draw the same prompts and, with the same seed, the same completions: `same_batch_as_trl` compares
  every step's completion tokens). With a tool recipe its rounds after tool results decode only the budget their
  rows have left (`open_r1.tools.training.ToolRoundBudget`), so its time over `trl`'s includes that saving, and
  its completions leave TRL's once a round is cut shorter (the sampler then draws fewer random numbers);
- `trl_cb`: bare TRL with `use_transformers_continuous_batching: true` (transformers' `generate_batch`, paged
  cache); `project_cb`: the project's trainer with it;
- `project_ahead` (a tool recipe only): the project's trainer decoding each batch's tool rollouts ahead of TRL's
  rounds, `--chunk_tokens` tokens per generate call (`tool_rollout_chunk_tokens`, open_r1.tools.rollouts_ahead);
- `project_compiled` (GPU only): the project's trainer with `compile_generation` (a static cache and transformers'
  compiled decode step, open_r1.utils.compiled_generation), `max_prompt_length` 512 as make gsm8k gives it (one
  cache length for every step; nothing GSM8K's is cut); its warm-up step includes the compilation, and the
  compilations of each counted step are recorded. Its tool rounds are padded to a few row counts, and the rows that
  pad them count in its decoded slots (work done, as a padded batch's finished rows are);
- `project_compiled_ahead` (GPU, a tool recipe only): both, as make gsm8k's tool arm trains under --compile_generation:
  its tool rollouts decoded ahead in chunks of `--chunk_tokens`, each chunk's call through the compiled step.
Every arm rewards with the project's `accuracy_reward` (GSM8K's answers). Each step generates
`--prompts` x `--num_generations` completions (one generation per step: gradient_accumulation_steps 1), takes one
optimizer step; the first `--warmup_steps` steps are not counted. With `--recipe` (a GRPO recipe, e.g. make
gsm8k's) the arms take its batch (per_device_train_batch_size x gradient_accumulation_steps completions per step,
generated at once; with `steps_per_generation`, a step is the recipe's whole generation, trained in one optimizer
step here), sampling, loss, learning rate and system prompt, and with `tools: [python]` its sandboxed python
tool: `--model` then needs the recipe's tool-calling chat template (make gsm8k's base-tools/ or sft-tools/).
Reported per arm: seconds per step, generation seconds per step (TRL's `_generate`, tools included), completion
tokens per step, the token slots transformers' padded generation decoded per step (every round's rows x new tokens,
finished rows included: the work a padded batch does; not counted under continuous batching), the generate calls,
their decode steps and the context tokens they read (rows x left-padded width), completion tokens per second of
step and of generation, tool calls per completion (with the tool), and for the project's arms the mean counted step
as its step profile splits it (`open_r1.utils.step_profile`); then ratios to the `trl` arm. Where the arms' calls
differ in shape (rounds against `project_ahead`), the page also gives a generate call's price fitted to every
counted call (`generation_prices`: milliseconds per decode step, per 1,000 context tokens read and per call, from
each call's own synchronised time), which says whether decoding ahead pays off on that machine and prices the
replays of scripts/benchmarks/tool_rollout_schedule.py.
An arm other than `trl` that fails is reported in `failed_arms` (its error) and the others still run.

    # GPU: one command, bf16 autocast over the float32 weights (not yet run: lower --steps if it takes too long)
    python scripts/benchmarks/grpo_throughput.py --model data/models/SmolLM2-135M-Instruct-f32 --device cuda \\
        --data_files ../shared/data/gsm8k_train.jsonl --output data/benchmarks/grpo_throughput_gpu.json
    # GPU, make gsm8k's tool arm as its recipe trains it, from the run's SFT model
    python scripts/benchmarks/grpo_throughput.py --model data/gsm8k/sft-tools --device cuda --steps 3 \\
        --recipe recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_tools.yaml \\
        --data_files ../shared/data/gsm8k_train.jsonl --gsm8k_grpo_prompts
    # CPU smoke with a tiny model folder (python scripts/make_tiny_model.py), a minute or two
    python scripts/benchmarks/grpo_throughput.py --model data/tiny-model --device cpu --prompts 2 \\
        --num_generations 2 --max_completion_length 16 --steps 2 --output /tmp/grpo_throughput_cpu.json

Prompts: the first `--prompts x (warmup + steps)` problems of `--data_files` (JSONL with problem, answer: GSM8K;
`--gsm8k_grpo_prompts`: of those make gsm8k's GRPO trains on), else synthetic arithmetic problems
(open_r1.tasks.arithmetic). Under `--device cuda` TRL's continuous batching casts the policy to bfloat16 in place
before generating (TRL 1.16, `bf16=True`): `policy_dtype_after` records it.
`--write_docs RESULTS.json ...` writes the tables of results files (kept in docs/results/grpo_throughput/) into
docs/benchmarks.md between this script's markers, so the page is never typed by hand; it runs nothing.
Not covered: vLLM (`use_vllm`), several GPUs, a recipe's other fields (its model, data, rewards, schedule).
"""

import argparse
import dataclasses
import hashlib
import json
import pathlib
import platform
import statistics
import tempfile
import time

from transformers import TrainerCallback

from open_r1.utils.results_docs import (
    add_results_options,
    parse_or_write_docs,
    results_markers,
    results_table_writer,
    section_per_run,
)

ARMS = ("trl", "project", "trl_cb", "project_cb", "project_ahead", "project_compiled", "project_compiled_ahead")
# Arms that decode tool rollouts ahead (tool_rollout_chunk_tokens): a tool recipe only.
AHEAD_ARMS = ("project_ahead", "project_compiled_ahead")
# Arms that compile the decode step (compile_generation), which transformers does as it is meant only on a GPU; their
# decode step has a price of its own.
COMPILED_ARMS = ("project_compiled", "project_compiled_ahead")
DEFAULT_ARMS = ("trl", "project", "trl_cb")
BEGIN, END = results_markers("grpo_throughput.py")
BASELINE = "trl"
# The project_ahead arm's chunk: where replayed GSM8K tool rollouts save most decode steps for their generate calls
# (scripts/benchmarks/tool_rollout_schedule.py, docs/benchmarks.md).
DEFAULT_CHUNK_TOKENS = 32
# transformers' default page size of the continuous-batching cache, in tokens.
PAGE_SIZE = 256


# A recipe's fields the arms take with --recipe (bare TRL's GRPOConfig knows each); its python tool's are `tools`
# and the `python_tool_*` fields (GRPOScriptArguments).
RECIPE_TRAINING_FIELDS = (
    "num_generations",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_completion_length",
    "temperature",
    "top_p",
    "learning_rate",
    "beta",
    "loss_type",
    "max_tool_calling_iterations",
    "activation_checkpointing",
)
# What the benchmark sets when no recipe does.
DEFAULT_PROMPTS, DEFAULT_NUM_GENERATIONS, DEFAULT_MAX_COMPLETION_LENGTH = 16, 8, 256


def read_recipe(path: str) -> dict:
    """The fields of a GRPO recipe the arms take: `training` (GRPOConfig fields), `tools` (the python tool's
    settings), `system_prompt`, `prompts` per step (a step: one of the recipe's generations) and the optimizer steps
    the recipe trains on each generation."""
    from open_r1.usage import read_recipe as read_recipe_file

    recipe = read_recipe_file(path, "--recipe")  # a key set twice is refused, as training refuses it
    training = {key: recipe[key] for key in RECIPE_TRAINING_FIELDS if key in recipe}
    training.setdefault("gradient_accumulation_steps", 1)
    for key in ("num_generations", "per_device_train_batch_size"):
        if key not in training:
            raise SystemExit(f"--recipe {path}: no {key}")
    other = [key for key in ("generation_batch_size", "num_iterations") if recipe.get(key) not in (None, 1)]
    if other:
        raise SystemExit(f"--recipe {path}: {', '.join(other)}: not timed here (steps_per_generation is)")
    # A recipe that trains several optimizer steps on each generation: a step here is one whole generation, its
    # micro-batches trained in one optimizer step (the updates themselves cost next to nothing beside them).
    micro_batches = recipe.get("steps_per_generation") or training["gradient_accumulation_steps"]
    if micro_batches % training["gradient_accumulation_steps"]:
        raise SystemExit(
            f"--recipe {path}: steps_per_generation ({micro_batches}) is not a multiple of gradient_accumulation_steps "
            f"({training['gradient_accumulation_steps']}): its generations do not start with an optimizer step"
        )
    optimizer_steps = micro_batches // training["gradient_accumulation_steps"]
    training["gradient_accumulation_steps"] = micro_batches
    completions = training["per_device_train_batch_size"] * training["gradient_accumulation_steps"]
    if completions % training["num_generations"]:
        raise SystemExit(
            f"--recipe {path}: per_device_train_batch_size x gradient_accumulation_steps ({completions}) is not a "
            f"multiple of num_generations ({training['num_generations']})"
        )
    tools = {key: value for key, value in recipe.items() if key == "tools" or key.startswith("python_tool_")}
    return {
        "training": training,
        "tools": tools,
        "system_prompt": recipe.get("system_prompt"),
        "prompts": completions // training["num_generations"],
        "optimizer_steps_per_generation": optimizer_steps,
    }


def load_prompts(
    data_files: str | None, count: int, recipe: dict | None = None, gsm8k_grpo_prompts: bool = False
) -> list[dict]:
    """`count` GRPO rows (conversational `prompt`, gold `solution`): a GSM8K-like file's first problems (with
    `gsm8k_grpo_prompts`, of those make gsm8k trains GRPO on), or synthetic. With a `recipe`, as make gsm8k writes
    its GRPO prompts (the evaluator's user turn) after the recipe's system prompt; else the bare problem."""
    if data_files is None:
        from open_r1.tasks.arithmetic import make_problems

        rows = make_problems(count, seed=0)
    else:
        with open(data_files, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        if gsm8k_grpo_prompts:
            from open_r1.demo.gsm8k import grpo_prompts
            from open_r1.demo.settings import GSM8K_FULL

            rows = grpo_prompts(rows, rows, GSM8K_FULL.grpo_max_calculations)
        rows = rows[:count]
        if len(rows) < count:
            raise SystemExit(f"{data_files}: {len(rows)} rows, the run needs {count}")
    if recipe is None:
        return [
            {"prompt": [{"role": "user", "content": row["problem"]}], "solution": str(row["answer"])} for row in rows
        ]
    from open_r1.tasks.gsm8k import prompt_row

    system = [{"role": "system", "content": recipe["system_prompt"]}] if recipe["system_prompt"] else []
    prompts = [prompt_row({"id": "", **row, "answer": str(row["answer"])}) for row in rows]
    return [
        {"prompt": [*system, {"role": "user", "content": row["prompt"]}], "solution": row["solution"]}
        for row in prompts
    ]


class StepTimer(TrainerCallback):
    """Records each optimizer step's wall time (the device synchronised at both ends), and the graphs torch.compile
    compiled during each (a compiled arm's counted step that compiled timed its compilation)."""

    def __init__(self, synchronize):
        self.synchronize, self.seconds, self.graphs_compiled, self._start = synchronize, [], [], None

    def on_step_begin(self, args, state, control, **kwargs):
        from torch._dynamo.utils import counters

        self.synchronize()
        self._graphs = counters["stats"]["unique_graphs"]
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        from torch._dynamo.utils import counters

        self.synchronize()
        self.seconds.append(time.perf_counter() - self._start)
        self.graphs_compiled.append(counters["stats"]["unique_graphs"] - self._graphs)


def count_decoded_slots(trainer, synchronize=lambda: None) -> dict:
    """Wraps the trainer's `model.generate` (transformers' padded generation, each round of a tool rollout included)
    to count what it decodes in a `DecodingTally` (`tally`: calls, decode steps, and the token slots, rows x new
    tokens of each call, the finished rows' padding included, since a padded batch computes them all); and the slots
    decoded past the largest budget any row of a round after tool results had left (`past_budget`: what
    `ToolRoundBudget` does not decode; TRL cuts them). Continuous batching (`generate_batch`) is not counted."""
    from open_r1.eval.decoding import kept_length
    from open_r1.tools.training import largest_budget_left
    from open_r1.utils.decoding_tally import DecodingTally

    # The tally's `timings`: each generate call's decode steps, context tokens and seconds (device synchronised).
    counts = {"tally": DecodingTally(), "past_budget": 0}
    generate, tool_loop = trainer.model.generate, trainer._tool_call_loop
    end_ids = set(trainer.eos_token_ids)
    batch_prompts = []  # the prompt ids of the batch while TRL's tool loop runs

    def counted(*args, **kwargs):
        synchronize()
        start = time.perf_counter()
        output = generate(*args, **kwargs)
        synchronize()
        seconds = time.perf_counter() - start
        inputs = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
        new_tokens = output.shape[1] - inputs.shape[1]
        kept = [kept_length(ids, end_ids) for ids in output[:, inputs.shape[1] :].tolist()]
        counts["tally"].add(kept, seconds, steps=new_tokens, context_tokens=inputs.numel())
        if batch_prompts:
            mask = kwargs.get("attention_mask")
            rows = (
                [ids[keep.bool()].tolist() for ids, keep in zip(inputs, mask)] if mask is not None else inputs.tolist()
            )
            budget = largest_budget_left(rows, batch_prompts[0], trainer.max_completion_length)
            counts["past_budget"] += output.shape[0] * max(0, new_tokens - budget)
        return output

    def in_tool_loop(prompts, prompt_ids, *args, **kwargs):
        batch_prompts.append(prompt_ids)
        try:
            return tool_loop(prompts, prompt_ids, *args, **kwargs)
        finally:
            batch_prompts.clear()

    trainer.model.generate, trainer._tool_call_loop = counted, in_tool_loop
    return counts


def time_generation(trainer, synchronize) -> list[dict]:
    """Wraps the trainer's `_generate` (every rollout of a step goes through it) to record its time, its tokens and
    what its transformers generation decoded (`count_decoded_slots`)."""
    calls, generate = [], trainer._generate
    counts = count_decoded_slots(trainer, synchronize)

    def timed(prompts):
        synchronize()
        start = time.perf_counter()
        tally, past_budget = dataclasses.replace(counts["tally"]), counts["past_budget"]  # before this generation
        calls_before = len(counts["tally"].timings)
        output = generate(prompts)
        synchronize()
        completion_ids = [list(map(int, ids)) for ids in output[1]]
        calls.append(
            {
                "seconds": time.perf_counter() - start,
                "tokens": sum(len(ids) for ids in completion_ids),
                "decoded_slots": counts["tally"].decoded_slots - tally.decoded_slots,
                "decoded_slots_past_budget": counts["past_budget"] - past_budget,
                "generate_calls": counts["tally"].calls - tally.calls,
                "decode_steps": counts["tally"].decode_steps - tally.decode_steps,
                "context_tokens": counts["tally"].context_tokens - tally.context_tokens,
                "generate_call_timings": counts["tally"].timings[calls_before:],
                "digest": hashlib.sha256(json.dumps(completion_ids).encode()).hexdigest(),
            }
        )
        return output

    trainer._generate = timed
    return calls


def cpu_paged_cache(args, tokenizer, dataset) -> dict:
    """Continuous batching's paged cache sized to one step's work. Left to itself on a CPU it takes a share of the
    machine's RAM and zero-fills it on every call (docs/benchmarks.md); on a GPU TRL's default stands."""
    prompt_tokens = [
        len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True)["input_ids"])
        for row in dataset
    ]
    sequences = args.prompts * args.num_generations
    pages = -(-(max(prompt_tokens) + args.max_completion_length) // PAGE_SIZE)
    # A step's prompts are rows of the dataset, each repeated num_generations times: bounded by the longest.
    return {
        "num_blocks": sequences * pages,
        "max_batch_tokens": sequences * max(prompt_tokens),
        "page_size": PAGE_SIZE,
    }


def build_trainer(arm: str, args, model_path: str, dataset, output_dir: str):
    """The arm's trainer: bare TRL or the project's (as src/open_r1/grpo.py builds it), on a fresh model copy."""
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.rewards import accuracy_reward

    settings = dict(
        output_dir=output_dir, report_to="none", save_strategy="no", logging_steps=1, seed=args.seed,
        max_steps=args.warmup_steps + args.steps, per_device_train_batch_size=args.prompts * args.num_generations,
        gradient_accumulation_steps=1, num_generations=args.num_generations,
        max_completion_length=args.max_completion_length, learning_rate=1e-6, beta=0.0,
        use_cpu=args.device == "cpu", bf16=args.device == "cuda",
        use_transformers_continuous_batching=arm.endswith("_cb"),
        # As the project's SmolLM2 recipes train (TRL's default recomputes activations in every backward pass).
        activation_checkpointing=False,
    )  # fmt: skip
    recipe = args.recipe_fields
    if recipe:
        settings.update(recipe["training"])
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if arm.endswith("_cb") and args.device == "cpu":
        settings["transformers_continuous_batching_config"] = cpu_paged_cache(args, tokenizer, dataset)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    from open_r1.configs import GRPOConfig, GRPOScriptArguments
    from open_r1.demo.settings import GSM8K_FULL

    if arm in AHEAD_ARMS:
        settings["tool_rollout_chunk_tokens"] = args.chunk_tokens
    if arm in COMPILED_ARMS:
        settings["compile_generation"] = True
        # One static cache length for every step, make gsm8k's (compile_generation sizes it from max_prompt_length,
        # which no recipe field here sets): no GSM8K prompt comes near it, and a wider step does not compile again.
        settings["max_prompt_length"] = GSM8K_FULL.compiled_max_prompt_length

    script_args = GRPOScriptArguments(
        dataset_name="grpo_throughput", reward_funcs=["accuracy"], **(recipe["tools"] if recipe else {})
    )
    environment_factory = None
    if script_args.tools:  # the recipe's python tool, for both trainers, as src/open_r1/grpo.py builds it
        from open_r1.tools.training import python_tool_environment

        environment_factory, _ = python_tool_environment(
            script_args, tokenizer, max_tool_calling_iterations=settings.get("max_tool_calling_iterations")
        )
    if arm.startswith("trl"):
        return trl.GRPOTrainer(
            model=model,
            reward_funcs=[accuracy_reward],
            args=trl.GRPOConfig(**settings),
            train_dataset=dataset,
            processing_class=tokenizer,
            environment_factory=environment_factory,
        )
    from open_r1.doctor import attach_doctor
    from open_r1.grpo import PromptTruncatingGRPOTrainer
    from open_r1.utils.callbacks import get_callbacks

    training_args = GRPOConfig(**settings)
    model_args = trl.ModelConfig(model_name_or_path=model_path)
    trainer = PromptTruncatingGRPOTrainer(
        model=model,
        reward_funcs=[accuracy_reward],
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=get_callbacks(training_args, model_args),
        environment_factory=environment_factory,
    )
    attach_doctor(trainer, script_args, training_args, dataset)
    return trainer


def run_arm(arm: str, args, model_path: str, dataset) -> dict:
    """Trains `warmup_steps + steps` steps with the arm's trainer; its timings over the counted steps."""
    import torch
    from torch._dynamo.utils import counters

    from open_r1.utils.step_profile import summarise as summarise_step_profile

    synchronize = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    compiled_before = counters["stats"]["unique_graphs"], counters["inductor"]["cudagraph_skips"]
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = build_trainer(arm, args, model_path, dataset, output_dir)
        timer = StepTimer(synchronize)
        trainer.add_callback(timer)
        generations = time_generation(trainer, synchronize)
        trainer.train()
        policy_dtype = str(next(trainer.model.parameters()).dtype)
        checkpointing = trainer.args.activation_checkpointing
        logged = [entry for entry in trainer.state.log_history if "tools/call_frequency" in entry]
        counted_log = [entry for entry in trainer.state.log_history if entry.get("step", 0) > args.warmup_steps]
    if len(timer.seconds) != args.warmup_steps + args.steps or len(generations) != len(timer.seconds):
        raise RuntimeError(f"{arm}: {len(timer.seconds)} steps and {len(generations)} generations timed")
    steps, counted = timer.seconds[args.warmup_steps :], generations[args.warmup_steps :]
    step_seconds = statistics.mean(steps)
    generation_seconds = statistics.mean(call["seconds"] for call in counted)
    tokens = statistics.mean(call["tokens"] for call in counted)
    decoded_slots = statistics.mean(call["decoded_slots"] for call in counted)
    past_budget = statistics.mean(call["decoded_slots_past_budget"] for call in counted)
    generate_calls = statistics.mean(call["generate_calls"] for call in counted)
    decode_steps = statistics.mean(call["decode_steps"] for call in counted)
    context_tokens = statistics.mean(call["context_tokens"] for call in counted)
    return {
        "seconds_per_step": step_seconds,
        "step_seconds": steps,
        "generation_seconds_per_step": generation_seconds,
        "completion_tokens_per_step": tokens,
        # Padded token slots transformers' generate decoded per step (None: continuous batching, not counted).
        "decoded_slots_per_step": decoded_slots or None,
        # Of those, the slots decoded past every row's budget in rounds after tool results (TRL cuts them).
        "decoded_slots_past_budget_per_step": past_budget if decoded_slots else None,
        # transformers' generate calls per step and their new tokens added up: the forward passes made one after
        # another, what a step's decoding costs where a pass costs the same whatever its rows (None: continuous
        # batching, not counted).
        "generate_calls_per_step": generate_calls if decoded_slots else None,
        "decode_steps_per_step": decode_steps if decoded_slots else None,
        # The tokens those calls read before decoding, rows x left-padded width: each call reads every row's context
        # again (transformers keeps no cache between calls).
        "context_tokens_per_step": context_tokens if decoded_slots else None,
        # Each counted generate call's [decode steps, context tokens read, seconds]: what generation_prices fits.
        "generate_call_timings": [timing for call in counted for timing in call["generate_call_timings"]],
        "completion_tokens_per_second": tokens / step_seconds,
        "generation_tokens_per_second": tokens / generation_seconds,
        "completion_digests": [call["digest"] for call in generations],
        "policy_dtype_after": policy_dtype,
        # Graphs torch.compile compiled and CUDA graphs inductor skipped during the arm (compile_generation's; an
        # arm that compiled nothing decoded eagerly).
        "graphs_compiled": counters["stats"]["unique_graphs"] - compiled_before[0],
        "cudagraph_skips": counters["inductor"]["cudagraph_skips"] - compiled_before[1],
        # Of those, each counted step's: where not 0, that step's time includes compiling a new shape.
        "graphs_compiled_per_counted_step": timer.graphs_compiled[args.warmup_steps :],
        # Recomputing activations in the backward pass (the recipe's activation_checkpointing; else off).
        "activation_checkpointing": checkpointing,
        # The project's arms: their counted steps' mean as the trainer's step profile logs it (None for bare TRL).
        # time_generation's device synchronisations fall outside the profile's _generate: waiting for the previous
        # step's GPU work counts as scoring here, where a run without the benchmark counts it in decoding.
        "step_profile": summarise_step_profile(counted_log),
        # With the python tool: TRL's tool calls per completion, over the counted steps.
        "tool_calls_per_completion": statistics.mean(
            entry["tools/call_frequency"] for entry in logged[args.warmup_steps :]
        )
        if logged
        else None,
    }


def environment(device: str) -> dict:
    import torch

    from open_r1.utils.provenance import provenance_record

    return {
        "device_name": torch.cuda.get_device_name()
        if device == "cuda"
        else platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        **provenance_record(),
    }


def generation_prices(results: dict) -> dict | None:
    """What a generate call costs on the machine that ran the arms (`open_r1.utils.decoding_tally.fit_call_prices`),
    fitted to every counted call of every eager arm (`generate_call_timings`: transformers' generate alone, without
    the tools or the waits around it; a compiled arm's decode step has a price of its own); None where the calls do
    not separate the prices."""
    from open_r1.utils.decoding_tally import fit_call_prices

    return fit_call_prices(
        [
            call
            for name, arm in results["arms"].items()
            if name not in COMPILED_ARMS
            for call in arm.get("generate_call_timings") or []
        ]
    )


def counted_compilations(result: dict) -> str:
    """ ", N of them in counted steps" where a compiled arm's counted steps compiled (their times include it)."""
    counted = sum(result.get("graphs_compiled_per_counted_step") or [])
    return f", {counted} of them in counted steps" if counted else ""


def results_section(results: dict, path: pathlib.Path) -> str:
    """One results file on the page: where, when and what ran, then each arm's figures and ratios to `trl`, and the
    generation prices the arms give (`generation_prices`)."""
    from open_r1.utils.provenance import read_provenance
    from open_r1.utils.results_docs import markdown_table

    settings = results["settings"]
    record = read_provenance(settings)
    # Results made by hand (the tests') may lack both: "?" cores and a nan load, as before.
    cores, start = record["machine"]["cores"], record["machine"]["load_average_at_start"] or [float("nan")]
    recipe = f"recipe {settings['recipe']}" if settings.get("recipe") else "no recipe"
    settings_line = (
        f"**{settings['device_name']}** ({settings['device']}, {'?' if cores is None else cores} cores, "
        f"{settings['cpu_threads']} thread{'s' if settings['cpu_threads'] != 1 else ''}, load average "
        f"{start[0]:.1f} at the start), commit {record['commit']}, "
        f"{record['date'][:10]}: model {settings['model']}, {recipe}, {settings['prompts']} prompts x "
        f"{settings['num_generations']} completions of at most {settings['max_completion_length']} tokens per step, "
        f"{settings['warmup_steps']} warm-up + {settings['steps']} timed steps"
    )
    per_generation = (settings.get("recipe_fields") or {}).get("optimizer_steps_per_generation", 1)
    if per_generation > 1:
        settings_line += (
            f", each step one generation of the recipe's, which the recipe trains in {per_generation} optimizer steps"
        )
    ahead = [arm for arm in results["arms"] if arm in AHEAD_ARMS]
    if ahead:
        settings_line += f", {' and '.join(ahead)} in chunks of {settings['chunk_tokens']} tokens"
    settings_line += f" (`{path.as_posix()}`)"
    rows = []
    for arm, result in results["arms"].items():
        ratio, decoded = results["ratios_to_trl"][arm], result.get("decoded_slots_per_step")
        past = result.get("decoded_slots_past_budget_per_step")
        calls = result.get("tool_calls_per_completion")
        steps, generate_calls = result.get("decode_steps_per_step"), result.get("generate_calls_per_step")
        context = result.get("context_tokens_per_step")  # None in results files from before 2026-11-26
        compiled = result.get("graphs_compiled")  # absent from results files before compile_generation
        label = (
            f"{arm} ({compiled} graphs compiled, {result['cudagraph_skips']} CUDA graphs skipped"
            f"{counted_compilations(result)})"
            if compiled
            else arm
        )
        rows.append(
            [
                label,
                f"{result['seconds_per_step']:.3f}",
                f"{result['generation_seconds_per_step']:.3f}",
                f"{result['completion_tokens_per_step']:,.1f}",
                "—" if decoded is None else f"{decoded:,.1f}",
                "—" if decoded is None or past is None else f"{past:,.1f} ({past / decoded:.1%})",
                "—" if steps is None else f"{steps:,.1f} ({generate_calls:,.1f})",
                "—" if context is None else f"{context:,.0f}",
                "—" if calls is None else f"{calls:.2f}",
                f"{ratio['seconds_per_step']:.2f}",
                "yes" if result["same_batch_as_trl"] else "no",
            ]
        )
    header = [
        "arm",
        "s/step",
        "generation s/step",
        "completion tokens/step",
        "decoded slots/step",
        "of which past the round's budget",
        "decode steps/step (generate calls)",
        "context tokens read/step",
        "tool calls per completion",
        "× trl s/step",
        "same batch as trl",
    ]
    failed = results.get("failed_arms", {}).items()
    rows += [[arm, f"failed: {error}", *[""] * (len(header) - 2)] for arm, error in failed]
    section = settings_line + "\n\n" + markdown_table(header, rows)
    prices = generation_prices(results)
    if prices:
        section += (
            f"\n\nA generate call's price, fitted to these arms' {prices['calls']} calls (R² {prices['r_squared']:.3f}): "
            f"{prices['ms_per_decode_step']:.1f} ms per decode step, {prices['ms_per_1k_context_tokens']:,.1f} ms per "
            f"1,000 context tokens read, {prices['ms_per_call']:.0f} ms per call."
        )
    return section


write_docs = results_table_writer(BEGIN, END, section_per_run(results_section))


def compare_to_baseline(results: dict, arms: dict, failed: dict) -> None:
    """Puts the arms timed so far into `results`, each with whether it generated the baseline's completions and its
    ratios to the baseline."""
    baseline = arms[BASELINE]
    for result in arms.values():
        result["same_batch_as_trl"] = result["completion_digests"] == baseline["completion_digests"]
    results["arms"], results["failed_arms"] = arms, failed
    results["ratios_to_trl"] = {
        arm: {
            "seconds_per_step": result["seconds_per_step"] / baseline["seconds_per_step"],
            "completion_tokens_per_second": result["completion_tokens_per_second"]
            / baseline["completion_tokens_per_second"],
            "generation_tokens_per_second": result["generation_tokens_per_second"]
            / baseline["generation_tokens_per_second"],
            "decoded_slots_per_step": result["decoded_slots_per_step"] / baseline["decoded_slots_per_step"]
            if result["decoded_slots_per_step"] and baseline["decoded_slots_per_step"]
            else None,
        }
        for arm, result in arms.items()
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Model folder (float32 weights), e.g. the SmolLM2 f32 copy.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: bf16 autocast (bf16=True).")
    parser.add_argument("--data_files", default=None, help="JSONL with problem, answer (GSM8K); else synthetic.")
    parser.add_argument(
        "--gsm8k_grpo_prompts",
        action="store_true",
        help="Take only the --data_files rows make gsm8k trains GRPO on: worked solutions (`solution`) with at most "
        "GSM8KSettings.grpo_max_calculations calculations.",
    )
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(DEFAULT_ARMS), help="Trainers to time.")
    parser.add_argument(
        "--recipe",
        default=None,
        help="A GRPO recipe (YAML) whose batch, sampling, loss, learning rate, system prompt and python tool the "
        "arms take (not with --prompts, --num_generations, --max_completion_length).",
    )
    parser.add_argument("--prompts", type=int, default=None, help=f"Prompts per step (default {DEFAULT_PROMPTS}).")
    parser.add_argument(
        "--num_generations",
        type=int,
        default=None,
        help=f"Completions per prompt (default {DEFAULT_NUM_GENERATIONS}).",
    )
    parser.add_argument(
        "--max_completion_length",
        type=int,
        default=None,
        help=f"Completion budget in tokens (default {DEFAULT_MAX_COMPLETION_LENGTH}).",
    )
    parser.add_argument(
        "--chunk_tokens",
        type=int,
        default=DEFAULT_CHUNK_TOKENS,
        help="The tool_rollout_chunk_tokens of the arms that decode ahead (project_ahead, project_compiled_ahead): at "
        "most this many tokens per generate call.",
    )
    parser.add_argument("--steps", type=int, default=5, help="Timed steps per arm.")
    parser.add_argument("--warmup_steps", type=int, default=1, help="Untimed steps first (allocations, kernels).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the model and sampling.")
    parser.add_argument("--cpu_threads", type=int, default=None, help="torch threads on CPU (default: torch's).")
    add_results_options(parser)  # --write_docs runs nothing
    args = parse_or_write_docs(parser, argv, write_docs, required=("model",))
    if args is None:
        return {}
    from open_r1.utils.results_docs import save_results

    if BASELINE not in args.arms:
        parser.error(f"--arms must include {BASELINE!r}: the ratios are to it")
    sizes = {
        "prompts": DEFAULT_PROMPTS,
        "num_generations": DEFAULT_NUM_GENERATIONS,
        "max_completion_length": DEFAULT_MAX_COMPLETION_LENGTH,
    }
    args.recipe_fields = None
    if args.recipe:
        given = [f"--{name}" for name in sizes if getattr(args, name) is not None]
        if given:
            parser.error(f"{', '.join(given)}: --recipe sets it")
        args.recipe_fields = read_recipe(args.recipe)
        training = args.recipe_fields["training"]
        sizes.update(prompts=args.recipe_fields["prompts"], num_generations=training["num_generations"])
        sizes["max_completion_length"] = training.get("max_completion_length", DEFAULT_MAX_COMPLETION_LENGTH)
    for name, size in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, size)
    if min(args.prompts, args.num_generations, args.max_completion_length, args.steps) < 1 or args.warmup_steps < 0:
        parser.error("--prompts, --num_generations, --max_completion_length, --steps must be >= 1")
    tool_arms = [arm for arm in args.arms if arm in AHEAD_ARMS]
    if tool_arms and not (args.recipe_fields and args.recipe_fields["tools"].get("tools")):
        parser.error(f"--arms {' '.join(tool_arms)}: decodes tool rollouts, it needs a --recipe with tools: [python]")
    if args.chunk_tokens < 1:
        parser.error(f"--chunk_tokens must be >= 1, got {args.chunk_tokens}")
    gpu_arms = [arm for arm in args.arms if arm in COMPILED_ARMS]
    if gpu_arms and args.device != "cuda":
        parser.error(
            f"--arms {' '.join(gpu_arms)}: transformers compiles the decode step on a GPU only (--device cuda)"
        )

    import datasets
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU here")
    if args.cpu_threads is not None:
        torch.set_num_threads(args.cpu_threads)
    dataset = datasets.Dataset.from_list(
        load_prompts(
            args.data_files,
            args.prompts * (args.warmup_steps + args.steps),
            args.recipe_fields,
            args.gsm8k_grpo_prompts,
        )
    )
    results = {"settings": {k: v for k, v in vars(args).items() if k != "output"} | environment(args.device)}
    arms, failed = {}, {}
    for arm in dict.fromkeys([BASELINE, *args.arms]):  # the baseline first
        try:
            arms[arm] = run_arm(arm, args, args.model, dataset)
            print(f"{arm}: {arms[arm]['seconds_per_step']:.3f} s/step", flush=True)
        except Exception as error:  # one arm's failure (e.g. a backend the device lacks) leaves the others' figures
            if arm == BASELINE:
                raise
            failed[arm] = f"{type(error).__name__}: {error}"
            print(f"{arm}: failed: {failed[arm]}", flush=True)
        compare_to_baseline(results, arms, failed)
        if args.output:  # after every arm: a run cut short (a lease that ends) keeps the arms it finished
            save_results(args.output, results, quiet=True)
    print(f"{'arm':<12}{'s/step':>10}{'gen s/step':>12}{'tokens/step':>13}{'decoded/step':>14}{'past budget':>13}"
          f"{'tokens/s':>11}{'gen tokens/s':>14}{'x trl s/step':>14}{'x trl tok/s':>13}  same batch")  # fmt: skip
    for arm, result in arms.items():
        ratio = results["ratios_to_trl"][arm]
        decoded = result["decoded_slots_per_step"]
        print(
            f"{arm:<12}{result['seconds_per_step']:>10.3f}{result['generation_seconds_per_step']:>12.3f}"
            f"{result['completion_tokens_per_step']:>13.1f}{decoded or float('nan'):>14.1f}"
            f"{result['decoded_slots_past_budget_per_step'] if decoded else float('nan'):>13.1f}"
            f"{result['completion_tokens_per_second']:>11.1f}"
            f"{result['generation_tokens_per_second']:>14.1f}{ratio['seconds_per_step']:>14.2f}"
            f"{ratio['completion_tokens_per_second']:>13.2f}  {result['same_batch_as_trl']}"
        )
    return results


if __name__ == "__main__":
    from open_r1.usage import exit_on_usage_error

    with exit_on_usage_error():  # --gsm8k_grpo_prompts with no row in the calculation limit: one line
        main()
