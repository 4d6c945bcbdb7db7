"""Spec -> intermediate model, on the small fixture spec (and on edited copies of it)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from gen_support import SMALL_SPEC, build_small

from generator.build import BuildError, build_api, package_version
from generator.loader import load_spec
from generator.model import Api


@pytest.fixture(scope="module")
def api() -> Api:
    return build_small()


def build_edited(tmp_path: Path, edit: Any) -> Api:
    """Build a copy of the fixture after `edit(doc)` changed it."""
    doc = yaml.safe_load(SMALL_SPEC.read_text())
    edit(doc)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return build_api(load_spec(path))


def test_api_facts(api: Api) -> None:
    assert api.title == "Postmark API (generator fixture)"
    assert api.version == "2026.03.05"
    assert api.package_version == "2026.3.5"
    assert api.default_base_url == "https://api.example.test"  # trailing slash dropped
    assert api.license == "MIT"
    assert [n.title for n in api.release_notes] == ["Fixture release"]
    assert api.release_notes[0].operations == ["send_email"]


@pytest.mark.parametrize(
    ("version", "expected"), [("2025.06", "2025.6"), ("2026.03.05", "2026.3.5"), ("1", "1")]
)
def test_package_version_is_pep440(version: str, expected: str) -> None:
    assert package_version(version) == expected


def test_package_version_refuses_other_forms() -> None:
    with pytest.raises(BuildError, match="info.version"):
        package_version("June 2025")


def test_groups_and_clients_follow_tags_and_tokens(api: Api) -> None:
    assert [(g.name, g.class_name, g.async_class_name, g.token) for g in api.groups] == [
        ("email", "Email", "AsyncEmail", "server"),
        ("bounces", "Bounces", "AsyncBounces", "server"),
        ("sender_signatures", "SenderSignatures", "AsyncSenderSignatures", "account"),
    ]
    server, account = api.clients
    assert (server.class_name, server.async_class_name) == ("ServerClient", "AsyncServerClient")
    assert (server.header, server.env_var) == ("X-Postmark-Server-Token", "POSTMARK_SERVER_TOKEN")
    assert [g.name for g in server.groups] == ["email", "bounces"]
    assert (account.class_name, account.header) == ("AccountClient", "X-Postmark-Account-Token")
    assert [g.name for g in account.groups] == ["sender_signatures"]


def test_operations_keep_spec_order_and_facts(api: Api) -> None:
    assert [(op.id, op.const_name, op.group, op.name) for op in api.operations] == [
        ("send_email", "SEND_EMAIL", "email", "send"),
        ("send_email_batch", "SEND_EMAIL_BATCH", "email", "send_batch"),
        (
            "send_email_batch_with_templates",
            "SEND_EMAIL_BATCH_WITH_TEMPLATES",
            "email",
            "send_batch_with_templates",
        ),
        ("list_bounces", "LIST_BOUNCES", "bounces", "list"),
        ("get_bounce", "GET_BOUNCE", "bounces", "get"),
        ("delete_sender_signature", "DELETE_SENDER_SIGNATURE", "sender_signatures", "delete"),
    ]
    send = api.operation("send_email")
    assert (send.method, send.path, send.token, send.token_header) == (
        "POST",
        "/email",
        "server",
        "X-Postmark-Server-Token",
    )
    assert (send.access, send.retry_safe, send.webhook_event, send.acts_on) == (
        "write",
        False,
        "Delivery",
        "email",
    )
    assert send.spec_path == "paths./email.post"
    assert send.error_statuses == [401, 422, 429, 500, 503]
    assert [(lim.name, lim.unit, lim.scope, lim.field) for lim in send.limits] == [
        ("message-size", "bytes", "message", None),
        ("to-recipients", "addresses", "message", "To"),
    ]
    delete = api.operation("delete_sender_signature")
    assert (delete.token, delete.access, delete.retry_safe) == ("account", "write", True)


def test_body_fields_become_keyword_arguments(api: Api) -> None:
    send = api.operation("send_email")
    assert send.body is not None and send.body.model is not None
    assert send.body.model.name == "SendEmailRequest"
    assert send.positional_arguments == []
    args = {a.name: (a.annotation, a.default, a.wire) for a in send.keyword_arguments}
    assert args["from_"] == ("str", None, "From")
    assert args["to"] == ("str", None, "To")
    assert args["tag"] == ("str | None", "None", "Tag")
    assert args["track_links"] == (
        "models.TrackLinks | None",
        "None",
        "TrackLinks",
    )  # closed: a request
    # Items of a body list of models may be dicts too, as the messages of a batch may.
    assert args["headers"] == (
        "list[models.MessageHeader | Mapping[str, Any]] | None",
        "None",
        "Headers",
    )
    item_models = {a.name: a.item_model for a in send.keyword_arguments}
    assert item_models["headers"] == "MessageHeader"  # dicts in it are read with its from_dict
    assert item_models["tag"] is None
    assert args["metadata"] == ("models.Metadata | None", "None", "Metadata")
    assert [a.name for a in send.arguments] == [f.name for f in send.body.model.fields]


def test_path_parameters_are_positional_and_typed(api: Api) -> None:
    get = api.operation("get_bounce")
    [arg] = get.arguments
    assert (arg.name, arg.annotation, arg.positional, arg.wire) == (
        "bounce_id",
        "int",
        True,
        "bounceid",
    )
    [param] = get.path_params
    assert (param.json_type, param.minimum, param.format, param.required) == (
        "integer",
        1,
        "int64",
        True,
    )
    delete = api.operation("delete_sender_signature")
    [param] = delete.path_params
    # `type: [integer, string]`: either in Python, text on the wire.
    assert (param.annotation, param.json_type) == ("int | str", "string")


def test_paging_and_its_filters(api: Api) -> None:
    op = api.operation("list_bounces")
    paging = op.paging
    assert paging is not None
    assert (paging.count, paging.offset, paging.items, paging.items_attr) == (
        "count",
        "offset",
        "Bounces",
        "bounces",
    )
    assert (paging.total, paging.total_attr, paging.max_count, paging.max_reachable) == (
        "TotalCount",
        "total_count",
        500,
        10000,
    )
    assert paging.item_model.name == "Bounce"
    assert paging.narrow_by == ["type", "status", "fromdate"]
    assert paging.narrow_by_attrs == ["type", "status", "from_date"]
    args = {a.name: (a.annotation, a.default) for a in op.arguments}
    assert args["count"] == ("int", "100")  # the spec's default is what the client sends
    assert args["offset"] == ("int", "0")
    assert args["type"] == ("models.BounceType | None", "None")
    assert args["status"] == (
        "models.ListBouncesStatus | None",
        "None",
    )  # inline enum, derived name
    assert args["from_date"] == ("_dt.date | str | None", "None")


def test_batch_bodies(api: Api) -> None:
    batch = api.operation("send_email_batch")
    assert batch.batch and batch.body is not None
    assert (batch.body.schema_name, batch.body.is_array, batch.body.batch_field) == (
        "SendEmailBatchRequest",
        True,
        None,
    )
    assert batch.body.item_model is not None and batch.body.item_model.name == "SendEmailRequest"
    assert batch.response.is_array and batch.response.item_model is not None
    assert batch.response.item_model.name == "SendEmailResponse"
    [messages] = batch.arguments
    assert (messages.name, messages.positional) == ("messages", True)
    assert messages.annotation == "Iterable[models.SendEmailRequest | Mapping[str, Any]]"
    templated = api.operation("send_email_batch_with_templates")
    assert templated.body is not None and templated.body.batch_field == "Messages"
    assert (
        templated.body.item_model is not None
        and templated.body.item_model.name == "SendEmailWithTemplateRequest"
    )


def test_model_fields_types_and_names(api: Api) -> None:
    bounce = api.model("Bounce")
    fields = {f.wire: (f.name, f.annotation, f.required, f.nullable) for f in bounce.fields}
    assert fields["ID"] == ("id", "int", True, False)
    assert fields["Type"] == ("type", "BounceType | str", True, False)  # open enum in a response
    assert fields["BouncedAt"] == ("bounced_at", "Timestamp", True, False)
    assert fields["Subject"] == ("subject", "str | None", False, True)
    assert fields["Details"] == ("details", "BounceDetails | None", False, False)  # inline object
    assert fields["Tags"] == ("tags", "list[str] | None", False, False)
    assert fields["Day"] == ("day", "_dt.date | None", False, False)
    assert fields["Counts"] == ("counts", "dict[str, int] | None", False, False)
    assert fields["DKIMVerified"][0] == "dkim_verified"
    assert fields["ReturnPathDomainCNAMEValue"][0] == "return_path_domain_cname_value"
    assert fields["From"][0] == "sender"  # x-python-name
    assert [f.wire for f in bounce.fields][:5] == ["ID", "Type", "Email", "BouncedAt", "Inactive"]
    details = api.model("BounceDetails")
    assert (
        details.schema_name is None
        and details.spec_path == "components.schemas.Bounce.properties.Details"
    )
    # Dataclass order: fields without a default first.
    assert [f.name for f in bounce.init_fields][:5] == [
        "id",
        "type",
        "email",
        "bounced_at",
        "inactive",
    ]


def test_request_and_response_usage(api: Api) -> None:
    usage = {m.name: (m.is_request, m.is_response) for m in api.models}
    assert usage["SendEmailRequest"] == (True, False)
    assert usage["MessageHeader"] == (True, False)  # reached through SendEmailRequest.Headers
    assert usage["SendEmailWithTemplateRequest"] == (True, False)  # through the batch body
    assert usage["Bounce"] == (False, True)
    assert usage["ErrorResponse"] == (False, True)  # error bodies are responses
    assert usage["EmailAddressFull"] == (False, True)  # through a webhook
    request = api.model("SendEmailRequest")
    assert request.closed
    assert request.require_any_of == [["HtmlBody"], ["TextBody"]]
    assert [[f.name for f in group] for group in request.require_any_of_fields] == [
        ["html_body"],
        ["text_body"],
    ]
    tag = request.field_by_wire("Tag")
    assert tag is not None and (tag.max_length, tag.pattern) == (10, "^[a-z-]+$")
    headers = request.field_by_wire("Headers")
    assert headers is not None and headers.max_items == 3
    enums = {e.name: (e.values, e.is_request, e.is_response) for e in api.enums}
    assert enums["TrackLinks"] == (["None", "HtmlAndText"], True, False)
    assert enums["BounceType"] == (["HardBounce", "SoftBounce"], True, True)
    assert enums["ListBouncesStatus"] == (["active", "inactive"], True, False)
    assert api.enums[0].constant_name == "TRACK_LINKS_VALUES"


def test_container_aliases_and_unions(api: Api) -> None:
    assert [(a.name, a.annotation) for a in api.aliases] == [
        ("Metadata", "dict[str, str]"),
        ("SendEmailBatchRequest", "list[SendEmailRequest]"),
        ("SendEmailBatchResponse", "list[SendEmailResponse]"),
    ]
    [union] = api.unions
    assert (union.name, union.discriminator, union.parse_function) == (
        "WebhookPayload",
        "RecordType",
        "parse_webhook_payload",
    )
    assert [(v.model, v.value, v.detect_by) for v in union.variants] == [
        ("DeliveryWebhook", "Delivery", None),
        ("InboundWebhook", None, "FromFull"),
    ]


def test_webhooks_and_error_codes(api: Api) -> None:
    assert [(w.key, w.record_type, w.model.name, w.detect_by) for w in api.webhooks] == [
        ("Delivery", "Delivery", "DeliveryWebhook", None),
        ("Inbound", "Inbound", "InboundWebhook", "FromFull"),
    ]
    assert all(w.model.is_webhook for w in api.webhooks)
    assert [
        (e.code, e.exception_class, e.constant_name, e.http_status) for e in api.error_codes
    ] == [
        (10, None, "INVALID_API_TOKEN", 401),
        (300, None, "INVALID_EMAIL_REQUEST", None),
        (406, "InactiveRecipientError", "INACTIVE_RECIPIENT", None),
    ]


def test_the_model_of_the_real_spec_builds(tmp_path: Path) -> None:
    from gen_support import REAL_SPEC

    api = build_api(load_spec(REAL_SPEC))
    # the 40 of the issue, and those the release notes add since (the Bulk API's two, once there)
    added = {operation_id for note in api.release_notes for operation_id in note.operations}
    assert added <= {op.id for op in api.operations}
    assert len(api.operations) == 40 + len(added)
    assert [(g.name, g.token) for g in api.groups] == [
        ("email", "server"),
        ("templates", "server"),
        # PUT /templates/push needs the account token: the same attribute on the account client
        ("templates", "account"),
        ("bounces", "server"),
        ("messages", "server"),
        ("suppressions", "server"),
        ("stats", "server"),
        ("servers", "account"),
        ("domains", "account"),
        ("sender_signatures", "account"),
        ("server", "server"),
        ("message_streams", "server"),
        ("webhooks", "server"),
        ("inbound_rules", "server"),
        ("data_removals", "account"),
    ]
    assert [g.class_name for g in api.groups if g.name == "templates"] == [
        "Templates",
        "AccountTemplates",
    ]
    assert {
        op.token for op in api.operations if op.group in ("servers", "domains", "sender_signatures")
    } == {"account"}
    # the lists of the 40 page; some added since do not (message streams, webhooks)
    assert all(
        op.paging is not None
        for op in api.operations
        if op.name in ("list", "search_outbound") and op.id not in added
    )


# ---- what the builder refuses, with the spec path --------------------------------------------


def test_two_wire_names_with_one_python_name_are_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["Bounce"]["properties"]["Sender"] = {"type": "string"}

    with pytest.raises(BuildError) as info:
        build_edited(tmp_path, edit)
    assert info.value.location == "components.schemas.Bounce.properties.Sender"
    assert "Sender and From both become 'sender'" in str(info.value)


def test_reserved_field_names_are_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["Bounce"]["properties"]["Extra"] = {"type": "string"}

    with pytest.raises(
        BuildError, match="components.schemas.Bounce.properties.Extra: .*'extra' is reserved"
    ):
        build_edited(tmp_path, edit)


def test_a_derived_name_colliding_with_a_component_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["BounceDetails"] = {
            "type": "object",
            "properties": {"X": {"type": "string"}},
        }

    with pytest.raises(BuildError, match="'BounceDetails' is already taken"):
        build_edited(tmp_path, edit)


def test_an_inline_one_of_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["Bounce"]["properties"]["Odd"] = {
            "oneOf": [
                {"type": "object", "properties": {"A": {"type": "string"}}},
                {"type": "integer"},
            ]
        }

    with pytest.raises(
        BuildError, match=r"Bounce\.properties\.Odd: an inline oneOf cannot be generated"
    ):
        build_edited(tmp_path, edit)


def test_a_batch_object_body_needs_its_items_limit(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        limits = doc["paths"]["/email/batchWithTemplates"]["post"]["x-postmark-limits"]
        limits[:] = [lim for lim in limits if lim["unit"] != "items"]

    with pytest.raises(
        BuildError, match=r"paths\./email/batchWithTemplates\.post\.x-postmark-limits"
    ):
        build_edited(tmp_path, edit)


def test_paging_must_name_an_array_of_the_response(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["paths"]["/bounces"]["get"]["x-postmark-paging"]["items"] = "TotalCount"

    with pytest.raises(BuildError, match=r"x-postmark-paging\.items: 'TotalCount' is not an array"):
        build_edited(tmp_path, edit)


def test_an_argument_name_clash_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        op = doc["paths"]["/email"]["post"]
        op["parameters"] = [{"name": "To", "in": "query", "schema": {"type": "string"}}]

    with pytest.raises(BuildError, match="both become the argument 'to'"):
        build_edited(tmp_path, edit)


def test_building_does_not_change_the_spec() -> None:
    spec = load_spec(SMALL_SPEC)
    before = copy.deepcopy(spec.root)
    build_api(spec)
    assert spec.root == before


# ---- names that would hide builtin types -------------------------------------------------------


def test_fields_named_like_builtin_types_get_an_underscore(api: Api) -> None:
    bounce = api.model("Bounce")
    names = {f.wire: (f.name, f.annotation) for f in bounce.fields}
    assert names["List"] == ("list_", "list[int] | None")
    assert names["Str"] == ("str_", "str | None")
    assert names["Recipients"] == ("recipients", "list[str] | None")  # `list` still means the type


def test_a_method_named_list_does_not_hide_the_list_type(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["paths"]["/email/batch"]["post"]["x-python-name"] = "list"

    api = build_edited(tmp_path, edit)
    send = api.operation("send_email")
    headers = next(a for a in send.arguments if a.name == "headers")
    assert headers.annotation == "builtins.list[models.MessageHeader | Mapping[str, Any]] | None"
    other_group = api.operation(
        "list_bounces"
    )  # Bounces also has `list`, but no list-typed argument
    assert all("builtins" not in a.annotation for a in other_group.arguments)
