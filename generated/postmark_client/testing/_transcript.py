# Copied by postmark-codegen from templates/static/postmark_client/testing/_transcript.py;
# edit it there and regenerate, not here.
"""`postmark-fake --demo`: the client's main job, end to end, with nothing leaving the machine.

Starts the fake Postmark on a free loopback port, then uses the real `ServerClient` over HTTP to
send a message, search it back, read its delivery event, and show what a bounce does to the next
send. Prints each step as a short transcript.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TextIO

from ..client import ServerClient
from ..errors import InactiveRecipientError

if TYPE_CHECKING:
    from ._fake import FakePostmark

SENDER = "sender@example.com"
RECIPIENT = "jane@example.com"
BOUNCING = "hardbounce@bounce-testing.postmarkapp.com"


def run_demo(fake: FakePostmark, host: str, port: int, out: TextIO) -> int:
    # The transcript says what happened; the client's own log line for the expected 406 would
    # only repeat it on stderr.
    quiet = logging.NullHandler()
    logger = logging.getLogger("postmark_client")
    logger.addHandler(quiet)
    try:
        return _demo(fake, host, port, out)
    finally:
        logger.removeHandler(quiet)


def _demo(fake: FakePostmark, host: str, port: int, out: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    with (
        fake.serve(host, port) as server,
        ServerClient(fake.server_token, base_url=server.url) as client,
    ):
        say(f"FakePostmark listening on {server.url} (fake server token: {fake.server_token})")
        say("Nothing leaves this machine: the real client talks HTTP to the local fake.")
        say()
        say(
            f'1. client.email.send(from_="{SENDER}", to="{RECIPIENT}", subject="Hello", text_body=...)'
        )
        sent = client.email.send(
            from_=SENDER, to=RECIPIENT, subject="Hello from postmark-client", text_body="It works."
        )
        say(
            f"   -> accepted: MessageID {sent.message_id}, ErrorCode {sent.error_code} ({sent.message})"
        )
        say(f'2. client.messages.search_outbound(recipient="{RECIPIENT}")')
        page = client.messages.search_outbound(recipient=RECIPIENT)
        found = [m for m in page.items if m.message_id == sent.message_id]
        say(f"   -> {page.total_count} match(es); found it: {bool(found)}")
        for message in found:
            say(f'      "{message.subject}" from {message.from_}, status {message.status}')
        say(f"3. client.messages.get_outbound_details({sent.message_id!r})")
        details = client.messages.get_outbound_details(sent.message_id or "")
        for event in details.message_events:
            say(f"   -> event {event.type} for {event.recipient}")
        say(f'4. client.email.send(to="{BOUNCING}", ...)')
        bounced = client.email.send(
            from_=SENDER, to=BOUNCING, subject="Hello", text_body="This one bounces."
        )
        bounces = client.bounces.list(email_filter=BOUNCING)
        kinds = ", ".join(str(b.type) for b in bounces.items)
        say(f"   -> accepted ({bounced.message_id}); the fake then bounced it: {kinds}")
        say("5. the same send again")
        try:
            client.email.send(
                from_=SENDER, to=BOUNCING, subject="Hello again", text_body="Still bouncing?"
            )
        except InactiveRecipientError as exc:
            say(
                f"   -> {type(exc).__name__} (ErrorCode {exc.error_code}): inactive {', '.join(exc.inactive_recipients)}"
            )
        else:
            say("   -> unexpectedly accepted")
            return 1
        say()
        say(
            f"Done: {len(fake.calls)} requests answered by the fake. Run `postmark-fake` to keep it running."
        )
    return 0 if found else 1
