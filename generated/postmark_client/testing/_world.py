# Copied by postmark-codegen from templates/static/postmark_client/testing/_world.py;
# edit it there and regenerate, not here.
"""What happens inside the fake Postmark: the effects of a send (delivery, bounces, webhooks),
opens and clicks, inbound mail, suppressions, and the account's servers, domains and sender
signatures. Request handlers (`_handlers.py`) call into this; so do the fake's control methods
(`FakePostmark.open(...)`, `.receive_inbound(...)`), which stand in for recipients' behaviour.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from .._meta import Operation
from .._operations import OPERATIONS
from ..errors import ErrorCode
from ..rules import RECIPIENT_FIELDS, is_address, read_recipients, stream_of
from . import _mustache
from ._state import (
    BOUNCE_TESTING_DOMAIN,
    DEFAULT_STREAMS,
    INBOUND_DOMAIN,
    AccountState,
    BulkRequest,
    Event,
    Ids,
    JsonObject,
    Outbound,
    Rejected,
    ServerState,
    address_of,
    mail_date,
    split_addresses,
    stamp,
)
from ._webhooks import Webhooks
from ._wire import (
    BOUNCE_TYPES,
    KEYS,
    ErrorCodes,
    answer_in_shape,
    check_object,
    model_keys,
    normalize,
)


@dataclass(frozen=True, slots=True)
class InboundMail:
    """Mail that arrives at a server's inbound address, as its sender wrote it. Status
    Processed posts the Inbound webhook; Blocked and Failed wait for a bypass or retry."""

    sender: str
    to: str | None = None  # None: the server's inbound address
    subject: str = ""
    text_body: str = ""
    html_body: str = ""
    tag: str = ""
    status: str = "Processed"


@dataclass(frozen=True, slots=True)
class BounceKind:
    code: int
    name: str
    deactivates: bool
    can_activate: bool
    reason: str | None  # the SuppressionReason when it deactivates


# TypeCodes and names as the spec's BounceType description lists them. An address that bounces
# with a deactivating type is suppressed on the message's stream.
BOUNCE_KINDS: Final[dict[str, BounceKind]] = {
    "HardBounce": BounceKind(1, "Hard bounce", True, True, "HardBounce"),
    "Transient": BounceKind(2, "Message delayed", False, True, None),
    "Unsubscribe": BounceKind(16, "Unsubscribe request", True, True, "ManualSuppression"),
    "Subscribe": BounceKind(32, "Subscribe request", False, True, None),
    "AutoResponder": BounceKind(64, "Auto responder", False, True, None),
    "AddressChange": BounceKind(128, "Address change", False, True, None),
    "DnsError": BounceKind(256, "DNS error", False, True, None),
    "SpamNotification": BounceKind(512, "Spam notification", False, True, None),
    "OpenRelayTest": BounceKind(1024, "Open relay test", False, True, None),
    "Unknown": BounceKind(2048, "Unknown", False, True, None),
    "SoftBounce": BounceKind(4096, "Soft bounce", False, True, None),
    "VirusNotification": BounceKind(8192, "Virus notification", False, True, None),
    "ChallengeVerification": BounceKind(16384, "Spam challenge verification", False, True, None),
    "BadEmailAddress": BounceKind(100000, "Invalid email address", True, True, "HardBounce"),
    "SpamComplaint": BounceKind(100001, "Spam complaint", True, False, "SpamComplaint"),
    "ManuallyDeactivated": BounceKind(
        100002, "Manually deactivated", True, True, "ManualSuppression"
    ),
    "Unconfirmed": BounceKind(100003, "Registration not confirmed", False, True, None),
    "Blocked": BounceKind(100006, "ISP block", False, True, None),
    "SMTPApiError": BounceKind(100007, "SMTP API error", False, True, None),
    "InboundError": BounceKind(100008, "Processing failed", False, True, None),
    "DMARCPolicy": BounceKind(100009, "DMARC Policy", False, True, None),
    "TemplateRenderingFailed": BounceKind(100010, "Template rendering failed", False, True, None),
}
_BOUNCE_DESCRIPTIONS: Final[dict[str, str]] = {
    "HardBounce": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "SoftBounce": "Unable to temporarily deliver message (i.e. mailbox full, account disabled, exceeds quota, out of disk space).",
    "Transient": "The server could not temporarily deliver your message (ex: Message is delayed due to network troubles).",
    "SpamComplaint": "The subscriber explicitly marked this message as spam.",
}
# Which server setting holds the hook URL of each webhook RecordType.
HOOK_SETTINGS: Final[dict[str, str]] = {
    "Delivery": "DeliveryHookUrl",
    "Bounce": "BounceHookUrl",
    "SpamComplaint": "BounceHookUrl",
    "Open": "OpenHookUrl",
    "Click": "ClickHookUrl",
    "Inbound": "InboundHookUrl",
}
# Attachment file types Postmark refuses (ErrorCode 411).
FORBIDDEN_EXTENSIONS: Final = frozenset(
    {
        "vbs", "exe", "bin", "bat", "chm", "com", "cpl", "crt", "hlp", "hta", "inf", "ins", "isp",
        "jse", "lnk", "mdb", "pcd", "pif", "reg", "scr", "sct", "shs", "vbe", "vba", "wsf", "wsh",
        "wsl", "msc", "msi", "msp", "mst",
    }
)  # fmt: skip
# Free-mail domains cannot carry a sender signature (ErrorCode 503).
PUBLIC_DOMAINS: Final = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
        "aol.com", "icloud.com", "me.com", "gmx.com", "mail.com", "proton.me", "protonmail.com",
    }
)  # fmt: skip
# How a problem with a send's body becomes an ErrorCode.
# Content a templated send may not carry (the template gives it): ErrorCode 1123. Other unknown
# fields are ignored, as Postmark does (see `_wire.check_object`).
NOT_WITH_TEMPLATE: Final = ("Subject", "HtmlBody", "TextBody")
EMAIL_ERRORS: Final = ErrorCodes(
    ErrorCode.INVALID_EMAIL_REQUEST,
    {f"{name}:unknown": ErrorCode.FIELD_NOT_ALLOWED for name in NOT_WITH_TEMPLATE},
)
_DELIVERY_DETAILS: Final = "smtp;250 2.0.0 OK (fake Postmark: nothing was delivered)"


class World:
    """The account and everything in it, with Postmark's rules for changing it."""

    def __init__(
        self,
        ids: Ids,
        clock: Callable[[], datetime],
        webhooks: Webhooks,
        *,
        require_sender_signature: bool,
        server_deletion: bool,
    ) -> None:
        self.ids = ids
        self.clock = clock
        self.webhooks = webhooks
        self.account = AccountState()
        self.require_sender_signature = require_sender_signature
        self.server_deletion = server_deletion
        self.search_lag = 0.0
        self.lag_clock: Callable[[], float] = time.monotonic

    # ---- servers -------------------------------------------------------------------------------

    def create_server(self, fields: JsonObject, token: str | None = None) -> ServerState:
        server_id = self.ids.next("server", 1)
        inbound_hash = self.ids.hex()
        token = token or self.ids.uuid()
        data: JsonObject = {
            "ID": server_id,
            "Name": fields["Name"],
            "ApiTokens": [token],
            "Color": fields.get("Color", "Purple"),
            "SmtpApiActivated": fields.get("SmtpApiActivated", True),
            "RawEmailEnabled": fields.get("RawEmailEnabled", False),
            "DeliveryType": fields.get("DeliveryType", "Live"),
            "ServerLink": f"https://account.postmarkapp.com/servers/{server_id}/streams",
            "InboundAddress": f"{inbound_hash}@{INBOUND_DOMAIN}",
            "InboundHookUrl": "",
            "BounceHookUrl": "",
            "OpenHookUrl": "",
            "DeliveryHookUrl": "",
            "ClickHookUrl": "",
            "PostFirstOpenOnly": False,
            "InboundDomain": "",
            "InboundHash": inbound_hash,
            "InboundSpamThreshold": 0,
            "TrackOpens": False,
            "TrackLinks": "None",
            "IncludeBounceContentInHook": False,
            "EnableSmtpApiErrorHooks": False,
        }
        data.update({k: v for k, v in fields.items() if k in data and k not in ("ID", "ApiTokens")})
        server = ServerState(server_id, data)
        for stream_id, kind in DEFAULT_STREAMS.items():
            self.add_stream(server, stream_id, kind)
        self.account.servers[server_id] = server
        self.account.server_tokens[token] = server_id
        return server

    def add_stream(self, server: ServerState, stream_id: str, kind: str, name: str = "") -> None:
        """A message stream record, as GET /message-streams/{stream_id} answers it (its CreatedAt
        is set when it is first read: creating a server reads no clock)."""
        self.collection("message_streams", server)[stream_id] = {
            "ID": stream_id,
            "ServerID": server.id,
            "Name": name or f"{kind} Stream",
            "Description": None,
            "MessageStreamType": kind,
            "UpdatedAt": None,
            "ArchivedAt": None,
            "ExpectedPurgeDate": None,
            "SubscriptionManagementConfiguration": {
                "UnsubscribeHandlingType": "Postmark" if kind == "Broadcasts" else "None"
            },
        }

    def collection(self, name: str, server: ServerState | None) -> dict[Any, JsonObject]:
        """The records of a plain resource (`x-postmark-resource` collection): a server's for
        server-token operations, else the account's (domains and sender signatures are the
        account's own tables)."""
        if server is not None:
            return server.records.setdefault(name, {})
        if name == "domains":
            return self.account.domains
        if name == "sender_signatures":
            return self.account.signatures
        return self.account.records.setdefault(name, {})

    def delete_server(self, server: ServerState) -> None:
        for token in server.tokens:
            self.account.server_tokens.pop(token, None)
        del self.account.servers[server.id]

    # ---- sending -------------------------------------------------------------------------------

    def send(
        self,
        server: ServerState,
        op: Operation,
        message: Any,
        *,
        schema: str,
        templated: bool,
        test_only: bool = False,
        at: datetime | None = None,
    ) -> JsonObject:
        """One message of a send call: its SendEmailResponse, or Rejected when Postmark refuses it."""
        problem = check_object(schema, message, refuse=NOT_WITH_TEMPLATE)
        if problem is not None:
            raise Rejected(
                EMAIL_ERRORS.code_for(problem), f"Invalid email request: {problem.message}."
            )
        message = normalize(schema, message)
        stream = self._sending_stream(server, stream_of(op, message))
        recipients = self._recipients(op, message)
        self._check_sender(message["From"])
        self._check_attachments(message.get("Attachments") or [])
        check_size(op, message, "message")
        if templated:
            message = self._render_template(server, message)
        inactive = [a for kind, _, a in recipients if server.suppressed(stream, a) is not None]
        if inactive:
            raise Rejected(
                ErrorCode.INACTIVE_RECIPIENT,
                "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
                f"addresses: {', '.join(inactive)}. Inactive recipients are ones that have generated "
                "a hard bounce, a spam complaint, or a manual suppression.",
            )
        at = at or self.clock()
        facts = {"To": message["To"], "SubmittedAt": stamp(at), "ErrorCode": 0}
        if test_only:
            facts.update(MessageID=self.ids.uuid(), Message="Test job accepted")
            return answer_in_shape(KEYS["SendEmailResponse"], facts, message)
        outbound = self._store(server, stream, message, recipients, at)
        for _, _, address in recipients:
            self._deliver(server, outbound, address, at)
        facts.update(MessageID=outbound.message_id, Message="OK")
        return answer_in_shape(KEYS["SendEmailResponse"], facts, message)

    def _sending_stream(self, server: ServerState, requested: str | None) -> str:
        stream = requested or ""
        kind = server.streams.get(stream)
        if kind is None and stream in self.collection("message_streams", server):
            # An archived stream accepts no more mail (it exists, but cannot send: 1236).
            raise Rejected(
                ErrorCode.STREAM_SENDING_NOT_SUPPORTED,
                f"The message stream '{stream}' is archived and accepts no mail.",
            )
        if kind is None:
            raise Rejected(
                ErrorCode.MESSAGE_STREAM_NOT_ON_SERVER,
                f"The 'MessageStream' provided does not exist on this server: '{stream}'.",
            )
        if kind == "Inbound":
            raise Rejected(
                ErrorCode.STREAM_SENDING_NOT_SUPPORTED,
                f"Sending is not supported on the inbound message stream '{stream}'.",
            )
        return stream

    def _recipients(self, op: Operation, message: JsonObject) -> list[tuple[str, str, str]]:
        """(field, display name, address) of every To, Cc and Bcc recipient, checked."""
        limits = {limit.field: limit.max for limit in op.limits if limit.unit == "addresses"}
        found: list[tuple[str, str, str]] = []
        for kind in RECIPIENT_FIELDS:
            reading = read_recipients(kind, str(message.get(kind) or ""))
            count = len(reading.entries)
            if count > limits.get(kind, count):
                raise Rejected(
                    ErrorCode.INVALID_EMAIL_REQUEST,
                    f"Invalid email request: '{kind}' holds {count} recipients; "
                    f"at most {limits[kind]} are allowed.",
                )
            bad = reading.unreadable
            if bad is not None:
                raise Rejected(
                    ErrorCode.INVALID_EMAIL_REQUEST,
                    f"Invalid '{kind}' address: '{bad.part.strip()}' ({bad.reason}).",
                )
            found.extend((kind, name, address) for name, address in reading.mailboxes)
        if not any(kind == "To" for kind, _, _ in found):
            raise Rejected(ErrorCode.INVALID_EMAIL_REQUEST, "Zero recipients specified.")
        return found

    def _check_sender(self, sender: str) -> None:
        address = address_of(sender)
        if not is_address(address):
            raise Rejected(ErrorCode.INVALID_EMAIL_REQUEST, f"Invalid 'From' address: '{sender}'.")
        if not self.require_sender_signature:
            return
        domain = address.rsplit("@", 1)[1].lower()
        if any(
            d["Name"].lower() == domain and d["DKIMVerified"] for d in self.account.domains.values()
        ):
            return
        signature = self.signature_by_address(address)
        if signature is None:
            raise Rejected(
                ErrorCode.SENDER_SIGNATURE_NOT_FOUND,
                f"The 'From' address you supplied ({sender}) is not a Sender Signature on your "
                "account. Please add and confirm this address in order to be able to use it in the "
                "'From' field of your messages.",
            )
        if not signature["Confirmed"]:
            raise Rejected(
                ErrorCode.SENDER_SIGNATURE_NOT_CONFIRMED,
                f"The 'From' address you supplied ({sender}) has not been confirmed yet.",
            )

    def _check_attachments(self, attachments: list[JsonObject]) -> None:
        for attachment in attachments:
            name = str(attachment["Name"])
            if "." in name and name.rsplit(".", 1)[1].lower() in FORBIDDEN_EXTENSIONS:
                raise Rejected(
                    ErrorCode.FORBIDDEN_ATTACHMENT_TYPE, f"Forbidden attachment type: '{name}'."
                )
            try:
                base64.b64decode(str(attachment["Content"]), validate=True)
            except (binascii.Error, ValueError):
                raise Rejected(
                    ErrorCode.INVALID_EMAIL_REQUEST,
                    f"Invalid email request: the Content of attachment '{name}' is not base64.",
                ) from None

    def _render_template(self, server: ServerState, message: JsonObject) -> JsonObject:
        key = message.get("TemplateId")
        if key is None:
            key = message.get("TemplateAlias")
        template = server.find_template(key, active_only=True)
        if template is None or template["TemplateType"] != "Standard":
            raise Rejected(
                ErrorCode.TEMPLATE_NOT_FOUND,
                "The 'TemplateId' associated with this request is not valid or was not found.",
            )
        model = message.get("TemplateModel") or {}
        layout = server.find_template(template.get("LayoutTemplate") or "", active_only=True)
        rendered = {
            k: v
            for k, v in message.items()
            if k not in ("TemplateId", "TemplateAlias", "TemplateModel", "InlineCss")
        }
        for part in ("Subject", "HtmlBody", "TextBody"):
            source = template.get(part)
            if source is None:
                continue
            html = part == "HtmlBody"
            text = _mustache.render(source, model, escape_html=html)
            if layout is not None and part != "Subject" and layout.get(part):
                text = _mustache.render(layout[part], model, escape_html=html, content=text)
            rendered[part] = text
        return rendered

    def _store(
        self,
        server: ServerState,
        stream: str,
        message: JsonObject,
        recipients: list[tuple[str, str, str]],
        at: datetime,
    ) -> Outbound:
        message_id = self.ids.uuid()

        def people(kind: str) -> list[JsonObject]:
            return [{"Email": a, "Name": n or None} for k, n, a in recipients if k == kind]

        track_opens = message.get("TrackOpens", server.data["TrackOpens"])
        track_links = message.get("TrackLinks", server.data["TrackLinks"])
        html, text = message.get("HtmlBody"), message.get("TextBody")
        data: JsonObject = {
            "TextBody": text,
            "HtmlBody": html,
            "Body": _raw_source(message, message_id, at),
            "Tag": message.get("Tag") or "",
            "MessageID": message_id,
            "MessageStream": stream,
            "To": people("To"),
            "Cc": people("Cc"),
            "Bcc": people("Bcc"),
            "Recipients": [a for _, _, a in recipients],
            "ReceivedAt": stamp(at),
            "From": message["From"],
            "Subject": message.get("Subject") or "",
            "Attachments": [str(a["Name"]) for a in message.get("Attachments") or []],
            "Status": "Sent",
            "TrackOpens": bool(track_opens),
            "TrackLinks": track_links,
            "Metadata": dict(message.get("Metadata") or {}),
            "Sandboxed": server.sandboxed,
            "MessageEvents": [],
        }
        links = _links(html or "") + _links(text or "")
        outbound = Outbound(
            at,
            data,
            links=list(dict.fromkeys(links)),
            searchable_at=self.lag_clock() + self.search_lag if self.search_lag else 0.0,
        )
        server.outbound.append(outbound)
        server.by_message_id[message_id] = outbound
        return outbound

    def _deliver(self, server: ServerState, outbound: Outbound, address: str, at: datetime) -> None:
        if server.sandboxed:
            return
        local, _, domain = address.partition("@")
        kind = _bounce_testing_kind(local) if domain.lower() == BOUNCE_TESTING_DOMAIN else None
        if kind is None or kind == "SpamComplaint":
            self._delivered(server, outbound, address, at)
        if kind is not None:
            self.bounce(server, outbound, address, kind, at)

    def _delivered(
        self, server: ServerState, outbound: Outbound, address: str, at: datetime
    ) -> None:
        outbound.data["MessageEvents"].append(
            {
                "Recipient": address,
                "Type": "Delivered",
                "ReceivedAt": stamp(at),
                "Details": {
                    "DeliveryMessage": _DELIVERY_DETAILS,
                    "DestinationServer": "mx.fake-postmark.invalid",
                    "DestinationIP": "127.0.0.1",
                },
            }
        )
        data = outbound.data
        self.emit(
            server,
            "Delivery",
            {
                "RecordType": "Delivery",
                "ServerID": server.id,
                "MessageStream": data["MessageStream"],
                "MessageID": data["MessageID"],
                "Recipient": address,
                "Tag": data["Tag"],
                "DeliveredAt": stamp(at),
                "Details": _DELIVERY_DETAILS,
                "Metadata": data["Metadata"],
            },
        )

    def searchable(self, outbound: Outbound) -> bool:
        """Whether the outbound message search finds this message yet (its index lags)."""
        return not outbound.searchable_at or outbound.searchable_at <= self.lag_clock()

    # ---- bulk requests -------------------------------------------------------------------------

    def submit_bulk(
        self, server: ServerState, op: Operation, body: Any, *, test_only: bool = False
    ) -> JsonObject:
        """Accept a bulk request (POST /email/bulk), or refuse all of it: Postmark checks the
        whole request up front and answers at once; the messages go out later, as the
        request's status is read (`read_bulk`).

        The fake's rules: the message stream must be a broadcast stream (a transactional or
        inbound one is refused with ErrorCode 1236, as the Bulk API is for broadcasts only; a
        request that names none lands on the server's default, `outbound`, and is refused); the content is a template (TemplateId or TemplateAlias) or inline
        HtmlBody / TextBody, which each recipient's TemplateModel personalises (Mustache), not
        both; every recipient's message must be one the send path accepts.
        """
        problem = check_object("BulkEmailRequest", body)
        if problem is not None:
            raise Rejected(
                EMAIL_ERRORS.code_for(problem), f"Invalid email request: {problem.message}."
            )
        body = normalize("BulkEmailRequest", body)
        check_size(op, body, "request")
        stream = self._bulk_stream(server, stream_of(op, body), body.get("MessageStream"))
        self._check_sender(body["From"])
        self._check_attachments(body.get("Attachments") or [])
        templated = body.get("TemplateId") is not None or body.get("TemplateAlias") is not None
        if templated:
            self._bulk_template(server, body)
        elif body.get("HtmlBody") is None and body.get("TextBody") is None:
            raise Rejected(
                ErrorCode.INVALID_EMAIL_REQUEST,
                "Invalid email request: give HtmlBody or TextBody (or both), or a template (TemplateId or TemplateAlias).",
            )
        messages = []
        for index, entry in enumerate(body["Messages"]):
            message = self._bulk_message(body, entry, stream, templated)
            problem = check_object(
                "SendEmailWithTemplateRequest" if templated else "SendEmailRequest", message
            )
            if problem is not None:
                raise Rejected(
                    EMAIL_ERRORS.code_for(problem),
                    f"Invalid email request: message {index}: {problem.message}.",
                )
            try:
                self._recipients(op, message)
            except Rejected as refusal:
                raise Rejected(
                    refusal.code, f"Message {index}: {refusal.message}", refusal.status
                ) from None
            messages.append(message)
        at = self.clock()
        bulk = BulkRequest(self.ids.uuid(), at, body.get("Subject"), messages, templated, test_only)
        server.bulk_requests[bulk.id] = bulk
        facts = {"Id": bulk.id, "Status": bulk.status, "SubmittedAt": stamp(at)}
        return answer_in_shape(model_keys(op.response_schema or ""), facts, body)

    def read_bulk(self, server: ServerState, bulk_id: str) -> JsonObject | None:
        """A bulk request's progress (GET /email/bulk/{id}), None when there is no such request.

        Each read moves the request one step (see `BulkRequest`): Accepted, Processing with the
        first half of the messages sent, then Completed with all of them sent (as outbound
        messages that search finds, with Delivery webhooks like any send). A message Postmark
        refuses by then (a recipient suppressed since, a template deleted since) is not sent.
        """
        bulk = server.bulk_requests.get(bulk_id)
        if bulk is None:
            return None
        step, bulk.reads = bulk.reads, bulk.reads + 1
        total = len(bulk.messages)
        if step == 1 and bulk.status == "Accepted":
            self._release(server, bulk, total // 2)
            bulk.status = "Processing"
        elif step >= 2 and bulk.status != "Completed":
            self._release(server, bulk, total)
            bulk.status = "Completed"
        return {
            "Id": bulk.id,
            "SubmittedAt": stamp(bulk.at),
            "TotalMessages": total,
            "PercentageCompleted": round(100.0 * bulk.released / total, 2) if total else 100.0,
            "Status": bulk.status,
            "Subject": bulk.subject,
        }

    def _release(self, server: ServerState, bulk: BulkRequest, upto: int) -> None:
        op = OPERATIONS["send_bulk_email"]
        schema = "SendEmailWithTemplateRequest" if bulk.templated else "SendEmailRequest"
        for message in bulk.messages[bulk.released : upto]:
            try:
                self.send(
                    server,
                    op,
                    message,
                    schema=schema,
                    templated=bulk.templated,
                    test_only=bulk.test_only,
                )
            except Rejected:
                pass  # the bulk status has no per-message outcome; the message is just not sent
        bulk.released = max(bulk.released, upto)

    def _bulk_stream(self, server: ServerState, requested: str | None, given: Any) -> str:
        stream = requested or ""
        kind = server.streams.get(stream)
        if kind is None:
            raise Rejected(
                ErrorCode.MESSAGE_STREAM_NOT_ON_SERVER,
                f"The 'MessageStream' provided does not exist on this server: '{stream}'.",
            )
        if kind != "Broadcasts":
            raise Rejected(
                ErrorCode.STREAM_SENDING_NOT_SUPPORTED,
                f"The Bulk API sends on broadcast message streams only; '{stream}' is a {kind} stream"
                + ("." if given else " (no MessageStream was given: the server's default stream)."),
            )
        return stream

    def _bulk_template(self, server: ServerState, body: JsonObject) -> None:
        inline = [
            part for part in ("Subject", "HtmlBody", "TextBody") if body.get(part) is not None
        ]
        if inline:
            raise Rejected(
                ErrorCode.FIELD_NOT_ALLOWED,
                f"Invalid email request: '{inline[0]}' may not be given with a template (TemplateId or TemplateAlias).",
            )
        key = body.get("TemplateId")
        template = server.find_template(
            body.get("TemplateAlias") if key is None else key, active_only=True
        )
        if template is None or template["TemplateType"] != "Standard":
            raise Rejected(
                ErrorCode.TEMPLATE_NOT_FOUND,
                "The 'TemplateId' associated with this request is not valid or was not found.",
            )

    def _bulk_message(
        self, body: JsonObject, entry: JsonObject, stream: str, templated: bool
    ) -> JsonObject:
        """One recipient's message: the shared fields, the entry's recipients, metadata and
        headers added, and (for inline content) its TemplateModel rendered into the content."""
        shared = ("From", "ReplyTo", "Tag", "TrackOpens", "TrackLinks", "Attachments")
        message: JsonObject = {key: body[key] for key in shared if body.get(key) is not None}
        message.update(
            {key: entry[key] for key in ("To", "Cc", "Bcc") if entry.get(key) is not None}
        )
        message["MessageStream"] = stream
        metadata = {**(body.get("Metadata") or {}), **(entry.get("Metadata") or {})}
        if metadata:
            message["Metadata"] = metadata
        headers = [*(body.get("Headers") or []), *(entry.get("Headers") or [])]
        if headers:
            message["Headers"] = headers
        model = entry.get("TemplateModel") or {}
        if templated:
            for key in ("TemplateId", "TemplateAlias", "InlineCss"):
                if body.get(key) is not None:
                    message[key] = body[key]
            message["TemplateModel"] = model
            return message
        for part in ("Subject", "HtmlBody", "TextBody"):
            if body.get(part) is not None:
                try:
                    message[part] = _mustache.render(
                        str(body[part]), model, escape_html=part == "HtmlBody"
                    )
                except _mustache.TemplateSyntaxError as exc:
                    raise Rejected(
                        ErrorCode.INVALID_TEMPLATED_FIELD,
                        f"The {part} does not parse: {exc.message} (line {exc.line}, column {exc.column})",
                    ) from None
        return message

    def bounce(
        self, server: ServerState, outbound: Outbound, address: str, kind_name: str, at: datetime
    ) -> JsonObject:
        """Record a bounce of `outbound` at `address`; a deactivating kind suppresses the address."""
        kind = BOUNCE_KINDS[kind_name]
        data = outbound.data
        bounce_id = self.ids.next("bounce", 7_000_000_001)
        description = _BOUNCE_DESCRIPTIONS.get(
            kind_name, f"Postmark classified this bounce as: {kind.name}."
        )
        dump = (
            f"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.fake-postmark.invalid\r\nTo: {data['From']}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\n\r\n{kind.name}: {address}\r\n"
        )
        record: JsonObject = {
            "RecordType": "Bounce",
            "ID": bounce_id,
            "Type": kind_name,
            "TypeCode": kind.code,
            "Name": kind.name,
            "Tag": data["Tag"],
            "MessageID": data["MessageID"],
            "ServerID": server.id,
            "MessageStream": data["MessageStream"],
            "Description": description,
            "Details": f"smtp;550 5.1.1 {kind.name} (fake Postmark, bounce-testing address)",
            "Email": address,
            "From": address_of(str(data["From"])),
            "BouncedAt": stamp(at),
            "DumpAvailable": True,
            "Inactive": kind.deactivates,
            "CanActivate": kind.can_activate,
            "Subject": data["Subject"],
            "Content": dump,
        }
        server.bounces[bounce_id] = Event(at, record, dump=dump)
        data["MessageEvents"].append(
            {
                "Recipient": address,
                "Type": "Bounced",
                "ReceivedAt": stamp(at),
                "Details": {"Summary": description, "BounceID": str(bounce_id)},
            }
        )
        record_type = "SpamComplaint" if kind_name == "SpamComplaint" else "Bounce"
        if kind_name != "SMTPApiError" or server.data["EnableSmtpApiErrorHooks"]:
            payload = {
                k: v
                for k, v in record.items()
                if k != "Content" or server.data["IncludeBounceContentInHook"]
            }
            payload.update({"RecordType": record_type, "Metadata": data["Metadata"]})
            self.emit(server, record_type, payload)
        if kind.deactivates and kind.reason is not None:
            self.suppress(
                server, data["MessageStream"], address, kind.reason, "Recipient", at, message=data
            )
        return record

    def activate_bounce(self, server: ServerState, bounce: Event) -> None:
        record = bounce.data
        if record["Inactive"]:
            record["Inactive"] = False
            stream = str(record["MessageStream"])
            existing = server.suppressed(stream, str(record["Email"]))
            if existing is not None and existing.data["SuppressionReason"] != "SpamComplaint":
                self.unsuppress(server, stream, str(record["Email"]), "Customer")

    # ---- suppressions --------------------------------------------------------------------------

    def suppress(
        self,
        server: ServerState,
        stream: str,
        address: str,
        reason: str,
        origin: str,
        at: datetime | None = None,
        *,
        message: JsonObject | None = None,
    ) -> bool:
        """Suppress `address` on `stream`; False when it already was (nothing changes)."""
        entries = server.suppressions.setdefault(stream, {})
        if address.lower() in entries:
            return False
        at = at or self.clock()
        entries[address.lower()] = Event(
            at,
            {
                "EmailAddress": address,
                "SuppressionReason": reason,
                "Origin": origin,
                "CreatedAt": stamp(at),
            },
        )
        self._subscription_change(
            server,
            stream,
            address,
            at,
            suppressed=True,
            reason=reason,
            origin=origin,
            message=message,
        )
        return True

    def unsuppress(self, server: ServerState, stream: str, address: str, origin: str) -> bool:
        """Lift the suppression of `address` on `stream` and reactivate its bounces."""
        entry = server.suppressions.get(stream, {}).pop(address.lower(), None)
        if entry is None:
            return False
        for bounce in server.bounces.values():
            record = bounce.data
            if (
                record["MessageStream"] == stream
                and str(record["Email"]).lower() == address.lower()
            ):
                record["Inactive"] = False
        self._subscription_change(
            server,
            stream,
            address,
            self.clock(),
            suppressed=False,
            reason=None,
            origin=origin,
            message=None,
        )
        return True

    def _subscription_change(
        self,
        server: ServerState,
        stream: str,
        address: str,
        at: datetime,
        *,
        suppressed: bool,
        reason: str | None,
        origin: str,
        message: JsonObject | None,
    ) -> None:
        if message is not None:
            message["MessageEvents"].append(
                {
                    "Recipient": address,
                    "Type": "SubscriptionChanged",
                    "ReceivedAt": stamp(at),
                    "Details": {"Origin": origin, "SuppressSending": str(suppressed)},
                }
            )
        self.emit(
            server,
            "SubscriptionChange",
            {
                "RecordType": "SubscriptionChange",
                "MessageID": message["MessageID"] if message is not None else None,
                "ServerID": server.id,
                "MessageStream": stream,
                "ChangedAt": stamp(at),
                "Recipient": address,
                "Origin": origin,
                "SuppressSending": suppressed,
                "SuppressionReason": reason,
                "Tag": message["Tag"] if message is not None and suppressed else None,
                "Metadata": dict(message["Metadata"]) if message is not None and suppressed else {},
            },
        )

    # ---- opens, clicks, inbound ----------------------------------------------------------------

    def open(
        self,
        server: ServerState,
        message_id: str,
        recipient: str | None = None,
        *,
        platform: str = "WebMail",
        client: JsonObject | None = None,
        os: JsonObject | None = None,
        geo: JsonObject | None = None,
        user_agent: str = "Mozilla/5.0 (fake Postmark)",
        read_seconds: int = 5,
        at: datetime | None = None,
    ) -> JsonObject:
        outbound, recipient = self._tracked(server, message_id, recipient)
        if not outbound.data["TrackOpens"]:
            raise ValueError(f"message {message_id} was sent without open tracking (TrackOpens)")
        at = at or self.clock()
        first = not any(
            e.data["MessageID"] == message_id and e.data["Recipient"] == recipient
            for e in server.opens
        )
        record: JsonObject = {
            "RecordType": "Open",
            "FirstOpen": first,
            **_device(client or dict(_GMAIL), os, platform, user_agent),
            "ReadSeconds": read_seconds,
            **_delivery(outbound, recipient, at, geo),
        }
        server.opens.append(Event(at, record))
        details = {"Summary": f"Email opened with {user_agent}"}
        posted = first or not server.data["PostFirstOpenOnly"]
        keys = KEYS["OpenEvent"] if posted else None
        self._tracked_event(server, outbound, record, "Opened", details, keys)
        return record

    def click(
        self,
        server: ServerState,
        message_id: str,
        link: str,
        recipient: str | None = None,
        *,
        location: str = "HTML",
        platform: str = "Desktop",
        client: JsonObject | None = None,
        os: JsonObject | None = None,
        geo: JsonObject | None = None,
        user_agent: str = "Mozilla/5.0 (fake Postmark)",
        at: datetime | None = None,
    ) -> JsonObject:
        outbound, recipient = self._tracked(server, message_id, recipient)
        if outbound.data["TrackLinks"] in (None, "None"):
            raise ValueError(f"message {message_id} was sent without link tracking (TrackLinks)")
        at = at or self.clock()
        record: JsonObject = {
            "RecordType": "Click",
            "ClickLocation": location,
            **_device(client or dict(_CHROME), os, platform, user_agent),
            "OriginalLink": link,
            **_delivery(outbound, recipient, at, geo),
        }
        server.clicks.append(Event(at, record))
        details = {
            "Summary": f"Tracked Link '{link}' was clicked from the {location}Body.",
            "Link": link,
            "ClickLocation": location,
        }
        self._tracked_event(server, outbound, record, "LinkClicked", details, KEYS["ClickEvent"])
        return record

    def _tracked_event(
        self,
        server: ServerState,
        outbound: Outbound,
        record: JsonObject,
        event_type: str,
        details: JsonObject,
        webhook_keys: Iterable[str] | None,
    ) -> None:
        """An open's or a click's message event, and its webhook of these keys (None: none)."""
        outbound.data["MessageEvents"].append(
            {
                "Recipient": record["Recipient"],
                "Type": event_type,
                "ReceivedAt": record["ReceivedAt"],
                "Details": details,
            }
        )
        if webhook_keys is not None:
            event = {**_pick(record, webhook_keys), "Metadata": outbound.data["Metadata"]}
            self.emit(server, str(record["RecordType"]), event)

    def _tracked(
        self, server: ServerState, message_id: str, recipient: str | None
    ) -> tuple[Outbound, str]:
        outbound = server.by_message_id.get(message_id)
        if outbound is None:
            raise KeyError(f"no outbound message {message_id} on server {server.id}")
        recipients = [str(r) for r in outbound.data["Recipients"]]
        if recipient is None:
            recipient = recipients[0]
        elif recipient.lower() not in (r.lower() for r in recipients):
            raise ValueError(f"{recipient} is not a recipient of message {message_id}")
        return outbound, recipient

    def receive_inbound(
        self, server: ServerState, mail: InboundMail, at: datetime | None = None
    ) -> JsonObject:
        """Mail arriving at the server's inbound address; posted to the inbound hook once Processed."""
        at = at or self.clock()
        to = mail.to or str(server.data["InboundAddress"])
        status = mail.status
        sender_name, sender_address = (split_addresses(mail.sender) or [("", mail.sender)])[0]
        if status == "Processed" and self.blocked_by_rule(server, sender_address):
            status = "Blocked"  # held like Postmark's: bypass_inbound lets it through
        recipients = split_addresses(to)
        first = recipients[0][1] if recipients else to
        mailbox_hash = first.split("@")[0].partition("+")[2]

        def full(pairs: list[tuple[str, str]]) -> list[JsonObject]:
            return [
                {"Email": a, "Name": n, "MailboxHash": a.split("@")[0].partition("+")[2]}
                for n, a in pairs
            ]

        record: JsonObject = {
            "FromName": sender_name,
            "MessageStream": "inbound",
            "From": sender_address,
            "FromFull": {"Email": sender_address, "Name": sender_name, "MailboxHash": ""},
            "To": to,
            "ToFull": full(recipients),
            "Cc": "",
            "CcFull": [],
            "Bcc": "",
            "BccFull": [],
            "OriginalRecipient": first,
            "Subject": mail.subject,
            "MessageID": self.ids.uuid(),
            "ReplyTo": "",
            "MailboxHash": mailbox_hash,
            "Date": mail_date(at),
            "TextBody": mail.text_body,
            "HtmlBody": mail.html_body,
            "StrippedTextReply": mail.text_body,
            "Tag": mail.tag,
            "Headers": [],
            "Attachments": [],
            "Status": status,
        }
        server.inbound.append(Event(at, record))
        if status == "Processed":
            self.post_inbound(server, record)
        return record

    def blocked_by_rule(self, server: ServerState, address: str) -> bool:
        """An inbound rule trigger names a sender address or a whole domain to block."""
        rules = {
            str(r.get("Rule", "")).lower()
            for r in self.collection("inbound_rules", server).values()
        }
        address = address.lower()
        return address in rules or address.rpartition("@")[2] in rules

    def post_inbound(self, server: ServerState, record: JsonObject) -> None:
        payload = {k: v for k, v in record.items() if k != "Status"}
        if server.data["RawEmailEnabled"]:
            payload["RawEmail"] = (
                f"From: {record['From']}\r\nTo: {record['To']}\r\nSubject: {record['Subject']}\r\n\r\n{record['TextBody']}"
            )
        self.emit(server, "Inbound", payload)

    @staticmethod
    def inbound_view(record: JsonObject) -> JsonObject:
        view = _pick(record, KEYS["InboundMessage"])
        view["Attachments"] = [
            {k: v for k, v in a.items() if k != "Content"} for a in record.get("Attachments", [])
        ]
        return view

    # ---- webhooks ------------------------------------------------------------------------------

    def emit(self, server: ServerState, record_type: str, payload: JsonObject) -> None:
        """Queue `payload` for every URL the server posts `record_type` to."""
        urls: list[str] = []
        setting = HOOK_SETTINGS.get(record_type)
        if setting and server.data.get(setting):
            urls.append(str(server.data[setting]))
        urls += server.subscriptions.get(record_type, [])
        for url in urls:
            self.webhooks.enqueue(record_type, url, json.loads(json.dumps(payload)), server.id)
        for hook in self.collection("webhooks", server).values():
            sent = self._webhook_payload(hook, record_type, payload)
            if sent is not None:
                auth = hook.get("HttpAuth") or {}
                self.webhooks.enqueue(
                    record_type,
                    str(hook["Url"]),
                    sent,
                    server.id,
                    username=auth.get("Username"),
                    password=auth.get("Password"),
                    headers={
                        str(h["Name"]): str(h["Value"]) for h in hook.get("HttpHeaders") or []
                    },
                )

    @staticmethod
    def _webhook_payload(
        hook: JsonObject, record_type: str, payload: JsonObject
    ) -> JsonObject | None:
        """What a webhook created through the webhooks API posts of an event: None unless the
        event is on the webhook's stream and its trigger is enabled (PostFirstOpenOnly,
        IncludeContent as the trigger says)."""
        trigger = (hook.get("Triggers") or {}).get(record_type) or {}
        if not trigger.get("Enabled"):
            return None
        stream = payload.get("MessageStream")
        if stream is not None and stream != hook.get("MessageStream", "outbound"):
            return None
        if trigger.get("PostFirstOpenOnly") and payload.get("FirstOpen") is False:
            return None
        sent: JsonObject = json.loads(json.dumps(payload))
        if "IncludeContent" in trigger and not trigger["IncludeContent"]:
            sent.pop("Content", None)
        return sent

    # ---- domains and sender signatures ---------------------------------------------------------

    def dns_records(self, name: str, return_path: str) -> JsonObject:
        """The DNS setup of a new domain (or a new sender signature's domain): a pending DKIM key."""
        selector = self.clock().strftime("%Y%m%d%H%M%S")
        return {
            "SPFVerified": False,
            "SPFHost": name,
            "SPFTextValue": "v=spf1 a mx include:spf.mtasv.net ~all",
            "DKIMVerified": False,
            "WeakDKIM": False,
            "DKIMHost": "",
            "DKIMTextValue": "",
            "DKIMPendingHost": f"{selector}pm._domainkey.{name}",
            "DKIMPendingTextValue": self._dkim_key(),
            "DKIMRevokedHost": "",
            "DKIMRevokedTextValue": "",
            "SafeToRemoveRevokedKeyFromDNS": False,
            "DKIMUpdateStatus": "Pending",
            "ReturnPathDomain": return_path,
            "ReturnPathDomainVerified": False,
            "ReturnPathDomainCNAMEValue": "pm.mtasv.net",
        }

    def _dkim_key(self) -> str:
        raw = bytes.fromhex(self.ids.hex(64))
        return (
            "k=rsa;p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"
            + base64.b64encode(raw).decode("ascii")
            + "IDAQAB"
        )

    def rotate_dkim(self, domain: JsonObject) -> None:
        moment = self.clock()
        host = f"{moment.strftime('%Y%m%d%H%M%S')}pm._domainkey.{domain['Name']}"
        while host == domain.get(
            "DKIMHost"
        ):  # a new key needs a new selector, even within a second
            moment += timedelta(seconds=1)
            host = f"{moment.strftime('%Y%m%d%H%M%S')}pm._domainkey.{domain['Name']}"
        domain["DKIMPendingHost"] = host
        domain["DKIMPendingTextValue"] = self._dkim_key()
        domain["DKIMUpdateStatus"] = "Pending"

    @staticmethod
    def verify_dns(record: JsonObject) -> None:
        """What Postmark does once the DNS records are published: the pending key becomes active."""
        if record.get("DKIMPendingHost"):
            if record.get("DKIMHost"):
                record["DKIMRevokedHost"] = record["DKIMHost"]
                record["DKIMRevokedTextValue"] = record["DKIMTextValue"]
                record["SafeToRemoveRevokedKeyFromDNS"] = True
            record["DKIMHost"] = record["DKIMPendingHost"]
            record["DKIMTextValue"] = record["DKIMPendingTextValue"]
            record["DKIMPendingHost"] = ""
            record["DKIMPendingTextValue"] = ""
        record["DKIMVerified"] = True
        record["SPFVerified"] = True
        record["DKIMUpdateStatus"] = "Verified"
        record["ReturnPathDomainVerified"] = bool(record.get("ReturnPathDomain"))

    def signature_by_address(self, address: str) -> JsonObject | None:
        for signature in self.account.signatures.values():
            if str(signature["EmailAddress"]).lower() == address.lower():
                return signature
        return None


# ---- helpers -------------------------------------------------------------------------------------


def _bounce_testing_kind(local_part: str) -> str | None:
    """`hardbounce@bounce-testing.postmarkapp.com` bounces as HardBounce (any bounce type works)."""
    wanted = local_part.lower().replace("-", "").replace("_", "")
    for kind in BOUNCE_TYPES:
        if kind.lower() == wanted and kind in BOUNCE_KINDS:
            return kind
    return None


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>)]+", text)


