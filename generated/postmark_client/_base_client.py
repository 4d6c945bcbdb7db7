# Copied by postmark-codegen from templates/static/postmark_client/_base_client.py;
# edit it there and regenerate, not here.
"""The one core that owns every request: building, validating, sending, retrying, reading.

Generated resources are thin: they hand an `Operation` (from `_operations.py`) and Python values
to `request`, `request_page` or `request_batch`. Everything Postmark-wide lives here once, for
both clients: `BaseClient` builds and checks requests, decides retries and reads answers;
`SyncAPIClient` and `AsyncAPIClient` only differ in how they send and how they sleep.

Nothing here ever puts the API token, a request header or a body into a repr, an error message
or a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import update_wrapper
from typing import (
    Any,
    Concatenate,
    Final,
    Generic,
    NamedTuple,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    Unpack,
    cast,
)
from urllib.parse import quote, urlencode

import httpx

from . import rules
from ._idempotency import (
    DEFAULT_RECONCILE_WAITS,
    IDEMPOTENCY_METADATA_KEY,
    Resend,
    Search,
    Settled,
    Wait,
    check_waits,
    first_found,
    is_ambiguous,
    search_query,
    send_answer,
    settle,
    stamp,
    stamp_body,
)
from ._meta import Operation, Paging, Param, Token
from ._serde import format_query_value, typed_decoder
from ._spec import API_VERSION, DEFAULT_BASE_URL, TOKEN_ENV_VARS, TOKEN_HEADERS, VERSION
from .batch import BatchCollector, BatchEntry, BatchResult, parse_batch_answer
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BatchFailedError,
    MessageMaybeSentError,
    MissingTokenError,
    OutcomeUnknownError,
    PostmarkError,
    RequestValidationError,
    ResponseDecodeError,
    error_class_for,
)
from .pagination import AsyncPage, PageCall, SyncPage, narrowing_filters

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RECONCILE_WAITS",
    "DEFAULT_TIMEOUT",
    "TOKEN_HEADERS",
    "USER_AGENT",
    "VERSION",
    "Access",
    "AccessCall",
    "AsyncAPIClient",
    "AsyncResource",
    "BaseClient",
    "SyncAPIClient",
    "SyncResource",
]

T = TypeVar("T")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_Transport = TypeVar("_Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)
_Sleep = TypeVar("_Sleep", Callable[[float], None], Callable[[float], Awaitable[None]])
_Call = ParamSpec("_Call")


Try = tuple[Operation, httpx.Request]
"""One try of a call: send the request and read the whole answer, or raise (a plain tuple:
it is made on every try)."""


Steps = Generator[Try | Wait, Any, T]
"""A call as steps: it yields the I/O to do (a Try answered with the response read, or a
Wait), and the client's driver carries each out, the sync one blocking, the async one
awaiting. Every decision (retries, access, reconciliation, batches) lives in the steps once."""


class AccessCall(Protocol):
    """An allowed call in flight, completed with its outcome (an audit row)."""

    def done(self, result: Any, request_id: str | None) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


class Access(Protocol):
    """What a client's `access=` object does (`postmark_client.access.AgentAccess`): refuse a
    call by raising (an AccessDeniedError), or let it go and record how it ended."""

    def check(self, op: Operation, token: str) -> None: ...

    def refuse(self, op: Operation, token: str, reason: str) -> None: ...

    def begin(
        self,
        op: Operation,
        data: Any,
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        token: str,
    ) -> AccessCall: ...


DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
"""30 s for a whole request (connect, send, read of the whole answer), at most 10 s of it to
connect."""
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
"""The most bytes of one answer the client reads (after gzip); a 500-item page is ~2 MB."""
USER_AGENT: Final = (
    f"postmark-client/{VERSION} "
    f"python/{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
)

# Backoff: 0.5 s, 1 s, 2 s ... capped at 8 s, each shortened by up to a quarter at random so
# that many clients refused at once do not come back at once.
_BACKOFF_BASE: Final = 0.5
_BACKOFF_CAP: Final = 8.0
_JITTER: Final = 0.25
# A Retry-After longer than this is not waited out: the error is raised with `.retry_after`,
# because blocking a caller for minutes is worse than letting it decide.
_MAX_RETRY_AFTER: Final = 60.0

# 429 and 503 mean Postmark did not take the request: always safe to repeat.
_ALWAYS_RETRIED: Final = frozenset({429, 503})
# Other server errors may come after the request took effect: repeated only when retry-safe.
_RETRIED_WHEN_SAFE: Final = frozenset({500, 502, 504})
# Failures before a byte of the request left: always safe to repeat.
_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures that no repetition fixes (a bad URL scheme, a request httpx cannot write).
_NOT_RETRYABLE: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_REQUEST_ID_HEADERS: Final = ("x-request-id", "x-postmark-request-id", "request-id")

logger = logging.getLogger("postmark_client")
# Library etiquette: without logging configured, the records of errors a caller handles must not
# reach stderr through logging's last-resort handler.
logger.addHandler(logging.NullHandler())

# An error message copied into an exception is cut to this many characters.
_MAX_MESSAGE_CHARS: Final = 4096

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_json(data: Any) -> bytes:
    """The JSON body as sent: compact and UTF-8 (sizes are measured on exactly these bytes)."""
    return _ENCODER.encode(data).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Checking parameters, bodies and limits before anything is sent
# ---------------------------------------------------------------------------------------------


def _label(param: Param) -> str:
    """The name a caller used (`from_date`), with the wire name when it differs."""
    if param.python == param.wire:
        return param.python
    return f"{param.python} (wire name '{param.wire}')"


def _check_number(param: Param, value: float) -> None:
    if param.minimum is not None and value < param.minimum:
        raise RequestValidationError(param.python, f"must be at least {param.minimum}, got {value}")
    if param.maximum is not None and value > param.maximum:
        raise RequestValidationError(param.python, f"must be at most {param.maximum}, got {value}")


def _check_string(param: Param, text: str) -> None:
    if param.enum is not None and text not in param.enum:
        allowed = ", ".join(repr(choice) for choice in param.enum)
        raise RequestValidationError(param.python, f"must be one of {allowed}, got {text!r}")
    if param.format in ("date", "date-time"):
        try:
            (date if param.format == "date" else datetime).fromisoformat(text)
        except ValueError:
            raise RequestValidationError(
                _label(param), f"must be an ISO 8601 {param.format}, got {text!r}"
            ) from None
    if param.pattern is not None and re.search(param.pattern, text) is None:
        raise RequestValidationError(_label(param), f"must match {param.pattern!r}, got {text!r}")


def _param_text(param: Param, value: Any) -> str:
    """Check one path or query value against its spec entry and return its wire text."""
    kind = param.type
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestValidationError(
                param.python, f"must be an integer, got {type(value).__name__}"
            )
        _check_number(param, value)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RequestValidationError(
                param.python, f"must be a number, got {type(value).__name__}"
            )
        _check_number(param, value)
    elif kind == "boolean" and not isinstance(value, bool):
        raise RequestValidationError(
            param.python, f"must be True or False, got {type(value).__name__}"
        )
    text = format_query_value(value)
    if kind == "string":
        _check_string(param, text)
    return text


def build_path(op: Operation, path: Mapping[str, Any] | None) -> str:
    """`op.path` with its parameters filled in, each URL-quoted (an alias may hold a `/`)."""
    result = op.path
    given = path or {}
    for param in op.path_params:
        value = given.get(param.wire)
        if value is None:
            raise RequestValidationError(param.python, "is required (a path parameter)")
        text = _param_text(param, value)
        if not text:
            raise RequestValidationError(param.python, "must not be empty (a path parameter)")
        if text in (".", ".."):
            # URL normalisation would drop the segment and send the call somewhere else.
            raise RequestValidationError(
                param.python, f"must not be {text!r} (a path parameter: it would change the path)"
            )
        result = result.replace("{" + param.wire + "}", quote(text, safe=""))
    return result


def build_query(op: Operation, query: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The query string pairs: None dropped, required values checked, defaults filled in.

    Keys the spec does not list are passed through (Postmark's `metadata_<key>` search
    filters are open-ended), the listed ones are checked against type, enum, range and pattern.
    """
    if not query and not op.query_params:
        return []
    given = dict(query or {})
    pairs: list[tuple[str, str]] = []
    for param in op.query_params:
        value = given.pop(param.wire, None)
        if value is None and param.required:
            if param.default is None:
                raise RequestValidationError(param.python, "is required")
            value = param.default
        if value is not None and param.prefix is not None:
            pairs.extend(_prefixed_pairs(param, value))
        elif value is not None:
            pairs.append((param.wire, _param_text(param, value)))
    pairs.extend(
        (wire, format_query_value(value)) for wire, value in given.items() if value is not None
    )
    if op.paging is not None:
        _check_reach(op, op.paging, pairs)
    return pairs


