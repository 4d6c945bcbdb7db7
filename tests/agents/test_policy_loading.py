"""Policy files that would load wrong are refused with their lines; a byte order mark is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from postmark_client.access import Policy, PolicyError, hash_key

KEY = hash_key("one-key")


def test_two_agents_with_one_key_are_refused_with_both_lines() -> None:
    text = (
        f'[agents.a]\nmessages = "read"\nkey_sha256 = "{KEY}"\n\n'
        f'[agents.b]\nemail = "full"\nkey_sha256 = "{KEY}"\n'
    )
    with pytest.raises(PolicyError) as caught:
        Policy.loads(text, path="agents.toml")
    assert (caught.value.line, caught.value.key) == (7, "agents.b.key_sha256")
    assert str(caught.value) == (
        "agents.toml:7: agents.b.key_sha256: the same key as agents.a.key_sha256 (line 3): "
        "each agent needs its own key"
    )


@pytest.mark.parametrize("name", ["bot\\n", "bot\\r", "b\\u001bot", "bot\\t"])
def test_an_agent_name_with_a_control_character_is_refused_with_its_line(name: str) -> None:
    text = f'audit = "a.sqlite"\n\n[agents."{name}"]\nmessages = "read"\n'
    with pytest.raises(PolicyError) as caught:
        Policy.loads(text, path="agents.toml")
    assert caught.value.line == 3
    assert "an agent name is letters, digits" in caught.value.message


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'audit = "a.sqlite"\n[agents.bot]\nmessages = "read"\n')
    policy = Policy.load(path)
    assert list(policy.agents) == ["bot"] and policy.audit_path == tmp_path / "a.sqlite"
    assert list(Policy.loads('\ufeff[agents.bot]\nmessages = "read"\n').agents) == ["bot"]


def test_audit_log_id_must_be_a_string() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.loads("audit_log_id = 5\n", path="agents.toml")
    assert (caught.value.line, caught.value.key) == (1, "audit_log_id")
    assert "must be the id `postmark audit --log-id` prints" in caught.value.message
