"""The audit log and send quotas in PostgreSQL, for several gateway hosts (psycopg 3).

Needs the `postgres` extra (`pip install 'postmark-client[postgres]'`). The table is the SQLite
log's (`_audit.py`), so `AuditEntry` reads both. A row is committed (durable) before `begin`
returns. A quota check takes a transaction-scoped advisory lock on the agent's name, counts and
inserts, then commits: two gateways on two hosts cannot both take the last message of an hour.

A lost connection fails the call (the gateway then refuses it: fail closed) and the next call
connects again, so the store serves again as soon as PostgreSQL is back.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Final, cast

import psycopg

from ._audit import (
    _COLUMNS,
    _FINISH,
    _INSERT,
    _QUOTA_INDEX,
    _SCHEMA,
    AuditEntry,
    AuditLog,
)
from ._sent_once import SCHEMA as SENT_SCHEMA

__all__ = ["PostgresStore"]

CONNECT_TIMEOUT: Final = 3
STATEMENT_TIMEOUT_MS: Final = 5000
# The SQLite table, typed for PostgreSQL.
_PG_SCHEMA: Final = _SCHEMA.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY").replace(
    " REAL ", " DOUBLE PRECISION "
)
_SCHEMA_LOCK: Final = 0x706F73746D61726B  # one key for every process creating the table
# Agent keys kept beside the log, so every gateway host takes a key added (or revoked) once.
_KEYS_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS agent_keys (key_sha256 TEXT PRIMARY KEY, agent TEXT NOT NULL,"
    " added DOUBLE PRECISION NOT NULL)"
)


def _pg(sql: str) -> str:
    """SQLite's `?` parameters as psycopg's `%s`."""
    return sql.replace("?", "%s")


class _Counting:
    """A psycopg connection seen through the two calls the quota count makes on SQLite's."""

    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self._db = db

    def execute(self, sql: str, values: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        return self._db.execute(_pg(sql), values)


class PostgresStore:
    """An `AuditStore` in a PostgreSQL database, shared by every gateway that names its URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"PostgresStore({self.url.split('@')[-1]!r})"

    def _connect(self) -> psycopg.Connection[Any]:
        if self._db is not None and self._pid == os.getpid() and not self._db.closed:
            return self._db
        db = psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute(_PG_SCHEMA)
            db.execute(_QUOTA_INDEX)
            db.execute(_KEYS_SCHEMA)
            db.execute(SENT_SCHEMA)
        self._db, self._pid = db, os.getpid()
        return db

    def _run(self, work: Any) -> Any:
        """`work(db)` under the lock; a broken connection is dropped (the next call reconnects)
        and its error raised."""
        with self._lock:
            try:
                return work(self._connect())
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._drop()
                raise

    def _drop(self) -> None:
        db, self._db = self._db, None
        if db is not None and self._pid == os.getpid():
            try:
                db.close()
            except psycopg.Error:
                pass

    def begin(
        self,
        row: tuple[object, ...],
        *,
        quota: tuple[int | None, int | None] = (None, None),
        messages: int = 0,
    ) -> tuple[int, str | None]:
        now = time.time()
        insert = _pg(_INSERT) + " RETURNING id"

        def work(db: psycopg.Connection[Any]) -> tuple[int, str | None]:
            if quota == (None, None) or not messages:
                found = db.execute(insert, (now, *row, os.getpid())).fetchone()
                return int(found[0]) if found else 0, None
            values = row
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (str(row[0]),))
                refusal = AuditLog._over_quota(
                    cast(Any, _Counting(db)), str(row[0]), now, quota, messages
                )
                if refusal is not None:
                    values = (*row[:11], "denied", refusal, "not sent", *row[14:])
                found = db.execute(insert, (now, *values, os.getpid())).fetchone()
            return (int(found[0]) if found else 0), refusal

        result: tuple[int, str | None] = self._run(work)
        return result

    def finish(
        self,
        row_id: int,
        outcome: str,
        error_code: int | None = None,
        detail: str | None = None,
        request_id: str | None = None,
    ) -> None:
        values = (outcome, error_code, detail, request_id, row_id)
        self._run(lambda db: db.execute(_pg(_FINISH), values))

    def flush(self) -> None:
        """Nothing waits: each outcome is its own statement (autocommit)."""

    def entries(
        self,
        *,
        agent: str | None = None,
        since: float | None = None,
        denied: bool = False,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        clauses = ["id > %s"]
        values: list[Any] = [after_id]
        for clause, value in (("agent = %s", agent), ("ts >= %s", since)):
            if value is not None:
                clauses.append(clause)
                values.append(value)
        if denied:
            clauses.append("decision = 'denied'")
        query = f"SELECT {_COLUMNS} FROM calls WHERE {' AND '.join(clauses)} ORDER BY id"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self._run(lambda db: db.execute(query, values).fetchall())
        return [AuditEntry(*row) for row in rows]

    def sent_once(self, sql: str, values: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """One statement on the table of sends by idempotency key (`_sent_once`): the rows it
        changed and the rows it read; one statement commits on its own (autocommit)."""

        def work(db: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
            cursor = db.execute(_pg(sql), values)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []

        result: tuple[int, list[tuple[Any, ...]]] = self._run(work)
        return result

    def agent_for_key_sha256(self, digest: str) -> str | None:
        """The agent a key (by its SHA-256) was added for, or None."""
        found = self._run(
            lambda db: db.execute(
                "SELECT agent FROM agent_keys WHERE key_sha256 = %s", (digest,)
            ).fetchone()
        )
        return str(found[0]) if found else None

    def add_key(self, agent: str, digest: str) -> None:
        """Let a key (by its SHA-256) authenticate `agent` at every gateway using this store."""
        self._run(
            lambda db: db.execute(
                "INSERT INTO agent_keys (key_sha256, agent, added) VALUES (%s, %s, %s)"
                " ON CONFLICT (key_sha256) DO UPDATE SET agent = EXCLUDED.agent",
                (digest, agent, time.time()),
            )
        )

    def remove_key(self, digest: str) -> bool:
        """Revoke a key; whether there was one."""
        done = self._run(
            lambda db: db.execute("DELETE FROM agent_keys WHERE key_sha256 = %s", (digest,))
        )
        return bool(done.rowcount)

    def close(self) -> None:
        with self._lock:
            self._drop()
