"""The Bulk API (release note 2026-03-05) in the fake: a bulk request is accepted at once, then
moves Accepted -> Processing -> Completed, one step per status read, and its messages become
outbound messages like any send's (search finds them, Delivery webhooks fire).

Skipped while the spec has no Bulk API: the fake grows these operations with the spec.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from fake_support import SpecCheckingTransport, assert_fits, call, error_of, no_sleep
from postmark_client import AccountClient, AsyncServerClient, ServerClient, models
from postmark_client._operations import OPERATIONS
from postmark_client.errors import APIError, NotFoundError
from postmark_client.testing import FakePostmark
from postmark_client.testing._fake import TEST_TOKEN

pytestmark = pytest.mark.skipif(
    not {"send_bulk_email", "get_bulk_email_status"} <= set(OPERATIONS),
    reason="the spec has no Bulk API yet (POST /email/bulk, GET /email/bulk/{bulkRequestId})",
)

SENDER = "news@example.com"
PEOPLE = {
    "ada@example.com": "Ada",
    "grace@example.com": "Grace",
    "edsger@example.com": "Edsger",
    "barbara@example.com": "Barbara",
}


def recipients(**metadata: str) -> list[Any]:
    return [
        models.BulkEmailMessage(
            to=address,
            template_model={"FirstName": name},
            metadata={"person": name, **metadata},
        )
        for address, name in PEOPLE.items()
    ]


def send_bulk(client: ServerClient, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "from_": SENDER,
        "recipients": recipients(),
        "subject": "Hello {{FirstName}}",
        "html_body": "<p>Hello {{FirstName}}</p>",
        "text_body": "Hello {{FirstName}}",
        "message_stream": "broadcast",
        "tag": "march-news",
        "metadata": {"campaign": "march"},
    }
    arguments.update(overrides)
    return client.email.send_bulk(**arguments)


def progress(client: ServerClient, bulk_id: str, reads: int) -> list[tuple[str, float, int]]:
    found = []
    for _ in range(reads):
        status = client.email.get_bulk_status(bulk_id)
        assert status.id == bulk_id
        found.append((status.status, status.percentage_completed, status.total_messages))
    return found


def bulk_messages(fake: FakePostmark) -> list[dict[str, Any]]:
    return [m for m in fake.messages() if m["Tag"] == "march-news"]


# ---- the flow ------------------------------------------------------------------------------------


def test_a_bulk_request_is_accepted_then_processing_then_completed(
    client: ServerClient, fake: FakePostmark, checked: SpecCheckingTransport
) -> None:
    accepted = send_bulk(client)
    assert isinstance(accepted, models.BulkEmailResponse)
    assert accepted.status == "Accepted" and accepted.id and accepted.submitted_at is not None
    assert bulk_messages(fake) == []  # accepted, not sent yet

    assert progress(client, accepted.id, 1) == [("Accepted", 0.0, 4)]
    assert bulk_messages(fake) == []
    assert progress(client, accepted.id, 1) == [("Processing", 50.0, 4)]
    assert len(bulk_messages(fake)) == 2
    assert progress(client, accepted.id, 2) == [("Completed", 100.0, 4), ("Completed", 100.0, 4)]
    assert len(bulk_messages(fake)) == 4  # the last read sent nothing again

    status = client.email.get_bulk_status(accepted.id)
    assert status.subject == "Hello {{FirstName}}"
    assert status.submitted_at == accepted.submitted_at
    # every request and answer above was checked against the spec by the transport
    assert [r.url.path for r, _ in checked.seen].count("/email/bulk") == 1


def test_completed_messages_are_personalised_and_searchable(
    client: ServerClient, fake: FakePostmark
) -> None:
    accepted = send_bulk(client)
    progress(client, accepted.id, 3)

    by_recipient = {m["Recipients"][0]: m for m in bulk_messages(fake)}
    assert sorted(by_recipient) == sorted(PEOPLE)
    for address, name in PEOPLE.items():
        message = by_recipient[address]
        assert message["Subject"] == f"Hello {name}"
        assert message["TextBody"] == f"Hello {name}"
        assert message["HtmlBody"] == f"<p>Hello {name}</p>"
        assert message["From"] == SENDER
        assert message["MessageStream"] == "broadcast"
        # The caller's Metadata is kept; each recipient also carries its idempotency key.
        key = message["Metadata"].pop("idempotency_key")
        assert re.fullmatch(r"[0-9a-f]{32}-[0-9]+", key)
        assert message["Metadata"] == {"campaign": "march", "person": name}

    found = client.messages.search_outbound(recipient="grace@example.com", tag="march-news")
    assert [m.subject for m in found.items] == ["Hello Grace"]
    on_stream = client.messages.search_outbound(message_stream="broadcast", tag="march-news")
    assert on_stream.total_count == 4
    details = client.messages.get_outbound_details(by_recipient["ada@example.com"]["MessageID"])
    assert [e.type for e in details.message_events] == ["Delivered"]


def test_completed_messages_post_delivery_webhooks(fake: FakePostmark) -> None:
    posted: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200)

    fake.webhooks.configure(transport=httpx.MockTransport(receiver))
    fake.subscribe_webhook("Delivery", "https://hooks.example.com/delivery")
    with ServerClient(fake.server_token, transport=fake.transport(), sleep=no_sleep) as client:
        accepted = send_bulk(client)
        assert fake.webhooks.pending == []
        progress(client, accepted.id, 3)
    done = fake.deliver_webhooks()
    assert [(d.record_type, d.state) for d in done] == [("Delivery", "delivered")] * 4
    payloads = [d.payload for d in done]
    for payload in payloads:
        assert_fits("DeliveryWebhook", payload)
    assert sorted(p["Recipient"] for p in payloads) == sorted(PEOPLE)
    assert {p["Tag"] for p in payloads} == {"march-news"}
    assert len(posted) == 4


def test_a_bulk_request_with_a_server_template(client: ServerClient, fake: FakePostmark) -> None:
    client.templates.create(
        name="News", alias="news", subject="News for {{FirstName}}", text_body="Dear {{FirstName}}"
    )
    accepted = client.email.send_bulk(
        from_=SENDER,
        recipients=recipients(),
        template_alias="news",
        tag="march-news",
        message_stream="broadcast",
    )
    assert progress(client, accepted.id, 3)[-1] == ("Completed", 100.0, 4)
    subjects = sorted(m["Subject"] for m in bulk_messages(fake))
    assert subjects == sorted(f"News for {name}" for name in PEOPLE.values())
    assert {m["TextBody"] for m in bulk_messages(fake)} == {f"Dear {n}" for n in PEOPLE.values()}


def test_without_a_stream_it_lands_on_outbound_and_is_refused(
    client: ServerClient, fake: FakePostmark
) -> None:
    """Postmark's default stream is always the transactional `outbound`, which the Bulk API
    refuses: nothing is accepted, nothing lands on `broadcast`."""
    assert OPERATIONS["send_bulk_email"].default_stream == "outbound"
    with pytest.raises(APIError) as refused:
        send_bulk(client, message_stream=None)
    assert refused.value.error_code == 1236
    assert "'outbound' is a Transactional stream" in refused.value.message
    assert "no MessageStream was given" in refused.value.message
    assert fake.messages() == [] and fake.calls[-1].operation_id == "send_bulk_email"


def test_an_odd_count_is_released_half_rounded_down_first(
    client: ServerClient, fake: FakePostmark
) -> None:
    accepted = send_bulk(client, recipients=recipients()[:3])
    assert progress(client, accepted.id, 3) == [
        ("Accepted", 0.0, 3),
        ("Processing", 33.33, 3),
        ("Completed", 100.0, 3),
    ]


def test_a_recipient_suppressed_before_release_is_not_sent(
    client: ServerClient, fake: FakePostmark
) -> None:
    accepted = send_bulk(client)
    client.suppressions.create(
        "broadcast", suppressions=[models.SuppressionEntry(email_address="barbara@example.com")]
    )
    assert progress(client, accepted.id, 3)[-1] == ("Completed", 100.0, 4)
    assert sorted(m["Recipients"][0] for m in bulk_messages(fake)) == sorted(
        set(PEOPLE) - {"barbara@example.com"}
    )


def test_the_test_token_accepts_and_completes_without_sending(fake: FakePostmark) -> None:
    with ServerClient(TEST_TOKEN, transport=fake.transport(), sleep=no_sleep) as client:
        accepted = send_bulk(client)
        assert progress(client, accepted.id, 3)[-1] == ("Completed", 100.0, 4)
    assert bulk_messages(fake) == []


def test_a_bulk_request_belongs_to_its_server(fake: FakePostmark, client: ServerClient) -> None:
    accepted = send_bulk(client)
    with AccountClient(fake.account_token, transport=fake.transport(), sleep=no_sleep) as account:
        other_token = account.servers.create(name="Other").api_tokens[0]
    assert call(fake, "GET", f"/email/bulk/{accepted.id}").status_code == 200
    other = call(
        fake,
        "GET",
        f"/email/bulk/{accepted.id}",
        token=None,
        headers={"X-Postmark-Server-Token": other_token},
    )
    assert error_of(other) == (404, 12)


def test_the_async_client_follows_the_same_flow(fake: FakePostmark) -> None:
    async def no_async_sleep(seconds: float) -> None:
        return None

    async def run() -> list[str]:
        transport = SpecCheckingTransport(fake.transport())
        async with AsyncServerClient(
            fake.server_token, transport=transport, sleep=no_async_sleep
        ) as client:
            accepted = await client.email.send_bulk(
                from_=SENDER,
                recipients=recipients(),
                text_body="Hi {{FirstName}}",
                message_stream="broadcast",
                tag="march-news",
            )
            return [(await client.email.get_bulk_status(accepted.id)).status for _ in range(3)]

    assert asyncio.run(run()) == ["Accepted", "Processing", "Completed"]
    assert sorted(m["TextBody"] for m in bulk_messages(fake)) == sorted(
        f"Hi {name}" for name in PEOPLE.values()
    )


# ---- refusals (raw requests: what the client would not send), each answer checked against the spec


def body(**changes: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {
        "From": SENDER,
        "Subject": "Hello",
        "TextBody": "Hello {{FirstName}}",
        "MessageStream": "broadcast",
        "Messages": [{"To": "ada@example.com", "TemplateModel": {"FirstName": "Ada"}}],
    }
    sent.update(changes)
    return {key: value for key, value in sent.items() if value is not None}


@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        ({"From": None}, (422, 300), "'From' is required"),
        ({"Messages": []}, (422, 300), "at least 1"),
        ({"Messages": None}, (422, 300), "'Messages' is required"),
        ({"Messages": [{"Cc": "x@example.com"}]}, (422, 300), "'Messages[0].To' is required"),
        ({"Messages": [{"To": "not an address"}]}, (422, 300), "Message 0: Invalid 'To' address"),
        ({"From": "nobody"}, (422, 300), "Invalid 'From' address"),
        ({"TextBody": None}, (422, 300), "HtmlBody or TextBody"),
        ({"MessageStream": "outbound"}, (422, 1236), "broadcast message streams only"),
        ({"MessageStream": "inbound"}, (422, 1236), "broadcast message streams only"),
        ({"MessageStream": "newsletter"}, (422, 1235), "does not exist on this server"),
        ({"TemplateAlias": "news"}, (422, 1123), "'Subject' may not be given with a template"),
        (
            {"Subject": None, "TextBody": None, "TemplateId": 424242},
            (422, 1101),
            "not valid or was not found",
        ),
        ({"TextBody": "Hi {{#open}}"}, (422, 1122), "TextBody does not parse"),
        (
            {"Attachments": [{"Name": "run.exe", "Content": "eA==", "ContentType": "x/y"}]},
            (422, 411),
            "Forbidden attachment type",
        ),
    ],
)
def test_a_bad_request_is_refused_as_a_whole(
    fake: FakePostmark, changes: dict[str, Any], expected: tuple[int, int], words: str
) -> None:
    answer = call(fake, "POST", "/email/bulk", body(**changes))
    assert error_of(answer) == expected
    assert words in answer.json()["Message"]
    assert fake.messages() == []


def test_a_body_that_is_not_an_object_is_refused(fake: FakePostmark) -> None:
    assert error_of(call(fake, "POST", "/email/bulk", [body()])) == (422, 300)
    assert error_of(call(fake, "POST", "/email/bulk", b"{")) == (422, 402)


def test_a_good_raw_request_is_accepted(fake: FakePostmark) -> None:
    answer = call(fake, "POST", "/email/bulk", body())
    assert answer.status_code == 200
    assert answer.json()["Status"] == "Accepted"


def test_an_unknown_bulk_request_is_404_with_error_code_12(
    fake: FakePostmark, client: ServerClient
) -> None:
    answer = call(fake, "GET", "/email/bulk/f24af63c-533d-4b7a-ad65-4a7b3202d3a7")
    assert error_of(answer) == (404, 12)
    with pytest.raises(NotFoundError) as raised:
        client.email.get_bulk_status("no-such-request")
    assert (raised.value.status_code, raised.value.error_code) == (404, 12)


def test_the_request_size_limit_is_50_mb(fake: FakePostmark) -> None:
    big = "x" * (52_428_800 + 1)
    answer = call(fake, "POST", "/email/bulk", body(TextBody=big), check=False)
    assert error_of(answer) == (413, 300)
