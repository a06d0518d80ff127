"""A user's mistake in a recipe or command line, reported in one line with exit status 2, before anything loads.

    # at the top of an entry script, before TRL is imported (that import alone takes seconds):
    if __name__ == "__main__":
        with exit_on_usage_error():
            check_command_line(sys.argv[1:])   # the recipe's YAML, its local paths, its Hub ids and pushes
    ...
    if __name__ == "__main__":
        with exit_on_usage_error():          # any UsageError below: `sft.py: error: <one line>`, exit status 2
            main(*RecipeParser(...).parse_args_and_config())

- `UsageError`: what the user wrote cannot work. It is a ValueError, so code that catches those still does.
  `exit_on_usage_error` prints it as `<script>: error: <message>` (argparse's form and exit status), on the
  main process only when a launcher started several: the others wait for the launcher to stop them.
- `read_recipe`: a recipe's YAML mapping; a syntax error is `file:line:column: problem`, a missing file one line.
- `looks_local` / `check_local_path`: a model or dataset reference that starts with `.`, `/` or `~`, names a data
  file, or starts with a folder of the working directory (`data/tiny-modle` where `data/` exists) is a local
  path; when it does not exist that is an error at once, instead of a minute of Hub retries for a Hub id that
  never existed. `check_command_line` also checks that the Hub ids can be had and a push made
  (`open_r1.hub_access`: in the cache when offline or when the Hub does not answer).
- `ArgumentParser`: argparse's, with its mistakes raised as `UsageError`, a misspelt option named (with the close
  known ones) before a missing required one; `dataclass_parser`: transformers' HfArgumentParser likewise.
- `did_you_mean`: the close matches among known names, for unknown fields and paths; `unknown_names` the whole
  message for unknown options or fields.

It imports only the standard library and PyYAML, so these checks run in a fraction of a second (asking the Hub, where
a command names a Hub id or pushes, takes what `open_r1.hub_access` says). Not covered: the
exit status of `accelerate launch` itself, which reports any failed process with a traceback of its own and
exits with 1 (accelerate 1.15); the scripts' own line still appears once.
"""

import argparse
import contextlib
import difflib
import itertools
import os
import pathlib
import re
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

# argparse's exit status for a command line it cannot use.
USAGE_ERROR_STATUS = 2

# The `datasets` builder that reads each kind of data file (`open_r1.data.loading`); a reference ending in one of
# these suffixes is a local file, never a Hub id. Here, not there, so that the path checks need not import datasets.
DATA_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv", ".arrow": "arrow"}

# The fields of the training scripts that name a model or dataset by Hub id or local path.
PATH_FIELDS = ("model_name_or_path", "dataset_name")


class UsageError(ValueError):
    """The recipe or command line asks for something that cannot work; the message says what, in one line."""


def _rank() -> str:
    # Launchers (torchrun, accelerate) set RANK for every process they start.
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))


def main_process() -> bool:
    """Whether this is the process that reports, the only one or a launcher's rank 0."""
    return _rank() == "0"


# How long a process other than the main one waits for the main process to report the same error (it parses the
# same recipe; a loaded machine can take a few seconds longer to import TRL in one process than in another).
MAIN_PROCESS_GRACE_SECONDS = 30.0


def one_line(message: str) -> str:
    """`message` with its line breaks and runs of spaces folded into single spaces."""
    return re.sub(r"\s*\n\s*", " ", str(message)).strip()


@contextlib.contextmanager
def exit_on_usage_error(prog: str | None = None) -> Iterator[None]:
    """Turns a `UsageError` raised inside into `<prog>: error: <message>` on stderr and exit status 2.

    Under a launcher only the main process prints. The others wait for it: a launcher stops every process once
    one exits, and one that exited first could get the main process killed before it printed. One still alive
    after `MAIN_PROCESS_GRACE_SECONDS` (the main process did not fail the same way) prints its own error.
    Any other exception passes.
    """
    try:
        yield
    except UsageError as error:
        message = f"{prog or os.path.basename(sys.argv[0])}: error: {one_line(error)}"
        if not main_process():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the launcher's SIGTERM ends the wait, quietly
            time.sleep(MAIN_PROCESS_GRACE_SECONDS)
            message = f"[rank {_rank()}] {message}"
        print(message, file=sys.stderr, flush=True)
        sys.exit(USAGE_ERROR_STATUS)


