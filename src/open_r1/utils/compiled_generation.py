"""GRPO's transformers generation with a compiled decode step: `compile_generation: true`.

    class Trainer(CompiledGeneration, GRPOTrainer): ...   # open_r1.grpo.PromptTruncatingGRPOTrainer does

Without vLLM, TRL 1.16 generates with transformers' `generate` and turns its compilation off (`disable_compile=True`),
so every decode step of a small model is a few thousand operators the host dispatches one by one from Python, and the
GPU waits on them (docs/benchmarks.md, "A decode step's price"). Under `compile_generation` the trainer's generation
config asks for a static cache and lets transformers compile the decode step (`torch.compile`, mode
"reduce-overhead": CUDA graphs replayed each step). Every generate call of the trainer goes through that config, the
tool rounds' (`ToolRoundBudget`, `ToolRolloutsAhead` copy it) included. transformers sizes the static cache to the
longest call so far and compiles again when it grows or the rows change (a new CUDA graph for each new shape, dynamic
shapes after the first recompilation).

Where it cannot take effect it is refused: with vLLM or continuous batching (also at parse time,
`check_ignored_fields`), on a CPU and under parameters sharded across processes, whose gathered copies the graphs
would not follow (also before the model loads, `open_r1.utils.launch_settings.check_backend_runs_here`), with a
quantisation transformers does not compile, without a cache, and over another `cache_implementation`.

Not covered: the offline evaluator's decoding (open_r1.eval.decoding), padding calls to fewer shapes.
"""


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
        if not getattr(self.args, "compile_generation", False):
            return
        refusal = compiled_generation_refusal(self)
        if refusal is not None:
            raise ValueError(f"compile_generation cannot run here: {refusal}")
        # generate() reads this config on every call; TRL built it with compilation off.
        self.generation_config.cache_implementation = "static"
        self.generation_config.disable_compile = False
