"""The real spec: it validates, it has exactly the 40 operations and names the issue lists, and every
recorded Postmark payload in shared/reference/examples/ fits its schema.
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

from generator.loader import load_spec
from generator.validate import JSON, Address, Checker, Operation, error_message, most_relevant

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "spec" / "postmark.yaml"
# CI runs in a fresh clone with shared/ beside the repository.
EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "examples"

SUMMARY = "40 operations in 9 groups (20 read, 20 write), 2 security schemes, 7 webhook events: OK"

# (method, path, group.python_name, access): postmark-api.md §2 and issue 2's list of names.
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
}

WEBHOOKS = ["Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange", "Inbound"]

# Reference payloads of endpoints outside the 40 operations.
NOT_IN_SPEC = {
    "GET_email_bulk_{bulkRequestId}": "Bulk API (2026-03) is not one of the 40 operations",
    "POST_email_bulk": "Bulk API (2026-03) is not one of the 40 operations",
}


@cache
def checker() -> Checker:
    return Checker(load_spec(SPEC))


def group_name(op: Operation) -> str:
    tag = checker().tags[op.node["tags"][0]]
    return f"{tag['x-python-name']}.{op.node['x-python-name']}"


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
    assert (result.returncode, result.stdout, result.stderr) == (0, SUMMARY + "\n", "")


def test_the_40_operations() -> None:
    found = [(op.method.upper(), op.path) for op in checker().operations]
    assert sorted(found) == sorted((method, path) for method, path, _, _ in OPERATIONS)
    assert len(set(found)) == 40


def test_python_names() -> None:
    found = {(op.method.upper(), op.path): group_name(op) for op in checker().operations}
    assert found == {(method, path): name for method, path, name, _ in OPERATIONS}


def test_read_write_split_is_20_20() -> None:
    found = {
        (op.method.upper(), op.path): op.node["x-postmark-access"] for op in checker().operations
    }
    assert found == {(method, path): access for method, path, _, access in OPERATIONS}
    assert (
        sorted(found.values()).count("read") == 20 and sorted(found.values()).count("write") == 20
    )


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


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _, _ in OPERATIONS])
def test_every_operation_has_a_200_example(method: str, path: str) -> None:
    c = checker()
    op = next(op for op in c.operations if (op.method.upper(), op.path) == (method, path))
    response = c.deref(op.node["responses"]["200"])
    content = response["content"][JSON]
    assert "example" in content or content.get(
        "examples"
    ), f"{method} {path}: the 200 response has no example"


# -- shared/reference/examples --------------------------------------------------------------------


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
    ), f"{name}: no operation matches; add it to NOT_IN_SPEC if it is out of scope"
    status = "422" if "error-422" in suffixes else "200"
    found = c.follow(op.node["responses"][status], op.file, op.parts + ("responses", status))
    assert found is not None
    _, file, parts = found
    return [(file, parts + ("content", JSON, "schema"))]


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []


def problems(payload: Any, schema_at: Address) -> list[str]:
    errors = [most_relevant(e) for e in checker().schema_errors(payload, schema_at)]
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {error_message(e)}" for e in errors
    ]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"reference payloads not found at {EXAMPLES}")
@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_reference_payload_fits_its_schema(path: Path) -> None:
    if path.name.split(".")[0] in NOT_IN_SPEC:
        pytest.skip(NOT_IN_SPEC[path.name.split(".")[0]])
    payload = json.loads(path.read_text(encoding="utf-8"))
    for schema_at in schema_for_example(path.name):
        assert (
            problems(payload, schema_at) == []
        ), f"{path.name} against {'.'.join(map(str, schema_at[1]))}"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"reference payloads not found at {EXAMPLES}")
def test_reference_payloads_are_found() -> None:
    names = {path.name for path in example_files()}
    assert "POST_email.legacy-2016.json" in names and "webhook_Inbound.json" in names


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"reference payloads not found at {EXAMPLES}")
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
