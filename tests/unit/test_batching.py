"""Group commit: many callers, one transaction, and one bad item failing only itself."""

from __future__ import annotations

import asyncio

import pytest

from csms.batching import GroupCommit


async def test_concurrent_submits_share_a_flush() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> None:
        flushed.append(items)

    group = GroupCommit(flush, max_items=100, max_wait=0.01)
    await asyncio.gather(*(group.submit(n) for n in range(50)))
    assert sorted(n for batch in flushed for n in batch) == list(range(50))
    assert len(flushed) == 1


async def test_batches_are_capped_at_max_items() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> None:
        flushed.append(items)

    group = GroupCommit(flush, max_items=10, max_wait=0.01)
    await asyncio.gather(*(group.submit(n) for n in range(35)))
    assert [len(batch) for batch in flushed] == [10, 10, 10, 5]


async def test_a_failing_item_fails_alone() -> None:
    committed: list[int] = []

    async def flush(items: list[int]) -> None:
        if 13 in items:
            raise ValueError("unlucky")
        committed.extend(items)

    group = GroupCommit(flush, max_wait=0.01)
    results = await asyncio.gather(*(group.submit(n) for n in range(20)), return_exceptions=True)
    assert isinstance(results[13], ValueError)
    assert [r for i, r in enumerate(results) if i != 13] == [None] * 19
    assert sorted(committed) == [n for n in range(20) if n != 13]


async def test_a_lone_item_is_committed_without_waiting_for_company() -> None:
    async def flush(items: list[int]) -> None:
        return None

    group = GroupCommit(flush, max_wait=0.002)
    async with asyncio.timeout(0.5):
        await group.submit(1)


async def test_errors_reach_the_caller() -> None:
    async def flush(items: list[int]) -> None:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        await GroupCommit(flush).submit(1)
