"""Helpers of the gateway tests: the policy, a gateway process, a recording upstream."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from postmark_client._audit import AuditEntry, AuditLog
from postmark_client._store import open_store
from postmark_client.access import hash_key

MAILER = "mailer-key-0001"
READER = "reader-key-0002"
ACCOUNTANT = "accountant-key-0003"
KEYS = {"mailer": MAILER, "reader": READER, "accountant": ACCOUNTANT}
SEND = {
    "From": "sender@example.com",
    "To": "someone@example.com",
    "Subject": "Hello",
    "TextBody": "Hi there",
}
COMMAND = Path(sys.executable).parent / "postmark-gateway"
START_SECONDS = 30.0
HOLD_SECONDS = 30.0


def policy_text(audit: str = "audit.sqlite", sends_per_hour: int | None = None) -> str:
    quota = f"sends_per_hour = {sends_per_hour}\n" if sends_per_hour is not None else ""
    return f"""\
audit = "{audit}"

[agents.mailer]
email = "full"
recipients = ["*@example.com"]
key_sha256 = "{hash_key(MAILER)}"
{quota}
[agents.reader]
messages = "read"
key_sha256 = "{hash_key(READER)}"

[agents.accountant]
servers = "read"
key_sha256 = "{hash_key(ACCOUNTANT)}"
"""


@dataclass
class Running:
    """A gateway process: its URL, its audit log and the process itself."""

    url: str
    process: subprocess.Popen[str]
    audit: Path
    stderr: list[str] = field(default_factory=list)
    store: str | None = None

    def entries(self, after_id: int = 0) -> list[AuditEntry]:
        log = open_store(self.store or self.audit)
        try:
            return log.entries(after_id=after_id)
        finally:
            log.close()

    def last_id(self) -> int:
        found = self.entries()
        return found[-1].id if found else 0


def _listening_line(process: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """The URL of the gateway's "listening on URL" line, waited for at most START_SECONDS."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "listening on " in line:
                return line.split("listening on ", 1)[1].split()[0], lines
    process.kill()
    raise AssertionError(f"postmark-gateway did not start: {''.join(lines)!r}")


def start_gateway(
    policy: Path,
    upstream: str | None,
    tokens: dict[str, str],
    *args: str,
) -> Running:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTMARK_")}
    if upstream is not None:
        env["POSTMARK_API_URL"] = upstream
    if "server" in tokens:
        env["POSTMARK_SERVER_TOKEN"] = tokens["server"]
    if "account" in tokens:
        env["POSTMARK_ACCOUNT_TOKEN"] = tokens["account"]
    process = subprocess.Popen(
        [str(COMMAND), "--policy", str(policy), "--port", "0", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    url, lines = _listening_line(process)
    store = args[args.index("--store") + 1] if "--store" in args else None
    return Running(url, process, policy.parent / "audit.sqlite", lines, store)


def store_option(request: Any) -> list[str]:
    """`--store URL` of a fresh PostgreSQL database for a test run with the param
    "postgresql" (the session's server), else nothing (the policy's SQLite file)."""
    if request.param != "postgresql":
        return []
    return ["--store", request.getfixturevalue("postgres").database()]


def refused_start(policy: Path) -> subprocess.CompletedProcess[str]:
    """A gateway started without any POSTMARK_ variable, which must exit 2 at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTMARK_")}
    done = subprocess.run(
        [str(COMMAND), "--policy", str(policy), "--port", "0"],
        capture_output=True, text=True, timeout=START_SECONDS, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    return done


def stop(running: Running) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait(timeout=10)


# ---- an upstream that records what reaches it -------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    rows_when_received: list[AuditEntry]


class Recorder:
    """An upstream on loopback that records each request (and the audit rows present when it
    arrived) and answers 200 `{"ErrorCode": 0, "Message": "OK"}`, or `body` when set."""

    def __init__(self, audit: Path | None) -> None:
        self.audit = audit
        self.seen: list[Seen] = []
        self.body: bytes | None = None
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rows: list[AuditEntry] = []
                if recorder.audit is not None:
                    log = AuditLog(recorder.audit)
                    rows = log.entries()
                    log.close()
                recorder.seen.append(
                    Seen(self.command, self.path, dict(self.headers.items()), body, rows)
                )
                recorder.arrived.set()
                if recorder.hold is not None:
                    recorder.hold.wait(HOLD_SECONDS)
                answer = recorder.body
                if answer is None:
                    answer = json.dumps({"ErrorCode": 0, "Message": "OK"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("X-Request-Id", "recorded-1")
                self.send_header("Keep-Alive", "timeout=5")
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


RECORDED_SERVER_TOKEN = "real-server-token-9999"
RECORDED_ACCOUNT_TOKEN = "real-account-token-8888"
