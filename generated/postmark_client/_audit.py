# Copied by postmark-codegen from templates/static/postmark_client/_audit.py;
# edit it there and regenerate, not here.
"""The audit log: one row per access decision, allowed or denied, with its outcome.

SQLite from the standard library, in WAL mode so that several processes append to one file at
once without losing a row. A row is written before the request goes out (outcome `unknown`) and
completed after it, so a process killed mid-call leaves `unknown`, which is the truth.

Rows never hold a token (only the kind and its last four characters, as the policy names it),
a message body or a template model; addresses only as the policy file allows (`record_addresses`:
`domains` by default, `full` or `none`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

__all__ = ["AuditEntry", "AuditLog", "sentence"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    agent TEXT NOT NULL,
    operation TEXT NOT NULL,
    grp TEXT NOT NULL,
    access TEXT NOT NULL,
    summary TEXT NOT NULL,
    token TEXT NOT NULL,
    stream TEXT,
    recipients INTEGER NOT NULL DEFAULT 0,
    domains TEXT,
    addresses TEXT,
    messages INTEGER NOT NULL DEFAULT 0,
    decision TEXT NOT NULL,
    rule TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_code INTEGER,
    detail TEXT,
    request_id TEXT,
    policy_hash TEXT NOT NULL,
    pid INTEGER NOT NULL
);
"""
# Only send quotas need an index (their count runs before every send of an agent with a quota);
# `postmark audit` reads the table in order. An index is one more page written per row, so it is
# made by the first quota check on a log, not for every log.
_QUOTA_INDEX: Final = "CREATE INDEX IF NOT EXISTS calls_agent_ts ON calls (agent, ts)"

