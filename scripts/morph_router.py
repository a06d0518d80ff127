"""Batching router for Morph: one process holds MORPH_API_KEY and runs at most --max_num_sandboxes at once.

    python scripts/morph_router.py --port 8001 --max_num_sandboxes 20    (or: sbatch slurm/morph_router.slurm)
    # then in the recipe: code_provider: morph, morph_router_url: <host>:8001

`--backend local` serves the same API from the local sandbox (no account). API: open_r1/sandbox/router.py.
Not covered: authentication of its callers (run it where only the training nodes reach it), Piston (its own
workers are the router).
"""

from open_r1.sandbox.router import main

if __name__ == "__main__":
    main(default_backend="morph", default_port=8001)
