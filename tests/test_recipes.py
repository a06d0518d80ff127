"""Every recipe parses with the project's parser (no unknown field, none its mode ignores); every accelerate config
is valid for accelerate."""

import ast
import pathlib
import re
import warnings

import pytest
from trl import ModelConfig

from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser, ScriptArguments, SFTConfig
from tests.support import REPO_ROOT

RECIPES = REPO_ROOT / "recipes"
PARSERS = {
    "sft": (ScriptArguments, SFTConfig, ModelConfig),
    "grpo": (GRPOScriptArguments, GRPOConfig, ModelConfig),
}


def training_recipes():
    return sorted(p for p in RECIPES.rglob("*.yaml") if p.parent.name in PARSERS)


def parse_recipe(path: pathlib.Path, *extra_args: str):
    # `use_cpu` lets TrainingArguments accept bf16 on this GPU-less machine; every other field is checked as written.
    parser = RecipeParser(PARSERS[path.parent.name])
    return parser.parse_args_and_config(["--config", str(path), "--use_cpu", "true", *extra_args])


def test_there_are_sft_and_grpo_recipes():
    kinds = {p.parent.name for p in training_recipes()}
    assert kinds == {"sft", "grpo"}, kinds


@pytest.mark.parametrize("recipe", training_recipes(), ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_parses(recipe):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        script_args, training_args, model_args = parse_recipe(recipe)
    # transformers 5 renamed gradient_checkpointing*; the old names warn on every run.
    assert not [str(w.message) for w in caught if "checkpointing" in str(w.message)]
    assert model_args.model_name_or_path
    assert training_args.output_dir
    assert script_args.dataset_name or script_args.dataset_mixture


def test_unknown_recipe_key_fails_at_parse_time_with_its_name(tmp_path):
    recipe = (RECIPES / "tiny" / "sft" / "config_cpu.yaml").read_text() + "\nlearning_rat: 1.0e-4\n"
    bad = tmp_path / "sft" / "config_bad.yaml"
    bad.parent.mkdir()
    bad.write_text(recipe)
    with pytest.raises(ValueError, match=f"^{bad}: unknown field learning_rat \\(did you mean learning_rate\\?\\)"):
        parse_recipe(bad)


@pytest.mark.parametrize(("recipe", "given_to", "script"), [("sft", "grpo", "sft.py"), ("grpo", "sft", "grpo.py")])
def test_a_recipe_given_to_the_other_trainer_is_named_as_the_other_scripts(tmp_path, recipe, given_to, script):
    misplaced = tmp_path / given_to / "config.yaml"  # parse_recipe picks the trainer by the folder's name
    misplaced.parent.mkdir()
    misplaced.write_text((RECIPES / "tiny" / recipe / "config_cpu.yaml").read_text())
    with pytest.raises(ValueError, match=rf"\(they are {script}'s: is this a recipe for src/open_r1/{script}\?\)$"):
        parse_recipe(misplaced)


def test_accelerates_config_given_to_a_script_names_accelerate_launch(tmp_path):
    """Found by a newcomer: zero3.yaml as --config listed 14 unknown fields, and --config_file was an unknown
    option, without a word of accelerate."""
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser

    zero3 = RECIPES / "accelerate_configs" / "zero3.yaml"
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), prog="grpo.py")
    with pytest.raises(ValueError) as raised:
        parser.parse_args_and_config(["--config", str(zero3)])
    assert str(raised.value) == (
        f"{zero3} is an accelerate config, not a recipe: give it to accelerate launch, before the script: "
        f"accelerate launch --config_file {zero3} grpo.py --config RECIPE"
    )
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text((RECIPES / "tiny" / "grpo" / "config_cpu.yaml").read_text())
    with pytest.raises(ValueError, match=r"\(--config_file is accelerate launch's option, before the script: "):
        parser.parse_args_and_config(["--config_file", str(zero3), "--config", str(recipe)])


