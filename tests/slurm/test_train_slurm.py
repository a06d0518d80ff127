"""slurm/train.slurm on a real Slurm cluster (slow): argument handling, multi-node wiring, vLLM server wait.

Runs with `make slow_test` (or `pytest -m slow tests/slurm`) after `bash scripts/install_slurm.sh`.
The wiring tests replace the training script with tests/slurm/probe_distributed.py
(OPEN_R1_TRAIN_SCRIPT) and the vLLM server with tests/slurm/fake_vllm_server.py
(OPEN_R1_VLLM_SERVER_CMD); real training is in test_train_slurm_training.py.
"""

import json
import pathlib
import shlex

import pytest

from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow
HERE = pathlib.Path(__file__).resolve().parent
PROBE = str(HERE / "probe_distributed.py")
FAKE_SERVER = HERE / "fake_vllm_server.py"
SFT = ["--model", "tiny", "--task", "sft", "--config", "cpu", "--accelerator", "ddp"]
GRPO_WITH_VLLM = [
    "--model",
    "tiny",
    "--task",
    "grpo",
    "--config",
    "cpu",
    "--accelerator",
    "ddp",
    "--args",
    "--use_vllm true --vllm_mode server",
]


def read_ranks(folder: pathlib.Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("rank-*.json"))]


def test_unknown_recipe_fails_naming_the_path_and_the_available_configs(submit):
    result = submit(
        [
            "--nodes=1",
            "slurm/train.slurm",
            "--model",
            "tiny",
            "--task",
            "sft",
            "--config",
            "nope",
            "--accelerator",
            "ddp",
        ]
    )
    assert result.returncode != 0, result
    assert "recipe recipes/tiny/sft/config_nope.yaml not found" in result.output, result
    assert "recipes/tiny/sft/config_cpu.yaml" in result.output, result


def test_unknown_accelerator_fails_listing_the_accelerate_configs(submit):
    args = SFT[:-1] + ["zero9"]
    result = submit(["--nodes=1", "slurm/train.slurm", *args])
    assert result.returncode != 0, result
    assert "recipes/accelerate_configs/zero9.yaml not found" in result.output, result
    assert "ddp" in result.output.split("available:")[1], result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "sft", "--config", "cpu", "--accelerator", "ddp"], "--model is required"),
        (
            ["--model", "tiny", "--task", "dpo", "--config", "cpu", "--accelerator", "ddp"],
            "--task must be sft or grpo",
        ),
        ([*SFT, "--dp", "two"], "--dp must be a positive integer"),
        ([*SFT, "--dp", "2"], "--dp/--tp size the vLLM server"),
        ([*SFT, "--bogus"], "unknown argument '--bogus'"),
    ],
)
def test_bad_arguments_fail_with_a_message_naming_the_argument(submit, args, message):
    result = submit(["--nodes=1", "slurm/train.slurm", *args])
    assert result.returncode != 0, result
    assert message in result.output, result


def test_two_node_job_runs_one_rank_per_node_against_the_first_nodes_address(submit, tmp_path):
    result = submit(["--nodes=2", "slurm/train.slurm", *SFT], OPEN_R1_TRAIN_SCRIPT=PROBE, PROBE_OUT=str(tmp_path))
    assert result.returncode == 0, result
    ranks = read_ranks(tmp_path)
    assert [rank["rank"] for rank in ranks] == [0, 1], result
    assert {rank["slurm_node"] for rank in ranks} == {"node1", "node2"}
    assert next(rank["slurm_node"] for rank in ranks if rank["rank"] == 0) == "node1"
    for rank in ranks:
        assert rank["world_size"] == 2
        assert rank["backend"] == "gloo"
        assert rank["sum_of_ranks"] == 1.0  # the all-reduce really crossed both nodes
        # node1's NodeAddr in slurm.conf: a node name that does not resolve would hang here instead.
        assert rank["master_addr"] == "127.0.0.1"
        assert rank["argv"][:2] == ["--config", "recipes/tiny/sft/config_cpu.yaml"]
    assert len({rank["master_port"] for rank in ranks}) == 1


