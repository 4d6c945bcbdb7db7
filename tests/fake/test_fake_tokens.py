"""Tokens: a missing, unknown or wrong-type token is 401 (ErrorCode 10) on every operation."""

from __future__ import annotations

import pytest
from fake_support import TOKEN_HEADERS, call, error_of, no_sleep
from postmark_client import AccountClient, ServerClient
from postmark_client._meta import Operation
from postmark_client._operations import OPERATIONS
from postmark_client.errors import InvalidTokenError
from postmark_client.testing import FakePostmark


def _path(op: Operation) -> str:
    path = op.path
    for param in op.path_params:
        path = path.replace("{" + param.wire + "}", "1" if param.type == "integer" else "x")
    query = "&".join(f"{p.wire}=10" for p in op.query_params if p.required)
    return path + (f"?{query}" if query else "")


def _body(op: Operation) -> object:
    return {} if op.body_schema else None


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=lambda op: op.id)
def test_no_token_is_401(op: Operation, fake: FakePostmark) -> None:
    answer = call(fake, op.method, _path(op), _body(op), token=None)
    assert error_of(answer) == (401, 10)
    assert "No Account or Server API tokens were supplied" in answer.json()["Message"]


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=lambda op: op.id)
def test_an_unknown_token_is_401(op: Operation, fake: FakePostmark) -> None:
    answer = call(
        fake,
        op.method,
        _path(op),
        _body(op),
        token=None,
        headers={TOKEN_HEADERS[op.token]: "no-such-token"},
    )
    assert error_of(answer) == (401, 10)


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=lambda op: op.id)
def test_a_token_of_the_other_kind_is_401_in_either_header(
    op: Operation, fake: FakePostmark
) -> None:
    other = fake.account_token if op.token == "server" else fake.server_token
    other_header = TOKEN_HEADERS["account" if op.token == "server" else "server"]
    in_its_own_header = call(
        fake, op.method, _path(op), _body(op), token=None, headers={other_header: other}
    )
    in_the_wanted_header = call(
        fake, op.method, _path(op), _body(op), token=None, headers={TOKEN_HEADERS[op.token]: other}
    )
    for answer in (in_its_own_header, in_the_wanted_header):
        assert error_of(answer) == (401, 10)
        assert "API token" in answer.json()["Message"]


def test_header_names_are_case_insensitive(fake: FakePostmark) -> None:
    answer = call(
        fake,
        "GET",
        "/deliverystats",
        token=None,
        headers={"x-postmark-server-token": fake.server_token},
    )
    assert answer.status_code == 200


def test_the_clients_raise_invalid_token_errors(fake: FakePostmark) -> None:
    client = ServerClient("wrong-token", transport=fake.transport(), sleep=no_sleep)
    with client, pytest.raises(InvalidTokenError) as raised:
        client.bounces.get_delivery_stats()
    assert raised.value.error_code == 10
    account = AccountClient(fake.server_token, transport=fake.transport(), sleep=no_sleep)
    with account, pytest.raises(InvalidTokenError):
        account.servers.list()


def test_a_deleted_servers_token_stops_working(fake: FakePostmark, account: AccountClient) -> None:
    server = account.servers.create(name="Temporary")
    token = server.api_tokens[0]
    assert (
        call(
            fake, "GET", "/deliverystats", token=None, headers={TOKEN_HEADERS["server"]: token}
        ).status_code
        == 200
    )
    account.servers.delete(server.id)
    assert error_of(
        call(fake, "GET", "/deliverystats", token=None, headers={TOKEN_HEADERS["server"]: token})
    ) == (401, 10)


def test_the_test_token_validates_sends_without_storing_them(fake: FakePostmark) -> None:
    headers = {TOKEN_HEADERS["server"]: "POSTMARK_API_TEST"}
    message = {"From": "a@example.com", "To": "b@example.com", "TextBody": "x"}
    answer = call(fake, "POST", "/email", message, token=None, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["Message"] == "Test job accepted"
    assert fake.messages() == []
    invalid = call(
        fake,
        "POST",
        "/email",
        {"To": "b@example.com", "TextBody": "x"},
        token=None,
        headers=headers,
    )
    assert error_of(invalid) == (422, 300)
    # The test token only sends: other server calls refuse it.
    assert error_of(call(fake, "GET", "/deliverystats", token=None, headers=headers)) == (401, 10)
