"""The gateway as an ASGI app: Postmark's REST API at Postmark's own paths, checked per agent.

Each request is routed by the operation table (`OPERATIONS`), authenticated by the agent key in
the token header of the operation's kind, decided by the policy's one check (`AgentAccess.begin`,
the same code the library runs, which writes the audit row before anything is forwarded), then
forwarded with the gateway's own token; Postmark's answer comes back unchanged and streamed.

A send whose Metadata carries an idempotency key is sent once for every gateway sharing the
store (`StoreSent`): a repeat is answered with the first answer, unchanged, and recorded as
reconciled; in a batch each message by its own key, only the new ones forwarded; a bulk request
by the one key its recipients carry (`bulk_slot`), which Postmark cannot be searched for, so one
that may have gone out is never sent again with that key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from itertools import pairwise
from typing import Any, Final, cast
from urllib.parse import parse_qsl

import anyio
import httpcore
import httpx

from .._base_client import api_error, build_query, connection_error, request_id_of
from .._idempotency import (
    IDEMPOTENCY_METADATA_KEY,
    ambiguous_status,
    first_found,
    is_ambiguous,
    search_query,
    send_answer,
)
from .._meta import Operation, Token
from .._operations import OPERATIONS
from .._policy_store import PolicySource
from .._sent_once import (
    Claim,
    NotSearchableError,
    SendInProgressError,
    SentStore,
    SentStoreError,
    Slot,
    StoreSent,
    message_id_of,
)
from .._spec import DEFAULT_BASE_URL, TOKEN_ENV_VARS, TOKEN_HEADERS
from ..access import (
    AccessDeniedError,
    AgentAccess,
    ApprovalRequiredError,
    AuditCall,
    Policy,
)
from ..errors import ErrorCode, RequestValidationError
from ..testing._wire import route
from ._upstream import UpstreamTransport

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "READ_TIMEOUT",
    "Gateway",
    "body_limit",
    "sent_results",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

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
_TIMEOUTS: Final = httpx.Timeout(120.0, connect=10.0)
"""Upstream waits: 10 s to connect, 120 s for each read, write and free connection."""
_TIMEOUT: Final = _TIMEOUTS.as_dict()


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


def sent_results(policy: Policy) -> StoreSent | None:
    """The sends by idempotency key kept in the policy's store (shared by every gateway that
    uses it), or None for a store that cannot keep them."""
    log = policy.log
    return StoreSent(cast(SentStore, log)) if hasattr(log, "sent_once") else None


def once_slot(agent: str, op: Operation, data: Any) -> Slot | None:
    """(agent, operation, key) of a one-message send whose body carries an idempotency key in
    its Metadata (`idempotency_key`) and that can be searched for; None for any other call."""
    field = op.idempotency_metadata
    if field is None or "." in field or op.reconcile_with is None or not isinstance(data, dict):
        return None
    key = _key_in(data, field)
    return (agent, op.id, key) if key is not None else None


def batch_slots(agent: str, op: Operation, data: Any) -> list[Slot | None] | None:
    """Each message's slot (None for one without a key) of a batch send in which at least one
    message carries an idempotency key in its Metadata; None for any other call."""
    entries = batch_entries(op, data)
    field = op.idempotency_metadata
    if entries is None or field is None or "." in field or op.reconcile_with is None:
        return None
    slots = [once_slot(agent, op, entry) for entry in entries]
    return slots if any(slots) else None


def bulk_slot(agent: str, op: Operation, data: Any) -> Slot | None:
    """(agent, operation, key) of a bulk request whose recipients carry one idempotency key
    with their index appended (`<key>-0`, `<key>-1`, ..., as the client stamps them): the
    request is sent once per `<key>`. None for a request no recipient of which carries a key;
    RequestValidationError (naming the recipient) when only some do, or not so."""
    field = op.idempotency_metadata
    if field is None or "." not in field or op.batch or not isinstance(data, dict):
        return None
    holder, inner = field.split(".", 1)
    entries = data.get(holder)
    if not isinstance(entries, list):
        return None
    keys = [_key_in(entry, inner) for entry in entries]
    if not any(keys):
        return None
    base = keys[0][:-2] if keys[0] and keys[0].endswith("-0") else ""
    for index, key in enumerate(keys):
        if not base or key != f"{base}-{index}":
            raise RequestValidationError(
                f"{holder}[{index}].{inner}.{IDEMPOTENCY_METADATA_KEY}",
                f"is {key!r}; the recipients of a keyed bulk request carry one key with their "
                f"index appended ('<key>-{index}')",
            )
    return (agent, op.id, base)


def _key_in(message: Any, field: str) -> str | None:
    """The idempotency key in a message's Metadata (`field`), or None."""
    metadata = message.get(field) if isinstance(message, dict) else None
    key = metadata.get(IDEMPOTENCY_METADATA_KEY) if isinstance(metadata, dict) else None
    return key if isinstance(key, str) and key else None


