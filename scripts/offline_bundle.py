#!/usr/bin/env python
"""Packs what a GPU machine without network access needs for `make gsm8k`, and unpacks it there.

    python scripts/offline_bundle.py pack                      # here: data/offline/load1, load2, ...
    python scripts/offline_bundle.py pack --load_mib 60 --file ../shared/data/gsm8k_test.jsonl=data/shared/gsm8k_test.jsonl
    python3 scripts/offline_bundle.py unpack --install        # there, once every load has arrived
    python3 scripts/offline_bundle.py unpack --check          # there: whether every load has arrived whole

Compute nodes are often cut off from PyPI and the Hub, and some transfers cap their size (the machines lent to this
project take 64 MiB per call; `docs/gpu.md`). `pack` gathers:
- wheels for Python 3.12 (`--python_version`) of the packages a CUDA image with torch usually lacks (`PACKAGES`),
  at the versions installed here, so the GPU runs the stack the CPU tests ran (`pip download`, no dependencies);
- SmolLM2-135M-Instruct's PyPI wheel (`scripts/get_model.py`'s source; 89 MB), from get_model's cache, to be
  dequantised there by `scripts/get_model.py smollm2 --source pypi`;
- GSM8K train and test from ../shared/data, and any `--file SOURCE=DESTINATION`;
then cuts files larger than `--part_mib` into parts and deals everything into loads of at most `--load_mib`,
`<output_dir>/load1`, `load2`, ..., each with the manifest (every file's destination, size, sha256 and parts).
Carry one load per transfer into the same `<output_dir>` there. `unpack` checks that every part is present, joins
the parts, checks each file's sha256, and writes it to its destination (relative to the repository root); with
`--install` it then installs the wheels (`pip install --no-index --no-deps`), prints `pip check`'s verdict on the
image's own packages, and builds the model folders.

Not covered: packages with compiled code for another platform than `--platform`, sdist-only packages, vLLM.
"""

import argparse
import difflib
import hashlib
import importlib.metadata
import json
import os
import pathlib
import shutil
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "scripts"), str(REPO_ROOT / "src")]

import get_model  # noqa: E402  (the model wheel's name and cache folder are its own)

from open_r1.utils.launch import SHARED_DATA  # noqa: E402  (standard library only: runs before the unpacked install)

MIB = 1 << 20
MANIFEST = "manifest.json"
# What `make gsm8k` and grpo_throughput.py import that the CUDA image of the project's lent GPUs lacks (or has at
# another version): read off its package list (docs/gpu.md). torch, pyarrow, pandas, tokenizers stay the image's.
PACKAGES = (
    "trl",
    "transformers",
    "datasets",
    "accelerate",
    "peft",
    "math-verify",
    "latex2sympy2_extended",
    "antlr4-python3-runtime",
    "gguf",
    "dill",
    "multiprocess",
)
MODEL_WHEEL = f"{get_model.MODEL_CACHE_FOLDER}/{get_model.MODELS['smollm2'].wheel_file}"
SHARED_FILES = ("gsm8k_train.jsonl", "gsm8k_test.jsonl")


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_requirements(packages=PACKAGES) -> list[str]:
    """`name==version` of each package as installed in this environment."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in packages]


def download_wheels(folder: pathlib.Path, python_version: str, platform: str) -> list[pathlib.Path]:
    """The pinned wheels, downloaded into `folder` emptied first, so a stale wheel of an earlier pack never travels."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(folder)]
    command += ["--python-version", python_version, "--platform", platform, *pinned_requirements()]
    subprocess.run(command, check=True)
    return sorted(folder.glob("*.whl"))


def plan_loads(files: dict[str, pathlib.Path], part_bytes: int, load_bytes: int) -> dict:
    """The manifest: each destination's size, sha256 and parts, a part being (load, name, offset, size); each part
    goes to the first load with room for it beside the manifest, which travels in every load."""
    if part_bytes > load_bytes:
        raise SystemExit(f"--part_mib must not exceed --load_mib ({part_bytes // MIB} > {load_bytes // MIB})")
    digests = {destination: sha256(source) for destination, source in files.items()}
    reserve = 0  # room kept for the manifest, whose size depends on the plan: grow it until the plan fits
    while True:
        manifest = _deal(files, digests, part_bytes, load_bytes - reserve)
        manifest_bytes = len(_manifest_text(manifest).encode("utf-8"))
        if manifest_bytes <= reserve:
            return manifest
        reserve = manifest_bytes + 1024
        if part_bytes > load_bytes - reserve:
            raise SystemExit(f"--part_mib leaves no room for the {manifest_bytes}-byte manifest in --load_mib")


