"""The outcome of a batch send, message by message.

Postmark answers a batch call with HTTP 200 even when some of its messages were refused: each
entry of the answer carries its own ErrorCode. A BatchResult therefore never reduces a batch to
one status; it keeps the caller's order and says, for every message, whether it was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, NamedTuple, TypeVar, overload

from .errors import (
    APIConnectionError,
    APIError,
    BatchFailedError,
    ErrorCode,
    OutcomeUnknownError,
    PostmarkError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ServiceUnavailableError,
    error_class_for,
)

__all__ = ["BatchOutcome", "BatchResult", "BatchStatus"]

T = TypeVar("T")

RECONCILED: Final = "reconciled: already sent as"
"""The message of a sent outcome that reconciliation found by its idempotency key (not sent
again), followed by its MessageID."""

BatchStatus = Literal["sent", "rejected", "unknown", "not_sent"]
"""What happened to one message, and so what is safe to do next:

- `sent`: Postmark accepted it (ErrorCode 0).
- `rejected`: Postmark refused it (its entry had an ErrorCode, or its call got a 4xx answer);
  fix what the error names before sending it again.
- `unknown`: its call failed after the request may have reached Postmark and reconciliation
  by its idempotency key could not settle it; it may or may not have been sent, so do not
  re-send it blindly (`error.idempotency_key` finds it later).
- `not_sent`: it never reached Postmark (its call was not made, or was turned away with 429/503
  or a connection failure); it can be sent again as it is.
"""


@dataclass(slots=True)
class BatchOutcome(Generic[T]):
    """One message of a batch: its position, the message itself and what became of it."""

    index: int
    message: Any
    status: BatchStatus
    result: T | None = None
    error_code: int | None = None
    error_message: str | None = None
    error: PostmarkError | None = None

    @property
    def ok(self) -> bool:
        """True when Postmark accepted this message."""
        return self.status == "sent"

    def describe(self) -> str:
        """One line for error messages: `#5 rejected: ErrorCode 406 (InactiveRecipient): ...`."""
        if self.ok:
            return f"#{self.index} sent"
        text = f"#{self.index} {self.status.replace('_', ' ')}"
        if self.error_code:  # 0 is Postmark's "Success": never part of a failure's text
            name = ErrorCode.name_of(self.error_code)
            text += f": ErrorCode {self.error_code}" + (f" ({name})" if name else "")
        if self.error_message:
            text += f": {self.error_message}"
        return text


class BatchResult(Generic[T]):
    """Every message of a batch, in the order given, with its outcome.

    `succeeded` and `failed` split the outcomes; `all_succeeded` is True only when Postmark
    accepted every message; `raise_for_failures()` turns any failure into a BatchFailedError.
    """

    __slots__ = ("_outcomes", "calls")

    def __init__(self, outcomes: list[BatchOutcome[T]], calls: int) -> None:
        self._outcomes = outcomes
        self.calls = calls
        """How many HTTP calls the batch took (it is split by Postmark's limits)."""

    @property
    def outcomes(self) -> list[BatchOutcome[T]]:
        """All outcomes, in the order the messages were given."""
        return list(self._outcomes)

    @property
    def succeeded(self) -> list[BatchOutcome[T]]:
        """The messages Postmark accepted."""
        return [outcome for outcome in self._outcomes if outcome.ok]

    @property
    def failed(self) -> list[BatchOutcome[T]]:
        """The messages that were not accepted (rejected, not sent, or with unknown outcome)."""
        return [outcome for outcome in self._outcomes if not outcome.ok]

    @property
    def reconciled(self) -> list[BatchOutcome[T]]:
        """The accepted messages found by their idempotency key, not sent again."""
        return [
            outcome
            for outcome in self._outcomes
            if outcome.ok and (outcome.error_message or "").startswith(RECONCILED)
        ]

    @property
    def unknown(self) -> list[BatchOutcome[T]]:
        """The messages that may or may not have been sent (reconciliation could not say)."""
        return [outcome for outcome in self._outcomes if outcome.status == "unknown"]

    @property
    def all_succeeded(self) -> bool:
        """True only when every message was accepted (an HTTP 200 alone does not say so)."""
        return all(outcome.ok for outcome in self._outcomes)

    @property
    def results(self) -> list[T | None]:
        """The parsed answer of each message, None where it was not accepted."""
        return [outcome.result for outcome in self._outcomes]

    def raise_for_failures(self) -> None:
        """Raise BatchFailedError, listing index, ErrorCode and message of each failure."""
        if not self.all_succeeded:
            raise BatchFailedError(self)

    def __len__(self) -> int:
        return len(self._outcomes)

    def __iter__(self) -> Iterator[BatchOutcome[T]]:
        return iter(self._outcomes)

    @overload
    def __getitem__(self, index: int) -> BatchOutcome[T]: ...

    @overload
    def __getitem__(self, index: slice) -> list[BatchOutcome[T]]: ...

    def __getitem__(self, index: int | slice) -> BatchOutcome[T] | list[BatchOutcome[T]]:
        return self._outcomes[index]

    def __repr__(self) -> str:
        return (
            f"BatchResult(messages={len(self)}, succeeded={len(self.succeeded)}, "
            f"failed={len(self.failed)}, calls={self.calls})"
        )


class BatchEntry(NamedTuple, Generic[T]):
    """One entry of a batch answer: Postmark's ErrorCode and Message, and the parsed result."""

    error_code: int
    message: str
    result: T | None


def parse_batch_answer(
    data: Any, expected: int, cast_item: Callable[[Any], T]
) -> list[BatchEntry[T]]:
    """Read a batch answer: an array with one entry per message sent, in the same order.

    Entries with ErrorCode 0 are parsed with `cast_item`; the others keep only their code and
    message (Postmark sends nothing else for them). An answer of the wrong length raises
    ValueError, one of the wrong shape TypeError: without a one-to-one match no message could
    be given its outcome.
    """
    if not isinstance(data, list):
        raise TypeError(f"expected an array of {expected} entries, got {type(data).__name__}")
    if len(data) != expected:
        raise ValueError(f"expected {expected} entries (one per message), got {len(data)}")
    entries: list[BatchEntry[T]] = []
    for position, item in enumerate(data):
        if not isinstance(item, dict):
            raise TypeError(f"entry {position} is {type(item).__name__}, not an object")
        code = item.get("ErrorCode", 0)
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"entry {position} has a non-integer ErrorCode {code!r}")
        message = item.get("Message")
        text = message if isinstance(message, str) else ""
        entries.append(BatchEntry(code, text, cast_item(item) if code == 0 else None))
    return entries