def test_an_option_of_the_other_trainer_is_named_as_the_other_scripts(tmp_path):
    """Found by an audit: `--packing` given to grpo.py got only "unknown option; --help lists them"."""
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser

    recipe = tmp_path / "grpo.yaml"
    recipe.write_text((RECIPES / "tiny" / "grpo" / "config_cpu.yaml").read_text())
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    with pytest.raises(
        ValueError, match=r"^unknown option --packing; --help-all lists them \(it is src/open_r1/sft.py's\)$"
    ):
        parser.parse_args_and_config(["--config", str(recipe), "--packing", "true"])


def test_a_shortened_option_is_named_not_read_as_the_field_it_starts():
    recipe = RECIPES / "tiny" / "sft" / "config_cpu.yaml"
    with pytest.raises(ValueError, match="unknown option --model_name \\(did you mean --model_name_or_path\\?\\)"):
        parse_recipe(recipe, "--model_name", "data/other-model")


@pytest.mark.parametrize(
    "field, error",
    [
        # Upstream's name, read as code_scoring_mode: it would change the `code` reward, which upstream's never did.
        ("code_eval_scoring_mode: weighted_sum", "applies to the `code` reward too"),
        ("cosine_max_len: 500", "cosine_max_len: 500 has no effect with reward_funcs: \\['code', 'code_format'\\]"),
    ],
)
def test_a_field_the_code_recipe_does_not_use_is_refused(tmp_path, field, error):
    # config_demo_code.yaml once set code_eval_scoring_mode, which its `code` reward never read.
    recipe = (RECIPES / "Qwen2.5-1.5B-Instruct" / "grpo" / "config_demo_code.yaml").read_text()
    assert "code_eval_" not in recipe
    bad = tmp_path / "grpo" / "config_demo_code.yaml"
    bad.parent.mkdir()
    bad.write_text(recipe + field + "\n")
    with pytest.raises(ValueError, match=error):
        parse_recipe(bad)


def test_every_recipe_the_code_names_exists():
    # grpo.py's docstring once named recipes/tiny/grpo/config_tools.yaml, which never existed.
    named = {
        (path, match)
        for root in ("src", "scripts")
        for path in (REPO_ROOT / root).rglob("*.py")
        for match in re.findall(r"recipes/[\w./-]+\.yaml", path.read_text())
        if "..." not in match  # a placeholder: recipes/...yaml
    }
    assert len(named) > 10
    missing = sorted(
        f"{path.relative_to(REPO_ROOT)}: {match}" for path, match in named if not (REPO_ROOT / match).exists()
    )
    assert not missing, missing


def expand_braces(pattern: str) -> list[str]:
    """`a/{b,c}/d_{e,f}` -> the four paths it names."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [
        path
        for choice in match.group(1).split(",")
        for path in expand_braces(pattern[: match.start()] + choice + pattern[match.end() :])
    ]


def indexed_recipes(readme: str) -> set[str]:
    """The recipes the first column of recipes/README.md's index names; a bare file name in a cell is in the folders
    of the cell's first recipe."""
    indexed = set()
    for line in readme.splitlines():
        if not line.startswith("| `"):
            continue
        first, *others = re.findall(r"`([^`]+)`", line.split(" | ")[0])
        named = expand_braces(first)
        folders = {name.rsplit("/", 1)[0] for name in named if "/" in name}
        indexed.update(named)
        for name in (name for other in others for name in expand_braces(other)):
            indexed.update([name] if "/" in name else (f"{folder}/{name}" for folder in folders))
    return indexed


def test_the_recipes_readme_indexes_every_training_recipe():
    indexed = indexed_recipes((RECIPES / "README.md").read_text())
    assert {"demo/grpo/config_tools.yaml", "SmolLM2-135M-Instruct/sft/config_gsm8k_cot.yaml"} <= indexed
    assert (
        sorted(
            str(path.relative_to(RECIPES))
            for path in training_recipes()
            if str(path.relative_to(RECIPES)) not in indexed
        )
        == []
    )


