"""Whether the Hub models and datasets a command names can be had, and its pushes made: checked before anything loads.

    check_references([("model_name_or_path", "Qwen/Qwen2.5-1.5B-Instruct", "model")], push=None)
    # a missing local path, then the Hub: the training scripts (usage.check_command_line), compute_pass_rate.py,
    # the evaluator, make evaluate, generate.py, generate_reasoning.py and decontaminate.py, before they load anything

Without a network, a Hub id cost half a minute of retries in the libraries, then a traceback after the
configuration dump; a push failed once the model had loaded (`push_to_hub`), at the first checkpoint
(`callbacks: [push_to_hub_revision]`) or after hours of sampling (`compute_pass_rate.py`). Here, before anything
loads (at most `HUB_CHECK_ATTEMPTS` × `HUB_CHECK_SECONDS` where the network drops packets; 2 s where the Hub's name
does not resolve):

- With offline mode on (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`; `HF_DATASETS_OFFLINE`, where set, for
  datasets, as `datasets` reads them), a Hub id must be in the cache and nothing may push.
- Otherwise, when the command names a Hub id or pushes, the Hub's endpoint (`HF_ENDPOINT`) is asked with httpx as
  huggingface_hub asks it (the same proxy variables, `ALL_PROXY` included, and certificates); any HTTP answer
  counts, a proxy's included. Where it does not answer, a push is refused and so is a Hub id that is not in the
  cache; when every Hub id is cached the process goes on offline (`HF_HUB_OFFLINE=1`, and the libraries' own flags
  where they are already imported), and says so in one line. Where it answers, a push needs a token (`hub_token`,
  `HF_TOKEN`, `hf auth login`), except `push_to_hub_revision` alone, which only reads.

In the cache means: a model with a snapshot in huggingface_hub's cache (`HF_HUB_CACHE`); a dataset prepared in
datasets' own cache (`HF_DATASETS_CACHE`), the only copy `datasets` loads a Hub id from offline (a snapshot that
`hf download` left in the Hub cache is not one). Each refusal is one `UsageError` naming every field it concerns.
Under a launcher every process checks for itself. It imports httpx and huggingface_hub only where it asks the Hub.
Not covered: whether a Hub id exists or is gated when the Hub answers (the libraries say so within seconds), a
revision missing from a cached repository, and whether a token may push there.
"""

import glob
import logging
import os
import pathlib
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from open_r1.usage import UsageError, check_local_path, holds_model_files, looks_local, main_process, reads_true

logger = logging.getLogger(__name__)

HUB_ENDPOINT = "https://huggingface.co"
# Seconds to wait for the Hub's answer, and how many times to ask: a network blip must not refuse a job that
# the libraries' own retries would have started.
HUB_CHECK_SECONDS = 5.0
HUB_CHECK_ATTEMPTS = 3
HUB_CHECK_PAUSE_SECONDS = 1.0

# huggingface_hub's and datasets' reading of a boolean environment variable.
_TRUE_VALUES = {"1", "ON", "YES", "TRUE"}
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
LOCAL_INSTEAD = "give a local path, or load it once where the Hub answers, which caches it"


@dataclass(frozen=True)
class HubReference:
    """A model or dataset a command names by Hub id: `field` is the option or recipe field that names it."""

    field: str
    repo_id: str
    kind: Literal["model", "dataset"]


@dataclass(frozen=True)
class Push:
    """What the command would do on the Hub besides loading: what asks for it (`push_to_hub needs the Hub`), how to
    do without (`add --push_to_hub false`), and whether it needs a token where the command gives none."""

    what: str
    instead: str
    needs_token: bool = True
    token_given: bool = False  # the command passes its own token (`hub_token`), which this push uses


# What makes a training run use the Hub beyond loading: transformers' push at the end (`push_to_hub`), the check of
# the branch at start (`push_to_hub_revision`, which only reads), the callback that pushes each checkpoint (with
# the login's token: it does not read hub_token). `push_to_hub_token` is upstream's name of `hub_token`.
PUSH_FIELDS = ("push_to_hub", "push_to_hub_revision")
PUSH_CALLBACK = "push_to_hub_revision"
TOKEN_FIELDS = ("hub_token", "push_to_hub_token")


