"""One spec pair per kind of change: what `diff` reports, where, for which Python name, and whether
it calls it breaking.

Each case starts from tests/fixtures/mini.yaml (optionally prepared by `base`, applied to both
sides), applies `edit` to the new side only, and diffs old -> new. Every expected change must be
reported exactly as listed; a case marked non-breaking must report nothing breaking at all, so a
classifier that over-reports fails here as surely as one that misses.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from diff_support import (
    Doc,
    Mutation,
    compare,
    compare_with_real,
    mini,
    mutated,
    of_kind,
    operation,
    real,
    rename_schema,
    schemas,
)

from generator.diff import KINDS, format_text

SEND = "paths./email.post"
SENDERS = "paths./senders.get"
REQUEST = "components.schemas.SendEmailRequest.properties"
RESPONSE = "components.schemas.SendEmailResponse.properties"
SIGNATURE = "components.schemas.SenderSignature.properties"


@dataclass
class Expect:
    kind: str
    breaking: bool
    location: str
    python: str | None


@dataclass
class Case:
    id: str
    edit: Mutation
    expect: list[Expect]
    breaking: bool  # whether anything at all is breaking
    base: Mutation | None = None
    reverse: bool = False  # diff new -> old instead (a removal is an addition reversed)
    absent: list[str] = field(default_factory=list)  # kinds that must not be reported


# ---- edits ---------------------------------------------------------------------------------------


def drop_senders(doc: Doc) -> None:
    del doc["paths"]["/senders"]


def query_param(required: bool) -> Mutation:
    def edit(doc: Doc) -> None:
        operation(doc, "/senders", "get")["parameters"].append(
            {"name": "domain", "in": "query", "required": required, "schema": {"type": "string"}}
        )

    return edit


def request_field(required: bool) -> Mutation:
    def edit(doc: Doc) -> None:
        schemas(doc)["SendEmailRequest"]["properties"]["Tag"] = {
            "type": "string",
            "maxLength": 1000,
        }
        if required:
            schemas(doc)["SendEmailRequest"]["required"].append("Tag")

    return edit


def drop_subject(doc: Doc) -> None:
    del schemas(doc)["SendEmailRequest"]["properties"]["Subject"]


def drop_message(doc: Doc) -> None:
    schema = schemas(doc)["SendEmailResponse"]
    del schema["properties"]["Message"]
    schema["required"].remove("Message")


def signature_status(doc: Doc) -> None:
    schemas(doc)["SenderSignature"]["properties"]["Status"] = {"type": "string"}


def error_code_as_string(doc: Doc) -> None:
    schemas(doc)["SendEmailResponse"]["properties"]["ErrorCode"] = {"type": "string"}


def count_as_string(doc: Doc) -> None:
    doc["components"]["parameters"]["Count"]["schema"] = {"type": "string", "default": "100"}


def track_links(values: list[str]) -> Mutation:
    def edit(doc: Doc) -> None:
        schemas(doc)["SendEmailRequest"]["properties"]["TrackLinks"] = {
            "type": "string",
            "enum": values,
        }

    return edit


def signature_state(values: list[str]) -> Mutation:
    def edit(doc: Doc) -> None:
        schemas(doc)["SenderSignature"]["properties"]["State"] = {"type": "string", "enum": values}

    return edit


def senders_security(doc: Doc) -> None:
    operation(doc, "/senders", "get")["security"] = [{"serverToken": []}]


def server_token_header(doc: Doc) -> None:
    doc["components"]["securitySchemes"]["serverToken"]["name"] = "X-Postmark-Token"


def paging(key: str, value: object) -> Mutation:
    def edit(doc: Doc) -> None:
        operation(doc, "/senders", "get")["x-postmark-paging"][key] = value

    return edit


def drop_paging(doc: Doc) -> None:
    del operation(doc, "/senders", "get")["x-postmark-paging"]


def message_size(value: int) -> Mutation:
    def edit(doc: Doc) -> None:
        operation(doc, "/email", "post")["x-postmark-limits"][0]["max"] = value

    return edit


def cc_limit(doc: Doc) -> None:
    operation(doc, "/email", "post")["x-postmark-limits"].append(
        {"name": "to-cc", "max": 50, "unit": "addresses", "scope": "message", "field": "Cc"}
    )


def attachments_max_items(value: int) -> Mutation:
    def edit(doc: Doc) -> None:
        schemas(doc)["SendEmailRequest"]["properties"]["Attachments"]["maxItems"] = value

    return edit


def method_name(doc: Doc) -> None:
    operation(doc, "/email", "post")["x-python-name"] = "deliver"


def property_name(doc: Doc) -> None:
    schemas(doc)["SendEmailRequest"]["properties"]["From"]["x-python-name"] = "sender"


def group_name(doc: Doc) -> None:
    doc["tags"][0]["x-python-name"] = "mail"


def operation_id(doc: Doc) -> None:
    operation(doc, "/email", "post")["operationId"] = "deliver_email"
    doc["x-postmark-release-notes"][1]["operations"] = ["deliver_email"]


def rename_signature(doc: Doc) -> None:
    rename_schema(doc, "SenderSignature", "Signature")


def subject_required(doc: Doc) -> None:
    schemas(doc)["SendEmailRequest"]["required"].append("Subject")


def from_optional(doc: Doc) -> None:
    schemas(doc)["SendEmailRequest"]["required"].remove("From")


def message_nullable(doc: Doc) -> None:
    schemas(doc)["SendEmailResponse"]["properties"]["Message"] = {"type": ["string", "null"]}


def to_as_enum(doc: Doc) -> None:
    schemas(doc)["SendEmailRequest"]["properties"]["To"] = {
        "type": "string",
        "enum": ["a@example.com"],
    }


def signature_domain_as_enum(doc: Doc) -> None:
    schemas(doc)["SenderSignature"]["properties"]["Domain"] = {
        "type": "string",
        "enum": ["example.com"],
    }


def drop_delivery_webhook(doc: Doc) -> None:
    del doc["webhooks"]["Delivery"]


def error_code(doc: Doc) -> None:
    doc["components"]["x-postmark-error-codes"].append(
        {
            "code": 1000,
            "name": "BulkRejected",
            "meaning": "Rejected.",
            "verified": True,
            "exception": True,
        }
    )


def descriptions(doc: Doc) -> None:
    operation(doc, "/email", "post")["description"] = "Sends real mail, now described differently."
    schemas(doc)["SendEmailRequest"]["properties"]["From"]["description"] = "The sender."


def metadata_alias(doc: Doc) -> None:
    schemas(doc)["Metadata"] = {"type": "object", "additionalProperties": {"type": "string"}}
    schemas(doc)["DeliveryWebhook"]["properties"]["Metadata"] = {
        "$ref": "#/components/schemas/Metadata"
    }


def E(kind: str, breaking: bool, location: str, python: str | None) -> Expect:
    return Expect(kind, breaking, location, python)


CASES = [
    Case("operation-added", drop_senders, [
        E("operation-added", False, SENDERS, "client.sender_signatures.list"),
        E("method-added", False, SENDERS, "client.sender_signatures.list"),
    ], breaking=False, reverse=True),
    Case("operation-removed", drop_senders, [
        E("operation-removed", True, SENDERS, "client.sender_signatures.list"),
        E("method-removed", True, SENDERS, "client.sender_signatures.list"),
    ], breaking=True),
    Case("optional-parameter-added", query_param(required=False), [
        E("parameter-added", False, f"{SENDERS}.parameters.2", "client.sender_signatures.list(domain=)"),
        E("argument-added", False, SENDERS, "client.sender_signatures.list(domain=)"),
    ], breaking=False),
    Case("required-parameter-added", query_param(required=True), [
        E("parameter-added", True, f"{SENDERS}.parameters.2", "client.sender_signatures.list(domain=)"),
        E("argument-added", True, SENDERS, "client.sender_signatures.list(domain=)"),
    ], breaking=True),
    Case("parameter-removed", query_param(required=False), [
        E("parameter-removed", True, f"{SENDERS}.parameters.2", "client.sender_signatures.list(domain=)"),
        E("argument-removed", True, SENDERS, "client.sender_signatures.list(domain=)"),
    ], breaking=True, reverse=True),
    Case("optional-request-field-added", request_field(required=False), [
        E("request-field-added", False, f"{REQUEST}.Tag", "models.SendEmailRequest.tag"),
        E("field-added", False, f"{REQUEST}.Tag", "models.SendEmailRequest.tag"),
        E("argument-added", False, SEND, "client.email.send(tag=)"),
    ], breaking=False),
    Case("required-request-field-added", request_field(required=True), [
        E("request-field-added", True, f"{REQUEST}.Tag", "models.SendEmailRequest.tag"),
        E("field-added", True, f"{REQUEST}.Tag", "models.SendEmailRequest.tag"),
        E("argument-added", True, SEND, "client.email.send(tag=)"),
    ], breaking=True),
    Case("request-field-removed", drop_subject, [
        E("request-field-removed", True, f"{REQUEST}.Subject", "models.SendEmailRequest.subject"),
        E("field-removed", True, f"{REQUEST}.Subject", "models.SendEmailRequest.subject"),
        E("argument-removed", True, SEND, "client.email.send(subject=)"),
    ], breaking=True),
    Case("response-field-removed", drop_message, [
        E("response-field-removed", True, f"{RESPONSE}.Message", "models.SendEmailResponse.message"),
        E("field-removed", True, f"{RESPONSE}.Message", "models.SendEmailResponse.message"),
    ], breaking=True),
    Case("response-field-added", signature_status, [
        E("response-field-added", False, f"{SIGNATURE}.Status", "models.SenderSignature.status"),
        E("field-added", False, f"{SIGNATURE}.Status", "models.SenderSignature.status"),
    ], breaking=False),
    Case("response-field-type-changed", error_code_as_string, [
        E("response-field-type-changed", True, f"{RESPONSE}.ErrorCode", "models.SendEmailResponse.error_code"),
        E("field-type-changed", True, f"{RESPONSE}.ErrorCode", "models.SendEmailResponse.error_code"),
    ], breaking=True),
    Case("parameter-type-changed", count_as_string, [
        E("parameter-type-changed", True, f"{SENDERS}.parameters.0.schema", "client.sender_signatures.list(count=)"),
        E("argument-type-changed", True, SENDERS, "client.sender_signatures.list(count=)"),
    ], breaking=True),
    Case("request-enum-value-removed", track_links(["None", "HtmlAndText"]), [
        E("enum-value-removed", True, f"{REQUEST}.TrackLinks", "models.SendEmailRequestTrackLinks"),
    ], breaking=True, base=track_links(["None", "HtmlAndText", "TextOnly"])),
    Case("request-enum-value-added", track_links(["None", "HtmlAndText", "TextOnly"]), [
        E("enum-value-added", False, f"{REQUEST}.TrackLinks", "models.SendEmailRequestTrackLinks"),
    ], breaking=False, base=track_links(["None", "HtmlAndText"])),
    Case("response-enum-value-added", signature_state(["Pending", "Confirmed", "Revoked"]), [
        E("enum-value-added", False, f"{SIGNATURE}.State", "models.SenderSignatureState"),
    ], breaking=False, base=signature_state(["Pending", "Confirmed"])),
    Case("response-enum-value-removed", signature_state(["Pending"]), [
        E("enum-value-removed", False, f"{SIGNATURE}.State", "models.SenderSignatureState"),
    ], breaking=False, base=signature_state(["Pending", "Confirmed"])),
    Case("operation-token-changed", senders_security, [
        E("security-changed", True, f"{SENDERS}.security", "client.sender_signatures.list"),
    ], breaking=True),
    Case("security-header-changed", server_token_header, [
        E("security-changed", True, "components.securitySchemes.serverToken", "ServerClient"),
        E("security-changed", True, f"{SEND}.security", "client.email.send"),
    ], breaking=True),
    Case("paging-max-count-tightened", paging("max-count", 100), [
        E("limit-tightened", True, f"{SENDERS}.x-postmark-paging.max-count", "client.sender_signatures.list"),
    ], breaking=True),
    Case("paging-max-reachable-loosened", paging("max-reachable", 20000), [
        E("limit-loosened", False, f"{SENDERS}.x-postmark-paging.max-reachable", "client.sender_signatures.list"),
    ], breaking=False),
    Case("paging-items-changed", paging("total", "SenderSignatures"), [
        E("paging-changed", True, f"{SENDERS}.x-postmark-paging.total", "client.sender_signatures.list"),
    ], breaking=True),
    Case("paging-removed", drop_paging, [
        E("paging-removed", True, f"{SENDERS}.x-postmark-paging", "client.sender_signatures.list"),
        E("method-returns-changed", True, SENDERS, "client.sender_signatures.list"),
    ], breaking=True),
    Case("limit-tightened", message_size(5242880), [
        E("limit-tightened", True, f"{SEND}.x-postmark-limits.0", "client.email.send"),
    ], breaking=True),
    Case("limit-loosened", message_size(20971520), [
        E("limit-loosened", False, f"{SEND}.x-postmark-limits.0", "client.email.send"),
    ], breaking=False),
    Case("limit-added", cc_limit, [
        E("limit-added", True, f"{SEND}.x-postmark-limits.3", "client.email.send"),
    ], breaking=True),
    Case("limit-removed", cc_limit, [
        E("limit-removed", False, f"{SEND}.x-postmark-limits.3", "client.email.send"),
    ], breaking=False, reverse=True),
    Case("constraint-tightened", attachments_max_items(5), [
        E("constraint-tightened", True, f"{REQUEST}.Attachments", "models.SendEmailRequest.attachments"),
    ], breaking=True),
    Case("constraint-loosened", attachments_max_items(20), [
        E("constraint-loosened", False, f"{REQUEST}.Attachments", "models.SendEmailRequest.attachments"),
    ], breaking=False),
    Case("request-field-now-required", subject_required, [
        E("request-field-required", True, f"{REQUEST}.Subject", "models.SendEmailRequest.subject"),
        E("field-required", True, f"{REQUEST}.Subject", "models.SendEmailRequest.subject"),
        E("argument-required", True, SEND, "client.email.send(subject=)"),
    ], breaking=True),
    Case("request-field-now-optional", from_optional, [
        E("request-field-optional", False, f"{REQUEST}.From", "models.SendEmailRequest.from_"),
        E("field-optional", False, f"{REQUEST}.From", "models.SendEmailRequest.from_"),
        E("argument-optional", False, SEND, "client.email.send(from_=)"),
    ], breaking=False),
    Case("response-field-now-nullable", message_nullable, [
        E("response-field-optional", True, f"{RESPONSE}.Message", "models.SendEmailResponse.message"),
        E("field-optional", True, f"{RESPONSE}.Message", "models.SendEmailResponse.message"),
    ], breaking=True),
    Case("request-string-becomes-enum", to_as_enum, [
        E("request-field-type-changed", True, f"{REQUEST}.To", "models.SendEmailRequest.to"),
        E("field-type-changed", True, f"{REQUEST}.To", "models.SendEmailRequest.to"),
    ], breaking=True),
    Case("response-string-becomes-open-enum", signature_domain_as_enum, [
        E("response-field-type-changed", False, f"{SIGNATURE}.Domain", "models.SenderSignature.domain"),
        E("enum-added", False, f"{SIGNATURE}.Domain", "models.SenderSignatureDomain"),
    ], breaking=False, absent=["field-type-changed"]),
    Case("method-renamed-by-x-python-name", method_name, [
        E("method-renamed", True, SEND, "client.email.deliver"),
    ], breaking=True),
    Case("field-renamed-by-x-python-name", property_name, [
        E("field-renamed", True, f"{REQUEST}.From", "models.SendEmailRequest.sender"),
        E("argument-renamed", True, SEND, "client.email.send(sender=)"),
    ], breaking=True),
    Case("group-renamed-by-x-python-name", group_name, [
        E("group-renamed", True, "tags.0.x-python-name", "client.mail"),
        E("method-renamed", True, SEND, "client.mail.send"),
    ], breaking=True),
    Case("operation-id-changed", operation_id, [
        E("operation-id-changed", True, f"{SEND}.operationId", "client.email.send"),
    ], breaking=True),
    Case("model-renamed", rename_signature, [
        E("model-renamed", True, "components.schemas.Signature", "models.Signature"),
    ], breaking=True, absent=["method-returns-changed", "field-type-changed", "model-removed", "model-added"]),
    Case("webhook-removed", drop_delivery_webhook, [
        E("webhook-removed", True, "webhooks.Delivery", "models.DeliveryWebhook"),
    ], breaking=True),
    Case("webhook-added", drop_delivery_webhook, [
        E("webhook-added", False, "webhooks.Delivery", "models.DeliveryWebhook"),
    ], breaking=False, reverse=True),
    Case("error-code-added", error_code, [
        E("error-code-added", False, "components.x-postmark-error-codes", "errors.ErrorCode.BULK_REJECTED"),
        E("exception-added", False, "components.x-postmark-error-codes", "errors.BulkRejectedError"),
    ], breaking=False),
    Case("alias-introduced", metadata_alias, [
        E("type-added", False, "components.schemas.Metadata", "models.Metadata"),
    ], breaking=False, absent=["field-type-changed", "response-field-type-changed"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_change_is_reported_and_classified(case: Case, tmp_path: Path) -> None:
    base = mutated(case.base) if case.base else mini()
    new = mutated(case.edit, base)
    old, new = (new, base) if case.reverse else (base, new)
    report = compare(tmp_path, old, new)
    reported = [(c.kind, c.breaking, c.location, c.python) for c in report.changes]
    for expected in case.expect:
        assert (
            expected.kind,
            expected.breaking,
            expected.location,
            expected.python,
        ) in reported, reported
    assert bool(report.breaking) is case.breaking, [c.message for c in report.breaking]
    for kind in case.absent:
        assert not of_kind(report, kind), of_kind(report, kind)
    for change in report.changes:
        assert change.kind in KINDS and change.message


def test_python_rename_is_no_api_change(tmp_path: Path) -> None:
    """A pure spec (wire) diff calls an x-python-name change harmless; the package diff does not."""
    report = compare(tmp_path, mini(), mutated(method_name))
    assert [c for c in report.changes if c.scope == "api"] == []
    [rename] = [c for c in report.changes if c.scope == "python"]
    assert (rename.kind, rename.before, rename.after) == (
        "method-renamed",
        "client.email.send",
        "client.email.deliver",
    )
    assert rename.breaking


def test_model_rename_keeps_pairing_through_references(tmp_path: Path) -> None:
    """The renamed class is paired by where it sits, so its fields are compared, not re-added."""
    renamed = mutated(rename_signature)
    schemas(renamed)["Signature"]["properties"]["Status"] = {"type": "string"}
    report = compare(tmp_path, mini(), renamed)
    assert [(c.kind, c.before, c.after) for c in of_kind(report, "model-renamed")] == [
        ("model-renamed", "SenderSignature", "Signature")
    ]
    assert [c.python for c in of_kind(report, "field-added")] == ["models.Signature.status"]
    assert [c.python for c in of_kind(report, "response-field-added")] == [
        "models.Signature.status"
    ]


def test_descriptions_are_ignored(tmp_path: Path) -> None:
    """By the api and python scopes; what agents read of them is the agents scope's."""
    changes = compare(tmp_path, mini(), mutated(descriptions)).changes
    assert [c for c in changes if c.scope != "agents"] == []


