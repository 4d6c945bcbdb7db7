"""Webhooks from the fake Postmark: payloads queued as things happen, POSTed to the hook URLs.

As Postmark does: a payload is retried until the receiver answers 200 and given up on a 403;
credentials in the URL (`https://user:pass@host/path`) become Basic auth and leave the URL.
Unlike Postmark, retries are bounded (`max_attempts`) and quick: tests flush the queue with
`deliver()` (no waiting between attempts unless a `sleep` is set); a fake serving HTTP runs a
background thread that delivers as payloads arrive.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

DeliveryState = Literal["pending", "delivered", "refused", "failed"]


@dataclass
class WebhookDelivery:
    """One payload for one URL, and what became of it.

    `attempts` holds each answer's status, or the connection error's text. `state` is
    delivered (200), refused (403: Postmark stops), failed (out of attempts) or pending.
    """

    record_type: str
    url: str
    payload: dict[str, Any]
    server_id: int
    username: str | None = None
    password: str | None = None
    attempts: list[int | str] = field(default_factory=list)
    state: DeliveryState = "pending"
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # credentials stay out of reprs
        return (
            f"WebhookDelivery(record_type={self.record_type!r}, url={self.url!r}, "
            f"state={self.state!r}, attempts={self.attempts!r})"
        )

    def request_headers(self) -> dict[str, str]:
        headers = {
            **self.headers,
            "Content-Type": "application/json",
            "User-Agent": "Postmark (fake)",
        }
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """`https://user:pass@host/path` -> (`https://host/path`, `user`, `pass`)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    password = unquote(parts.password) if parts.password is not None else None
    return bare, unquote(parts.username), password


class Webhooks:
    """The webhook queue of one fake, its delivery log and its delivery settings."""

    def __init__(self) -> None:
        self.max_attempts = 5
        self.backoff: tuple[float, ...] = (0.0,)
        self.sleep: Callable[[float], None] | None = None
        self.transport: httpx.BaseTransport | None = None
        self.timeout = 10.0
        self.log: list[WebhookDelivery] = []
        self._queue: deque[WebhookDelivery] = deque()
        self._busy = 0
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._users = 0
        self._stopping = False

    def configure(
        self,
        *,
        max_attempts: int | None = None,
        backoff: tuple[float, ...] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
    ) -> None:
        """max_attempts: tries per payload before giving up (Postmark keeps trying for hours).
        backoff: seconds to wait before the 2nd, 3rd... attempt (the last value repeats).
        sleep: how to wait (default: `time.sleep` when a backoff is set); inject one in tests.
        transport: an httpx transport to POST through (e.g. to an in-process receiver).
        """
        if max_attempts is not None:
            if max_attempts < 1:
                raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
            self.max_attempts = max_attempts
        if backoff is not None:
            if not backoff or any(seconds < 0 for seconds in backoff):
                raise ValueError(
                    f"backoff must be one or more non-negative delays, got {backoff!r}"
                )
            self.backoff = tuple(backoff)
        if sleep is not None:
            self.sleep = sleep
        if transport is not None:
            self.transport = transport
        if timeout is not None:
            self.timeout = timeout

    # ---- queue -------------------------------------------------------------------------------

    def enqueue(
        self,
        record_type: str,
        url: str,
        payload: dict[str, Any],
        server_id: int,
        *,
        username: str | None = None,
        password: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue one payload for one URL. Basic auth comes from the URL's credentials, or from
        `username`/`password` (a webhook's HttpAuth); `headers` are its custom HttpHeaders."""
        bare, url_user, url_password = split_credentials(url)
        if username is None:
            username, password = url_user, url_password
        item = WebhookDelivery(
            record_type, bare, payload, server_id, username, password, headers=dict(headers or {})
        )
        with self._changed:
            self.log.append(item)
            self._queue.append(item)
            self._changed.notify_all()

    @property
    def pending(self) -> list[WebhookDelivery]:
        with self._changed:
            return list(self._queue)

    def deliver(self) -> list[WebhookDelivery]:
        """POST every queued payload (retrying as configured), wait for those a background
        worker is sending, and return what was delivered, refused or given up in this call."""
        done: list[WebhookDelivery] = []
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            while True:
                item = self._take()
                if item is None:
                    break
                try:
                    self._send(client, item)
                finally:
                    self._finish()
                done.append(item)
        with self._changed:
            self._changed.wait_for(lambda: self._busy == 0 and not self._queue)
        return done

    def _take(self) -> WebhookDelivery | None:
        with self._changed:
            if not self._queue:
                return None
            self._busy += 1
            return self._queue.popleft()

    def _finish(self) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    # ---- sending -----------------------------------------------------------------------------

    def _send(self, client: httpx.Client, item: WebhookDelivery) -> None:
        body = json.dumps(item.payload).encode("utf-8")
        while len(item.attempts) < self.max_attempts:
            if item.attempts:
                self._wait(len(item.attempts) - 1)
            try:
                response = client.post(item.url, content=body, headers=item.request_headers())
            except httpx.HTTPError as exc:
                item.attempts.append(f"{type(exc).__name__}: {exc}")
                continue
            item.attempts.append(response.status_code)
            if response.status_code == 200:
                item.state = "delivered"
                return
            if response.status_code == 403:
                item.state = "refused"
                return
        item.state = "failed"

    def _wait(self, retry: int) -> None:
        seconds = self.backoff[min(retry, len(self.backoff) - 1)]
        if seconds > 0 or self.sleep is not None:
            (self.sleep or time.sleep)(seconds)

    # ---- background delivery (HTTP server mode) ----------------------------------------------

    def start(self) -> None:
        """Deliver in a background thread from now on, as payloads are queued (until as many
        `stop()` calls as `start()` calls: each running HTTP server holds one)."""
        with self._changed:
            self._users += 1
            if self._worker is not None:
                return
            self._stopping = False
            self._worker = threading.Thread(
                target=self._run, name="postmark-fake-webhooks", daemon=True
            )
            self._worker.start()

    def stop(self) -> None:
        with self._changed:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            worker, self._worker = self._worker, None
            self._stopping = True
            self._changed.notify_all()
        if worker is not None:
            worker.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._stopping or bool(self._queue))
                    if self._stopping:
                        return
                item = self._take()
                if item is not None:
                    try:
                        self._send(client, item)
                    finally:
                        self._finish()
