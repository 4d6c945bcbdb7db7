"""What the fake Postmark remembers: an account with servers, domains and sender signatures;
per server its messages, bounces, templates, opens, clicks, inbound mail and suppressions.

Records are the JSON objects Postmark sends (wire names), kept with the few facts the fake
needs beside them (when something happened, which links a message had). Handlers read and
change these records; nothing here knows HTTP.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ..rules import read_recipients

JsonObject = dict[str, Any]

# Postmark answers in US Eastern time; the fake uses standard time all year (no tz database).
EASTERN = timezone(timedelta(hours=-5), "EST")
# Recipients at this domain bounce the way their local part says (hardbounce@, softbounce@...).
BOUNCE_TESTING_DOMAIN = "bounce-testing.postmarkapp.com"
INBOUND_DOMAIN = "inbound.postmarkapp.com"
# Streams every server starts with: ID -> MessageStreamType.
DEFAULT_STREAMS: dict[str, str] = {
    "outbound": "Transactional",
    "broadcast": "Broadcasts",
    "inbound": "Inbound",
}


class Rejected(Exception):
    """Postmark refuses the request: HTTP `status` with `{ErrorCode, Message}`."""

    def __init__(self, code: int, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> JsonObject:
        return {"ErrorCode": self.code, "Message": self.message}


# ---- time ------------------------------------------------------------------------------------


def eastern_now() -> datetime:
    return datetime.now(EASTERN)


def stamp(moment: datetime) -> str:
    """Postmark's timestamp form: seven fractional digits and the Eastern offset."""
    local = moment.astimezone(EASTERN)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0-05:00"


def mail_date(moment: datetime) -> str:
    """An RFC 2822 Date header in Eastern time: `Mon, 06 Jan 2025 09:00:00 -0500`."""
    return moment.astimezone(EASTERN).strftime("%a, %d %b %Y %H:%M:%S -0500")


def day_of(moment: datetime) -> date:
    return moment.astimezone(EASTERN).date()


def parse_bound(text: str, *, end: bool) -> datetime:
    """A fromdate/todate filter value (`2021-01-01` or `2021-01-01T12:00:00`, Eastern time).

    A bare date as an upper bound covers that whole day (the filters are inclusive).
    """
    if "T" in text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=EASTERN)
    day = date.fromisoformat(text)
    if end:
        return datetime.combine(day, time.max, EASTERN)
    return datetime.combine(day, time.min, EASTERN)


def within(
    moment: datetime, query: JsonObject, low: str = "fromdate", high: str = "todate"
) -> bool:
    """Whether `moment` lies inside the query's inclusive date filters (absent = open)."""
    too_early = query.get(low) is not None and moment < parse_bound(str(query[low]), end=False)
    too_late = query.get(high) is not None and moment > parse_bound(str(query[high]), end=True)
    return not (too_early or too_late)


# ---- addresses -------------------------------------------------------------------------------


def split_addresses(field_value: str) -> list[tuple[str, str]]:
    """`'Jane <jane@example.com>, bob@example.com'` -> [(name, address), ...]: the entries that
    read as one address, read as the access check and the client read them."""
    return [(m.name, m.address) for m in read_recipients("", field_value).mailboxes]


def address_of(text: str) -> str:
    """The bare address of `Name <address>` (or of a bare address)."""
    pairs = split_addresses(text)
    return pairs[0][1] if pairs else text.strip()


def contains(haystack: Any, needle: str) -> bool:
    """Case-insensitive substring test, the way Postmark's search filters match text."""
    return isinstance(haystack, str) and needle.lower() in haystack.lower()


# ---- identifiers -----------------------------------------------------------------------------


class Ids:
    """Deterministic identifiers: the same seed gives the same IDs, tokens and hashes."""

    def __init__(self, seed: str | None) -> None:
        self._rng = random.Random(f"postmark-fake:{seed or ''}")
        self._counters: dict[str, int] = {}

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, length: int = 32) -> str:
        return f"{self._rng.getrandbits(length * 4):0{length}x}"

    def next(self, kind: str, start: int) -> int:
        value = self._counters.get(kind, start - 1) + 1
        self._counters[kind] = value
        return value


# ---- records -----------------------------------------------------------------------------------


