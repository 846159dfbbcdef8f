"""Dynamic batching: concurrent requests to one model run as one call of up to ``max_batch`` rows.

With ``pad``, a batch is padded (its last row repeated) up to the next of a few sizes, so that a runtime that
prepares itself for each new input shape (TorchScript) sees only those, warmed up before the server listens.

Requests that arrive while the model is busy queue, and the next call takes as many as fit in ``max_batch``,
waiting at most ``max_wait`` seconds for more when the batch is not full. With ``max_wait`` 0 (the default) a
request that finds the model idle runs at once: batching adds no latency to a lone caller. Requests are joined
along the first (batch) axis and the outputs split back, so each caller gets exactly its own rows.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from jupyter_mltrain.models.serving.signature import RequestError

Arrays = dict[str, np.ndarray]


@dataclass
class _Pending:
    inputs: Arrays
    rows: int
    future: asyncio.Future[Arrays]

    def fits(self, other: _Pending) -> bool:
        return all(a.shape[1:] == other.inputs[n].shape[1:] for n, a in self.inputs.items())


def buckets(max_batch: int) -> list[int]:
    """The batch sizes a padded model is called with: powers of two below ``max_batch``, and ``max_batch``."""
    sizes = [1 << i for i in range(max_batch.bit_length()) if 1 << i < max_batch]
    return [*sizes, max_batch]


def bucket(rows: int, max_batch: int) -> int:
    """The smallest bucket that holds ``rows`` (``rows`` itself past ``max_batch``)."""
    return next((size for size in buckets(max_batch) if size >= rows), rows)


class Batcher:
    """Queues the requests of one model and runs them in batches, on ``workers`` threads of ``executor``, or
    with no executor on the event loop's own thread: no hand-off between threads, which for a model call of
    a millisecond costs more than the call (requests that arrive meanwhile wait in the socket, then batch)."""

    def __init__(
        self,
        run: Callable[[Arrays], Arrays],
        executor: Executor | None,
        *,
        max_batch: int = 32,
        max_wait: float = 0.0,
        workers: int = 1,
        on_batch: Callable[[int, float], None] | None = None,
        pad: bool = False,
    ) -> None:
        self.run = run
        self.executor = executor
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.on_batch = on_batch
        self.pad = pad
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.carried: collections.deque[_Pending] = collections.deque()
        self.tasks = [asyncio.ensure_future(self._serve()) for _ in range(max(1, workers))]

    async def predict(self, inputs: Arrays) -> Arrays:
        """The model's outputs for ``inputs`` (arrays sharing their first dimension), batched with others."""
        rows = {a.shape[0] for a in inputs.values()}
        if len(rows) != 1:
            raise RequestError(f"the inputs hold different numbers of rows: {sorted(rows)}")
        future: asyncio.Future[Arrays] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(_Pending(inputs, rows.pop(), future))
        return await future

    async def _next(self, timeout: float | None) -> _Pending | None:
        if self.carried:
            return self.carried.popleft()
        if timeout is None:
            return await self.queue.get()
        try:
            return self.queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self.queue.get(), timeout)
        except (asyncio.QueueEmpty, TimeoutError):
            return None

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next(None)
            assert first is not None
            batch, rows = [first], first.rows
            deadline = loop.time() + self.max_wait
            while rows < self.max_batch:
                item = await self._next(max(0.0, deadline - loop.time()))
                if item is None:
                    break
                if rows + item.rows > self.max_batch or not first.fits(item):
                    self.carried.append(item)
                    break
                batch.append(item)
                rows += item.rows
            await self._run(batch, rows)

    async def _run(self, batch: list[_Pending], rows: int) -> None:
        batch = [p for p in batch if not p.future.done()]  # a caller that went away
        if not batch:
            return
        if len(batch) == 1:
            joined = batch[0].inputs
        else:
            joined = {n: np.concatenate([p.inputs[n] for p in batch]) for n in batch[0].inputs}
        if self.pad and bucket(rows, self.max_batch) > rows:
            size = bucket(rows, self.max_batch)
            joined = {n: np.concatenate([a, np.repeat(a[-1:], size - rows, axis=0)]) for n, a in joined.items()}
        started = time.perf_counter()
        try:
            if self.executor is None:
                outputs = self.run(joined)
            else:
                outputs = await asyncio.get_running_loop().run_in_executor(self.executor, self.run, joined)
        except Exception as exc:  # the model failed: every caller of this batch is told why
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        if self.on_batch is not None:
            self.on_batch(rows, time.perf_counter() - started)
        start = 0
        for p in batch:
            if not p.future.done():
                p.future.set_result({n: a[start : start + p.rows] for n, a in outputs.items()})
            start += p.rows

    def close(self) -> None:
        """Stop taking batches (requests still queued are cancelled)."""
        for task in self.tasks:
            task.cancel()
        while not self.queue.empty():
            self.queue.get_nowait().future.cancel()