def limit_of(rank: dict) -> list[str]:
    """The values of --max_run_minutes (or --max-run-minutes) on a rank's command line."""
    argv = rank["argv"]
    return [argv[index + 1] for index, arg in enumerate(argv) if arg.replace("-", "_") == "__max_run_minutes"]


def test_a_job_with_a_time_limit_stops_training_before_it_less_a_tenth_for_saving(submit, tmp_path):
    result = submit(
        ["--nodes=1", "--time=30", "slurm/train.slurm", *SFT], OPEN_R1_TRAIN_SCRIPT=PROBE, PROBE_OUT=str(tmp_path)
    )
    assert result.returncode == 0, result
    (rank,) = read_ranks(tmp_path)
    (minutes,) = limit_of(rank)
    assert 26.0 <= float(minutes) <= 27.0  # 30 minutes less 3, less the seconds before the launch
    assert f"the job's time limit: training stops, saved, by --max_run_minutes {minutes}" in result.output


@pytest.mark.parametrize(
    ("sbatch_args", "option", "expected"),
    # the command's own limit, in either spelling (a review's: --max-run-minutes was given twice); a partition
    # without a time limit (INFINITE)
    [(["--time=30"], "--max_run_minutes", ["5"]), (["--time=30"], "--max-run-minutes", ["5"]), ([], "", [])],
    ids=["--args sets it", "--args sets it with dashes", "no time limit"],
)
def test_the_commands_own_limit_or_no_job_limit_adds_none(submit, tmp_path, sbatch_args, option, expected):
    args = ["--args", f"{option} 5"] if expected else []
    result = submit(
        ["--nodes=1", *sbatch_args, "slurm/train.slurm", *SFT, *args],
        OPEN_R1_TRAIN_SCRIPT=PROBE,
        PROBE_OUT=str(tmp_path),
    )
    assert result.returncode == 0, result
    (rank,) = read_ranks(tmp_path)
    assert limit_of(rank) == expected
    assert "the job's time limit" not in result.output


@pytest.mark.parametrize(
    ("sbatch_args", "args", "message"),
    [
        (
            ["--time=30"],
            "--save_strategy no",
            "--requeue-at-time-limit needs checkpoints to resume from, but recipes/tiny/sft/config_cpu.yaml (or "
            "--args) sets save_strategy: no; set save_strategy: steps",
        ),
        (["--time=30"], "--save-strategy=no", "--requeue-at-time-limit needs checkpoints to resume from"),
        (
            [],
            "",
            "--requeue-at-time-limit has nothing to do: the job has no time limit (sbatch --time) and the recipe "
            "sets no max_run_minutes",
        ),
    ],
    ids=["without checkpoints", "without checkpoints, with dashes", "without a time limit"],
)
def test_requeue_at_the_time_limit_where_it_cannot_work_fails_before_training(
    submit, tmp_path, sbatch_args, args, message
):
    result = submit(
        ["--nodes=1", *sbatch_args, "slurm/train.slurm", *SFT, "--requeue-at-time-limit", "--args", args],
        OPEN_R1_TRAIN_SCRIPT=PROBE,
        PROBE_OUT=str(tmp_path),
    )
    assert result.returncode != 0, result
    assert f"train.slurm: error: {message}" in result.output, result
    assert read_ranks(tmp_path) == []


def test_the_plan_says_the_job_requeues_itself_at_its_time_limit(submit):
    result = submit(["--nodes=1", "--time=30", "slurm/train.slurm", *SFT, "--requeue-at-time-limit", "--dry-run"])
    assert result.returncode == 0, result
    assert "when training stops at its time limit, the job requeues itself to continue" in result.output, result
    assert "dry run: nothing started" in result.output