def status_after_call_error(error: PostmarkError) -> BatchStatus:
    """What a failed call means for its messages.

    A 429 or 503 (after retries) and a connection that never carried the request mean Postmark
    did not take the messages; any other error answer refused them; a 5xx, a broken connection
    after sending, or an unreadable 2xx answer leaves them possibly sent.
    """
    if isinstance(error, OutcomeUnknownError):
        return "unknown"
    if isinstance(error, APIConnectionError):
        return "not_sent"
    if isinstance(error, (RateLimitError, ServiceUnavailableError)):
        return "not_sent"
    if isinstance(error, ResponseDecodeError):
        return "unknown" if 200 <= error.status_code < 300 else "rejected"
    if isinstance(error, ServerError):
        return "unknown"
    return "rejected"


class BatchCollector(Generic[T]):
    """Builds a BatchResult call by call, as the client core sends the parts of a batch."""

    def __init__(self, messages: Sequence[Any]) -> None:
        self._messages = messages
        self._outcomes: list[BatchOutcome[T] | None] = [None] * len(messages)
        self.calls = 0
        self.delivered_calls = 0

    def record_answer(
        self, start: int, entries: list[BatchEntry[T]], request_id: str | None
    ) -> None:
        """Give each message of a call that Postmark answered its entry's outcome."""
        self.calls += 1
        self.delivered_calls += 1
        for offset, entry in enumerate(entries):
            index = start + offset
            self._outcomes[index] = self._outcome_of(index, entry, request_id)

    def record_call_error(self, start: int, end: int, error: PostmarkError) -> None:
        """Mark every message of a call that failed as a whole with that call's error."""
        self.calls += 1
        status = status_after_call_error(error)
        code = error.error_code if isinstance(error, APIError) else None
        for index in range(start, end):
            self._outcomes[index] = BatchOutcome(
                index, self._messages[index], status, None, code, str(error), error
            )

    def skip_rest(self, start: int) -> None:
        """Mark the messages from `start` on as not sent: their calls were never made."""
        for index in range(start, len(self._messages)):
            self._outcomes[index] = BatchOutcome(
                index,
                self._messages[index],
                "not_sent",
                error_message="not sent: an earlier call of this batch failed",
            )

    def unknown(self) -> dict[int, PostmarkError]:
        """The messages whose outcome is unknown (their call failed ambiguously), by index."""
        return {
            outcome.index: outcome.error
            for outcome in self._outcomes
            if outcome is not None and outcome.status == "unknown" and outcome.error is not None
        }

    def record_found(self, index: int, result: T, message_id: Any = None) -> None:
        """A message of unknown outcome that reconciliation found sent (as `message_id`)."""
        note = f"{RECONCILED} {message_id}"
        self._outcomes[index] = BatchOutcome(index, self._messages[index], "sent", result, 0, note)

    def record_entry(self, index: int, entry: BatchEntry[T]) -> None:
        """The answer to a message sent again after reconciliation found it not sent."""
        self._outcomes[index] = self._outcome_of(index, entry, None)

    def record_error(self, index: int, error: PostmarkError) -> None:
        """A message reconciliation could not settle, or whose sending again failed."""
        code = error.error_code if isinstance(error, APIError) else None
        self._outcomes[index] = BatchOutcome(
            index,
            self._messages[index],
            status_after_call_error(error),
            None,
            code,
            str(error),
            error,
        )

    def result(self) -> BatchResult[T]:
        """The finished result; every message has an outcome by now."""
        outcomes = [outcome for outcome in self._outcomes if outcome is not None]
        if len(outcomes) != len(self._outcomes):
            raise RuntimeError("a batch message was left without an outcome")
        return BatchResult(outcomes, self.calls)

    def _outcome_of(
        self, index: int, entry: BatchEntry[T], request_id: str | None
    ) -> BatchOutcome[T]:
        message = self._messages[index]
        if entry.error_code == 0:
            return BatchOutcome(index, message, "sent", entry.result, 0, entry.message or None)
        error_class = error_class_for(None, entry.error_code)
        error = error_class(200, entry.error_code, entry.message, request_id)
        return BatchOutcome(
            index, message, "rejected", None, entry.error_code, entry.message, error
        )