def test_same_spec_reports_nothing(tmp_path: Path) -> None:
    assert compare(tmp_path, mini(), mini()).changes == []


# ---- the real spec ---------------------------------------------------------------------------------


def test_two_new_operations_in_the_real_spec_are_two_additions(tmp_path: Path) -> None:
    """The shape of a release such as the Bulk API: new paths, new schemas, a release note.

    Synthetic names and a date after any real release, so that the test holds whatever the real
    spec already has (the real Bulk API included).
    """

    def release(doc: Doc) -> None:
        send = copy.deepcopy(operation(doc, "/email", "post"))
        send.update(operationId="schedule_email", **{"x-python-name": "schedule"})
        schemas(doc)["ScheduleStatus"] = {
            "type": "string",
            "enum": ["Accepted", "Processing", "Completed"],
        }
        schemas(doc)["Schedule"] = {
            "type": "object",
            "required": ["Id", "Status"],
            "properties": {
                "Id": {"type": "string"},
                "Status": {"$ref": "#/components/schemas/ScheduleStatus"},
            },
        }
        get = {
            **{
                k: v
                for k, v in operation(doc, "/bounces/{bounceid}", "get").items()
                if k != "parameters"
            },
            "operationId": "get_email_schedule",
            "x-python-name": "get_schedule",
            "tags": ["Email"],
            "parameters": [
                {
                    "name": "scheduleId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
        }
        get["responses"] = {
            **get["responses"],
            "200": {
                "description": "The schedule.",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}
                },
            },
        }
        doc["paths"]["/email/scheduled"] = {"post": send}
        doc["paths"]["/email/scheduled/{scheduleId}"] = {"get": get}
        doc["info"]["version"] = "2099.12.31"
        doc["x-postmark-release-notes"].append(
            {"date": "2099-12-31", "title": "Scheduled sends", "changes": ["Scheduled sends."]}
        )

    report = compare_with_real(tmp_path, mutated(release, real()))
    assert report.breaking == []
    assert [(c.kind, c.python) for c in report.changes if c.scope == "api"] == [
        ("operation-added", "client.email.schedule"),
        ("operation-added", "client.email.get_schedule"),
    ]
    assert sorted(c.python or "" for c in of_kind(report, "method-added")) == [
        "client.email.get_schedule",
        "client.email.schedule",
    ]
    assert (report.old.api.version, report.new.api.version) == (
        real()["info"]["version"],
        "2099.12.31",
    )


