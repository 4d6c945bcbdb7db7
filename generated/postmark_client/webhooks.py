"""Receiving Postmark webhooks: typed payloads, Basic-auth checking, a tiny WSGI/ASGI receiver.

Postmark POSTs one JSON payload per event to the URL set on the server or message stream. It
retries until it gets a 200 and stops on a 403; payloads are not signed, so a receiver protects
its URL with Basic-auth credentials in it (`https://user:pass@example.com/hooks`).

    from postmark_client.webhooks import make_wsgi_app, DeliveryWebhook

    def handle(event):
        if isinstance(event, DeliveryWebhook):
            print(event.recipient, "got", event.message_id)

    app = make_wsgi_app(handle, username="hooks", password="s3cret")

`parse_webhook` tells the payloads apart by RecordType (Inbound payloads carry none and are
recognised by FromFull). A RecordType this package does not know yet
gives an `UnknownWebhook` holding the raw data, so a new Postmark event never breaks a receiver.

The receiver logic is spec-independent (`_webhook_receiver.py`); this module binds it to the
spec's events and is where every name is imported from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from . import _webhook_receiver as _receiver
from ._webhook_receiver import (
    DEFAULT_MAX_BODY_BYTES,
    UnknownWebhook,
    WebhookDispatch,
    WebhookParseError,
    verify_basic_auth,
)
from .models import (
    BounceWebhook,
    ClickWebhook,
    DeliveryWebhook,
    InboundWebhook,
    OpenWebhook,
    SpamComplaintWebhook,
    SubscriptionChangeWebhook,
)

__all__ = [
    "WEBHOOK_CLASSES",
    "BounceWebhook",
    "ClickWebhook",
    "DeliveryWebhook",
    "InboundWebhook",
    "OpenWebhook",
    "SpamComplaintWebhook",
    "SubscriptionChangeWebhook",
    "TypedWebhook",
    "UnknownWebhook",
    "WebhookASGIApp",
    "WebhookApp",
    "WebhookEvent",
    "WebhookHandler",
    "WebhookParseError",
    "make_asgi_app",
    "make_wsgi_app",
    "parse_webhook",
    "verify_basic_auth",
    "webhook_data",
    "webhook_type",
]

TypedWebhook: TypeAlias = (
    DeliveryWebhook
    | BounceWebhook
    | SpamComplaintWebhook
    | OpenWebhook
    | ClickWebhook
    | SubscriptionChangeWebhook
    | InboundWebhook
)
"""A payload of one of the RecordTypes the spec describes."""


WebhookEvent: TypeAlias = TypedWebhook | UnknownWebhook
"""What `parse_webhook` returns."""

WebhookHandler: TypeAlias = Callable[[WebhookEvent], object]
"""Called once per received event. Return None (or anything but an int) to answer 200, or an
HTTP status: 403 makes Postmark stop retrying the payload. An exception answers 500, which
Postmark retries later."""

WEBHOOK_CLASSES: Final[Mapping[str, type[TypedWebhook]]] = {
    "Delivery": DeliveryWebhook,
    "Bounce": BounceWebhook,
    "SpamComplaint": SpamComplaintWebhook,
    "Open": OpenWebhook,
    "Click": ClickWebhook,
    "SubscriptionChange": SubscriptionChangeWebhook,
    "Inbound": InboundWebhook,
}
"""RecordType -> payload class, from the spec's `webhooks`."""

# Payloads without a RecordType, told apart by a field only they carry (`x-postmark-detect-by`).
_DETECT_BY: Final[tuple[tuple[str, type[TypedWebhook]], ...]] = (("FromFull", InboundWebhook),)

_DISPATCH: Final = WebhookDispatch[TypedWebhook](WEBHOOK_CLASSES, _DETECT_BY)


def webhook_type(data: Mapping[str, Any]) -> type[TypedWebhook] | None:
    """The payload class for raw payload data, or None when its RecordType is unknown."""
    return _DISPATCH.webhook_type(data)


def parse_webhook(body: bytes | bytearray | str | Mapping[str, Any]) -> WebhookEvent:
    """Read a webhook body (raw bytes, text, or already-decoded JSON) into its typed payload.

    Dispatches on RecordType; an unknown or missing RecordType gives an UnknownWebhook with the
    raw data. Raises WebhookParseError when the body is not a JSON object, or when it names a
    known RecordType but its fields do not fit that payload.
    """
    return _DISPATCH.parse(body)


def webhook_data(event: WebhookEvent) -> dict[str, Any]:
    """The payload of an event as JSON-ready data with Postmark's field names."""
    return event.to_dict()


class WebhookApp(_receiver.WebhookApp[WebhookEvent]):
    """A WSGI app that receives Postmark webhooks and hands each event to `handler`.

    Answers 200 when the handler returns normally, the handler's status when it returns an int
    (403 stops Postmark's retries), 401 on bad credentials (when username/password are set),
    400 on a body that is not a webhook payload, 405 for anything but POST, 413 for a body over
    `max_body_bytes`, and 500 when the handler raises (Postmark then retries).
    Serve it with any WSGI server, e.g. `wsgiref.simple_server.make_server(host, port, app)`.
    """

    def parse(self, body: bytes) -> WebhookEvent:
        return parse_webhook(body)


class WebhookASGIApp(_receiver.WebhookASGIApp[WebhookEvent]):
    """The same receiver as WebhookApp, as an ASGI app; `handler` may be sync or async."""

    def parse(self, body: bytes) -> WebhookEvent:
        return parse_webhook(body)


def make_wsgi_app(
    handler: WebhookHandler,
    *,
    username: str | None = None,
    password: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookApp:
    """A WSGI app calling `handler` for each event (see WebhookApp for the answers)."""
    return WebhookApp(handler, username=username, password=password, max_body_bytes=max_body_bytes)


def make_asgi_app(
    handler: Callable[[WebhookEvent], Any],
    *,
    username: str | None = None,
    password: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookASGIApp:
    """An ASGI app calling `handler` (sync or async) for each event."""
    return WebhookASGIApp(
        handler, username=username, password=password, max_body_bytes=max_body_bytes
    )
