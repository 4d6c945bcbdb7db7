"""The generated MCP server, in process against the fake, over stdio, and over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mcp
import pytest
from postmark_client._audit import AuditLog
from postmark_client._operations import OPERATIONS
from postmark_client.access import Policy, hash_key
from postmark_client.mcp import build_server, tool_name
from postmark_client.mcp._tools import INPUT_SCHEMAS
from postmark_client.testing import FakePostmark

SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "Hello"}
GENERATED = Path(__file__).resolve().parents[2] / "generated"


def server_for(policy: Policy, agent: str, fake: FakePostmark) -> mcp.server.Server:  # type: ignore[type-arg]
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(policy, agent=agent, tokens=tokens, transport=fake.transport)


def test_every_operation_is_a_tool() -> None:
    names = [tool_name(op) for op in OPERATIONS.values()]
    assert len(set(names)) == len(OPERATIONS) and all(len(n) <= 60 for n in names)
    assert set(INPUT_SCHEMAS) == set(OPERATIONS)
    send = INPUT_SCHEMAS["send_email"]
    assert {"from", "to"} <= set(send["required"]) and "message_stream" in send["properties"]
    assert send["properties"]["track_links"]["enum"] == [
        "None",
        "HtmlAndText",
        "HtmlOnly",
        "TextOnly",
    ]
    assert INPUT_SCHEMAS["send_email_batch"]["required"] == ["messages"]


@pytest.mark.parametrize("agent", ["support-bot", "onboarding-mailer"])
async def test_listed_tools_equal_the_grants(policy_file: Path, agent: str) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, agent, fake)) as client:
        listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == [tool_name(op) for op in policy.operations_for(agent)]
    for tool in listed:
        op = next(o for o in OPERATIONS.values() if tool_name(o) == tool.name)
        hints = tool.annotations
        assert hints is not None and hints.title is None  # the description's first line
        # A hint left out means MCP's default: not read-only, destructive, not idempotent.
        assert bool(hints.read_only_hint) == (op.access == "read")
        if op.access == "write":
            assert bool(hints.idempotent_hint) == op.retry_safe
            assert hints.destructive_hint in (None, False)
        assert (tool.description or "").startswith(op.summary)


async def test_allowed_call_reaches_the_fake(policy_file: Path) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, "onboarding-mailer", fake)) as client:
        result = await client.call_tool("email_send", SEND)
        batch = await client.call_tool("email_send_batch", {"messages": [SEND, SEND]})
    assert not result.is_error and result.structured_content["To"] == "b@example.com"
    assert result.structured_content["MessageID"]
    assert not batch.is_error and len(batch.structured_content["results"]) == 2
    assert len(fake.calls) == 2
    rows = AuditLog(policy.audit_path).entries()
    assert [(r.operation, r.decision, r.outcome) for r in rows] == [
        ("send_email", "allowed", "ok"),
        ("send_email_batch", "allowed", "ok"),
    ]


async def test_denied_and_unlisted_calls_send_nothing(policy_file: Path) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, "support-bot", fake)) as client:
        result = await client.call_tool("email_send", SEND)  # not listed for this agent
        narrowed = None
    async with mcp.Client(server_for(policy, "onboarding-mailer", fake)) as client:
        narrowed = await client.call_tool("email_send", {**SEND, "bcc": "x@evil.test"})
    assert result.is_error and "access denied" in result.content[0].text
    assert narrowed.is_error and "evil.test" in narrowed.content[0].text
    assert len(fake.calls) == 0
    rows = AuditLog(policy.audit_path).entries(denied=True)
    assert [(r.agent, r.operation) for r in rows] == [
        ("support-bot", "send_email"),
        ("onboarding-mailer", "send_email"),
    ]


async def test_schema_violations_and_postmark_errors_are_tool_errors(policy_file: Path) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, "onboarding-mailer", fake)) as client:
        wrong_type = await client.call_tool("email_send", {**SEND, "to": 5})
        missing = await client.call_tool("email_send", {"from": "a@example.com"})
        unknown = await client.call_tool("email_send", {**SEND, "colour": "red"})
    assert wrong_type.is_error and "to" in wrong_type.content[0].text
    assert missing.is_error and "'to' is a required property" in missing.content[0].text
    assert unknown.is_error and "colour" in unknown.content[0].text
    async with mcp.Client(server_for(policy, "support-bot", fake)) as client:
        missing_bounce = await client.call_tool("bounces_get", {"bounce_id": 987654321})
    assert missing_bounce.is_error and "ErrorCode" in missing_bounce.content[0].text
    assert len(fake.calls) == 1


async def test_default_sender_and_attachment_paths(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "note.txt").write_text("hello", encoding="utf-8")
    path = tmp_path / "p.toml"
    path.write_text('attachments_dir = "files"\n[agents.m]\nemail = "full"\n', encoding="utf-8")
    policy, fake = Policy.load(path), FakePostmark()
    tokens = {"server": fake.server_token, "account": None}
    server = build_server(
        policy, agent="m", tokens=tokens, transport=fake.transport, default_sender="me@example.com"
    )
    async with mcp.Client(server) as client:
        send = next(t for t in (await client.list_tools()).tools if t.name == "email_send")
        assert "from" not in send.input_schema["required"]
        ok = await client.call_tool(
            "email_send",
            {"to": "b@example.com", "text_body": "x", "attachments": [{"path": "note.txt"}]},
        )
        outside = await client.call_tool(
            "email_send",
            {"to": "b@example.com", "text_body": "x", "attachments": [{"path": "../p.toml"}]},
        )
    assert not ok.is_error, ok.content[0].text
    assert outside.is_error and "inside" in outside.content[0].text
    assert len(fake.calls) == 1


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GENERATED), env.get("PYTHONPATH")]))
    return env


async def test_one_stdio_session(policy_file: Path) -> None:
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "postmark_client.mcp._server",
            "--policy",
            str(policy_file),
            "--agent",
            "support-bot",
            "--fake",
        ],
        env=_env(),
    )
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        result = await client.call_tool("messages_search_outbound", {"count": 3})
        denied = await client.call_tool("email_send", SEND)
    assert "messages_search_outbound" in tools and "email_send" not in tools
    assert not result.is_error and result.structured_content["TotalCount"] >= 1
    assert denied.is_error
    rows = AuditLog(Policy.load(policy_file).audit_path).entries()
    assert [r.decision for r in rows] == ["allowed", "denied"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_needs_the_agents_bearer_key(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(
        f'[agents.bot]\nmessages = "read"\nkey_sha256 = "{hash_key("right-key")}"\n',
        encoding="utf-8",
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "postmark_client.mcp._server",
            "--http",
            "--port",
            str(port),
            "--policy",
            str(path),
            "--fake",
        ],
        env=_env(),
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers = {"Accept": "application/json, text/event-stream"}
        answers = []
        deadline = time.monotonic() + 60
        while not answers and time.monotonic() < deadline:  # bounded: until the server listens
            try:
                answers.append(httpx.post(url, json=body, headers=headers, timeout=5).status_code)
            except httpx.ConnectError:
                try:
                    process.wait(timeout=0.1)  # a bounded wait on the process, not a sleep
                except subprocess.TimeoutExpired:
                    continue
                pytest.fail(process.stderr.read().decode() if process.stderr else "exited")
        wrong = httpx.post(
            url, json=body, headers={**headers, "Authorization": "Bearer wrong"}, timeout=5
        )
        right = httpx.post(
            url, json=body, headers={**headers, "Authorization": "Bearer right-key"}, timeout=5
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answers == [401] and wrong.status_code == 401
    assert right.status_code != 401
