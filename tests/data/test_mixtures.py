"""get_dataset: local paths of every kind, mixtures, and a clear error for each bad input."""

import pytest
from datasets import Dataset, DatasetDict

from open_r1.configs import ScriptArguments
from open_r1.data.mixtures import add_system_prompt, get_dataset
from open_r1.usage import UsageError
from tests.support.files import write_jsonl


def rows(prefix: str, count: int) -> list[dict]:
    return [{"prompt": f"{prefix}-{i}", "solution": str(i), "extra": i} for i in range(count)]


@pytest.fixture
def data_dir(tmp_path):
    Dataset.from_list(rows("a", 100)).save_to_disk(str(tmp_path / "a_disk"))
    DatasetDict({"train": Dataset.from_list(rows("b", 40)), "test": Dataset.from_list(rows("bt", 10))}).save_to_disk(
        str(tmp_path / "b_dict")
    )
    write_jsonl(tmp_path / "c.jsonl", rows("c", 50))
    write_jsonl(tmp_path / "d.jsonl", rows("d", 30))
    Dataset.from_list(rows("e", 20)).to_parquet(str(tmp_path / "e.parquet"))
    Dataset.from_list(rows("f", 10)).to_csv(str(tmp_path / "f.csv"))
    return tmp_path


def mixture(*datasets, **kwargs) -> ScriptArguments:
    return ScriptArguments(dataset_mixture={"datasets": list(datasets), **kwargs})


@pytest.mark.parametrize(
    "name, expected_rows",
    [("a_disk", 100), ("c.jsonl", 50), ("e.parquet", 20), ("f.csv", 10), ("c.jsonl,d.jsonl", 80)],
)
def test_dataset_name_accepts_local_folders_and_files(data_dir, name, expected_rows):
    reference = ",".join(str(data_dir / part) for part in name.split(","))
    dataset = get_dataset(ScriptArguments(dataset_name=reference))
    assert isinstance(dataset, DatasetDict)
    assert len(dataset["train"]) == expected_rows


def test_a_saved_dataset_dict_keeps_its_splits(data_dir):
    dataset = get_dataset(ScriptArguments(dataset_name=str(data_dir / "b_dict")))
    assert {split: len(part) for split, part in dataset.items()} == {"train": 40, "test": 10}


def test_mixture_applies_weights_columns_and_seed(data_dir):
    args = mixture(
        {"id": str(data_dir / "a_disk"), "columns": ["prompt", "solution"], "weight": 0.5},
        {"id": str(data_dir / "c.jsonl"), "columns": ["prompt", "solution"], "weight": 0.2},
        seed=3,
    )
    first = get_dataset(args)["train"]
    assert len(first) == 50 + 10
    assert first.column_names == ["prompt", "solution"]
    assert sum(p.startswith("a-") for p in first["prompt"]) == 50
    assert sum(p.startswith("c-") for p in first["prompt"]) == 10
    assert get_dataset(args)["train"]["prompt"] == first["prompt"], "same seed, same rows in the same order"
    other_seed = mixture(*[vars(d) for d in args.dataset_mixture.datasets], seed=4)
    assert get_dataset(other_seed)["train"]["prompt"] != first["prompt"]


def test_mixture_reads_the_requested_split(data_dir):
    args = mixture({"id": str(data_dir / "b_dict"), "split": "test", "columns": ["prompt"]})
    assert sorted(get_dataset(args)["train"]["prompt"]) == sorted(r["prompt"] for r in rows("bt", 10))


@pytest.mark.parametrize(
    "split, expected",
    [
        ("train[:10]", ["b-0", "b-9"]),
        ("train[30:]", ["b-30", "b-39"]),
        ("train[-5:]", ["b-35", "b-39"]),
        ("train[:25%]", ["b-0", "b-9"]),
        ("test[2:4]", ["bt-2", "bt-3"]),
    ],
)
def test_mixture_splits_take_datasets_slices(data_dir, split, expected):
    args = mixture({"id": str(data_dir / "b_dict"), "split": split, "columns": ["prompt"]})
    prompts = sorted(get_dataset(args)["train"]["prompt"], key=lambda p: int(p.rsplit("-", 1)[1]))
    assert [prompts[0], prompts[-1]] == expected


