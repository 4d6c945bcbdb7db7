"""What the access check needs of an audit log: the interface both stores satisfy.

The SQLite `AuditLog` (one host, the embedded default) and `PostgresStore` (several gateway
hosts sharing one log and one set of send quotas) both answer it; the check in `access.py`
calls only these methods, so it does not know which one it writes to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._audit import AuditEntry

__all__ = ["POSTGRES_SCHEMES", "AuditStore", "open_store"]

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
        since: float | None = None,
        denied: bool = False,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Rows in the order written, filtered; `after_id` for tailing."""
        ...

    def close(self) -> None: ...


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
