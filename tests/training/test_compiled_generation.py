"""open_r1.utils.compiled_generation: under `compile_generation` the trainer's generation config decodes from a static
cache with transformers' compilation on; wherever that cannot take effect the trainer refuses to start, in one line.
A real GRPO run with it (tool rounds included, compiled with torch.compile's eager backend on a CPU):
tests/tools/test_training.py."""

from types import SimpleNamespace

import pytest
import torch
from transformers import GenerationConfig

from open_r1.grpo import PromptTruncatingGRPOTrainer
from open_r1.utils.compiled_generation import CompiledGeneration


class StubGRPOTrainer:
    """What CompiledGeneration reads of TRL's GRPOTrainer once it is built, on a GPU with whole parameters by
    default; TRL's generation config as TRL 1.16 builds it (compilation off)."""

    def __init__(self, args, device="cuda", zero_stage=None, fsdp=False, quantizer=None, **generation):
        self.args = args
        self.is_deepspeed_enabled, self.is_fsdp_enabled = zero_stage is not None, fsdp
        self.max_completion_length = 64
        plugin = (
            None if zero_stage is None else SimpleNamespace(zero_stage=zero_stage)
        )  # accelerate's, without DeepSpeed
        self.accelerator = SimpleNamespace(device=torch.device(device), state=SimpleNamespace(deepspeed_plugin=plugin))
        self.model = SimpleNamespace(hf_quantizer=quantizer)
        self.generation_config = GenerationConfig(max_new_tokens=8, **generation, disable_compile=True)


class Trainer(CompiledGeneration, StubGRPOTrainer):
    pass


def settings(**fields):
    values = {
        "compile_generation": True, "use_vllm": False, "use_transformers_continuous_batching": False,
        "max_prompt_length": None, "activation_checkpointing": False,
    }  # fmt: skip
    return SimpleNamespace(**{**values, **fields})


def test_the_trainers_generation_decodes_from_a_static_cache_with_compilation_on():
    trainer = Trainer(settings())
    assert trainer.generation_config.cache_implementation == "static"
    assert trainer.generation_config.disable_compile is False
    assert trainer.generation_config.max_cache_len is None  # prompts of any length: transformers sizes each call's
    # Prompts cut to max_prompt_length: one cache for the longest rollout, whatever a call's prompt width.
    assert Trainer(settings(max_prompt_length=200)).generation_config.max_cache_len == 200 + 64
    untouched = Trainer(settings(compile_generation=False), device="cpu")
    assert untouched.generation_config.cache_implementation is None and untouched.generation_config.disable_compile


@pytest.mark.parametrize(
    ("fields", "state", "reason"),
    [
        ({"use_vllm": True}, {}, "which use_vllm / use_transformers_continuous_batching replace"),
        ({"use_transformers_continuous_batching": True}, {}, "use_transformers_continuous_batching replace"),
        ({}, {"zero_stage": 3}, r"parameters sharded across processes \(DeepSpeed ZeRO-3, FSDP\)"),
        ({}, {"fsdp": True}, "gathered anew for each generation"),
        ({}, {"device": "cpu"}, "transformers compiles the decode step on a GPU only"),
        ({"activation_checkpointing": True}, {}, "set activation_checkpointing: false"),
        ({}, {"quantizer": SimpleNamespace(is_compileable=False)}, "does not compile a model quantised with"),
        ({}, {"use_cache": False}, "generation_kwargs sets use_cache: false"),
        ({}, {"cache_implementation": "offloaded"}, "cache_implementation is 'offloaded'"),
    ],
)
def test_where_compilation_cannot_take_effect_the_trainer_refuses_to_start(fields, state, reason):
    with pytest.raises(ValueError, match=f"^compile_generation cannot run here: .*{reason}") as error:
        Trainer(settings(**fields), **state)
    assert "\n" not in str(error.value)


def test_whole_parameters_and_a_compileable_quantisation_are_compiled():
    assert Trainer(settings(), zero_stage=2).generation_config.disable_compile is False
    quantised = Trainer(settings(), quantizer=SimpleNamespace(is_compileable=True))
    assert quantised.generation_config.cache_implementation == "static"


