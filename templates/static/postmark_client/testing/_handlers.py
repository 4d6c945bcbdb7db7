"""The fake Postmark's request handlers: one function per operationId, registered with
`@handles("operation_id")` in `HANDLERS`.

A handler gets the request already routed, authorised and checked against the spec (`Call`)
and returns the JSON answer; a paged operation returns all its matches, newest first, and the
dispatcher cuts the page. Refusals raise `Rejected` with Postmark's ErrorCode.

Handlers exist here for every operation the fake knows, also for ones a spec may not have yet
(the Bulk API of release note 2026-03-05): the fake routes only what the operation table
(`_operations.OPERATIONS`) holds, so a handler for an operation the spec lacks is never called.
`postmark-codegen generate` refuses a spec with an operation that no `@handles(...)` here covers
(it reads the registrations from this file's text: keep them literal, one operationId each).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from ..errors import ErrorCode
from ..rules import is_address
from . import _mustache, _resources
from ._resources import Call, not_found
from ._state import (
    Event,
    JsonObject,
    Rejected,
    ServerState,
    contains,
    day_of,
    within,
)
from ._wire import (
    BOUNCE_TYPES,
    KEYS,
    ErrorCodes,
    check_object,
)
from ._world import (
    BOUNCE_KINDS,
    EMAIL_ERRORS,
    NOT_WITH_TEMPLATE,
    PUBLIC_DOMAINS,
    World,
    check_size,
    pick,
)

Handler = Callable[[Call], Any]
HANDLERS: dict[str, Handler] = {}

# Which ErrorCode a body that does not fit the spec gets, by operation, else by resource.
BODY_ERRORS: Final[dict[str, ErrorCodes]] = {
    "validate_template": ErrorCodes(
        ErrorCode.INVALID_TEMPLATED_FIELD,
        {"any_of": ErrorCode.NO_TEMPLATE_DATA},
    ),
    "template": ErrorCodes(
        ErrorCode.INVALID_TEMPLATED_FIELD,
        {
            "required": ErrorCode.TEMPLATE_FIELD_REQUIRED,
            "any_of": ErrorCode.TEMPLATE_FIELD_REQUIRED,
        },
    ),
    "suppression": ErrorCodes(
        ErrorCode.INVALID_SUPPRESSIONS_BODY,
        {"Suppressions:max_items": ErrorCode.TOO_MANY_SUPPRESSIONS},
    ),
    "server": ErrorCodes(
        ErrorCode.INVALID_FIELDS_SUPPLIED,
        {
            "Name": ErrorCode.INVALID_SERVER_NAME,
            "Color": ErrorCode.INVALID_SERVER_COLOR,
            "InboundSpamThreshold": ErrorCode.INVALID_INBOUND_SPAM_THRESHOLD,
            **{
                hook: ErrorCode.INVALID_HOOK_URL
                for hook in (
                    "InboundHookUrl",
                    "BounceHookUrl",
                    "OpenHookUrl",
                    "DeliveryHookUrl",
                    "ClickHookUrl",
                )
            },
        },
    ),
    "domain": ErrorCodes(
        ErrorCode.INVALID_FIELDS_SUPPLIED,
        {
            "Name:required": ErrorCode.DOMAIN_NAME_REQUIRED,
            "Name:min_length": ErrorCode.DOMAIN_NAME_REQUIRED,
            "Name:max_length": ErrorCode.DOMAIN_NAME_TOO_LONG,
            "Name": ErrorCode.INVALID_DOMAIN_NAME,
        },
    ),
    "signature": ErrorCodes(
        ErrorCode.INVALID_FIELD_VALUE,
        {
            "required": ErrorCode.SENDER_SIGNATURE_FIELD_REQUIRED,
            "min_length": ErrorCode.SENDER_SIGNATURE_FIELD_REQUIRED,
            "max_length": ErrorCode.SENDER_SIGNATURE_FIELD_TOO_LONG,
        },
    ),
}
# Which ErrorCode a bad query parameter gets, by resource (the "query exception" codes).
QUERY_ERRORS: Final[dict[str, int]] = {
    "message": ErrorCode.MESSAGES_QUERY_EXCEPTION,
    "open": ErrorCode.MESSAGES_QUERY_EXCEPTION,
    "click": ErrorCode.MESSAGES_QUERY_EXCEPTION,
    "bounce": ErrorCode.BOUNCES_QUERY_EXCEPTION,
    "template": ErrorCode.TEMPLATE_QUERY_EXCEPTION,
    "stat": ErrorCode.STATS_QUERY_EXCEPTION,
    "server": ErrorCode.SERVER_QUERY_EXCEPTION,
    "signature": ErrorCode.SENDER_SIGNATURE_QUERY_EXCEPTION,
    "domain": ErrorCode.INVALID_FIELDS_SUPPLIED,
    "suppression": ErrorCode.SUPPRESSION_PROCESSING_ERROR,
}
# A few query parameters have their own code.
QUERY_PARAM_ERRORS: Final[dict[str, int]] = {
    "SuppressionReason": ErrorCode.INVALID_SUPPRESSION_REASON_FILTER,
    "Origin": ErrorCode.INVALID_SUPPRESSION_ORIGIN_FILTER,
}
# A bounce as listed: every field but the bounce source.
_BOUNCE_LIST_KEYS: Final = tuple(key for key in KEYS["Bounce"] if key != "Content")
_DOMAIN_NAME = re.compile(
    r"^(?=.{1,255}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def handles(*operation_ids: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of each of `operation_ids` (string
    literals: `generate` reads them to check that every operation has a handler)."""

    def register(handler: Handler) -> Handler:
        HANDLERS.update(dict.fromkeys(operation_ids, handler))
        return handler

    return register


def newest_first(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.at, reverse=True)


# ---- email -------------------------------------------------------------------------------------


@handles("send_email")
def send_email(call: Call) -> Any:
    return _send(call, schema="SendEmailRequest", templated=False)


@handles("send_email_with_template")
def send_email_with_template(call: Call) -> Any:
    return _send(call, schema="SendEmailWithTemplateRequest", templated=True)


