"""Real SDKs send an explicit JSON null for every optional field they leave unset; Postmark reads
it as "not given". The fake must too: every operation, driven by a client that adds those nulls,
works, and no answer stores or echoes a null the spec does not allow (the answers are checked
against the spec)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fake_support import SpecCheckingTransport, call, no_sleep
from postmark_client import AccountClient, ServerClient
from postmark_client._operations import OPERATIONS
from postmark_client.testing import FakePostmark
from postmark_client.testing._schemas import SCHEMAS
from postmark_client.testing._wire import BODIES, route
from test_fake_conformance import _operations_seen, every_operation


def with_nulls(schema: str, value: Any) -> Any:
    """`value` with a null for every optional field of `schema` it lacks, nested objects too."""
    spec = SCHEMAS.get(schema)
    if spec is None or not isinstance(value, dict):
        return value
    filled = {name: None for name in spec.fields if name not in spec.required}
    for name, item in value.items():
        field = spec.fields.get(name)
        if field is not None and field.model is not None:
            item = with_nulls(field.model, item)
        elif field is not None and field.items is not None and field.items.model is not None:
            item = (
                [with_nulls(field.items.model, i) for i in item] if isinstance(item, list) else item
            )
        filled[name] = item
    return filled


class NullsTransport(httpx.BaseTransport):
    """Adds the nulls an SDK would send to every request body, then hands the request on."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        op = route(request.method, request.url.path).op
        content = request.read()
        if op is not None and op.id in BODIES and content:
            kind, schema = BODIES[op.id]
            body = json.loads(content)
            body = (
                [with_nulls(schema, m) for m in body]
                if kind == "array"
                else with_nulls(schema, body)
            )
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, json=body)
        return self.inner.handle_request(request)


def test_a_client_sending_nulls_for_unset_fields_works_for_every_operation(
    fake: FakePostmark,
) -> None:
    checked = SpecCheckingTransport(fake.transport())
    transport = NullsTransport(checked)
    with (
        ServerClient(fake.server_token, transport=transport, sleep=no_sleep) as server,
        AccountClient(fake.account_token, transport=transport, sleep=no_sleep) as account,
    ):
        asyncio.run(every_operation(server, account, fake))
    assert _operations_seen(checked) == set(OPERATIONS)
    assert all(response.status_code == 200 for _, response in checked.seen)
    sent_nulls = [r for r, _ in checked.seen if b"null" in r.content]
    assert len(sent_nulls) >= 15  # the wrapper did add nulls (to every body with optional fields)


def test_nulls_are_not_given_and_unknown_fields_are_ignored(fake: FakePostmark) -> None:
    send = {"From": "a@example.com", "To": "b@example.com", "TextBody": "x", "Cc": None}
    assert call(fake, "POST", "/email", send).status_code == 200
    edited = call(fake, "PUT", "/server", {"TrackLinks": None, "EnableSmtpApiErrorHooks": None,
                                            "Colour": "red", "Name": "Renamed"})  # fmt: skip
    assert edited.status_code == 200
    body = edited.json()
    assert body["TrackLinks"] == "None" and body["EnableSmtpApiErrorHooks"] is False
    assert "Colour" not in body and "Colour" not in fake.server()
    domain = call(fake, "POST", "/domains", {"Name": "example.org", "ReturnPathDomain": None},
                  token="account")  # fmt: skip
    assert domain.status_code == 200
    signature = {"FromEmail": "s@example.org", "Name": "S", "ReplyToEmail": None}
    assert call(fake, "POST", "/senders", signature, token="account").status_code == 200
    created = call(fake, "POST", "/templates", {"Name": "T", "Subject": "S", "TextBody": "B"})
    template_id = created.json()["TemplateId"]
    assert (
        call(fake, "PUT", f"/templates/{template_id}", {"Name": None, "Subject": "S2"}).json()[
            "Name"
        ]
        == "T"
    )
    templated = {"From": "a@example.com", "To": "b@example.com", "TemplateId": None,
                 "TemplateAlias": None, "TemplateModel": {}}  # fmt: skip
    assert call(fake, "POST", "/email/withTemplate", templated).json()["ErrorCode"] == 300


def test_a_templated_send_shaped_as_postmarker_sends_it_is_accepted() -> None:
    """postmarker's `emails.send_with_template(...)` posts every field it takes, the unset ones
    as null: `"Subject": null` beside a template is "not given", not content that clashes with
    it (ErrorCode 1123); a Subject with a value still does."""
    fake = FakePostmark()
    created = call(fake, "POST", "/templates", {"Name": "W", "Alias": "welcome",
                                                "Subject": "Hi {{name}}", "TextBody": "Hello"})  # fmt: skip
    assert created.status_code == 200, created.text
    body = {
        "TemplateId": created.json()["TemplateId"], "TemplateAlias": None,
        "TemplateModel": {"name": "Jane"}, "From": "sender@example.com", "To": "jane@example.com",
        "Cc": None, "Bcc": None, "Subject": None, "Tag": None, "ReplyTo": None, "Headers": [],
        "TrackOpens": None, "TrackLinks": "None", "Attachments": [], "InlineCss": True,
        "Metadata": None,
    }  # fmt: skip
    sent = call(fake, "POST", "/email/withTemplate", body)
    assert sent.status_code == 200, sent.text
    assert sent.json()["ErrorCode"] == 0
    assert fake.messages()[0]["Subject"] == "Hi Jane"
    batch = call(fake, "POST", "/email/batchWithTemplates", {"Messages": [body]})
    assert batch.status_code == 200 and batch.json()[0]["ErrorCode"] == 0, batch.text
    clash = call(fake, "POST", "/email/withTemplate", {**body, "Subject": "mine"})
    assert clash.status_code == 422 and clash.json()["ErrorCode"] == 1123
