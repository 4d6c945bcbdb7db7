"""Every generated method, sync and async, called with the spec's examples via httpx.MockTransport.

Each call is built from the spec (parameter examples, the request body example as keyword
arguments), its request is checked field by field and validated against the spec with
openapi-core, and the answer is the spec's 200 example, which must come back as the typed model
with every field read. So neither the client nor the spec can drift without a failure here.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import httpx
import pytest
from operations_support import (
    FUTURE_ENUM,
    FUTURE_FIELD,
    KINDS,
    TOKEN,
    Call,
    Recorder,
    assert_parsed,
    attribute_name,
    build_call,
    client_class,
    from_the_future,
    invoke,
    json_body,
    merged,
    no_nulls,
    operation_ids,
    parameter_name,
    resolve,
    spec,
    spec_operations,
    without_idempotency_keys,
    without_null,
)
from postmark_client import models
from postmark_client._operations import OPERATIONS
from postmark_client.batch import BatchResult
from postmark_client.errors import RequestValidationError
from postmark_client.pagination import AsyncPage, SyncPage
from support.release_notes import added_operations

# Written out so that an operation cannot vanish from the spec, the generator or the table unseen.
EXPECTED_OPERATIONS = [
    # email (4)
    "send_email",
    "send_email_batch",
    "send_email_with_template",
    "send_email_batch_with_templates",
    # templates (6)
    "list_templates",
    "create_template",
    "get_template",
    "edit_template",
    "delete_template",
    "validate_template",
    # bounces (5)
    "get_delivery_stats",
    "list_bounces",
    "get_bounce",
    "get_bounce_dump",
    "activate_bounce",
    # messages (7)
    "search_outbound_messages",
    "get_outbound_message_details",
    "search_message_opens",
    "search_message_clicks",
    "search_inbound_messages",
    "retry_inbound_message",
    "bypass_inbound_message",
    # suppressions (3)
    "dump_suppressions",
    "create_suppressions",
    "delete_suppressions",
    # stats (3)
    "get_outbound_overview",
    "get_sent_counts",
    "get_bounce_counts",
    # servers (5)
    "list_servers",
    "create_server",
    "get_server",
    "edit_server",
    "delete_server",
    # domains (4)
    "list_domains",
    "create_domain",
    "edit_domain",
    "rotate_domain_dkim",
    # sender signatures (3)
    "list_sender_signatures",
    "create_sender_signature",
    "delete_sender_signature",
]
# Beyond the 40: the operations the spec's release notes add (x-postmark-release-notes[].operations).
ADDED_OPERATIONS = added_operations()
SERVER_GROUPS = {
    "email",
    "templates",
    "bounces",
    "messages",
    "suppressions",
    "stats",
    "server",
    "message_streams",
    "webhooks",
    "inbound_rules",
}
# templates: PUT /templates/push needs the account token (account.templates.push)
ACCOUNT_GROUPS = {"servers", "domains", "sender_signatures", "templates", "data_removals"}


def test_the_operations_are_the_40_and_those_release_notes_add() -> None:
    assert len(EXPECTED_OPERATIONS) == len(set(EXPECTED_OPERATIONS)) == 40
    assert not set(ADDED_OPERATIONS) & set(EXPECTED_OPERATIONS)
    expected = sorted(EXPECTED_OPERATIONS + ADDED_OPERATIONS)
    assert sorted(OPERATIONS) == expected
    assert sorted(spec_operations()) == expected


@pytest.mark.parametrize("operation_id", operation_ids())
def test_the_table_says_what_the_spec_says(operation_id: str) -> None:
    op, spec_op = OPERATIONS[operation_id], spec_operations()[operation_id]
    (tag,) = spec_op.node["tags"]
    tag_node = next(t for t in spec()["tags"] if t["name"] == tag)
    assert (op.method, op.path) == (spec_op.method, spec_op.path)
    # an operation may need the other token than its tag (its own x-postmark-token)
    assert op.token == spec_op.node.get("x-postmark-token", tag_node["x-postmark-token"])
    assert (op.group, op.name) == (tag_node["x-python-name"], spec_op.node["x-python-name"])
    assert op.group in (SERVER_GROUPS if op.token == "server" else ACCOUNT_GROUPS)


# ---- every operation, sync and async -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation_id", operation_ids())
def test_operation_sends_the_spec_request_and_reads_the_spec_example(
    operation_id: str, kind: str
) -> None:
    call = build_call(operation_id)
    recorder = Recorder(call.response)
    result = invoke(call.op, kind, call.kwargs, recorder)

    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert_request(call, request)
    recorder.validate_against_the_spec()
    assert_result(call, result, call.response, kind)


def assert_request(call: Call, request: httpx.Request) -> None:
    raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
    assert request.method == call.spec_op.method
    assert raw_path == call.path
    pairs = httpx.QueryParams(raw_query).multi_items()
    assert len(pairs) == len(dict(pairs)), f"a query parameter is repeated: {pairs}"
    assert dict(pairs) == call.query

    headers = request.headers
    assert headers.get_list(call.token_header) == [TOKEN]
    assert call.other_token_header not in headers
    assert "authorization" not in headers
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"

    if call.body is None:
        assert request.content == b"", "an operation without a request body sends none"
        return
    body = without_idempotency_keys(call.op, json_body(request))
    assert body == call.body, "the body should be the spec's example, in Postmark's field names"
    assert no_nulls(body), "fields that were not given must not be sent as null"


def assert_result(call: Call, result: Any, example: Any, kind: str) -> None:
    op = call.op
    schema = call.spec_op.ok["schema"]
    if op.paging is not None:
        assert isinstance(result, SyncPage if kind == "sync" else AsyncPage)
        assert_parsed(result.response, example, schema, op.response_schema or "")
        assert result.items == getattr(result.response, op.paging.items_attr)
        assert result.total_count == example[op.paging.total]
        assert (result.count, result.offset) == (int(call.query["count"]), 0)
    elif op.batch:
        assert_batch(result, example, resolve(schema)[0]["items"])
    else:
        assert_parsed(result, example, schema, op.response_schema or "")
        assert type(result) is getattr(models, resolve(schema)[1] or "")


def assert_batch(result: Any, example: list[Any], item_schema: Any) -> None:
    """A batch answer: one outcome per message, in order; failed entries are not successes."""
    assert isinstance(result, BatchResult)
    assert len(result) == len(example)
    for outcome, entry in zip(result, example, strict=True):
        if entry["ErrorCode"] == 0:
            assert outcome.status == "sent"
            assert_parsed(outcome.result, entry, item_schema, f"[{outcome.index}]")
        else:
            assert outcome.status == "rejected"
            assert (outcome.error_code, outcome.error_message) == (
                entry["ErrorCode"],
                entry["Message"],
            )
            assert outcome.result is None
    failed = [entry for entry in example if entry["ErrorCode"] != 0]
    assert len(result.failed) == len(failed)
    assert result.all_succeeded is (not failed)


def test_the_examples_exercise_the_hard_cases() -> None:
    """The generic test above is only as good as the examples: make sure they hold what matters."""
    calls = {operation_id: build_call(operation_id) for operation_id in EXPECTED_OPERATIONS}
    assert any("%2F" in call.path for call in calls.values()), "no path value needs quoting"
    assert any(value in ("true", "false") for c in calls.values() for value in c.query.values())
    assert calls["get_outbound_overview"].query["fromdate"] == "2021-01-01"
    assert isinstance(calls["get_outbound_overview"].kwargs["from_date"], datetime.date)
    # counted over the 40: operations a release note adds may have bodies or paging or not
    assert sum(call.body is not None for call in calls.values()) == 14
    assert sum(call.op.paging is not None for call in calls.values()) == 9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "operation_id",
    [
        operation_id
        for operation_id in operation_ids()
        if any(
            p["in"] == "path" and "string" in str(resolve(p["schema"])[0]["type"])
            for p in spec_operations()[operation_id].parameters
        )
    ],
)
def test_string_path_parameters_are_url_quoted(operation_id: str, kind: str) -> None:
    call = build_call(operation_id)
    path = call.spec_op.path
    for parameter in call.spec_op.parameters:
        if parameter["in"] == "path":
            call.kwargs[parameter_name(parameter)] = "a b/c?d#ä"
            path = path.replace("{" + parameter["name"] + "}", "a%20b%2Fc%3Fd%23%C3%A4")
    recorder = Recorder(call.response)
    invoke(call.op, kind, call.kwargs, recorder)
    assert recorder.requests[0].url.raw_path.decode("ascii").partition("?")[0] == path


# ---- each token reaches only its own operations --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation_id", operation_ids())
def test_an_operation_is_reachable_only_with_its_token(operation_id: str, kind: str) -> None:
    op = OPERATIONS[operation_id]
    own = client_class(op, kind)(TOKEN, transport=transport_never_called())
    other_op = dataclasses.replace(op, token="account" if op.token == "server" else "server")
    other = client_class(other_op, kind)(TOKEN, transport=transport_never_called())
    assert callable(getattr(getattr(own, op.group), op.name))
    assert not hasattr(getattr(other, op.group, None), op.name)
    groups = SERVER_GROUPS if op.token == "server" else ACCOUNT_GROUPS
    assert {g for g in SERVER_GROUPS | ACCOUNT_GROUPS if hasattr(own, g)} == groups
    # a group split by token (templates) is on both clients, each with its own operations
    shared = SERVER_GROUPS & ACCOUNT_GROUPS
    assert {g for g in SERVER_GROUPS | ACCOUNT_GROUPS if hasattr(other, g)}.isdisjoint(
        groups - shared
    )


def transport_never_called() -> httpx.MockTransport:
    def fail(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request should be sent, got {request.method} {request.url}")

    return httpx.MockTransport(fail)


# ---- Postmark adds fields and enum values; requests stay strict ----------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation_id", operation_ids())
def test_unknown_fields_and_enum_values_in_an_answer_are_kept(operation_id: str, kind: str) -> None:
    call = build_call(operation_id)
    schema = call.spec_op.ok["schema"]
    future, new_fields, _ = from_the_future(call.response, schema)
    assert new_fields > 0
    result = invoke(call.op, kind, call.kwargs, Recorder(future))
    # assert_parsed compares every field with the changed example: `.extra` must hold the new
    # fields of each object, and each enum the new value as a plain string.
    assert_result(call, result, future, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_bounce_type_stays_a_string_and_new_fields_land_in_extra(kind: str) -> None:
    call = build_call("get_bounce")
    future, _, new_values = from_the_future(call.response, call.spec_op.ok["schema"])
    assert new_values >= 1
    bounce = invoke(call.op, kind, call.kwargs, Recorder(future))
    assert isinstance(bounce, models.Bounce)
    assert bounce.type == FUTURE_ENUM
    assert bounce.extra == {FUTURE_FIELD: {"Nested": [1, "two"]}}
    assert bounce.id == call.response["ID"]


def closed_enum_cases() -> list[tuple[str, str, str]]:
    """(operation, where, wire name) for every enum the caller can set: query parameters and
    the top-level fields of request bodies (of each message, for a batch)."""
    cases = []
    for operation_id in operation_ids():
        spec_op = spec_operations()[operation_id]
        for parameter in spec_op.parameters:
            if "enum" in resolve(parameter["schema"])[0]:
                cases.append((operation_id, "query", parameter["name"]))
        op = OPERATIONS[operation_id]
        if spec_op.body is None:
            continue
        body_schema = resolve(spec_op.body["schema"])[0]
        if op.batch:
            body_schema = spec()["components"]["schemas"][op.body_item_schema]
        for wire, node in merged(body_schema).get("properties", {}).items():
            # an optional field may also be null: `anyOf: [{$ref: Enum}, {type: 'null'}]`
            if "enum" in without_null(resolve(node)[0])[0]:
                cases.append((operation_id, "body", wire))
    return cases


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("operation_id", "where", "wire"), closed_enum_cases())
def test_a_value_outside_a_closed_enum_is_refused_before_sending(
    operation_id: str, where: str, wire: str, kind: str
) -> None:
    call = build_call(operation_id)
    bad = "NotInTheSpec"
    names = {wire}  # a body field is named as on the wire, a parameter as the caller wrote it
    if where == "query":
        parameter = next(p for p in call.spec_op.parameters if p["name"] == wire)
        names.add(parameter_name(parameter))
        call.kwargs[parameter_name(parameter)] = bad
    elif call.op.batch:
        item_schema = spec()["components"]["schemas"][call.op.body_item_schema]
        setattr(
            call.kwargs["messages"][0], attribute_name(wire, item_schema["properties"][wire]), bad
        )
    else:
        body_schema = merged(resolve(call.spec_op.body["schema"])[0])  # type: ignore[index]
        call.kwargs[attribute_name(wire, body_schema["properties"][wire])] = bad
    recorder = Recorder(call.response)
    with pytest.raises(RequestValidationError) as caught:
        invoke(call.op, kind, call.kwargs, recorder)
    assert any(name in caught.value.field for name in names), caught.value.field
    assert "must be one of" in caught.value.message and repr(bad) in caught.value.message
    assert recorder.requests == []


def test_there_are_closed_enums_to_refuse() -> None:
    cases = closed_enum_cases()
    assert ("list_bounces", "query", "type") in cases
    assert ("send_email", "body", "TrackLinks") in cases
    assert ("send_email_batch", "body", "TrackLinks") in cases
