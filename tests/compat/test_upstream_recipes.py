"""Upstream open-r1's recipes work here: every one parses as upstream meant it, and one GRPO and one SFT recipe train.

The fixtures (tests/fixtures/upstream_recipes) reproduce the fields and values of every recipe of upstream open-r1's
last commit. Parsed with the entry scripts' parser (`RecipeParser`), every field must reach the configs with its
value (under its TRL 1.16 name), each renamed field must get one warning line naming both names, the defaults
that changed since TRL 0.18 must be listed when a recipe leaves them unset, and a field that means nothing any
more must fail with what to use instead. recipes/README.md lists the same translations.
"""

import logging
import pathlib
from dataclasses import dataclass, field

import datasets
import pytest
import transformers
import yaml
from transformers import TrainerControl, TrainerState
from trl import ModelConfig

from open_r1.compat import recipes as upstream_recipes
from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser, ScriptArguments, SFTConfig
from open_r1.grpo import PromptTruncatingGRPOTrainer
from open_r1.utils.callbacks import get_callbacks
from open_r1.utils.resume import DiscardEarlierCheckpoints
from open_r1.utils.training import resolve_checkpoint
from tests.support import REPO_ROOT
from tests.support.launch import accelerate_launch, log_history
from tests.support.script_module import load_module

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "upstream_recipes"
PARSERS = {
    "sft": (ScriptArguments, SFTConfig, ModelConfig),
    "grpo": (GRPOScriptArguments, GRPOConfig, ModelConfig),
}
UPSTREAM_GRPO_RECIPE = "tests/fixtures/upstream_recipes/Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml"
UPSTREAM_SFT_RECIPE = "tests/fixtures/upstream_recipes/OpenR1-Distill-7B/sft/config_distill.yaml"
RENAMED_IN_EVERY_TRAINING_RECIPE = {"torch_dtype": "dtype", "warmup_ratio": "warmup_steps"}
GRPO_UNSET_DEFAULTS = {"beta", "loss_type", "vllm_mode", "vllm_importance_sampling_correction", "log_unique_prompts"}


@dataclass
class Expected:
    """How one upstream recipe is read: renamed fields, unset changed defaults listed, or the error it gets."""

    renamed: dict[str, str] = field(default_factory=lambda: dict(RENAMED_IN_EVERY_TRAINING_RECIPE))
    reported: set[str] = field(default_factory=set)
    error: str | None = None
    # Upstream runs the 14-generation code recipes on 7 training processes (the 8th GPU serves vLLM);
    # on one process 14 does not divide the generation batch, there as here.
    processes: int = 1


EXPECTED = {
    "DeepSeek-R1-Distill-Qwen-1.5B/grpo/config_demo.yaml": Expected(reported=GRPO_UNSET_DEFAULTS),
    "Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml": Expected(reported=GRPO_UNSET_DEFAULTS),
    "Qwen2.5-1.5B-Instruct/grpo/config_demo_code.yaml": Expected(
        reported=GRPO_UNSET_DEFAULTS - {"beta"} | {"use_bias_correction_kl"}, processes=7
    ),
    "Qwen2.5-1.5B-Instruct/grpo/config_demo_code_ioi.yaml": Expected(
        renamed=RENAMED_IN_EVERY_TRAINING_RECIPE | {"code_eval_test_batch_size": "code_test_batch_size"},
        reported=GRPO_UNSET_DEFAULTS - {"beta"} | {"use_bias_correction_kl"},
        processes=7,
    ),
    "Qwen2.5-Coder-7B-Instruct/grpo/config_codeforces.yaml": Expected(error=r"`vllm_device: auto`.*vllm_mode"),
    "OpenR1-Distill-7B/sft/config_distill.yaml": Expected(reported={"average_tokens_across_devices"}),
    "OlympicCoder-7B/sft/config_v00.00.yaml": Expected(reported={"average_tokens_across_devices"}),
    "OlympicCoder-32B/sft/config_v00.00.yaml": Expected(reported={"average_tokens_across_devices"}),
}


def as_parsed(name: str, value):
    """`value` as TRL spells it after parsing (same meaning): only scale_rewards' booleans change."""
    if name == "scale_rewards" and isinstance(value, bool):
        return "group" if value else "none"
    return value


def fixture_recipes(kinds=("sft", "grpo")) -> list[pathlib.Path]:
    return sorted(p for p in FIXTURES.rglob("*.yaml") if p.parent.name in kinds)


def recipe_id(path: pathlib.Path) -> str:
    return str(path.relative_to(FIXTURES))


@pytest.fixture
def processes(monkeypatch):
    """Sets how many training processes the configs believe the launch has."""

    def set_processes(count: int) -> None:
        monkeypatch.setattr(transformers.TrainingArguments, "world_size", property(lambda self: count))

    return set_processes


