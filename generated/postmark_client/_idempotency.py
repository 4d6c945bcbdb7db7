# Copied by postmark-codegen from templates/static/postmark_client/_idempotency.py;
# edit it there and regenerate, not here.
"""Sends that happen once: an idempotency key in each message's Metadata, and reconciliation.

Postmark has no idempotency key of its own, but it keeps a message's Metadata and searches
outbound messages by one metadata field (`metadata_<key>=<value>`). So every send carries a key
under `IDEMPOTENCY_METADATA_KEY`, and after an ambiguous failure (a 500, a read timeout, a
connection dropped after the request was written) the client searches for that key instead of
guessing: found means sent (its result is the send's result); not found after the waits means
not sent, so it is sent again with the same key and that attempt is settled the same way.

The steps are a generator of actions (wait, search, send again) that the client core turns
into the steps of its calls, which the sync and the async client only carry out: the rules live
here once.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping, Sequence
from typing import Any, Final, NamedTuple

from ._meta import Operation
from .errors import (
    APIConnectionError,
    APIError,
    MessageMaybeSentError,
    RequestValidationError,
    ResponseDecodeError,
)

__all__ = [
    "DEFAULT_RECONCILE_WAITS",
    "IDEMPOTENCY_METADATA_KEY",
    "MAX_METADATA_FIELDS",
    "MAX_METADATA_NAME_CHARS",
    "MAX_METADATA_VALUE_CHARS",
]

IDEMPOTENCY_METADATA_KEY: Final = "idempotency_key"
"""The Metadata field every send's key goes in (search it as `metadata_idempotency_key`)."""

# Postmark's limits on custom metadata. Its own 422 answer to a message over them says "Field
# names are limited to 20 characters and field values are limited to 80 characters in length";
# its Custom metadata FAQ forbids two names that differ only in case (via the API). The 10
# fields per message are the limit integrations report Postmark refusing past (`>10 fields`);
# the reference text read does not state that number itself. The key is one of the 10.
MAX_METADATA_FIELDS: Final = 10
MAX_METADATA_NAME_CHARS: Final = 20
MAX_METADATA_VALUE_CHARS: Final = 80

DEFAULT_RECONCILE_WAITS: Final = (1.0, 2.0, 4.0, 8.0)
"""Seconds to wait before each search after the first one (which goes at once): 15 s in all.

Postmark's outbound search lists a message a moment after accepting it, usually well within
a few seconds; the doubling waits settle the common case after 1-3 s and still cover an index
that lags by up to 15 s. A lag longer than the sum of the waits is the one case a message
could be sent twice: raise the waits where the search is known to lag more."""

_AMBIGUOUS_STATUSES: Final = frozenset({500, 502, 504})
# A search that failed for a passing reason (429, 5xx, a connection) is tried again this many
# more times, this far apart, before the send is left "may have been sent".
_SEARCH_RETRIES: Final = 3
_SEARCH_RETRY_WAIT: Final = 1.0
_PASSING_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


def new_key() -> str:
    """A fresh random key: 32 hex digits (128 random bits, as a UUID4 carries 122)."""
    return os.urandom(16).hex()


def check_waits(waits: Sequence[float]) -> tuple[float, ...]:
    """The reconcile waits as a tuple, each a finite number of seconds >= 0."""
    result = tuple(waits)
    for wait in result:
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < 3600:
            raise ValueError(
                f"reconcile_waits must be seconds between 0 and 3600, got {wait!r} in {result!r}"
            )
    return tuple(float(wait) for wait in result)


