"""The fake's HTTP server under abuse: a bad Content-Length is a 400, not a
dropped connection; 100+ clients connecting at once are all served; and its drop mode."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from postmark_client import ServerClient
from postmark_client.errors import MessageMaybeSentError
from postmark_client.testing import FakePostmark
from postmark_client.testing._server import MAX_BODY_BYTES


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send bytes to the fake's port and read until it closes the connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", str(MAX_BODY_BYTES + 1), "9" * 40])
def test_a_bad_content_length_is_answered_400(length: str) -> None:
    fake = FakePostmark()
    with fake.serve() as server:
        received = raw_exchange(
            server.url,
            (
                f"POST /email HTTP/1.1\r\nHost: x\r\nX-Postmark-Server-Token: "
                f"{fake.server_token}\r\nContent-Length: {length}\r\n\r\n{{}}"
            ).encode(),
        )
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"connection: close" in head.lower()
    error = json.loads(body)
    assert error["ErrorCode"] == 402 and "Content-Length" in error["Message"]
    assert fake.messages() == []


def test_the_listen_backlog_takes_a_crowd() -> None:
    with FakePostmark().serve() as server:
        assert server._httpd.request_queue_size >= 128


def test_120_clients_connecting_at_once_are_all_served() -> None:
    fake = FakePostmark()
    clients = 120
    start = threading.Barrier(clients)
    failures: list[BaseException] = []

    def one(index: int) -> None:
        try:
            with ServerClient(fake.server_token, base_url=server.url, max_retries=0) as client:
                start.wait(timeout=30)
                client.email.send(from_="a@example.com", to=f"u{index}@example.com", text_body="x")
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            failures.append(exc)

    with fake.serve() as server:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert len(fake.messages()) == clients


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_dropped_connection_after_a_send_is_a_maybe_sent_error(when: str) -> None:
    fake = FakePostmark()
    fake.faults.configure(drop_rate=1.0, seed=1 if when == "before" else 2)
    with (
        fake.serve() as server,
        ServerClient(fake.server_token, base_url=server.url, idempotency_keys=False) as client,
        pytest.raises(MessageMaybeSentError),
    ):
        client.email.send(from_="a@example.com", to="b@example.com", text_body="x")
    assert sum(fake.faults.dropped.values()) == 1
    assert len(fake.messages()) == fake.faults.dropped["after"]


def test_drop_rate_is_checked_and_disabled_with_the_rest() -> None:
    fake = FakePostmark()
    with pytest.raises(ValueError, match="drop rate"):
        fake.faults.configure(drop_rate=1.5)
    fake.faults.configure(drop_rate=0.5)
    fake.faults.disable()
    assert fake.faults.drop_rate == 0.0
