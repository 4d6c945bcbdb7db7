"""`postmark-codegen diff --policy`: which agents' reach a spec change alters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator.diff import Report, Side, format_reach, load_side, policy_reach
from generator.model import Api

BULK = ("send_bulk_email", "get_bulk_email_status")
SPEC = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"
BULK_BY_TEMPLATE = (
    "email.send_bulk (write; also read on templates when it sets TemplateId, TemplateAlias: "
    "denied)"
)


@pytest.fixture(scope="module")
def new() -> Side:
    return load_side(str(SPEC))


def reach_of(
    old_api: Api, new: Side, tmp_path: Path, policy: str
) -> dict[str, dict[str, list[str]]]:
    report = Report(Side("old", None, old_api), new, [])
    path = tmp_path / "agents.toml"
    path.write_text(policy, encoding="utf-8")
    return policy_reach(report, str(path))


def test_new_operations_reach_agents_by_grant(new: Side, tmp_path: Path) -> None:
    old_api = dataclasses.replace(
        new.api, operations=[op for op in new.api.operations if op.id not in BULK]
    )
    policy = (
        '[agents.mailer]\nemail = "full"\n[agents.reader]\nemail = "read"\n'
        '[agents.writer]\nemail = "write"\n[agents.bot]\nbounces = "full"\n'
    )
    reach = reach_of(old_api, new, tmp_path, policy)
    assert reach == {
        "mailer": {
            "gains": [BULK_BY_TEMPLATE, "email.get_bulk_status (read)"],
            "loses": [],
            "changes": [],
        },
        "reader": {"gains": ["email.get_bulk_status (read)"], "loses": [], "changes": []},
        "writer": {"gains": [BULK_BY_TEMPLATE], "loses": [], "changes": []},
    }
    assert f"mailer gains {BULK_BY_TEMPLATE}" in format_reach(reach, "agents.toml")


def test_a_new_second_group_mark_changes_or_ends_reach(new: Side, tmp_path: Path) -> None:
    old_api = dataclasses.replace(
        new.api, operations=[dataclasses.replace(op, reaches=[]) for op in new.api.operations]
    )
    policy = (
        '[agents.admin]\nserver = "full"\ntemplates = "full"\n'
        '[agents.hooks]\nserver = "write"\nwebhooks = "write"\n'
    )
    reach = reach_of(old_api, new, tmp_path, policy)
    hooks = (
        "also write on webhooks when it sets InboundHookUrl, BounceHookUrl, OpenHookUrl, "
        "DeliveryHookUrl, ClickHookUrl, PostFirstOpenOnly, IncludeBounceContentInHook, "
        "EnableSmtpApiErrorHooks"
    )
    admin = reach["admin"]
    assert admin["loses"] == ["templates.push (write)"]
    assert f"server.edit (write) -> server.edit (write; {hooks}: denied)" in admin["changes"]
    assert reach["hooks"] == {
        "gains": [],
        "loses": [],
        "changes": [f"server.edit (write) -> server.edit (write; {hooks}: granted)"],
    }
    text = format_reach(reach, "agents.toml")
    assert "            admin loses templates.push (write)\n" in text
    assert f"            hooks now has server.edit (write) -> server.edit (write; {hooks}" in text
