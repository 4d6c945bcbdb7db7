"""Per-server tokens: the policy names a file of them, each agent a server; only the gateway
reads the file, and each agent's sends go to its own server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from gateway_support import (
    MAILER,
    READER,
    SEND,
    policy_text,
    refused_start,
    start_gateway,
    stop,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from postmark_client.access import Policy, PolicyError
from postmark_client.client import AccountClient


def _policy(folder: Path, servers: dict[str, str]) -> Path:
    text = (
        policy_text()
        .replace("[agents.mailer]\n", '[agents.mailer]\nserver_token = "billing"\n')
        .replace("[agents.reader]\n", '[agents.reader]\nemail = "full"\nserver_token = "support"\n')
    )
    policy = folder / "agents.toml"
    policy.write_text('server_tokens = "server-tokens.toml"\n' + text, encoding="utf-8")
    lines = "".join(f'{name} = "{token}"\n' for name, token in servers.items())
    (folder / "server-tokens.toml").write_text(lines, encoding="utf-8")
    return policy


async def test_each_agent_sends_with_its_servers_token(fake: Any, tmp_path: Path) -> None:
    with AccountClient(fake.account_token, base_url=fake.url) as account:
        billing = account.servers.create(name="billing").api_tokens[0]
    policy = _policy(tmp_path, {"billing": billing, "support": fake.server_token})
    # No POSTMARK_SERVER_TOKEN: every server token comes from the file.
    running = start_gateway(policy, fake.url, {})
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:
            for key, subject in ((MAILER, "to billing"), (READER, "to support")):
                answer = await client.post(
                    "/email",
                    json={**SEND, "Subject": subject},
                    headers={"X-Postmark-Server-Token": key},
                )
                assert answer.status_code == 200, answer.text
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {MAILER}"})
        async with mcp.Client(streamable_http_client(running.url + "/mcp", http_client=http)) as c:
            sent = await c.call_tool(
                "email_send",
                {
                    "from": "s@example.com",
                    "to": "a@example.com",
                    "subject": "over MCP",
                    "text_body": "x",
                },
            )
    finally:
        stop(running)
    assert not sent.is_error, sent.content
    assert [m["Subject"] for m in fake.fake.messages(billing)] == ["to billing", "over MCP"]
    assert "to support" in [m["Subject"] for m in fake.fake.messages(fake.server_token)]
    assert "to billing" not in [m["Subject"] for m in fake.fake.messages(fake.server_token)]


def test_a_server_missing_from_the_file_refuses_to_start(tmp_path: Path) -> None:
    policy = _policy(tmp_path, {"billing": "token-1"})
    done = refused_start(policy)
    assert "no server 'support' (agents.reader.server_token); the file names billing" in done.stderr
    assert "token-1" not in done.stderr


def test_a_server_token_needs_the_file() -> None:
    with pytest.raises(PolicyError) as refused:
        Policy.loads('[agents.bot]\nemail = "full"\nserver_token = "billing"\n', path="a.toml")
    assert str(refused.value) == (
        "a.toml:3: agents.bot.server_token: names a server, but the policy has no "
        "server_tokens file"
    )
