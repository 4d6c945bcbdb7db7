"""Fixtures for the CLI tests: a fake Postmark over real HTTP, and the `postmark` command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import postmark_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_support import ACCOUNT_TOKEN, CLI, SERVER_TOKEN

testing = pytest.importorskip(
    "postmark_client.testing", reason="the fake Postmark (postmark_client.testing) is not generated"
)


@pytest.fixture
def fake() -> object:
    """A fresh fake Postmark with demo data, knowing only the canary tokens."""
    return testing.FakePostmark(seed="demo", server_token=SERVER_TOKEN, account_token=ACCOUNT_TOKEN)


@pytest.fixture
def fake_url(fake: object) -> Iterator[str]:
    """The fake served over HTTP on loopback (a free port)."""
    server = fake.serve("127.0.0.1", 0)  # type: ignore[attr-defined]
    try:
        yield server.url.rstrip("/")
    finally:
        server.close()


@pytest.fixture
def cli(fake_url: str) -> CLI:
    """`postmark` with POSTMARK_API_URL pointing at the fake and the tokens in its environment."""
    return CLI(fake_url)
