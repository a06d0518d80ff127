"""Shared helpers of the training scripts: data loading, model/tokenizer loading, Hub, callbacks.

Also upstream open-r1's `open_r1.utils` names: `get_dataset`, `get_model`, `get_tokenizer`, `is_e2b_available`,
`is_morph_available`.
"""

from open_r1.data.mixtures import get_dataset

from .import_utils import is_e2b_available, is_morph_available
from .model_utils import get_model, get_tokenizer

__all__ = ["get_dataset", "get_model", "get_tokenizer", "is_e2b_available", "is_morph_available"]