def test_the_project_trainer_compiles_every_generate_call_of_its_tool_mixins():
    from open_r1.tools.rollouts_ahead import ToolRolloutsAhead
    from open_r1.tools.training import ToolRoundBudget

    bases = PromptTruncatingGRPOTrainer.__mro__
    # ToolRolloutsAhead decodes through super(ToolRolloutsAhead, self)._generate_single_turn: only mixins beneath it
    # see those calls.
    assert bases.index(ToolRolloutsAhead) < bases.index(CompiledGeneration)
    assert bases.index(ToolRoundBudget) < bases.index(CompiledGeneration)


def test_a_static_cache_holds_the_keys_and_values_bf16_autocast_leaves_in_different_dtypes(tiny_model):
    """Under bf16 autocast over float32 weights the rotary embedding leaves the keys float32 and the values bfloat16;
    transformers' static cache refuses that, and while the trainer generates it casts them (the same tokens as the
    dynamic cache's)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from open_r1.utils.compiled_generation import static_cache_casting_to_its_dtype

    tokenizer = AutoTokenizer.from_pretrained(tiny_model, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    batch = tokenizer(["What is 1+1?", "2+2?"], return_tensors="pt", padding=True)
    kwargs = {"max_new_tokens": 5, "min_new_tokens": 5, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        dynamic = model.generate(**batch, **kwargs)
        with pytest.raises(RuntimeError, match="index_copy_"):
            model.generate(**batch, cache_implementation="static", **kwargs)
        with static_cache_casting_to_its_dtype():
            static = model.generate(**batch, cache_implementation="static", **kwargs)
    assert torch.equal(static, dynamic)
    from transformers.cache_utils import StaticLayer

    assert StaticLayer.update.__qualname__ == "StaticLayer.update"  # transformers' own again after the block
    # The same casting function in every block: torch.compile guards on the method it traced.
    with static_cache_casting_to_its_dtype():
        first = StaticLayer.update
    with static_cache_casting_to_its_dtype():
        assert StaticLayer.update is first


def test_grpo_under_bf16_autocast_trains_with_the_compiled_static_cache(tiny_model, tmp_path, monkeypatch):
    """A GRPO step of the project's trainer with compile_generation in bf16 mixed precision over float32 weights (the
    project's GPU recipes' precision), on a CPU: the refusal of a CPU lifted and torch.compile's eager backend in
    place of CUDA graphs."""
    from datasets import Dataset
    from transformers import AutoTokenizer, CompileConfig, TrainerCallback

    from open_r1.configs import GRPOConfig
    from open_r1.utils import compiled_generation

    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    args = GRPOConfig(
        output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=True, compile_generation=True, max_steps=2,
        num_generations=2, per_device_train_batch_size=2, max_completion_length=4, max_prompt_length=32,
        save_strategy="no", beta=0.0, activation_checkpointing=False,
    )  # fmt: skip
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": "What is 1+1?"}]}] * 2)
    trainer = PromptTruncatingGRPOTrainer(
        model=str(tiny_model),
        reward_funcs=[lambda completions, **kwargs: [float(len(c[0]["content"])) for c in completions]],
        args=args,
        train_dataset=prompts,
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )
    trainer.generation_config.compile_config = CompileConfig(backend="eager", mode=None)
    trainer.generation_config.compile_config._compile_all_devices = True  # transformers' switch for a CPU
    graphs = []

    class GraphsCompiled(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            from torch._dynamo.utils import counters

            graphs.append(counters["stats"]["unique_graphs"])

    trainer.add_callback(GraphsCompiled())
    trainer.train()
    assert trainer.state.global_step == 2
    # The second step's generation reuses the first one's compiled step: one cache length, the same casting update.
    assert graphs[0] > 0 and graphs[1] == graphs[0]
    assert hasattr(trainer.model, "_compiled_call") and trainer.generation_config.max_cache_len == 32 + 4
