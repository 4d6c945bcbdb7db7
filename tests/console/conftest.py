"""Fixtures of the console tests: a gateway with an administrator, and Debian's Chromium driven
by Playwright (a missing browser fails the tests with the reason, never skips them)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gateway"))

from console_support import start_console
from gateway_postgres import PostgresServer, session_postgres
from gateway_support import Running, stop
from postmark_client._store import PolicyTables
from postmark_client.testing import FakePostmark
from store_support import KINDS, open_kind

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def fake() -> Iterator[Any]:
    with closing(FakePostmark().serve()) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_console(tmp_path_factory.mktemp("console"), fake)
    try:
        yield running
    finally:
        stop(running)


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread
# for as long as it is open, and later asyncio tests of the same session could not start theirs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console tests drive Debian's Chromium "
            "(apt-get install -y chromium, as the README's test command does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield found
        finally:
            found.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: CONSOLE_ARTIFACTS, else a folder of the test session's tmp."""
    given = os.environ.get("CONSOLE_ARTIFACTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("console-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session; where it cannot start, the tests fail."""
    yield from session_postgres()


@pytest.fixture(params=KINDS)
def kind_url(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """A kind of store, and the URL of a new PostgreSQL database for that kind."""
    if request.param == "sqlite":
        return "sqlite", None
    return "postgres", request.getfixturevalue("postgres").database()


def _opened(kind_url: tuple[str, str | None], folder: Path) -> Iterator[PolicyTables]:
    opened = open_kind(kind_url[0], folder, kind_url[1])
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def store(kind_url: tuple[str, str | None], tmp_path: Path) -> Iterator[PolicyTables]:
    """An empty store of each kind: SQLite beside the policy file, or a PostgreSQL database."""
    yield from _opened(kind_url, tmp_path)


@pytest.fixture
def other(kind_url: tuple[str, str | None], tmp_path: Path) -> Iterator[PolicyTables]:
    """A second connection to `store`'s store, as another worker or gateway has."""
    yield from _opened(kind_url, tmp_path)
