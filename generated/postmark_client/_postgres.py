# Copied by postmark-codegen from templates/static/postmark_client/_postgres.py;
# edit it there and regenerate, not here.
"""The audit log and send quotas in PostgreSQL, for several gateway hosts (psycopg 3).

Needs the `postgres` extra (`pip install 'postmark-client[postgres]'`). The table is the SQLite
log's (`_audit.py`), so `AuditEntry` reads both, and so are the hash chain, the outcomes, the
agent keys and the policy tables. A row is committed (durable) before `begin` returns; an
outcome's commit does not wait for the server's disk (a crash of the server may lose the last
ones, whose rows then read `unknown`, at the end of the outcomes' chain). Each insert takes a
transaction-scoped advisory lock (one for the rows, one for the outcomes), then inserts in one
statement that reads the last hash and hashes onto it (PostgreSQL's own `sha256`, over the
canonical text Python made): the chain stays one line whatever the number of gateways; and as
the quota count runs under the same lock, two gateways on two hosts cannot both take the last
message of an hour. A row's or an outcome's statements go to the server together (psycopg's
pipeline mode, where libpq has it): one round trip each, not one per statement.

A lost connection fails the call (the gateway then refuses it: fail closed) and the next call
connects again, so the store serves again as soon as PostgreSQL is back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, Unpack

import psycopg

from ._audit import (
    _COMPACT,
    _FINISH,
    _INSERT,
    _LAST_HASH,
    _LAST_OUTCOME_HASH,
    _QUOTA_INDEX,
    _SCHEMA,
    _SENT_WINDOWS,
    GENESIS,
    AuditEntry,
    AuditLogError,
    Tables,
    denied,
    entries_query,
    over_quota,
)
from ._sent_once import SCHEMA as SENT_SCHEMA
from ._store import Filters, KeyTable, Outcome, SendQuota, process_id

__all__ = ["PostgresStore"]

CONNECT_TIMEOUT: Final = 3
STATEMENT_TIMEOUT_MS: Final = 5000
# The SQLite table, typed for PostgreSQL.
_PG_SCHEMA: Final = (
    _SCHEMA.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY")
    .replace(" REAL ", " DOUBLE PRECISION ")
    .replace(" WITHOUT ROWID", "")
)
_SCHEMA_LOCK: Final = 0x706F73746D61726B  # one key for every process creating the table
_CHAIN_LOCK: Final = 0x706F73746D617263  # held by every insert of a row
_OUTCOME_LOCK: Final = 0x706F73746D61726F  # held by every insert of an outcome
# An outcome's transaction: its lock, and a commit that does not wait for the WAL to be flushed.
_OUTCOME_TRANSACTION: Final = (
    "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)"
)
# A log made before the hash chain gains its two columns.
_CHAIN_COLUMNS: Final = (
    "ALTER TABLE calls ADD COLUMN IF NOT EXISTS prev TEXT, ADD COLUMN IF NOT EXISTS hash TEXT"
)
_HAS_CHAIN: Final = (
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = 'calls' AND column_name = 'hash'"
)
T = TypeVar("T")


def _pg(sql: str) -> str:
    """SQLite's `?` parameters as psycopg's `%s`."""
    return sql.replace("?", "%s")


def _hashed_onto(last: str) -> str:
    """SQL for `chain_hash(prev, values)` onto the newest hash `last` selects (GENESIS when
    there is none, or when the newest row predates the chain): `prev` and `hash` columns, from
    the canonical text of the values as the last parameter."""
    prev = f"COALESCE(NULLIF(({last}), ''), '{GENESIS}')"
    return (
        "SELECT p.prev AS prev,"
        " encode(sha256(convert_to(p.prev || chr(10) || %s, 'UTF8')), 'hex') AS hash"
        f" FROM (SELECT {prev} AS prev) AS p"
    )


# A row with its chain's two columns worked out by the server, under the rows' lock.
_CHAINED_INSERT: Final = (
    _pg(_INSERT).split(" VALUES ")[0]
    + " SELECT "
    + ", ".join(["%s"] * (_INSERT.count("?") - 2))  # every column but the chain's two
    + ", c.prev, c.hash FROM ("
    + _hashed_onto(_LAST_HASH)
    + ") AS c RETURNING id"
)
# An outcome copied into its row and chained into `outcomes` in one statement: nothing is
# chained when the row is not there (no row comes back, and the call says so).
_CHAINED_OUTCOME: Final = (
    f"WITH kept AS ({_pg(_FINISH)} RETURNING id)"
    " INSERT INTO outcomes (call, outcome, error_code, detail, request_id, prev, hash)"
    " SELECT kept.id, %s, %s, %s, %s, c.prev, c.hash FROM kept, ("
    + _hashed_onto(_LAST_OUTCOME_HASH)
    + ") AS c RETURNING id"
)


def _one_trip(db: psycopg.Connection[Any], *statements: tuple[str, Sequence[Any]]) -> Any:
    """`statements` as one transaction sent in one round trip (pipeline mode, where libpq 14 or
    later has it; else one by one): the last one's cursor. BEGIN and COMMIT are statements of
    their own because psycopg's `transaction()` adds round trips in pipeline mode."""
    together = db.pipeline() if psycopg.Pipeline.is_supported() else contextlib.nullcontext()
    try:
        with together:
            db.execute("BEGIN")
            for sql, values in statements:
                last = db.execute(sql, values)
            db.execute("COMMIT")
    except BaseException:
        if not db.closed and db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            db.execute("ROLLBACK")
        raise
    return last


