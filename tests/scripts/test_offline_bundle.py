"""scripts/offline_bundle.py: files cut into parts, dealt into loads under the size cap, and joined back exactly;
a missing load or a damaged part is named, never unpacked into a wrong file."""

import json
import os
import pathlib

import pytest

from tests.support.script_module import load_module

bundle = load_module("scripts/offline_bundle.py", "offline_bundle")
KIB = 1024


@pytest.fixture
def sources(tmp_path):
    files = {}
    for name, size in (("model.whl", 25 * KIB), ("wheels/trl.whl", 3 * KIB), ("train.jsonl", 7 * KIB)):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        files[f"dest/{name}"] = path
    return files


def pack(sources, output_dir, part=10 * KIB, load=16 * KIB):
    manifest = bundle.plan_loads(sources, part, load)
    bundle.write_loads(manifest, output_dir)
    return manifest


def test_every_load_stays_under_the_cap_and_the_files_come_back_byte_for_byte(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    assert len(manifest["files"]["dest/model.whl"]["parts"]) == 3  # 25 KiB in parts of at most 10
    for load in manifest["loads"]:
        parts = [p for p in (tmp_path / "bundle" / load).iterdir() if p.name != bundle.MANIFEST]
        assert sum(p.stat().st_size for p in parts) <= 16 * KIB
    written = bundle.unpack(tmp_path / "bundle", tmp_path / "there")
    assert sorted(written) == sorted(tmp_path / "there" / dest for dest in sources)
    for destination, source in sources.items():
        assert (tmp_path / "there" / destination).read_bytes() == source.read_bytes()


def test_a_load_that_has_not_arrived_is_named(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    last = manifest["loads"][-1]
    for path in (tmp_path / "bundle" / last).iterdir():
        path.unlink()
    (tmp_path / "bundle" / last).rmdir()
    with pytest.raises(SystemExit, match=f"load\\(s\\) \\['{last}'\\] have not arrived"):
        bundle.unpack(tmp_path / "bundle", tmp_path / "there")


def test_a_damaged_part_is_refused_and_leaves_no_file_behind(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    part = manifest["files"]["dest/model.whl"]["parts"][1]
    path = tmp_path / "bundle" / part["load"] / part["name"]
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(SystemExit, match="dest/model.whl: sha256 differs"):
        bundle.unpack(tmp_path / "bundle", tmp_path / "there")
    assert not (tmp_path / "there" / "dest" / "model.whl").exists()
    assert not list((tmp_path / "there" / "dest").glob("*.partial"))


def test_the_manifest_travels_in_every_load_and_a_part_never_exceeds_the_load(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    for load in manifest["loads"]:
        assert json.loads((tmp_path / "bundle" / load / bundle.MANIFEST).read_text()) == manifest
    with pytest.raises(SystemExit, match="--part_mib must not exceed --load_mib"):
        bundle.plan_loads(sources, 20 * KIB, 16 * KIB)


def test_the_wheels_pin_the_versions_installed_here():
    import trl

    assert f"trl=={trl.__version__}" in bundle.pinned_requirements()


def test_a_file_pair_without_destination_or_source_is_one_message(tmp_path):
    with pytest.raises(SystemExit, match="expected SOURCE=DESTINATION"):
        bundle.parse_file_pairs([str(tmp_path)])
    with pytest.raises(SystemExit, match="no such file"):
        bundle.parse_file_pairs([f"{tmp_path / 'nope'}=data/x"])


def test_a_part_of_the_wrong_size_is_named_before_any_file_is_written(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    part = manifest["files"]["dest/train.jsonl"]["parts"][0]
    path = tmp_path / "bundle" / part["load"] / part["name"]
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(SystemExit, match=f"{part['name']}: part of dest/train.jsonl missing or of the wrong size"):
        bundle.unpack(tmp_path / "bundle", tmp_path / "there")
    assert not (tmp_path / "there").exists()  # neither the files before it nor a .partial


@pytest.mark.parametrize("destination", ["/etc/x", "../outside/x", "data/../../x", ""])
def test_a_destination_outside_the_repository_is_refused(tmp_path, destination):
    source = tmp_path / "file"
    source.write_text("x")
    with pytest.raises(SystemExit, match="expected SOURCE=DESTINATION|relative to the repository root"):
        bundle.parse_file_pairs([f"{source}={destination}"])


def test_a_tampered_manifest_cannot_write_outside_the_root(sources, tmp_path):
    manifest = pack(sources, tmp_path / "bundle")
    manifest["files"]["../escaped"] = manifest["files"].pop("dest/train.jsonl")
    for load in manifest["loads"]:
        (tmp_path / "bundle" / load / bundle.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(SystemExit, match="'../escaped': a destination is a path relative"):
        bundle.unpack(tmp_path / "bundle", tmp_path / "there")
    assert not (tmp_path / "escaped").exists()


def test_two_sources_for_one_destination_are_refused(sources, tmp_path):
    first, second = list(sources.values())[:2]
    with pytest.raises(SystemExit, match="data/x is already the destination of"):
        bundle.parse_file_pairs([f"{first}=data/x", f"{second}=data/x"])


def test_the_wheels_folder_is_emptied_so_a_stale_wheel_never_travels(tmp_path, monkeypatch):
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "trl-0.1-py3-none-any.whl").write_bytes(b"stale")

    def pip_download(command, check):
        destination = pathlib.Path(command[command.index("--dest") + 1])
        (destination / "trl-9.9-py3-none-any.whl").write_bytes(b"fresh")

    monkeypatch.setattr(bundle.subprocess, "run", pip_download)
    assert [w.name for w in bundle.download_wheels(folder, "3.12", "manylinux2014_x86_64")] == [
        "trl-9.9-py3-none-any.whl"
    ]


def test_every_load_with_its_manifest_stays_under_the_cap(sources, tmp_path):
    manifest = pack(
        sources, tmp_path / "bundle", part=4 * KIB, load=8 * KIB
    )  # two parts fill a load, bar the manifest
    for load in manifest["loads"]:
        assert sum(p.stat().st_size for p in (tmp_path / "bundle" / load).iterdir()) <= 8 * KIB
    with pytest.raises(SystemExit, match="leaves no room for the .*manifest"):
        bundle.plan_loads(sources, 6 * KIB, 6 * KIB)


def test_check_says_whether_every_load_arrived_whole_and_writes_nothing(sources, tmp_path, capsys):
    manifest = pack(sources, tmp_path / "bundle")
    bundle.main(["unpack", "--check", "--bundle_dir", str(tmp_path / "bundle"), "--root", str(tmp_path / "there")])
    assert f"all {len(manifest['loads'])} loads have arrived whole" in capsys.readouterr().out
    assert not (tmp_path / "there").exists()
    part = manifest["files"]["dest/model.whl"]["parts"][0]
    (tmp_path / "bundle" / part["load"] / part["name"]).write_bytes(b"cut short")
    with pytest.raises(SystemExit) as stop:
        bundle.main(["unpack", "--check", "--bundle_dir", str(tmp_path / "bundle")])
    assert stop.value.code == 2 and "missing or of the wrong size" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pakc"], "unknown command 'pakc' (did you mean 'pack'?)"),
        (["pack", "--part_mib", "-1"], "--part_mib must be at least 1 MiB, got -1"),
        (["pack", "--load_mib", "0"], "--load_mib must be at least 1 MiB, got 0"),
        (["pack", "--no_defaults"], "--no_defaults packs only the --file pairs, and none is given"),
    ],
)
def test_a_mistake_is_one_line_with_exit_status_2_before_anything_is_packed(argv, message, tmp_path, capsys):
    """A newcomer audit's: --part_mib -1 and --no_defaults without --file exited 0 having packed nothing."""
    with pytest.raises(SystemExit) as stop:
        bundle.main([*argv, *(["--output_dir", str(tmp_path / "out")] if argv[0] == "pack" else [])])
    assert stop.value.code == 2
    said = capsys.readouterr().err
    assert said.startswith(f"offline_bundle.py: error: {message}") and said.count("\n") == 1, said
    assert not (tmp_path / "out").exists()
