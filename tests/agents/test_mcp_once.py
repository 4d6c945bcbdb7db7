"""MCP send tools take an idempotency key: the same key returns the first result, once sent."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from postmark_client import _base_client
from postmark_client.access import Policy
from postmark_client.mcp import build_server
from postmark_client.mcp._tools import INPUT_SCHEMAS
from postmark_client.testing import FakePostmark
from support.cancelled_sends import Scripted, calls_around_a_cancel, no_waits

SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "Hello"}


def server_for(policy: Policy, fake: FakePostmark) -> mcp.server.Server:  # type: ignore[type-arg]
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(policy, agent="onboarding-mailer", tokens=tokens, transport=fake.transport)


def test_every_send_tool_takes_a_key() -> None:
    sends = {"send_email", "send_email_batch", "send_email_with_template"}
    sends |= {"send_email_batch_with_templates", "send_bulk_email"}
    assert {
        op for op, schema in INPUT_SCHEMAS.items() if "idempotency_key" in schema["properties"]
    } == sends


async def test_the_same_key_returns_the_first_result_without_sending_again(
    policy_file: Path,
) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, fake)) as client:
        first = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-7"})
        again = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-7"})
        other = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-8"})
        batch = {"messages": [SEND, SEND], "idempotency_key": "batch-1"}
        sent_batch = await client.call_tool("email_send_batch", batch)
        batch_again = await client.call_tool("email_send_batch", batch)
    assert not first.is_error and first.structured_content == again.structured_content
    assert other.structured_content["MessageID"] != first.structured_content["MessageID"]
    assert sent_batch.structured_content == batch_again.structured_content
    stored = [m["Metadata"]["idempotency_key"] for m in fake.messages()]
    assert sorted(stored) == ["batch-1-0", "batch-1-1", "welcome-7", "welcome-8"]
    assert policy.log is not None
    reconciled = [
        (e.operation, e.detail) for e in policy.log.entries() if e.outcome == "reconciled"
    ]
    assert reconciled == [
        ("send_email", f"already sent as {first.structured_content['MessageID']}"),
        ("send_email_batch", "already sent"),
    ]


async def test_a_refused_send_may_be_tried_again_with_its_key(policy_file: Path) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, fake)) as client:
        refused = await client.call_tool("email_send", {**SEND, "to": "", "idempotency_key": "k"})
        fixed = await client.call_tool("email_send", {**SEND, "idempotency_key": "k"})
    assert refused.is_error and not fixed.is_error
    assert [m["Metadata"]["idempotency_key"] for m in fake.messages()] == ["k"]


class StoredThenLost(httpx.AsyncBaseTransport):
    """The first send is stored and answered 500, and the search after it is refused (401):
    the first call ends "may have been sent"; later requests reach the fake as they are."""

    def __init__(self, fake: FakePostmark) -> None:
        self.inner = fake.transport()
        self.sends = 0
        self.refused_search = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            self.sends += 1
            if self.sends == 1:
                return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal error."})
        elif not self.refused_search:
            self.refused_search = True
            return httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad token."})
        return response


async def test_a_key_tried_again_after_maybe_sent_is_searched_for_first(tmp_path: Path) -> None:
    policy_file = tmp_path / "agents.toml"
    policy_file.write_text(
        'audit = "a.sqlite"\n[agents.mailer]\nemail = "full"\nmessages = "read"\n'
    )
    policy, fake = Policy.load(policy_file), FakePostmark()
    transport = StoredThenLost(fake)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(policy, agent="mailer", tokens=tokens, transport=lambda: transport)
    async with mcp.Client(server) as client:
        first = await client.call_tool("email_send", {**SEND, "idempotency_key": "k-1"})
        again = await client.call_tool("email_send", {**SEND, "idempotency_key": "k-1"})
    assert first.is_error and "may or may not have been sent" in first.content[0].text
    (stored,) = fake.messages()
    assert not again.is_error and again.structured_content["MessageID"] == stored["MessageID"]
    assert transport.sends == 1  # found by its key, not sent a second time


async def test_a_bulk_request_that_may_have_gone_is_never_sent_again(policy_file: Path) -> None:
    """A bulk request answered 500 after Postmark took it cannot be searched for: the same key
    is refused from then on (its row written), while a new key is sent."""
    policy, fake = Policy.load(policy_file), FakePostmark()
    bulk = {
        "from": "a@example.com",
        "subject": "Hi",
        "text_body": "Hello",
        "message_stream": "broadcast",
        "recipients": [{"to": "b@example.com"}, {"to": "c@example.com"}],
    }
    async with mcp.Client(server_for(policy, fake)) as client:
        fake.faults.configure(rate=1.0, statuses=(500,), after_store=1.0)
        first = await client.call_tool("email_send_bulk", {**bulk, "idempotency_key": "sale"})
        fake.faults.disable()
        later = [
            await client.call_tool("email_send_bulk", {**bulk, "idempotency_key": "sale"})
            for _ in range(2)
        ]
        fresh = await client.call_tool("email_send_bulk", {**bulk, "idempotency_key": "sale-2"})
    assert first.is_error and [r.is_error for r in later] == [True, True] and not fresh.is_error
    assert "Postmark cannot be searched for it" in later[0].content[0].text
    assert [c.status for c in fake.calls if c.operation_id == "send_bulk_email"] == [500, 200]
    assert policy.log is not None
    rows = [e for e in policy.log.entries() if e.operation == "send_bulk_email"]
    assert [(r.decision, r.outcome) for r in rows] == [
        ("allowed", "error"),
        ("denied", "not sent"),
        ("denied", "not sent"),
        ("allowed", "ok"),
    ]


class BatchLost(httpx.AsyncBaseTransport):
    """The first batch call is answered 500, after the fake stored it (`stored`) or before;
    the searches of that call's reconciliation are refused (401), so the call ends with its
    messages "may have been sent"; later requests reach the fake as they are."""

    def __init__(self, fake: FakePostmark, stored: bool) -> None:
        self.inner = fake.transport()
        self.stored = stored
        self.sends: list[list[str]] = []
        self.refusing = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.sends.append(
                [m["Metadata"]["idempotency_key"] for m in json.loads(request.content)]
            )
            if len(self.sends) == 1:
                if self.stored:
                    await self.inner.handle_async_request(request)
                return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal error."})
        elif self.refusing:
            return httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad token."})
        return await self.inner.handle_async_request(request)


BATCH = {"messages": [SEND, {**SEND, "to": "c@example.com"}], "idempotency_key": "b-1"}


def mailer(tmp_path: Path) -> Policy:
    policy_file = tmp_path / "agents.toml"
    policy_file.write_text(
        'audit = "a.sqlite"\n[agents.mailer]\nemail = "full"\nmessages = "read"\n'
    )
    return Policy.load(policy_file)


async def _batch_twice(server: Any, transport: BatchLost) -> tuple[Any, Any]:
    async with mcp.Client(server) as client:
        first = await client.call_tool("email_send_batch", BATCH)
        transport.refusing = False
        again = await client.call_tool("email_send_batch", BATCH)
    return first, again


async def test_a_batch_tried_again_after_maybe_sent_searches_before_sending(
    tmp_path: Path,
) -> None:
    """Postmark stored the batch and answered 500: the call says which messages may have been
    sent, and the same call again finds each by its key and sends none of them twice."""
    policy, fake = mailer(tmp_path), FakePostmark()
    transport = BatchLost(fake, stored=True)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(policy, agent="mailer", tokens=tokens, transport=lambda: transport)
    first, again = await _batch_twice(server, transport)
    assert first.is_error and "messages #0, #1 of the batch may or may not" in first.content[0].text
    assert Counter(m["Metadata"]["idempotency_key"] for m in fake.messages()) == {
        "b-1-0": 1,
        "b-1-1": 1,
    }
    assert transport.sends == [["b-1-0", "b-1-1"]]
    ids = {m["Metadata"]["idempotency_key"]: m["MessageID"] for m in fake.messages()}
    results = again.structured_content["results"]
    assert not again.is_error and [r["status"] for r in results] == ["sent", "sent"]
    assert [r["result"]["MessageID"] for r in results] == [ids["b-1-0"], ids["b-1-1"]]
    assert policy.log is not None
    row = [e for e in policy.log.entries() if e.operation == "send_email_batch"][-1]
    assert row.outcome == "ok" and row.detail == (
        f"2 accepted, 0 failed; #0 reconciled: already sent as {ids['b-1-0']}; "
        f"#1 reconciled: already sent as {ids['b-1-1']}"
    )


async def test_a_batch_not_found_by_its_keys_is_sent_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_base_client, "_asyncio_sleep", no_wait)
    policy, fake = mailer(tmp_path), FakePostmark()
    transport = BatchLost(fake, stored=False)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(policy, agent="mailer", tokens=tokens, transport=lambda: transport)
    first, again = await _batch_twice(server, transport)
    assert first.is_error and not again.is_error
    assert transport.sends == [["b-1-0", "b-1-1"]] * 2
    assert Counter(m["Metadata"]["idempotency_key"] for m in fake.messages()) == {
        "b-1-0": 1,
        "b-1-1": 1,
    }
    assert [r["status"] for r in again.structured_content["results"]] == ["sent", "sent"]
    assert waits == [1.0, 2.0, 4.0, 8.0]  # searched for through the waits before sending


def _mailer_server(tmp_path: Path) -> tuple[Policy, FakePostmark, Scripted, Any]:
    """The mailer's stdio server, its first POST held at the fake until it is cancelled."""
    policy, fake = mailer(tmp_path), FakePostmark()
    transport = Scripted(fake, posts=["hold"])
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(policy, agent="mailer", tokens=tokens, transport=lambda: transport)
    return policy, fake, transport, server


