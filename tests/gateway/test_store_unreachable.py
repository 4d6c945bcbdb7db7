"""A PostgreSQL store that cannot be reached is said as an audit-log error naming the server
(never the URL's password) and whether it failed to read or to write, by every command that
uses it, with no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from postmark_client.cli import main

# Port 1 on loopback refuses at once: no server is needed to see the failure.
UNREACHABLE = "postgresql://auditor:not-a-real-password@127.0.0.1:1/audit"


@pytest.mark.parametrize(
    ("command", "failed"),
    [
        (["audit", "verify", "--store", UNREACHABLE], "read"),
        (["audit", "--policy", "{policy}", "--store", UNREACHABLE], "read"),
        # The store is given the file's policy first when it holds none: a write.
        (["access", "export", "--policy", "{policy}", "--store", UNREACHABLE], "written"),
    ],
    ids=["audit verify", "audit", "access export"],
)
def test_an_unreachable_store_is_a_clear_error(
    command: list[str], failed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "agents.toml"
    policy.write_text('audit = "audit.sqlite"\n\n[agents.mailer]\nemail = "full"\n')
    code = main([part.replace("{policy}", str(policy)) for part in command])
    said = capsys.readouterr().err
    assert code == 1
    assert f"the audit log at postgresql://127.0.0.1:1/audit cannot be {failed}: " in said
    assert ("nothing was sent" in said) == (failed == "written")
    assert "Connection refused" in said
    assert "not-a-real-password" not in said and "Traceback" not in said