def _prefixed_pairs(param: Param, value: Any) -> list[tuple[str, str]]:
    """An object parameter as Postmark reads it: `<prefix><key>=<value>` per entry
    (`metadata={"color": "blue"}` is `metadata_color=blue`)."""
    if not isinstance(value, Mapping):
        raise RequestValidationError(
            param.python, f"must be a mapping of names to values, got {type(value).__name__}"
        )
    pairs = []
    for key, item in value.items():
        if not isinstance(key, str) or not key or item is None:
            raise RequestValidationError(
                param.python, f"needs non-empty names with values, got {key!r}: {item!r}"
            )
        pairs.append((f"{param.prefix}{key}", format_query_value(item)))
    return pairs


def _check_reach(op: Operation, paging: Paging, pairs: list[tuple[str, str]]) -> None:
    """count + offset may not pass the number of results Postmark lets a search reach."""
    values = dict(pairs)
    count = int(values.get(paging.count, "0"))
    offset = int(values.get(paging.offset, "0"))
    if count + offset > paging.max_reachable:
        filters = narrowing_filters(op, paging)
        hint = f"narrow it with {', '.join(filters)}" if filters else "narrow it with filters"
        raise RequestValidationError(
            paging.offset,
            f"count + offset is {count + offset:,}, over {paging.max_reachable:,}, the most "
            f"results Postmark lets one search reach; {hint} instead",
        )


def body_data(body: Any, where: str = "") -> Any:
    """The JSON-ready form of a request body, after the model checked itself.

    Accepts a request model (`validate()` then `to_dict()`), a list of them, or a plain mapping
    (already in wire names, for callers that build bodies by hand). Errors are prefixed with
    `where`, so a bad message inside a batch is named by its index.
    """
    to_dict = getattr(body, "to_dict", None)
    if to_dict is not None:
        validate = getattr(body, "validate", None)
        if validate is not None:
            try:
                validate()
            except RequestValidationError as exc:
                if not where:
                    raise
                raise RequestValidationError(f"{where}.{exc.field}", exc.message) from None
        return to_dict()
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, (list, tuple)):
        prefix = where or "messages"
        return [body_data(item, f"{prefix}[{index}]") for index, item in enumerate(body)]
    raise RequestValidationError(
        where or "body",
        f"must be a request model, a list of them, or a mapping, got {type(body).__name__}",
    )


def models_from(value: Any, model: Any) -> Any:
    """A body list of models as given, with each dict (in wire names) read by `model.from_dict`,
    as `send_batch` does with its messages. Anything but a list or tuple is left for the
    request model's `validate()` to name."""
    if not isinstance(value, (list, tuple)):
        return value
    return [model.from_dict(item) if isinstance(item, Mapping) else item for item in value]


def check_limits(op: Operation, data: Any, content: bytes) -> None:
    """Every limit the spec states for `op`, checked on the body about to be sent (as JSON)."""
    rules.check_limits(op, data, content, json_size)


def json_size(data: Any) -> int:
    """The bytes of `data` as sent (what Postmark's size limits measure)."""
    return len(encode_json(data))


# ---------------------------------------------------------------------------------------------
# Splitting a batch by Postmark's limits
# ---------------------------------------------------------------------------------------------


class BatchPlan(NamedTuple):
    """A batch ready to send: each message encoded once, and the calls they are split into."""

    messages: list[Any]
    encoded: list[bytes]
    calls: list[tuple[int, int]]
    head: bytes
    tail: bytes
    keys: tuple[str, ...] = ()
    """Each message's idempotency key (empty when the batch carries none)."""

    def content(self, start: int, end: int) -> bytes:
        """The body of one call, joined from the messages' bytes (not encoded twice)."""
        return self.head + b",".join(self.encoded[start:end]) + self.tail

    def content_of(self, indexes: list[int]) -> bytes:
        """The body of a call that sends these messages again."""
        return self.head + b",".join(self.encoded[index] for index in indexes) + self.tail

    def resend_calls(self, op: Operation, indexes: list[int]) -> list[list[int]]:
        """These messages split into calls within the limits, as the first sending was."""
        _, _, max_items, max_bytes = _batch_framing(op)
        framing = len(self.head) + len(self.tail)
        parts = _split([self.encoded[i] for i in indexes], framing, max_items, max_bytes)
        return [indexes[start:end] for start, end in parts]


def _batch_framing(op: Operation) -> tuple[bytes, bytes, int | None, int | None]:
    """The bytes around the messages and the per-call item and byte limits."""
    field: str | None = None
    max_items: int | None = None
    max_bytes: int | None = None
    for limit in op.limits:
        if limit.scope != "request":
            continue
        if limit.unit == "items":
            field, max_items = limit.field or None, limit.max
        elif limit.unit == "bytes":
            max_bytes = limit.max
    if field is None:
        return b"[", b"]", max_items, max_bytes
    return b"{" + encode_json(field) + b":[", b"]}", max_items, max_bytes


def plan_batch(op: Operation, messages: Iterable[Any], keyed: bool = False) -> BatchPlan:
    """Validate and encode every message, then split them into calls within the limits.

    All checking happens before the first call, so an invalid message anywhere means nothing
    is sent; the error names the message by its index. `keyed`: each message gets an
    idempotency key in its Metadata (its own when it holds one).
    """
    given = list(messages)
    head, tail, max_items, max_bytes = _batch_framing(op)
    encoded: list[bytes] = []
    keys: list[str] = []
    for index, message in enumerate(given):
        data = body_data(message, f"messages[{index}]")
        if keyed and op.idempotency_metadata is not None:
            keys.append(stamp(data, op.idempotency_metadata, None, f"messages[{index}]"))
        raw = encode_json(data)
        rules.check_message_limits(op, data, len(raw), f"messages[{index}]")
        if max_bytes is not None and len(head) + len(raw) + len(tail) > max_bytes:
            raise RequestValidationError(
                f"messages[{index}]",
                f"is {len(raw):,} bytes as JSON; one call may carry at most {max_bytes:,} bytes",
            )
        encoded.append(raw)
    return BatchPlan(
        given,
        encoded,
        _split(encoded, len(head) + len(tail), max_items, max_bytes),
        head,
        tail,
        tuple(keys),
    )


