"""Whether the Hub models and datasets a command names can be had, and its pushes made: checked before anything loads.

    check_references([("model_name_or_path", "Qwen/Qwen2.5-1.5B-Instruct", "model")], push=None)
    # a missing local path, then the Hub: the training scripts (usage.check_command_line), the evaluator,
    # make evaluate, generate.py, generate_reasoning.py and decontaminate.py call it before they load anything

Without a network, a Hub id cost half a minute of retries in the libraries, then a traceback after the
configuration dump; a push failed once the model had loaded (`push_to_hub`) or at the first checkpoint
(`push_to_hub_revision`). Here, in a fraction of a second (a few when the network drops packets):

- With offline mode on (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`; `HF_DATASETS_OFFLINE`, where set, for
  datasets, as `datasets` reads them), a Hub id must be in the Hugging Face cache, and nothing may push.
- Otherwise, when the command names a Hub id or pushes, the Hub's endpoint (`HF_ENDPOINT`) is asked once
  (any HTTP answer counts; the proxy variables apply, as they do for huggingface_hub's client). Where it does
  not answer, a push is refused and so is a Hub id that is not in the cache; when every Hub id is cached the
  process goes on offline (`HF_HUB_OFFLINE=1`, set before any library reads it), and says so in one line.

Each refusal is a `UsageError` naming the field. It imports only the standard library. Not covered: whether a Hub
id exists or is gated when the Hub answers (the libraries say so within seconds), a revision missing from a cached
repository, and whether the token can push.
"""

import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from open_r1.usage import UsageError, check_local_path, looks_local, main_process

logger = logging.getLogger(__name__)

HUB_ENDPOINT = "https://huggingface.co"
# Seconds to wait for the Hub's answer, and how many times to ask: a network blip must not refuse a job that
# the libraries' own retries would have started.
HUB_CHECK_SECONDS = 5.0
HUB_CHECK_ATTEMPTS = 3
HUB_CHECK_PAUSE_SECONDS = 1.0

# huggingface_hub's and datasets' reading of a boolean environment variable.
_TRUE_VALUES = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True)
class Push:
    """A push to the Hub the command would make: what asks for it (`push_to_hub would push to the Hub`), and how to
    do without (`add --push_to_hub false`)."""

    what: str
    instead: str


@dataclass(frozen=True)
class HubReference:
    """A model or dataset a command names by Hub id: `field` is the option or recipe field that names it."""

    field: str
    repo_id: str
    kind: Literal["model", "dataset"]


def _is_true(value: str | None) -> bool:
    return value is not None and value.upper() in _TRUE_VALUES


def offline(kind: str) -> bool:
    """Whether the libraries load a `kind` of repository offline, by the environment variables they read."""
    # huggingface_hub: HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE; datasets: HF_DATASETS_OFFLINE where it is set.
    hub_offline = _is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE"))
    datasets_setting = os.environ.get("HF_DATASETS_OFFLINE")
    if kind == "dataset" and datasets_setting is not None:
        return _is_true(datasets_setting)
    return hub_offline


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def hf_home() -> str:
    """huggingface_hub's HF_HOME (tests hold the two equal)."""
    default = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache")), "huggingface")
    return _expand(os.environ.get("HF_HOME", default))


def hub_cache() -> str:
    """huggingface_hub's HF_HUB_CACHE, where both libraries download repositories."""
    legacy = os.environ.get("HUGGINGFACE_HUB_CACHE", os.path.join(hf_home(), "hub"))
    return _expand(os.environ.get("HF_HUB_CACHE", legacy))


def datasets_cache() -> str:
    """datasets' HF_DATASETS_CACHE, where it keeps the Arrow files of what it loaded."""
    return _expand(os.environ.get("HF_DATASETS_CACHE", os.path.join(hf_home(), "datasets")))


