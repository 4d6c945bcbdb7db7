"""The console's side of HTTP: one request read from ASGI (cookies, query, a small form) and
the answers it gives (pages with their security headers, redirects, downloads)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Final
from urllib.parse import parse_qsl

__all__ = ["FORM_LIMIT", "Request", "Response", "read_request"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FORM_LIMIT: Final = 64 * 1024
"""The largest form the console reads (the matrix of many agents stays far below)."""
# Pages load only the console's own script and stylesheet, in no frame.
_CSP: Final = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PAGE_HEADERS: Final = (
    (b"content-security-policy", _CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
)


class TooLarge(Exception):
    """A console request body over FORM_LIMIT."""


@dataclass
class Request:
    method: str
    path: str
    https: bool
    headers: dict[str, str]
    cookies: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, send: Send) -> None:
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
            *_PAGE_HEADERS,
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})

    @classmethod
    def redirect(cls, to: str, *headers: tuple[bytes, bytes]) -> Response:
        return cls(303, b"", headers=[(b"location", to.encode("latin-1")), *headers])


def _cookies(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


async def read_request(scope: Scope, receive: Receive) -> Request:
    """The request, with its urlencoded form (TooLarge past FORM_LIMIT)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    chunks: list[bytes] = []
    size = 0
    if scope["method"] == "POST":
        declared = headers.get("content-length", "0").strip()
        if declared.isdigit() and int(declared) > FORM_LIMIT:
            raise TooLarge
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > FORM_LIMIT:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
    pairs = parse_qsl(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True)
    lists: dict[str, list[str]] = {}
    for key, value in pairs:
        lists.setdefault(key, []).append(value)
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
    return Request(
        method=scope["method"],
        path=scope["path"],
        https=scope.get("scheme") == "https",
        headers=headers,
        cookies=_cookies(headers.get("cookie")),
        query=query,
        form={k: v[-1] for k, v in lists.items()},
    )
