"""Every operation of the operation table, driven through `postmark <group> <action>` against the
fake Postmark over HTTP, in an order where each command finds what it needs.

The commands run in this process (`InProcessCLI`: the same `main`, the same HTTP) to keep 85+
commands quick; `test_cli_groups.py` runs the command as a subprocess.
"""

from __future__ import annotations

import json
from typing import Any

from cli_support import InProcessCLI, items_of
from postmark_client._operations import OPERATIONS

SENDER = "sender@example.com"
STATS = (
    "get-outbound-overview", "get-sent-counts", "get-bounce-counts", "get-spam-complaint-counts",
    "get-tracked-counts", "get-open-counts", "get-open-platform-counts",
    "get-email-client-counts", "get-read-time-counts", "get-click-counts",
    "get-browser-family-counts", "get-click-platform-counts", "get-click-location-counts",
)  # fmt: skip


def test_every_operation_through_the_cli(fake_url: str, fake: Any) -> None:
    cli = InProcessCLI(fake_url)
    j = cli.json

    # email
    html = '<p>Hi <a href="https://example.com/start">start</a></p>'
    sent = j("email", "send", "--from", SENDER, "--to", "jane@example.com", "--subject", "Hi",
             "--html-body", html, "--track-opens", "--track-links", "HtmlAndText")  # fmt: skip
    message_id = sent["MessageID"]
    batch = [{"From": SENDER, "To": "a@example.com", "TextBody": "A"}]
    j("email", "send-batch", "--json", json.dumps(batch))
    j("templates", "create", "--name", "Welcome", "--alias", "welcome-all",
      "--subject", "Hi {{name}}", "--text-body", "Hello {{name}}")  # fmt: skip
    j("email", "send-with-template", "--from", SENDER, "--to", "k@example.com",
      "--template-alias", "welcome-all", "--template-model", '{"name": "K"}')  # fmt: skip
    messages = [{"From": SENDER, "To": "l@example.com", "TemplateAlias": "welcome-all",
                 "TemplateModel": {"name": "L"}}]  # fmt: skip
    j("email", "send-batch-with-templates", "--messages", json.dumps(messages))
    bulk = j("email", "send-bulk", "--from", SENDER, "--subject", "Hi {{n}}",
             "--text-body", "Hi {{n}}", "--message-stream", "broadcast",
             "--recipients", '[{"To": "ann@example.com", "TemplateModel": {"n": "A"}}]')  # fmt: skip
    j("email", "get-bulk-status", "--bulk-request-id", bulk["Id"])

    # templates
    j("templates", "list", "--count", "50")
    j("templates", "get", "--template-id-or-alias", "welcome-all")
    j("templates", "edit", "--template-id-or-alias", "welcome-all", "--name", "Welcome!")
    j("templates", "validate", "--subject", "{{name}}", "--test-render-model", '{"name": "x"}')

    # bounces (the demo data holds a hard bounce)
    bounce = items_of(j("bounces", "list", "--count", "10", "--type", "HardBounce"), "Bounces")[0]
    j("bounces", "get-delivery-stats")
    j("bounces", "get", "--bounce-id", str(bounce["ID"]))
    j("bounces", "get-dump", "--bounce-id", str(bounce["ID"]))
    j("bounces", "activate", "--bounce-id", str(bounce["ID"]))

    # messages (an open and a click happen on Postmark's side)
    fake.open(message_id, platform="Desktop", read_seconds=5)
    fake.click(message_id, "https://example.com/start")
    j("messages", "search-outbound", "--count", "10", "--recipient", "jane@example.com")
    j("messages", "get-outbound-details", "--message-id", message_id)
    assert "Subject: Hi" in j("messages", "get-outbound-dump", "--message-id", message_id)["Body"]
    assert items_of(
        j("messages", "get-opens", "--message-id", message_id, "--count", "10"), "Opens"
    )
    assert items_of(
        j("messages", "get-clicks", "--message-id", message_id, "--count", "10"), "Clicks"
    )
    j("messages", "search-opens", "--count", "10")
    j("messages", "search-clicks", "--count", "10")
    failed = fake.receive_inbound("carol@example.net", subject="Hi", status="Failed")
    blocked = fake.receive_inbound("spam@example.net", subject="Win", status="Blocked")
    j("messages", "search-inbound", "--count", "10")
    j("messages", "get-inbound-details", "--message-id", failed["MessageID"])
    j("messages", "retry-inbound", "--message-id", failed["MessageID"])
    j("messages", "bypass-inbound", "--message-id", blocked["MessageID"])

    # suppressions
    entries = '[{"EmailAddress": "gone@example.com"}]'
    j("suppressions", "create", "--stream-id", "outbound", "--suppressions", entries)
    j("suppressions", "dump", "--stream-id", "outbound")
    j("suppressions", "delete", "--stream-id", "outbound", "--suppressions", entries)

    # stats
    for action in STATS:
        assert isinstance(j("stats", action), dict)
    assert j("stats", "get-open-counts")["Opens"] >= 1
    assert j("stats", "get-click-location-counts")["HTML"] >= 1

    # the server of the token, message streams, webhooks, inbound rules
    j("server", "get")
    assert j("server", "edit", "--track-opens", "true")["TrackOpens"] is True
    j("message-streams", "create", "--id", "news", "--name", "News",
      "--message-stream-type", "Broadcasts")  # fmt: skip
    j("message-streams", "list")
    j("message-streams", "get", "--stream-id", "news")
    assert j("message-streams", "edit", "--stream-id", "news", "--name", "N2")["Name"] == "N2"
    j("message-streams", "archive", "--stream-id", "news")
    j("message-streams", "unarchive", "--stream-id", "news")
    hook = j("webhooks", "create", "--url", "https://hooks.example.com/w",
             "--triggers", '{"Delivery": {"Enabled": true}}')  # fmt: skip
    j("webhooks", "list")
    j("webhooks", "get", "--webhook-id", str(hook["ID"]))
    j("webhooks", "edit", "--webhook-id", str(hook["ID"]), "--url", "https://hooks.example.com/2")
    j("webhooks", "delete", "--webhook-id", str(hook["ID"]))
    rule = j("inbound-rules", "create", "--rule", "spam@example.net")
    j("inbound-rules", "list", "--count", "10")
    j("inbound-rules", "delete", "--trigger-id", str(rule["ID"]))

    # account: servers, templates between servers, domains, sender signatures, data removals
    j("servers", "list", "--count", "10")
    staging = j("servers", "create", "--name", "Staging")
    j("servers", "get", "--server-id", str(staging["ID"]))
    j("servers", "edit", "--server-id", str(staging["ID"]), "--color", "Green")
    source = fake.server()["ID"]
    pushed = j("templates", "push", "--source-server-id", str(source),
               "--destination-server-id", str(staging["ID"]), "--perform-changes", "true")  # fmt: skip
    assert pushed["TotalCount"] >= 1
    j("servers", "delete", "--server-id", str(staging["ID"]))
    j("templates", "delete", "--template-id-or-alias", "welcome-all")
    domain = j("domains", "create", "--name", "example.org")
    j("domains", "list", "--count", "10")
    j("domains", "get", "--domain-id", str(domain["ID"]))
    j("domains", "edit", "--domain-id", str(domain["ID"]), "--return-path-domain", "pm.example.org")
    assert j("domains", "verify-dkim", "--domain-id", str(domain["ID"]))["DKIMVerified"] is True
    j("domains", "verify-return-path", "--domain-id", str(domain["ID"]))
    j("domains", "verify-spf", "--domain-id", str(domain["ID"]))
    j("domains", "rotate-dkim", "--domain-id", str(domain["ID"]))
    signature = j("sender-signatures", "create", "--from-email", "help@example.org", "--name", "H")
    sid = str(signature["ID"])
    j("sender-signatures", "list", "--count", "10")
    j("sender-signatures", "get", "--signature-id", sid)
    j("sender-signatures", "edit", "--signature-id", sid, "--name", "Help")
    j("sender-signatures", "resend-confirmation", "--signature-id", sid)
    j("sender-signatures", "verify-spf", "--signature-id", sid)
    fake.confirm_sender_signature(signature["ID"])  # the owner confirms; its DKIM key verifies
    j("sender-signatures", "request-new-dkim", "--signature-id", sid)
    j("sender-signatures", "delete", "--signature-id", sid)
    j("domains", "delete", "--domain-id", str(domain["ID"]))
    removal = j("data-removals", "create", "--requested-by", "admin@example.com",
                "--requested-for", "jane@example.com")  # fmt: skip
    assert removal["Status"] == "Pending"
    assert j("data-removals", "get", "--data-removal-id", str(removal["ID"]))["Status"] == "Done"

    answered = {c.operation_id for c in fake.calls if c.status == 200}
    assert answered == set(OPERATIONS), sorted(set(OPERATIONS) - answered)
