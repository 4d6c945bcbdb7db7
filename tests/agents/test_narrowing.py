"""Narrowing holds: a recipient field is read one way by the check, the client and the fake, an
unreadable one is denied to a narrowed agent, and a send lands on the stream the check saw.

Each reproduction goes through the library, the CLI (`--agent/--policy`) and the MCP server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp
import postmark_client
import pytest
from postmark_client import ServerClient, cli
from postmark_client._audit import AuditEntry, AuditLog
from postmark_client.access import AccessDeniedError, Policy
from postmark_client.errors import APIError
from postmark_client.mcp import build_server
from postmark_client.models import BulkEmailMessage
from postmark_client.testing import FakePostmark

NARROWED = """\
audit = "audit.sqlite"
record_addresses = "full"

[agents.mailer]
email = "full"
recipients = ["*@example.com"]
message_streams = ["outbound"]
"""

# The reproductions: (To, the part named in the denial, or None for a plain denial).
SMUGGLED: list[tuple[str, str]] = [
    ('"<jane@example.com>" <eve@evil.org>', "angle brackets inside a display name"),
    ("eve@evil.org;jane@example.com", "recipient on evil.org is not allowed"),
    ("Jane <jane@example.com> <eve@evil.org>", "two angle addresses in one entry"),
]
MESSAGE = {"from_": "sender@example.com", "subject": "Hi", "text_body": "Hello"}


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "agents.toml"
    path.write_text(NARROWED, encoding="utf-8")
    return Policy.load(path)


def client_of(fake: FakePostmark, policy: Policy, agent: str = "mailer") -> ServerClient:
    return ServerClient(fake.server_token, transport=fake.transport(), access=policy.access(agent))


def rows(policy: Policy) -> list[AuditEntry]:
    assert policy.audit_path is not None
    return AuditLog(policy.audit_path).entries()


def delivered_to(fake: FakePostmark) -> set[str]:
    return {address for message in fake.messages() for address in message["Recipients"]}


def assert_denied_and_recorded(policy: Policy, fake: FakePostmark, to: str, words: str) -> None:
    assert fake.messages() == [] and len(fake.calls) == 0
    [row] = rows(policy)
    assert (row.decision, row.outcome) == ("denied", "not sent")
    assert words in row.rule
    # The row names every address the field could reach, eve's included.
    assert row.addresses is not None and "eve@evil.org" in row.addresses.split(",")
    assert row.domains is not None and "evil.org" in row.domains.split(",")


# ---- the library ---------------------------------------------------------------------------


@pytest.mark.parametrize(("to", "words"), SMUGGLED)
def test_library_denies_a_smuggled_recipient(policy: Policy, to: str, words: str) -> None:
    fake = FakePostmark()
    with client_of(fake, policy) as client, pytest.raises(AccessDeniedError) as denied:
        client.email.send(to=to, **MESSAGE)
    assert words in str(denied.value)
    if "could not be read" in denied.value.rule:
        assert f"To: {to!r} could not be read" in str(denied.value)
    assert_denied_and_recorded(policy, fake, to, words)


def test_library_denies_a_smuggled_recipient_inside_a_batch(policy: Policy) -> None:
    fake = FakePostmark()
    ok = {"From": "sender@example.com", "To": "jane@example.com", "Subject": "Hi", "TextBody": "."}
    bad = {**ok, "Cc": SMUGGLED[2][0]}
    with client_of(fake, policy) as client, pytest.raises(AccessDeniedError) as denied:
        client.email.send_batch([ok, bad])
    assert f"messages[1].Cc: {SMUGGLED[2][0]!r} could not be read" in str(denied.value)
    assert fake.messages() == []


def test_a_readable_field_is_allowed_and_the_fake_gets_the_addresses_checked(
    policy: Policy,
) -> None:
    fake = FakePostmark()
    to = '"Doe, Jane" <Jane@Example.com>; bob@example.com (Bob), =?utf-8?q?Zo=C3=A9?= <z@example.com>'
    with client_of(fake, policy) as client:
        client.email.send(to=to, **MESSAGE)
    [row] = rows(policy)
    assert row.decision == "allowed" and row.stream == "outbound"
    assert row.addresses == "Jane@Example.com,bob@example.com,z@example.com"
    [message] = fake.messages()
    assert message["Recipients"] == ["Jane@Example.com", "bob@example.com", "z@example.com"]
    assert [p["Name"] for p in message["To"]] == ["Doe, Jane", None, "Zoé"]
    assert message["MessageStream"] == row.stream


def test_without_narrowing_an_unreadable_field_is_sent_and_refused_by_postmark(
    tmp_path: Path,
) -> None:
    path = tmp_path / "agents.toml"
    path.write_text('[agents.open]\nemail = "full"\n', encoding="utf-8")
    fake = FakePostmark()
    with client_of(fake, Policy.load(path), "open") as client, pytest.raises(APIError) as refused:
        client.email.send(to=SMUGGLED[2][0], **MESSAGE)
    assert refused.value.error_code == 300 and "two angle addresses" in refused.value.message
    assert fake.messages() == []


def bulk(client: ServerClient) -> Any:
    return client.email.send_bulk(
        from_="sender@example.com",
        subject="Hi",
        text_body="Hello",
        recipients=[BulkEmailMessage(to="jane@example.com")],
    )


def test_library_bulk_without_a_stream_lands_where_the_check_said(policy: Policy) -> None:
    fake = FakePostmark()
    with client_of(fake, policy) as client, pytest.raises(APIError) as refused:
        accepted = bulk(client)
        for _ in range(3):  # on main the fake accepted it and released it on broadcast
            client.email.get_bulk_status(accepted.id)
    assert refused.value.error_code == 1236
    assert "'outbound'" in refused.value.message
    assert fake.messages() == []
    [row] = rows(policy)
    assert (row.stream, row.decision, row.outcome) == ("outbound", "allowed", "error")


def test_bulk_without_a_stream_is_denied_to_a_broadcast_only_agent(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(
        '[agents.news]\nemail = "full"\nmessage_streams = ["broadcast"]\n', encoding="utf-8"
    )
    fake = FakePostmark()
    with (
        client_of(fake, Policy.load(path), "news") as client,
        pytest.raises(AccessDeniedError) as denied,
    ):
        bulk(client)
    assert "message stream 'outbound' is not one of broadcast" in str(denied.value)
    assert len(fake.calls) == 0


# ---- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePostmark]:
    fake = FakePostmark()
    server = fake.serve("127.0.0.1", 0)
    monkeypatch.setenv("POSTMARK_API_URL", server.url.rstrip("/"))
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", fake.server_token)
    try:
        yield fake
    finally:
        server.close()


def run_cli(policy: Policy, *args: str) -> int:
    return cli.main([*args, "--agent", "mailer", "--policy", str(policy.path)])


@pytest.mark.parametrize(("to", "words"), SMUGGLED)
def test_cli_denies_a_smuggled_recipient(
    policy: Policy,
    served: FakePostmark,
    capsys: pytest.CaptureFixture[str],
    to: str,
    words: str,
) -> None:
    code = run_cli(
        policy, "email", "send", "--from", "sender@example.com", "--to", to, "--subject", "Hi",
        "--text-body", "Hello",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and words in err and "Traceback" not in err
    assert_denied_and_recorded(policy, served, to, words)


def test_cli_bulk_without_a_stream_lands_where_the_check_said(
    policy: Policy, served: FakePostmark, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"From": "sender@example.com", "Subject": "Hi", "TextBody": "Hello"}
    body["Messages"] = [{"To": "jane@example.com"}]  # type: ignore[assignment]
    code = run_cli(policy, "email", "send-bulk", "--json", json.dumps(body))
    assert code != 0 and "'outbound'" in capsys.readouterr().err
    assert served.messages() == []
    [row] = rows(policy)
    assert (row.stream, row.decision) == ("outbound", "allowed")


# ---- the MCP server --------------------------------------------------------------------------


def server_for(policy: Policy, fake: FakePostmark) -> Any:
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(policy, agent="mailer", tokens=tokens, transport=fake.transport)


SEND = {"from": "sender@example.com", "subject": "Hi", "text_body": "Hello"}


@pytest.mark.parametrize(("to", "words"), SMUGGLED)
async def test_mcp_denies_a_smuggled_recipient(policy: Policy, to: str, words: str) -> None:
    fake = FakePostmark()
    async with mcp.Client(server_for(policy, fake)) as client:
        result = await client.call_tool("email_send", {**SEND, "to": to})
    assert result.is_error and words in result.content[0].text
    assert_denied_and_recorded(policy, fake, to, words)


async def test_mcp_bulk_without_a_stream_lands_where_the_check_said(policy: Policy) -> None:
    fake = FakePostmark()
    arguments = {**SEND, "recipients": [{"to": "jane@example.com"}]}
    async with mcp.Client(server_for(policy, fake)) as client:
        result = await client.call_tool("email_send_bulk", arguments)
    assert result.is_error and "1236" in result.content[0].text
    assert fake.messages() == []
    [row] = rows(policy)
    assert (row.stream, row.decision) == ("outbound", "allowed")


async def test_mcp_over_stdio_denies_two_angle_addresses(policy: Policy) -> None:
    package_root = Path(postmark_client.__file__).resolve().parents[1]  # the package tested here
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=[
            "-m", "postmark_client.mcp._server", "--policy", str(policy.path), "--agent",
            "mailer", "--fake",
        ],
        env={"PYTHONPATH": str(package_root), "PATH": ""},
    )  # fmt: skip
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        result = await client.call_tool("email_send", {**SEND, "to": SMUGGLED[2][0]})
    assert result.is_error and "two angle addresses in one entry" in result.content[0].text
    [row] = rows(policy)
    assert row.decision == "denied" and "eve@evil.org" in (row.addresses or "")
