"""Signing in to the console: in a browser, and the refusals (CSRF, other gateways' cookies,
agent keys) over plain HTTP."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from console_support import (
    ADMIN,
    PASSWORD,
    console_policy,
    csrf_of,
    http_sign_in,
    sign_in,
    start_console,
)
from gateway_support import KEYS, Running, start_gateway, stop
from playwright.sync_api import expect


def test_an_administrator_signs_in_and_out(page: Any, gateway: Running) -> None:
    sign_in(page, gateway.url)
    expect(page.get_by_role("heading", name="Access")).to_be_visible()
    page.get_by_role("button", name=f"Sign out {ADMIN}").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{gateway.url}/console/matrix")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused_and_five_lock_the_name(page: Any, gateway: Running) -> None:
    sign_in(page, gateway.url, "bob", "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    for _ in range(4):
        sign_in(page, gateway.url, "bob", "still not it")
    expect(page.get_by_role("alert")).to_contain_text("locked for 300 seconds")
    sign_in(page, gateway.url, "bob", PASSWORD)  # the right password, while locked
    expect(page.get_by_role("alert")).to_contain_text("locked for")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_session_cookie_is_httponly_and_samesite_strict(gateway: Running) -> None:
    client = httpx.Client(base_url=gateway.url, timeout=10)
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "admin": ADMIN, "password": PASSWORD},
    )
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("pmc_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/console" in session
    assert "Secure" not in session  # plain HTTP on loopback; over TLS the cookie is Secure


def test_a_post_without_or_with_a_forged_csrf_token_changes_nothing(gateway: Running) -> None:
    client = http_sign_in(gateway.url)
    missing = client.post("/console/sign-out", data={})
    assert missing.status_code == 403 and "CSRF token is missing or wrong" in missing.text
    forged = client.post("/console/sign-out", data={"csrf": "A" * 43})
    assert forged.status_code == 403
    assert client.get("/console/matrix").status_code == 200  # still signed in
    page = client.get("/console/matrix").text
    other_site = client.post(
        "/console/sign-out",
        data={"csrf": csrf_of(page)},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403 and "another site" in other_site.text
    assert client.post("/console/sign-out", data={"csrf": csrf_of(page)}).status_code == 303
    assert client.get("/console/matrix").status_code == 303  # signed out: to the sign-in page


def test_signing_in_needs_the_forms_own_csrf_token(gateway: Running) -> None:
    client = httpx.Client(base_url=gateway.url, timeout=10)
    client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"admin": ADMIN, "password": PASSWORD})
    assert answer.status_code == 403 and "session" not in answer.headers.get("set-cookie", "")


def test_a_cookie_from_another_gateway_is_refused(
    fake: Any, gateway: Running, tmp_path: Path
) -> None:
    other = start_console(tmp_path, fake)
    try:
        signed_elsewhere = http_sign_in(other.url)
        cookie = signed_elsewhere.cookies.get("pmc_session")
        assert cookie
        with httpx.Client(cookies={"pmc_session": cookie}, timeout=10) as foreign:
            here = foreign.get(f"{gateway.url}/console/log.json")
        assert here.status_code == 401
        assert signed_elsewhere.get("/console/log.json").status_code == 200
        signed_elsewhere.close()  # an open keep-alive connection would hold the shutdown
    finally:
        stop(other)


def test_the_listening_line_names_only_what_is_served(
    fake: Any, gateway: Running, tmp_path: Path
) -> None:
    # The console fixture runs with --no-mcp and administrators; without --admin nobody could
    # sign in, so no console is announced.
    [said] = [line for line in gateway.stderr if "listening on" in line]
    assert f"console at {gateway.url}/console" in said and "MCP at" not in said
    policy = tmp_path / "agents.toml"
    policy.write_text(console_policy(), encoding="utf-8")
    plain = start_gateway(policy, fake.url, {"server": fake.server_token})
    try:
        [said] = [line for line in plain.stderr if "listening on" in line]
        assert f"MCP at {plain.url}/mcp" in said and "console at" not in said
    finally:
        stop(plain)


def test_agent_keys_never_open_the_console(gateway: Running) -> None:
    key = KEYS["mailer"]
    headers = {"X-Postmark-Server-Token": key, "Authorization": f"Bearer {key}"}
    answer = httpx.get(f"{gateway.url}/console/log.json", headers=headers, timeout=10)
    assert answer.status_code == 401
    client = httpx.Client(base_url=gateway.url, timeout=10)
    form = client.get("/console/sign-in")
    refused = client.post(
        "/console/sign-in", data={"csrf": csrf_of(form.text), "admin": "mailer", "password": key}
    )
    assert refused.status_code == 403 and "Wrong name or password." in refused.text


def test_over_tls_the_session_cookie_is_secure(fake: Any, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    served = start_console(tmp_path, fake, "--certfile", str(cert), "--keyfile", str(key))
    try:
        assert served.url.startswith("https://")
        client = httpx.Client(base_url=served.url, timeout=10, verify=False)
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form.text), "admin": ADMIN, "password": PASSWORD},
        )
        session = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "pmc_session" in v
        )
        assert "; Secure" in session and "HttpOnly" in session
        client.close()  # an open keep-alive connection would hold the gateway's shutdown
    finally:
        stop(served)


def test_a_console_whose_store_is_gone_says_so(tmp_path: Path) -> None:
    from postmark_client.access import Policy
    from postmark_client.gateway.console import Admins, Console
    from postmark_client.gateway.console._app import SESSION_COOKIE

    policy = Policy.loads("[agents.bot]\nemail = 'full'\n", path=tmp_path / "agents.toml")
    (tmp_path / "postmark-audit.sqlite").mkdir()  # the log's path is a folder: unreadable
    console = Console(policy, Admins({}), b"s" * 32)
    cookie, _ = console.sessions.new("ada")
    console.admins.hashes["ada"] = "unused"
    transport = httpx.ASGITransport(app=console)

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://console", cookies={SESSION_COOKIE: cookie}
        ) as client:
            return await client.get("/console/log")

    import anyio

    # In a thread of its own: Playwright's sync API holds this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(anyio.run, fetch).result(timeout=30)
    assert answer.status_code == 503 and "The console cannot answer" in answer.text
    assert "Traceback" not in answer.text
