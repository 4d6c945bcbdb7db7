"""`postmark webhooks listen` over real loopback sockets: a chunked payload is read, a body that
stalls or ends short is answered 400 after the read timeout, JSON nested too deep is a 400 (a 500
would make Postmark retry it), and a stalled request closes with one log line, no traceback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from listen_support import Listening, listening
from postmark_client.webhooks import make_wsgi_app

READ_TIMEOUT = "0.5"  # seconds the listener waits for a stalled body: keeps these tests short


def deep(levels: int) -> bytes:
    return b'{"RecordType": "Novel", "X": ' + b"[" * levels + b"]" * levels + b"}"


def log_lines(listener: Listening) -> list[str]:
    """Everything the listener wrote to stderr, once it has stopped."""
    listener.process.terminate()
    listener.process.wait(timeout=30)
    while True:
        try:
            listener.log.next_line(timeout=10)
        except AssertionError:
            return listener.log.seen


@pytest.fixture
def listener() -> Iterator[Listening]:
    with listening("--read-timeout", READ_TIMEOUT) as started:
        yield started


def raw_exchange(listener: Listening, request: bytes) -> bytes:
    """Send raw bytes and read the whole answer (the listener closes after answering)."""
    with socket.create_connection(("127.0.0.1", listener.port), timeout=20) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_chunked_payload_is_read_and_printed(listener: Listening) -> None:
    payload = json.dumps({"RecordType": "Novel", "Chunked": True}).encode()
    parts = iter([payload[:10], payload[10:]])  # an iterator body: httpx sends it chunked
    answer = httpx.post(listener.url, content=parts, timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert json.loads(listener.events.next_line()) == {"RecordType": "Novel", "Chunked": True}
    nested = {"RecordType": "Novel", "X": json.loads(b"[" * 98 + b"]" * 98)}  # 100 levels
    assert httpx.post(listener.url, json=nested, timeout=20).status_code == 200


def test_a_malformed_chunked_body_is_a_400(listener: Listening) -> None:
    answer = raw_exchange(
        listener,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.0 400"), answer


def test_a_body_shorter_than_its_content_length_is_a_400_after_the_read_timeout(
    listener: Listening,
) -> None:
    answer = raw_exchange(
        listener, b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"RecordType": '
    )
    assert answer.startswith(b"HTTP/1.0 400"), answer
    assert b"did not arrive in time" in answer


@pytest.mark.parametrize("levels", [900, 100_000])  # 900 parses, but fails whoever walks it
def test_json_nested_too_deeply_is_a_400_not_a_500(listener: Listening, levels: int) -> None:
    answer = httpx.post(listener.url, content=deep(levels), timeout=20)
    assert answer.status_code == 400, answer.text
    assert "nested" in answer.json()["error"]
    assert not any("Traceback" in line for line in log_lines(listener))


def test_a_stalled_request_line_closes_the_connection_without_a_traceback(
    listener: Listening,
) -> None:
    answer = raw_exchange(listener, b"POST / HT")
    assert answer == b""
    lines = log_lines(listener)
    assert any("the request stalled; connection closed" in line for line in lines), lines
    assert not any("Traceback" in line for line in lines), lines


# ---- the WSGI app itself, under a plain wsgiref server ------------------------------------------


def test_the_app_under_plain_wsgiref_reads_a_chunked_payload() -> None:
    """wsgiref passes the chunks raw: the app decodes them instead of waiting for the end."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    seen: list[Any] = []

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

    with make_server("127.0.0.1", 0, make_wsgi_app(seen.append), handler_class=Quiet) as server:
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        payload = json.dumps({"RecordType": "Novel", "Raw": 1}).encode()
        answer = httpx.post(
            f"http://127.0.0.1:{server.server_address[1]}/",
            content=iter([payload[:5], payload[5:]]),
            timeout=20,
        )
        thread.join(timeout=20)
    assert answer.status_code == 200, answer.text
    assert [event.data for event in seen] == [{"RecordType": "Novel", "Raw": 1}]
