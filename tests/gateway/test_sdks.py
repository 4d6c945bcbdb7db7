"""Other SDKs, unchanged, against `postmark-gateway` in front of the fake: each sends its agent
key as the token; allowed calls work, denied ones raise the SDK's own error naming the rule,
and the audit log holds both."""

from __future__ import annotations

import io
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import postmark.sync
import pytest
from gateway_support import (
    ACCOUNTANT,
    COMMAND,
    MAILER,
    READER,
    SEND,
    Running,
    policy_text,
    refused_start,
    start_gateway,
    stop,
)
from postmark_client.client import AccountClient, ServerClient
from postmark_client.errors import AgentAccessDeniedError, ErrorCode, InvalidTokenError
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError

RULE = "recipient on elsewhere.org is not allowed (*@example.com)"


def _rows(gateway: Running, after: int) -> list[tuple[str, str, str, str]]:
    return [(e.agent, e.operation, e.decision, e.outcome) for e in gateway.entries(after)]


def test_postmarker(gateway: Running, fake: Any) -> None:
    after = gateway.last_id()
    client = PostmarkClient(
        server_token=MAILER, root_api_url=gateway.url + "/", logs_stream=io.StringIO()
    )
    try:
        sent = client.emails.send(**SEND)
        with pytest.raises(ClientError) as denied:
            client.emails.send(**{**SEND, "To": "x@elsewhere.org"})
    finally:
        client.session.close()
    assert sent["ErrorCode"] == 0
    assert sent["MessageID"] in [m["MessageID"] for m in fake.fake.messages()]
    assert denied.value.error_code == ErrorCode.AGENT_ACCESS_DENIED
    assert RULE in str(denied.value)
    assert _rows(gateway, after) == [
        ("mailer", "send_email", "allowed", "ok"),
        ("mailer", "send_email", "denied", "not sent"),
    ]
    shown = subprocess.run(
        [str(COMMAND.with_name("postmark")), "audit", "--policy", str(gateway.audit.parent / "agents.toml"), "--agent", "mailer"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert "mailer sent one message (email.send)" in shown[-2] and "allowed" in shown[-2]
    assert shown[-1].endswith(f"denied ({RULE})")


def test_postmark_python(gateway: Running, fake: Any) -> None:
    after = gateway.last_id()
    client = postmark.sync.ServerClient(MAILER, base_url=gateway.url)
    try:
        sent = client.outbound.send(dict(SEND))
        with pytest.raises(postmark.exceptions.ValidationException) as denied:
            client.outbound.send({**SEND, "To": "x@elsewhere.org"})
        reader = postmark.sync.ServerClient(READER, base_url=gateway.url)
        with pytest.raises(postmark.exceptions.ValidationException) as by_grant:
            reader.outbound.send(dict(SEND))
        reader.close()
    finally:
        client.close()
    assert sent.message_id in [m["MessageID"] for m in fake.fake.messages()]
    assert denied.value.error_code == ErrorCode.AGENT_ACCESS_DENIED
    assert RULE in str(denied.value)
    assert "off on email" in str(by_grant.value)
    assert _rows(gateway, after) == [
        ("mailer", "send_email", "allowed", "ok"),
        ("mailer", "send_email", "denied", "not sent"),
        ("reader", "send_email", "denied", "not sent"),
    ]


def test_our_client_both_token_kinds(gateway: Running, fake: Any) -> None:
    after = gateway.last_id()
    with ServerClient(MAILER, base_url=gateway.url, max_retries=0) as mailer:
        sent = mailer.email.send(
            from_="sender@example.com", to="a@example.com", subject="S", text_body="T"
        )
        with pytest.raises(AgentAccessDeniedError) as denied:
            mailer.messages.search_outbound(count=10, offset=0)
    with ServerClient(READER, base_url=gateway.url) as reader:
        found = reader.messages.search_outbound(count=10, offset=0)
    with AccountClient(ACCOUNTANT, base_url=gateway.url) as accountant:
        servers = accountant.servers.list(count=10, offset=0)
    assert sent.message_id in [m.message_id for m in found.items]
    assert "off on messages" in denied.value.message
    assert servers.total_count == len(fake.fake.server_tokens())
    assert _rows(gateway, after) == [
        ("mailer", "send_email", "allowed", "ok"),
        ("mailer", "search_outbound_messages", "denied", "not sent"),
        ("reader", "search_outbound_messages", "allowed", "ok"),
        ("accountant", "list_servers", "allowed", "ok"),
    ]


def test_an_unknown_key_is_refused_as_postmark_refuses_a_bad_token(
    gateway: Running, fake: Any
) -> None:
    after = gateway.last_id()
    stranger = ServerClient("not-an-agent-key", base_url=gateway.url)
    with stranger, pytest.raises(InvalidTokenError) as refused:
        stranger.messages.search_outbound(count=10, offset=0)
    client = PostmarkClient(
        server_token=fake.server_token, root_api_url=gateway.url + "/", logs_stream=io.StringIO()
    )
    try:
        # Postmark's own token, sent as if it were a key: the gateway never forwards it.
        with pytest.raises(ClientError) as real_token:
            client.emails.send(**SEND)
    finally:
        client.session.close()
    assert refused.value.status_code == 401 and refused.value.error_code == 10
    assert real_token.value.error_code == 10
    assert gateway.entries(after) == []


def test_plain_httpx_reads_postmarks_answer_unchanged(gateway: Running, fake: Any) -> None:
    headers = {"X-Postmark-Server-Token": READER, "Accept": "application/json"}
    through = httpx.get(
        gateway.url + "/messages/outbound", params={"count": 1, "offset": 0}, headers=headers
    )
    direct = httpx.get(
        fake.url + "/messages/outbound",
        params={"count": 1, "offset": 0},
        headers={**headers, "X-Postmark-Server-Token": fake.server_token},
    )
    assert through.status_code == direct.status_code == 200
    assert through.json()["TotalCount"] == direct.json()["TotalCount"]
    assert through.headers["content-type"] == direct.headers["content-type"]
    assert through.headers["x-request-id"].startswith("fake-")
    # An error answer of Postmark's own (not the gateway's) comes back as it was.
    missing = httpx.get(gateway.url + "/messages/outbound/nope/details", headers=headers)
    assert missing.status_code == 422 and missing.json()["ErrorCode"] == 701


def test_fake_upstream_and_the_documented_options(tmp_path: Path) -> None:
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    running = start_gateway(policy, None, {}, "--fake", "--workers", "2", "--no-mcp")
    try:
        with ServerClient(MAILER, base_url=running.url) as mailer:
            sent = mailer.email.send(
                from_="sender@example.com", to="a@example.com", subject="S", text_body="T"
            )
    finally:
        stop(running)
    assert sent.error_code == 0 and "2 workers" in running.stderr[-1]
    shown = subprocess.run(
        [str(COMMAND), "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for option in ("--policy", "--port", "--host", "--store", "--workers", "--fake",
                   "--certfile", "--keyfile", "--allow-host", "--read-timeout", "--no-mcp",
                   "--add-key", "--remove-key"):  # fmt: skip
        assert option in shown and option in readme, option


def test_no_token_and_no_fake_refuses_to_start(tmp_path: Path) -> None:
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    done = refused_start(policy)
    assert "no Postmark token: set POSTMARK_SERVER_TOKEN" in done.stderr


def test_https_with_certfile_and_keyfile(tmp_path: Path, fake: Any) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    tokens = {"server": fake.server_token}
    running = start_gateway(
        policy, fake.url, tokens, "--certfile", str(cert), "--keyfile", str(key), "--no-mcp"
    )
    try:
        answer = httpx.post(
            running.url + "/email",
            json=SEND,
            headers={"X-Postmark-Server-Token": MAILER},
            verify=ssl.create_default_context(cafile=str(cert)),
        )
    finally:
        stop(running)
    assert running.url.startswith("https://127.0.0.1:")
    assert answer.status_code == 200 and answer.json()["ErrorCode"] == 0
