"""A PostgreSQL store that cannot be reached is said as an audit-log error naming the server
(never the URL's password), by every command that reads or writes it, with no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from postmark_client.cli import main

# Port 1 on loopback refuses at once: no server is needed to see the failure.
UNREACHABLE = "postgresql://auditor:not-a-real-password@127.0.0.1:1/audit"


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify", "--store", UNREACHABLE],
        ["audit", "--policy", "{policy}", "--store", UNREACHABLE],
        ["access", "export", "--policy", "{policy}", "--store", UNREACHABLE],
    ],
    ids=["audit verify", "audit", "access export"],
)
def test_an_unreachable_store_is_a_clear_error(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "agents.toml"
    policy.write_text('audit = "audit.sqlite"\n\n[agents.mailer]\nemail = "full"\n')
    code = main([part.replace("{policy}", str(policy)) for part in command])
    said = capsys.readouterr().err
    assert code == 1
    assert "the audit log at postgresql://127.0.0.1:1/audit cannot be written" in said
    assert "Connection refused" in said
    assert "not-a-real-password" not in said and "Traceback" not in said
