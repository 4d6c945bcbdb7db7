"""End to end: `postmark email send` -> fake Postmark -> `postmark webhooks listen` prints the event.

Everything runs over real HTTP on loopback: the fake's server, the CLI as subprocesses, and the
listener as a subprocess serving the generated WSGI receiver with wsgiref.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cli_support import ACCOUNT_TOKEN, CLI, SERVER_TOKEN, LineReader
from listen_support import listening

testing = pytest.importorskip(
    "postmark_client.testing", reason="the fake Postmark (postmark_client.testing) is not generated"
)

HOOK_USER, HOOK_PASSWORD = "hooks", "canary-hook-password"


@dataclass
class Listener:
    process: subprocess.Popen[str]
    url: str
    events: LineReader
    log: LineReader

    def hook_url(self, user: str = HOOK_USER, password: str = HOOK_PASSWORD) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@") + "postmark"

    def next_event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.events.next_line())
        return event


@pytest.fixture
def fake() -> Any:
    return testing.FakePostmark(seed="demo", server_token=SERVER_TOKEN, account_token=ACCOUNT_TOKEN)


@pytest.fixture
def cli(fake: Any) -> Iterator[CLI]:
    server = fake.serve("127.0.0.1", 0)
    try:
        yield CLI(server.url.rstrip("/"))
    finally:
        server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening("--user", HOOK_USER, "--password", HOOK_PASSWORD) as started:
        yield Listener(started.process, started.url, started.events, started.log)


def test_cli_send_reaches_the_listener_as_a_delivery_event(
    cli: CLI, fake: Any, listener: Listener
) -> None:
    server_id = str(fake.server()["ID"])
    edited = cli.json(
        "servers", "edit", "--server-id", server_id, "--delivery-hook-url", listener.hook_url()
    )
    assert edited["DeliveryHookUrl"] == listener.hook_url()

    sent = cli.json(
        "email", "send", "--from", "sender@example.com", "--to", "e2e@example.com",
        "--subject", "End to end", "--text-body", "Hello", "--metadata", '{"case": "e2e"}',
    )  # fmt: skip

    event = listener.next_event()
    assert event["RecordType"] == "Delivery"
    assert event["MessageID"] == sent["MessageID"]
    assert event["Recipient"] == "e2e@example.com"
    assert event["Metadata"].pop("idempotency_key")  # the send's key, beside the caller's
    assert event["Metadata"] == {"case": "e2e"}
    fake.deliver_webhooks()  # waits until the background delivery has its answer
    delivered = [d for d in fake.webhooks.log if d.record_type == "Delivery"]
    assert [(d.state, d.attempts) for d in delivered] == [("delivered", [200])]


def test_a_bounce_reaches_the_listener_as_a_bounce_event(
    cli: CLI, fake: Any, listener: Listener
) -> None:
    server_id = str(fake.server()["ID"])
    cli.json("servers", "edit", "--server-id", server_id, "--bounce-hook-url", listener.hook_url())
    sent = cli.json(
        "email", "send", "--from", "sender@example.com", "--to", "bounces-later@example.com",
        "--text-body", "bounce me",
    )  # fmt: skip
    fake.bounce(sent["MessageID"], type="HardBounce")  # the recipient's server bounces it later
    event = listener.next_event()
    assert event["RecordType"] == "Bounce"
    assert event["MessageID"] == sent["MessageID"]
    assert event["Type"] == "HardBounce"
    assert event["Email"] == "bounces-later@example.com"


def test_the_listener_refuses_bad_credentials_and_bad_bodies(
    cli: CLI, fake: Any, listener: Listener
) -> None:
    server_id = str(fake.server()["ID"])
    fake.webhooks.configure(max_attempts=2)
    cli.json(
        "servers",
        "edit",
        "--server-id",
        server_id,
        "--delivery-hook-url",
        listener.hook_url(password="wrong"),
    )
    cli.json(
        "email",
        "send",
        "--from",
        "sender@example.com",
        "--to",
        "nobody@example.com",
        "--text-body",
        "x",
    )
    fake.deliver_webhooks()
    refused = [d for d in fake.webhooks.log if d.record_type == "Delivery"]
    assert refused and refused[-1].attempts == [401, 401]
    assert refused[-1].state == "failed"

    auth = (HOOK_USER, HOOK_PASSWORD)
    assert httpx.post(listener.url, content=b"{not json", auth=auth).status_code == 400
    assert httpx.post(listener.url, json={"RecordType": "Delivery"}, auth=auth).status_code == 400
    novel = httpx.post(listener.url, json={"RecordType": "Novel", "X": 1}, auth=auth)
    assert novel.status_code == 200
    # Only the payload it accepted was printed.
    assert listener.next_event() == {"RecordType": "Novel", "X": 1}
    assert HOOK_PASSWORD not in "".join(listener.log.seen + listener.events.seen)


def test_a_stalled_connection_does_not_hold_up_a_valid_webhook(listener: Listener) -> None:
    """A client that opens a connection and sends half a request must not block the next one."""
    import socket

    host, port = listener.url.removeprefix("http://").rstrip("/").split(":")
    stalled = socket.create_connection((host, int(port)), timeout=10)
    try:
        credentials = base64.b64encode(f"{HOOK_USER}:{HOOK_PASSWORD}".encode()).decode()
        stalled.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            + f"Authorization: Basic {credentials}\r\n\r\n{{".encode()
        )
        answer = httpx.post(
            listener.url,
            json={"RecordType": "Novel", "Y": 2},
            auth=(HOOK_USER, HOOK_PASSWORD),
            timeout=10,
        )
        assert answer.status_code == 200
        assert listener.next_event() == {"RecordType": "Novel", "Y": 2}
    finally:
        stalled.close()