def _split(
    encoded: list[bytes], framing: int, max_items: int | None, max_bytes: int | None
) -> list[tuple[int, int]]:
    """Greedy split in order: a call takes messages until the next would pass a limit."""
    calls: list[tuple[int, int]] = []
    start, size = 0, framing
    for index, raw in enumerate(encoded):
        extra = len(raw) + (1 if index > start else 0)
        full = max_items is not None and index - start >= max_items
        if index > start and (full or (max_bytes is not None and size + extra > max_bytes)):
            calls.append((start, index))
            start, size, extra = index, framing, len(raw)
        size += extra
    if start < len(encoded):
        calls.append((start, len(encoded)))
    return calls


# ---------------------------------------------------------------------------------------------
# Reading answers
# ---------------------------------------------------------------------------------------------


def request_id_of(response: httpx.Response) -> str | None:
    """The request id the answer carries, for Postmark support (no fixed header name)."""
    headers = response.headers
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def retry_after_seconds(
    headers: httpx.Headers, now: Callable[[], float] = time.time
) -> float | None:
    """The wait a `Retry-After` header asks for: seconds, or an HTTP date; None if absent/bad."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


# What a finished response streams: nothing (a ByteStream keeps no state, so all share one).
_SPENT: Final = httpx.ByteStream(b"")


def _released(response: httpx.Response) -> httpx.Response:
    """Drop the spent stream once the body is read.

    httpx's response and its stream point at each other, so without this every page's body
    waits for the cycle collector: auto-paging 10,000 messages would grow with the pages read.
    """
    response.stream = _SPENT
    return response


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# NaN, Infinity and -Infinity are not JSON (RFC 8259), though Python's parser takes them.
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def _loads(content: bytes) -> Any:
    """json.loads, refusing NaN and Infinity, with JSON nested too deep for the parser
    reported as a ValueError."""
    try:
        return _DECODER.decode(content.decode(json.detect_encoding(content), "surrogatepass"))
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None


def _json_of(op: Operation, response: httpx.Response) -> Any:
    try:
        return _loads(response.content)
    except ValueError as exc:
        raise ResponseDecodeError(
            response.status_code,
            None,
            f"{op.id}: the answer is not JSON ({exc.__class__.__name__}: {exc})",
            request_id_of(response),
        ) from None


def _shortened(message: str) -> str:
    """An error message as an exception carries it: at most a few KB, saying when cut."""
    if len(message) <= _MAX_MESSAGE_CHARS:
        return message
    return (
        message[:_MAX_MESSAGE_CHARS]
        + f"... [truncated: {len(message):,} characters in all; the whole body is on .body]"
    )


def _too_large(op: Operation, response: httpx.Response, cap: int) -> ResponseDecodeError:
    return ResponseDecodeError(
        response.status_code,
        None,
        f"{op.id}: the answer is larger than {cap:,} bytes and was not read (raise the "
        "client's max_response_bytes if Postmark really sends that much)",
        request_id_of(response),
    )


def _take_chunk(chunks: list[bytes], chunk: bytes, size: int, cap: int) -> int:
    size += len(chunk)
    if size <= cap:
        chunks.append(chunk)
    return size


def _keep_body(response: httpx.Response, chunks: list[bytes]) -> None:
    # What httpx's own Response.read() stores: `.content` then works as after a read.
    response._content = b"".join(chunks)


def _error_parts(response: httpx.Response) -> tuple[int | None, str, Any]:
    """ErrorCode, Message and the parsed body of an error answer (tolerating non-JSON)."""
    try:
        body = _loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("ErrorCode")
        message = body.get("Message")
        if isinstance(code, bool) or not isinstance(code, int):
            code = None
        if isinstance(message, str) and message:
            return code, _shortened(message), body
        return code, response.reason_phrase or "error", body
    reason = response.reason_phrase or "error"
    return None, f"{reason} (the answer carried no Postmark error body)", body


def _unsafe_note(op: Operation) -> str:
    if op.acts_on == "email":
        return (
            f" (not retried: {op.id} is not safe to repeat; the message may or may not have been "
            "sent, so do not re-send it blindly)"
        )
    return f" (not retried: {op.id} is not safe to repeat; it may or may not have taken effect)"


def api_error(op: Operation, response: httpx.Response) -> APIError:
    """The typed error for an error answer, by HTTP status and Postmark ErrorCode."""
    status = response.status_code
    code, message, body = _error_parts(response)
    if status >= 500 and status != 503 and not op.retry_safe:
        message += _unsafe_note(op)
    error_class = error_class_for(status, code)
    return error_class(
        status,
        code,
        message,
        request_id_of(response),
        retry_after=retry_after_seconds(response.headers),
        body=body,
    )


def connection_error(op: Operation, exc: httpx.RequestError, base_url: str) -> APIConnectionError:
    """Wrap an httpx failure without its request (whose headers hold the token); the message
    names the URL tried (the path as the spec writes it: no values, no query)."""
    what = f"{op.method} {base_url}{op.path} ({op.id})"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    sent = not isinstance(exc, _NEVER_SENT + _NOT_RETRYABLE)
    if sent and not op.retry_safe:
        ended = "timed out" if isinstance(exc, httpx.TimeoutException) else "the connection failed"
        if op.acts_on == "email":
            return MessageMaybeSentError(
                op.id,
                f"{what}: {ended} after the request was sent ({detail}); the "
                "message may or may not have been sent. It was not re-sent: search the "
                "outbound messages before sending it again.",
            )
        return OutcomeUnknownError(
            op.id,
            f"{what}: {ended} after the request was sent ({detail}); it may or "
            "may not have taken effect and was not repeated.",
        )
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{what}: timed out ({detail})")
    return APIConnectionError(f"{what}: connection failed ({detail})")


def _check_error_code(op: Operation, response: httpx.Response, data: Any) -> None:
    """An ErrorCode that is not an integer (NaN, 1.5, true, "0") says nothing about success:
    the answer is refused rather than read as accepted."""
    if not isinstance(data, dict) or "ErrorCode" not in data:
        return
    code = data["ErrorCode"]
    if isinstance(code, bool) or not isinstance(code, int):
        raise ResponseDecodeError(
            response.status_code,
            None,
            f"{op.id}: the answer's ErrorCode is {_shortened(repr(code))}, not an integer",
            request_id_of(response),
            body=data,
        )


def _decode(op: Operation, response: httpx.Response, cast_to: Callable[[Any], T]) -> T:
    """Read a 2xx answer into its typed model; a body that does not fit is an error.

    A model's `from_dict` is first tried as msgspec's typed decode of the bytes (several times
    faster than json.loads plus from_dict); a body it refuses (a field the spec does not list,
    a value of another type) is read by json.loads and from_dict, which keep or report it.
    """
    model = getattr(cast_to, "__self__", None)
    if isinstance(model, type) and hasattr(model, "__struct_fields__"):
        try:
            return cast(T, typed_decoder(model).decode(response.content))
        except ValueError:  # msgspec's DecodeError and ValidationError
            pass
    data = _json_of(op, response)
    _check_error_code(op, response, data)
    try:
        return cast_to(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ResponseDecodeError(
            response.status_code,
            None,
            f"{op.id}: the answer does not fit {op.response_schema or 'the spec'} "
            f"({type(exc).__name__}: {exc})",
            request_id_of(response),
            body=data,
        ) from exc


def _page_parts(op: Operation, paging: Paging, response: Any) -> tuple[list[Any], int]:
    """The items and the total of a parsed list response, through the spec's attribute names."""
    items = getattr(response, paging.items_attr, None)
    total = getattr(response, paging.total_attr, None)
    if items is None:
        items = []
    if (
        not isinstance(items, (list, tuple))
        or isinstance(total, bool)
        or not isinstance(total, int)
    ):
        raise ResponseDecodeError(
            200,
            None,
            f"{op.id}: the answer has no {paging.items} list or no {paging.total} count",
        )
    return list(items), total


