"""docs/benchmarks.md's `--write_docs` commands, run as written, give back the page as it is: each table is the one
its kept results files make, in the order the command names them (a glob, as the shell expands it, included)."""

import re
import shutil

import pytest

from tests.support import REPO_ROOT
from tests.support.script_module import load_module

PAGE = REPO_ROOT / "docs" / "benchmarks.md"
# The scripts whose write_docs(paths, page) writes one block of the page from results files.
COMMAND = re.compile(r"scripts/benchmarks/(\w+)\.py --write_docs ([^`#\n]+)")


def documented_commands() -> list[tuple[str, list[str]]]:
    text = re.sub(r"\\\n\s*", " ", PAGE.read_text(encoding="utf-8"))  # shell continuation lines joined
    return [
        (script, [word for word in arguments.split() if "<" not in word])
        for script, arguments in COMMAND.findall(text)
        if script not in ("first_hour", "dynamic_sampling")  # their own tests check their blocks
    ]


def test_the_page_names_a_write_docs_command_for_each_benchmark_that_tabulates_results_files():
    assert {script for script, _ in documented_commands()} >= {
        "rewards",
        "decontaminate",
        "sandbox",
        "python_tool",
        "tool_round",
        "grpo_throughput",
        "tool_rollout_schedule",
        "shared_prompt_sampling",
        "cpu_threads",
        "sft_padding",
        "example_replay",
    }


@pytest.mark.parametrize(("script", "arguments"), documented_commands(), ids=lambda value: str(value)[:40])
def test_each_documented_write_docs_command_gives_back_the_page(tmp_path, script, arguments):
    paths = [path for word in arguments for path in sorted(REPO_ROOT.glob(word))]
    assert paths, f"{script}.py --write_docs {' '.join(arguments)}: no such results files"
    page = tmp_path / "benchmarks.md"
    shutil.copyfile(PAGE, page)
    load_module(f"scripts/benchmarks/{script}.py", f"{script}_docs").write_docs(paths, page)
    assert page.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8"), (
        f"docs/benchmarks.md differs from what `{script}.py --write_docs {' '.join(arguments)}` writes"
    )


def test_the_shared_page_is_the_checkouts_and_every_scripts_markers_are_on_it():
    from open_r1.utils.results_docs import BENCHMARKS_PAGE, results_markers

    assert BENCHMARKS_PAGE == PAGE
    assert results_markers("tool_round.py") == (
        "<!-- tool_round.py results: begin -->",
        "<!-- tool_round.py results: end -->",
    )
    assert results_markers("dynamic_sampling.py", "tiny")[1] == "<!-- dynamic_sampling.py results (tiny): end -->"
    text = PAGE.read_text(encoding="utf-8")
    pairs = []
    for path in sorted((REPO_ROOT / "scripts" / "benchmarks").glob("*.py")):
        script = load_module(path.relative_to(REPO_ROOT), f"{path.stem}_markers")
        if hasattr(script, "BEGIN"):  # tool_rollout_schedule.py's END is a token; its marker is END_MARKER
            pairs.append((path.name, (script.BEGIN, getattr(script, "END_MARKER", script.END))))
        if hasattr(script, "SUMMARY_MARKERS"):
            pairs += [(path.name, script.SUMMARY_MARKERS)] + [(path.name, script.markers(m)) for m in script.MODELS]
    assert len(pairs) >= 18
    for name, (begin, end) in pairs:
        assert text.count(begin) == 1 and text.count(end) == 1 and text.index(begin) < text.index(end), name
