"""The store of sends by idempotency key, as two gateway hosts see it: two connections to one
SQLite file or one PostgreSQL database, each with its own `StoreSent`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postmark_client._audit import AuditLog
from postmark_client._postgres import PostgresStore
from postmark_client._sent_once import SendInProgressError, SentStoreError, StoreSent

SLOT = ("mailer", "send_email", "order-42")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    if request.param == "sqlite":
        pair: tuple[Any, Any] = (AuditLog(tmp_path / "a.sqlite"), AuditLog(tmp_path / "a.sqlite"))
    else:
        url = request.getfixturevalue("postgres").database()
        pair = (PostgresStore(url), PostgresStore(url))
    try:
        yield pair
    finally:
        for store in pair:
            store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def hosts(stores: tuple[Any, Any], clock: Clock, **options: Any) -> tuple[StoreSent, StoreSent]:
    return StoreSent(stores[0], clock=clock, **options), StoreSent(
        stores[1], clock=clock, **options
    )


async def test_a_second_host_waits_for_the_first_result(
    stores: tuple[Any, Any], clock: Clock
) -> None:
    one, two = hosts(stores, clock)
    claim = await one.claim(SLOT)
    assert claim.owner is not None and not claim.retry
    waiting = asyncio.create_task(two.claim(SLOT))
    await asyncio.sleep(0)  # its first look found the key claimed: it polls
    assert not waiting.done()
    one.record(SLOT, claim.owner, '{"MessageID": "m-1"}', "m-1")
    second = await waiting
    assert second.owner is None and second.result == '{"MessageID": "m-1"}'


async def test_a_claim_held_past_the_wait_is_refused(stores: tuple[Any, Any], clock: Clock) -> None:
    one, two = hosts(stores, clock, wait=0.0)
    await one.claim(SLOT)
    with pytest.raises(SendInProgressError, match="'order-42' is still being sent"):
        await two.claim(SLOT)


async def test_a_maybe_sent_key_is_taken_by_one_caller_who_searches_first(
    stores: tuple[Any, Any], clock: Clock
) -> None:
    one, two = hosts(stores, clock, wait=0.0)
    first = await one.claim(SLOT)
    assert first.owner is not None
    one.release(SLOT, first.owner, maybe_sent=True)
    taken = await two.claim(SLOT)
    assert taken.owner is not None and taken.retry
    with pytest.raises(SendInProgressError):  # taken: the other host may not take it too
        await one.claim(SLOT)


async def test_a_key_refused_for_good_is_free_and_an_abandoned_claim_is_taken_over(
    stores: tuple[Any, Any], clock: Clock
) -> None:
    one, two = hosts(stores, clock, wait=0.0, lease=60.0)
    first = await one.claim(SLOT)
    assert first.owner is not None
    one.release(SLOT, first.owner, maybe_sent=False)
    again = await two.claim(SLOT)
    assert again.owner is not None and not again.retry
    clock.now += 61  # its host died mid-call: after the lease the key is searched for
    taken = await one.claim(SLOT)
    assert taken.owner is not None and taken.retry
    two.record(SLOT, again.owner, "{}", None)  # the dead claim's result is not kept
    with pytest.raises(SendInProgressError):
        await two.claim(SLOT)


async def test_once_answers_the_first_result_and_tells_of_the_repeat(
    stores: tuple[Any, Any], clock: Clock
) -> None:
    one, two = hosts(stores, clock)
    sent: list[bool] = []
    repeats: list[Any] = []

    async def send(retry: bool) -> Any:
        sent.append(retry)
        return {"MessageID": "m-7", "To": "a@example.com"}

    first = await one.once(SLOT, send, repeats.append)
    again = await two.once(SLOT, send, repeats.append)
    assert first == again == {"MessageID": "m-7", "To": "a@example.com"}
    assert sent == [False] and repeats == [first]


async def test_a_store_that_cannot_be_used_is_said_plainly(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "gone" / "a.sqlite", log_id="not-this-one")
    with pytest.raises(SentStoreError, match="nothing was sent"):
        await StoreSent(log).claim(SLOT)


async def test_a_bulk_requests_first_answer_is_kept_with_its_id(
    stores: tuple[Any, Any], clock: Clock
) -> None:
    one, two = hosts(stores, clock)
    slot = ("mailer", "send_bulk_email", "spring-sale")
    accepted = {"Id": "f24af63c", "Status": "Accepted", "SubmittedAt": "2026-03-17T07:25:01Z"}

    async def send(retry: bool) -> Any:
        return accepted

    assert await one.once(slot, send) == accepted
    assert await two.once(slot, send) == accepted
    _, rows = stores[1].sent_once(
        "SELECT state, message_id FROM sent_once WHERE agent = ? AND operation = ? AND idem_key = ?",
        slot,
    )
    assert rows == [("sent", "f24af63c")]