def batch_entries(op: Operation, data: Any) -> list[Any] | None:
    """The messages of a batch body: the body itself, or its list field (`Messages`)."""
    if not op.batch:
        return None
    field = _batch_field(op)
    entries = data.get(field) if field is not None and isinstance(data, dict) else data
    return entries if isinstance(entries, list) else None


def _batch_field(op: Operation) -> str | None:
    """The field that holds a batch body's messages (None: the body is the list)."""
    for limit in op.limits:
        if limit.scope == "request" and limit.unit == "items":
            return limit.field or None
    return None


_CLAIM_FAILURES: Final = (
    SendInProgressError,
    SentStoreError,
    NotSearchableError,
    httpx.HTTPError,
    ValueError,
)


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
        self._transport = transport or UpstreamTransport()
        self._client: httpx.AsyncClient | None = None
        url = httpx.URL(self.upstream)
        port = url.port or (443 if url.scheme == "https" else 80)
        self._origin = httpcore.Origin(url.raw_scheme, url.raw_host, port)
        self._origin_url = f"{url.scheme}://{url.netloc.decode('ascii')}"
        self._host = (b"host", url.netloc)
        self._base_path = url.raw_path.rstrip(b"/")
        self._access: dict[str, AgentAccess] = {}
        self.sent = sent_results(policy)

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
                timeout=_TIMEOUTS,
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
        label = f"{op.token} token \u2026{token[-4:]}"

        def begin(sent: Any) -> AuditCall:
            return self._begin(agent, op, sent, found.values, query, label)

        slot = None
        if self.sent is not None:
            slots = batch_slots(agent, op, data)
            if slots is not None:
                await self._batch(op, slots, data, body, token, scope, begin, send)
                return
            try:
                slot = once_slot(agent, op, data) or bulk_slot(agent, op, data)
            except RequestValidationError as exc:
                raise await self._invalid(begin, exc) from None
        owner = None
        if slot is None:
            call = begin(data)
        else:
            claimed = await self._claim(op, slot, token, data, begin, send)
            if claimed is None:
                return
            call, owner = claimed
        try:
            response = await self._forward(scope, op, token, body)
        except httpx.RequestError as exc:
            failure = connection_error(op, exc, self.upstream)
            if slot is not None and owner is not None:
                self._settle(slot, owner, None, is_ambiguous(failure))
            await self._finish(call.failed, failure)
            raise _Refused(502, ErrorCode.GATEWAY_UPSTREAM_FAILED, str(failure)) from None
        except BaseException as exc:  # cancelled while the request may have left
            if slot is not None and owner is not None:
                self._settle(slot, owner, None, True)
            await self._finish(call.failed, exc)
            raise
        try:
            answered = await self._relay(op, response, call, send, keep=slot is not None)
        except BaseException:  # cancelled, or the client gone, with Postmark's answer unread
            if slot is not None and owner is not None:
                self._settle(slot, owner, None, True)
            raise
        finally:
            await response.aclose()
        if slot is not None and owner is not None:
            status = response.status_code
            ok = answered is not None and 200 <= status < 300
            sent = _replayed(response, answered).content if ok and answered is not None else None
            self._settle(slot, owner, sent, answered is None or ambiguous_status(status))

    async def _forward(
        self, scope: Scope, op: Operation, token: str, body: bytes
    ) -> httpx.Response:
        """The request as the client sent it, less hop-by-hop headers and its token, with the
        gateway's token, to upstream; the answer streamed."""
        raw_query: bytes = scope.get("query_string", b"")
        target = self._base_path + scope["raw_path"] + (b"?" + raw_query if raw_query else b"")
        headers = [
            *_forwarded(scope["headers"]),
            (_TOKEN_HEADERS[op.token], token.encode("latin-1")),
        ]
        transport = self._transport
        if not isinstance(transport, UpstreamTransport):
            request = self.client().build_request(
                scope["method"], self._origin_url + target.decode("latin-1"), headers=headers,
                content=body,
            )  # fmt: skip
            return await self.client().send(request, stream=True)
        headers.append(self._host)
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        method = scope["method"].encode("ascii")
        return await transport.forward(self._origin, method, target, headers, body, _TIMEOUT)

    # Sends by idempotency key ------------------------------------------------------------------

    async def _claim(
        self,
        op: Operation,
        slot: Slot,
        token: str,
        data: Any,
        begin: Callable[[Any], AuditCall],
        send: Send,
    ) -> tuple[AuditCall, str] | None:
        """The call's row and the claim to forward this send (its owner), or None when it was
        answered with its key's first result. The key is claimed, and searched for when an
        earlier call may have sent it, before the row is written: a repeat sends nothing, so
        its row (checked by grant: the message was checked when it was sent) counts toward no
        send quota."""
        claim = await self._claimed(slot, begin)
        first = claim.result.encode("utf-8") if claim.result is not None else None
        if claim.owner is not None and claim.retry:
            try:
                first = await self._search_first(op, token, slot, claim.owner, data)
            except _CLAIM_FAILURES as exc:
                raise await self._refusal(begin(None), exc, slot[2]) from None
        if claim.owner is None or first is not None:
            await self._answer_first(begin(None), first or b"", send)
            return None
        try:
            call = begin(data)
        except _Refused:
            self._settle(slot, claim.owner, None, claim.retry)
            raise
        return call, claim.owner

    async def _claimed(self, slot: Slot, begin: Callable[[Any], AuditCall]) -> Claim:
        """The key's claim or first result; refused (its row says why) when the key is held
        past the wait or the store cannot be used."""
        assert self.sent is not None
        try:
            return await self.sent.claim(slot)
        except (SendInProgressError, SentStoreError) as exc:
            raise await self._refusal(begin(None), exc, slot[2]) from None

    async def _search_first(
        self, op: Operation, token: str, slot: Slot, owner: str, message: Any
    ) -> bytes | None:
        """The answer of an earlier call with this key that Postmark holds (now kept as the
        key's result), or None to send it: the claim was taken over from a call that may have
        sent it. Raises what searching raises (the claim given back as uncertain)."""
        try:
            if op.reconcile_with is None:
                raise NotSearchableError(op.id, slot[2])
            found = await self._search_key(op, token, slot[2])
        except BaseException:
            self._settle(slot, owner, None, True)
            raise
        if found is None:
            return None
        answer = json.dumps(send_answer(message, found), ensure_ascii=False).encode("utf-8")
        self._settle(slot, owner, answer, False)
        return answer

    async def _refusal(self, call: AuditCall, exc: Exception, key: str) -> _Refused:
        """The answer to a send whose key could not be claimed (its row says why)."""
        await self._finish(call.failed, exc)
        if isinstance(exc, SendInProgressError):
            return _Refused(409, ErrorCode.GATEWAY_SEND_IN_PROGRESS, str(exc))
        if isinstance(exc, SentStoreError):
            return _Refused(503, ErrorCode.GATEWAY_STORE_UNAVAILABLE, str(exc))
        if isinstance(exc, NotSearchableError):
            return _Refused(502, ErrorCode.GATEWAY_UPSTREAM_FAILED, str(exc))
        return _Refused(
            502,
            ErrorCode.GATEWAY_UPSTREAM_FAILED,
            f"an earlier call with idempotency key {key!r} may have sent the message, and the "
            f"search for the key failed ({type(exc).__name__}: {exc}); nothing was sent again",
        )

    async def _invalid(
        self, begin: Callable[[Any], AuditCall], error: RequestValidationError
    ) -> _Refused:
        """A send refused for its keys (422, Postmark's InvalidEmailRequest); its row says why."""
        await self._finish(begin(None).failed, error)
        return _Refused(422, ErrorCode.INVALID_EMAIL_REQUEST, str(error))

    async def _batch(
        self,
        op: Operation,
        slots: list[Slot | None],
        data: Any,
        body: bytes,
        token: str,
        scope: Scope,
        begin: Callable[[Any], AuditCall],
        send: Send,
    ) -> None:
        """A batch whose messages carry keys: each keyed message answered with its first
        result or claimed, only the others forwarded (the body unchanged when that is all of
        them), and the answer put together in the messages' order. The row, written after the
        claims, holds only the messages that may be sent, so repeats count toward no quota."""
        entries = batch_entries(op, data) or []
        keyed = sorted((slot[2], index) for index, slot in enumerate(slots) if slot is not None)
        for (key, index), (other, later) in pairwise(keyed):
            if key == other:
                raise await self._invalid(
                    begin,
                    RequestValidationError(
                        f"[{later}].Metadata.{IDEMPOTENCY_METADATA_KEY}",
                        f"is message {index}'s key too ({key!r}); give each message its own",
                    ),
                )
        held, answers = await self._claim_batch(slots, keyed, begin)
        await self._search_batch(op, token, slots, entries, held, answers, begin)
        pending = [index for index in range(len(entries)) if index not in answers]
        try:
            call = begin(_part(op, data, entries, pending) if pending else None)
        except _Refused:
            self._give_back(slots, held, False)
            raise
        if not pending:
            answer = json.dumps([answers[i] for i in range(len(entries))], ensure_ascii=False)
            await self._answer_first(call, answer.encode("utf-8"), send)
            return
        if len(pending) < len(entries):
            body = _json(_part(op, data, entries, pending))
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        try:
            response = await self.client().post(
                self.upstream + scope["raw_path"].decode("latin-1"),
                headers=[*_forwarded(headers), (_TOKEN_HEADERS[op.token], token.encode("latin-1"))],
                content=body,
            )
        except httpx.RequestError as exc:
            failure = connection_error(op, exc, self.upstream)
            self._give_back(slots, held, is_ambiguous(failure))
            await self._finish(call.failed, failure)
            raise _Refused(502, ErrorCode.GATEWAY_UPSTREAM_FAILED, str(failure)) from None
        except BaseException as exc:  # cancelled while the batch may have left
            self._give_back(slots, held, True)
            await self._finish(call.failed, exc)
            raise
        results = _batch_results(response, len(pending))
        if results is None:
            self._give_back(slots, held, ambiguous_status(response.status_code))
            await self._finish(call.failed, api_error(op, response))
            await _answer_raw(send, response.status_code, response.headers, response.content)
            return
        for index, result in zip(pending, results):
            answers[index] = result
            slot, owner = slots[index], held[index].owner if index in held else None
            if slot is not None and owner is not None:
                sent = isinstance(result, dict) and result.get("ErrorCode") == 0
                self._settle(slot, owner, _json(result) if sent else None, False)
        merged = response.content
        if len(pending) < len(entries):
            merged = _json([answers[i] for i in range(len(entries))])
        await self._finish(call.done, None, request_id_of(response))
        await _answer_raw(send, response.status_code, response.headers, merged)

    async def _claim_batch(
        self,
        slots: list[Slot | None],
        keyed: list[tuple[str, int]],
        begin: Callable[[Any], AuditCall],
    ) -> tuple[dict[int, Claim], dict[int, Any]]:
        """The claims of a batch's keyed messages and the first results of its repeats, by
        index; refused (every claim given back, its row saying why) when one cannot be had.
        Claimed in the order of their keys, so two batches sharing keys cannot each hold one
        the other waits for."""
        assert self.sent is not None
        held: dict[int, Claim] = {}
        answers: dict[int, Any] = {}
        key = ""
        try:
            for key, index in keyed:
                slot = slots[index]
                if slot is not None:
                    claim = await self.sent.claim(slot)
                    if claim.owner is None:
                        answers[index] = json.loads(claim.result or "null")
                    else:
                        held[index] = claim
        except BaseException as exc:  # nothing sent: the claims given back
            self._give_back(slots, held, False)
            if isinstance(exc, (SendInProgressError, SentStoreError, ValueError)):
                raise await self._refusal(begin(None), exc, key) from None
            raise
        return held, answers

    async def _search_batch(
        self,
        op: Operation,
        token: str,
        slots: list[Slot | None],
        entries: list[Any],
        held: dict[int, Claim],
        answers: dict[int, Any],
        begin: Callable[[Any], AuditCall],
    ) -> None:
        """Search Postmark for each message whose claim was taken over from a call that may
        have sent it: a found one moves from `held` to `answers`; refused (nothing forwarded,
        the claims given back) when a search fails or is cancelled."""
        key = ""
        try:
            for index, claim in sorted(held.items()):
                slot = slots[index]
                if claim.retry and slot is not None and claim.owner is not None:
                    key = slot[2]
                    del held[index]  # the search settles it when it finds it or fails
                    first = await self._search_first(op, token, slot, claim.owner, entries[index])
                    if first is None:
                        held[index] = claim
                    else:
                        answers[index] = json.loads(first)
        except BaseException as exc:
            self._give_back(slots, held, False)
            if isinstance(exc, _CLAIM_FAILURES):
                raise await self._refusal(begin(None), exc, key) from None
            raise

    def _give_back(
        self, slots: list[Slot | None], held: dict[int, Claim], maybe_sent: bool
    ) -> None:
        """Give back the claims of messages not sent: left uncertain when this call may have
        sent them (`maybe_sent`) or the claim was taken over from one that may have, else
        freed."""
        for index, claim in held.items():
            slot = slots[index]
            if slot is not None and claim.owner is not None:
                self._settle(slot, claim.owner, None, maybe_sent or claim.retry)

    async def _search_key(self, op: Operation, token: str, key: str) -> Any:
        """The message Postmark holds with this idempotency key, or None."""
        search = OPERATIONS[op.reconcile_with or ""]
        pairs: list[tuple[str, Any]] = list(build_query(search, search_query(key)))
        response = await self.client().get(
            self.upstream + search.path,
            params=pairs,
            headers={TOKEN_HEADERS[search.token]: token, "Accept": "application/json"},
        )
        response.raise_for_status()
        return first_found(response.json())

    async def _answer_first(self, call: AuditCall, body: bytes, send: Send) -> None:
        """Answer the first result of the call's key, unchanged; its row says so."""
        try:
            message_id = message_id_of(json.loads(body))
        except ValueError:
            message_id = None
        await self._finish(call.reconciled, message_id)
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _settle(self, slot: Slot, owner: str, answer: bytes | None, maybe_sent: bool) -> None:
        """Keep the answer of a send (`answer`), or give the claim up."""
        assert self.sent is not None
        try:
            if answer is not None:
                try:
                    message_id = message_id_of(json.loads(answer))
                except ValueError:
                    message_id = None
                self.sent.record(slot, owner, answer.decode("utf-8", "replace"), message_id)
            else:
                self.sent.release(slot, owner, maybe_sent)
        except SentStoreError:
            # The answer is the caller's already; the claim, left as it is, is taken over
            # after its lease by a call that searches Postmark for the key first.
            pass

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

    async def _finish(self, outcome: Callable[..., None], *args: Any) -> None:
        """Record a call's outcome durably before answering: other processes (`postmark audit
        --follow`, the other gateways) read the log, and the in-process client's wait for the
        next call's write would leave them a row `unknown` meanwhile."""
        outcome(*args)
        log = self.policy.log
        if log is not None:
            log.flush()

    def _begin(
        self,
        agent: str,
        op: Operation,
        data: Any,
        path: Mapping[str, Any],
        query: Mapping[str, Any],
        label: str,
    ) -> AuditCall:
        """Decide the call and write its row (made inline: a row is a few hundred microseconds,
        less than a thread hop costs, and the store fails fast when it is gone); refused when
        denied, held for approval, or when the row cannot be written (fail closed)."""
        try:
            return self._access_of(agent).begin(op, data, path, query, label)
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
        self, op: Operation, response: httpx.Response, call: AuditCall, send: Send, keep: bool
    ) -> bytes | None:
        """Postmark's status, headers (less hop-by-hop ones) and body as it arrives; the row is
        completed before its last chunk goes out, so a caller that has the whole answer finds the
        outcome in the log (a process killed before that leaves `unknown`). The body as relayed
        (kept whole for an error or with `keep`), None if it broke off."""
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        failed = response.status_code >= 400
        kept: list[bytes] = []
        held = b""  # each chunk goes out when the next arrives, the last one as the end
        try:
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            async for chunk in response.aiter_raw():
                if failed or keep:
                    kept.append(chunk)
                if held:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
        except httpx.HTTPError as exc:
            if failed:
                failure = connection_error(op, _as_request_error(exc), self.upstream)
                await self._finish(call.failed, failure)
            else:
                await self._finish(call.done, None, request_id_of(response))
            await send({"type": "http.response.body", "body": held})
            return None
        except BaseException as exc:  # stopped before the outcome was known
            await self._finish(call.failed, exc)
            raise
        # The outcome is durable before the answer ends: a client reading the log next sees it.
        if failed:
            await self._finish(call.failed, api_error(op, _replayed(response, b"".join(kept))))
        else:
            await self._finish(call.done, None, request_id_of(response))
        await send({"type": "http.response.body", "body": held})
        return b"".join(kept)


