"""What the access check needs of an audit log: the interface both stores satisfy.

The SQLite `AuditLog` (one host, the embedded default) and `PostgresStore` (several gateway
hosts sharing one log and one set of send quotas) both answer it; the check in `access.py`
calls only these methods, so it does not know which one it writes to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

if TYPE_CHECKING:
    from ._audit import AuditEntry, Tables

__all__ = ["POSTGRES_SCHEMES", "AuditStore", "KeyTable", "PolicyTables", "open_store"]

T = TypeVar("T")

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class AuditStore(Protocol):
    """An append-only log of access decisions, with the send quota count beside it."""

    def begin(
        self,
        row: tuple[object, ...],
        *,
        quota: tuple[int | None, int | None] = (None, None),
        messages: int = 0,
    ) -> tuple[int, str | None]:
        """Write a row before the call (durable when this returns); its id and, when a send
        quota would be passed, the rule that denies it (the row is then written as denied).
        The quota count and the insert are one atomic step for every writer of the store."""
        ...

    def finish(
        self,
        row_id: int,
        outcome: str,
        error_code: int | None = None,
        detail: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Complete a row with the call's outcome (a store may hold it until `flush`)."""
        ...

    def flush(self) -> None:
        """Make the outcomes given to `finish` durable now."""
        ...

    def entries(
        self,
        *,
        agent: str | None = None,
        group: str | None = None,
        decision: str | None = None,
        since: float | None = None,
        until: float | None = None,
        denied: bool = False,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """Rows in the order written (or `newest_first`), filtered; `after_id` for tailing,
        `before_id` for paging back."""
        ...

    def close(self) -> None: ...


class PolicyTables(AuditStore, Protocol):
    """A store that also keeps the policy and the agent keys (both stores do)."""

    def tables(
        self, work: Callable[[Tables], T], *, write: bool = False, single: bool = False
    ) -> T:
        """`work` on the store's tables in one transaction (a serialized write one when
        `write`; none when `work` is a `single` statement)."""
        ...

    def agent_for_key_sha256(self, digest: str) -> str | None: ...


KEY_AGENT: Final = "SELECT agent FROM agent_keys WHERE key_sha256 = ?"
KEY_ADD: Final = (
    "INSERT INTO agent_keys (key_sha256, agent, added) VALUES (?, ?, ?)"
    " ON CONFLICT (key_sha256) DO UPDATE SET agent = EXCLUDED.agent"
)
KEY_REMOVE: Final = "DELETE FROM agent_keys WHERE key_sha256 = ?"
KEYS_OF: Final = (
    "SELECT key_sha256, added FROM agent_keys WHERE agent = ? ORDER BY added, key_sha256"
)
KEYS_REMOVE_OF: Final = "DELETE FROM agent_keys WHERE agent = ?"


class KeyTable:
    """Agent keys (by SHA-256) kept in the store, so every gateway sharing it takes a key added
    or revoked once. Mixed into both stores, over their `tables`."""

    def tables(
        self, work: Callable[[Tables], T], *, write: bool = False, single: bool = False
    ) -> T:
        raise NotImplementedError

    def agent_for_key_sha256(self, digest: str) -> str | None:
        """The agent a key (by its SHA-256) was added for, or None."""
        found = self.tables(lambda t: t.execute(KEY_AGENT, (digest,)).fetchone(), single=True)
        return str(found[0]) if found else None

    def add_key(self, agent: str, digest: str) -> None:
        """Let a key (by its SHA-256) authenticate `agent` at every gateway using this store."""
        self.tables(lambda t: t.execute(KEY_ADD, (digest, agent, time.time())), write=True)

    def remove_key(self, digest: str) -> bool:
        """Revoke a key; whether there was one."""
        done: Any = self.tables(lambda t: t.execute(KEY_REMOVE, (digest,)), write=True)
        return bool(done.rowcount)


def open_store(where: str | Path) -> AuditStore:
    """The store a URL or path names: `postgresql://...` (needs the `postgres` extra), or a
    SQLite file (`sqlite:///PATH` or a plain path). ValueError for any other scheme."""
    text = str(where)
    if text.startswith(POSTGRES_SCHEMES):
        from ._postgres import PostgresStore

        return PostgresStore(text)
    from ._audit import AuditLog

    if text.startswith("sqlite:///"):
        return AuditLog(text.removeprefix("sqlite://"))
    if "://" in text:
        raise ValueError(
            f"unknown store {text.split('://', 1)[0]!r}: postgresql://..., sqlite:///PATH or a "
            "file path"
        )
    return AuditLog(text)
