"""Hostile answers and odd inputs: the client core refuses or reports them, and never crashes:
deep JSON, oversized and gzip-bomb bodies, huge error messages, `.`/`..`
path values, recipients separated by `;` or newlines, a missing token, and logging etiquette."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from postmark_client._base_client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncAPIClient,
    SyncAPIClient,
)
from postmark_client.errors import (
    APIError,
    MissingTokenError,
    PostmarkError,
    RequestValidationError,
    ResponseDecodeError,
)
from postmark_client.rules import count_recipients
from runtime_support import (
    ACCOUNT_HEADER,
    GET_TEMPLATE,
    KINDS,
    SEND,
    SERVER_HEADER,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    send_ok,
)

DEEP = b"[" * 200_000 + b"]" * 200_000


def answer(status: int, content: bytes, headers: dict[str, str] | None = None) -> Any:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers, request=request)

    return respond


# ---- deeply nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [200, 422, 500])
def test_deeply_nested_json_is_a_decode_error_not_a_recursion_error(kind: str, status: int) -> None:
    harness = Harness(kind, FakePostmark(answer(status, DEEP)), max_retries=0)
    with pytest.raises(PostmarkError) as caught:
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    if status == 200:
        assert isinstance(caught.value, ResponseDecodeError)
        assert "nested" in str(caught.value) or "not JSON" in str(caught.value)
    else:
        assert isinstance(caught.value, APIError) and caught.value.status_code == status


# ---- the response size cap ---------------------------------------------------------------------


class GzipBomb(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A gzip body that unpacks to `size` zero bytes, compressed lazily chunk by chunk;
    `unpacked_sent` is how much of it the reader pulled."""

    def __init__(self, size: int, chunk: int = 1024 * 1024) -> None:
        self.size, self.chunk, self.unpacked_sent = size, chunk, 0

    def _chunks(self) -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
        block = bytes(self.chunk)
        while self.unpacked_sent < self.size:
            self.unpacked_sent += self.chunk
            data = packer.compress(block)
            if data:
                yield data
        yield packer.flush()

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._chunks():
            yield piece


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_bomb_is_not_read_whole(kind: str) -> None:
    bomb = GzipBomb(300 * 1024 * 1024)

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=bomb, request=request
        )

    harness = Harness(kind, FakePostmark(respond), max_response_bytes=4 * 1024 * 1024)
    with pytest.raises(ResponseDecodeError) as caught:
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert "4,194,304 bytes" in str(caught.value)
    assert "max_response_bytes" in str(caught.value)
    assert bomb.unpacked_sent < 64 * 1024 * 1024  # stopped soon after the cap, not at 300 MB


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_within_the_cap_is_read_and_gzip_still_works(kind: str) -> None:
    import json

    packed = gzip.compress(json.dumps(send_ok()).encode())
    harness = Harness(
        kind,
        FakePostmark(answer(200, packed, {"Content-Encoding": "gzip"})),
        max_response_bytes=1024,
    )
    result = harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert result.message_id == "b7bc2f4a-e38e"


@pytest.mark.parametrize("kind", KINDS)
def test_an_error_answer_over_the_cap_is_refused_too(kind: str) -> None:
    body = b'{"ErrorCode": 300, "Message": "' + b"x" * 5000 + b'"}'
    harness = Harness(kind, FakePostmark(answer(422, body)), max_response_bytes=1000)
    with pytest.raises(ResponseDecodeError, match="1,000 bytes"):
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)


def test_the_default_cap_is_generous() -> None:
    assert DEFAULT_MAX_RESPONSE_BYTES == 64 * 1024 * 1024
    client = SyncAPIClient(token="t", token_header=SERVER_HEADER)
    assert client.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_a_bad_cap_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        SyncAPIClient(token="t", token_header=SERVER_HEADER, max_response_bytes=bad)


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_error_message_is_truncated_in_the_exception(kind: str) -> None:
    import json

    message = "inactive " * 2_000_000  # 18 MB
    body = json.dumps({"ErrorCode": 300, "Message": message}).encode()
    harness = Harness(kind, FakePostmark(answer(422, body)), max_retries=0)
    with pytest.raises(APIError) as caught:
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert len(caught.value.message) < 5000
    assert len(str(caught.value)) < 5200
    assert "truncated" in caught.value.message
    assert f"{len(message):,} characters" in caught.value.message
    assert caught.value.message.startswith("inactive inactive")


