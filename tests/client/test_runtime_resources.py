"""The runtime core as users meet it: through the generated clients, resources and models."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmark_client import models
from postmark_client.client import AsyncServerClient, ServerClient
from postmark_client.errors import (
    BatchFailedError,
    MessageMaybeSentError,
    RequestValidationError,
    UnprocessableEntityError,
    UnreachableResultsError,
)

TOKEN = "canary-fake-token-1111-not-real"
# Recorded Postmark payloads, kept in the repository (their sources: SOURCES.md there).
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
INACTIVE = (
    "You tried to send to a recipient that has been marked as inactive. Found inactive "
    "addresses: example@example.com. Inactive recipients are ones that have generated a hard "
    "bounce, a spam complaint, or a manual suppression. "
)


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


class Recorder:
    """A scripted Postmark: the steps in order (the last repeats), every request kept."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, httpx.RequestError):
            raise type(step)(str(step), request=request)
        if callable(step):
            result: httpx.Response = step(request)
            return result
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)


def server(handler: Any, sleeps: list[float] | None = None, **options: Any) -> ServerClient:
    record = sleeps if sleeps is not None else []
    return ServerClient(
        TOKEN, transport=httpx.MockTransport(handler), sleep=record.append, **options
    )


def async_server(handler: Any, sleeps: list[float]) -> AsyncServerClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return AsyncServerClient(TOKEN, transport=httpx.MockTransport(handler), sleep=sleep)


def sent() -> httpx.Response:
    return httpx.Response(200, json=example("POST_email.legacy-2016.json"))


# ---- send -----------------------------------------------------------------------------------


def test_send_parses_the_example_into_the_model() -> None:
    fake = Recorder(sent())
    with server(fake) as client:
        result = client.email.send(
            from_="sender@example.com", to="receiver@example.com", subject="Hi", text_body="Hello"
        )
    assert isinstance(result, models.SendEmailResponse)
    assert result.message_id == "806aa9ad-689d-48d3-9887-ac0c2bc6f57d"
    assert result.submitted_at is not None and result.submitted_at.utcoffset() is not None
    request = fake.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://api.postmarkapp.com/email")
    body = json.loads(request.content)
    assert re.fullmatch("[0-9a-f]{32}", body.pop("Metadata")["idempotency_key"])
    assert body == {
        "From": "sender@example.com",
        "To": "receiver@example.com",
        "Subject": "Hi",
        "TextBody": "Hello",
    }
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    assert request.headers["User-Agent"].startswith("postmark-client/")


def test_send_retries_a_429_as_retry_after_says() -> None:
    fake = Recorder(
        httpx.Response(429, headers={"Retry-After": "4"}, json={"ErrorCode": 429, "Message": "x"}),
        sent(),
    )
    sleeps: list[float] = []
    server(fake, sleeps).email.send(from_="a@example.com", to="b@example.com", text_body="t")
    assert len(fake.requests) == 2 and sleeps == [4.0]


def test_send_without_keys_is_not_re_sent_after_a_read_timeout() -> None:
    fake = Recorder(httpx.ReadTimeout("no answer"), sent())
    with pytest.raises(MessageMaybeSentError, match="may or may not have been sent") as caught:
        server(fake, idempotency_keys=False).email.send(from_="a@example.com", to="b@example.com", text_body="t")
    assert len(fake.requests) == 1 and caught.value.idempotency_key is None
    assert b"Metadata" not in fake.requests[0].content


def test_send_to_an_inactive_recipient() -> None:
    fake = Recorder(httpx.Response(422, json={"ErrorCode": 406, "Message": INACTIVE}))
    with pytest.raises(UnprocessableEntityError) as caught:
        server(fake).email.send(from_="a@example.com", to="example@example.com", text_body="t")
    assert type(caught.value).__name__ == "InactiveRecipientError"
    assert caught.value.inactive_recipients == ("example@example.com",)  # type: ignore[attr-defined]


def test_send_limits_name_the_field() -> None:
    fake = Recorder(sent())
    client = server(fake)
    fifty_one = ", ".join(f"user{i}@example.com" for i in range(51))
    with pytest.raises(RequestValidationError) as caught:
        client.email.send(from_="a@example.com", to=fifty_one, text_body="t")
    assert caught.value.field == "To" and "at most 50" in caught.value.message
    with pytest.raises(RequestValidationError) as caught:
        client.email.send(from_="a@example.com", to="b@example.com", text_body="x" * 11_000_000)
    assert "10,485,760" in caught.value.message
    assert fake.requests == []


