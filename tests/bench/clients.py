"""The contenders of the per-call benchmark, each a warm client pointed at the loopback server.

Every contender makes the same two requests: `POST /email` with the spec's example message, and
`GET /messages/outbound?count=500&offset=0`. Each is checked once before timing (right status,
500 items, the values of the first message) so that a contender cannot look fast by failing.
A contender that cannot be set up says why instead of being measured.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import canned

TOKEN = "bench-0000-0000-0000-fake-server-token"
PAGE_COUNT = 500
PAGE_QUERY = {"count": PAGE_COUNT, "offset": 0}
_FIRST = canned.outbound_message(0)


@dataclass
class Contender:
    name: str
    send: Callable[[int], object] | None
    page: Callable[[int], object] | None
    close: Callable[[], None]
    note: str = ""


class Unavailable(Exception):
    """A contender cannot be measured here; the message says why."""


def _check_page(items: list[Any], message_id: Callable[[Any], str]) -> None:
    if len(items) != 500:
        raise AssertionError(f"expected 500 messages, got {len(items)}")
    if message_id(items[0]) != _FIRST["MessageID"]:
        raise AssertionError(f"first MessageID {message_id(items[0])!r} != {_FIRST['MessageID']!r}")


def _check_send(message_id: str) -> None:
    expected = json.loads(canned.send_response())["MessageID"]
    if message_id != expected:
        raise AssertionError(f"send returned MessageID {message_id!r}, expected {expected!r}")


# --- raw httpx: the baseline ----------------------------------------------------------------


def raw_httpx(base_url: str) -> Contender:
    import httpx

    body = canned.send_request()
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-Postmark-Server-Token": TOKEN,
    }
    http = httpx.Client(base_url=base_url, headers=headers)

    def send_once() -> Any:
        response = http.post("/email", json=body)
        response.raise_for_status()
        return json.loads(response.content)

    def page_once() -> Any:
        response = http.get("/messages/outbound", params=PAGE_QUERY)
        response.raise_for_status()
        return json.loads(response.content)

    _check_send(send_once()["MessageID"])
    _check_page(page_once()["Messages"], lambda item: item["MessageID"])
    return Contender(
        "raw httpx + json.loads",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=http.close,
    )


def raw_httpx_async(base_url: str) -> Contender:
    import httpx

    body = canned.send_request()
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-Postmark-Server-Token": TOKEN,
    }
    loop = asyncio.new_event_loop()
    http = httpx.AsyncClient(base_url=base_url, headers=headers)

    async def send_once() -> Any:
        response = await http.post("/email", json=body)
        response.raise_for_status()
        return json.loads(response.content)

    async def page_once() -> Any:
        response = await http.get("/messages/outbound", params=PAGE_QUERY)
        response.raise_for_status()
        return json.loads(response.content)

    _check_send(loop.run_until_complete(send_once())["MessageID"])
    _check_page(loop.run_until_complete(page_once())["Messages"], lambda item: item["MessageID"])
    return Contender(
        "raw httpx.AsyncClient + json.loads",
        send=_on_loop(loop, send_once),
        page=_on_loop(loop, page_once),
        close=lambda: _close_loop(loop, http.aclose()),
    )


def _repeat(call: Callable[[], object]) -> Callable[[int], object]:
    """A batch runner that makes the call n times, dropping each result as a caller would."""

    def many(n: int) -> None:
        for _ in range(n):
            call()

    return many


def _on_loop(
    loop: asyncio.AbstractEventLoop, call: Callable[[], Coroutine[Any, Any, Any]]
) -> Callable[[int], object]:
    """A batch runner that awaits `call` n times in a row on one warm loop."""

    async def many(n: int) -> None:
        for _ in range(n):
            await call()

    return lambda n: loop.run_until_complete(many(n))


def _close_loop(loop: asyncio.AbstractEventLoop, closing: Coroutine[Any, Any, Any]) -> None:
    loop.run_until_complete(closing)
    loop.close()


# --- ours: postmark_client ------------------------------------------------------------------


def _send_kwargs() -> dict[str, Any]:
    """The example message as the keyword arguments of `client.email.send`.

    Built through the request model so that the Python names come from the generated package
    itself (`from_`, `html_body`, ...), whatever the naming rules become.
    """
    from postmark_client import models

    request = models.SendEmailRequest.from_dict(canned.send_request())
    return {
        name: getattr(request, name)
        for name in request.__struct_fields__
        if name != "extra" and getattr(request, name) is not None
    }


def ours(base_url: str) -> Contender:
    from postmark_client import ServerClient

    client = ServerClient(token=TOKEN, base_url=base_url)
    kwargs = _send_kwargs()

    def send_once() -> Any:
        return client.email.send(**kwargs)

    def page_once() -> Any:
        return client.messages.search_outbound(count=PAGE_COUNT, offset=0)

    _check_send(send_once().message_id)
    _check_page(page_once().items, lambda item: item.message_id)
    return Contender(
        "postmark_client (ours)",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=client.close,
    )


def ours_keys_off(base_url: str) -> Contender:
    """Ours without the idempotency key: the key's cost is `ours` / this."""
    from postmark_client import ServerClient

    client = ServerClient(token=TOKEN, base_url=base_url, idempotency_keys=False)
    kwargs = _send_kwargs()

    def send_once() -> Any:
        return client.email.send(**kwargs)

    def page_once() -> Any:
        return client.messages.search_outbound(count=PAGE_COUNT, offset=0)

    _check_send(send_once().message_id)
    return Contender(
        "postmark_client, idempotency_keys=False",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=client.close,
    )


