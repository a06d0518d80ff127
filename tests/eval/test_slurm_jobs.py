"""Specification of the Slurm evaluation jobs for pushed checkpoints (open_r1.eval.slurm_jobs): one sbatch per
benchmark, parallelism from the model's size, and upstream's `run_lighteval_job` and sizing helpers."""

import json
import os
import pathlib
import stat
from types import SimpleNamespace

import pytest

from open_r1.eval import slurm_jobs
from open_r1.eval.benchmark_registry import SUPPORTED_BENCHMARKS
from open_r1.eval.slurm_jobs import evaluation_resources, gpus_for_tensor_parallel, run_benchmark_jobs


def test_tensor_parallel_gpu_count_divides_the_attention_heads():
    assert gpus_for_tensor_parallel(40) == 8
    assert gpus_for_tensor_parallel(28) == 4  # 7 divides 28 but not 64
    assert gpus_for_tensor_parallel(12) == 4
    assert gpus_for_tensor_parallel(5) == 1


def _fake_checkpoint(folder: pathlib.Path, num_heads: int, num_params: int) -> str:
    folder.mkdir()
    config = {"model_type": "qwen2", "num_attention_heads": num_heads, "hidden_size": num_heads * 64}
    (folder / "config.json").write_text(json.dumps(config))
    index = {"metadata": {"total_size": 2 * num_params}, "weight_map": {}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return str(folder)


def test_models_of_30b_parameters_or_more_are_evaluated_with_tensor_parallelism(tmp_path, tiny_model):
    assert evaluation_resources(_fake_checkpoint(tmp_path / "big", 40, 32_000_000_000), None) == ("tensor", 8)
    assert evaluation_resources(_fake_checkpoint(tmp_path / "mid", 28, 7_000_000_000), None) == ("data", 8)
    assert evaluation_resources(str(tiny_model), None) == ("data", 8)  # single-file checkpoint: small


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch) -> pathlib.Path:
    """An `sbatch` on PATH that records each call's arguments and the SLURM_* variables it saw."""
    log = tmp_path / "sbatch.log"
    script = tmp_path / "bin" / "sbatch"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/bash\n"
        f'python3 -c \'import json,os,sys; print(json.dumps({{"argv": sys.argv[1:], "slurm": '
        f'sorted(k for k in os.environ if k.startswith("SLURM_"))}}))\' "$@" >> {log}\n'
        'echo "Submitted batch job 1"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "1234")  # as when called from inside a training job
    monkeypatch.setattr(slurm_jobs, "REPO_ROOT", tmp_path)  # submitted from here: its logs/ is this test's
    return log