def _manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2) + "\n"


def _deal(files: dict[str, pathlib.Path], digests: dict[str, str], part_bytes: int, load_bytes: int) -> dict:
    loads: list[int] = []  # bytes used in each load
    manifest = {"files": {}}
    for index, (destination, source) in enumerate(files.items()):
        size = source.stat().st_size
        parts = []
        for number, offset in enumerate(range(0, max(size, 1), part_bytes)):
            length = min(part_bytes, size - offset)
            load = next((i for i, used in enumerate(loads) if used + length <= load_bytes), None)
            if load is None:
                loads.append(0)
                load = len(loads) - 1
            loads[load] += length
            parts.append(
                {"load": f"load{load + 1}", "name": f"{index:03d}.{number:03d}", "offset": offset, "size": length}
            )
        manifest["files"][destination] = {
            "source": str(source),
            "size": size,
            "sha256": digests[destination],
            "parts": parts,
        }
    manifest["loads"] = [f"load{i + 1}" for i in range(len(loads))]
    return manifest


def write_loads(manifest: dict, output_dir: pathlib.Path) -> None:
    for load in manifest["loads"]:
        shutil.rmtree(output_dir / load, ignore_errors=True)
        (output_dir / load).mkdir(parents=True)
        (output_dir / load / MANIFEST).write_text(_manifest_text(manifest), encoding="utf-8")
    for entry in manifest["files"].values():
        with open(entry["source"], "rb") as source:
            for part in entry["parts"]:
                source.seek(part["offset"])
                (output_dir / part["load"] / part["name"]).write_bytes(source.read(part["size"]))


def check_loads(bundle_dir: pathlib.Path) -> dict:
    """The manifest, once every load it names has arrived with each part at its size; SystemExit naming what has not.
    Writes nothing."""
    manifests = sorted(bundle_dir.glob(f"load*/{MANIFEST}"))
    if not manifests:
        raise SystemExit(f"{bundle_dir}: no load*/{MANIFEST}; carry the loads `pack` wrote into this folder")
    manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
    missing = [load for load in manifest["loads"] if not (bundle_dir / load).is_dir()]
    if missing:
        raise SystemExit(f"{bundle_dir}: load(s) {missing} have not arrived (expected {manifest['loads']})")
    for destination, entry in manifest["files"].items():  # every check before the first file is written
        check_destination(destination)
        for part in entry["parts"]:
            path = bundle_dir / part["load"] / part["name"]
            if not path.is_file() or path.stat().st_size != part["size"]:
                raise SystemExit(f"{path}: part of {destination} missing or of the wrong size; carry its load again")
    return manifest


def unpack(bundle_dir: pathlib.Path, root: pathlib.Path) -> list[pathlib.Path]:
    """Joins every file's parts into its destination under `root`, checked against its sha256; returns them."""
    manifest = check_loads(bundle_dir)
    written = []
    for destination, entry in manifest["files"].items():
        target = root / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("wb") as out:
                for part in entry["parts"]:
                    out.write((bundle_dir / part["load"] / part["name"]).read_bytes())
            if sha256(partial) != entry["sha256"]:
                raise SystemExit(f"{destination}: sha256 differs from the packed file's; carry its loads again")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        written.append(target)
    return written


def check_destination(destination: str) -> None:
    """A destination is a relative path inside the root: never absolute, never through `..`."""
    path = pathlib.PurePosixPath(destination)
    if path.is_absolute() or ".." in path.parts or "\\" in destination or not path.parts:
        raise SystemExit(f"{destination!r}: a destination is a path relative to the repository root, without '..'")


def install(written: list[pathlib.Path]) -> None:
    wheels = [str(path) for path in written if path.suffix == ".whl" and path.parent.name == "wheels"]
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", *wheels], check=True)
    # The image's own packages (pyarrow, fsspec, tokenizers) must meet the wheels' requirements: say where not.
    subprocess.run([sys.executable, "-m", "pip", "check"], check=False)
    # get_model imports open_r1 from src/, which a bare image has not installed.
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    subprocess.run(
        [sys.executable, "scripts/get_model.py", "smollm2", "--source", "pypi"],
        check=True,
        cwd=REPO_ROOT,
        env=environment,
    )


def parse_file_pairs(pairs: list[str]) -> dict[str, pathlib.Path]:
    files = {}
    for pair in pairs:
        source, separator, destination = pair.rpartition("=")  # a destination is a plain relative path
        if not separator or not source or not destination:
            raise SystemExit(f"--file {pair}: expected SOURCE=DESTINATION")
        check_destination(destination)
        if destination in files:
            raise SystemExit(f"--file {pair}: {destination} is already the destination of {files[destination]}")
        if not pathlib.Path(source).is_file():
            raise SystemExit(f"--file {pair}: no such file: {source}")
        files[destination] = pathlib.Path(source)
    return files


