"""Sends answered once across gateway hosts: the first result of each idempotency key, in the store.

A table beside the audit log (SQLite or PostgreSQL, the same statements) holds one row per
(agent, operation, idempotency key). The first caller inserts it as `claimed` (the primary key
makes the insert atomic: of two gateways racing on one key exactly one inserts) and sends; the
result goes in the row as `sent`, and every later call with the key answers that result
unchanged instead of sending again.

A caller that finds the row `claimed` waits (polling, at most `CLAIM_WAIT` seconds) for the
result. A claim older than `CLAIM_LEASE` is taken as abandoned (its gateway died mid-call), and a
row left `uncertain` (the send failed in a way that may have sent it) is taken over at once: the
one caller whose compare-and-set takes it sends with `retry`, which searches Postmark for the key
first (reconciliation by metadata search) and sends only when nothing is found. A send refused
for good (a 4xx, an access denial) frees the key for a new try, unless an earlier call with it
may have sent it; a call cancelled while its request may be on its way leaves it uncertain. A bulk request cannot be
searched for (Postmark finds one by the Id its answer carries, and keeps no key of the request),
so its uncertain key is never taken over to send: every later call with it is refused
(`NotSearchableError`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, NamedTuple, Protocol

import anyio

from ._exceptions import PostmarkError

__all__ = [
    "CLAIM_LEASE",
    "CLAIM_WAIT",
    "SCHEMA",
    "Claim",
    "NotSearchableError",
    "SendInProgressError",
    "SentStore",
    "SentStoreError",
    "StoreSent",
    "may_have_sent",
    "message_id_of",
]

CLAIM_WAIT: Final = 30.0
"""Seconds a call waits for another call with its key to finish before it is refused."""
CLAIM_LEASE: Final = 300.0
"""Seconds after which a claim with no result is taken as abandoned: longer than a send can
last (the gateway's 120 s upstream timeout; the MCP client's timeouts and reconcile waits)."""
POLL_SECONDS: Final = 0.05

SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS sent_once (agent TEXT NOT NULL, operation TEXT NOT NULL,"
    " idem_key TEXT NOT NULL, state TEXT NOT NULL, owner TEXT NOT NULL,"
    " claimed DOUBLE PRECISION NOT NULL, result TEXT, message_id TEXT,"
    " PRIMARY KEY (agent, operation, idem_key))"
)
_WHERE: Final = " WHERE agent = ? AND operation = ? AND idem_key = ?"
_CLAIM: Final = (
    "INSERT INTO sent_once (agent, operation, idem_key, state, owner, claimed)"
    " VALUES (?, ?, ?, 'claimed', ?, ?) ON CONFLICT (agent, operation, idem_key) DO NOTHING"
)
_READ: Final = "SELECT state, owner, claimed, result FROM sent_once" + _WHERE
_TAKE_OVER: Final = (
    "UPDATE sent_once SET state = 'claimed', owner = ?, claimed = ?"
    + _WHERE
    + " AND owner = ? AND state = ?"
)
_RECORD: Final = (
    "UPDATE sent_once SET state = 'sent', result = ?, message_id = ?" + _WHERE + " AND owner = ?"
)
_UNCERTAIN: Final = "UPDATE sent_once SET state = 'uncertain'" + _WHERE + " AND owner = ?"
_FREE: Final = "DELETE FROM sent_once" + _WHERE + " AND owner = ?"

Slot = tuple[str, str, str]
"""(agent, operation id, idempotency key)."""
SendOnce = Callable[[bool], Awaitable[Any]]
"""A send made under a claim; its argument says to search for the key first (`retry`)."""
Repeated = Callable[[Any], None]
"""Told of the first result when a call is answered with it."""


class SentStore(Protocol):
    """What a store gives this table: one statement run (table made on first use), with the
    number of rows it changed and the rows it read."""

    def sent_once(self, sql: str, values: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one statement on the `sent_once` table."""
        ...


class SentStoreError(PostmarkError):
    """The store of sends by idempotency key cannot be read or written, so nothing was sent."""


class SendInProgressError(PostmarkError):
    """Another call with this idempotency key is still being sent; nothing was sent again."""