@pytest.mark.parametrize("split", ["train[:x]", "train[1:2:3]", "nope[:3]"])
def test_a_bad_slice_or_split_name_is_named(data_dir, split):
    with pytest.raises(ValueError, match="split"):
        get_dataset(mixture({"id": str(data_dir / "b_dict"), "split": split, "columns": ["prompt"]}))


def test_mixture_holds_out_a_test_split(data_dir):
    args = mixture(
        {"id": str(data_dir / "a_disk"), "columns": ["prompt"]},
        {"id": str(data_dir / "d.jsonl"), "columns": ["prompt"]},
        test_split_size=0.25,
    )
    dataset = get_dataset(args)
    assert len(dataset["train"]) + len(dataset["test"]) == 130
    assert len(dataset["test"]) == 33
    assert not set(dataset["train"]["prompt"]) & set(dataset["test"]["prompt"])


def test_mixture_without_columns_concatenates_datasets_with_equal_columns(data_dir):
    args = mixture({"id": str(data_dir / "c.jsonl")}, {"id": str(data_dir / "d.jsonl")})
    assert len(get_dataset(args)["train"]) == 80


def test_neither_dataset_name_nor_mixture_is_an_error():
    with pytest.raises(ValueError, match="dataset_name.*dataset_mixture"):
        ScriptArguments()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        get_dataset(ScriptArguments(dataset_name=str(tmp_path / "nope.jsonl")))


def test_unreachable_hub_id_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ValueError, match="no-such-org/no-such-dataset.*not a local path"):
        get_dataset(ScriptArguments(dataset_name="no-such-org/no-such-dataset"))


def test_missing_column_is_named_with_the_existing_ones(data_dir):
    args = mixture({"id": str(data_dir / "c.jsonl"), "columns": ["prompt", "messages"]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['messages'\].*\['prompt', 'solution', 'extra'\]"):
        get_dataset(args)
    args = mixture({"id": str(data_dir / "c.jsonl"), "columns": ["promt"]})
    with pytest.raises(ValueError, match=r"\['prompt', 'solution', 'extra'\] \(did you mean prompt\?\)$"):
        get_dataset(args)


def test_missing_split_is_named_with_the_existing_ones(data_dir):
    args = mixture({"id": str(data_dir / "b_dict"), "split": "validation"})
    with pytest.raises(ValueError, match=r"no split 'validation'.*\['test', 'train'\]"):
        get_dataset(args)


@pytest.mark.parametrize("weight", [0, -0.1, 1.5, "half", True, "0.5"])
def test_weight_outside_zero_one_is_rejected(weight):
    """Found by a red team: `weight: true` passed as 1 (a bool is an int), keeping every row."""
    with pytest.raises(UsageError, match=r"weight must be a number in \(0, 1\], got"):
        mixture({"id": "x.jsonl", "weight": weight})


@pytest.mark.parametrize("size", ["0.1", True, 0, 1.0])
def test_test_split_size_must_be_a_number_in_zero_one(size):
    """Found by a red team: a quoted `test_split_size: "0.1"` passed, and evaluation later failed on
    `'<' not supported between 'int' and 'str'`."""
    with pytest.raises(UsageError, match=r"^dataset_mixture.test_split_size must be a number in \(0, 1\), got"):
        mixture({"id": "x.jsonl"}, test_split_size=size)


def test_a_quoted_test_split_size_is_told_to_be_unquoted():
    with pytest.raises(UsageError, match="quoted string: write it unquoted"):
        mixture({"id": "x.jsonl"}, test_split_size="0.1")


@pytest.mark.parametrize("seed", ["1", True, 1.5])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(UsageError, match=r"^dataset_mixture.seed must be an integer, got"):
        mixture({"id": "x.jsonl"}, seed=seed)


def test_a_column_listed_twice_is_rejected():
    """Found by a red team: `columns: [prompt, prompt, solution]` ended at load in pyarrow's
    `KeyError: 'Field "prompt" exists 2 times in schema'`."""
    with pytest.raises(
        UsageError, match=r"^dataset_mixture.datasets\[0\] \(x.jsonl\): columns lists 'prompt' more than once"
    ):
        mixture({"id": "x.jsonl", "columns": ["prompt", "prompt", "solution"]})


def test_weight_that_keeps_no_row_is_rejected(data_dir):
    with pytest.raises(ValueError, match="keeps no row"):
        get_dataset(mixture({"id": str(data_dir / "f.csv"), "weight": 0.01}))


def test_mixture_members_must_select_the_same_columns():
    # "Column names must be consistent": upstream's tests/utils/test_data.py matches these words.
    with pytest.raises(
        ValueError, match=r"Column names must be consistent.*a.jsonl: \['prompt'\]; b.jsonl: \['prompt', 'solution'\]"
    ):
        mixture({"id": "a.jsonl", "columns": ["prompt"]}, {"id": "b.jsonl", "columns": ["prompt", "solution"]})


def test_mixture_members_with_different_columns_are_rejected_at_load(data_dir, tmp_path):
    Dataset.from_list([{"question": "q"}]).to_json(str(tmp_path / "other.jsonl"))
    args = mixture({"id": str(data_dir / "c.jsonl")}, {"id": str(tmp_path / "other.jsonl")})
    with pytest.raises(ValueError, match="same columns"):
        get_dataset(args)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"datasets": []}, "non-empty list"),
        ({"sets": []}, "'datasets' list"),
        ({"datasets": [{"id": "a", "colums": ["x"]}]}, "unknown keys \\['colums'\\]"),
        ({"datasets": [{"split": "train"}]}, "needs an 'id'"),
        ({"datasets": [{"id": "a"}], "test_split_size": 1.5}, "test_split_size"),
    ],
)
def test_malformed_mixtures_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        ScriptArguments(dataset_mixture=bad)