def _calls(log: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_run_benchmark_jobs_submits_one_evaluation_job_per_benchmark(fake_sbatch, tiny_model):
    training_args = SimpleNamespace(
        benchmarks=["aime24", "gpqa:diamond"],
        hub_model_id=str(tiny_model),
        hub_model_revision="v00.01-step-000010",
        system_prompt="Think, then answer.",
    )
    run_benchmark_jobs(training_args, SimpleNamespace(trust_remote_code=False))
    calls = _calls(fake_sbatch)
    assert [call["argv"][3:] for call in calls] == [
        [bench, str(tiny_model), "v00.01-step-000010", "data", "8", "false", "Think, then answer."]
        for bench in ("aime24", "gpqa:diamond")
    ]
    assert calls[0]["argv"][:3] == [
        "--gres=gpu:8",
        f"--job-name=or1_aime24_{tiny_model.name}_v00.01-step-000010",
        "slurm/evaluate.slurm",
    ]
    assert all(call["slurm"] == [] for call in calls)  # the training job's SLURM_* settings are not inherited
    # An empty system prompt is an argument (an empty system turn, as training's); none is no argument.
    fake_sbatch.unlink()
    run_benchmark_jobs(
        SimpleNamespace(**{**vars(training_args), "system_prompt": ""}), SimpleNamespace(trust_remote_code=False)
    )
    run_benchmark_jobs(
        SimpleNamespace(**{**vars(training_args), "system_prompt": None}), SimpleNamespace(trust_remote_code=False)
    )
    assert [call["argv"][9:] for call in _calls(fake_sbatch)] == [[""], [""], [], []]


def test_run_benchmark_jobs_expands_all_and_rejects_unknown_benchmarks_before_submitting(fake_sbatch, tiny_model):
    args = SimpleNamespace(
        benchmarks=["all"], hub_model_id=str(tiny_model), hub_model_revision="main", system_prompt=None
    )
    run_benchmark_jobs(args, SimpleNamespace(trust_remote_code=False))
    assert [call["argv"][3] for call in _calls(fake_sbatch)] == SUPPORTED_BENCHMARKS

    fake_sbatch.unlink()
    args.benchmarks = ["aime24", "mmlu"]
    with pytest.raises(ValueError, match=r"benchmarks: unknown benchmark 'mmlu'; supported: "):
        run_benchmark_jobs(args, SimpleNamespace(trust_remote_code=False))
    assert _calls(fake_sbatch) == []


def test_a_model_whose_size_cannot_be_read_is_not_evaluated_as_a_small_one(monkeypatch):
    # A Hub error while sizing the model used to read as "below 30B": a 70B model launched data-parallel.
    import huggingface_hub

    def unreachable(*args, **kwargs):
        raise ConnectionError("the Hub is unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(slurm_jobs.ModelSizeUnknownError, match="org/big-model.*--parallel tensor"):
        slurm_jobs.parameter_count("org/big-model", "main")


def test_upstreams_run_lighteval_job_submits_one_benchmark(fake_sbatch, tmp_path):
    from open_r1.utils.evaluation import run_lighteval_job

    model = _fake_checkpoint(tmp_path / "big", 40, 32_000_000_000)
    training_args = SimpleNamespace(hub_model_id=model, hub_model_revision="v01", system_prompt=None)
    run_lighteval_job("math_500", training_args, SimpleNamespace(trust_remote_code=False))
    [call] = _calls(fake_sbatch)
    assert call["argv"][3:] == ["math_500", model, "v01", "tensor", "8", "false"]  # no system prompt: no argument


def test_a_submission_from_a_training_job_keeps_the_clusters_configuration_and_makes_the_log_folder(
    fake_sbatch, tmp_path, monkeypatch
):
    """A review found every SLURM_* variable dropped, SLURM_CONF too: on a cluster that relies on it sbatch failed
    "Could not establish a configuration source". And without logs/evaluate the job was submitted and died without
    a log."""
    monkeypatch.setenv("SLURM_CONF", "/etc/slurm-test/slurm.conf")
    monkeypatch.setenv("SLURM_CLUSTERS", "gpu-cluster")
    monkeypatch.setenv("SLURM_NTASKS", "16")  # the training job's shape
    model = _fake_checkpoint(tmp_path / "mid", 28, 7_000_000_000)
    training_args = SimpleNamespace(hub_model_id=model, hub_model_revision="v01", system_prompt=None)
    run_benchmark_jobs(
        SimpleNamespace(**vars(training_args), benchmarks=["aime24"]), SimpleNamespace(trust_remote_code=False)
    )
    [call] = _calls(fake_sbatch)
    assert call["slurm"] == ["SLURM_CLUSTERS", "SLURM_CONF"]
    assert (tmp_path / "logs" / "evaluate").is_dir()


def test_upstreams_hub_sizing_helpers_read_the_checkpoint(tmp_path):
    from open_r1.utils.hub import get_gpu_count_for_vllm, get_param_count_from_repo_id

    model = _fake_checkpoint(tmp_path / "mid", 28, 7_000_000_000)
    assert get_param_count_from_repo_id(model) == 7_000_000_000
    assert get_gpu_count_for_vllm(model, revision=None) == 4  # 28 heads: 7 does not divide 64
    assert get_gpu_count_for_vllm(model, revision=None, num_gpus=2) == 2


# ------------------------------------------------------------------------------------------------
# scripts/run_benchmarks.py: the same jobs by hand; its mistakes are one line before the Hub is asked
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_benchmarks():
    from tests.support.script_module import load_module

    return load_module("scripts/run_benchmarks.py", "run_benchmarks")


def test_run_benchmarks_submits_the_jobs_run_benchmark_jobs_would(run_benchmarks, fake_sbatch, tiny_model):
    assert run_benchmarks.main(["--model-id", str(tiny_model), "--benchmarks", "aime24", "math_500"]) == 0
    assert [call["argv"][3] for call in _calls(fake_sbatch)] == ["aime24", "math_500"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model-id", "{model}", "--benchmarks", "aime42"],
            "--benchmarks: unknown benchmark 'aime42' (did you mean",
        ),
        (["--model-id", "{model}-typo", "--benchmarks", "aime24"], "--model-id: no such file or folder: {model}-typo"),
        (["--model-id", "{model}"], "--model-id and --benchmarks are required"),
        (
            ["--model-idd", "{model}", "--benchmarks", "aime24"],
            "unknown option --model-idd (did you mean --model_id?)",
        ),
        (
            ["--model-id", "{model}", "--model-revision", "v01", "--benchmarks", "aime24"],
            "is a local folder, which has no revisions",
        ),
    ],
)
def test_run_benchmarks_names_a_mistake_before_submitting(run_benchmarks, fake_sbatch, tiny_model, argv, message):
    from open_r1.usage import UsageError

    with pytest.raises(UsageError) as raised:
        run_benchmarks.main([item.format(model=tiny_model) for item in argv])
    assert message.format(model=tiny_model) in str(raised.value)
    assert _calls(fake_sbatch) == []


