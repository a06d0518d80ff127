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
        plugin = SimpleNamespace(zero_stage=zero_stage)
        self.accelerator = SimpleNamespace(device=torch.device(device), state=SimpleNamespace(deepspeed_plugin=plugin))
        self.model = SimpleNamespace(hf_quantizer=quantizer)
        self.generation_config = GenerationConfig(max_new_tokens=8, **generation, disable_compile=True)


class Trainer(CompiledGeneration, StubGRPOTrainer):
    pass


def settings(**fields):
    values = {"compile_generation": True, "use_vllm": False, "use_transformers_continuous_batching": False}
    return SimpleNamespace(**{**values, **fields})


def test_the_trainers_generation_decodes_from_a_static_cache_with_compilation_on():
    trainer = Trainer(settings())
    assert trainer.generation_config.cache_implementation == "static"
    assert trainer.generation_config.disable_compile is False
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


def test_the_project_trainer_has_it():
    assert issubclass(PromptTruncatingGRPOTrainer, CompiledGeneration)
