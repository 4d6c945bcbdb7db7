"""Opens, clicks, inbound mail, and stats counted from what happened."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fake_support import call, error_of
from postmark_client import ServerClient
from postmark_client.errors import UnprocessableEntityError
from postmark_client.testing import FakePostmark, fixed_clock
from postmark_client.testing._state import EASTERN

SENDER = "sender@example.com"
LINK = "https://example.com/start"


def tracked_send(client: ServerClient, to: str = "jane@example.com", tag: str = "welcome") -> str:
    sent = client.email.send(
        from_=SENDER, to=to, subject="Hi", html_body=f'<a href="{LINK}">go</a>', text_body=f"go: {LINK}",
        track_opens=True, track_links="HtmlAndText", tag=tag,
    )  # fmt: skip
    return sent.message_id or ""


def test_opens_and_clicks_are_searchable_and_show_in_the_details(
    fake: FakePostmark, client: ServerClient
) -> None:
    message_id = tracked_send(client)
    fake.open(
        message_id,
        platform="Mobile",
        client={"Name": "Outlook", "Company": "Microsoft", "Family": "Outlook"},
        geo={"Country": "Denmark", "City": "Aarhus"},
    )
    fake.open(message_id)
    fake.click(message_id, LINK, location="Text")
    opens = client.messages.search_opens(recipient="jane@example.com")
    assert opens.total_count == 2
    assert [o.first_open for o in opens.items] == [False, True]  # newest first
    assert client.messages.search_opens(platform="mobile").total_count == 1
    assert (
        client.messages.search_opens(
            client_company="microsoft", country="Denmark", city="Aarhus"
        ).total_count
        == 1
    )
    assert client.messages.search_opens(tag="other").total_count == 0
    clicks = client.messages.search_clicks(tag="welcome")
    assert clicks.items[0].original_link == LINK and clicks.items[0].click_location == "Text"
    events = [e.type for e in client.messages.get_outbound_details(message_id).message_events]
    assert events == ["Delivered", "Opened", "Opened", "LinkClicked"]


def test_opens_and_clicks_need_tracking(fake: FakePostmark, client: ServerClient) -> None:
    sent = client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
    with pytest.raises(ValueError, match="open tracking"):
        fake.open(sent.message_id or "")
    with pytest.raises(ValueError, match="link tracking"):
        fake.click(sent.message_id or "", LINK)
    with pytest.raises(ValueError, match="not a recipient"):
        fake.open(tracked_send(client), "someone@else.com")


def test_unknown_messages_are_errorcode_701(fake: FakePostmark) -> None:
    assert error_of(call(fake, "GET", "/messages/outbound/nope/details")) == (422, 701)
    assert error_of(call(fake, "PUT", "/messages/inbound/nope/retry")) == (422, 701)
    assert error_of(call(fake, "PUT", "/messages/inbound/nope/bypass")) == (422, 701)


def test_inbound_search_retry_and_bypass(fake: FakePostmark, client: ServerClient) -> None:
    inbound_address = fake.server()["InboundAddress"]
    hash_address = inbound_address.replace("@", "+orders@")
    fake.receive_inbound(
        "Carol <carol@example.net>", hash_address, subject="Where is my order?", text_body="?"
    )
    failed = fake.receive_inbound("dave@example.net", subject="Re: hi", status="Failed")
    blocked = fake.receive_inbound("spam@example.net", subject="Win", status="Blocked")
    assert client.messages.search_inbound().total_count == 3
    found = client.messages.search_inbound(mailbox_hash="orders").items
    assert [(m.from_, m.subject, m.status) for m in found] == [
        ("carol@example.net", "Where is my order?", "Processed")
    ]
    assert client.messages.search_inbound(from_email="dave").items[0].status == "Failed"
    assert client.messages.search_inbound(status="blocked").total_count == 1
    with pytest.raises(UnprocessableEntityError) as raised:
        client.messages.bypass_inbound(
            failed["MessageID"]
        )  # only a blocked message can be bypassed
    assert raised.value.error_code == 701
    assert "rescheduled" in client.messages.retry_inbound(failed["MessageID"]).message
    assert "bypassed" in client.messages.bypass_inbound(blocked["MessageID"]).message
    assert client.messages.search_inbound(status="processed").total_count == 3
    with pytest.raises(UnprocessableEntityError):
        client.messages.retry_inbound(failed["MessageID"])  # a second retry finds nothing to retry


def test_stats_count_what_happened(client: ServerClient, fake: FakePostmark) -> None:
    first = tracked_send(client, to="a@example.com, b@example.com")
    tracked_send(client, tag="other")
    client.email.send(
        from_=SENDER, to="hardbounce@bounce-testing.postmarkapp.com", text_body="x", tag="welcome"
    )
    fake.open(first, "a@example.com")
    fake.open(first, "a@example.com")
    fake.open(first, "b@example.com", platform="Unknown")
    fake.click(first, LINK, "a@example.com")
    fake.click(first, LINK, "a@example.com")
    overview = client.stats.get_outbound_overview()
    assert (overview.sent, overview.bounced, overview.bounce_rate) == (4, 1, 25.0)
    assert (overview.opens, overview.unique_opens, overview.with_platform_recorded) == (3, 2, 1)
    assert (overview.total_clicks, overview.unique_links_clicked) == (2, 1)
    assert (overview.tracked, overview.with_open_tracking, overview.with_link_tracking) == (3, 3, 3)
    assert overview.total_tracked_links_sent == 3
    tagged = client.stats.get_outbound_overview(tag="welcome")
    assert (tagged.sent, tagged.bounced, tagged.opens) == (3, 1, 3)
    sends = client.stats.get_sent_counts()
    assert sends.sent == 4 and len(sends.days) == 1 and sends.days[0].sent == 4
    bounces = client.stats.get_bounce_counts()
    assert bounces.hard_bounce == 1 and bounces.soft_bounce is None
    assert bounces.days[0].hard_bounce == 1


def test_stats_are_per_day_and_filtered_by_date() -> None:
    fake = FakePostmark(clock=fixed_clock(datetime(2025, 3, 1, 23, 59, 58, tzinfo=EASTERN)))
    with ServerClient(fake.server_token, transport=fake.transport()) as client:
        for _ in range(3):  # the clock crosses midnight between the second and third send
            client.email.send(from_=SENDER, to="x@example.com", text_body="x")
        counts = client.stats.get_sent_counts()
        assert [(d.date.isoformat(), d.sent) for d in counts.days] == [
            ("2025-03-01", 2),
            ("2025-03-02", 1),
        ]
        assert client.stats.get_sent_counts(from_date=date(2025, 3, 2)).sent == 1
        assert client.stats.get_outbound_overview(to_date=date(2025, 3, 1)).sent == 2
        assert client.stats.get_bounce_counts().days == []


def test_the_demo_seed_is_deterministic() -> None:
    first, second = FakePostmark(seed="demo"), FakePostmark(seed="demo")
    assert first.messages() == second.messages()
    assert first.bounces() == second.bounces()
    assert first.templates() == second.templates()
    assert [m["Subject"] for m in first.messages()] == [
        "Welcome to Acme, Alice!",
        "Your receipt",
        "Welcome aboard",
    ]
    assert first.messages()[0]["ReceivedAt"].startswith("2025-01-06T09:")
    assert [b["Type"] for b in first.bounces()] == ["HardBounce"]
    assert sorted(m["Status"] for m in first.inbound_messages()) == [
        "Blocked",
        "Failed",
        "Processed",
    ]
    assert FakePostmark(seed="other").messages() == []
