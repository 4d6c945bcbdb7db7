# Copied by postmark-codegen from templates/static/postmark_client/testing/_fake.py;
# edit it there and regenerate, not here.
"""`FakePostmark`: a stateful, in-memory Postmark for tests and demos.

Every operation of the spec is routed from the operation table (method and path template) to
its handler (`_handlers.HANDLERS`, keyed by operationId), after the same checks Postmark makes:
the right kind of token (401 otherwise), path values, query parameters and body against the spec
(422 with Postmark's ErrorCode otherwise). Use it in-process through `transport()` (an
`httpx.MockTransport` for sync and async clients) or over real HTTP with `serve()`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from .._meta import Operation, Token
from .._spec import TOKEN_HEADERS, WEBHOOK_RECORD_TYPES
from ..errors import ErrorCode
from ._faults import FAULT_BODIES, Faults
from ._handlers import BODY_ERRORS, HANDLERS, QUERY_ERRORS, QUERY_PARAM_ERRORS
from ._resources import Call, not_found
from ._resources import serve as serve_resource
from ._state import EASTERN, Ids, JsonObject, Rejected, ServerState, eastern_now
from ._webhooks import WebhookDelivery, Webhooks
from ._wire import BODIES, check_object, normalize, read_path, read_query, route
from ._world import InboundMail, World

if TYPE_CHECKING:
    from ._server import FakeServer

__all__ = ["FakePostmark", "FakeResponse", "RecordedCall", "fixed_clock"]

T = TypeVar("T")
# The token Postmark accepts for sends that are validated but never delivered.
TEST_TOKEN = "POSTMARK_API_TEST"


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """What the fake answers: status, headers and the JSON body as bytes."""

    status: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request the fake answered: which operation (None when no route), status, and
    whether the answer was an injected fault."""

    operation_id: str | None
    method: str
    path: str
    status: int
    fault: bool = False


FAKE_SERVER_TOKEN: Final = "fake-server-token"
"""The fake's server token unless it is given another: obviously not a real one."""
FAKE_ACCOUNT_TOKEN: Final = "fake-account-token"


