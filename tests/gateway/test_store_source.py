"""`postmark-gateway --policy-in-store`: gateways take their agents from the store, and an edit
made through the store's API holds at each of them from its next call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_postgres import PostgresServer
from gateway_support import (
    MAILER,
    SEND,
    Running,
    policy_text,
    refused_start,
    start_gateway,
    stop,
)
from postmark_client._audit import AuditLog
from postmark_client._policy_store import PolicySource
from postmark_client._store import PolicyTables, open_store
from postmark_client.access import Policy, hash_key

QUERY = {"count": 1, "offset": 0}


def _started(policy: Path, fake: Any, *args: str) -> Running:
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return start_gateway(policy, fake.url, tokens, "--policy-in-store", "--no-mcp", *args)


@pytest.fixture(params=["sqlite", "postgres"])
def gateways(
    request: pytest.FixtureRequest, fake: Any, tmp_path: Path
) -> Iterator[tuple[list[Running], PolicySource]]:
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    args: tuple[str, ...] = ()
    where: str | Path = tmp_path / "audit.sqlite"
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        where = server.database()
        args = ("--store", where)
    running = [_started(policy, fake, *args)]
    if request.param == "postgres":
        running.append(_started(policy, fake, *args))
    store: PolicyTables = open_store(where)  # type: ignore[assignment]
    try:
        yield running, PolicySource.from_store(Policy.load(policy), store, create=False)
    finally:
        store.close()
        for gateway in running:
            stop(gateway)


def _statuses(running: list[Running], key: str) -> list[int]:
    return [
        httpx.post(
            g.url + "/email", json=SEND, headers={"X-Postmark-Server-Token": key}
        ).status_code
        for g in running
    ]


def test_an_edit_in_the_store_holds_at_every_gateway_at_its_next_call(
    gateways: tuple[list[Running], PolicySource],
) -> None:
    running, source = gateways
    assert source.where() == "store"
    # The file's key was imported with its agent.
    assert _statuses(running, MAILER) == [200] * len(running)
    source.set_level("ada", "mailer", "email", "off", source.agent("mailer").version)
    answers = [
        httpx.post(g.url + "/email", json=SEND, headers={"X-Postmark-Server-Token": MAILER})
        for g in running
    ]
    assert [a.status_code for a in answers] == [422] * len(running)
    assert all("off on email" in a.json()["Message"] for a in answers)


def _reads(running: list[Running], key: str) -> list[int]:
    headers = {"X-Postmark-Server-Token": key}
    return [
        httpx.get(g.url + "/messages/outbound", params=QUERY, headers=headers).status_code
        for g in running
    ]


def test_keys_made_in_the_store_open_and_close_every_gateway(
    gateways: tuple[list[Running], PolicySource],
) -> None:
    running, source = gateways
    key = source.create_key("ada", "reader")
    assert _reads(running, key) == [200] * len(running)
    new = source.rotate_key("ada", "reader")
    assert _reads(running, key) == [401] * len(running)
    assert _reads(running, new) == [200] * len(running)
    source.remove_agent("ada", "reader", source.agent("reader").version)
    assert _reads(running, new) == [401] * len(running)


def test_a_gateway_no_agent_could_sign_in_to_refuses_to_start(tmp_path: Path) -> None:
    policy = tmp_path / "agents.toml"
    policy.write_text('audit = "audit.sqlite"\n\n[agents.bot]\nemail = "full"\n', encoding="utf-8")
    assert "no agent could authenticate" in refused_start(policy).stderr
    log = AuditLog(tmp_path / "audit.sqlite")
    try:
        log.add_key("bot", hash_key("bot-key-0005"))
    finally:
        log.close()
    # With a key in the store it gets as far as the tokens it lacks.
    assert "no Postmark token" in refused_start(policy).stderr