def _send(call: Call, *, schema: str, templated: bool) -> Any:
    test_only = call.test_token
    return call.world.send(
        call.server, call.op, call.body, schema=schema, templated=templated, test_only=test_only
    )


@handles("send_email_batch")
def send_email_batch(call: Call) -> Any:
    if not isinstance(call.body, list):
        raise Rejected(
            ErrorCode.INVALID_EMAIL_REQUEST,
            "Invalid email request: the body must be a JSON array of messages.",
        )
    return _batch(call, call.body, schema="SendEmailRequest", templated=False)


@handles("send_email_batch_with_templates")
def send_email_batch_with_templates(call: Call) -> Any:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("Messages"), list):
        raise Rejected(
            ErrorCode.INVALID_EMAIL_REQUEST,
            "Invalid email request: 'Messages' must be an array of messages.",
        )
    return _batch(call, body["Messages"], schema="SendEmailWithTemplateRequest", templated=True)


def _batch(call: Call, messages: list[Any], *, schema: str, templated: bool) -> list[JsonObject]:
    for limit in call.op.limits:
        if limit.unit == "items" and len(messages) > limit.max:
            raise Rejected(
                ErrorCode.TOO_MANY_BATCH_MESSAGES,
                f"The batch holds {len(messages)} messages; at most {limit.max} may be sent in one call.",
            )
    check_size(call.op, call.body, "request")
    # A message that breaks the schema fails the whole call (Postmark validates the JSON
    # structure first); what only Postmark can know (inactive recipients, unknown templates)
    # fails the one message, in an answer that is still HTTP 200.
    for index, message in enumerate(messages):
        problem = check_object(schema, message, refuse=NOT_WITH_TEMPLATE)
        if problem is not None:
            raise Rejected(
                EMAIL_ERRORS.code_for(problem),
                f"Invalid email request: message {index}: {problem.message}.",
            )
    results: list[JsonObject] = []
    for message in messages:
        try:
            results.append(
                call.world.send(
                    call.server,
                    call.op,
                    message,
                    schema=schema,
                    templated=templated,
                    test_only=call.test_token,
                )
            )
        except Rejected as refusal:
            results.append(refusal.body())
    return results


@handles("send_bulk_email")
def send_bulk_email(call: Call) -> Any:
    """Accepted at once (Status Accepted) or refused as a whole; see `World.submit_bulk`."""
    return call.world.submit_bulk(call.server, call.op, call.body, test_only=call.test_token)


@handles("get_bulk_email_status")
def get_bulk_email_status(call: Call) -> Any:
    """Each read moves the request one step: Accepted, Processing, Completed (`World.read_bulk`)."""
    status = call.world.read_bulk(call.server, call.path["bulkRequestId"])
    if status is None:
        raise not_found(call.op)
    return status


# ---- templates ---------------------------------------------------------------------------------


@handles("list_templates")
def list_templates(call: Call) -> Any:
    kind = call.query.get("TemplateType") or "All"
    layout = call.query.get("LayoutTemplate")
    found = [
        t
        for t in reversed(call.server.active_templates())
        if (kind == "All" or t["TemplateType"] == kind)
        and (layout is None or (t.get("LayoutTemplate") or "").lower() == layout.lower())
    ]
    return [pick(t, KEYS["TemplateSummary"]) for t in found]


@handles("create_template")
def create_template(call: Call) -> Any:
    server, body = call.server, call.body
    for limit in call.op.limits:
        if limit.unit == "templates" and len(server.active_templates()) >= limit.max:
            raise Rejected(
                ErrorCode.TEMPLATE_LIMIT_EXCEEDED,
                f"This server already holds {limit.max} templates, the most it may have.",
            )
    kind = body.get("TemplateType", "Standard")
    template: JsonObject = {
        "TemplateId": call.world.ids.next("template", 1_000_001),
        "Name": body["Name"],
        "Subject": body.get("Subject"),
        "HtmlBody": body.get("HtmlBody"),
        "TextBody": body.get("TextBody"),
        "AssociatedServerId": server.id,
        "Active": True,
        "Alias": body.get("Alias"),
        "TemplateType": kind,
        "LayoutTemplate": body.get("LayoutTemplate") or None,
    }
    _check_template(server, template)
    server.templates[template["TemplateId"]] = template
    return pick(template, KEYS["UpsertTemplateResponse"])


@handles("get_template")
def get_template(call: Call) -> Any:
    template = call.server.find_template(call.path["templateIdOrAlias"])
    if template is None:
        raise not_found(call.op)
    return dict(template)


@handles("edit_template")
def edit_template(call: Call) -> Any:
    template = call.server.find_template(call.path["templateIdOrAlias"], active_only=True)
    if template is None:
        raise not_found(call.op)
    if not call.body:
        raise Rejected(ErrorCode.NO_TEMPLATE_DATA, "The request holds no template data to change.")
    changed = {**template, **call.body}
    changed["LayoutTemplate"] = changed.get("LayoutTemplate") or None
    _check_template(call.server, changed)
    template.update(changed)
    return pick(template, KEYS["UpsertTemplateResponse"])


