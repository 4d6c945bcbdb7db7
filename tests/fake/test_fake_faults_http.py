"""Sends under faults over real HTTP: many concurrent clients, 30% injected
429/500/503 and a server that drops connections after reading a send. Every message is stored
exactly once, or its caller was told it may have been sent, or was told of an error that came
before processing; none is silently lost or stored twice.

2,000 sends by default (a few seconds); POSTMARK_FAULT_SENDS=10000 runs the full-size version
(POSTMARK_FAULT_CLIENTS sets the number of client threads, default 100).
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from postmark_client import ServerClient
from postmark_client.errors import (
    MessageMaybeSentError,
    RateLimitError,
    ServerError,
)
from postmark_client.testing import FakePostmark

SENDS = int(os.environ.get("POSTMARK_FAULT_SENDS", "2000"))
CLIENTS = int(os.environ.get("POSTMARK_FAULT_CLIENTS", "100"))


def no_sleep(seconds: float) -> None:
    """Backoff is recorded by nobody and waited by nobody: the test never sleeps."""


def test_sends_under_faults_and_drops_over_http_are_stored_once_or_reported() -> None:
    fake = FakePostmark()
    fake.faults.configure(rate=0.3, statuses=(429, 500, 503), drop_rate=0.05, seed=2026)
    outcome: dict[str, str] = {}
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def client_thread(first: int, server_url: str) -> None:
        with ServerClient(
            fake.server_token, base_url=server_url, sleep=no_sleep, max_retries=2, timeout=30
        ) as client:
            for index in range(first, SENDS, CLIENTS):
                subject = f"message {index}"
                try:
                    client.email.send(
                        from_="sender@example.com",
                        to=f"user{index}@example.com",
                        subject=subject,
                        text_body="x",
                    )
                    result = "sent"
                except MessageMaybeSentError:
                    result = "maybe sent"
                except (RateLimitError, ServerError):
                    # 429/503 beyond the retries, or a 500: answered before processing.
                    result = "error before processing"
                except BaseException as exc:  # noqa: BLE001 - reported below
                    result = "unexpected"
                    with lock:
                        unexpected.append(exc)
                with lock:
                    outcome[subject] = result

    with fake.serve() as server:
        threads = [
            threading.Thread(target=client_thread, args=(i, server.url)) for i in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads)

    stored = Counter(message["Subject"] for message in fake.messages())
    results = Counter(outcome.values())
    maybe = [s for s, r in outcome.items() if r == "maybe sent"]
    counts = {
        "sends": SENDS,
        "clients": CLIENTS,
        **{f"caller: {name}": number for name, number in sorted(results.items())},
        "stored": sum(stored.values()),
        "maybe sent and stored": sum(1 for s in maybe if stored[s]),
        "maybe sent and not stored": sum(1 for s in maybe if not stored[s]),
        **{f"injected {status}": n for status, n in sorted(fake.faults.injected.items())},
        **{f"dropped {when} processing": n for when, n in sorted(fake.faults.dropped.items())},
    }
    print("\n" + "\n".join(f"  {name:>28}: {value:,}" for name, value in counts.items()))

    assert unexpected == []
    assert len(outcome) == SENDS
    assert set(stored) <= set(outcome)  # nothing stored that nobody sent
    assert [s for s, n in stored.items() if n > 1] == []  # nothing stored twice
    lost = [s for s, r in outcome.items() if r == "sent" and stored[s] != 1]
    assert lost == []  # no reported success without exactly one stored message
    ghosts = [s for s, r in outcome.items() if r == "error before processing" and stored[s]]
    assert ghosts == []  # an error before processing really left nothing behind
    # Every kind of trouble happened, so the counts above mean something.
    assert results["maybe sent"] > 0 and results["error before processing"] > 0
    assert fake.faults.dropped["before"] > 0 and fake.faults.dropped["after"] > 0
    assert set(fake.faults.injected) == {429, 500, 503}
