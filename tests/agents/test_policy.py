"""The policy file: its shape, deny by default, and every broken file refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from postmark_client._operations import OPERATIONS
from postmark_client._spec import GROUPS
from postmark_client.access import Policy, PolicyError

SEND = OPERATIONS["send_email"]
SEARCH = OPERATIONS["search_outbound_messages"]
ACTIVATE = OPERATIONS["activate_bounce"]


def test_the_issue_example_loads(policy_file: Path) -> None:
    policy = Policy.load(policy_file)
    assert set(policy.agents) == {"support-bot", "onboarding-mailer"}
    assert policy.audit_path == policy_file.parent / "audit.sqlite"
    mailer = policy.agents["onboarding-mailer"]
    assert mailer.recipients == ("*@example.com",) and mailer.sends_per_hour == 100


def test_deny_by_default(policy_file: Path) -> None:
    policy = Policy.load(policy_file)
    assert policy.decide("support-bot", SEARCH)[0].allowed
    assert policy.decide("support-bot", OPERATIONS["list_bounces"])[0].allowed  # bounces = full
    denied, _ = policy.decide("support-bot", SEND)
    assert not denied.allowed and denied.needs == "write on email"
    assert not policy.decide("nobody", SEARCH)[0].allowed
    read_only = Policy.loads('[agents.a]\nbounces = "read"\nsuppressions = "full"\n')
    assert not read_only.decide("a", ACTIVATE)[0].allowed  # a write needs write or full


def test_operations_follow_the_table(policy_file: Path) -> None:
    policy = Policy.load(policy_file)
    expected = [
        op.id
        for op in OPERATIONS.values()
        if (op.group == "messages" and op.access == "read")
        or (op.group == "bounces" and not op.reaches)  # activating also writes suppressions
        or (op.group == "suppressions" and op.access == "read")
    ]
    assert [op.id for op in policy.operations_for("support-bot")] == expected


def test_recipients_are_checked_on_every_field(policy_file: Path) -> None:
    policy = Policy.load(policy_file)
    ok = {"From": "a@example.com", "To": "b@example.com", "Cc": '"Doe, J" <c@example.com>'}
    assert policy.decide("onboarding-mailer", SEND, ok)[0].allowed
    for field in ("To", "Cc", "Bcc"):
        data = {**ok, field: "b@example.com, x@evil.test"}
        assert not policy.decide("onboarding-mailer", SEND, data)[0].allowed, field
    batch = OPERATIONS["send_email_batch"]
    assert not policy.decide("onboarding-mailer", batch, [ok, {**ok, "To": "x@evil.test"}])[
        0
    ].allowed
    bulk = OPERATIONS["send_bulk_email"]
    data = {"From": "a@example.com", "Messages": [{"To": "b@example.com"}, {"To": "z@evil.test"}]}
    assert not policy.decide("onboarding-mailer", bulk, data)[0].allowed


def test_message_streams() -> None:
    policy = Policy.loads('[agents.a]\nemail = "full"\nmessage_streams = ["outbound"]\n')
    assert policy.decide("a", SEND, {"To": "b@x.org"})[0].allowed  # default stream
    refused, _ = policy.decide("a", SEND, {"To": "b@x.org", "MessageStream": "broadcast"})
    assert not refused.allowed and "broadcast" in refused.rule


def test_every_group_is_a_key() -> None:
    text = "[agents.a]\n" + "".join(f'{group} = "read"\n' for group in GROUPS)
    assert set(Policy.loads(text).agents["a"].grants) == set(GROUPS)


BROKEN: list[tuple[str, int, str]] = [
    ('[agents.a]\nemial = "full"\n', 2, "agents.a.emial"),
    ('[agents.a]\nemail = "ful"\n', 2, "agents.a.email"),
    ('[agents.a]\nemail = "writ"\n', 2, "agents.a.email"),
    ("[agents.a]\nemail = true\n", 2, "agents.a.email"),
    ('[agents.a]\nemail = "full"\n\n[agents.a]\nbounces = "read"\n', 4, "agents.a"),
    ('[agents.a]\nemail = "full"\n[agents.A]\nbounces = "read"\n', 3, "agents.A"),
    ('audit = "a.sqlite"\naudti = "b"\n', 2, "audti"),
    ("audit = 3\n", 1, "audit"),
    ('record_addresses = "all"\n', 1, "record_addresses"),
    ('[agents.a]\nrecipients = "*@example.com"\n', 2, "agents.a.recipients"),
    ('[agents.a]\nrecipients = ["example.com"]\n', 2, "agents.a.recipients"),
    ('[agents.a]\nrecipients = ["a@b@c"]\n', 2, "agents.a.recipients"),
    ("[agents.a]\nsends_per_hour = -1\n", 2, "agents.a.sends_per_hour"),
    ('[agents.a]\nsends_per_day = "10"\n', 2, "agents.a.sends_per_day"),
    ("[agents.a]\nsends_per_hour = true\n", 2, "agents.a.sends_per_hour"),
    ('[agents.a]\nkey_sha256 = "abc"\n', 2, "agents.a.key_sha256"),
    ("[agents.a]\nmessage_streams = [1]\n", 2, "agents.a.message_streams"),
    ('[agents."bad name"]\nemail = "read"\n', 1, "agents.bad name"),
    ('agents = "all"\n', 1, "agents"),
    ('[agents.a]\nemail = "full"\nemail = "read"\n', 3, "(syntax)"),
]


def test_twenty_broken_files_give_twenty_located_errors(tmp_path: Path) -> None:
    assert len(BROKEN) == 20
    messages = []
    for index, (text, line, key) in enumerate(BROKEN):
        path = tmp_path / f"broken-{index}.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(PolicyError) as caught:
            Policy.load(path)
        error = caught.value
        assert (error.line, error.key) == (line, key), (text, str(error))
        assert str(error).startswith(f"{path}:{line}: {key}: ")
        messages.append(str(error))
    assert len(set(messages)) == 20
    assert "did you mean 'email'" in messages[0]
    assert "did you mean 'full'" in messages[1]
    assert "one of off, read, write, full (did you mean 'write'?)" in messages[2]
