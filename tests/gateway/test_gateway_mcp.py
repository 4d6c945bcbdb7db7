"""MCP at /mcp on the gateway: streamable HTTP, stateless, the same agent keys, tools per agent,
and the Host and Origin checks on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import mcp
import pytest
from gateway_support import MAILER, READER, Running, policy_text, start_gateway, stop
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from postmark_client.access import Policy
from postmark_client.mcp import tool_name

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def served(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("mcp")
    policy = folder / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    tokens = {"server": fake.server_token, "account": fake.account_token}
    running = start_gateway(policy, fake.url, tokens, "--allow-host", "gateway.test")
    try:
        yield running
    finally:
        stop(running)


def _client(running: Running, key: str) -> mcp.Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    return mcp.Client(streamable_http_client(running.url + "/mcp", http_client=http))


async def test_each_agent_lists_its_own_tools(served: Running) -> None:
    policy = Policy.load(served.audit.parent / "agents.toml")
    for agent, key in (("reader", READER), ("mailer", MAILER)):
        async with _client(served, key) as client:
            listed = [tool.name for tool in (await client.list_tools()).tools]
        assert listed == [tool_name(op) for op in policy.operations_for(agent)]


async def test_calls_are_checked_and_recorded(served: Running) -> None:
    after = served.last_id()
    async with _client(served, READER) as client:
        found = await client.call_tool("messages_search_outbound", {"count": 5, "offset": 0})
        refused = await client.call_tool(
            "email_send", {"from": "a@example.com", "to": "b@example.com", "text_body": "x"}
        )
    assert not found.is_error
    assert refused.is_error and "off on email" in refused.content[0].text  # type: ignore[union-attr]
    assert [(e.agent, e.operation, e.decision) for e in served.entries(after)] == [
        ("reader", "search_outbound_messages", "allowed"),
        ("reader", "send_email", "denied"),
    ]


def test_no_key_and_foreign_hosts_are_refused(served: Running) -> None:
    url = served.url + "/mcp"
    authorized = {**MCP_HEADERS, "Authorization": f"Bearer {READER}"}
    assert httpx.post(url, json=INITIALIZE, headers=MCP_HEADERS).status_code == 401
    assert httpx.post(url, json=INITIALIZE, headers=authorized).status_code == 200
    rebound = httpx.post(url, json=INITIALIZE, headers={**authorized, "Host": "evil.example"})
    foreign = httpx.post(
        url, json=INITIALIZE, headers={**authorized, "Origin": "http://evil.example"}
    )
    named = httpx.post(
        url,
        json=INITIALIZE,
        headers={**authorized, "Host": "gateway.test", "Origin": "https://gateway.test"},
    )
    assert rebound.status_code == 421 and named.status_code == 200
    assert foreign.status_code == 403
