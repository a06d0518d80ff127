"""The entry scripts' recipe and command-line parser: TRL's `TrlParser` over the dataclasses of `open_r1.configs`,
which also reads upstream open-r1's recipes and names every mistake in one line before any model loads.

    from open_r1.configs import GRPOConfig, GRPOScriptArguments, ModelConfig, RecipeParser
    parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), description="...")
    script_args, training_args, model_args = parser.parse_args_and_config()   # --config recipe.yaml ...

Not covered: the fields themselves and their checks (`open_r1.configs`, `open_r1.startup_checks`); the upstream
names it translates (`open_r1.compat.recipes`).
"""

import argparse
import dataclasses
import functools
import importlib.util
import logging
import os
import pathlib
import sys
import typing
from dataclasses import fields
from typing import Any

import transformers
import trl
import yaml

from open_r1.compat import recipes as upstream_recipes
from open_r1.eval.benchmark_registry import resolve_benchmarks
from open_r1.rewards import check_reward_names
from open_r1.startup_checks import (
    check_continuous_batching_precision,
    check_ignored_fields,
    check_mixture_test_split,
    check_reward_weights,
    check_soft_overlong_reach,
)
from open_r1.usage import (
    ArgumentParser,
    UsageError,
    check_no_positional_argument,
    check_options_given_once,
    one_line,
    read_recipe,
    recipe_argument,
    split_config_option,
    unknown_names,
)

logger = logging.getLogger(__name__)


# Fields that only pass-rate filtering reads (tests check its arguments still have them).
PASS_RATE_FIELDS = frozenset({"pass_rate_min", "pass_rate_max"})
# Fields every `accelerate config` file writes (recipes/accelerate_configs/): such a file given as --config.
ACCELERATE_CONFIG_FIELDS = frozenset({"compute_environment", "distributed_type"})
PASS_RATE_SCRIPT = "scripts/pass_rate_filtering/compute_pass_rate.py"


def _on_local_main_process() -> bool:
    # Parsing happens before any process group exists; every process of a launch parses the same recipe.
    return os.environ.get("LOCAL_RANK", "0") == "0"


def _type_name(annotation: Any) -> str:
    """`int`, `Optional[int]`, ...: a field's type as its dataclass writes it."""
    if isinstance(annotation, str):
        return annotation
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def _default(dataclass_field: dataclasses.Field) -> Any:
    if dataclass_field.default_factory is not dataclasses.MISSING:
        return dataclass_field.default_factory()
    return dataclass_field.default


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (HfArgumentParser's choice), and the description's lines as written."""


class _FullHelp(argparse.Action):
    """--help-all: the help with every field."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._full_help = True
        parser.print_help()
        parser.exit()


# The folders under recipes/ that hold each trainer's recipes.
RECIPE_FOLDERS = {trl.GRPOConfig: "grpo", trl.SFTConfig: "sft"}


def fields_recipes_set(dataclass_types) -> frozenset[str]:
    """The fields any of the project's recipes for the trainer among `dataclass_types` sets (recipes/**/grpo/*.yaml
    for GRPO); empty for another parser, or an install without the repository's recipes/."""
    folder = next(
        (name for kind in dataclass_types for config, name in RECIPE_FOLDERS.items() if issubclass(kind, config)),
        None,
    )
    return frozenset() if folder is None else _fields_of_recipes_in(folder)


@functools.cache
def _fields_of_recipes_in(folder: str) -> frozenset[str]:
    """The fields the recipes under recipes/**/<folder>/ set, read once a process (only --help and an unknown name's
    message need them, not a run's start)."""
    recipes = pathlib.Path(__file__).resolve().parents[2] / "recipes"
    if not recipes.is_dir():
        return frozenset()
    names = set()
    for path in recipes.glob(f"**/{folder}/*.yaml"):
        try:
            recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):  # a recipe being written in the clone: its fields are listed another time
            continue
        names |= set(recipe) if isinstance(recipe, dict) else set()
    return frozenset(names)