def _returned_id(cursor: psycopg.Cursor[Any]) -> int:
    found = cursor.fetchone()
    return int(found[0]) if found else 0


class _Counting(Tables):
    """A psycopg connection seen through SQLite's `execute` (`?` parameters): for the quota
    count, the chain, and the policy and key tables."""

    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self._db = db

    def execute(self, sql: str, values: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._db.execute(_pg(sql), tuple(values))


class PostgresStore(KeyTable):
    """An `AuditStore` in a PostgreSQL database, shared by every gateway that names its URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"PostgresStore({self.url.split('@')[-1]!r})"

    def _connect(self) -> psycopg.Connection[Any]:
        if self._db is not None and self._pid == process_id() and not self._db.closed:
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
            # ALTER TABLE locks the table even when it changes nothing: only when needed.
            if db.execute(_HAS_CHAIN).fetchone() is None:
                db.execute(_CHAIN_COLUMNS)
            db.execute(SENT_SCHEMA)
        self._db, self._pid = db, process_id()
        return db

    def _run(self, work: Any, *, reading: bool = False) -> Any:
        """`work(db)` under the lock; a broken connection is dropped (the next call reconnects)
        and its error raised (as a failed read when `reading`)."""
        with self._lock:
            try:
                return work(self._connect())
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop()
                # Said as every audit-log failure is (the CLI, MCP and the gateway refuse the
                # call with it), naming the server but never the URL's password.
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                where = f"postgresql://{self.url.split('@')[-1]}"
                raise AuditLogError(where, reason, reading=reading) from None

    def _drop(self) -> None:
        db, self._db = self._db, None
        if db is not None and self._pid == process_id():
            try:
                db.close()
            except psycopg.Error:
                pass

    def begin(
        self, row: tuple[object, ...], quota: SendQuota | None = None
    ) -> tuple[int, str | None]:
        now = time.time()

        def work(db: psycopg.Connection[Any]) -> tuple[int, str | None]:
            lock = ("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
            if quota is None or not quota.messages:
                columns = (now, *row, process_id())
                found = _one_trip(db, lock, (_CHAINED_INSERT, (*columns, _COMPACT(columns))))
                return _returned_id(found), None
            # The count decides the row, so it is read before the insert is sent.
            with db.transaction():
                db.execute(*lock)
                refusal = over_quota(_Counting(db).execute, _SENT_WINDOWS, str(row[0]), now, quota)
                values = row if refusal is None else denied(row, refusal)
                columns = (now, *values, process_id())
                found = db.execute(_CHAINED_INSERT, (*columns, _COMPACT(columns)))
            return _returned_id(found), refusal

        result: tuple[int, str | None] = self._run(work)
        return result

    def finish(self, done: Outcome) -> None:
        """Record an outcome now; its commit does not wait for the server's disk (a server
        crash may lose the last outcomes, leaving their rows `unknown`, at the end of the
        outcomes' chain: any later commit that waits makes the ones before it durable)."""

        def work(db: psycopg.Connection[Any]) -> bool:
            values = (*done[1:], done.call, *done[1:], _COMPACT(done))
            lock = (_OUTCOME_TRANSACTION, (_OUTCOME_LOCK,))
            return _one_trip(db, lock, (_CHAINED_OUTCOME, values)).fetchone() is not None

        if not self._run(work):
            raise AuditLogError(repr(self), f"the outcome of row {done.call} was not kept")

    def flush(self) -> None:
        """Nothing waits: each outcome is its own statement (autocommit)."""

    def entries(self, **filters: Unpack[Filters]) -> list[AuditEntry]:
        """As `AuditLog.entries` (the same filters)."""
        query, values = entries_query(**filters)
        rows = self._run(lambda db: db.execute(_pg(query), values).fetchall(), reading=True)
        return [AuditEntry(*row) for row in rows]

    def sent_once(self, sql: str, values: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """One statement on the table of sends by idempotency key (`_sent_once`): the rows it
        changed and the rows it read; one statement commits on its own (autocommit)."""

        def work(db: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
            cursor = db.execute(_pg(sql), values)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []

        result: tuple[int, list[tuple[Any, ...]]] = self._run(work)
        return result

    def tables(
        self, work: Callable[[Tables], T], *, write: bool = False, single: bool = False
    ) -> T:
        """`work` in one transaction: a write one holds the rows' lock (so it may `append`
        rows, and two writers of the policy wait for each other); a read one is a snapshot;
        a `single` statement runs alone."""

        def run(db: psycopg.Connection[Any]) -> T:
            if single:
                return work(_Counting(db))
            with db.transaction():
                if write:
                    db.execute("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
                else:
                    db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return work(_Counting(db))

        result: T = self._run(run, reading=not write)
        return result

    def close(self) -> None:
        with self._lock:
            self._drop()
