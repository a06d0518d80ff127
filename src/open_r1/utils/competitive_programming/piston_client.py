"""Upstream open-r1's Piston client path; the client lives in `open_r1.sandbox.piston`.

`get_piston_client_from_env()` returns one client per process, as upstream's did. Unlike upstream's, it does not
give each local rank a slice of the endpoints: all ranks share every worker, each limited to
PISTON_MAX_REQUESTS_PER_ENDPOINT requests in flight per process.

Remove when: no caller imports from upstream's path `open_r1.utils.competitive_programming.piston_client`.
"""

from functools import lru_cache

from open_r1.sandbox.piston import PistonClient, PistonError, piston_client_from_env
from open_r1.sandbox.piston import slurm_piston_endpoints as get_slurm_piston_endpoints


@lru_cache(maxsize=1)
def get_piston_client_from_env(session=None) -> PistonClient:
    """The Piston client for PISTON_ENDPOINTS (see `open_r1.sandbox.piston.piston_client_from_env`)."""
    return piston_client_from_env(session)


__all__ = ["PistonClient", "PistonError", "get_piston_client_from_env", "get_slurm_piston_endpoints"]
