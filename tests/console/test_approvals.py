"""Held calls in the console: approve one (the identical call then goes through once), deny
one, and refuse a second decision of the same call."""

from __future__ import annotations

import re
from typing import Any

import httpx
from console_support import HOSTILE, csrf_of, http_sign_in, send_as, sign_in
from gateway_support import Running
from playwright.sync_api import expect
from postmark_client.errors import ErrorCode

THREE = "a@example.com, b@example.com, c@example.com"


def _held_url(answer: httpx.Response) -> str:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["ErrorCode"] == ErrorCode.APPROVAL_REQUIRED
    found = re.search(r"http://\S+/console/approvals/[0-9a-f]+", body["Message"])
    assert found is not None, body
    return found.group(0)


def test_an_approved_send_goes_through_once_and_a_denied_one_never(
    page: Any, gateway: Running
) -> None:
    url = _held_url(send_as(gateway.url, "mailer", To=THREE, Subject="approve me"))
    sign_in(page, gateway.url)
    page.goto(url)
    held = page.locator("article.held")
    expect(held).to_contain_text("mailer asked to send")
    expect(held).to_contain_text("3 recipients, over approve_over_recipients = 2")
    expect(held.locator("pre")).to_contain_text('"Subject": "approve me"')
    page.get_by_role("button", name="Approve mailer's call").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    expect(held).to_contain_text("decided by")
    # Changed arguments do not match the approval: that call is held on its own.
    changed = _held_url(send_as(gateway.url, "mailer", To=THREE, Subject="approve me!"))
    assert send_as(gateway.url, "mailer", To=THREE, Subject="approve me").status_code == 200
    assert _held_url(send_as(gateway.url, "mailer", To=THREE, Subject="approve me")) != url

    page.get_by_role("link", name="Approvals").click()
    changed_id = changed.rsplit("/", 1)[1]
    pending = page.locator(f"#held-{changed_id}")
    expect(pending).to_contain_text('"Subject": "approve me!"')
    pending.get_by_role("button", name="Deny mailer's call").click()
    expect(page.get_by_role("status")).to_contain_text("Denied")
    again = _held_url(send_as(gateway.url, "mailer", To=THREE, Subject="approve me!"))
    assert again != changed  # still refused: held anew

    # What an agent sends is shown as text on the approval page, never run.
    _held_url(send_as(gateway.url, "mailer", To=THREE, Subject=HOSTILE))
    page.get_by_role("link", name="Approvals").click()
    expect(page.locator("article.held pre", has_text="window.pwned")).to_have_count(1)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("#main script, #main img").count() == 0

    page.goto(f"{gateway.url}/console/log?agent=mailer")
    rows = page.locator("#log-rows tr")
    expect(rows.filter(has_text="approval")).not_to_have_count(0)
    expect(page.locator("#log-rows td", has_text="used")).not_to_have_count(0)


def test_a_second_decision_of_one_call_is_refused(gateway: Running) -> None:
    url = _held_url(send_as(gateway.url, "mailer", To=THREE, Subject="twice"))
    client = http_sign_in(gateway.url)
    path = url.split(gateway.url, 1)[1]
    csrf = csrf_of(client.get(path).text)
    assert client.post(path, data={"csrf": csrf, "decision": "approve"}).status_code == 200
    second = client.post(path, data={"csrf": csrf, "decision": "deny"})
    assert second.status_code == 409 and "already approved by ada" in second.text
    forged = client.post(path, data={"csrf": "x" * 43, "decision": "approve"})
    assert forged.status_code == 403
