"""Sends by idempotency key across two gateway processes sharing one store (the SQLite file of
the policy, or a real PostgreSQL database): the same key, sent concurrently to both, reaches
Postmark once, every caller gets the first answer, and the log says which calls were reconciled.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from gateway_support import MAILER, SEND, Running, policy_text, start_gateway, stop, store_option
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from postmark_client import _base_client
from postmark_client._audit import AuditEntry, sentence
from postmark_client.access import Policy
from postmark_client.gateway._app import sent_results
from postmark_client.mcp import build_server
from postmark_client.testing import FakePostmark

CALLERS = 10
ANSWER_SECONDS = 60.0
HEADERS = {"X-Postmark-Server-Token": MAILER}


@pytest.fixture(params=["sqlite", "postgresql"])
def two(
    request: pytest.FixtureRequest, fake: Any, tmp_path: Path
) -> Iterator[tuple[Running, Running]]:
    """Two gateways in front of the fake, sharing the policy's SQLite file or one database."""
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    store = store_option(request)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    first = start_gateway(policy, fake.url, tokens, *store)
    try:
        second = start_gateway(policy, fake.url, tokens, *store)
        try:
            yield first, second
        finally:
            stop(second)
    finally:
        stop(first)


def _keyed(key: str) -> dict[str, Any]:
    return {**SEND, "Metadata": {"order": "42", "idempotency_key": key}}


def _stored(fake: Any, key: str) -> list[dict[str, Any]]:
    return [
        m for m in fake.fake.messages() if (m.get("Metadata") or {}).get("idempotency_key") == key
    ]


def _sends(running: Running) -> list[AuditEntry]:
    return [e for e in running.entries() if e.operation == "send_email"]


async def _post_all(
    urls: list[str], body: dict[str, Any], path: str = "/email"
) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=ANSWER_SECONDS) as client:
        return await asyncio.gather(
            *(
                client.post(urls[i % len(urls)] + path, json=body, headers=HEADERS)
                for i in range(CALLERS)
            )
        )


def test_rest_sends_with_one_key_reach_postmark_once_across_two_gateways(
    two: tuple[Running, Running], fake: Any
) -> None:
    first, second = two
    key = uuid.uuid4().hex
    answers = asyncio.run(_post_all([first.url, second.url], _keyed(key)))
    assert [a.status_code for a in answers] == [200] * CALLERS
    (stored,) = _stored(fake, key)
    # Every caller gets Postmark's first answer, unchanged.
    assert {a.content for a in answers} == {answers[0].content}
    assert answers[0].json()["MessageID"] == stored["MessageID"]
    rows = _sends(first)
    assert Counter(r.outcome for r in rows) == Counter({"ok": 1, "reconciled": CALLERS - 1})
    assert {r.pid for r in rows} == {first.process.pid, second.process.pid}
    repeated = [sentence(r) for r in rows if r.outcome == "reconciled"]
    assert all(
        f"reconciled: already sent as {stored['MessageID']}, not sent again" in s for s in repeated
    )
    # A send with another key is a new message.
    other = httpx.post(second.url + "/email", json=_keyed(key + "-b"), headers=HEADERS)
    assert other.json()["MessageID"] != stored["MessageID"] and len(_stored(fake, key + "-b")) == 1


def _client(running: Running) -> mcp.Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {MAILER}"})
    return mcp.Client(streamable_http_client(running.url + "/mcp", http_client=http))


async def _call(running: Running, key: str) -> Any:
    arguments = {
        "from": SEND["From"],
        "to": SEND["To"],
        "subject": "Hello",
        "text_body": "Hi",
        "idempotency_key": key,
    }
    async with _client(running) as client:
        return await client.call_tool("email_send", arguments)


async def _call_all(gateways: tuple[Running, Running], key: str) -> list[Any]:
    return await asyncio.gather(*(_call(gateways[i % 2], key) for i in range(CALLERS)))


def test_mcp_sends_with_one_key_reach_postmark_once_across_two_gateways(
    two: tuple[Running, Running], fake: Any
) -> None:
    key = uuid.uuid4().hex
    results = asyncio.run(_call_all(two, key))
    assert [r.content[0].text for r in results if r.is_error] == []
    (stored,) = _stored(fake, key)
    assert {r.structured_content["MessageID"] for r in results} == {stored["MessageID"]}
    rows = _sends(two[0])
    assert len(rows) == CALLERS
    reconciled = [r for r in rows if r.outcome == "reconciled"]
    assert len(reconciled) == CALLERS - 1
    assert all(r.detail == f"already sent as {stored['MessageID']}" for r in reconciled)


