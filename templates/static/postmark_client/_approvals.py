"""Held calls and a person's approval of them, kept in the audit store beside the log.

A policy may require approval for chosen operations (`approve = ["email.send_bulk"]`) or for
sends to more than a number of recipients (`approve_over_recipients = 100`). The check then
holds such a call instead of making it: `hold` keeps the exact arguments (canonical JSON) and
the SHA-256 of (agent, operation, arguments), and the agent is told the approval URL
(`approval_url`). An administrator approves or denies it once (`approve`, `deny`). The identical
call, made again within `ttl` seconds of the approval, passes `take` once and is then `used`;
changed arguments never match. A call nobody decides on within `ttl` of being held, or an
approval not used within `ttl` of being given, is `expired` (marked so, and logged, by the next
use of the table: a listing, a decision, a hold or a take).

Every step after the hold (approved, denied, used, expired) is a row of the audit log, with
its sentence; the hold itself is the check's decision row (`held`). The table `approvals` lives
in the same store as the log: the SQLite file of `AuditLog`, or the PostgreSQL database of
`PostgresStore`, so every gateway sharing the store sees one set of held calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, Literal, Protocol, TypeVar

from ._exceptions import PostmarkError
from ._store import AuditStore

__all__ = [
    "APPROVAL_STEPS",
    "STATES",
    "TTL",
    "ApprovalError",
    "Approvals",
    "Held",
    "approval_url",
    "canonical",
]

TTL: Final = 15 * 60.0
"""Seconds a held call waits for a decision, and an approval for its one use (15 minutes)."""
State = Literal["pending", "approved", "denied", "used", "expired"]
STATES: Final[tuple[State, ...]] = ("pending", "approved", "denied", "used", "expired")
APPROVAL_STEPS: Final = ("approved", "used", "expired")
"""The audit log's decisions of approval steps that are not a call's own decision (a held call
is `held`, a denial by an administrator `denied`)."""
_MAX_ADMIN: Final = 64

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    operation TEXT NOT NULL,
    arguments TEXT NOT NULL,
    digest TEXT NOT NULL,
    reason TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS approvals_pending ON approvals (digest) WHERE state = 'pending';
"""


@dataclass(frozen=True, slots=True)
class Held:
    """One held call: what was asked, by whom, and where its approval stands.

    `arguments` is the canonical JSON of what the check received (`{"body": ..., "path": ...,
    "query": ...}`: the request body and parameters as sent), `digest` the SHA-256 (hex) of
    (agent, operation, arguments) an approval is bound to, `reason` why it needs approval,
    `created` and `expires` Unix times (`expires`: the end of the wait for a decision, then,
    once approved, of the wait for the one use), `decided_by` the administrator.
    """

    id: str
    agent: str
    operation: str
    arguments: str
    digest: str
    reason: str
    created: float
    expires: float
    state: State
    decided_by: str | None = None
    decided: float | None = None

    @property
    def args(self) -> Any:
        """The arguments as data."""
        return json.loads(self.arguments)

    def to_json(self) -> dict[str, Any]:
        """The held call as JSON (what the console and `--json` outputs show): its fields in
        order, the arguments as data and the digest as `sha256`."""
        data = {_JSON_NAMES.get(f.name, f.name): getattr(self, f.name) for f in fields(self)}
        data["arguments"] = self.args
        return data


_JSON_NAMES: Final = {"digest": "sha256"}


_FIELDS: Final = ", ".join(f.name for f in fields(Held))
_EXPIRE: Final = (
    "UPDATE approvals SET state = 'expired' WHERE state IN ('pending', 'approved') AND expires <= ?"
    f" RETURNING {_FIELDS}"
)
_INSERT: Final = (
    f"INSERT INTO approvals ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL)"
    " ON CONFLICT DO NOTHING"
)
_PENDING_OF: Final = f"SELECT {_FIELDS} FROM approvals WHERE digest = ? AND state = 'pending'"
_DECIDE: Final = (
    "UPDATE approvals SET state = ?, decided_by = ?, decided = ?, expires = ?"
    f" WHERE id = ? AND state = 'pending' RETURNING {_FIELDS}"
)
_TAKE: Final = (
    "UPDATE approvals SET state = 'used' WHERE state = 'approved' AND id = (SELECT id FROM approvals"
    " WHERE digest = ? AND state = 'approved' AND expires > ? ORDER BY decided LIMIT 1)"
    f" RETURNING {_FIELDS}"
)
_ONE: Final = f"SELECT {_FIELDS} FROM approvals WHERE id = ?"
_LIST: Final = f"SELECT {_FIELDS} FROM approvals WHERE state = 'pending' ORDER BY created, id"