def _squashed(name: str) -> str:
    # datasets names its cache folder `<org>___<name in snake case>`: compare names without case or separators.
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_cached(reference: HubReference) -> bool:
    """Whether the libraries can load `reference` offline: a downloaded snapshot in the Hub cache, or, for a
    dataset, the Arrow files datasets prepared from it. Lenient where unsure: the libraries have the last word."""
    folder = os.path.join(hub_cache(), "--".join([f"{reference.kind}s", *reference.repo_id.split("/")]))
    snapshots = os.path.join(folder, "snapshots")
    if os.path.isdir(snapshots) and any(os.scandir(snapshots)):
        return True
    if reference.kind != "dataset" or not os.path.isdir(datasets_cache()):
        return False
    wanted = [_squashed(part) for part in reference.repo_id.split("/")]
    for entry in os.scandir(datasets_cache()):
        if entry.is_dir() and [_squashed(part) for part in entry.name.split("___")] == wanted:
            return True
    return False


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", HUB_ENDPOINT).rstrip("/")


def hub_unreachable_reason(
    attempts: int = HUB_CHECK_ATTEMPTS, seconds: float = HUB_CHECK_SECONDS, pause: float = HUB_CHECK_PAUSE_SECONDS
) -> str | None:
    """None when the Hub's endpoint gives any HTTP answer within `attempts` tries, else why it did not."""
    reason = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        try:
            with urllib.request.urlopen(urllib.request.Request(hub_endpoint(), method="HEAD"), timeout=seconds):
                return None
        except urllib.error.HTTPError:
            return None
        except (urllib.error.URLError, OSError, ValueError) as error:
            cause = getattr(error, "reason", None) or error
            reason = str(getattr(cause, "strerror", None) or cause) or type(cause).__name__
    return reason


OFFLINE_MODE = "offline mode (HF_HUB_OFFLINE) keeps the Hub out of reach"


LOCAL_INSTEAD = "give a local path, or download it where the Hub answers"


def _refusal(why: str, missing: Sequence[HubReference], push: Push | None, instead: str) -> UsageError:
    """One line: `why` the Hub cannot be used, then the references it leaves `missing` and the push it stops."""
    parts = []
    if missing:
        names = [f"{reference.field} {reference.repo_id}" for reference in missing]
        names = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        what = "is neither a local path nor" if len(missing) == 1 else "are neither local paths nor"
        parts.append(f"{names} {what} in the Hugging Face cache ({hub_cache()}): {instead}")
    if push is not None:
        parts.append(f"{push.what}: {push.instead}")
    return UsageError(f"{why}, so {'; '.join(parts)}")


def check_hub_access(
    references: Sequence[HubReference], push: Push | None = None, instead: str = LOCAL_INSTEAD
) -> None:
    """Raises a UsageError when a Hub reference cannot be loaded (`instead`: what the user can do) or the `push`
    (None when nothing pushes) cannot be made; goes on offline where the Hub does not answer and every reference is
    cached."""
    missing = [reference for reference in references if offline(reference.kind) and not is_cached(reference)]
    push_offline = push if push is not None and offline("model") else None
    if missing or push_offline:
        raise _refusal(OFFLINE_MODE, missing, push_offline, instead)
    online = [reference for reference in references if not offline(reference.kind)]
    if not online and push is None:
        return
    reason = hub_unreachable_reason()
    if reason is None:
        return
    why = f"the Hub ({hub_endpoint()}) does not answer ({reason})"
    missing = [reference for reference in online if not is_cached(reference)]
    if missing or push is not None:
        raise _refusal(why, missing, push, instead)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("HF_DATASETS_OFFLINE", None)
    if main_process():
        names = ", ".join(reference.repo_id for reference in online)
        logger.warning("%s: loading %s from the Hugging Face cache, as with HF_HUB_OFFLINE=1", why, names)


def check_references(
    references: Iterable[tuple[str, str, str]], push: Push | None = None, instead: str = LOCAL_INSTEAD
) -> None:
    """For each (field, reference, kind: model or dataset): a local path must exist (`check_local_path`, with its
    did-you-mean); the others, and the `push`, go to `check_hub_access` together (the Hub is asked once)."""
    hub = []
    for field, reference, kind in references:
        check_local_path(field, reference)
        hub += [
            HubReference(field, part.strip(), kind) for part in reference.split(",") if not looks_local(part.strip())
        ]
    check_hub_access(hub, push, instead)
