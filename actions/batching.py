"""Model calls of concurrent turns, batched on one worker thread.

The action server answers many turns at once on a couple of cores. Each turn running its own
forward pass in its own thread makes the passes fight for the cores; one owned worker that
takes everything queued since its last pass does the same work in fewer, larger passes (one
batch of 8 short texts costs the sentiment model about as much as 3 single ones). Nothing
waits for a batch to fill: a lone turn goes at once, and a batch is simply what piled up while
the previous pass ran."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """``await batcher(item)`` → ``fn([..., item, ...])``'s result for ``item``.

    ``fn`` maps a list to a list of the same length, in order. One event loop per batcher
    (rasa-sdk runs one per worker process)."""

    def __init__(self, fn: Callable[[list[T]], list[R]], max_batch: int = 16,
                 name: str = "batch") -> None:
        self.fn = fn
        self.max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.batches = 0  # passes run, for tests and logs

    async def __call__(self, item: T) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.ensure_future(self._drain())
        return await fut

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            # callers that gave up (cancelled) are not scored
            batch = [(x, f) for x, f in batch if not f.done()]
            if not batch:
                continue
            self.batches += 1
            try:
                results = await loop.run_in_executor(self._executor, self.fn,
                                                     [x for x, _ in batch])
                if len(results) != len(batch):
                    raise ValueError(f"batch of {len(batch)} gave {len(results)} results")
            except Exception as e:
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            for (_, f), r in zip(batch, results, strict=True):
                if not f.done():
                    f.set_result(r)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