def test_51_suppressions_are_refused() -> None:
    fake = Recorder(httpx.Response(200, json={"Suppressions": []}))
    entries = [models.SuppressionEntry(email_address=f"u{i}@example.com") for i in range(51)]
    with pytest.raises(RequestValidationError) as caught:
        server(fake).suppressions.create("outbound", suppressions=entries)
    assert "Suppressions" in caught.value.field and "50" in caught.value.message
    assert fake.requests == []


# ---- paging ---------------------------------------------------------------------------------


class Bounces:
    """GET /bounces over `total` bounces shaped like the recorded example."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.template = example("GET_bounces.legacy-2016.json")["Bounces"][0]
        self.queries: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        count, offset = int(request.url.params["count"]), int(request.url.params["offset"])
        self.queries.append((count, offset))
        items = [{**self.template, "ID": i} for i in range(offset, min(offset + count, self.total))]
        return httpx.Response(200, json={"TotalCount": self.total, "Bounces": items})


def test_bounces_list_pages_up_to_the_cap_and_names_the_filters() -> None:
    store = Bounces(10_250)
    page = server(store).bounces.list(count=500, type="HardBounce")
    assert isinstance(page.items[0], models.Bounce)
    ids: list[int] = []
    with pytest.raises(UnreachableResultsError) as caught:
        for bounce in page.auto_paging_iter():
            ids.append(bounce.id)
    assert ids == list(range(10_000))
    assert caught.value.total == 10_250
    assert "from_date" in caught.value.narrow_by and "email_filter" in caught.value.narrow_by
    assert max(c + o for c, o in store.queries) == 10_000


def test_bounces_list_count_and_offset_limits() -> None:
    store = Bounces(10)
    client = server(store)
    with pytest.raises(RequestValidationError) as caught:
        client.bounces.list(count=501)
    assert caught.value.field == "count"
    with pytest.raises(RequestValidationError) as caught:
        client.bounces.list(count=500, offset=9501)
    assert "10,001" in caught.value.message
    assert store.queries == []


def test_async_bounces_auto_paging() -> None:
    store = Bounces(1_100)

    async def walk() -> list[int]:
        async with async_server(store, []) as client:
            page = await client.bounces.list(count=500)
            return [bounce.id async for bounce in page.auto_paging_iter()]

    assert asyncio.run(walk()) == list(range(1_100))
    assert store.queries == [(500, 0), (500, 500), (500, 1000)]


# ---- batches --------------------------------------------------------------------------------


def batch_endpoint(refuse: set[int]) -> Any:
    """Answers each message in order; the messages whose Tag is a number in `refuse` fail."""

    def answer(request: httpx.Request) -> httpx.Response:
        entries = []
        for message in json.loads(request.content):
            if int(message["Tag"]) in refuse:
                entries.append({"ErrorCode": 406, "Message": INACTIVE})
            else:
                entries.append(example("POST_email.legacy-2016.json"))
        return httpx.Response(200, json=entries)

    return answer


def messages(n: int) -> list[models.SendEmailRequest]:
    return [
        models.SendEmailRequest(
            from_="a@example.com", to=f"u{i}@example.com", text_body="t", tag=str(i)
        )
        for i in range(n)
    ]


def test_send_batch_of_1201_in_3_calls_with_failures_by_index() -> None:
    fake = Recorder(batch_endpoint({3, 999, 1200}))
    result = server(fake).email.send_batch(messages(1201))
    assert [len(json.loads(r.content)) for r in fake.requests] == [500, 500, 201]
    assert [outcome.index for outcome in result.failed] == [3, 999, 1200]
    assert result[999].error_code == 406
    assert not result.all_succeeded
    assert isinstance(result[0].result, models.SendEmailResponse)
    with pytest.raises(BatchFailedError, match="#999 rejected: ErrorCode 406"):
        result.raise_for_failures()


def test_async_send_batch() -> None:
    fake = Recorder(batch_endpoint({0}))

    async def go() -> Any:
        async with async_server(fake, []) as client:
            return await client.email.send_batch(messages(501))

    result = asyncio.run(go())
    assert len(fake.requests) == 2
    assert [outcome.index for outcome in result.failed] == [0]


def test_the_token_stays_out_of_reprs_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = Recorder(
        httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad or missing token"}),
        httpx.ReadTimeout("no answer"),
    )
    client = server(fake)
    texts = [repr(client), repr(client.email), repr(client.bounces)]
    for call in (
        lambda: client.email.send(from_="a@example.com", to="b@example.com", text_body="t"),
        lambda: client.email.send(from_="a@example.com", to="b@example.com", text_body="t"),
    ):
        with pytest.raises(Exception) as caught:
            call()
        texts += [str(caught.value), repr(caught.value)]
    texts += [record.getMessage() for record in caught_records(caplog)]
    assert len(texts) > 5
    assert not [text for text in texts if TOKEN in text]


def caught_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return list(caplog.records)
