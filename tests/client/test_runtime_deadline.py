"""Answers that must not pass as success, and calls that must not outlast their timeout.

A 200 whose ErrorCode is not an integer (NaN, Infinity, 1.5, true) is a ResponseDecodeError;
a server that trickles its answer cannot hold a call past the client's timeout, which covers the
whole request (connect, write, and reading the whole answer), in both clients, over real
loopback sockets.
"""

from __future__ import annotations

import json

import httpx
import pytest
from postmark_client.errors import (
    ResponseDecodeError,
)
from runtime_support import (
    GET_TEMPLATE,
    KINDS,
    SEND,
    SEND_BATCH,
    FakePostmark,
    Harness,
    Message,
    SendResult,
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
