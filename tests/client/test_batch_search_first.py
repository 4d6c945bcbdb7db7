"""A batch sent again after a call with its keys may have sent some (`search_first`): each
message is searched for by its idempotency key, and only the ones not found are sent."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
from postmark_client import AsyncServerClient, ServerClient, models
from postmark_client._operations import _email
from postmark_client.testing import FakePostmark

KEY = "idempotency_key"


class Counted(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The fake, with every send (POST) it received kept."""

    def __init__(self, fake: FakePostmark) -> None:
        self.inner = fake.transport()
        self.sends: list[list[dict[str, Any]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.sends.append(json.loads(request.content))
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)


def message(key: str) -> dict[str, Any]:
    return {
        "From": "sender@example.com",
        "To": "jane@example.com",
        "Subject": key,
        "TextBody": "x",
        "Metadata": {KEY: key},
    }


def stored_keys(fake: FakePostmark) -> Counter[str]:
    return Counter(m["Metadata"][KEY] for m in fake.messages())


def test_only_the_messages_not_found_by_their_keys_are_sent() -> None:
    fake = FakePostmark()
    transport = Counted(fake)
    waits: list[float] = []
    with ServerClient(
        fake.server_token, transport=transport, sleep=waits.append, max_retries=0
    ) as client:
        first = client.email.send_batch([message("k-0")])
        again = client.request_batch(
            _email.SEND_EMAIL_BATCH,
            [message("k-0"), message("k-1")],
            cast_item=models.SendEmailResponse.from_dict,
            search_first=True,
        )
    assert stored_keys(fake) == Counter({"k-0": 1, "k-1": 1})
    assert [[m["Metadata"][KEY] for m in call] for call in transport.sends] == [["k-0"], ["k-1"]]
    assert again.all_succeeded and again.calls == 1
    assert again[0].result is not None and first[0].result is not None
    assert again[0].result.message_id == first[0].result.message_id
    assert again[0].error_message == f"reconciled: already sent as {again[0].result.message_id}"
    assert [o.index for o in again.reconciled] == [0]
    assert waits == [1.0, 2.0, 4.0, 8.0]  # k-1 is sent only after the search's waits


def test_an_async_batch_searches_first_the_same_way() -> None:
    fake = FakePostmark()
    transport = Counted(fake)

    async def run() -> Any:
        async def no_wait(seconds: float) -> None:
            return None

        async with AsyncServerClient(
            fake.server_token, transport=transport, sleep=no_wait
        ) as client:
            await client.email.send_batch([message("a-0"), message("a-1")])
            return await client.request_batch(
                _email.SEND_EMAIL_BATCH,
                [message("a-0"), message("a-1")],
                cast_item=models.SendEmailResponse.from_dict,
                search_first=True,
            )

    again = asyncio.run(run())
    assert stored_keys(fake) == Counter({"a-0": 1, "a-1": 1}) and len(transport.sends) == 1
    assert [o.index for o in again.reconciled] == [0, 1] and again.calls == 0
