# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_ledger.py;
# edit it there and regenerate, not here.
"""Where the console keeps ended sessions and failed sign-ins: in the store every worker and
gateway shares (tables `console_ended` and `console_tries`, made on first use, in SQLite or
PostgreSQL), so a sign-out or a lock-out holds at each of them from its next request; in this
process's memory only when there is no store.

A session cookie stays signed and self-contained (see `_auth`); only its end is kept, until it
would have expired anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from ..._audit import Tables
from ..._store import PolicyTables

__all__ = ["Ledger", "MemoryLedger", "StoreLedger"]

T = TypeVar("T")
MEMORY_NAMES: Final = 10_000
"""Names whose failures memory keeps before it forgets them all (a flood of made-up names)."""

_ENDED_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS console_ended ("
    "nonce TEXT PRIMARY KEY, expires DOUBLE PRECISION NOT NULL)"
)
_TRIES_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS console_tries (admin TEXT PRIMARY KEY, "
    "failures INTEGER NOT NULL, locked_until DOUBLE PRECISION NOT NULL, "
    "last DOUBLE PRECISION NOT NULL)"
)
_ENDED: Final = "SELECT 1 FROM console_ended WHERE nonce = ?"
_END: Final = (
    "INSERT INTO console_ended (nonce, expires) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING"
)
_FORGET_ENDED: Final = "DELETE FROM console_ended WHERE expires < ?"
_TRIES: Final = "SELECT failures, locked_until, last FROM console_tries WHERE admin = ?"
_SET_TRIES: Final = (
    "INSERT INTO console_tries (admin, failures, locked_until, last) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (admin) DO UPDATE SET failures = EXCLUDED.failures, "
    "locked_until = EXCLUDED.locked_until, last = EXCLUDED.last"
)
_FORGET_TRIES: Final = "DELETE FROM console_tries WHERE last < ? AND locked_until < ?"
_CLEAR: Final = "DELETE FROM console_tries WHERE admin = ?"


class Ledger(Protocol):
    """Ended sessions (by nonce) and failed sign-ins (by name)."""

    def ended(self, nonce: str) -> bool: ...

    def end(self, nonce: str, expires: float) -> None: ...

    def locked_until(self, name: str) -> float:
        """Until when `name` may not sign in (0: it may)."""
        ...

    def failed(self, name: str, now: float, limit: int, lock_seconds: float) -> bool:
        """One more failure of `name`; whether it locked the name (the `limit`-th failure in
        a row, none of them `lock_seconds` older than the next)."""
        ...

    def signed_in(self, name: str) -> None:
        """`name` signed in: its failures are forgotten."""
        ...


@dataclass
class _Tries:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


def _count(tries: _Tries, now: float, limit: int, lock_seconds: float) -> bool:
    """`tries` with one more failure at `now`; whether it locks."""
    if tries.last < now - lock_seconds:
        tries.failures = 0
    tries.failures += 1
    tries.last = now
    if tries.failures < limit:
        return False
    tries.failures, tries.locked_until = 0, now + lock_seconds
    return True


class MemoryLedger:
    """A ledger in this process only (a console without a store)."""

    def __init__(self) -> None:
        self._ended: dict[str, float] = {}
        self._tries: dict[str, _Tries] = {}

    def ended(self, nonce: str) -> bool:
        return nonce in self._ended

    def end(self, nonce: str, expires: float) -> None:
        # A session past its expiry is refused by its cookie anyway: forget it, as the store does.
        now = time.time()
        self._ended = {n: e for n, e in self._ended.items() if e >= now}
        self._ended[nonce] = expires

    def locked_until(self, name: str) -> float:
        tries = self._tries.get(name)
        return tries.locked_until if tries is not None else 0.0

    def failed(self, name: str, now: float, limit: int, lock_seconds: float) -> bool:
        if len(self._tries) > MEMORY_NAMES:
            self._tries.clear()
        return _count(self._tries.setdefault(name, _Tries()), now, limit, lock_seconds)

    def signed_in(self, name: str) -> None:
        self._tries.pop(name, None)


class StoreLedger:
    """A ledger in the store's tables, shared by every process using the store."""

    def __init__(self, store: PolicyTables) -> None:
        self._store = store
        self._ready = False

    def _tables(self, work: Callable[[Tables], T], *, write: bool = False) -> T:
        if not self._ready:
            self._store.tables(
                lambda t: [t.execute(sql) for sql in (_ENDED_TABLE, _TRIES_TABLE)], write=True
            )
            self._ready = True
        return self._store.tables(work, write=write, single=not write)

    def ended(self, nonce: str) -> bool:
        found: Any = self._tables(lambda t: t.execute(_ENDED, (nonce,)).fetchone())
        return found is not None

    def end(self, nonce: str, expires: float) -> None:
        def work(tables: Tables) -> None:
            tables.execute(_END, (nonce, expires))
            tables.execute(_FORGET_ENDED, (time.time(),))

        self._tables(work, write=True)

    def locked_until(self, name: str) -> float:
        found: Any = self._tables(lambda t: t.execute(_TRIES, (name,)).fetchone())
        return float(found[1]) if found is not None else 0.0

    def failed(self, name: str, now: float, limit: int, lock_seconds: float) -> bool:
        def work(tables: Tables) -> bool:
            found = tables.execute(_TRIES, (name,)).fetchone()
            tries = _Tries(*found) if found is not None else _Tries()
            locked = _count(tries, now, limit, lock_seconds)
            tables.execute(_SET_TRIES, (name, tries.failures, tries.locked_until, tries.last))
            tables.execute(_FORGET_TRIES, (now - lock_seconds, now))
            return locked

        return self._tables(work, write=True)

    def signed_in(self, name: str) -> None:
        self._tables(lambda t: t.execute(_CLEAR, (name,)), write=True)
