"""Idempotency keys in Metadata, and the reconciliation of sends that failed ambiguously.

A scripted transport in front of the in-process fake decides, call by call, whether a send
goes through, fails with a 500 before or after the fake stored it, or times out after it was
stored; the fake's search index lags on a clock the client's injected sleep moves on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from postmark_client import AsyncServerClient, ServerClient, models
from postmark_client.errors import (
    BatchFailedError,
    MessageMaybeSentError,
    RequestValidationError,
    ServerError,
)
from postmark_client.testing import FakePostmark

SENDER = "sender@example.com"
KEY = "idempotency_key"


class Clock:
    """The fake's lag clock; the client's sleep moves it on and records each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Scripted(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends (POST /email...) follow the script; everything else reaches the fake as it is.

    Steps: "ok", "500 before" (not stored), "500 after" (stored, then 500), "timeout after"
    (stored, then a read timeout); "search 500" and "search 401" for searches (a search takes
    a step when the script's next step starts with "search").
    """

    def __init__(self, fake: FakePostmark, *steps: str) -> None:
        self.inner = fake.transport()
        self.steps = list(steps)
        self.sends: list[httpx.Request] = []
        self.searches: list[httpx.Request] = []

    def _step(self, search: bool) -> str:
        if self.steps and self.steps[0].startswith("search") == search:
            return self.steps.pop(0)
        return "ok"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        search = request.method == "GET"
        (self.searches if search else self.sends).append(request)
        step = self._step(search)
        if step in ("500 before", "search 500"):
            return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal server error."})
        if step == "422":
            return httpx.Response(422, json={"ErrorCode": 300, "Message": "Invalid email request"})
        if step == "search 401":
            return httpx.Response(401, json={"ErrorCode": 10, "Message": "Bad or missing token."})
        response = self.inner.handle_request(request)
        if step == "500 after":
            return httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal server error."})
        if step == "timeout after":
            raise httpx.ReadTimeout("no answer", request=request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)


def keys_of(requests: list[httpx.Request]) -> list[str]:
    return [json.loads(r.content)["Metadata"][KEY] for r in requests]


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def fake(clock: Clock) -> FakePostmark:
    return FakePostmark(search_lag=1.5, lag_clock=clock)


def client_for(transport: Scripted, clock: Clock, **options: Any) -> ServerClient:
    options.setdefault("max_retries", 0)
    return ServerClient("fake-server-token", transport=transport, sleep=clock.sleep, **options)


def send(client: ServerClient, **extra: Any) -> models.SendEmailResponse:
    return client.email.send(
        from_=SENDER, to="jane@example.com", subject="Hi", text_body="x", **extra
    )


# ---- the key ----------------------------------------------------------------------------------


def test_every_send_carries_a_new_key_beside_the_callers_metadata(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake)
    client = client_for(transport, clock)
    send(client, metadata={"order": "42"})
    send(client)
    first, second = keys_of(transport.sends)
    assert re.fullmatch("[0-9a-f]{32}", first) and first != second
    assert fake.messages()[0]["Metadata"] == {"order": "42", KEY: first}


def test_the_caller_may_pass_its_own_key_and_turn_keys_off(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake)
    send(client_for(transport, clock), idempotency_key="order-42-welcome")
    send(client_for(transport, clock, idempotency_keys=False))
    assert keys_of(transport.sends[:1]) == ["order-42-welcome"]
    assert b"Metadata" not in transport.sends[1].content


@pytest.mark.parametrize(
    ("metadata", "key", "field", "rule"),
    [
        ({f"f{i}": "v" for i in range(10)}, None, "body.Metadata", "at most 10 metadata fields"),
        ({"a" * 21: "v"}, None, "body.Metadata." + "a" * 21, "at most 20"),
        ({"order": "v" * 81}, None, "body.Metadata.order", "at most 80"),
        ({"Order": "1", "order": "2"}, None, "body.Metadata.order", "only in case"),
        ({}, "k" * 81, "body.Metadata.idempotency_key", "at most 80"),
        ({KEY: "mine"}, "other", "body.Metadata.idempotency_key", "give the key once"),
    ],
)
def test_metadata_limits_count_the_key_and_name_the_field(
    fake: FakePostmark,
    clock: Clock,
    metadata: dict[str, str],
    key: str | None,
    field: str,
    rule: str,
) -> None:
    transport = Scripted(fake)
    with pytest.raises(RequestValidationError, match=rule) as caught:
        send(client_for(transport, clock), metadata=metadata, idempotency_key=key)
    assert caught.value.field == field
    assert transport.sends == []


# ---- reconciling one send ---------------------------------------------------------------------


def test_a_500_after_storing_is_found_by_its_key_and_not_sent_again(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 after")
    result = send(client_for(transport, clock))
    (stored,) = fake.messages()
    assert result.message_id == stored["MessageID"] and result.to == "jane@example.com"
    assert len(transport.sends) == 1
    # The index lags 1.5 s: searched at once and after 1 s (not yet), then after 2 s more.
    assert clock.waits == [1.0, 2.0] and len(transport.searches) == 3
    assert (
        transport.searches[0].url.params["metadata_idempotency_key"] == keys_of(transport.sends)[0]
    )


def test_a_timeout_after_storing_is_found_too(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake, "timeout after")
    result = send(client_for(transport, clock))
    assert [m["MessageID"] for m in fake.messages()] == [result.message_id]


def test_a_500_before_storing_is_sent_again_once_with_the_same_key(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 before")
    result = send(client_for(transport, clock, reconcile_waits=(0.5, 0.5)))
    (stored,) = fake.messages()
    assert result.message_id == stored["MessageID"]
    first, second = keys_of(transport.sends)
    assert first == second and stored["Metadata"][KEY] == first
    assert clock.waits == [0.5, 0.5]  # the configured waits, and nothing after the good resend


def test_the_resend_is_reconciled_too(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake, "500 before", "500 after")
    result = send(client_for(transport, clock, max_retries=2))
    assert [m["MessageID"] for m in fake.messages()] == [result.message_id]
    assert len(transport.sends) == 2


def test_a_search_that_fails_for_a_passing_reason_is_tried_again(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 after", "search 500", "search 500")
    result = send(client_for(transport, clock))
    assert [m["MessageID"] for m in fake.messages()] == [result.message_id]
    assert len(transport.sends) == 1


def test_a_search_that_cannot_run_leaves_a_maybe_sent_error_that_carries_the_key(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 after", "search 401")
    client = client_for(transport, clock)
    with pytest.raises(MessageMaybeSentError, match="search for its key failed") as caught:
        send(client)
    key = caught.value.idempotency_key
    assert key == keys_of(transport.sends)[0] and len(transport.sends) == 1
    clock.now += 10
    found = client.email.reconcile(key or "")
    assert found is not None and found.message_id == fake.messages()[0]["MessageID"]
    assert client.email.reconcile("never-sent") is None


def test_not_found_after_the_resend_is_an_error_saying_it_was_not_sent(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 before", "500 before")
    with pytest.raises(ServerError) as caught:
        send(client_for(transport, clock, reconcile_waits=(1.0,)))
    assert not isinstance(caught.value, MessageMaybeSentError) and fake.messages() == []
    assert "not found by its idempotency key" in caught.value.message
    assert "it was not sent" in str(caught.value) and "may or may not" not in str(caught.value)
    assert len(transport.sends) == 2


def test_a_message_not_found_is_sent_again_once_whatever_max_retries_says(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 before", "500 before", "500 before")
    client = client_for(transport, clock, max_retries=3, reconcile_waits=(1.0,))
    with pytest.raises(ServerError) as caught:
        send(client)
    assert len(transport.sends) == 2 and fake.messages() == []
    assert "after 2 attempts" in caught.value.message
    first, second = keys_of(transport.sends)
    assert first == second


def test_without_keys_a_500_is_raised_as_before(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake, "500 after")
    with pytest.raises(ServerError):
        send(client_for(transport, clock, idempotency_keys=False))
    assert transport.searches == [] and clock.waits == []


def test_the_reconcile_waits_are_checked(fake: FakePostmark, clock: Clock) -> None:
    with pytest.raises(ValueError, match="reconcile_waits"):
        client_for(Scripted(fake), clock, reconcile_waits=(1.0, -1.0))


def test_async_sends_reconcile_the_same_way(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake, "500 after", "500 before")

    async def run() -> list[str | None]:
        async with AsyncServerClient(
            "fake-server-token", transport=transport, sleep=clock.async_sleep, max_retries=0
        ) as client:
            results = [
                await client.email.send(from_=SENDER, to=f"u{i}@example.com", text_body="x")
                for i in range(2)
            ]
            found = await client.email.reconcile(keys_of(transport.sends)[0])
            return [r.message_id for r in results] + [found.message_id if found else None]

    first, second, found = asyncio.run(run())
    assert sorted(m["MessageID"] for m in fake.messages()) == sorted([first, second])
    assert found == first and len(transport.sends) == 3


# ---- batches ----------------------------------------------------------------------------------


def batch(count: int) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield {
            "From": SENDER,
            "To": f"u{index}@example.com",
            "TextBody": "x",
            "Subject": str(index),
        }


@pytest.fixture()
def calls_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """send_batch split into calls of 2 messages (Postmark's limit is 500)."""
    from postmark_client._operations import _email

    op = _email.SEND_EMAIL_BATCH
    limits = tuple(
        (
            dataclasses.replace(limit, max=2)
            if limit.unit == "items" and limit.scope == "request"
            else limit
        )
        for limit in op.limits
    )
    monkeypatch.setattr(_email, "SEND_EMAIL_BATCH", dataclasses.replace(op, limits=limits))


@pytest.mark.usefixtures("calls_of_two")
def test_a_batch_reconciles_only_its_uncertain_call_and_keeps_every_index(
    fake: FakePostmark, clock: Clock
) -> None:
    # The second call fails after storing, the third before storing.
    transport = Scripted(fake, "ok", "500 after", "500 before")
    result = client_for(transport, clock).email.send_batch(batch(6))
    assert result.all_succeeded and [o.index for o in result] == list(range(6))
    stored = {m["Subject"]: m["MessageID"] for m in fake.messages()}
    assert sorted(stored) == [str(i) for i in range(6)]  # each once
    assert [o.result.message_id if o.result else None for o in result] == [
        stored[str(i)] for i in range(6)
    ]
    # Three calls, then one call again with only the two messages that were not stored.
    assert [len(json.loads(r.content)) for r in transport.sends] == [2, 2, 2, 2]
    assert [m["Subject"] for m in json.loads(transport.sends[3].content)] == ["4", "5"]
    assert result.calls == 4


def test_search_outbound_filters_by_one_metadata_field(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake)
    client = client_for(transport, clock)
    send(client, metadata={"order": "42"})
    send(client, metadata={"order": "43"})
    clock.now += 2
    page = client.messages.search_outbound(metadata={"order": "42"})
    assert [m.metadata["order"] for m in page.items if m.metadata] == ["42"]
    assert transport.searches[-1].url.params["metadata_order"] == "42"
    with pytest.raises(RequestValidationError, match="mapping"):
        client.messages.search_outbound(metadata="order=42")  # type: ignore[arg-type]


def test_an_empty_key_is_refused(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake)
    for options in ({}, {"idempotency_keys": False}):
        with pytest.raises(RequestValidationError, match="non-empty") as caught:
            send(client_for(transport, clock, **options), idempotency_key=" ")
        assert caught.value.field == "idempotency_key"
    assert transport.sends == []


def test_a_search_the_agents_policy_does_not_allow_leaves_the_key(
    fake: FakePostmark, clock: Clock, tmp_path: Any
) -> None:
    from postmark_client._audit import AuditLog
    from postmark_client.access import Policy

    policy_file = tmp_path / "agents.toml"
    policy_file.write_text('audit = "audit.sqlite"\n[agents.mailer]\nemail = "full"\n')
    policy = Policy.load(policy_file)
    transport = Scripted(fake, "500 after")
    client = client_for(transport, clock, access=policy.access("mailer"))
    with pytest.raises(MessageMaybeSentError, match="search for its key failed") as caught:
        send(client)
    assert caught.value.idempotency_key == keys_of(transport.sends)[0]
    assert transport.searches == [] and len(fake.messages()) == 1
    rows = AuditLog(policy.audit_path).entries()
    assert [(r.operation, r.decision) for r in rows] == [
        ("send_email", "allowed"),
        ("search_outbound_messages", "denied"),
    ]


def test_an_async_batch_reconciles_its_uncertain_call(fake: FakePostmark, clock: Clock) -> None:
    transport = Scripted(fake, "timeout after")

    async def run() -> Any:
        async with AsyncServerClient(
            "fake-server-token", transport=transport, sleep=clock.async_sleep, max_retries=0
        ) as client:
            return await client.email.send_batch(batch(3))

    result = asyncio.run(run())
    assert result.all_succeeded and len(transport.sends) == 1
    stored = {m["Subject"]: m["MessageID"] for m in fake.messages()}
    assert [o.result.message_id for o in result if o.result] == [stored[str(i)] for i in range(3)]


@pytest.mark.usefixtures("calls_of_two")
def test_a_batch_that_fails_later_still_settles_its_uncertain_call(
    fake: FakePostmark, clock: Clock
) -> None:
    transport = Scripted(fake, "500 after", "422")
    with pytest.raises(BatchFailedError) as caught:
        client_for(transport, clock).email.send_batch(batch(6))
    result = caught.value.result
    assert [o.status for o in result] == ["sent"] * 2 + ["rejected"] * 2 + ["not_sent"] * 2
    assert sorted(m["Subject"] for m in fake.messages()) == ["0", "1"]
    assert len(transport.sends) == 2


def test_the_search_lag_is_checked_and_postmark_fake_takes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from postmark_client.testing._server import build_parser, main

    with pytest.raises(ValueError, match="search_lag"):
        FakePostmark(search_lag=-1)
    assert build_parser().parse_args(["--search-lag", "1.5"]).search_lag == 1.5
    with pytest.raises(SystemExit) as exited:
        main(["--search-lag", "-2"])
    assert exited.value.code == 2 and "search_lag" in capsys.readouterr().err