T = TypeVar("T")
Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class ApprovalError(PostmarkError):
    """A decision that cannot be made: no held call has this id, it is already decided (a
    second approval or denial of one call), it expired, or the administrator's name is empty."""


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: one text for equal data, whatever its key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest_of(agent: str, operation: str, arguments: Any) -> str:
    """The SHA-256 (hex) an approval is bound to: of agent, operation and canonical arguments."""
    return hashlib.sha256(canonical([agent, operation, arguments]).encode("utf-8")).hexdigest()


def approval_url(base: str | None, approval_id: str) -> str:
    """`{base}/console/approvals/{id}`: the console page where the held call is decided (a path
    alone when no base is known)."""
    return f"{(base or '').rstrip('/')}/console/approvals/{approval_id}"


class _Tables(Protocol):
    """One write transaction on the store's database: `work(run)`, `run(sql, values)` giving
    the rows a statement returns (SQLite's `?` parameters)."""

    def transaction(self, work: Callable[[Run], T]) -> T: ...

    def close(self) -> None: ...


class _SQLite:
    """The approvals table in the SQLite file of an `AuditLog`, on a connection of its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def _connect(self) -> sqlite3.Connection:
        # After a fork (gateway workers) the parent's connection stays the parent's.
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            db.execute("PRAGMA busy_timeout = 30000")
            db.executescript(_SCHEMA)
            self._db, self._pid = db, os.getpid()
        return self._db

    def transaction(self, work: Callable[[Run], T]) -> T:
        """`work` in one write transaction; AuditLogError when the file cannot take it (the
        call it was for is then refused: fail closed)."""
        from ._audit import AuditLogError

        with self._lock:
            try:
                return self._transaction(work)
            except sqlite3.Error as exc:
                raise AuditLogError(self.path, f"approvals: {exc}") from None

    def _transaction(self, work: Callable[[Run], T]) -> T:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(lambda sql, values: db.execute(sql, tuple(values)).fetchall())
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None


class _Postgres:
    """The approvals table in the PostgreSQL database of a `PostgresStore`, on its connection
    (a lost one is dropped and made again by the store)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._made = False

    def transaction(self, work: Callable[[Run], T]) -> T:
        def run_on(db: Any) -> Run:
            def run(sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
                cursor = db.execute(sql.replace("?", "%s"), tuple(values))
                return list(cursor.fetchall()) if cursor.description is not None else []

            return run

        def inside(db: Any) -> T:
            with db.transaction():
                if not self._made:
                    db.execute("SELECT pg_advisory_xact_lock(hashtext('approvals'))")
                    for statement in _SCHEMA.replace(" REAL ", " DOUBLE PRECISION ").split(";"):
                        if statement.strip():
                            db.execute(statement)
                return work(run_on(db))

        result: T = self.store._run(inside)
        self._made = True
        return result

    def close(self) -> None:
        """The store's connection is the store's to close."""


def _tables(store: AuditStore) -> _Tables:
    from ._audit import AuditLog

    if isinstance(store, AuditLog):
        return _SQLite(str(store.path))
    if hasattr(store, "url") and hasattr(store, "_run"):
        return _Postgres(store)
    raise TypeError(f"approvals need an AuditLog or a PostgresStore, not {type(store).__name__}")


class Approvals:
    """The held calls of one audit store (`store`: an `AuditLog` or a `PostgresStore`).

    `ttl` is in seconds (default `TTL`, 15 minutes); `clock` gives the Unix time (a test's own
    clock in place of `time.time`); `policy_hash` goes into the audit rows written here.
    """

    def __init__(
        self,
        store: AuditStore,
        *,
        ttl: float = TTL,
        clock: Callable[[], float] = time.time,
        policy_hash: str = "",
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self.policy_hash = policy_hash
        self._tables = _tables(store)

    def hold(self, agent: str, op: str, arguments: Any, reason: str = "") -> Held:
        """Hold a call (`op`: its operationId) awaiting a decision; the same call still pending
        gives the same Held, not a new one. The caller's decision row records the hold."""
        text = canonical(arguments)
        digest = digest_of(agent, op, arguments)
        now = self.clock()
        fresh = (uuid.uuid4().hex, agent, op, text, digest, reason, now, now + self.ttl)

        def work(run: Run) -> Held:
            run(_INSERT, fresh)
            return _held(run(_PENDING_OF, (digest,))[0])

        return self._after_expiry(work)

    def pending(self) -> list[Held]:
        """The calls awaiting a decision, oldest first."""
        return self._after_expiry(lambda run: [_held(row) for row in run(_LIST, ())])

    def get(self, approval_id: str) -> Held | None:
        """The held call with this id (in any state), or None."""
        rows = self._after_expiry(lambda run: run(_ONE, (approval_id,)))
        return _held(rows[0]) if rows else None

    def approve(self, approval_id: str, admin: str) -> Held:
        """Approve a pending call: the identical call may then be made once within `ttl`
        seconds. ApprovalError when there is no such call or it is no longer pending."""
        return self._decide(approval_id, admin, "approved")

    def deny(self, approval_id: str, admin: str) -> Held:
        """Deny a pending call (the call stays refused; asked again, it is held anew).
        ApprovalError when there is no such call or it is no longer pending."""
        return self._decide(approval_id, admin, "denied")

    def take(self, agent: str, op: str, arguments: Any) -> bool:
        """Whether an approved, unexpired call of exactly these arguments exists; it is then
        `used` (true once per approval)."""
        digest = digest_of(agent, op, arguments)
        now = self.clock()
        rows = self._after_expiry(lambda run: run(_TAKE, (digest, now)))
        if not rows:
            return False
        used = _held(rows[0])
        self._record(used, "used", f"approval {used.id} by {used.decided_by}")
        return True

    def close(self) -> None:
        self._tables.close()

    # Inside ------------------------------------------------------------------------------

    def _decide(self, approval_id: str, admin: str, state: State) -> Held:
        name = admin.strip()
        if not name or len(name) > _MAX_ADMIN or not name.isprintable():
            raise ApprovalError(
                f"the administrator deciding approval {approval_id} needs a name of 1 to "
                f"{_MAX_ADMIN} printable characters"
            )
        now = self.clock()
        values = (state, name, now, now + self.ttl, approval_id)

        def work(run: Run) -> tuple[Held | None, Held | None]:
            done = run(_DECIDE, values)
            if done:
                return _held(done[0]), None
            found = run(_ONE, (approval_id,))
            return None, (_held(found[0]) if found else None)

        decided, other = self._after_expiry(work)
        if decided is None:
            if other is None:
                raise ApprovalError(f"no held call has the id {approval_id!r}")
            by = f" by {other.decided_by}" if other.decided_by else ""
            raise ApprovalError(
                f"held call {approval_id} is already {other.state}{by}: it cannot be {state}"
            )
        if state == "approved":
            self._record(decided, "approved", f"approval {decided.id} by {name}")
        else:
            self._record(decided, "denied", f"approval {decided.id} denied by {name}")
        return decided

    def _after_expiry(self, work: Callable[[Run], T]) -> T:
        """`work` in one transaction, after marking what is past its time `expired` (each one
        then written to the log)."""
        now = self.clock()

        def both(run: Run) -> tuple[list[Held], T]:
            return [_held(row) for row in run(_EXPIRE, (now,))], work(run)

        expired, result = self._tables.transaction(both)
        for held in expired:
            waited = "use" if held.decided_by else "a decision"
            self._record(held, "expired", f"approval {held.id}, unused after waiting for {waited}")
        return result

    def _record(self, held: Held, decision: str, rule: str) -> None:
        from ._operations import OPERATIONS

        op = OPERATIONS.get(held.operation)
        group, access, summary = (op.group, op.access, op.summary) if op else ("", "", "")
        self.store.begin(
            (held.agent, held.operation, group, access, summary, "", None, 0, None, None, 0,
             decision, rule, "not sent", self.policy_hash)
        )  # fmt: skip


def _held(row: tuple[Any, ...]) -> Held:
    return Held(*row)
