"""The read batcher (apps/core/read_batcher.py): keys asked for together share one fetch, every caller gets
its own key's answer, and a failure or a caller that gives up touches only what it should."""

from __future__ import annotations

import asyncio

import pytest

from apps.core.read_batcher import ReadBatcher

pytestmark = pytest.mark.asyncio


class Source:
    """A fetch that records each batch of keys and answers the even ones (key * 10)."""

    def __init__(self, *, fail_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_first = fail_first
        self.gate = asyncio.Event()
        self.gate.set()

    async def fetch(self, keys: list[int]) -> dict[int, int]:
        self.batches.append(list(keys))
        await self.gate.wait()
        if self.fail_first and len(self.batches) == 1:
            raise ConnectionError("database away")
        return {key: key * 10 for key in keys if key % 2 == 0}


async def test_keys_asked_together_share_one_fetch_and_each_caller_gets_its_own_answer() -> None:
    source = Source()
    batcher = ReadBatcher(source.fetch)
    answers = await asyncio.gather(*(batcher.get(key) for key in [1, 2, 3, 4, 4, 6]))
    assert answers == [None, 20, None, 40, 40, 60]
    assert source.batches == [[1, 2, 3, 4, 6]]  # one fetch; a key asked twice is fetched once


async def test_keys_asked_during_a_fetch_go_together_in_the_next_one_at_most_max_batch_each() -> None:
    source = Source()
    source.gate.clear()
    batcher = ReadBatcher(source.fetch, max_batch=3)
    first = asyncio.ensure_future(batcher.get(2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.get(key)) for key in [4, 6, 8, 10]]
    await asyncio.sleep(0)
    source.gate.set()
    assert await first == 20
    assert [await task for task in later] == [40, 60, 80, 100]
    assert source.batches == [[2], [4, 6, 8], [10]]


async def test_a_failed_fetch_fails_its_batch_only() -> None:
    source = Source(fail_first=True)
    source.gate.clear()
    batcher = ReadBatcher(source.fetch)
    failing = [asyncio.ensure_future(batcher.get(key)) for key in [2, 4]]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    next_batch = asyncio.ensure_future(batcher.get(6))
    source.gate.set()
    for task in failing:
        with pytest.raises(ConnectionError):
            await task
    assert await next_batch == 60
    assert await batcher.get(8) == 80  # and later callers start a fresh drain


async def test_a_caller_that_gives_up_leaves_the_others_their_answers() -> None:
    source = Source()
    source.gate.clear()
    batcher = ReadBatcher(source.fetch)
    gives_up = asyncio.ensure_future(batcher.get(2))
    stays = asyncio.ensure_future(batcher.get(2))
    await asyncio.sleep(0)
    gives_up.cancel()
    source.gate.set()
    assert await stays == 20
    assert gives_up.cancelled()
