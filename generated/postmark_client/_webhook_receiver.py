# Copied by postmark-codegen from templates/static/postmark_client/_webhook_receiver.py;
# edit it there and regenerate, not here.
"""The webhook receiver behind `postmark_client.webhooks`: payload dispatch by RecordType,
Basic-auth checking, and the WSGI/ASGI apps. Nothing here knows the spec's events: the dispatch
table (RecordType -> payload class) and the typed bindings are generated into `webhooks.py`,
which is where every public name is imported from.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, Self, TypeAlias, TypeVar


class Payload(Protocol):
    """What a webhook payload class offers (every generated webhook model does)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...


P = TypeVar("P", bound=Payload)
E = TypeVar("E")

_DISCRIMINATOR: Final = "RecordType"


@dataclass(slots=True)
class UnknownWebhook:
    """A payload whose RecordType this package does not know (Postmark added an event).

    `record_type` is the RecordType as sent (None when there was none); `data` the whole payload.
    """

    record_type: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The payload as received."""
        return dict(self.data)


class WebhookParseError(ValueError):
    """The body is not a webhook payload: not UTF-8, not JSON, not an object, nested deeper
    than MAX_DEPTH, or a payload whose fields do not fit its RecordType. A receiver answers it
    with 400."""


MAX_DEPTH: Final = 100
"""The deepest nesting of objects and arrays a payload may have (Postmark's nest a few levels):
deeper ones are refused as not a payload, before a handler could fail on them."""


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _load(body: bytes | bytearray | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookParseError(f"the body is not UTF-8 text ({exc})") from None
    if not isinstance(body, str):
        raise WebhookParseError(f"expected bytes, str or a mapping, got {type(body).__name__}")
    if not body.strip():
        raise WebhookParseError("the body is empty")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WebhookParseError(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise WebhookParseError("the body is JSON nested too deeply to read") from None
    if _nested_deeper_than(data, MAX_DEPTH):
        raise WebhookParseError(f"the body is JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise WebhookParseError(
            f"a webhook payload is a JSON object, got a JSON {type(data).__name__}"
        )
    return data


class WebhookDispatch(Generic[P]):
    """Tells payloads apart: by RecordType through `classes`, and payloads without one by a field
    only they carry (`detect_by`: (field, class) pairs, from `x-postmark-detect-by`)."""

    def __init__(
        self, classes: Mapping[str, type[P]], detect_by: Sequence[tuple[str, type[P]]] = ()
    ) -> None:
        self.classes = classes
        self.detect_by = tuple(detect_by)

    def webhook_type(self, data: Mapping[str, Any]) -> type[P] | None:
        """The payload class for raw payload data, or None when its RecordType is unknown."""
        record_type = data.get(_DISCRIMINATOR)
        if isinstance(record_type, str):
            return self.classes.get(record_type)
        if record_type is None:
            for detect_by, cls in self.detect_by:
                if detect_by in data:
                    return cls
        return None

    def parse(self, body: bytes | bytearray | str | Mapping[str, Any]) -> P | UnknownWebhook:
        """Read a webhook body (raw bytes, text, or already-decoded JSON) into its typed payload.

        Dispatches on RecordType; an unknown or missing RecordType gives an UnknownWebhook with
        the raw data. Raises WebhookParseError when the body is not a JSON object, or when it
        names a known RecordType but its fields do not fit that payload.
        """
        data = _load(body)
        cls = self.webhook_type(data)
        if cls is None:
            record_type = data.get(_DISCRIMINATOR)
            return UnknownWebhook(record_type if isinstance(record_type, str) else None, data)
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise WebhookParseError(
                f"the payload does not fit {cls.__name__}: {type(exc).__name__}: {exc}"
            ) from None


def verify_basic_auth(authorization_header: str | None, username: str, password: str) -> bool:
    """True when an `Authorization: Basic ...` header carries exactly these credentials.

    Both parts are compared in constant time (and both always compared), so the answer's timing
    does not reveal how much of a guess was right.
    """
    if not authorization_header:
        return False
    scheme, _, encoded = authorization_header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    given_user, separator, given_password = decoded.partition(b":")
    if not separator:
        return False
    user_ok = hmac.compare_digest(given_user, username.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password, password.encode("utf-8"))
    return user_ok and password_ok


# ---------------------------------------------------------------------------------------------
# The receiver: one decision function shared by the WSGI and the ASGI app
# ---------------------------------------------------------------------------------------------

DEFAULT_MAX_BODY_BYTES: Final = 50 * 1024 * 1024
"""Inbound payloads carry attachments (base64); anything larger than this is refused with 413."""

_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
}


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        key = "ok" if self.status < 400 else "error"
        return json.dumps({key: self.message}).encode("utf-8")

    def header_list(self, length: int) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "application/json"),
            ("Content-Length", str(length)),
            *self.headers,
        ]


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"


class _Receiver(Generic[E]):
    """Checks a request (method, credentials, body) and turns the handler's result into a status."""

    def __init__(
        self,
        parse: Callable[[bytes], E],
        handler: Callable[[E], Any],
        username: str | None,
        password: str | None,
        max_body_bytes: int,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self._parse = parse
        self.handler = handler
        self.username = username
        self.password = password
        self.max_body_bytes = max_body_bytes

    def refuse_early(
        self, method: str, authorization: str | None, length: int | None
    ) -> _Answer | None:
        """The answer for a request refused before its body is read, or None to go on."""
        if method.upper() != "POST":
            return _Answer(405, "webhooks are POSTed", (("Allow", "POST"),))
        checks_auth = self.username is not None and self.password is not None
        if checks_auth and not verify_basic_auth(
            authorization, self.username or "", self.password or ""
        ):
            return _Answer(
                401, "bad or missing credentials", (("WWW-Authenticate", 'Basic realm="webhooks"'),)
            )
        if length is not None and length > self.max_body_bytes:
            return _Answer(413, f"the body exceeds {self.max_body_bytes} bytes")
        return None

    def parse(self, body: bytes) -> E | _Answer:
        try:
            return self._parse(body)
        except WebhookParseError as exc:
            return _Answer(400, str(exc))

    @staticmethod
    def answer_for(result: object) -> _Answer:
        if isinstance(result, int) and not isinstance(result, bool):
            if not 200 <= result <= 599:
                return _Answer(500, f"the handler returned an invalid status {result}")
            return _Answer(result, "handled" if result < 400 else "refused")
        return _Answer(200, "handled")


def _content_length(raw: str | bytes | None) -> int | None:
    if raw is None or raw in ("", b""):
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def _is_chunked(environ: Mapping[str, Any]) -> bool:
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


class _BodyError(Exception):
    """A request body that cannot be read: the `status` to answer (400, 413) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_large(limit: int) -> _BodyError:
    return _BodyError(413, f"the body exceeds {limit} bytes")


def _read_to_end(stream: Any, limit: int) -> bytes:
    """The whole stream, read in blocks; _BodyError 413 as soon as it holds more than `limit`."""
    parts: list[bytes] = []
    size = 0
    while True:
        block = stream.read(min(65536, limit + 1 - size))
        if not block:
            return b"".join(parts)
        parts.append(block)
        size += len(block)
        if size > limit:
            raise _too_large(limit)


def _read_exactly(stream: Any, length: int) -> bytes:
    """`length` bytes (the Content-Length); _BodyError 400 when the body ends short."""
    body = bytes(stream.read(length)) if length else b""
    if len(body) < length:
        raise _BodyError(400, f"the body ended after {len(body)} of its {length} bytes")
    return body


_MAX_CHUNK_LINE: Final = 4096
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _read_chunked(stream: Any, limit: int) -> bytes:
    """Decode a body sent with `Transfer-Encoding: chunked` from a raw `stream` (RFC 9112,
    section 7.1: hex sizes, extensions ignored, trailer fields dropped). _BodyError 400 for
    broken framing, 413 past `limit` bytes; a socket timeout raises TimeoutError."""
    parts: list[bytes] = []
    size = 0
    while True:
        line = stream.readline(_MAX_CHUNK_LINE)
        size_text = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or _CHUNK_SIZE.fullmatch(size_text) is None:
            raise _BodyError(400, "the chunked body is malformed (a chunk size line)")
        chunk = int(size_text, 16)
        if chunk == 0:
            break
        size += chunk
        if size > limit:
            raise _too_large(limit)
        data = _read_exactly(stream, chunk)
        if stream.readline(3).strip():
            raise _BodyError(400, "the chunked body is malformed (no line end after a chunk)")
        parts.append(data)
    while True:  # trailer fields, up to the empty line
        line = stream.readline(_MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise _BodyError(400, "the chunked body is malformed (its trailer)")
        if not line.strip():
            return b"".join(parts)


WSGIStartResponse: TypeAlias = Callable[..., Any]


class _App(Generic[E]):
    """What the WSGI and the ASGI app share: the receiver, and `parse`, which a subclass gives."""

    def __init__(
        self,
        handler: Callable[[E], Any],
        *,
        username: str | None = None,
        password: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._receiver = _Receiver(self.parse, handler, username, password, max_body_bytes)

    def parse(self, body: bytes) -> E:
        """The event of a request body; raises WebhookParseError (answered with 400)."""
        raise NotImplementedError


class WebhookApp(_App[E]):
    """A WSGI app that receives Postmark webhooks and hands each event to `handler`.

    Answers 200 when the handler returns normally, the handler's status when it returns an int
    (403 stops Postmark's retries), 401 on bad credentials (when username/password are set),
    400 on a body that is not a webhook payload or that ends short of its Content-Length or
    stalls past the server's socket timeout, 405 for anything but POST, 413 for a body over
    `max_body_bytes`, and 500 when the handler raises (Postmark then retries). A chunked body is
    read whether the server decodes it (wsgi.input_terminated) or passes it raw, as wsgiref does.
    Serve it with any WSGI server, e.g. `wsgiref.simple_server.make_server(host, port, app)`.
    A subclass says how a body becomes an event (`parse`): `webhooks.WebhookApp`.
    """

    def __call__(
        self, environ: Mapping[str, Any], start_response: WSGIStartResponse
    ) -> Iterable[bytes]:
        answer = self._answer(environ)
        body = answer.body()
        start_response(_status_line(answer.status), answer.header_list(len(body)))
        return [body]

    def _answer(self, environ: Mapping[str, Any]) -> _Answer:
        receiver = self._receiver
        length = _content_length(environ.get("CONTENT_LENGTH"))
        early = receiver.refuse_early(
            str(environ.get("REQUEST_METHOD", "GET")), environ.get("HTTP_AUTHORIZATION"), length
        )
        if early is not None:
            return early
        try:
            body = self._body(environ, length)
        except _BodyError as exc:
            return _Answer(exc.status, exc.message)
        except OSError as exc:  # the server's read timeout (the client stopped sending), a reset
            why = "did not arrive in time" if isinstance(exc, TimeoutError) else "could not be read"
            return _Answer(400, f"the body {why} ({type(exc).__name__})")
        parsed = receiver.parse(body)
        if isinstance(parsed, _Answer):
            return parsed
        try:
            result = receiver.handler(parsed)
        # A failing handler answers 500 (Postmark retries later) instead of killing the server.
        except Exception as exc:  # noqa: BLE001
            return _Answer(500, f"the handler failed: {type(exc).__name__}")
        return receiver.answer_for(result)

    def _body(self, environ: Mapping[str, Any], length: int | None) -> bytes:
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        if environ.get("wsgi.input_terminated"):
            # The server says the stream ends with the body (chunks taken apart, if any).
            return _read_to_end(stream, self._receiver.max_body_bytes)
        if _is_chunked(environ):
            # The chunks as sent (wsgiref passes them raw), whatever a Content-Length says:
            # reading to the end would wait for the client, which waits for the answer.
            return _read_chunked(stream, self._receiver.max_body_bytes)
        if length is not None:
            return _read_exactly(stream, length)
        return b""


ASGIReceive: TypeAlias = Callable[[], Awaitable[Mapping[str, Any]]]
ASGISend: TypeAlias = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookASGIApp(_App[E]):
    """The same receiver as WebhookApp, as an ASGI app; `handler` may be sync or async."""

    async def __call__(
        self, scope: Mapping[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> None:
        if scope.get("type") == "lifespan":
            await _lifespan(receive, send)
            return
        if scope.get("type") != "http":
            return
        answer = await self._answer(scope, receive)
        body = answer.body()
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.header_list(len(body))
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Mapping[str, Any], receive: ASGIReceive) -> _Answer:
        receiver = self._receiver
        headers = {bytes(k).lower(): bytes(v) for k, v in scope.get("headers", ())}
        authorization = headers.get(b"authorization")
        early = receiver.refuse_early(
            str(scope.get("method", "GET")),
            authorization.decode("latin-1") if authorization is not None else None,
            _content_length(headers.get(b"content-length")),
        )
        if early is not None:
            return early
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return _Answer(400, "the client went away")
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > receiver.max_body_bytes:
                return _Answer(413, f"the body exceeds {receiver.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        parsed = receiver.parse(b"".join(chunks))
        if isinstance(parsed, _Answer):
            return parsed
        try:
            result = receiver.handler(parsed)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # noqa: BLE001  (as in WebhookApp)
            return _Answer(500, f"the handler failed: {type(exc).__name__}")
        return receiver.answer_for(result)


async def _lifespan(receive: ASGIReceive, send: ASGISend) -> None:
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
