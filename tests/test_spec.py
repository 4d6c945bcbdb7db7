"""The real spec: it validates, it has exactly the 40 operations and names the issue lists (plus the
operations its release notes add since), and every recorded Postmark payload in
tests/fixtures/examples/ fits its schema.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from support.release_notes import added_operations

from generator.loader import load_spec
from generator.validate import JSON, Address, Checker, Operation, error_message, most_relevant

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "spec" / "postmark.yaml"
# Recorded Postmark payloads, kept in the repository (their sources: SOURCES.md there).
EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "examples"

# (method, path, group.python_name, access): Postmark's API reference and the groups' names.
OPERATIONS = [
    ("POST", "/email", "email.send", "write"),
    ("POST", "/email/batch", "email.send_batch", "write"),
    ("POST", "/email/withTemplate", "email.send_with_template", "write"),
    ("POST", "/email/batchWithTemplates", "email.send_batch_with_templates", "write"),
    ("GET", "/templates", "templates.list", "read"),
    ("GET", "/templates/{templateIdOrAlias}", "templates.get", "read"),
    ("POST", "/templates", "templates.create", "write"),
    ("PUT", "/templates/{templateIdOrAlias}", "templates.edit", "write"),
    ("DELETE", "/templates/{templateIdOrAlias}", "templates.delete", "write"),
    ("POST", "/templates/validate", "templates.validate", "read"),
    ("GET", "/deliverystats", "bounces.get_delivery_stats", "read"),
    ("GET", "/bounces", "bounces.list", "read"),
    ("GET", "/bounces/{bounceid}", "bounces.get", "read"),
    ("GET", "/bounces/{bounceid}/dump", "bounces.get_dump", "read"),
    ("PUT", "/bounces/{bounceid}/activate", "bounces.activate", "write"),
    ("GET", "/messages/outbound", "messages.search_outbound", "read"),
    ("GET", "/messages/outbound/{messageid}/details", "messages.get_outbound_details", "read"),
    ("GET", "/messages/outbound/opens", "messages.search_opens", "read"),
    ("GET", "/messages/outbound/clicks", "messages.search_clicks", "read"),
    ("GET", "/messages/inbound", "messages.search_inbound", "read"),
    ("PUT", "/messages/inbound/{messageid}/retry", "messages.retry_inbound", "write"),
    ("PUT", "/messages/inbound/{messageid}/bypass", "messages.bypass_inbound", "write"),
    ("GET", "/message-streams/{stream_id}/suppressions/dump", "suppressions.dump", "read"),
    ("POST", "/message-streams/{stream_id}/suppressions", "suppressions.create", "write"),
    ("POST", "/message-streams/{stream_id}/suppressions/delete", "suppressions.delete", "write"),
    ("GET", "/stats/outbound", "stats.get_outbound_overview", "read"),
    ("GET", "/stats/outbound/sends", "stats.get_sent_counts", "read"),
    ("GET", "/stats/outbound/bounces", "stats.get_bounce_counts", "read"),
    ("GET", "/servers", "servers.list", "read"),
    ("GET", "/servers/{serverid}", "servers.get", "read"),
    ("POST", "/servers", "servers.create", "write"),
    ("PUT", "/servers/{serverid}", "servers.edit", "write"),
    ("DELETE", "/servers/{serverid}", "servers.delete", "write"),
    ("GET", "/domains", "domains.list", "read"),
    ("POST", "/domains", "domains.create", "write"),
    ("PUT", "/domains/{domainid}", "domains.edit", "write"),
    ("POST", "/domains/{domainid}/rotatedkim", "domains.rotate_dkim", "write"),
    ("GET", "/senders", "sender_signatures.list", "read"),
    ("POST", "/senders", "sender_signatures.create", "write"),
    ("DELETE", "/senders/{signatureid}", "sender_signatures.delete", "write"),
]

GROUPS = {
    "Email": ("email", "server"),
    "Templates": ("templates", "server"),
    "Bounces": ("bounces", "server"),
    "Messages": ("messages", "server"),
    "Suppressions": ("suppressions", "server"),
    "Stats": ("stats", "server"),
    "Servers": ("servers", "account"),
    "Domains": ("domains", "account"),
    "Sender signatures": ("sender_signatures", "account"),
    # groups added since the 40 (their operations are named by x-postmark-release-notes)
    "Server": ("server", "server"),
    "Message streams": ("message_streams", "server"),
    "Webhooks": ("webhooks", "server"),
    "Inbound rules": ("inbound_rules", "server"),
    "Data removals": ("data_removals", "account"),
}

WEBHOOKS = ["Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange", "Inbound"]

# The operations the spec's release notes add beyond the 40 (x-postmark-release-notes[].operations):
# expected too, so that adding one is a spec edit with its release note, and no test edit.
ADDED = added_operations(SPEC)

# Reference payloads of endpoints the spec may not have yet: validated once it has them.
NOT_YET_IN_SPEC = {
    "GET_email_bulk_{bulkRequestId}": "the spec has no Bulk API yet (release note 2026-03-05)",
    "POST_email_bulk": "the spec has no Bulk API yet (release note 2026-03-05)",
}


@cache
def checker() -> Checker:
    return Checker(load_spec(SPEC))


def group_name(op: Operation) -> str:
    tag = checker().tags[op.node["tags"][0]]
    return f"{tag['x-python-name']}.{op.node['x-python-name']}"


def added() -> list[Operation]:
    """The spec's operations that its release notes add, in release-note order."""
    by_id = {op.node["operationId"]: op for op in checker().operations}
    missing = [operation_id for operation_id in ADDED if operation_id not in by_id]
    assert not missing, f"release notes name operations the spec does not have: {missing}"
    return [by_id[operation_id] for operation_id in ADDED]


