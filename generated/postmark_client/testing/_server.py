# Copied by postmark-codegen from templates/static/postmark_client/testing/_server.py;
# edit it there and regenerate, not here.
"""The fake Postmark over real HTTP on loopback, and the `postmark-fake` command.

    postmark-fake --port 8025 [--host 127.0.0.1] [--seed demo] [--fault-rate 0.3]
                  [--fault-statuses 429,500,503] [--latency-ms 50] [--search-lag 1]
    postmark-fake --demo     # send a message through the real client and search it back

The server is the standard library's ThreadingHTTPServer in a background thread: no dependency
beyond httpx, which the client needs anyway.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Self, TextIO

from .._spec import TOKEN_HEADERS
from ._faults import DEFAULT_STATUSES

if TYPE_CHECKING:
    from ._fake import FakePostmark

DEFAULT_PORT = 8025
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body the fake reads (Postmark's largest, a batch, is 50 MB)."""
# close() waits until the serving loop next looks for a shutdown request: every 0.5 s by default,
# which made each close of a test's server cost half a second.
POLL_SECONDS = 0.05


class _Server(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: with dozens of clients connecting at
    # once, the kernel resets the rest, and a send then ends as "may have been sent".
    request_queue_size = 128
    daemon_threads = True


class FakeServer:
    """A FakePostmark answering HTTP on `url` until `close()` (or the end of a `with` block).

    Webhooks are delivered by a background thread while it runs.
    """

    def __init__(self, fake: FakePostmark, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._httpd = _Server((host, port), _handler_for(fake))
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="postmark-fake-http",
            daemon=True,
        )
        self._thread.start()
        fake.webhooks.start()
        self._closed = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def server_token(self) -> str:
        return self.fake.server_token

    @property
    def account_token(self) -> str:
        return self.fake.account_token

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self.fake.webhooks.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FakeServer(url={self.url!r})"


def _handler_for(fake: FakePostmark) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakePostmark"
        # Headers and body leave in separate writes: without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every answer on a kept-alive connection.
        disable_nagle_algorithm = True

        def _bad_length(self, raw: str) -> None:
            """400 for a Content-Length that is not a size the fake reads; the body's end is
            unknown then, so the connection closes after the answer."""
            message = (
                f"Unreadable body: Content-Length must be a whole number of bytes from 0 to "
                f"{MAX_BODY_BYTES}, got {raw[:40]!r}."
            )
            content = json.dumps({"ErrorCode": 402, "Message": message}).encode()
            self.close_connection = True
            self.send_response(400)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(content)

        def _answer(self) -> None:
            raw = self.headers.get("Content-Length") or "0"
            length = int(raw) if raw.strip().isdigit() and raw.strip().isascii() else -1
            if not 0 <= length <= MAX_BODY_BYTES:
                self._bad_length(raw)
                return
            body = self.rfile.read(length) if length > 0 else b""
            drop = fake.faults.draw_drop()
            if drop == "before":
                self.close_connection = True  # read, never processed, never answered
                return
            fake.faults.wait()
            try:
                answer = fake.handle(self.command, self.path, dict(self.headers.items()), body)
                status, headers, content = answer.status, answer.headers, answer.content
            except Exception:  # noqa: BLE001 - a bug in the fake must answer, not hang the client
                import traceback

                traceback.print_exc()
                status, headers = 500, {"Content-Type": "application/json; charset=utf-8"}
                content = b'{"ErrorCode": 500, "Message": "Internal server error."}'
            if drop == "after":
                self.close_connection = True  # processed, then the answer is lost
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def __getattr__(self, name: str) -> Callable[[], None]:
            # Every method reaches the fake, which answers 405 for what Postmark does not route
            # (the standard library would answer an HTML 501 for methods it does not know).
            if name.startswith("do_"):
                return self._answer
            raise AttributeError(name)

        def log_message(self, format: str, *args: object) -> None:  # quiet: tests read stdout
            return

    return Handler


# ---- the command -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from ._fake import FAKE_ACCOUNT_TOKEN, FAKE_SERVER_TOKEN

    parser = argparse.ArgumentParser(
        prog="postmark-fake",
        description="Run a fake Postmark API on this machine: stateful, offline, with fake tokens.",
        epilog=(
            f"Point a client at it with POSTMARK_API_URL=http://127.0.0.1:{DEFAULT_PORT} (or "
            f"base_url=...), and use the tokens POSTMARK_SERVER_TOKEN={FAKE_SERVER_TOKEN} and "
            f"POSTMARK_ACCOUNT_TOKEN={FAKE_ACCOUNT_TOKEN}."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--seed", default=None, help='repeatable IDs; "demo" also preloads demo data'
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="share of requests (0-1) answered with a fault (half of the 500s after processing)",
    )
    parser.add_argument(
        "--fault-statuses",
        default=",".join(map(str, DEFAULT_STATUSES)),
        metavar="LIST",
        help="statuses of the faults, comma-separated (default 429,500,503)",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="N", help="delay added to every answer"
    )
    parser.add_argument(
        "--search-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay before a sent message shows up in the outbound message search (default 0)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start on a free port, send a message with the real client, search it back, print what happened and exit",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """`postmark-fake`: serve until interrupted (or run the demo); returns the exit status."""
    from ._fake import FakePostmark

    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        statuses = [int(s) for s in args.fault_statuses.split(",") if s.strip()]
    except ValueError:
        parser.error(
            f"--fault-statuses must be numbers separated by commas, got {args.fault_statuses!r}"
        )
    fake = FakePostmark(seed=args.seed)
    try:
        fake.faults.configure(rate=args.fault_rate, statuses=statuses, latency_ms=args.latency_ms)
        fake.set_search_lag(args.search_lag)
    except ValueError as exc:
        parser.error(str(exc))
    if args.demo:
        from ._transcript import run_demo

        return run_demo(fake, args.host, 0 if args.port is None else args.port, out)
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        server = fake.serve(args.host, port)
    except OSError as exc:
        print(
            f"postmark-fake: cannot listen on {args.host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    with server:
        print(f"FakePostmark listening on {server.url}", file=out)
        print(f"  server token:  {fake.server_token}  ({TOKEN_HEADERS['server']})", file=out)
        print(f"  account token: {fake.account_token}  ({TOKEN_HEADERS['account']})", file=out)
        if args.fault_rate or args.latency_ms:
            print(
                f"  faults: rate {args.fault_rate:g} ({', '.join(map(str, statuses))}), latency {args.latency_ms:g} ms",
                file=out,
            )
        print("Press Ctrl+C to stop.", file=out, flush=True)
        _wait_for_signal()
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
