"""The `postmark` command, run as a subprocess against the fake Postmark's HTTP server.

One scenario per group of the API, each chaining commands the way a user would (create, read
the ID from the JSON output, use it), and checking the effect through the fake's own state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_support import CLI, items_of

SENDER = "sender@example.com"


def send(cli: CLI, to: str, subject: str = "Hi", *extra: str) -> dict[str, Any]:
    result: dict[str, Any] = cli.json(
        "email", "send", "--from", SENDER, "--to", to, "--subject", subject,
        "--text-body", "Hello", *extra,
    )  # fmt: skip
    return result


def test_email_send_is_stored_and_found_by_search(cli: CLI, fake: Any) -> None:
    sent = send(cli, "b@example.com", "Hi", "--tag", "welcome", "--metadata", '{"order": "42"}')
    assert sent["ErrorCode"] == 0
    assert sent["To"] == "b@example.com"

    stored = [m for m in fake.messages() if m["MessageID"] == sent["MessageID"]]
    assert len(stored) == 1
    assert stored[0]["Subject"] == "Hi"
    assert stored[0]["Tag"] == "welcome"
    assert stored[0]["Metadata"].pop("idempotency_key")  # beside the caller's own Metadata
    assert stored[0]["Metadata"] == {"order": "42"}

    found = cli.json(
        "messages", "search-outbound", "--recipient", "b@example.com", "--tag", "welcome"
    )
    assert [m["MessageID"] for m in items_of(found, "Messages")] == [sent["MessageID"]]
    details = cli.json("messages", "get-outbound-details", "--message-id", sent["MessageID"])
    assert details["MessageID"] == sent["MessageID"]
    assert details["TextBody"] == "Hello"


def test_email_send_takes_the_body_from_json_and_flags_win(cli: CLI, fake: Any) -> None:
    body = {
        "From": SENDER,
        "To": "json@example.com",
        "Subject": "from json",
        "HtmlBody": "<b>x</b>",
    }
    sent = cli.json("email", "send", "--json", json.dumps(body), "--subject", "from the flag")
    stored = next(m for m in fake.messages() if m["MessageID"] == sent["MessageID"])
    assert stored["Subject"] == "from the flag"
    assert stored["HtmlBody"] == "<b>x</b>"


def test_email_send_reads_json_from_stdin_and_from_a_file(
    cli: CLI, fake: Any, tmp_path: Path
) -> None:
    body = {"From": SENDER, "To": "stdin@example.com", "Subject": "piped", "TextBody": "x"}
    piped = cli.json("email", "send", "--json", "-", input=json.dumps(body))
    path = tmp_path / "message.json"
    path.write_text(json.dumps({**body, "To": "file@example.com", "Subject": "from a file"}))
    filed = cli.json("email", "send", "--json", f"@{path}")

    by_id = {m["MessageID"]: m for m in fake.messages()}
    assert by_id[piped["MessageID"]]["Subject"] == "piped"
    assert by_id[filed["MessageID"]]["Subject"] == "from a file"


def test_templates_lifecycle_and_send_with_template(cli: CLI, fake: Any, tmp_path: Path) -> None:
    created = cli.json(
        "templates", "create", "--name", "Welcome", "--alias", "welcome-cli",
        "--subject", "Hello {{name}}", "--html-body", "<p>Hi {{name}}</p>", "--text-body", "Hi {{name}}",
    )  # fmt: skip
    template_id = created["TemplateId"]
    got = cli.json("templates", "get", "--template-id-or-alias", "welcome-cli")
    assert got["TemplateId"] == template_id
    assert got["Subject"] == "Hello {{name}}"

    cli.json(
        "templates", "edit", "--template-id-or-alias", str(template_id), "--subject", "Hey {{name}}"
    )
    assert (
        cli.json("templates", "get", "--template-id-or-alias", str(template_id))["Subject"]
        == "Hey {{name}}"
    )

    listed = cli.json("templates", "list", "--count", "50")
    assert template_id in [t["TemplateId"] for t in items_of(listed, "Templates")]

    model = tmp_path / "validate.json"
    model.write_text(
        json.dumps({"Subject": "Hi {{name}}", "TextBody": "x", "TestRenderModel": {"name": "Ann"}})
    )
    validated = cli.json("templates", "validate", "--json", f"@{model}")
    assert validated["AllContentIsValid"] is True
    assert validated["Subject"]["RenderedContent"] == "Hi Ann"

    sent = cli.json(
        "email", "send-with-template", "--template-alias", "welcome-cli",
        "--template-model", '{"name": "Ann"}', "--from", SENDER, "--to", "ann@example.com",
    )  # fmt: skip
    stored = next(m for m in fake.messages() if m["MessageID"] == sent["MessageID"])
    assert stored["Subject"] == "Hey Ann"

    cli.json("templates", "delete", "--template-id-or-alias", str(template_id))
    assert not next(t for t in fake.templates() if t["TemplateId"] == template_id)["Active"]


def test_send_batch_with_templates_takes_messages_from_a_file(
    cli: CLI, fake: Any, tmp_path: Path
) -> None:
    cli.json("templates", "create", "--name", "Batch", "--alias", "batch-cli", "--subject", "S {{n}}",
             "--text-body", "T {{n}}")  # fmt: skip
    messages = [
        {
            "TemplateAlias": "batch-cli",
            "TemplateModel": {"n": n},
            "From": SENDER,
            "To": f"t{n}@example.com",
        }
        for n in range(3)
    ]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"Messages": messages}))
    rows = cli.json("email", "send-batch-with-templates", "--json", f"@{path}")
    assert [row["Status"] for row in rows] == ["sent"] * 3
    subjects = {m["MessageID"]: m["Subject"] for m in fake.messages()}
    assert [subjects[row["MessageID"]] for row in rows] == ["S 0", "S 1", "S 2"]


def test_bounces_list_get_dump_activate(cli: CLI, fake: Any) -> None:
    sent = send(cli, "later-bounces@example.com", "will bounce")
    fake.bounce(sent["MessageID"], type="HardBounce")  # the recipient's server bounces it later
    stats = cli.json("bounces", "get-delivery-stats")
    assert "Bounces" in stats

    listed = cli.json(
        "bounces",
        "list",
        "--count",
        "50",
        "--type",
        "HardBounce",
        "--email-filter",
        "later-bounces",
    )
    bounces = items_of(listed, "Bounces")
    assert bounces and all(b["Type"] == "HardBounce" for b in bounces)
    bounce_id = bounces[0]["ID"]

    got = cli.json("bounces", "get", "--bounce-id", str(bounce_id))
    assert got["ID"] == bounce_id
    assert got["Email"] == "later-bounces@example.com"
    assert got["MessageID"] == sent["MessageID"]
    dump = cli.json("bounces", "get-dump", "--bounce-id", str(bounce_id))
    assert "Body" in dump

    activated = cli.json("bounces", "activate", "--bounce-id", str(bounce_id))
    assert activated["Bounce"]["ID"] == bounce_id
    assert activated["Bounce"]["Inactive"] is False


def test_messages_opens_clicks_and_inbound(cli: CLI, fake: Any) -> None:
    opens = cli.json("messages", "search-opens", "--count", "10")
    clicks = cli.json("messages", "search-clicks", "--count", "10")
    assert items_of(opens, "Opens"), "the demo seed has an open"
    assert items_of(clicks, "Clicks"), "the demo seed has a click"

    failed = fake.receive_inbound("someone@example.org", subject="needs a retry", status="Failed")
    blocked = fake.receive_inbound("spammer@example.org", subject="blocked", status="Blocked")
    inbound = cli.json("messages", "search-inbound", "--count", "50", "--status", "failed")
    assert failed["MessageID"] in [m["MessageID"] for m in items_of(inbound, "InboundMessages")]

    cli.json("messages", "retry-inbound", "--message-id", failed["MessageID"])
    cli.json("messages", "bypass-inbound", "--message-id", blocked["MessageID"])
    statuses = {m["MessageID"]: m["Status"] for m in fake.inbound_messages()}
    assert statuses[failed["MessageID"]] != "Failed"
    assert statuses[blocked["MessageID"]] != "Blocked"


def test_suppressions_create_dump_delete(cli: CLI, fake: Any) -> None:
    entries = '[{"EmailAddress": "gone@example.com"}, {"EmailAddress": "left@example.com"}]'
    created = cli.json(
        "suppressions", "create", "--stream-id", "outbound", "--suppressions", entries
    )
    assert [s["Status"] for s in items_of(created, "Suppressions")] == ["Suppressed", "Suppressed"]
    assert {"gone@example.com", "left@example.com"} <= {
        s["EmailAddress"] for s in fake.suppressions()
    }

    dump = cli.json(
        "suppressions", "dump", "--stream-id", "outbound", "--email-address", "gone@example.com"
    )
    assert [s["EmailAddress"] for s in items_of(dump, "Suppressions")] == ["gone@example.com"]

    removal = json.dumps({"Suppressions": [{"EmailAddress": "gone@example.com"}]})
    deleted = cli.json("suppressions", "delete", "--stream-id", "outbound", "--json", removal)
    assert items_of(deleted, "Suppressions")[0]["Status"] == "Deleted"
    assert "gone@example.com" not in {s["EmailAddress"] for s in fake.suppressions()}


def test_stats(cli: CLI) -> None:
    before = cli.json("stats", "get-outbound-overview")["Sent"]
    send(cli, "counted@example.com")
    assert cli.json("stats", "get-outbound-overview")["Sent"] == before + 1
    assert "Days" in cli.json("stats", "get-sent-counts", "--tag", "nothing-tagged-so")
    assert "Days" in cli.json("stats", "get-bounce-counts")


def test_servers_lifecycle(cli: CLI, fake: Any) -> None:
    created = cli.json("servers", "create", "--name", "Staging", "--color", "Red", "--track-opens")
    server_id = created["ID"]
    assert created["Name"] == "Staging"
    assert created["TrackOpens"] is True
    assert len(fake.server_tokens()) == 2

    edited = cli.json("servers", "edit", "--server-id", str(server_id), "--track-opens", "false",
                      "--name", "Staging 2")  # fmt: skip
    assert edited["TrackOpens"] is False
    assert cli.json("servers", "get", "--server-id", str(server_id))["Name"] == "Staging 2"
    names = [
        s["Name"] for s in items_of(cli.json("servers", "list", "--name", "Staging"), "Servers")
    ]
    assert names == ["Staging 2"]

    cli.json("servers", "delete", "--server-id", str(server_id))
    assert len(fake.server_tokens()) == 1


def test_domains_lifecycle(cli: CLI, fake: Any) -> None:
    created = cli.json("domains", "create", "--name", "cli-example.com")
    domain_id = created["ID"]
    edited = cli.json("domains", "edit", "--domain-id", str(domain_id), "--return-path-domain",
                      "pm-bounces.cli-example.com")  # fmt: skip
    assert edited["ReturnPathDomain"] == "pm-bounces.cli-example.com"
    listed = items_of(cli.json("domains", "list", "--count", "50"), "Domains")
    assert domain_id in [d["ID"] for d in listed]
    fake.verify_domain("cli-example.com")  # DNS published: only a verified DKIM key rotates
    rotated = cli.json("domains", "rotate-dkim", "--domain-id", str(domain_id))
    assert rotated["ID"] == domain_id


def test_sender_signatures_lifecycle(cli: CLI) -> None:
    created = cli.json("sender-signatures", "create", "--from-email", "jane@cli-example.org",
                       "--name", "Jane")  # fmt: skip
    signature_id = created["ID"]
    listed = items_of(cli.json("sender-signatures", "list"), "SenderSignatures")
    assert signature_id in [s["ID"] for s in listed]
    cli.json("sender-signatures", "delete", "--signature-id", str(signature_id))
    listed = items_of(cli.json("sender-signatures", "list"), "SenderSignatures")
    assert signature_id not in [s["ID"] for s in listed]
