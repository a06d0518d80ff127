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

    def __init__(
        self, args, device="cuda", zero_stage=None, fsdp=False, quantizer=None, tools=None,
        max_tool_calling_iterations=0, **generation,
    ):  # fmt: skip
        self.args = args
        self.tools, self.max_tool_calling_iterations = tools, max_tool_calling_iterations
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


def test_with_tools_the_cache_holds_a_round_padded_to_its_longest_rollout_plus_the_largest_budget_left():
    """A round after tool results pads its rows to the longest rollout so far (at most prompt plus completion) and may
    decode the whole budget its least advanced row has left: the cache is sized for both, so it never grows (a
    larger cache is a new shape, which compiles the step again)."""
    trainer = Trainer(settings(max_prompt_length=200), tools=["python"], max_tool_calling_iterations=10)
    assert trainer.generation_config.max_cache_len == 200 + 2 * 64
    # Tools that are never called (no rounds): one completion, as without tools.
    no_rounds = Trainer(settings(max_prompt_length=200), tools=["python"], max_tool_calling_iterations=0)
    assert no_rounds.generation_config.max_cache_len == 200 + 64


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


def test_under_bf16_autocast_the_static_cache_stores_bfloat16_and_decodes_the_dynamic_caches_logits(tiny_model):
    """Under bf16 autocast over float32 weights the rotary embedding leaves the keys float32 and the values bfloat16;
    transformers' static cache refuses that. While the trainer generates it stores both in bfloat16, half the memory
    of float32, and exactly: attention under autocast reads them in bfloat16 either way, so every step's logits are
    those of storing float32 (the first keys' dtype) to the bit, and the dynamic cache's."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.cache_utils import StaticLayer

    from open_r1.utils.compiled_generation import static_cache_storing

    tokenizer = AutoTokenizer.from_pretrained(tiny_model, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    batch = tokenizer(["What is 1+1?", "2+2?"], return_tensors="pt", padding=True)
    kwargs = {
        "max_new_tokens": 5, "min_new_tokens": 5, "do_sample": False, "pad_token_id": tokenizer.pad_token_id,
        "return_dict_in_generate": True, "output_logits": True,
    }  # fmt: skip
    with torch.autocast("cpu", dtype=torch.bfloat16):
        dynamic = model.generate(**batch, **kwargs)
        with pytest.raises(RuntimeError, match="index_copy_"):
            model.generate(**batch, cache_implementation="static", **kwargs)
        stored = {}
        for dtype in (torch.bfloat16, None):
            with static_cache_storing(dtype):
                stored[dtype] = model.generate(**batch, cache_implementation="static", **kwargs)
    assert stored[torch.bfloat16].past_key_values.layers[0].keys.dtype == torch.bfloat16
    assert stored[None].past_key_values.layers[0].keys.dtype == torch.float32
    # Storing bfloat16 loses nothing: the logits are those of storing float32, to the bit.
    assert all(map(torch.equal, stored[torch.bfloat16].logits, stored[None].logits))
    for output in stored.values():
        assert torch.equal(output.sequences, dynamic.sequences)
        # The dynamic cache's to within bfloat16's rounding: bit for bit where the CPU's bfloat16 kernels reduce alike
        # at both cache lengths; one bfloat16 step apart (0.004 on logits below 1) on an AVX2-only EPYC.
        for step, expected in zip(output.logits, dynamic.logits, strict=True):
            torch.testing.assert_close(step, expected, rtol=0.0, atol=2**-6)
    assert StaticLayer.update.__qualname__ == "StaticLayer.update"  # transformers' own again after the block
    # The same storing function in every block: torch.compile guards on the method it traced.
    with static_cache_storing(torch.bfloat16):
        first = StaticLayer.update
    with static_cache_storing(None):
        assert StaticLayer.update is first


def test_grpo_under_bf16_autocast_trains_with_the_compiled_static_cache(tiny_model, tmp_path, monkeypatch):
    """A GRPO step of the project's trainer with compile_generation in bf16 mixed precision over float32 weights (the
    project's GPU recipes' precision), on a CPU: the refusal of a CPU lifted and torch.compile's eager backend in
    place of CUDA graphs."""
    from datasets import Dataset
    from transformers import AutoTokenizer, CompileConfig, TrainerCallback

    from open_r1.configs import GRPOConfig
    from open_r1.utils import compiled_generation
    from tests.support.compiled_on_cpu import recorded_static_caches

    static_caches = recorded_static_caches(monkeypatch)
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
    generation_rows, rows_of = [], trainer._generation_rows
    trainer._generation_rows = lambda: generation_rows.append(rows_of()) or generation_rows[-1]
    trainer.train()
    # Training generates in training mode: calls are padded up to a training generation's rows (2 rows here).
    assert generation_rows == [2, 2]
    assert trainer.state.global_step == 2
    # The second step's generation reuses the first one's compiled step: one cache length, the same casting update.
    assert graphs[0] > 0 and graphs[1] == graphs[0]
    assert hasattr(trainer.model, "_compiled_call") and trainer.generation_config.max_cache_len == 32 + 4
    # Each step's cache held bfloat16, autocast's dtype, over the float32 weights.
    assert len(static_caches) == 2 and {cache.layers[0].keys.dtype for cache in static_caches} == {torch.bfloat16}


def compiled_trainer(tiny_model, tmp_path, **fields):
    """The project's GRPO trainer under compile_generation on a CPU (the refusal of a CPU lifted by the caller,
    torch.compile's eager backend), greedy, generating 4 rows per generation (2 prompts x 2)."""
    from datasets import Dataset
    from transformers import AutoTokenizer, CompileConfig

    from open_r1.configs import GRPOConfig

    args = GRPOConfig(
        output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, compile_generation=True, max_steps=1,
        num_generations=2, per_device_train_batch_size=4, max_completion_length=6, max_prompt_length=32,
        save_strategy="no", beta=0.0, activation_checkpointing=False, generation_kwargs={"do_sample": False},
        **fields,
    )  # fmt: skip
    trainer = PromptTruncatingGRPOTrainer(
        model=str(tiny_model),
        reward_funcs=[lambda completions, **kwargs: [0.0] * len(completions)],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": [{"role": "user", "content": "What is 1+1?"}]}] * 4),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )
    trainer.generation_config.compile_config = CompileConfig(backend="eager", mode=None)
    trainer.generation_config.compile_config._compile_all_devices = True  # transformers' switch for a CPU
    trainer.model.train()  # as while training: the calls below generate a training generation's rounds
    return trainer


def recorded_generate_calls(model) -> list:
    """Each of `model.generate`'s calls from now on, as (its input's shape, its output)."""
    calls = []

    def recording_generate(*args, generate=model.generate, **kwargs):
        output = generate(*args, **kwargs)
        calls.append((kwargs["input_ids"].shape, output))
        return output

    model.generate = recording_generate
    return calls


def test_a_call_of_fewer_rows_decodes_its_bucket_and_the_padding_rows_stop_at_their_first_token(
    tiny_model, tmp_path, monkeypatch
):
    """A tool round of 1 row in a generation of 4 decodes 4 rows (one compiled shape for every round); the padding
    rows are finished at their first token, so they never keep the call decoding, and the call returns the real
    row's completion alone, the one it decodes unpadded."""
    from open_r1.utils import compiled_generation

    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    trainer = compiled_trainer(tiny_model, tmp_path)
    tokenizer = trainer.processing_class
    model = trainer.model
    calls = recorded_generate_calls(model)
    recording_generate = model.generate
    rows = [tokenizer("What is 1+1? It is")["input_ids"], tokenizer("2+3=")["input_ids"]]
    trainer.generation_config.min_new_tokens = 6  # the real rows decode the whole budget: 6 steps
    [completion], _ = trainer._generate_single_turn(rows[:1], None, {}, 1)
    ((shape, output),) = calls
    assert shape[0] == 4 and len(completion) == 6
    width = shape[1]
    # Rows 1 to 3 copy row 0's prompt; each took one token, then padding only.
    assert torch.equal(output[1:, :width], output[:1, :width].expand(3, -1))
    assert (output[1:, width + 1 :] == tokenizer.pad_token_id).all()
    assert model.generate is recording_generate  # the instance's own generate put back
    # The same row, decoded with no padding (a call of the whole generation's rows is not padded): the same tokens.
    completions, _ = trainer._generate_single_turn([rows[0]] * 4, None, {}, 1)
    assert calls[-1][0][0] == 4 and completions == [completion] * 4
    # Two rows: padded to 4 again, both completions returned in order.
    both, _ = trainer._generate_single_turn(rows, None, {}, 1)
    assert calls[-1][0][0] == 4 and len(both) == 2 and both[0] == completion


def test_uncompiled_calls_are_never_padded(tiny_model, tmp_path, monkeypatch):
    from open_r1.utils import compiled_generation

    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    trainer = compiled_trainer(tiny_model, tmp_path)
    trainer.args.compile_generation = False
    calls = recorded_generate_calls(trainer.model)
    trainer._generate_single_turn([trainer.processing_class("2+3=")["input_ids"]], None, {}, 1)
    assert [shape[0] for shape, _ in calls] == [1]


def test_while_evaluating_a_call_is_padded_up_to_an_evaluation_batch(tiny_model, tmp_path, monkeypatch):
    """TRL's evaluation generates `per_device_eval_batch_size` rows at once: its rounds are padded up to that, not to
    a training generation's rows."""
    from open_r1.utils import compiled_generation

    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    trainer = compiled_trainer(tiny_model, tmp_path, per_device_eval_batch_size=2)
    calls = recorded_generate_calls(trainer.model)
    row = trainer.processing_class("2+3=")["input_ids"]
    trainer._generate_single_turn([row], None, {}, 1)
    trainer.model.eval()
    trainer._generate_single_turn([row], None, {}, 1)
    assert [shape[0] for shape, _ in calls] == [4, 2]
