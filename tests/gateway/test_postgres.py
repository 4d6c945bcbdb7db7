"""Two gateway processes on two ports against one real PostgreSQL database: one quota held
exactly, one log, a killed gateway's `unknown` row, and fail closed while the store is gone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from gateway_postgres import PostgresServer
from gateway_support import (
    COMMAND,
    MAILER,
    SEND,
    Recorder,
    Running,
    policy_text,
    start_gateway,
    stop,
)
from postmark_client._audit import AuditLogError, read_chain
from postmark_client._postgres import PostgresStore
from postmark_client._store import Outcome, SendQuota

QUOTA = 50
SENDS = 80
CONCURRENCY = 20
ANSWER_SECONDS = 30.0


def _policy(folder: Path) -> Path:
    policy = folder / "agents.toml"
    policy.write_text(policy_text(sends_per_hour=QUOTA), encoding="utf-8")
    return policy


@pytest.fixture
def two(
    fake: Any, postgres: PostgresServer, tmp_path: Path
) -> Iterator[tuple[Running, Running, str]]:
    url = postgres.database()
    tokens = {"server": fake.server_token, "account": fake.account_token}
    policy = _policy(tmp_path)
    first = start_gateway(policy, fake.url, tokens, "--store", url, "--no-mcp")
    try:
        second = start_gateway(policy, fake.url, tokens, "--store", url, "--no-mcp")
        try:
            yield first, second, url
        finally:
            stop(second)
    finally:
        stop(first)


async def _send_all(urls: list[str]) -> list[httpx.Response]:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=ANSWER_SECONDS) as client:

        async def one(index: int) -> httpx.Response:
            async with limit:
                return await client.post(
                    urls[index % len(urls)] + "/email",
                    json={**SEND, "Subject": f"n{index}"},
                    headers={"X-Postmark-Server-Token": MAILER},
                )

        return await asyncio.gather(*(one(i) for i in range(SENDS)))


def test_two_gateways_hold_one_quota_exactly(two: tuple[Running, Running, str], fake: Any) -> None:
    first, second, url = two
    before = len(fake.fake.messages())
    answers = asyncio.run(_send_all([first.url, second.url]))
    sent = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 422]
    assert len(sent) == QUOTA and len(refused) == SENDS - QUOTA
    assert all(a.json()["ErrorCode"] == 9001 for a in refused)
    assert all(f"of {QUOTA} messages per hour" in a.json()["Message"] for a in refused)
    assert len(fake.fake.messages()) - before == QUOTA
    store = PostgresStore(url)
    try:
        rows = store.entries()
    finally:
        store.close()
    assert len(rows) == SENDS and len({r.id for r in rows}) == SENDS
    assert sorted((r.decision, r.outcome) for r in rows) == sorted(
        [("allowed", "ok")] * QUOTA + [("denied", "not sent")] * (SENDS - QUOTA)
    )
    assert {r.pid for r in rows} == {first.process.pid, second.process.pid}


def test_a_killed_gateway_leaves_unknown_and_the_other_serves(
    fake: Any, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.database()
    policy = _policy(tmp_path)
    stalled = Recorder(None)
    stalled.hold = threading.Event()
    doomed = start_gateway(
        policy, stalled.url, {"server": "real-token-0001"}, "--store", url, "--no-mcp"
    )
    tokens = {"server": fake.server_token, "account": fake.account_token}
    other = start_gateway(policy, fake.url, tokens, "--store", url, "--no-mcp")
    answers: list[Any] = []

    def call() -> None:
        try:
            answers.append(
                httpx.post(
                    doomed.url + "/email",
                    json=SEND,
                    headers={"X-Postmark-Server-Token": MAILER},
                    timeout=ANSWER_SECONDS,
                )
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    caller = threading.Thread(target=call)
    try:
        caller.start()
        assert stalled.arrived.wait(ANSWER_SECONDS), "the call never reached upstream"
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
        caller.join(ANSWER_SECONDS)
        served = httpx.post(
            other.url + "/email", json=SEND, headers={"X-Postmark-Server-Token": MAILER}
        )
    finally:
        stalled.hold.set()
        stop(other)
        stalled.close()
    assert isinstance(answers[0], httpx.HTTPError)
    assert served.status_code == 200
    store = PostgresStore(url)
    try:
        rows = store.entries()
    finally:
        store.close()
    assert [(r.pid, r.decision, r.outcome) for r in rows] == [
        (doomed.process.pid, "allowed", "unknown"),
        (other.process.pid, "allowed", "ok"),
    ]
    shown = subprocess.run(
        [str(COMMAND.with_name("postmark")), "audit", "--policy", str(policy), "--store", url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert len(shown) == 2
    assert shown[0].endswith("outcome unknown (the process ended before the answer was recorded)")


def test_a_lost_store_refuses_calls_until_it_returns(
    fake: Any, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.database()
    tokens = {"server": fake.server_token, "account": fake.account_token}
    running = start_gateway(_policy(tmp_path), fake.url, tokens, "--store", url, "--no-mcp")
    headers = {"X-Postmark-Server-Token": MAILER}
    try:
        before = httpx.post(running.url + "/email", json=SEND, headers=headers)
        postgres.stop()
        try:
            during = httpx.post(running.url + "/email", json=SEND, headers=headers, timeout=30)
        finally:
            postgres.start()
        after = httpx.post(running.url + "/email", json=SEND, headers=headers, timeout=30)
    finally:
        stop(running)
    assert before.status_code == 200
    assert during.status_code == 503 and during.json()["ErrorCode"] == 9003
    assert after.status_code == 200
    store = PostgresStore(url)
    try:
        assert [r.outcome for r in store.entries()] == ["ok", "ok"]
    finally:
        store.close()


def test_the_quota_count_is_atomic_across_connections(postgres: PostgresServer) -> None:
    url = postgres.database()
    stores = [PostgresStore(url) for _ in range(8)]
    row = ("mailer", "send_email", "email", "write", "Send one message", "server token", None,
           1, "example.com", None, 1, "allowed", "full on email", "unknown", "policy")  # fmt: skip
    refusals: list[str | None] = []

    def spend(store: PostgresStore) -> None:
        for _ in range(SENDS // 4):
            refusals.append(store.begin(row, SendQuota(QUOTA, None, 1))[1])

    threads = [threading.Thread(target=spend, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(ANSWER_SECONDS)
    for store in stores:
        store.close()
    assert len(refusals) == 8 * (SENDS // 4)
    assert refusals.count(None) == QUOTA


def test_an_outcome_for_a_missing_row_is_refused_and_leaves_the_chain_whole(
    postgres: PostgresServer,
) -> None:
    store = PostgresStore(postgres.database())
    row = ("mailer", "send_email", "email", "write", "Send one message", "server token", None,
           1, "example.com", None, 1, "allowed", "full on email", "unknown", "policy")  # fmt: skip
    try:
        first, _ = store.begin(row)
        store.finish(Outcome(first, "ok", None, "accepted", "request-1"))
        with pytest.raises(AuditLogError, match=f"the outcome of row {first + 99} was not kept"):
            store.finish(Outcome(first + 99, "ok"))
        # Text the server hashes must hash as Python's verify does: not ASCII, a line feed.
        second, _ = store.begin((*row[:4], "Envoyer un message \u2014 \u00e9t\u00e9", *row[5:]))
        store.finish(
            Outcome(second, "error", 406, "inactive: z\u00f6e@\u00e9xample.com\n2", "request-2")
        )
        shown = [(e.id, e.outcome, e.request_id) for e in store.entries()]
        assert shown == [(first, "ok", "request-1"), (second, "error", "request-2")]
        report = store.tables(read_chain)
        assert report.intact and report.rows == 2, report
        # An outcome's commit need not wait for the disk; a row's always does (the setting is
        # the outcome transaction's own, not the connection's).
        setting = store.tables(lambda t: t.execute("SHOW synchronous_commit").fetchone()[0])
        assert setting == "on"
    finally:
        store.close()


def test_a_row_the_server_refuses_leaves_no_transaction_open(postgres: PostgresServer) -> None:
    # A row and its lock go to the server together: when the insert fails there, the store
    # rolls back, so the next call does not land in an aborted transaction.
    url = postgres.database()
    store = PostgresStore(url)
    row = ("mailer", "send_email", "email", "write", "Send one message", "server token", None,
           1, "example.com", None, 1, "allowed", "full on email", "unknown", "policy")  # fmt: skip
    try:
        store.entries()  # makes the tables
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON calls FOR EACH ROW"
                " WHEN (NEW.agent = 'refused') EXECUTE FUNCTION refuse()"
            )
        with pytest.raises(psycopg.Error, match="refused by the test"):
            store.begin(("refused", *row[1:]))
        kept, _ = store.begin(row)
        store.finish(Outcome(kept, "ok"))
        assert [(e.id, e.agent, e.outcome) for e in store.entries()] == [(kept, "mailer", "ok")]
        assert store.tables(read_chain).intact
    finally:
        store.close()


def _keys(policy: Path, url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), "--policy", str(policy), "--store", url, *args],
        input=key + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_keys_kept_in_the_store_reach_every_gateway(
    two: tuple[Running, Running, str], tmp_path: Path
) -> None:
    first, second, url = two
    policy = _policy(tmp_path)
    key = "stored-key-0004"
    headers = {"X-Postmark-Server-Token": key}
    query = {"count": 1, "offset": 0}

    def statuses() -> list[int]:
        return [
            httpx.get(g.url + "/messages/outbound", params=query, headers=headers).status_code
            for g in (first, second)
        ]

    before = statuses()
    added = _keys(policy, url, key, "--add-key", "reader")
    during = statuses()
    removed = _keys(policy, url, key, "--remove-key")
    after = statuses()
    assert added.returncode == 0 and "now authenticates reader" in added.stderr
    assert key not in added.stderr
    assert removed.returncode == 0
    assert (before, during, after) == ([401, 401], [200, 200], [401, 401])
    unknown = _keys(policy, url, key, "--add-key", "nobody-here")
    assert unknown.returncode == 2 and "no agent 'nobody-here'" in unknown.stderr
