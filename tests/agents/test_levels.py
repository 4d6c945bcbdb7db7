"""The `write` level, and operations that act on a second group, through library, CLI and MCP."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mcp
import pytest
from postmark_client import AccountClient, ServerClient, cli
from postmark_client._audit import AuditLog
from postmark_client._operations import OPERATIONS
from postmark_client.access import AccessDeniedError, Policy, describe, matrix_json
from postmark_client.mcp import build_server, tool_name
from postmark_client.testing import FakePostmark

# Levels main already had: the second-group reproductions fail there for that reason alone.
ADMINS = """\
audit = "audit.sqlite"

[agents.admin]
server = "full"
servers = "full"
templates = "full"

[agents.hooks-admin]
server = "full"
webhooks = "full"
"""
SENDER = """\
audit = "audit.sqlite"

[agents.sender]
email = "write"
messages = "write"
"""
MESSAGE = {"from_": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "x"}
EVIL_HOOK = "https://evil.example/hook"
GENERATED = Path(__file__).resolve().parents[2] / "generated"


def load(folder: Path, text: str) -> Policy:
    path = folder / "agents.toml"
    path.write_text(text, encoding="utf-8")
    return Policy.load(path)


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return load(tmp_path, ADMINS)


@pytest.fixture
def sender(tmp_path: Path) -> Policy:
    return load(tmp_path, SENDER)


def server_client(fake: FakePostmark, policy: Policy, agent: str) -> ServerClient:
    return ServerClient(fake.server_token, transport=fake.transport(), access=policy.access(agent))


def account_client(fake: FakePostmark, policy: Policy, agent: str) -> AccountClient:
    return AccountClient(
        fake.account_token, transport=fake.transport(), access=policy.access(agent)
    )


# ---- the library ----------------------------------------------------------------------------


def test_write_sends_without_reading(sender: Policy) -> None:
    policy, fake = sender, FakePostmark()
    with server_client(fake, policy, "sender") as mailer:
        sent = mailer.email.send(**MESSAGE)
        with pytest.raises(AccessDeniedError) as search:
            mailer.messages.search_outbound(count=10)
        with pytest.raises(AccessDeniedError) as status:
            mailer.email.get_bulk_status("any-id")
    assert sent.message_id and len(fake.calls) == 1
    assert (search.value.rule, search.value.needs) == ("write on messages", "read on messages")
    assert (status.value.rule, status.value.needs) == ("write on email", "read on email")
    # Every write of both groups, except the template sends: those also read templates.
    assert [op.id for op in policy.operations_for("sender")] == [
        "send_email",
        "send_email_batch",
        "send_bulk_email",
        "retry_inbound_message",
        "bypass_inbound_message",
    ]


def test_a_hook_url_needs_write_on_webhooks(policy: Policy) -> None:
    fake = FakePostmark()
    with server_client(fake, policy, "admin") as admin:
        assert admin.server.edit(name="Renamed").name == "Renamed"
        with pytest.raises(AccessDeniedError) as caught:
            admin.server.edit(bounce_hook_url=EVIL_HOOK)
    assert caught.value.rule == "off on webhooks, which setting BounceHookUrl also acts on"
    assert caught.value.needs == "write on server and write on webhooks"
    assert len(fake.calls) == 1 and fake.server()["BounceHookUrl"] != EVIL_HOOK
    with server_client(fake, policy, "hooks-admin") as hooks_admin:
        hooks_admin.server.edit(bounce_hook_url=EVIL_HOOK)
    assert fake.server()["BounceHookUrl"] == EVIL_HOOK
    rows = AuditLog(policy.audit_path).entries()
    assert [(r.agent, r.decision, r.rule) for r in rows] == [
        ("admin", "allowed", "full on server"),
        ("admin", "denied", "off on webhooks, which setting BounceHookUrl also acts on"),
        ("hooks-admin", "allowed", "full on server, full on webhooks"),
    ]
    # A null is not a setting: postmarker-style bodies with explicit nulls stay allowed.
    edit = OPERATIONS["edit_current_server"]
    assert policy.decide("admin", edit, {"Name": "x", "BounceHookUrl": None})[0].allowed
    assert not policy.decide("admin", edit, {"InboundHookUrl": ""})[0].allowed


def test_templates_push_needs_write_on_servers(policy: Policy, tmp_path: Path) -> None:
    fake = FakePostmark()
    with account_client(fake, policy, "admin") as admin:
        other = admin.servers.create(name="Other")
        calls = len(fake.calls)
        policy_without = Policy.loads('[agents.t]\ntemplates = "full"\n', path=tmp_path / "t.toml")
        with (
            account_client(fake, policy_without, "t") as templates_only,
            pytest.raises(AccessDeniedError) as caught,
        ):
            templates_only.templates.push(
                source_server_id=1, destination_server_id=other.id, perform_changes=True
            )
        assert len(fake.calls) == calls
        pushed = admin.templates.push(
            source_server_id=1, destination_server_id=other.id, perform_changes=True
        )
    assert caught.value.rule == "off on servers, which push_templates also acts on"
    assert caught.value.needs == "write on templates and write on servers"
    assert pushed.total_count == 0
    assert "push_templates" not in [op.id for op in policy_without.operations_for("t")]


def test_sends_with_a_template_read_templates() -> None:
    policy = Policy.loads('[agents.m]\nemail = "full"\n')
    with_template = OPERATIONS["send_email_with_template"]
    bulk = OPERATIONS["send_bulk_email"]
    denied, _ = policy.decide("m", with_template, {"From": "a@x.org", "To": "b@x.org"})
    assert not denied.allowed and denied.needs == "write on email and read on templates"
    assert policy.decide("m", bulk, {"From": "a@x.org", "TextBody": "x"})[0].allowed
    by_alias = policy.decide("m", bulk, {"From": "a@x.org", "TemplateAlias": "welcome"})[0]
    assert by_alias.rule == "off on templates, which setting TemplateAlias also acts on"
    assert [(r.group, r.access, r.fields) for r in bulk.reaches] == [
        ("templates", "read", ("TemplateId", "TemplateAlias"))
    ]


def test_bounces_and_suppressions_reach_each_other() -> None:
    policy = Policy.loads(
        '[agents.b]\nbounces = "full"\nsuppressions = "read"\n'
        '[agents.both]\nbounces = "full"\nsuppressions = "full"\n'
    )
    assert not policy.decide("b", OPERATIONS["activate_bounce"])[0].allowed
    assert policy.decide("both", OPERATIONS["activate_bounce"])[0].allowed
    assert not policy.decide("b", OPERATIONS["delete_suppressions"])[0].allowed
    assert policy.decide("both", OPERATIONS["delete_suppressions"])[0].allowed


def test_access_show_names_write(sender: Policy) -> None:
    header, row = describe(sender).splitlines()[:2]
    assert header.split()[:5] == ["agent", "email", "templates", "bounces", "messages"]
    assert row.split()[:5] == ["sender", "write", "off", "off", "write"]
    assert (
        "  email.send_with_template  (write) also needs read on templates (off on templates)"
        in (describe(sender))
    )
    data = matrix_json(sender)
    assert data["sender"]["grants"]["email"] == "write"
    assert data["sender"]["second_groups"]["send_email_with_template"][0]["granted"] is False
    assert "send_email_with_template" not in data["sender"]["operations"]


def test_access_show_names_second_groups(policy: Policy) -> None:
    text = describe(policy)
    assert (
        "      also write on webhooks when it sets InboundHookUrl, BounceHookUrl, OpenHookUrl, "
        "DeliveryHookUrl, ClickHookUrl, PostFirstOpenOnly, IncludeBounceContentInHook, "
        "EnableSmtpApiErrorHooks: denied (off on webhooks)"
    ) in text
    assert "      also write on servers: granted (full on servers)" in text
    assert "  withheld (a second group's grant is missing):" not in text
    data = matrix_json(policy)
    assert data["admin"]["second_groups"]["edit_current_server"] == [
        {
            "group": "webhooks",
            "access": "write",
            "fields": list(OPERATIONS["edit_current_server"].reaches[0].fields),
            "granted": False,
        }
    ]
    assert data["hooks-admin"]["second_groups"]["edit_current_server"][0]["granted"] is True


# ---- the CLI --------------------------------------------------------------------------------


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("POSTMARK_API_URL", url)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "fake-server-token")
    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", "fake-account-token")
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sends_with_write(
    sender: Policy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakePostmark()
    agent = ["--agent", "sender", "--policy", str(sender.path)]
    with fake.serve() as served:
        sent = run_cli(
            ["email", "send", "--from", "a@example.com", "--to", "b@example.com",
             "--subject", "Hi", "--text-body", "x", *agent],
            capsys, monkeypatch, served.url,
        )  # fmt: skip
        search = run_cli(["messages", "search-outbound", *agent], capsys, monkeypatch, served.url)
    assert sent[0] == 0, sent[2]
    assert search[0] != 0 and "write on messages (it would need read on messages)" in search[2]
    assert len(fake.calls) == 1
    code = cli.main(["access", "show", str(sender.path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["sender"]["grants"]["messages"] == "write"


def test_cli_hook_url_needs_webhooks(
    policy: Policy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakePostmark()
    agent = ["--policy", str(policy.path)]
    with fake.serve() as served:
        hook = run_cli(
            ["server", "edit", "--bounce-hook-url", EVIL_HOOK, "--agent", "admin", *agent],
            capsys, monkeypatch, served.url,
        )  # fmt: skip
        renamed = run_cli(
            ["server", "edit", "--name", "Renamed", "--agent", "admin", *agent],
            capsys, monkeypatch, served.url,
        )  # fmt: skip
    assert hook[0] != 0 and "off on webhooks, which setting BounceHookUrl also acts on" in hook[2]
    assert "Traceback" not in hook[2] and renamed[0] == 0, renamed[2]
    assert fake.server()["BounceHookUrl"] != EVIL_HOOK and fake.server()["Name"] == "Renamed"
    code = cli.main(["access", "show", str(policy.path), "--agent", "admin"])
    text = capsys.readouterr().out
    assert code == 0 and "      also write on servers: granted (full on servers)" in text


# ---- MCP ------------------------------------------------------------------------------------


def mcp_server(policy: Policy, agent: str, fake: FakePostmark) -> mcp.server.Server:  # type: ignore[type-arg]
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(policy, agent=agent, tokens=tokens, transport=fake.transport)


async def test_mcp_lists_the_writes_of_write(sender: Policy) -> None:
    policy, fake = sender, FakePostmark()
    async with mcp.Client(mcp_server(policy, "sender", fake)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        sent = await client.call_tool(
            "email_send",
            {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "x"},
        )
        search = await client.call_tool("messages_search_outbound", {"count": 3})
    assert list(tools) == [tool_name(op) for op in policy.operations_for("sender")]
    assert "messages_search_outbound" not in tools and "email_send_with_template" not in tools
    assert not sent.is_error and search.is_error and "write on messages" in search.content[0].text


async def test_mcp_says_and_checks_the_second_group(policy: Policy) -> None:
    fake = FakePostmark()
    async with mcp.Client(mcp_server(policy, "admin", fake)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        hook = await client.call_tool("server_edit", {"bounce_hook_url": EVIL_HOOK})
        renamed = await client.call_tool("server_edit", {"name": "Renamed"})
    edit = tools["server_edit"].description or ""
    assert "bounce_hook_url" in edit and "also acts on webhooks: it needs write on webhooks" in edit
    assert "This agent has off on webhooks: such a call is refused." in edit
    assert "Every call also acts on servers" in (tools["templates_push"].description or "")
    assert hook.is_error and "off on webhooks" in hook.content[0].text and not renamed.is_error
    assert fake.server()["BounceHookUrl"] != EVIL_HOOK
    async with mcp.Client(mcp_server(policy, "hooks-admin", fake)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        allowed = await client.call_tool("server_edit", {"bounce_hook_url": EVIL_HOOK})
    assert "such a call is refused" not in (tools["server_edit"].description or "")
    assert not allowed.is_error and fake.server()["BounceHookUrl"] == EVIL_HOOK


async def test_mcp_stdio_checks_the_second_group(policy: Policy) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GENERATED), env.get("PYTHONPATH")]))
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "postmark_client.mcp._server", "--fake", "--policy", str(policy.path),
              "--agent", "admin"],
        env=env,
    )  # fmt: skip
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        hook = await client.call_tool("server_edit", {"bounce_hook_url": EVIL_HOOK})
    assert "server_edit" in tools and "templates_push" in tools
    assert hook.is_error and "off on webhooks, which setting BounceHookUrl" in hook.content[0].text
    [row] = AuditLog(policy.audit_path).entries()
    assert (row.agent, row.operation, row.decision) == ("admin", "edit_current_server", "denied")