def _check_metadata(metadata: Mapping[str, Any], where: str) -> None:
    if len(metadata) > MAX_METADATA_FIELDS:
        raise RequestValidationError(
            where,
            f"has {len(metadata)} fields with the idempotency key '{IDEMPOTENCY_METADATA_KEY}'; "
            f"Postmark accepts at most {MAX_METADATA_FIELDS} metadata fields per message "
            "(or turn the key off with idempotency_keys=False)",
        )
    seen: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise RequestValidationError(
                f"{where}.{name}", f"must map strings to strings, got {type(value).__name__}"
            )
        if len(name) > MAX_METADATA_NAME_CHARS:
            raise RequestValidationError(
                f"{where}.{name}",
                f"the field name has {len(name)} characters; Postmark accepts at most "
                f"{MAX_METADATA_NAME_CHARS}",
            )
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise RequestValidationError(
                f"{where}.{name}",
                f"the value has {len(value)} characters; Postmark accepts at most "
                f"{MAX_METADATA_VALUE_CHARS}",
            )
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise RequestValidationError(
                f"{where}.{name}",
                f"differs from {other!r} only in case; Postmark refuses such duplicate names",
            )


def stamp(message: Any, field: str, key: str | None, where: str) -> str:
    """Put the idempotency key in `message[field]` (a copy of the caller's Metadata, which is
    kept) and return it: the key given, the one the Metadata already holds, or a new one."""
    if not isinstance(message, dict):
        raise RequestValidationError(where, f"must be an object, got {type(message).__name__}")
    given = message.get(field)
    if given is None and key is None:  # the common case: nothing of the caller's to check
        fresh = new_key()
        message[field] = {IDEMPOTENCY_METADATA_KEY: fresh}
        return fresh
    if given is not None and not isinstance(given, Mapping):
        raise RequestValidationError(
            f"{where}.{field}", f"must be an object, got {type(given).__name__}"
        )
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise RequestValidationError("idempotency_key", f"must be a non-empty string, got {key!r}")
    metadata = dict(given or {})
    held = metadata.get(IDEMPOTENCY_METADATA_KEY)
    if key is not None and held is not None and held != key:
        raise RequestValidationError(
            f"{where}.{field}.{IDEMPOTENCY_METADATA_KEY}",
            "differs from idempotency_key=; give the key once",
        )
    chosen = key or held or new_key()
    if not isinstance(chosen, str) or not chosen:
        raise RequestValidationError(
            f"{where}.{field}.{IDEMPOTENCY_METADATA_KEY}", "must be a non-empty string"
        )
    metadata[IDEMPOTENCY_METADATA_KEY] = chosen
    _check_metadata(metadata, f"{where}.{field}")
    message[field] = metadata
    return chosen


def stamp_body(op: Operation, data: Any, key: str | None) -> str | None:
    """Stamp the key into a one-message body (or into each entry of its list field, with the
    entry's index appended, as for a bulk request's recipients); the key of the message."""
    field = op.idempotency_metadata
    if field is None:
        return None
    if "." not in field:
        return stamp(data, field, key, "body")
    holder, inner = field.split(".", 1)
    entries = data.get(holder) if isinstance(data, dict) else None
    if isinstance(entries, list):
        base = key or new_key()
        for index, entry in enumerate(entries):
            stamp(entry, inner, f"{base}-{index}", f"{holder}[{index}]")
    return None


def ambiguous_status(status: int) -> bool:
    """Whether an answer with this status leaves a send's outcome unknown (500, 502, 504)."""
    return status in _AMBIGUOUS_STATUSES


def is_ambiguous(error: BaseException) -> bool:
    """Whether a send that failed this way may have been sent: a 500/502/504, an unreadable
    2xx answer, or a connection that broke after the request was written."""
    if isinstance(error, MessageMaybeSentError):
        return True
    if isinstance(error, ResponseDecodeError):
        return 200 <= error.status_code < 300
    return isinstance(error, APIError) and ambiguous_status(error.status_code)


def _search_may_recover(error: BaseException) -> bool:
    if isinstance(error, APIError):
        return error.status_code in _PASSING_STATUSES
    return isinstance(error, APIConnectionError)


def _search_failure(op: Operation, key: str, error: BaseException) -> MessageMaybeSentError:
    failure = maybe_sent(op, key, f"the search for its key failed ({error})")
    failure.__cause__ = error
    return failure


def maybe_sent(op: Operation, key: str, message: str) -> MessageMaybeSentError:
    """The error left when reconciliation could not settle a send, carrying its key."""
    error = MessageMaybeSentError(
        op.id,
        f"{op.method} {op.path} ({op.id}): {message}; the message may or may not have been "
        f"sent. Reconcile it later with client.email.reconcile({key!r}) before sending it again.",
    )
    error.idempotency_key = key
    return error


