"""Shared pieces of the runtime-core tests: operations, small models, a fake Postmark, a harness.

The core is tested with operations built here from `postmark_client._meta` records (shaped like
the spec's), so that each test controls exactly what it exercises (retry-safe or not, which
limits); `test_runtime_resources.py` covers the same paths through the generated resources.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from postmark_client._base_client import AsyncAPIClient, SyncAPIClient
from postmark_client._meta import Limit, Operation, Paging, Param
from postmark_client._serde import parse_datetime
from postmark_client.errors import RequestValidationError

TOKEN = "canary-fake-token-0000-not-real"
SERVER_HEADER = "X-Postmark-Server-Token"
ACCOUNT_HEADER = "X-Postmark-Account-Token"
KINDS = ("sync", "async")

MB = 1024 * 1024
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$"

# ---- operations, shaped like the spec's ------------------------------------------------------

COUNT = Param("count", "count", "query", "integer", True, minimum=1, maximum=500, default=100)
OFFSET = Param("offset", "offset", "query", "integer", True, minimum=0, maximum=9999, default=0)
MESSAGE_LIMITS = (
    Limit("message-size", 10 * MB, "bytes", "message", None, "10 MB per message"),
    Limit("to-recipients", 50, "addresses", "message", "To", "50 recipients in To"),
    Limit("cc-recipients", 50, "addresses", "message", "Cc", "50 recipients in Cc"),
    Limit("bcc-recipients", 50, "addresses", "message", "Bcc", "50 recipients in Bcc"),
)
BATCH_LIMITS = (
    Limit("batch-messages", 500, "items", "request", None, "500 messages per call"),
    Limit("batch-size", 50 * MB, "bytes", "request", None, "50 MB per call"),
)


def operation(**overrides: Any) -> Operation:
    """An Operation with the boring fields filled in."""
    fields: dict[str, Any] = {
        "id": "send_email",
        "group": "email",
        "name": "send",
        "method": "POST",
        "path": "/email",
        "token": "server",
        "access": "write",
        "retry_safe": False,
        "summary": "Send an email",
        "description": "",
        "body_schema": "SendEmailRequest",
        "response_schema": "SendEmailResponse",
        "limits": MESSAGE_LIMITS,
        "acts_on": "email",
    }
    fields.update(overrides)
    return Operation(**fields)


SEND = operation()
SEND_BATCH = operation(
    id="send_email_batch",
    name="send_batch",
    path="/email/batch",
    body_is_array=True,
    response_is_array=True,
    batch=True,
    limits=MESSAGE_LIMITS + BATCH_LIMITS,
)
SEND_BATCH_TEMPLATES = operation(
    id="send_email_batch_with_templates",
    name="send_batch_with_templates",
    path="/email/batchWithTemplates",
    body_schema="SendEmailBatchWithTemplatesRequest",
    response_is_array=True,
    batch=True,
    limits=MESSAGE_LIMITS
    + (
        Limit("batch-messages", 500, "items", "request", "Messages", "500 messages per call"),
        Limit("batch-size", 50 * MB, "bytes", "request", None, "50 MB per call"),
    ),
)
LIST_BOUNCES = operation(
    id="list_bounces",
    group="bounces",
    name="list",
    method="GET",
    path="/bounces",
    access="read",
    retry_safe=True,
    summary="List bounces",
    body_schema=None,
    response_schema="BounceSearchResponse",
    limits=(),
    acts_on="bounce",
    query_params=(
        COUNT,
        OFFSET,
        Param("type", "type", "query", "string", enum=("HardBounce", "SoftBounce", "Transient")),
        Param("inactive", "inactive", "query", "boolean"),
        Param("emailFilter", "email_filter", "query", "string"),
        Param("fromdate", "from_date", "query", "string", pattern=DATE_PATTERN),
        Param("todate", "to_date", "query", "string", pattern=DATE_PATTERN),
    ),
    paging=Paging(
        "count",
        "offset",
        "Bounces",
        "bounces",
        "TotalCount",
        "total_count",
        500,
        10000,
        ("fromdate", "todate", "type"),
    ),
)
GET_BOUNCE = operation(
    id="get_bounce",
    group="bounces",
    name="get",
    method="GET",
    path="/bounces/{bounceid}",
    access="read",
    retry_safe=True,
    body_schema=None,
    response_schema="Bounce",
    limits=(),
    acts_on="bounce",
    path_params=(Param("bounceid", "bounce_id", "path", "integer", True),),
)
GET_TEMPLATE = operation(
    id="get_template",
    group="templates",
    name="get",
    method="GET",
    path="/templates/{templateIdOrAlias}",
    access="read",
    retry_safe=True,
    body_schema=None,
    response_schema="Template",
    limits=(),
    acts_on="template",
    path_params=(Param("templateIdOrAlias", "template_id_or_alias", "path", "string", True),),
)
GET_STATS = operation(
    id="get_outbound_overview",
    group="stats",
    name="outbound_overview",
    method="GET",
    path="/stats/outbound",
    access="read",
    retry_safe=True,
    body_schema=None,
    limits=(),
    acts_on="stat",
    query_params=(
        Param("fromdate", "from_date", "query", "string", format="date"),
        Param("todate", "to_date", "query", "string", format="date"),
    ),
)
CREATE_SUPPRESSIONS = operation(
    id="create_suppressions",
    group="suppressions",
    name="create",
    path="/message-streams/{stream_id}/suppressions",
    body_schema="SuppressionChangeRequest",
    acts_on="suppression",
    path_params=(Param("stream_id", "stream_id", "path", "string", True),),
    limits=(Limit("suppressions", 50, "items", "request", "Suppressions", "50 per call"),),
)
LIST_SERVERS = operation(
    id="list_servers",
    group="servers",
    name="list",
    method="GET",
    path="/servers",
    token="account",
    access="read",
    retry_safe=True,
    body_schema=None,
    limits=(),
    acts_on="server",
    query_params=(COUNT, OFFSET),
)

# ---- request and response models, keeping the generated models' contract ------------------


@dataclass
class Message:
    """A request model: `validate()`, then `to_dict()` in wire names without None fields."""

    from_: str | None = "sender@example.com"
    to: str | None = "receiver@example.com"
    cc: str | None = None
    subject: str | None = None
    text_body: str | None = None

    def validate(self) -> None:
        if not self.from_:
            raise RequestValidationError("From", "is required")
        if not self.to:
            raise RequestValidationError("To", "is required")

    def to_dict(self) -> dict[str, Any]:
        pairs = {
            "From": self.from_,
            "To": self.to,
            "Cc": self.cc,
            "Subject": self.subject,
            "TextBody": self.text_body,
        }
        return {wire: value for wire, value in pairs.items() if value is not None}


@dataclass
class Suppressions:
    addresses: list[str]

    def validate(self) -> None:
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"Suppressions": [{"EmailAddress": address} for address in self.addresses]}


@dataclass
class SendResult:
    message_id: str
    submitted_at: datetime
    to: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> SendResult:
        return cls(data["MessageID"], parse_datetime(data["SubmittedAt"]), data.get("To"))


@dataclass
class Bounce:
    id: int
    email: str

    @classmethod
    def from_dict(cls, data: Any) -> Bounce:
        return cls(data["ID"], data["Email"])


@dataclass
class BounceList:
    total_count: int
    bounces: list[Bounce]

    @classmethod
    def from_dict(cls, data: Any) -> BounceList:
        return cls(data["TotalCount"], [Bounce.from_dict(item) for item in data["Bounces"]])


def raw(data: Any) -> Any:
    """cast_to for tests that only look at the request."""
    return data


def send_ok(to: str = "receiver@example.com", message_id: str = "b7bc2f4a-e38e") -> dict[str, Any]:
    """A successful send answer, as in `examples/POST_email.legacy-2016.json`."""
    return {
        "To": to,
        "SubmittedAt": "2016-10-06T04:24:31.2196962-04:00",
        "MessageID": message_id,
        "ErrorCode": 0,
        "Message": "OK",
    }


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"ErrorCode": code, "Message": message}


# ---- a scripted Postmark ---------------------------------------------------------------------

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakePostmark:
    """Answers requests from a script (a response, an exception to raise, or a function),
    and keeps every request it saw. The last step repeats when the script runs out."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            if isinstance(step, httpx.RequestError):
                step = type(step)(str(step), request=request)
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(
                step.status_code, headers=step.headers, content=step.content, request=request
            )
        return step(request)

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


