"""slurm/train.slurm running the real src/open_r1/sft.py on the tiny CPU recipe, on a real Slurm (slow).

One node, two nodes (two processes doing gloo data parallelism across the two pretend nodes), and a
second submission on the same output_dir resuming from the first one's checkpoint, which is what a
requeued job does. The tiny model and data are built locally (the `tiny_assets` fixture).
"""

import json
import pathlib
import re
import time

import pytest

pytestmark = pytest.mark.slow

SFT = ["slurm/train.slurm", "--model", "tiny", "--task", "sft", "--config", "cpu", "--accelerator", "ddp"]


def sft_args(tiny_assets, output_dir: pathlib.Path, max_steps: int) -> str:
    return (
        f"--model_name_or_path {tiny_assets['tiny-model']} --dataset_name {tiny_assets['tiny-sft']} "
        f"--output_dir {output_dir} --max_steps {max_steps} --save_steps 2 --logging_steps 1 "
        "--per_device_train_batch_size 4"
    )


def global_step(output_dir: pathlib.Path) -> int:
    return json.loads((output_dir / "trainer_state.json").read_text())["global_step"]


def test_sft_on_one_node_trains_and_saves_the_model(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    result = submit(["--nodes=1", *SFT, "--args", sft_args(tiny_assets, output_dir, max_steps=4)])
    assert result.returncode == 0, result
    assert global_step(output_dir) == 4
    assert (output_dir / "model.safetensors").exists()
    assert "Total train batch size (w. parallel, distributed & accumulation) = 4" in result.output, result


def test_sft_on_two_nodes_is_one_two_process_data_parallel_run(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    result = submit(["--nodes=2", *SFT, "--args", sft_args(tiny_assets, output_dir, max_steps=4)])
    assert result.returncode == 0, result
    assert "world_size=2 main_process=127.0.0.1:" in result.output
    # Two processes of 4 rows each: only a run whose ranks found each other sees a global batch of 8.
    assert "Total train batch size (w. parallel, distributed & accumulation) = 8" in result.output, result
    assert global_step(output_dir) == 4
    assert (output_dir / "model.safetensors").exists()


def test_a_resubmitted_job_resumes_from_the_last_checkpoint(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    first = submit(["--nodes=1", *SFT, "--args", sft_args(tiny_assets, output_dir, max_steps=2)])
    assert first.returncode == 0, first
    assert (output_dir / "checkpoint-2").is_dir()

    second = submit(["--nodes=1", *SFT, "--args", sft_args(tiny_assets, output_dir, max_steps=4)])
    assert second.returncode == 0, second
    assert re.search(r"resuming training at \S*checkpoint-2", second.output), second
    assert global_step(output_dir) == 4


def test_a_requeued_job_resumes_from_the_checkpoint_it_had_saved(submit, slurm_cluster, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    # Enough steps that the job is still training when its first checkpoint appears.
    job = submit(["--nodes=1", *SFT, "--args", sft_args(tiny_assets, output_dir, max_steps=200)], background=True)
    deadline = time.monotonic() + 300
    while not (output_dir / "checkpoint-2").is_dir():
        assert not job.finished(), f"job ended before its first checkpoint:\n{job.read_output()}"
        assert time.monotonic() < deadline, f"no checkpoint-2 after 300s:\n{job.read_output()}"
        time.sleep(0.1)
    slurm_cluster.requeue(job.job_id)

    result = job.result()
    assert result.returncode == 0, result
    assert "DUE TO JOB REQUEUE" in result.output, result
    assert "requeued (restart 1)" in result.output, result
    # The second run picked up a checkpoint of the first instead of starting over.
    assert re.search(r"resuming training at \S*checkpoint-\d+", result.output), result
    assert global_step(output_dir) == 200


def test_a_job_stopped_at_its_time_limit_requeues_itself_until_training_ends(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    # A limit of under a second: each run trains one step, the least a run trains, and stops there.
    args = sft_args(tiny_assets, output_dir, max_steps=2) + " --max_run_minutes 0.01"
    result = submit(["--nodes=1", *SFT, "--requeue-at-time-limit", "--args", args])
    assert result.returncode == 0, result
    assert (
        f"training stopped at its time limit after step 1 of 2: requeueing job {result.job_id} to continue from "
        f"{output_dir}/checkpoint-1" in result.output
    ), result
    assert "requeued (restart 1)" in result.output, result
    assert re.search(r"resuming training at \S*checkpoint-1", result.output), result
    assert "requeued (restart 2)" not in result.output, result  # the second run reached max_steps
    assert global_step(output_dir) == 2
    assert not (output_dir / "time_limit_stop.json").exists()


def test_a_job_stopped_at_its_time_limit_without_requeue_says_how_to_continue(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    args = sft_args(tiny_assets, output_dir, max_steps=2) + " --max_run_minutes 0.01"
    result = submit(["--nodes=1", *SFT, "--args", args])
    assert result.returncode == 0, result
    assert (
        "training stopped at its time limit after step 1 of 2; submit the same command again (or with "
        f"--requeue-at-time-limit) to continue from {output_dir}/checkpoint-1" in result.output
    ), result
    assert "requeued" not in result.output, result
    assert global_step(output_dir) == 1


def test_grpo_without_vllm_trains_on_every_node(submit, tiny_assets, tmp_path):
    output_dir = tmp_path / "out"
    args = (
        f"--model_name_or_path {tiny_assets['tiny-model']} --dataset_name {tiny_assets['tiny-math']} "
        f"--output_dir {output_dir} --max_steps 2 --save_steps 2 --logging_steps 1"
    )
    result = submit(
        [
            "--nodes=2",
            "slurm/train.slurm",
            "--model",
            "tiny",
            "--task",
            "grpo",
            "--config",
            "cpu",
            "--accelerator",
            "ddp",
            "--args",
            args,
        ]
    )
    assert result.returncode == 0, result
    assert "training nodes=node1 node2 world_size=2" in result.output
    assert "vLLM server" not in result.output  # the recipe has use_vllm: false
    assert global_step(output_dir) == 2
    assert (output_dir / "model.safetensors").exists()
