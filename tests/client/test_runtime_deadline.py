"""Answers that must not pass as success, and calls that must not outlast their timeout.

A 200 whose ErrorCode is not an integer (NaN, Infinity, 1.5, true) is a ResponseDecodeError;
a server that trickles its answer cannot hold a call past the client's timeout, which covers the
whole request (connect, write, and reading the whole answer), in both clients, over real
loopback sockets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from postmark_client._base_client import AsyncAPIClient, SyncAPIClient
from postmark_client.errors import (
    APITimeoutError,
    MessageMaybeSentError,
    PostmarkError,
    ResponseDecodeError,
)
from runtime_support import (
    GET_TEMPLATE,
    KINDS,
    MB,
    SEND,
    SEND_BATCH,
    SERVER_HEADER,
    TOKEN,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    operation,
    send_ok,
)

# ---- an ErrorCode that is not an integer --------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("code", ["NaN", "Infinity", "-Infinity", "1.5", "true", '"0"'])
def test_a_send_answer_whose_error_code_is_not_an_integer_is_a_decode_error(
    kind: str, code: str
) -> None:
    body = json.dumps(send_ok()).replace('"ErrorCode": 0', f'"ErrorCode": {code}')
    assert code in body
    fake = FakePostmark(httpx.Response(200, content=body.encode()))
    harness = Harness(kind, fake, max_retries=0)
    with pytest.raises(ResponseDecodeError) as caught:
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert caught.value.status_code == 200
    assert "send_email" in str(caught.value)
    text = str(caught.value)
    assert "is not a JSON value" in text or "ErrorCode is" in text and "not an integer" in text


@pytest.mark.parametrize("kind", KINDS)
def test_nan_anywhere_in_an_answer_is_not_json(kind: str) -> None:
    fake = FakePostmark(httpx.Response(200, content=b'{"TemplateId": NaN, "Name": "x"}'))
    with pytest.raises(ResponseDecodeError, match="NaN is not a JSON value"):
        Harness(kind, fake, max_retries=0).request(GET_TEMPLATE, path={"templateIdOrAlias": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_entry_with_a_nan_error_code_is_not_read_as_sent(kind: str) -> None:
    answer = b"[" + json.dumps(send_ok()).replace('"ErrorCode": 0', '"ErrorCode": NaN').encode()
    fake = FakePostmark(httpx.Response(200, content=answer + b"]"))
    with pytest.raises(ResponseDecodeError):
        Harness(kind, fake, max_retries=0).request_batch(SEND_BATCH, [Message()])


@pytest.mark.parametrize("kind", KINDS)
def test_an_integer_error_code_still_reads(kind: str) -> None:
    result = Harness(kind, FakePostmark(httpx.Response(200, json=send_ok()))).request(
        SEND, body=Message(), cast_to=SendResult.from_dict
    )
    assert result.message_id == "b7bc2f4a-e38e"


# ---- the whole-request deadline, against a server that trickles --------------------------------

ANSWER_BODY = json.dumps(send_ok()).encode()
ANSWER_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
ANSWER = ANSWER_HEAD % len(ANSWER_BODY) + ANSWER_BODY
PACE = 0.02  # seconds between the server's bytes: far below the client's per-read timeout
TIMEOUT = 0.3  # the client's timeout: a tenth of what the trickled answer takes
UPLOAD = operation(id="upload", path="/upload", limits=(), acts_on="email")


class Trickle:
    """A loopback HTTP server for one connection. `mode`: "head" sends the whole answer a byte
    at a time, "body" sends the head at once and the body a byte at a time, "slow-read" takes
    the request body in small sips. Each runs at most a few seconds, and ends when the client
    hangs up."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stop = threading.Event()
        self.thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(5)
            try:
                self._answer(connection)
            except OSError:
                pass  # the client hung up: what the deadline does

    def _answer(self, connection: socket.socket) -> None:
        if self.mode == "slow-read":
            for _ in range(200):  # 200 sips of 1 KB: about 4 s, far less than the body
                if self.stop.wait(PACE) or not connection.recv(1024):
                    return
            return
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(65536)
        head, _, body = request.partition(b"\r\n\r\n")
        _, _, given = head.lower().partition(b"content-length: ")
        length = int(given.split(b"\r\n")[0] or 0)
        while len(body) < length:
            body += connection.recv(65536)
        at_once = len(ANSWER) - len(ANSWER_BODY) if self.mode == "body" else 0
        connection.sendall(ANSWER[:at_once])
        for index in range(at_once, len(ANSWER)):
            if self.stop.wait(PACE):
                return
            connection.sendall(ANSWER[index : index + 1])

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture
def trickle(request: pytest.FixtureRequest) -> Iterator[Trickle]:
    server = Trickle(request.param)
    try:
        yield server
    finally:
        server.close()