# ---- path parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", [".", "..", ""])
def test_dot_segments_and_empty_path_values_are_refused(kind: str, value: str) -> None:
    fake = FakePostmark(httpx.Response(200, json={}))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(GET_TEMPLATE, path={"templateIdOrAlias": value})
    assert caught.value.field == "template_id_or_alias"
    assert fake.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_values_with_dots_inside_are_still_sent(kind: str) -> None:
    fake = FakePostmark(httpx.Response(200, json={}))
    Harness(kind, fake).request(GET_TEMPLATE, path={"templateIdOrAlias": "...welcome.v2"})
    assert fake.requests[0].url.raw_path == b"/templates/...welcome.v2"


# ---- recipients --------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", [";", "\n", "\r\n", ", ", "; "])
def test_recipients_count_with_any_separator(separator: str) -> None:
    assert count_recipients(separator.join(f"u{i}@example.com" for i in range(51))) == 51


def test_separators_inside_quoted_names_do_not_count() -> None:
    assert count_recipients('"Doe; Jane" <j@example.com>; "A, B" <a@example.com>') == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("separator", [";", "\n"])
def test_51_recipients_separated_by_semicolons_or_newlines_are_refused(
    kind: str, separator: str
) -> None:
    fake = FakePostmark(httpx.Response(200, json=send_ok()))
    to = separator.join(f"user{i}@example.com" for i in range(51))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(SEND, body=Message(to=to))
    assert caught.value.field == "To"
    assert fake.requests == []


# ---- a missing token ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_token_is_a_postmark_error_naming_the_variable(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTMARK_ACCOUNT_TOKEN", raising=False)
    cls = SyncAPIClient if kind == "sync" else AsyncAPIClient
    with pytest.raises(MissingTokenError) as caught:
        cls(token_header=ACCOUNT_HEADER)
    assert isinstance(caught.value, PostmarkError)
    assert isinstance(caught.value, ValueError)  # what it was before, for old except clauses
    assert caught.value.env_var == "POSTMARK_ACCOUNT_TOKEN"
    assert "POSTMARK_ACCOUNT_TOKEN" in str(caught.value)


def test_missing_token_error_is_public() -> None:
    from postmark_client import errors

    assert "MissingTokenError" in errors.__all__


# ---- logging etiquette -------------------------------------------------------------------------


def test_handled_errors_print_nothing_without_logging_config() -> None:
    program = textwrap.dedent("""
        import httpx
        from postmark_client import ServerClient
        from postmark_client.errors import ServerError

        def fail(request):
            return httpx.Response(500, json={"ErrorCode": 500, "Message": "down"})

        # Keys off: with them the 500 is reconciled by searches that would wait for real.
        with ServerClient(
            "t", transport=httpx.MockTransport(fail), max_retries=0, idempotency_keys=False
        ) as client:
            try:
                client.email.send(from_="a@example.com", to="b@example.com", text_body="x")
            except ServerError:
                print("handled")
        """)
    done = subprocess.run(
        [sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "handled"
    assert done.stderr == ""


def test_the_package_logger_has_a_null_handler() -> None:
    import logging

    import postmark_client._base_client  # noqa: F401

    handlers = logging.getLogger("postmark_client").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)


# ---- secrets in answers ------------------------------------------------------------------------


def test_server_api_tokens_are_kept_out_of_the_repr() -> None:
    from postmark_client.testing.factories import make_server

    server = make_server(api_tokens=["canary-server-token-0000"])
    assert "canary-server-token-0000" not in repr(server)
    assert "api_tokens" not in repr(server)
    assert server.api_tokens == ["canary-server-token-0000"]
    assert server.to_dict()["ApiTokens"] == ["canary-server-token-0000"]
