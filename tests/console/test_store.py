"""The console over a store source (postmark-gateway --policy-in-store): a flipped cell decides
the agent's next call, two tabs editing one agent, keys, and a tampered row found by verify."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_support import HOSTILE, csrf_of, http_sign_in, send_as, sign_in, start_console
from gateway_support import Running, stop
from playwright.sync_api import expect

POSTMARK = Path(sys.executable).parent / "postmark"


@pytest.fixture(scope="module")
def stored(fake: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_console(tmp_path_factory.mktemp("stored"), fake, "--policy-in-store")
    try:
        yield running
    finally:
        stop(running)


def _servers(url: str, key: str) -> int:
    headers = {"X-Postmark-Account-Token": key, "Accept": "application/json"}
    answer = httpx.get(f"{url}/servers?count=1&offset=0", headers=headers, timeout=10)
    return answer.status_code


def test_a_flipped_cell_decides_the_agents_next_call(
    page: Any, stored: Running, artifacts: Path
) -> None:
    assert send_as(stored.url, "mailer").status_code == 200
    sign_in(page, stored.url)
    expect(page.locator("#source")).to_contain_text("Source of truth: the store")
    page.get_by_label("email for mailer").select_option("off")
    page.get_by_role("button", name="Save mailer").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved mailer")
    denied = send_as(stored.url, "mailer")
    assert denied.status_code == 422 and "off on email" in denied.json()["Message"]
    page.get_by_label("email for mailer").select_option("full")
    page.get_by_role("button", name="Save mailer").click()
    expect(page.get_by_label("email for mailer")).to_have_value("full")
    assert send_as(stored.url, "mailer").status_code == 200
    # Narrowing: recipients on another domain only, then the send to example.com is denied.
    row = page.locator("#matrix tbody tr", has_text="mailer")
    row.get_by_text("Change").click()
    page.get_by_label("Recipients for mailer").fill("*@example.org")
    page.get_by_role("button", name="Save mailer").click()
    expect(row).to_contain_text("recipients *@example.org")
    assert send_as(stored.url, "mailer").status_code == 422
    row.get_by_text("Change").click()
    page.get_by_label("Recipients for mailer").fill("*@example.com")
    page.get_by_role("button", name="Save mailer").click()
    expect(row).to_contain_text("recipients *@example.com")
    page.set_viewport_size({"width": 2200, "height": 700})
    page.screenshot(path=str(artifacts / "console-matrix.png"), full_page=True)
    page.goto(f"{stored.url}/console/log?decision=admin")
    expect(page.locator("#log-rows tr").first).to_contain_text("admin ada changed mailer")
    expect(page.locator("#log-rows")).to_contain_text("email full \u2192 off")


def test_two_tabs_editing_one_agent_the_second_is_refused(browser: Any, stored: Running) -> None:
    context = browser.new_context()
    try:
        first = context.new_page()
        sign_in(first, stored.url)
        second = context.new_page()
        second.goto(f"{stored.url}/console/matrix")
        first.get_by_label("bounces for reader").select_option("read")
        first.get_by_role("button", name="Save reader").click()
        expect(first.get_by_role("status").first).to_contain_text("Saved reader")
        second.get_by_label("stats for reader").select_option("full")
        second.get_by_role("button", name="Save reader").click()
        expect(second.get_by_role("alert")).to_contain_text("changed since version")
        # The first edit holds, the second was not made: the page shows the current settings.
        expect(second.get_by_label("bounces for reader")).to_have_value("read")
        expect(second.get_by_label("stats for reader")).to_have_value("off")
    finally:
        context.close()


def test_an_added_agent_is_given_a_level_and_a_key(page: Any, stored: Running) -> None:
    sign_in(page, stored.url)
    page.get_by_label("Name").fill("auditor")
    page.get_by_label("Description").fill("reads <b>stats</b>")
    page.get_by_role("button", name="Add the agent").click()
    expect(page.get_by_role("status").first).to_contain_text("Added auditor")
    expect(page.locator("#matrix tbody tr", has_text="auditor")).to_contain_text("<b>stats</b>")
    page.get_by_label("stats for auditor").select_option("read")
    page.get_by_role("button", name="Save auditor").click()
    page.get_by_role("link", name="Keys").click()
    page.get_by_role("button", name="Create a key for auditor").click()
    key = page.locator("#new-key").inner_text().strip()
    headers = {"X-Postmark-Server-Token": key, "Accept": "application/json"}
    stats = httpx.get(f"{stored.url}/stats/outbound", headers=headers, timeout=10)
    assert stats.status_code == 200, stats.text
    page.get_by_role("link", name="Access").click()
    page.get_by_label("Name").fill("bad name!")
    page.get_by_role("button", name="Add the agent").click()
    expect(page.locator("#new-agent:invalid")).to_have_count(1)  # the browser's own check first


def test_a_key_is_shown_once_works_and_stops_when_revoked(page: Any, stored: Running) -> None:
    sign_in(page, stored.url)
    page.get_by_role("link", name="Keys").click()
    page.get_by_role("button", name="Create a key for accountant").click()
    key = page.locator("#new-key").inner_text().strip()
    assert len(key) >= 40
    assert _servers(stored.url, key) == 200
    page.get_by_role("link", name="Keys").click()
    assert key not in page.content()
    page.get_by_role("button", name="Rotate the keys of accountant").click()
    rotated = page.locator("#new-key").inner_text().strip()
    assert _servers(stored.url, key) == 401 and _servers(stored.url, rotated) == 200
    page.get_by_role("link", name="Keys").click()
    section = page.locator("#keys-accountant")
    expect(section.get_by_role("button", name="Revoke key")).to_have_count(1)
    section.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status").first).to_contain_text("Revoked 1 key of accountant")
    assert _servers(stored.url, rotated) == 401


def test_a_tampered_row_is_found_by_verify(page: Any, fake: Any, tmp_path: Path) -> None:
    running = start_console(tmp_path, fake, "--policy-in-store")
    try:
        for _ in range(3):
            assert send_as(running.url, "mailer").status_code == 200
        sign_in(page, running.url)
        page.get_by_role("link", name="Audit log").click()
        expect(page.locator("#chain")).to_contain_text("chain intact")
        victim = running.entries()[-2].id
        with sqlite3.connect(running.audit) as db:
            db.execute("UPDATE calls SET rule = 'nothing to see' WHERE id = ?", (victim,))
        verify = subprocess.run(
            [str(POSTMARK), "audit", "verify", "--policy", str(tmp_path / "agents.toml")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert verify.returncode == 1, verify.stdout + verify.stderr
        assert f"chain broken at row {victim}" in verify.stdout
        page.reload()
        expect(page.locator("#chain")).to_contain_text(f"chain broken at row {victim}")
    finally:
        stop(running)


def test_markup_as_an_agent_name_is_refused_by_the_server(stored: Running) -> None:
    client = http_sign_in(stored.url)
    csrf = csrf_of(client.get("/console/matrix").text)
    refused = client.post("/console/agents", data={"csrf": csrf, "name": HOSTILE})
    assert refused.status_code == 400 and "Not added" in refused.text
    assert "<script>window.pwned" not in refused.text and "&lt;script&gt;" in refused.text
    missing = client.post("/console/agents", data={"name": "sneaky"})
    assert missing.status_code == 403
    assert "sneaky" not in client.get("/console/matrix").text
    client.close()


def _stats(url: str, key: str) -> int:
    headers = {"X-Postmark-Server-Token": key, "Accept": "application/json"}
    return httpx.get(f"{url}/stats/outbound", headers=headers, timeout=10).status_code


def _agent_with_a_key(client: httpx.Client, name: str) -> str:
    """A new agent that may read stats, and its key, made on the console's pages."""
    csrf = csrf_of(client.get("/console/matrix").text)
    assert client.post("/console/agents", data={"csrf": csrf, "name": name}).status_code == 200
    matrix = client.get("/console/matrix").text
    version = re.search(
        rf'name="agent" value="{name}"><input type="hidden" name="version" value="(\d+)"', matrix
    )
    assert version is not None, matrix
    saved = client.post(
        "/console/matrix",
        data={"csrf": csrf, "agent": name, "version": version.group(1), "grant.stats": "read"},
    )
    assert f"Saved {name}." in saved.text
    made = client.post("/console/keys", data={"csrf": csrf, "agent": name, "action": "create"})
    key = re.search(r'id="new-key">([^<]+)<', made.text)
    assert key is not None, made.text
    return key.group(1)


