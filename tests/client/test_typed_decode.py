"""Answers are read by msgspec straight from the bytes into the models when they hold only what
the spec describes; anything else (a field Postmark adds later, a value of another type) is read
by from_dict, which keeps it. Both paths must give the same models."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import msgspec
import pytest
from postmark_client import models
from postmark_client._serde import Timestamp, typed_decoder
from postmark_client.client import ServerClient
from postmark_client.testing.examples import example_response

TOKEN = "canary-fake-token-3333-not-real"


def page(**changes: Any) -> dict[str, Any]:
    answer = example_response("search_outbound_messages")
    answer["Messages"][0].update(changes)
    return answer


def search(answer: Any) -> models.OutboundMessageSearchResponse:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    with ServerClient(TOKEN, transport=transport) as client:
        return client.messages.search_outbound(count=1, offset=0).response


def test_known_fields_decode_typed_as_from_dict_reads_them() -> None:
    answer = page(Status="StatusFromTheFuture")
    body = json.dumps(answer).encode()
    typed = typed_decoder(models.OutboundMessageSearchResponse).decode(body)
    assert typed == models.OutboundMessageSearchResponse.from_dict(answer)
    assert typed.messages[0].status == "StatusFromTheFuture"  # open enum: a plain string
    assert search(answer) == typed


def test_seven_digit_fractions_are_cut_not_rounded_on_both_paths() -> None:
    answer = page(ReceivedAt="2024-02-03T04:05:06.9999999-05:00")
    typed = typed_decoder(models.OutboundMessageSearchResponse).decode(json.dumps(answer))
    slow = models.OutboundMessageSearchResponse.from_dict(answer)
    for result in (typed, slow, search(answer)):
        received = result.messages[0].received_at
        assert isinstance(received, Timestamp) and isinstance(received, dt.datetime)
        assert received.microsecond == 999999 and received.second == 6
        assert received.utcoffset() == dt.timedelta(hours=-5)


def test_unknown_fields_are_refused_by_msgspec_and_kept_by_the_client() -> None:
    answer = page(AddedByPostmarkLater={"Nested": [1]})
    with pytest.raises(msgspec.ValidationError, match="AddedByPostmarkLater"):
        typed_decoder(models.OutboundMessageSearchResponse).decode(json.dumps(answer))
    message = search(answer).messages[0]
    assert message.extra == {"AddedByPostmarkLater": {"Nested": [1]}}
    assert message.to_dict()["AddedByPostmarkLater"] == {"Nested": [1]}


def test_a_value_of_another_type_is_kept_as_from_dict_keeps_it() -> None:
    answer = page(Subject=42)
    assert search(answer).messages[0].subject == 42


def test_secret_fields_stay_out_of_the_repr() -> None:
    auth = models.WebhookHttpAuth(username="user", password="hunter2-not-real")
    assert "hunter2" not in repr(auth) and "user" in repr(auth)
    assert not hasattr(auth, "__dict__")  # slots, as the dataclasses had
