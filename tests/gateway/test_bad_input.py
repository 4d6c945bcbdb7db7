"""What the gateway refuses, and what it never forwards, seen from a recording upstream."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from gateway_support import (
    MAILER,
    READER,
    RECORDED_SERVER_TOKEN,
    SEND,
    Recorder,
    Running,
    policy_text,
    start_gateway,
    stop,
)
from postmark_client._operations import OPERATIONS
from postmark_client.gateway import body_limit

ANSWER_SECONDS = 15.0


def _raw(url: str, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the gateway, read its answer (bounded), return status, headers, body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_SECONDS) as sock:
        sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        top, _, rest = received.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), headers, rest


def _post_head(path: str, length: int, key: str = MAILER) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        f"X-Postmark-Server-Token: {key}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture
def seen(recorded: tuple[Running, Recorder]) -> Iterator[tuple[Running, Recorder, int]]:
    running, recorder = recorded
    recorder.seen.clear()
    recorder.body = None
    yield running, recorder, running.last_id()


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    seen: tuple[Running, Recorder, int],
) -> None:
    running, recorder, after = seen
    limit = body_limit(OPERATIONS["send_email"])
    # Only the head goes out: the answer comes before any of the body is sent.
    status, headers, body = _raw(running.url, _post_head("/email", limit + 1))
    assert status == 413 and headers.get("connection") == "close"
    assert json.loads(body)["ErrorCode"] == 300 and str(limit) in json.loads(body)["Message"]

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    chunked = httpx.post(
        running.url + "/email",
        content=chunks(),
        headers={"X-Postmark-Server-Token": MAILER},
        timeout=ANSWER_SECONDS,
    )
    assert chunked.status_code == 413
    assert recorder.seen == [] and running.entries(after) == []


def test_a_slow_body_times_out(seen: tuple[Running, Recorder, int]) -> None:
    running, recorder, after = seen
    # Ten bytes of a hundred, then nothing: the gateway (--read-timeout 1) answers 408.
    status, _, body = _raw(running.url, _post_head("/email", 100), b'{"From": "')
    assert status == 408 and "did not arrive within 1 s" in json.loads(body)["Message"]
    assert recorder.seen == [] and running.entries(after) == []


def test_malformed_json_gets_postmarks_422(seen: tuple[Running, Recorder, int]) -> None:
    running, recorder, after = seen
    answer = httpx.post(
        running.url + "/email", content=b'{"From": ', headers={"X-Postmark-Server-Token": MAILER}
    )
    assert answer.status_code == 422
    assert answer.json() == {"ErrorCode": 402, "Message": "The request body is not valid JSON."}
    assert recorder.seen == [] and running.entries(after) == []


def test_unknown_paths_and_methods(seen: tuple[Running, Recorder, int]) -> None:
    running, recorder, _ = seen
    headers = {"X-Postmark-Server-Token": MAILER}
    unknown = httpx.get(running.url + "/no/such/thing", headers=headers)
    wrong_method = httpx.delete(running.url + "/email", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"ErrorCode": 12, "Message": "No such endpoint: /no/such/thing"}
    assert wrong_method.status_code == 405 and wrong_method.json()["ErrorCode"] == 12
    assert recorder.seen == []


def test_a_key_in_the_wrong_header_kind_is_refused(seen: tuple[Running, Recorder, int]) -> None:
    running, recorder, after = seen
    send = httpx.post(
        running.url + "/email", json=SEND, headers={"X-Postmark-Account-Token": MAILER}
    )
    assert send.status_code == 401 and send.json()["ErrorCode"] == 10
    assert "takes a key in X-Postmark-Server-Token" in send.json()["Message"]
    servers = httpx.get(
        running.url + "/servers",
        params={"count": 1, "offset": 0},
        headers={"X-Postmark-Server-Token": READER},
    )
    assert servers.status_code == 401 and "X-Postmark-Account-Token" in servers.json()["Message"]
    assert recorder.seen == [] and running.entries(after) == []


def test_only_the_gateways_token_and_end_to_end_headers_go_upstream(
    seen: tuple[Running, Recorder, int],
) -> None:
    running, recorder, after = seen
    answer = httpx.post(
        running.url + "/email?x=1",
        json=SEND,
        headers={
            "X-Postmark-Server-Token": MAILER,
            "X-Postmark-Account-Token": "a-real-postmark-token-0000",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "TE": "trailers",
            "X-Custom": "kept",
        },
    )
    assert answer.status_code == 200 and answer.json() == {"ErrorCode": 0, "Message": "OK"}
    assert "keep-alive" not in answer.headers and answer.headers["x-request-id"] == "recorded-1"
    [request] = recorder.seen
    names = {name.lower(): value for name, value in request.headers.items()}
    assert request.path == "/email?x=1" and json.loads(request.body) == SEND
    assert names["x-postmark-server-token"] == RECORDED_SERVER_TOKEN
    assert names["x-custom"] == "kept"
    for dropped in ("x-postmark-account-token", "x-hop", "keep-alive", "proxy-authorization", "te"):
        assert dropped not in names, dropped
    # The row was in the log, allowed and not yet finished, when the request reached upstream.
    [row] = [r for r in request.rows_when_received if r.id > after]
    assert (row.agent, row.decision, row.outcome) == ("mailer", "allowed", "unknown")
    assert [(r.id, r.outcome) for r in running.entries(after)] == [(row.id, "ok")]


def test_a_large_dump_comes_back_whole(seen: tuple[Running, Recorder, int]) -> None:
    running, recorder, _ = seen
    recorder.body = json.dumps({"Body": "x" * (10 * 1024 * 1024)}).encode()
    with httpx.stream(
        "GET",
        running.url + "/messages/outbound/abc/dump",
        headers={"X-Postmark-Server-Token": READER},
    ) as answer:
        received = b"".join(answer.iter_raw())
    assert answer.status_code == 200 and received == recorder.body


def test_a_lost_audit_log_refuses_every_call(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the log's folder should be")
    policy = tmp_path / "agents.toml"
    policy.write_text(policy_text("blocker/audit.sqlite"), encoding="utf-8")
    recorder = Recorder(tmp_path / "unused.sqlite")
    running = start_gateway(policy, recorder.url, {"server": RECORDED_SERVER_TOKEN}, "--no-mcp")
    try:
        answer = httpx.post(
            running.url + "/email", json=SEND, headers={"X-Postmark-Server-Token": MAILER}
        )
    finally:
        stop(running)
        recorder.close()
    assert answer.status_code == 503 and answer.json()["ErrorCode"] == 9003
    assert "cannot write its audit log" in answer.json()["Message"]
    assert recorder.seen == []
