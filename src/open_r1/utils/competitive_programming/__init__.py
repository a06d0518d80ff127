"""Upstream open-r1's `open_r1.utils.competitive_programming`: IOI and Codeforces helpers at their upstream paths.

The code lives in `open_r1.rewards.ioi` (IOI subtask scoring on Piston's cms_ioi package), `open_r1.rewards.codeforces`
(Codeforces rewards and generated tests) and `open_r1.sandbox.piston` (the Piston client); these modules re-export
it. Names whose upstream meaning this project does not have raise when called, saying why (docs/upstream.md).

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming`.
"""

from .cf_scoring import score_submission
from .code_patcher import patch_code
from .ioi_scoring import SubtaskResult, score_subtask, score_subtasks
from .ioi_utils import add_includes
from .morph_client import get_morph_client_from_env
from .piston_client import get_piston_client_from_env, get_slurm_piston_endpoints

__all__ = [
    "SubtaskResult",
    "add_includes",
    "get_morph_client_from_env",
    "get_piston_client_from_env",
    "get_slurm_piston_endpoints",
    "patch_code",
    "score_submission",
    "score_subtask",
    "score_subtasks",
]
