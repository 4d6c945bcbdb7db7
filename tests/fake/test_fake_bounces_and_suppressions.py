"""Bounces and suppressions: bounce-testing addresses bounce, hard bounces deactivate, activation
and suppression deletes reactivate, spam complaints stay."""

from __future__ import annotations

import pytest
from fake_support import call, error_of
from postmark_client import ServerClient, models
from postmark_client.errors import InactiveRecipientError, UnprocessableEntityError
from postmark_client.testing import FakePostmark

SENDER = "sender@example.com"
HARD = "hardbounce@bounce-testing.postmarkapp.com"
SOFT = "softbounce@bounce-testing.postmarkapp.com"


def send(client: ServerClient, to: str, **extra: object) -> str:
    sent = client.email.send(from_=SENDER, to=to, subject="Hi", text_body="x", **extra)  # type: ignore[arg-type]
    return sent.message_id or ""


def entries(*addresses: str) -> list[models.SuppressionEntry]:
    return [models.SuppressionEntry(email_address=a) for a in addresses]


def test_a_hard_bounce_deactivates_the_address_until_activated(
    fake: FakePostmark, client: ServerClient
) -> None:
    message_id = send(client, HARD, tag="welcome")
    bounces = client.bounces.list(type="HardBounce")
    assert bounces.total_count == 1
    bounce = bounces.items[0]
    assert (
        bounce.email,
        bounce.message_id,
        bounce.inactive,
        bounce.can_activate,
        bounce.type_code,
    ) == (HARD, message_id, True, True, 1)
    assert bounce.tag == "welcome" and bounce.content is None  # the list leaves the source out
    single = client.bounces.get(bounce.id)
    assert single.content and HARD in single.content
    assert HARD in (client.bounces.get_dump(bounce.id).body or "")
    events = client.messages.get_outbound_details(message_id).message_events
    assert [e.type for e in events] == ["Bounced", "SubscriptionChanged"]
    assert events[0].details is not None and events[0].details.bounce_id == str(bounce.id)
    suppressed = client.suppressions.dump("outbound").suppressions
    assert [(s.email_address, s.suppression_reason, s.origin) for s in suppressed] == [
        (HARD, "HardBounce", "Recipient")
    ]
    stats = client.bounces.get_delivery_stats()
    assert stats.inactive_mails == 1
    assert [(b.name, b.count) for b in stats.bounces] == [("All", 1), ("Hard bounce", 1)]
    with pytest.raises(InactiveRecipientError):
        send(client, HARD)
    activated = client.bounces.activate(bounce.id)
    assert activated.message == "OK" and activated.bounce.inactive is False
    assert client.suppressions.dump("outbound").suppressions == []
    assert client.bounces.list(inactive=True).total_count == 0
    send(client, HARD)  # accepted again (and bounces again)
    assert client.bounces.list().total_count == 2


def test_a_soft_bounce_does_not_deactivate(client: ServerClient) -> None:
    send(client, SOFT)
    bounce = client.bounces.list().items[0]
    assert bounce.type == "SoftBounce" and bounce.inactive is False
    send(client, SOFT)
    assert client.bounces.list(email_filter="softbounce").total_count == 2


def test_bounce_filters(client: ServerClient) -> None:
    first = send(client, HARD, tag="a")
    send(client, SOFT, tag="b", message_stream="broadcast")
    assert client.bounces.list(tag="a").items[0].message_id == first
    assert client.bounces.list(message_id=first).total_count == 1
    assert client.bounces.list(message_stream="broadcast").items[0].type == "SoftBounce"
    assert client.bounces.list(email_filter="BOUNCE-TESTING").total_count == 2
    assert client.bounces.list(to_date="2000-01-01").total_count == 0


def test_unknown_bounces_are_errorcode_1001(fake: FakePostmark) -> None:
    for path in ("/bounces/99", "/bounces/99/dump"):
        assert error_of(call(fake, "GET", path)) == (422, 1001)
    assert error_of(call(fake, "PUT", "/bounces/99/activate")) == (422, 1001)