def call(kind: str, url: str, op: Any, body: Any) -> Any:
    """One call with `timeout=TIMEOUT` and no retries, through the sync or the async client."""
    options: dict[str, Any] = {
        "token": TOKEN,
        "token_header": SERVER_HEADER,
        "base_url": url,
        "timeout": TIMEOUT,
        "max_retries": 0,
    }
    path = {"templateIdOrAlias": 1} if op is GET_TEMPLATE else None
    if kind == "sync":
        with SyncAPIClient(**options) as client:
            return client.request(op, path=path, body=body, cast_to=SendResult.from_dict)

    async def run() -> Any:
        async with AsyncAPIClient(**options) as client:
            return await client.request(op, path=path, body=body, cast_to=SendResult.from_dict)

    return asyncio.run(run())


def deadline_error(kind: str, url: str, op: Any, body: Any = None) -> PostmarkError:
    with pytest.raises(PostmarkError) as caught:
        call(kind, url, op, body)
    assert f"took longer than its {TIMEOUT:g} s timeout" in str(caught.value), caught.value
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trickle", ["head", "body"], indirect=True)
def test_a_trickled_answer_to_a_send_ends_at_the_timeout_as_maybe_sent(
    kind: str, trickle: Trickle
) -> None:
    error = deadline_error(kind, trickle.url, SEND, Message())
    assert isinstance(error, MessageMaybeSentError)
    assert "timed out after the request was sent" in str(error)
    assert "may or may not have been sent" in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trickle", ["head", "body"], indirect=True)
def test_a_trickled_answer_to_a_read_ends_at_the_timeout_as_a_timeout(
    kind: str, trickle: Trickle
) -> None:
    error = deadline_error(kind, trickle.url, GET_TEMPLATE)
    assert isinstance(error, APITimeoutError)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trickle", ["slow-read"], indirect=True)
def test_a_server_that_reads_the_request_slowly_cannot_hold_the_send(
    kind: str, trickle: Trickle
) -> None:
    body = {"From": "a@example.com", "To": "b@example.com", "TextBody": "x" * (16 * MB)}
    error = deadline_error(kind, trickle.url, UPLOAD, body)
    assert isinstance(error, MessageMaybeSentError)


def test_the_timeout_bounds_each_try_as_a_whole() -> None:
    from postmark_client._base_client import DEFAULT_TIMEOUT, deadline_of

    assert deadline_of(httpx.Timeout(2.0, connect=2.0)) == 2.0
    assert deadline_of(DEFAULT_TIMEOUT) == 30.0
    assert deadline_of(httpx.Timeout(None)) is None


class TrickledStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer body that arrives a byte at a time, for a transport of the caller's own."""

    def __init__(self) -> None:
        self.pause = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        for index in range(len(ANSWER_BODY)):
            self.pause.wait(PACE)
            yield ANSWER_BODY[index : index + 1]

    async def __aiter__(self) -> Any:
        for index in range(len(ANSWER_BODY)):
            await asyncio.sleep(PACE)
            yield ANSWER_BODY[index : index + 1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_of_your_own_is_held_to_the_timeout_between_chunks(kind: str) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=TrickledStream(), request=request)

    harness = Harness(kind, respond, timeout=TIMEOUT, max_retries=0)
    with pytest.raises(APITimeoutError, match=f"longer than its {TIMEOUT:g} s timeout"):
        harness.request(GET_TEMPLATE, path={"templateIdOrAlias": 1})
