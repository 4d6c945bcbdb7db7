"""The audit log's hash chain on SQLite and PostgreSQL: `postmark audit verify` says it is intact,
and names the first row where a row edited, removed or reordered behind the log's back breaks it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from gateway_postgres import PostgresServer
from postmark_client._operations import OPERATIONS
from postmark_client._policy_store import PolicySource, verify
from postmark_client._store import PolicyTables
from postmark_client.access import AccessDeniedError
from store_support import KINDS, loaded, open_kind, postmark, store_arg, write_policy

SEND = {"From": "a@example.com", "To": "b@example.com", "Subject": "Hi", "TextBody": "Hi"}
ROWS = 6


class Log:
    """A log of ROWS rows (allowed with outcomes, denied, admin), and raw SQL on its tables."""

    def __init__(self, kind: str, folder: Path, url: str | None) -> None:
        self.kind, self.folder, self.url = kind, folder, url
        self.policy_file = write_policy(folder)
        self.store: PolicyTables = open_kind(kind, folder, url)
        source = PolicySource.from_store(loaded(self.policy_file, self.store), self.store)
        policy = source.policy()
        op = OPERATIONS["send_email"]
        mailer = policy.access("onboarding-mailer")
        mailer.begin(op, SEND, None, None, "t").done(None, "request-1")
        mailer.begin(op, SEND, None, None, "t").done(None, "request-2")
        with pytest.raises(AccessDeniedError):
            policy.access("support-bot").begin(op, SEND, None, None, "t")
        source.set_level("ada", "support-bot", "email", "full", 1)
        policy.access("support-bot").begin(op, SEND, None, None, "t").done(None, "request-3")
        self.store.flush()

    def sql(self, *statements: str) -> None:
        if self.kind == "sqlite":
            with sqlite3.connect(self.folder / "audit.sqlite") as db:
                for statement in statements:
                    db.execute(statement)
            return
        assert self.url is not None
        with psycopg.connect(self.url, autocommit=True) as pg:
            for statement in statements:
                pg.execute(statement.encode())

    def verify(self) -> tuple[int, str]:
        done = postmark("audit", "verify", "--policy", str(self.policy_file),
                        *store_arg(self.kind, self.store))  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, done.stdout


@pytest.fixture(params=KINDS)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    url = None
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.database()
    made = Log(str(request.param), tmp_path, url)
    try:
        yield made
    finally:
        made.store.close()


def test_an_untouched_log_verifies(log: Log) -> None:
    assert log.verify() == (0, (f"ok: {ROWS} rows, chain intact (last hash "
                            f"{log.store.entries()[-1].hash})\n"))  # fmt: skip
    assert [e.outcome for e in log.store.entries()] == [
        "ok", "ok", "ok", "not sent", "ok", "ok"
    ]  # fmt: skip


TAMPERING: dict[str, tuple[list[str], int, str]] = {
    "edited text": (
        ["UPDATE calls SET summary = 'Read one bounce' WHERE id = 3"],
        3,
        "its columns do not match its hash",
    ),
    "edited decision": (
        ["UPDATE calls SET decision = 'allowed', outcome = 'unknown' WHERE id = 4"],
        4,
        "its columns do not match its hash",
    ),
    "removed row": (["DELETE FROM calls WHERE id = 3"], 4, "it does not follow row 2"),
    "reordered rows": (
        [
            "UPDATE calls SET id = -2 WHERE id = 2",
            "UPDATE calls SET id = 2 WHERE id = 3",
            "UPDATE calls SET id = 3 WHERE id = -2",
        ],
        2,
        "it does not follow row 1",
    ),
    "edited outcome": (
        ["UPDATE calls SET outcome = 'error', error_code = 300 WHERE id = 2"],
        2,
        "its outcome is not the one recorded",
    ),
    "outcome reset to unknown": (
        [
            "UPDATE calls SET outcome = 'unknown', detail = NULL, request_id = NULL WHERE id = 3",
            "DELETE FROM outcomes WHERE call = 3",
        ],
        6,
        "outcome record 3 does not follow the one before it",
    ),
    "hash removed": (["UPDATE calls SET hash = NULL WHERE id = 5"], 5, "carries no hash"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_names_the_first_row_where_the_chain_breaks(log: Log, how: str) -> None:
    statements, row, why = TAMPERING[how]
    log.sql(*statements)
    code, out = log.verify()
    assert code == 1 and out.startswith(f"chain broken at row {row}: "), out
    assert why in out


def test_a_log_from_before_the_chain_counts_its_old_rows_apart(log: Log) -> None:
    # The log as an earlier version wrote it: no chain columns, no outcome records.
    log.sql("ALTER TABLE calls DROP COLUMN prev", "ALTER TABLE calls DROP COLUMN hash",
            "DELETE FROM outcomes")  # fmt: skip
    log.store.close()
    store = open_kind(log.kind, log.folder, log.url)
    try:
        policy = loaded(log.policy_file, store)
        with pytest.raises(AccessDeniedError):
            policy.access("support-bot").begin(OPERATIONS["send_email"], SEND, None, None, "t")
        report = verify(store)
    finally:
        store.close()
    assert report.intact and (report.rows, report.unchained) == (ROWS + 1, ROWS), report


def test_verify_without_a_log_says_so(tmp_path: Path) -> None:
    write_policy(tmp_path)
    done = postmark("audit", "verify", "--policy", str(tmp_path / "agents.toml"))
    assert done.returncode != 0 and "no audit log" in done.stderr
    assert "Traceback" not in done.stderr