class FakePostmark:
    """An in-memory Postmark account with one server, answering as the spec says.

    Args:
        seed: makes IDs, tokens and fault sequences repeatable; `"demo"` also preloads a
            sender signature, a verified domain, templates, a few messages, a bounce, an open,
            a click and inbound mail.
        server_token: the token of the account's first server (X-Postmark-Server-Token).
        account_token: the account token (X-Postmark-Account-Token).
        clock: what time it is (default: now, in US Eastern standard time).
        require_sender_signature: refuse sends whose From is not a confirmed sender signature
            or on a verified domain (ErrorCode 400 / 401), as Postmark does. Off by default so
            that a test can send from any address.
        server_deletion: whether the account may delete servers (ErrorCode 604 otherwise).
        search_lag: seconds before a sent message shows up in the outbound message search
            (default 0), on `lag_clock` (default `time.monotonic`); see `set_search_lag`.

    The tokens are fake: any test may print them.
    """

    def __init__(
        self,
        seed: str | None = None,
        server_token: str = FAKE_SERVER_TOKEN,
        account_token: str = FAKE_ACCOUNT_TOKEN,
        *,
        clock: Callable[[], datetime] | None = None,
        require_sender_signature: bool = False,
        server_deletion: bool = True,
        search_lag: float = 0.0,
        lag_clock: Callable[[], float] | None = None,
    ) -> None:
        self.seed = seed
        self.server_token = server_token
        self.account_token = account_token
        self.faults = Faults()
        if seed is not None:
            self.faults.configure(seed=seed)
        self.webhooks = Webhooks()
        self.calls: deque[RecordedCall] = deque(maxlen=100_000)
        self._lock = threading.RLock()
        self._requests = 0
        self._world = World(
            Ids(seed),
            clock or eastern_now,
            self.webhooks,
            require_sender_signature=require_sender_signature,
            server_deletion=server_deletion,
        )
        self.set_search_lag(search_lag, lag_clock)
        self._world.account.account_tokens.add(account_token)
        self._world.create_server({"Name": "Fake Server"}, token=server_token)
        if seed == "demo":
            from ._demo import preload

            preload(self)
            self.calls.clear()  # the demo data's own requests are not the test's

    def set_search_lag(self, seconds: float, clock: Callable[[], float] | None = None) -> None:
        """How long a sent message takes to show up in the outbound message search (Postmark's
        index lags behind its sends), measured on `clock` (default `time.monotonic`; a test
        passes a clock it advances itself, so that nothing waits)."""
        if not 0.0 <= float(seconds) < float("inf"):
            raise ValueError(f"search_lag must be a number of seconds >= 0, got {seconds!r}")
        self._world.search_lag = float(seconds)
        if clock is not None:
            self._world.lag_clock = clock

    # ---- answering requests ------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> FakeResponse:
        """Answer one request (no latency added: `transport()` and `serve()` add it)."""
        parts = urlsplit(url)
        path, query = parts.path or "/", parts.query
        found = route(method, path)
        op = found.op
        fault = self.faults.draw()
        if fault is not None and not (
            fault == 500 and op is not None and self.faults.draw_after_store()
        ):
            return self._reply(
                method, path, op.id if op else None, fault, FAULT_BODIES[fault], fault=True
            )
        if op is None:
            status, message = (
                (405, f"{method.upper()} is not allowed on {path}")
                if found.path_known
                else (404, f"No such endpoint: {path}")
            )
            return self._reply(
                method,
                path,
                None,
                status,
                {"ErrorCode": ErrorCode.RESOURCE_NOT_FOUND, "Message": message},
            )
        raw_path = found.values
        with self._lock:
            try:
                status, answer = 200, self._dispatch(op, raw_path, query, headers, body)
            except Rejected as refusal:
                status, answer = refusal.status, refusal.body()
            if fault is not None:  # processed (a send is stored), then the answer fails
                return self._reply(method, path, op.id, fault, FAULT_BODIES[fault], fault=True)
            return self._reply(method, path, op.id, status, answer)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer an httpx request (after the configured latency)."""
        self.faults.wait()
        return self._to_httpx(
            request, self.handle(request.method, str(request.url), request.headers, request.read())
        )

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering from this fake, for sync and async clients alike:
        `ServerClient(token, transport=fake.transport())`."""
        return _FakeTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """Serve this fake over HTTP in a background thread (port 0 picks a free port), and
        deliver its webhooks in the background. Use as a context manager, or call `close()`."""
        from ._server import FakeServer

        return FakeServer(self, host, port)

    def _dispatch(
        self,
        op: Operation,
        raw_path: dict[str, str],
        query: str,
        headers: Mapping[str, str],
        raw: bytes,
    ) -> Any:
        server, test_token = self._authorize(op, headers)
        path = read_path(op, raw_path)
        if path is None:
            raise not_found(op)
        code = QUERY_ERRORS.get(op.acts_on, ErrorCode.INVALID_FIELDS_SUPPLIED)
        values, others = read_query(
            op, parse_qsl(query, keep_blank_values=True), code, QUERY_PARAM_ERRORS
        )
        body = self._body(op, raw)
        call = Call(self._world, op, server, path, values, others, body, test_token)
        # A plain resource without a handler of its own gets the generic behaviour.
        answer = HANDLERS.get(op.id, serve_resource)(call)
        if op.paging is not None:
            count, offset = values[op.paging.count], values[op.paging.offset]
            return {op.paging.total: len(answer), op.paging.items: answer[offset : offset + count]}
        return answer

    def _authorize(
        self, op: Operation, headers: Mapping[str, str]
    ) -> tuple[ServerState | None, bool]:
        """The server a server token names (None for account operations), and whether it is
        Postmark's test token; Rejected 401 (ErrorCode 10) for a missing, unknown or
        wrong-type token."""
        given = {name.lower(): value for name, value in headers.items()}
        wanted = TOKEN_HEADERS[op.token]
        other_kind: Token = "account" if op.token == "server" else "server"
        token = given.get(wanted.lower(), "")
        account = self._world.account
        if not token:
            if given.get(TOKEN_HEADERS[other_kind].lower()):
                raise _unauthorized(
                    f"This endpoint needs a {op.token} API token in the {wanted} header; only "
                    f"{TOKEN_HEADERS[other_kind]} was supplied."
                )
            raise _unauthorized(
                "No Account or Server API tokens were supplied in the HTTP headers. Please add a "
                f"header for either {TOKEN_HEADERS['server']} or {TOKEN_HEADERS['account']}."
            )
        if op.token == "account":
            if token in account.account_tokens:
                return None, False
            wrong_type = account.server_for(token) is not None
        else:
            server = account.server_for(token)
            if server is not None:
                return server, False
            if token == TEST_TOKEN and op.acts_on == "email" and account.servers:
                return next(iter(account.servers.values())), True
            wrong_type = token in account.account_tokens
        if wrong_type:
            raise _unauthorized(
                f"The {wanted} header holds a token of the other kind ({other_kind}); this "
                f"endpoint needs a {op.token} API token."
            )
        raise _unauthorized(
            f"The {op.token.title()} API token you provided in the {wanted} request header was "
            "invalid. Please verify that you are using a valid token."
        )

    def _body(self, op: Operation, raw: bytes) -> Any:
        if op.id not in BODIES:
            return None
        if not raw.strip():
            raise Rejected(
                ErrorCode.INVALID_JSON, "The request body is empty; this call needs a JSON body."
            )
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Rejected(ErrorCode.INVALID_JSON, "The request body is not valid JSON.") from None
        kind, schema = BODIES[op.id]
        # Sends are checked (and normalised) message by message in `World.send`.
        if op.acts_on != "email" and kind == "object":
            problem = check_object(schema, body)
            if problem is not None:
                codes = BODY_ERRORS.get(op.id) or BODY_ERRORS[op.acts_on]
                raise Rejected(
                    codes.code_for(problem), problem.message[0].upper() + problem.message[1:] + "."
                )
            return normalize(schema, body)
        return body

    def _reply(
        self,
        method: str,
        path: str,
        op_id: str | None,
        status: int,
        answer: Any,
        *,
        fault: bool = False,
    ) -> FakeResponse:
        with self._lock:
            self._requests += 1
            request_id = f"fake-{self._requests:010d}"
            self.calls.append(RecordedCall(op_id, method.upper(), path, status, fault))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": request_id}
        return FakeResponse(status, headers, json.dumps(answer).encode("utf-8"))

    @staticmethod
    def _to_httpx(request: httpx.Request, answer: FakeResponse) -> httpx.Response:
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.content, request=request
        )

    # ---- looking inside ----------------------------------------------------------------------

    def _server(self, server_token: str | None) -> ServerState:
        server = self._world.account.server_for(server_token or self.server_token)
        if server is None:
            raise KeyError("no server has that token (was it deleted?)")
        return server

    def server(self, server_token: str | None = None) -> JsonObject:
        """The settings of the server a token names (default: the first server)."""
        return _copy(self._server(server_token).data)

    def messages(self, server_token: str | None = None) -> list[JsonObject]:
        """Every outbound message of a server, oldest first, as message details."""
        with self._lock:
            return [_copy(m.data) for m in self._server(server_token).outbound]

    def bounces(self, server_token: str | None = None) -> list[JsonObject]:
        with self._lock:
            return [_copy(b.data) for b in self._server(server_token).bounces.values()]

    def templates(self, server_token: str | None = None) -> list[JsonObject]:
        """Every template of a server, deleted ones included (Active false)."""
        with self._lock:
            return [_copy(t) for t in self._server(server_token).templates.values()]

    def suppressions(
        self, stream: str = "outbound", server_token: str | None = None
    ) -> list[JsonObject]:
        with self._lock:
            return [
                _copy(s.data)
                for s in self._server(server_token).suppressions.get(stream, {}).values()
            ]

    def inbound_messages(self, server_token: str | None = None) -> list[JsonObject]:
        with self._lock:
            return [_copy(e.data) for e in self._server(server_token).inbound]

    def server_tokens(self) -> list[str]:
        """The server tokens the account has now (one per server; new servers mint their own)."""
        return list(self._world.account.server_tokens)

    # ---- what recipients and Postmark do -------------------------------------------------------

    def open(
        self,
        message_id: str,
        recipient: str | None = None,
        *,
        server_token: str | None = None,
        **details: Any,
    ) -> JsonObject:
        """A recipient opens a sent message (it needs open tracking). `details`: platform,
        client, os, geo, user_agent, read_seconds, at. Posts the Open webhook."""
        with self._lock:
            return _copy(
                self._world.open(self._server(server_token), message_id, recipient, **details)
            )

    def click(
        self,
        message_id: str,
        link: str,
        recipient: str | None = None,
        *,
        server_token: str | None = None,
        **details: Any,
    ) -> JsonObject:
        """A recipient clicks a tracked link (the message needs link tracking). `details`:
        location (HTML or Text), platform, client, os, geo, user_agent, at."""
        with self._lock:
            return _copy(
                self._world.click(
                    self._server(server_token), message_id, link, recipient, **details
                )
            )

    def bounce(
        self,
        message_id: str,
        recipient: str | None = None,
        type: str = "HardBounce",
        *,
        server_token: str | None = None,
    ) -> JsonObject:
        """A sent message bounces (or, with type SpamComplaint, is reported as spam) later on."""
        with self._lock:
            server = self._server(server_token)
            outbound, address = self._world._tracked(server, message_id, recipient)
            return _copy(self._world.bounce(server, outbound, address, type, self._world.clock()))

    def spam_complaint(
        self, message_id: str, recipient: str | None = None, *, server_token: str | None = None
    ) -> JsonObject:
        """A recipient reports a message as spam: a SpamComplaint bounce that suppresses them."""
        return self.bounce(message_id, recipient, "SpamComplaint", server_token=server_token)

    def receive_inbound(
        self,
        from_: str,
        to: str | None = None,
        subject: str = "",
        text_body: str = "",
        html_body: str = "",
        *,
        tag: str = "",
        status: str = "Processed",
        server_token: str | None = None,
    ) -> JsonObject:
        """Mail arrives at the server's inbound address (default `to`). Status Processed posts
        the Inbound webhook; Blocked and Failed ones wait for bypass_inbound / retry_inbound."""
        mail = InboundMail(from_, to, subject, text_body, html_body, tag, status)
        with self._lock:
            return _copy(self._world.receive_inbound(self._server(server_token), mail))

    def subscribe_webhook(
        self, record_type: str, url: str, *, server_token: str | None = None
    ) -> None:
        """Post `record_type` payloads (e.g. SubscriptionChange, which has no server hook URL
        setting) to `url` too, as Postmark's webhooks API would."""
        if record_type not in WEBHOOK_RECORD_TYPES:
            raise ValueError(
                f"record_type must be one of {', '.join(WEBHOOK_RECORD_TYPES)}, got {record_type!r}"
            )
        with self._lock:
            self._server(server_token).subscriptions.setdefault(record_type, []).append(url)

    def add_message_stream(
        self, stream_id: str, stream_type: str = "Transactional", *, server_token: str | None = None
    ) -> None:
        """Add a message stream (Transactional, Broadcasts or Inbound) to a server."""
        if stream_type not in ("Transactional", "Broadcasts", "Inbound"):
            raise ValueError(
                f"stream_type must be Transactional, Broadcasts or Inbound, got {stream_type!r}"
            )
        with self._lock:
            self._world.add_stream(self._server(server_token), stream_id, stream_type)

    def confirm_sender_signature(self, email_or_id: str | int) -> JsonObject:
        """The owner clicks the confirmation link: the signature becomes Confirmed."""
        with self._lock:
            account = self._world.account
            signature = (
                account.signatures.get(email_or_id)
                if isinstance(email_or_id, int)
                else self._world.signature_by_address(email_or_id)
            )
            if signature is None:
                raise KeyError(f"no sender signature {email_or_id!r}")
            signature["Confirmed"] = True
            World.verify_dns(signature)
            return _copy(signature)

    def verify_domain(self, name_or_id: str | int) -> JsonObject:
        """The domain's DNS records are published: DKIM (and Return-Path) verify."""
        with self._lock:
            domains = self._world.account.domains
            domain = (
                domains.get(name_or_id)
                if isinstance(name_or_id, int)
                else next(
                    (d for d in domains.values() if str(d["Name"]).lower() == name_or_id.lower()),
                    None,
                )
            )
            if domain is None:
                raise KeyError(f"no domain {name_or_id!r}")
            World.verify_dns(domain)
            return _copy(domain)

    def deliver_webhooks(self) -> list[WebhookDelivery]:
        """POST every queued webhook payload now (retrying as `webhooks.configure` says) and
        return what became of each."""
        return self.webhooks.deliver()


class _FakeTransport(httpx.MockTransport):
    """MockTransport whose async side waits out latency without blocking the event loop."""

    def __init__(self, fake: FakePostmark) -> None:
        super().__init__(fake.handle_request)
        self._fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        faults = self._fake.faults
        if faults.latency_ms > 0:
            if faults.sleep is not None:
                faults.sleep(faults.latency_seconds)
            else:
                await asyncio.sleep(faults.latency_seconds)
        answer = self._fake.handle(request.method, str(request.url), request.headers, body)
        return FakePostmark._to_httpx(request, answer)


def _unauthorized(message: str) -> Rejected:
    return Rejected(ErrorCode.INVALID_API_TOKEN, message, status=401)


def _copy(value: T) -> T:
    return copy.deepcopy(value)


def fixed_clock(start: datetime, step: timedelta = timedelta(seconds=1)) -> Callable[[], datetime]:
    """A clock that starts at `start` and moves `step` on every reading: deterministic times."""
    moment = [start.astimezone(EASTERN) - step]

    def now() -> datetime:
        moment[0] += step
        return moment[0]

    return now