def ours_reconciling(base_url: str) -> Contender:
    """Every send reaches the server, then its answer is turned into a 500: the client
    reconciles it by one search (found at once, so no wait); `ours` minus this is the cost."""
    import httpx
    from postmark_client import ServerClient

    class StoredThen500(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = self.inner.handle_request(request)
            if request.method != "POST":
                return response
            response.read()
            response.close()
            return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal error."})

        def close(self) -> None:
            self.inner.close()

    client = ServerClient(token=TOKEN, base_url=base_url, transport=StoredThen500())
    kwargs = _send_kwargs()

    def send_once() -> Any:
        return client.email.send(**kwargs)

    def page_once() -> Any:
        return client.messages.search_outbound(count=PAGE_COUNT, offset=0)

    if send_once().message_id != _FIRST["MessageID"]:
        raise AssertionError("the reconciled send did not return the searched message")
    return Contender(
        "postmark_client, each send reconciled (500 after storing)",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=client.close,
        note="one search per send, found at once",
    )


def ours_async(base_url: str) -> Contender:
    from postmark_client import AsyncServerClient

    loop = asyncio.new_event_loop()
    client = AsyncServerClient(token=TOKEN, base_url=base_url)
    kwargs = _send_kwargs()

    async def send_once() -> Any:
        return await client.email.send(**kwargs)

    async def page_once() -> Any:
        return await client.messages.search_outbound(count=PAGE_COUNT, offset=0)

    _check_send(loop.run_until_complete(send_once()).message_id)
    _check_page(loop.run_until_complete(page_once()).items, lambda item: item.message_id)
    return Contender(
        "postmark_client AsyncServerClient (ours)",
        send=_on_loop(loop, send_once),
        page=_on_loop(loop, page_once),
        close=lambda: _close_loop(loop, client.close()),
    )


# --- the official SDK: postmark-python (imported as `postmark`) -----------------------------


def official(base_url: str) -> Contender:
    import postmark.sync

    # The sync client runs the async one on a background event-loop thread; base_url is its own
    # documented option for pointing it at a mock server.
    client = postmark.sync.ServerClient(TOKEN, base_url=base_url)
    body = canned.send_request()

    def send_once() -> Any:
        return client.outbound.send(dict(body))

    def page_once() -> Any:
        return client.outbound.list(**PAGE_QUERY)

    _check_send(send_once().message_id)
    _check_page(page_once().items, lambda item: item.message_id)
    return Contender(
        "postmark-python (official, postmark.sync)",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=client.close,
        note="sync wrapper over its async client (background loop thread)",
    )


def official_async(base_url: str) -> Contender:
    import postmark

    loop = asyncio.new_event_loop()
    client = postmark.ServerClient(TOKEN, base_url=base_url)
    body = canned.send_request()

    async def send_once() -> Any:
        return await client.outbound.send(dict(body))

    async def page_once() -> Any:
        return await client.outbound.list(**PAGE_QUERY)

    _check_send(loop.run_until_complete(send_once()).message_id)
    _check_page(loop.run_until_complete(page_once()).items, lambda item: item.message_id)
    return Contender(
        "postmark-python (official, async)",
        send=_on_loop(loop, send_once),
        page=_on_loop(loop, page_once),
        close=lambda: _close_loop(loop, client.close()),
    )


# --- postmarker -----------------------------------------------------------------------------


def postmarker(base_url: str) -> Contender:
    import io

    from postmarker.core import PostmarkClient

    # root_api_url is postmarker's constructor option; its log stream goes nowhere.
    client = PostmarkClient(
        server_token=TOKEN, root_api_url=base_url + "/", logs_stream=io.StringIO()
    )
    body = canned.send_request()
    body["Headers"] = {header["Name"]: header["Value"] for header in body["Headers"]}

    def send_once() -> Any:
        return client.emails.send(**body)

    def page_once() -> Any:
        return client.messages.outbound.all(**PAGE_QUERY)

    _check_send(send_once()["MessageID"])
    _check_page(page_once(), lambda item: item.MessageID)
    return Contender(
        "postmarker",
        send=_repeat(send_once),
        page=_repeat(page_once),
        close=client.session.close,
        note="requests-based; send returns a dict, messages wrap dicts (no datetime parsing)",
    )


SYNC = {
    "raw": raw_httpx,
    "ours": ours,
    "ours-keys-off": ours_keys_off,
    "ours-reconciling": ours_reconciling,
    "official": official,
    "postmarker": postmarker,
}
ASYNC = {"raw": raw_httpx_async, "ours": ours_async, "official": official_async}


def build(factory: Callable[[str], Contender], base_url: str) -> Contender:
    """Set a contender up; any failure becomes Unavailable with the reason."""
    try:
        return factory(base_url)
    except Exception as exc:  # a broken contender is reported, not fatal
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