def summary_line() -> str:
    """`postmark-codegen validate`'s last line, counted from the 40 and the added operations."""
    accesses = [access for _, _, _, access in OPERATIONS]
    accesses += [op.node["x-postmark-access"] for op in added()]
    return (
        f"{len(accesses)} operations in {len(GROUPS)} groups ({accesses.count('read')} read, "
        f"{accesses.count('write')} write), 2 security schemes, {len(WEBHOOKS)} webhook events: OK"
    )


def test_spec_validates_with_the_summary_line() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "generator", "validate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, summary_line() + "\n", "")


def test_the_40_operations_and_those_release_notes_add() -> None:
    assert len({(method, path) for method, path, _, _ in OPERATIONS}) == 40
    found = [(op.method.upper(), op.path) for op in checker().operations]
    new = [(op.method.upper(), op.path) for op in added()]
    assert sorted(found) == sorted([(method, path) for method, path, _, _ in OPERATIONS] + new)
    assert len(set(found)) == len(found) == 40 + len(ADDED)


def test_python_names() -> None:
    new = {op.node["operationId"] for op in added()}
    found = {
        (op.method.upper(), op.path): group_name(op)
        for op in checker().operations
        if op.node["operationId"] not in new
    }
    assert found == {(method, path): name for method, path, name, _ in OPERATIONS}
    every = [group_name(op) for op in checker().operations]
    assert len(set(every)) == len(every), "two operations share a Python name"


def test_read_write_split_of_the_40_is_20_20() -> None:
    new = {op.node["operationId"] for op in added()}
    found = {
        (op.method.upper(), op.path): op.node["x-postmark-access"]
        for op in checker().operations
        if op.node["operationId"] not in new
    }
    assert found == {(method, path): access for method, path, _, access in OPERATIONS}
    assert sorted(found.values()).count("read") == 20
    assert sorted(found.values()).count("write") == 20


def test_groups_and_tokens() -> None:
    tags = checker().tags
    assert {
        name: (tag["x-python-name"], tag["x-postmark-token"]) for name, tag in tags.items()
    } == GROUPS
    schemes = checker().security_schemes
    assert {name: scheme["name"] for name, scheme in schemes.items()} == {
        "serverToken": "X-Postmark-Server-Token",
        "accountToken": "X-Postmark-Account-Token",
    }


def test_webhook_events() -> None:
    assert list(checker().webhooks) == WEBHOOKS


