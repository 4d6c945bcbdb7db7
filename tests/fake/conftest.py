"""Fixtures for the fake Postmark's tests: a fresh fake, and real clients wired to it through a
transport that checks every request and every answer against the spec."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for folder in (HERE, TESTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
try:
    import postmark_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(TESTS.parent / "generated"))

from fake_support import SpecCheckingTransport, no_sleep
from postmark_client import AccountClient, ServerClient
from postmark_client.testing import FakePostmark


@pytest.fixture
def fake() -> FakePostmark:
    return FakePostmark()


@pytest.fixture
def checked(fake: FakePostmark) -> SpecCheckingTransport:
    """The fake's transport, validating each request and answer with openapi-core."""
    return SpecCheckingTransport(fake.transport())


@pytest.fixture
def client(fake: FakePostmark, checked: SpecCheckingTransport) -> Iterator[ServerClient]:
    with ServerClient(fake.server_token, transport=checked, sleep=no_sleep) as server_client:
        yield server_client


@pytest.fixture
def account(fake: FakePostmark, checked: SpecCheckingTransport) -> Iterator[AccountClient]:
    with AccountClient(fake.account_token, transport=checked, sleep=no_sleep) as account_client:
        yield account_client
