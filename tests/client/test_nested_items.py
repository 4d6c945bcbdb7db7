"""Items of nested lists in answers (a page's messages, each message's recipients) are built in
place by the enclosing model's from_dict rather than by a from_dict call per item. They must come
out exactly as each item's own from_dict makes them, and a broken item must still end as
ResponseDecodeError."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from postmark_client import models
from postmark_client.client import AsyncServerClient, ServerClient
from postmark_client.errors import ResponseDecodeError
from postmark_client.testing.examples import example_response

TOKEN = "canary-fake-token-2222-not-real"
KINDS = ("sync", "async")
FUTURE = {"AddedByPostmarkLater": {"Nested": [1, "two"]}}


def outbound_page() -> dict[str, Any]:
    """The spec's search answer with two messages that differ in every nested list, and fields
    and enum values the spec does not know, at every level."""
    page = example_response("search_outbound_messages")
    first = page["Messages"][0]
    second = {
        **first,
        "MessageID": "second-message",
        "To": [
            {"Email": "one@example.com", "Name": None, **FUTURE},
            {"Email": "two@example.com", "Name": "Two"},
        ],
        "Cc": None,
        "Bcc": [],
        "Status": "StatusFromTheFuture",
        "ReceivedAt": "2024-02-03T04:05:06.1234567-05:00",
        **FUTURE,
    }
    first["Cc"] = [{"Email": "cc@example.com", "Name": "Cc", **FUTURE}]
    page["Messages"] = [first, second]
    page["TotalCount"] = 2
    return page


def search_outbound(kind: str, answer: Any) -> Any:
    """`messages.search_outbound` against a Postmark answering `answer`; the page's response."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    if kind == "sync":
        with ServerClient(TOKEN, transport=transport) as client:
            return client.messages.search_outbound(count=2, offset=0).response

    async def run() -> Any:
        async with AsyncServerClient(TOKEN, transport=transport) as client:
            page = await client.messages.search_outbound(count=2, offset=0)
            return page.response

    return asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_page_items_are_what_their_own_from_dict_makes(kind: str) -> None:
    answer = outbound_page()
    response = search_outbound(kind, answer)
    assert isinstance(response, models.OutboundMessageSearchResponse)
    assert response.messages == [models.OutboundMessage.from_dict(m) for m in answer["Messages"]]
    first, second = response.messages
    assert first.cc == [models.MessageRecipient("cc@example.com", "Cc", FUTURE)]
    assert second.to == [
        models.MessageRecipient("one@example.com", None, FUTURE),
        models.MessageRecipient("two@example.com", "Two"),
    ]
    # None and an empty list stay as they came; unknown enum values and fields are kept.
    assert second.cc is None and second.bcc == []
    assert second.status == "StatusFromTheFuture"
    assert second.extra == FUTURE and first.extra == {}
    assert second.received_at == dt.datetime(
        2024, 2, 3, 4, 5, 6, 123456, dt.timezone(dt.timedelta(hours=-5))
    )


def test_items_two_lists_deep_are_what_their_own_from_dict_makes() -> None:
    answer = example_response("search_inbound_messages")
    message = answer["InboundMessages"][0]
    message["ToFull"].append({"Email": "b@example.com", **FUTURE})
    message["Attachments"][0].update(FUTURE)
    response = models.InboundMessageSearchResponse.from_dict(answer)
    [parsed] = response.inbound_messages
    assert parsed == models.InboundMessage.from_dict(message)
    assert parsed.to_full is not None and parsed.to_full[-1] == models.EmailAddressFull(
        "b@example.com", extra=FUTURE
    )
    assert parsed.attachments is not None and parsed.attachments[0].extra == FUTURE


def broken(where: str) -> dict[str, Any]:
    page = outbound_page()
    message = page["Messages"][1]
    if where == "a message without its MessageID":
        del message["MessageID"]
    elif where == "a recipient without its Email":
        del message["To"][1]["Email"]
    elif where == "a recipient that is a string":
        message["To"][0] = "one@example.com"
    elif where == "a Cc recipient that is a list":
        page["Messages"][0]["Cc"] = [["cc@example.com"]]
    elif where == "a message that is a number":
        page["Messages"][1] = 7
    elif where == "a ReceivedAt that is no date":
        message["ReceivedAt"] = "yesterday"
    return page


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "where",
    [
        "a message without its MessageID",
        "a recipient without its Email",
        "a recipient that is a string",
        "a Cc recipient that is a list",
        "a message that is a number",
        "a ReceivedAt that is no date",
    ],
)
def test_a_broken_item_is_a_decode_error(kind: str, where: str) -> None:
    with pytest.raises(ResponseDecodeError, match="does not fit OutboundMessageSearchResponse"):
        search_outbound(kind, broken(where))


def test_a_missing_required_field_two_lists_deep_is_a_decode_error() -> None:
    answer = example_response("search_inbound_messages")
    del answer["InboundMessages"][0]["Attachments"][0]["Name"]
    with pytest.raises(KeyError, match="Name"):
        models.InboundMessageSearchResponse.from_dict(answer)
