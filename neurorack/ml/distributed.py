"""Training on several processes at once: PyTorch's distributed data parallel, under torchrun.

``torchrun --nproc_per_node=N -m neurorack train ...`` starts N copies of the command, each with
``WORLD_SIZE`` (N), ``RANK`` and ``LOCAL_RANK`` in its environment. They join one process group
(gloo on the CPU; NCCL on CUDA, one GPU per process), draw the same global batch from the same
seeded random stream, and each trains on its own contiguous rows of it. DistributedDataParallel
averages the gradients, and every loss is a mean over batch rows, so the run follows the one
a single process makes with the same global batch (up to float rounding). The main process
(rank 0) alone writes files and prints; on several machines (``torchrun --nnodes``) the run
folder and the dataset cache must be on a file system they share.

Started without torchrun (no ``WORLD_SIZE``, or 1), everything here does nothing: no process
group, rank 0 of 1. torch is imported inside the functions that need it.
"""

from __future__ import annotations

import os

from neurorack.errors import NeurorackError

_device = None  # the torch.device of this process's collectives, set by start()


def world_size() -> int:
    """How many processes train together (1 without torchrun)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def active() -> bool:
    """Whether this process is one of several started by torchrun."""
    return world_size() > 1


def rank() -> int:
    """This process's number, 0 to ``world_size() - 1``; 0 is the main process."""
    return int(os.environ.get("RANK", "0")) if active() else 0


def local_rank() -> int:
    """This process's number on its machine (which GPU it uses)."""
    return int(os.environ.get("LOCAL_RANK", "0")) if active() else 0


def is_main() -> bool:
    """Whether this process writes files and prints (rank 0, or the only process)."""
    return rank() == 0


def device_for(device):
    """This process's device: under torchrun on CUDA, the GPU of its local rank; else ``device``."""
    import torch

    if not active() or device.type != "cuda":
        return device
    if local_rank() >= torch.cuda.device_count():
        raise NeurorackError(f"torchrun process {local_rank()} of this machine has no GPU of its own (it has "
                             f"{torch.cuda.device_count()}): give --nproc_per_node at most the number of GPUs")
    return torch.device("cuda", local_rank())


def start(device) -> None:
    """Join torchrun's process group (once; alone, nothing happens): NCCL when ``device`` is a
    GPU, else gloo."""
    global _device
    import torch
    import torch.distributed as dist

    if not active() or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    _device = device
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def finish() -> None:
    """Leave the process group (when there is one)."""
    dist = _group()
    if dist is not None:
        dist.destroy_process_group()


def _group():
    """``torch.distributed`` when this process has joined a group, else None."""
    if not active():
        return None
    import torch.distributed as dist

    return dist if dist.is_initialized() else None


def barrier() -> None:
    """Wait until every process gets here (alone: return at once)."""
    dist = _group()
    if dist is not None and _device.type == "cuda":
        dist.barrier(device_ids=[_device.index])
    elif dist is not None:
        dist.barrier()


def main_decides(flag: bool) -> bool:
    """The main process's ``flag``, on every process (alone: ``flag``). For decisions every
    process must take together, such as stopping at the time limit."""
    dist = _group()
    if dist is None:
        return flag
    import torch

    value = torch.tensor([1.0 if flag else 0.0], device=_device)
    dist.broadcast(value, 0)
    return bool(value.item())


def mean(value) -> float:
    """A scalar tensor averaged over the processes (alone: its value), as a float."""
    dist = _group()
    if dist is None:
        return float(value.detach())
    total = value.detach().clone().reshape(1)
    dist.all_reduce(total)
    return float(total) / world_size()


def rows(batch: int) -> slice:
    """This process's contiguous share of a global batch of ``batch`` rows.

    Raises:
        NeurorackError: ``batch`` does not split evenly over the processes.
    """
    count = world_size()
    if batch % count:
        raise NeurorackError(f"--batch {batch} does not split evenly over {count} processes: under torchrun "
                             f"--batch is the global batch, shared by the processes; give a multiple of {count}")
    share = batch // count
    return slice(rank() * share, (rank() + 1) * share)


def wrap(model):
    """What training calls: ``model`` in DistributedDataParallel under torchrun (its backward
    averages the gradients over the processes), else ``model`` itself. DDP copies the main
    process's parameters to the others here. Buffers (the noise table) are the same in every
    process and are not sent again at each step."""
    if _group() is None:
        return model
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    ids = [_device.index] if _device.type == "cuda" else None
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_resend = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}  # the older name
    return DistributedDataParallel(model, device_ids=ids, **no_resend)
