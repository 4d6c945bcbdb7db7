# Copied by postmark-codegen from templates/static/postmark_client/gateway/_app.py;
# edit it there and regenerate, not here.
"""The gateway as an ASGI app: Postmark's REST API at Postmark's own paths, checked per agent.

Each request is routed by the operation table (`OPERATIONS`), authenticated by the agent key in
the token header of the operation's kind, decided by the policy's one check (`AgentAccess.begin`,
the same code the library runs, which writes the audit row before anything is forwarded), then
forwarded with the gateway's own token; Postmark's answer comes back unchanged and streamed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

import anyio
import httpx

from .._base_client import api_error, connection_error, request_id_of
from .._meta import Operation, Token
from .._policy_store import PolicySource
from .._spec import DEFAULT_BASE_URL, TOKEN_ENV_VARS, TOKEN_HEADERS
from ..access import (
    AccessDeniedError,
    AgentAccess,
    ApprovalRequiredError,
    AuditCall,
    Policy,
)
from ..errors import ErrorCode
from ..testing._wire import route

__all__ = ["DEFAULT_BODY_LIMIT", "READ_TIMEOUT", "Gateway", "body_limit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")

DEFAULT_BODY_LIMIT: Final = 10 * 1024 * 1024
"""The largest body of an operation the spec states no byte limit for (Postmark's message size)."""
READ_TIMEOUT: Final = 30.0
"""Seconds a client has to send a whole request body."""
HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
_TOKEN_HEADERS: Final = {kind: name.lower().encode() for kind, name in TOKEN_HEADERS.items()}
# Never forwarded: hop-by-hop headers, any token the client sent (the gateway sends its own),
# and what httpx sets itself for the request it builds.
_NOT_FORWARDED: Final = (
    HOP_BY_HOP
    | frozenset(_TOKEN_HEADERS.values())
    | {
        b"host",
        b"content-length",
        b"authorization",
    }
)
_JSON: Final = (b"content-type", b"application/json; charset=utf-8")


def body_limit(op: Operation) -> int:
    """The largest request body Postmark takes for `op`: its largest byte limit in the spec."""
    return max(
        (limit.max for limit in op.limits if limit.unit == "bytes"), default=DEFAULT_BODY_LIMIT
    )


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def answer(
    send: Send, status: int, code: int | None, message: str, *, close: bool = False
) -> None:
    """An answer in Postmark's error shape: `{"ErrorCode": N, "Message": "..."}`."""
    payload: dict[str, Any] = {"ErrorCode": code, "Message": message}
    if code is None:
        del payload["ErrorCode"]
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Refused(Exception):
    """A request answered by the gateway itself (status, ErrorCode, Message)."""

    def __init__(self, status: int, code: int | None, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close


class Gateway:
    """The ASGI app of `postmark-gateway`.

    `tokens` are the gateway's real Postmark tokens by kind, `agent_tokens` the server token of
    each agent the policy gives a `server_token` (it takes the place of `tokens["server"]`);
    `upstream` is where they go;
    `mcp` (an ASGI app) answers under `/mcp`, with `mcp_lifespan` run for the app's lifetime;
    `console` (an ASGI app, the web console) answers under `/console`;
    `source` is where the policy comes from: under a store source, each request first checks
    the store's policy version and takes a change made at any gateway sharing the store.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        tokens: Mapping[Token, str | None],
        agent_tokens: Mapping[str, str] | None = None,
        upstream: str | None = None,
        read_timeout: float = READ_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        mcp: ASGIApp | None = None,
        mcp_lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
        console: ASGIApp | None = None,
        source: PolicySource | None = None,
    ) -> None:
        self.policy = policy
        self.source = source or PolicySource.from_file(policy)
        self.tokens = dict(tokens)
        self.agent_tokens = dict(agent_tokens or {})
        self.upstream = (upstream or DEFAULT_BASE_URL).rstrip("/")
        self.read_timeout = read_timeout
        self.mcp = mcp
        self.mcp_lifespan = mcp_lifespan
        self.console = console
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._access: dict[str, AgentAccess] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            try:
                if self.source.refresh():
                    self._access.clear()
            except Exception as exc:  # noqa: BLE001 - the store is gone: fail closed
                await answer(
                    send,
                    503,
                    ErrorCode.GATEWAY_STORE_UNAVAILABLE,
                    f"postmark-gateway cannot read its policy ({type(exc).__name__}); "
                    "nothing was sent",
                )
                return
            path: str = scope["path"]
            if self.mcp is not None and (path == "/mcp" or path.startswith("/mcp/")):
                await self.mcp(scope, receive, send)
                return
            if self.console is not None and (path == "/console" or path.startswith("/console/")):
                await self.console(scope, receive, send)
                return
            try:
                await self._proxy(scope, receive, send)
            except _Refused as refused:
                await answer(
                    send, refused.status, refused.code, refused.message, close=refused.close
                )

    # The app's lifetime ------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()
        async with AsyncExitStack() as stack:
            try:
                if self.mcp_lifespan is not None:
                    await stack.enter_async_context(self.mcp_lifespan())
            except Exception as exc:  # noqa: BLE001 - said to the server, which stops
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await self.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    def client(self) -> httpx.AsyncClient:
        """The upstream client of this process and event loop (made on first use)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(120.0, connect=10.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # One request -------------------------------------------------------------------------------

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        found = route(method, scope["path"])
        op = found.op
        if op is None:
            if found.path_known:
                raise _Refused(
                    405, ErrorCode.RESOURCE_NOT_FOUND, f"{method} is not allowed on {scope['path']}"
                )
            raise _Refused(404, ErrorCode.RESOURCE_NOT_FOUND, f"No such endpoint: {scope['path']}")
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        agent = self._agent(op, headers)
        token = (op.token == "server" and self.agent_tokens.get(agent)) or self.tokens.get(op.token)
        if not token:
            raise _Refused(
                502,
                ErrorCode.GATEWAY_UPSTREAM_FAILED,
                f"postmark-gateway holds no {op.token} token for {op.id}: set "
                f"{TOKEN_ENV_VARS[op.token]} in the gateway's environment",
            )
        body = await self._read_body(op, headers, receive)
        data = _parse(body)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        try:
            call = await self._store(
                self._access_of(agent).begin,
                op,
                data,
                found.values,
                query,
                f"{op.token} token \u2026{token[-4:]}",
            )
        except ApprovalRequiredError as exc:
            raise _Refused(422, ErrorCode.APPROVAL_REQUIRED, str(exc)) from None
        except AccessDeniedError as exc:
            raise _Refused(422, ErrorCode.AGENT_ACCESS_DENIED, str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - no durable row, nothing forwarded: fail closed
            raise _Refused(
                503,
                ErrorCode.GATEWAY_STORE_UNAVAILABLE,
                f"postmark-gateway cannot write its audit log ({type(exc).__name__}: {exc}); "
                "nothing was sent",
            ) from None
        raw_query: bytes = scope.get("query_string", b"")
        request = self.client().build_request(
            method,
            self.upstream
            + scope["raw_path"].decode("latin-1")
            + (f"?{raw_query.decode('latin-1')}" if raw_query else ""),
            headers=[*_forwarded(headers), (_TOKEN_HEADERS[op.token], token.encode("latin-1"))],
            content=body,
        )
        try:
            response = await self.client().send(request, stream=True)
        except httpx.RequestError as exc:
            failure = connection_error(op, exc, self.upstream)
            await self._finish(call.failed, failure)
            raise _Refused(502, ErrorCode.GATEWAY_UPSTREAM_FAILED, str(failure)) from None
        try:
            await self._relay(op, response, call, send)
        finally:
            await response.aclose()

    def _agent(self, op: Operation, headers: list[tuple[bytes, bytes]]) -> str:
        """The agent whose key the operation's token header holds; 401 as Postmark answers."""
        kind = op.token
        key = _header(headers, _TOKEN_HEADERS[kind])
        refusal = f"Request does not contain a valid {kind.capitalize()} token."
        if key is None:
            other: Token = "account" if kind == "server" else "server"
            if _header(headers, _TOKEN_HEADERS[other]) is not None:
                refusal += (
                    f" {op.id} takes a key in {TOKEN_HEADERS[kind]}; this request sent one in "
                    f"{TOKEN_HEADERS[other]}."
                )
            raise _Refused(401, ErrorCode.INVALID_API_TOKEN, refusal)
        try:
            # The policy's key_sha256, else a key kept in the store (`Policy.key_lookup`).
            agent = self.policy.agent_for_key(key.strip())
        except Exception as exc:  # noqa: BLE001 - the store is gone: fail closed
            raise _Refused(
                503,
                ErrorCode.GATEWAY_STORE_UNAVAILABLE,
                f"postmark-gateway cannot read its agent keys ({type(exc).__name__})",
            ) from None
        if agent is not None:
            return agent.name
        raise _Refused(401, ErrorCode.INVALID_API_TOKEN, refusal)

    async def _store(self, work: Callable[..., T], *args: Any) -> T:
        """A call that writes the audit log, made inline: a row is a few hundred microseconds
        (SQLite, or PostgreSQL on a near host), less than a thread hop costs each call; the
        store fails fast (connect and statement timeouts) when it is gone."""
        return work(*args)

    async def _finish(self, outcome: Callable[..., None], *args: Any) -> None:
        """Record a call's outcome durably before answering: other processes (`postmark audit
        --follow`, the other gateways) read the log, and the in-process client's wait for the
        next call's write would leave them a row `unknown` meanwhile."""
        outcome(*args)
        log = self.policy.log
        if log is not None:
            log.flush()

    def _access_of(self, agent: str) -> AgentAccess:
        found = self._access.get(agent)
        if found is None:
            found = self._access[agent] = self.policy.access(agent)
        return found

    async def _read_body(
        self, op: Operation, headers: list[tuple[bytes, bytes]], receive: Receive
    ) -> bytes:
        """The whole body, refused (413) past the operation's limit before reading the rest and
        (408) when it does not arrive within `read_timeout`."""
        limit = body_limit(op)
        declared = _header(headers, b"content-length")
        too_big = f"The request is over {limit} bytes, the most Postmark takes for {op.id}."
        if declared is not None:
            if not declared.strip().isdigit():
                raise _Refused(400, None, "Content-Length is not a number.", close=True)
            if int(declared) > limit:
                raise _Refused(413, ErrorCode.INVALID_EMAIL_REQUEST, too_big, close=True)
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.read_timeout) as timer:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Refused(400, None, "The client went away.", close=True)
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _Refused(413, ErrorCode.INVALID_EMAIL_REQUEST, too_big, close=True)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if timer.cancelled_caught:
            raise _Refused(
                408, None, f"The request body did not arrive within {self.read_timeout:g} s.", True
            )
        return b"".join(chunks)

    async def _relay(
        self, op: Operation, response: httpx.Response, call: AuditCall, send: Send
    ) -> None:
        """Postmark's status, headers (less hop-by-hop ones) and body as it arrives; the row is
        completed once the answer is out (a process killed before that leaves `unknown`)."""
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        failed = response.status_code >= 400
        kept: list[bytes] = []
        held = b""  # each chunk goes out when the next arrives, the last one as the end
        try:
            async for chunk in response.aiter_raw():
                if failed:
                    kept.append(chunk)
                if held:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
        except httpx.HTTPError as exc:
            await send({"type": "http.response.body", "body": held})
            if failed:
                failure = connection_error(op, _as_request_error(exc, response), self.upstream)
                await self._finish(call.failed, failure)
            else:
                await self._finish(call.done, None, request_id_of(response))
            return
        # The outcome is durable before the answer ends: a client reading the log next sees it.
        if failed:
            await self._finish(call.failed, api_error(op, _replayed(response, b"".join(kept))))
        else:
            await self._finish(call.done, None, request_id_of(response))
        await send({"type": "http.response.body", "body": held})


def _parse(body: bytes) -> Any:
    """The JSON body (None when empty); 422 with Postmark's InvalidJson when it is not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise _Refused(422, ErrorCode.INVALID_JSON, "The request body is not valid JSON.") from None


def _forwarded(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The client's headers less hop-by-hop ones (and those its Connection header names)."""
    named = {
        part.strip().lower().encode("latin-1")
        for key, value in headers
        if key.lower() == b"connection"
        for part in value.decode("latin-1").split(",")
    }
    return [
        (k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED and k.lower() not in named
    ]


def _replayed(response: httpx.Response, raw: bytes) -> httpx.Response:
    """An error answer rebuilt from its raw bytes, for the audit row's ErrorCode and Message."""
    try:
        return httpx.Response(
            response.status_code, headers=response.headers, content=raw, request=response.request
        )
    except httpx.DecodingError:
        return httpx.Response(response.status_code, content=b"", request=response.request)


def _as_request_error(exc: httpx.HTTPError, response: httpx.Response) -> httpx.RequestError:
    if isinstance(exc, httpx.RequestError):
        return exc
    return httpx.ReadError(str(exc), request=response.request)
