"""The audit log page: newest first, live, filters, exports, and every value escaped."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from console_support import HOSTILE, http_sign_in, send_as, sign_in
from gateway_support import Running
from playwright.sync_api import expect
from postmark_client._audit import AuditLog


def test_the_log_is_newest_first_live_and_filtered(
    page: Any, gateway: Running, artifacts: Path
) -> None:
    assert send_as(gateway.url, "mailer").status_code == 200
    assert send_as(gateway.url, "reader").status_code == 422  # reader may not send
    sign_in(page, gateway.url)
    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("#log-rows tr")
    expect(rows.first).to_contain_text("reader tried to send")
    expect(rows.nth(1)).to_contain_text("mailer sent")
    # Live: a call made while the page is open appears at the top without a reload.
    assert send_as(gateway.url, "mailer", To="later@example.com").status_code == 200
    expect(rows.first).to_contain_text("mailer sent", timeout=15_000)
    expect(rows.first).to_contain_text("allowed")
    page.screenshot(path=str(artifacts / "console-log.png"), full_page=True)

    page.get_by_label("Decision").select_option("denied")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows.first).to_contain_text("reader tried to send")
    assert all(cell == "denied" for cell in page.locator("#log-rows td.denied").all_inner_texts())
    expect(page.locator("#log-rows td.allowed")).to_have_count(0)
    page.get_by_label("Decision").select_option("")
    page.get_by_label("Agent").select_option("mailer")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#log-rows tr", has_text="reader")).to_have_count(0)
    expect(rows.first).to_contain_text("mailer")
    # The detail behind a sentence opens from the keyboard.
    rows.first.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(rows.first.locator("dl.detail")).to_contain_text("send_email")


def test_exports_hold_the_filtered_rows(page: Any, gateway: Running) -> None:
    assert send_as(gateway.url, "reader").status_code == 422
    sign_in(page, gateway.url)
    page.goto(f"{gateway.url}/console/log?decision=denied")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert table and {row["decision"] for row in table} == {"denied"}
    assert table[-1]["agent"] == "reader" and "tried to send" in table[-1]["sentence"]
    with page.expect_download() as download:
        page.get_by_role("link", name="JSON Lines").click()
    lines = Path(download.value.path()).read_text("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [int(row["id"]) for row in table]


def _hostile_row(audit: Path) -> None:
    """A row whose agent, stream and rule are markup (an agent controls what it sends)."""
    log = AuditLog(audit)
    row = ("x" + HOSTILE, "send_email", "email", "write", "Send one email.", "server token …0001",
           HOSTILE, 1, "example.com", None, 1, "denied", f"rule {HOSTILE}", "not sent", "0" * 16)  # fmt: skip
    log.begin(row)
    log.close()


def test_markup_in_names_streams_and_audit_text_is_shown_escaped(
    page: Any, gateway: Running
) -> None:
    _hostile_row(gateway.audit)
    sign_in(page, gateway.url)
    description = page.locator("#matrix tbody th", has_text="mailer")
    expect(description).to_contain_text(HOSTILE)  # shown as text, not run
    page.goto(f"{gateway.url}/console/log")
    expect(page.locator("#log-rows tr").first).to_contain_text(f"x{HOSTILE}")
    expect(page.locator("#log-rows tr").first).to_contain_text(f"stream {HOSTILE}")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("#main script, #main img").count() == 0
    # The live feed's rows are built as text too.
    _hostile_row(gateway.audit)
    expect(page.locator("#log-rows tr")).to_have_count(
        page.locator("#log-rows tr").count() + 1, timeout=15_000
    )
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("#main script, #main img").count() == 0


def test_a_csv_cell_that_reads_as_a_formula_is_quoted(page: Any, gateway: Running) -> None:
    log = AuditLog(gateway.audit)
    row = ("=HYPERLINK(1)", "send_email", "email", "write", "Send one email.", "", None, 0,
           None, None, 0, "denied", "r", "not sent", "0" * 16)  # fmt: skip
    log.begin(row)
    log.close()
    sign_in(page, gateway.url)
    page.goto(f"{gateway.url}/console/log?decision=denied")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert table[-1]["agent"] == "'=HYPERLINK(1)"


def test_the_area_and_time_filters_and_a_bad_filter(gateway: Running) -> None:
    assert send_as(gateway.url, "mailer").status_code == 200
    client = http_sign_in(gateway.url)
    feed = client.get("/console/log.json", params={"area": "email"}).json()["entries"]
    assert feed and {e["group"] for e in feed} == {"email"}
    assert client.get("/console/log.json", params={"area": "bounces"}).json()["entries"] == []
    newest = datetime.fromisoformat(feed[-1]["time"].removesuffix("Z"))
    later = (newest + timedelta(minutes=1)).isoformat(timespec="minutes")
    earlier = (newest - timedelta(minutes=1)).isoformat(timespec="minutes")
    assert client.get("/console/log.json", params={"since": later}).json()["entries"] == []
    until = client.get("/console/log.json", params={"until": earlier}).json()["entries"]
    assert all(e["id"] < feed[-1]["id"] for e in until)
    bad = client.get("/console/log", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since: &#x27;yesterday&#x27; is not a date" in bad.text
    client.close()
