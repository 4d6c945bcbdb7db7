"""Canned Postmark payloads for the benchmarks, built from the spec's own examples.

The search page takes the spec's OutboundMessage example and varies every value that a real
page varies (ids, addresses, timestamps with 7 fractional digits and offsets, statuses, tags,
metadata, Cc and attachments), so parsing costs what it costs on real data rather than on 500
copies of one object.
"""

from __future__ import annotations

import copy
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"
SEARCH_TOTAL = 10_000
"""What the canned search reports as its total: exactly what count/offset paging can reach."""

_STATUSES = ("Sent", "Sent", "Sent", "Queued", "Processed")
_TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")
_OFFSETS = ("-05:00", "-04:00", "+00:00", "+02:00", "Z")


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    with SPEC.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def _example(path: str, method: str, *where: str) -> Any:
    node: Any = _spec()["paths"][path][method]
    for key in where:
        node = node[key]
    return copy.deepcopy(node["example"])


def send_request() -> dict[str, Any]:
    """The body of one `POST /email`: the spec's example, without attachments (a typical send)."""
    body: dict[str, Any] = _example("/email", "post", "requestBody", "content", "application/json")
    body.pop("Attachments", None)
    return body


def send_response() -> bytes:
    example = _example("/email", "post", "responses", "200", "content", "application/json")
    return json.dumps(example).encode()


def outbound_message_example() -> dict[str, Any]:
    page = _example("/messages/outbound", "get", "responses", "200", "content", "application/json")
    message: dict[str, Any] = page["Messages"][0]
    return message


def _received_at(index: int) -> str:
    # Postmark writes 7 fractional digits and a local offset.
    minute, second = divmod(index * 7 % 3600, 60)
    fraction = (index * 7919) % 10_000_000
    return (
        f"2024-{index % 12 + 1:02d}-{index % 28 + 1:02d}T{index % 24:02d}:{minute:02d}:"
        f"{second:02d}.{fraction:07d}{_OFFSETS[index % len(_OFFSETS)]}"
    )


def outbound_message(index: int) -> dict[str, Any]:
    """The spec's OutboundMessage example with every value varied by `index`."""
    message = outbound_message_example()
    to = f"customer{index}@example.com"
    cc = (
        [{"Email": f"team{index % 7}@example.com", "Name": f"Team {index % 7}"}]
        if index % 3 == 0
        else []
    )
    message.update(
        Tag=f"campaign-{index % 17}" if index % 5 else None,
        MessageID=str(uuid.UUID(int=(index + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835 % (1 << 128))),
        To=[{"Email": to, "Name": f"Customer {index}" if index % 2 else None}],
        Cc=cc,
        Recipients=[to, *(entry["Email"] for entry in cc)],
        ReceivedAt=_received_at(index),
        From=f'"Sender {index % 4}" <sender{index % 4}@example.com>',
        Subject=f"Order #{100000 + index} confirmation",
        Attachments=[f"invoice-{index}.pdf"] if index % 4 == 0 else [],
        Status=_STATUSES[index % len(_STATUSES)],
        TrackOpens=bool(index % 2),
        TrackLinks=_TRACK_LINKS[index % len(_TRACK_LINKS)],
        Metadata={"color": ("blue", "green", "red")[index % 3], "client-id": str(12345 + index)},
        Sandboxed=False,
    )
    return message


def search_page(offset: int, count: int, total: int = SEARCH_TOTAL) -> bytes:
    """One page of `GET /messages/outbound` as the wire carries it."""
    end = max(offset, min(offset + count, total))
    page = {"TotalCount": total, "Messages": [outbound_message(i) for i in range(offset, end)]}
    return json.dumps(page).encode()
