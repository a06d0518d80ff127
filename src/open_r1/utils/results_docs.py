"""Benchmark results files and the docs tables written from them, the plumbing every benchmark script shares.

    BEGIN, END = results_markers("decode_step.py")     # its block's markers in BENCHMARKS_PAGE (docs/benchmarks.md)
    write_docs = results_table_writer(BEGIN, END, docs_section)   # write_docs(paths, page=BENCHMARKS_PAGE)
    add_results_options(parser)                        # --output results.json, --write_docs results files...
    args = parse_or_write_docs(parser, argv, write_docs, required=("model",))   # None once --write_docs wrote
    seconds, result = best_of(repeats, run)            # the fastest of `repeats` timed calls (a shared machine)
    save_results(args.output, results)                 # whole or not at all
    report_results(results, args.output, docs_section) # the table printed, the results saved
    write_results_table(args.write_docs, BENCHMARKS_PAGE, BEGIN, END, docs_section, REPO_ROOT)   # into its page

A script's `docs_section` takes [(results, path)] and returns its table (`markdown_table`, with `results_cell` for
the file a row was read from; `section_per_run` where each run has a section of its own); the page keeps
everything outside its markers (`between_markers`). `results_table_writer` is a script's `write_docs`, the
`write_results_table` of its block; `parse_or_write_docs` its main()'s start: with `--write_docs` it writes the
table and measures nothing, without it the options the measuring needs are checked. The demo reports write their
tables with `markdown_table` too.
Not covered: where and when a run was measured and its cells (`open_r1.utils.provenance`), what a table says.
"""

import json
import os
import pathlib
import time

from open_r1.utils.launch import REPO_ROOT

# The page the benchmark scripts write their tables into.
BENCHMARKS_PAGE = REPO_ROOT / "docs" / "benchmarks.md"


def results_markers(script: str, part: str | None = None) -> tuple[str, str]:
    """The markers around `script`'s results block in BENCHMARKS_PAGE ("decode_step.py"); `part` names one of its
    blocks where it writes several ("<!-- dynamic_sampling.py results (tiny): begin -->")."""
    name = f"{script} results" + (f" ({part})" if part else "")
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def best_of(repeats: int, run) -> tuple[float, object]:
    """(fastest wall time in seconds, result of the last run) of `repeats` calls of `run`: on a shared machine, the
    run the neighbours slowed least."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def between_markers(text: str, begin: str, end: str, section: str, page, what: str = "the results") -> str:
    """`text` (the contents of `page`) with everything from `begin` to `end` replaced by `section`, which carries
    the markers itself, so that a results block is written again in place; a page without them is refused."""
    if begin not in text or end not in text:
        raise SystemExit(f"{page} has no {begin} ... {end} markers to write {what} between")
    before, rest = text.split(begin, 1)
    return before + section + rest.split(end, 1)[1]


def write_between_markers(page: pathlib.Path, begin: str, end: str, body: str) -> None:
    """Writes `body` into `page` between its markers, in place of what was there (`between_markers`)."""
    section = "\n\n".join([begin, body, end])
    page.write_text(between_markers(page.read_text(encoding="utf-8"), begin, end, section, page), encoding="utf-8")


def read_results_files(paths: list[pathlib.Path], root: pathlib.Path) -> list[tuple[dict, pathlib.Path]]:
    """Each results file's contents, with its path as a docs page names it: relative to `root` where it lies under."""
    runs = []
    for path in paths:
        shown = path.resolve().relative_to(root) if path.resolve().is_relative_to(root) else path
        runs.append((json.loads(path.read_text(encoding="utf-8")), shown))
    return runs


def add_results_options(parser) -> None:
    """A benchmark script's `--output` (its results, as JSON: `save_results`) and `--write_docs` (the table of
    results files, into its docs page: `write_results_table`)."""
    parser.add_argument("--output", type=pathlib.Path, default=None, help="Where to write the results (JSON).")
    parser.add_argument("--write_docs", type=pathlib.Path, nargs="+", default=None, help="Results files to tabulate.")


def write_results_table(
    paths: list[pathlib.Path], page: pathlib.Path, begin: str, end: str, section, root: pathlib.Path
) -> None:
    """A benchmark script's `--write_docs`: `section` of the results files at `paths` (each with its path as
    `read_results_files` shows it under `root`), in the order given, written into `page` between its markers."""
    write_between_markers(page, begin, end, section(read_results_files(paths, root)))
    print(f"wrote {len(paths)} results into {page}", flush=True)


def results_table_writer(begin: str, end: str, section, page: pathlib.Path = BENCHMARKS_PAGE):
    """A benchmark script's `write_docs(paths, page=page)`: `write_results_table` of its block, between `begin` and
    `end`, with its `section`."""

    def write_docs(paths: list[pathlib.Path], page: pathlib.Path = page) -> None:
        """Replaces the block between the page's markers with the table(s) of `paths`, in the order given."""
        write_results_table(paths, page, begin, end, section, REPO_ROOT)

    return write_docs


def section_per_run(results_section):
    """A `docs_section` made of each run's own `results_section(results, path)`, a blank line between them."""

    def section(runs: list[tuple[dict, pathlib.Path | None]]) -> str:
        return "\n\n".join(results_section(results, shown) for results, shown in runs)

    return section


def parse_or_write_docs(
    parser,
    argv: list[str] | None,
    write_docs,
    required: tuple[str, ...] = (),
    required_for: str = "(unless --write_docs)",
):
    """A benchmark script's main() start: `parser`'s arguments from `argv`, or None once `write_docs` has written
    the `--write_docs` files into the docs (the script measures nothing then). Measuring, each option named in
    `required` ("model" for --model) must be given: a missing one is refused in one line, "--model is required
    (unless --write_docs)", or with `required_for` in place of the parenthesis."""
    args = parser.parse_args(argv)
    if args.write_docs:
        write_docs(args.write_docs)
        return None
    if any(getattr(args, name) is None for name in required):
        options = " and ".join(f"--{name}" for name in required)
        parser.error(f"{options} {'is' if len(required) == 1 else 'are'} required {required_for}")
    return args


def save_results(path: pathlib.Path, results: dict, quiet: bool = False) -> None:
    """A benchmark script's `--output`: `results` as indented JSON at `path`, its folder made if needed, whole or not
    at all (a run stopped while saving, at a lease's limit, leaves its last complete save)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    if not quiet:
        print(f"wrote {path}", flush=True)


def report_results(results: dict, output: pathlib.Path | None, section) -> None:
    """A benchmark script's end: `section` (its docs table) of `results` printed, and the results saved at `output`
    where one is given (`save_results`)."""
    print(section([(results, None)]), flush=True)
    if output is not None:
        save_results(output, results)


def results_cell(path: pathlib.Path | None) -> str:
    """A benchmark table row's last cell: the results file the row was read from ("" for a run's own printout)."""
    return f"`{path.as_posix()}`" if path else ""
