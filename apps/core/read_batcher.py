"""Reads that come by the thousand at once, one round trip for many: callers on one event loop each ask for
one key; the keys asked for while a round trip runs go together in the next one (at most `max_batch` each).

For the websockets' session lookups (apps/accounts/async_identity.py): a thousand sockets opening together
(a reconnect after a deploy) queued a thousand pairs of queries for a small pool, each round trip costing the
event loop more than the rows it brought back (bench/bench_fanout.py)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadBatcher(Generic[K, V]):
    """`fetch(keys)` answers many keys in one go: a mapping with the keys it found (the others read as None).
    A failed fetch fails every caller of that batch with its exception; the next batch tries again."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], *, max_batch: int = 500) -> None:
        self.fetch = fetch
        self.max_batch = max_batch
        self.waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self.drainer: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self.waiting.setdefault(key, []).append(future)
        if self.drainer is None:
            # Started, not run: whoever else asks during this turn of the loop joins the first batch.
            self.drainer = loop.create_task(self._drain(), name="read-batcher")
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                keys = list(itertools.islice(self.waiting, self.max_batch))
                batch = {key: self.waiting.pop(key) for key in keys}
                try:
                    found = await self.fetch(keys)
                except asyncio.CancelledError:
                    for future in itertools.chain.from_iterable(batch.values()):
                        future.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 - each caller gets it (and decides what it means)
                    for future in itertools.chain.from_iterable(batch.values()):
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    value = found.get(key)
                    for future in futures:
                        if not future.done():  # (a caller that gave up)
                            future.set_result(value)
        finally:
            self.drainer = None
            for future in itertools.chain.from_iterable(self.waiting.values()):
                future.cancel()  # only when cancelled itself (the loop ends): nobody would answer them
            self.waiting.clear()