def test_system_prompt_is_prepended_once():
    conversations = [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}]},
    ]
    dataset = add_system_prompt(DatasetDict({"train": Dataset.from_list(conversations)}), "be brief")
    assert [m[0]["content"] for m in dataset["train"]["messages"]] == ["be brief", "mine"]
    assert len(dataset["train"][0]["messages"]) == 2


def test_a_system_prompt_every_conversation_already_overrides_is_an_error():
    """Found by an audit: `--system_prompt` on data whose rows all open with a system turn trained as without it."""
    opened = [{"messages": [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}]}] * 3
    with pytest.raises(ValueError, match="system_prompt has no effect: every conversation already opens"):
        add_system_prompt(DatasetDict({"train": Dataset.from_list(opened)}), "be brief")
    # SFT also hands it to the benchmark jobs of `benchmarks`: there it takes effect.
    add_system_prompt(DatasetDict({"train": Dataset.from_list(opened)}), "be brief", read_elsewhere=True)


def test_system_prompt_needs_a_conversational_column():
    with pytest.raises(ValueError, match="no conversational column 'messages'"):
        add_system_prompt(DatasetDict({"train": Dataset.from_list([{"text": "x"}])}), "be brief")


@pytest.mark.parametrize("name", ["a_disk", "b_dict", "c.jsonl", "c.jsonl,d.jsonl"])
def test_a_dataset_config_for_a_saved_folder_or_data_files_is_an_error_naming_the_field(data_dir, name):
    # A config selects one of a Hub dataset's configurations; here there is none, and loading everything instead
    # would train on data the recipe did not ask for.
    reference = ",".join(str(data_dir / part) for part in name.split(","))
    with pytest.raises(ValueError, match="dataset_config='verifiable-prompts' cannot apply to .*no configurations"):
        get_dataset(ScriptArguments(dataset_name=reference, dataset_config="verifiable-prompts"))
    entry = {"id": str(data_dir / "a_disk"), "config": "default", "columns": ["prompt"]}
    with pytest.raises(ValueError, match=r"config of .*a_disk='default' cannot apply to the save_to_disk folder"):
        get_dataset(mixture(entry))