COMMANDS = ("pack", "unpack")


def main(argv: list[str] | None = None) -> None:
    """Runs `pack` or `unpack`; a mistake or a failed check is one line, `offline_bundle.py: error: ...`, exit status
    2 (the functions raise SystemExit with the message, so a caller can catch it)."""
    try:
        _main(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:
        if not isinstance(stop.code, str):
            raise
        print(f"offline_bundle.py: error: {stop.code}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _main(argv: list[str]) -> None:
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:  # argparse lists the choices, suggests none
        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        raise SystemExit(
            f"unknown command {argv[0]!r}"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; one of {COMMANDS}"
        )
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="Gather, cut and deal the files into loads (here).")
    pack_parser.add_argument(
        "--output_dir", type=pathlib.Path, default=REPO_ROOT / "data" / "offline", help="Folder the loads go to."
    )
    pack_parser.add_argument("--load_mib", type=int, default=56, help="Largest load, in MiB.")
    pack_parser.add_argument("--part_mib", type=int, default=40, help="Largest part of a file, in MiB.")
    pack_parser.add_argument("--python_version", default="3.12", help="The GPU machine's Python, for the wheels.")
    pack_parser.add_argument("--platform", default="manylinux2014_x86_64", help="Its platform tag, for the wheels.")
    pack_parser.add_argument(
        "--shared_dir", type=pathlib.Path, default=SHARED_DATA, help="The benchmark files' folder (../shared/data)."
    )
    pack_parser.add_argument(
        "--file",
        action="append",
        default=[],
        help="SOURCE=DESTINATION (repeatable); replaces a default file's source.",
    )
    pack_parser.add_argument("--no_defaults", action="store_true", help="Pack only the --file pairs.")
    unpack_parser = commands.add_parser("unpack", help="Join and check the loads (there).")
    unpack_parser.add_argument(
        "--bundle_dir", type=pathlib.Path, default=REPO_ROOT / "data" / "offline", help="Folder the loads arrived in."
    )
    unpack_parser.add_argument("--root", type=pathlib.Path, default=REPO_ROOT, help="Destinations are under it.")
    unpack_parser.add_argument(
        "--install", action="store_true", help="Then install the wheels, build the model (root: the repository)."
    )
    unpack_parser.add_argument(
        "--check", action="store_true", help="Only check that every load has arrived whole; write nothing."
    )
    args = parser.parse_args(argv)

    if args.command == "unpack":
        if args.check:
            if args.install:
                raise SystemExit("--check writes nothing: it cannot --install")
            manifest = check_loads(args.bundle_dir)
            print(f"{args.bundle_dir}: all {len(manifest['loads'])} loads have arrived whole", flush=True)
            return
        if args.install and args.root.resolve() != REPO_ROOT:
            raise SystemExit(f"--install builds the model in this repository: leave --root at {REPO_ROOT}")
        written = unpack(args.bundle_dir, args.root)
        print(f"unpacked {len(written)} files under {args.root}", flush=True)
        if args.install:
            install(written)
        return
    for name in ("load_mib", "part_mib"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be at least 1 MiB, got {getattr(args, name)}")
    if args.no_defaults and not args.file:
        raise SystemExit("--no_defaults packs only the --file pairs, and none is given: name one, SOURCE=DESTINATION")
    files = {}
    if not args.no_defaults:
        files[MODEL_WHEEL] = REPO_ROOT / MODEL_WHEEL
        files.update({f"data/shared/{name}": args.shared_dir / name for name in SHARED_FILES})
    files.update(parse_file_pairs(args.file))
    missing = [f"{source} (for {destination})" for destination, source in files.items() if not source.is_file()]
    if missing:  # before the downloads
        hint = "`python scripts/get_model.py smollm2 --source pypi` fetches the model wheel; --shared_dir or --file"
        raise SystemExit(f"no such file: {', '.join(missing)}; {hint} SOURCE=DESTINATION names another")
    if not args.no_defaults:
        wheels = download_wheels(args.output_dir / "wheels", args.python_version, args.platform)
        files.update({f"data/offline/wheels/{wheel.name}": wheel for wheel in wheels})
    manifest = plan_loads(files, args.part_mib * MIB, args.load_mib * MIB)
    write_loads(manifest, args.output_dir)
    for load in manifest["loads"]:
        size = sum(path.stat().st_size for path in (args.output_dir / load).iterdir())
        print(f"{args.output_dir / load}: {size / MIB:.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
