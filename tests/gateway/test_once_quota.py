"""A repeat answered with its key's first result sends nothing, so it counts toward no send
quota: an agent allowed N messages an hour repeats its keyed sends (REST and MCP, single and
batch) as often as it likes and still sends exactly N new messages. Each repeat is a row."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from gateway_support import MAILER, SEND, Running, policy_text, start_gateway, stop, store_option
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

QUOTA = 4
REPEATS = 4
HEADERS = {"X-Postmark-Server-Token": MAILER}


@pytest.fixture(params=["sqlite", "postgresql"])
def quota_gateway(request: pytest.FixtureRequest, fake: Any, tmp_path: Path) -> Iterator[Running]:
    """A gateway whose mailer may send QUOTA messages an hour."""
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(sends_per_hour=QUOTA), encoding="utf-8")
    store = store_option(request)
    tokens = {"server": fake.server_token, "account": fake.account_token}
    running = start_gateway(policy, fake.url, tokens, *store)
    try:
        yield running
    finally:
        stop(running)


def _keyed(key: str, to: str = SEND["To"]) -> dict[str, Any]:
    return {**SEND, "To": to, "Metadata": {"idempotency_key": key}}


def _post(running: Running, path: str, body: Any) -> httpx.Response:
    return httpx.post(running.url + path, json=body, headers=HEADERS, timeout=30)


def _quota_refused(answer: httpx.Response) -> bool:
    return answer.status_code == 422 and "quota" in answer.json()["Message"]


def test_rest_repeats_use_no_quota(quota_gateway: Running, fake: Any) -> None:
    tag = quota_gateway.process.pid
    first = _post(quota_gateway, "/email", _keyed(f"one-{tag}"))
    assert first.status_code == 200, first.text
    repeats = [_post(quota_gateway, "/email", _keyed(f"one-{tag}")) for _ in range(REPEATS)]
    assert {r.content for r in repeats} == {first.content}
    batch = _post(quota_gateway, "/email/batch", [_keyed(f"b1-{tag}"), _keyed(f"b2-{tag}")])
    assert batch.status_code == 200, batch.text
    # A batch of one repeat and one new message counts the new one only.
    mixed = _post(quota_gateway, "/email/batch", [_keyed(f"b1-{tag}"), _keyed(f"b3-{tag}")])
    assert mixed.status_code == 200 and mixed.json()[0] == batch.json()[0]
    # QUOTA messages sent: a new one is refused, a repeat still answered.
    assert _quota_refused(_post(quota_gateway, "/email", _keyed(f"four-{tag}")))
    assert _post(quota_gateway, "/email", _keyed(f"one-{tag}")).content == first.content
    again = _post(quota_gateway, "/email/batch", [_keyed(f"b3-{tag}"), _keyed(f"b1-{tag}")])
    assert again.status_code == 200 and again.json() == [mixed.json()[1], batch.json()[0]]
    sent = [m for m in fake.fake.messages() if str(tag) in m["Metadata"]["idempotency_key"]]
    assert sorted(m["Metadata"]["idempotency_key"] for m in sent) == sorted(
        f"{name}-{tag}" for name in ("one", "b1", "b2", "b3")
    )
    rows = [r for r in quota_gateway.entries() if r.operation.startswith("send_email")]
    outcomes = [r.outcome for r in rows]
    assert outcomes.count("reconciled") == REPEATS + 2 and outcomes.count("ok") == 3
    assert {r.messages for r in rows if r.outcome == "reconciled"} == {0}


def _mcp(running: Running) -> mcp.Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {MAILER}"})
    return mcp.Client(streamable_http_client(running.url + "/mcp", http_client=http))


async def _tools(running: Running, calls: list[tuple[str, str]]) -> list[Any]:
    """Each (tool, key) called in order: a send, or a batch of two messages."""
    one = {"from": SEND["From"], "to": SEND["To"], "subject": "Hi", "text_body": "Hello"}
    results = []
    async with _mcp(running) as client:
        for tool, key in calls:
            if tool == "email_send":
                arguments: dict[str, Any] = {**one, "idempotency_key": key}
            else:
                arguments = {"messages": [one, one], "idempotency_key": key}
            results.append(await client.call_tool(tool, arguments))
    return results


def test_mcp_repeats_use_no_quota(quota_gateway: Running) -> None:
    tag = quota_gateway.process.pid
    calls = [("email_send", f"m1-{tag}")] * (REPEATS + 1)
    calls += [("email_send_batch", f"b-{tag}")] * REPEATS  # two messages, sent once
    calls += [("email_send", f"m2-{tag}"), ("email_send", f"m3-{tag}"), ("email_send", f"m1-{tag}")]
    results = asyncio.run(_tools(quota_gateway, calls))
    errors = [r.content[0].text for r in results[:-2] if r.is_error]
    assert errors == []
    assert results[-2].is_error and "quota" in results[-2].content[0].text
    assert not results[-1].is_error
    assert results[-1].structured_content == results[0].structured_content
    rows = [r for r in quota_gateway.entries() if r.operation.startswith("send_email")]
    assert [r.outcome for r in rows].count("reconciled") == 2 * REPEATS
