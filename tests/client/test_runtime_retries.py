"""Retries: what is repeated, when, after how long; and what is never re-sent.

Sleeps are injected and recorded: no test waits for real.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from postmark_client.errors import (
    APIConnectionError,
    APITimeoutError,
    MessageMaybeSentError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from runtime_support import (
    CREATE_SUPPRESSIONS,
    GET_BOUNCE,
    KINDS,
    SEND,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    Suppressions,
    error_body,
    send_ok,
)

pytestmark = pytest.mark.parametrize("kind", KINDS)

BOUNCE = {"ID": 42, "Email": "a@example.com"}


def rate_limited(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers, json=error_body(429, "Rate limit exceeded."))


def sent() -> httpx.Response:
    return httpx.Response(200, json=send_ok())


def send(harness: Harness) -> SendResult:
    result: SendResult = harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    return result


def test_429_then_200_waits_as_retry_after_says(kind: str) -> None:
    fake = FakePostmark(rate_limited("3"), sent())
    harness = Harness(kind, fake)
    assert send(harness).message_id == "b7bc2f4a-e38e"
    assert len(fake.requests) == 2
    assert harness.sleeps == [3.0]


def test_retry_after_as_an_http_date(kind: str) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake = FakePostmark(rate_limited(format_datetime(when, usegmt=True)), sent())
    harness = Harness(kind, fake)
    send(harness)
    [delay] = harness.sleeps
    assert 25.0 <= delay <= 30.0


def test_retry_after_in_the_past_means_no_wait(kind: str) -> None:
    fake = FakePostmark(rate_limited("Wed, 21 Oct 2015 07:28:00 GMT"), sent())
    harness = Harness(kind, fake)
    send(harness)
    assert harness.sleeps == [0.0]


def test_retry_after_over_a_minute_is_not_waited_out(kind: str) -> None:
    fake = FakePostmark(rate_limited("600"), sent())
    harness = Harness(kind, fake)
    with pytest.raises(RateLimitError) as caught:
        send(harness)
    assert caught.value.retry_after == 600.0
    assert len(fake.requests) == 1
    assert harness.sleeps == []


def test_429_without_retry_after_backs_off_with_jitter_then_gives_up(kind: str) -> None:
    fake = FakePostmark(rate_limited())
    harness = Harness(kind, fake)
    with pytest.raises(RateLimitError) as caught:
        send(harness)
    assert caught.value.status_code == 429
    assert len(fake.requests) == 3  # the call and max_retries=2 repetitions
    first, second = harness.sleeps
    assert 0.375 <= first <= 0.5
    assert 0.75 <= second <= 1.0


def test_backoff_doubles_up_to_8_seconds(kind: str) -> None:
    fake = FakePostmark(httpx.Response(503, json=error_body(100, "Maintenance")))
    harness = Harness(kind, fake, max_retries=6)
    with pytest.raises(ServiceUnavailableError):
        send(harness)
    assert len(harness.sleeps) == 6
    for delay, ceiling in zip(harness.sleeps, [0.5, 1, 2, 4, 8, 8], strict=True):
        assert ceiling * 0.75 <= delay <= ceiling


def test_503_is_retried_even_for_a_send(kind: str) -> None:
    fake = FakePostmark(httpx.Response(503, json=error_body(100, "Maintenance")), sent())
    harness = Harness(kind, fake)
    send(harness)
    assert len(fake.requests) == 2


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
def test_a_connection_that_never_carried_the_request_is_retried_for_a_send(
    kind: str, failure: Exception
) -> None:
    fake = FakePostmark(failure, sent())
    harness = Harness(kind, fake)
    send(harness)
    assert len(fake.requests) == 2
    assert len(harness.sleeps) == 1


def test_connect_errors_exhausted_raise_a_connection_error(kind: str) -> None:
    fake = FakePostmark(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as caught:
        send(Harness(kind, fake))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(fake.requests) == 3


def test_connect_timeout_exhausted_is_a_timeout_error(kind: str) -> None:
    fake = FakePostmark(httpx.ConnectTimeout("slow"))
    with pytest.raises(APITimeoutError):
        send(Harness(kind, fake))
    assert len(fake.requests) == 3


def test_422_is_not_retried(kind: str) -> None:
    fake = FakePostmark(httpx.Response(422, json=error_body(300, "Invalid email request")), sent())
    harness = Harness(kind, fake)
    with pytest.raises(UnprocessableEntityError):
        send(harness)
    assert len(fake.requests) == 1
    assert harness.sleeps == []


def test_500_is_retried_on_a_retry_safe_get(kind: str) -> None:
    fake = FakePostmark(
        httpx.Response(500, json=error_body(500, "Internal server error.")),
        httpx.Response(200, json=BOUNCE),
    )
    harness = Harness(kind, fake)
    assert harness.request(GET_BOUNCE, path={"bounceid": 42}) == BOUNCE
    assert len(fake.requests) == 2


def test_500_on_a_send_is_not_retried_and_says_it_may_have_been_sent(kind: str) -> None:
    fake = FakePostmark(httpx.Response(500, json=error_body(500, "Internal server error.")), sent())
    harness = Harness(kind, fake)
    with pytest.raises(ServerError) as caught:
        send(harness)
    assert len(fake.requests) == 1
    assert "may or may not have been sent" in str(caught.value)


def test_read_timeout_on_a_send_is_never_re_sent(kind: str) -> None:
    fake = FakePostmark(httpx.ReadTimeout("no answer"), sent())
    harness = Harness(kind, fake)
    with pytest.raises(MessageMaybeSentError) as caught:
        send(harness)
    assert len(fake.requests) == 1
    assert harness.sleeps == []
    assert "may or may not have been sent" in str(caught.value)
    assert caught.value.operation == "send_email"
    assert isinstance(caught.value, APIConnectionError)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"), httpx.WriteTimeout("slow")],
)
def test_any_failure_after_sending_a_send_is_maybe_sent(kind: str, failure: Exception) -> None:
    fake = FakePostmark(failure, sent())
    with pytest.raises(MessageMaybeSentError):
        send(Harness(kind, fake))
    assert len(fake.requests) == 1


def test_read_timeout_on_another_unsafe_operation_is_outcome_unknown(kind: str) -> None:
    fake = FakePostmark(httpx.ReadTimeout("no answer"))
    with pytest.raises(OutcomeUnknownError) as caught:
        Harness(kind, fake).request(
            CREATE_SUPPRESSIONS, path={"stream_id": "outbound"}, body=Suppressions(["a@b.com"])
        )
    assert not isinstance(caught.value, MessageMaybeSentError)
    assert "may or may not have taken effect" in str(caught.value)
    assert len(fake.requests) == 1


def test_read_timeout_on_a_retry_safe_get_is_retried(kind: str) -> None:
    fake = FakePostmark(httpx.ReadTimeout("no answer"), httpx.Response(200, json=BOUNCE))
    harness = Harness(kind, fake)
    assert harness.request(GET_BOUNCE, path={"bounceid": 42}) == BOUNCE
    assert len(fake.requests) == 2


def test_read_timeouts_exhausted_on_a_get_raise_a_timeout_error(kind: str) -> None:
    fake = FakePostmark(httpx.ReadTimeout("no answer"))
    with pytest.raises(APITimeoutError):
        Harness(kind, fake).request(GET_BOUNCE, path={"bounceid": 42})
    assert len(fake.requests) == 3


def test_max_retries_0_disables_retrying(kind: str) -> None:
    fake = FakePostmark(rate_limited("1"), sent())
    harness = Harness(kind, fake, max_retries=0)
    with pytest.raises(RateLimitError):
        send(harness)
    assert len(fake.requests) == 1
    assert harness.sleeps == []
    fake = FakePostmark(httpx.ConnectError("refused"), sent())
    with pytest.raises(APIConnectionError):
        send(Harness(kind, fake, max_retries=0))
    assert len(fake.requests) == 1


def test_unsupported_scheme_is_not_retried(kind: str) -> None:
    fake = FakePostmark(httpx.UnsupportedProtocol("ftp"))
    with pytest.raises(APIConnectionError) as caught:
        Harness(kind, fake).request(GET_BOUNCE, path={"bounceid": 1})
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert len(fake.requests) == 1