def training_push(settings: Mapping[str, Any]) -> Push | None:
    """The Hub work of a training run's `settings` (a recipe with its command line on top), or None."""
    parts = []  # (what asks for the Hub, how to do without, whether a token is needed)
    if reads_true(settings.get("push_to_hub")):
        parts.append(("push_to_hub needs the Hub", "add --push_to_hub false", True))
    if reads_true(settings.get("push_to_hub_revision")):
        parts.append(("push_to_hub_revision needs the Hub", "add --push_to_hub_revision false", False))
    callbacks = settings.get("callbacks")
    callback = isinstance(callbacks, list) and PUSH_CALLBACK in callbacks
    if callback:
        parts.append(
            (f"callbacks: [{PUSH_CALLBACK}] pushes each checkpoint", f"leave {PUSH_CALLBACK} out of callbacks", True)
        )
    if not parts:
        return None
    return Push(
        " and ".join(what for what, _, _ in parts),
        " and ".join(instead for _, instead, _ in parts),
        needs_token=any(needs for _, _, needs in parts),
        token_given=not callback and any(settings.get(name) for name in TOKEN_FIELDS),
    )


def _variable_is_true(value: str | None) -> bool:
    return value is not None and value.upper() in _TRUE_VALUES


def offline(kind: str) -> bool:
    """Whether the libraries load a `kind` of repository offline, by the environment variables they read."""
    # huggingface_hub: HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE; datasets: HF_DATASETS_OFFLINE where it is set.
    hub_offline = _variable_is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE"))
    datasets_setting = os.environ.get("HF_DATASETS_OFFLINE")
    if kind == "dataset" and datasets_setting is not None:
        return _variable_is_true(datasets_setting)
    return hub_offline


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def hf_home() -> str:
    """huggingface_hub's HF_HOME (tests hold the two equal)."""
    default = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache")), "huggingface")
    return _expand(os.environ.get("HF_HOME", default))


def hub_cache() -> str:
    """huggingface_hub's HF_HUB_CACHE, where the libraries download repositories."""
    legacy = os.environ.get("HUGGINGFACE_HUB_CACHE", os.path.join(hf_home(), "hub"))
    return _expand(os.environ.get("HF_HUB_CACHE", legacy))


def datasets_cache() -> str:
    """datasets' HF_DATASETS_CACHE, where it keeps the Arrow files of what it loaded."""
    return _expand(os.environ.get("HF_DATASETS_CACHE", os.path.join(hf_home(), "datasets")))


def cache_of(kind: str) -> str:
    """The cache a `kind` of Hub id loads from offline."""
    return hub_cache() if kind == "model" else datasets_cache()


def _squashed(name: str) -> str:
    # datasets names its cache folder `<org>___<name in snake case>`: compare names without case or separators.
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_cached(reference: HubReference) -> bool:
    """Whether the libraries can load `reference` offline (see the module's docstring); lenient where unsure, since
    the libraries have the last word."""
    if reference.kind == "model":
        snapshots = os.path.join(hub_cache(), "--".join(["models", *reference.repo_id.split("/")]), "snapshots")
        if not os.path.isdir(snapshots):
            return False
        with os.scandir(snapshots) as entries:
            return any(entries)
    if not os.path.isdir(datasets_cache()):
        return False
    wanted = [_squashed(part) for part in reference.repo_id.split("/")]
    with os.scandir(datasets_cache()) as entries:
        return any(
            entry.is_dir() and [_squashed(part) for part in entry.name.split("___")] == wanted for entry in entries
        )


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", HUB_ENDPOINT).rstrip("/")


def hub_unreachable_reason(
    attempts: int = HUB_CHECK_ATTEMPTS, seconds: float = HUB_CHECK_SECONDS, pause: float = HUB_CHECK_PAUSE_SECONDS
) -> str | None:
    """None when the Hub's endpoint gives any HTTP answer within `attempts` tries, else why it did not."""
    import httpx

    reason = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        try:
            httpx.head(hub_endpoint(), timeout=seconds)
            return None
        except Exception as error:  # noqa: BLE001 - whatever stops the request, the Hub did not answer it
            reason = str(error) or type(error).__name__
    return reason


def _offline_mode() -> str:
    """`offline mode (HF_HUB_OFFLINE=1)`, naming the variables that are set."""
    settings = ", ".join(f"{name}={os.environ[name]}" for name in OFFLINE_VARIABLES if name in os.environ)
    return f"offline mode ({settings}) keeps the Hub out of reach"


