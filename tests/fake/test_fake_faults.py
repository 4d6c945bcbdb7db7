"""Fault injection: 429/503 answers change nothing, and a 500 that came after the message was
stored is reconciled by its idempotency key, so every message arrives once."""

from __future__ import annotations

import asyncio

import pytest
from fake_support import SpecCheckingTransport
from postmark_client import AsyncServerClient, ServerClient
from postmark_client.errors import RateLimitError, ServerError
from postmark_client.testing import FakePostmark

SENDER = "sender@example.com"


class Sleeps:
    """Records what the client (or the fake) would have waited; never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_1000_sends_at_a_30_percent_fault_rate_all_arrive_exactly_once() -> None:
    fake = FakePostmark()
    fake.faults.configure(rate=0.3, statuses=(429, 500, 503), seed=1234)
    sleeps = Sleeps()
    # Enough retries that the searches of the reconciliations get through 30% faults too.
    with ServerClient(
        fake.server_token, transport=fake.transport(), sleep=sleeps, max_retries=10
    ) as client:
        for index in range(1000):
            client.email.send(
                from_=SENDER,
                to=f"user{index}@example.com",
                subject=f"message {index}",
                text_body="x",
            )
    stored = fake.messages()
    assert sorted(m["Subject"] for m in stored) == sorted(f"message {i}" for i in range(1000))
    calls = [c for c in fake.calls if c.operation_id == "send_email"]
    assert [c for c in calls if not c.fault and c.status != 200] == []
    assert set(fake.faults.injected) == {429, 500, 503}
    # Some 500s came after the message was stored: those were found, not sent again.
    assert 0 < fake.faults.after_stored < fake.faults.injected[500]
    assert any(c.operation_id == "search_outbound_messages" for c in fake.calls)
    assert sleeps.waits  # the client backed off on 429/503, without really sleeping


def test_async_sends_through_faults_arrive_exactly_once() -> None:
    fake = FakePostmark()
    fake.faults.configure(rate=0.3, seed=99)
    sleeps = Sleeps()

    async def run() -> None:
        async with AsyncServerClient(
            fake.server_token, transport=fake.transport(), sleep=sleeps.async_sleep, max_retries=10
        ) as client:
            for index in range(200):
                await client.email.send(
                    from_=SENDER, to=f"u{index}@example.com", subject=str(index), text_body="x"
                )

    asyncio.run(run())
    assert sorted(int(m["Subject"]) for m in fake.messages()) == list(range(200))
    assert fake.faults.after_stored > 0


def test_retried_creates_through_429_and_503_store_one_template_each() -> None:
    fake = FakePostmark()
    fake.faults.configure(rate=0.5, statuses=(429, 503), seed=7)
    checked = SpecCheckingTransport(fake.transport())
    with ServerClient(
        fake.server_token, transport=checked, sleep=Sleeps(), max_retries=10
    ) as client:
        for index in range(50):
            client.templates.create(name=f"T{index}", subject="S", text_body="B")
    assert sorted(t["Name"] for t in fake.templates()) == sorted(f"T{i}" for i in range(50))
    assert fake.faults.injected[429] + fake.faults.injected[503] > 10
    assert {r.status_code for _, r in checked.seen} == {200, 429, 503}  # faults fit the spec too


def test_latency_waits_through_the_injected_sleep_in_every_mode() -> None:
    fake = FakePostmark()
    sleeps = Sleeps()
    fake.faults.configure(latency_ms=250, sleep=sleeps)
    with ServerClient(fake.server_token, transport=fake.transport()) as client:
        client.bounces.get_delivery_stats()
    assert sleeps.waits == [0.25]

    async def run() -> None:
        async with AsyncServerClient(fake.server_token, transport=fake.transport()) as client:
            await client.bounces.get_delivery_stats()

    asyncio.run(run())
    assert sleeps.waits == [0.25, 0.25]
    with fake.serve() as server, ServerClient(fake.server_token, base_url=server.url) as client:
        client.bounces.get_delivery_stats()
    assert sleeps.waits == [0.25, 0.25, 0.25]
    fake.faults.disable()
    with ServerClient(fake.server_token, transport=fake.transport()) as client:
        client.bounces.get_delivery_stats()
    assert len(sleeps.waits) == 3


def test_the_same_seed_gives_the_same_faults() -> None:
    def statuses(seed: int) -> list[int]:
        fake = FakePostmark()
        fake.faults.configure(rate=0.5, seed=seed)
        with ServerClient(fake.server_token, transport=fake.transport(), max_retries=0) as client:
            for _ in range(30):
                try:
                    client.bounces.get_delivery_stats()
                except (RateLimitError, ServerError):
                    pass
        return [c.status for c in fake.calls]

    assert statuses(5) == statuses(5)
    assert statuses(5) != statuses(6)


@pytest.mark.parametrize(
    "settings",
    [{"rate": 1.5}, {"rate": -0.1}, {"statuses": (404,)}, {"statuses": ()}, {"latency_ms": -1}],
)
def test_bad_fault_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FakePostmark().faults.configure(**settings)  # type: ignore[arg-type]