@pytest.mark.parametrize("key", [f"{m} {p}" for m, p, _, _ in OPERATIONS] + ADDED)
def test_every_operation_has_a_200_example(key: str) -> None:
    """`key`: `METHOD path` for one of the 40, the operationId for one a release note adds."""
    c = checker()
    op = next(
        op
        for op in c.operations
        if key in (f"{op.method.upper()} {op.path}", op.node["operationId"])
    )
    response = c.deref(op.node["responses"]["200"])
    content = response["content"][JSON]
    assert "example" in content or content.get(
        "examples"
    ), f"{op.method.upper()} {op.path}: the 200 response has no example"


# -- tests/fixtures/examples ----------------------------------------------------------------------


def _template(path: str) -> str:
    """Path parameters names differ between sources; only their places matter."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def schema_for_example(name: str) -> list[Address]:
    """The schemas a payload file must fit: `METHOD_path[.suffix...].json` or `webhook_<Type>[...].json`."""
    c = checker()
    stem, *suffixes = name.removesuffix(".json").split(".")
    if stem.startswith("webhook_"):
        event = stem.removeprefix("webhook_")
        assert event in c.webhooks, f"{name}: no webhook {event!r}"
        body = ("webhooks", event, "post", "requestBody", "content", JSON, "schema")
        return [(c.root_file, body), (c.root_file, ("components", "schemas", "WebhookPayload"))]
    by_file_name = {
        f"{op.method.upper()}_{_template(op.path)[1:].replace('/', '_')}": op for op in c.operations
    }
    op = by_file_name.get(_template(stem))
    assert (
        op is not None
    ), f"{name}: no operation matches; add it to NOT_YET_IN_SPEC if the spec lacks it for now"
    status = "422" if "error-422" in suffixes else "200"
    found = c.follow(op.node["responses"][status], op.file, op.parts + ("responses", status))
    assert found is not None
    _, file, parts = found
    return [(file, parts + ("content", JSON, "schema"))]


def has_operation_for(stem: str) -> bool:
    """Whether an operation of the spec matches a payload file's `METHOD_path` stem."""
    return any(
        f"{op.method.upper()}_{_template(op.path)[1:].replace('/', '_')}" == _template(stem)
        for op in checker().operations
    )


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def problems(payload: Any, schema_at: Address) -> list[str]:
    errors = [most_relevant(e) for e in checker().schema_errors(payload, schema_at)]
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {error_message(e)}" for e in errors
    ]


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_reference_payload_fits_its_schema(path: Path) -> None:
    stem = path.name.split(".")[0]
    if stem in NOT_YET_IN_SPEC and not has_operation_for(stem):
        pytest.skip(NOT_YET_IN_SPEC[stem])
    payload = json.loads(path.read_text(encoding="utf-8"))
    for schema_at in schema_for_example(path.name):
        assert (
            problems(payload, schema_at) == []
        ), f"{path.name} against {'.'.join(map(str, schema_at[1]))}"


def test_reference_payloads_are_found() -> None:
    names = {path.name for path in example_files()}
    assert "POST_email.legacy-2016.json" in names and "webhook_Inbound.json" in names


def test_payload_check_can_fail() -> None:
    """A control: a payload with a wrong field type is refused, so the passes above mean something."""
    payload = json.loads((EXAMPLES / "POST_email.legacy-2016.json").read_text(encoding="utf-8"))
    payload["ErrorCode"] = "zero"
    [schema_at] = schema_for_example("POST_email.legacy-2016.json")
    assert problems(payload, schema_at) == ["ErrorCode: 'zero' is not of type 'integer'"]
    webhook = json.loads((EXAMPLES / "webhook_Delivery.json").read_text(encoding="utf-8"))
    webhook["DeliveredAt"] = "Tuesday"
    assert problems(webhook, schema_for_example("webhook_Delivery.json")[0]) == [
        "DeliveredAt: 'Tuesday' is not a 'date-time'"
    ]


def test_every_field_schema_is_whole() -> None:
    """No property of a schema has a keyword without a value: an unquoted comma in a one-line
    `{type: string, description: a, b}` splits the description into keys, and what the client,
    the fake and the MCP tools print of it stops at the comma."""
    schemas = load_spec(SPEC).root["components"]["schemas"]
    split = [
        f"{name}.{field}: {key!r}"
        for name, schema in schemas.items()
        for field, item in schema.get("properties", {}).items()
        for key, value in item.items()
        if value is None
    ]
    assert split == []
