"""Helpers of the console tests: the policy, signing in (browser and httpx), calls as agents."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
from gateway_support import KEYS, SEND, Running, start_gateway
from postmark_client.access import hash_key
from postmark_client.gateway.console import hash_password

ADMIN = "ada"
PASSWORD = "correct horse battery staple"
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def console_policy() -> str:
    return f"""\
audit = "audit.sqlite"

[agents.mailer]
email = "full"
recipients = ["*@example.com"]
key_sha256 = "{hash_key(KEYS["mailer"])}"
description = {HOSTILE!r}
approve_over_recipients = 2

[agents.reader]
messages = "read"
templates = "full"
key_sha256 = "{hash_key(KEYS["reader"])}"

[agents.accountant]
servers = "read"
key_sha256 = "{hash_key(KEYS["accountant"])}"
"""


def sign_in(page: Any, url: str, admin: str = ADMIN, password: str = PASSWORD) -> None:
    page.goto(f"{url}/console")
    page.get_by_label("Administrator").fill(admin)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def send_as(url: str, agent: str, **changes: Any) -> httpx.Response:
    """One send through the gateway with the agent's own key."""
    return httpx.post(
        f"{url}/email",
        json={**SEND, **changes},
        headers={"X-Postmark-Server-Token": KEYS[agent], "Accept": "application/json"},
        timeout=10,
    )


def http_sign_in(url: str, admin: str = ADMIN, password: str = PASSWORD) -> httpx.Client:
    """An httpx client signed in as a browser would be (sign-in form, its CSRF token)."""
    client = httpx.Client(base_url=url, timeout=10)
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "admin": admin, "password": password},
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


ADMIN_HASH = hash_password(PASSWORD)


def start_console(folder: Path, fake: Any, *extra: str) -> Running:
    policy = folder / "agents.toml"
    if not policy.exists():
        policy.write_text(console_policy(), encoding="utf-8")
    return start_gateway(
        policy,
        fake.url,
        {"server": fake.server_token, "account": fake.account_token},
        "--no-mcp",
        "--admin",
        f"{ADMIN}:{ADMIN_HASH}",
        "--admin",
        f"bob:{ADMIN_HASH}",
        *extra,
    )


class InProcess:
    """A console answered in this process (no server), as a browser with its cookies sees it.

    Each request runs in a thread of its own: Playwright's sync API may hold this thread's
    event loop."""

    def __init__(self, app: Any, cookies: dict[str, str] | None = None) -> None:
        self.app = app
        self.cookies: dict[str, str] = dict(cookies or {})

    def request(self, method: str, path: str, **given: Any) -> httpx.Response:
        async def run() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app),
                base_url="http://console",
                cookies=self.cookies,
            ) as client:
                answer = await client.request(method, path, **given)
            self._keep(answer)
            return answer

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, run).result(timeout=30)

    def _keep(self, answer: httpx.Response) -> None:
        """The cookies the answer sets, as a browser keeps them (Max-Age=0 drops one)."""
        for header in answer.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, path: str, **given: Any) -> httpx.Response:
        return self.request("GET", path, **given)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.request("POST", path, data=data)

    def sign_in(self, admin: str = ADMIN, password: str = PASSWORD) -> httpx.Response:
        """The sign-in form, filled in and sent (its answer: 303 when signed in)."""
        csrf = csrf_of(self.get("/console/sign-in").text)
        return self.post("/console/sign-in", {"csrf": csrf, "admin": admin, "password": password})


def console_on(store: Any, folder: Path, password_hash: str = ADMIN_HASH) -> Any:
    """A console in this process whose source of truth is `store` (the policy file in
    `folder` imported on first use), with ada as administrator, under a fixed secret: another
    one on the same store stands for another worker or gateway."""
    from postmark_client._policy_store import PolicySource
    from postmark_client.access import Policy
    from postmark_client.gateway.console import Admins, Console

    path = folder / "agents.toml"
    if not path.exists():
        path.write_text(console_policy(), encoding="utf-8")
    policy = Policy.load(path)
    source = PolicySource.from_store(policy, store)
    return Console(policy, Admins({ADMIN: password_hash}), b"s" * 32, source)