_INSERT: Final = (
    "INSERT INTO calls (ts, agent, operation, grp, access, summary, token, stream, recipients,"
    " domains, addresses, messages, decision, rule, outcome, policy_hash, pid)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FINISH: Final = (
    "UPDATE calls SET outcome = ?, error_code = ?, detail = ?, request_id = ? WHERE id = ?"
)
_SENT_SINCE: Final = (
    "SELECT COALESCE(SUM(messages), 0) FROM calls"
    " WHERE agent = ? AND decision = 'allowed' AND messages > 0 AND ts >= ?"
)
_COLUMNS: Final = (
    "id, ts, agent, operation, grp, access, summary, token, stream, recipients, domains,"
    " addresses, messages, decision, rule, outcome, error_code, detail, request_id, policy_hash,"
    " pid"
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the log."""

    id: int
    ts: float
    agent: str
    operation: str
    group: str
    access: str
    summary: str
    token: str
    stream: str | None
    recipients: int
    domains: str | None
    addresses: str | None
    messages: int
    decision: str
    rule: str
    outcome: str
    error_code: int | None
    detail: str | None
    request_id: str | None
    policy_hash: str
    pid: int

    @property
    def time(self) -> str:
        """When the call was decided, ISO 8601 UTC to the millisecond."""
        stamp = datetime.fromtimestamp(self.ts, UTC)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON (what `postmark audit --json` prints, one object per line)."""
        return {
            "id": self.id,
            "time": self.time,
            "agent": self.agent,
            "operation": self.operation,
            "group": self.group,
            "access": self.access,
            "token": self.token,
            "message_stream": self.stream,
            "recipients": self.recipients,
            "domains": self.domains.split(",") if self.domains else [],
            "addresses": self.addresses.split(",") if self.addresses else None,
            "messages": self.messages,
            "decision": self.decision,
            "rule": self.rule,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "detail": self.detail,
            "request_id": self.request_id,
            "policy_hash": self.policy_hash,
            "sentence": sentence(self),
        }


# The verbs the spec's summaries start with, in the past tense: "Search outbound messages" reads
# "searched outbound messages" in a sentence. A summary that starts otherwise is quoted instead.
_PAST: Final = {
    "activate": "activated", "add": "added", "archive": "archived", "block": "blocked",
    "bypass": "bypassed", "change": "changed", "check": "checked", "copy": "copied",
    "create": "created", "delete": "deleted", "edit": "edited", "get": "got", "list": "listed",
    "read": "read", "remove": "removed", "request": "requested", "restore": "restored",
    "retry": "retried", "search": "searched", "send": "sent", "start": "started",
    "suppress": "suppressed", "validate": "validated",
}  # fmt: skip


def _did(group: str, name: str, summary: str, allowed: bool = True) -> str:
    """What the call did, in the past tense: `searched outbound messages (messages.search_outbound)`;
    for a denied call, what it tried: `tried to send one message (email.send)`."""
    verb, _, rest = summary.rstrip(".").partition(" ")
    past = _PAST.get(verb.lower())
    if past is None:
        return f"{'called' if allowed else 'tried to call'} {group}.{name} ({summary.rstrip('.')})"
    did = past if allowed else f"tried to {verb.lower()}"
    return f"{did} {rest} ({group}.{name})".replace("  ", " ")


def sentence(entry: AuditEntry) -> str:
    """The entry as one plain English sentence."""
    from ._operations import OPERATIONS

    known = OPERATIONS.get(entry.operation)
    name = known.name if known is not None else entry.operation
    where = f" on {entry.token}" if entry.token else ""
    if entry.stream:
        where += f", stream {entry.stream}"
    if entry.recipients:
        to = entry.addresses or entry.domains or ""
        plural = "" if entry.recipients == 1 else "s"
        where += f", {entry.recipients} recipient{plural}" + (f" ({to})" if to else "")
    text = (
        f"{entry.agent} {_did(entry.group, name, entry.summary, entry.decision == 'allowed')}"
        f"{where}: {entry.decision} ({entry.rule})"
    )
    if entry.decision != "allowed":
        return text
    if entry.outcome == "unknown":
        return text + "; outcome unknown (the process ended before the answer was recorded)"
    result = entry.outcome
    if entry.error_code is not None:
        result += f" ErrorCode {entry.error_code}"
    if entry.detail:
        result += f": {entry.detail}" if entry.outcome != "ok" else ""
        if entry.outcome == "ok":
            result = entry.detail
    if entry.request_id:
        result += f" [request id {entry.request_id}]"
    return f"{text}; {result}"


class AuditLog:
    """An append-only SQLite log, shared by every process that names the same file.

    One connection per process (re-opened after a fork), used under a lock by its threads.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None
        self._pid = 0
        self._indexed = False

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self._cursor, self._indexed = None, False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        # A row survives the process being killed (it is in the WAL file); only a power cut
        # may lose the last ones. Syncing every row would cost more than the send it records.
        db.execute("PRAGMA synchronous = OFF")
        with db:
            db.executescript(_SCHEMA)
        self._db, self._pid = db, os.getpid()
        return db

    def _writer(self) -> sqlite3.Cursor:
        """The connection's cursor for the two writes of every call (one object, reused)."""
        db = self._connect()
        if self._cursor is None:
            self._cursor = db.cursor()
        return self._cursor

    def begin(
        self,
        row: tuple[Any, ...],
        *,
        quota: tuple[int | None, int | None] = (None, None),
        messages: int = 0,
    ) -> tuple[int, str | None]:
        """Write a row before the call; returns its id and, when a send quota would be
        passed, the rule that denies it (the row is then written as denied).

        `row` holds every column of `_INSERT` but the time and the pid. With a quota, the count
        and the insert happen in one write transaction, so two processes cannot both take the
        last message of an hour.
        """
        now = time.time()
        with self._lock:
            cursor = self._writer()
            if quota == (None, None) or not messages:
                cursor.execute(_INSERT, (now, *row, self._pid))
                return int(cursor.lastrowid or 0), None
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                if not self._indexed:
                    db.execute(_QUOTA_INDEX)
                refusal = self._over_quota(db, row[0], now, quota, messages)
                if refusal is not None:
                    row = (*row[:11], "denied", refusal, "not sent", *row[14:])
                cursor.execute(_INSERT, (now, *row, self._pid))
                db.execute("COMMIT")
                self._indexed = True
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return int(cursor.lastrowid or 0), refusal

    @staticmethod
    def _over_quota(
        db: sqlite3.Connection,
        agent: str,
        now: float,
        quota: tuple[int | None, int | None],
        messages: int,
    ) -> str | None:
        for limit, seconds, per in ((quota[0], 3600.0, "hour"), (quota[1], 86400.0, "day")):
            if limit is None:
                continue
            sent = int(db.execute(_SENT_SINCE, (agent, now - seconds)).fetchone()[0])
            if sent + messages > limit:
                return (
                    f"quota: {sent} of {limit} messages per {per} already sent, {messages} more "
                    "would pass it"
                )
        return None

    def finish(
        self,
        row_id: int,
        outcome: str,
        error_code: int | None = None,
        detail: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Complete a row with the call's outcome."""
        with self._lock:
            self._writer().execute(_FINISH, (outcome, error_code, detail, request_id, row_id))

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
        if not self.path.exists():
            return []
        clauses: list[str] = ["id > ?"]
        values: list[Any] = [after_id]
        if agent is not None:
            clauses.append("agent = ?")
            values.append(agent)
        if since is not None:
            clauses.append("ts >= ?")
            values.append(since)
        if denied:
            clauses.append("decision = 'denied'")
        query = f"SELECT {_COLUMNS} FROM calls WHERE {' AND '.join(clauses)} ORDER BY id"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._connect().execute(query, values).fetchall()
        return [AuditEntry(*row) for row in rows]

    def __iter__(self) -> Iterator[AuditEntry]:
        return iter(self.entries())

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db, self._cursor, self._indexed = None, None, False


def dumps(entry: AuditEntry) -> str:
    """One JSON line."""
    return json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":"))
