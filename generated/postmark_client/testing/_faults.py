# Copied by postmark-codegen from templates/static/postmark_client/testing/_faults.py;
# edit it there and regenerate, not here.
"""Fault injection: a share of requests answered 429, 500 or 503, and added latency.

A 429 or 503 is decided before the request is looked at, so it changes nothing. A 500 is the
ambiguous one: a share of them (`after_store`, half by default) comes after the fake processed
the request, as when Postmark stored a message and then failed to answer; the others come
before processing and leave no trace. Only a client that searches before it sends again (by
an idempotency key in Metadata) stores every message exactly once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

# The statuses a fault may take, and the body Postmark sends with each (per the spec's examples).
FAULT_BODIES: Final[dict[int, dict[str, Any]]] = {
    429: {"ErrorCode": 429, "Message": "Rate limit exceeded."},
    500: {"ErrorCode": 500, "Message": "Internal server error."},
    503: {"ErrorCode": 100, "Message": "Postmark is down for maintenance."},
}
DEFAULT_STATUSES: Final = (429, 500, 503)


class Faults:
    """The fault settings of one fake; off until `configure(rate=...)` or `latency_ms=...`.

    `injected` counts the faults answered so far, by status; `dropped` the connections dropped
    (`drop_rate`, HTTP server only), by "before" or "after" processing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self.rate = 0.0
        self.statuses: tuple[int, ...] = DEFAULT_STATUSES
        self.latency_ms = 0.0
        self.sleep: Callable[[float], None] | None = None
        self.injected: Counter[int] = Counter()
        self.drop_rate = 0.0
        self.dropped: Counter[str] = Counter()
        self.after_store = 0.5
        self.after_stored = 0
        """How many 500s were answered after the request was processed."""

    def configure(
        self,
        *,
        rate: float | None = None,
        statuses: Iterable[int] | None = None,
        latency_ms: float | None = None,
        seed: int | str | None = None,
        sleep: Callable[[float], None] | None = None,
        drop_rate: float | None = None,
        after_store: float | None = None,
    ) -> None:
        """Change the settings given; the others stay.

        rate: the share of requests (0 to 1) answered with a fault instead of being processed.
        statuses: the statuses faults take, drawn evenly (any of 429, 500, 503).
        latency_ms: a delay added before every answer.
        seed: makes the sequence of faults repeatable.
        sleep: how latency waits (default `time.sleep`, or `asyncio.sleep` for async clients);
            inject a recorder in tests so that nothing waits.
        drop_rate: the share of requests (0 to 1) whose connection the HTTP server (`serve()`)
            closes after reading the request, without an answer: half of them before the fake
            processes the request, half after, so the client cannot know which. The in-process
            `transport()` never drops.
        after_store: the share (0 to 1) of injected 500s answered after the request was
            processed (a stored message whose answer failed); default 0.5.
        """
        if rate is not None:
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"fault rate must be between 0 and 1, got {rate!r}")
            self.rate = float(rate)
        if statuses is not None:
            chosen = tuple(int(status) for status in statuses)
            unknown = sorted(set(chosen) - set(FAULT_BODIES))
            if not chosen or unknown:
                raise ValueError(
                    f"fault statuses must be some of {', '.join(map(str, FAULT_BODIES))}, "
                    f"got {', '.join(map(str, chosen)) or 'none'}"
                )
            self.statuses = chosen
        if drop_rate is not None:
            if not 0.0 <= float(drop_rate) <= 1.0:
                raise ValueError(f"drop rate must be between 0 and 1, got {drop_rate!r}")
            self.drop_rate = float(drop_rate)
        if after_store is not None:
            if not 0.0 <= float(after_store) <= 1.0:
                raise ValueError(f"after_store must be between 0 and 1, got {after_store!r}")
            self.after_store = float(after_store)
        if latency_ms is not None:
            if float(latency_ms) < 0:
                raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
            self.latency_ms = float(latency_ms)
        if seed is not None:
            with self._lock:
                self._rng = random.Random(seed)
        if sleep is not None:
            self.sleep = sleep

    def disable(self) -> None:
        """No more faults and no latency."""
        self.rate = 0.0
        self.latency_ms = 0.0
        self.drop_rate = 0.0

    def draw(self) -> int | None:
        """The status of a fault for the next request, or None to process it."""
        if self.rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            status = self._rng.choice(self.statuses)
            self.injected[status] += 1
        return status

    def draw_after_store(self) -> bool:
        """Whether the 500 just drawn is answered after processing the request."""
        with self._lock:
            after = self._rng.random() < self.after_store
            self.after_stored += after
        return after

    def draw_drop(self) -> str | None:
        """Whether to drop the connection of the request just read: "before" or "after"
        processing it, or None to answer."""
        if self.drop_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.drop_rate:
                return None
            when = "before" if self._rng.random() < 0.5 else "after"
            self.dropped[when] += 1
        return when

    @property
    def latency_seconds(self) -> float:
        return self.latency_ms / 1000.0

    def wait(self) -> None:
        """Wait out the configured latency (sync callers)."""
        if self.latency_ms > 0:
            (self.sleep or time.sleep)(self.latency_seconds)