def _parse(body: bytes) -> Any:
    """The JSON body (None when empty); 422 with Postmark's InvalidJson when it is not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise _Refused(422, ErrorCode.INVALID_JSON, "The request body is not valid JSON.") from None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _part(op: Operation, data: Any, entries: list[Any], indexes: list[int]) -> Any:
    """A batch body with only the messages at `indexes` (the body itself when that is all)."""
    if len(indexes) == len(entries):
        return data
    part = [entries[i] for i in indexes]
    field = _batch_field(op)
    return {**data, field: part} if field else part


def _batch_results(response: httpx.Response, count: int) -> list[Any] | None:
    """The per-message results of a 2xx batch answer for `count` messages, else None."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        results = response.json()
    except ValueError:
        return None
    return results if isinstance(results, list) and len(results) == count else None


async def _answer_raw(send: Send, status: int, headers: httpx.Headers, body: bytes) -> None:
    """An upstream answer read whole (and decoded): its headers less hop-by-hop ones and the
    body's own framing, which is said again for `body`."""
    framing = HOP_BY_HOP | {b"content-length", b"content-encoding"}
    kept = [(k, v) for k, v in headers.raw if k.lower() not in framing]
    kept.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": kept})
    await send({"type": "http.response.body", "body": body})


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
        return httpx.Response(response.status_code, headers=response.headers, content=raw)
    except httpx.DecodingError:
        return httpx.Response(response.status_code, content=b"")


def _as_request_error(exc: httpx.HTTPError) -> httpx.RequestError:
    if isinstance(exc, httpx.RequestError):
        return exc
    return httpx.ReadError(str(exc))
