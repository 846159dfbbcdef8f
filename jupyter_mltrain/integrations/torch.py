"""A PyTorch helper: join the run's process group from the environment mltrain gives each rank.

    from jupyter_mltrain.integrations.torch import setup_distributed, cleanup
    rank, world_size, device = setup_distributed()
    model = torch.nn.parallel.DistributedDataParallel(model.to(device))
    ...
    cleanup()

Works under modes ``torch``, ``mpi`` and ``horovod`` (``MASTER_ADDR``/``MASTER_PORT``, ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` are set for every rank) and outside a run (one process).
Standard library at import; torch is imported when called.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from jupyter_mltrain.hostside import runtime


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup_distributed(backend: str | None = None, timeout_s: float | None = None) -> tuple[int, int, Any]:
    """Initialise ``torch.distributed`` from the run's environment; return ``(rank, world_size, device)``.

    ``backend`` defaults to ``nccl`` when CUDA is available, else ``gloo``. Each rank's device is
    its local GPU (``cuda:LOCAL_RANK`` modulo the visible GPUs) or the CPU.
    """
    import datetime

    import torch
    import torch.distributed as dist

    rank, world_size, local_rank = runtime.rank(), runtime.world_size(), runtime.local_rank()
    use_cuda = torch.cuda.is_available() and torch.cuda.device_count() > 0
    if use_cuda:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if backend is None:
        backend = "nccl" if use_cuda and dist.is_nccl_available() else "gloo"
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    if world_size == 1:
        # Outside a run (or a single rank): a private rendezvous on this host.
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    kwargs: dict[str, Any] = {}
    if timeout_s is not None:
        kwargs["timeout"] = datetime.timedelta(seconds=timeout_s)
    dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size, **kwargs)
    return rank, world_size, device


def cleanup() -> None:
    """Leave the process group (if one was joined), once every rank is done.

    Without the barrier a fast rank can tear down gloo while a slow one still uses it, and
    the slow one then dies at exit ("terminate called without an active exception").
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


CHECKPOINT_PREFIX = "torch-step-"
KEEP_CHECKPOINTS = 2


def save_checkpoint(model: Any, optimizer: Any = None, step: int = 0, **extra: Any) -> str | None:
    """Save ``model`` (its ``.module`` under DDP), ``optimizer`` and the finished ``step`` to ``checkpoint_dir()``.

    Rank 0 writes (the ranks of a data-parallel job hold the same weights); the file appears whole
    (written aside, then renamed), and only the newest ``KEEP_CHECKPOINTS`` are kept. Returns the path
    written, or None on the other ranks. After a restart, ``load_checkpoint`` resumes from it.
    """
    if runtime.rank() != 0:
        return None
    import torch

    folder = runtime.checkpoint_dir()
    state = {"model": getattr(model, "module", model).state_dict(), "step": int(step), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    path = folder / f"{CHECKPOINT_PREFIX}{int(step):09d}.pt"
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in sorted(folder.glob(f"{CHECKPOINT_PREFIX}*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return str(path)


def load_checkpoint(model: Any, optimizer: Any = None, map_location: Any = "cpu") -> int:
    """Load the newest checkpoint of this run into ``model`` (and ``optimizer``); return the step to start at.

    That is the saved step + 1, or 0 when this run has no checkpoint yet (its first attempt).
    """
    files = sorted(runtime.checkpoint_dir().glob(f"{CHECKPOINT_PREFIX}*.pt"))
    if not files:
        return 0
    import torch

    state = torch.load(files[-1], map_location=map_location, weights_only=False)
    getattr(model, "module", model).load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]) + 1
