"""Smoke test of the GRPO throughput benchmark scripts/benchmarks/grpo_throughput.py at its smallest size on the
tiny model: every arm trains and is timed on the same prompts, and the ratios are those of the arms' figures."""

import json
import types

import pytest
from datasets import Dataset

from open_r1.demo.settings import GSM8K_FULL
from open_r1.tasks.tool_arithmetic import TOOL_SYSTEM_PROMPT
from tests.support import REPO_ROOT
from tests.support.files import write_jsonl
from tests.support.script_module import load_module


@pytest.fixture(scope="module")
def benchmark():
    return load_module("scripts/benchmarks/grpo_throughput.py", "grpo_throughput_benchmark")


@pytest.mark.timeout(600)
def test_the_throughput_benchmark_times_each_trainer_on_the_same_batch(benchmark, tiny_model, tmp_path):
    output = tmp_path / "throughput.json"
    argv = ["--model", str(tiny_model), "--device", "cpu", "--prompts", "2", "--num_generations", "2"]
    argv += ["--max_completion_length", "4", "--steps", "1", "--warmup_steps", "1", "--cpu_threads", "1"]
    arms = [arm for arm in benchmark.ARMS if arm not in (*benchmark.AHEAD_ARMS, *benchmark.COMPILED_ARMS)]
    results = benchmark.main([*argv, "--arms", *arms, "--output", str(output)])

    assert json.loads(output.read_text()) == results
    assert set(results["arms"]) == set(arms)
    trl = results["arms"]["trl"]
    for arm, result in results["arms"].items():
        assert len(result["step_seconds"]) == 1 and result["seconds_per_step"] > 0
        assert 0 < result["generation_seconds_per_step"] < result["seconds_per_step"]
        # 2 prompts x 2 completions of at most 4 tokens per step.
        assert 4 <= result["completion_tokens_per_step"] <= 16
        assert result["completion_tokens_per_second"] == pytest.approx(
            result["completion_tokens_per_step"] / result["seconds_per_step"]
        )
        ratios = results["ratios_to_trl"][arm]
        assert ratios["seconds_per_step"] == pytest.approx(result["seconds_per_step"] / trl["seconds_per_step"])
    # Eager arms compile nothing, in any step.
    assert all(result["graphs_compiled_per_counted_step"] == [0] for result in results["arms"].values())
    # Every arm trains as the project's SmolLM2 recipes do, without recomputing activations (TRL's default would).
    assert not any(result["activation_checkpointing"] for result in results["arms"].values())
    # The project's trainer samples the same prompts and, from the same seed, the same completions as bare TRL.
    assert results["arms"]["project"]["same_batch_as_trl"]
    # Padded generation: 4 rows x at most 4 new tokens, all counted; no tool rounds, so nothing past a round's budget.
    for arm in ("trl", "project"):
        assert 0 < results["arms"][arm]["decoded_slots_per_step"] <= 16
        assert results["arms"][arm]["decoded_slots_past_budget_per_step"] == 0
        # One generate call per step, of at most 4 new tokens.
        assert results["arms"][arm]["generate_calls_per_step"] == 1
        assert 0 < results["arms"][arm]["decode_steps_per_step"] <= 4
        # The call read its 4 rows' prompts, left-padded to the longest.
        assert (
            results["arms"][arm]["context_tokens_per_step"] % 4 == 0
            and results["arms"][arm]["context_tokens_per_step"] > 0
        )
    assert results["arms"]["project"]["context_tokens_per_step"] == trl["context_tokens_per_step"]
    # Each counted call's own decode steps, context tokens and seconds, for generation_prices.
    [(steps, tokens, seconds)] = trl["generate_call_timings"]
    assert (steps, tokens) == (trl["decode_steps_per_step"], trl["context_tokens_per_step"]) and seconds > 0
    assert results["arms"]["trl_cb"]["generate_call_timings"] == []  # continuous batching is not counted
    assert results["arms"]["trl_cb"]["decoded_slots_per_step"] is None  # continuous batching is not counted
    assert results["arms"]["trl_cb"]["decode_steps_per_step"] is None
    # The project's arms say where their counted step's time went; bare TRL logs no profile.
    for arm in ("project", "project_cb"):
        profile = results["arms"][arm]["step_profile"]
        assert profile["log_entries"] == 1 and profile["decoding_rounds"] == 1 and 0 < profile["decode_steps"] <= 4
    assert results["arms"]["trl"]["step_profile"] is None and results["arms"]["trl_cb"]["step_profile"] is None

    # The page's table is written from the results file, between the script's markers, the rest left as it was.
    page = tmp_path / "benchmarks.md"
    page.write_text(f"before\n{benchmark.BEGIN}\nan older table\n{benchmark.END}\nafter\n")
    benchmark.write_docs([output], page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "an older table" not in text
    assert "2 prompts x 2 completions of at most 4 tokens per step, 1 warm-up + 1 timed steps" in text
    decoded = results["arms"]["trl"]["decoded_slots_per_step"]
    assert (
        f"| trl | {trl['seconds_per_step']:.3f} |" in text
        and f"| {decoded:,.1f} | 0.0 (0.0%) | {trl['decode_steps_per_step']:,.1f} (1.0) "
        f"| {trl['context_tokens_per_step']:,.0f} | — | 1.00 | yes |"
        in text
    )
    assert "| trl_cb |" in text and "| — | — | — | — | — |" in text
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="has no <!-- grpo_throughput.py results: begin -->"):
        benchmark.write_docs([output], page)
    assert results["ratios_to_trl"]["trl"]["seconds_per_step"] == 1.0
    assert results["settings"]["device"] == "cpu" and results["settings"]["versions"]["trl"]


