# Copied by postmark-codegen from templates/static/postmark_client/testing/plugin.py;
# edit it there and regenerate, not here.
"""pytest fixtures for code that uses Postmark: every test gets its own offline fake Postmark.

Installed with the package and loaded by pytest automatically (entry point `postmark`):

    def test_welcome_mail(postmark_server_client, postmark_fake):
        my_app.send_welcome(postmark_server_client, "jane@example.com")
        assert postmark_fake.messages()[0]["Subject"] == "Welcome!"

Fixtures: `postmark_fake` (a FakePostmark), `postmark_server_client` and
`postmark_account_client` (clients wired to it in-process, never waiting between retries),
`postmark_async_server_client` and `postmark_async_account_client`. Options of the fake come
from a marker: `@pytest.mark.postmark(seed="demo", require_sender_signature=True)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from ..client import AccountClient, AsyncAccountClient, AsyncServerClient, ServerClient
    from ._fake import FakePostmark

_Client = TypeVar("_Client", "ServerClient", "AccountClient")

MARKER = "postmark"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options of the postmark_fake fixture's FakePostmark "
        "(seed='demo', require_sender_signature=True, server_deletion=False, ...)",
    )


def _no_sleep(seconds: float) -> None:
    return None


async def _no_async_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def postmark_fake(request: pytest.FixtureRequest) -> FakePostmark:
    """A fresh FakePostmark for this test (options from `@pytest.mark.postmark(...)`)."""
    from ._fake import FakePostmark

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return FakePostmark(**options)


@pytest.fixture
def postmark_server_client(postmark_fake: FakePostmark) -> Iterator[ServerClient]:
    """A ServerClient with the fake's server token, answered in-process by `postmark_fake`."""
    from ..client import ServerClient

    yield from _closed_after(ServerClient, postmark_fake.server_token, postmark_fake)


@pytest.fixture
def postmark_account_client(postmark_fake: FakePostmark) -> Iterator[AccountClient]:
    """An AccountClient with the fake's account token, answered in-process by `postmark_fake`."""
    from ..client import AccountClient

    yield from _closed_after(AccountClient, postmark_fake.account_token, postmark_fake)


def _closed_after(make: type[_Client], token: str, fake: FakePostmark) -> Iterator[_Client]:
    """A client with `token` on the fake's transport, never waiting between retries, closed
    after the test."""
    with make(token, transport=fake.transport(), sleep=_no_sleep) as client:
        yield client


@pytest.fixture
def postmark_async_server_client(postmark_fake: FakePostmark) -> AsyncServerClient:
    """An AsyncServerClient wired to `postmark_fake`. The fixture is synchronous, so it works
    under any async test runner; the fake's transport holds no connections to close."""
    from ..client import AsyncServerClient

    return AsyncServerClient(
        postmark_fake.server_token, transport=postmark_fake.transport(), sleep=_no_async_sleep
    )


@pytest.fixture
def postmark_async_account_client(postmark_fake: FakePostmark) -> AsyncAccountClient:
    """An AsyncAccountClient wired to `postmark_fake`."""
    from ..client import AsyncAccountClient

    return AsyncAccountClient(
        postmark_fake.account_token, transport=postmark_fake.transport(), sleep=_no_async_sleep
    )