def test_command_line_overrides_the_recipe():
    _, training_args, _ = parse_recipe(RECIPES / "tiny" / "sft" / "config_cpu.yaml", "--learning_rate", "0.5")
    assert training_args.learning_rate == 0.5


@pytest.mark.parametrize("config", sorted((RECIPES / "accelerate_configs").glob("*.yaml")), ids=lambda p: p.name)
def test_accelerate_config_is_valid(config):
    from accelerate.commands.config.config_args import load_config_from_file

    cluster = load_config_from_file(str(config))
    if config.name == "one_process.yaml":
        assert cluster.num_processes == 1 and str(cluster.distributed_type).split(".")[-1] == "NO"
    else:
        assert cluster.num_processes == 8
        assert str(cluster.distributed_type).split(".")[-1] in {"MULTI_GPU", "DEEPSPEED", "FSDP"}
    assert cluster.mixed_precision == "bf16"
    if cluster.distributed_type == "DEEPSPEED" or str(cluster.distributed_type).endswith("DEEPSPEED"):
        assert cluster.deepspeed_config["zero_stage"] == int(config.stem[-1])


def test_r1_distill_template_prefills_think_and_the_format_rewards_accept_its_completions(tiny_model):
    from transformers import AutoTokenizer

    from open_r1.rewards import get_reward_funcs

    script_args, training_args, _ = parse_recipe(
        RECIPES / "DeepSeek-R1-Distill-Qwen-1.5B" / "grpo" / "config_demo.yaml"
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = training_args.chat_template
    history = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "<think>\nold reasoning\n</think>\n<answer>\n1\n</answer>"},
        {"role": "user", "content": "Q2"},
    ]
    prompt = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    assert "<think>\nold reasoning\n</think>" in prompt, "earlier turns keep their reasoning"
    assert prompt.endswith("<｜User｜>Q2<｜Assistant｜><think>\n")

    completion = "Two plus two.\n</think>\n<answer>\n\\boxed{4}\n</answer>"
    rewards = {f.__name__: f([completion], solution=["$4$"]) for f in get_reward_funcs(script_args)}
    assert rewards == {"accuracy_reward": [1.0], "format_reward": [1.0], "tag_count_reward": [1.0]}


@pytest.mark.parametrize("given_to", ["grpo", "sft"])
def test_a_pass_rate_recipe_given_to_a_trainer_names_the_pass_rate_script(tmp_path, given_to):
    """Found by an audit: its five unknown fields were named without saying whose they are."""
    misplaced = tmp_path / given_to / "config.yaml"
    misplaced.parent.mkdir()
    misplaced.write_text((RECIPES / "dataset_filtering" / "config_tiny_cpu.yaml").read_text())
    with pytest.raises(
        ValueError,
        match=r"\(pass_rate_\* are scripts/pass_rate_filtering/compute_pass_rate.py's: is this a recipe for it\?\)$",
    ):
        parse_recipe(misplaced)


def test_the_pass_rate_fields_the_trainers_hint_at_are_the_pass_rate_scripts():
    from open_r1.recipe_parser import PASS_RATE_FIELDS, PASS_RATE_SCRIPT

    script = REPO_ROOT / PASS_RATE_SCRIPT
    tree = ast.parse(script.read_text())
    arguments = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PassRateScriptArguments")
    declared = {n.target.id for n in arguments.body if isinstance(n, ast.AnnAssign)}
    assert PASS_RATE_FIELDS <= declared


def test_a_chat_template_jinja_cannot_parse_is_named_by_line_at_parse_time(tmp_path):
    """Found by a newcomer audit: a syntax error in `chat_template` was a long traceback at the first rendered row."""
    from open_r1.usage import UsageError

    broken = "{% for message in messages %}\n{{ message['content'] }"
    with pytest.raises(UsageError, match=r"^chat_template: line 2: unexpected '}'$"):
        SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, chat_template=broken)
    (tmp_path / "chatml.jinja").write_text(broken)
    with pytest.raises(UsageError, match=rf"^chat_template {tmp_path / 'chatml.jinja'}: line 2: unexpected '}}'$"):
        GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, chat_template=str(tmp_path / "chatml.jinja"))


