# Copied by postmark-codegen from templates/static/postmark_client/_audit.py;
# edit it there and regenerate, not here.
"""The audit log: one row per decision (allowed, denied, or invalid: refused by the client's own
checks), with its outcome.

SQLite from the standard library, in WAL mode so that several processes append to one file at
once without losing a row. A row is written and read back before the request goes out (outcome
`unknown`), and completed after it, so a process killed mid-call leaves `unknown`, which is the
truth. A row that cannot be written refuses the call (AuditLogError): the log fails closed.

Every row is hash-chained, for tamper evidence (`postmark audit verify`). A row's `hash` is the
SHA-256 of the hash of the row before it (`prev`; 64 zeros for the first), a line feed, and the
canonical encoding of its own columns as the call's first write gave them: the JSON array (UTF-8,
no spaces, `ensure_ascii` off) of `ts, agent, operation, grp, access, summary, token, stream,
recipients, domains, addresses, messages, decision, rule, outcome, policy_hash, pid`. An outcome
written later (`finish`) is a chained record of its own in the `outcomes` table, with its own chain
(its `hash` over the previous outcome's hash and `[call, outcome, error_code, detail,
request_id]`), and is copied into the row for reading. `verify` walks both chains: an edited
column, a removed, inserted or reordered row or outcome, or a row whose outcome is not the one
recorded, is reported with the first row id where the chain breaks. Rows of a log written before
the chain have no hash; they are counted apart. A chain cannot tell that rows were cut off its
end: keep the last hash `verify` prints elsewhere to check that.

Rows never hold a token (only the kind and its last four characters, as the policy names it),
a message body or a template model; addresses only as the policy file allows (`record_addresses`:
`domains` by default, `full` or `none`).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar, Unpack

from ._exceptions import PostmarkError
from ._store import Filters, KeyTable, Outcome, SendQuota, process_id

T = TypeVar("T")

__all__ = [
    "ADMIN",
    "AuditEntry",
    "AuditLog",
    "AuditLogError",
    "ChainReport",
    "escape",
    "redact",
    "sentence",
    "verify_chain",
]

ADMIN: Final = "admin"
"""The `decision` (and `access`) of a row that records an administrator's change to the policy
or the keys; its `token` holds the administrator's name and its `summary` what changed."""

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
    pid INTEGER NOT NULL,
    prev TEXT,
    hash TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    call INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error_code INTEGER,
    detail TEXT,
    request_id TEXT,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Keyed by text: WITHOUT ROWID keeps them one b-tree (no second index of the key).
