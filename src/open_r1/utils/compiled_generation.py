"""GRPO's transformers generation with a compiled decode step: `compile_generation: true`.

    class Trainer(CompiledGeneration, GRPOTrainer): ...   # open_r1.grpo.PromptTruncatingGRPOTrainer does

Without vLLM, TRL 1.16 generates with transformers' `generate` and turns its compilation off (`disable_compile=True`),
so every decode step of a small model is a few thousand operators the host dispatches one by one from Python, and the
GPU waits on them (docs/benchmarks.md, "A decode step's price"). Under `compile_generation` the trainer's generation
config asks for a static cache and lets transformers compile the decode step (`torch.compile`, mode
"reduce-overhead": CUDA graphs replayed each step). Every generate call of the trainer goes through that config, the
tool rounds' (`ToolRoundBudget`, `ToolRolloutsAhead` copy it) included; a batch shape not seen before compiles on
its first call.

Where it cannot run is refused before the model loads: with vLLM or continuous batching (`check_ignored_fields`),
on a CPU, and with parameters sharded across processes, whose gathered copies the graphs would not follow
(`open_r1.utils.launch_settings.check_backend_runs_here`).

Not covered: the offline evaluator's decoding (open_r1.eval.decoding), padding batches to fewer shapes.
"""


class CompiledGeneration:
    """Mixin for TRL's `GRPOTrainer`: under `compile_generation`, generation decodes with a static cache and
    transformers' compiled decode step (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(self.args, "compile_generation", False):
            return
        # generate() takes the config; unwrap_model_for_generation sets the model's own from generation_kwargs.
        self.generation_config.cache_implementation = "static"
        self.generation_config.disable_compile = False
        self.generation_kwargs["cache_implementation"] = "static"