def test_chat_template_and_chat_template_path_together_are_refused(tmp_path):
    """TRL applies `chat_template_path` after open-r1's `chat_template`: one of the two would do nothing."""
    from open_r1.usage import UsageError

    (tmp_path / "chatml.jinja").write_text("{{ messages }}")
    with pytest.raises(UsageError, match="chat_template and chat_template_path both replace"):
        SFTConfig(
            output_dir=str(tmp_path / "out"),
            use_cpu=True,
            chat_template="{{ messages }}",
            chat_template_path=str(tmp_path / "chatml.jinja"),
        )
    with pytest.raises(
        UsageError,
        match=r"chat_template_path: no such file or folder: .*chatml.jinj \(did you mean .*chatml.jinja\?\)",
    ):
        SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, chat_template_path=str(tmp_path / "chatml.jinj"))


def test_a_chat_template_path_is_read_as_trl_will_read_it(tmp_path, monkeypatch):
    """Review (2026-11-28): `~/chatml.jinja` passed the check (expanded) but TRL reads the path as written, and a bare
    `chatml.jinja` that does not exist was asked of the Hub as a tokenizer id."""
    from open_r1.usage import UsageError

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chatml.jinja").write_text("{{ messages }}")
    config = SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, chat_template_path="~/chatml.jinja")
    assert config.chat_template_path == str(tmp_path / "chatml.jinja")
    with pytest.raises(UsageError, match=r"^chat_template_path: no such file or folder: chatm.jinja \(did you mean"):
        SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, chat_template_path="chatm.jinja")


def test_a_system_prompt_that_names_a_file_is_read_from_it(tmp_path):
    """Found by a newcomer audit: `system_prompt: prompts/system.txt` was sent to the model as those words."""
    from open_r1.usage import UsageError

    (tmp_path / "system.txt").write_text("You are a careful mathematician.\n")
    config = GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, system_prompt=str(tmp_path / "system.txt"))
    assert config.system_prompt == "You are a careful mathematician."
    with pytest.raises(
        UsageError, match=r"^system_prompt: no such file or folder: .*sytem.txt \(did you mean .*system.txt\?\)$"
    ):
        SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, system_prompt=str(tmp_path / "sytem.txt"))
    spoken = "Reason step by step, then give the answer in \\boxed{}; see notes.md"
    assert SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True, system_prompt=spoken).system_prompt == spoken


def test_help_lists_the_fields_the_projects_recipes_set_and_help_all_every_field(capsys):
    """A newcomer's: grpo.py --help was 1,455 lines, most of them TRL's and transformers' rarely changed fields."""
    from trl import ModelConfig

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, RecipeParser
    from open_r1.recipe_parser import fields_recipes_set

    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), prog="grpo.py")
    set_by_recipes = fields_recipes_set(parser.dataclass_types)
    assert {"learning_rate", "num_generations", "reward_funcs", "model_name_or_path"} <= set_by_recipes
    assert "adam_beta2" not in set_by_recipes
    short = parser.format_help()
    assert "--learning_rate" in short and "--reward_funcs" in short and "--adam_beta2" not in short
    more = int(
        re.search(
            r"\n(\d+) more fields, each at its default unless set: --help-all lists every one\.\n$", short
        ).group(1)
    )
    parser._full_help = True
    full = parser.format_help()
    assert "--adam_beta2" in full and "more fields" not in full
    full_names, short_names = (set(re.findall(r"\n  --(\w+)", text)) for text in (full, short))
    twins = {name for name in full_names if name.startswith("no_") and name[3:] in full_names}  # --no_X: X's
    assert len(full_names - short_names - twins) == more
    fresh = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), prog="grpo.py")
    with pytest.raises(SystemExit) as exited:
        fresh.parse_args_and_config(["--help-all"])
    assert exited.value.code == 0 and capsys.readouterr().out == full