def _raw_source(message: JsonObject, message_id: str, at: datetime) -> str:
    headers = [
        f"From: {message['From']}",
        f"To: {message['To']}",
        *([f"Cc: {message['Cc']}"] if message.get("Cc") else []),
        f"Subject: {message.get('Subject') or ''}",
        f"Message-ID: <{message_id}@fake-postmark.invalid>",
        f"Date: {mail_date(at)}",
        "MIME-Version: 1.0",
        *(f"{h['Name']}: {h['Value']}" for h in message.get("Headers") or []),
    ]
    body = message.get("TextBody") or message.get("HtmlBody") or ""
    return "\r\n".join(headers) + "\r\n\r\n" + str(body)


_GMAIL: Final = {"Name": "Gmail", "Company": "Google", "Family": "Gmail"}
_CHROME: Final = {"Name": "Chrome", "Company": "Google", "Family": "Chrome"}
_UNKNOWN_OS: Final = {"Name": "unknown", "Company": "unknown", "Family": "unknown"}


def _device(client: JsonObject, os: JsonObject | None, platform: str, agent: str) -> JsonObject:
    """What an open or a click record says of the reader's device."""
    return {
        "Client": client,
        "OS": os or dict(_UNKNOWN_OS),
        "Platform": platform,
        "UserAgent": agent,
    }