def test_a_spam_complaint_cannot_be_activated_or_unsuppressed(
    fake: FakePostmark, client: ServerClient
) -> None:
    message_id = send(client, "jane@example.com")
    complaint = fake.spam_complaint(message_id)
    assert complaint["Type"] == "SpamComplaint" and complaint["CanActivate"] is False
    with pytest.raises(UnprocessableEntityError) as raised:
        client.bounces.activate(complaint["ID"])
    assert raised.value.error_code == 1003
    result = client.suppressions.delete("outbound", suppressions=entries("jane@example.com"))
    outcome = result.suppressions[0]
    assert outcome.status == "Failed" and "authority" in (outcome.message or "")
    with pytest.raises(InactiveRecipientError):
        send(client, "jane@example.com")


def test_suppressions_per_stream(fake: FakePostmark, client: ServerClient) -> None:
    created = client.suppressions.create(
        "outbound", suppressions=entries("a@example.com", "not-an-address")
    )
    assert [(s.email_address, s.status) for s in created.suppressions] == [
        ("a@example.com", "Suppressed"),
        ("not-an-address", "Failed"),
    ]
    dump = client.suppressions.dump(
        "outbound", origin="Customer", suppression_reason="ManualSuppression"
    )
    assert [s.email_address for s in dump.suppressions] == ["a@example.com"]
    assert (
        client.suppressions.dump("outbound", email_address="A@example.com").suppressions[0].origin
        == "Customer"
    )
    assert client.suppressions.dump("outbound", suppression_reason="HardBounce").suppressions == []
    assert client.suppressions.dump("broadcast").suppressions == []
    send(client, "a@example.com", message_stream="broadcast")
    deleted = client.suppressions.delete(
        "outbound", suppressions=entries("a@example.com", "never@example.com")
    )
    assert [s.status for s in deleted.suppressions] == ["Deleted", "Deleted"]
    send(client, "a@example.com")


def test_deleting_a_hard_bounce_suppression_reactivates_the_bounce(client: ServerClient) -> None:
    send(client, HARD)
    client.suppressions.delete("outbound", suppressions=entries(HARD))
    assert client.bounces.list().items[0].inactive is False
    send(client, HARD)


def test_suppression_errors(fake: FakePostmark) -> None:
    many = {"Suppressions": [{"EmailAddress": f"u{i}@example.com"} for i in range(51)]}
    assert error_of(call(fake, "POST", "/message-streams/outbound/suppressions", many)) == (
        422,
        1410,
    )
    assert error_of(call(fake, "POST", "/message-streams/outbound/suppressions/delete", many)) == (
        422,
        1410,
    )
    assert error_of(
        call(fake, "POST", "/message-streams/nope/suppressions", {"Suppressions": []})
    ) == (422, 1226)
    assert error_of(call(fake, "GET", "/message-streams/nope/suppressions/dump")) == (422, 1226)
    assert error_of(
        call(fake, "POST", "/message-streams/outbound/suppressions", {"Suppressions": "x"})
    ) == (422, 1409)
    assert error_of(
        call(fake, "GET", "/message-streams/outbound/suppressions/dump?SuppressionReason=Bored")
    ) == (422, 1404)
    assert error_of(
        call(fake, "GET", "/message-streams/outbound/suppressions/dump?Origin=Martians")
    ) == (422, 1405)
    assert fake.suppressions() == []


def test_suppressions_can_be_given_as_dicts_like_batch_messages(
    fake: FakePostmark, client: ServerClient
) -> None:
    created = client.suppressions.create(
        "outbound",
        suppressions=[
            {"EmailAddress": "dict@example.com"},
            models.SuppressionEntry(email_address="model@example.com"),
        ],
    )
    assert [r.email_address for r in created.suppressions] == [
        "dict@example.com",
        "model@example.com",
    ]
    with pytest.raises(ValueError, match="EmailAddress"):
        client.suppressions.create("outbound", suppressions=[{"Email": "typo@example.com"}])