@pytest.fixture
def alone(tmp_path: Path) -> Iterator[tuple[FakePostmark, Running]]:
    """A fake of the test's own (its faults set by the test) and a gateway in front of it."""
    fake = FakePostmark()
    served = fake.serve()
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    tokens = {"server": fake.server_token, "account": fake.account_token}
    running = start_gateway(policy, served.url, tokens, "--no-mcp")
    try:
        yield fake, running
    finally:
        stop(running)
        served.close()


def test_a_send_that_may_have_gone_is_searched_for_before_it_is_sent_again(
    alone: tuple[FakePostmark, Running],
) -> None:
    """The first call is stored by Postmark and answered 500: the gateway relays the 500 and
    keeps the key uncertain; the next call with the key finds the message by searching for
    it and answers it, without sending it again."""
    fake, running = alone
    fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
    failed = httpx.post(running.url + "/email", json=_keyed("k-500"), headers=HEADERS)
    fake.faults.disable()
    again = httpx.post(running.url + "/email", json=_keyed("k-500"), headers=HEADERS)
    third = httpx.post(running.url + "/email", json=_keyed("k-500"), headers=HEADERS)
    assert failed.status_code == 500
    (stored,) = fake.messages()
    assert again.status_code == 200 and again.json()["MessageID"] == stored["MessageID"]
    assert again.json()["To"] == SEND["To"] and third.content == again.content
    rows = _sends(running)
    assert [r.outcome for r in rows] == ["error", "reconciled", "reconciled"]
    assert [r.detail for r in rows[1:]] == [f"already sent as {stored['MessageID']}"] * 2