def test_run_benchmarks_without_sbatch_says_so(run_benchmarks, tiny_model, tmp_path, monkeypatch):
    from open_r1.usage import UsageError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match="sbatch is not on PATH"):
        run_benchmarks.main(["--model-id", str(tiny_model), "--benchmarks", "aime24"])


def test_run_benchmarks_names_sbatchs_reason_when_it_refuses_the_job(
    run_benchmarks, tiny_model, tmp_path, monkeypatch
):
    from open_r1.usage import UsageError

    refusing = tmp_path / "bin" / "sbatch"
    refusing.parent.mkdir()
    refusing.write_text(
        "#!/bin/bash\necho 'sbatch: error: Batch job submission failed: No partition specified' >&2\nexit 1\n"
    )
    refusing.chmod(refusing.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{refusing.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(UsageError) as raised:
        run_benchmarks.main(["--model-id", str(tiny_model), "--benchmarks", "aime24"])
    assert "sbatch did not submit the aime24 evaluation (exit status 1): sbatch: error: Batch job submission " in str(
        raised.value
    )
    assert "OPEN_R1_PARTITION" in str(raised.value)
    # Another refusal gets no partition hint (a newcomer's: with no Slurm configuration at all, it named the partition).
    refusing.write_text("#!/bin/bash\necho 'sbatch: fatal: Could not establish a configuration source' >&2\nexit 1\n")
    with pytest.raises(UsageError) as raised:
        run_benchmarks.main(["--model-id", str(tiny_model), "--benchmarks", "aime24"])
    assert str(raised.value).endswith("(exit status 1): sbatch: fatal: Could not establish a configuration source")


def test_run_benchmarks_dry_run_prints_the_jobs_it_would_submit(run_benchmarks, fake_sbatch, tiny_model, capsys):
    assert run_benchmarks.main(["--model-id", str(tiny_model), "--benchmarks", "aime24", "math_500", "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] + line.split()[3:6] for line in printed] == [
        ["sbatch", "--gres=gpu:8", "slurm/evaluate.slurm", "aime24", str(tiny_model)],
        ["sbatch", "--gres=gpu:8", "slurm/evaluate.slurm", "math_500", str(tiny_model)],
    ]
    assert _calls(fake_sbatch) == []


def test_run_benchmarks_names_an_unreachable_hub_model_in_one_line(run_benchmarks, fake_sbatch, monkeypatch):
    """A newcomer's: a Hub id offline retried for 28 s, then an httpx traceback."""
    from open_r1.usage import UsageError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError, match=r"--model-id org/model"):
        run_benchmarks.main(["--model-id", "org/model", "--benchmarks", "aime24"])
    assert _calls(fake_sbatch) == []