def _check_template(server: ServerState, template: JsonObject) -> None:
    """Postmark's rules for a template's content, alias and layout."""
    alias = template.get("Alias")
    if alias:
        other = server.find_template(alias, active_only=True)
        if other is not None and other["TemplateId"] != template["TemplateId"]:
            # Postmark's table has no code of its own for a taken alias; 1122 is the nearest.
            raise Rejected(
                ErrorCode.INVALID_TEMPLATED_FIELD,
                f"The alias '{alias}' is already used by another template.",
            )
    for part in ("Subject", "HtmlBody", "TextBody"):
        if template.get(part) is not None:
            try:
                _mustache.parse(str(template[part]))
            except _mustache.TemplateSyntaxError as exc:
                raise Rejected(
                    ErrorCode.INVALID_TEMPLATED_FIELD,
                    f"The {part} of the template does not parse: {exc.message} (line {exc.line}, column {exc.column})",
                ) from None
    if template["TemplateType"] == "Layout":
        for part in ("Subject", "LayoutTemplate"):
            if template.get(part):
                raise Rejected(
                    ErrorCode.FIELD_NOT_ALLOWED, f"A layout template may not have a {part}."
                )
        for part in ("HtmlBody", "TextBody"):
            source = template.get(part)
            if source is not None and len(_mustache.CONTENT_PLACEHOLDER.findall(str(source))) != 1:
                raise Rejected(
                    ErrorCode.INVALID_LAYOUT_CONTENT_PLACEHOLDER,
                    f"The {part} of a layout must contain the {_mustache.CONTENT_TAG} placeholder exactly once.",
                )
        return
    if not template.get("Subject"):
        raise Rejected(ErrorCode.TEMPLATE_FIELD_REQUIRED, "A Standard template needs a Subject.")
    layout_alias = template.get("LayoutTemplate")
    if layout_alias:
        layout = server.find_template(layout_alias, active_only=True)
        if layout is None or layout["TemplateType"] != "Layout":
            raise Rejected(
                ErrorCode.TEMPLATE_NOT_FOUND, f"The layout '{layout_alias}' was not found."
            )


@handles("delete_template")
def delete_template(call: Call) -> Any:
    template = call.server.find_template(call.path["templateIdOrAlias"], active_only=True)
    if template is None:
        raise not_found(call.op)
    alias = template.get("Alias")
    if template["TemplateType"] == "Layout" and alias:
        users = [
            t
            for t in call.server.active_templates()
            if (t.get("LayoutTemplate") or "").lower() == alias.lower()
        ]
        if users:
            raise Rejected(
                ErrorCode.LAYOUT_HAS_DEPENDENT_TEMPLATES,
                f"The layout '{alias}' is used by {len(users)} template(s) and cannot be deleted.",
            )
    template["Active"] = False
    return {"ErrorCode": 0, "Message": f"Template {template['TemplateId']} removed."}


@handles("validate_template")
def validate_template(call: Call) -> Any:
    body = call.body
    layout: JsonObject | None = None
    if body.get("LayoutTemplate"):
        layout = call.server.find_template(body["LayoutTemplate"], active_only=True)
        if layout is None or layout["TemplateType"] != "Layout":
            raise Rejected(
                ErrorCode.TEMPLATE_NOT_FOUND,
                f"The layout '{body['LayoutTemplate']}' was not found.",
            )
    parts = {
        part: str(body[part])
        for part in ("Subject", "HtmlBody", "TextBody")
        if body.get(part) is not None
    }
    errors: dict[str, list[JsonObject]] = {}
    for part, source in parts.items():
        try:
            _mustache.parse(source)
        except _mustache.TemplateSyntaxError as exc:
            errors[part] = [
                {"Message": exc.message, "Line": exc.line, "CharacterPosition": exc.column}
            ]
        else:
            placeholders = len(_mustache.CONTENT_PLACEHOLDER.findall(source))
            if body.get("TemplateType") == "Layout" and part != "Subject" and placeholders != 1:
                message = (
                    f"A layout must contain the {_mustache.CONTENT_TAG} placeholder exactly once."
                )
                errors[part] = [{"Message": message, "Line": 1, "CharacterPosition": 1}]
    valid = [source for part, source in parts.items() if part not in errors]
    model = _mustache.suggested_model(valid, body.get("TestRenderModel"))
    answer: JsonObject = {"AllContentIsValid": not errors}
    for part in ("HtmlBody", "TextBody", "Subject"):
        if part not in parts:
            answer[part] = None
        elif part in errors:
            answer[part] = {
                "ContentIsValid": False,
                "ValidationErrors": errors[part],
                "RenderedContent": None,
            }
        else:
            html = part == "HtmlBody"
            rendered = _mustache.render(parts[part], model, escape_html=html)
            if layout is not None and part != "Subject" and layout.get(part):
                rendered = _mustache.render(
                    str(layout[part]), model, escape_html=html, content=rendered
                )
            answer[part] = {
                "ContentIsValid": True,
                "ValidationErrors": [],
                "RenderedContent": rendered,
            }
    answer["SuggestedTemplateModel"] = model
    return answer


# ---- bounces -----------------------------------------------------------------------------------


@handles("get_delivery_stats")
def get_delivery_stats(call: Call) -> Any:
    records = [b.data for b in call.server.bounces.values()]
    counts = Counter(str(r["Type"]) for r in records)
    inactive = {str(r["Email"]).lower() for r in records if r["Inactive"]}
    bounces: list[JsonObject] = [{"Name": "All", "Count": len(records)}]
    for kind in BOUNCE_TYPES:
        if counts[kind]:
            bounces.append({"Type": kind, "Name": BOUNCE_KINDS[kind].name, "Count": counts[kind]})
    return {"InactiveMails": len(inactive), "Bounces": bounces}


@handles("list_bounces")
def list_bounces(call: Call) -> Any:
    q = call.query

    def matches(event: Event) -> bool:
        r = event.data
        return (
            (q.get("type") is None or r["Type"] == q["type"])
            and (q.get("inactive") is None or r["Inactive"] == q["inactive"])
            and (q.get("emailFilter") is None or contains(r["Email"], q["emailFilter"]))
            and (q.get("tag") is None or str(r["Tag"] or "").lower() == q["tag"].lower())
            and (q.get("messageID") is None or r["MessageID"] == q["messageID"])
            and (q.get("messagestream") is None or r["MessageStream"] == q["messagestream"])
            and within(event.at, q)
        )

    return [
        pick(e.data, _BOUNCE_LIST_KEYS)
        for e in newest_first(call.server.bounces.values())
        if matches(e)
    ]


def _bounce(call: Call) -> Event:
    return call.named(call.server.bounces, "bounceid")


@handles("get_bounce")
def get_bounce(call: Call) -> Any:
    return dict(_bounce(call).data)


@handles("get_bounce_dump")
def get_bounce_dump(call: Call) -> Any:
    bounce = _bounce(call)
    return {"Body": bounce.dump if bounce.data["DumpAvailable"] else ""}