def test_shared_request_enum_value_removed_in_the_real_spec(tmp_path: Path) -> None:

    def drop_text_only(doc: Doc) -> None:
        schemas(doc)["TrackLinks"]["enum"].remove("TextOnly")

    report = compare_with_real(tmp_path, mutated(drop_text_only, real()))
    changes = [c for c in report.changes if c.scope != "agents"]
    assert [(c.kind, c.breaking, c.location, c.before) for c in changes] == [
        ("enum-value-removed", True, "components.schemas.TrackLinks", "TextOnly"),
        ("enum-literal-removed", True, "components.schemas.TrackLinks", "TextOnly"),
    ]


def test_positional_argument_renamed_in_the_real_spec(tmp_path: Path) -> None:

    def rename_bounce_id(doc: Doc) -> None:
        operation(doc, "/bounces/{bounceid}", "get")["parameters"][0]["x-python-name"] = "id"

    report = compare_with_real(tmp_path, mutated(rename_bounce_id, real()))
    changes = [c for c in report.changes if c.scope != "agents"]
    assert [(c.kind, c.breaking, c.python, c.before, c.after) for c in changes] == [
        ("argument-renamed", True, "client.bounces.get(id)", "bounce_id", "id")
    ]


def test_a_class_that_changes_kind_is_removed_and_added(tmp_path: Path) -> None:
    """`Attachment` becomes an enum: the dataclass is gone and an enum takes its name."""

    def as_enum(doc: Doc) -> None:
        schemas(doc)["Attachment"] = {"type": "string", "enum": ["a", "b"]}

    report = compare(tmp_path, mini(), mutated(as_enum))
    python = [(c.kind, c.breaking, c.python) for c in report.changes if c.scope == "python"]
    assert ("model-removed", True, "models.Attachment") in python
    assert ("enum-added", False, "models.Attachment") in python
    api = [(c.kind, c.breaking, c.python) for c in report.changes if c.scope == "api"]
    assert api == [("type-changed", True, "models.SendEmailRequest.attachments")]


