"""The console's parts without a browser: escaping, password hashes, sessions, narrowing."""

from __future__ import annotations

import time

import pytest
from postmark_client._store import PolicyTables
from postmark_client.access import Policy, describe
from postmark_client.gateway.console import Admins, hash_password
from postmark_client.gateway.console._auth import Sessions
from postmark_client.gateway.console._html import Html, attrs, html, join
from postmark_client.gateway.console._ledger import Ledger, MemoryLedger, StoreLedger
from postmark_client.gateway.console._pages import group_kind


def test_every_value_is_escaped_unless_it_is_markup_made_here() -> None:
    said = html("<p title={t}>{v}</p>", t='"><script>', v="<b>&</b>")
    assert said == "<p title=&quot;&gt;&lt;script&gt;>&lt;b&gt;&amp;&lt;/b&gt;</p>"
    assert html("<div>{inner}</div>", inner=Html("<b>ok</b>")) == "<div><b>ok</b></div>"
    assert join(["<i>", Html("<br>")]) == "&lt;i&gt;<br>"
    assert attrs({"value": 'a"b', "disabled": True, "hidden": False}) == (
        ' value="a&quot;b" disabled'
    )


def test_a_password_hash_signs_in_and_five_failures_lock_the_name() -> None:
    stored = hash_password("pw", salt=b"\x01" * 16)
    assert stored.startswith("scrypt$16384$8$1$") and "pw" not in stored
    admins = Admins.parse([f"ada:{stored}"])
    assert admins.sign_in("ada", "pw", now=0) is None
    for _ in range(4):
        assert admins.sign_in("ada", "no", now=0) == "Wrong name or password."
    assert "locked for 300 seconds" in (admins.sign_in("ada", "no", now=0) or "")
    assert "locked" in (admins.sign_in("ada", "pw", now=1) or "")
    assert admins.sign_in("ada", "pw", now=301) is None
    assert admins.sign_in("eve", "pw", now=0) == "Wrong name or password."


def test_a_session_signed_by_another_secret_or_expired_or_ended_is_refused() -> None:
    here, there = Sessions(b"a" * 32), Sessions(b"b" * 32)
    cookie, session = here.new("ada", now=0)
    assert here.read(cookie, now=1) == session
    assert there.read(cookie, now=1) is None
    assert here.read(cookie, now=10**9) is None
    assert here.read(cookie.replace(".", "x.", 1), now=1) is None
    assert here.check_csrf(session.nonce, session.csrf)
    assert not there.check_csrf(session.nonce, session.csrf)
    here.end(session)
    assert here.read(cookie, now=1) is None


def test_the_kinds_of_areas_and_the_narrowing_in_words() -> None:
    assert group_kind("email") == "Action" and group_kind("bounces") == "Resource"
    policy = Policy.loads(
        "[agents.bot]\nemail = 'full'\nrecipients = ['*@example.com']\nsends_per_hour = 100\n"
    )
    assert policy.agents["bot"].narrowing() == ["recipients *@example.com", "100 messages per hour"]
    assert "narrowed to: recipients *@example.com; 100 messages per hour" in describe(policy)


@pytest.fixture(params=["memory", "store"])
def ledger(request: pytest.FixtureRequest, store: PolicyTables) -> Ledger:
    return MemoryLedger() if request.param == "memory" else StoreLedger(store)


def test_failures_far_apart_do_not_lock_and_a_sign_in_forgets_them(ledger: Ledger) -> None:
    assert not any(ledger.failed("ada", now=float(n), limit=3, lock_seconds=10) for n in (0, 1))
    assert not ledger.failed("ada", now=12.0, limit=3, lock_seconds=10)  # 11 s after the last
    assert not ledger.failed("ada", now=13.0, limit=3, lock_seconds=10)
    ledger.signed_in("ada")
    assert not ledger.failed("ada", now=14.0, limit=3, lock_seconds=10)
    assert not ledger.failed("ada", now=15.0, limit=3, lock_seconds=10)
    assert ledger.locked_until("ada") == 0
    assert ledger.failed("ada", now=16.0, limit=3, lock_seconds=10)
    assert ledger.locked_until("ada") == 26.0 and ledger.locked_until("bob") == 0


def test_a_ledger_keeps_an_ended_session_until_it_would_have_expired(ledger: Ledger) -> None:
    ledger.end("gone", expires=time.time() + 60)
    ledger.end("old", expires=time.time() - 1)
    ledger.end("another", expires=time.time() + 60)  # "old" is forgotten here
    assert ledger.ended("gone") and ledger.ended("another")
    assert not ledger.ended("old") and not ledger.ended("never")
