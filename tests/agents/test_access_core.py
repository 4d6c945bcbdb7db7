"""The one check in the client core: denials send nothing, every decision leaves an audit row."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from postmark_client import AsyncServerClient, ServerClient
from postmark_client._audit import AuditLog, sentence
from postmark_client.access import AccessDeniedError, Policy
from postmark_client.errors import APIError, PostmarkError
from postmark_client.models import SendEmailRequest
from postmark_client.testing import FakePostmark

MESSAGE = {
    "from_": "sender@example.com",
    "to": "jane@example.com",
    "subject": "Hi",
    "text_body": "Hello",
}


def client(fake: FakePostmark, policy: Policy, agent: str) -> ServerClient:
    return ServerClient(fake.server_token, transport=fake.transport(), access=policy.access(agent))


def test_denied_call_sends_nothing_and_is_recorded(policy_file: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(policy_file)
    with client(fake, policy, "support-bot") as bot, pytest.raises(AccessDeniedError) as caught:
        bot.email.send(**MESSAGE)
    error = caught.value
    assert isinstance(error, PostmarkError)
    assert (error.agent, error.operation, error.needs) == (
        "support-bot",
        "send_email",
        "write on email",
    )
    assert len(fake.calls) == 0
    [row] = AuditLog(policy.audit_path).entries()
    assert (row.agent, row.operation, row.decision, row.rule, row.outcome) == (
        "support-bot",
        "send_email",
        "denied",
        "off on email",
        "not sent",
    )
    assert "fake-server-token" not in json.dumps(row.to_json())
    assert row.policy_hash == policy.sha256[:16]


def test_allowed_calls_record_their_outcome(policy_file: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(policy_file)
    with (
        client(fake, policy, "onboarding-mailer") as mailer,
        client(fake, policy, "support-bot") as bot,
    ):
        sent = mailer.email.send(**MESSAGE)
        page = bot.messages.search_outbound(count=10)
        result = mailer.email.send_batch(
            [SendEmailRequest(from_="a@example.com", to="b@example.com", text_body="x")] * 3
        )
    assert sent.message_id and page.total_count == 1 and len(result.succeeded) == 3
    rows = AuditLog(policy.audit_path).entries()
    assert [(r.operation, r.outcome, r.detail) for r in rows] == [
        ("send_email", "ok", "accepted"),
        ("search_outbound_messages", "ok", "1 found"),
        ("send_email_batch", "ok", "3 accepted, 0 failed"),
    ]
    assert rows[0].domains == "example.com" and rows[0].addresses is None
    assert rows[0].stream == "outbound" and rows[0].recipients == 1 and rows[2].messages == 3
    assert sentence(rows[1]).startswith(
        "support-bot searched outbound messages (messages.search_outbound) on server token "
        "\u2026oken: allowed (read on messages); 1 found"
    )


def test_narrowing_denies_before_sending(policy_file: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(policy_file)
    with (
        client(fake, policy, "onboarding-mailer") as mailer,
        pytest.raises(AccessDeniedError) as caught,
    ):
        mailer.email.send(**{**MESSAGE, "cc": "spy@elsewhere.test"})
    assert "elsewhere.test" in caught.value.rule and len(fake.calls) == 0
    [row] = AuditLog(policy.audit_path).entries(denied=True)
    assert row.domains == "elsewhere.test,example.com"


def test_postmark_errors_are_recorded(policy_file: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(policy_file)
    with client(fake, policy, "support-bot") as bot, pytest.raises(APIError) as caught:
        bot.bounces.get(987654321)
    [row] = AuditLog(policy.audit_path).entries()
    assert (row.decision, row.outcome, row.error_code) == (
        "allowed",
        "error",
        caught.value.error_code,
    )
    assert row.detail == caught.value.message and row.request_id == caught.value.request_id


async def test_async_client_shares_the_check(policy_file: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(policy_file)
    async with AsyncServerClient(
        fake.server_token, transport=fake.transport(), access=policy.access("support-bot")
    ) as bot:
        with pytest.raises(AccessDeniedError):
            await bot.email.send(**MESSAGE)
        await bot.bounces.list(count=5)
    rows = AuditLog(policy.audit_path).entries()
    assert [(r.operation, r.decision) for r in rows] == [
        ("send_email", "denied"),
        ("list_bounces", "allowed"),
    ]


def test_quota_holds(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text('[agents.m]\nemail = "full"\nsends_per_hour = 2\n', encoding="utf-8")
    fake, policy = FakePostmark(), Policy.load(path)
    with client(fake, policy, "m") as mailer:
        mailer.email.send(**MESSAGE)
        mailer.email.send(**MESSAGE)
        with pytest.raises(AccessDeniedError) as caught:
            mailer.email.send(**MESSAGE)
    assert "quota" in caught.value.rule and len(fake.calls) == 2


def test_a_killed_call_stays_unknown(policy_file: Path) -> None:
    policy = Policy.load(policy_file)
    access = policy.access("support-bot")
    from postmark_client._operations import OPERATIONS

    access.begin(OPERATIONS["list_bounces"], None, None, {"count": 1}, "server token \u2026abcd")
    [row] = AuditLog(policy.audit_path).entries()
    assert row.outcome == "unknown" and "outcome unknown" in sentence(row)


WRITER = textwrap.dedent("""
    import sys
    from postmark_client._operations import OPERATIONS
    from postmark_client.access import Policy

    policy = Policy.load(sys.argv[1])
    access = policy.access(sys.argv[2])
    op = OPERATIONS["list_bounces"]
    for _ in range(int(sys.argv[3])):
        access.begin(op, None, None, None, "server token x").done(None, None)
    """)


def test_four_processes_lose_nothing(policy_file: Path) -> None:
    per_process = 150
    names = ["support-bot"] * 4
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(policy_file), name, str(per_process)])
        for name in names
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    rows = AuditLog(Policy.load(policy_file).audit_path).entries()
    assert len(rows) == 4 * per_process
    assert len({r.pid for r in rows}) == 4
    assert all(r.outcome == "ok" for r in rows)


QUOTA_WRITER = textwrap.dedent("""
    import sys
    from postmark_client._operations import OPERATIONS
    from postmark_client.access import AccessDeniedError, Policy

    access = Policy.load(sys.argv[1]).access("q")
    op = OPERATIONS["send_email"]
    for _ in range(int(sys.argv[2])):
        try:
            call = access.begin(op, {"From": "a@example.com", "To": "b@example.com"}, None, None, "t")
        except AccessDeniedError:
            continue
        call.done(None, None)
    """)


def test_quota_holds_across_processes_on_a_log_without_its_index(tmp_path: Path) -> None:
    # The quota index is made by the first quota check, not with the log: a log that agents
    # without a quota started has none, and the count must still hold across processes.
    path = tmp_path / "q.toml"
    path.write_text(
        '[agents.q]\nemail = "full"\nsends_per_hour = 10\n\n[agents.free]\nemail = "full"\n',
        encoding="utf-8",
    )
    policy = Policy.load(path)
    from postmark_client._operations import OPERATIONS

    free = policy.access("free")
    message = {"From": "a@example.com", "To": "b@example.com"}
    free.begin(OPERATIONS["send_email"], message, None, None, "t").done(None, None)
    assert policy.log is not None
    indexes = policy.log._connect().execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    assert indexes.fetchall() == []
    processes = [
        subprocess.Popen([sys.executable, "-c", QUOTA_WRITER, str(path), "6"]) for _ in range(4)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    rows = [r for r in policy.log.entries() if r.agent == "q"]
    assert len(rows) == 24
    assert sum(r.decision == "allowed" for r in rows) == 10
    assert all(r.outcome == "ok" for r in rows if r.decision == "allowed")
    assert all("quota" in r.rule for r in rows if r.decision == "denied")
    indexes = policy.log._connect().execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    assert indexes.fetchall() == [("calls_agent_ts",)]


def test_no_access_imports_nothing_more() -> None:
    code = textwrap.dedent("""
        import sys
        from postmark_client import ServerClient
        from postmark_client.testing import FakePostmark
        fake = FakePostmark()
        with ServerClient(fake.server_token, transport=fake.transport()) as c:
            c.email.send(from_="a@example.com", to="b@example.com", text_body="x")
        loaded = [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")
                  or m in ("postmark_client.access", "postmark_client._audit", "sqlite3")]
        print(loaded)
        """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_sentence_says_what_the_call_did_or_quotes_its_summary() -> None:
    from postmark_client._audit import _did

    assert (
        _did("bounces", "activate", "Activate a bounce.") == "activated a bounce (bounces.activate)"
    )
    assert _did("email", "send", "Send one message.") == "sent one message (email.send)"
    denied = _did("email", "send", "Send one message.", allowed=False)
    assert denied == "tried to send one message (email.send)"
    # A summary that does not start with a verb it knows is quoted, not bent into a sentence.
    assert (
        _did("stats", "get_open_counts", "Open counts by day.")
        == "called stats.get_open_counts (Open counts by day)"
    )
