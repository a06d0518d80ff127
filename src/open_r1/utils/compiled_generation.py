"""GRPO's transformers generation with a compiled decode step: `compile_generation: true`.

    class Trainer(CompiledGeneration, GRPOTrainer): ...   # open_r1.grpo.PromptTruncatingGRPOTrainer does

Without vLLM, TRL 1.16 generates with transformers' `generate` and turns its compilation off (`disable_compile=True`),
so every decode step of a small model is a few thousand operators the host dispatches one by one from Python, and the
GPU waits on them (docs/benchmarks.md, "A decode step's price"). Under `compile_generation` the trainer's generation
config asks for a static cache and lets transformers compile the decode step (`torch.compile`, mode
"reduce-overhead": CUDA graphs replayed each step). Every generate call of the trainer goes through that config, the
tool rounds' (`ToolRoundBudget`, `ToolRolloutsAhead` copy it) included. With `max_prompt_length` set, the cache is
sized once for the longest call (`max_cache_len`: prompt plus completion; with tools, prompt plus twice the
completion, since a round after tool results pads its rows to the longest rollout so far and may decode the whole
budget another row has left), so calls of other widths reuse it; without, transformers sizes it to the longest call
so far and compiles again when it grows (a new CUDA graph for each new shape, dynamic shapes after the first
recompilation).

The compiled step is specialised to a call's number of rows, and tool rounds decode only the rollouts that called a
tool, a different number each round. So a call of fewer rows than a generation's is padded to a few fixed counts
(`open_r1.utils.padded_rows`: powers of two from 16 up to a generation's rows per process) with copies of its first
row, which are marked finished at their first token (`padding_rows_finished`) and dropped from what the call
returns: with `max_prompt_length` set, a round's few graphs are recorded once per run, and the padding never decodes
a step that the real rows would not. `StepProfile` sits beneath and counts the padding rows as decoded slots and
context read, which they are (and, where the pad token is not an end of turn, each as a completion of the call's
length). The larger cache costs reads: a static cache's decode step attends over all of it, so the tool arm's
256-row step reads about 1.5 times the keys and values it would at prompt plus completion; a cache that grew instead
would compile the step again (30 to 55 s on an H100) and then stay at its largest.

Under bf16 autocast over float32 weights (the project's GPU recipes), rotary embeddings leave each layer's keys in
float32 and its values in bfloat16, and transformers 5.23's static cache stores both at the keys' dtype with
`index_copy_`, which refuses the values: while the trainer generates, the static cache stores both at autocast's
dtype (`static_cache_storing`). That is exact: attention under autocast (scaled_dot_product_attention and matmul are
on autocast's lower-precision lists, on a CPU and on CUDA) reads keys and values in bfloat16 whatever the cache
holds, as it does from the dynamic cache's float32 keys; and it halves the cache against float32, its memory and what
each decode step reads of it. Without autocast the cache stores the dtype of the first keys.

Where it cannot take effect it is refused: with vLLM or continuous batching (also at parse time,
`check_ignored_fields`), on a CPU and under parameters sharded across processes, whose gathered copies the graphs
would not follow (also before the model loads, `open_r1.utils.launch_settings.check_backend_runs_here`), with
activation checkpointing (its hooks change around each generation, which compiles the step again), with a
quantisation transformers does not compile, without a cache, and over another `cache_implementation`.

Not covered: the offline evaluator's decoding (open_r1.eval.decoding); padding the calls of a vision-language model
(images or other multimodal fields), which decode unpadded.
"""

import contextlib
import os

import torch
from transformers.cache_utils import StaticLayer

from open_r1.utils.padded_rows import padded_to_bucket, with_padding_finished

TRANSFORMERS_STATIC_UPDATE = StaticLayer.update


# The dtype StaticLayer stores while a `static_cache_storing` block runs (None: the first keys' dtype). A module global,
# so that the patched method is one function: torch.compile guards on the method it traced and on this value.
STORED_DTYPE = None


def update_storing_one_dtype(self, key_states, value_states, *args, **kwargs):
    """`StaticLayer.update` storing keys and values at `STORED_DTYPE`, else at the cache's dtype (the keys' of the first
    update)."""
    dtype = STORED_DTYPE or (self.keys.dtype if self.is_initialized else key_states.dtype)
    return TRANSFORMERS_STATIC_UPDATE(self, key_states.to(dtype), value_states.to(dtype), *args, **kwargs)


@contextlib.contextmanager
def static_cache_storing(dtype: torch.dtype | None = None):
    """transformers' static cache storing keys and values at `dtype` while the block runs (None: at its own dtype, the
    first keys'), so that keys and values of different dtypes fit (module docstring). Can go once transformers'
    static cache casts them itself."""
    global STORED_DTYPE
    StaticLayer.update, STORED_DTYPE = update_storing_one_dtype, dtype
    try:
        yield
    finally:
        StaticLayer.update, STORED_DTYPE = TRANSFORMERS_STATIC_UPDATE, None


