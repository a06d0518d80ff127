"""scripts/write_reward_list.py: the README's reward list, one line per name of the registry, cannot drift."""

import sys

import pytest

from open_r1.rewards import REWARD_DESCRIPTIONS, REWARD_FUNCS_REGISTRY
from tests.support.script_module import load_module


@pytest.fixture
def writer():
    return load_module("scripts/write_reward_list.py", "write_reward_list")


def test_every_reward_of_the_registry_has_one_line_of_description_and_no_other_does():
    assert set(REWARD_DESCRIPTIONS) == set(REWARD_FUNCS_REGISTRY)
    assert all(text.strip() and "\n" not in text for text in REWARD_DESCRIPTIONS.values())


def test_the_list_has_one_line_per_reward_with_the_columns_it_reads(writer):
    lines = writer.reward_list().split("\n")
    assert lines[0] == writer.BEGIN and lines[-1] == writer.END
    assert [line.split("`")[1] for line in lines[1:-1]] == list(REWARD_FUNCS_REGISTRY)
    assert "- `accuracy` (reads `solution` or `answer`): " in lines[1]
    assert any(line.startswith("- `format`: ") for line in lines), "a reward that reads only the completions"


def test_a_stale_block_is_replaced_and_check_says_so(writer, tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{writer.BEGIN}\n- `accuracy`: old text\n{writer.END}\n\nAfter.\n")
    monkeypatch.setattr(writer, "README", readme)
    monkeypatch.setattr(sys, "argv", ["write_reward_list.py", "--check"])
    assert writer.main() == 1
    assert "stale" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["write_reward_list.py"])
    assert writer.main() == 0
    assert readme.read_text() == f"# Title\n\n{writer.reward_list()}\n\nAfter.\n"
    monkeypatch.setattr(sys, "argv", ["write_reward_list.py", "--check"])
    assert writer.main() == 0


def test_a_readme_without_the_markers_is_an_error(writer):
    with pytest.raises(
        SystemExit, match="README.md has no <!-- reward list.* markers to write the reward list between"
    ):
        writer.with_reward_list("# Title\n")