@contextlib.contextmanager
def exit_on_interrupt(what: str) -> Iterator[None]:
    """Ctrl-C inside: one line saying what `what` left (`make demo`'s folder), exit status 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        print(f"\n{os.path.basename(sys.argv[0])}: interrupted; {what}", file=sys.stderr, flush=True)
        sys.exit(130)


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")


def _closest_choice(message: str) -> str:
    """` (did you mean 'vllm'?)` for argparse's "invalid choice: 'vlm' (choose from 'vllm', ...)", else ''."""
    found = _INVALID_CHOICE.search(message)
    if not found:
        return ""
    choices = re.findall(r"'([^']*)'", found.group(2))
    close = difflib.get_close_matches(found.group(1), choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose mistakes are `UsageError`s: `exit_on_usage_error` prints one line for them, where
    argparse prints its whole usage first."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # a misspelt option is reported, not read as the option it starts
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(message + _closest_choice(message))

    def parse_args(self, args=None, namespace=None):
        args = self._in_known_spelling(args)
        if "--config" not in self._option_string_actions and any(
            word == "--config" or word.startswith("--config=") for word in args
        ):  # else argparse names the required options first, as if the recipe had not been read
            raise UsageError("this script reads no recipe (--config): give its settings as options; --help lists them")
        self.check_options_known(args)
        namespace, extras = self.parse_known_args(args, namespace)
        # `--system_promt="a b"`: one word with a space, which argparse (and the check above) reads as a value.
        options = [word.split("=", 1)[0][2:] for word in extras if word.startswith("--") and "=" in word]
        options = [name for name in options if name and " " not in name]
        if options:
            raise UsageError(unknown_names(options, self._known_option_names(), "option", "--"))
        if extras:
            self.error(f"unrecognized arguments: {' '.join(word for word in extras if word != '--')}")
        return namespace

    def check_options_known(self, args: list[str]) -> None:
        """Raises for the options of `args` this parser does not know, with the close known names, before argparse
        parses: it would name a missing required option first (`--seeed 3` without `--task`), or say
        "unrecognized arguments" without a suggestion."""
        if any(isinstance(action, argparse._SubParsersAction) for action in self._actions):
            return  # a subcommand's options are its parser's
        unknown = []
        for word in args:
            if word == "--":
                break
            option = word.split("=", 1)[0]
            # argparse reads a word with a space as a value, however it starts (`--args "--lr 1e-5"`).
            if (
                option.startswith("--")
                and len(option) > 2
                and " " not in word
                and option not in self._option_string_actions
            ):
                unknown.append(option[2:])
        if unknown:
            raise UsageError(unknown_names(unknown, self._known_option_names(), "option", "--"))

    def _known_option_names(self) -> set[str]:
        """The parser's long options without their dashes; HfArgumentParser knows `--a_b` as `--a-b` too: one
        spelling, the field's."""
        names = {name[2:] for name in self._option_string_actions if name.startswith("--")}
        return {name for name in names if not ("-" in name and name.replace("-", "_") in names)}

    def _in_known_spelling(self, args):
        """`args` with each `--a_b` written as the parser's `--a-b`, or the other way round, as HfArgumentParser
        takes both: upstream's generate_reasoning.py spells its options with dashes, the training scripts with
        underscores."""
        known = self._option_string_actions
        spelled = []
        for word in sys.argv[1:] if args is None else args:
            option, equals, value = word.partition("=")
            if option.startswith("--") and len(option) > 2 and option not in known:
                name = option[2:]
                option = next(
                    (
                        other
                        for other in (f"--{name.replace('_', '-')}", f"--{name.replace('-', '_')}")
                        if other in known
                    ),
                    option,
                )
            spelled.append(option + equals + value)
        return spelled


def dataclass_parser(dataclass_types, **kwargs) -> ArgumentParser:
    """transformers' `HfArgumentParser` over `dataclass_types` (a script's options as dataclass fields) whose every
    mistake is a one-line `UsageError`: an unknown option (named before a missing required one), a value it cannot
    read, a leftover argument, and the classes' own checks (the ValueErrors of their `__post_init__`)."""
    from transformers import HfArgumentParser  # seconds: only the scripts that parse dataclasses pay for it

    class DataclassParser(HfArgumentParser, ArgumentParser):
        def parse_args_into_dataclasses(self, args=None, return_remaining_strings=False, **kwargs):
            words = sys.argv[1:] if args is None else list(args)
            if not return_remaining_strings:
                self.check_options_known(words)
                _, remaining = self.parse_known_args(words)
                if remaining:
                    raise UsageError(
                        f"unexpected argument(s) {remaining}; every setting is --FIELD VALUE, --help lists them"
                    )
            try:
                return super().parse_args_into_dataclasses(words, return_remaining_strings, **kwargs)
            except UsageError:
                raise
            except ValueError as error:
                raise UsageError(one_line(error)) from error

    return DataclassParser(dataclass_types, **kwargs)


def as_bool(value: Any) -> bool:
    """A boolean as HfArgumentParser reads one written as text (a recipe's YAML gives a bool); ValueError else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "t", "y"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "0", "f", "n"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def reads_true(value: Any) -> bool:
    """Whether a setting read before the parser (`command_line_settings`) is true: False for an unset one, and for a
    value that is no boolean (the parser names that one, after the checks that read it)."""
    try:
        return as_bool(value)
    except ValueError:
        return False


def did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    """` (did you mean --x?)` for the names of `known` close to `name`, or '' when none is."""
    matches = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.7)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(f"{prefix}{match}" for match in matches) + "?)"


def unknown_names(
    names: Iterable[str], known: Iterable[str], kind: str, prefix: str = "", listing: str = "--help"
) -> str:
    """`unknown option --x (did you mean --y?); --help lists them` for the `names` a parser does not know (`kind`:
    option or field; `prefix`: how the user wrote them, `--` or nothing; `listing`: the option that lists them)."""
    names, known = list(names), set(known)
    listed = ", ".join(f"{prefix}{name}{did_you_mean(name.replace('-', '_'), known, prefix)}" for name in names)
    return f"unknown {kind}{'s' if len(names) > 1 else ''} {listed}; {listing} lists them"


class _RecipeLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping, where safe_load keeps the last silently."""


def _mapping_without_repeats(loader: _RecipeLoader, node, deep: bool = False):
    first_line: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in first_line:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key} is set twice (first on line {first_line[key]}); the later would silently win",
                key_node.start_mark,
            )  # fmt: skip
        first_line.setdefault(key, key_node.start_mark.line + 1)
    return loader.construct_mapping(node, deep=deep)


_RecipeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def read_recipe(path: str, option: str = "--config") -> dict[str, Any]:
    """The mapping in the recipe YAML `path`; a missing file, bad YAML, a key set twice or a non-mapping is a
    one-line UsageError (naming `option` where the file is not there)."""
    try:
        with open(path, encoding="utf-8") as file:
            recipe = yaml.load(file, Loader=_RecipeLoader)
    except FileNotFoundError:
        check_local_path(option, path, local_only=True)  # names the close files, with its usual message
        raise UsageError(f"{option}: no such file or folder: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{option}: {path} is a folder; give a recipe .yaml file") from None
    except yaml.MarkedYAMLError as error:
        # A key without its colon ("num_generations 4") is found on the next line: its own line is the context's.
        simple_key = error.context == "while scanning a simple key" and error.context_mark is not None
        mark = error.context_mark if simple_key else error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = " ".join(part for part in (error.problem, f"({error.context})" if error.context else "") if part)
        hint = "; YAML indents with spaces, not tabs" if "'\\t'" in str(error.problem) else ""
        raise UsageError(f"{where}: {problem}{hint}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: {one_line(error)}") from None
    if not isinstance(recipe, dict):
        raise UsageError(f"{path}: a recipe is a YAML mapping of fields to values, got {type(recipe).__name__}")
    return recipe