def send_answer(message: Any, found: Mapping[str, Any]) -> dict[str, Any]:
    """A send's answer rebuilt from the message the search found: Postmark's MessageID and
    the time it was received, and the To of the message as it was sent."""
    to = message.get("To") if isinstance(message, dict) else None
    return {
        "To": to if isinstance(to, str) else None,
        "SubmittedAt": found.get("ReceivedAt"),
        "MessageID": found.get("MessageID"),
        "ErrorCode": 0,
        "Message": "OK",
    }


# ---- the steps, carried out by the client cores ---------------------------------------------


class Wait(NamedTuple):
    """Sleep this long (through the client's injectable sleep)."""

    seconds: float


class Search(NamedTuple):
    """Search outbound messages by this key; answered with (found message or None, error)."""

    key: str


class Resend(NamedTuple):
    """Send these messages (by key) again; answered with {key: (answer or None, error)}."""

    keys: tuple[str, ...]


Action = Wait | Search | Resend
Settled = dict[str, tuple[str, Any]]
"""key -> ("found", search item) | ("sent", answer) | ("failed", error)."""


def settle(
    op: Operation,
    pending: dict[str, BaseException],
    waits: tuple[float, ...],
    resends: int,
) -> Generator[Action, Any, Settled]:
    """Settle the sends whose outcome is unknown (key -> the ambiguous error).

    Each round searches for every pending key (at once, then after each wait, until all are
    found). A message is only taken as not sent when the last search of the round answered
    "none" (the index only grows, so earlier failed searches do not matter; a failed last one
    is tried again a few times). The ones not found are sent again with the same keys, and the
    ambiguous failures of that attempt go into the next round. What is left after `resends`
    rounds, or whose search cannot run, is a MessageMaybeSentError carrying its key.
    """
    settled: Settled = {}
    searched = 0.0
    for round_ in range(resends + 1):
        failed: dict[str, BaseException] = {}
        schedule = (0.0, *waits) + (_SEARCH_RETRY_WAIT,) * _SEARCH_RETRIES
        for step, wait in enumerate(schedule):
            extra = step > len(waits)  # only to retry searches that failed
            keys = list(failed) if extra else list(pending)
            if not keys:
                break
            if wait:
                yield Wait(wait)
                searched += wait
            for key in keys:
                found, error = yield Search(key)
                if found is not None:
                    settled[key] = ("found", found)
                    del pending[key]
                    failed.pop(key, None)
                elif error is not None and not _search_may_recover(error):
                    settled[key] = ("failed", _search_failure(op, key, error))
                    del pending[key]
                    failed.pop(key, None)
                elif error is not None:
                    failed[key] = error
                else:
                    failed.pop(key, None)
        for key, error in failed.items():
            settled[key] = ("failed", _search_failure(op, key, error))
            del pending[key]
        if not pending or round_ == resends:
            break
        answers: dict[str, tuple[Any, BaseException | None]] = yield Resend(tuple(pending))
        for key, (answer, error) in answers.items():
            if error is None:
                settled[key] = ("sent", answer)
                del pending[key]
            elif not is_ambiguous(error):
                settled[key] = ("failed", error)
                del pending[key]
            else:
                pending[key] = error
    for key, last in pending.items():
        failure = maybe_sent(
            op,
            key,
            f"not found by its idempotency key after {searched:g} s of searching, and not sent "
            f"again after {resends + 1} attempt{'s' if resends else ''}",
        )
        failure.__cause__ = last
        settled[key] = ("failed", failure)
    return settled


def search_query(key: str) -> dict[str, Any]:
    """The query of the search for one key (two results: a second one means a duplicate)."""
    return {"count": 2, "offset": 0, "metadata": {IDEMPOTENCY_METADATA_KEY: key}}


def first_found(answer: Any) -> Any:
    """The message a search answer found (its newest), or None."""
    messages = answer.get("Messages") if isinstance(answer, Mapping) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
        return messages[0]
    return None
