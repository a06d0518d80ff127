"""The other slurm/ scripts submitted to a real Slurm cluster (slow): evaluation and the sandbox routers.

evaluate.slurm runs with --dry-run (it prints the lighteval command; vLLM needs a GPU).
The routers are long-running services: a test submits one, waits until it answers GET /health on
the port given to the script, and cancels it. Their cloud keys are dummies: nothing is sent to
E2B or Morph.
"""

import json
import time
import urllib.request

import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.slow


def wait_for_health(job, port: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert not job.finished(), f"the router job ended:\n{job.read_output()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no answer on port {port} within {timeout}s:\n{job.read_output()}")


def test_evaluate_job_builds_the_lighteval_command_for_the_benchmark(submit):
    result = submit(
        [
            "--gres=gpu:8",
            "--job-name=or1_math_500_test",
            "slurm/evaluate.slurm",
            "--dry-run",
            "math_500",
            "org/model",
            "main",
            "tensor",
            "8",
        ],
    )
    assert result.returncode == 0, result
    command = next(line for line in result.output.splitlines() if "lighteval vllm" in line)
    assert "model_name=org/model" in command
    assert "tensor_parallel_size=8" in command
    assert "'math_500|0'" in command
    assert "--output-dir data/evals/org/model/main" in command


def test_evaluate_job_without_a_model_fails_with_its_usage(submit):
    result = submit(["slurm/evaluate.slurm", "aime24"])
    assert result.returncode != 0, result
    assert "usage: sbatch slurm/evaluate.slurm [--dry-run] BENCHMARK MODEL" in result.output


def test_evaluate_job_refuses_a_trust_remote_code_that_is_neither_true_nor_false():
    """A newcomer audit's: TRUST_REMOTE_CODE=yes ran without --trust_remote_code, without a word."""
    import subprocess

    from tests.support import REPO_ROOT

    result = subprocess.run(
        ["bash", "slurm/evaluate.slurm", "aime24", "org/model", "main", "data", "8", "yes"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "evaluate.slurm: error: TRUST_REMOTE_CODE (6th argument) must be true or false, got 'yes'\n"
    )


def test_evaluate_outside_a_job_runs_only_as_a_dry_run():
    """A newcomer's: there was no login-node check, and run outside a job it would have evaluated there."""
    from tests.support.slurm_cluster import run_outside_a_job

    refused = run_outside_a_job("evaluate.slurm", "aime24", "org/model")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "evaluate.slurm: error: not inside a Slurm job; submit it with sbatch (or check it here first: bash "
        "slurm/evaluate.slurm --dry-run aime24 org/model)\n"
    )
    checked = run_outside_a_job("evaluate.slurm", "--dry-run", "math500", "org/model")
    assert checked.returncode == 2 and "unknown benchmark 'math500' (did you mean" in checked.stderr, checked


def test_evaluate_writes_a_local_model_under_data_evals_as_make_evaluate_does(tiny_model):
    """A review's: an absolute model folder made the output data/evals//<folder>/main."""
    from tests.support.slurm_cluster import run_outside_a_job

    result = run_outside_a_job("evaluate.slurm", "--dry-run", "aime24", str(tiny_model))
    assert result.returncode == 0, result.stderr
    assert f"--output-dir data/evals/{str(tiny_model).lstrip('/')}/main " in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("script", "backend", "keys"),
    [
        ("slurm/e2b_router.slurm", "e2b", {"E2B_API_KEY": "dummy-not-used"}),
        (
            "slurm/morph_router.slurm",
            "morph",
            {"MORPH_API_KEY": "dummy-not-used", "MORPH_SNAPSHOT_ID": "snapshot_dummy"},
        ),
    ],
)
def test_router_job_serves_on_the_given_port_with_the_given_sandbox_limit(
    submit, slurm_cluster, script, backend, keys
):
    port = free_port()
    job = submit([script, str(port), "3"], background=True, **keys)
    try:
        health = wait_for_health(job, port)
    finally:
        slurm_cluster.cancel(job.job_id)
        job.result(timeout=60)
    assert health["status"] == "ok"
    assert health["backend"] == backend
    assert health["max_concurrency"] == 3
    assert f":{port}" in job.read_output()


def test_e2b_router_job_without_an_api_key_fails_naming_the_key(submit):
    result = submit(["slurm/e2b_router.slurm", str(free_port())], E2B_API_KEY="")
    assert result.returncode != 0, result
    assert "E2B_API_KEY" in result.output, result


def test_pass_rate_job_runs_the_tiny_cpu_recipe(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "pass-rate"
    result = submit(
        [
            "slurm/compute_pass_rate.slurm",
            "recipes/dataset_filtering/config_tiny_cpu.yaml",
            "2",  # upstream's RECIPE START END: rows 2 to 9 (an audit's: the numbers were refused as unused)
            "10",
            "--model_name_or_path",
            str(tiny_assets["tiny-model"]),
            "--dataset_name",
            str(tiny_assets["tiny-math"]),
            "--output_dir",
            str(output_dir),
        ]
    )
    assert result.returncode == 0, result
    assert "END TIME" in result.output
    assert (output_dir / "dataset_dict.json").exists(), result
    assert "Kept 8 of 8 rows" in result.output  # the recipe keeps pass rates from 0.0; the tiny model scores 0


def test_serve_router_job_without_sglang_router_fails_naming_the_package(submit):
    try:
        import sglang_router  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sglang-router is installed; this checks the message shown when it is not")
    result = submit(["slurm/serve_router.slurm", str(free_port())])
    assert result.returncode != 0, result
    assert "pip install sglang-router" in result.output, result


def test_the_piston_worker_raises_the_apis_json_body_limit_or_refuses_to_start(tmp_path):
    """Piston's API takes 100kb bodies (found by a red team: an IOI checker request of 105 KB was answered 413)."""
    import subprocess

    from tests.support import REPO_ROOT

    script = (REPO_ROOT / "slurm" / "piston" / "piston_worker.slurm").read_text()
    patch = script[script.index("RAISE_BODY_LIMIT=") : script.index('echo "piston worker')]
    api = tmp_path / "index.js"  # the two lines of Piston's api/src/index.js the worker changes
    api.write_text("    app.use(body_parser.urlencoded({ extended: true }));\n    app.use(body_parser.json());\n")
    started = f'API={api}\n{patch}\nbash -c "$RAISE_BODY_LIMIT && echo started"'
    done = subprocess.run(["bash", "-c", started], capture_output=True, text=True)
    assert done.stdout == "started\n", done.stderr
    assert 'json({ limit: "512mb" })' in api.read_text() and 'extended: true, limit: "512mb"' in api.read_text()
    api.write_text("app.use(express.json());\n")  # another version of the API: no silent start with 100kb
    done = subprocess.run(["bash", "-c", started], capture_output=True, text=True)
    assert done.returncode == 1 and "could not raise the body limit" in done.stderr
