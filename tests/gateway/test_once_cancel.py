"""A keyed send cancelled (MCP `notifications/cancelled`, or its request's task cancelled) after
its request may have reached Postmark leaves its key uncertain, never free: the same call again
searches for the key and finds the message instead of sending it twice. A repeat settled by that
search sends nothing and counts toward no send quota."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import MAILER, SEND, policy_text
from postmark_client.access import Policy
from postmark_client.gateway._app import Gateway, sent_results
from postmark_client.mcp import build_server
from postmark_client.testing import FakePostmark
from support.cancelled_sends import Scripted, calls_around_a_cancel, cancelled, no_waits

HEADERS = {"X-Postmark-Server-Token": MAILER}
ONE = {"from": SEND["From"], "to": SEND["To"], "subject": "Hello", "text_body": "Hi"}


def _policy(tmp_path: Path, text: str | None = None) -> Policy:
    path = tmp_path / "agents.toml"
    path.write_text(
        text or 'audit = "a.sqlite"\n[agents.mailer]\nemail = "full"\nmessages = "read"\n',
        encoding="utf-8",
    )
    return Policy.load(path)


def _keys(fake: FakePostmark) -> Counter[str]:
    return Counter(m["Metadata"]["idempotency_key"] for m in fake.messages())


def _rows(policy: Policy, operation: str) -> list[tuple[str, str | None]]:
    assert policy.log is not None
    return [(e.outcome, e.detail) for e in policy.log.entries() if e.operation == operation]


async def _mcp_calls(
    policy: Policy, fake: FakePostmark, transport: Scripted, tool: str, args: Any, plain: int = 0
) -> list[Any]:
    """`calls_around_a_cancel` on a gateway's MCP server (sends by key in the policy's store)."""
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(
        policy,
        agent="mailer",
        tokens=tokens,
        transport=lambda: transport,
        sent=sent_results(policy),
    )
    return await calls_around_a_cancel(server, transport, tool, args, plain)


async def test_a_gateway_mcp_send_cancelled_in_flight_is_not_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_waits(monkeypatch)
    policy, fake = _policy(tmp_path), FakePostmark()
    transport = Scripted(fake, posts=["hold"])
    args = {**ONE, "idempotency_key": "gm-1"}
    (again,) = await _mcp_calls(policy, fake, transport, "email_send", args)
    (stored,) = fake.messages()
    assert not again.is_error and again.structured_content["MessageID"] == stored["MessageID"]
    assert transport.posts == 1
    assert _rows(policy, "send_email")[0] == ("cancelled", "may have been sent")


async def test_a_gateway_mcp_batch_cancelled_in_flight_is_not_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_waits(monkeypatch)
    policy, fake = _policy(tmp_path), FakePostmark()
    transport = Scripted(fake, posts=["hold"])
    batch = {"messages": [ONE, {**ONE, "to": "c@example.com"}], "idempotency_key": "gb-1"}
    (again,) = await _mcp_calls(policy, fake, transport, "email_send_batch", batch)
    assert _keys(fake) == {"gb-1-0": 1, "gb-1-1": 1}
    assert not again.is_error and transport.posts == 1
    assert _rows(policy, "send_email_batch")[0] == ("cancelled", "may have been sent")


async def test_a_gateway_mcp_send_cancelled_while_reconciled_stays_uncertain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call is stored and answered 500, its search refused: "may have been sent".
    The second call's search for the key is cancelled; the third still searches first."""
    no_waits(monkeypatch)
    policy, fake = _policy(tmp_path), FakePostmark()
    transport = Scripted(fake, posts=["500"], gets=["401", "hold"])
    args = {**ONE, "idempotency_key": "gr-1"}
    first, third = await _mcp_calls(policy, fake, transport, "email_send", args, plain=1)
    assert first.is_error and not third.is_error
    (stored,) = fake.messages()
    assert third.structured_content["MessageID"] == stored["MessageID"]
    assert transport.posts == 1


def _gateway(tmp_path: Path, fake: FakePostmark, transport: Scripted, quota: int | None) -> Any:
    policy = _policy(tmp_path, policy_text("a.sqlite", sends_per_hour=quota))
    tokens = {"server": fake.server_token, "account": fake.account_token}
    app = Gateway(
        policy, tokens=tokens, upstream="https://api.postmarkapp.com", transport=transport
    )
    return policy, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def _keyed(key: str, to: str = SEND["To"]) -> dict[str, Any]:
    return {**SEND, "To": to, "Metadata": {"idempotency_key": key}}


