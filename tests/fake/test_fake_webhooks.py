"""Webhooks from the fake: payloads shaped like the spec's webhook schemas, Basic auth from the
URL, retried until 200, given up on 403; flushed deterministically, or posted in the background
when the fake serves HTTP."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from fake_support import assert_fits, no_sleep
from postmark_client import AccountClient, ServerClient, models
from postmark_client.testing import FakePostmark
from postmark_client.testing._world import HOOK_SETTINGS

SENDER = "sender@example.com"
SCHEMAS = {
    record: f"{record}Webhook"
    for record in (
        "Delivery",
        "Bounce",
        "SpamComplaint",
        "Open",
        "Click",
        "SubscriptionChange",
        "Inbound",
    )
}


class Receiver:
    """An in-process webhook endpoint: records each POST and answers the next scripted status."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def payloads(self, record_type: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(r.content) for r in self.requests]
        return [
            p for p in found if record_type is None or p.get("RecordType", "Inbound") == record_type
        ]


def hooked_server(fake: FakePostmark, **hooks: object) -> tuple[ServerClient, str]:
    """A server created through the API with the given hook settings, a client for it, its token."""
    with AccountClient(fake.account_token, transport=fake.transport(), sleep=no_sleep) as account:
        server = account.servers.create(name="Hooked", **hooks)  # type: ignore[arg-type]
    token = server.api_tokens[0]
    return ServerClient(token, transport=fake.transport(), sleep=no_sleep), token


def test_a_send_posts_delivery_with_basic_auth_from_the_url(fake: FakePostmark) -> None:
    receiver = Receiver()
    fake.webhooks.configure(transport=httpx.MockTransport(receiver))
    client, _ = hooked_server(
        fake, delivery_hook_url="https://hook-user:s%3Acret@hooks.example.com/postmark/delivery"
    )
    sent = client.email.send(
        from_=SENDER, to="jane@example.com", text_body="x", tag="welcome", metadata={"id": "9"}
    )
    assert receiver.requests == []  # queued until delivered
    done = fake.deliver_webhooks()
    assert [(d.record_type, d.state, d.attempts) for d in done] == [
        ("Delivery", "delivered", [200])
    ]
    request = receiver.requests[0]
    assert str(request.url) == "https://hooks.example.com/postmark/delivery"
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"hook-user:s:cret").decode()
    )
    assert request.headers["Content-Type"] == "application/json"
    payload = receiver.payloads()[0]
    assert_fits("DeliveryWebhook", payload)
    assert payload["Metadata"].pop("idempotency_key")  # the send's key, beside the caller's
    assert (payload["MessageID"], payload["Recipient"], payload["Tag"], payload["Metadata"]) == (
        sent.message_id,
        "jane@example.com",
        "welcome",
        {"id": "9"},
    )
    assert "s:cret" not in repr(done[0])


def test_bounces_post_bounce_and_subscription_change(fake: FakePostmark) -> None:
    receiver = Receiver()
    fake.webhooks.configure(transport=httpx.MockTransport(receiver))
    client, token = hooked_server(
        fake,
        bounce_hook_url="https://hooks.example.com/bounce",
        delivery_hook_url="https://hooks.example.com/delivery",
    )
    fake.subscribe_webhook(
        "SubscriptionChange", "https://hooks.example.com/subscriptions", server_token=token
    )
    client.email.send(from_=SENDER, to="hardbounce@bounce-testing.postmarkapp.com", text_body="x")
    fake.deliver_webhooks()
    assert [p.get("RecordType") for p in receiver.payloads()] == ["Bounce", "SubscriptionChange"]
    bounce, change = receiver.payloads()
    assert_fits("BounceWebhook", bounce)
    assert "Content" not in bounce  # IncludeBounceContentInHook is off
    assert_fits("SubscriptionChangeWebhook", change)
    assert (change["SuppressSending"], change["SuppressionReason"], change["Origin"]) == (
        True,
        "HardBounce",
        "Recipient",
    )
    client.suppressions.delete(
        "outbound",
        suppressions=[
            models.SuppressionEntry(email_address="hardbounce@bounce-testing.postmarkapp.com")
        ],
    )
    fake.deliver_webhooks()
    reactivated = receiver.payloads("SubscriptionChange")[-1]
    assert_fits("SubscriptionChangeWebhook", reactivated)
    assert (
        reactivated["SuppressSending"],
        reactivated["SuppressionReason"],
        reactivated["MessageID"],
    ) == (False, None, None)