@contextlib.contextmanager
def padding_rows_finished(model, real_rows: int):
    """`model.generate` stopping every row from `real_rows` on at its first token while the block runs. TRL's
    `_generate_single_turn` passes generate() no stopping criteria of ours, so the model's own method is wrapped for
    the call (it can go once TRL passes generate keyword arguments through)."""
    own = vars(model).get("generate")  # an instance's own wrapper (a test's recorder), put back after
    generate = model.generate

    def generate_with_padding_finished(*args, stopping_criteria=None, **kwargs):
        return generate(*args, stopping_criteria=with_padding_finished(real_rows, stopping_criteria), **kwargs)

    model.generate = generate_with_padding_finished
    try:
        yield
    finally:
        if own is None:
            del model.generate
        else:
            model.generate = own


def autocast_dtype(args) -> torch.dtype | None:
    """The dtype mixed precision computes in (`bf16`, `fp16`), under which the trainer generates; None without."""
    return torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None


def compiled_generation_refusal(trainer) -> str | None:
    """Why `compile_generation` cannot take effect in `trainer` (a GRPOTrainer built with it), or None."""
    args = trainer.args
    if args.use_vllm or args.use_transformers_continuous_batching:
        return "it compiles transformers' generate(), which use_vllm / use_transformers_continuous_batching replace"
    zero3 = trainer.is_deepspeed_enabled and trainer.accelerator.state.deepspeed_plugin.zero_stage == 3
    if zero3 or trainer.is_fsdp_enabled:
        return (
            "parameters sharded across processes (DeepSpeed ZeRO-3, FSDP) are gathered anew for each generation, "
            "and CUDA graphs replay the old addresses; launch with zero2.yaml or ddp.yaml"
        )
    if trainer.accelerator.device.type != "cuda":
        return "transformers compiles the decode step on a GPU only"
    if args.activation_checkpointing:
        # Measured on a CPU: each step's generation found other hooks on the model and compiled the step again.
        return (
            "activation_checkpointing changes the model's hooks around every generation, and each change compiles "
            "the decode step again; set activation_checkpointing: false"
        )
    quantizer = getattr(trainer.model, "hf_quantizer", None)
    if quantizer is not None and not quantizer.is_compileable:
        return f"transformers does not compile a model quantised with {type(quantizer).__name__}"
    config = trainer.generation_config
    if config.use_cache is False:
        return "generation_kwargs sets use_cache: false, and the compiled step decodes from a static cache"
    if config.cache_implementation not in (None, "static"):
        return f"it decodes from a static cache, and cache_implementation is {config.cache_implementation!r}"
    return None


class CompiledGeneration:
    """Mixin for TRL's `GRPOTrainer`: under `compile_generation`, generation decodes with a static cache and
    transformers' compiled decode step (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.args.compile_generation:
            return
        refusal = compiled_generation_refusal(self)
        if refusal is not None:
            raise ValueError(f"compile_generation cannot run here: {refusal}")
        # Each compilation after the first names the guard that failed in the run's log: the one sign of a shape
        # that changes from step to step (a step compiling again costs 30 to 55 s on an H100).
        if "TORCH_LOGS" not in os.environ:  # where set, torch takes it over set_logs, with a warning
            torch._logging.set_logs(recompiles=True)
        # generate() reads this config on every call; TRL built it with compilation off.
        self.generation_config.cache_implementation = "static"
        self.generation_config.disable_compile = False
        if self.args.max_prompt_length is not None:  # prompts are cut to it: one cache length for every call
            # A tool round's rows are padded to its longest rollout (at most prompt plus completion), and it may
            # decode all the budget that its least advanced row has left (at most the completion).
            rounds = getattr(self, "tools", None) and getattr(self, "max_tool_calling_iterations", 0) > 0
            completions = 2 if rounds else 1
            self.generation_config.max_cache_len = (
                self.args.max_prompt_length + completions * self.max_completion_length
            )

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, *args, **kwargs):
        if not self.args.compile_generation:
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, *args, **kwargs)
        rows = len(prompt_ids)
        padded = padded_to_bucket(prompt_ids, self._generation_rows())
        with static_cache_storing(autocast_dtype(self.args)):
            if len(padded) == rows or multimodal_fields or (images is not None and any(images)):
                return super()._generate_single_turn(prompt_ids, images, multimodal_fields, *args, **kwargs)
            if images is not None:
                images = list(images) + [None] * (len(padded) - rows)
            with padding_rows_finished(self.accelerator.unwrap_model(self.model_wrapped), rows):
                completion_ids, logprobs = super()._generate_single_turn(
                    padded, images, multimodal_fields, *args, **kwargs
                )
        return completion_ids[:rows], None if logprobs is None else logprobs[:rows]

    def _generation_rows(self) -> int:
        """The rows of one generation on this process: a training one (its micro-batches for `steps_per_generation`
        steps) or, while evaluating, an evaluation batch."""
        if self.model.training:
            return self.args.per_device_train_batch_size * self.args.steps_per_generation
        return self.args.per_device_eval_batch_size