async def test_a_rest_send_cancelled_in_flight_is_searched_for_not_sent_again(
    tmp_path: Path,
) -> None:
    fake = FakePostmark()
    transport = Scripted(fake, posts=["hold"])
    policy, client = _gateway(tmp_path, fake, transport, None)
    async with client:
        await cancelled(client.post("/email", json=_keyed("r-1"), headers=HEADERS), transport)
        again = await client.post("/email", json=_keyed("r-1"), headers=HEADERS)
    (stored,) = fake.messages()
    assert again.status_code == 200, again.text
    assert again.json()["MessageID"] == stored["MessageID"] and transport.posts == 1
    assert _rows(policy, "send_email") == [
        ("cancelled", "may have been sent"),
        ("reconciled", f"already sent as {stored['MessageID']}"),
    ]


async def test_a_rest_batch_cancelled_in_flight_is_searched_for_not_sent_again(
    tmp_path: Path,
) -> None:
    fake = FakePostmark()
    transport = Scripted(fake, posts=["hold"])
    policy, client = _gateway(tmp_path, fake, transport, None)
    batch = [_keyed("rb-1"), _keyed("rb-2", "c@example.com")]
    async with client:
        await cancelled(client.post("/email/batch", json=batch, headers=HEADERS), transport)
        again = await client.post("/email/batch", json=batch, headers=HEADERS)
    assert again.status_code == 200, again.text
    assert _keys(fake) == {"rb-1": 1, "rb-2": 1} and transport.posts == 1
    ids = {m["Metadata"]["idempotency_key"]: m["MessageID"] for m in fake.messages()}
    assert [a["MessageID"] for a in again.json()] == [ids["rb-1"], ids["rb-2"]]
    assert _rows(policy, "send_email_batch") == [
        ("cancelled", "may have been sent"),
        ("reconciled", "already sent"),
    ]


async def test_a_rest_repeat_found_by_its_search_uses_no_quota(tmp_path: Path) -> None:
    """Quota 2: a send stored and answered 500 uses one; the same key again is found by the
    search and uses none, so one new message may still be sent."""
    fake = FakePostmark()
    policy, client = _gateway(tmp_path, fake, Scripted(fake, posts=[]), 2)
    async with client:
        fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
        failed = await client.post("/email", json=_keyed("q-1"), headers=HEADERS)
        fake.faults.disable()
        again = await client.post("/email", json=_keyed("q-1"), headers=HEADERS)
        new = await client.post("/email", json=_keyed("q-2"), headers=HEADERS)
        over = await client.post("/email", json=_keyed("q-3"), headers=HEADERS)
    assert [failed.status_code, again.status_code, new.status_code] == [500, 200, 200], new.text
    assert over.status_code == 422 and "quota" in over.json()["Message"]
    assert _keys(fake) == {"q-1": 1, "q-2": 1}
    assert policy.log is not None
    rows = [e for e in policy.log.entries() if e.operation == "send_email"]
    assert [(r.outcome, r.messages) for r in rows[:3]] == [
        ("error", 1),
        ("reconciled", 0),
        ("ok", 1),
    ]


async def test_a_rest_batch_repeat_found_by_its_search_uses_no_quota(tmp_path: Path) -> None:
    """Quota 3: a batch of two stored and answered 500 uses two; the same batch again is found
    by its keys and uses none, so one new message may still be sent."""
    fake = FakePostmark()
    policy, client = _gateway(tmp_path, fake, Scripted(fake, posts=[]), 3)
    batch = [_keyed("qb-1"), _keyed("qb-2", "c@example.com")]
    async with client:
        fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
        failed = await client.post("/email/batch", json=batch, headers=HEADERS)
        fake.faults.disable()
        again = await client.post("/email/batch", json=batch, headers=HEADERS)
        new = await client.post("/email", json=_keyed("qb-3"), headers=HEADERS)
    assert [failed.status_code, again.status_code, new.status_code] == [500, 200, 200], again.text
    assert _keys(fake) == {"qb-1": 1, "qb-2": 1, "qb-3": 1}
    assert policy.log is not None
    rows = [e for e in policy.log.entries() if e.operation.startswith("send_email")]
    assert [(r.outcome, r.messages) for r in rows] == [("error", 2), ("reconciled", 0), ("ok", 1)]