def test_grpo_with_vllm_trains_on_the_first_nodes_after_the_server_on_the_last_node_answers(submit, tmp_path):
    record = tmp_path / "server.json"
    result = submit(
        ["--nodes=2", "slurm/train.slurm", *GRPO_WITH_VLLM, "--dp", "2", "--tp", "4"],
        OPEN_R1_TRAIN_SCRIPT=PROBE,
        PROBE_OUT=str(tmp_path / "ranks"),
        OPEN_R1_VLLM_SERVER_CMD=f"python {FAKE_SERVER} --delay 3 --record {record}",
        OPEN_R1_VLLM_WAIT_SECONDS="60",
    )
    assert result.returncode == 0, result
    assert json.loads(record.read_text())["slurm_node"] == "node2"
    assert "vLLM server answered" in result.output
    (rank,) = read_ranks(tmp_path / "ranks")
    assert rank["slurm_node"] == "node1"
    assert rank["world_size"] == 1
    assert rank["vllm_health_status"] == 200
    argv = rank["argv"]
    assert argv[argv.index("--vllm_server_host") + 1] == "127.0.0.1"
    assert argv[argv.index("--vllm_mode") + 1] == "server"


def test_grpo_fails_with_a_message_when_the_vllm_server_exits(submit, tmp_path):
    result = submit(
        ["--nodes=2", "slurm/train.slurm", *GRPO_WITH_VLLM],
        OPEN_R1_TRAIN_SCRIPT=PROBE,
        PROBE_OUT=str(tmp_path),
        OPEN_R1_VLLM_SERVER_CMD="echo 'CUDA out of memory' >&2; exit 3",
        OPEN_R1_VLLM_WAIT_SECONDS="120",
    )
    assert result.returncode != 0, result
    assert "the vLLM server on node2 exited" in result.output, result
    assert "CUDA out of memory" in result.output
    assert not read_ranks(tmp_path), "training must not start without a server"


def test_grpo_fails_with_a_message_when_the_vllm_server_never_answers(submit, tmp_path):
    result = submit(
        ["--nodes=2", "slurm/train.slurm", *GRPO_WITH_VLLM],
        OPEN_R1_TRAIN_SCRIPT=PROBE,
        PROBE_OUT=str(tmp_path),
        OPEN_R1_VLLM_SERVER_CMD="sleep 600",
        OPEN_R1_VLLM_WAIT_SECONDS="4",
    )
    assert result.returncode != 0, result
    assert "did not answer http://127.0.0.1:" in result.output, result
    assert "within 4s" in result.output
    assert not read_ranks(tmp_path)


def test_grpo_with_vllm_on_one_node_is_refused(submit):
    result = submit(["--nodes=1", "slurm/train.slurm", *GRPO_WITH_VLLM])
    assert result.returncode != 0, result
    assert "needs at least 2 nodes" in result.output, result


def test_grpo_args_naming_the_vllm_server_address_are_refused(submit, tmp_path):
    # The script points training at its own server node; a second --vllm_server_host would silently lose to it.
    for option in ("--vllm_server_host=10.0.0.9", "--vllm-server-port 8000", "--vllm_server_base_url http://h:8000"):
        grpo = [*GRPO_WITH_VLLM[:-1], f"{GRPO_WITH_VLLM[-1]} {option}"]
        result = submit(["--nodes=2", "slurm/train.slurm", *grpo], OPEN_R1_TRAIN_SCRIPT=PROBE, PROBE_OUT=str(tmp_path))
        assert result.returncode != 0, result
        assert f"--args sets {option.split()[0].split('=')[0]}, which this script sets" in result.output, result
        assert not read_ranks(tmp_path)


def test_grpo_with_colocated_vllm_trains_on_every_node_without_a_server(submit, tmp_path):
    # No vllm_mode given: GRPOConfig's default (colocate) applies, so there is no server node.
    grpo_colocate = [*GRPO_WITH_VLLM[:-1], "--use_vllm true"]
    result = submit(
        ["--nodes=2", "slurm/train.slurm", *grpo_colocate], OPEN_R1_TRAIN_SCRIPT=PROBE, PROBE_OUT=str(tmp_path)
    )
    assert result.returncode == 0, result
    assert "GRPO with vLLM in colocate mode" in result.output
    assert "vLLM server" not in result.output
    assert {rank["slurm_node"] for rank in read_ranks(tmp_path)} == {"node1", "node2"}


