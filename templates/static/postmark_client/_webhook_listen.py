"""`postmark webhooks listen`: a webhook receiver on this machine, each event printed as a JSON line.

The server is the standard library's WSGI server with a thread per connection and a read timeout,
serving `webhooks.make_wsgi_app`; the command reaches the CLI through `cli.COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from ._spec import WEBHOOK_RECORD_TYPES
from .cli import EXIT_OK, PROG, Command, UsageError, _error, _integer, _number, _Printer

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIRequestHandler

__all__ = ["COMMANDS", "DEFAULT_READ_TIMEOUT"]

WEBHOOK_USER_ENV: Final = "POSTMARK_WEBHOOK_USER"
WEBHOOK_PASSWORD_ENV: Final = "POSTMARK_WEBHOOK_PASSWORD"


def _listen_options(listen: argparse.ArgumentParser) -> None:
    listen.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    listen.add_argument(
        "--port",
        type=_integer,
        default=8080,
        help="port to bind (default 8080; 0 picks a free one)",
    )
    listen.add_argument(
        "--user", default=None, help=f"Basic-auth user name required (default: ${WEBHOOK_USER_ENV})"
    )
    listen.add_argument(
        "--password",
        default=None,
        help=f"Basic-auth password required (default: ${WEBHOOK_PASSWORD_ENV})",
    )
    listen.add_argument(
        "--read-timeout",
        type=_positive_seconds,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help=(
            "answer 400 when a request's body stalls this long (default "
            f"{DEFAULT_READ_TIMEOUT:g}); a stalled request line or headers closes the connection"
        ),
    )


DEFAULT_READ_TIMEOUT: Final = 10.0
"""Seconds `webhooks listen` waits for more of a request before giving up on it."""


def _positive_seconds(text: str) -> float:
    seconds = _number(text)
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return seconds


def _run_listen(args: argparse.Namespace) -> int:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    from .webhooks import WebhookEvent, make_wsgi_app, webhook_data

    user = args.user or os.environ.get(WEBHOOK_USER_ENV) or None
    password = args.password or os.environ.get(WEBHOOK_PASSWORD_ENV) or None
    if (user is None) != (password is None):
        raise UsageError("give both --user and --password (or neither)")
    printer = _Printer(argparse.Namespace(compact=True), sys.stdout)

    printing = threading.Lock()  # events arrive on several threads; one JSON line each

    def print_event(event: WebhookEvent) -> None:
        with printing:
            printer.show(webhook_data(event))

    class Server(ThreadingMixIn, WSGIServer):
        """A thread per connection: one stalled client must not hold up Postmark's deliveries."""

        daemon_threads = True
        request_queue_size = 128

    app = make_wsgi_app(print_event, username=user, password=password)
    try:
        server: WSGIServer = make_server(
            args.host,
            args.port,
            app,
            server_class=Server,
            handler_class=_webhook_request_handler(args.read_timeout),
        )
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    host, port = str(server.server_address[0]), server.server_address[1]
    auth = " (Basic auth required)" if user is not None else ""
    _error(f"listening for webhooks on http://{host}:{port}/{auth}; Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def _webhook_request_handler(read_timeout: float) -> type[WSGIRequestHandler]:
    """wsgiref's request handler with a read timeout (a stalled body is answered 400 by the
    app), closing a stalled request line or headers with one log line instead of a traceback."""
    from wsgiref.simple_server import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        timeout = read_timeout

        def handle(self) -> None:
            try:
                super().handle()
            except TimeoutError:
                self.close_connection = True
                self.log_message("%s", "the request stalled; connection closed")

        def log_message(self, format: str, *log_args: Any) -> None:
            sys.stderr.write(f"{PROG}: {format % log_args}\n")
            sys.stderr.flush()

    return Handler


COMMANDS: Final[tuple[Command, ...]] = (
    Command(
        group="webhooks",
        group_help=(
            "receive Postmark's webhooks on this machine (" + ", ".join(WEBHOOK_RECORD_TYPES) + ")"
        ),
        name="listen",
        help="serve a webhook receiver and print each event as a JSON line",
        description=(
            "Serve a webhook receiver (WSGI, standard library) and print each event Postmark "
            "POSTs as one JSON line on stdout. Answers 200 when the payload is read, 401 on "
            "bad credentials, 400 on a body that is not a webhook payload or that stalls."
        ),
        configure=_listen_options,
        run=_run_listen,
    ),
)
