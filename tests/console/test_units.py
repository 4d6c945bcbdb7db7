"""The console's parts without a browser: escaping, password hashes, sessions, narrowing."""

from __future__ import annotations

from postmark_client.access import Policy, describe
from postmark_client.gateway.console import Admins, hash_password
from postmark_client.gateway.console._auth import Sessions
from postmark_client.gateway.console._html import Html, attrs, html, join
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
