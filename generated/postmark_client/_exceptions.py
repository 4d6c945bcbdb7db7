# Copied by postmark-codegen from templates/static/postmark_client/_exceptions.py;
# edit it there and regenerate, not here.
"""The exception hierarchy of `postmark_client.errors` and its spec-independent helpers.

`errors.py` (generated from the spec) adds Postmark's ErrorCode table and one named class per
ErrorCode the spec marks, and re-exports everything here: import from `postmark_client.errors`.
Messages never contain the API token: the client keeps request headers out of every error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from .batch import BatchOutcome, BatchResult


class ErrorCodeInfo(NamedTuple):
    """One row of Postmark's ErrorCode table.

    `verified` is False for codes known only from third-party notes: they are listed so that a
    caller can name them, not because Postmark documents them today.
    """

    code: int
    name: str
    meaning: str
    http_status: int | None
    verified: bool


def _describe_code(code: int | None, status: int | None = None) -> ErrorCodeInfo | None:
    """The ErrorCode table row of `code` (the table is generated into `errors.py`, which imports
    this module first, so it is looked up when an error is built, not at import).

    With `status`, only a row whose HTTP status is that one (422 where the table names none, as
    Postmark answers its ErrorCodes): an answer such as `500 {"ErrorCode": 500}` carries the
    HTTP status again, not ErrorCode 500 of the table (SenderSignatureQueryException, a 422).
    """
    from .errors import ErrorCode

    info = ErrorCode.describe(code)
    if info is not None and status is not None and (info.http_status or 422) != status:
        return None
    return info


class PostmarkError(Exception):
    """Base of every error this package raises."""


@dataclass(eq=False, repr=False)
class APIError(PostmarkError):
    """Postmark answered with an error status (or a body the client cannot use).

    `error_code` is Postmark's own number from the JSON body (None when the body had none);
    branch on it, never on `message`. `request_id` is the response's request id header, for
    Postmark support. `retry_after` is the wait Postmark asked for, in seconds, if it asked.
    """

    status_code: int
    error_code: int | None
    message: str
    request_id: str | None = None
    _: KW_ONLY
    retry_after: float | None = None
    body: Any = None

    def __post_init__(self) -> None:
        super().__init__(self._describe())

    @property
    def error_info(self) -> ErrorCodeInfo | None:
        """The ErrorCode table row of `error_code`, when the spec lists it."""
        return _describe_code(self.error_code, self.status_code)

    def _describe(self) -> str:
        parts = [f"HTTP {self.status_code}"]
        if self.error_code is not None:
            info = _describe_code(self.error_code, self.status_code)
            name = info.name if info else None
            parts.append(f"ErrorCode {self.error_code}" + (f" ({name})" if name else ""))
        text = ", ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"error_code={self.error_code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r})"
        )


class InvalidTokenError(APIError):
    """401: the token is missing, wrong, or of the wrong type for the endpoint.

    A server token on an account endpoint (or the reverse) gives this too.
    """


class NotFoundError(APIError):
    """404: the entity does not exist."""


class UnprocessableEntityError(APIError):
    """422: Postmark understood the request and refused it; `.error_code` says why."""


class RateLimitError(APIError):
    """429: requests arrived faster than Postmark accepts. Raised after the retries ran out."""


class ServerError(APIError):
    """500 (and any other 5xx): an error on Postmark's side."""


class ServiceUnavailableError(ServerError):
    """503: planned maintenance or outage. Raised after the retries ran out."""


class ResponseDecodeError(APIError):
    """The response body is not JSON, or does not fit the schema the spec gives it.

    For a 2xx answer the request did take effect; only its answer could not be read.
    """


class InactiveRecipientsMixin(APIError):
    """Adds `inactive_recipients` to the named error class of ErrorCode InactiveRecipient."""

    @property
    def inactive_recipients(self) -> tuple[str, ...]:
        """The addresses Postmark named as inactive (hard bounce, spam complaint, or suppression)."""
        return parse_inactive_recipients(self.message)


_INACTIVE = re.compile(r"Found inactive addresses:\s*(.+?)\.(?:\s|$)")


def parse_inactive_recipients(message: str) -> tuple[str, ...]:
    """The addresses in Postmark's "Found inactive addresses: a@b.com, c@d.com." sentence.

    Postmark gives no structured list, so the sentence is the only source; an unexpected
    wording gives an empty tuple rather than a wrong address.
    """
    match = _INACTIVE.search(message)
    if match is None:
        return ()
    return tuple(part.strip() for part in match.group(1).split(",") if part.strip())


STATUS_CLASSES: Final[dict[int, type[APIError]]] = {
    401: InvalidTokenError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: ServerError,
    503: ServiceUnavailableError,
}