@handles("activate_bounce")
def activate_bounce(call: Call) -> Any:
    bounce = _bounce(call)
    if not bounce.data["CanActivate"]:
        raise Rejected(
            ErrorCode.CANNOT_ACTIVATE_BOUNCE, f"The bounce {bounce.data['ID']} cannot be activated."
        )
    call.world.activate_bounce(call.server, bounce)
    return {"Message": "OK", "Bounce": {k: v for k, v in bounce.data.items() if k != "Content"}}


# ---- messages ----------------------------------------------------------------------------------


@handles("search_outbound_messages")
def search_outbound_messages(call: Call) -> Any:
    q = call.query
    statuses = {
        "queued": ("Queued",),
        "sent": ("Sent", "Processed"),
        "processed": ("Sent", "Processed"),
    }
    metadata = {
        k[len("metadata_") :]: v
        for k, v in call.others.items()
        if k.lower().startswith("metadata_")
    }
    found = []
    for message in sorted(call.server.outbound, key=lambda m: m.at, reverse=True):
        d = message.data
        if (
            (
                q.get("recipient") is None
                or any(contains(r, q["recipient"]) for r in d["Recipients"])
            )
            and (q.get("fromemail") is None or contains(d["From"], q["fromemail"]))
            and (q.get("tag") is None or str(d["Tag"] or "").lower() == q["tag"].lower())
            and (q.get("status") is None or d["Status"] in statuses[q["status"]])
            and (q.get("subject") is None or contains(d["Subject"], q["subject"]))
            and (q.get("messagestream") is None or d["MessageStream"] == q["messagestream"])
            and all(d["Metadata"].get(key) == value for key, value in metadata.items())
            and within(message.at, q)
            and call.world.searchable(message)
        ):
            found.append(pick(d, KEYS["OutboundMessage"]))
    return found


@handles("get_outbound_message_details")
def get_outbound_message_details(call: Call) -> Any:
    message = call.named(call.server.by_message_id, "messageid")
    return json.loads(json.dumps(message.data))


def _tracking_matches(record: JsonObject, q: dict[str, Any]) -> bool:
    nested = {
        "client_name": ("Client", "Name"),
        "client_company": ("Client", "Company"),
        "client_family": ("Client", "Family"),
        "os_name": ("OS", "Name"),
        "os_family": ("OS", "Family"),
        "os_company": ("OS", "Company"),
        "country": ("Geo", "Country"),
        "region": ("Geo", "Region"),
        "city": ("Geo", "City"),
    }
    for param, (outer, inner) in nested.items():
        if q.get(param) is not None and not contains(
            (record.get(outer) or {}).get(inner), q[param]
        ):
            return False
    return (
        (q.get("recipient") is None or contains(record["Recipient"], q["recipient"]))
        and (q.get("tag") is None or str(record["Tag"] or "").lower() == q["tag"].lower())
        and (q.get("platform") is None or str(record["Platform"]).lower() == q["platform"].lower())
        and (q.get("messagestream") is None or record["MessageStream"] == q["messagestream"])
    )


def _tracked(call: Call) -> list[Event]:
    """The opens or the clicks, as the operation acts on one or the other."""
    return call.server.opens if call.op.acts_on == "open" else call.server.clicks


@handles("search_message_opens", "search_message_clicks")
def search_tracking(call: Call) -> Any:
    return _tracking_search(call, _tracked(call))


def _tracking_search(call: Call, events: Iterable[Event]) -> list[JsonObject]:
    """The opens or clicks the query matches, newest first."""
    return [dict(e.data) for e in newest_first(events) if _tracking_matches(e.data, call.query)]


@handles("search_inbound_messages")
def search_inbound_messages(call: Call) -> Any:
    q = call.query
    found = []
    for event in newest_first(call.server.inbound):
        r = event.data
        if (
            (
                q.get("recipient") is None
                or contains(r["To"], q["recipient"])
                or contains(r["OriginalRecipient"], q["recipient"])
            )
            and (q.get("fromemail") is None or contains(r["From"], q["fromemail"]))
            and (q.get("tag") is None or str(r["Tag"] or "").lower() == q["tag"].lower())
            and (q.get("subject") is None or contains(r["Subject"], q["subject"]))
            and (q.get("mailboxhash") is None or r["MailboxHash"] == q["mailboxhash"])
            and (q.get("status") is None or str(r["Status"]).lower() == q["status"])
            and within(event.at, q)
        ):
            found.append(World.inbound_view(r))
    return found


def _inbound(call: Call, status: str, verb: str) -> JsonObject:
    for event in call.server.inbound:
        if event.data["MessageID"] == call.path["messageid"] and event.data["Status"] == status:
            return event.data
    raise Rejected(ErrorCode.MESSAGE_NOT_FOUND, f"This message was not found or cannot be {verb}.")


@handles("retry_inbound_message")
def retry_inbound_message(call: Call) -> Any:
    record = _inbound(call, "Failed", "retried")
    record["Status"] = "Processed"
    call.world.post_inbound(call.server, record)
    return {
        "ErrorCode": 0,
        "Message": f"Successfully rescheduled failed message: {record['MessageID']}.",
    }


@handles("bypass_inbound_message")
def bypass_inbound_message(call: Call) -> Any:
    record = _inbound(call, "Blocked", "bypassed")
    record["Status"] = "Processed"
    call.world.post_inbound(call.server, record)
    return {"ErrorCode": 0, "Message": f"Successfully bypassed message: {record['MessageID']}."}


# ---- suppressions ------------------------------------------------------------------------------


def _stream(call: Call) -> str:
    stream = str(call.path["stream_id"])
    if stream not in call.server.streams:
        raise not_found(call.op)
    return stream


@handles("dump_suppressions")
def dump_suppressions(call: Call) -> Any:
    stream, q = _stream(call), call.query
    found = []
    for event in sorted(call.server.suppressions.get(stream, {}).values(), key=lambda e: e.at):
        r = event.data
        if (
            (q.get("SuppressionReason") is None or r["SuppressionReason"] == q["SuppressionReason"])
            and (q.get("Origin") is None or r["Origin"] == q["Origin"])
            and (
                q.get("EmailAddress") is None
                or str(r["EmailAddress"]).lower() == q["EmailAddress"].lower()
            )
            and within(event.at, q)
        ):
            found.append(dict(r))
    return {"Suppressions": found}


