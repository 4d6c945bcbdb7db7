"""parse_webhook: every recorded payload gives its typed class; the unknown stays data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from postmark_client import models
from postmark_client.webhooks import (
    WEBHOOK_CLASSES,
    BounceWebhook,
    DeliveryWebhook,
    InboundWebhook,
    UnknownWebhook,
    WebhookParseError,
    parse_webhook,
    webhook_data,
    webhook_type,
)
from support.spec_yaml import spec_doc

REPO = Path(__file__).resolve().parents[2]
# Recorded Postmark payloads, kept in the repository (their sources: SOURCES.md there).
EXAMPLES = REPO / "tests" / "fixtures" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("webhook_*.json"))


def _record_type_of(path: Path) -> str:
    """`webhook_Bounce.json` -> Bounce; `webhook_Inbound.postmark-gem-spec.json` -> Inbound."""
    return path.name.removeprefix("webhook_").split(".")[0]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_recorded_payload_parses_into_its_class(path: Path) -> None:
    raw = path.read_bytes()
    event = parse_webhook(raw)
    expected = WEBHOOK_CLASSES[_record_type_of(path)]
    assert type(event) is expected
    # The same from text and from decoded JSON.
    assert type(parse_webhook(raw.decode("utf-8"))) is expected
    assert type(parse_webhook(json.loads(raw))) is expected
    # Nothing is lost: every field of the payload is back in the wire form.
    data = json.loads(raw)
    assert set(webhook_data(event)) >= set(data)


def test_the_recorded_payloads_cover_every_record_type() -> None:
    assert {_record_type_of(p) for p in EXAMPLE_FILES} == set(WEBHOOK_CLASSES)


def test_the_dispatch_table_is_the_spec_s_webhooks_section() -> None:
    spec = spec_doc(REPO / "spec" / "postmark.yaml")
    expected = {}
    for key, item in spec["webhooks"].items():
        post = item["post"]
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        expected[post.get("x-postmark-record-type", key)] = getattr(models, ref.rsplit("/", 1)[1])
    assert dict(WEBHOOK_CLASSES) == expected


def test_typed_fields_are_read() -> None:
    event = parse_webhook(
        b'{"RecordType": "Delivery", "MessageID": "m-1", "Recipient": "a@example.com",'
        b' "DeliveredAt": "2019-11-05T16:33:54.9070259Z", "Details": "ok", "Tag": "",'
        b' "ServerID": 23, "Metadata": {}, "MessageStream": "outbound"}'
    )
    assert isinstance(event, DeliveryWebhook)
    assert event.message_id == "m-1"
    assert event.recipient == "a@example.com"
    assert event.delivered_at.year == 2019


def test_a_64_bit_bounce_id_survives() -> None:
    event = parse_webhook(
        {
            "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
            "MessageID": "m", "Email": "a@example.com", "BouncedAt": "2019-11-05T16:33:54Z",
            "Name": "Hard bounce", "Description": "", "Details": "", "From": "s@example.com",
            "DumpAvailable": False, "Inactive": True, "CanActivate": True, "Subject": "",
            "ServerID": 1, "MessageStream": "outbound", "Tag": "", "Metadata": {},
        }
    )  # fmt: skip
    assert isinstance(event, BounceWebhook)
    assert event.id == 4323372036854775807


def test_inbound_is_told_apart_by_from_full() -> None:
    data = json.loads((EXAMPLES / "webhook_Inbound.json").read_text())
    assert "RecordType" not in data
    assert webhook_type(data) is InboundWebhook
    del data["FromFull"]
    assert isinstance(parse_webhook(data), UnknownWebhook)


def test_an_unknown_record_type_gives_the_raw_data() -> None:
    body = {"RecordType": "SomethingNew", "MessageID": "m-2", "Extra": [1, 2]}
    event = parse_webhook(json.dumps(body))
    assert isinstance(event, UnknownWebhook)
    assert event.record_type == "SomethingNew"
    assert event.data == body
    assert webhook_data(event) == body


def test_unknown_fields_of_a_known_record_type_are_kept() -> None:
    path = EXAMPLES / "webhook_Delivery.json"
    data: dict[str, Any] = {**json.loads(path.read_text()), "BrandNewField": {"x": 1}}
    event = parse_webhook(data)
    assert isinstance(event, DeliveryWebhook)
    assert webhook_data(event)["BrandNewField"] == {"x": 1}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"{not json", "not valid JSON", id="invalid-json"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"[1, 2]", "JSON object", id="array"),
        pytest.param(b'"text"', "JSON object", id="string"),
        pytest.param(b"\xff\xfe{}", "UTF-8", id="not-utf8"),
        pytest.param(
            b'{"RecordType": "Delivery"}', "DeliveryWebhook", id="missing-required-fields"
        ),
    ],
)
def test_what_is_not_a_payload_raises_webhook_parse_error(body: bytes, says: str) -> None:
    with pytest.raises(WebhookParseError) as error:
        parse_webhook(body)
    assert says in str(error.value)
    assert isinstance(error.value, ValueError)