def class_for(
    status_code: int | None,
    error_code: int | None,
    by_code: Mapping[int, tuple[int, type[APIError]]],
) -> type[APIError]:
    """The exception class for an error answer; `by_code` maps an ErrorCode to its usual HTTP
    status and named class (`errors._BY_CODE`, from the spec).

    A named class is chosen when the ErrorCode has one and arrived with its usual status, so
    that `isinstance(err, RateLimitError)` always agrees with the HTTP status. `status_code`
    None means "no HTTP status of its own" (an entry of a batch answer): the code alone decides.
    """
    named = by_code.get(error_code) if error_code is not None else None
    if named is not None and (status_code is None or status_code == named[0]):
        return named[1]
    if status_code is None:
        return UnprocessableEntityError
    known = STATUS_CLASSES.get(status_code)
    if known is not None:
        return known
    return ServerError if status_code >= 500 else APIError


class APIConnectionError(PostmarkError):
    """No usable answer: the connection failed or broke. `__cause__` is the httpx error."""


class APITimeoutError(APIConnectionError):
    """A timeout (connect, read, write or pool), after any retries."""


class OutcomeUnknownError(APIConnectionError):
    """The request may have reached Postmark, and repeating it is not safe, so it was not.

    Raised for operations the spec marks `x-postmark-retry: unsafe` (creates, sends) when the
    connection failed after the request was sent. Check the resource before trying again.
    """

    operation: str

    def __init__(self, operation: str, message: str) -> None:
        self.operation = operation
        super().__init__(message)


class MessageMaybeSentError(OutcomeUnknownError):
    """A send failed after the request may have reached Postmark: the message may or may
    not have been sent, and the client could not settle which (the search by its idempotency
    key failed or was not allowed, or the key was turned off). It was not re-sent.

    `idempotency_key` is the key the message carries in its Metadata (None with keys off):
    `client.email.reconcile(key)` finds it later. Without a key, search the outbound messages
    before sending again, or the recipient may get it twice."""

    idempotency_key: str | None = None


class RequestValidationError(PostmarkError, ValueError):
    """The client refused to send a request it can tell is invalid; nothing was sent.

    `field` names what is wrong (a parameter, a body field such as `To`, or
    `messages[3].To` inside a batch), `message` says which rule or limit it breaks.
    """

    field: str
    message: str

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __repr__(self) -> str:
        return f"RequestValidationError(field={self.field!r}, message={self.message!r})"


class MissingTokenError(PostmarkError, ValueError):
    """No token was passed to the client and its environment variable (`env_var`) is not set.

    Also a ValueError, which is what a missing token raised before this class existed.
    """

    env_var: str
    kind: str

    def __init__(self, env_var: str, kind: str) -> None:
        self.env_var = env_var
        self.kind = kind
        super().__init__(
            f"no {kind} token: pass token=... or set the {env_var} environment variable"
        )


class UnreachableResultsError(PostmarkError):
    """A list or search matched more results than count/offset paging can reach.

    Postmark serves at most `reachable` results of one search (count + offset <= 10,000), so
    auto-paging stops there instead of truncating silently. Narrow the search with the filters
    in `narrow_by` (for example a date range) and page each part.
    """

    operation: str
    total: int
    reachable: int
    narrow_by: tuple[str, ...]

    def __init__(
        self, operation: str, total: int, reachable: int, narrow_by: tuple[str, ...]
    ) -> None:
        self.operation = operation
        self.total = total
        self.reachable = reachable
        self.narrow_by = narrow_by
        hint = (
            f"narrow the search with {', '.join(narrow_by)} and page each part"
            if narrow_by
            else "narrow the search and page each part"
        )
        super().__init__(
            f"{operation} matched {total:,} results but Postmark lets one search reach only "
            f"the first {reachable:,}; the other {total - reachable:,} were not returned: "
            f"{hint} (or pass on_unreachable='stop' to accept the first {reachable:,})"
        )


class BatchFailedError(PostmarkError):
    """Some messages of a batch were not sent (or may not have been).

    `result` is the whole BatchResult, in the order given; `failures` its failed outcomes,
    each with its index, ErrorCode and message.
    """

    result: BatchResult[Any]
    failures: list[BatchOutcome[Any]]

    _SHOWN = 10

    def __init__(self, result: BatchResult[Any]) -> None:
        self.result = result
        self.failures = result.failed
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"{len(self.failures)} of {len(self.result)} messages failed:"]
        for outcome in self.failures[: self._SHOWN]:
            lines.append(f"  {outcome.describe()}")
        hidden = len(self.failures) - self._SHOWN
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see .failures)")
        return "\n".join(lines)