def parse(path: pathlib.Path, *args: str, kind: str | None = None):
    # `use_cpu` lets TrainingArguments accept the recipes' bf16 on this GPU-less machine, as in test_recipes.py.
    parser = RecipeParser(PARSERS[kind or path.parent.name])
    return parser.parse_args_and_config(["--config", str(path), "--use_cpu", "true", *args])


def parsed_value(parsed, name: str):
    holders = [obj for obj in parsed if name in obj.__dataclass_fields__]
    assert holders, f"no parsed config has the field {name!r}"
    return getattr(holders[0], name)


def upstream_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("open_r1") and r.levelno == logging.WARNING]


def test_every_upstream_recipe_has_a_fixture_and_an_expectation():
    # Upstream's last commit has 8 training recipes and 3 dataset-filtering ones.
    assert {recipe_id(p) for p in fixture_recipes()} == set(EXPECTED)
    assert len(list(FIXTURES.glob("dataset_filtering/*.yaml"))) == 3


@pytest.fixture
def vllm_installed(monkeypatch):
    """vLLM looks installed, as on the GPU nodes upstream's vLLM recipes run on: without it the parser names no
    changed defaults, since the run is refused in one line when it starts."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else find_spec(name, *a)
    )


@pytest.mark.parametrize("recipe", fixture_recipes(), ids=recipe_id)
def test_upstream_recipe_parses_with_every_value_under_its_new_name(recipe, processes, vllm_installed, caplog):
    expected = EXPECTED[recipe_id(recipe)]
    processes(expected.processes)
    settings = yaml.safe_load(recipe.read_text())
    if expected.error:
        with pytest.raises(ValueError, match=expected.error):
            parse(recipe)
        return

    with caplog.at_level(logging.WARNING):
        parsed = parse(recipe)

    for name, value in settings.items():
        new_name = expected.renamed.get(name, name)
        assert parsed_value(parsed, new_name) == as_parsed(name, value), name
    messages = upstream_warnings(caplog)
    for old, new in expected.renamed.items():
        lines = [m for m in messages if f"`{old}`" in m and f"read as `{new}: {settings[old]}`" in m]
        assert len(lines) == 1, f"expected one warning line naming {old} and {new}, got {messages}"
    reports = [m for m in messages if m.startswith("Defaults that differ from upstream")]
    assert len(reports) == 1, messages
    reported = {line.strip().split(":")[0] for line in reports[0].splitlines()[1:]}
    assert reported == expected.reported


@pytest.fixture(scope="module")
def pass_rate_script():
    return load_module("scripts/pass_rate_filtering/compute_pass_rate.py", "compute_pass_rate")


def parse_pass_rate(script, path: pathlib.Path):
    parser = RecipeParser((script.PassRateScriptArguments, script.PassRateGenerationArguments))
    return parser.parse_args_and_config(["--config", str(path)])


@pytest.mark.parametrize("recipe", fixture_recipes(("dataset_filtering",)), ids=recipe_id)
def test_upstream_filtering_recipe_parses_with_every_value_reaching_the_pass_rate_script(
    recipe, pass_rate_script, caplog, tmp_path
):
    with caplog.at_level(logging.WARNING):
        script_args, gen_args = parse_pass_rate(pass_rate_script, recipe)
    values = yaml.safe_load(recipe.read_text())
    renamed = {"torch_dtype": "dtype", "dataset_split": "dataset_train_split"}
    for name, value in values.items():
        target = gen_args if hasattr(gen_args, renamed.get(name, name)) else script_args
        assert getattr(target, renamed.get(name, name)) == value, name
    messages = upstream_warnings(caplog)
    assert any("`torch_dtype`" in m and "read as `dtype: bfloat16`" in m for m in messages)
    implied = [m for m in messages if "read as `code_provider: e2b`" in m]
    if "e2b_router_url" in values:
        # Upstream's code_provider defaulted to e2b, so a router URL alone means e2b (here the default is local).
        assert script_args.code_provider == "e2b" and len(implied) == 1, messages
        assert script_args.code_sandbox.router_url == values["e2b_router_url"]
    else:
        assert script_args.code_provider == "local" and not implied


def test_the_pass_rate_script_reads_upstreams_dataset_split(pass_rate_script, tmp_path, caplog):
    recipe = tmp_path / "filter.yaml"
    recipe.write_text(
        "model_name_or_path: m\ndataset_name: d\ndataset_split: test\noutput_dir: out\nreward_funcs: [accuracy]\n"
    )
    with caplog.at_level(logging.WARNING):
        script_args, _ = parse_pass_rate(pass_rate_script, recipe)
    assert script_args.dataset_train_split == "test"
    assert any(
        "`dataset_split`" in m and "read as `dataset_train_split: test`" in m for m in upstream_warnings(caplog)
    )


def test_codeforces_recipe_parses_once_vllm_device_is_replaced_by_vllm_mode(
    tmp_path, processes, vllm_installed, caplog
):
    # The one field upstream's own TRL 0.18 rejected; with vllm_mode instead, everything else reads as written.
    processes(8)
    settings = yaml.safe_load((FIXTURES / "Qwen2.5-Coder-7B-Instruct/grpo/config_codeforces.yaml").read_text())
    del settings["vllm_device"]
    settings["vllm_mode"] = "server"
    recipe = tmp_path / "config_codeforces.yaml"
    recipe.write_text(yaml.safe_dump(settings))
    with caplog.at_level(logging.WARNING):
        _, training_args, model_args = parse(recipe, kind="grpo")
    assert model_args.dtype == "bfloat16" and training_args.warmup_steps == 0.1
    assert training_args.max_prompt_length == 2000 and training_args.overwrite_output_dir is True
    assert (training_args.loss_type, training_args.beta, training_args.scale_rewards) == ("dr_grpo", 0.0, "none")
    assert training_args.vllm_mode == "server" and training_args.vllm_max_model_length is None
    reports = [m for m in upstream_warnings(caplog) if m.startswith("Defaults that differ")]
    assert [line.strip().split(":")[0] for line in reports[0].splitlines()[1:]] == [
        "vllm_importance_sampling_correction",
        "log_unique_prompts",
    ]


def test_this_projects_recipes_need_no_translation(caplog):
    recipes = sorted(p for p in (REPO_ROOT / "recipes").rglob("*.yaml") if p.parent.name in PARSERS)
    assert recipes
    with caplog.at_level(logging.WARNING):
        for recipe in recipes:
            parse(recipe)
    translated = [m for m in upstream_warnings(caplog) if " read as `" in m or ") dropped: " in m]
    assert not translated


# ---------------------------------------------------------------------------------------------
# The translation rules
# ---------------------------------------------------------------------------------------------


def test_recipes_readme_lists_every_translation_and_changed_default():
    readme = (REPO_ROOT / "recipes" / "README.md").read_text()
    section = readme[readme.index("## Upstream recipes") :]
    named = set(upstream_recipes.UPSTREAM_FIELDS) | {d.field for d in upstream_recipes.CHANGED_DEFAULTS}
    named |= {"overwrite_output_dir", "max_prompt_length", "wandb_log_unique_prompts"}
    assert not {name for name in named if f"`{name}" not in section}


def test_command_line_options_in_upstream_names_are_translated_in_place():
    known = {"dtype", "warmup_steps", "train_sampling_strategy", "learning_rate", "reward_funcs"}
    args, translations, given = upstream_recipes.translate_command_line(
        ["--torch_dtype", "bfloat16", "--warmup_ratio=0.25", "--reward_funcs", "a", "b", "--group_by_length"], known
    )
    assert args == [
        "--dtype", "bfloat16", "--warmup_steps", "0.25", "--reward_funcs", "a", "b",
        "--train_sampling_strategy", "group_by_length",
    ]  # fmt: skip
    assert [(t.old, t.new) for t in translations] == [
        ("torch_dtype", "dtype"),
        ("warmup_ratio", "warmup_steps"),
        ("group_by_length", "train_sampling_strategy"),
    ]
    assert given == {"dtype", "warmup_steps", "reward_funcs", "train_sampling_strategy"}


def test_the_command_line_overrides_a_recipe_written_in_upstream_names(tmp_path):
    recipe = tmp_path / "config.yaml"
    recipe.write_text((FIXTURES / "OlympicCoder-7B/sft/config_v00.00.yaml").read_text())
    _, training_args, model_args = parse(recipe, "--dtype", "float32", "--warmup_ratio", "0.5", kind="sft")
    assert model_args.dtype == "float32" and training_args.warmup_steps == 0.5


def test_a_field_the_parser_knows_is_never_translated():
    settings, translations = upstream_recipes.translate_settings({"dataset_split": "test"}, {"dataset_split"}, "r")
    assert settings == {"dataset_split": "test"} and translations == []


def test_an_upstream_name_beside_its_new_name_is_an_error():
    with pytest.raises(ValueError, match="r.yaml: sets both `torch_dtype`.*and `dtype`"):
        upstream_recipes.translate_settings({"torch_dtype": "bfloat16", "dtype": "float32"}, {"dtype"}, "r.yaml")
    with pytest.raises(ValueError, match="gives both --warmup_ratio.*--warmup_steps"):
        upstream_recipes.translate_command_line(["--warmup_steps", "3", "--warmup_ratio", "0.1"], {"warmup_steps"})


def test_a_warmup_ratio_of_one_has_no_warmup_steps_equivalent():
    with pytest.raises(ValueError, match="warmup_ratio 1.0 cannot be read as warmup_steps"):
        upstream_recipes.translate_settings({"warmup_ratio": 1.0}, {"warmup_steps"}, "r")


def test_a_retired_field_is_dropped_when_it_asks_for_the_only_behaviour_left_and_fails_otherwise():
    settings, translations = upstream_recipes.translate_settings({"save_safetensors": True}, set(), "r")
    assert settings == {} and "`save_safetensors: True`" in translations[0].message("r")
    with pytest.raises(ValueError, match="`save_safetensors: False`.*always saves safetensors"):
        upstream_recipes.translate_settings({"save_safetensors": False}, set(), "r")


def test_a_renamed_field_the_script_lacks_entirely_is_named_with_its_new_name():
    with pytest.raises(ValueError, match="`torch_dtype`.*name of `dtype`.*takes neither"):
        upstream_recipes.translate_settings({"torch_dtype": "bfloat16"}, {"model_name_or_path"}, "r")


def test_gradient_checkpointing_use_reentrant_goes_into_the_kwargs():
    settings, _ = upstream_recipes.translate_settings(
        {"gradient_checkpointing_use_reentrant": "true"}, {"activation_checkpointing_kwargs"}, "r"
    )
    assert settings == {"activation_checkpointing_kwargs": {"use_reentrant": True}}


def test_gradient_checkpointing_on_the_command_line_overrides_the_recipes_activation_checkpointing(caplog):
    """transformers keeps gradient_checkpointing as an alias that a set activation_checkpointing silently beats: the
    tiny recipe's `activation_checkpointing: false` used to win over `--gradient_checkpointing true`."""
    recipe = ["--config", str(REPO_ROOT / "recipes" / "tiny" / "sft" / "config_cpu.yaml"), "--use_cpu", "true"]
    parser = RecipeParser((ScriptArguments, SFTConfig, ModelConfig))
    _, training_args, _ = parser.parse_args_and_config([*recipe, "--gradient_checkpointing", "true"])
    assert training_args.activation_checkpointing is True
    assert "`gradient_checkpointing` (upstream open-r1's" in caplog.text
    with pytest.raises(ValueError, match="gives both --gradient_checkpointing .* and --activation_checkpointing"):
        RecipeParser((ScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config(
            [*recipe, "--gradient_checkpointing", "true", "--activation_checkpointing", "false"]
        )


def test_a_changed_default_set_under_its_upstream_name_is_not_reported():
    values = {"log_completions": True, "log_unique_prompts": True, "beta": 0.0, "loss_type": "dapo"}

    def reported(explicit):
        return {line.split(":")[0] for line in upstream_recipes.changed_defaults("grpo", values, explicit)}

    assert reported(set()) == {"log_unique_prompts", "beta", "loss_type"}
    assert reported({"wandb_log_unique_prompts", "beta"}) == {"loss_type"}


# ---------------------------------------------------------------------------------------------
# Fields whose meaning TRL dropped and this project keeps
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Upstream open-r1's own field names
# ---------------------------------------------------------------------------------------------

GRPO_BASE = "model_name_or_path: m\ndataset_name: d\noutput_dir: out\n"


def parse_grpo_recipe(tmp_path, text: str, *args: str):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(GRPO_BASE + text)
    return parse(recipe, *args, kind="grpo")


@pytest.mark.parametrize(
    "old, value, new, parsed",
    [
        ("wandb_log_unique_prompts", "true", "log_unique_prompts", True),
        ("parallel_code_exec_per_proc", "4", "code_num_workers", 4),
        ("ioi_provider", "local", "competitive_programming_provider", "local"),
        ("code_eval_scoring_mode", "partial", "code_scoring_mode", "partial"),
        ("code_eval_test_batch_size", "-1", "code_test_batch_size", -1),
    ],
)
def test_upstream_open_r1_field_names_are_read_under_the_new_name_with_one_warning(
    tmp_path, caplog, old, value, new, parsed
):
    with caplog.at_level(logging.WARNING):
        parsed_configs = parse_grpo_recipe(tmp_path, f"reward_funcs: [cf_code]\n{old}: {value}\n")
    assert parsed_value(parsed_configs, new) == parsed
    lines = [m for m in upstream_warnings(caplog) if f"`{old}`" in m]
    assert len(lines) == 1 and f"read as `{new}: {parsed}`" in lines[0], upstream_warnings(caplog)
    # On the command line too, and beside its new name it is an error.
    with caplog.at_level(logging.WARNING):
        assert parsed_value(parse_grpo_recipe(tmp_path, "reward_funcs: [cf_code]\n", f"--{old}", value), new) == parsed
    with pytest.raises(ValueError, match=f"sets both `{old}`.*and `{new}`"):
        parse_grpo_recipe(tmp_path, f"{old}: {value}\n{new}: {value}\n")


def test_the_renamed_sandbox_fields_reach_the_sandbox_configs(tmp_path):
    script_args, _, _ = parse_grpo_recipe(
        tmp_path,
        "reward_funcs: [code, ioi_code]\nparallel_code_exec_per_proc: 4\nioi_provider: morph\nmorph_router_url: r:1\n",
    )
    assert (script_args.code_sandbox.provider, script_args.code_sandbox.num_workers) == ("local", 4)
    sandbox = script_args.competitive_programming_sandbox
    assert (sandbox.provider, sandbox.num_workers, sandbox.router_url) == ("morph", 4, "r:1")


def test_wandb_log_unique_prompts_sets_log_unique_prompts_and_disagreeing_with_it_is_an_error(tmp_path):
    _, training_args, _ = parse_grpo_recipe(tmp_path, "wandb_log_unique_prompts: true\n")
    assert training_args.log_unique_prompts is True
    _, training_args, _ = parse_grpo_recipe(tmp_path, "")
    assert training_args.log_unique_prompts is False
    with pytest.raises(ValueError, match="sets both `wandb_log_unique_prompts`.*keep only `log_unique_prompts`"):
        parse_grpo_recipe(tmp_path, "log_unique_prompts: true\nwandb_log_unique_prompts: false\n")


@pytest.mark.parametrize("field", ["code_eval_scoring_mode: partial", "code_eval_test_batch_size: 1"])
def test_upstreams_code_eval_fields_beside_the_code_reward_are_an_error_not_a_changed_scoring(tmp_path, field):
    # Upstream applied code_eval_* to cf_code and ioi_code only; read as code_scoring_mode / code_test_batch_size,
    # they would change the code reward's scoring here.
    name = field.split(":")[0]
    new = {"code_eval_scoring_mode": "code_scoring_mode", "code_eval_test_batch_size": "code_test_batch_size"}[name]
    with pytest.raises(ValueError, match=f"`{name}`.*read as `{new}`.*applies to the `code` reward.*write `{new}`"):
        parse_grpo_recipe(tmp_path, f"reward_funcs: [code, cf_code]\n{field}\n")
    with pytest.raises(ValueError, match=f"`{name}`.*applies to the `code` reward"):  # reward_funcs given elsewhere
        parse_grpo_recipe(tmp_path, f"{field}\n", "--reward_funcs", "code")
    script_args, _, _ = parse_grpo_recipe(tmp_path, f"reward_funcs: [cf_code]\n{field}\n")
    assert getattr(script_args, new) is not None
    # In this project's names the same recipe means what it says.
    value = field.split(": ")[1]
    script_args, _, _ = parse_grpo_recipe(tmp_path, f"reward_funcs: [code]\n{new}: {value}\n")
    assert str(getattr(script_args, new)) == value


def test_an_e2b_router_url_without_code_provider_means_e2b_unless_something_else_runs_there(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        script_args, _, _ = parse_grpo_recipe(tmp_path, "e2b_router_url: r:8000\n")
    assert script_args.code_sandbox == script_args.code_sandbox.__class__("e2b", router_url="r:8000")
    assert len([m for m in upstream_warnings(caplog) if "read as `code_provider: e2b`" in m]) == 1
    script_args, _, _ = parse_grpo_recipe(tmp_path, "e2b_router_url: r:8000\ncode_provider: local\n"
        "tools: [python]\npython_tool_provider: e2b\n")  # fmt: skip
    assert script_args.code_provider == "local" and script_args.tool_sandbox.router_url == "r:8000"
    script_args, _, _ = parse_grpo_recipe(
        tmp_path, "e2b_router_url: r:8000\ntools: [python]\npython_tool_provider: e2b\n"
    )
    assert script_args.code_provider == "local"  # the router is the tool's


def test_max_prompt_length_sizes_a_colocated_vllm_as_trl_0_18_did(tmp_path):
    def config(**kwargs):
        return GRPOConfig(output_dir=str(tmp_path), use_cpu=True, max_completion_length=1024, **kwargs)

    assert config(max_prompt_length=512, use_vllm=True).vllm_max_model_length == 1536
    assert config(max_prompt_length=512, use_vllm=True, vllm_max_model_length=4096).vllm_max_model_length == 4096
    assert config(max_prompt_length=512, use_vllm=True, vllm_mode="server").vllm_max_model_length is None
    with pytest.raises(ValueError, match="max_prompt_length must be a positive number of tokens"):
        config(max_prompt_length=0)


def test_max_prompt_length_keeps_the_last_tokens_of_the_prompt_that_generation_starts_from(
    tiny_model, tmp_path, monkeypatch
):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    long = [{"role": "user", "content": "Compute 12 + 34 + 56 + 78 and explain every step."}]
    short = [{"role": "user", "content": "1"}]
    full = [
        tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True)["input_ids"] for p in (long, short)
    ]
    limit = len(full[1])  # the short prompt fits exactly; the long one is cut
    assert len(full[0]) > limit

    class Generated(Exception):
        pass

    def prompts_generated_from(max_prompt_length):
        args = GRPOConfig(
            output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", max_prompt_length=max_prompt_length,
            per_device_train_batch_size=2, num_generations=2, max_completion_length=4,
        )  # fmt: skip
        trainer = PromptTruncatingGRPOTrainer(
            model=str(tiny_model),
            reward_funcs=[lambda completions, **kwargs: [0.0] * len(completions)],
            args=args,
            train_dataset=datasets.Dataset.from_list([{"prompt": long}, {"prompt": short}]),
            processing_class=tokenizer,
        )

        def capture(prompt_ids, *args, **kwargs):
            raise Generated([list(ids) for ids in prompt_ids])

        monkeypatch.setattr(trainer, "_generate_single_turn", capture)
        trainer.model.train()
        with pytest.raises(Generated) as generated:
            trainer._generate([long, short])
        return generated.value.args[0], trainer._metrics["train"]

    prompts, metrics = prompts_generated_from(limit)
    assert prompts == [full[0][-limit:], full[1]]
    assert metrics["prompts/truncated_ratio"] == [0.5]  # each step says how many were cut
    prompts, metrics = prompts_generated_from(None)
    assert prompts == full and "prompts/truncated_ratio" not in metrics


def test_overwrite_output_dir_starts_fresh_and_deletes_the_earlier_runs_checkpoints(tmp_path, caplog):
    for step in (5, 50):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    resuming = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    assert resolve_checkpoint(resuming) == str(tmp_path / "checkpoint-50")

    fresh = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", overwrite_output_dir=True)
    assert resolve_checkpoint(fresh) is None
    # Deleted only when training begins: a run that fails its checks or its loading first deletes nothing.
    assert len(list(tmp_path.glob("checkpoint-*"))) == 2
    [discard] = [
        callback for callback in get_callbacks(fresh, None) if isinstance(callback, DiscardEarlierCheckpoints)
    ]
    with caplog.at_level(logging.WARNING):
        discard.on_train_begin(fresh, TrainerState(), TrainerControl())
    assert not list(tmp_path.glob("checkpoint-*"))
    assert "starting fresh" in caplog.text and "checkpoint-5, checkpoint-50" in caplog.text
    assert not [
        callback for callback in get_callbacks(resuming, None) if isinstance(callback, DiscardEarlierCheckpoints)
    ]


def test_an_explicit_resume_wins_over_overwrite_output_dir(tmp_path):
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / "trainer_state.json").write_text("{}")
    args = SFTConfig(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", overwrite_output_dir=True,
        resume_from_checkpoint=str(tmp_path / "checkpoint-5"),
    )  # fmt: skip
    assert resolve_checkpoint(args) == str(tmp_path / "checkpoint-5")
    assert (tmp_path / "checkpoint-5").is_dir()


# ---------------------------------------------------------------------------------------------
# Two upstream recipes train on a CPU
# ---------------------------------------------------------------------------------------------

# What a CPU cannot do, overridden on the command line (everything else is the upstream recipe as written):
CPU_OVERRIDES = [
    "--use_cpu", "true",  # no GPU: transformers refuses bf16 without it
    "--bf16", "false", "--dtype", "float32",  # this CPU has no native bf16 (emulated, ~8x slower)
    "--attn_implementation", "sdpa",  # flash_attention_2 is CUDA-only
    "--push_to_hub", "false",  # the Hub is unreachable
    "--max_steps", "2",  # the length of the test
]  # fmt: skip


def stale_checkpoint(output_dir: pathlib.Path) -> pathlib.Path:
    """A checkpoint an earlier run left: the recipes' overwrite_output_dir: true must not resume from it."""
    folder = output_dir / "checkpoint-50"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text('{"global_step": 50}')
    return folder


@pytest.mark.e2e
@pytest.mark.slow  # the recipe's own 16 completions of up to 1,024 tokens per prompt: 2-7 minutes on 2 cores
@pytest.mark.timeout(1500)
def test_upstream_grpo_recipe_trains_two_steps_on_cpu(tiny_assets, tmp_path):
    # A local dataset with OpenR1-Math-220k's columns (problem, solution), which the recipe's prompt column names.
    data = tmp_path / "openr1-math"
    rows = datasets.load_from_disk(str(tiny_assets["tiny-math"]))["train"].select(range(64))
    datasets.DatasetDict({"train": rows.rename_column("prompt", "problem")}).save_to_disk(str(data))
    output_dir = tmp_path / "grpo"
    stale = stale_checkpoint(output_dir)

    output = accelerate_launch(
        "grpo.py", UPSTREAM_GRPO_RECIPE,
        "--model_name_or_path", str(tiny_assets["tiny-model"]), "--dataset_name", str(data),
        "--output_dir", str(output_dir),
        *CPU_OVERRIDES, "--use_vllm", "false",  # vLLM needs a GPU
    ).stdout  # fmt: skip

    assert "`torch_dtype` (upstream open-r1's TRL 0.18 / transformers 4.52 name) read as `dtype: bfloat16`" in output
    assert (
        "`warmup_ratio` (upstream open-r1's TRL 0.18 / transformers 4.52 name) read as `warmup_steps: 0.1`" in output
    )
    assert "beta: 0.0 here, 0.04 upstream" in output and "loss_type: 'dapo' here, 'bnpo' upstream" in output
    assert not stale.exists(), "overwrite_output_dir: true starts fresh"
    history = [entry for entry in log_history(output_dir) if "reward" in entry]
    assert [entry["step"] for entry in history] == [1, 2]
    for reward in ("accuracy_reward", "format_reward", "tag_count_reward"):
        assert f"rewards/{reward}/mean" in history[0]
    assert (output_dir / "model.safetensors").exists()


def local_dataset_with_configs(folder: pathlib.Path, configs: dict[str, datasets.Dataset]) -> pathlib.Path:
    """A local stand-in for a Hub dataset with named configurations: one parquet folder per config and a dataset
    card that declares them, so a recipe's `dataset_config` selects from it as on the Hub."""
    card = ["---", "configs:"]
    for name, rows in configs.items():
        (folder / name).mkdir(parents=True)
        rows.to_parquet(str(folder / name / "train.parquet"))
        card += [f"- config_name: {name}", "  data_files:", "  - split: train", f"    path: {name}/*.parquet"]
    (folder / "README.md").write_text("\n".join(card + ["---", ""]))
    return folder


@pytest.mark.e2e
def test_upstream_sft_recipe_trains_two_steps_on_cpu(tiny_assets, tmp_path):
    # Like open-r1/Mixture-of-Thoughts, the stand-in has configurations; the recipe's `dataset_config: all` picks one.
    rows = datasets.load_from_disk(str(tiny_assets["tiny-sft"]))["train"]
    data = local_dataset_with_configs(
        tmp_path / "mixture-of-thoughts", {"all": rows.select(range(64)), "math": rows.select(range(64, 66))}
    )
    output_dir = tmp_path / "sft"
    stale = stale_checkpoint(output_dir)

    output = accelerate_launch(
        "sft.py", UPSTREAM_SFT_RECIPE,
        "--model_name_or_path", str(tiny_assets["tiny-model"]), "--dataset_name", str(data),
        "--output_dir", str(output_dir),
        *CPU_OVERRIDES, "--use_liger_kernel", "false",  # Liger's Triton kernels need a GPU
    ).stdout  # fmt: skip

    assert "`torch_dtype` (upstream open-r1's TRL 0.18 / transformers 4.52 name) read as `dtype: bfloat16`" in output
    assert (
        "`warmup_ratio` (upstream open-r1's TRL 0.18 / transformers 4.52 name) read as `warmup_steps: 0.03`" in output
    )
    assert not stale.exists(), "overwrite_output_dir: true starts fresh"
    losses = [entry for entry in log_history(output_dir) if "loss" in entry]
    assert [entry["step"] for entry in losses] == [1, 2]
    assert all(entry["loss"] > 0 for entry in losses)
    assert (output_dir / "model.safetensors").exists()


@pytest.mark.e2e
def test_upstream_filtering_recipe_runs_on_cpu(pass_rate_script, tiny_assets, tmp_path, caplog):
    # config_demo.yaml as upstream wrote it (its own chat template, system prompt, accuracy reward, 8 samples of up to
    # 2,048 tokens), pointed at the tiny model and a local copy of the problems; vLLM and flash-attention need a GPU.
    data = tmp_path / "openr1-math"
    rows = datasets.load_from_disk(str(tiny_assets["tiny-math"]))["train"].select(range(3))
    datasets.DatasetDict({"train": rows.rename_column("prompt", "problem")}).save_to_disk(str(data))
    parser = RecipeParser((pass_rate_script.PassRateScriptArguments, pass_rate_script.PassRateGenerationArguments))
    recipe = FIXTURES / "dataset_filtering" / "config_demo.yaml"
    script_args, gen_args = parser.parse_args_and_config(
        ["--config", str(recipe), "--model_name_or_path", str(tiny_assets["tiny-model"]), "--dataset_name", str(data),
         "--output_dir", str(tmp_path / "out"), "--backend", "transformers", "--attn_implementation", "sdpa",
         "--dtype", "float32", "--max_completion_length", "4"]
    )  # fmt: skip
    assert gen_args.chat_template.startswith("{% if not add_generation_prompt is defined %}")
    rendered = []
    original = pass_rate_script.sample_completions

    def record_prompts(*args, **kwargs):
        prompts, completions, finish_reasons = original(*args, **kwargs)
        rendered.extend(prompts)
        return prompts, completions, finish_reasons

    pass_rate_script.sample_completions = record_prompts
    try:
        result = pass_rate_script.main(script_args, gen_args)
    finally:
        pass_rate_script.sample_completions = original
    everything = result["train_all"]
    assert len(everything) == 3 and all(len(row["pass_rate_generations"]) == 8 for row in everything)
    # The recipe's chat template (DeepSeek's, with its <｜User｜> markers) rendered the prompts, not the tokenizer's.
    assert len(rendered) == 3 and all("<｜User｜>" in prompt and "<｜Assistant｜>" in prompt for prompt in rendered)
    assert all("You are a helpful AI Assistant" in prompt for prompt in rendered)  # the recipe's system prompt


@pytest.mark.parametrize(
    "recipe",
    sorted(p for p in (REPO_ROOT / "recipes").rglob("*.yaml") if p.parent.name in PARSERS),
    ids=lambda path: str(path.relative_to(REPO_ROOT / "recipes")),
)
def test_this_projects_recipes_leave_no_upstream_default_to_report(recipe, caplog):
    with caplog.at_level(logging.WARNING):
        parse(recipe)
    assert not [m for m in upstream_warnings(caplog) if m.startswith("Defaults that differ")]


def test_make_gsm8k_grpo_on_vllm_leaves_no_upstream_default_to_report(caplog):
    from open_r1.demo.settings import GSM8K_FULL, GSM8K_VLLM_GRPO_OVERRIDES

    for recipe in GSM8K_FULL.grpo_recipes.values():
        with caplog.at_level(logging.WARNING):
            _, training_args, _ = parse(REPO_ROOT / recipe, *GSM8K_VLLM_GRPO_OVERRIDES)
        assert training_args.use_vllm and training_args.vllm_mode == "colocate"
        assert not [m for m in upstream_warnings(caplog) if m.startswith("Defaults that differ")]


def test_a_bare_boolean_option_means_true_as_upstreams_command_lines_write_it():
    """An audit's: `--bf16`, `--tf32`, `--hub_private_repo` (TRL 1.16 types them `bool | None`) were refused with
    "expected one argument"; upstream's README trains with a bare `--bf16`."""
    parser = RecipeParser((ScriptArguments, SFTConfig, ModelConfig))
    common = ["--dataset_name", "x", "--output_dir", "out", "--use_cpu"]
    _, bare, _ = parser.parse_args_and_config([*common, "--disable_tqdm", "--hub_private_repo"])
    _, spelled, _ = parser.parse_args_and_config([*common, "--disable_tqdm", "false", "--hub_private_repo", "false"])
    _, unset, _ = parser.parse_args_and_config(common)
    assert (bare.disable_tqdm, bare.hub_private_repo) == (True, True)
    assert (spelled.disable_tqdm, spelled.hub_private_repo) == (False, False)
    assert unset.hub_private_repo is None  # a field left out keeps its default


def test_logged_completions_are_not_printed_to_the_console_unless_asked(processes, capsys):
    """An audit's: TRL 1.16's default (None) printed every completion of each logged step as a console table; upstream's
    recipes set log_completions: true and logging_steps: 1, and upstream printed none (its default, 0)."""
    from trl.trainer.utils import print_prompt_completions_sample

    processes(8)
    _, training_args, _ = parse(REPO_ROOT / UPSTREAM_GRPO_RECIPE)
    assert training_args.log_completions and training_args.num_completions_to_print == 0
    rows = (["a prompt"] * 3, ["a completion"] * 3, {"accuracy": [1.0, 0.0, 1.0]}, [0.5, -1.0, 0.5], 1)
    print_prompt_completions_sample(*rows, training_args.num_completions_to_print)
    assert capsys.readouterr().out == ""
    print_prompt_completions_sample(*rows, None)
    assert "a completion" in capsys.readouterr().out
