"""`postmark-codegen diff --policy`: which agents' reach a spec change alters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from generator.diff import Report, Side, format_reach, load_side, policy_reach

BULK = ("send_bulk_email", "get_bulk_email_status")


def test_new_operations_reach_agents_by_grant(tmp_path: Path) -> None:
    new = load_side(str(Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"))
    old_api = dataclasses.replace(
        new.api, operations=[op for op in new.api.operations if op.id not in BULK]
    )
    report = Report(Side("old", None, old_api), new, [])
    policy = tmp_path / "agents.toml"
    policy.write_text(
        '[agents.mailer]\nemail = "full"\n[agents.reader]\nemail = "read"\n'
        '[agents.bot]\nbounces = "full"\n',
        encoding="utf-8",
    )
    reach = policy_reach(report, str(policy))
    assert reach == {
        "mailer": {
            "gains": ["email.send_bulk (write)", "email.get_bulk_status (read)"],
            "loses": [],
        },
        "reader": {"gains": ["email.get_bulk_status (read)"], "loses": []},
    }
    assert "mailer gains email.send_bulk (write)" in format_reach(reach, str(policy))