# The local paths the project's scripts make (a folder's own name, or a prefix ending in /), and the command that
# makes them: a fresh clone has none, and `data/tiny-model` without a `data/` folder would read as a Hub id.
MADE_BY_SCRIPTS = {
    **dict.fromkeys(
        (
            "data/tiny-model",
            "data/tiny-sft",
            "data/tiny-math",
            "data/tiny-math-test.jsonl",
            "data/tiny-math-train.jsonl",
        ),
        "python scripts/make_tiny_model.py",
    ),
    "data/models/": "python scripts/get_model.py smollm2",
}


def made_by_script(reference: str) -> str | None:
    """The command that makes `reference` where it is a path the project's scripts write (MADE_BY_SCRIPTS)."""
    path = str(reference).removeprefix("./").rstrip("/")
    return next(
        (
            command
            for made, command in MADE_BY_SCRIPTS.items()
            if path == made or path.startswith(made.rstrip("/") + "/")
        ),
        None,
    )


def looks_local(reference: str) -> bool:
    """Whether `reference` (a model or dataset) is a local path rather than a Hub id, whether or not it exists."""
    if (
        reference.startswith((".", "/", "~"))
        or reference.endswith(tuple(DATA_FILE_BUILDERS))
        or os.path.exists(reference)
        or made_by_script(reference) is not None
    ):
        return True
    # A Hub repo id is `name` or `org/name`, and the Hub's only deeper reference is a bucket's
    # (`buckets/org/bucket/dir`, datasets 5.2): any other deeper path (`data/models/x`) is local before it exists.
    if reference.count("/") >= 2 and "://" not in reference and not reference.startswith("buckets/"):
        return True
    # `org/name` is a Hub id unless `org` is a folder here: then it is that folder's `name`.
    first, separator, _ = reference.partition("/")
    return bool(separator) and os.path.isdir(first)


# A folder transformers saved a model in, and one datasets saved a dataset in (`save_to_disk`): not suggested for a
# reference of the other kind.
KIND_MARKERS = {"model": ("config.json",), "dataset": ("dataset_dict.json", "state.json", "dataset_info.json")}


def _of_other_kind(entry: pathlib.Path, kind: str | None) -> bool:
    if kind is None or not entry.is_dir():
        return False
    others = [marker for other, markers in KIND_MARKERS.items() if other != kind for marker in markers]
    return any((entry / marker).is_file() for marker in others)


# A local model folder holds one of these (or a .gguf file); an empty or unrelated folder fails only once loading
# reaches it, with an error about sentencepiece.
MODEL_FOLDER_FILES = ("config.json", "tokenizer_config.json", "tokenizer.json")


# A model folder's weights, as save_pretrained writes them (sharded ones too).
MODEL_WEIGHT_FILES = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


def _has_gguf(path: pathlib.Path) -> bool:
    return next(path.glob("*.gguf"), None) is not None


def holds_model_files(path: pathlib.Path) -> bool:
    """Whether a folder holds a model's own files: a save_pretrained folder's config or tokenizer, or a .gguf."""
    return path.is_dir() and (_has_gguf(path) or any((path / name).exists() for name in MODEL_FOLDER_FILES))


def _check_model_folder(field: str, reference: str, path: pathlib.Path) -> None:
    """A local model folder holds a model: config and weights (a save_pretrained folder) or a .gguf checkpoint.
    Where it holds checkpoint-N folders instead, the latest is suggested."""
    if _has_gguf(path):
        return
    has_files = holds_model_files(path)
    if has_files and any(next(path.glob(pattern), None) for pattern in MODEL_WEIGHT_FILES):
        return
    from open_r1.utils.checkpoints import checkpoint_hint  # it imports this module

    hint = checkpoint_hint(reference.rstrip("/"))
    if has_files:
        raise UsageError(
            f"{field}: {reference} is a model folder without weights (no *.safetensors or *.bin beside its config "
            f"and tokenizer files){hint}"
        )
    raise UsageError(
        f"{field}: {reference} is a folder without a model: expected a save_pretrained folder (config.json, "
        f"tokenizer files, weights) or a .gguf checkpoint{hint}"
    )


# A `system_prompt` that names a file rather than being the prompt's text: one word ending in .txt or .md.
SYSTEM_PROMPT_FILE = re.compile(r"\S+\.(txt|md)")


