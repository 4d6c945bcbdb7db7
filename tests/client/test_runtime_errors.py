"""Error answers become typed errors; bodies that do not fit become ResponseDecodeError."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmark_client import errors
from postmark_client.errors import (
    APIError,
    ErrorCode,
    InvalidTokenError,
    NotFoundError,
    PostmarkError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    error_class_for,
    parse_inactive_recipients,
)
from runtime_support import (
    GET_BOUNCE,
    KINDS,
    SEND,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    error_body,
    send_ok,
)
from support.spec_yaml import spec_doc

from generator.naming import constant_name

SPEC = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"
# Postmark's wording, from the reference notes on a failed batch entry (ErrorCode 406).
INACTIVE_MESSAGE = (
    "You tried to send to a recipient that has been marked as inactive. Found inactive "
    "addresses: example@example.com. Inactive recipients are ones that have generated a hard "
    "bounce, a spam complaint, or a manual suppression. "
)


@functools.cache
def spec_error_codes() -> list[dict[str, Any]]:
    spec = spec_doc(SPEC)
    rows: list[dict[str, Any]] = spec["components"]["x-postmark-error-codes"]
    return rows


def fail_with(
    kind: str, status: int, body: Any = None, headers: dict[str, str] | None = None, **kw: Any
) -> PostmarkError:
    answer = (
        httpx.Response(status, json=body, headers=headers)
        if body is not None and not isinstance(body, (bytes, str))
        else httpx.Response(status, content=body or b"", headers=headers)
    )
    with pytest.raises(PostmarkError) as caught:
        Harness(kind, FakePostmark(answer), max_retries=0).request(
            SEND, body=Message(), cast_to=SendResult.from_dict, **kw
        )
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, 10, InvalidTokenError),
        (404, 12, NotFoundError),
        (422, 300, UnprocessableEntityError),
        (429, 429, RateLimitError),
        (500, 500, ServerError),
        (503, 100, ServiceUnavailableError),
        (502, None, ServerError),
        (400, 99998, APIError),
        (413, None, APIError),
    ],
)
def test_each_status_has_its_error(
    kind: str, status: int, code: int | None, expected: type[APIError]
) -> None:
    body = error_body(code, f"failure {status}") if code is not None else b"<html>oops</html>"
    error = fail_with(kind, status, body, headers={"X-Request-Id": "req-77"})
    assert isinstance(error, expected)
    assert isinstance(error, APIError)
    if status in (400, 413, 502):
        assert type(error) is expected
    assert error.status_code == status
    assert error.error_code == code
    assert error.request_id == "req-77"
    if code is not None:
        assert error.message.startswith(f"failure {status}")
        assert f"ErrorCode {code}" in str(error)
    else:
        assert "carried no Postmark error body" in error.message
    assert "[request id req-77]" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_inactive_recipient_names_the_addresses(kind: str) -> None:
    error = fail_with(kind, 422, error_body(406, INACTIVE_MESSAGE))
    assert type(error).__name__ == "InactiveRecipientError"
    assert isinstance(error, UnprocessableEntityError)
    assert error.inactive_recipients == ("example@example.com",)  # type: ignore[attr-defined]
    assert error.error_code == ErrorCode.INACTIVE_RECIPIENT  # type: ignore[attr-defined]


def test_inactive_addresses_are_parsed_from_the_sentence() -> None:
    message = "Found inactive addresses: a@x.com, b.c@y.co.uk. Inactive recipients are ..."
    assert parse_inactive_recipients(message) == ("a@x.com", "b.c@y.co.uk")
    assert parse_inactive_recipients("Found inactive addresses: z@q.org.") == ("z@q.org",)
    assert parse_inactive_recipients("Some other wording") == ()


@pytest.mark.parametrize("kind", KINDS)
def test_a_named_code_with_an_unexpected_status_keeps_the_status_class(kind: str) -> None:
    error = fail_with(kind, 400, error_body(406, INACTIVE_MESSAGE))
    assert type(error) is APIError


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_error_codes_pass_through(kind: str) -> None:
    error = fail_with(kind, 422, error_body(99999, "Something new"))
    assert type(error) is UnprocessableEntityError
    assert error.error_code == 99999
    assert error.error_info is None
    assert ErrorCode.describe(99999) is None


@pytest.mark.parametrize("kind", KINDS)
def test_error_body_and_retry_after_are_kept(kind: str) -> None:
    body = {"ErrorCode": 429, "Message": "Slow down", "Extra": [1]}
    error = fail_with(kind, 429, body, headers={"Retry-After": "7"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert error.body == body


@pytest.mark.parametrize("kind", KINDS)
def test_html_503_from_a_proxy_is_still_service_unavailable(kind: str) -> None:
    error = fail_with(kind, 503, b"<html>maintenance</html>")
    assert isinstance(error, ServiceUnavailableError)
    assert error.error_code is None
    assert "Service Unavailable" in error.message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not JSON"),
        (b"", "not JSON"),
        (b'{"To": "a@example.com", "ErrorCode": 0}', "does not fit SendEmailResponse"),
        (b'{"MessageID": "m", "SubmittedAt": "yesterday"}', "does not fit SendEmailResponse"),
        (b"[1, 2]", "does not fit SendEmailResponse"),
    ],
)
def test_a_2xx_body_that_does_not_fit_is_a_decode_error(
    kind: str, content: bytes, words: str
) -> None:
    fake = FakePostmark(httpx.Response(200, content=content, headers={"X-Request-Id": "r-1"}))
    with pytest.raises(ResponseDecodeError) as caught:
        Harness(kind, fake).request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert words in str(caught.value)
    assert "send_email" in str(caught.value)
    assert caught.value.status_code == 200
    assert caught.value.request_id == "r-1"
    assert len(fake.requests) == 1  # a decode error is not retried: the send went through


@pytest.mark.parametrize("kind", KINDS)
def test_datetimes_with_seven_digits_and_offsets_parse(kind: str) -> None:
    fake = FakePostmark(httpx.Response(200, json=send_ok()))
    result = Harness(kind, fake).request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert result.submitted_at.microsecond == 219696
    assert result.submitted_at.utcoffset().total_seconds() == -4 * 3600


@pytest.mark.parametrize("kind", KINDS)
def test_404_on_a_get(kind: str) -> None:
    fake = FakePostmark(httpx.Response(404, json=error_body(12, "Not found")))
    with pytest.raises(NotFoundError):
        Harness(kind, fake).request(GET_BOUNCE, path={"bounceid": 9})
    assert len(fake.requests) == 1


# ---- the ErrorCode table follows the spec ----------------------------------------------------


def test_every_spec_error_code_is_a_constant_with_its_row() -> None:
    rows = spec_error_codes()
    assert rows, "the spec lists error codes"
    for row in rows:
        assert getattr(ErrorCode, constant_name(row["name"])) == row["code"]
        info = ErrorCode.describe(row["code"])
        assert info is not None
        assert (info.name, info.meaning) == (row["name"], row["meaning"])
        assert info.http_status == row.get("http-status")
        assert info.verified == row["verified"]
        assert ErrorCode.name_of(row["code"]) == row["name"]
    assert [info.code for info in ErrorCode.table()] == [row["code"] for row in rows]


def test_every_named_exception_of_the_spec_is_raised_for_its_code() -> None:
    named = [row for row in spec_error_codes() if row.get("exception")]
    assert any(row["code"] == 406 for row in named), "InactiveRecipient has a named class"
    for row in named:
        status = row.get("http-status") or 422
        cls = error_class_for(status, row["code"])
        assert cls.__name__ == f"{row['name']}Error"
        assert getattr(errors, cls.__name__) is cls
        assert cls.__name__ in errors.__all__
        assert issubclass(cls, error_class_for(status, None))
        # Inside a batch answer an entry has no status of its own: the code alone decides.
        assert error_class_for(None, row["code"]) is cls


def test_request_validation_error_is_a_value_error() -> None:
    error = errors.RequestValidationError("To", "has 51 recipients")
    assert isinstance(error, ValueError)
    assert str(error) == "To: has 51 recipients"


@pytest.mark.parametrize(
    ("status", "expected"), [(500, None), (503, None), (422, "SenderSignatureQueryException")]
)
def test_the_error_code_table_is_read_only_with_the_status_its_codes_come_with(
    status: int, expected: str | None
) -> None:
    """`500 {"ErrorCode": 500}` repeats the HTTP status; ErrorCode 500 of Postmark's table
    (SenderSignatureQueryException) comes with a 422, so only a 422 is named after it."""
    assert ErrorCode.describe(500) is not None
    error = error_class_for(status, 500)(status, 500, "Internal server error.")
    info = error.error_info
    assert (info.name if info else None) == expected
    assert ("SenderSignatureQueryException" in str(error)) == (expected is not None)


def test_a_failure_never_reads_as_error_code_0_success() -> None:
    """A message that failed with Postmark's ErrorCode 0 (Success) in hand, e.g. a call turned
    away before processing, is described by its status and message alone."""
    from postmark_client.batch import BatchOutcome

    failed = BatchOutcome(index=3, message={}, status="not_sent", error_code=0, error_message="429")
    assert failed.describe() == "#3 not sent: 429"
    rejected = BatchOutcome(
        index=4, message={}, status="rejected", error_code=406, error_message="x"
    )
    assert rejected.describe() == "#4 rejected: ErrorCode 406 (InactiveRecipient): x"


def test_error_code_300_has_a_named_exception() -> None:
    """A malformed send (ErrorCode 300, InvalidEmailRequest) is what a new user meets first."""
    cls = error_class_for(422, 300)
    assert cls.__name__ == "InvalidEmailRequestError"
    assert issubclass(cls, UnprocessableEntityError)
    assert errors.InvalidEmailRequestError is cls