def rename_property(schema: str, old: str, new: str) -> Mutation:
    """Rename a property in place: same position, same schema."""

    def edit(doc: Doc) -> None:
        target = schemas(doc)[schema]
        target["properties"] = {
            (new if key == old else key): value for key, value in target["properties"].items()
        }
        target["required"] = [new if key == old else key for key in target.get("required", [])]

    return edit


@pytest.mark.parametrize(
    ("schema", "old", "new", "usage", "python"),
    [
        ("SendEmailRequest", "Subject", "Topic", "request", "models.SendEmailRequest.topic"),
        ("SendEmailResponse", "Message", "Text", "response", "models.SendEmailResponse.text"),
    ],
)
def test_a_renamed_property_of_the_same_type_and_place_is_a_rename(
    schema: str, old: str, new: str, usage: str, python: str, tmp_path: Path
) -> None:
    report = compare(tmp_path, mini(), mutated(rename_property(schema, old, new)))
    location = f"components.schemas.{schema}.properties.{new}"
    found = [(c.kind, c.breaking, c.location, c.python, c.before, c.after) for c in report.changes]
    assert (f"{usage}-field-renamed", True, location, python, old, new) in found, found
    old_python = python.rsplit(".", 1)[0] + "." + old.lower()
    assert (
        "field-renamed",
        True,
        location,
        python,
        old_python.rsplit(".", 1)[1],
        python.rsplit(".", 1)[1],
    ) in found
    for kind in (f"{usage}-field-removed", f"{usage}-field-added", "field-removed", "field-added"):
        assert not of_kind(report, kind), of_kind(report, kind)
    for change in report.changes:
        assert change.kind in KINDS