def _page_query(op: Operation, paging: Paging, query: Mapping[str, Any]) -> dict[str, Any]:
    """The query with count and offset always present (a page needs to know where it is)."""
    result = dict(query)
    defaults = {param.wire: param.default for param in op.query_params}
    for name, fallback in ((paging.count, paging.max_count), (paging.offset, 0)):
        if result.get(name) is None:
            default = defaults.get(name)
            result[name] = default if isinstance(default, int) else fallback
    return result


def _require_paging(op: Operation) -> Paging:
    if op.paging is None:
        raise TypeError(f"{op.id} is not a paged operation")
    return op.paging


def _require_batch(op: Operation) -> None:
    if not op.batch:
        raise TypeError(f"{op.id} is not a batch operation; use request()")


def _log_reconciled(op: Operation, found: Mapping[str, Any]) -> None:
    logger.info(
        "%s: reconciled: already sent as MessageID %s",
        op.id,
        found.get("MessageID"),
        extra={"postmark_operation": op.id, "postmark_message_id": found.get("MessageID")},
    )


def _as_is(data: Any) -> Any:
    return data


def _settle_batch_outcomes(
    op: Operation,
    plan: BatchPlan,
    collector: BatchCollector[T],
    settled: Settled,
    cast_item: Callable[[Any], T],
) -> None:
    """Give each reconciled message of a batch its outcome, at its own index."""
    index_of = {key: index for index, key in enumerate(plan.keys)}
    for key, (state, value) in settled.items():
        index = index_of[key]
        if state == "found":
            _log_reconciled(op, value)
            answer = send_answer(json.loads(plan.encoded[index]), value)
            collector.record_found(index, cast_item(answer), value.get("MessageID"))
        elif state == "sent":
            collector.record_entry(index, value)
        else:
            collector.record_error(index, value)


def _batch_cast(count: int, cast_item: Callable[[Any], T]) -> Callable[[Any], list[BatchEntry[T]]]:
    return lambda data: parse_batch_answer(data, count, cast_item)


# ---------------------------------------------------------------------------------------------
# The whole-request deadline
# ---------------------------------------------------------------------------------------------

# httpx's timeouts bound each socket operation, so a server that trickles a byte a second holds
# a call for ever. Each attempt therefore has a deadline, read by every socket operation of
# the client's own connection pools (`_DeadlineBackend`), which shortens its timeout to what is
# left, and checked between the chunks of any answer (for transports of your own).
# A context variable: each thread and each asyncio task carries its own call's deadline.
_call_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "postmark_client_deadline", default=None
)
# One socket write at most this big, so that each part gets the time that is left.
_WRITE_SLICE: Final = 64 * 1024


def deadline_of(timeout: httpx.Timeout) -> float | None:
    """The seconds a whole request may take: the largest of the timeout's limits (None when a
    phase has none)."""
    limits = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if any(limit is None for limit in limits):
        return None
    return max(limit for limit in limits if limit is not None)


def _deadline_message(seconds: float) -> str:
    return (
        f"the whole request (connect, send, read of the answer) took longer than its "
        f"{seconds:g} s timeout"
    )


def _past_deadline() -> str | None:
    """The timeout message when the current call's deadline has passed, else None."""
    current = _call_deadline.get()
    if current is None or time.monotonic() < current[0]:
        return None
    return _deadline_message(current[1])


def _check_deadline(response: httpx.Response) -> None:
    """Between chunks of an answer: a ReadTimeout once the deadline has passed."""
    message = _past_deadline()
    if message is not None:
        raise httpx.ReadTimeout(message, request=response.request)


def _httpcore_error(name: str, message: str) -> Exception:
    import httpcore  # loaded by httpx's transport already; not at `import postmark_client`

    error: Exception = getattr(httpcore, name)(message)
    return error


def _raise_at_deadline(exc: Exception, seconds: float) -> None:
    """When a timeout fired because the deadline shortened it, raise the same kind of timeout
    saying that the whole request ran out of time."""
    if type(exc).__name__.endswith("Timeout"):
        raise type(exc)(_deadline_message(seconds)) from None


class _ByDeadline:
    """A socket operation's timeout, shortened to the time left before the call's deadline
    (`bounded`); a timeout that fired because of that is raised again saying that the whole
    request ran out of time. A class, not a contextmanager: it runs on every read and write,
    so the message is only written when it is raised."""

    __slots__ = ("_seconds", "bounded")

    def __init__(self, timeout: float | None, error: str) -> None:
        self.bounded = timeout
        self._seconds: float | None = None  # the deadline's seconds, when it shortened `timeout`
        current = _call_deadline.get()
        if current is None:
            return
        left = current[0] - time.monotonic()
        if left <= 0:
            raise _httpcore_error(error, _deadline_message(current[1]))
        if timeout is None or left < timeout:
            self.bounded, self._seconds = left, current[1]

    def __enter__(self) -> float | None:
        return self.bounded

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        if self._seconds is not None and isinstance(exc, Exception):
            _raise_at_deadline(exc, self._seconds)


