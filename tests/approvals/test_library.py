"""The in-process check: a call the policy holds raises ApprovalRequiredError (an
AccessDeniedError) with its approval URL, sends nothing, and passes once after approval."""

from __future__ import annotations

from pathlib import Path

import pytest
from approvals_support import Clock
from postmark_client._approvals import Approvals
from postmark_client.access import (
    AccessDeniedError,
    ApprovalRequiredError,
    Policy,
    PolicyError,
    describe,
    matrix_json,
)
from postmark_client.client import ServerClient
from postmark_client.testing import FakePostmark

POLICY = """\
audit = "audit.sqlite"
console_url = "https://gateway.example:8030"

[agents.mailer]
email = "full"
templates = "read"
approve = ["email.send_with_template"]
approve_over_recipients = 2
"""
SEND = {"from_": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "x"}


def _setup(tmp_path: Path, clock: Clock) -> tuple[Policy, FakePostmark, ServerClient]:
    (tmp_path / "agents.toml").write_text(POLICY, encoding="utf-8")
    policy = Policy.load(tmp_path / "agents.toml")
    assert policy.log is not None
    policy.use_approvals(Approvals(policy.log, clock=clock))
    fake = FakePostmark()
    client = ServerClient(
        fake.server_token, access=policy.access("mailer"), transport=fake.transport()
    )
    return policy, fake, client


def test_held_then_approved_once(tmp_path: Path, clock: Clock) -> None:
    policy, fake, client = _setup(tmp_path, clock)
    many = {**SEND, "to": "b@example.com, c@example.com, d@example.com"}
    with pytest.raises(ApprovalRequiredError) as held:
        client.email.send(**many)
    error = held.value
    assert isinstance(error, AccessDeniedError)
    assert error.url == f"https://gateway.example:8030/console/approvals/{error.approval_id}"
    assert error.url in str(error) and "3 recipients, over approve_over_recipients = 2" in str(
        error
    )
    assert fake.messages() == []
    assert client.email.send(**SEND).message  # two recipients or fewer: not held
    approvals = policy.approvals
    assert approvals is not None
    approvals.approve(error.approval_id, "ada")
    with pytest.raises(ApprovalRequiredError):  # changed arguments after approval: held
        client.email.send(**{**many, "subject": "Changed"})
    client.email.send(**many)  # the identical call, once
    with pytest.raises(ApprovalRequiredError) as third:
        client.email.send(**many)
    assert third.value.approval_id != error.approval_id
    assert len(fake.messages()) == 2
    rows = [(e.operation, e.decision, e.outcome) for e in policy.log.entries()]  # type: ignore[union-attr]
    assert rows == [
        ("send_email", "held", "not sent"),
        ("send_email", "allowed", "ok"),
        ("send_email", "approved", "not sent"),
        ("send_email", "held", "not sent"),
        ("send_email", "used", "not sent"),
        ("send_email", "allowed", "ok"),
        ("send_email", "held", "not sent"),
    ]


def test_an_operation_named_in_approve_is_held(tmp_path: Path, clock: Clock) -> None:
    _, fake, client = _setup(tmp_path, clock)
    with pytest.raises(ApprovalRequiredError, match="approve names email.send_with_template"):
        client.email.send_with_template(
            from_="a@example.com", to="b@example.com", template_id=1, template_model={}
        )
    assert fake.messages() == []


@pytest.mark.parametrize(
    ("line", "where", "says"),
    [
        (
            'approve = ["email.send_bulky"]',
            "agents.mailer.approve",
            "did you mean 'email.send_bulk'",
        ),
        (
            'approve = ["send_bulk_email"]',
            "agents.mailer.approve",
            "operations are named group.name",
        ),
        ('approve = "email.send_bulk"', "agents.mailer.approve", "must be a list"),
        ("approve_over_recipients = -1", "agents.mailer.approve_over_recipients", ">= 0"),
        ('approve_over_recipients = "100"', "agents.mailer.approve_over_recipients", ">= 0"),
        ("aprove = []", "agents.mailer.aprove", "did you mean 'approve'"),
    ],
)
def test_bad_approval_keys_are_refused_with_their_line(line: str, where: str, says: str) -> None:
    text = f'[agents.mailer]\nemail = "full"\n{line}\n'
    with pytest.raises(PolicyError) as refused:
        Policy.loads(text, path="agents.toml")
    assert str(refused.value).startswith(f"agents.toml:3: {where}: ")
    assert says in str(refused.value)


def test_a_bad_console_url_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"agents.toml:1: console_url: must be an http"):
        Policy.loads('console_url = "gateway:8030"\n', path="agents.toml")


def test_describe_and_matrix_json_show_what_waits_for_approval() -> None:
    text = '[agents.mailer]\nemail = "full"\napprove = ["email.send_bulk", "email.send"]\n'
    policy = Policy.loads(text + "approve_over_recipients = 100\n")
    assert (
        "  held for a person's approval: email.send; email.send_bulk; sends to more than 100 "
        "recipients" in describe(policy).splitlines()
    )
    data = matrix_json(policy)["mailer"]
    assert data["approve"] == ["email.send", "email.send_bulk"]
    assert data["approve_over_recipients"] == 100
