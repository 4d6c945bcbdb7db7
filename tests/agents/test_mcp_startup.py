"""`postmark-mcp --http` says where it listens, and a failed connection names the URL it tried."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import mcp
import pytest
from postmark_client.access import Policy, hash_key
from postmark_client.mcp import build_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_support import LineReader

GENERATED = Path(__file__).resolve().parents[2] / "generated"
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "Hello"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GENERATED), env.get("PYTHONPATH")]))
    return env


def test_http_prints_the_url_it_listens_on_and_serves_it(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_text(
        f'[agents.bot]\nmessages = "read"\nkey_sha256 = "{hash_key("right-key")}"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "postmark_client.mcp._server", "--http", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--policy", str(path), "--fake"],
        env=_env(),
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stderr is not None
    try:
        line = LineReader(process.stderr).line_matching(lambda text: "listening on" in text)
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+)/mcp)\b", line)
        assert match and match.group(2) != "0", line
        answer = httpx.post(
            match.group(1),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={
                "Accept": "application/json, text/event-stream",
                "Authorization": "Bearer right-key",
            },
            timeout=10,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answer.status_code == 200, answer.text
    assert "messages_" in answer.text


def test_http_on_a_taken_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "postmark_client.mcp._server", "--http", "--port", str(port)]
            + ["--allow-all", "--fake"],
            check=False,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert completed.returncode == 2
    assert f"postmark-mcp: cannot listen on 127.0.0.1:{port}:" in completed.stderr
    assert "Traceback" not in completed.stderr


async def test_a_failed_connection_names_the_api_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_wait(seconds: float) -> None:  # a refused connection is retried: do not wait
        return None

    monkeypatch.setattr("postmark_client._base_client._asyncio_sleep", no_wait)
    closed = "http://127.0.0.1:1"  # a closed loopback port
    policy = Policy.allowing_all(audit=tmp_path / "audit.sqlite")
    server = build_server(
        policy, agent="any", tokens={"server": "fake-token", "account": None}, base_url=closed
    )
    async with mcp.Client(server) as client:
        result = await client.call_tool("email_send", SEND)
    assert result.is_error
    assert f"POST {closed}/email (send_email): connection failed" in result.content[0].text