def _each_address(call: Call, act: Callable[[str, str], JsonObject]) -> Any:
    """Each address of the body's Suppressions: Failed when it is not an address, else what
    `act(stream, address)` answers (Postmark's per-address results)."""
    stream = _stream(call)
    results: list[JsonObject] = []
    for entry in call.body["Suppressions"]:
        address = str(entry["EmailAddress"])
        if is_address(address):
            results.append(act(stream, address))
        else:
            results.append(
                _address_result(address, "Failed", "An invalid email address was provided.")
            )
    return {"Suppressions": results}


def _address_result(address: str, status: str, message: str | None = None) -> JsonObject:
    return {"EmailAddress": address, "Status": status, "Message": message}


@handles("create_suppressions")
def create_suppressions(call: Call) -> Any:
    def suppress(stream: str, address: str) -> JsonObject:
        call.world.suppress(call.server, stream, address, "ManualSuppression", "Customer")
        return _address_result(address, "Suppressed")

    return _each_address(call, suppress)


@handles("delete_suppressions")
def delete_suppressions(call: Call) -> Any:
    def unsuppress(stream: str, address: str) -> JsonObject:
        existing = call.server.suppressed(stream, address)
        if existing is not None and existing.data["SuppressionReason"] == "SpamComplaint":
            return _address_result(
                address,
                "Failed",
                "You do not have the required authority to change this suppression.",
            )
        call.world.unsuppress(call.server, stream, address, "Customer")
        return _address_result(address, "Deleted")

    return _each_address(call, unsuppress)


# ---- stats -------------------------------------------------------------------------------------


def _stat_filter(call: Call, event: Event, tag: Any, stream: Any) -> bool:
    q = call.query
    return (
        (q.get("tag") is None or str(tag or "").lower() == q["tag"].lower())
        and (q.get("messagestream") is None or stream == q["messagestream"])
        and within(event.at, q)
    )


def _sends(call: Call) -> list[tuple[Any, str]]:
    """(message, recipient) of every send in the period: stats count mail per recipient."""
    return [
        (m, str(r))
        for m in call.server.outbound
        if _stat_filter(call, Event(m.at, m.data), m.data["Tag"], m.data["MessageStream"])
        for r in m.data["Recipients"]
    ]


def _events(call: Call, events: Iterable[Event]) -> list[Event]:
    return [
        e for e in events if _stat_filter(call, e, e.data.get("Tag"), e.data.get("MessageStream"))
    ]


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


@handles("get_outbound_overview")
def get_outbound_overview(call: Call) -> Any:
    sends = _sends(call)
    bounces = [e.data for e in _events(call, call.server.bounces.values())]
    opens = [e.data for e in _events(call, call.server.opens)]
    clicks = [e.data for e in _events(call, call.server.clicks)]
    unique_opens = [o for o in opens if o["FirstOpen"]]
    with_opens = [m for m, _ in sends if m.data["TrackOpens"]]
    with_links = [m for m, _ in sends if m.data["TrackLinks"] not in (None, "None")]
    types = Counter(str(b["Type"]) for b in bounces)
    bounced = sum(n for kind, n in types.items() if kind not in ("SpamComplaint", "SMTPApiError"))
    return {
        "Sent": len(sends),
        "Bounced": bounced,
        "SMTPApiErrors": types["SMTPApiError"],
        "BounceRate": _rate(bounced, len(sends)),
        "SpamComplaints": types["SpamComplaint"],
        "SpamComplaintsRate": _rate(types["SpamComplaint"], len(sends)),
        "Opens": len(opens),
        "UniqueOpens": len(unique_opens),
        "Tracked": len(
            [
                m
                for m, _ in sends
                if m.data["TrackOpens"] or m.data["TrackLinks"] not in (None, "None")
            ]
        ),
        "WithLinkTracking": len(with_links),
        "WithOpenTracking": len(with_opens),
        "TotalTrackedLinksSent": sum(len(m.links) for m in with_links),
        "UniqueLinksClicked": len(
            {(c["MessageID"], c["Recipient"], c["OriginalLink"]) for c in clicks}
        ),
        "TotalClicks": len(clicks),
        "WithClientRecorded": len(
            [
                o
                for o in unique_opens
                if (o["Client"] or {}).get("Name") not in (None, "", "unknown")
            ]
        ),
        "WithPlatformRecorded": len([o for o in unique_opens if o["Platform"] != "Unknown"]),
        "WithReadTimeRecorded": len([o for o in unique_opens if o.get("ReadSeconds")]),
    }


def _per_day(events: Iterable[tuple[Event, str]]) -> JsonObject:
    """Per-day counts keyed by name and the period's totals under the same names (zero counts
    left out), the shape of every stats breakdown: `{"Days": [{"Date": ..., name: n}], name: n}`."""
    per_day: dict[str, Counter[str]] = {}
    for event, name in events:
        per_day.setdefault(day_of(event.at).isoformat(), Counter())[name] += 1
    totals: Counter[str] = Counter()
    days = []
    for day in sorted(per_day):
        totals.update(per_day[day])
        days.append({"Date": day, **per_day[day]})
    return {"Days": days, **totals}


@handles("get_sent_counts")
def get_sent_counts(call: Call) -> Any:
    answer = _per_day((Event(m.at, m.data), "Sent") for m, _ in _sends(call))
    answer.setdefault("Sent", 0)
    return answer


@handles("get_bounce_counts")
def get_bounce_counts(call: Call) -> Any:
    counted = ("HardBounce", "SoftBounce", "SMTPApiError", "Transient")
    return _per_day(
        (e, str(e.data["Type"]))
        for e in _events(call, call.server.bounces.values())
        if e.data["Type"] in counted
    )