def _delivery(
    outbound: Outbound, recipient: str, at: datetime, geo: JsonObject | None
) -> JsonObject:
    """What an open or a click record says of the message, its recipient, where and when."""
    return {
        "Geo": geo or {},
        "MessageID": outbound.data["MessageID"],
        "MessageStream": outbound.data["MessageStream"],
        "ReceivedAt": stamp(at),
        "Tag": outbound.data["Tag"],
        "Recipient": recipient,
    }


def check_size(op: Operation, data: Any, scope: str) -> None:
    """Postmark's byte limit of this scope ("message": each message, "request": the whole
    body), as its 413 answer."""
    for limit in op.limits:
        if limit.unit == "bytes" and limit.scope == scope:
            size = len(json.dumps(data).encode("utf-8"))
            if size > limit.max:
                raise Rejected(
                    ErrorCode.INVALID_EMAIL_REQUEST,
                    f"The {scope} is {size} bytes; at most {limit.max} are allowed.",
                    status=413,
                )


def _pick(record: JsonObject, keys: Iterable[str]) -> JsonObject:
    return {key: record[key] for key in keys if key in record}


def pick(record: JsonObject, keys: Iterable[str]) -> JsonObject:
    """The fields of `record` a list view shows (the spec's list schema), in that order."""
    return _pick(record, keys)