def system_prompt_text(value: str | None, field: str = "system_prompt") -> str | None:
    """A `system_prompt` setting as its text: the file's (stripped) when it names a .txt or .md file, as training,
    evaluation and pass-rate filtering all read it; a missing file is a `UsageError` naming `field`."""
    if value is None or not SYSTEM_PROMPT_FILE.fullmatch(value):
        return value
    path = os.path.expanduser(value)
    check_local_path(field, path, local_only=True)
    with open(path, encoding="utf-8") as file:
        return file.read().strip()


def check_local_path(field: str, reference: str, local_only: bool = False, kind: str | None = None) -> None:
    """Raises a UsageError naming `field` when `reference` looks local (`looks_local`), or `local_only` (the field
    takes no Hub id), and does not exist; the close names it suggests leave out folders of the other `kind` (model or
    dataset) where it is given. A `kind` model folder must hold a model (`_check_model_folder`).

    A dataset reference may list several files separated by commas; each is checked.
    """
    for part in str(reference).split(","):
        part = part.strip()
        if not part or not (local_only or looks_local(part)):
            continue
        path = pathlib.Path(part).expanduser()
        if path.exists():
            if kind == "model" and path.is_dir():
                _check_model_folder(field, part, path)
            continue
        parent = next((p for p in path.parents if p.is_dir()), None)
        entries = list(itertools.islice(parent.iterdir(), 1000)) if parent is not None else []
        names = [entry.name for entry in entries if not _of_other_kind(entry, kind)]
        missing = path.relative_to(parent).parts[0] if parent is not None else path.name
        hint = did_you_mean(missing, names, prefix="" if parent in (None, pathlib.Path(".")) else f"{parent}/")
        maker = made_by_script(part)
        if not hint and maker is not None:
            hint = f" ({maker} makes it: run it first, from the repository's root)"
        org = part.split("/")[0]
        if not hint and not local_only and _hub_id_shaped(part) and (pathlib.Path(org) / ".git").exists():
            # `open-r1/OpenR1-Math-220k` run from the folder that holds a clone named open-r1
            hint = f" (read as a local path because {org}/ is a folder here; to load the Hub id, run elsewhere)"
        raise UsageError(f"{field}: no such file or folder: {part}{hint}")


def check_output_folder(field: str, folder: str) -> None:
    """Raises when `folder` cannot be made a folder: it is a file, or lies under one (the first save or write would
    fail there, after the work)."""
    wanted = os.path.abspath(os.path.expanduser(str(folder)))
    existing = wanted
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if os.path.isfile(existing):
        what = "is a file" if existing == wanted else f"lies under {existing}, a file"
        raise UsageError(f"{field} {folder} {what}; name a folder")


def _hub_id_shaped(reference: str) -> bool:
    """Whether `reference` is written as a Hub id `org/name` would be."""
    shaped = re.fullmatch(r"\w[\w.-]*/[\w.-]+", reference) is not None
    return shaped and not reference.endswith(tuple(DATA_FILE_BUILDERS))


