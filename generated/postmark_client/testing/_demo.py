# Copied by postmark-codegen from templates/static/postmark_client/testing/_demo.py;
# edit it there and regenerate, not here.
"""The demo account of `FakePostmark(seed="demo")`: a verified domain and a confirmed sender
signature, a layout and a welcome template, a few sent messages (one bounced, one opened and
clicked) and inbound mail in each state. Everything goes through the fake's own API, with a
clock fixed at Monday 6 January 2025, so the demo data is the same on every run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._state import EASTERN

if TYPE_CHECKING:
    from ._fake import FakePostmark

DEMO_SENDER = "sender@example.com"

_LAYOUT = {
    "Name": "Basic layout",
    "Alias": "basic-layout",
    "TemplateType": "Layout",
    "HtmlBody": "<html><body>{{{ @content }}}<p>The {{product_name}} team</p></body></html>",
    "TextBody": "{{{ @content }}}\n\nThe {{product_name}} team",
}
_WELCOME = {
    "Name": "Welcome",
    "Alias": "welcome",
    "TemplateType": "Standard",
    "LayoutTemplate": "basic-layout",
    "Subject": "Welcome to {{product_name}}, {{name}}!",
    "HtmlBody": '<p>Hi {{name}},</p><p><a href="https://example.com/start">Get started</a></p>',
    "TextBody": "Hi {{name}},\n\nGet started: https://example.com/start",
}


def preload(fake: FakePostmark) -> None:
    world = fake._world
    real_clock = world.clock
    from ._fake import fixed_clock

    world.clock = fixed_clock(datetime(2025, 1, 6, 9, 0, tzinfo=EASTERN))
    try:
        _account(fake)
        _server(fake)
    finally:
        world.clock = real_clock


def _call(
    fake: FakePostmark, method: str, path: str, body: Any = None, *, account: bool = False
) -> Any:
    header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
    token = fake.account_token if account else fake.server_token
    content = b"" if body is None else json.dumps(body).encode("utf-8")
    answer = fake.handle(method, path, {header: token, "Content-Type": "application/json"}, content)
    if answer.status != 200:
        raise RuntimeError(f"demo data: {method} {path} answered {answer.status}: {answer.json()}")
    return answer.json()


def _account(fake: FakePostmark) -> None:
    domain = _call(
        fake,
        "POST",
        "/domains",
        {"Name": "example.com", "ReturnPathDomain": "pm-bounces.example.com"},
        account=True,
    )
    fake.verify_domain(domain["ID"])
    _call(
        fake, "POST", "/senders", {"FromEmail": DEMO_SENDER, "Name": "Example Sender"}, account=True
    )
    fake.confirm_sender_signature(DEMO_SENDER)


def _server(fake: FakePostmark) -> None:
    _call(fake, "POST", "/templates", _LAYOUT)
    _call(fake, "POST", "/templates", _WELCOME)
    welcome = _call(
        fake,
        "POST",
        "/email/withTemplate",
        {
            "From": f"Example <{DEMO_SENDER}>",
            "To": "alice@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "Alice", "product_name": "Acme"},
            "Tag": "welcome",
            "TrackOpens": True,
            "TrackLinks": "HtmlAndText",
            "Metadata": {"customer-id": "1001"},
        },
    )
    _call(
        fake,
        "POST",
        "/email",
        {
            "From": DEMO_SENDER,
            "To": "bob@example.com",
            "Subject": "Your receipt",
            "TextBody": "Thanks for your order.",
            "Tag": "receipt",
        },
    )
    _call(
        fake,
        "POST",
        "/email",
        {
            "From": DEMO_SENDER,
            "To": "hardbounce@bounce-testing.postmarkapp.com",
            "Subject": "Welcome aboard",
            "TextBody": "This address bounces.",
            "Tag": "welcome",
        },
    )
    fake.open(welcome["MessageID"])
    fake.click(welcome["MessageID"], "https://example.com/start")
    fake.receive_inbound(
        "Carol <carol@example.net>", subject="Question about my order", text_body="Where is it?"
    )
    fake.receive_inbound(
        "spammer@example.net", subject="You won!", text_body="Click here", status="Blocked"
    )
    fake.receive_inbound(
        "dave@example.net", subject="Re: receipt", text_body="Thanks", status="Failed"
    )
