"""Decisions every process of a launch must take alike.

    if any_process(out_of_time, args.device): control.should_training_stop = True   # open_r1.utils.time_limit
    if not any_process(not_finite): skip the update                                  # open_r1.utils.finite_updates

A callback that stops training, or skips an update, on one process only leaves the others waiting for it in their
next collective, for ever. Not covered: anything beyond one flag (TRL and accelerate gather the metrics).
"""

import torch


def any_process(flag: bool | torch.Tensor, device=None) -> bool:
    """Whether `flag` holds on any process of the launch (one small all-reduce where one is running). A tensor
    `flag` stays on its device and is read once, after the reduction: one host sync."""
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if not distributed and not isinstance(flag, torch.Tensor):
        return flag
    vote = flag.float() if isinstance(flag, torch.Tensor) else torch.tensor(float(flag), device=device)
    if distributed:
        torch.distributed.all_reduce(vote, op=torch.distributed.ReduceOp.MAX)
    return bool(vote.item())
