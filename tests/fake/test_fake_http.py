"""The fake over real HTTP on loopback, and the `postmark-fake` command as a real subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from postmark_client import ServerClient
from postmark_client.testing import FakePostmark, _handlers

SCRIPT = Path(sys.executable).parent / "postmark-fake"


def command(*args: str) -> list[str]:
    """`postmark-fake` from the installed package (its console script when installed)."""
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [
        sys.executable,
        "-c",
        "import sys; from postmark_client.testing._server import main; sys.exit(main())",
        *args,
    ]


def test_serve_answers_real_http_until_closed() -> None:
    fake = FakePostmark(seed="demo")
    with fake.serve("127.0.0.1", 0) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url) and server.port > 0
        with ServerClient(fake.server_token, base_url=server.url) as client:
            sent = client.email.send(from_="a@example.com", to="b@example.com", text_body="x")
            assert (
                client.messages.search_outbound(recipient="b@example.com").items[0].message_id
                == sent.message_id
            )
        raw = httpx.get(server.url + "/nowhere")
        assert raw.status_code == 404 and raw.json()["ErrorCode"] == 12
        assert httpx.request("PATCH", server.url + "/email").status_code == 405
        assert httpx.head(server.url + "/deliverystats").status_code == 405  # routes are the spec's
    server.close()  # closing twice is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/deliverystats", timeout=2)


def test_a_bug_in_a_handler_answers_500_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(call: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setitem(_handlers.HANDLERS, "get_delivery_stats", broken)
    fake = FakePostmark()
    with fake.serve() as server:
        answer = httpx.get(
            server.url + "/deliverystats", headers={"X-Postmark-Server-Token": fake.server_token}
        )
    assert answer.status_code == 500 and answer.json()["ErrorCode"] == 500
    assert "RuntimeError: boom" in capsys.readouterr().err


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    process = subprocess.Popen(
        command("--port", "0", "--seed", "demo"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(4)]
    match = re.match(r"FakePostmark listening on (http://127\.0\.0\.1:\d+)$", lines[0].strip())
    assert match, lines
    try:
        yield process, match.group(1), lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_the_command_serves_the_demo_data_and_stops_on_sigterm(
    running: tuple[subprocess.Popen[str], str, list[str]],
) -> None:
    process, url, lines = running
    assert "server token:  fake-server-token" in lines[1] and "X-Postmark-Server-Token" in lines[1]
    assert "account token: fake-account-token" in lines[2]
    with ServerClient("fake-server-token", base_url=url) as client:
        assert [t.alias for t in client.templates.list().items] == ["welcome", "basic-layout"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_the_command_injects_faults() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        command("--port", str(port), "--fault-rate", "1", "--fault-statuses", "503"),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[0].strip() == f"FakePostmark listening on http://127.0.0.1:{port}"
        assert "faults: rate 1 (503)" in banner[3]
        answer = httpx.get(
            f"http://127.0.0.1:{port}/deliverystats",
            headers={"X-Postmark-Server-Token": "fake-server-token"},
        )
        assert answer.status_code == 503 and answer.json() == {
            "ErrorCode": 100,
            "Message": "Postmark is down for maintenance.",
        }
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_demo_runs_the_main_job_end_to_end_and_exits_0() -> None:
    done = subprocess.run(
        command("--demo"), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"FakePostmark listening on http://127\.0\.0\.1:\d+", out)
    assert "-> accepted: MessageID " in out
    assert "1 match(es); found it: True" in out
    assert "event Delivered for jane@example.com" in out
    assert "InactiveRecipientError (ErrorCode 406)" in out
    assert done.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--fault-statuses", "404"],
        ["--fault-rate", "2"],
        ["--fault-statuses", "x"],
        ["--latency-ms", "-5"],
        ["--nope"],
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str]) -> None:
    done = subprocess.run(
        command("--port", "0", *args), capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert "postmark-fake" in done.stderr


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            command("--port", str(port)), capture_output=True, text=True, timeout=30, check=False
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
