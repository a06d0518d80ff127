"""slurm/generate.slurm before Ray and vLLM start: generate.py --dry-run checks the command, the dataset and its prompt
column; on the login node (no job) that is all it does, so a mistake shows before the job waits in the queue."""

from tests.support.files import write_jsonl
from tests.support.slurm_cluster import run_outside_a_job


def test_help_and_a_submission_outside_a_job(tmp_path):
    helped = run_outside_a_job("generate.slurm", "--help")
    assert helped.returncode == 0 and "login node" in helped.stdout and "Ray" in helped.stdout
    refused = run_outside_a_job("generate.slurm", "--model", "m", "--hf-dataset", "d")
    assert refused.returncode == 2 and "not inside a Slurm job" in refused.stderr and "--dry-run" in refused.stderr
    taken = run_outside_a_job("generate.slurm", "--model", "m", "--vllm-server-url", "http://x/v1", "--dry-run")
    assert taken.returncode == 2 and "--vllm-server-url is this script's to set" in taken.stderr


def test_the_dry_run_checks_the_dataset_and_its_prompt_column_and_starts_nothing(tmp_path):
    problems = tmp_path / "problems.jsonl"
    write_jsonl(problems, [{"problem": "1+1?"}, {"problem": "2+2?"}])
    common = ["--model", "m", "--hf-dataset", str(problems), "--output-file", str(tmp_path / "out.jsonl"), "--dry-run"]
    checked = run_outside_a_job(
        "generate.slurm", *common[2:], "--model=m", "--prompt-column", "problem"
    )  # --model=M read (a review's)
    assert checked.returncode == 0, checked.stderr
    assert "checked: 2 prompts of" in checked.stdout and "would generate 2 x" in checked.stdout
    mistyped = run_outside_a_job("generate.slurm", *common, "--prompt-column", "problme")
    assert mistyped.returncode == 2
    assert "generate.py: error: --prompt-column 'problme' is not a column" in mistyped.stderr
    assert "(did you mean --prompt-column problem?)" in mistyped.stderr
    assert not (tmp_path / "out.jsonl").exists()
