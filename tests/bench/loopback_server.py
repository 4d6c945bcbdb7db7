"""A tiny threaded HTTP/1.1 server on 127.0.0.1 that answers like Postmark with canned bodies.

Run as its own process (`python loopback_server.py`) so that it does not share the benchmark's
GIL; it prints `PORT <n>` once it listens. It parses just enough HTTP/1.1 to keep connections
alive (request line, headers, Content-Length body), because a full parser would add the same
fixed cost to every contender and hide the differences being measured.

It stops by itself: when its standard input closes (the benchmark ended or died) or when its
lifetime runs out, whichever comes first.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import sys
import threading
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

import canned

TOKEN_HEADER = b"x-postmark-server-token"
_REASONS = {200: b"OK", 401: b"Unauthorized", 404: b"Not Found", 422: b"Unprocessable Entity"}
_MAX_LINE = 65_536
_MAX_HEADERS = 100
_MAX_BODY = 20 * 1024 * 1024


@lru_cache(maxsize=64)
def _page(offset: int, count: int) -> bytes:
    return canned.search_page(offset, count)


_SEND_RESPONSE = canned.send_response()
_UNAUTHORIZED = b'{"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied."}'
_NOT_FOUND = b'{"ErrorCode": 0, "Message": "Not found."}'


def route(method: bytes, target: bytes, headers: dict[bytes, bytes]) -> tuple[int, bytes]:
    """The status and JSON body for one request."""
    if not headers.get(TOKEN_HEADER):
        return 401, _UNAUTHORIZED
    url = urlsplit(target.decode("latin-1"))
    if method == b"POST" and url.path == "/email":
        return 200, _SEND_RESPONSE
    if method == b"GET" and url.path == "/messages/outbound":
        query = dict(parse_qsl(url.query))
        count, offset = int(query.get("count", "100")), int(query.get("offset", "0"))
        if not 1 <= count <= 500 or offset < 0 or count + offset > canned.SEARCH_TOTAL:
            return 422, b'{"ErrorCode": 1, "Message": "count and offset out of range."}'
        return 200, _page(offset, count)
    return 404, _NOT_FOUND


class Handler(socketserver.StreamRequestHandler):
    """One keep-alive connection: requests are answered in order until the client closes."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        line = self.rfile.readline(_MAX_LINE)
        if not line:
            return False
        try:
            method, target, _version = line.split(b" ", 2)
        except ValueError:
            return False
        headers: dict[bytes, bytes] = {}
        for _ in range(_MAX_HEADERS):
            header = self.rfile.readline(_MAX_LINE)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        if length > _MAX_BODY:
            return False
        if length:
            self.rfile.read(length)
        status, body = route(method, target, headers)
        self.wfile.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"Content-Length: %d\r\nX-Request-Id: bench-%d\r\n\r\n%s"
            % (status, _REASONS[status], len(body), status, body)
        )
        return headers.get(b"connection", b"").lower() != b"close"


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def _stop_when_done(server: Server, lifetime: float) -> None:
    """Shut the server down when stdin closes or the lifetime ends, whichever is first."""
    closed = threading.Event()

    def watch_stdin() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    closed.wait(lifetime)
    server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifetime", type=float, default=1800.0, help="seconds before it stops")
    args = parser.parse_args()
    _page(0, 500)  # build the common page before the first timed request
    with Server(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=_stop_when_done, args=(server, args.lifetime), daemon=True).start()
        print(f"PORT {server.server_address[1]}", flush=True)
        server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
