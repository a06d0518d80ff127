"""`open_r1.utils.provenance`: a record has one set of keys whoever writes it, and every form older results files
kept (docs/results/) reads back in that form, with the numbers the docs tables print from it."""

import pytest

from open_r1.utils.launch import usable_cores
from open_r1.utils.provenance import provenance_cells, provenance_record, read_provenance, with_end_load

MACHINE_KEYS = {"cpu", "cores", "omp_num_threads", "load_average_at_start", "load_average_at_end"}


def test_a_record_has_one_key_per_fact_and_its_load_averages_as_lists():
    record = with_end_load(provenance_record())
    assert set(record) == {"date", "commit", "machine", "versions"}
    assert set(record["machine"]) == MACHINE_KEYS
    assert record["machine"]["cores"] == usable_cores()
    assert all(len(record["machine"][key]) == 3 for key in ("load_average_at_start", "load_average_at_end"))
    assert set(record["versions"]) == {"python", "torch", "transformers", "trl"} and record["versions"]["torch"]
    assert record["date"].endswith("+00:00"), "UTC, as the pages write it"
    assert read_provenance(record) == record, "a record reads back as it is"


def test_a_record_names_the_thread_setting_its_timings_depend_on(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert provenance_record()["machine"]["omp_num_threads"] == "1"
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert provenance_record()["machine"]["omp_num_threads"] is None, "unset: torch's default, a thread per core"


OLD = {"date": "2026-11-26", "commit": "abc1234"}


@pytest.mark.parametrize(
    ("saved", "cpu", "cores", "start", "end"),
    [
        # demo.report.benchmark_provenance, load at the start and end as pipeline's lists (rewards.py)
        ({"machine": "x86_64", "cpus": 2, "load_average_at_start": [1.1, 2, 2], "load_average_at_end": [1.2, 2, 2]},
         "x86_64", 2, [1.1, 2, 2], [1.2, 2, 2]),
        # the 1-minute load at the start alone (python_tool.py)
        ({"machine": "x86_64", "cpus": 2, "load_average_at_start": 1.14}, "x86_64", 2, [1.14], None),
        # [start, end] 1-minute loads (sandbox.py, cpu_threads.py, shared_prompt_sampling.py; cpu_threads' `cores`
        # is its own thread count)
        ({"machine": "x86_64", "cpus": 4, "cores": 2, "load_average": [0.5, 1.9]}, "x86_64", 4, [0.5], [1.9]),
        # the start alone as a list of one (decode_step.py)
        ({"machine": "x86_64", "cpus": 16, "load_average": [0.7]}, "x86_64", 16, [0.7], None),
        # grpo_throughput.py: `cpu_cores`, no machine name (its device_name is its own)
        ({"cpu_cores": 16, "load_average_at_start": 1.03, "device_name": "NVIDIA H100"}, None, 16, [1.03], None),
        # tool_round.py: `cores_usable`
        ({"machine": "x86_64", "cores_usable": 2, "load_average_at_start": 0.5}, "x86_64", 2, [0.5], None),
        # tool_rollout_schedule.py: commit and date only
        ({}, None, None, None, None),
    ],
    ids=["lists", "float", "start-end", "start-only", "cpu_cores", "cores_usable", "commit-date"],
)  # fmt: skip
def test_each_older_form_reads_back_in_the_records_form(saved, cpu, cores, start, end):
    record = read_provenance({**OLD, **saved})
    assert record["date"] == "2026-11-26" and record["commit"] == "abc1234"
    assert record["machine"] == {
        "cpu": cpu,
        "cores": cores,
        "omp_num_threads": None,
        "load_average_at_start": start,
        "load_average_at_end": end,
    }


def test_the_demos_older_record_reads_back_as_it_was_and_versions_from_their_old_keys():
    machine = {
        "cpu": "AMD EPYC",
        "cores": 2,
        "load_average_at_start": [1.8, 1.9, 2.0],
        "load_average_at_end": [2, 2, 2],
    }
    assert read_provenance({**OLD, "machine": machine})["machine"] == {**machine, "omp_num_threads": None}
    saved = {**OLD, "torch": "2.13.0+cpu", "transformers": "5.23.0", "trl": "1.16.0"}
    assert read_provenance(saved)["versions"] == {"torch": "2.13.0+cpu", "transformers": "5.23.0", "trl": "1.16.0"}


def test_a_benchmark_rows_first_cells_read_old_and_new_records_alike():
    old = {**OLD, "machine": "x86_64", "cpus": 2, "load_average": [0.5, 1.9]}
    assert provenance_cells(old, "0.50 → 1.90") == ["2026-11-26", "abc1234", "x86_64, 2 CPUs, 0.50 → 1.90"]
    new = provenance_record()
    cells = provenance_cells({**new, "commit": None}, "load", machine="NVIDIA H100")
    assert cells == [new["date"][:10], "unknown", f"NVIDIA H100, {usable_cores()} CPUs, load"]