def test_every_payload_the_fake_posts_fits_its_schema(fake: FakePostmark) -> None:
    receiver = Receiver()
    fake.webhooks.configure(transport=httpx.MockTransport(receiver))
    hooks: dict[str, object] = {
        "delivery_hook_url": "https://h.example.com/d",
        "bounce_hook_url": "https://h.example.com/b",
        "open_hook_url": "https://h.example.com/o",
        "click_hook_url": "https://h.example.com/c",
        "inbound_hook_url": "https://h.example.com/i",
        "include_bounce_content_in_hook": True,
        "raw_email_enabled": True,
        "post_first_open_only": True,
    }
    client, token = hooked_server(fake, **hooks)
    fake.subscribe_webhook("SubscriptionChange", "https://h.example.com/s", server_token=token)
    sent = client.email.send(
        from_=SENDER,
        to="jane@example.com",
        html_body='<a href="https://example.com">x</a>',
        track_opens=True,
        track_links="HtmlOnly",
    )
    message_id = sent.message_id or ""
    fake.open(message_id, server_token=token)
    fake.open(message_id, server_token=token)  # not posted: PostFirstOpenOnly
    fake.click(message_id, "https://example.com", server_token=token)
    fake.spam_complaint(message_id, server_token=token)
    client.email.send(from_=SENDER, to="hardbounce@bounce-testing.postmarkapp.com", text_body="x")
    fake.receive_inbound("carol@example.net", subject="Hi", text_body="Hello", server_token=token)
    client.suppressions.create(
        "outbound", suppressions=[models.SuppressionEntry(email_address="x@example.com")]
    )
    fake.deliver_webhooks()
    kinds = [p.get("RecordType", "Inbound") for p in receiver.payloads()]
    assert sorted(set(kinds)) == sorted(SCHEMAS)
    assert kinds.count("Open") == 1
    for payload, kind in zip(receiver.payloads(), kinds, strict=True):
        assert_fits(SCHEMAS[kind], payload)
        assert_fits("WebhookPayload", payload)
    assert receiver.payloads("Bounce")[0]["Content"]  # IncludeBounceContentInHook is on
    assert "RawEmail" in receiver.payloads("Inbound")[0]
    assert {str(r.url) for r in receiver.requests} == {
        "https://h.example.com/d", "https://h.example.com/b", "https://h.example.com/o",
        "https://h.example.com/c", "https://h.example.com/i", "https://h.example.com/s",
    }  # fmt: skip


def test_retried_until_200_with_the_backoff_slept_through_the_injected_sleep(
    fake: FakePostmark,
) -> None:
    receiver = Receiver(500, 503, 200)
    waits: list[float] = []
    fake.webhooks.configure(
        transport=httpx.MockTransport(receiver), backoff=(1.0, 5.0), sleep=waits.append
    )
    client, _ = hooked_server(fake, delivery_hook_url="https://hooks.example.com/d")
    client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
    (delivery,) = fake.deliver_webhooks()
    assert (delivery.state, delivery.attempts) == ("delivered", [500, 503, 200])
    assert waits == [1.0, 5.0]
    assert len(receiver.requests) == 3


def test_a_403_stops_the_retries(fake: FakePostmark) -> None:
    receiver = Receiver(403, 200)
    fake.webhooks.configure(transport=httpx.MockTransport(receiver))
    client, _ = hooked_server(fake, delivery_hook_url="https://hooks.example.com/d")
    client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
    (delivery,) = fake.deliver_webhooks()
    assert (delivery.state, delivery.attempts) == ("refused", [403])
    assert fake.webhooks.pending == []


def test_attempts_are_bounded_and_connection_errors_count(fake: FakePostmark) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.webhooks.configure(transport=httpx.MockTransport(unreachable), max_attempts=3)
    client, _ = hooked_server(fake, delivery_hook_url="https://hooks.example.com/d")
    client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
    (delivery,) = fake.deliver_webhooks()
    assert delivery.state == "failed"
    assert len(delivery.attempts) == 3 and all("ConnectError" in str(a) for a in delivery.attempts)


def test_nothing_is_posted_without_hook_urls(fake: FakePostmark, client: ServerClient) -> None:
    client.email.send(from_=SENDER, to="hardbounce@bounce-testing.postmarkapp.com", text_body="x")
    assert fake.webhooks.pending == [] and fake.deliver_webhooks() == []


def test_hook_settings_cover_every_webhook_with_a_server_setting() -> None:
    assert set(HOOK_SETTINGS.values()) == {
        "DeliveryHookUrl",
        "BounceHookUrl",
        "OpenHookUrl",
        "ClickHookUrl",
        "InboundHookUrl",
    }
    with pytest.raises(ValueError):
        FakePostmark().subscribe_webhook("Unsubscribe", "https://example.com")


class _Recorder(BaseHTTPRequestHandler):
    posts: ClassVar[list[tuple[str, dict[str, str], bytes]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def loopback_receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    posts: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"posts": posts})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", posts
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_over_http_webhooks_go_out_in_the_background_and_flush_deterministically(
    loopback_receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]],
) -> None:
    url, posts = loopback_receiver
    fake = FakePostmark()
    with fake.serve() as server:
        hook = url.replace("http://", "http://hooks:pw@") + "/delivery"
        with AccountClient(fake.account_token, base_url=server.url) as account:
            created = account.servers.create(name="Hooked", delivery_hook_url=hook)
        with ServerClient(created.api_tokens[0], base_url=server.url) as client:
            client.email.send(from_=SENDER, to="jane@example.com", text_body="x")
        fake.deliver_webhooks()  # waits for the background worker's delivery in flight
        assert len(posts) == 1
        path, headers, body = posts[0]
        assert path == "/delivery"
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"hooks:pw").decode()
        assert_fits("DeliveryWebhook", json.loads(body))
        assert [d.state for d in fake.webhooks.log] == ["delivered"]
