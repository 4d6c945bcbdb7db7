"""Over MCP (postmark-gateway's /mcp and postmark-mcp --http): a held call answers with a
URL-mode elicitation of its approval page where the client declared elicitation support, else
with the tool error "waiting for approval at URL"; after approval the identical call passes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp
import mcp_types as types
import pytest
from gateway_support import MAILER, Running, _listening_line, policy_text, start_gateway, stop
from mcp import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from postmark_client._approvals import Approvals
from postmark_client._store import open_store

SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "x"}
POSTMARK_MCP = Path(sys.executable).parent / "postmark-mcp"


def _policy(folder: Path) -> Path:
    policy = folder / "agents.toml"
    text = policy_text().replace('email = "full"', 'email = "full"\napprove = ["email.send"]')
    policy.write_text(text, encoding="utf-8")
    return policy


@pytest.fixture(params=["gateway", "postmark-mcp"])
def served(request: pytest.FixtureRequest, fake: Any, tmp_path: Path) -> Iterator[str]:
    """The MCP endpoint's URL."""
    policy = _policy(tmp_path)
    if request.param == "gateway":
        tokens = {"server": fake.server_token, "account": fake.account_token}
        running = start_gateway(policy, fake.url, tokens)
        try:
            yield running.url + "/mcp"
        finally:
            stop(running)
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTMARK_")}
    env.update(POSTMARK_API_URL=fake.url, POSTMARK_SERVER_TOKEN=fake.server_token)
    process = subprocess.Popen(
        [str(POSTMARK_MCP), "--policy", str(policy), "--http", "--port", "0"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        yield _listening_line(process)[0]
    finally:
        stop(Running("", process, tmp_path / "audit.sqlite"))


def _client(url: str, **options: Any) -> mcp.Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {MAILER}"})
    return mcp.Client(streamable_http_client(url, http_client=http), **options)


def _text(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


def _approve(tmp_path: Path) -> None:
    store = open_store(tmp_path / "audit.sqlite")
    try:
        approvals = Approvals(store)
        (held,) = approvals.pending()
        approvals.approve(held.id, "ada")
    finally:
        store.close()


async def test_without_elicitation_a_tool_error_names_the_url(served: str, tmp_path: Path) -> None:
    async with _client(served) as client:
        described = {tool.name: tool.description for tool in (await client.list_tools()).tools}
        assert "wait for a person's approval" in (described["email_send"] or "")
        assert "wait for a person's approval" not in (described["email_send_batch"] or "")
        waiting = await client.call_tool("email_send", SEND)
        assert waiting.is_error
        assert "waiting for approval at " in _text(waiting)
        assert "/console/approvals/" in _text(waiting)
        _approve(tmp_path)
        sent = await client.call_tool("email_send", SEND)
        assert not sent.is_error, _text(sent)
        again = await client.call_tool("email_send", SEND)
    assert again.is_error and "waiting for approval at " in _text(again)


async def test_with_elicitation_the_url_is_elicited(served: str, tmp_path: Path) -> None:
    asked: list[types.ElicitRequestParams] = []

    async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept")

    async with _client(served, elicitation_callback=elicit) as client:
        waiting = await client.call_tool("email_send", SEND)
        assert len(asked) == 1
        (shown,) = asked
        assert isinstance(shown, types.ElicitRequestURLParams)
        assert "/console/approvals/" in shown.url and shown.url in shown.message
        assert waiting.is_error and f"waiting for approval at {shown.url}" in _text(waiting)
        _approve(tmp_path)
        sent = await client.call_tool("email_send", SEND)
    assert not sent.is_error, _text(sent)
    assert len(asked) == 1


async def test_before_2026_over_stateless_http_the_tool_error_names_the_url(
    served: str, tmp_path: Path
) -> None:
    """A 2025 revision client declares its capabilities only in `initialize`, which a stateless
    server does not keep for the next request: it gets the tool error."""

    async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        raise AssertionError("not asked over stateless HTTP")

    async with _client(served, elicitation_callback=elicit, mode="legacy") as client:
        waiting = await client.call_tool("email_send", SEND)
    assert waiting.is_error and "waiting for approval at " in _text(waiting)


async def test_before_2026_over_stdio_the_url_elicitation_is_the_error_32042(
    fake: Any, tmp_path: Path
) -> None:
    async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept")

    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTMARK_")}
    env.update(POSTMARK_API_URL=fake.url, POSTMARK_SERVER_TOKEN=fake.server_token)
    command = StdioServerParameters(
        command=str(POSTMARK_MCP),
        args=["--policy", str(_policy(tmp_path)), "--agent", "mailer"],
        env=env,
    )
    async with mcp.Client(command, elicitation_callback=elicit, mode="legacy") as client:
        with pytest.raises(mcp.MCPError) as raised:
            await client.call_tool("email_send", SEND)
        assert raised.value.code == types.URL_ELICITATION_REQUIRED
        (shown,) = mcp.UrlElicitationRequiredError.from_error(raised.value.error).elicitations
        assert shown.elicitation_id and shown.url.endswith(
            f"/console/approvals/{shown.elicitation_id}"
        )
        _approve(tmp_path)
        sent = await client.call_tool("email_send", SEND)
    assert not sent.is_error, _text(sent)
