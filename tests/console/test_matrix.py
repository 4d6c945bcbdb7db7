"""The matrix: agents down, areas across, each cell a labelled Off/Read/Write/Full select."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console_support import csrf_of, http_sign_in, sign_in
from gateway_support import Running
from playwright.sync_api import expect


def test_the_matrix_shows_the_policy_file_read_only(
    page: Any, gateway: Running, artifacts: Path
) -> None:
    sign_in(page, gateway.url)
    expect(page.locator("#source")).to_contain_text("Source of truth: the policy file")
    expect(page.locator("#source")).to_contain_text("read-only")
    cell = page.get_by_label("email for mailer")
    expect(cell).to_have_value("full")
    expect(cell).to_be_disabled()
    expect(page.get_by_label("bounces for mailer")).to_have_value("off")
    expect(page.get_by_label("templates for reader")).to_have_value("full")
    header = page.locator("#matrix thead th", has_text="email")
    expect(header.first).to_contain_text("Action")
    expect(page.locator("#matrix thead th", has_text="bounces")).to_contain_text("Resource")
    expect(page.locator("#matrix tbody tr", has_text="mailer")).to_contain_text(
        "recipients *@example.com"
    )
    page.screenshot(path=str(artifacts / "console-matrix-file.png"), full_page=True)
    # templates full reaches servers (templates.push): shown, and not granted to reader.
    reader = page.locator("#matrix tbody tr", has_text="reader")
    reader.get_by_text("cross-area").click()
    expect(reader).to_contain_text("templates.push also takes write on servers: not granted")


def test_every_control_has_a_label_and_the_page_fits_360_px(page: Any, gateway: Running) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, gateway.url)
    for path in ("matrix", "log", "keys", "approvals"):
        page.goto(f"{gateway.url}/console/{path}")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('select, input:not([type=hidden]), button')]
                .filter(c => !(c.labels && c.labels.length) && !c.textContent.trim()
                             && !c.getAttribute('aria-label')).map(c => c.outerHTML)"""
        )
        assert unlabelled == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path


def test_the_console_is_used_with_the_keyboard_only(page: Any, gateway: Running) -> None:
    page.goto(f"{gateway.url}/console")
    page.keyboard.press("Tab")
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Access")).to_be_visible()
    page.get_by_role("link", name="Audit log").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()


def test_a_file_source_offers_no_removal_and_refuses_one(gateway: Running) -> None:
    client = http_sign_in(gateway.url)
    matrix = client.get("/console/matrix").text
    assert "/console/agents/remove" not in matrix
    step = client.get("/console/agents/remove", params={"agent": "reader", "version": "0"})
    assert step.status_code == 400 and "is the source of truth" in step.text
    assert '<button type="submit">Remove reader' not in step.text
    form = {"csrf": csrf_of(matrix), "agent": "reader", "version": "0"}
    refused = client.post("/console/agents/remove", data=form)
    assert refused.status_code == 400 and "is the source of truth" in refused.text
    assert client.get("/console/matrix").text.count('for="cell-') == matrix.count('for="cell-')
    client.close()