@handles("get_spam_complaint_counts")
def get_spam_complaint_counts(call: Call) -> Any:
    return _per_day(
        (e, "SpamComplaint")
        for e in _events(call, call.server.bounces.values())
        if e.data["Type"] == "SpamComplaint"
    )


@handles("get_tracked_counts")
def get_tracked_counts(call: Call) -> Any:
    return _per_day(
        (Event(m.at, m.data), "Tracked")
        for m, _ in _sends(call)
        if m.data["TrackOpens"] or m.data["TrackLinks"] not in (None, "None")
    )


def _with_unique(events: list[Event], total: str, first: Callable[[Event], bool]) -> JsonObject:
    return _per_day([(e, total) for e in events] + [(e, "Unique") for e in events if first(e)])


@handles("get_open_counts")
def get_open_counts(call: Call) -> Any:
    return _with_unique(_events(call, call.server.opens), "Opens", lambda e: e.data["FirstOpen"])


@handles("get_click_counts")
def get_click_counts(call: Call) -> Any:
    seen: set[tuple[Any, ...]] = set()

    def first(event: Event) -> bool:
        key = (event.data["MessageID"], event.data["Recipient"], event.data["OriginalLink"])
        new = key not in seen
        seen.add(key)
        return new

    clicks = sorted(_events(call, call.server.clicks), key=lambda e: e.at)
    return _with_unique(clicks, "Clicks", first)


@handles("get_open_platform_counts")
def get_open_platform_counts(call: Call) -> Any:
    return _per_day((e, str(e.data["Platform"])) for e in _events(call, call.server.opens))


@handles("get_email_client_counts")
def get_email_client_counts(call: Call) -> Any:
    return _per_day(
        (e, str((e.data.get("Client") or {}).get("Name") or "unknown"))
        for e in _events(call, call.server.opens)
    )


def _read_time(seconds: Any) -> str:
    if not isinstance(seconds, int):
        return "unknown"
    return "20s+" if seconds >= 20 else f"{seconds}s"


@handles("get_read_time_counts")
def get_read_time_counts(call: Call) -> Any:
    return _per_day(
        (e, _read_time(e.data.get("ReadSeconds"))) for e in _events(call, call.server.opens)
    )


@handles("get_browser_family_counts")
def get_browser_family_counts(call: Call) -> Any:
    return _per_day(
        (e, str((e.data.get("Client") or {}).get("Family") or "unknown"))
        for e in _events(call, call.server.clicks)
    )


@handles("get_click_platform_counts")
def get_click_platform_counts(call: Call) -> Any:
    return _per_day(
        (e, "Unknown" if e.data["Platform"] == "WebMail" else str(e.data["Platform"]))
        for e in _events(call, call.server.clicks)
    )


@handles("get_click_location_counts")
def get_click_location_counts(call: Call) -> Any:
    return _per_day((e, str(e.data["ClickLocation"])) for e in _events(call, call.server.clicks))


# ---- servers -----------------------------------------------------------------------------------


def _server(call: Call) -> ServerState:
    return call.named(call.world.account.servers, "serverid")


def _check_server_fields(call: Call, fields: JsonObject, exclude: int | None = None) -> None:
    others = [s for s in call.world.account.servers.values() if s.id != exclude]
    name = fields.get("Name")
    if name is not None and any(str(s.data["Name"]).lower() == str(name).lower() for s in others):
        raise Rejected(
            ErrorCode.SERVER_NAME_ALREADY_EXISTS, f"A server with the name '{name}' already exists."
        )
    domain = fields.get("InboundDomain")
    if domain and any(str(s.data["InboundDomain"]).lower() == str(domain).lower() for s in others):
        raise Rejected(
            ErrorCode.DUPLICATE_INBOUND_DOMAIN,
            f"Another server already uses the inbound domain '{domain}'.",
        )
    for key, value in fields.items():
        if key.endswith("HookUrl") and value and _scheme(str(value)) not in ("http", "https"):
            raise Rejected(ErrorCode.INVALID_HOOK_URL, f"The {key} must be an http or https URL.")


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


@handles("list_servers")
def list_servers(call: Call) -> Any:
    name = call.query.get("name")
    return [
        dict(s.data)
        for s in call.world.account.servers.values()
        if name is None or contains(s.data["Name"], name)
    ]


@handles("create_server")
def create_server(call: Call) -> Any:
    _check_server_fields(call, call.body)
    return dict(call.world.create_server(call.body).data)


@handles("get_server")
def get_server(call: Call) -> Any:
    return dict(_server(call).data)


@handles("edit_server")
def edit_server(call: Call) -> Any:
    return _edit_server(call, _server(call))


@handles("get_current_server")
def get_current_server(call: Call) -> Any:
    return dict(call.server.data)


@handles("edit_current_server")
def edit_current_server(call: Call) -> Any:
    return _edit_server(call, call.server)


def _edit_server(call: Call, server: ServerState) -> Any:
    if not call.body:
        raise Rejected(
            ErrorCode.NO_UPDATED_SERVER_DATA, "The request holds no server settings to change."
        )
    _check_server_fields(call, call.body, exclude=server.id)
    server.data.update(call.body)
    return dict(server.data)


@handles("delete_server")
def delete_server(call: Call) -> Any:
    server = _server(call)
    if not call.world.server_deletion:
        raise Rejected(
            ErrorCode.NO_SERVER_DELETE_ACCESS,
            "Server deletion is not enabled for this account; ask Postmark support to enable it.",
        )
    call.world.delete_server(server)
    return {"ErrorCode": 0, "Message": f"Server {server.data['Name']} removed."}


# ---- domains -----------------------------------------------------------------------------------


def _domain(call: Call) -> JsonObject:
    return call.named(call.world.account.domains, "domainid")


def _check_return_path(return_path: Any, domain: str) -> None:
    if return_path and not str(return_path).lower().endswith("." + domain.lower()):
        raise Rejected(
            ErrorCode.INVALID_FIELD_VALUE,
            f"The ReturnPathDomain '{return_path}' must be a subdomain of {domain}.",
        )


@handles("list_domains")
def list_domains(call: Call) -> Any:
    return [pick(d, KEYS["DomainListItem"]) for d in call.world.account.domains.values()]