class Harness:
    """The same test against the sync and the async client: calls and iterations are run to
    completion either way, sleeps are recorded instead of slept."""

    def __init__(
        self,
        kind: str,
        handler: Callable[[httpx.Request], httpx.Response],
        *,
        token_header: str = SERVER_HEADER,
        **options: Any,
    ) -> None:
        self.kind = kind
        self.sleeps: list[float] = []
        transport = httpx.MockTransport(handler)
        self.client: SyncAPIClient | AsyncAPIClient
        if kind == "sync":
            self.client = SyncAPIClient(
                token=TOKEN,
                token_header=token_header,
                transport=transport,
                sleep=self.sleeps.append,
                **options,
            )
        else:

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            self.client = AsyncAPIClient(
                token=TOKEN, token_header=token_header, transport=transport, sleep=sleep, **options
            )

    def run(self, value: Any) -> Any:
        return asyncio.run(value) if inspect.isawaitable(value) else value

    def request(self, op: Operation, **kwargs: Any) -> Any:
        kwargs.setdefault("cast_to", raw)
        return self.run(self.client.request(op, **kwargs))

    def request_page(self, op: Operation, **kwargs: Any) -> Any:
        return self.run(self.client.request_page(op, **kwargs))

    def request_batch(self, op: Operation, messages: Iterable[Any], **kwargs: Any) -> Any:
        kwargs.setdefault("cast_item", SendResult.from_dict)
        return self.run(self.client.request_batch(op, messages, **kwargs))

    def next_page(self, page: Any) -> Any:
        return self.run(page.next_page())

    def collect(
        self, iterator: Any, each: Callable[[Any], None] | None = None, keep: bool = True
    ) -> list[Any]:
        """Drain a sync or async iterator; `each` sees every item as it arrives; with
        `keep=False` nothing is kept (for memory tests)."""
        items: list[Any] = []

        def take(item: Any) -> None:
            if each:
                each(item)
            if keep:
                items.append(item)

        if self.kind == "sync":
            for item in iterator:
                take(item)
            return items

        async def drain() -> None:
            async for item in iterator:
                take(item)

        asyncio.run(drain())
        return items