CREATE TABLE IF NOT EXISTS agent_keys (
    key_sha256 TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    added REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS policy_agents (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS policy_state (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    imported REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    log_id TEXT NOT NULL,
    created REAL NOT NULL
);
"""
# The log's id, made with it: a file put in its place carries another.
_NEW_ID: Final = "INSERT OR IGNORE INTO log (one, log_id, created) VALUES (1, ?, ?)"
# Only send quotas need an index (their count runs before every send of an agent with a quota);
# `postmark audit` reads the table in order. An index is one more page written per row, so it is
# made by the first quota check on a log, not for every log.
# It holds only allowed sends and carries `messages`, so the count reads the index alone
# (no row of the table), and its WHERE is the count's, so SQLite may use it.
_QUOTA_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS calls_sent ON calls (agent, ts, messages)"
    " WHERE decision = 'allowed' AND messages > 0"
)
# What logs of earlier versions were given instead: one more page written per row, for nothing.
_OLD_QUOTA_INDEX: Final = "DROP INDEX IF EXISTS calls_agent_ts"

_INSERT: Final = (
    "INSERT INTO calls (ts, agent, operation, grp, access, summary, token, stream, recipients,"
    " domains, addresses, messages, decision, rule, outcome, policy_hash, pid, prev, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Columns a log written before the hash chain lacks (added when it is opened).
_CHAIN_COLUMNS: Final = ("prev", "hash")
GENESIS: Final = "0" * 64
"""The `prev` of the first chained row (and of the first outcome)."""
_LAST_HASH: Final = "SELECT hash FROM calls ORDER BY id DESC LIMIT 1"
_LAST_OUTCOME_HASH: Final = "SELECT hash FROM outcomes ORDER BY id DESC LIMIT 1"
# Both chains' last hashes in one statement (a call writes a row and the outcomes before it).
_HEADS: Final = f"SELECT ({_LAST_HASH}), ({_LAST_OUTCOME_HASH})"
_OUTCOME: Final = (
    "INSERT INTO outcomes (call, outcome, error_code, detail, request_id, prev, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# What was written must read back: a trigger may have dropped or changed the row.
_READ_BACK: Final = (
    "SELECT 1 FROM calls WHERE id = ? AND ts = ? AND agent = ? AND decision = ? AND pid = ?"
)
_FINISH: Final = (
    "UPDATE calls SET outcome = ?, error_code = ?, detail = ?, request_id = ? WHERE id = ?"
)
# A send quota's count, kept by SQLite itself: a trigger adds every allowed send's messages to
# its agent's minute and hour, in the insert's own transaction, whichever process (or version)
# writes it. Made (and filled from the rows already there) by the first quota check on a log.
_SENT_COUNTERS: Final = (
    # Counters left without their trigger (it was dropped) are made again from the rows.
    "DROP TABLE IF EXISTS sent_minutes",
    "DROP TABLE IF EXISTS sent_hours",
    """CREATE TABLE sent_minutes (agent TEXT NOT NULL, minute INTEGER NOT NULL,
    messages INTEGER NOT NULL, PRIMARY KEY (agent, minute)) WITHOUT ROWID""",
    """CREATE TABLE sent_hours (agent TEXT NOT NULL, hour INTEGER NOT NULL,
    messages INTEGER NOT NULL, PRIMARY KEY (agent, hour)) WITHOUT ROWID""",
    """INSERT INTO sent_minutes SELECT agent, CAST(ts / 60 AS INTEGER), SUM(messages) FROM calls
    WHERE decision = 'allowed' AND messages > 0 GROUP BY 1, 2""",
    "INSERT INTO sent_hours SELECT agent, minute / 60, SUM(messages) FROM sent_minutes GROUP BY 1, 2",
    """CREATE TRIGGER sent_count AFTER INSERT ON calls
    WHEN NEW.decision = 'allowed' AND NEW.messages > 0
    BEGIN
        INSERT INTO sent_minutes VALUES (NEW.agent, CAST(NEW.ts / 60 AS INTEGER), NEW.messages)
            ON CONFLICT (agent, minute) DO UPDATE SET messages = messages + excluded.messages;
        INSERT INTO sent_hours VALUES (NEW.agent, CAST(NEW.ts / 60 AS INTEGER) / 60, NEW.messages)
            ON CONFLICT (agent, hour) DO UPDATE SET messages = messages + excluded.messages;
    END""",
)
_HAS_COUNTERS: Final = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'sent_count'"
# The messages an agent sent since a time, summed from its rows (what PostgresStore counts).
_SENT_SINCE: Final = (
    "SELECT COALESCE(SUM(messages), 0) FROM calls"
    " WHERE agent = ? AND decision = 'allowed' AND messages > 0 AND ts >= ?"
)
# The same, exact, from the counters: the hours after the one holding the time, the minutes
# of that hour after the one holding it, and that minute's rows (from the index) at or after
# it. Buckets are the trigger's own expressions, so each send counts exactly once.
_SENT_SINCE_COUNTED: Final = """
SELECT
    (SELECT COALESCE(SUM(messages), 0) FROM sent_hours
        WHERE agent = ?1 AND hour > CAST(?2 / 60 AS INTEGER) / 60)
    + (SELECT COALESCE(SUM(messages), 0) FROM sent_minutes
        WHERE agent = ?1 AND minute > CAST(?2 / 60 AS INTEGER)
        AND minute / 60 = CAST(?2 / 60 AS INTEGER) / 60)
    + (SELECT COALESCE(SUM(messages), 0) FROM calls
        WHERE agent = ?1 AND decision = 'allowed' AND messages > 0
        AND ts >= ?2 AND ts < ?2 + 61 AND CAST(ts / 60 AS INTEGER) = CAST(?2 / 60 AS INTEGER))
"""
# Both windows of the send quotas (the hour's, the day's) in one statement, each as above:
# parameters agent, start of the hour, agent, start of the day.
_SENT_WINDOWS: Final = f"SELECT ({_SENT_SINCE}), ({_SENT_SINCE})"
_SENT_WINDOWS_COUNTED: Final = (
    f"SELECT ({_SENT_SINCE_COUNTED}),"
    f" ({_SENT_SINCE_COUNTED.replace('?1', '?3').replace('?2', '?4')})"
)
_COLUMNS: Final = (
    "id, ts, agent, operation, grp, access, summary, token, stream, recipients, domains,"
    " addresses, messages, decision, rule, outcome, error_code, detail, request_id, policy_hash,"
    " pid, prev, hash"
)
_OUTCOME_COLUMNS: Final = "id, call, outcome, error_code, detail, request_id, prev, hash"

Run = Callable[[str, Sequence[Any]], Any]
"""A statement runner with `?` parameters (SQLite's cursor.execute, or psycopg's through `_pg`)."""


# `json.dumps(values, ensure_ascii=False, separators=(",", ":"))`, made once, not per hash.
_COMPACT: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def chain_hash(prev: str, values: Sequence[Any]) -> str:
    """The chained hash of a row or outcome: SHA-256 of `prev`, a line feed and the compact JSON
    array of `values` (UTF-8)."""
    return hashlib.sha256(f"{prev}\n{_COMPACT(values)}".encode()).hexdigest()


def _last(run: Run, query: str) -> str:
    found = run(query, ()).fetchone()
    return str(found[0]) if found and found[0] else GENESIS


def denied(row: tuple[Any, ...], rule: str) -> tuple[Any, ...]:
    """`AuditStore.begin`'s `row` as written when a send quota refuses it: decision, rule and
    outcome replaced (the 12th to 14th columns)."""
    return (*row[:11], "denied", rule, "not sent", *row[14:])


def chained(run: Run, values: tuple[Any, ...], prev: str | None = None) -> tuple[Any, ...]:
    """The values of `_INSERT` (all but the chain's two) with `prev` (the last row's hash, read
    when not given) and `hash` added; run inside the transaction that inserts them, which every
    writer of the log serializes."""
    if prev is None:
        prev = _last(run, _LAST_HASH)
    return (*values, prev, chain_hash(prev, values))


def record_outcomes(
    run: Run, pending: Iterable[Outcome], where: str, prev: str | None = None
) -> None:
    """Copy each outcome into its row and chain it into `outcomes` after `prev` (the last
    outcome's hash, read when not given)."""
    for done in pending:
        if run(_FINISH, (*done[1:], done.call)).rowcount != 1:
            raise AuditLogError(where, f"the outcome of row {done.call} was not kept")
        if prev is None:
            prev = _last(run, _LAST_OUTCOME_HASH)
        digest = chain_hash(prev, done)
        run(_OUTCOME, (*done, prev, digest))
        prev = digest


def over_quota(run: Run, count: str, agent: str, now: float, quota: SendQuota) -> str | None:
    """The rule refusing a send of `quota.messages` more, or None; `count` sums an agent's
    messages in the hour and the day before now (`_SENT_WINDOWS`, or `_SENT_WINDOWS_COUNTED`
    from the counters); a window without a limit is counted from now (nothing to read)."""
    limits = ((quota.per_hour, 3600.0, "hour"), (quota.per_day, 86400.0, "day"))
    starts = [now - seconds if limit is not None else now for limit, seconds, _ in limits]
    found = run(count, (agent, starts[0], agent, starts[1])).fetchone()
    for (limit, _, per), sent in zip(limits, found):
        if limit is None:
            continue
        sent = int(sent)
        if sent + quota.messages > limit:
            return (
                f"quota: {sent} of {limit} messages per {per} already sent, {quota.messages} "
                "more would pass it"
            )
    return None


# The row filters of `entries`: a `Filters` key and its clause.
_FILTER_CLAUSES: Final = (
    ("agent", "agent = ?"),
    ("group", "grp = ?"),
    ("decision", "decision = ?"),
    ("since", "ts >= ?"),
    ("until", "ts < ?"),
    ("before_id", "id < ?"),
)


def entries_query(**filters: Unpack[Filters]) -> tuple[str, list[Any]]:
    """The SELECT of `entries` (with `?` parameters) and its values, as `Filters` says."""
    given: Mapping[str, object] = filters
    clauses: list[str] = ["id > ?"]
    values: list[Any] = [filters.get("after_id", 0)]
    for key, clause in _FILTER_CLAUSES:
        value = given.get(key)
        if value is not None:
            clauses.append(clause)
            values.append(value)
    if filters.get("denied"):
        clauses.append("decision IN ('denied', 'invalid')")
    order = "DESC" if filters.get("newest_first") else ""
    query = f"SELECT {_COLUMNS} FROM calls WHERE {' AND '.join(clauses)} ORDER BY id {order}"
    limit = filters.get("limit")
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query, values


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
    prev: str | None = None
    hash: str | None = None

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
            "hash": self.hash,
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
    if not group:
        # Not an operation: an unknown tool's name, or the command that was refused.
        return f"{'called' if allowed else 'tried to call'} {name}"
    verb, _, rest = summary.rstrip(".").partition(" ")
    past = _PAST.get(verb.lower())
    if past is None:
        return f"{'called' if allowed else 'tried to call'} {group}.{name} ({summary.rstrip('.')})"
    did = past if allowed else f"tried to {verb.lower()}"
    return f"{did} {rest} ({group}.{name})".replace("  ", " ")


# What a terminal could act on or break a line at: C0 and C1 controls, DEL, the Unicode line
# and paragraph separators and the bidirectional overrides (which reorder what is shown).
_UNSAFE: Final = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED: Final = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape(text: str) -> str:
    """Text as one line that a terminal shows as it is: controls, line breaks and escape
    sequences written as `\\n`, `\\r`, `\\e`, `\\x9b`, ... (a backslash as `\\\\`)."""
    return _UNSAFE.sub(_escaped, text)


# An address in free text (Postmark's "Found inactive addresses: a@b.test, ..."), its domain
# in group 1.
_ADDRESS_IN_TEXT: Final = re.compile(
    r"[^\s,;:<>()\[\]\"'@*]+@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
)


def redact(text: str, record: str) -> str:
    """Addresses in a text as `record_addresses` allows: `full` as they are, `domains` as
    `…@domain`, `none` as `…`."""
    if record == "full" or "@" not in text:
        return text
    if record == "domains":
        return _ADDRESS_IN_TEXT.sub(lambda m: f"\u2026@{m.group(1)}", text)
    return _ADDRESS_IN_TEXT.sub("\u2026", text)


def sentence(entry: AuditEntry) -> str:
    """The entry as one plain English sentence, on one line (every field escaped)."""
    return escape(_sentence(entry))


def _sentence(entry: AuditEntry) -> str:
    from ._approvals import APPROVAL_STEPS as _APPROVAL_STEPS
    from ._operations import OPERATIONS

    if entry.decision == ADMIN:
        # "admin ada changed onboarding-mailer: bounces read → full"
        return f"admin {entry.token} {entry.summary}"
    known = OPERATIONS.get(entry.operation)
    name = known.name if known is not None else entry.operation
    where = f" on {entry.token}" if entry.token else ""
    if entry.stream:
        where += f", stream {entry.stream}"
    if entry.recipients:
        to = entry.addresses or entry.domains or ""
        plural = "" if entry.recipients == 1 else "s"
        where += f", {entry.recipients} recipient{plural}" + (f" ({to})" if to else "")
    if entry.decision in _APPROVAL_STEPS:
        # "mailer's call to send bulk email (email.send_bulk): approved (approval 3f.. by ada)"
        to_do = _did(entry.group, name, entry.summary, False).removeprefix("tried to ")
        return f"{entry.agent}'s call to {to_do}{where}: {entry.decision} ({entry.rule})"
    text = (
        f"{entry.agent} {_did(entry.group, name, entry.summary, entry.decision == 'allowed')}"
        f"{where}: {entry.decision} ({entry.rule})"
    )
    if entry.decision != "allowed":
        return text
    if entry.outcome == "unknown":
        return text + "; outcome unknown (the process ended before the answer was recorded)"
    if entry.outcome == "reconciled":
        return f"{text}; reconciled: {entry.detail}, not sent again"
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


class AuditLogError(PostmarkError):
    """The audit log cannot be used: it cannot take the row of a call, so the call was not
    made, or (`reading`) it cannot be read.

    `path` is the log's file and `reason` what went wrong (the file cannot be opened, it was
    removed or replaced while open, a row did not read back as written).
    """

    path: str
    reason: str
    reading: bool

    def __init__(self, path: str | os.PathLike[str], reason: str, *, reading: bool = False) -> None:
        self.path = str(path)
        self.reason = reason
        self.reading = reading
        said = "read" if reading else "written"
        after = "" if reading else "; nothing was sent"
        super().__init__(f"the audit log at {self.path} cannot be {said}: {reason}{after}")


BUSY_SECONDS: Final = 30.0
"""How long a writer waits for another process's write transaction before it gives up."""
_WAL_RETRY: Final = 0.005


def _use_wal(db: sqlite3.Connection, pause: Callable[[float], None] = time.sleep) -> None:
    """Put the file in WAL mode. While another process switches a new file to WAL, the switch
    fails at once with "locked" (SQLite's busy wait does not cover it): try again until it is
    done, for as long as a write would wait."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        pause(_WAL_RETRY)


class AuditLog(KeyTable):
    """An append-only SQLite log, shared by every process that names the same file.

    One connection per process (re-opened after a fork), used under a lock by its threads.
    A call costs one commit: its row is written before the request, and the outcome of the
    call before it is written in the same transaction (or by a background flush within
    `FLUSH_DELAY` seconds, or at exit). The log has an id (its `log` row); `log_id`, when given,
    is the id the log must carry: a missing log is then refused instead of started afresh.
    """

    def __init__(self, path: str | os.PathLike[str], *, log_id: str | None = None) -> None:
        self.path = Path(path)
        self._name = os.fspath(self.path)
        self.pinned_id = log_id
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None
        self._pid = 0
        self._indexed = False
        self._file: tuple[int, int] | None = None
        self._id: str | None = None
        self._broken: str | None = None
        self._pending: list[Outcome] = []

    @property
    def log_id(self) -> str:
        """The id of the log (made with it; opens the log)."""
        with self._lock:
            self._connect(reading=True)
            assert self._id is not None
            return self._id

    # Opening and checking ---------------------------------------------------------------

    def _connect(self, *, reading: bool = False) -> sqlite3.Connection:
        if self._db is not None and self._pid == process_id():
            return self._db
        if self._broken is not None:
            raise AuditLogError(self.path, self._broken, reading=reading)
        try:
            return self._open()
        except sqlite3.Error as exc:
            raise AuditLogError(self.path, str(exc), reading=reading) from None
        except OSError as exc:
            raise AuditLogError(self.path, exc.strerror or str(exc), reading=reading) from None
        except AuditLogError as exc:
            raise AuditLogError(self.path, exc.reason, reading=reading) from None

    def _open(self) -> sqlite3.Connection:
        # After a fork: the parent's connection and unwritten outcomes stay the parent's.
        if self._pid != process_id():
            self._pending = []
        self._db, self._cursor, self._indexed = None, None, False
        must_exist = self.pinned_id is not None or self._id is not None
        if must_exist and not self.path.exists():
            raise AuditLogError(self.path, f"it is missing ({self._expected()})")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = self.path.resolve().as_uri() + ("?mode=rw" if must_exist else "?mode=rwc")
        db = sqlite3.connect(
            target, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
            _use_wal(db)
            # A row survives the process being killed (it is in the WAL file); only a power cut
            # may lose the last ones. Syncing every row would cost more than the send it records.
            db.execute("PRAGMA synchronous = OFF")
            # One write transaction from the start: a statement that begins reading the schema
            # and then writes fails at once (no busy wait) when another process wrote between.
            db.executescript("BEGIN IMMEDIATE;" + _SCHEMA)
            columns = {str(c[1]) for c in db.execute("PRAGMA table_info(calls)")}
            for column in _CHAIN_COLUMNS:
                if column not in columns:
                    db.execute(f"ALTER TABLE calls ADD COLUMN {column} TEXT")
            db.execute(_NEW_ID, (uuid.uuid4().hex, time.time()))
            found = str(db.execute("SELECT log_id FROM log").fetchone()[0])
            db.execute("COMMIT")
            stat = os.stat(self.path)
        except BaseException:
            db.close()
            raise
        expected = self.pinned_id or self._id
        if expected is not None and found != expected:
            db.close()
            raise AuditLogError(self.path, f"it was replaced ({self._expected()}, found {found})")
        self._id, self._file = found, (stat.st_dev, stat.st_ino)
        _flusher.watch(self)
        self._db, self._pid = db, process_id()
        self._cursor = db.cursor()
        return db

    def _expected(self) -> str:
        if self.pinned_id is not None:
            return f"the policy names log id {self.pinned_id}"
        return f"this process wrote to log id {self._id}"

    def _ready(self, *, reading: bool = False) -> sqlite3.Connection:
        """The connection, once the file is checked: a log whose file was removed or replaced
        under it is refused for good (SQLite would go on writing to the old file, where nobody
        reads)."""
        db = self._connect(reading=reading)
        try:
            stat = os.stat(self._name)
            same = (stat.st_dev, stat.st_ino) == self._file
        except OSError:
            same = False
        if not same:
            self._broken = f"its file was removed or replaced while open ({self._expected()})"
            raise AuditLogError(self.path, self._broken, reading=reading)
        return db

    # Writing ----------------------------------------------------------------------------

    def begin(self, row: tuple[Any, ...], quota: SendQuota | None = None) -> tuple[int, str | None]:
        """Write a row before the call and read it back; returns its id and, when `quota`
        would be passed, the rule that denies it (the row is then written as denied).

        `row` holds every column of `_INSERT` but the time, the pid and the chain's two. The
        quota count and the insert happen in one write transaction, so two processes cannot
        both take the last message of an hour. AuditLogError when the row cannot be written or
        does not read back.
        """
        now = time.time()
        with self._lock:
            self._ready()
            try:
                return self._write(now, row, quota)
            except sqlite3.Error as exc:
                raise AuditLogError(self.path, str(exc)) from None

    def _write(
        self, now: float, row: tuple[Any, ...], quota: SendQuota | None
    ) -> tuple[int, str | None]:
        """One transaction: the outcomes waiting, the quota count, the row and its read-back."""
        cursor = self._cursor
        assert cursor is not None
        cursor.execute("BEGIN IMMEDIATE")
        try:
            head, outcome_head = cursor.execute(_HEADS).fetchone()
            if self._pending:
                self._write_pending(cursor.execute, outcome_head or GENESIS)
            refusal = None
            counted = quota is not None and quota.messages > 0 and quota[:2] != (None, None)
            if counted:
                assert quota is not None
                if not self._indexed:
                    self._make_quota_index(cursor)
                refusal = over_quota(cursor.execute, _SENT_WINDOWS_COUNTED, row[0], now, quota)
                if refusal is not None:
                    row = denied(row, refusal)
            cursor.execute(
                _INSERT, chained(cursor.execute, (now, *row, self._pid), head or GENESIS)
            )
            row_id = int(cursor.lastrowid or 0)
            cursor.execute(_READ_BACK, (row_id, now, row[0], row[11], self._pid))
            if cursor.fetchone() is None:
                raise AuditLogError(self.path, "the row written does not read back")
            cursor.execute("COMMIT")
        except BaseException:
            if self._db is not None and self._db.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        self._indexed = self._indexed or counted
        return row_id, refusal

    def _write_pending(self, run: Run, prev: str | None = None) -> None:
        pending, self._pending = self._pending, []
        try:
            record_outcomes(run, pending, self._name, prev)
        except BaseException:
            self._pending = pending + self._pending
            raise

    @staticmethod
    def _make_quota_index(cursor: sqlite3.Cursor) -> None:
        """The index and the counters a send quota reads (inside the write transaction, so
        the counters are filled from the rows before any other process writes one more)."""
        cursor.execute(_QUOTA_INDEX)
        cursor.execute(_OLD_QUOTA_INDEX)
        if cursor.execute(_HAS_COUNTERS).fetchone() is None:
            for statement in _SENT_COUNTERS:
                cursor.execute(statement)

    def finish(self, done: Outcome) -> None:
        """Complete a row with the call's outcome (written with the next row, or soon)."""
        with self._lock:
            self._pending.append(done)
        _flusher.wake()

    def flush(self) -> None:
        """Write the outcomes not yet written."""
        with self._lock:
            if not self._pending or self._pid != process_id():
                return
            self._transaction(lambda tables: self._write_pending(tables.execute), write=True)

    def sent_once(self, sql: str, values: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """One statement on the table of sends by idempotency key (`_sent_once`), made on
        first use: the rows it changed and the rows it read."""
        from ._sent_once import SCHEMA

        def run(tables: Tables) -> tuple[int, list[tuple[Any, ...]]]:
            tables.execute(SCHEMA)
            cursor = tables.execute(sql, values)
            return int(cursor.rowcount), list(cursor.fetchall())

        # A write transaction from the start: a statement that reads and then writes, in a
        # snapshot another process has written past, fails at once instead of waiting its turn.
        with self._lock:
            return self._transaction(run, write=True)

    # Reading ----------------------------------------------------------------------------

    def entries(self, **filters: Unpack[Filters]) -> list[AuditEntry]:
        """Rows in the order written (`newest_first`: the other way), as `Filters` selects
        them. Outcomes this process has not written yet are written first."""
        _flusher.flush_all()
        if not self.path.exists():
            return []
        query, values = entries_query(**filters)
        with self._lock:
            db = self._ready(reading=True)
            try:
                rows = db.execute(query, values).fetchall()
            except sqlite3.Error as exc:
                raise AuditLogError(self.path, str(exc), reading=True) from None
        return [AuditEntry(*row) for row in rows]

    def __iter__(self) -> Iterator[AuditEntry]:
        return iter(self.entries())

    def tables(
        self, work: Callable[[Tables], T], *, write: bool = False, single: bool = False
    ) -> T:
        """`work` run on this log's tables in one transaction (a write one, which every writer
        of the file waits for, when `write`; else a snapshot; none for a `single` statement):
        the policy, the keys and the chain's reading use it. AuditLogError when the file
        cannot be used."""
        with self._lock:
            return self._transaction(work, write=write, single=single)

    def _transaction(self, work: Callable[[Tables], T], *, write: bool, single: bool = False) -> T:
        """`tables`' work, under the lock."""
        db = self._ready(reading=not write)
        cursor = db.cursor()
        try:
            if single:
                return work(_SqliteTables(cursor))
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(_SqliteTables(cursor))
                cursor.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise AuditLogError(self.path, str(exc), reading=not write) from None
        return result

    def close(self) -> None:
        """Write what is pending, then close the connection."""
        try:
            self.flush()
        finally:
            with self._lock:
                if self._db is not None and self._pid == process_id():
                    self._db.close()
                self._db, self._cursor, self._indexed = None, None, False


class Tables:
    """The tables of a store inside one transaction: `execute` with `?` parameters (a cursor
    back: fetchone, fetchall, rowcount) and `append`, which writes a chained audit row."""

    def execute(self, sql: str, values: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def append(self, row: tuple[Any, ...]) -> None:
        """Write a row (`AuditStore.begin`'s `row`: every column but the time and the pid)."""
        values = (time.time(), *row, process_id())
        self.execute(_INSERT, chained(self.execute, values))


class _SqliteTables(Tables):
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, values: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql, tuple(values))


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `verify_chain` found: `rows` read, `broken_at` (the first row id where the chain
    breaks, None when intact) and `reason`; `unchained` rows written before the chain began;
    `last_hash` the hash of the last row (keep it elsewhere to tell a cut-off end)."""

    rows: int
    broken_at: int | None = None
    reason: str = ""
    unchained: int = 0
    last_hash: str = GENESIS

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        if self.broken_at is not None:
            return f"chain broken at row {self.broken_at}: {self.reason}"
        before = f", {self.unchained} earlier rows unchained" if self.unchained else ""
        return f"ok: {self.rows} rows, chain intact{before} (last hash {self.last_hash})"


def read_chain(tables: Tables) -> ChainReport:
    """Verify the chain of the rows and outcomes `tables` hold (read in one snapshot)."""
    outcomes = tables.execute(f"SELECT {_OUTCOME_COLUMNS} FROM outcomes ORDER BY id").fetchall()
    calls = tables.execute(f"SELECT {_COLUMNS} FROM calls ORDER BY id")
    return verify_chain((AuditEntry(*row) for row in calls), outcomes)


def verify_chain(calls: Iterable[AuditEntry], outcomes: Sequence[Sequence[Any]]) -> ChainReport:
    """Check every row's hash against its columns and its link to the row before, and the same
    for the outcomes (rows of `outcomes`: id, call, outcome, error_code, detail, request_id,
    prev, hash); the first break found, by row id."""
    finished: dict[int, tuple[Any, ...]] = {}
    outcome_break: tuple[int, str] | None = None
    prev = GENESIS
    for record in outcomes:
        number, call, *result = record[:6]
        if outcome_break is None:
            if record[6] != prev:
                why = "does not follow the one before it (an outcome was removed or reordered)"
                outcome_break = (call, f"outcome record {number} {why}")
            elif chain_hash(prev, (call, *result)) != record[7]:
                outcome_break = (call, f"outcome record {number} does not match its hash")
        prev = str(record[7])
        finished[int(call)] = tuple(result)
    rows = unchained = 0
    prev, previous_id = GENESIS, None
    for entry in calls:
        rows += 1
        if entry.hash is None:
            if previous_id is None and prev == GENESIS:
                unchained += 1
                continue
            return ChainReport(rows, entry.id, "it carries no hash (written around the log)")
        problem = _row_problem(entry, prev, previous_id, finished.pop(entry.id, None))
        if problem is not None:
            return ChainReport(rows, entry.id, problem, unchained)
        if outcome_break is not None and outcome_break[0] <= entry.id:
            return ChainReport(rows, outcome_break[0], outcome_break[1], unchained)
        prev, previous_id = entry.hash, entry.id
    if outcome_break is not None:
        return ChainReport(rows, outcome_break[0], outcome_break[1], unchained)
    if finished:
        call = min(finished)
        return ChainReport(rows, call, f"an outcome is recorded for row {call}, which is missing")
    return ChainReport(rows, unchained=unchained, last_hash=prev)


def _row_problem(
    entry: AuditEntry, prev: str, previous_id: int | None, outcome: tuple[Any, ...] | None
) -> str | None:
    """Why a row breaks the chain, or None."""
    if entry.prev != prev:
        after = f"row {previous_id}" if previous_id is not None else "the start of the log"
        return f"it does not follow {after} (a row was removed, added or reordered here)"
    shown = (entry.outcome, entry.error_code, entry.detail, entry.request_id)
    if outcome is not None:
        if shown != outcome:
            return "its outcome is not the one recorded for it (edited after it was written)"
        begun = "unknown"
    elif shown[1:] != (None, None, None):
        return "it holds an outcome no outcome record covers (edited after it was written)"
    else:
        begun = entry.outcome
    values = (
        entry.ts, entry.agent, entry.operation, entry.group, entry.access, entry.summary,
        entry.token, entry.stream, entry.recipients, entry.domains, entry.addresses,
        entry.messages, entry.decision, entry.rule, begun, entry.policy_hash, entry.pid,
    )  # fmt: skip
    if chain_hash(prev, values) != entry.hash:
        return "its columns do not match its hash (edited after it was written)"
    return None


class _Flusher:
    """Writes the outcomes no next call has carried: a daemon thread, woken by `finish`,
    that waits `FLUSH_DELAY` seconds (calls in a row carry each other's), and a last flush at
    exit. A `kill -9` before it leaves the row `unknown`, which is the truth."""

    def __init__(self) -> None:
        self._logs: weakref.WeakSet[AuditLog] = weakref.WeakSet()
        self._event = threading.Event()
        self._pid = 0
        atexit.register(self.flush_all, at_exit=True)

    def watch(self, log: AuditLog) -> None:
        """Flush this log from now on (called when it connects, in each process)."""
        if self._pid != process_id():
            self._pid = process_id()
            self._event = threading.Event()
            threading.Thread(target=self._run, name="postmark-audit", daemon=True).start()
        self._logs.add(log)

    def wake(self) -> None:
        if not self._event.is_set():
            self._event.set()

    def _run(self) -> None:
        event = self._event
        while True:
            event.wait()
            time.sleep(FLUSH_DELAY)
            event.clear()
            self.flush_all()

    def flush_all(self, at_exit: bool = False) -> None:
        for log in list(self._logs):
            try:
                log.flush()
            except Exception as exc:  # noqa: BLE001 - a broken log refuses the next call itself
                if at_exit and isinstance(exc, AuditLogError):
                    sys.stderr.write(f"postmark_client: {exc.reason}: outcomes not recorded\n")


FLUSH_DELAY: Final = 0.2
"""Seconds an outcome may wait for the next call's write before it is written alone."""
_flusher: Final = _Flusher()


# JSON escapes C0 controls itself; these it would print as they are.
_JSON_UNSAFE: Final = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def dumps(entry: AuditEntry) -> str:
    """One JSON line (controls a terminal could act on written as `\\uXXXX`)."""
    text = json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":"))
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