@handles("create_domain")
def create_domain(call: Call) -> Any:
    name = str(call.body["Name"]).strip()
    if not _DOMAIN_NAME.match(name):
        raise Rejected(ErrorCode.INVALID_DOMAIN_NAME, f"'{name}' is not a valid domain name.")
    if any(str(d["Name"]).lower() == name.lower() for d in call.world.account.domains.values()):
        raise Rejected(ErrorCode.DOMAIN_ALREADY_EXISTS, f"The domain {name} already exists.")
    return_path = str(call.body.get("ReturnPathDomain") or "")
    _check_return_path(return_path, name)
    domain: JsonObject = {"ID": call.world.ids.next("domain", 36_001), "Name": name}
    domain.update(call.world.dns_records(name, return_path))
    call.world.account.domains[domain["ID"]] = domain
    return dict(domain)


@handles("edit_domain")
def edit_domain(call: Call) -> Any:
    domain = _domain(call)
    return_path = str(call.body["ReturnPathDomain"])
    _check_return_path(return_path, str(domain["Name"]))
    if return_path != domain.get("ReturnPathDomain"):
        domain["ReturnPathDomain"] = return_path
        domain["ReturnPathDomainVerified"] = False
    return dict(domain)


@handles("rotate_domain_dkim")
def rotate_domain_dkim(call: Call) -> Any:
    domain = _domain(call)
    if domain["DKIMUpdateStatus"] == "Pending":
        raise Rejected(ErrorCode.DKIM_ALREADY_RENEWING, "This DKIM is already being renewed.")
    call.world.rotate_dkim(domain)
    return pick(domain, KEYS["DKIMRotationResponse"])


# ---- sender signatures -------------------------------------------------------------------------


@handles("list_sender_signatures")
def list_sender_signatures(call: Call) -> Any:
    return [
        pick(s, KEYS["SenderSignatureListItem"]) for s in call.world.account.signatures.values()
    ]


@handles("create_sender_signature")
def create_sender_signature(call: Call) -> Any:
    body, world = call.body, call.world
    address = str(body["FromEmail"])
    domain_name = address.rsplit("@", 1)[1].lower()
    if domain_name in PUBLIC_DOMAINS:
        raise Rejected(
            ErrorCode.PUBLIC_DOMAIN_NOT_ALLOWED,
            f"You cannot use a public domain ({domain_name}) for a sender signature; use an address on your own domain.",
        )
    if world.signature_by_address(address) is not None:
        raise Rejected(
            ErrorCode.SENDER_SIGNATURE_ALREADY_EXISTS,
            f"A sender signature for {address} already exists.",
        )
    return_path = str(body.get("ReturnPathDomain") or "")
    _check_return_path(return_path, domain_name)
    signature: JsonObject = {
        "ID": world.ids.next("signature", 720_001),
        "Domain": domain_name,
        "EmailAddress": address,
        "ReplyToEmailAddress": str(body.get("ReplyToEmail") or ""),
        "Name": body["Name"],
        "Confirmed": False,
    }
    existing = next(
        (d for d in world.account.domains.values() if str(d["Name"]).lower() == domain_name), None
    )
    dns = world.dns_records(domain_name, return_path)
    if existing is not None:
        dns.update({k: existing[k] for k in dns if k in existing and k != "ReturnPathDomain"})
    signature.update(dns)
    signature["ConfirmationPersonalNote"] = body.get("ConfirmationPersonalNote")
    world.account.signatures[signature["ID"]] = signature
    return dict(signature)


@handles("delete_sender_signature")
def delete_sender_signature(call: Call) -> Any:
    signature = call.world.account.signatures.pop(call.path["signatureid"], None)
    if signature is None:
        raise not_found(call.op)
    return {"ErrorCode": 0, "Message": f"Signature {signature['EmailAddress']} removed."}


@handles("resend_sender_signature_confirmation")
def resend_sender_signature_confirmation(call: Call) -> Any:
    signature = _signature(call)
    return {
        "ErrorCode": 0,
        "Message": f"Confirmation email for Sender Signature {signature['EmailAddress']} was re-sent.",
    }


@handles("request_sender_signature_new_dkim")
def request_sender_signature_new_dkim(call: Call) -> Any:
    signature = _signature(call)
    if signature.get("DKIMUpdateStatus") == "Pending":
        raise Rejected(ErrorCode.DKIM_ALREADY_RENEWING, "This DKIM is already being renewed.")
    call.world.rotate_dkim(signature)
    return {"ErrorCode": 0, "Message": f"A new DKIM key for {signature['Domain']} was requested."}


@handles("verify_sender_signature_spf")
def verify_sender_signature_spf(call: Call) -> Any:
    signature = _signature(call)
    signature["SPFVerified"] = True
    return dict(signature)


def _signature(call: Call) -> JsonObject:
    return call.named(call.world.account.signatures, "signatureid")


@handles("edit_sender_signature")
def edit_sender_signature(call: Call) -> Any:
    """The generic edit, with the body's names mapped to the record's (ReplyToEmail is kept as
    ReplyToEmailAddress) and a changed Return-Path domain checked and unverified."""
    signature = _signature(call)
    body = dict(call.body)
    if "ReplyToEmail" in body:
        body["ReplyToEmailAddress"] = body.pop("ReplyToEmail")
    return_path = body.get("ReturnPathDomain")
    if return_path is not None and return_path != signature.get("ReturnPathDomain"):
        _check_return_path(return_path, str(signature["Domain"]))
        signature["ReturnPathDomainVerified"] = False
    signature.update(body)
    return dict(signature)


# ---- domains: verification ---------------------------------------------------------------------


@handles("verify_domain_dkim")
def verify_domain_dkim(call: Call) -> Any:
    """The DKIM records are found in DNS: the pending key becomes the active one."""
    domain = _domain(call)
    World.verify_dns(domain)
    domain["ReturnPathDomainVerified"] = domain.get("ReturnPathDomainVerified", False)
    return dict(domain)