@dataclass
class Outbound:
    """A sent message: its details record (OutboundMessageDetails) and when it was sent."""

    at: datetime
    data: JsonObject
    links: list[str] = field(default_factory=list)
    searchable_at: float = 0.0
    """When (on the fake's lag clock) the outbound message search starts to find it."""

    @property
    def message_id(self) -> str:
        return str(self.data["MessageID"])


@dataclass
class Event:
    """An open, a click, a bounce, an inbound message or a suppression, with when it happened."""

    at: datetime
    data: JsonObject
    dump: str = ""


@dataclass
class BulkRequest:
    """A bulk request (POST /email/bulk): one message per recipient, released in steps.

    The fake moves a request one step each time its status is read, so a test sees every stage
    in order without waiting: the first read answers Accepted (nothing sent yet), the second
    Processing (the first half of the messages sent), the third and later Completed (all sent).
    """

    id: str
    at: datetime
    subject: str | None
    # Each recipient's message, ready for the send path: a SendEmailRequest (content given
    # inline, already personalised) or a SendEmailWithTemplateRequest (a server template).
    messages: list[JsonObject]
    templated: bool
    test_only: bool
    status: str = "Accepted"
    released: int = 0
    reads: int = 0


@dataclass
class ServerState:
    """One Postmark server: its settings record and everything sent or received through it."""

    id: int
    data: JsonObject
    outbound: list[Outbound] = field(default_factory=list)
    by_message_id: dict[str, Outbound] = field(default_factory=dict)
    bounces: dict[int, Event] = field(default_factory=dict)
    templates: dict[int, JsonObject] = field(default_factory=dict)
    opens: list[Event] = field(default_factory=list)
    clicks: list[Event] = field(default_factory=list)
    inbound: list[Event] = field(default_factory=list)
    # stream ID -> lower-cased address -> the suppression (Suppression record)
    suppressions: dict[str, dict[str, Event]] = field(default_factory=dict)
    # webhook subscriptions beyond the server's hook URLs: RecordType -> URLs
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    # bulk request ID -> the request (POST /email/bulk)
    bulk_requests: dict[str, BulkRequest] = field(default_factory=dict)
    # the plain resources of the server (`x-postmark-resource` collection -> ID -> record):
    # message_streams, webhooks, inbound_rules
    records: dict[str, dict[Any, JsonObject]] = field(default_factory=dict)

    @property
    def streams(self) -> dict[str, str]:
        """The message streams that take mail: ID -> MessageStreamType (archived ones left out)."""
        return {
            str(ident): str(stream["MessageStreamType"])
            for ident, stream in self.records.get("message_streams", {}).items()
            if not stream.get("ArchivedAt")
        }

    @property
    def tokens(self) -> list[str]:
        return [str(token) for token in self.data["ApiTokens"]]

    @property
    def sandboxed(self) -> bool:
        return self.data.get("DeliveryType") == "Sandbox"

    def suppressed(self, stream: str, address: str) -> Event | None:
        return self.suppressions.get(stream, {}).get(address.lower())

    def active_templates(self) -> list[JsonObject]:
        return [t for t in self.templates.values() if t["Active"]]

    def find_template(self, key: Any, *, active_only: bool = False) -> JsonObject | None:
        """A template by numeric ID (an int, or text of digits) or by alias (case-insensitive)."""
        candidates = list(self.templates.values())
        if active_only:
            candidates = [t for t in candidates if t["Active"]]
        text = str(key)
        if isinstance(key, int) or text.isdigit():
            found = self.templates.get(int(text))
            return found if found in candidates else None
        matches = [t for t in candidates if (t.get("Alias") or "").lower() == text.lower()]
        preferred = [t for t in matches if t["Active"]] or matches
        return preferred[-1] if preferred else None


@dataclass
class AccountState:
    """The account: its servers (by ID), their tokens, domains and sender signatures."""

    servers: dict[int, ServerState] = field(default_factory=dict)
    server_tokens: dict[str, int] = field(default_factory=dict)
    account_tokens: set[str] = field(default_factory=set)
    domains: dict[int, JsonObject] = field(default_factory=dict)
    signatures: dict[int, JsonObject] = field(default_factory=dict)
    # the account's other plain resources (`x-postmark-resource` collection -> ID -> record)
    records: dict[str, dict[Any, JsonObject]] = field(default_factory=dict)

    def server_for(self, token: str) -> ServerState | None:
        server_id = self.server_tokens.get(token)
        return None if server_id is None else self.servers.get(server_id)