def readme_train_commands() -> list[list[str]]:
    """The `sbatch ... slurm/train.slurm ...` commands of slurm/README.md, continuation lines joined."""
    text = (REPO_ROOT / "slurm" / "README.md").read_text().replace("\\\n", " ")
    commands = [shlex.split(line.strip()) for line in text.splitlines() if line.strip().startswith("sbatch ")]
    return [command[1:] for command in commands if "slurm/train.slurm" in command]


def test_readme_lists_sft_and_grpo_training_commands():
    tasks = {command[command.index("--task") + 1] for command in readme_train_commands()}
    assert tasks == {"sft", "grpo"}


@pytest.mark.parametrize("command", readme_train_commands(), ids=" ".join)
def test_readme_training_command_is_accepted_and_planned(submit, command):
    # The recipe check would ask the Hub for the README's models, which this cluster cannot reach.
    result = submit([*command, "--dry-run"], OPEN_R1_CHECK_RECIPE="false")
    assert result.returncode == 0, result
    assert "dry run: nothing started" in result.output
    assert "accelerate launch --machine_rank $SLURM_PROCID" in result.output


def test_default_vllm_server_is_vllm_serve_with_the_settings_trl_needs(submit):
    # TRL 1.16 deprecates `trl vllm-serve`; the server node runs vLLM's own server with TRL's settings.
    result = submit(["--nodes=2", "slurm/train.slurm", *GRPO_WITH_VLLM, "--tp", "2", "--dry-run"])
    assert result.returncode == 0, result
    server_line = next(line for line in result.output.splitlines() if line.startswith("vLLM server on "))
    server_command = server_line.split(": ", 1)[1]
    assert server_command.startswith("VLLM_SERVER_DEV_MODE=1 vllm serve "), server_line
    for setting in ("--tensor-parallel-size 2", "--data-parallel-size 1", "--logprobs-mode processed_logprobs"):
        assert setting in server_command, server_line
    assert """--weight-transfer-config '{"backend": "nccl"}'""" in server_command, server_line
    assert "trl vllm-serve" not in result.output


def test_the_vllm_server_is_read_from_args_with_dashes_and_its_model_is_quoted(submit):
    """A review found `--use-vllm true --vllm-mode server` starting no server, and the recipe's model put unquoted
    into the server's `bash -c` command: a path with a space became two words, a `$(...)` in it would run."""
    args = "--use-vllm yes --vllm-mode=server --model_name_or_path 'data/tiny model' --model-revision 'a;b'"
    grpo = [*GRPO_WITH_VLLM[:-1], args]
    result = submit(["--nodes=2", "slurm/train.slurm", *grpo, "--dry-run"], OPEN_R1_CHECK_RECIPE="false")
    assert result.returncode == 0, result
    server_line = next(line for line in result.output.splitlines() if line.startswith("vLLM server on "))
    assert "vllm serve data/tiny\\ model " in server_line and server_line.endswith("--revision a\\;b"), server_line


def test_a_failed_training_ends_the_log_saying_so(submit, tmp_path):
    """A review found the last line of a failed training's log to be the ERR trap's unexpanded srun command."""
    failing = tmp_path / "failing.py"
    failing.write_text("import sys\n\nsys.exit('a rank failed')\n")
    result = submit(["--nodes=1", "slurm/train.slurm", *SFT], OPEN_R1_TRAIN_SCRIPT=str(failing))
    assert result.returncode != 0, result
    assert (
        "train.slurm: error: training failed (status 1) on node1; the failing rank's error is above" in result.output
    )
    assert '"srun --nodes=' not in result.output, result
