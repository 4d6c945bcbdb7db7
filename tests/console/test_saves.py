"""A save of the matrix is one transaction on either store: a store failure in the middle of a
save leaves the agent as it was, and the page says what failed."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import httpx
from console_support import HOSTILE, InProcess, console_on, csrf_of
from postmark_client._audit import sentence
from postmark_client._policy_store import PolicySource
from postmark_client._store import PolicyTables
from store_support import FailingStore


def _signed_in(store: PolicyTables, tmp_path: Path) -> tuple[InProcess, PolicySource]:
    """A console over `store` (the source of truth), and ada signed in to it."""
    console = console_on(store, tmp_path)
    client = InProcess(console)
    assert client.sign_in().status_code == 303
    return client, console.source


def _save(client: InProcess, source: PolicySource, agent: str, **fields: str) -> httpx.Response:
    csrf = csrf_of(client.get("/console/matrix").text)
    version = str(source.agent(agent).version)
    return client.post(
        "/console/matrix", {"csrf": csrf, "agent": agent, "version": version, **fields}
    )


def test_a_store_failure_after_the_first_cell_changes_nothing(
    store: PolicyTables, tmp_path: Path
) -> None:
    failing = FailingStore(store)
    client, source = _signed_in(cast(PolicyTables, failing), tmp_path)
    before = source.agent("reader")
    admin_rows = len(source.entries(decision="admin"))
    # The store fails at the first statement that carries the save's second cell (stats).
    failing.fails = lambda at, values: any("stats" in str(value) for value in values)
    cells = {"grant.bounces": "read", "grant.stats": "full", "sends_per_day": "9"}
    answer = _save(client, source, "reader", **cells)
    assert answer.status_code == 503, answer.text
    said = answer.text
    assert "Not saved: the store failed" in said and "injected failure at statement" in said
    assert "nothing of this save was changed" in said
    assert source.agent("reader") == before
    assert len(source.entries(decision="admin")) == admin_rows
    # The same save, with the store well again: every cell, and one row that names each.
    failing.fails = lambda at, values: False
    assert "Saved reader." in _save(client, source, "reader", **cells).text
    after = source.agent("reader")
    assert (after.grants["bounces"], after.grants["stats"], after.sends_per_day) == (
        "read", "full", 9,
    )  # fmt: skip
    assert after.version == before.version + 1
    [row] = source.entries(decision="admin")[admin_rows:]
    assert sentence(row) == (
        "admin ada changed reader: bounces off \u2192 read; stats off \u2192 full; "
        "sends_per_day none \u2192 9"
    )


def test_a_refused_save_shows_the_value_escaped(store: PolicyTables, tmp_path: Path) -> None:
    client, source = _signed_in(store, tmp_path)
    before = source.agent("reader")
    answer = _save(client, source, "reader", **{"grant.bounces": "read", "grant.stats": HOSTILE})
    assert answer.status_code == 400
    said = answer.text
    assert "Not saved" in said and "agents.reader.stats" in said
    assert "<script>window.pwned" not in said and "&lt;script&gt;window.pwned" in said
    assert source.agent("reader") == before