def recipe_paths(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, reference) for every model and dataset a recipe mapping names that the run loads: mixture members,
    and `dataset_name` only without a mixture (which then takes its place)."""
    mixture = settings.get("dataset_mixture")
    names = [name for name in PATH_FIELDS if not (name == "dataset_name" and mixture is not None)]
    found = [(name, settings[name]) for name in names if isinstance(settings.get(name), str)]
    members = mixture.get("datasets") if isinstance(mixture, Mapping) else None
    for index, member in enumerate(members if isinstance(members, list) else []):
        if isinstance(member, Mapping) and isinstance(member.get("id"), str):
            found.append((f"dataset_mixture.datasets[{index}].id", member["id"]))
    return found


def _occurrences(args: list[str], name: str) -> Iterator[tuple[int, str | None]]:
    """(index, value written `--name=value`, else None) of each `--name` in `args`; `--name-with-dashes` counts
    too, as HfArgumentParser reads it."""
    options = {f"--{name}", f"--{name.replace('_', '-')}"}
    for index, token in enumerate(args):
        option, equals, value = token.partition("=")
        if option in options:
            yield index, value if equals else None


def _command_line_value(args: list[str], name: str, flag: str | None = None) -> str | None:
    """The value of the last `--name value` / `--name=value` in `args` (argparse's rule), or None; `flag`: the
    value of a bare `--name` (followed by another option or nothing), for boolean fields."""
    value = None
    for index, inline in _occurrences(args, name):
        following = args[index + 1] if index + 1 < len(args) else None
        if inline is not None:
            value = inline
        elif following is not None and not (flag is not None and following.startswith("--")):
            value = following
        elif flag is not None:
            value = flag
    return value


def _command_line_list(args: list[str], name: str) -> list[str] | None:
    """The values after the last `--name` (up to the next option), as argparse reads a list field, or None."""
    found = None
    for field_name, _, tokens in _options(args):
        if field_name == name:
            option, equals, inline = tokens[0].partition("=")
            found = [inline] if equals else tokens[1:]
    return found


def split_config_option(args: list[str]) -> list[str]:
    """`args` with `--config=RECIPE` written `--config RECIPE`, the only form TRL's parser reads."""
    return [part for token in args for part in (token.split("=", 1) if token.startswith("--config=") else [token])]


def recipe_argument(args: list[str]) -> str | None:
    """The recipe of `--config RECIPE` in `args`, or None; a second `--config` is an error (TRL's parser crashes
    on it)."""
    args = split_config_option(args)
    if "--config" not in args:
        return None
    indices = [index for index, word in enumerate(args) if word == "--config"]
    if indices[-1] + 1 == len(args):
        raise UsageError("--config needs a recipe file, e.g. --config recipes/tiny/sft/config_cpu.yaml")
    if len(indices) > 1:
        recipes = ", ".join(args[index + 1] for index in indices)
        raise UsageError(
            f"--config given {len(indices)} times ({recipes}): give one recipe and override its fields on the "
            "command line (--learning_rate 1e-5 ...)"
        )
    return args[indices[0] + 1]


def check_no_positional_argument(args: list[str]) -> None:
    """A training script takes options only: a word before the first one (a recipe without `--config`, most
    often) would be dropped."""
    if args and not args[0].startswith("-"):
        looks_like_recipe = args[0].endswith((".yaml", ".yml"))
        hint = f"; did you mean --config {args[0]}?" if looks_like_recipe else " (every argument is an --option)"
        raise UsageError(f"unexpected argument {args[0]!r}{hint}")


def _options(args: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(field name, option as written, its tokens) of each `--option` in `args` with the values after it, up to the
    next option; `--name` and `--name-with-dashes` are one field, as HfArgumentParser reads them."""
    for index, token in enumerate(args):
        if token.startswith("--") and len(token) > 2:
            option = token.partition("=")[0]
            values = itertools.takewhile(lambda word: not word.startswith("--"), args[index + 1 :])
            yield option[2:].replace("-", "_"), option, [token, *values]


def check_options_given_once(args: list[str]) -> None:
    """Each option at most once: argparse keeps the last of `--max_steps 1 ... --max_steps 2` silently.
    `--config` has its own check (`recipe_argument`)."""
    seen: dict[str, list[str]] = {}
    for name, option, tokens in _options(args):
        if name in seen and name != "config":
            said = [
                " ".join(given) if len(given) > 1 or "=" in given[0] else f"{given[0]} (bare)"
                for given in (seen[name], tokens)
            ]
            raise UsageError(
                f"{option} is given twice on the command line ({said[0]}, then {said[1]}); give it once: the last "
                "would silently win"
            )
        seen[name] = tokens


def merged_options(*groups: Iterable[str]) -> list[str]:
    """The options of `groups` (each `--option value...`), a later group's value of an option replacing an earlier
    one's in its place: how a launcher layers its own overrides before the training script, which refuses an option
    given twice (`check_options_given_once`)."""
    merged: dict[str, list[str]] = {}
    for group in map(list, groups):
        if group and not group[0].startswith("--"):
            raise ValueError(f"{group[0]!r} is no --option: launch overrides are options with their values")
        for name, _, tokens in _options(group):
            merged[name] = tokens
    return [token for tokens in merged.values() for token in tokens]


def command_line_settings(args: list[str], names: Iterable[str], flags: Iterable[str] = ()) -> dict[str, Any]:
    """The `--config` recipe's mapping with the command line's values of `names` (and of the boolean `flags`, which
    may stand bare) on top, as the parser will read them."""
    config = recipe_argument(args)
    settings = read_recipe(config) if config is not None else {}
    for name, flag in [(name, None) for name in names] + [(name, "true") for name in flags]:
        value = _command_line_value(args, name, flag=flag)
        if value is not None:
            settings[name] = value
    return settings


def loaded_references(settings: Mapping[str, Any], models: bool = True) -> list[tuple[str, str, str]]:
    """(field, reference, model or dataset) of what a run loads (`recipe_paths`); `models`: whether the model is
    loaded, rather than a name a server answers to."""
    return [
        (field, reference, "model" if field == "model_name_or_path" else "dataset")
        for field, reference in recipe_paths(settings)
        if models or field != "model_name_or_path"
    ]


def check_command_line(args: list[str], on_this_machine: bool = True) -> None:
    """The checks a training script's command line gets before TRL loads: the `--config` recipe is valid YAML,
    the models and datasets it and the command line name exist where they look local (`check_local_path`), as does
    the checkpoint `resume_from_checkpoint` names, and
    the others, and any push, can be had from the Hub or the cache (`open_r1.hub_access`); `on_this_machine`, that
    this machine can run it (cores, a GPU for a GPU recipe: not for `check_recipe`, which checks a GPU recipe where
    it is written, on a login node)."""
    # hub_access builds on this module, hence the import here
    from open_r1.hub_access import PUSH_FIELDS, TOKEN_FIELDS, check_references, training_push
    from open_r1.utils.checkpoints import check_resumable
    from open_r1.utils.launch_settings import check_gpu_settings_on_a_cpu, check_processes_fit_the_cores

    if not args:  # the dataclasses' own checks would name one missing field (dataset_name) as if the rest were set
        raise UsageError(
            "give a recipe, --config RECIPE.yaml, and any field to change as --FIELD VALUE: recipes/ holds them "
            "(recipes/tiny/ the CPU ones); --help lists the fields"
        )
    check_no_positional_argument(args)
    check_options_given_once(args)
    settings = command_line_settings(
        args,
        (*PATH_FIELDS, *TOKEN_FIELDS, "resume_from_checkpoint", "chat_template_path"),
        flags=(*PUSH_FIELDS, "use_cpu", "bf16", "fp16", "use_vllm"),
    )
    use_cpu = reads_true(settings.get("use_cpu"))
    if on_this_machine and not {"-h", "--help", "--help-all"} & set(args):  # help runs nothing
        check_processes_fit_the_cores(use_cpu)
        check_gpu_settings_on_a_cpu(settings, use_cpu)
    if isinstance(settings.get("resume_from_checkpoint"), str):  # else transformers says so after the model loaded
        check_local_path("resume_from_checkpoint", settings["resume_from_checkpoint"], local_only=True)
        if not os.path.isdir(os.path.expanduser(settings["resume_from_checkpoint"])):
            raise UsageError(
                f"resume_from_checkpoint: {settings['resume_from_checkpoint']} is a file; name a checkpoint-N folder"
            )
        check_resumable(settings["resume_from_checkpoint"])
    # TRL sets the recipe's `env` variables as it parses; set now, they count for the checks too (HF_TOKEN, ...).
    environment = settings.get("env")
    for name, value in environment.items() if isinstance(environment, Mapping) else ():
        os.environ[str(name)] = str(value)
    callbacks = _command_line_list(args, "callbacks")
    if callbacks is not None:
        settings["callbacks"] = callbacks
    references = loaded_references(settings)
    template_source = settings.get("chat_template_path")  # SFT's: a template file, or a tokenizer's folder or Hub id
    if isinstance(template_source, str):
        from open_r1.utils.chat_templates import check_chat_template_path, template_path_is_local

        check_chat_template_path(template_source)
        if not template_path_is_local(template_source):
            references.append(("chat_template_path", template_source, "model"))
    check_references(references, training_push(settings))
