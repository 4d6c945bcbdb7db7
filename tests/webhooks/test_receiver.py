"""The receiver: Basic-auth checking, and the WSGI and ASGI apps' answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmark_client.webhooks import (
    DeliveryWebhook,
    UnknownWebhook,
    WebhookEvent,
    make_asgi_app,
    make_wsgi_app,
    verify_basic_auth,
)

# Recorded Postmark payloads, kept in the repository (their sources: SOURCES.md there).
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
DELIVERY = {
    "RecordType": "Delivery", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Recipient": "john@example.com", "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details", "Tag": "welcome-email", "ServerID": 23,
    "Metadata": {"a_key": "a_value"}, "MessageStream": "outbound",
}  # fmt: skip
USER, PASSWORD = "hooks", "pa:ss-wörd"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


# ---- verify_basic_auth ----------------------------------------------------------------------


def test_basic_auth_accepts_exactly_the_credentials() -> None:
    assert verify_basic_auth(basic(USER, PASSWORD), USER, PASSWORD)
    assert verify_basic_auth("basic " + basic(USER, PASSWORD).split()[1], USER, PASSWORD)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(basic(USER, "wrong"), id="wrong-password"),
        pytest.param(basic("someone", PASSWORD), id="wrong-user"),
        pytest.param(basic(USER, PASSWORD + "x"), id="longer-password"),
        pytest.param(basic(USER, ""), id="empty-password"),
        pytest.param(
            "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), id="other-scheme"
        ),
        pytest.param("Basic !!!not-base64!!!", id="not-base64"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no-separator"),
        pytest.param("Basic", id="no-credentials"),
    ],
)
def test_basic_auth_refuses_anything_else(header: str | None) -> None:
    assert not verify_basic_auth(header, USER, PASSWORD)


def test_basic_auth_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module the receiver calls
    assert not verify_basic_auth(basic("nobody", PASSWORD), USER, PASSWORD)
    # Both parts are compared even when the user name already differs.
    assert len(compared) == 2


# ---- the WSGI app -----------------------------------------------------------------------------


class Recorder:
    def __init__(self, answer: object = None, error: Exception | None = None) -> None:
        self.events: list[WebhookEvent] = []
        self.answer = answer
        self.error = error

    def __call__(self, event: WebhookEvent) -> object:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.answer


def wsgi_client(handler: Recorder, **auth: Any) -> httpx.Client:
    app = make_wsgi_app(handler, **auth)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://receiver")


def test_wsgi_hands_the_typed_event_to_the_handler_and_answers_200() -> None:
    handler = Recorder()
    with wsgi_client(handler, username=USER, password=PASSWORD) as client:
        response = client.post(
            "/hooks", json=DELIVERY, headers={"Authorization": basic(USER, PASSWORD)}
        )
    assert response.status_code == 200
    assert len(handler.events) == 1
    event = handler.events[0]
    assert isinstance(event, DeliveryWebhook)
    assert event.message_id == DELIVERY["MessageID"]


def test_wsgi_answers_401_on_bad_credentials_without_calling_the_handler() -> None:
    handler = Recorder()
    with wsgi_client(handler, username=USER, password=PASSWORD) as client:
        missing = client.post("/hooks", json=DELIVERY)
        wrong = client.post("/hooks", json=DELIVERY, headers={"Authorization": basic(USER, "nope")})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert handler.events == []


def test_wsgi_answers_400_on_a_body_that_is_not_a_payload() -> None:
    handler = Recorder()
    with wsgi_client(handler) as client:
        bad_json = client.post("/", content=b"{nope")
        not_object = client.post("/", content=b"[]")
        empty = client.post("/", content=b"")
    assert [r.status_code for r in (bad_json, not_object, empty)] == [400, 400, 400]
    assert "not valid JSON" in bad_json.json()["error"]
    assert handler.events == []


def test_wsgi_passes_an_unknown_record_type_to_the_handler() -> None:
    handler = Recorder()
    with wsgi_client(handler) as client:
        response = client.post("/", json={"RecordType": "Novel", "A": 1})
    assert response.status_code == 200
    assert handler.events == [UnknownWebhook("Novel", {"RecordType": "Novel", "A": 1})]


def test_wsgi_returns_the_handler_s_status_403_to_stop_postmark() -> None:
    with wsgi_client(Recorder(answer=403)) as client:
        assert client.post("/", json=DELIVERY).status_code == 403


def test_wsgi_answers_500_when_the_handler_fails_so_postmark_retries() -> None:
    with wsgi_client(Recorder(error=RuntimeError("database down"))) as client:
        response = client.post("/", json=DELIVERY)
    assert response.status_code == 500
    assert "database down" not in response.text


def test_wsgi_refuses_other_methods_and_oversized_bodies() -> None:
    handler = Recorder()
    app = make_wsgi_app(handler, max_body_bytes=100)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://r") as client:
        assert client.get("/").status_code == 405
        assert (
            client.post("/", json={"RecordType": "Delivery", "Pad": "x" * 200}).status_code == 413
        )
    assert handler.events == []


def test_credentials_must_come_in_pairs() -> None:
    with pytest.raises(ValueError, match="both"):
        make_wsgi_app(Recorder(), username=USER)


# ---- the ASGI app ------------------------------------------------------------------------------


async def test_asgi_app_answers_like_the_wsgi_app_and_awaits_async_handlers() -> None:
    received: list[WebhookEvent] = []

    async def handler(event: WebhookEvent) -> int | None:
        received.append(event)
        return 403 if isinstance(event, UnknownWebhook) else None

    app = make_asgi_app(handler, username=USER, password=PASSWORD)
    auth = {"Authorization": basic(USER, PASSWORD)}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://r"
    ) as client:
        ok = await client.post("/", json=DELIVERY, headers=auth)
        refused = await client.post("/", json={"RecordType": "Novel"}, headers=auth)
        unauthorised = await client.post("/", json=DELIVERY)
        bad = await client.post("/", content=b"{", headers=auth)
    assert [ok.status_code, refused.status_code, unauthorised.status_code, bad.status_code] == [
        200,
        403,
        401,
        400,
    ]
    assert isinstance(received[0], DeliveryWebhook)
    assert len(received) == 2


def test_wsgi_receives_an_inbound_payload_without_record_type() -> None:
    handler = Recorder()
    with wsgi_client(handler) as client:
        response = client.post("/", content=(EXAMPLES / "webhook_Inbound.json").read_bytes())
    assert response.status_code == 200
    assert type(handler.events[0]).__name__ == "InboundWebhook"
    assert json.loads((EXAMPLES / "webhook_Inbound.json").read_text())["From"] == handler.events[0].from_  # type: ignore[union-attr]


async def test_asgi_app_completes_the_lifespan_protocol() -> None:
    app = make_asgi_app(Recorder())
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def _call_wsgi(app: Any, body: bytes, environ: dict[str, Any]) -> str:
    """The status line a WSGI app answers a POST with, `environ` on top of a minimal one."""
    import io

    statuses: list[str] = []
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/hooks", "wsgi.input": io.BytesIO(body)}
    b"".join(app({**base, **environ}, lambda status, headers: statuses.append(status)))
    return statuses[0]


def chunked(body: bytes, size: int = 7) -> bytes:
    """`body` in Transfer-Encoding: chunked framing, as it comes over the wire."""
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-T: 1\r\n\r\n"


def test_wsgi_reads_a_chunked_body_raw_or_taken_apart_by_the_server() -> None:
    """No Content-Length (Transfer-Encoding: chunked): a server that takes the chunks apart says
    so with wsgi.input_terminated (the stream ends with the body); one that does not (wsgiref)
    passes the chunks as sent, which the app decodes."""
    handler = Recorder()
    app = make_wsgi_app(handler)
    body = json.dumps(DELIVERY).encode()
    status = _call_wsgi(app, chunked(body), {"HTTP_TRANSFER_ENCODING": "chunked"})
    assert status.startswith("200") and len(handler.events) == 1
    terminated = _call_wsgi(app, body, {"wsgi.input_terminated": True})
    assert terminated.startswith("200") and len(handler.events) == 2
    broken = _call_wsgi(app, body, {"HTTP_TRANSFER_ENCODING": "chunked"})
    assert broken.startswith("400") and len(handler.events) == 2


def test_wsgi_refuses_a_chunked_body_past_the_size_cap() -> None:
    handler = Recorder()
    app = make_wsgi_app(handler, max_body_bytes=100)
    status = _call_wsgi(app, chunked(b"x" * 1000), {"HTTP_TRANSFER_ENCODING": "chunked"})
    assert status.startswith("413") and handler.events == []
    terminated = _call_wsgi(app, b"x" * 1000, {"wsgi.input_terminated": True})
    assert terminated.startswith("413") and handler.events == []
