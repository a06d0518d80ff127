"""Upstream open-r1's path for the training-data loader; the code lives in `open_r1.data.mixtures`."""

from open_r1.data.mixtures import add_system_prompt, get_dataset

__all__ = ["add_system_prompt", "get_dataset"]
