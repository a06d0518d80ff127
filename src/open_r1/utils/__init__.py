"""Shared helpers of the training scripts: data loading, model/tokenizer loading, Hub, callbacks."""

from open_r1.data.mixtures import get_dataset

from .model_utils import get_model, get_tokenizer

__all__ = ["get_dataset", "get_model", "get_tokenizer"]