class _DeadlineStream:
    """An httpcore network stream whose reads and writes end by the call's deadline."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _ByDeadline(timeout, "ReadTimeout") as bounded:
            data: bytes = self._stream.read(max_bytes, bounded)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_SLICE):
            with _ByDeadline(timeout, "WriteTimeout") as bounded:
                self._stream.write(buffer[start : start + _WRITE_SLICE], bounded)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> _DeadlineStream:
        with _ByDeadline(kwargs.pop("timeout", None), "ConnectTimeout") as timeout:
            return _DeadlineStream(self._stream.start_tls(*args, timeout=timeout, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineStream:
    """The asyncio/trio form of _DeadlineStream."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _ByDeadline(timeout, "ReadTimeout") as bounded:
            data: bytes = await self._stream.read(max_bytes, bounded)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_SLICE):
            with _ByDeadline(timeout, "WriteTimeout") as bounded:
                await self._stream.write(buffer[start : start + _WRITE_SLICE], bounded)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> _AsyncDeadlineStream:
        with _ByDeadline(kwargs.pop("timeout", None), "ConnectTimeout") as timeout:
            stream = await self._stream.start_tls(*args, timeout=timeout, **kwargs)
        return _AsyncDeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    """An httpcore network backend whose connections end by the call's deadline."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _DeadlineStream:
        with _ByDeadline(kwargs.pop("timeout", None), "ConnectTimeout") as timeout:
            return _DeadlineStream(self._backend.connect_tcp(*args, timeout=timeout, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _DeadlineStream:
        return _DeadlineStream(self._backend.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncDeadlineBackend:
    """The asyncio/trio form of _DeadlineBackend."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> _AsyncDeadlineStream:
        with _ByDeadline(kwargs.pop("timeout", None), "ConnectTimeout") as timeout:
            stream = await self._backend.connect_tcp(*args, timeout=timeout, **kwargs)
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _AsyncDeadlineStream:
        return _AsyncDeadlineStream(await self._backend.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _bound_by_deadline(http: httpx.Client | httpx.AsyncClient) -> None:
    """Give the connection pools of a client this package created the deadline backend.

    httpx offers no public way to choose a pool's network backend, so this reaches into its
    transports (and their httpcore pools); a transport without a pool (a MockTransport) is left
    as it is and relies on the check between chunks.
    """
    wrapper = _DeadlineBackend if isinstance(http, httpx.Client) else _AsyncDeadlineBackend
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if pool is not None and backend is not None and not isinstance(backend, wrapper):
            pool._network_backend = wrapper(backend)


# ---------------------------------------------------------------------------------------------
# The shared core
# ---------------------------------------------------------------------------------------------


def _token_from(token: str | None, kind: Token) -> str:
    """The token to use: given, or from the environment. Never echoed back in an error."""
    if token is None:
        token = os.environ.get(TOKEN_ENV_VARS[kind])
        if token is None:
            raise MissingTokenError(TOKEN_ENV_VARS[kind], kind)
    if not isinstance(token, str):
        raise TypeError(f"token must be a str, not {type(token).__name__}")
    # A header value cannot hold line breaks, and Postmark tokens hold no spaces: catching this
    # here keeps httpx from raising an error that would quote the value.
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(
            "token must be a non-empty string of printable ASCII characters without spaces "
            "(its value is not shown here)"
        )
    return token


def _token_kind(token_header: str) -> Token:
    for kind, header in TOKEN_HEADERS.items():
        if header.lower() == token_header.lower():
            return kind
    raise ValueError(
        f"token_header must be {' or '.join(repr(h) for h in TOKEN_HEADERS.values())}, "
        f"got {token_header!r}"
    )


class BaseClient(Generic[_Http, _Transport, _Sleep]):
    """What both clients share: configuration, request building, every decision of a call (as
    `Steps`), logging; a subclass only tries requests and sleeps."""

    _http: _Http
    _owns_http: bool
    _sleep: _Sleep
    _access: Access | None = None
    """Who is calling, under which policy: checked before every call when set (None: no check,
    at no cost)."""
    _token_label: str = ""

    def __init__(
        self,
        *,
        token: str | None = None,
        token_header: str,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: _Http | None = None,
        transport: _Transport | None = None,
        sleep: _Sleep | None = None,
        access: Access | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        idempotency_keys: bool = True,
        reconcile_waits: Sequence[float] = DEFAULT_RECONCILE_WAITS,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        if timeout is None and http_client is not None:
            timeout = http_client.timeout
        self._token_kind = _token_kind(token_header)
        self._idempotency_keys = bool(idempotency_keys)
        self._reconcile_waits = check_waits(reconcile_waits)
        secret = _token_from(token, self._token_kind)
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TOKEN_HEADERS[self._token_kind]: secret,
        }
        if access is not None:
            self._access = access
            # What the audit log may say about the token: its kind and last four characters.
            self._token_label = f"{self._token_kind} token \u2026{secret[-4:]}"
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        if not self._base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self._max_retries = max_retries
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be an integer >= 1, got {max_response_bytes!r}"
            )
        self._max_response_bytes = max_response_bytes
        self._timeout = self._timeout_from(timeout)
        self._timeout_extension = self._timeout.as_dict()
        self._urls: dict[str, httpx.URL] = {}
        self._deadline_seconds = deadline_of(self._timeout)
        self._owns_http = http_client is None
        self._http = http_client or self._new_http(transport)
        if self._owns_http:
            _bound_by_deadline(self._http)
        self._sleep = sleep or cast(_Sleep, self._default_sleep)

    def _new_http(self, transport: _Transport | None) -> _Http:
        raise NotImplementedError

    @staticmethod
    def _default_sleep(seconds: float) -> Any:
        raise NotImplementedError

    @staticmethod
    def _timeout_from(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
        if timeout is None:
            return DEFAULT_TIMEOUT
        if isinstance(timeout, httpx.Timeout):
            return timeout
        return httpx.Timeout(float(timeout), connect=min(float(timeout), 10.0))

    def _deadline(self) -> tuple[float, float] | None:
        """When an attempt starting now must be over (monotonic clock), and its seconds."""
        seconds = self._deadline_seconds
        return None if seconds is None else (time.monotonic() + seconds, seconds)

    @property
    def base_url(self) -> str:
        """Where requests go (without a trailing slash)."""
        return self._base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed call may be repeated (0: never)."""
        return self._max_retries

    @property
    def max_response_bytes(self) -> int:
        """The most bytes of one answer this client reads (after gzip)."""
        return self._max_response_bytes

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts of every call."""
        return self._timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    # Building -----------------------------------------------------------------------------

    def _check_token(self, op: Operation) -> None:
        if op.token != self._token_kind:
            raise RequestValidationError(
                "token",
                f"{op.id} needs a {op.token} token ({TOKEN_HEADERS[op.token]}); this client "
                f"holds a {self._token_kind} token",
            )

    def _keyed(self, op: Operation, key: str | None) -> bool:
        """Whether this send carries an idempotency key (on by default; a key given by the
        caller is carried even with keys off)."""
        return op.idempotency_metadata is not None and (self._idempotency_keys or key is not None)

    def _encode_body(
        self, op: Operation, body: Any, key: str | None = None
    ) -> tuple[Any, bytes | None]:
        if body is None:
            if op.body_schema is not None:
                raise RequestValidationError("body", f"{op.id} needs a {op.body_schema} body")
            return None, None
        data = body_data(body)
        if self._keyed(op, key):
            if "." in (op.idempotency_metadata or ""):
                data = json.loads(encode_json(data))  # entries may be the caller's own dicts
            stamp_body(op, data, key)
        content = encode_json(data)
        check_limits(op, data, content)
        return data, content

    def _build(
        self,
        op: Operation,
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        body: Any,
        key: str | None = None,
    ) -> tuple[httpx.Request, Any]:
        """Check everything, then build the request (raising before anything is sent), and
        its body as JSON-ready data (what an access check looks at)."""
        self._check_token(op)
        url: httpx.URL | str
        if op.path_params or op.query_params or query:
            text = self._base_url + build_path(op, path)
            pairs = build_query(op, query)
            url = text + "?" + urlencode(pairs) if pairs else text
        else:
            url = self._fixed_url(op.path)
        data, content = self._encode_body(op, body, key)
        return self._make_request(op, url, content), data

    def _fixed_url(self, path: str) -> httpx.URL:
        """The URL of a path without parameters, parsed once per client (httpx parses a string
        URL on every request, a third of the cost of building one)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._base_url + path)
        return url

    def _plan_batch(
        self, op: Operation, messages: Iterable[Any], keyed: bool
    ) -> tuple[BatchPlan, AccessCall | None]:
        """Check the token and every message, then (with access) write the audit row; a batch
        the client's own checks refuse is recorded too."""
        access = self._access
        if access is not None:
            access.check(op, self._token_label)
        try:
            self._check_token(op)
            plan = plan_batch(op, messages, keyed)
        except RequestValidationError as exc:
            if access is not None:
                reason = f"invalid request: {exc.field}: {exc.message}"
                access.refuse(op, self._token_label, reason)
            raise
        if access is None:
            return plan, None
        data = [json.loads(raw) for raw in plan.encoded]
        return plan, access.begin(op, data, None, None, self._token_label)

    def _make_request(
        self, op: Operation, url: httpx.URL | str, content: bytes | None
    ) -> httpx.Request:
        http = self._http
        if self._owns_http and not http.cookies.jar:
            # Our own httpx client has no base URL or query parameters, and carries the headers
            # and timeout: with no cookies to merge, the request build_request would make.
            return httpx.Request(
                op.method,
                url,
                content=content,
                headers=http.headers,
                extensions={"timeout": dict(self._timeout_extension)},
            )
        if self._owns_http:
            # Merging our headers and timeout into every request again would cost more than
            # the rest of the call's own work.
            return http.build_request(op.method, url, content=content)
        return self._http.build_request(
            op.method, url, content=content, headers=self._headers, timeout=self._timeout
        )

    def _read(self, op: Operation, response: httpx.Response, cast_to: Callable[[Any], T]) -> T:
        """The typed value of a 2xx answer, or the typed error of any other."""
        if not response.is_success:
            raise api_error(op, response)
        return _decode(op, response, cast_to)

    # Reconciling --------------------------------------------------------------------------

    def _settle_steps(
        self, op: Operation, pending: dict[str, BaseException]
    ) -> Generator[Wait | Search | Resend, Any, Settled]:
        # A message not found is sent again at least once, and up to max_retries times: the
        # key makes that safe (within the waits), and each attempt is reconciled in turn.
        return settle(op, pending, self._reconcile_waits, max(1, self._max_retries))

    @staticmethod
    def _key_of(op: Operation, data: Any) -> str | None:
        """The key a one-message body carries (None for a bulk request's recipients)."""
        field = op.idempotency_metadata
        if field is None or "." in field or op.reconcile_with is None:
            return None
        key = data.get(field, {}).get(IDEMPOTENCY_METADATA_KEY) if isinstance(data, dict) else None
        return key if isinstance(key, str) else None

    @staticmethod
    def _settled_value(
        op: Operation, data: Any, key: str, settled: Settled, cast_to: Callable[[Any], T]
    ) -> T:
        state, value = settled[key]
        if state == "found":
            _log_reconciled(op, value)
            return cast_to(send_answer(data, value))
        if state == "sent":
            result: T = value
            return result
        raise value

    # The steps of a call -------------------------------------------------------------------

    def _request_steps(
        self,
        op: Operation,
        *,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        cast_to: Callable[[Any], T],
        idempotency_key: str | None = None,
    ) -> Steps[T]:
        """Check, send (with retries) and read one call; raises a PostmarkError on failure.

        A send carries an idempotency key in its Metadata (`idempotency_key`, or a new one),
        and an ambiguous failure is reconciled by it (see `_idempotency`)."""
        key = idempotency_key
        if self._access is not None:
            return self._checked_steps(self._access, op, path, query, body, cast_to, key)
        # A call without access is built and checked at once, before its first step.
        request, data = self._build(op, path, query, body, key)
        if not self._keyed(op, key):
            return self._read_steps(op, request, cast_to)
        return self._send_once_steps(op, request, data, cast_to)

    def _read_steps(
        self, op: Operation, request: httpx.Request, cast_to: Callable[[Any], T]
    ) -> Steps[T]:
        return self._read(op, (yield from self._send_steps(op, request)), cast_to)

    def _checked_steps(
        self,
        access: Access,
        op: Operation,
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
        body: Any,
        cast_to: Callable[[Any], T],
        key: str | None,
    ) -> Steps[T]:
        """The access check of one call: refused by grant before anything is built, then
        checked again with the body about to be sent, recorded before it goes."""
        access.check(op, self._token_label)
        try:
            request, data = self._build(op, path, query, body, key)
        except RequestValidationError as exc:
            access.refuse(op, self._token_label, f"invalid request: {exc.field}: {exc.message}")
            raise
        call = access.begin(op, data, path, query, self._token_label)
        response = None
        try:
            if self._keyed(op, key):
                result = yield from self._send_once_steps(op, request, data, cast_to)
            else:
                response = yield from self._send_steps(op, request)
                result = self._read(op, response, cast_to)
        except BaseException as exc:
            call.failed(exc)
            raise
        call.done(result, None if response is None else request_id_of(response))
        return result

    def _send_once_steps(
        self, op: Operation, request: httpx.Request, data: Any, cast_to: Callable[[Any], T]
    ) -> Steps[T]:
        """Send a keyed message; after an ambiguous failure, settle it by its key."""
        try:
            return self._read(op, (yield from self._send_steps(op, request)), cast_to)
        except PostmarkError as exc:
            error = exc
        key = self._key_of(op, data)
        if key is None or not is_ambiguous(error):
            raise error

        def resend(keys: tuple[str, ...]) -> Steps[dict[str, tuple[Any, BaseException | None]]]:
            return {keys[0]: (yield from self._outcome_steps(op, request, cast_to))}

        settled = yield from self._settling(op, {key: error}, resend)
        return self._settled_value(op, data, key, settled, cast_to)

    def _outcome_steps(
        self, op: Operation, request: httpx.Request, cast_to: Callable[[Any], T]
    ) -> Steps[tuple[T | None, PostmarkError | None]]:
        try:
            return self._read(op, (yield from self._send_steps(op, request)), cast_to), None
        except PostmarkError as exc:
            return None, exc

    def _settling(
        self,
        op: Operation,
        pending: dict[str, BaseException],
        resend: Callable[[tuple[str, ...]], Steps[Any]],
    ) -> Steps[Settled]:
        """The steps of a reconciliation (wait, search, send again) as steps of calls."""
        steps = self._settle_steps(op, pending)
        reply: Any = None
        while True:
            try:
                action = steps.send(reply)
            except StopIteration as stop:
                settled: Settled = stop.value
                return settled
            if isinstance(action, Wait):
                reply = yield action
            elif isinstance(action, Search):
                reply = yield from self._search_steps(op, action.key)
            else:
                reply = yield from resend(action.keys)

    def _search_steps(self, op: Operation, key: str) -> Steps[tuple[Any, PostmarkError | None]]:
        """The message sent with this key (or None), and the error of a search that failed."""
        try:
            return (yield from self._find_steps(op.reconcile_with or "", key)), None
        except PostmarkError as exc:
            return None, exc

    def _find_steps(self, search_operation: str, key: str) -> Steps[Any]:
        from ._operations import OPERATIONS

        search = OPERATIONS[search_operation]
        answer = yield from self._request_steps(search, query=search_query(key), cast_to=_as_is)
        return first_found(answer)

    def _reconcile_steps(
        self, search_operation: str, key: str, *, cast_to: Callable[[Any], T]
    ) -> Steps[T | None]:
        """The message sent with idempotency key `key`, found by `search_operation`, or None."""
        found = yield from self._find_steps(search_operation, key)
        return None if found is None else cast_to(found)

    def _page_steps(
        self,
        op: Operation,
        *,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any],
        cast_to: Callable[[Any], Any],
    ) -> Steps[dict[str, Any]]:
        """The fields of one page of a count/offset list (the client's page class adds itself)."""
        paging = _require_paging(op)
        query = _page_query(op, paging, query)
        response = yield from self._request_steps(op, path=path, query=query, cast_to=cast_to)
        items, total = _page_parts(op, paging, response)
        return {
            "op": op,
            "paging": paging,
            "path": path,
            "query": query,
            "cast_to": cast_to,
            "response": response,
            "items": items,
            "total_count": total,
        }

    def _batch_steps(
        self,
        op: Operation,
        messages: Iterable[Any],
        *,
        cast_item: Callable[[Any], T],
        search_first: bool = False,
    ) -> Steps[BatchResult[T]]:
        """Send any number of messages in as many calls as Postmark's limits need, one after
        another (in order, and gentler on the rate limit).

        Every message is checked before the first call. If a call fails after earlier ones
        went through, BatchFailedError is raised with the partial result (`.result`); a failure
        of the first call is raised as it is, since nothing was sent. `search_first`: an
        earlier call with these messages' idempotency keys may have sent them, so each is
        searched for by its key and only those not found are sent (reconciled as after an
        ambiguous failure).
        """
        _require_batch(op)
        keyed = self._keyed(op, None) and op.reconcile_with is not None
        plan, call = self._plan_batch(op, messages, keyed)
        collector: BatchCollector[T] = BatchCollector(plan.messages)
        try:
            if keyed and search_first:
                earlier = MessageMaybeSentError(op.id, "an earlier call may have sent it")
                collector.record_call_error(0, len(plan.messages), earlier)
                collector.calls = 0  # no call was made for them yet
                yield from self._settle_batch_steps(op, plan, collector, cast_item)
                calls: list[tuple[int, int]] = []
            else:
                calls = plan.calls
            for start, end in calls:
                request = self._make_request(op, self._fixed_url(op.path), plan.content(start, end))
                try:
                    response = yield from self._send_steps(op, request)
                    entries = self._read(op, response, _batch_cast(end - start, cast_item))
                except PostmarkError as exc:
                    if keyed and is_ambiguous(exc):
                        collector.record_call_error(start, end, exc)  # settled below
                        continue
                    if collector.calls == 0:
                        raise
                    collector.record_call_error(start, end, exc)
                    collector.skip_rest(end)
                    if keyed:  # the earlier uncertain calls are settled all the same
                        yield from self._settle_batch_steps(op, plan, collector, cast_item)
                    raise BatchFailedError(collector.result()) from exc
                collector.record_answer(start, entries, request_id_of(response))
            if keyed:
                yield from self._settle_batch_steps(op, plan, collector, cast_item)
        except BaseException as exc:
            if call is not None:
                call.failed(exc)
            raise
        result = collector.result()
        if call is not None:
            call.done(result, None)
        return result

    def _settle_batch_steps(
        self,
        op: Operation,
        plan: BatchPlan,
        collector: BatchCollector[T],
        cast_item: Callable[[Any], T],
    ) -> Steps[None]:
        """Reconcile the messages whose call failed ambiguously, and only those."""
        unknown = collector.unknown().items()
        pending: dict[str, BaseException] = {plan.keys[i]: error for i, error in unknown}
        if not pending:
            return
        index_of = {key: index for index, key in enumerate(plan.keys)}

        def resend(keys: tuple[str, ...]) -> Steps[dict[str, tuple[Any, BaseException | None]]]:
            answers: dict[str, tuple[Any, BaseException | None]] = {}
            for part in plan.resend_calls(op, [index_of[key] for key in keys]):
                collector.calls += 1
                request = self._make_request(op, self._fixed_url(op.path), plan.content_of(part))
                try:
                    response = yield from self._send_steps(op, request)
                    entries = self._read(op, response, _batch_cast(len(part), cast_item))
                except PostmarkError as exc:
                    answers.update((plan.keys[i], (None, exc)) for i in part)
                    continue
                answers.update((plan.keys[i], (entry, None)) for i, entry in zip(part, entries))
            return answers

        settled = yield from self._settling(op, pending, resend)
        _settle_batch_outcomes(op, plan, collector, settled, cast_item)

    def _send_steps(self, op: Operation, request: httpx.Request) -> Steps[httpx.Response]:
        """Send with retries; log the call once it is over. (Each try's body is read and its
        response closed by the client's `_receive`.)"""
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                response = yield op, request
            except httpx.RequestError as exc:
                try:
                    delay = self._retry_delay_after(op, exc, attempt)
                except PostmarkError:
                    self._log_call(op, request, type(exc).__name__, started, attempt + 1)
                    raise
                reason = type(exc).__name__
            else:
                delay_or_none = self._retry_delay(op, response, attempt)
                if delay_or_none is None:
                    self._log_call(op, request, response, started, attempt + 1)
                    return _released(response)
                delay, reason = delay_or_none, f"HTTP {response.status_code}"
            self._log_retry(op, request, reason, delay, attempt)
            yield Wait(delay)
            attempt += 1

    # Retrying -----------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        from random import random

        delay = min(_BACKOFF_BASE * 2.0**attempt, _BACKOFF_CAP)
        return delay * (1.0 - _JITTER * random())

    def _retry_delay(self, op: Operation, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before repeating the call, or None to keep this answer."""
        status = response.status_code
        if attempt >= self._max_retries:
            return None
        if status not in _ALWAYS_RETRIED and not (op.retry_safe and status in _RETRIED_WHEN_SAFE):
            return None
        asked = retry_after_seconds(response.headers)
        if asked is None:
            return self._backoff(attempt)
        return asked if asked <= _MAX_RETRY_AFTER else None

    def _retry_delay_after(self, op: Operation, exc: httpx.RequestError, attempt: int) -> float:
        """Seconds to wait before repeating after a transport failure; raises when not to."""
        never_sent = isinstance(exc, _NEVER_SENT)
        retryable = never_sent or (op.retry_safe and not isinstance(exc, _NOT_RETRYABLE))
        if retryable and attempt < self._max_retries:
            return self._backoff(attempt)
        raise connection_error(op, exc, self._base_url) from exc

    # Logging ------------------------------------------------------------------------------

    def _log_retry(
        self, op: Operation, request: httpx.Request, reason: str, delay: float, attempt: int
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s: %s, retrying in %.2f s (retry %d of %d)",
                request.method,
                request.url.path,
                reason,
                delay,
                attempt + 1,
                self._max_retries,
                extra={"postmark_operation": op.id, "postmark_retry_delay": delay},
            )

    def _log_call(
        self,
        op: Operation,
        request: httpx.Request,
        outcome: httpx.Response | str,
        started: float,
        attempts: int,
    ) -> None:
        """One record per call, after its retries: method, path, status, duration, request id.

        `outcome` is the final answer, or the name of the httpx error that ended the call. The
        path is logged without its query string (which may hold e-mail addresses).
        """
        status = outcome if isinstance(outcome, str) else outcome.status_code
        level = logging.INFO if isinstance(status, int) and status < 400 else logging.WARNING
        if not logger.isEnabledFor(level):
            return
        request_id = None if isinstance(outcome, str) else request_id_of(outcome)
        duration_ms = (time.perf_counter() - started) * 1000.0
        logger.log(
            level,
            "%s %s -> %s in %.1f ms (request id %s, %d attempt%s)",
            request.method,
            request.url.path,
            status,
            duration_ms,
            request_id or "-",
            attempts,
            "" if attempts == 1 else "s",
            extra={
                "postmark_operation": op.id,
                "postmark_method": request.method,
                "postmark_path": request.url.path,
                "postmark_status": status,
                "postmark_duration_ms": round(duration_ms, 3),
                "postmark_request_id": request_id,
                "postmark_attempts": attempts,
            },
        )


# ---------------------------------------------------------------------------------------------
# The two clients: they differ only in how they try a request and how they sleep
# ---------------------------------------------------------------------------------------------


class _Run(Generic[T]):
    """A call's steps as an iterator of the I/O to do, for a client's driver: after each Try,
    it sets `reply` (the response) or `error` (what the try raised); `result` once done."""

    __slots__ = ("_steps", "error", "reply", "result")

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self.reply: httpx.Response | None = None
        self.error: BaseException | None = None

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Try | Wait:
        reply, error = self.reply, self.error
        self.reply = self.error = None
        try:
            return self._steps.send(reply) if error is None else self._steps.throw(error)
        except StopIteration as stop:
            self.result: T = stop.value
            raise StopIteration from None


def _blocking(
    steps: Callable[Concatenate[BaseClient[Any, Any, Any], _Call], Steps[T]],
) -> Callable[Concatenate[SyncAPIClient, _Call], T]:
    """A method of the sync client: the call's steps (shared by both clients), carried out."""

    def call(self: SyncAPIClient, /, *args: _Call.args, **kwargs: _Call.kwargs) -> T:
        return self._run(steps(self, *args, **kwargs))

    return update_wrapper(call, steps, assigned=("__module__", "__doc__"))


def _awaiting(
    steps: Callable[Concatenate[BaseClient[Any, Any, Any], _Call], Steps[T]],
) -> Callable[Concatenate[AsyncAPIClient, _Call], Coroutine[Any, Any, T]]:
    """A method of the async client: the call's steps (shared by both clients), awaited."""

    async def call(self: AsyncAPIClient, /, *args: _Call.args, **kwargs: _Call.kwargs) -> T:
        return await self._run(steps(self, *args, **kwargs))

    return update_wrapper(call, steps, assigned=("__module__", "__doc__"))


class SyncAPIClient(BaseClient[httpx.Client, httpx.BaseTransport, Callable[[float], None]]):
    """The blocking client core. Generated clients subclass it and add resource groups.

    Options (keyword-only): `token` (or the POSTMARK_SERVER_TOKEN / POSTMARK_ACCOUNT_TOKEN
    environment variable), `base_url`, `timeout` (seconds for each try of a call as a whole:
    connect, send, read of the whole answer; or an httpx.Timeout, whose limits bound each phase
    and whose largest bounds the whole; default 30 s, at most 10 s of it to connect), `max_retries` (default 2, 0 disables), `http_client` (an httpx.Client of
    your own, left open on close) or `transport` (an httpx transport, e.g. MockTransport),
    `sleep` (how to wait between retries; default time.sleep), `max_response_bytes` (the most
    bytes of one answer read, after gzip; default 64 MiB, more is a ResponseDecodeError),
    `idempotency_keys` (a key in every send's Metadata, and ambiguous failures reconciled by it;
    default True), `reconcile_waits` (seconds before each search after the first; default 1, 2,
    4, 8; waited through `sleep`).
    """

    def _new_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=self._timeout, headers=self._headers)

    @staticmethod
    def _default_sleep(seconds: float) -> None:
        time.sleep(seconds)

    def _run(self, steps: Steps[T]) -> T:
        """Carry out a call's steps: each try through httpx, each wait through `sleep`."""
        run = _Run(steps)
        for io in run:
            if isinstance(io, Wait):
                self._sleep(io.seconds)
                continue
            try:
                run.reply = self._attempt(*io)
            except BaseException as exc:  # noqa: BLE001 (the steps see it, and re-raise it)
                run.error = exc
        return run.result

    request = _blocking(BaseClient._request_steps)
    reconcile = _blocking(BaseClient._reconcile_steps)
    request_batch = _blocking(BaseClient._batch_steps)

    def request_page(self, op: Operation, **call: Unpack[PageCall]) -> SyncPage[Any]:
        """One page of a count/offset list; the page knows how to fetch the next."""
        return SyncPage(client=self, **self._run(self._page_steps(op, **call)))

    def _attempt(self, op: Operation, request: httpx.Request) -> httpx.Response:
        """One try of a call, the whole answer read, by its deadline."""
        started = _call_deadline.set(self._deadline())
        try:
            return self._receive(op, self._http.send(request, stream=True))
        finally:
            _call_deadline.reset(started)

    def _receive(self, op: Operation, response: httpx.Response) -> httpx.Response:
        """Read the body chunk by chunk (gzip unpacked as it comes), stopping at the cap."""
        cap, size, chunks = self._max_response_bytes, 0, list[bytes]()
        try:
            for chunk in response.iter_bytes():
                size = _take_chunk(chunks, chunk, size, cap)
                if size > cap:
                    raise _too_large(op, response, cap)
                _check_deadline(response)
        finally:
            response.close()
        _keep_body(response, chunks)
        return response

    def close(self) -> None:
        """Close the connection pool (not an http_client you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # only when a retry waits: keeps `import postmark_client` cheap

    await asyncio.sleep(seconds)


class AsyncAPIClient(
    BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport, Callable[[float], Awaitable[None]]]
):
    """The asyncio client core; the same options as SyncAPIClient, with an httpx.AsyncClient,
    an httpx.AsyncBaseTransport, and an awaitable `sleep` (default asyncio.sleep; pass
    `trio.sleep` under trio)."""

    def _new_http(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, timeout=self._timeout, headers=self._headers)

    @staticmethod
    async def _default_sleep(seconds: float) -> None:
        await _asyncio_sleep(seconds)

    async def _run(self, steps: Steps[T]) -> T:
        """Carry out a call's steps, as SyncAPIClient._run does, awaiting each I/O."""
        run = _Run(steps)
        for io in run:
            if isinstance(io, Wait):
                await self._sleep(io.seconds)
                continue
            try:
                run.reply = await self._attempt(*io)
            except BaseException as exc:  # noqa: BLE001 (the steps see it, and re-raise it)
                run.error = exc
        return run.result

    request = _awaiting(BaseClient._request_steps)
    reconcile = _awaiting(BaseClient._reconcile_steps)
    request_batch = _awaiting(BaseClient._batch_steps)

    async def request_page(self, op: Operation, **call: Unpack[PageCall]) -> AsyncPage[Any]:
        """One page of a count/offset list, as SyncAPIClient.request_page reads it."""
        fields = await self._run(self._page_steps(op, **call))
        return AsyncPage(client=self, **fields)

    async def _attempt(self, op: Operation, request: httpx.Request) -> httpx.Response:
        """One try of a call, the whole answer read, by its deadline."""
        started = _call_deadline.set(self._deadline())
        try:
            return await self._receive(op, await self._http.send(request, stream=True))
        finally:
            _call_deadline.reset(started)

    async def _receive(self, op: Operation, response: httpx.Response) -> httpx.Response:
        """Read the body chunk by chunk (gzip unpacked as it comes), stopping at the cap."""
        cap, size, chunks = self._max_response_bytes, 0, list[bytes]()
        try:
            async for chunk in response.aiter_bytes():
                size = _take_chunk(chunks, chunk, size, cap)
                if size > cap:
                    raise _too_large(op, response, cap)
                _check_deadline(response)
        finally:
            await response.aclose()
        _keep_body(response, chunks)
        return response

    async def close(self) -> None:
        """Close the connection pool (not an http_client you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class SyncResource:
    """Base of the generated resource groups (`client.email`, `client.bounces`, ...)."""

    _client: SyncAPIClient

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client


class AsyncResource:
    """Base of the generated async resource groups."""

    _client: AsyncAPIClient

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client
