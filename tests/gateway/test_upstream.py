"""The gateway's connections to upstream: reused while they are clean, closed when an answer was
not read to its end, and failures raised as httpx's own errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from postmark_client.gateway._upstream import UpstreamTransport

BODY = b"x" * 200_000


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[int]]]:
    """A loopback server answering BODY to any GET; the client port of each request."""
    ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", ports
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_answers_read_to_the_end_reuse_one_connection(
    upstream: tuple[str, list[int]],
) -> None:
    url, ports = upstream
    async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
        answers = [await client.get(url + f"/{i}") for i in range(5)]
    assert [a.content for a in answers] == [BODY] * 5
    assert len(ports) == 5 and len(set(ports)) == 1


async def test_an_answer_closed_early_closes_its_connection(
    upstream: tuple[str, list[int]],
) -> None:
    url, ports = upstream
    async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
        async with client.stream("GET", url + "/dump") as response:
            first = await anext(response.aiter_raw())
        again = await client.get(url + "/again")
    assert first and len(first) < len(BODY) and again.content == BODY
    assert len(set(ports)) == 2


async def test_an_upstream_that_is_gone_is_httpxs_connect_error() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_failure_while_taking_a_connection_gives_its_slot_back(
    upstream: tuple[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = upstream
    transport = UpstreamTransport()
    free = transport._slots.value

    async def closing_fails(origin: Any) -> Any:
        raise httpx.ReadError("closing a stale connection failed")

    monkeypatch.setattr(transport, "_take", closing_fails)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(url)
        assert transport._slots.value == free
        monkeypatch.undo()
        assert (await client.get(url)).content == BODY
    assert transport._slots.value == free
