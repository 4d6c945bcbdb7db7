"""The gateway's connections to Postmark: kept alive, each request on an idle one or a new one.

httpx's own pool (httpcore's) looks through every connection for every queued request at each
request's start and end, and asks each connection's socket whether it is still open as it goes:
at 20 concurrent requests that costs more CPU than the request itself. Here a request takes the
most recently used idle connection (checked once) and gives it back when its answer has been
read; an answer closed early closes its connection, as httpcore does.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import anyio
import httpcore
import httpx

__all__ = ["KEEPALIVE", "KEEPALIVE_SECONDS", "MAX_CONNECTIONS", "UpstreamTransport"]

MAX_CONNECTIONS: Final = 256
"""Connections open to upstream at once; a request past them waits for one (its pool timeout)."""
KEEPALIVE: Final = 64
"""Idle connections kept for the next requests."""
KEEPALIVE_SECONDS: Final = 5.0
"""How long an idle connection is kept."""


@contextmanager
def _as_httpx() -> Iterator[None]:
    """httpcore's exceptions as httpx's of the same name (what the gateway's callers catch)."""
    try:
        yield
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        mapped = getattr(httpx, type(exc).__name__, httpx.TransportError)
        raise mapped(str(exc)) from exc
    except httpcore.UnsupportedProtocol as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc


class UpstreamTransport(httpx.AsyncBaseTransport):
    """An httpx transport over a list of idle HTTP/1.1 connections per origin."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._slots = anyio.Semaphore(MAX_CONNECTIONS)

    def _idle_at(self, origin: httpcore.Origin) -> list[httpcore.AsyncHTTPConnection]:
        return self._idle.setdefault((origin.scheme, origin.host, origin.port), [])

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        """The most recently used idle connection still open, else a new one."""
        idle = self._idle_at(origin)
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin, ssl_context=self._ssl, keepalive_expiry=KEEPALIVE_SECONDS
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or _port(url.raw_scheme))
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        return await self._exchange(origin, core)

    async def forward(
        self,
        origin: httpcore.Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        timeout: Mapping[str, float | None],
    ) -> httpx.Response:
        """Send a request exactly as given (its Host and Content-Length too), past httpx's
        client and its URL parsing, header merging and cookie jar; its answer, streamed (the
        response has no `request`)."""
        url = httpcore.URL(scheme=origin.scheme, host=origin.host, port=origin.port, target=target)
        core = httpcore.Request(
            method, url, headers=headers, content=content, extensions={"timeout": timeout}
        )
        return await self._exchange(origin, core)

    async def _exchange(self, origin: httpcore.Origin, core: httpcore.Request) -> httpx.Response:
        timeouts = core.extensions.get("timeout", {})
        try:
            with anyio.fail_after(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"no connection to {origin} came free in time") from None
        try:
            # Closing a stale idle connection may fail or be cancelled: the slot is given back.
            connection = await self._take(origin)
        except BaseException:
            self._slots.release()
            raise
        try:
            with _as_httpx():
                response = await connection.handle_async_request(core)
        except BaseException:
            await self._done(origin, connection)
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(self, origin, connection, response),
            extensions=response.extensions,
        )

    async def _done(
        self, origin: httpcore.Origin, connection: httpcore.AsyncHTTPConnection
    ) -> None:
        """Keep a connection whose exchange ended cleanly for the next request, else close it."""
        self._slots.release()
        idle = self._idle_at(origin)
        if connection.is_idle() and not connection.is_closed() and len(idle) < KEEPALIVE:
            idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            while idle:
                await idle.pop().aclose()


class _Body(httpx.AsyncByteStream):
    """An answer's body; closing it gives its connection back."""

    def __init__(
        self,
        transport: UpstreamTransport,
        origin: httpcore.Origin,
        connection: httpcore.AsyncHTTPConnection,
        response: httpcore.Response,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: httpcore.AsyncHTTPConnection | None = connection
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            with _as_httpx():
                await self._response.aclose()
        finally:
            await self._transport._done(self._origin, connection)


def _port(scheme: bytes) -> int:
    return 443 if scheme == b"https" else 80