@handles("verify_domain_return_path")
def verify_domain_return_path(call: Call) -> Any:
    domain = _domain(call)
    domain["ReturnPathDomainVerified"] = bool(domain.get("ReturnPathDomain"))
    return dict(domain)


@handles("verify_domain_spf")
def verify_domain_spf(call: Call) -> Any:
    domain = _domain(call)
    domain["SPFVerified"] = True
    return {k: domain[k] for k in ("SPFHost", "SPFVerified", "SPFTextValue") if k in domain}


# ---- messages: one message ---------------------------------------------------------------------


def _outbound(call: Call) -> Any:
    return call.named(call.server.by_message_id, "messageid")


@handles("get_outbound_message_dump")
def get_outbound_message_dump(call: Call) -> Any:
    """The message as it went out: headers, then the text (or HTML) body."""
    d = _outbound(call).data
    headers = [("From", d["From"]), ("To", ", ".join(map(str, d["Recipients"])))]
    headers += [("Subject", d.get("Subject") or ""), ("Message-ID", f"<{d['MessageID']}>")]
    headers += [(str(h["Name"]), str(h["Value"])) for h in d.get("Headers") or []]
    body = d.get("TextBody") or d.get("HtmlBody") or ""
    return {"Body": "\r\n".join(f"{k}: {v}" for k, v in headers) + "\r\n\r\n" + str(body)}


@handles("get_inbound_message_details")
def get_inbound_message_details(call: Call) -> Any:
    for event in call.server.inbound:
        if event.data["MessageID"] == call.path["messageid"]:
            return json.loads(json.dumps(event.data))
    raise not_found(call.op)


def _of_message(call: Call, events: Iterable[Event]) -> list[JsonObject]:
    message = _outbound(call)
    return [dict(e.data) for e in newest_first(events) if e.data["MessageID"] == message.message_id]


@handles("get_message_opens", "get_message_clicks")
def get_message_tracking(call: Call) -> Any:
    return _of_message(call, _tracked(call))


# ---- templates between servers -----------------------------------------------------------------


@handles("push_templates")
def push_templates(call: Call) -> Any:
    """Copy the source server's templates to the destination, matched by alias (templates without
    an alias cannot be matched and are not pushed): Create where the destination lacks the
    alias, Edit where it has it. Only PerformChanges true changes the destination."""
    servers = call.world.account.servers
    source = servers.get(call.body["SourceServerID"])
    destination = servers.get(call.body["DestinationServerID"])
    if source is None or destination is None:
        raise Rejected(
            ErrorCode.SERVER_QUERY_EXCEPTION, "The source or destination server was not found."
        )
    pushed: list[JsonObject] = []
    for template in source.active_templates():
        alias = template.get("Alias")
        if not alias:
            continue
        target = destination.find_template(alias, active_only=True)
        entry: JsonObject = {
            "Action": "Edit" if target else "Create",
            "TemplateId": target["TemplateId"] if target else None,
            "Alias": alias,
            "Name": template["Name"],
            "TemplateType": template["TemplateType"],
        }
        if call.body["PerformChanges"]:
            content = {
                k: template.get(k)
                for k in ("Name", "Subject", "HtmlBody", "TextBody", "LayoutTemplate")
            }
            if target is None:
                target = {
                    **content,
                    "TemplateId": call.world.ids.next("template", 1_000_001),
                    "AssociatedServerId": destination.id,
                    "Active": True,
                    "Alias": alias,
                    "TemplateType": template["TemplateType"],
                }
                destination.templates[target["TemplateId"]] = target
            else:
                target.update(content)
            entry["TemplateId"] = target["TemplateId"]
        pushed.append({k: v for k, v in entry.items() if v is not None})
    return {"TotalCount": len(pushed), "Templates": pushed}


# ---- plain resources with Postmark's rules (the rest is `_resources.serve`) ---------------------


@handles("list_message_streams")
def list_message_streams(call: Call) -> Any:
    """Archived streams are left out unless IncludeArchivedStreams; MessageStreamType narrows
    (All = every type)."""
    kind = call.query.get("MessageStreamType") or "All"
    answer = _resources.serve(call)
    answer["MessageStreams"] = [
        s
        for s in answer["MessageStreams"]
        if (kind == "All" or s["MessageStreamType"] == kind)
        and (call.query.get("IncludeArchivedStreams") or not s.get("ArchivedAt"))
    ]
    answer["TotalCount"] = len(answer["MessageStreams"])
    return answer


@handles("create_message_stream")
def create_message_stream(call: Call) -> Any:
    if str(call.body["ID"]).lower() in {k.lower() for k in _resources.records(call)}:
        raise Rejected(
            ErrorCode.MESSAGE_STREAM_ID_ALREADY_EXISTS,
            f"A message stream with the ID '{call.body['ID']}' already exists.",
        )
    return _resources.serve(call)


@handles("archive_message_stream")
def archive_message_stream(call: Call) -> Any:
    """The default transactional and inbound streams cannot be archived (ErrorCode 1229)."""
    if call.path["stream_id"] in ("outbound", "inbound"):
        raise Rejected(
            ErrorCode.CANNOT_ARCHIVE_DEFAULT_STREAM, "Default message streams cannot be archived."
        )
    return _resources.serve(call)


@handles("create_inbound_rule")
def create_inbound_rule(call: Call) -> Any:
    rule = str(call.body["Rule"]).strip()
    if not (is_address(rule) or _DOMAIN_NAME.match(rule)):
        raise Rejected(
            ErrorCode.INVALID_EMAIL_OR_DOMAIN, f"'{rule}' is not a valid email address or domain."
        )
    if any(str(r["Rule"]).lower() == rule.lower() for r in _resources.records(call).values()):
        raise Rejected(
            ErrorCode.INBOUND_RULE_ALREADY_EXISTS, f"The inbound rule '{rule}' already exists."
        )
    return _resources.serve(call)


@handles("get_data_removal")
def get_data_removal(call: Call) -> Any:
    """A data removal is Pending when requested and Done from the next read on (no waiting in
    tests)."""
    _resources.find(call)["Status"] = "Done"
    return _resources.serve(call)
