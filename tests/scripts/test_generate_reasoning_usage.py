"""`scripts/generate_reasoning.py`: each mistake on its command line, in its dataset or in the server's address is
one line on stderr with exit status 2, before any request; the output file is not created."""

import pytest

from tests.support.ports import free_port


@pytest.fixture
def problems(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text('{"id": "a", "problem": "1+1?"}\n{"id": "b", "problem": "2+2?"}\n')
    return path


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--dataset-name", "{folder}/problmes.jsonl"],
            "--dataset-name: no such file or folder: {folder}/problmes.jsonl",
        ),
        (["--prompt-column", "question"], "has no column(s) ['question']; its columns: ['id', 'problem']"),
        (["--prompt-column", "problme"], "its columns: ['id', 'problem'] (did you mean problem?)"),
        (["--dataset-split", "test"], "has no split 'test'"),
        (["--output-file", "{folder}"], "--output-file {folder} is a folder"),
        (["--api-addr", "http://127.0.0.1:8000"], "--api-addr http://127.0.0.1:8000: give host:port"),
        (["--api-addr", "127.0.0.1:{port}"], "--api-addr http://127.0.0.1:{port}/v1: no server answers"),
        (
            ["--dataset-name", "org/problems"],
            "so --dataset-name org/problems is neither a local path nor in the cache",
        ),
        (["--system-prompt", "{folder}/promtp.txt"], "--system-prompt: no such file or folder: {folder}/promtp.txt"),
    ],
)
def test_a_mistake_is_one_line_with_status_2_before_any_request(
    generator, problems, tmp_path, capsys, monkeypatch, flags, message
):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # offline (the tests' setting) with an empty cache
    names = {"folder": tmp_path, "port": free_port()}  # nothing listens on a port just freed
    given = {flag: value.format(**names) for flag, value in zip(flags[::2], flags[1::2])}
    options = {
        "--dataset-name": str(problems),
        "--prompt-column": "problem",
        "--output-file": str(tmp_path / "o.jsonl"),
    }
    options |= {"--api-addr": f"127.0.0.1:{names['port']}", "--model": "m", **given}
    with pytest.raises(SystemExit) as exited:
        generator.main([item for pair in options.items() for item in pair])
    stderr = capsys.readouterr().err
    errors = [line for line in stderr.splitlines() if line.startswith("generate_reasoning.py: error: ")]
    assert exited.value.code == 2
    # Before the error only what loading a data file prints (datasets' progress bars).
    assert len(errors) == 1 and stderr.endswith(errors[0] + "\n") and "Traceback" not in stderr, stderr
    assert message.format(**names) in errors[0]
    assert not (tmp_path / "o.jsonl").exists()


def test_a_system_prompt_file_is_sent_as_its_text_as_training_reads_it(generator, problems, tmp_path):
    """A one-home audit's: the file's name was sent to the model as the system message."""
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Think step by step.\n")
    base = ["--dataset-name", str(problems), "--output-file", str(tmp_path / "o.jsonl")]
    assert generator.parse_args([*base, "--system-prompt", str(prompt)]).system_prompt == "Think step by step."
    assert generator.parse_args([*base, "--system-prompt", "Be brief."]).system_prompt == "Be brief."


def test_a_model_the_server_refuses_is_one_line_before_any_sample(generator, problems, tmp_path, capsys):
    """Found by a newcomer audit: a mistyped --model was one ERROR per sample, then "run again"."""
    from tests.support.local_server import fake_vllm, serving

    with serving(fake_vllm(["tiny-model"])) as url:
        argv = ["--dataset-name", str(problems), "--prompt-column", "problem", "--base-url", f"{url}/v1"]
        with pytest.raises(SystemExit) as exited:
            generator.main([*argv, "--model", "tiny-modle", "--output-file", str(tmp_path / "o.jsonl")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().endswith("(did you mean --model tiny-model?)")
    assert not (tmp_path / "o.jsonl").exists()


def test_a_row_without_a_prompt_is_one_line_naming_it(generator, tmp_path, capsys):
    """The check `src/open_r1/generate.py` now shares: the first null or blank prompt, by row."""
    problems = tmp_path / "problems.jsonl"
    problems.write_text('{"problem": "1+1?"}\n{"problem": " "}\n')
    argv = ["--dataset-name", str(problems), "--output-file", str(tmp_path / "o.jsonl"), "--model", "m"]
    with pytest.raises(SystemExit) as exited:
        generator.main([*argv, "--api-addr", f"127.0.0.1:{free_port()}"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().endswith("row 1: column 'problem' must be a non-empty string, got ' '")
    assert not (tmp_path / "o.jsonl").exists()
