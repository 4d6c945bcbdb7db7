"""Helpers of the approval tests."""

from __future__ import annotations


class Clock:
    """A Unix time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
