"""`diff` reports a change of the second groups an operation acts on (`x-postmark-reaches`)."""

from __future__ import annotations

from pathlib import Path

from diff_support import Doc, compare, mini, mutated

REACHES = [{"group": "sender_signatures", "access": "read", "fields": ["Cc", "Bcc"]}]


def mark_send(doc: Doc) -> None:
    doc["paths"]["/email"]["post"]["x-postmark-reaches"] = REACHES


def test_a_new_mark_is_an_informational_operation_change(tmp_path: Path) -> None:
    report = compare(tmp_path, mini(), mutated(mark_send))
    [change] = [c for c in report.changes if c.scope != "agents"]
    assert (change.kind, change.breaking, change.location, change.python) == (
        "operation-changed",
        False,
        "paths./email.post.x-postmark-reaches",
        "client.email.send",
    )
    assert change.message == (
        "POST /email: now also needs read on sender_signatures when it sets Cc, Bcc "
        "(was no other grant)"
    )
    assert (change.before, change.after) == (
        "no other grant",
        "read on sender_signatures when it sets Cc, Bcc",
    )
    # What the MCP tool tells agents changes with it.
    [told] = [c for c in report.changes if c.scope == "agents"]
    assert told.kind == "tool-description-changed"
    assert told.after is not None and "sender_signatures" in told.after


def test_a_removed_mark_says_what_it_took(tmp_path: Path) -> None:
    [change] = [
        c for c in compare(tmp_path, mutated(mark_send), mini()).changes if c.scope != "agents"
    ]
    assert change.message.startswith("POST /email: now also needs no other grant (was read on")
