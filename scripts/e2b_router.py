"""Batching router for E2B: one process holds E2B_API_KEY and runs at most --max_num_sandboxes at once.

    python scripts/e2b_router.py --port 8000 --max_num_sandboxes 20      (or: sbatch slurm/e2b_router.slurm)
    # then in the recipe: code_provider: e2b, e2b_router_url: <host>:8000

`--backend local` serves the same API from the local sandbox (no account). API: open_r1/sandbox/router.py.
Not covered: authentication of its callers (run it where only the training nodes reach it), Piston (its own
workers are the router).
"""

from open_r1.sandbox.router import main

if __name__ == "__main__":
    main(default_backend="e2b", default_port=8000)
