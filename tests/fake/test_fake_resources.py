"""Plain resources (x-postmark-resource) served generically, and what Postmark does with them:
what the fake stores is what later reads return and what its mail does."""

from __future__ import annotations

from fake_support import call, error_of
from postmark_client import ServerClient, models
from postmark_client.testing import FakePostmark

SENDER = "sender@example.com"


def test_a_webhook_created_through_the_api_receives_its_streams_events(
    fake: FakePostmark, client: ServerClient
) -> None:
    hook = client.webhooks.create(
        url="https://user:pw@hooks.example.com/d",
        message_stream="outbound",
        http_headers=[models.MessageHeader(name="X-Secret", value="s3")],
        triggers=models.WebhookTriggersSetting(delivery=models.WebhookTriggerSetting(enabled=True)),
    )
    assert client.webhooks.get(hook.id).triggers.delivery.enabled is True
    assert client.webhooks.get(hook.id).triggers.open.enabled is False
    client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
    client.email.send(from_=SENDER, to="bob@example.com", text_body="x", message_stream="broadcast")
    queued = [d for d in fake.webhooks.pending if d.url == "https://hooks.example.com/d"]
    assert [(d.record_type, d.payload["Recipient"]) for d in queued] == [
        ("Delivery", "jane@example.com")
    ]
    assert queued[0].request_headers()["X-Secret"] == "s3"
    assert queued[0].username == "user"
    client.webhooks.delete(hook.id)
    assert [h.id for h in client.webhooks.list().webhooks] == []


def test_an_archived_stream_refuses_sends_until_unarchived(
    fake: FakePostmark, client: ServerClient
) -> None:
    client.message_streams.create(id="news", name="News", message_stream_type="Broadcasts")
    archived = client.message_streams.archive("news")
    assert archived.expected_purge_date is not None
    send = {"From": SENDER, "To": "a@example.com", "TextBody": "x", "MessageStream": "news"}
    assert error_of(call(fake, "POST", "/email", send)) == (422, 1236)
    assert [s.id for s in client.message_streams.list().message_streams] == [
        "outbound", "broadcast", "inbound"
    ]  # fmt: skip
    assert "news" in [
        s.id for s in client.message_streams.list(include_archived_streams=True).message_streams
    ]
    assert error_of(call(fake, "POST", "/message-streams/outbound/archive")) == (422, 1229)
    client.message_streams.unarchive("news")
    assert call(fake, "POST", "/email", send).status_code == 200
    assert error_of(call(fake, "GET", "/message-streams/nope")) == (422, 1226)


def test_a_data_removal_is_pending_then_done(fake: FakePostmark) -> None:
    created = call(fake, "POST", "/data-removals",
                   {"RequestedBy": "a@example.com", "RequestedFor": "b@example.com"},
                   token="account")  # fmt: skip
    assert created.json()["Status"] == "Pending"
    removal = created.json()["ID"]
    assert (
        call(fake, "GET", f"/data-removals/{removal}", token="account").json()["Status"] == "Done"
    )
    assert error_of(call(fake, "GET", "/data-removals/999", token="account")) == (422, 1301)


def test_inbound_rules_are_stored_listed_and_deleted(
    client: ServerClient, fake: FakePostmark
) -> None:
    rule = client.inbound_rules.create(rule="example.net")
    assert [r.rule for r in client.inbound_rules.list().items] == ["example.net"]
    assert error_of(call(fake, "POST", "/triggers/inboundrules", {"Rule": "example.net"})) == (
        422,
        810,
    )
    client.inbound_rules.delete(rule.id)
    assert client.inbound_rules.list().items == []
    assert error_of(call(fake, "DELETE", f"/triggers/inboundrules/{rule.id}")) == (422, 812)


def test_an_inbound_rule_blocks_mail_from_its_address_or_domain(
    fake: FakePostmark, client: ServerClient
) -> None:
    client.server.edit(inbound_hook_url="https://hooks.example.com/inbound")
    client.inbound_rules.create(rule="spam.example")
    client.inbound_rules.create(rule="pest@example.org")
    blocked = fake.receive_inbound("Bad <bad@spam.example>", subject="buy")
    pest = fake.receive_inbound("pest@EXAMPLE.org", subject="again")
    welcome = fake.receive_inbound("friend@example.org", subject="hi")
    assert (blocked["Status"], pest["Status"], welcome["Status"]) == (
        "Blocked",
        "Blocked",
        "Processed",
    )
    posted = [d.payload["Subject"] for d in fake.webhooks.pending if d.record_type == "Inbound"]
    assert posted == ["hi"]  # only the mail no rule blocks reaches the inbound hook
    # Bypassing a blocked message lets it through, as in Postmark.
    client.messages.bypass_inbound(blocked["MessageID"])
    assert client.messages.get_inbound_details(blocked["MessageID"]).status != "Blocked"