def test_the_benchmark_needs_the_baseline_arm(benchmark, tiny_model):
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--arms", "project"])


def test_an_arm_that_fails_is_reported_and_the_others_still_run(benchmark, tiny_model, monkeypatch):
    build = benchmark.build_trainer

    def build_or_fail(arm, *args, **kwargs):
        if arm == "trl_cb":
            raise RuntimeError("no paged attention here")
        return build(arm, *args, **kwargs)

    monkeypatch.setattr(benchmark, "build_trainer", build_or_fail)
    argv = ["--model", str(tiny_model), "--prompts", "1", "--num_generations", "2", "--max_completion_length", "2"]
    results = benchmark.main([*argv, "--steps", "1", "--warmup_steps", "0", "--arms", "trl", "trl_cb"])
    assert results["failed_arms"] == {"trl_cb": "RuntimeError: no paged attention here"}
    assert set(results["arms"]) == set(results["ratios_to_trl"]) == {"trl"}


def test_a_run_cut_short_keeps_the_arms_it_finished(benchmark, tiny_model, monkeypatch, tmp_path):
    build = benchmark.build_trainer

    def build_or_stop(arm, *args, **kwargs):
        if arm == "project":
            raise KeyboardInterrupt  # the lease ends while the second arm trains
        return build(arm, *args, **kwargs)

    monkeypatch.setattr(benchmark, "build_trainer", build_or_stop)
    output = tmp_path / "throughput.json"
    argv = ["--model", str(tiny_model), "--prompts", "1", "--num_generations", "2", "--max_completion_length", "2"]
    with pytest.raises(KeyboardInterrupt):
        benchmark.main(
            [*argv, "--steps", "1", "--warmup_steps", "0", "--arms", "trl", "project", "--output", str(output)]
        )
    written = json.loads(output.read_text())
    assert set(written["arms"]) == set(written["ratios_to_trl"]) == {"trl"} and not written["failed_arms"]