def test_an_agent_is_removed_after_a_confirmation_over_plain_http(stored: Running) -> None:
    client = http_sign_in(stored.url)
    key = _agent_with_a_key(client, "temp-bot")
    assert _stats(stored.url, key) == 200
    link = re.search(
        r'href="(/console/agents/remove\?agent=temp-bot&amp;version=(\d+))"',
        client.get("/console/matrix").text,
    )
    assert link is not None
    confirm = client.get(link.group(1).replace("&amp;", "&"))
    assert (
        confirm.status_code == 200 and "Remove the agent <strong>temp-bot</strong>?" in confirm.text
    )
    assert "its keys are revoked (1 key)" in confirm.text
    assert _stats(stored.url, key) == 200  # the confirmation step changes nothing
    csrf, version = csrf_of(confirm.text), link.group(2)
    form = {"agent": "temp-bot", "version": version}
    assert client.post("/console/agents/remove", data=form).status_code == 403
    other_site = client.post(
        "/console/agents/remove",
        data={**form, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    stale = client.post(
        "/console/agents/remove", data={**form, "csrf": csrf, "version": str(int(version) - 1)}
    )
    assert stale.status_code == 409 and "changed since version" in stale.text
    assert _stats(stored.url, key) == 200
    removed = client.post("/console/agents/remove", data={**form, "csrf": csrf})
    assert removed.status_code == 200 and "Removed temp-bot and revoked 1 key." in removed.text
    assert 'value="temp-bot"' not in removed.text
    assert _stats(stored.url, key) == 401  # its next call is denied
    again = client.post("/console/agents/remove", data={**form, "csrf": csrf})
    assert again.status_code == 409 and "it was removed" in again.text
    rows = client.get("/console/log.json", params={"agent": "temp-bot", "decision": "admin"}).text
    assert "admin ada removed agent temp-bot (and revoked 1 key)" in rows
    client.close()


def test_the_removal_step_shows_an_unknown_name_escaped(stored: Running) -> None:
    client = http_sign_in(stored.url)
    answer = client.get("/console/agents/remove", params={"agent": HOSTILE, "version": "1"})
    assert answer.status_code == 404 and "Not removed" in answer.text
    assert "<script>window.pwned" not in answer.text and "&lt;script&gt;" in answer.text
    csrf = csrf_of(answer.text)
    refused = client.post(
        "/console/agents/remove", data={"csrf": csrf, "agent": HOSTILE, "version": "1"}
    )
    assert refused.status_code == 409 and "<script>window.pwned" not in refused.text
    client.close()


def test_an_agent_is_removed_in_the_browser(page: Any, stored: Running) -> None:
    sign_in(page, stored.url)
    page.get_by_label("Name").fill("leaver")
    page.get_by_role("button", name="Add the agent").click()
    page.get_by_label("stats for leaver").select_option("read")
    page.get_by_role("button", name="Save leaver").click()
    page.get_by_role("link", name="Keys").click()
    page.get_by_role("button", name="Create a key for leaver").click()
    key = page.locator("#new-key").inner_text().strip()
    assert _stats(stored.url, key) == 200
    page.get_by_role("link", name="Access").click()
    page.get_by_role("link", name="Remove leaver").click()
    expect(page.get_by_role("heading", name="Remove an agent")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("its keys are revoked (1 key)")
    page.get_by_role("link", name="Keep leaver").click()  # a second thought: nothing changes
    expect(page.get_by_label("stats for leaver")).to_have_value("read")
    page.get_by_role("link", name="Remove leaver").click()
    page.get_by_role("button", name="Remove leaver").click()
    expect(page.get_by_role("status").first).to_contain_text("Removed leaver and revoked 1 key.")
    expect(page.locator("#matrix tbody tr", has_text="leaver")).to_have_count(0)
    assert _stats(stored.url, key) == 401
    page.goto(f"{stored.url}/console/log?decision=admin")
    expect(page.locator("#log-rows tr").first).to_contain_text("admin ada removed agent leaver")