def _local_lookalike(reference: "HubReference") -> str:
    """ " (did you mean data/tiny-model?)" where a path one or two levels down has the Hub id's name and holds what the
    reference loads (a model folder holds a config or a .gguf): a local path given without its parents reads as a
    Hub id."""
    name = glob.escape(reference.repo_id)
    found = sorted(
        str(path)
        for pattern in (f"*/{name}", f"*/*/{name}")
        for path in pathlib.Path(".").glob(pattern)
        if not any(part.startswith(".") for part in path.parts)
        and (reference.kind != "model" or holds_model_files(path))
    )
    return f" (did you mean {found[0]}?)" if found else ""


def _refusal(why: str, missing: Sequence[HubReference], push: Push | None, instead: str) -> UsageError:
    """One line: `why` the Hub cannot be used, then the references it leaves `missing` and the push it stops."""
    parts = []
    if missing:
        names = [f"{reference.field} {reference.repo_id}{_local_lookalike(reference)}" for reference in missing]
        names = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        what = "is neither a local path nor" if len(missing) == 1 else "are neither local paths nor"
        caches = " and ".join(dict.fromkeys(cache_of(reference.kind) for reference in missing))
        parts.append(f"{names} {what} in the cache ({caches}): {instead}")
    if push is not None:
        parts.append(f"{push.what}: {push.instead}")
    return UsageError(f"{why}, so {'; '.join(parts)}")


def has_token() -> bool:
    """Whether huggingface_hub finds a token to push with (HF_TOKEN, `hf auth login`'s file, ...); where looking
    fails, the libraries have the last word."""
    from huggingface_hub import get_token

    try:
        return get_token() is not None
    except Exception:  # noqa: BLE001 - e.g. an OIDC exchange that failed: the push will say why
        return True


def go_offline() -> None:
    """Offline mode for the rest of this process and its children, the libraries already imported included."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("HF_DATASETS_OFFLINE", None)
    # Both read the variable once, at import; `datasets` also keeps it under its older name.
    for module, names in (
        ("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
        ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")),
    ):
        if module in sys.modules:
            for name in names:
                setattr(sys.modules[module], name, True)


def check_hub_access(
    references: Sequence[HubReference], push: Push | None = None, instead: str = LOCAL_INSTEAD
) -> None:
    """Raises a UsageError when a Hub reference cannot be loaded (`instead`: what the user can do) or the `push`
    (None when nothing pushes) cannot be made; goes on offline where the Hub does not answer and every reference is
    cached."""
    missing = [reference for reference in references if offline(reference.kind) and not is_cached(reference)]
    push_offline = push if push is not None and offline("model") else None
    if missing or push_offline:
        raise _refusal(_offline_mode(), missing, push_offline, instead)
    online = [reference for reference in references if not offline(reference.kind)]
    if not online and push is None:
        return
    reason = hub_unreachable_reason()
    if reason is None:
        if push is not None and push.needs_token and not push.token_given and not has_token():
            raise UsageError(
                f"{push.what} and no Hub token is set: log in with `hf auth login`, set HF_TOKEN or hub_token, or "
                f"{push.instead}"
            )
        return
    why = f"the Hub ({hub_endpoint()}) does not answer ({reason})"
    missing = [reference for reference in online if not is_cached(reference)]
    if missing or push is not None:
        raise _refusal(why, missing, push, instead)
    go_offline()
    if main_process():
        names = ", ".join(reference.repo_id for reference in online)
        logger.warning("%s: loading %s from the cache, as with HF_HUB_OFFLINE=1", why, names)


def check_references(
    references: Iterable[tuple[str, str, str]], push: Push | None = None, instead: str = LOCAL_INSTEAD
) -> None:
    """For each (field, reference, kind: model or dataset): a local path must exist (`check_local_path`, with its
    did-you-mean); the others, and the `push`, go to `check_hub_access` together (the Hub is asked once)."""
    hub = []
    for field, reference, kind in references:
        check_local_path(field, reference, kind=kind)
        parts = [part.strip() for part in reference.split(",")]
        hub += [HubReference(field, part, kind) for part in parts if part and not looks_local(part)]
    check_hub_access(hub, push, instead)