async def _batches(urls: list[str], body: list[dict[str, Any]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=ANSWER_SECONDS) as client:
        return await asyncio.gather(
            *(
                client.post(urls[i % len(urls)] + "/email/batch", json=body, headers=HEADERS)
                for i in range(4)
            )
        )


def test_a_batch_sends_only_its_messages_whose_keys_are_new(
    two: tuple[Running, Running], fake: Any
) -> None:
    first, second = two
    k1, k2, k3, k4, k5 = (uuid.uuid4().hex for _ in range(5))
    sent = httpx.post(
        first.url + "/email/batch", json=[_keyed(k1), _keyed(k2)], headers=HEADERS
    ).json()
    unkeyed = {**SEND, "Subject": f"no key {k1}"}
    mixed = httpx.post(
        second.url + "/email/batch", json=[_keyed(k1), _keyed(k3), unkeyed], headers=HEADERS
    )
    assert mixed.status_code == 200
    answers = mixed.json()
    # The first message was answered with its first result, at its own index; the others sent.
    assert answers[0] == sent[0] and len(answers) == 3
    assert [len(_stored(fake, k)) for k in (k1, k2, k3)] == [1, 1, 1]
    assert answers[1]["MessageID"] == _stored(fake, k3)[0]["MessageID"]
    assert [m["MessageID"] for m in fake.fake.messages() if m["Subject"] == unkeyed["Subject"]] == [
        answers[2]["MessageID"]
    ]
    again = httpx.post(first.url + "/email/batch", json=[_keyed(k3), _keyed(k1)], headers=HEADERS)
    assert again.json() == [answers[1], sent[0]]
    # Concurrent batches with the same keys on both gateways: each message sent once.
    racing = asyncio.run(_batches([first.url, second.url], [_keyed(k4), _keyed(k5)]))
    assert {r.content for r in racing} == {racing[0].content}
    assert [len(_stored(fake, k)) for k in (k4, k5)] == [1, 1]
    rows = [r for r in first.entries() if r.operation == "send_email_batch"]
    assert [r.outcome for r in rows].count("reconciled") == 4  # `again` and 3 of the racing
    assert [r.detail for r in rows if r.outcome == "reconciled"] == ["already sent"] * 4


async def _crossed(urls: list[str], one: str, two: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=ANSWER_SECONDS) as client:
        return await asyncio.gather(
            *(
                client.post(
                    urls[i % 2] + "/email/batch",
                    json=[_keyed(one), _keyed(two)] if i % 2 else [_keyed(two), _keyed(one)],
                    headers=HEADERS,
                )
                for i in range(6)
            )
        )


def test_batches_sharing_keys_in_any_order_send_each_message_once(
    two: tuple[Running, Running], fake: Any
) -> None:
    one, other = uuid.uuid4().hex, uuid.uuid4().hex
    answers = asyncio.run(_crossed([two[0].url, two[1].url], one, other))
    assert [a.status_code for a in answers] == [200] * 6
    ids = {k: _stored(fake, k) for k in (one, other)}
    assert [len(found) for found in ids.values()] == [1, 1]
    for i, answer in enumerate(answers):
        order = (one, other) if i % 2 else (other, one)
        assert [e["MessageID"] for e in answer.json()] == [ids[k][0]["MessageID"] for k in order]


def test_a_batch_giving_one_key_to_two_messages_is_refused(gateway: Running, fake: Any) -> None:
    key = uuid.uuid4().hex
    refused = httpx.post(
        gateway.url + "/email/batch", json=[_keyed(key), _keyed("x" + key), _keyed(key)],
        headers=HEADERS,
    )  # fmt: skip
    assert refused.status_code == 422 and refused.json()["ErrorCode"] == 300
    assert "[2].Metadata.idempotency_key: is message 0's key too" in refused.json()["Message"]
    assert _stored(fake, key) == []


def _bulk(key: str | None, recipients: int = 3) -> dict[str, Any]:
    """A bulk request whose recipients carry `<key>-<index>`, as the client stamps them."""
    return {
        "From": SEND["From"],
        "Subject": "Hello {{name}}",
        "TextBody": "Hi {{name}}",
        "MessageStream": "broadcast",
        "Messages": [
            {
                "To": f"r{i}@example.com",
                "TemplateModel": {"name": f"r{i}"},
                **({"Metadata": {"idempotency_key": f"{key}-{i}"}} if key else {}),
            }
            for i in range(recipients)
        ],
    }


def _bulk_posts(fake: Any) -> int:
    return sum(1 for c in fake.fake.calls if c.operation_id == "send_bulk_email")


def test_a_keyed_bulk_request_reaches_postmark_once_across_two_gateways(
    two: tuple[Running, Running], fake: Any
) -> None:
    first, second = two
    before = _bulk_posts(fake)
    key = uuid.uuid4().hex
    answers = asyncio.run(_post_all([first.url, second.url], _bulk(key), "/email/bulk"))
    assert [a.status_code for a in answers] == [200] * CALLERS
    assert _bulk_posts(fake) == before + 1
    # Every caller gets the first answer, the bulk request's Id.
    assert {a.content for a in answers} == {answers[0].content}
    bulk_id = answers[0].json()["Id"]
    rows = [r for r in first.entries() if r.operation == "send_bulk_email"]
    assert Counter(r.outcome for r in rows) == Counter({"ok": 1, "reconciled": CALLERS - 1})
    assert {r.detail for r in rows if r.outcome == "reconciled"} == {f"already sent as {bulk_id}"}
    # Another key, or none, is another request.
    other = httpx.post(second.url + "/email/bulk", json=_bulk(key + "b"), headers=HEADERS)
    unkeyed = [
        httpx.post(first.url + "/email/bulk", json=_bulk(None), headers=HEADERS) for _ in range(2)
    ]
    assert other.json()["Id"] != bulk_id and [u.status_code for u in unkeyed] == [200, 200]
    assert _bulk_posts(fake) == before + 4


def test_a_bulk_request_whose_recipients_do_not_share_one_key_is_refused(
    gateway: Running, fake: Any
) -> None:
    before, last = _bulk_posts(fake), gateway.last_id()
    body = _bulk("order-7")
    body["Messages"][1]["Metadata"] = {"idempotency_key": "something-else"}
    refused = httpx.post(gateway.url + "/email/bulk", json=body, headers=HEADERS)
    del body["Messages"][0]["Metadata"]
    partly = httpx.post(gateway.url + "/email/bulk", json=body, headers=HEADERS)
    assert [refused.status_code, partly.status_code] == [422, 422]
    assert refused.json()["ErrorCode"] == 300
    assert refused.json()["Message"].startswith(
        "Messages[1].Metadata.idempotency_key: is 'something-else'; the recipients of a keyed "
        "bulk request carry one key with their index appended ('<key>-1')"
    )
    assert partly.json()["Message"].startswith("Messages[0].Metadata.idempotency_key: is None")
    assert _bulk_posts(fake) == before
    rows = gateway.entries(after_id=last)
    assert [(r.operation, r.outcome) for r in rows] == [("send_bulk_email", "failed")] * 2


def test_a_bulk_request_that_may_have_gone_is_never_sent_again(
    alone: tuple[FakePostmark, Running],
) -> None:
    """Postmark finds a bulk request by its Id only, which a call answered 500 never got: the
    gateway cannot reconcile it, so every later call with its key is refused, nothing sent."""
    fake, running = alone
    fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
    failed = httpx.post(running.url + "/email/bulk", json=_bulk("b-500"), headers=HEADERS)
    fake.faults.disable()
    later = [
        httpx.post(running.url + "/email/bulk", json=_bulk("b-500"), headers=HEADERS)
        for _ in range(2)
    ]
    fresh = httpx.post(running.url + "/email/bulk", json=_bulk("b-new"), headers=HEADERS)
    assert failed.status_code == 500 and fresh.status_code == 200
    assert [(a.status_code, a.json()["ErrorCode"]) for a in later] == [(502, 9002)] * 2
    assert "Postmark cannot be searched for it" in later[0].json()["Message"]
    assert [c.status for c in fake.calls if c.operation_id == "send_bulk_email"] == [500, 200]
    rows = [r for r in running.entries() if r.operation == "send_bulk_email"]
    assert [r.outcome for r in rows] == ["error", "failed", "failed", "ok"]


def _gateway_mcp(policy_file: Path, fake: FakePostmark) -> Any:
    """The MCP server of a gateway (as `mcp_app` builds it: sends by key in the policy's
    store), on the in-process fake, its one agent `mailer`."""
    policy = Policy.load(policy_file)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(
        policy, agent="mailer", tokens=tokens, transport=fake.transport, sent=sent_results(policy)
    )


async def test_an_mcp_batch_that_may_have_gone_is_searched_for_on_another_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postmark stores the batch and answers 500, and every search fails: the first gateway's
    call ends "may have been sent", its key uncertain in the store. The same call on a second
    gateway finds each message by its key and sends none of them again."""

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(_base_client, "_asyncio_sleep", no_wait)
    policy_file = tmp_path / "agents.toml"
    policy_file.write_text(
        'audit = "a.sqlite"\n[agents.mailer]\nemail = "full"\nmessages = "read"\n'
    )
    fake = FakePostmark()
    one = {"from": SEND["From"], "to": SEND["To"], "subject": "Hello", "text_body": "Hi"}
    batch = {"messages": [one, {**one, "to": "c@example.com"}], "idempotency_key": "mb-1"}
    fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
    async with mcp.Client(_gateway_mcp(policy_file, fake)) as client:
        first = await client.call_tool("email_send_batch", batch)
    fake.faults.disable()
    async with mcp.Client(_gateway_mcp(policy_file, fake)) as client:
        again = await client.call_tool("email_send_batch", batch)
    assert first.is_error and "may or may not have been sent" in first.content[0].text
    assert Counter(m["Metadata"]["idempotency_key"] for m in fake.messages()) == {
        "mb-1-0": 1,
        "mb-1-1": 1,
    }
    assert [c.status for c in fake.calls if c.operation_id == "send_email_batch"] == [500]
    ids = [m["MessageID"] for m in fake.messages()]
    results = again.structured_content["results"]
    assert not again.is_error and [r["result"]["MessageID"] for r in results] == ids
    rows = [e for e in Policy.load(policy_file).log.entries() if e.operation == "send_email_batch"]
    found = "; ".join(f"#{i} reconciled: already sent as {ids[i]}" for i in (0, 1))
    assert [(r.outcome, r.detail) for r in rows] == [
        ("ok", "0 accepted, 2 failed (2 may have been sent)"),
        ("ok", f"2 accepted, 0 failed; {found}"),
    ]