def test_a_renamed_property_of_another_type_stays_removed_and_added(tmp_path: Path) -> None:
    def edit(doc: Doc) -> None:
        rename_property("SendEmailRequest", "Subject", "Topic")(doc)
        schemas(doc)["SendEmailRequest"]["properties"]["Topic"] = {"type": "integer"}

    report = compare(tmp_path, mini(), mutated(edit))
    assert of_kind(report, "request-field-removed") and of_kind(report, "request-field-added")
    assert not of_kind(report, "request-field-renamed")


@pytest.mark.parametrize(
    ("base", "edit", "kind", "breaking", "value"),
    [
        (["None", "HtmlAndText", "TextOnly"], ["None", "HtmlAndText"], "enum-literal-removed", True, "TextOnly"),
        (["None", "HtmlAndText"], ["None", "HtmlAndText", "TextOnly"], "enum-literal-added", False, "TextOnly"),
    ],
)  # fmt: skip
def test_enum_value_changes_have_their_python_package_line(
    base: list[str], edit: list[str], kind: str, breaking: bool, value: str, tmp_path: Path
) -> None:
    report = compare(tmp_path, mutated(track_links(base)), mutated(track_links(edit)))
    python = [c for c in report.changes if c.scope == "python"]
    assert [(c.kind, c.breaking, c.python) for c in python] == [
        (kind, breaking, "models.SendEmailRequestTrackLinks")
    ]
    assert value in python[0].message and (python[0].before or python[0].after) == value
    assert "Python package" in format_text(report)


# Every change of every case above, both ways (a reversed case turns additions into removals),
# all its fields as `diff --format json` writes them; recorded from the diff before its rules
# became a table, so a rewrite of the rules keeps each message and value. The agents scope is
# left out: its messages name the temporary folders.
FULL_REPORTS = Path(__file__).with_name("full_reports.json")


def _full_report(case: Case, reverse: bool, tmp_path: Path) -> list[dict[str, object]]:
    base = mutated(case.base) if case.base else mini()
    new = mutated(case.edit, base)
    old, new = (new, base) if case.reverse != reverse else (base, new)
    return [c.to_json() for c in compare(tmp_path, old, new).changes if c.scope != "agents"]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_full_report_is_unchanged(case: Case, reverse: bool, tmp_path: Path) -> None:
    expected = json.loads(FULL_REPORTS.read_text(encoding="utf-8"))
    key = f"{case.id} reversed" if reverse else case.id
    assert _full_report(case, reverse, tmp_path) == expected[key]
