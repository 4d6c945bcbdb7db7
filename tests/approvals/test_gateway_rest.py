"""Over REST: postmark-gateway refuses a held call in Postmark's error shape (ErrorCode 9004
ApprovalRequired, the approval URL in the Message), which postmarker raises as its own error;
after approval the identical call goes through once. With SQLite and with PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_support import MAILER, SEND, Running, policy_text, start_gateway, stop
from postmark_client._approvals import Approvals
from postmark_client._store import open_store
from postmark_client.errors import ErrorCode
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError

URL = re.compile(r"held for approval at (\S+/console/approvals/([0-9a-f]+));")


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, fake: Any, tmp_path: Path) -> Iterator[Running]:
    policy = tmp_path / "agents.toml"
    text = policy_text().replace('email = "full"', 'email = "full"\napprove = ["email.send"]')
    policy.write_text(text, encoding="utf-8")
    tokens = {"server": fake.server_token, "account": fake.account_token}
    store = []
    if request.param == "postgresql":
        store = ["--store", request.getfixturevalue("postgres").database()]
    running = start_gateway(policy, fake.url, tokens, "--no-mcp", *store)
    try:
        yield running
    finally:
        stop(running)


def _held(client: PostmarkClient, send: dict[str, str]) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        client.emails.send(**send)
    assert refused.value.error_code == ErrorCode.APPROVAL_REQUIRED
    found = URL.search(str(refused.value))
    assert found is not None, str(refused.value)
    return found.group(1), found.group(2)


def test_postmarker_held_approved_once(served: Running, fake: Any) -> None:
    client = PostmarkClient(
        server_token=MAILER, root_api_url=served.url + "/", logs_stream=io.StringIO()
    )
    store = open_store(served.store or served.audit)
    approvals = Approvals(store)
    try:
        url, held = _held(client, SEND)
        assert url == f"{served.url}/console/approvals/{held}"
        assert _held(client, SEND)[1] == held  # asked again while pending: the same held call
        approvals.approve(held, "ada")
        changed = _held(client, {**SEND, "Subject": "Changed"})[1]
        sent = client.emails.send(**SEND)
        third = _held(client, SEND)[1]
    finally:
        client.session.close()
        store.close()
    assert sent["ErrorCode"] == 0 and changed != held and third not in (held, changed)
    assert [m["MessageID"] for m in fake.fake.messages()].count(sent["MessageID"]) == 1
    assert [(e.decision, e.outcome) for e in served.entries() if e.agent == "mailer"] == [
        ("held", "not sent"),
        ("held", "not sent"),
        ("approved", "not sent"),
        ("held", "not sent"),
        ("used", "not sent"),
        ("allowed", "ok"),
        ("held", "not sent"),
    ]
