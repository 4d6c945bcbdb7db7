"""What the access check needs of an audit log: the interface both stores satisfy.

The SQLite `AuditLog` (one host, the embedded default) and `PostgresStore` (several gateway
hosts sharing one log and one set of send quotas) both answer it; the check in `access.py`
calls only these methods, so it does not know which one it writes to.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, TypedDict, TypeVar, Unpack

if TYPE_CHECKING:
    from ._audit import AuditEntry, Tables

__all__ = [
    "POSTGRES_SCHEMES",
    "AuditStore",
    "Filters",
    "KeyTable",
    "Outcome",
    "PolicyTables",
    "SendQuota",
    "open_store",
    "process_id",
]

T = TypeVar("T")

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

# This process's id, made current in a child after a fork: read per call without the system
# call `os.getpid` is (a store re-opens its connection in a child; the parent's is not its own).
_PROCESS = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PROCESS.__setitem__(0, os.getpid()))


def process_id() -> int:
    """This process's id (what `os.getpid` says, without asking the system each time)."""
    return _PROCESS[0]


class SendQuota(NamedTuple):
    """A send counted against its agent's quotas: the limits (None: no limit) and how many
    messages it sends."""

    per_hour: int | None
    per_day: int | None
    messages: int


class Outcome(NamedTuple):
    """How the call of row `call` ended, as `finish` records it."""

    call: int
    outcome: str
    error_code: int | None = None
    detail: str | None = None
    request_id: str | None = None


class Filters(TypedDict, total=False):
    """What `entries` selects: rows of `agent`, of `group` (the area), of `decision`
    (`allowed`, `denied`, `invalid`, `admin`), written at `since` <= ts < `until` (epoch
    seconds), `denied` (denied or invalid) only, with an id over `after_id` (tailing) and under
    `before_id` (paging back), oldest first unless `newest_first`, at most `limit`."""

    agent: str | None
    group: str | None
    decision: str | None
    since: float | None
    until: float | None
    denied: bool
    after_id: int
    before_id: int | None
    limit: int | None
    newest_first: bool


class AuditStore(Protocol):
    """An append-only log of access decisions, with the send quota count beside it."""

    def begin(
        self, row: tuple[object, ...], quota: SendQuota | None = None
    ) -> tuple[int, str | None]:
        """Write a row before the call (durable when this returns); its id and, when `quota`
        would be passed, the rule that denies it (the row is then written as denied). The
        quota count and the insert are one atomic step for every writer of the store."""
        ...

    def finish(self, done: Outcome) -> None:
        """Complete a row with the call's outcome (a store may hold it until `flush`)."""
        ...

    def flush(self) -> None:
        """Make the outcomes given to `finish` durable now."""
        ...

    def entries(self, **filters: Unpack[Filters]) -> list[AuditEntry]:
        """Rows in the order written (or `newest_first`), as `filters` select them."""
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
