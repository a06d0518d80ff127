"""`any_process` (open_r1.utils.distributed): every process of a launch takes the decision any one of them takes."""

import multiprocessing
import socket

import pytest
import torch

from open_r1.utils.distributed import any_process


def _vote(rank: int, port: int, flags: list, results) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    results[rank] = any_process(flags[rank], "cpu")
    torch.distributed.destroy_process_group()


@pytest.mark.parametrize(
    "flags",
    [
        [True, False],
        [False, True],
        [False, False],
        [torch.tensor(False), torch.tensor(True)],  # a flag left on the device, as the gradient check leaves it
        [torch.tensor(False), torch.tensor(False)],
    ],
)
def test_every_process_takes_the_decision_any_process_takes(flags):
    # One process that stopped alone would leave the others waiting for it in their next collective, for ever.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        results = manager.dict()
        processes = [context.Process(target=_vote, args=(rank, port, flags, results)) for rank in range(2)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [process.exitcode for process in processes] == [0, 0]
        expected = any(bool(flag) for flag in flags)
        assert dict(results) == {0: expected, 1: expected}


def test_without_a_launch_the_flag_is_this_process_s_own():
    assert any_process(True) is True and any_process(False) is False
    assert any_process(torch.tensor(True)) is True and any_process(torch.tensor(False)) is False
