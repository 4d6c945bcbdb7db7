"""Batches: split by Postmark's limits, in order, with every message's own outcome."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from postmark_client._meta import Limit
from postmark_client.batch import BatchResult
from postmark_client.errors import (
    BatchFailedError,
    InvalidTokenError,
    RequestValidationError,
    ResponseDecodeError,
    UnprocessableEntityError,
)
from runtime_support import (
    KINDS,
    MB,
    MESSAGE_LIMITS,
    SEND_BATCH,
    SEND_BATCH_TEMPLATES,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    error_body,
    operation,
    send_ok,
)

pytestmark = pytest.mark.parametrize("kind", KINDS)

INACTIVE = "Found inactive addresses: bounced@example.com. Inactive recipients are ..."


class BatchEndpoint:
    """A fake /email/batch: answers each message in order, refusing the addresses in `refuse`."""

    def __init__(self, refuse: dict[str, tuple[int, str]] | None = None) -> None:
        self.refuse = refuse or {}
        self.calls: list[list[dict[str, Any]]] = []
        self.sizes: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        messages = body["Messages"] if isinstance(body, dict) else body
        self.calls.append(messages)
        self.sizes.append(len(request.content))
        answer = []
        for message in messages:
            refused = self.refuse.get(message["To"])
            answer.append(
                error_body(*refused) if refused else send_ok(message["To"], f"id-{message['To']}")
            )
        return httpx.Response(200, json=answer)


def numbered(n: int, **fields: Any) -> list[Message]:
    return [Message(to=f"user{i}@example.com", **fields) for i in range(n)]


def test_1201_messages_go_in_3_calls_with_failures_by_index(kind: str) -> None:
    refuse = {
        "user7@example.com": (406, INACTIVE),
        "user640@example.com": (300, "Invalid email request"),
        "user1200@example.com": (406, INACTIVE),
    }
    endpoint = BatchEndpoint(refuse)
    messages = numbered(1201)
    result = Harness(kind, endpoint).request_batch(SEND_BATCH, messages)
    assert [len(call) for call in endpoint.calls] == [500, 500, 201]
    sent_order = [m["To"] for call in endpoint.calls for m in call]
    assert sent_order == [f"user{i}@example.com" for i in range(1201)]
    assert isinstance(result, BatchResult)
    assert len(result) == 1201 and result.calls == 3
    assert not result.all_succeeded
    assert [outcome.index for outcome in result.failed] == [7, 640, 1200]
    assert len(result.succeeded) == 1198
    failed = result[640]
    assert (failed.status, failed.error_code) == ("rejected", 300)
    assert failed.message is messages[640]
    assert isinstance(failed.error, UnprocessableEntityError)
    assert type(result[7].error).__name__ == "InactiveRecipientError"
    assert result[7].error.inactive_recipients == ("bounced@example.com",)  # type: ignore[union-attr]
    ok = result[8]
    assert ok.ok and isinstance(ok.result, SendResult)
    assert ok.result.message_id == "id-user8@example.com"
    assert result.results[7] is None and result.results[8] is ok.result


def test_raise_for_failures_lists_indexes_codes_and_messages(kind: str) -> None:
    endpoint = BatchEndpoint({"user1@example.com": (406, INACTIVE)})
    result = Harness(kind, endpoint).request_batch(SEND_BATCH, numbered(3))
    with pytest.raises(BatchFailedError) as caught:
        result.raise_for_failures()
    text = str(caught.value)
    assert "1 of 3 messages failed" in text
    assert "#1 rejected: ErrorCode 406 (InactiveRecipient): Found inactive addresses" in text
    assert caught.value.failures == result.failed
    assert caught.value.result is result


def test_a_200_with_failed_entries_is_never_full_success(kind: str) -> None:
    endpoint = BatchEndpoint({"user0@example.com": (406, INACTIVE)})
    result = Harness(kind, endpoint).request_batch(SEND_BATCH, numbered(1))
    assert not result.all_succeeded
    assert result.succeeded == []


def test_all_accepted(kind: str) -> None:
    result = Harness(kind, BatchEndpoint()).request_batch(SEND_BATCH, numbered(4))
    assert result.all_succeeded
    result.raise_for_failures()
    assert [outcome.status for outcome in result] == ["sent"] * 4


def test_an_empty_batch_makes_no_call(kind: str) -> None:
    endpoint = BatchEndpoint()
    result = Harness(kind, endpoint).request_batch(SEND_BATCH, [])
    assert endpoint.calls == [] and len(result) == 0 and result.all_succeeded


def test_with_templates_the_messages_go_in_a_field(kind: str) -> None:
    endpoint = BatchEndpoint()
    fake = FakePostmark(endpoint)
    Harness(kind, fake).request_batch(SEND_BATCH_TEMPLATES, numbered(501))
    bodies = fake.bodies()
    assert [list(body) for body in bodies] == [["Messages"], ["Messages"]]
    assert [len(body["Messages"]) for body in bodies] == [500, 1]


def test_splitting_by_bytes(kind: str) -> None:
    # A 10 KB per-call limit and 3 KB messages: three fit in a call, the fourth would not.
    small = operation(
        id="send_email_batch",
        path="/email/batch",
        batch=True,
        body_is_array=True,
        limits=(
            Limit("batch-messages", 500, "items", "request", None),
            Limit("batch-size", 10_000, "bytes", "request", None),
        ),
    )
    endpoint = BatchEndpoint()
    messages = numbered(10, text_body="x" * 3000)
    one = len(json.dumps(messages[0].to_dict(), separators=(",", ":")))
    assert 3 * one + 4 <= 10_000 < 4 * one + 5
    result = Harness(kind, endpoint).request_batch(small, messages)
    assert [len(call) for call in endpoint.calls] == [3, 3, 3, 1]
    assert all(size <= 10_000 for size in endpoint.sizes)
    assert [outcome.index for outcome in result.succeeded] == list(range(10))


def test_real_limits_split_a_60_mb_batch_in_two(kind: str) -> None:
    endpoint = BatchEndpoint()
    messages = numbered(12, text_body="y" * (5 * MB))  # 12 x 5 MB: 60 MB in all
    result = Harness(kind, endpoint).request_batch(SEND_BATCH, messages)
    assert [len(call) for call in endpoint.calls] == [9, 3]
    assert all(size <= 50 * MB for size in endpoint.sizes)
    assert result.all_succeeded


def test_a_message_over_10_mb_is_refused_naming_its_index(kind: str) -> None:
    endpoint = BatchEndpoint()
    messages = numbered(5)
    messages[3] = Message(to="big@example.com", text_body="z" * (11 * MB))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, endpoint).request_batch(SEND_BATCH, messages)
    assert caught.value.field == "messages[3]"
    assert "10,485,760 bytes" in caught.value.message
    assert endpoint.calls == []


def test_an_invalid_message_anywhere_means_nothing_is_sent(kind: str) -> None:
    endpoint = BatchEndpoint()
    messages = numbered(700)
    messages[650] = Message(from_=None)
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, endpoint).request_batch(SEND_BATCH, messages)
    assert caught.value.field == "messages[650].From"
    assert endpoint.calls == []


def test_51_recipients_in_one_message_of_a_batch(kind: str) -> None:
    endpoint = BatchEndpoint()
    messages = numbered(3)
    messages[2] = Message(to=", ".join(f"u{i}@example.com" for i in range(51)))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, endpoint).request_batch(SEND_BATCH, messages)
    assert caught.value.field == "messages[2].To"
    assert "at most 50" in caught.value.message
    assert endpoint.calls == []


def test_a_failing_first_call_raises_its_own_error(kind: str) -> None:
    fake = FakePostmark(httpx.Response(401, json=error_body(10, "Bad token")))
    with pytest.raises(InvalidTokenError):
        Harness(kind, fake).request_batch(SEND_BATCH, numbered(1201))
    assert len(fake.requests) == 1


def test_a_failing_later_call_keeps_what_was_sent(kind: str) -> None:
    endpoint = BatchEndpoint()
    fake = FakePostmark(
        endpoint, httpx.Response(500, json=error_body(500, "Internal server error.")), endpoint
    )
    with pytest.raises(BatchFailedError) as caught:
        Harness(kind, fake).request_batch(SEND_BATCH, numbered(1201))
    assert len(fake.requests) == 2  # a send is not repeated after a 500, nor continued
    result = caught.value.result
    statuses = [outcome.status for outcome in result]
    assert statuses == ["sent"] * 500 + ["unknown"] * 500 + ["not_sent"] * 201
    assert "may or may not have been sent" in (result[600].error_message or "")
    assert result.calls == 2
    assert "701 of 1201 messages failed" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)


def test_a_later_call_refused_with_422_is_rejected(kind: str) -> None:
    endpoint = BatchEndpoint()
    fake = FakePostmark(endpoint, httpx.Response(422, json=error_body(402, "Invalid JSON")))
    with pytest.raises(BatchFailedError) as caught:
        Harness(kind, fake).request_batch(SEND_BATCH, numbered(600))
    result = caught.value.result
    assert {outcome.status for outcome in result[500:]} == {"rejected"}
    assert result[599].error_code == 402


def test_an_answer_of_the_wrong_length_is_a_decode_error(kind: str) -> None:
    fake = FakePostmark(httpx.Response(200, json=[send_ok()]))
    with pytest.raises(ResponseDecodeError, match="expected 2 entries"):
        Harness(kind, fake).request_batch(SEND_BATCH, numbered(2))


def test_the_message_limits_of_a_batch_come_from_the_operation(kind: str) -> None:
    # Without an items limit a batch operation sends everything in one call.
    unlimited = operation(id="b", path="/email/batch", batch=True, limits=MESSAGE_LIMITS)
    endpoint = BatchEndpoint()
    Harness(kind, endpoint).request_batch(unlimited, numbered(600))
    assert [len(call) for call in endpoint.calls] == [600]


def test_request_batch_needs_a_batch_operation(kind: str) -> None:
    endpoint = BatchEndpoint()
    not_batch = operation()
    with pytest.raises(TypeError, match="not a batch operation"):
        Harness(kind, endpoint).request_batch(not_batch, numbered(1))
    assert endpoint.calls == []