@pytest.mark.slow  # 15-19 s of make test's 15 minutes: every CPU arm through a tool recipe (the rollouts decoded
# ahead: tests/tools/test_rollouts_ahead.py; each arm without a tool: the test of the same batch above)
def test_with_a_recipe_the_arms_train_its_batch_with_its_python_tool(benchmark, tool_calling_model, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "num_generations: 2\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 2\n"
        "max_completion_length: 96\ntemperature: 0.3\nlearning_rate: 1.0e-6\nbeta: 0.0\nloss_type: dapo\n"
        f"system_prompt: {json.dumps(TOOL_SYSTEM_PROMPT)}\nmodel_name_or_path: unused\n"
        "tools:\n- python\npython_tool_provider: local\nmax_tool_calling_iterations: 2\n"
        "activation_checkpointing: true\n"
    )
    problem = tool_calling_model["problem"]  # the one the model calls python for
    data = tmp_path / "problems.jsonl"
    data.write_text(
        "".join(json.dumps({"problem": problem["problem"], "answer": problem["answer"]}) + "\n" for _ in range(4))
    )
    argv = ["--model", str(tool_calling_model["path"]), "--recipe", str(recipe), "--data_files", str(data)]
    cpu_arms = [arm for arm in benchmark.ARMS if arm not in benchmark.COMPILED_ARMS]
    results = benchmark.main(
        [*argv, "--steps", "1", "--warmup_steps", "1", "--cpu_threads", "1", "--arms", *cpu_arms]
        + ["--chunk_tokens", "8"]
    )

    assert results["settings"]["prompts"] == 2  # 2 x 2 completions per step, 2 per prompt
    assert results["settings"]["max_completion_length"] == 96
    assert not results["failed_arms"] and set(results["arms"]) == set(cpu_arms)
    for arm, result in results["arms"].items():
        assert result["tool_calls_per_completion"] > 0  # the recipe's tool ran in every trainer
        assert result["activation_checkpointing"]  # as the recipe says
        assert result["completion_tokens_per_step"] > 0
        assert (result["decoded_slots_per_step"] is None) == arm.endswith("_cb")
        # Continuous batching generates tool rollouts too, the same ones: a round after the tool result each.
        assert result["same_batch_as_trl"] and (result["step_profile"] is None) == arm.startswith("trl")
    assert results["arms"]["project_cb"]["step_profile"]["decoding_rounds"] == 2
    # Decoded ahead, 8 tokens per generate call: more calls, the same rollouts.
    ahead = results["arms"]["project_ahead"]
    assert ahead["step_profile"]["decoding_rounds"] > 2
    assert ahead["generate_calls_per_step"] > results["arms"]["project"]["generate_calls_per_step"]
    assert ahead["decode_steps_per_step"] <= 8 * ahead["generate_calls_per_step"]
    assert "project_ahead in chunks of 8 tokens" in benchmark.results_section(results, tmp_path / "r.json")
    assert results["arms"]["project"]["decoded_slots_past_budget_per_step"] == 0  # ToolRoundBudget
    assert results["arms"]["project"]["same_batch_as_trl"]


