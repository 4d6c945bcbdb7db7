"""One log record per call, and a token that never shows: not in a repr, an error or a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from postmark_client.errors import PostmarkError
from runtime_support import (
    ACCOUNT_HEADER,
    GET_BOUNCE,
    KINDS,
    LIST_BOUNCES,
    LIST_SERVERS,
    SEND,
    SEND_BATCH,
    TOKEN,
    BounceList,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    error_body,
    send_ok,
)

pytestmark = pytest.mark.parametrize("kind", KINDS)


def call_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The per-call records of our logger (retry notes are DEBUG)."""
    return [r for r in caplog.records if r.name == "postmark_client" and r.levelno >= logging.INFO]


def test_one_record_per_call_with_method_path_status_duration_request_id(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="postmark_client")
    fake = FakePostmark(httpx.Response(200, json=send_ok(), headers={"X-Request-Id": "rq-1"}))
    Harness(kind, fake).request(SEND, body=Message(), cast_to=SendResult.from_dict)
    [record] = call_records(caplog)
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert text.startswith("POST /email -> 200 in ")
    assert "request id rq-1" in text and "1 attempt" in text
    fields: dict[str, Any] = record.__dict__
    assert fields["postmark_operation"] == "send_email"
    assert fields["postmark_method"] == "POST"
    assert fields["postmark_path"] == "/email"
    assert fields["postmark_status"] == 200
    assert fields["postmark_request_id"] == "rq-1"
    assert fields["postmark_attempts"] == 1
    assert isinstance(fields["postmark_duration_ms"], float) and fields["postmark_duration_ms"] >= 0


def test_retries_log_debug_notes_and_one_call_record(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="postmark_client")
    fake = FakePostmark(
        httpx.Response(429, headers={"Retry-After": "2"}, json=error_body(429, "Slow down")),
        httpx.Response(200, json=send_ok()),
    )
    Harness(kind, fake).request(SEND, body=Message(), cast_to=SendResult.from_dict)
    notes = [
        r for r in caplog.records if r.name == "postmark_client" and r.levelno == logging.DEBUG
    ]
    assert [r.getMessage() for r in notes] == [
        "POST /email: HTTP 429, retrying in 2.00 s (retry 1 of 2)"
    ]
    [record] = call_records(caplog)
    assert record.__dict__["postmark_status"] == 200
    assert record.__dict__["postmark_attempts"] == 2


def test_a_failed_call_is_logged_as_a_warning(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="postmark_client")
    fake = FakePostmark(httpx.Response(422, json=error_body(300, "Invalid")))
    with pytest.raises(PostmarkError):
        Harness(kind, fake).request(SEND, body=Message())
    [record] = call_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.__dict__["postmark_status"] == 422


def test_a_connection_failure_is_logged_once(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="postmark_client")
    fake = FakePostmark(httpx.ReadTimeout("no answer"))
    with pytest.raises(PostmarkError):
        Harness(kind, fake).request(SEND, body=Message())
    [record] = call_records(caplog)
    assert record.__dict__["postmark_status"] == "ReadTimeout"


def test_the_query_string_is_not_logged(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="postmark_client")
    fake = FakePostmark(httpx.Response(200, json={"TotalCount": 0, "Bounces": []}))
    Harness(kind, fake).request(
        LIST_BOUNCES, query={"emailFilter": "private@example.com", "count": 1, "offset": 0}
    )
    [record] = call_records(caplog)
    assert "private@example.com" not in record.getMessage()
    assert record.__dict__["postmark_path"] == "/bounces"


# ---- the canary token ------------------------------------------------------------------------


def scenarios(kind: str) -> list[Callable[[], Any]]:
    """Calls that fail every way the client can fail, and a few that succeed."""

    def run(*steps: Any, op: Any = SEND, **kwargs: Any) -> Callable[[], Any]:
        def go() -> Any:
            harness = Harness(kind, FakePostmark(*steps), **kwargs.pop("options", {}))
            if op is SEND_BATCH:
                return harness.request_batch(op, kwargs.pop("messages"))
            if op is LIST_BOUNCES:
                page = harness.request_page(op, query={}, cast_to=BounceList.from_dict)
                return harness.collect(page.auto_paging_iter())
            kwargs.setdefault("body", Message() if op is SEND else None)
            return harness.request(op, **kwargs)

        return go

    many_bounces = {"TotalCount": 20000, "Bounces": [{"ID": 1, "Email": "a@example.com"}] * 500}
    return [
        run(httpx.Response(200, json=send_ok()), cast_to=SendResult.from_dict),
        run(httpx.Response(401, json=error_body(10, "Bad or missing API token"))),
        run(httpx.Response(422, json=error_body(406, "Found inactive addresses: a@b.co. x"))),
        run(httpx.Response(429, json=error_body(429, "Slow"))),
        run(httpx.Response(500, json=error_body(500, "Boom"))),
        run(httpx.Response(503, content=b"<html>down</html>")),
        run(httpx.Response(200, content=b"{broken"), cast_to=SendResult.from_dict),
        run(httpx.ConnectError("refused")),
        run(httpx.ConnectTimeout("slow")),
        run(httpx.ReadTimeout("no answer")),
        run(httpx.ReadTimeout("no answer"), op=GET_BOUNCE, path={"bounceid": 1}),
        run(httpx.Response(200, json=send_ok()), body=Message(from_=None)),
        run(httpx.Response(200, json=send_ok()), op=LIST_SERVERS, query={}),
        run(httpx.Response(200, json=send_ok()), op=GET_BOUNCE, path={"bounceid": "x"}),
        run(httpx.Response(200, json=many_bounces), op=LIST_BOUNCES),
        run(
            httpx.Response(200, json=[error_body(406, "Found inactive addresses: a@b.co. x")]),
            op=SEND_BATCH,
            messages=[Message()],
        ),
        run(
            httpx.Response(200, json=[send_ok()] * 500),
            httpx.Response(401, json=error_body(10, "Bad token")),
            op=SEND_BATCH,
            messages=[Message()] * 501,
        ),
    ]


def test_the_token_never_shows(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    for scenario in scenarios(kind):
        try:
            result = scenario()
        except PostmarkError as error:  # every failure the client reports
            shown += [str(error), repr(error), repr(error.__cause__), repr(vars(error))]
            if hasattr(error, "result"):
                shown += [repr(error.result), str(error.result.outcomes)]
        else:
            shown.append(repr(result))
    harness = Harness(kind, FakePostmark(httpx.Response(200, json=send_ok())))
    shown += [repr(harness.client), str(harness.client)]
    account = Harness(kind, FakePostmark(httpx.Response(200)), token_header=ACCOUNT_HEADER)
    shown.append(repr(account.client))
    for record in caplog.records:
        shown.append(record.getMessage())
        shown.append(repr(record.__dict__))
    assert len(shown) > 40
    leaks = [text for text in shown if TOKEN in text]
    assert leaks == []
