"""Helpers of the tests that cancel a keyed send while its request may be on its way: a
transport that holds a request at Postmark (the fake), the cancelling, and a watch on the
server's SentResults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx
import mcp
import pytest
from postmark_client import _base_client
from postmark_client.testing import FakePostmark


class _Unread(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


class Scripted(httpx.AsyncBaseTransport):
    """Requests reach the fake, but the first POSTs and GETs are answered as `posts` and
    `gets` say: "hold" (reach the fake, then never answer: `reached` is set and the call hangs
    until cancelled), "500" (reach the fake, answered 500), "401" (refused, not reaching it)."""

    def __init__(self, fake: FakePostmark, posts: list[str], gets: list[str] | None = None) -> None:
        self.inner = fake.transport()
        self.script = {"POST": list(posts), "GET": list(gets or [])}
        self.reached = asyncio.Event()
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.posts += request.method == "POST"
        steps = self.script.get(request.method) or ["pass"]
        step = steps.pop(0) if steps else "pass"
        if step == "401":
            return httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad token."})
        answer = await self.inner.handle_async_request(request)
        if step == "500":
            return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal error."})
        if step == "hold":
            self.reached.set()
            await asyncio.Event().wait()  # the answer never comes: the call is cancelled
        # Unread, as from the network (the gateway streams it): the fake's come already read.
        return httpx.Response(
            answer.status_code, headers=answer.headers, stream=_Unread(await answer.aread())
        )


async def cancelled(call: Coroutine[Any, Any, Any], transport: Scripted) -> None:
    """Run `call` until its request is held, then cancel it."""
    task = asyncio.create_task(call)
    await transport.reached.wait()
    transport.reached.clear()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class Watched:
    """A server's SentResults, with an event set when each call's `once` has ended."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ended = asyncio.Event()

    async def once(self, slot: Any, send: Any, repeated: Any = None) -> Any:
        try:
            return await self.inner.once(slot, send, repeated)
        finally:
            self.ended.set()


async def calls_around_a_cancel(
    server: Any, transport: Scripted, tool: str, args: Any, plain: int = 0
) -> list[Any]:
    """In one MCP session: `plain` calls of `tool`, then one cancelled (MCP
    `notifications/cancelled`) once its request is held, the server done with it before the
    next, then the same call again; the results of the calls not cancelled."""
    tools = server.postmark_tools
    watched = tools.sent = Watched(tools.sent)
    async with mcp.Client(server) as client:
        results = [await client.call_tool(tool, args) for _ in range(plain)]
        watched.ended.clear()
        await cancelled(client.call_tool(tool, args), transport)
        await watched.ended.wait()
        return [*results, await client.call_tool(tool, args)]


def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's waits between searches for a key end at once."""

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(_base_client, "_asyncio_sleep", no_wait)