def test_the_arm_that_decodes_tool_rollouts_ahead_needs_a_tool_recipe(benchmark, tiny_model, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--arms", "trl", "project_ahead"])
    assert (
        "--arms project_ahead: decodes tool rollouts, it needs a --recipe with tools: [python]"
        in capsys.readouterr().err
    )


def test_the_compiled_arm_is_refused_off_a_gpu_in_one_line(benchmark, tiny_model, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--arms", "trl", "project_compiled"])
    assert (
        "--arms project_compiled: transformers compiles the decode step on a GPU only (--device cuda)"
        in capsys.readouterr().err
    )


def test_the_compiled_arm_trains_the_project_trainer_with_compile_generation(
    benchmark, tiny_model, tmp_path, monkeypatch
):
    # Built on a CPU, the trainer refuses the field it was given, which is how the arm asks for it.
    args = types.SimpleNamespace(
        seed=0, warmup_steps=0, steps=1, prompts=1, num_generations=2, max_completion_length=4, device="cpu",
        recipe_fields=None, chunk_tokens=8,
    )  # fmt: skip
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": "1+1?"}], "answer": "2"}] * 2)
    with pytest.raises(ValueError, match="compile_generation cannot run here: transformers compiles the decode step"):
        benchmark.build_trainer("project_compiled", args, str(tiny_model), dataset, str(tmp_path))
    assert (
        benchmark.build_trainer("project", args, str(tiny_model), dataset, str(tmp_path)).args.compile_generation
        is False
    )
    # With the refusal of a CPU lifted: the arm's trainer, its cache sized once.
    from open_r1.utils import compiled_generation

    monkeypatch.setattr(compiled_generation, "compiled_generation_refusal", lambda trainer: None)
    trainer = benchmark.build_trainer("project_compiled", args, str(tiny_model), dataset, str(tmp_path))
    from torch._logging._internal import log_state

    assert log_state.is_artifact_enabled("recompiles")  # a recompilation names its failed guard in the log
    length = GSM8K_FULL.compiled_max_prompt_length  # make gsm8k's under --compile_generation
    assert trainer.args.compile_generation and trainer.args.max_prompt_length == length
    assert trainer.args.tool_rollout_chunk_tokens is None  # TRL's rounds
    assert trainer.generation_config.max_cache_len == length + 4
    # make gsm8k's tool arm under --compile_generation: compiled, and its rollouts decoded ahead in --chunk_tokens.
    both = benchmark.build_trainer("project_compiled_ahead", args, str(tiny_model), dataset, str(tmp_path / "both"))
    assert both.args.compile_generation and both.args.max_prompt_length == length
    assert both.args.tool_rollout_chunk_tokens == 8


def test_a_compiled_arms_row_says_what_it_compiled(benchmark, tmp_path):
    arm = {
        "seconds_per_step": 2.0, "generation_seconds_per_step": 1.5, "completion_tokens_per_step": 100.0,
        "graphs_compiled": 3, "cudagraph_skips": 1, "same_batch_as_trl": False,
        "graphs_compiled_per_counted_step": [0, 1],
    }  # fmt: skip
    results = {
        "settings": {
            "device_name": "GPU",
            "device": "cuda",
            "cpu_threads": 1,
            "commit": "abc",
            "date": "d",
            "model": "m",
            "prompts": 1,
            "num_generations": 2,
            "max_completion_length": 4,
            "warmup_steps": 1,
            "steps": 1,
        },
        "arms": {"trl": {**arm, "graphs_compiled": 0, "cudagraph_skips": 0}, "project_compiled": arm},
        "ratios_to_trl": {"trl": {"seconds_per_step": 1.0}, "project_compiled": {"seconds_per_step": 1.0}},
        "failed_arms": {},
    }
    section = benchmark.results_section(results, tmp_path / "r.json")
    assert (
        "| project_compiled (3 graphs compiled, 1 CUDA graphs skipped, 1 of them in counted steps) | 2.000 |"
        in section
    )
    assert "| trl | 2.000 |" in section
    assert "optimizer steps" not in section  # a step of its own generation
    results["settings"]["recipe_fields"] = {"optimizer_steps_per_generation": 2}
    section = benchmark.results_section(results, tmp_path / "r.json")
    assert "each step one generation of the recipe's, which the recipe trains in 2 optimizer steps" in section


@pytest.mark.parametrize("arm", ["cot", "tools"])
def test_a_step_is_one_of_the_recipes_generations_whatever_steps_it_trains_on_it(benchmark, arm):
    fields = benchmark.read_recipe(str(REPO_ROOT / f"recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_{arm}.yaml"))
    # 32 prompts x 8 completions generated at once, in 8 micro-batches of 32 that the recipe steps the optimizer on
    # every 4 of: here all 8 go into one step, so that a step's time is a generation's
    assert fields["prompts"] == 32 and fields["optimizer_steps_per_generation"] == 2
    assert fields["training"]["gradient_accumulation_steps"] == 8


def test_a_recipe_whose_generations_start_mid_step_or_repeat_is_refused(benchmark, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "num_generations: 2\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 4\nsteps_per_generation: 6\n"
    )
    with pytest.raises(
        SystemExit, match=r"steps_per_generation \(6\) is not a multiple of gradient_accumulation_steps"
    ):
        benchmark.read_recipe(str(recipe))
    recipe.write_text("num_generations: 2\nper_device_train_batch_size: 2\nnum_iterations: 2\n")
    with pytest.raises(SystemExit, match=r"num_iterations: not timed here \(steps_per_generation is\)"):
        benchmark.read_recipe(str(recipe))


def test_a_recipe_is_read_as_training_reads_it(benchmark, tmp_path):
    """A one-home audit's: yaml.safe_load kept the later of a field set twice, which training refuses."""
    from open_r1.usage import UsageError

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("num_generations: 4\nper_device_train_batch_size: 8\nnum_generations: 8\n")
    with pytest.raises(UsageError, match="num_generations is set twice"):
        benchmark.read_recipe(str(recipe))
    with pytest.raises(UsageError, match="--recipe: no such file or folder"):
        benchmark.read_recipe(str(tmp_path / "missing.yaml"))


def test_a_recipe_and_a_size_given_by_hand_are_refused_together(benchmark, tiny_model, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("num_generations: 3\nper_device_train_batch_size: 4\n")
    with pytest.raises(SystemExit):
        benchmark.main(["--model", str(tiny_model), "--recipe", str(recipe), "--prompts", "2"])
    with pytest.raises(SystemExit, match="not a multiple of num_generations"):
        benchmark.main(["--model", str(tiny_model), "--recipe", str(recipe)])


def test_gsm8k_grpo_prompts_are_the_rows_make_gsm8k_trains_grpo_on(benchmark, tmp_path):
    rows = [
        {"problem": f"Problem with {steps} steps", "answer": "1", "solution": "a <<1+1=2>>2. " * steps + "#### 1"}
        for steps in (4, 1, 3, 2, 5)
    ]
    data = tmp_path / "gsm8k.jsonl"
    write_jsonl(data, rows)
    recipe = {"system_prompt": None}
    easy = benchmark.load_prompts(str(data), 2, recipe, gsm8k_grpo_prompts=True)
    assert [row["prompt"][0]["content"].split("\n")[0] for row in easy] == [
        "Problem with 1 steps",
        "Problem with 2 steps",
    ]  # GSM8K_FULL.grpo_max_calculations is 2
    assert len(benchmark.load_prompts(str(data), 5, recipe)) == 5  # without it, the file's first rows
    with pytest.raises(SystemExit, match="2 rows, the run needs 3"):
        benchmark.load_prompts(str(data), 3, recipe, gsm8k_grpo_prompts=True)


def test_decoded_slots_count_every_round_and_those_past_the_rounds_budget(benchmark):
    import torch

    prompts = [[1, 2, 3], [4, 5]]

    class Trainer:
        """A generation round of 6 new tokens, then a tool round whose rows have 4 and 2 of 10 tokens left."""

        max_completion_length = 10
        eos_token_ids = [1]

        def __init__(self):
            self.model = types.SimpleNamespace(generate=self.generate)

        @staticmethod
        def generate(input_ids, attention_mask, new_tokens):
            return torch.cat([input_ids, torch.zeros(len(input_ids), new_tokens, dtype=torch.long)], dim=1)

        def _tool_call_loop(self, prompts, prompt_ids):
            rows = [prompt_ids[0] + [7] * 6, prompt_ids[1] + [7] * 8]  # 6 and 8 tokens used: 4 and 2 left
            padded = torch.tensor([[0] + rows[0], rows[1]])  # left-padded to the same length
            mask = torch.tensor([[0] + [1] * 9, [1] * 10])
            self.model.generate(input_ids=padded, attention_mask=mask, new_tokens=6)

    trainer = Trainer()
    counts = benchmark.count_decoded_slots(trainer)

    def counted() -> tuple[int, int, int, int]:
        tally = counts["tally"]
        return tally.decoded_slots, counts["past_budget"], tally.calls, tally.decode_steps

    trainer.model.generate(input_ids=torch.ones(2, 3, dtype=torch.long), attention_mask=None, new_tokens=6)
    assert counted() == (12, 0, 1, 6)  # the whole budget is left
    trainer._tool_call_loop(None, prompts)
    # The tool round decoded 2 x 6 slots; the largest budget left was 4, so 2 x 2 of them were past it.
    assert counted() == (24, 4, 2, 12)
    # The calls read 2 rows of 3 tokens, then 2 rows left-padded to 10.
    assert counts["tally"].context_tokens == 2 * 3 + 2 * 10


def test_a_generate_calls_price_is_fitted_to_every_counted_call_of_every_eager_arm(benchmark):
    # 40 ms a decode step, 3 ms per 1,000 context tokens, 50 ms a call (fit_call_prices: tests/training).
    def timed(steps: int, tokens: int) -> list:
        return [steps, tokens, 0.040 * steps + 0.003 * tokens / 1000 + 0.050]

    rounds = {"generate_call_timings": [timed(412, 20_000), timed(120, 60_000), timed(96, 70_000)]}
    ahead = {"generate_call_timings": [timed(32, 20_000), timed(32, 26_000), timed(17, 45_000)]}
    cb = {"generate_call_timings": None}  # continuous batching is not counted
    prices = benchmark.generation_prices({"arms": {"trl": rounds, "project_ahead": ahead, "trl_cb": cb}})
    assert prices["ms_per_decode_step"] == pytest.approx(40.0) and prices["calls"] == 6
    # A compiled arm's calls, at a decode step of a quarter the price, are not the eager step's.
    compiled = {
        "generate_call_timings": [
            [steps, tokens, seconds / 4] for steps, tokens, seconds in ahead["generate_call_timings"]
        ]
    }
    arms = {"trl": rounds, "project_ahead": ahead, "project_compiled_ahead": compiled, "project_compiled": compiled}
    assert benchmark.generation_prices({"arms": arms}) == prices
    assert benchmark.generation_prices({"arms": {"trl": rounds, "trl_cb": cb}}) is None  # 3 calls tell nothing
