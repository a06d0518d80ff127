"""Shared helpers of the training scripts: data loading, model/tokenizer loading, Hub, callbacks.

Also upstream open-r1's `open_r1.utils` names: `get_dataset`, `get_model`, `get_tokenizer`, `is_e2b_available`,
`is_morph_available`. They are imported on first use, so that a light submodule (`open_r1.utils.launch`, which
spawned processes import) does not load transformers and datasets. The project imports each from its home.

Remove when: no caller imports these names from upstream's path `open_r1.utils`.
"""

import importlib

_HOMES = {
    "get_dataset": "open_r1.data.mixtures",
    "get_model": "open_r1.utils.model_utils",
    "get_tokenizer": "open_r1.utils.model_utils",
    "is_e2b_available": "open_r1.utils.import_utils",
    "is_morph_available": "open_r1.utils.import_utils",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
