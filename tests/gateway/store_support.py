"""Helpers of the store-side console tests: a policy file and a store of either kind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from postmark_client._audit import AuditLog, AuditLogError, Tables
from postmark_client._postgres import PostgresStore
from postmark_client._store import PolicyTables
from postmark_client.access import Policy, hash_key

T = TypeVar("T")
KINDS = ("sqlite", "postgres")
POSTMARK = Path(sys.executable).parent / "postmark"
MAILER_KEY = "mailer-file-key-0001"
POLICY = f"""\
audit = "audit.sqlite"
record_addresses = "full"

[agents.onboarding-mailer]
email = "full"
bounces = "read"
recipients = ["*@example.com"]
message_streams = ["outbound"]
sends_per_hour = 100
key_sha256 = "{hash_key(MAILER_KEY)}"
description = "Sends the welcome mail"

[agents.support-bot]
messages = "read"
bounces = "full"
"""


def write_policy(folder: Path, text: str = POLICY) -> Path:
    path = folder / "agents.toml"
    path.write_text(text, encoding="utf-8")
    return path


def open_kind(kind: str, folder: Path, postgres_url: str | None) -> PolicyTables:
    """A store of this kind: the policy's SQLite audit file, or a PostgreSQL database."""
    if kind == "sqlite":
        return AuditLog(folder / "audit.sqlite")
    assert postgres_url is not None
    return PostgresStore(postgres_url)


def loaded(path: Path, store: PolicyTables) -> Policy:
    policy = Policy.load(path)
    policy.use_store(store)
    return policy


def postmark(*args: str) -> subprocess.CompletedProcess[str]:
    """The `postmark` command, run as a user would."""
    return subprocess.run(
        [str(POSTMARK), *args], capture_output=True, text=True, timeout=60, check=False
    )


def store_arg(kind: str, store: Any) -> list[str]:
    """`--store URL` for PostgreSQL; nothing for SQLite (the policy's audit file)."""
    return ["--store", store.url] if kind == "postgres" else []


class _FailingTables(Tables):
    def __init__(self, tables: Tables, store: FailingStore) -> None:
        self._tables, self._store = tables, store

    def execute(self, sql: str, values: Sequence[Any] = ()) -> Any:
        self._store.statements += 1
        if self._store.fails(self._store.statements, values):
            raise AuditLogError(
                "the store", f"injected failure at statement {self._store.statements}"
            )
        return self._tables.execute(sql, values)


class FailingStore:
    """A store whose write transactions fail at the statement `fails(number, values)` picks
    (`number` counts every statement of a write transaction since the store was made); every
    other call goes to `store` as it is."""

    def __init__(self, store: PolicyTables) -> None:
        self.store = store
        self.statements = 0
        self.fails: Callable[[int, Sequence[Any]], bool] = lambda number, values: False

    def tables(
        self, work: Callable[[Tables], T], *, write: bool = False, single: bool = False
    ) -> T:
        if not write:
            return self.store.tables(work, single=single)
        return self.store.tables(lambda t: work(_FailingTables(t, self)), write=True, single=single)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
