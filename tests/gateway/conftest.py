"""Fixtures of the gateway tests: the fake, gateways in front of it or of a recorder, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gateway_postgres import PostgresServer, session_postgres
from gateway_support import (
    RECORDED_ACCOUNT_TOKEN,
    RECORDED_SERVER_TOKEN,
    Recorder,
    Running,
    policy_text,
    start_gateway,
    stop,
)
from postmark_client.testing import FakePostmark


@pytest.fixture(scope="module")
def fake() -> Iterator[Any]:
    """A fake Postmark over HTTP on loopback (its tokens are the gateway's real ones)."""
    server = FakePostmark().serve()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def gateway(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("gateway")
    policy = folder / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    running = start_gateway(
        policy,
        fake.url,
        {"server": fake.server_token, "account": fake.account_token},
        "--read-timeout",
        "1",
        "--no-mcp",
    )
    try:
        yield running
    finally:
        stop(running)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session; where it cannot start, the tests fail."""
    yield from session_postgres()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Recorder]]:
    """A gateway in front of a Recorder."""
    folder = tmp_path_factory.mktemp("recorded")
    policy = folder / "agents.toml"
    policy.write_text(policy_text(), encoding="utf-8")
    recorder = Recorder(folder / "audit.sqlite")
    running = start_gateway(
        policy,
        recorder.url,
        {"server": RECORDED_SERVER_TOKEN, "account": RECORDED_ACCOUNT_TOKEN},
        "--read-timeout",
        "1",
        "--no-mcp",
    )
    try:
        yield running, recorder
    finally:
        stop(running)
        recorder.close()