class NotSearchableError(PostmarkError):
    """A send that may have gone out cannot be settled: Postmark cannot be searched for it."""

    def __init__(self, operation: str, key: str) -> None:
        super().__init__(
            f"an earlier {operation} call with idempotency key {key!r} may have been accepted, "
            "and Postmark cannot be searched for it (a bulk request is found by its Id only, "
            "which that call never received); nothing was sent again: check the earlier "
            "request in Postmark's activity, then send with a new key"
        )


class Claim(NamedTuple):
    """What a call found for its key: `owner` set when it is the one to send (`retry`: an
    earlier call may have sent it, so search first), else the first call's `result` (JSON)."""

    owner: str | None
    retry: bool
    result: str | None


def message_id_of(result: Any) -> str | None:
    """The MessageID of a send's result (JSON-ready), the Id of a bulk request's, or None."""
    if not isinstance(result, dict):
        return None
    found = result.get("MessageID", result.get("Id"))
    return found if isinstance(found, str) else None


def may_have_sent(exc: BaseException) -> bool:
    """Whether a send under a claim that ended in `exc` may have gone out: said by the error
    (`maybe_sent`), or the call was stopped from outside (cancelled: not an Exception) while
    its request may have been on its way."""
    return not isinstance(exc, Exception) or bool(getattr(exc, "maybe_sent", False))


class StoreSent:
    """The sends by idempotency key of every gateway that shares `store`.

    Used by the gateway's REST sends (`claim`, then `record` / `release`) and, as the MCP
    server's SentResults, by its send tools (`once`).
    """

    def __init__(
        self,
        store: SentStore,
        *,
        wait: float = CLAIM_WAIT,
        lease: float = CLAIM_LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.wait = wait
        self.lease = lease
        self.clock = clock

    def _run(self, sql: str, values: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        try:
            return self.store.sent_once(sql, values)
        except Exception as exc:  # noqa: BLE001 - any store failure: said, and nothing sent
            raise SentStoreError(
                f"the store of sends by idempotency key cannot be used ({type(exc).__name__}: "
                f"{exc}); nothing was sent"
            ) from None

    async def claim(self, slot: Slot) -> Claim:
        """The key's first result, or the claim to send it; SendInProgressError when another
        call holds it longer than `wait`."""
        deadline = time.monotonic() + self.wait
        while True:
            found = self._try(slot)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise SendInProgressError(
                    f"a call with idempotency key {slot[2]!r} is still being sent (waited "
                    f"{self.wait:g} s); nothing was sent again: try again later"
                )
            await anyio.sleep(POLL_SECONDS)

    def _try(self, slot: Slot) -> Claim | None:
        owner = f"{os.getpid()}-{uuid.uuid4().hex}"
        now = self.clock()
        inserted, _ = self._run(_CLAIM, (*slot, owner, now))
        if inserted == 1:
            return Claim(owner, False, None)
        _, rows = self._run(_READ, slot)
        if not rows:
            return None  # freed meanwhile: claimed on the next try
        state, held_by, claimed, result = rows[0]
        if state == "sent":
            return Claim(None, False, str(result))
        if state != "uncertain" and now - float(claimed) <= self.lease:
            return None
        taken, _ = self._run(_TAKE_OVER, (owner, now, *slot, held_by, state))
        return Claim(owner, True, None) if taken == 1 else None

    def record(self, slot: Slot, owner: str, result: str, message_id: str | None) -> None:
        """Keep the result of the send made under this claim: later calls answer it."""
        self._run(_RECORD, (result, message_id, *slot, owner))

    def release(self, slot: Slot, owner: str, maybe_sent: bool) -> None:
        """Give up a claim whose send failed: `uncertain` when it may have been sent (the next
        call searches first), else freed."""
        self._run(_UNCERTAIN if maybe_sent else _FREE, (*slot, owner))

    async def once(self, slot: Slot, send: SendOnce, repeated: Repeated | None = None) -> Any:
        """The first result for `slot` (`repeated` is told of it), or that of `send(retry)`."""
        claim = await self.claim(slot)
        if claim.owner is None:
            result = json.loads(claim.result or "null")
            if repeated is not None:
                repeated(result)
            return result
        try:
            result = await send(claim.retry)
        except BaseException as exc:
            self.release(slot, claim.owner, claim.retry or may_have_sent(exc))
            raise
        text = json.dumps(result, ensure_ascii=False, default=str)
        self.record(slot, claim.owner, text, message_id_of(result))
        return result
