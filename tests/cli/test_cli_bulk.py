"""`postmark email send-bulk` and `postmark email get-bulk-status` (the Bulk API, release note
2026-03-05) against the fake Postmark over HTTP: a bulk request is accepted, its status moves
Accepted -> Processing -> Completed (one step per read in the fake), and its messages are then
found by `messages search-outbound`.

Skipped while the spec has no Bulk API: the commands appear with the operations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import CLI, items_of
from postmark_client._operations import OPERATIONS

pytestmark = pytest.mark.skipif(
    not {"send_bulk_email", "get_bulk_email_status"} <= set(OPERATIONS),
    reason="the spec has no Bulk API yet (POST /email/bulk, GET /email/bulk/{bulkRequestId})",
)

BODY = {
    "From": "news@example.com",
    "Subject": "Hello {{FirstName}}",
    "TextBody": "Hello {{FirstName}}",
    "MessageStream": "broadcast",
    "Tag": "cli-bulk",
    "Messages": [
        {"To": "ada@example.com", "TemplateModel": {"FirstName": "Ada"}},
        {"To": "grace@example.com", "TemplateModel": {"FirstName": "Grace"}},
    ],
}


def test_send_bulk_then_status_until_completed_then_search(cli: CLI, fake: Any) -> None:
    accepted = cli.json("email", "send-bulk", "--json", json.dumps(BODY))
    assert accepted["Status"] == "Accepted" and accepted["Id"]

    seen = [
        cli.json("email", "get-bulk-status", "--bulk-request-id", accepted["Id"]) for _ in range(3)
    ]
    assert [(s["Status"], s["PercentageCompleted"], s["TotalMessages"]) for s in seen] == [
        ("Accepted", 0.0, 2),
        ("Processing", 50.0, 2),
        ("Completed", 100.0, 2),
    ]
    assert {s["Id"] for s in seen} == {accepted["Id"]}

    found = cli.json("messages", "search-outbound", "--tag", "cli-bulk")
    subjects = sorted(m["Subject"] for m in items_of(found, "Messages"))
    assert subjects == ["Hello Ada", "Hello Grace"]
    assert sorted(m["Recipients"][0] for m in fake.messages() if m["Tag"] == "cli-bulk") == [
        "ada@example.com",
        "grace@example.com",
    ]


def test_the_body_comes_from_a_file_and_flags_win(cli: CLI, fake: Any, tmp_path: Path) -> None:
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(BODY))
    accepted = cli.json(
        "email", "send-bulk", "--json", f"@{path}", "--subject", "From the flag",
        "--recipients", json.dumps([{"To": "edsger@example.com"}]),
    )  # fmt: skip
    for _ in range(3):
        cli.json("email", "get-bulk-status", "--bulk-request-id", accepted["Id"])
    [message] = [m for m in fake.messages() if m["Tag"] == "cli-bulk"]
    assert (message["Subject"], message["Recipients"]) == ("From the flag", ["edsger@example.com"])


def test_a_refused_bulk_request_exits_1_with_the_error_code(cli: CLI) -> None:
    result = cli.run(
        "email", "send-bulk", "--json", json.dumps({**BODY, "MessageStream": "outbound"}),
        expect=1,
    )  # fmt: skip
    assert "API error: HTTP 422" in result.stderr
    assert "ErrorCode: 1236 (StreamSendingNotSupported)" in result.stderr


def test_an_unknown_bulk_request_exits_1_with_error_code_12(cli: CLI) -> None:
    result = cli.run("email", "get-bulk-status", "--bulk-request-id", "no-such-request", expect=1)
    assert "API error: HTTP 404" in result.stderr
    assert "ErrorCode: 12 (ResourceNotFound)" in result.stderr