class RecipeParser(trl.TrlParser, ArgumentParser):
    """TRL's `TrlParser` that also reads upstream open-r1 recipes and command lines (TRL 0.18 names).

        parser = RecipeParser((GRPOScriptArguments, GRPOConfig, ModelConfig), description="...")
        script_args, training_args, model_args = parser.parse_args_and_config()   # --config recipe.yaml ...

    Before TRL sees them, the recipe's keys and the command line's options go through
    `open_r1.compat.recipes`: an upstream field is read under its TRL 1.16 name with one warning line
    naming both, dropped with a warning when its value is now the only behaviour, or rejected with what to use
    instead. After parsing, combinations upstream fields cannot mean here are refused, and one warning lists the
    defaults that changed since TRL 0.18 in ways that change training and that neither the recipe nor the
    command line set. A field any of the dataclasses has is never translated, so recipes in this project's
    names parse exactly as with `TrlParser`.

    Every mistake is a one-line `open_r1.usage.UsageError` (the entry scripts print it and exit with status 2),
    raised before any dataclass is built where it can be: the recipe's YAML syntax (file:line:column), an unknown
    recipe field or command-line option (with the close known names), an option argparse cannot read, a field the
    chosen mode ignores (`open_r1.startup_checks.check_ignored_fields`). The checks of the built configs (theirs
    and TRL's) follow. `--help` starts with the description, then `--config`.
    """

    def __init__(self, dataclass_types, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        # argparse's own usage lists every field (hundreds of lines); the fields follow under "options".
        kwargs.setdefault("usage", "%(prog)s [--config RECIPE.yaml] [--FIELD VALUE ...]")
        super().__init__(dataclass_types, **kwargs)
        upstream_recipes.accept_bare_booleans(self._actions)
        all_fields = [f for dataclass_type in self.dataclass_types for f in fields(dataclass_type)]
        # transformers' deprecated aliases are translated as upstream names, not taken as fields.
        self._known_fields = {f.name for f in all_fields} - set(upstream_recipes.TRANSFORMERS_ALIASES)
        self._defaults = {f.name: _default(f) for f in all_fields}
        self._field_types = {f.name: _type_name(f.type) for f in all_fields}
        # As the classes declare them: HfArgumentParser rewrites a field's `type` to what argparse converts with.
        self._declared_hints = {
            name: hint for kind in self.dataclass_types for name, hint in typing.get_type_hints(kind).items()
        }
        self._recipe_source = "recipe"
        self._explicit_fields: set[str] = set()
        self._implied_fields: set[str] = set()  # set by compat for what an upstream recipe left unset
        self._translated_fields: set[str] = set()  # the upstream names read, from the recipe and the command line
        self._upstream_names: dict[str, str] = {}  # field -> the upstream name that set it (warmup_ratio)
        self._refuse_unknown = True
        recipe_options = self.add_argument_group("recipe")
        # TrlParser takes --config out of the arguments before argparse parses them; this entry is its --help.
        recipe_options.add_argument(
            "--config",
            metavar="RECIPE.yaml",
            default=argparse.SUPPRESS,
            help="A recipe: a YAML mapping of any of the fields below to their values (see recipes/). Options on "
            "the command line override it.",
        )
        recipe_options.add_argument(
            "--help-all",
            action=_FullHelp,
            help="List every field, TRL's and transformers' included (--help lists those the project's recipes set, "
            "where it has recipes for this script).",
        )
        # Shown first: the other groups list every field.
        self._action_groups.insert(0, self._action_groups.pop())
        self._group_fields_by_dataclass()
        self._full_help = False

    @property
    def _listing(self) -> str:
        """The option that lists every field: --help lists only the recipes' fields where there are recipes."""
        return "--help-all" if fields_recipes_set(self.dataclass_types) else "--help"

    def format_help(self) -> str:
        """--help: the fields the project's recipes for this trainer set (`fields_recipes_set`), and how many more
        --help-all lists; a GRPO run has some 400 fields, most of them TRL's and transformers' rarely changed ones."""
        shown = None if self._full_help else fields_recipes_set(self.dataclass_types)
        if not shown:
            return super().format_help()
        hidden = [
            action
            for group in self._action_groups
            for action in group._group_actions
            if action.dest in self._known_fields and action.dest not in shown and action.help is not argparse.SUPPRESS
        ]
        helps = [action.help for action in hidden]
        for action in hidden:
            action.help = argparse.SUPPRESS
        try:
            text = super().format_help()
        finally:
            for action, help_text in zip(hidden, helps):
                action.help = help_text
        more = len({action.dest for action in hidden})  # a boolean field's --no_X twin is the same field
        return text + f"\n{more} more fields, each at its default unless set: --help-all lists every one.\n"

    def _group_fields_by_dataclass(self) -> None:
        """--help lists each dataclass's fields under its own heading (script, training, model), in the order given,
        with the tool fields last, apart: one "options" list of a thousand lines started with them."""
        owner = {}
        for kind in self.dataclass_types:
            for item in fields(kind):
                owner.setdefault(item.name, kind)
        groups = {}
        for kind in self.dataclass_types:
            summary = (kind.__doc__ or "").strip().split("\n")[0].strip().rstrip(".")
            groups[kind] = self.add_argument_group(f"{kind.__name__}: {summary}" if summary else kind.__name__)
        tool_group = None
        for action in list(self._optionals._group_actions):
            kind = owner.get(action.dest)
            if kind is None:  # --help
                continue
            if action.dest == "tools" or action.dest.startswith("python_tool_"):
                tool_group = tool_group or self.add_argument_group("tool use: tools and the python tool's settings")
                target = tool_group
            else:
                target = groups[kind]
            self._optionals._group_actions.remove(action)
            target._group_actions.append(action)
        if tool_group is not None:  # `tools` first: the settings below are read only with it
            tool_group._group_actions.sort(key=lambda action: action.dest != "tools")

    def parse_args_and_config(self, args=None, return_remaining_strings=False, **kwargs):
        args = split_config_option(list(args) if args is not None else sys.argv[1:])
        self._refuse_unknown = not return_remaining_strings and kwargs.get("fail_with_unknown_args", True)
        try:
            return self._parse(args, return_remaining_strings, **kwargs)
        except UsageError:
            raise
        except ValueError as error:
            # What parsing raises is about the recipe and command line: TRL's and transformers' checks, and ours.
            raise UsageError(one_line(error)) from error

    def _parse(self, args: list[str], return_remaining_strings: bool, **kwargs):
        if self._refuse_unknown:
            check_no_positional_argument(args)
            check_options_given_once(args)
        config = recipe_argument(args)
        if config is not None:
            self._recipe_source = config
            read_recipe(config)  # its syntax errors as file:line:column, before TRL reads it
        args, translations, given = upstream_recipes.translate_command_line(args, self._known_fields)
        if self._refuse_unknown:
            self._refuse_unknown_options(given)
        self._explicit_fields = set(given)
        self._implied_fields = set()
        self._translated_fields = {t.old for t in translations}
        self._upstream_names = {t.new: t.old for t in translations if t.new is not None}
        self._warn([t.message("command line") for t in translations])
        output = super().parse_args_and_config(args, return_remaining_strings=return_remaining_strings, **kwargs)
        parsed = [obj for obj in output if hasattr(obj, "__dataclass_fields__")]
        values = {name: getattr(obj, name) for obj in parsed for name in obj.__dataclass_fields__}
        upstream_recipes.check_parsed(self._translated_fields, values)
        self._report_changed_defaults(parsed, values)
        return output

    def parse_args_into_dataclasses(self, args=None, return_remaining_strings=False, **kwargs):
        # TrlParser calls this once the recipe set the defaults. Checked on argparse's values, before the dataclasses
        # are built: their __post_init__ warn, and change the environment.
        namespace, _ = self.parse_known_args(args=args)
        if "reward_funcs" in vars(namespace):
            check_reward_names(namespace.reward_funcs)  # first: the checks below read the names
        if "benchmarks" in vars(namespace):
            resolve_benchmarks(namespace.benchmarks)  # now, not when the first checkpoint is pushed
        check_ignored_fields(
            vars(namespace), self._explicit_fields - self._implied_fields, self._defaults, self._upstream_names
        )
        check_soft_overlong_reach(vars(namespace))
        check_reward_weights(vars(namespace))
        check_mixture_test_split(vars(namespace))
        check_continuous_batching_precision(vars(namespace))
        return super().parse_args_into_dataclasses(args, return_remaining_strings, **kwargs)

    def set_defaults_with_config(self, **settings):
        # TrlParser hands the recipe's mapping (without `env`) here before parsing the command line.
        settings, translations = upstream_recipes.translate_settings(settings, self._known_fields, self._recipe_source)
        unknown = [key for key in settings if key not in self._known_fields]
        if unknown and self._refuse_unknown:
            if ACCELERATE_CONFIG_FIELDS <= set(unknown):
                raise UsageError(
                    f"{self._recipe_source} is an accelerate config, not a recipe: give it to accelerate launch, "
                    f"before the script: accelerate launch --config_file {self._recipe_source} {self.prog} --config "
                    "RECIPE"
                )
            listed = unknown_names(unknown, self._known_fields, "field", listing=self._listing)
            message = f"{self._recipe_source}: {listed}"
            raise UsageError(message + self._other_trainers_recipe(unknown))
        self._check_recipe_values(settings)
        renamed = [t for t in translations if isinstance(t, upstream_recipes.Translation)]
        # A field the command line set keeps its own name: its value is the command line's.
        self._upstream_names |= {t.new: t.old for t in renamed if t.new and t.new not in self._explicit_fields}
        self._explicit_fields |= set(settings)
        self._implied_fields |= {t.field for t in translations if isinstance(t, upstream_recipes.ImpliedSetting)}
        self._translated_fields |= {t.old for t in renamed}
        self._warn([t.message(self._recipe_source) for t in translations])
        return super().set_defaults_with_config(**settings)

    def _other_trainers_recipe(self, unknown: list[str], options: bool = False) -> str:
        """A hint when most of a recipe's unknown fields are the other trainer's: an SFT recipe given to grpo.py;
        `options`: they were command-line options (`--packing` given to grpo.py). A field only pass-rate filtering
        has names its script; accelerate's config file, or its option, given to the script names accelerate."""
        launch = f"accelerate launch --config_file FILE {self.prog} --config RECIPE"
        if options and "config_file" in unknown:
            return f" (--config_file is accelerate launch's option, before the script: {launch})"
        if PASS_RATE_FIELDS & set(unknown) and not PASS_RATE_FIELDS & self._known_fields:
            return f" (pass_rate_* are {PASS_RATE_SCRIPT}'s{'' if options else ': is this a recipe for it?'})"
        # (this trainer's config, the other's, its script, the other's fields outside its config)
        for config, other, script, script_fields in (
            (trl.GRPOConfig, trl.SFTConfig, "sft.py", set()),
            (trl.SFTConfig, trl.GRPOConfig, "grpo.py", {"reward_funcs"}),
        ):
            if any(issubclass(kind, config) for kind in self.dataclass_types):
                theirs = {f.name for f in fields(other)} | script_fields
                if 2 * sum(name in theirs for name in unknown) > len(unknown):
                    if options:
                        return f" ({'they are' if len(unknown) > 1 else 'it is'} src/open_r1/{script}'s)"
                    return f" (they are {script}'s: is this a recipe for src/open_r1/{script}?)"
        if not any(issubclass(kind, transformers.TrainingArguments) for kind in self.dataclass_types):
            return self._training_recipe(unknown, options)
        return ""

    @staticmethod
    def _training_recipe(unknown: list[str], options: bool) -> str:
        """A hint for a parser without a training config (pass-rate filtering's) given a trainer's recipe."""
        grpo, sft = ({f.name for f in fields(config)} for config in (trl.GRPOConfig, trl.SFTConfig))
        if 2 * sum(name in grpo | sft for name in unknown) <= len(unknown):
            return ""
        script = "grpo.py" if len(set(unknown) & (grpo - sft)) >= len(set(unknown) & (sft - grpo)) else "sft.py"
        if options:
            return f" ({'they are' if len(unknown) > 1 else 'it is'} src/open_r1/{script}'s)"
        return f" (they are src/open_r1/{script}'s: is this a training recipe? recipes/dataset_filtering/ has this script's)"

    def _check_recipe_values(self, settings: dict) -> None:
        """Raises for a recipe value argparse would not read from the command line: it converts only the recipe's
        strings, so a float where an integer goes (`per_device_train_batch_size: 16.5`) or a list where one value
        goes would otherwise reach the trainer, after the model loaded; and a string it cannot convert
        (`learning_rate: fast`) it would name as if from the command line, without the recipe."""
        for name, value in settings.items():
            action = self._option_string_actions.get(f"--{name}")
            if action is None:
                continue
            expected = self._field_types.get(name, getattr(action.type, "__name__", "another value"))
            if value is None:
                if not self._takes_none(name, action):  # `learning_rate: null` reached the config's checks
                    raise UsageError(
                        f"{self._recipe_source}: {name}: expected {expected}, got null; leave it out for its default "
                        f"({self._defaults[name]!r})"
                    )
                continue
            choices = [str(getattr(choice, "value", choice)) for choice in action.choices or ()]
            if isinstance(value, bool) and choices and str(value) not in choices:
                # YAML 1.1 reads unquoted no/yes/off/on as booleans: `save_strategy: no` arrives as False.
                words = [word for word in (("no", "off") if not value else ("yes", "on")) if word in choices]
                if words:
                    raise UsageError(
                        f"{self._recipe_source}: {name}: YAML reads an unquoted {words[0]} as {str(value).lower()}; "
                        f'write it quoted: {name}: "{words[0]}"'
                    )
            declared = str(self._declared_hints.get(name, expected))
            if isinstance(value, dict) and "dict" in declared:
                continue  # a mapping-typed field (dataset_mixture) takes the recipe's mapping as it is
            if action.type in (None, str):
                takes_list = action.nargs in ("+", "*") or "list" in declared
                if isinstance(value, (list, dict)) and not takes_list:  # str() would pass it
                    raise UsageError(f"{self._recipe_source}: {name}: expected {expected}, got {value!r}")
                continue
            items = value if isinstance(value, list) and action.nargs in ("+", "*") else [value]
            for item in items:
                try:
                    if isinstance(item, (list, dict)):  # str() of one would pass a str-typed conversion
                        raise ValueError
                    action.type(str(item))
                except (TypeError, ValueError, argparse.ArgumentTypeError):
                    raise UsageError(f"{self._recipe_source}: {name}: expected {expected}, got {value!r}") from None

    def _takes_none(self, name: str, action: argparse.Action) -> bool:
        """Whether a field may be None: its default is, its type says so, or TRL's parser reads "None" for it."""
        return (
            self._defaults.get(name) is None
            or type(None) in typing.get_args(self._declared_hints.get(name))
            or getattr(action.type, "__qualname__", "").startswith("_accept_none")
        )

    def _refuse_unknown_options(self, names: set[str]) -> None:
        """Raises for the `--name`s argparse would not take: not an option (shortened ones included)."""
        unknown = sorted(name for name in names if f"--{name}" not in self._option_string_actions)
        if unknown:
            raise UsageError(
                unknown_names(unknown, self._known_fields, "option", "--", self._listing)
                + self._other_trainers_recipe(unknown, True)
            )

    def _report_changed_defaults(self, parsed: list, values: dict) -> None:
        if any(isinstance(obj, trl.GRPOConfig) for obj in parsed):
            trainer = "grpo"
        elif any(isinstance(obj, trl.SFTConfig) for obj in parsed):
            trainer = "sft"
        else:
            return
        if values.get("use_vllm") and importlib.util.find_spec("vllm") is None:
            return  # start_run refuses the run in one line, which this block would bury
        lines = upstream_recipes.changed_defaults(trainer, values, self._explicit_fields)
        if lines:
            self._warn([upstream_recipes.changed_defaults_message(lines)])

    @staticmethod
    def _warn(messages: list[str]) -> None:
        if _on_local_main_process():
            for message in messages:
                logger.warning(message)
