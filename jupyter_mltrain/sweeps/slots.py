"""What a sweep's trials may use at once: the target's slots, and on this machine its GPUs, handed out so that
no two trials share one (trials queue instead)."""

from __future__ import annotations

import dataclasses
import os

from jupyter_mltrain.engine.gpus import detect_gpus
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.targets import LocalTarget, resolve_target


def gpu_pool(spec: RunSpec) -> list[int] | None:
    """The GPUs this machine's trials of ``spec`` are given from (its ``--gpus``, else every GPU found); None
    when the trials are not placed on GPUs here (another target, no GPU, or GPUs shared on purpose)."""
    dist = spec.distribution
    if dist.allow_gpu_sharing or not isinstance(resolve_target(spec.target, cwd=spec.config_folders()), LocalTarget):
        return None
    pool = list(dist.gpus) if dist.gpus is not None else [g.index for g in detect_gpus()]
    return pool or None


def gpus_per_trial(spec: RunSpec) -> int:
    """GPUs one trial holds: one per rank, or all of them with ``--gpu-policy all``."""
    return spec.world_size if spec.distribution.gpu_policy == "per-rank" else len(gpu_pool(spec) or [])


def capacity(spec: RunSpec) -> int | None:
    """How many trials of ``spec`` fit on its target at once (slots over ranks per trial, and here GPUs over
    the GPUs a trial holds); None: no limit known."""
    target = resolve_target(spec.target, cwd=spec.config_folders())
    if isinstance(target, LocalTarget):
        slots = os.cpu_count() or 1
    else:
        hosts = getattr(target, "host_slots", None)
        if not hosts:
            return None
        slots = sum(h.slots for h in hosts)
    fits = max(1, slots // max(1, spec.world_size))
    pool = gpu_pool(spec)
    if pool:
        fits = min(fits, max(1, len(pool) // max(1, gpus_per_trial(spec))))
    return fits


class GpuLeases:
    """The driver's book of which trial holds which GPUs of the pool."""

    def __init__(self, spec: RunSpec) -> None:
        self.pool = gpu_pool(spec) or []
        self.each = gpus_per_trial(spec) if self.pool else 0
        self.held: dict[int, tuple[int, ...]] = {}  # trial number -> its GPUs

    def place(self, trial: int, spec: RunSpec) -> RunSpec:
        """``spec`` with GPUs of its own for ``trial`` (unchanged when there is no pool); the caller keeps
        within ``capacity``, so there are always enough."""
        if not self.pool:
            return spec
        busy = {g for gpus in self.held.values() for g in gpus}
        free = [g for g in self.pool if g not in busy]
        if len(free) < self.each:
            raise RuntimeError(f"no free GPUs for trial {trial}: {sorted(busy)} are held")
        self.held[trial] = tuple(free[: self.each])
        return spec.with_changes(distribution=dataclasses.replace(spec.distribution, gpus=self.held[trial]))

    def adopt(self, trial: int, gpus: tuple[int, ...] | None) -> None:
        """A trial an earlier driver started holds ``gpus``."""
        if self.pool and gpus:
            self.held[trial] = tuple(gpus)

    def release(self, trial: int) -> None:
        """``trial`` has ended: its GPUs are free."""
        self.held.pop(trial, None)
