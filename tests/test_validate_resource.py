"""`postmark-codegen validate` on x-postmark-resource and operation-level tokens (the real spec, mutated).

Kept apart from tests/test_validate.py: the rules are `check_resource` and the token part of
`check_operation_security` in generator/validate.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_validate import LOADER, REAL_SPEC, SPEC, validate, write_spec

Doc = dict[str, Any]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def real() -> Doc:
    doc: Doc = yaml.load(REAL_SPEC.read_text(encoding="utf-8"), Loader=LOADER)
    return doc


def resource(doc: Doc, path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["paths"][path][method]["x-postmark-resource"]
    return found


def test_the_real_spec_describes_its_plain_resources() -> None:
    doc = real()
    found = {
        (r["collection"], r["action"])
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and (r := op.get("x-postmark-resource"))
    }
    collections = {collection for collection, _ in found}
    assert collections == {
        "servers", "domains", "sender_signatures", "message_streams", "webhooks", "inbound_rules",
        "data_removals",
    }  # fmt: skip
    for collection in ("servers", "webhooks", "domains", "sender_signatures"):
        assert {(collection, a) for a in ("create", "list", "get", "edit", "delete")} <= found
    assert ("message_streams", "archive") in found and ("message_streams", "unarchive") in found


def test_resource_problems(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = real()
    resource(doc, "/webhooks", "get")["list"] = "Hooks"
    resource(doc, "/webhooks/{Id}", "get")["id-param"] = "webhookid"
    resource(doc, "/webhooks", "post")["id-param"] = "Id"
    resource(doc, "/webhooks/{Id}", "delete")["action"] = "remove"
    resource(doc, "/triggers/inboundrules", "post")["id"] = "RuleID"
    resource(doc, "/message-streams", "get")["filters"] = {"Type": "MessageStreamType"}
    write_spec(workdir, doc)
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out == [
        f"{SPEC}: paths./message-streams.get.x-postmark-resource.filters.Type: 'Type' is not a query parameter",
        f"{SPEC}: paths./webhooks.get.x-postmark-resource.list: 'Hooks' is not a field of the 200 response schema",
        f"{SPEC}: paths./webhooks.post.x-postmark-resource.id-param: a create names no record: drop id-param",
        f"{SPEC}: paths./webhooks/{{Id}}.get.x-postmark-resource: id-param must name the path parameter holding the id, one of ['Id']",
        f"{SPEC}: paths./webhooks/{{Id}}.delete.x-postmark-resource.action: 'remove' is not one of create, list, get, edit, delete, archive, unarchive",
        f"{SPEC}: paths./triggers/inboundrules.post.x-postmark-resource.id: 'RuleID' differs from the id of paths./triggers/inboundrules.get",
        f"{SPEC}: paths./triggers/inboundrules.post.x-postmark-resource.id: 'RuleID' is not a field of the records this operation returns",
        f"7 problems in {SPEC}",
    ]


def test_an_operation_may_need_the_other_token(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = real()
    push = doc["paths"]["/templates/push"]["put"]
    assert push["x-postmark-token"] == "account"
    push["security"] = [{"serverToken": []}]
    doc["paths"]["/templates"]["get"]["x-postmark-token"] = "both"
    write_spec(workdir, doc)
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out == [
        f"{SPEC}: paths./templates.get.x-postmark-token: 'both' is not 'server' or 'account'",
        f"{SPEC}: paths./templates/push.put.security: 'serverToken' carries the server token but the operation's x-postmark-token is account",
        f"2 problems in {SPEC}",
    ]