async def test_a_send_cancelled_after_it_reached_postmark_is_not_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_waits(monkeypatch)
    policy, fake, transport, server = _mailer_server(tmp_path)
    args = {**SEND, "idempotency_key": "c-1"}
    (again,) = await calls_around_a_cancel(server, transport, "email_send", args)
    (stored,) = fake.messages()
    assert not again.is_error and again.structured_content["MessageID"] == stored["MessageID"]
    assert transport.posts == 1
    assert policy.log is not None
    rows = [e for e in policy.log.entries() if e.operation == "send_email"]
    assert (rows[0].outcome, rows[0].detail) == ("cancelled", "may have been sent")


async def test_a_batch_cancelled_after_it_reached_postmark_is_not_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_waits(monkeypatch)
    policy, fake, transport, server = _mailer_server(tmp_path)
    (again,) = await calls_around_a_cancel(server, transport, "email_send_batch", BATCH)
    assert Counter(m["Metadata"]["idempotency_key"] for m in fake.messages()) == {
        "b-1-0": 1,
        "b-1-1": 1,
    }
    assert not again.is_error and transport.posts == 1
    assert policy.log is not None
    rows = [e for e in policy.log.entries() if e.operation == "send_email_batch"]
    assert (rows[0].outcome, rows[0].detail) == ("cancelled", "may have been sent")
