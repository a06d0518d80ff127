"""Upstream open-r1's path for the training-data loader; the code lives in `open_r1.data.mixtures`.

Remove when: no caller imports from upstream's path `open_r1.utils.data`.
"""

from open_r1.data.mixtures import add_system_prompt, get_dataset

__all__ = ["add_system_prompt", "get_dataset"]
